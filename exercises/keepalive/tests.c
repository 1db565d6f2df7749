/*
 * exercises/keepalive/tests.c - persistent connections, the loop's way.
 *
 * An HTTP/1.1 connection stays open after its response unless the
 * client sent "Connection: close" (RFC 9112, 9.3). Between requests it
 * belongs to the event loop, not to a worker, and the loop closes it
 * when no new request has come for -T seconds (the idle timeout).
 *
 * The shared client reads a response until end-of-file; on a kept
 * connection there is none, so read_one() here stops at the end of
 * the body that Content-Length announced.
 */
#include "client.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GET_ROOT "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
#define GET_ROOT_CLOSE                                                 \
    "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"

/* Reads one response: its head, then as many body bytes as its
 * Content-Length says, and no more. r->eof is set only if the server
 * closed before that. Returns true when the response is whole. */
static bool read_one(int fd, struct response *r, int timeout_ms)
{
    long long deadline = io_now_ms() + timeout_ms;
    char buf[sizeof r->head + 256];
    size_t len = 0;
    char *end = NULL;

    *r = (struct response){.declared = -1};
    while (len < sizeof buf - 1) {
        ssize_t n =
            io_read(fd, buf + len, sizeof buf - 1 - len, deadline);
        if (n <= 0) {
            r->eof = n == 0;
            r->error = n < 0 ? errno : 0;
            break;
        }
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end == NULL)
            continue;
        size_t head_len = (size_t)(end + 4 - buf);
        if (head_len >= sizeof r->head)
            break;
        memcpy(r->head, buf, head_len);
        r->head[head_len] = '\0';
        r->head_len = head_len;
        const char *cl = header(r, "Content-Length");
        r->declared = cl != NULL ? strtoll(cl, NULL, 10) : -1;
        if (r->declared >= 0 && len - head_len >= (size_t)r->declared)
            break;
    }
    r->received = len;
    if (r->head_len > 0) {
        r->status = strncmp(r->head, "HTTP/1.1 ", 9) == 0
                        ? (int)strtol(r->head + 9, NULL, 10)
                        : 0;
        r->body_len = len - r->head_len;
    }
    r->done_ms = io_now_ms();
    return r->status > 0 && r->declared >= 0 &&
           r->body_len == (size_t)r->declared;
}

/* What came back, in words, for a failure message. */
static const char *got(const struct response *r)
{
    static char text[200];

    if (r->received == 0)
        snprintf(text, sizeof text, "nothing (%s)",
                 r->eof     ? "the server closed the connection"
                 : r->error ? strerror(r->error)
                            : "?");
    else
        snprintf(text, sizeof text, "status %d, %zu bytes%s", r->status,
                 r->received,
                 r->eof ? ", then the server closed the connection"
                        : "");
    return text;
}

/* Sends request on fd and expects a whole 200 that keeps fd open. */
static void exchange_kept(int fd, const char *request, const char *when)
{
    struct response r;

    client_send(fd, request, strlen(request));
    bool whole = read_one(fd, &r, 3000);
    cr_assert(whole && r.status == 200,
              "%s: GET / on a kept connection should get a whole 200; "
              "it got %s",
              when, got(&r));
    cr_assert(
        !header_is(&r, "Connection", "close"),
        "%s: an HTTP/1.1 request without \"Connection: close\" "
        "keeps its connection, so the response should not say "
        "\"Connection: close\", but it said \"Connection: "
        "close\": the connection was not kept for another request",
        when);
}

Test(keepalive, two_requests_on_one_connection,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;

    start_server(&s, (struct start){.threads = 2, .deadline_s = 5});
    int fd = client_connect(s.port);
    exchange_kept(fd, GET_ROOT, "the first request");
    exchange_kept(fd, GET_ROOT, "the second request, same connection");
    close(fd);
    stop_server(&s);
}

/* A POST /echo whose head and body come in two pieces, then GET / on
 * the same connection: the second request starts where the body ends,
 * which only its framing tells. */
