/*
 * fuzz_http.c - a libFuzzer harness for http_parse() and http_route().
 *
 * "It did not crash" proves little about a parser. Every input is put
 * through http_parse() several ways, and the answers must agree with
 * each other and with the contract in http_parse.h (the numbers are
 * those of tests/README.md):
 *
 *   1. the verdict is one of the documented ones;
 *   2. an accepted head is no longer than the input and ends in '\n';
 *   3. every span points inside the examined part of the buffer;
 *   4. an accepted request obeys every rule the parser enforces
 *      (GET, HEAD or POST /echo, HTTP/1.0 or 1.1, Host, one framing
 *      at most, a body within BODY_MAX_BYTES, ...);
 *   5. parsing is pure: the same input gives the same answer again,
 *      and the buffer is left untouched;
 *   6. only the first HEAD_MAX_BYTES count: past them, cutting the
 *      input changes nothing;
 *   7. fed as growing prefixes, byte by byte, as a server reading a
 *      slow socket would, the first answer that is not
 *      HTTP_INCOMPLETE is the answer for the whole input, and it does
 *      not change as more bytes arrive;
 *   8. an accepted request, written out again from the parsed fields
 *      alone, is accepted again with the same fields;
 *   9. every accepted request is routed: http_route() on its path
 *      gives 200, 400 or 404, and a number in the route's range; and
 *      so does the whole input taken as a path (the query parsing
 *      meets every byte);
 *  10. the body decoder, fed the bytes after an accepted head, and
 *      the whole input taken as a chunked body and as a body of a
 *      given Content-Length, in random pieces (each an exact-size
 *      copy), never takes more bytes than it was given, never decodes
 *      more than it was fed nor past BODY_MAX_BYTES, answers only 400
 *      or 413, and ends the same, with the same bytes, however the
 *      input is cut.
 *
 * A broken invariant prints what differed and aborts; libFuzzer then
 * saves the input under tests/fuzz/artifacts/. Built and run by
 * `make fuzz` (tests/abuse.mk).
 */
#include "config.h"
#include "http_parse.h"

#include <stdbool.h>
#include <strings.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken invariant and stops: abort() makes libFuzzer save
 * the input that caused it. */
#define EXPECT(cond, ...)                                              \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf(stderr, "invariant broken: %s\n  ", #cond);        \
            fprintf(stderr, __VA_ARGS__);                              \
            fputc('\n', stderr);                                       \
            abort();                                                   \
        }                                                              \
    } while (0)

static size_t window_of(size_t len)
{
    return len < HEAD_MAX_BYTES ? len : HEAD_MAX_BYTES;
}

static bool known_verdict(long v)
{
    static const long statuses[] = {400, 405, 413, 414,
                                    417, 431, 501, 505};

    if (v >= 0)
        return true;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (v == -statuses[i])
            return true;
    return false;
}

/* A span is either empty or lies within buf[0..end). */
static bool span_inside(struct http_span s, const char *buf, size_t end)
{
    if (s.len == 0)
        return true;
    return s.ptr >= buf && s.len <= end &&
           (size_t)(s.ptr - buf) <= end - s.len;
}

