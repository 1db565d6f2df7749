/*
 * test_conformance.c - black box: the rules of RFC 9110 and 9112 that
 * the server follows on top of its parser's (tests/README.md has the
 * table): Date on every response, absolute-form targets, empty lines
 * before the request line, no lingering when nothing is unread, and
 * request bodies: their framing, Expect: 100-continue, POST /echo and
 * BODY_MAX_BYTES.
 */
#include "client.h"
#include "config.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The same English names the server uses, whatever the locale. */
static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                   "May", "Jun", "Jul", "Aug",
                                   "Sep", "Oct", "Nov", "Dec"};

static int find_name(const char (*names)[4], int count, const char *s)
{
    for (int i = 0; i < count; i++)
        if (memcmp(names[i], s, 3) == 0)
            return i;
    return -1;
}

/* Days from 1970-01-01 to y-m-d (m 1..12) in the Gregorian calendar;
 * timegm() is not POSIX, so the arithmetic is done here. */
static long long days_since_epoch(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into
 * seconds since the epoch. Returns false unless it has exactly that
 * shape, real names, and a weekday that matches the date. */
static bool parse_imf_fixdate(const char *v, long long *out)
{
    static const char shape[] = "Aaa, 00 Aaa 0000 00:00:00 GMT";
    char day[4] = "", month[4] = "";
    int d, y, h, mi, s, n = 0;

    if (strlen(v) != sizeof shape - 1)
        return false;
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        bool digit = v[i] >= '0' && v[i] <= '9';
        if ((shape[i] == '0') != digit)
            return false;
    }
    if (sscanf(v, "%3c, %2d %3c %4d %2d:%2d:%2d GMT%n", day, &d, month,
               &y, &h, &mi, &s, &n) != 7 ||
        n != (int)sizeof shape - 1)
        return false;
    int wday = find_name(days, 7, day),
        mon = find_name(months, 12, month);
    if (wday < 0 || mon < 0 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        s > 60)
        return false;
    long long since = days_since_epoch(y, mon + 1, d);
    if ((since % 7 + 11) % 7 != wday) /* 1970-01-01 was a Thursday */
        return false;
    *out = since * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

Test(conformance, the_date_check_itself_reads_the_rfc_example,
     .timeout = TEST_TIMEOUT_S)
{
    long long t = 0;

    cr_assert(parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT", &t));
    cr_expect_eq(t, 784111777LL, "RFC 9110's example is 784111777");
    cr_expect(!parse_imf_fixdate("Mon, 06 Nov 1994 08:49:37 GMT", &t),
              "a wrong weekday is refused");
    cr_expect(!parse_imf_fixdate("Sun,  6 Nov 1994 08:49:37 GMT", &t),
              "a one-digit day is not IMF-fixdate");
}

/* Date on every response (RFC 9110 6.6.1): 2xx, 4xx, 5xx and HEAD. */
Test(conformance, every_response_has_a_date_of_now,
     .timeout = TEST_TIMEOUT_S)
{
    static const char *const requests[] = {
        "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /sleep?ms=1 HTTP/1.0\r\n\r\n",
        "GET /bytes?n=100 HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
        "HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: t\r\n\r\n",
        "BREW / HTTP/1.1\r\nHost: t\r\n\r\n",
    };
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        int line = (int)strcspn(requests[i], "\r");
        http_exchange(s.port, requests[i], &r);
        long long now = (long long)time(NULL), date = 0;
        const char *v = header(&r, "Date");
        cr_expect(v != NULL,
                  "\"%.*s\" got %d without a Date header; every "
                  "response needs a Date header",
                  line, requests[i], r.status);
        if (v != NULL) {
            cr_expect(parse_imf_fixdate(v, &date),
                      "\"%.*s\": Date: %s is not an IMF-fixdate like "
                      "\"Sun, 06 Nov 1994 08:49:37 GMT\"",
                      line, requests[i], v);
            cr_expect(date >= now - 2 && date <= now + 2,
                      "\"%.*s\": Date: %s is %lld s away from this "
                      "machine's clock",
                      line, requests[i], v, date - now);
        }
        response_free(&r);
    }
    stop_server(&s);
}

/* absolute-form (RFC 9112 3.2.2) is routed on its path and query;
 * its authority wins over Host, which HTTP/1.1 still requires. */
Test(conformance, absolute_form_is_routed_on_its_path,
     .timeout = TEST_TIMEOUT_S)
{
    static const struct {
        const char *request;
        int status;
        const char *body;
    } rows[] = {
        {"GET http://127.0.0.1:8080/sleep?ms=5 HTTP/1.1\r\nHost: "
         "t\r\n\r\n",
         200, "slept 5 ms\n"},
        {"GET HTTP://T HTTP/1.1\r\nHost: other\r\n\r\n", 200,
         "Hello, World!"},
        {"GET http://t?x=1 HTTP/1.0\r\n\r\n", 200, "Hello, World!"},
        {"GET http://t/bytes?n=5 HTTP/1.1\r\nHost: t\r\n\r\n", 200,
         "01234"},
        {"GET http://t/nope HTTP/1.1\r\nHost: t\r\n\r\n", 404,
         "404 Not Found\n"},
        {"GET http://t/ HTTP/1.1\r\n\r\n", 400, "400 Bad Request\n"},
        {"GET https://t/ HTTP/1.1\r\nHost: t\r\n\r\n", 400,
         "400 Bad Request\n"},
        {"GET http:///sleep HTTP/1.1\r\nHost: t\r\n\r\n", 400,
         "400 Bad Request\n"},
        {"GET http://u@t/ HTTP/1.1\r\nHost: t\r\n\r\n", 400,
         "400 Bad Request\n"},
    };
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        http_exchange(s.port, rows[i].request, &r);
        cr_expect(r.status == rows[i].status &&
                      r.body_len == strlen(rows[i].body) &&
                      memcmp(r.body, rows[i].body, r.body_len) == 0,
                  "\"%.*s\": expected %d \"%s\", got %d \"%.*s\"",
                  (int)strcspn(rows[i].request, "\r"), rows[i].request,
                  rows[i].status, rows[i].body, r.status,
                  (int)r.body_len, r.body);
        response_free(&r);
    }
    stop_server(&s);
}