static void body_then_get(int port, const char *head, const char *body,
                          const char *framing)
{
    struct response r;
    char when[96];
    int fd = client_connect(port);

    client_send(fd, head, strlen(head));
    pause_ms(50); /* the body comes in a read of its own */
    client_send(fd, body, strlen(body));
    bool whole = read_one(fd, &r, 3000);
    cr_assert(whole && r.status == 200 && r.declared == 5,
              "POST /echo with a 5-byte body (%s) should get a whole "
              "200 echoing 5 bytes; it got %s",
              framing, got(&r));
    cr_assert(!header_is(&r, "Connection", "close"),
              "POST /echo (%s) on HTTP/1.1 without \"Connection: "
              "close\" keeps its connection, but the response said "
              "\"Connection: close\"",
              framing);
    snprintf(when, sizeof when,
             "after a POST with a %s body on the same connection "
             "(the next request starts where the body ends)",
             framing);
    exchange_kept(fd, GET_ROOT, when);
    close(fd);
}

Test(keepalive, a_body_is_framed_to_find_the_next_request,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;

    start_server(&s, (struct start){.threads = 2, .deadline_s = 5});
    body_then_get(s.port,
                  "POST /echo HTTP/1.1\r\nHost: t\r\n"
                  "Content-Length: 5\r\n\r\n",
                  "hello", "Content-Length");
    body_then_get(s.port,
                  "POST /echo HTTP/1.1\r\nHost: t\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n",
                  "3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n", "chunked");
    stop_server(&s);
}

/* Between its requests a kept connection waits in the loop, like a new
 * one: a single worker serves other clients meanwhile. */
Test(keepalive, an_idle_kept_connection_holds_no_worker,
     .timeout = TEST_TIMEOUT_S)
{
    enum { IDLE = 3 };
    struct server s;
    struct response r;
    int idle[IDLE];

    start_server(&s, (struct start){.threads = 1, .deadline_s = 5});
    for (int i = 0; i < IDLE; i++) {
        idle[i] = client_connect(s.port);
        exchange_kept(idle[i], GET_ROOT, "a connection to keep");
    }
    long long t0 = io_now_ms();
    http_exchange(s.port, GET_ROOT_CLOSE, &r); /* reads to the end */
    long long took = io_now_ms() - t0;
    cr_expect(
        r.status == 200 && took < 1000,
        "with -t 1 and %d kept connections idle, a new GET / "
        "should be served at once (an idle connection is the "
        "loop's, not a worker's), but it took %lld ms (status %d)",
        IDLE, took, r.status);
    response_free(&r);
    for (int i = 0; i < IDLE; i++) {
        exchange_kept(idle[i], GET_ROOT, "a kept connection, later");
        close(idle[i]);
    }
    stop_server(&s);
}

/* The idle timeout is -T: a kept connection that sends nothing more is
 * closed about -T seconds after its last response, not before. */
Test(keepalive, the_idle_timeout_closes_it, .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    size_t seen = 0;

    start_server(&s, (struct start){.threads = 2, .deadline_s = 1});
    int fd = client_connect(s.port);
    exchange_kept(fd, GET_ROOT, "the first request");
    pause_ms(500);
    exchange_kept(fd, GET_ROOT, "a second request 0.5 s later (-T 1)");
    long long t0 = io_now_ms();
    bool closed = wait_closed(fd, 4000, &seen);
    long long after = io_now_ms() - t0;
    cr_expect(
        closed && after >= 700 && after < 2500,
        "with -T 1, an idle kept connection should be closed about "
        "1 s after its last response, but it was %s after %lld ms (%zu "
        "bytes came)",
        closed ? "closed" : "still open", after, seen);
    close(fd);
    struct response r;
    http_exchange(s.port, GET_ROOT_CLOSE, &r);
    cr_expect(r.status == 200 && response_complete(&r),
              "after an idle timeout, GET / (Connection: close) should "
              "get a whole 200; got %s",
              got(&r));
    response_free(&r);
    stop_server(&s);
}

/* "Connection: close" means this is the last request: the response
 * says so too, and the server closes once it is sent. */
