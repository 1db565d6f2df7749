/*
 * test_routes.c - black box: what every step answers, byte for byte.
 *
 * One server per test; each test ends by stopping it the way its step
 * expects (stop_server), which also checks its log for sanitizer and
 * valgrind reports.
 */
#include "client.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Checks the headers every response must carry and that the body is
 * exactly Content-Length bytes long, then the status and body. */
static void expect_response(const struct response *r, const char *what,
                            int status, const char *body)
{
    cr_expect(r->status == status, "%s: expected status %d, got %d",
              what, status, r->status);
    cr_expect(strncmp(r->head, "HTTP/1.1 ", 9) == 0,
              "%s: the status line should start with HTTP/1.1", what);
    cr_expect(header_is(r, "Content-Type", "text/plain; charset=utf-8"),
              "%s: Content-Type should be text/plain; charset=utf-8",
              what);
    cr_expect(header_is(r, "Connection", "close"),
              "%s: every response says Connection: close", what);
    cr_expect(response_complete(r),
              "%s: Content-Length says %lld but %zu body bytes came "
              "before %s",
              what, r->declared, r->body_len,
              r->eof ? "end-of-file" : "an error");
    if (body != NULL)
        cr_expect(r->body_len == strlen(body) &&
                      memcmp(r->body, body, r->body_len) == 0,
                  "%s: the body should be \"%s\", got \"%.*s\"", what,
                  body, (int)r->body_len, r->body);
}

static void expect_get(int port, const char *path, int status,
                       const char *body)
{
    struct response r;
    char what[300];

    snprintf(what, sizeof what, "GET %s", path);
    http_get(port, path, &r);
    expect_response(&r, what, status, body);
    response_free(&r);
}

Test(routes, hello_sleep_and_bytes_answer_200,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    expect_get(s.port, "/", 200, "Hello, World!");
    expect_get(s.port, "/sleep?ms=0", 200, "slept 0 ms\n");
    expect_get(s.port, "/sleep?ms=20", 200, "slept 20 ms\n");
    expect_get(s.port, "/bytes?n=0", 200, "");
    expect_get(s.port, "/bytes?n=20", 200, "0123456789abcde\n0123");
    http_get(s.port, "/bytes?n=100000", &r);
    expect_response(&r, "GET /bytes?n=100000", 200, NULL);
    cr_expect(r.body_len == 100000 && is_pattern(r.body, 100000, 0),
              "GET /bytes?n=100000 should send the 16-byte pattern "
              "repeated, 100000 bytes");
    response_free(&r);
    stop_server(&s);
}

Test(routes, bad_queries_get_400_and_unknown_paths_404,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;

    start_server(&s, (struct start){0});
    expect_get(s.port, "/nope", 404, "404 Not Found\n");
    expect_get(s.port, "/sleep/", 404, "404 Not Found\n");
    expect_get(s.port, "/sleep?ms=x", 400, "400 Bad Request\n");
    expect_get(s.port, "/sleep?ms=-1", 400, "400 Bad Request\n");
    expect_get(s.port, "/sleep?ms=60001", 400, "400 Bad Request\n");
    expect_get(s.port, "/bytes", 400, "400 Bad Request\n");
    expect_get(s.port, "/bytes?n=", 400, "400 Bad Request\n");
    expect_get(s.port, "/bytes?n=16777217", 400, "400 Bad Request\n");
    stop_server(&s);
}

/* Each status the parser can give, through a real connection. */
Test(routes, each_parser_status_reaches_the_client,
     .timeout = TEST_TIMEOUT_S)
{
    static const struct {
        const char *request;
        int status;
        const char *body;
    } rows[] = {
        {"GET / HTTP/1.1\r\n\r\n", 400, "400 Bad Request\n"},
        {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505,
         "505 HTTP Version Not Supported\n"},
        {"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
         "gzip\r\n\r\n",
         501, "501 Not Implemented\n"},
        {"BREW / HTTP/1.1\r\nHost: t\r\n\r\n", 501,
         "501 Not Implemented\n"},
        {"DELETE / HTTP/1.1\r\nHost: t\r\n\r\n", 405,
         "405 Method Not Allowed\n"},
        {"GET / HTTP/1.0\r\n\r\n", 200, "Hello, World!"},
    };
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char what[128];
        snprintf(what, sizeof what, "\"%.*s\"",
                 (int)strcspn(rows[i].request, "\r"), rows[i].request);
        http_exchange(s.port, rows[i].request, &r);
        expect_response(&r, what, rows[i].status, rows[i].body);
        response_free(&r);
    }
    http_exchange(s.port, "POST / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    cr_expect(r.status == 405 && header_is(&r, "Allow", "GET, HEAD"),
              "a 405 should carry Allow: GET, HEAD");
    response_free(&r);
    stop_server(&s);
}

/* The request line fills the whole head buffer: 414. One byte more of
 * headers than fits: 431. */
Test(routes, limits_get_414_and_431, .timeout = TEST_TIMEOUT_S)
{
    static char request[20000];
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    memcpy(request, "GET /", 5);
    memset(request + 5, 'a', 9000);
    strcpy(request + 9005, " HTTP/1.1\r\nHost: t\r\n\r\n");
    http_exchange(s.port, request, &r);
    expect_response(&r, "a 9000-byte target", 414,
                    "414 URI Too Long\n");
    response_free(&r);

    strcpy(request, "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ");
    size_t n = strlen(request);
    memset(request + n, 'a', 8192 - n - 4);
    strcpy(request + 8192 - 4, "\r\n\r\n");
    http_exchange(s.port, request, &r);
    expect_response(&r, "a head of exactly 8192 bytes", 200,
                    "Hello, World!");
    response_free(&r);
    memmove(request + n + 1, request + n, 8192 - n + 1);
    http_exchange(s.port, request, &r);
    expect_response(&r, "a head of 8193 bytes", 431,
                    "431 Request Header Fields Too Large\n");
    response_free(&r);
    stop_server(&s);
}

/* HEAD: the same head as GET, Content-Length included, and no body. */
Test(routes, head_has_the_get_headers_and_no_body,
     .timeout = TEST_TIMEOUT_S)
{
    static const char *const paths[] = {"/", "/bytes?n=100",
                                        "/bytes?n=16777216", "/nope"};
    struct server s;

    start_server(&s, (struct start){0});
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char request[256];
        struct response head, get;
        snprintf(request, sizeof request,
                 "HEAD %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i]);
        http_exchange(s.port, request, &head);
        if (i != 2) /* 16 MiB to compare with is more than needed */
            http_get(s.port, paths[i], &get);
        else
            get =
                (struct response){.declared = 16777216, .status = 200};
        cr_expect(head.status == get.status &&
                      head.declared == get.declared,
                  "HEAD %s: should have GET's status %d and "
                  "Content-Length %lld, has %d and %lld",
                  paths[i], get.status, get.declared, head.status,
                  head.declared);
        cr_expect(head.eof && head.body_len == 0,
                  "HEAD %s: no body may follow the head, but %zu bytes "
                  "did",
                  paths[i], head.body_len);
        response_free(&head);
        response_free(&get);
    }
    stop_server(&s);
}