/* RFC 9112 2.2: empty lines before the request line are ignored, up
 * to EMPTY_LINES_MAX; only empty lines is an unfinished request. */
Test(conformance, empty_lines_before_the_request_are_ignored,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct response r;
    char request[256];

    start_server(&s, (struct start){0});
    http_exchange(s.port, "\r\n\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
                  &r);
    cr_expect(r.status == 200,
              "a CRLF and an LF before the request line should be "
              "ignored (200), got %d",
              r.status);
    response_free(&r);

    memset(request, '\n', EMPTY_LINES_MAX + 1);
    strcpy(request + EMPTY_LINES_MAX + 1,
           "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    http_exchange(s.port, request, &r);
    cr_expect(
        r.status == 400,
        "%d empty lines, one more than EMPTY_LINES_MAX, should get "
        "400, got %d",
        EMPTY_LINES_MAX + 1, r.status);
    response_free(&r);

    int fd = client_connect(s.port);
    client_send(fd, "\r\n\r\n", 4);
    cr_assert(shutdown(fd, SHUT_WR) == 0);
    read_response(fd, &r, 10000);
    close(fd);
    cr_expect(r.status == 0 && r.received == 0 && r.eof,
              "empty lines and then the end: an unfinished request, "
              "closed without an answer; got %d after %zu bytes",
              r.status, r.received);
    response_free(&r);
    assert_still_serving(s.port, "a client sent only empty lines");
    stop_server(&s);
}

/*
 * After a complete request that announced no body, nothing is left to
 * read: the server closes at once rather than lingering LINGER_MS. In
 * step 1 a lingering server would make the next client wait that long
 * while the first keeps its socket open.
 */
Test(conformance, a_complete_404_is_closed_without_lingering,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct response first, second;

    start_server(&s, (struct start){0});
    int fd = client_connect(s.port);
    client_send(fd, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 31);
    read_response(fd, &first, 10000); /* and keep fd open */
    http_get(s.port, "/", &second);
    long long waited = second.done_ms - first.done_ms;
    cr_expect(first.status == 404 && second.status == 200,
              "expected 404 then 200, got %d then %d", first.status,
              second.status);
    cr_expect(waited < LINGER_MS / 2,
              "the next client waited %lld ms after a complete 404 "
              "while its client kept the socket open: the server "
              "lingers after a complete 404 (LINGER_MS is %d)",
              waited, LINGER_MS);
    close(fd);
    response_free(&first);
    response_free(&second);
    stop_server(&s);
}

/* ---- Request bodies (RFC 9112 6 and 7.1, RFC 9110 10.1.1) ---- */

/* Each request of issue 18's table, and what RFC 9112 says it gets.
 * Every response must come whole and end in end-of-file: a server
 * that closes with unread body bytes resets the connection under it.
 */
Test(conformance, request_bodies_are_framed_as_the_rfc_says,
     .timeout = TEST_TIMEOUT_S)
{
    static const struct {
        const char *why, *request;
        int status;
        const char *body, *allow;
    } rows[] = {
        {"POST / with a body: the method is wrong, not the size",
         "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
         405, "405 Method Not Allowed\n", "GET, HEAD"},
        {"GET / with a body: the body is read and dropped",
         "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
         200, "Hello, World!", NULL},
        {"GET / with a chunked body (RFC 9112 7.1: MUST parse it)",
         "GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
         "\r\n5\r\nhello\r\n0\r\n\r\n",
         200, "Hello, World!", NULL},
        {"Content-Length with Transfer-Encoding (RFC 9112 6.3)",
         "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
         "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
         400, "400 Bad Request\n", NULL},
        {"a transfer coding other than chunked",
         "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n"
         "\r\nxxxx",
         501, "501 Not Implemented\n", NULL},
        {"two Content-Length that differ",
         "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
         "Content-Length: 2\r\n\r\nab",
         400, "400 Bad Request\n", NULL},
        {"chunks with extensions and a trailer",
         "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
         "chunked\r\n"
         "\r\n5;a=1\r\nhello\r\n6 ; b\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
         200, "hello world", NULL},
        {"a chunk size line ending in a bare LF",
         "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
         "chunked\r\n"
         "\r\n5\nhello\r\n0\r\n\r\n",
         400, "400 Bad Request\n", NULL},
        {"a chunk size that overflows",
         "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
         "chunked\r\n"
         "\r\n100000000000000000\r\n",
         400, "400 Bad Request\n", NULL},
        {"PUT /echo: /echo takes POST",
         "PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab",
         405, "405 Method Not Allowed\n", "GET, HEAD, POST"},
    };
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        http_exchange(s.port, rows[i].request, &r);
        cr_expect(r.status == rows[i].status &&
                      r.body_len == strlen(rows[i].body) &&
                      memcmp(r.body, rows[i].body, r.body_len) == 0,
                  "%s: expected %d \"%s\", got %d \"%.*s\"",
                  rows[i].why, rows[i].status, rows[i].body, r.status,
                  (int)r.body_len, r.body);
        cr_expect(response_complete(&r) && r.error == 0,
                  "%s: the response should come whole, then "
                  "end-of-file; %s",
                  rows[i].why,
                  r.error ? strerror(r.error) : "it was cut short");
        if (rows[i].allow != NULL)
            cr_expect(header_is(&r, "Allow", rows[i].allow),
                      "%s: a 405 should say Allow: %s", rows[i].why,
                      rows[i].allow);
        response_free(&r);
    }
    assert_still_serving(s.port, "requests with bodies");
    stop_server(&s);
}

