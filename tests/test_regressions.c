/*
 * test_regressions.c - inputs from fuzzing http_parse(), kept for ever.
 *
 * `make fuzz` (tests/fuzz/) throws millions of mutated requests at the
 * parser. Every input that ever broke one of its invariants belongs in
 * this file as a unit test, with the verdict it should have had, so
 * that the bug can never come back unnoticed. So far the fuzzer has
 * found no failure; what is here instead are the nastiest inputs met
 * on the way: the ones where a plausible parser would go wrong. Each
 * is checked whole and as every one of its prefixes (a server reading
 * a slow socket sees those), on a private copy of exactly that many
 * bytes so that AddressSanitizer catches any read past the end.
 *
 * Self-contained on purpose: the suite compiles every tests/test_*.c
 * against each step's http.c, and this file needs only http_parse().
 */
#include "http.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 8192 /* HEAD_MAX_BYTES in config.h: bytes examined */
#define WHOLE 1     /* want: accepted, the whole text is the head */
/* A string literal and its length: some of them hold NUL bytes. */
#define BYTES(s) s, sizeof(s) - 1
#define HOST "Host: a\r\n"

struct nasty {
    const char *why;
    const char *text;
    size_t len;
    long want; /* WHOLE, HTTP_INCOMPLETE or -status */
};

