/*
 * exercises/busy503/tests.c - past K connection threads, 503.
 *
 * The server may run at most BUSY_K connection threads (K, the
 * CONN_THREADS_MAX of TASK.md). A connection that arrives while K are
 * running gets 503 Service Unavailable with Retry-After, at once, from
 * the accept loop, and no thread. The tests hold threads with
 * connections that send nothing: in step 2 such a connection keeps
 * its thread for as long as it stays open.
 */
#include "client.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUSY_K 8 /* TASK.md: CONN_THREADS_MAX */
#define GET_ROOT "GET / HTTP/1.1\r\nHost: t\r\n\r\n"

/* What came back, in words, for a failure message. */
static const char *got(const struct response *r)
{
    static char text[200];

    if (r->received == 0)
        snprintf(text, sizeof text, "nothing (%s)",
                 r->error == ETIMEDOUT ? "no byte in time"
                 : r->error            ? strerror(r->error)
                                       : "end-of-file at once");
    else
        snprintf(text, sizeof text, "status %d, %zu bytes%s, then %s",
                 r->status, r->received,
                 response_complete(r) ? "" : " (incomplete)",
                 r->error ? strerror(r->error) : "end-of-file");
    return text;
}

/* K connections that send nothing: each holds a thread. */
static void hold_k_threads(struct batch *holders, int port)
{
    batch_open(holders, port, BUSY_K);
}

/* Sends GET / on a new connection and reads the answer. */
static void one_more(int port, struct response *r, int timeout_ms)
{
    int fd = client_connect(port);

    client_send(fd, GET_ROOT, strlen(GET_ROOT));
    read_response(fd, r, timeout_ms);
    close(fd);
}

static void expect_503(const struct response *r, const char *when)
{
    cr_assert(r->status == 503 && response_complete(r),
              "%s, the next connection should get a complete 503 from "
              "the accept loop (a counter of running threads, refused "
              "past K = %d); got %s",
              when, BUSY_K, got(r));
    const char *after = header(r, "Retry-After");
    char *end = NULL;
    long s = after != NULL ? strtol(after, &end, 10) : -1;
    cr_expect(after != NULL && end != after && *end == '\0' && s > 0,
              "a 503 should say when to come back, in whole seconds "
              "(Retry-After: 1); its Retry-After is %s%s%s",
              after != NULL ? "\"" : "missing",
              after != NULL ? after : "", after != NULL ? "\"" : "");
}

Test(busy503, past_k_threads_a_connection_gets_503_with_retry_after,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct batch holders;
    struct response r;

    start_server(&s, (struct start){0});
    hold_k_threads(&holders, s.port);
    one_more(s.port, &r, 3000);
    char when[80];
    snprintf(when, sizeof when,
             "with %d connections each holding a thread", BUSY_K);
    expect_503(&r, when);
    response_free(&r);
    batch_close(&holders);
    stop_server(&s);
}

/* K + M connections arrive together, each asking for a sleep long
 * enough that none ends before the last is accepted. Exactly K run.
 * A count kept by the threads themselves (incremented when a thread
 * starts) lags behind the accept loop and lets a burst through. */
Test(busy503, a_burst_gets_exactly_k_served_and_the_rest_refused,
     .timeout = TEST_TIMEOUT_S)
{
    enum { M = 4 };
    struct server s;
    struct batch b;
    int ok = 0, busy = 0, other = 0;

    start_server(&s, (struct start){0});
    batch_open(&b, s.port, BUSY_K + M);
    batch_send_reverse(
        &b, "GET /sleep?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n");
    batch_wait(&b, 10000);
    for (int i = 0; i < b.k; i++) {
        bool whole = b.done[i] && response_complete(&b.r[i]);
        ok += whole && b.r[i].status == 200;
        busy += whole && b.r[i].status == 503;
        other +=
            !whole || (b.r[i].status != 200 && b.r[i].status != 503);
    }
    cr_expect(ok == BUSY_K && busy == M && other == 0,
              "of %d connections arriving at once (each a 1500 ms "
              "sleep), exactly K = %d should be served and %d refused "
              "with 503; got %d x 200, %d x 503 and %d other (the "
              "accept loop must count a thread before it starts it, "
              "not the thread itself)",
              BUSY_K + M, BUSY_K, M, ok, busy, other);
    batch_close(&b);
    stop_server(&s);
}