/* Reads exactly n bytes into buf within timeout_ms. Returns how many
 * came. */
static size_t read_exactly(int fd, char *buf, size_t n, int timeout_ms)
{
    long long deadline = io_now_ms() + timeout_ms;
    size_t got = 0;

    while (got < n) {
        ssize_t k = io_read(fd, buf + got, n - got, deadline);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

/* RFC 9110 10.1.1: a client that sends Expect: 100-continue waits for
 * "100 Continue" before it sends the body. */
Test(conformance, expect_100_continue_is_answered_before_the_body,
     .timeout = TEST_TIMEOUT_S)
{
    static const char head[] = "POST /echo HTTP/1.1\r\nHost: t\r\n"
                               "Expect: 100-continue\r\n"
                               "Content-Length: 3\r\n\r\n";
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char got[sizeof cont] = "";
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    int fd = client_connect(s.port);
    client_send(fd, head, sizeof head - 1);
    size_t n = read_exactly(fd, got, sizeof cont - 1, 5000);
    cr_expect(n == sizeof cont - 1 && memcmp(got, cont, n) == 0,
              "Expect: 100-continue with Content-Length: 3 should get "
              "\"HTTP/1.1 100 Continue\" before the body is sent; got "
              "\"%.*s\"",
              (int)n, got);
    client_send(fd, "abc", 3);
    read_response(fd, &r, 5000);
    close(fd);
    cr_expect(r.status == 200 && r.body_len == 3 &&
                  memcmp(r.body, "abc", 3) == 0,
              "after the 100, the body should be echoed: got %d "
              "\"%.*s\"",
              r.status, (int)r.body_len, r.body);
    response_free(&r);
    stop_server(&s);
}

/* A request the server refuses gets its final status at once, before
 * the body it would not read, and no 100. */
Test(conformance, a_refused_expectation_gets_its_status_at_once,
     .timeout = TEST_TIMEOUT_S)
{
    static const struct {
        const char *why, *head;
        int status;
    } rows[] = {
        {"POST / (405)",
         "POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
         "Content-Length: 3\r\n\r\n",
         405},
        {"a Content-Length of BODY_MAX_BYTES + 1 (413)",
         "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
         "Content-Length: 65537\r\n\r\n",
         413},
        {"an unknown expectation (417)",
         "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\n"
         "Content-Length: 3\r\n\r\n",
         417},
    };
    struct server s;
    struct response r;

    cr_assert_eq(BODY_MAX_BYTES + 1, 65537, "the rows say 65537");
    start_server(&s, (struct start){0});
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int fd = client_connect(s.port);
        client_send(fd, rows[i].head, strlen(rows[i].head));
        read_response(fd, &r, 5000); /* the body is never sent */
        close(fd);
        cr_expect(r.status == rows[i].status && response_complete(&r),
                  "Expect: 100-continue on %s should get a whole %d "
                  "without waiting for the body; got %d after %zu "
                  "bytes",
                  rows[i].why, rows[i].status, r.status, r.received);
        response_free(&r);
    }
    stop_server(&s);
}

/* Bytes every value, NUL, CR and LF included. */
static char *body_of(size_t n)
{
    char *b = malloc(n > 0 ? n : 1);

    cr_assert(b != NULL);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)((i * 31 + 7) & 0xff);
    return b;
}