static bool span_equals(struct http_span s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

/* The path of POST /echo: "/echo", maybe with a query. */
static bool is_echo(struct http_span p)
{
    return p.len >= 5 && memcmp(p.ptr, "/echo", 5) == 0 &&
           (p.len == 5 || p.ptr[5] == '?');
}

static bool spans_same_bytes(struct http_span a, struct http_span b)
{
    return a.len == b.len &&
           (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Before the request line come only empty lines (CRLF or LF), at
 * most EMPTY_LINES_MAX of them. */
static void check_before_line(const char *buf,
                              const struct http_request *r)
{
    size_t skipped = (size_t)(r->line.ptr - buf), lines = 0;

    for (size_t i = 0; i < skipped; i++) {
        EXPECT(buf[i] == '\r' || buf[i] == '\n',
               "byte %zu before the request line is 0x%02x", i,
               (unsigned char)buf[i]);
        lines += buf[i] == '\n';
    }
    EXPECT(lines <= EMPTY_LINES_MAX, "%zu empty lines skipped", lines);
}

/* An accepted target is origin-form ("/..."), whose path is all of
 * it, or absolute-form ("http://host..."), whose path is what follows
 * a non-empty host that has no '@'. Either way the path ends the
 * target. */
static void check_target(const struct http_request *r)
{
    struct http_span t = r->target, p = r->path;

    EXPECT(t.len > 0, "accepted an empty target");
    EXPECT(p.ptr + p.len == t.ptr + t.len, "the path does not end the "
                                           "target");
    if (t.ptr[0] == '/') {
        EXPECT(p.ptr == t.ptr,
               "origin-form: the path is not the target");
        return;
    }
    EXPECT(t.len > 7 && strncasecmp(t.ptr, "http://", 7) == 0,
           "accepted target %.*s, neither origin- nor absolute-form",
           (int)t.len, t.ptr);
    size_t host = (size_t)(p.ptr - t.ptr) - 7;
    EXPECT(host > 0, "absolute-form with an empty host");
    EXPECT(memchr(t.ptr + 7, '@', host) == NULL &&
               memchr(t.ptr + 7, '/', host) == NULL &&
               memchr(t.ptr + 7, '?', host) == NULL,
           "absolute-form host %.*s", (int)host, t.ptr + 7);
    EXPECT(p.len == 0 || p.ptr[0] == '/' || p.ptr[0] == '?',
           "absolute-form path %.*s", (int)p.len, p.ptr);
}

/* Invariants 1 to 4, for one call's result. */
static void check_result(const char *buf, size_t len, long v,
                         const struct http_request *r)
{
    size_t win = window_of(len);

    EXPECT(known_verdict(v), "verdict %ld", v);
    EXPECT(span_inside(r->line, buf, win), "line outside buffer");
    EXPECT(span_inside(r->method, buf, win), "method outside buffer");
    EXPECT(span_inside(r->target, buf, win), "target outside buffer");
    if (v == HTTP_INCOMPLETE)
        EXPECT(len < HEAD_MAX_BYTES, "incomplete with %zu bytes", len);
    if (v == -414 || v == -431)
        EXPECT(win == HEAD_MAX_BYTES, "%ld with %zu bytes", v, len);
    EXPECT(span_inside(r->path, buf, win), "path outside buffer");
    EXPECT(r->head_len == 0 ||
               (r->head_len <= win && buf[r->head_len - 1] == '\n'),
           "head_len %zu of %zu bytes", r->head_len, len);
    if (v == HTTP_INCOMPLETE)
        EXPECT(r->head_len == 0, "incomplete with head_len %zu",
               r->head_len);
    if (v <= 0)
        return;
    EXPECT((size_t)v <= win, "head %ld of %zu bytes", v, len);
    EXPECT(buf[v - 1] == '\n', "head %ld does not end in LF", v);
    check_before_line(buf, r);
    EXPECT(span_equals(r->method, "GET") ||
               span_equals(r->method, "HEAD") ||
               (span_equals(r->method, "POST") && is_echo(r->path)),
           "accepted method %.*s", (int)r->method.len, r->method.ptr);
    check_target(r);
    EXPECT(r->head_len == (size_t)v, "head_len %zu, verdict %ld",
           r->head_len, v);
    EXPECT(r->major == 1 && (r->minor == 0 || r->minor == 1),
           "accepted version %d.%d", r->major, r->minor);
    EXPECT(r->minor == 1 ? r->host_count == 1 : r->host_count <= 1,
           "accepted HTTP/1.%d with %d Host", r->minor, r->host_count);
    EXPECT(r->transfer_encodings == 0 ||
               (r->transfer_encodings == 1 && r->chunked &&
                r->content_length == -1 && r->minor == 1),
           "accepted %d Transfer-Encoding", r->transfer_encodings);
    EXPECT(!r->bad_content_length, "accepted bad Content-Length");
    EXPECT(r->content_length >= -1 &&
               r->content_length <= BODY_MAX_BYTES,
           "accepted Content-Length %lld", r->content_length);
    EXPECT(!r->bad_expect, "accepted an unknown expectation");
    /* The request line is exactly METHOD SP TARGET SP HTTP/x.y. */
    EXPECT(r->line.len == r->method.len + r->target.len + 10 &&
               r->target.ptr == r->method.ptr + r->method.len + 1,
           "request line is not method, target and version");
}

static bool same_fields(const struct http_request *a,
                        const struct http_request *b)
{
    return spans_same_bytes(a->method, b->method) &&
           spans_same_bytes(a->target, b->target) &&
           spans_same_bytes(a->path, b->path) && a->major == b->major &&
           a->minor == b->minor && a->host_count == b->host_count &&
           a->transfer_encodings == b->transfer_encodings &&
           a->chunked == b->chunked &&
           a->expect_continue == b->expect_continue &&
           a->bad_content_length == b->bad_content_length &&
           a->content_length == b->content_length;
}

/*
 * Invariant 7, byte by byte. A long input has thousands of prefixes,
 * each parsed from its start: to keep the fuzzer fast, they go through
 * a second copy of http.c built without coverage feedback (same source,
 * same sanitizers; see tests/abuse.mk). Each prefix is copied to the
 * very end of a heap block, so that AddressSanitizer catches a read
 * past the prefix (in the whole input those bytes would be readable).
 *
 * Up to the first answer every prefix is parsed. After it, the answer
 * must stay the same: checked for the next 64 prefixes, every 61st
 * after those, and the last one.
 */
long http_parse_plain(const char *buf, size_t len,
                      struct http_request *req);

static long parse_prefix(char *block, size_t block_len, const char *buf,
                         size_t k)
{
    struct http_request r;
    char *p = block + (block_len - k);

    memcpy(p, buf, k);
    long v = http_parse_plain(p, k, &r);
    check_result(p, k, v, &r);
    return v;
}

static void check_prefixes(const char *buf, size_t len, long whole)
{
    size_t win = window_of(len), k = 1;
    char *block = malloc(win > 0 ? win : 1);
    long first = HTTP_INCOMPLETE;

    EXPECT(block != NULL, "out of memory");
    for (; k <= win && first == HTTP_INCOMPLETE; k++)
        first = parse_prefix(block, win, buf, k);
    size_t first_at = k - 1;
    EXPECT(first == whole,
           "first answer over prefixes %ld (at %zu bytes), whole %ld",
           first, first_at, whole);
    for (; k <= win; k += k < first_at + 64 ? 1 : 61) {
        long v = parse_prefix(block, win, buf, k);
        EXPECT(v == first, "prefix %zu says %ld, prefix %zu said %ld",
               k, v, first_at, first);
    }
    if (first_at < win) {
        long v = parse_prefix(block, win, buf, win);
        EXPECT(v == first, "all %zu bytes say %ld, prefix %zu said %ld",
               win, v, first_at, first);
    }
    free(block);
}

/* Writes the request back out from the parsed fields alone. With
 * canonical set: CRLF and "Host: fuzz.example"; otherwise the shortest
 * form, bare LF and empty values, which is never longer than the
 * input it came from. Returns the length, or 0 if cap is too small. */
static size_t reserialise(const struct http_request *r, bool canonical,
                          char *out, size_t cap)
{
    const char *eol = canonical ? "\r\n" : "\n";
    const char *sep = canonical ? ": " : ":";
    size_t n = 0;
    int k =
        snprintf(out, cap, "%.*s %.*s HTTP/%d.%d%s", (int)r->method.len,
                 r->method.ptr, (int)r->target.len, r->target.ptr,
                 r->major, r->minor, eol);

    for (int i = 0; k >= 0 && (size_t)k < cap - n; i++) {
        /* host_count Host lines, then the framing and Expect if sent */
        n += (size_t)k;
        if (i < r->host_count)
            k = snprintf(out + n, cap - n, "Host%s%s%s", sep,
                         canonical ? "fuzz.example" : "", eol);
        else if (i == r->host_count && r->content_length >= 0)
            k = snprintf(out + n, cap - n, "Content-Length%s%lld%s",
                         sep, r->content_length, eol);
        else if (i == r->host_count + 1 && r->chunked)
            k = snprintf(out + n, cap - n,
                         "Transfer-Encoding%schunked%s", sep, eol);
        else if (i == r->host_count + 2 && r->expect_continue)
            k = snprintf(out + n, cap - n, "Expect%s100-continue%s",
                         sep, eol);
        else if (i == r->host_count + 3)
            k = snprintf(out + n, cap - n, "%s", eol);
        else if (i > r->host_count + 3)
            return n;
        else
            k = 0;
    }
    return 0;
}

/* Invariant 8. */
static void check_reserialised(const struct http_request *r)
{
    static char out[2 * HEAD_MAX_BYTES];
    bool canonical = true;
    size_t n = reserialise(r, canonical, out, sizeof out);

    if (n == 0 || n > HEAD_MAX_BYTES) {
        canonical = false;
        n = reserialise(r, canonical, out, sizeof out);
    }
    EXPECT(n > 0 && n <= HEAD_MAX_BYTES, "re-serialised to %zu bytes",
           n);
    char *copy = malloc(n);
    EXPECT(copy != NULL, "out of memory");
    memcpy(copy, out, n);
    struct http_request again;
    long v = http_parse(copy, n, &again);
    check_result(copy, n, v, &again);
    EXPECT(v == (long)n && same_fields(r, &again),
           "re-serialised (%s) request: verdict %ld of %zu bytes, "
           "fields %s: \"%.*s\"",
           canonical ? "canonical" : "short", v, n,
           same_fields(r, &again) ? "same" : "differ", (int)n, copy);
    free(copy);
}

/* Invariant 9, for one path: routed through an exact-size heap copy,
 * so that AddressSanitizer catches a read past it. */
static void check_route(const char *path, size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);
    enum http_route route = HTTP_ROUTE_HELLO;
    long long number = -1;

    EXPECT(copy != NULL, "out of memory");
    memcpy(copy, path, len);
    int status =
        http_route((struct http_span){copy, len}, &route, &number);
    EXPECT(status == 200 || status == 400 || status == 404,
           "http_route gave %d", status);
    if (status == 200 && route == HTTP_ROUTE_SLEEP)
        EXPECT(number >= 0 && number <= SLEEP_MAX_MS, "sleep %lld",
               number);
    if (status == 200 && route == HTTP_ROUTE_BYTES)
        EXPECT(number >= 0 && number <= BYTES_MAX, "bytes %lld",
               number);
    EXPECT(status != 200 || route == HTTP_ROUTE_HELLO ||
               route == HTTP_ROUTE_SLEEP || route == HTTP_ROUTE_BYTES ||
               route == HTTP_ROUTE_ECHO,
           "route %d", (int)route);
    free(copy);
}

/* ---- Invariant 10: the body decoder ---- */

long http_body_feed_plain(struct http_body *b, const char *in,
                          size_t len, char *out);
void http_body_start_plain(struct http_body *b,
                           const struct http_request *req);

/* How one way of feeding a body ended. */
struct decoded {
    long status; /* 0, or the negative status every call then gives */
    bool done;
    size_t len, used; /* bytes decoded; bytes of input taken */
};

/* Feeds in[0..len) to a decoder for req, in pieces whose sizes come
 * from seed (0: one piece), each an exact-size heap copy. */
static struct decoded decode(const struct http_request *req,
                             const char *in, size_t len, char *out,
                             uint32_t seed)
{
    struct http_body b;
    struct decoded d = {0};
    size_t fed = 0;

    bool whole = seed == 0;

    http_body_start_plain(&b, req);
    while (fed < len && d.status == 0) {
        seed = seed * 1103515245u + 12345u;
        size_t n = whole ? len : 1 + (seed >> 16) % 97;
        n = n < len - fed ? n : len - fed;
        char *piece = malloc(n);
        EXPECT(piece != NULL, "out of memory");
        memcpy(piece, in + fed, n);
        long r = http_body_feed_plain(&b, piece, n, out);
        free(piece);
        fed += n;
        EXPECT(r == -400 || r == -413 || (r >= 0 && (size_t)r <= n),
               "http_body_feed took %ld of %zu bytes", r, n);
        EXPECT(b.len <= fed && b.len <= BODY_MAX_BYTES,
               "decoded %zu bytes of %zu fed", b.len, fed);
        if (r < 0)
            d.status = r;
        else
            d.used += (size_t)r;
        if (r >= 0 && (size_t)r < n)
            EXPECT(b.done, "stopped at %ld of %zu bytes, not done", r,
                   n);
    }
    d.done = b.done;
    d.len = b.len;
    if (d.status != 0)
        EXPECT(http_body_feed_plain(&b, "0\r\n\r\n", 5, out) ==
                   d.status,
               "an error did not stay");
    else if (d.done)
        EXPECT(http_body_feed_plain(&b, "x", 1, out) == 0,
               "a done body took more bytes");
    return d;
}

/* Decodes in[0..len) whole and in pieces; both must agree. */
static void check_body(const struct http_request *req, const char *in,
                       size_t len, uint32_t seed)
{
    static char *whole, *cut;

    if (whole == NULL) {
        whole = malloc(BODY_MAX_BYTES);
        cut = malloc(BODY_MAX_BYTES);
        EXPECT(whole != NULL && cut != NULL, "out of memory");
    }
    struct decoded a = decode(req, in, len, whole, 0);
    struct decoded b = decode(req, in, len, cut, seed | 1);
    /* After an error, how far each got does not matter. */
    EXPECT(
        a.status == b.status &&
            (a.status != 0 ||
             (a.done == b.done && a.len == b.len && a.used == b.used)),
        "whole: %ld done %d len %zu used %zu; in pieces: %ld done %d "
        "len %zu used %zu",
        a.status, a.done, a.len, a.used, b.status, b.done, b.len,
        b.used);
    if (a.status != 0)
        return;
    EXPECT(memcmp(whole, cut, a.len) == 0, "pieces decode other bytes");
    if (a.done && req->chunked)
        EXPECT(a.used >= a.len + 5, "chunked: %zu bytes from %zu",
               a.len, a.used);
    if (a.done && !req->chunked)
        EXPECT(a.len == a.used &&
                   (long long)a.len == (req->content_length > 0
                                            ? req->content_length
                                            : 0) &&
                   memcmp(whole, in, a.len) == 0,
               "Content-Length: %lld decoded %zu", req->content_length,
               a.len);
}

static void check_bodies(const char *buf, size_t size, long v,
                         const struct http_request *req)
{
    uint32_t seed = 2166136261u; /* FNV-1a: the cuts follow the input */
    struct http_request chunked = {
        .content_length = -1, .chunked = true, .transfer_encodings = 1};
    struct http_request fixed = {.content_length =
                                     (long long)(size - size / 4)};

    for (size_t i = 0; i < size; i++)
        seed = (seed ^ (unsigned char)buf[i]) * 16777619u;
    if (v > 0)
        check_body(req, buf + v, size - (size_t)v, seed);
    check_body(&chunked, buf, size, seed);
    check_body(&fixed, buf, size, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct http_request req, again;
    char *before = malloc(size > 0 ? size : 1);

    EXPECT(before != NULL, "out of memory");
    memcpy(before, data, size);
    /* libFuzzer's copy of the input is exactly size bytes, so a read
     * before or past it is caught by AddressSanitizer. */
    long v = http_parse(buf, size, &req);
    check_result(buf, size, v, &req);

    /* 5: pure. */
    long v2 = http_parse(buf, size, &again);
    EXPECT(v2 == v && same_fields(&req, &again) &&
               req.line.len == again.line.len,
           "second parse gave %ld, first %ld", v2, v);
    EXPECT(memcmp(before, data, size) == 0, "parser wrote its buffer");
    free(before);

    /* 6: the window. */
    if (size > HEAD_MAX_BYTES) {
        long w = http_parse(buf, HEAD_MAX_BYTES, &again);
        EXPECT(w == v && same_fields(&req, &again),
               "first %d bytes give %ld, all %zu give %ld",
               HEAD_MAX_BYTES, w, size, v);
    }

    check_prefixes(buf, size, v);
    if (v > 0) {
        check_reserialised(&req);
        check_route(req.path.ptr, req.path.len);
    }
    check_route(buf, size);
    check_bodies(buf, size, v, &req);
    return 0;
}