static const struct nasty nasties[] = {
    /* Carriage returns that do not end a line */
    {"CR CR LF is not a blank line",
     BYTES("GET / HTTP/1.1\r\n" HOST "\r\r\n"), -400},
    {"CR CR LF after the version",
     BYTES("GET / HTTP/1.1\r\r\n" HOST "\r\n"), -400},
    {"a bare CR inside a value",
     BYTES("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"), -400},
    {"a bare CR between version and LF",
     BYTES("GET / HTTP/1.1\rX\nHost: a\n\n"), -400},
    {"the CR of the blank line, its LF not yet here",
     BYTES("GET / HTTP/1.1\r\n" HOST "\r"), HTTP_INCOMPLETE},
    {"a bare LF blank line after CRLF lines",
     BYTES("GET / HTTP/1.1\r\n" HOST "\n"), WHOLE},

    /* Bytes allowed in one place but not in another */
    {"DEL in the target", BYTES("GET /\x7f HTTP/1.1\r\n" HOST "\r\n"),
     -400},
    {"UTF-8 in the target (allowed in values, not here)",
     BYTES("GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n"), -400},
    {"NUL in the method, refused before the line ends", BYTES("G\0"),
     -400},
    {"NUL in a value", BYTES("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"),
     -400},
    {"a space before the first header",
     BYTES("GET / HTTP/1.1\r\n " HOST "\r\n"), -400},
    {"a fragment in the target: bytes are checked, not URI grammar",
     BYTES("GET /?a=b#frag HTTP/1.1\r\n" HOST "\r\n"), WHOLE},

    /* Host: counted by exact name, in any case */
    {"Host2 is not Host", BYTES("GET / HTTP/1.1\r\nHost2: a\r\n\r\n"),
     -400},
    {"Host and HOST are two Host",
     BYTES("GET / HTTP/1.1\r\n" HOST "HOST: a\r\n\r\n"), -400},
    {"a Host value with a space",
     BYTES("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), -400},
    {"a Host value with a slash",
     BYTES("GET / HTTP/1.0\r\nHost: a/b\r\n\r\n"), -400},
    {"an IPv6 literal and a port are a host",
     BYTES("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), WHOLE},

    /* Content-Length: numbers compared as numbers, digits capped */
    {"0 and 000 are the same length",
     BYTES("GET / HTTP/1.1\r\n" HOST "Content-Length: 0\r\n"
           "Content-Length: 000\r\n\r\n"),
     WHOLE},
    {"eighteen zeros are a valid 0",
     BYTES("GET / HTTP/1.1\r\n" HOST
           "Content-Length: 000000000000000000\r\n\r\n"),
     WHOLE},
    {"nineteen digits are invalid (400), not a body (413)",
     BYTES("GET / HTTP/1.1\r\n" HOST
           "Content-Length: 0000000000000000001\r\n\r\n"),
     -400},
    {"Transfer-Encoding in HTTP/1.0 is faulty framing (RFC 9112 6.1)",
     BYTES("GET / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n"), -400},
};

/* Parses text[0..len) from a copy of exactly len bytes. */
static long parse_copy(const char *text, size_t len)
{
    struct http_request req;
    char *copy = malloc(len > 0 ? len : 1);

    cr_assert(copy != NULL);
    memcpy(copy, text, len);
    long v = http_parse(copy, len, &req);
    cr_assert(memcmp(copy, text, len) == 0,
              "the parser wrote its buffer");
    free(copy);
    return v;
}

/* The whole input gives want; every prefix gives HTTP_INCOMPLETE or
 * want, and the first prefix that is not HTTP_INCOMPLETE gives want. */
static void check(const char *why, const char *text, size_t len,
                  long want)
{
    long v = parse_copy(text, len);

    cr_expect_eq(v, want, "%s: got %ld, want %ld", why, v, want);
    size_t last = len < WINDOW ? len : WINDOW;
    for (size_t k = 0; k < last; k++) {
        long p = parse_copy(text, k);
        cr_expect(p == HTTP_INCOMPLETE || p == want,
                  "%s: first %zu bytes give %ld, want %ld or 0", why, k,
                  p, want);
        if (p != HTTP_INCOMPLETE)
            break;
    }
}

Test(regressions, nasty_inputs_get_their_verdict)
{
    for (size_t i = 0; i < sizeof nasties / sizeof nasties[0]; i++) {
        const struct nasty *n = &nasties[i];
        check(n->why, n->text, n->len,
              n->want == WHOLE ? (long)n->len : n->want);
    }
}

/* Fills *len bytes: head, filler 'a' up to byte fill_to, then tail. */
static char *build(const char *head, size_t fill_to, const char *tail,
                   size_t *len)
{
    size_t h = strlen(head), t = strlen(tail);
    char *buf = malloc(fill_to + t);

    cr_assert(buf != NULL && fill_to >= h);
    memcpy(buf, head, h);
    memset(buf + h, 'a', fill_to - h);
    memcpy(buf + fill_to, tail, t);
    *len = fill_to + t;
    return buf;
}

Test(regressions, the_edge_of_the_window)
{
    const char *line = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    size_t len;
    char *b;

    /* A header whose CR is byte 8192 and whose LF would be 8193. */
    b = build(line, WINDOW - 1, "\r\n\r\n", &len);
    check("CR on the window's last byte", b, len, -431);
    free(b);
    /* Garbage just past the window is never looked at. */
    b = build(line, WINDOW, "\x01\r\n\r\n", &len);
    check("a control byte just past the window", b, len, -431);
    free(b);
    /* A head of exactly 8192 bytes with bare LF line ends. */
    b = build("GET / HTTP/1.1\nHost: a\nX: ", WINDOW - 2, "\n\n", &len);
    check("8192 bytes with bare LF", b, len, WINDOW);
    free(b);
    /* A request line whose LF is byte 8192: the line fit, the head did
     * not, so 431 and not 414. */
    b = build("GET /", WINDOW - 10, " HTTP/1.1\n" HOST "\r\n", &len);
    check("request line ending on byte 8192", b, len, -431);
    free(b);
}

Test(regressions, bytes_past_the_window_do_not_matter)
{
    static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t len = WINDOW + 1000;
    char *b = calloc(1, len); /* NUL bytes after the head */

    cr_assert(b != NULL);
    memcpy(b, head, sizeof head - 1);
    check("a head followed by 9000 NUL bytes", b, len,
          (long)(sizeof head - 1));
    free(b);
}