/* A POST /echo of body[0..n), framed by Content-Length, or chunked in
 * pieces of piece bytes with an extension and a trailer. Returns the
 * request (malloc'd) and its length in *len. */
static char *echo_request(const char *body, size_t n, size_t piece,
                          size_t *len)
{
    size_t cap = 256 + n + (n / (piece ? piece : 1) + 1) * 32;
    char *out = malloc(cap);
    size_t k = 0;

    cr_assert(out != NULL);
    k += (size_t)snprintf(out, cap,
                          "POST /echo HTTP/1.1\r\nHost: t\r\n");
    if (piece == 0) {
        k += (size_t)snprintf(out + k, cap - k,
                              "Content-Length: %zu\r\n\r\n", n);
        memcpy(out + k, body, n);
        k += n;
    } else {
        k += (size_t)snprintf(out + k, cap - k,
                              "Transfer-Encoding: chunked\r\n\r\n");
        for (size_t at = 0; at < n; at += piece) {
            size_t m = n - at < piece ? n - at : piece;
            k += (size_t)snprintf(out + k, cap - k, "%zX;i=1\r\n", m);
            memcpy(out + k, body + at, m);
            k += m;
            memcpy(out + k, "\r\n", 2);
            k += 2;
        }
        k += (size_t)snprintf(out + k, cap - k, "0\r\nX-T: 1\r\n\r\n");
    }
    *len = k;
    return out;
}

