/*
 * test_conformance.c - black box: the rules of RFC 9110 and 9112 that
 * the server follows on top of its parser's (tests/README.md has the
 * table): Date on every response, absolute-form targets, empty lines
 * before the request line, and no lingering when nothing is unread.
 */
#include "client.h"
#include "config.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <stdio.h>
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
