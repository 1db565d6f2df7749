/*
 * test_robust.c - black box: clients that misbehave, and the server
 * still answering the next one afterwards.
 */
#include "client.h"
#include "config.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

Test(robust, a_request_sent_one_byte_at_a_time,
     .timeout = TEST_TIMEOUT_S)
{
    const char *request = "GET /bytes?n=40 HTTP/1.1\r\nHost: t\r\n\r\n";
    struct server s;
    struct response r;

    start_server(&s, (struct start){0});
    int fd = client_connect(s.port);
    size_t sent = 0;
    while (request[sent] != '\0' &&
           io_write_all(fd, request + sent, 1) == 0) {
        sent++;
        pause_ms(2); /* so that each byte travels on its own */
    }
    read_response(fd, &r, 5000);
    close(fd);
    cr_expect(r.status == 200 && response_complete(&r) &&
                  r.body_len == 40 && is_pattern(r.body, 40, 0),
              "a request that arrives one byte at a time should get "
              "the same answer (200, 40 bytes) as a whole one; got "
              "status %d, %zu body bytes, after sending %zu of %zu "
              "bytes",
              r.status, r.body_len, sent, strlen(request));
    response_free(&r);
    assert_still_serving(s.port, "a request sent byte by byte");
    stop_server(&s);
}

Test(robust, a_connection_closed_without_a_byte,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;

    start_server(&s, (struct start){0});
    for (int i = 0; i < 3; i++)
        close(client_connect(s.port));
    assert_still_serving(s.port, "three connections closed at once");
    stop_server(&s);
}

Test(robust, a_request_cut_off_in_the_middle, .timeout = TEST_TIMEOUT_S)
{
    const char *half = "GET /sleep?ms=0 HTTP/1.1\r\nHo";
    struct server s;

    start_server(&s, (struct start){0});
    int fd = client_connect(s.port);
    client_send(fd, half, strlen(half));
    close(fd);
    assert_still_serving(s.port, "a client that closed half-way "
                                 "through its headers");
    stop_server(&s);
}

/* The client resets the connection while the server is in the middle
 * of writing 8 MB: the server's next write fails (EPIPE or
 * ECONNRESET), which must end that connection only. */
Test(robust, a_reset_in_the_middle_of_a_response,
     .timeout = TEST_TIMEOUT_S)
{
    const char *request =
        "GET /bytes?n=8000000 HTTP/1.1\r\nHost: t\r\n\r\n";
    struct server s;
    char buf[65536];
    size_t got = 0;

    start_server(&s, (struct start){0});
    int fd = client_connect(s.port);
    client_send(fd, request, strlen(request));
    while (got < 100000) {
        ssize_t n = io_read(fd, buf, sizeof buf, io_now_ms() + 5000);
        cr_assert(n > 0, "the first 100 kB of /bytes?n=8000000 did not "
                         "arrive");
        got += (size_t)n;
    }
    set_reset_on_close(fd);
    close(fd);
    assert_still_serving(s.port, "a client reset the connection in the "
                                 "middle of a response");
    stop_server(&s);
}

/* A client with a small receive buffer that reads slowly: the server
 * blocks in write() many times, and every byte must still arrive, in
 * order. */
Test(robust, a_slow_reader_gets_every_byte, .timeout = TEST_TIMEOUT_S)
{
    enum { N = 200000 };
    const char *request =
        "GET /bytes?n=200000 HTTP/1.1\r\nHost: t\r\n\r\n";
    struct server s;

    start_server(&s, (struct start){0});
    int fd = client_connect_small(s.port, 8192);
    client_send(fd, request, strlen(request));
    pause_ms(300); /* let the server fill every buffer and block */
    char *all = malloc(N + 4096);
    size_t got = 0;
    cr_assert(all != NULL);
    for (;;) {
        ssize_t n = io_read(fd, all + got, 4096, io_now_ms() + 5000);
        cr_assert(n >= 0,
                  "reading /bytes slowly failed after %zu "
                  "bytes: %s",
                  got, strerror(errno));
        if (n == 0)
            break;
        got += (size_t)n;
        cr_assert(got <= N + 4096, "more bytes than asked for");
        pause_ms(5);
    }
    close(fd);
    const char *body = strstr(all, "\r\n\r\n");
    cr_assert(body != NULL, "no response head");
    body += 4;
    size_t body_len = got - (size_t)(body - all);
    cr_expect(body_len == N && is_pattern(body, body_len, 0),
              "a slow reader should get all %d bytes of the pattern, "
              "in order; got %zu bytes%s",
              N, body_len,
              is_pattern(body, body_len, 0) ? "" : ", not the pattern");
    free(all);
    assert_still_serving(s.port, "a slow reader");
    stop_server(&s);
}

/* A POST /echo with a body of BODY_MAX_BYTES + 1 is refused (413) as
 * soon as its head is read. The server must then read and discard what
 * the client still sends before it closes: closing with unread bytes
 * makes the kernel send a reset, and the client could lose the 413. */
Test(robust, a_post_with_a_big_body_gets_a_whole_413,
     .timeout = TEST_TIMEOUT_S)
{
    enum { BODY = BODY_MAX_BYTES + 1 };
    char head[128];
    struct server s;
    struct response r;
    char *body = malloc(BODY);

    cr_assert(body != NULL);
    memset(body, 'x', BODY);
    snprintf(head, sizeof head,
             "POST /echo HTTP/1.1\r\nHost: t\r\n"
             "Content-Length: %d\r\n\r\n",
             BODY);
    start_server(&s, (struct start){0});
    int fd = client_connect(s.port);
    client_send(fd, head, strlen(head));
    cr_expect(io_write_all(fd, body, BODY) == 0,
              "sending a body of BODY_MAX_BYTES + 1 should complete "
              "(the server "
              "drains it before closing), but failed: %s",
              strerror(errno));
    read_response(fd, &r, 5000);
    cr_expect(r.status == 413 && response_complete(&r),
              "a body past BODY_MAX_BYTES should get a complete 413 "
              "response; got "
              "status %d, %zu bytes, %s",
              r.status, r.received,
              r.error ? strerror(r.error) : "then end-of-file");
    cr_expect(r.error == 0,
              "after the 413 the connection should end with "
              "end-of-file, not %s (did the server close without "
              "draining the body?)",
              strerror(r.error));
    char extra;
    ssize_t n = read(fd, &extra, 1);
    cr_expect(n == 0,
              "the next read should be end-of-file again, got "
              "%zd (%s)",
              n, n < 0 ? strerror(errno) : "data");
    close(fd);
    free(body);
    response_free(&r);
    assert_still_serving(s.port, "a POST with a body too large");
    stop_server(&s);
}