/* Sends one POST /echo, whole or one byte per write, and checks that
 * the body comes back byte for byte. */
static void check_echo(int port, size_t n, size_t piece, bool bytewise)
{
    char *body = body_of(n);
    size_t len;
    char *request = echo_request(body, n, piece, &len);
    struct response r;
    int fd = client_connect(port);

    for (size_t at = 0; at < len; at += bytewise ? 1 : len)
        client_send(fd, request + at, bytewise ? 1 : len);
    read_response(fd, &r, 10000);
    close(fd);
    cr_expect(
        r.status == 200 && r.body_len == n &&
            memcmp(r.body, body, n) == 0,
        "POST /echo of %zu bytes (%s%s) should come back byte for "
        "byte; got %d with %zu bytes",
        n, piece ? "chunked" : "Content-Length",
        bytewise ? ", one byte per write" : "", r.status, r.body_len);
    cr_expect(header_is(&r, "Content-Type", "application/octet-stream"),
              "an echo without a Content-Type is "
              "application/octet-stream");
    response_free(&r);
    free(request);
    free(body);
}

Test(conformance, echo_returns_the_body_byte_for_byte,
     .timeout = TEST_TIMEOUT_S)
{
    static const size_t sizes[] = {
        0, 1, 2, 1000, 4096, 65535, BODY_MAX_BYTES};
    static const size_t slow[] = {0, 1, 300};
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        check_echo(s.port, sizes[i], 0, false);
        check_echo(s.port, sizes[i], 4000, false);
    }
    for (size_t i = 0; i < sizeof slow / sizeof slow[0]; i++) {
        check_echo(s.port, slow[i], 0, true);
        check_echo(s.port, slow[i], 100, true);
    }
    http_exchange(s.port,
                  "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: "
                  "image/png\r\nContent-Length: 2\r\n\r\nhi",
                  &r);
    cr_expect(r.status == 200 &&
                  header_is(&r, "Content-Type", "image/png"),
              "an echo should carry the request's Content-Type");
    response_free(&r);
    stop_server(&s);
}

/* A chunked body that grows past BODY_MAX_BYTES gets 413, and the
 * client still reads all of it: the server drains before it closes. */
Test(conformance, a_chunked_body_past_the_limit_gets_a_whole_413,
     .timeout = TEST_TIMEOUT_S)
{
    char *body = body_of(BODY_MAX_BYTES + 1);
    size_t len;
    char *request = echo_request(body, BODY_MAX_BYTES + 1, 4096, &len);
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    int fd = client_connect(s.port);
    cr_expect(io_write_all(fd, request, len) == 0,
              "sending the whole body should complete: the server "
              "drains it after its 413");
    read_response(fd, &r, 5000);
    close(fd);
    cr_expect(r.status == 413 && response_complete(&r) && r.error == 0,
              "a chunked body of BODY_MAX_BYTES + 1 should get a whole "
              "413, then end-of-file; got %d, %zu bytes, %s",
              r.status, r.received,
              r.error ? strerror(r.error) : "then end-of-file");
    response_free(&r);
    free(request);
    free(body);
    assert_still_serving(s.port, "a chunked body too large");
    stop_server(&s);
}
