/*
 * test_parser.c - http_parse(), table-driven.
 *
 * The parser is a pure function over (buffer, length), so it is tested
 * without any server: each row is a request and the verdict the
 * documented rules give it (http.h lists them in order; the first rule
 * broken wins). The same table then checks the properties a network
 * parser needs: every prefix of a request gives "incomplete" or the
 * same verdict, never another one, and no byte past len is read.
 *
 * The body decoder (http_body_feed) has a table of its own: each row
 * is a whole request, head and body, and the body it decodes to or
 * the status it refuses it with, whether it comes in one piece, one
 * byte at a time, or cut in two anywhere.
 */
#include "config.h"
#include "harness.h"
#include "http.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHOLE 1 /* want: the head is complete; returns its length */
/* BODY_MAX_BYTES (64 KiB) and one more, spelled out for the rows;
 * body_limit_is_spelled_right checks them against config.h. */
#define BODY_MAX "65536"
#define BODY_MAX_PLUS_1 "65537"
#define CRLF "\r\n"
#define HOST "Host: test\r\n"

struct parse_case {
    const char *why;  /* what the row checks, for the failure message */
    const char *text; /* the bytes given to http_parse */
    long want;        /* WHOLE, HTTP_INCOMPLETE or -status */
};

static const struct parse_case cases[] = {
    /* Acceptable requests */
    {"a plain GET", "GET / HTTP/1.1" CRLF HOST CRLF, WHOLE},
    {"HEAD", "HEAD / HTTP/1.1" CRLF HOST CRLF, WHOLE},
    {"HTTP/1.0 needs no Host", "GET / HTTP/1.0" CRLF CRLF, WHOLE},
    {"HTTP/1.0 may have one Host", "GET / HTTP/1.0" CRLF HOST CRLF,
     WHOLE},
    {"bare LF line ends", "GET /sleep?ms=1 HTTP/1.1\nHost: t\n\n",
     WHOLE},
    {"mixed line ends", "GET / HTTP/1.1\nHost: t\r\n\n", WHOLE},
    {"header names ignore case, OWS optional",
     "GET / HTTP/1.1" CRLF "hOsT:t" CRLF CRLF, WHOLE},
    {"an empty Host value is still one Host",
     "GET / HTTP/1.1" CRLF "Host:" CRLF CRLF, WHOLE},
    {"Content-Length: 0 is no body",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: 0" CRLF CRLF, WHOLE},
    {"two equal Content-Length: 0",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: 0" CRLF
     "content-length:0" CRLF CRLF,
     WHOLE},
    {"tabs and UTF-8 in a value",
     "GET / HTTP/1.1" CRLF HOST "X-Name: \tJos\xc3\xa9 \t" CRLF CRLF,
     WHOLE},
    {"every token character in a name",
     "GET / HTTP/1.1" CRLF HOST "!#$%&'*+-.^_`|~09azAZ: v" CRLF CRLF,
     WHOLE},
    {"query and escapes in the target",
     "GET /a%20b?x=1&y=&z HTTP/1.1" CRLF HOST CRLF, WHOLE},

    /* absolute-form (RFC 9112 3.2.2): a server MUST accept it */
    {"an absolute-form target", "GET http://t/ HTTP/1.1" CRLF HOST CRLF,
     WHOLE},
    {"absolute-form: the scheme in any case, a port, a query",
     "GET HtTp://127.0.0.1:8080/sleep?ms=5 HTTP/1.1" CRLF HOST CRLF,
     WHOLE},
    {"absolute-form with an empty path",
     "GET http://t HTTP/1.1" CRLF HOST CRLF, WHOLE},
    {"absolute-form with an empty path and a query",
     "GET http://t?ms=1 HTTP/1.1" CRLF HOST CRLF, WHOLE},
    {"absolute-form with an IPv6 literal",
     "GET http://[::1]:80/ HTTP/1.1" CRLF HOST CRLF, WHOLE},
    {"absolute-form: a Host that differs is no error",
     "GET http://a/ HTTP/1.1" CRLF "Host: b" CRLF CRLF, WHOLE},
    {"absolute-form in HTTP/1.0 needs no Host",
     "GET http://a/ HTTP/1.0" CRLF CRLF, WHOLE},

    /* Empty lines before the request line (RFC 9112 2.2) */
    {"one CRLF before the request line",
     CRLF "GET / HTTP/1.1" CRLF HOST CRLF, WHOLE},
    {"bare LFs and CRLFs before the request line",
     "\n" CRLF "\n"
     "GET / HTTP/1.1" CRLF HOST CRLF,
     WHOLE},
    {"EMPTY_LINES_MAX (8) empty lines",
     CRLF CRLF CRLF CRLF CRLF CRLF CRLF CRLF
     "GET / HTTP/1.1" CRLF HOST CRLF,
     WHOLE},

    /* Incomplete: more bytes needed */
    {"nothing yet", "", HTTP_INCOMPLETE},
    {"half a method", "GE", HTTP_INCOMPLETE},
    {"no blank line yet", "GET / HTTP/1.1" CRLF HOST, HTTP_INCOMPLETE},
    {"a CR but not yet its LF", "GET / HTTP/1.1" CRLF HOST "\r",
     HTTP_INCOMPLETE},
    {"only empty lines so far", CRLF CRLF "\n", HTTP_INCOMPLETE},
    {"half a scheme", "GET htt", HTTP_INCOMPLETE},

    /* 400: malformed request line, found as early as possible */
    {"more than EMPTY_LINES_MAX (8) empty lines",
     CRLF CRLF CRLF CRLF CRLF CRLF CRLF CRLF CRLF
     "GET / HTTP/1.1" CRLF HOST CRLF,
     -400},
    {"a line of spaces before the request line",
     " " CRLF "GET / HTTP/1.1" CRLF HOST CRLF, -400},
    {"two spaces after the method", "GET  / HTTP/1.1" CRLF HOST CRLF,
     -400},
    {"no version (HTTP/0.9)", "GET /" CRLF CRLF, -400},
    {"absolute-form with https (another origin)",
     "GET https://t/ HTTP/1.1" CRLF HOST CRLF, -400},
    {"absolute-form with another scheme",
     "GET ftp://t/ HTTP/1.1" CRLF HOST CRLF, -400},
    {"absolute-form with an empty host",
     "GET http:///x HTTP/1.1" CRLF HOST CRLF, -400},
    {"absolute-form with nothing after the scheme",
     "GET http:// HTTP/1.1" CRLF HOST CRLF, -400},
    {"absolute-form with userinfo",
     "GET http://u@t/ HTTP/1.1" CRLF HOST CRLF, -400},
    {"absolute-form with a host byte Host may not hold",
     "GET http://a\"b/ HTTP/1.1" CRLF HOST CRLF, -400},
    {"a scheme without its slashes",
     "GET http:t/ HTTP/1.1" CRLF HOST CRLF, -400},
    {"authority-form target", "GET t:80 HTTP/1.1" CRLF HOST CRLF, -400},
    {"asterisk-form target", "OPTIONS * HTTP/1.1" CRLF HOST CRLF, -400},
    {"a bad byte in the method", "G(T / HTTP/1.1" CRLF HOST CRLF, -400},
    {"a space after the version", "GET / HTTP/1.1 " CRLF HOST CRLF,
     -400},
    {"a lowercase protocol", "GET / http/1.1" CRLF HOST CRLF, -400},
    {"a two-digit version", "GET / HTTP/1.10" CRLF HOST CRLF, -400},
    {"garbage, refused before its line ends", "\x16\x03\x01", -400},
    /* 400: malformed header */
    {"a header without a colon",
     "GET / HTTP/1.1" CRLF "Host t" CRLF CRLF, -400},
    {"a space before the colon",
     "GET / HTTP/1.1" CRLF "Host : t" CRLF CRLF, -400},
    {"a folded header line",
     "GET / HTTP/1.1" CRLF HOST "X: a" CRLF " b" CRLF CRLF, -400},
    {"a control byte in a value",
     "GET / HTTP/1.1" CRLF HOST "X: a\x01" CRLF CRLF, -400},
    {"an empty header name", "GET / HTTP/1.1" CRLF HOST ": v" CRLF CRLF,
     -400},

    /* 505, then Host, Transfer-Encoding, Content-Length, methods */
    {"HTTP/2.0", "GET / HTTP/2.0" CRLF HOST CRLF, -505},
    {"HTTP/1.2", "GET / HTTP/1.2" CRLF HOST CRLF, -505},
    {"HTTP/0.9 spelled out", "GET / HTTP/0.9" CRLF CRLF, -505},
    {"HTTP/1.1 without Host", "GET / HTTP/1.1" CRLF CRLF, -400},
    {"absolute-form in HTTP/1.1 still needs a Host",
     "GET http://t/ HTTP/1.1" CRLF CRLF, -400},
    {"absolute-form does not excuse a bad Host",
     "GET http://t/ HTTP/1.1" CRLF "Host: a b" CRLF CRLF, -400},
    {"HTTP/1.1 with two Host", "GET / HTTP/1.1" CRLF HOST HOST CRLF,
     -400},
    {"HTTP/1.0 with two Host", "GET / HTTP/1.0" CRLF HOST HOST CRLF,
     -400},
    {"a Host value with a space",
     "GET / HTTP/1.1" CRLF "Host: a b" CRLF CRLF, -400},
    {"a Host value that is not ASCII, even in HTTP/1.0",
     "GET / HTTP/1.0" CRLF "Host: \xc3\xa9" CRLF CRLF, -400},
    {"host:port and IPv6 literals are hosts",
     "GET / HTTP/1.1" CRLF "Host: [::1]:8080" CRLF CRLF, WHOLE},
    /* The body's framing (RFC 9112 6 and 7.1), judged after the method
     */
    {"GET with Transfer-Encoding: chunked (RFC 9112 7.1: MUST parse)",
     "GET / HTTP/1.1" CRLF HOST "Transfer-Encoding: chunked" CRLF CRLF,
     WHOLE},
    {"the coding's name ignores case",
     "GET / HTTP/1.1" CRLF HOST "transfer-encoding: Chunked" CRLF CRLF,
     WHOLE},
    {"a transfer coding other than chunked",
     "GET / HTTP/1.1" CRLF HOST "Transfer-Encoding: gzip" CRLF CRLF,
     -501},
    {"a list of codings",
     "GET / HTTP/1.1" CRLF HOST
     "Transfer-Encoding: gzip, chunked" CRLF CRLF,
     -501},
    {"two Transfer-Encoding headers",
     "GET / HTTP/1.1" CRLF HOST "Transfer-Encoding: chunked" CRLF
     "Transfer-Encoding: chunked" CRLF CRLF,
     -501},
    {"Content-Length with Transfer-Encoding (RFC 9112 6.3)",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: 5" CRLF
     "Transfer-Encoding: chunked" CRLF CRLF,
     -400},
    {"Transfer-Encoding with Content-Length, in that order",
     "POST /echo HTTP/1.1" CRLF HOST "Transfer-Encoding: chunked" CRLF
     "Content-Length: 5" CRLF CRLF,
     -400},
    {"Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1)",
     "GET / HTTP/1.0" CRLF "Transfer-Encoding: chunked" CRLF CRLF,
     -400},
    {"GET with a body: read and dropped",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: 5" CRLF CRLF, WHOLE},
    {"Content-Length not a number",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: abc" CRLF CRLF, -400},
    {"Content-Length negative",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: -1" CRLF CRLF, -400},
    {"Content-Length with a sign",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: +1" CRLF CRLF, -400},
    {"Content-Length empty",
     "GET / HTTP/1.1" CRLF HOST "Content-Length:" CRLF CRLF, -400},
    {"Content-Length of 19 digits",
     "GET / HTTP/1.1" CRLF HOST
     "Content-Length: 1000000000000000000" CRLF CRLF,
     -400},
    {"two different Content-Length",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: 5" CRLF
     "Content-Length: 6" CRLF CRLF,
     -400},
    {"Content-Length: BODY_MAX_BYTES",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: " BODY_MAX CRLF CRLF,
     WHOLE},
    {"Content-Length: BODY_MAX_BYTES + 1",
     "GET / HTTP/1.1" CRLF HOST
     "Content-Length: " BODY_MAX_PLUS_1 CRLF CRLF,
     -413},
    {"Content-Length of 18 digits",
     "GET / HTTP/1.1" CRLF HOST
     "Content-Length: 999999999999999999" CRLF CRLF,
     -413},
    {"two equal Content-Length: 5 (RFC 9110 8.6 allows it)",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: 5" CRLF
     "Content-Length: 5" CRLF CRLF,
     WHOLE},
    {"a Content-Length list",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: 5, 5" CRLF CRLF, -400},
    {"Expect: 100-continue with Content-Length: 3",
     "POST /echo HTTP/1.1" CRLF HOST "Expect: 100-continue" CRLF
     "Content-Length: 3" CRLF CRLF,
     WHOLE},
    {"Expect: 100-continue on a body too large: 413 at once",
     "POST /echo HTTP/1.1" CRLF HOST "Expect: 100-Continue" CRLF
     "Content-Length: " BODY_MAX_PLUS_1 CRLF CRLF,
     -413},
    {"an expectation this server does not know",
     "POST /echo HTTP/1.1" CRLF HOST "Expect: 200-ok" CRLF
     "Content-Length: 3" CRLF CRLF,
     -417},
    {"POST /echo", "POST /echo HTTP/1.1" CRLF HOST CRLF, WHOLE},
    {"POST /echo with a query and a body",
     "POST /echo?x=1 HTTP/1.1" CRLF HOST "Content-Length: 5" CRLF CRLF,
     WHOLE},
    {"POST /echo, chunked",
     "POST /echo HTTP/1.1" CRLF HOST
     "Transfer-Encoding: chunked" CRLF CRLF,
     WHOLE},
    {"POST below /echo is no echo",
     "POST /echo/x HTTP/1.1" CRLF HOST CRLF, -405},
    {"PUT /echo", "PUT /echo HTTP/1.1" CRLF HOST CRLF, -405},
    {"POST", "POST / HTTP/1.1" CRLF HOST CRLF, -405},
    {"POST / with a body: the method is wrong, not the size",
     "POST / HTTP/1.1" CRLF HOST "Content-Length: 5" CRLF CRLF, -405},
    {"PUT", "PUT / HTTP/1.1" CRLF HOST CRLF, -405},
    {"DELETE", "DELETE / HTTP/1.1" CRLF HOST CRLF, -405},
    {"PATCH", "PATCH / HTTP/1.1" CRLF HOST CRLF, -405},
    {"OPTIONS", "OPTIONS / HTTP/1.1" CRLF HOST CRLF, -405},
    {"TRACE", "TRACE / HTTP/1.1" CRLF HOST CRLF, -405},
    {"CONNECT", "CONNECT / HTTP/1.1" CRLF HOST CRLF, -405},
    {"an unknown method", "BREW / HTTP/1.1" CRLF HOST CRLF, -501},
    {"methods are case-sensitive", "get / HTTP/1.1" CRLF HOST CRLF,
     -501},

    /* Two rules broken: the earlier one in http.h's list wins */
    {"malformed header beats 505",
     "GET / HTTP/2.0" CRLF "Host t" CRLF CRLF, -400},
    {"505 beats a missing Host", "POST / HTTP/2.0" CRLF CRLF, -505},
    {"a bad Host beats Transfer-Encoding",
     "GET / HTTP/1.1" CRLF "Host: a b" CRLF
     "Transfer-Encoding: x" CRLF CRLF,
     -400},
    {"a missing Host beats Transfer-Encoding",
     "GET / HTTP/1.1" CRLF "Transfer-Encoding: chunked" CRLF CRLF,
     -400},
    {"both framings beat an unknown coding and a bad Content-Length",
     "GET / HTTP/1.1" CRLF HOST "Transfer-Encoding: x" CRLF
     "Content-Length: x" CRLF CRLF,
     -400},
    {"an unknown coding beats a bad Content-Length",
     "GET / HTTP/1.1" CRLF HOST "Transfer-Encoding: x" CRLF CRLF, -501},
    {"405 beats a bad Content-Length",
     "POST / HTTP/1.1" CRLF HOST "Content-Length: x" CRLF CRLF, -405},
    {"405 beats both framings",
     "PUT / HTTP/1.1" CRLF HOST "Content-Length: 5" CRLF
     "Transfer-Encoding: chunked" CRLF CRLF,
     -405},
    {"405 beats a body too large: the method is judged first",
     "POST / HTTP/1.1" CRLF HOST
     "Content-Length: " BODY_MAX_PLUS_1 CRLF CRLF,
     -405},
    {"501 (method) beats a body too large",
     "BREW / HTTP/1.1" CRLF HOST
     "Content-Length: " BODY_MAX_PLUS_1 CRLF CRLF,
     -501},
    {"405 beats an unknown expectation",
     "POST / HTTP/1.1" CRLF HOST "Expect: x" CRLF CRLF, -405},
    {"a bad Content-Length beats 417",
     "POST /echo HTTP/1.1" CRLF HOST "Expect: x" CRLF
     "Content-Length: x" CRLF CRLF,
     -400},
    {"417 beats a body too large",
     "POST /echo HTTP/1.1" CRLF HOST "Expect: x" CRLF
     "Content-Length: " BODY_MAX_PLUS_1 CRLF CRLF,
     -417},
};

#define NCASES (sizeof cases / sizeof cases[0])

static size_t case_len(const struct parse_case *c)
{
    return strlen(c->text);
}

/* Parses a private copy of exactly len bytes, so that a read past the
 * end shows under ASan, and checks that the buffer is left as it was
 * (the parser must never write it). */
static long parse_exact(const char *text, size_t len,
                        struct http_request *req)
{
    char *copy = malloc(len > 0 ? len : 1);

    cr_assert(copy != NULL);
    memcpy(copy, text, len);
    long r = http_parse(copy, len, req);
    cr_assert(memcmp(copy, text, len) == 0,
              "http_parse wrote into the buffer it was given");
    free(copy);
    return r;
}

static long expected(const struct parse_case *c)
{
    return c->want == WHOLE ? (long)case_len(c) : c->want;
}

Test(parser, every_row_gets_its_documented_verdict,
     .timeout = TEST_TIMEOUT_S)
{
    struct http_request req;

    for (size_t i = 0; i < NCASES; i++) {
        long got =
            parse_exact(cases[i].text, case_len(&cases[i]), &req);
        cr_expect(got == expected(&cases[i]),
                  "%s: http_parse should return %ld, returned %ld",
                  cases[i].why, expected(&cases[i]), got);
    }
}

/* A request arrives in pieces of any size. Each prefix must be
 * "incomplete", or already the final verdict for an error found
 * early; never a different answer. */
Test(parser, every_prefix_is_incomplete_or_the_same_verdict,
     .timeout = TEST_TIMEOUT_S)
{
    struct http_request req;

    for (size_t i = 0; i < NCASES; i++) {
        size_t len = case_len(&cases[i]);
        long want = expected(&cases[i]);
        for (size_t k = 0; k < len; k++) {
            long got = parse_exact(cases[i].text, k, &req);
            bool ok =
                got == HTTP_INCOMPLETE || (want < 0 && got == want);
            cr_expect(ok,
                      "%s: the first %zu of %zu bytes gave %ld; only 0 "
                      "(incomplete)%s is right before the end",
                      cases[i].why, k, len, got,
                      want < 0 ? " or the final verdict" : "");
            if (!ok)
                break;
        }
    }
}

/* The table's strings end at their first NUL; this one holds one. */
Test(parser, a_nul_byte_in_the_target_is_malformed,
     .timeout = TEST_TIMEOUT_S)
{
    static const char text[] = "GET /\0 HTTP/1.1\r\nHost: t\r\n\r\n";
    struct http_request req;

    cr_expect_eq(parse_exact(text, sizeof text - 1, &req), -400L,
                 "a NUL byte in the target should give 400");
    cr_expect_eq(parse_exact(text, 6, &req), -400L,
                 "... as soon as the NUL arrives");
}

Test(parser, fills_the_request_fields, .timeout = TEST_TIMEOUT_S)
{
    const char *text = "HEAD /sleep?ms=300 HTTP/1.0\r\nHost: "
                       "a\r\nContent-Length: 0\r\n\r\n";
    struct http_request req;

    cr_assert_eq(http_parse(text, strlen(text), &req),
                 (long)strlen(text));
    cr_expect(req.method.len == 4 &&
                  memcmp(req.method.ptr, "HEAD", 4) == 0,
              "the method should be HEAD");
    cr_expect(req.target.len == 13 &&
                  memcmp(req.target.ptr, "/sleep?ms=300", 13) == 0,
              "the target should be /sleep?ms=300");
    cr_expect(req.line.len == 27 && req.line.ptr == text,
              "the request line should span the first line, no CRLF");
    cr_expect(req.major == 1 && req.minor == 0, "the version is 1.0");
    cr_expect_eq(req.host_count, 1);
    cr_expect_eq(req.content_length, 0);
    cr_expect(req.transfer_encodings == 0 && !req.chunked &&
              !req.bad_content_length);
    cr_expect(!req.expect_continue && !req.bad_expect);
    cr_expect(req.path.ptr == req.target.ptr && req.path.len == 13,
              "in origin-form the path is the whole target");
    cr_expect_eq(req.head_len, strlen(text), "head_len is the head");
}

static bool span_equals(struct http_span s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

Test(parser, absolute_form_keeps_the_target_and_finds_the_path,
     .timeout = TEST_TIMEOUT_S)
{
    static const struct {
        const char *text, *target, *path;
    } rows[] = {
        {"GET http://h:1/sleep?ms=5 HTTP/1.1\r\nHost: x\r\n\r\n",
         "http://h:1/sleep?ms=5", "/sleep?ms=5"},
        {"GET HTTP://h HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP://h", ""},
        {"GET http://h?ms=5 HTTP/1.0\r\n\r\n", "http://h?ms=5",
         "?ms=5"},
        {"\r\n\nGET / HTTP/1.0\r\n\r\n", "/", "/"},
    };
    struct http_request req;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        long v = http_parse(rows[i].text, strlen(rows[i].text), &req);
        cr_expect_eq(v, (long)strlen(rows[i].text), "%s: accepted",
                     rows[i].target);
        cr_expect(
            span_equals(req.target, rows[i].target),
            "the target of \"%s\" is the whole of it, got \"%.*s\"",
            rows[i].target, (int)req.target.len, req.target.ptr);
        cr_expect(span_equals(req.path, rows[i].path),
                  "the path of \"%s\" should be \"%s\", got \"%.*s\"",
                  rows[i].target, rows[i].path, (int)req.path.len,
                  req.path.ptr);
        cr_expect(req.line.len > 4 &&
                      memcmp(req.line.ptr, "GET ", 4) == 0,
                  "the request line starts at the method, after any "
                  "empty lines");
    }
}

/* head_len tells the connection whether bytes follow the head. */
Test(parser, head_len_is_set_once_the_blank_line_is_found,
     .timeout = TEST_TIMEOUT_S)
{
    static const char refused[] = "POST / HTTP/1.1\r\nHost: t\r\n\r\n";
    static const char early[] = "GET / HTTP/9.9\r\nX y\r\n\r\n";
    struct http_request req;

    cr_expect_eq(parse_exact(refused, sizeof refused - 1, &req), -405L);
    cr_expect_eq(req.head_len, sizeof refused - 1,
                 "a refused but complete head still has its length");
    cr_expect_eq(parse_exact(refused, sizeof refused - 2, &req),
                 (long)HTTP_INCOMPLETE);
    cr_expect_eq(req.head_len, 0, "no blank line yet: head_len is 0");
    cr_expect_eq(parse_exact(early, sizeof early - 1, &req), -400L);
    cr_expect_eq(req.head_len, 0,
                 "a malformed header stops the parser before the blank "
                 "line: head_len is 0");
}

/* ---- The router: pure too ---- */

struct route_case {
    const char *path; /* given to http_route() as an exact-size copy */
    int status;
    enum http_route route; /* when status is 200 */
    long long number;      /* when the route takes one */
};

static const struct route_case routes[] = {
    {"/", 200, HTTP_ROUTE_HELLO, -1},
    {"/?x=1", 200, HTTP_ROUTE_HELLO, -1},
    {"", 200, HTTP_ROUTE_HELLO, -1}, /* absolute-form: http://h */
    {"?ms=1", 200, HTTP_ROUTE_HELLO, -1},
    {"/sleep", 200, HTTP_ROUTE_SLEEP, SLEEP_DEFAULT_MS},
    {"/sleep?", 200, HTTP_ROUTE_SLEEP, SLEEP_DEFAULT_MS},
    {"/sleep?ms=5", 200, HTTP_ROUTE_SLEEP, 5},
    {"/sleep?a=1&ms=7&ms=9", 200, HTTP_ROUTE_SLEEP, 7},
    {"/sleep?ms=60000", 200, HTTP_ROUTE_SLEEP, SLEEP_MAX_MS},
    {"/sleep?ms=60001", 400, HTTP_ROUTE_SLEEP, -1},
    {"/sleep?ms=", 400, HTTP_ROUTE_SLEEP, -1},
    {"/sleep?ms=-1", 400, HTTP_ROUTE_SLEEP, -1},
    {"/sleep?ms=1x", 400, HTTP_ROUTE_SLEEP, -1},
    {"/bytes", 400, HTTP_ROUTE_BYTES, -1}, /* UB under clang before */
    {"/bytes?n=0", 200, HTTP_ROUTE_BYTES, 0},
    {"/bytes?x&n=16", 200, HTTP_ROUTE_BYTES, 16},
    {"/bytes?n=16777217", 400, HTTP_ROUTE_BYTES, -1},
    {"/nope", 404, HTTP_ROUTE_HELLO, -1},
    {"/sleep/", 404, HTTP_ROUTE_HELLO, -1},
    {"/SLEEP", 404, HTTP_ROUTE_HELLO, -1},
    {"//", 404, HTTP_ROUTE_HELLO, -1},
    {"/echo", 200, HTTP_ROUTE_ECHO, -1},
    {"/echo?x=1", 200, HTTP_ROUTE_ECHO, -1},
    {"/echo/", 404, HTTP_ROUTE_HELLO, -1},
};

Test(router, every_path_gets_its_route_and_number,
     .timeout = TEST_TIMEOUT_S)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route_case *c = &routes[i];
        size_t len = strlen(c->path);
        char *copy = malloc(len > 0 ? len : 1);
        enum http_route route = HTTP_ROUTE_HELLO;
        long long number = -1;

        cr_assert(copy != NULL);
        memcpy(copy, c->path, len);
        int status =
            http_route((struct http_span){copy, len}, &route, &number);
        cr_expect(status == c->status,
                  "http_route(\"%s\") should return %d, returned %d",
                  c->path, c->status, status);
        if (status == 200 && c->status == 200)
            cr_expect(route == c->route && number == c->number,
                      "http_route(\"%s\"): route %d, number %lld; "
                      "expected route %d, number %lld",
                      c->path, (int)route, number, (int)c->route,
                      c->number);
        free(copy);
    }
}

/* A NULL span of length 0 is a valid empty path: routed as "/", and
 * never offset (NULL + 0 is undefined behaviour in C). */
Test(router, an_empty_span_without_a_buffer_is_the_root,
     .timeout = TEST_TIMEOUT_S)
{
    enum http_route route = HTTP_ROUTE_BYTES;
    long long number = -1;

    cr_expect_eq(
        http_route((struct http_span){NULL, 0}, &route, &number), 200);
    cr_expect_eq(route, HTTP_ROUTE_HELLO);
}

Test(parser, bytes_after_the_head_are_not_part_of_it,
     .timeout = TEST_TIMEOUT_S)
{
    const char *head = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    char text[128];
    struct http_request req;

    snprintf(text, sizeof text, "%sGET / HTTP/1.1\r\n", head);
    cr_assert_eq(http_parse(text, strlen(text), &req),
                 (long)strlen(head),
                 "the head ends at the first blank line");
}

/* "GET /" + padding + " HTTP/1.1" + CRLF + Host + padding header +
 * CRLF: a valid request of exactly total bytes. */
static char *request_of_size(size_t total)
{
    char *buf = malloc(total + 1);
    const char *start = "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ";
    size_t n = strlen(start);

    cr_assert(buf != NULL && total > n + 4);
    memcpy(buf, start, n);
    memset(buf + n, 'a', total - n - 4);
    memcpy(buf + total - 4, "\r\n\r\n", 4);
    buf[total] = '\0';
    return buf;
}

Test(parser, a_head_of_exactly_the_limit_is_accepted,
     .timeout = TEST_TIMEOUT_S)
{
    struct http_request req;
    char *at = request_of_size(HEAD_MAX_BYTES);
    char *past = request_of_size(HEAD_MAX_BYTES + 1);

    cr_expect_eq(parse_exact(at, HEAD_MAX_BYTES, &req),
                 (long)HEAD_MAX_BYTES, "a head of %d bytes is accepted",
                 HEAD_MAX_BYTES);
    cr_expect_eq(parse_exact(past, HEAD_MAX_BYTES + 1, &req), -431L,
                 "a head of %d bytes gets 431", HEAD_MAX_BYTES + 1);
    cr_expect_eq(parse_exact(past, HEAD_MAX_BYTES, &req), -431L,
                 "the first %d bytes of a longer head already get 431",
                 HEAD_MAX_BYTES);
    cr_expect_eq(parse_exact(past, HEAD_MAX_BYTES - 1, &req),
                 (long)HTTP_INCOMPLETE,
                 "one byte short of the limit, more may still come");
    free(at);
    free(past);
}

/* A request line of line_len bytes (before its end), then end. */
static char *long_line(size_t line_len, const char *end)
{
    char *buf = malloc(line_len + strlen(end) + 1);

    cr_assert(buf != NULL);
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'a', line_len - 5 - 9);
    memcpy(buf + line_len - 9, " HTTP/1.1", 9);
    strcpy(buf + line_len, end);
    return buf;
}

Test(parser, a_request_line_filling_the_buffer_gets_414,
     .timeout = TEST_TIMEOUT_S)
{
    struct http_request req;
    char *full = long_line(HEAD_MAX_BYTES, "\r\nHost: t\r\n\r\n");
    char *fits = long_line(HEAD_MAX_BYTES - 1, "\n");
    char *room = long_line(HEAD_MAX_BYTES - 200, "\r\nHost: t\r\n\r\n");

    cr_expect_eq(parse_exact(full, HEAD_MAX_BYTES, &req), -414L,
                 "a request line of %d bytes with no end yet: 414",
                 HEAD_MAX_BYTES);
    cr_expect_eq(parse_exact(full, strlen(full), &req), -414L,
                 "bytes past the limit are never looked at");
    cr_expect_eq(parse_exact(fits, HEAD_MAX_BYTES, &req), -431L,
                 "a request line that ends in the last byte fits; "
                 "the head does not (431)");
    cr_expect_eq(parse_exact(room, strlen(room), &req),
                 (long)strlen(room),
                 "a long request line with room for the rest is fine");
    free(full);
    free(fits);
    free(room);
}

Test(parser, the_limit_beats_a_later_rule, .timeout = TEST_TIMEOUT_S)
{
    struct http_request req;
    char *buf = malloc(HEAD_MAX_BYTES);
    const char *start = "GET / HTTP/2.0\r\nX: ";

    cr_assert(buf != NULL);
    memcpy(buf, start, strlen(start));
    memset(buf + strlen(start), 'a', HEAD_MAX_BYTES - strlen(start));
    cr_expect_eq(parse_exact(buf, HEAD_MAX_BYTES, &req), -431L,
                 "431 (buffer full) comes before 505 (version) in the "
                 "documented order");
    free(buf);
}

Test(parser, body_limit_is_spelled_right, .timeout = TEST_TIMEOUT_S)
{
    cr_assert_eq(strtol(BODY_MAX, NULL, 10), (long)BODY_MAX_BYTES,
                 "the rows' BODY_MAX should be config.h's");
    cr_assert_eq(strtol(BODY_MAX_PLUS_1, NULL, 10),
                 (long)BODY_MAX_BYTES + 1);
}

/* ---- The body decoder ---- */

#define CHUNKED "Transfer-Encoding: chunked" CRLF
#define ECHO "POST /echo HTTP/1.1" CRLF HOST

struct body_case {
    const char *why;
    const char *text; /* a whole request, head and body */
    const char *body; /* what it decodes to; NULL when refused */
    int status;       /* the refusal: 400 or 413; else 0 */
    size_t after;     /* bytes after the body: not the decoder's */
};

static const struct body_case bodies[] = {
    {"Content-Length: 5", ECHO "Content-Length: 5" CRLF CRLF "hello",
     "hello", 0, 0},
    {"GET / with Content-Length: 5 and its 5 bytes",
     "GET / HTTP/1.1" CRLF HOST "Content-Length: 5" CRLF CRLF "hello",
     "hello", 0, 0},
    {"Content-Length: 0", ECHO "Content-Length: 0" CRLF CRLF, "", 0, 0},
    {"no framing: no body", ECHO CRLF, "", 0, 0},
    {"no framing: what follows is the next request's",
     ECHO CRLF "GET /", "", 0, 5},
    {"bytes after a Content-Length body",
     ECHO "Content-Length: 2" CRLF CRLF "hiGET", "hi", 0, 3},
    {"GET / chunked: 5 CRLF hello CRLF 0 CRLF CRLF (RFC 9112 7.1)",
     "GET / HTTP/1.1" CRLF HOST CHUNKED CRLF "5" CRLF "hello" CRLF
     "0" CRLF CRLF,
     "hello", 0, 0},
    {"chunked: several chunks, hex sizes in either case",
     ECHO CHUNKED CRLF "3" CRLF "abc" CRLF "A" CRLF "0123456789" CRLF
                       "b" CRLF "hello world" CRLF "0" CRLF CRLF,
     "abc0123456789hello world", 0, 0},
    {"chunked: leading zeros",
     ECHO CHUNKED CRLF "0003" CRLF "abc" CRLF "000" CRLF CRLF, "abc", 0,
     0},
    {"chunked: only the last chunk", ECHO CHUNKED CRLF "0" CRLF CRLF,
     "", 0, 0},
    {"chunked: extensions are skipped",
     ECHO CHUNKED CRLF "3;name=value" CRLF "abc" CRLF
                       "0 ; x=\"q;\" ;y" CRLF CRLF,
     "abc", 0, 0},
    {"chunked: the trailer section is read and dropped",
     ECHO CHUNKED CRLF "2" CRLF "hi" CRLF "0" CRLF "X-Sum: 1" CRLF
                       "Y: 2" CRLF CRLF,
     "hi", 0, 0},
    {"chunked: bytes after the body",
     ECHO CHUNKED CRLF "1" CRLF "x" CRLF "0" CRLF CRLF "GET", "x", 0,
     3},
    {"chunked: a chunk of BODY_MAX_BYTES bytes announced is fine so "
     "far",
     ECHO CHUNKED CRLF "10000" CRLF "ab", NULL, 0, 0},
    {"chunked: a size that is not hex", ECHO CHUNKED CRLF "g" CRLF "x",
     NULL, 400, 0},
    {"chunked: no size at all", ECHO CHUNKED CRLF CRLF, NULL, 400, 0},
    {"chunked: a sign before the size", ECHO CHUNKED CRLF "+1" CRLF "x",
     NULL, 400, 0},
    {"chunked: a size that overflows 64 bits",
     ECHO CHUNKED CRLF "10000000000000000" CRLF, NULL, 400, 0},
    {"chunked: a bare LF after the size", ECHO CHUNKED CRLF "5\nhello",
     NULL, 400, 0},
    {"chunked: a bare LF after the data",
     ECHO CHUNKED CRLF "5" CRLF "hello\n0" CRLF CRLF, NULL, 400, 0},
    {"chunked: data longer than its size",
     ECHO CHUNKED CRLF "3" CRLF "abcd" CRLF "0" CRLF CRLF, NULL, 400,
     0},
    {"chunked: a bare LF ending the body",
     ECHO CHUNKED CRLF "0" CRLF "\n", NULL, 400, 0},
    {"chunked: a bare LF in the trailer",
     ECHO CHUNKED CRLF "0" CRLF "X: 1\n" CRLF, NULL, 400, 0},
    {"chunked: a control byte in an extension",
     ECHO CHUNKED CRLF "1;\x01" CRLF "x" CRLF "0" CRLF CRLF, NULL, 400,
     0},
    {"chunked: a space inside the size", ECHO CHUNKED CRLF "1 0" CRLF,
     NULL, 400, 0},
    {"chunked: a chunk past BODY_MAX_BYTES, refused at its size line",
     ECHO CHUNKED CRLF "10001" CRLF, NULL, 413, 0},
};

#define NBODIES (sizeof bodies / sizeof bodies[0])

/* What feeding a request's body gave: the decoded bytes, whether it
 * was done, the refusal, and how many bytes the decoder took. */
struct fed {
    char *out;
    size_t len;
    bool done;
    int status;
    size_t head, used; /* the head's length; body bytes taken */
};

/* Parses text's head, then feeds what follows it to the decoder in
 * pieces of step bytes (the first cut at first, if not 0). Each piece
 * is an exact-size copy, so a read past it shows under ASan. */
static struct fed feed_body(const char *text, size_t len, size_t first,
                            size_t step)
{
    struct http_request req;
    struct http_body b;
    struct fed f = {.out = malloc(BODY_MAX_BYTES)};
    long head = http_parse(text, len, &req);

    cr_assert(f.out != NULL);
    cr_assert(head > 0, "the head of \"%s\" should be accepted", text);
    f.head = (size_t)head;
    http_body_start(&b, &req);
    for (size_t pos = (size_t)head; pos < len && f.status == 0;) {
        size_t n = pos == (size_t)head && first > 0 ? first : step;
        n = n < len - pos ? n : len - pos;
        char *piece = malloc(n);
        cr_assert(piece != NULL);
        memcpy(piece, text + pos, n);
        long r = http_body_feed(&b, piece, n, f.out);
        free(piece);
        cr_assert(r < 0 || (size_t)r <= n, "took more than it was fed");
        cr_assert(b.len <= pos + n - (size_t)head,
                  "decoded more bytes than it was fed");
        if (r < 0)
            f.status = (int)-r;
        else
            f.used += (size_t)r;
        pos += n;
        if (b.done)
            break;
    }
    f.len = b.len;
    f.done = b.done;
    return f;
}

/* Checks one way of feeding row c against what the row says. */
static void check_fed(const struct body_case *c, struct fed f,
                      const char *how)
{
    size_t len = strlen(c->text);

    if (c->body != NULL) {
        cr_expect(f.done && f.status == 0, "%s, %s: should be whole",
                  c->why, how);
        cr_expect(f.len == strlen(c->body) &&
                      memcmp(f.out, c->body, f.len) == 0,
                  "%s, %s: decoded %zu bytes \"%.*s\", not \"%s\"",
                  c->why, how, f.len, (int)f.len, f.out, c->body);
        cr_expect_eq(len - f.head - f.used, c->after,
                     "%s, %s: %zu bytes left after the body, not %zu",
                     c->why, how, len - f.head - f.used, c->after);
    } else if (c->status != 0) {
        cr_expect_eq(f.status, c->status,
                     "%s, %s: should be %d, not %d", c->why, how,
                     c->status, f.status);
    } else {
        cr_expect(!f.done && f.status == 0,
                  "%s, %s: should still want bytes", c->why, how);
    }
    free(f.out);
}

Test(parser, every_body_row_decodes_in_any_pieces,
     .timeout = TEST_TIMEOUT_S)
{
    for (size_t i = 0; i < NBODIES; i++) {
        const struct body_case *c = &bodies[i];
        size_t len = strlen(c->text);

        check_fed(c, feed_body(c->text, len, 0, len), "in one piece");
        check_fed(c, feed_body(c->text, len, 0, 1), "byte by byte");
        for (size_t cut = 1; cut < 40; cut++)
            check_fed(c, feed_body(c->text, len, cut, len),
                      "cut in two");
    }
}

/* A body of BODY_MAX_BYTES fits in chunks; one byte more is 413,
 * however it is cut into chunks. */
Test(parser, chunks_adding_up_past_the_limit_get_413,
     .timeout = TEST_TIMEOUT_S)
{
    static const char head[] = ECHO CHUNKED CRLF;
    size_t cap = sizeof head + BODY_MAX_BYTES + 64;
    char *text = malloc(cap);

    cr_assert(text != NULL);
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = sizeof head - 1;
        memcpy(text, head, n);
        n += (size_t)snprintf(text + n, cap - n, "ffff" CRLF);
        memset(text + n, 'a', 0xffff);
        n += 0xffff;
        n += (size_t)snprintf(text + n, cap - n,
                              CRLF "%x" CRLF "b" CRLF, 1 + extra);
        if (extra)
            text[n++] = 'c'; /* the second byte of that last chunk */
        n += (size_t)snprintf(text + n, cap - n, "%s0" CRLF CRLF,
                              extra ? CRLF : "");
        struct fed f = feed_body(text, n, 0, 4096);
        if (extra)
            cr_expect_eq(f.status, 413, "BODY_MAX_BYTES + 1 in chunks");
        else
            cr_expect(f.done && f.len == BODY_MAX_BYTES,
                      "BODY_MAX_BYTES in chunks should be whole");
        free(f.out);
    }
    free(text);
}

Test(parser, a_body_error_stays, .timeout = TEST_TIMEOUT_S)
{
    static const char text[] = ECHO CHUNKED CRLF "z" CRLF;
    struct http_request req;
    struct http_body b;
    char out[8];
    long head = http_parse(text, sizeof text - 1, &req);

    cr_assert(head > 0);
    http_body_start(&b, &req);
    cr_expect_eq(http_body_feed(&b, text + head, 1, out), -400L);
    cr_expect_eq(http_body_feed(&b, "0\r\n\r\n", 5, out), -400L,
                 "after an error every call returns it again");
    cr_expect(!b.done);
}