Test(keepalive, connection_close_is_honoured, .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct response r;
    size_t seen = 0;

    start_server(&s, (struct start){.threads = 2, .deadline_s = 5});
    int fd = client_connect(s.port);
    exchange_kept(fd, GET_ROOT, "the first request");
    client_send(fd, GET_ROOT_CLOSE, strlen(GET_ROOT_CLOSE));
    bool whole = read_one(fd, &r, 3000);
    cr_expect(
        whole && r.status == 200 &&
            header_is(&r, "Connection", "close"),
        "a request with \"Connection: close\" should get a whole 200 "
        "that says \"Connection: close\"; got %s, with Connection: "
        "%s",
        got(&r),
        header(&r, "Connection") ? header(&r, "Connection") : "(none)");
    long long t0 = io_now_ms();
    bool closed = wait_closed(fd, 3000, &seen);
    cr_expect(
        closed && seen == 0 && io_now_ms() - t0 < 1000,
        "after answering \"Connection: close\" the server should "
        "close the connection at once; got %s after %lld ms, with "
        "%zu more bytes",
        closed ? "a close" : "an open connection", io_now_ms() - t0,
        seen);
    close(fd);
    stop_server(&s);
}

/* A graceful stop finishes requests, not idle connections: a kept
 * connection waiting for its next request is closed at once, and does
 * not hold the stop for its idle timeout. */
Test(keepalive, an_idle_kept_connection_does_not_delay_the_stop,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    size_t seen = 0;

    start_server(&s, (struct start){.threads = 2, .deadline_s = 10});
    int fd = client_connect(s.port);
    exchange_kept(fd, GET_ROOT, "a connection to keep");
    pause_ms(200); /* the worker gives it back to the loop meanwhile */
    long long t0 = io_now_ms();
    signal_server(&s, SIGTERM);
    bool exited = wait_server_exit(&s, 5000);
    long long took = io_now_ms() - t0;
    if (!exited)
        kill_server(&s);
    cr_expect(
        exited && took < 1000,
        "with a kept connection idle (-T 10), SIGTERM should stop "
        "the server at once: nothing is running; it %s after %lld "
        "ms (does the stop wait for the idle timeout?)",
        exited ? "exited" : "was still running", took);
    cr_expect(exited && WIFEXITED(s.status) &&
                  WEXITSTATUS(s.status) == 0,
              "after SIGTERM the server should exit 0; it %s",
              exited ? describe_status(s.status) : "did not exit");
    cr_expect(wait_closed(fd, 1000, &seen) && seen == 0,
              "the idle kept connection should be closed by the stop, "
              "without a byte; %zu bytes came",
              seen);
    close(fd);
}

/* A connection counts as running from the moment a worker takes it
 * (conns_begin()) until it ends, and the stop's "shutting down" line
 * says how many run. A kept connection back in the loop runs no more:
 * after three requests on it, it must not count as three, nor as one.
 */
Test(keepalive, a_kept_connection_runs_only_while_answered,
     .timeout = TEST_TIMEOUT_S)
{
    static const char sleep_close[] =
        "GET /sleep?ms=1000 HTTP/1.1\r\nHost: t\r\n"
        "Connection: close\r\n\r\n";
    struct server s;

    start_server(&s, (struct start){.threads = 2, .deadline_s = 10});
    int fd = client_connect(s.port);
    exchange_kept(fd, GET_ROOT, "the first request");
    exchange_kept(fd, GET_ROOT, "the second request, same connection");
    exchange_kept(fd, GET_ROOT, "the third request, same connection");
    int slow = client_connect(s.port);
    client_send(slow, sleep_close, sizeof sleep_close - 1);
    /* A worker runs it; the kept one idles in the loop. */
    pause_ms(300);
    signal_server(&s, SIGTERM);
    bool said = wait_for_log(
        &s, "shutting down: 1 running, 0 queued, 0 sending a request",
        2000);
    bool exited = wait_server_exit(&s, 5000);
    if (!exited)
        kill_server(&s);
    cr_expect(said,
              "after 3 requests on a kept connection (idle since) and "
              "with one /sleep running, SIGTERM should log "
              "\"shutting down: 1 running, 0 queued, 0 sending a "
              "request\" (log below): a kept connection given back to "
              "the loop no longer runs, however many requests it made");
    cr_expect(exited && WIFEXITED(s.status) &&
                  WEXITSTATUS(s.status) == 0,
              "after SIGTERM the server should serve the /sleep and "
              "exit 0; it %s",
              exited ? describe_status(s.status) : "did not exit");
    close(slow);
    close(fd);
}