/* Once the connections holding threads close, their threads end and
 * must take themselves off the count: the server serves again. */
Test(busy503, when_threads_end_the_count_goes_down,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct batch holders;
    struct response r;

    start_server(&s, (struct start){0});
    hold_k_threads(&holders, s.port);
    one_more(s.port, &r, 3000);
    expect_503(&r, "with K connections each holding a thread (the "
                   "count must reach K before it can go down)");
    response_free(&r);
    batch_close(&holders);

    /* The threads see end-of-file and end; a moment later GET / must
     * get 200 again. Asks every 50 ms for up to 2 s. */
    long long deadline = io_now_ms() + 2000;
    do {
        one_more(s.port, &r, 3000);
        if (r.status == 200 || io_now_ms() >= deadline)
            break;
        response_free(&r);
        pause_ms(50);
    } while (true);
    cr_expect(r.status == 200 && response_complete(&r),
              "after the %d connections holding threads closed, GET / "
              "should get 200 again, but 2 s later it still got %s: "
              "does every connection thread take itself off the count "
              "when it ends?",
              BUSY_K, got(&r));
    response_free(&r);
    stop_server(&s);
}

/* A refused client may be sending more than a head: an upload. If the
 * server closes with bytes unread, the kernel resets the connection;
 * the client's upload fails, and a client that stops at that error
 * never reads the 503. The body is bigger than the kernel's buffers
 * hold, so it goes through only if the server reads it. */
Test(busy503, a_refused_upload_is_read_and_gets_its_503,
     .timeout = TEST_TIMEOUT_S)
{
    enum { BODY = 8 << 20 };
    const char *head = "POST /upload HTTP/1.1\r\nHost: t\r\n"
                       "Content-Length: 8388608\r\n\r\n";
    struct server s;
    struct batch holders;
    struct response r;
    char *body = malloc(BODY);

    cr_assert(body != NULL);
    memset(body, 'x', BODY);
    start_server(&s, (struct start){0});
    hold_k_threads(&holders, s.port);
    int fd = client_connect(s.port);
    int sent = io_write_all(fd, head, strlen(head)) == 0 &&
                       io_write_all(fd, body, BODY) == 0
                   ? 0
                   : errno;
    read_response(fd, &r, 3000);
    close(fd);
    cr_expect(sent == 0,
              "with K = %d threads busy, a POST with an 8 MB body "
              "should still be sent whole, then get its 503, but "
              "sending failed (%s), and the response was %s: the "
              "server closed with bytes unread, which resets the "
              "connection (linger: read what the client sends for a "
              "while, then close)",
              BUSY_K, strerror(sent), got(&r));
    cr_expect(r.status == 503 && response_complete(&r),
              "a refused POST with an 8 MB body should get a whole "
              "503; got %s",
              got(&r));
    free(body);
    response_free(&r);
    batch_close(&holders);
    stop_server(&s);
}

/* Refusing is the accept loop's job, and while it refuses nobody is
 * accepted: waiting for a silent client's request (or draining it)
 * without a short bound would make one client stall the server, the
 * lesson of step 1. */
Test(busy503, a_silent_refused_client_does_not_hold_the_accept_loop,
     .timeout = TEST_TIMEOUT_S)
{
    enum { BOUND_MS = 1000 };
    struct server s;
    struct batch holders;
    struct response r;

    start_server(&s, (struct start){0});
    hold_k_threads(&holders, s.port);
    int silent = client_connect(s.port); /* refused; sends nothing */
    long long t0 = io_now_ms();
    one_more(s.port, &r, 5000);
    long long took = io_now_ms() - t0;
    expect_503(&r, "with K threads busy and a silent client refused");
    cr_expect(took < BOUND_MS,
              "a refused client that sends nothing should not hold the "
              "accept loop: the next connection got its 503 after "
              "%lld ms (bound %d ms); bound the time spent reading or "
              "draining a refused connection",
              took, BOUND_MS);
    close(silent);
    response_free(&r);
    batch_close(&holders);
    stop_server(&s);
}
