/*
 * test_deadlines.c - clients that are slow on purpose.
 *
 * Step 4 gives every request a deadline (-T): the whole head must
 * arrive within T seconds of a worker taking the connection (408 if
 * some of it came, a silent close if none did), and a write that makes
 * no progress for T seconds ends the connection. Step 5 counts the
 * same T from accept(), in its event loop. The body counts too: T
 * bounds the whole request, head and body. Steps 1 to 3 have no
 * deadline: a slow client keeps its connection, and its thread or
 * worker, as long as it likes. All are asserted.
 */
#include "client.h"
#include "expect.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define T_MS 1000   /* the -T 1 of these tests */
#define WAVE_MS 500 /* how far a wave may be from its expected time */
#define TRICKLE_MS 100 /* one byte this often */

/* A request head that never ends: a header line longer than the test.
 */
static const char trickle_text[] =
    "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, 0) > 0;
}

/* 8 clients trickle one byte every 100 ms, and before each byte look
 * for a response; then a normal GET / queued behind them. With -t 4
 * -T 1, step 4 answers the first four with 408 at about 1 s, the next
 * four at about 2 s, and the GET / by 3 s. Step 5's event loop answers
 * all eight at about 1 s, and the GET / at once. */
Test(deadlines, trickling_clients_get_408_in_waves,
     .timeout = TEST_TIMEOUT_S)
{
    enum { K = 8, N = 4 };
    const struct expect *e = expect_this_step();
    int run_ms = e->deadline_option ? 3500 : 1500;
    struct server s;
    struct batch b;
    long long at[K] = {0};
    size_t sent[K] = {0};

    start_server(&s, (struct start){.threads = N, .deadline_s = 1});
    batch_open(&b, s.port, K);
    int normal = client_connect(s.port); /* behind the tricklers */
    client_send(normal, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 28);
    long long t0 = io_now_ms();
    struct response got;
    long long normal_at = -1; /* 0 ms is a real time: a fast answer */
    while (io_now_ms() - t0 < run_ms) {
        for (int i = 0; i < K; i++) {
            if (at[i] != 0)
                continue;
            if (readable(b.fd[i])) {
                /* Read it and close, as a browser would: the server
                 * drains until our end-of-file before it closes. */
                read_response(b.fd[i], &b.r[i], 2000);
                b.done[i] = true;
                at[i] = io_now_ms() - t0;
                close(b.fd[i]);
                b.fd[i] = -1;
            } else if (sent[i] < sizeof trickle_text - 1) {
                io_write_all(b.fd[i], trickle_text + sent[i]++, 1);
            }
        }
        if (normal_at < 0 && readable(normal)) {
            read_response(normal, &got, 2000);
            normal_at = io_now_ms() - t0;
            close(normal);
            normal = -1;
        }
        pause_ms(TRICKLE_MS);
    }
    if (!e->deadline_option) {
        for (int i = 0; i < K; i++)
            cr_expect(at[i] == 0,
                      "step %d has no deadline, so a client that sends "
                      "a byte every %d ms should never get an answer, "
                      "but client %d got one after %lld ms",
                      e->step, TRICKLE_MS, i + 1, at[i]);
    } else {
        for (int i = 0; i < K; i++) {
            /* An event loop times every client from accept(). */
            long long want =
                (i < N || e->waiting_in_loop ? 1 : 2) * T_MS;
            char got_text[64] = "no response at all";
            if (b.done[i])
                snprintf(got_text, sizeof got_text,
                         "status %d at %lld ms", b.r[i].status, at[i]);
            cr_expect(
                b.done[i] && b.r[i].status == 408 &&
                    at[i] >= want - WAVE_MS && at[i] <= want + WAVE_MS,
                "with -t %d -T 1 and %d trickling clients, client "
                "%d should get 408 at %lld ms (+/- %d); it got %s",
                N, K, i + 1, want, WAVE_MS, got_text);
        }
        int normal_by = e->waiting_in_loop ? T_MS / 2 : 3 * T_MS;
        cr_expect(
            normal_at >= 0 && normal_at <= normal_by &&
                got.status == 200,
            "a normal GET / sent after %d trickling clients should be "
            "answered by %d ms%s; %s",
            K, normal_by,
            e->waiting_in_loop ? " (they wait in the event loop)" : "",
            normal_at >= 0 ? "it came late or not 200"
                           : "it never was");
    }
    if (normal_at >= 0)
        response_free(&got);
    if (normal >= 0)
        close(normal);
    batch_close(&b);
    stop_server(&s);
}

/* A client that connects and sends nothing. */
Test(deadlines, a_silent_connection_is_closed_after_T,
     .timeout = TEST_TIMEOUT_S)
{
    const struct expect *e = expect_this_step();
    struct server s;
    size_t bytes;

    start_server(&s, (struct start){.deadline_s = 1});
    int fd = client_connect(s.port);
    long long t0 = io_now_ms();
    bool closed =
        wait_closed(fd, e->deadline_option ? 3000 : 1500, &bytes);
    long long took = io_now_ms() - t0;
    if (e->deadline_option) {
        cr_expect(closed && took >= T_MS - 100 &&
                      took <= T_MS + WAVE_MS,
                  "with -T 1, step %d should close a connection that "
                  "sends nothing after about 1 s; %s after %lld ms",
                  e->step, closed ? "it closed" : "still open", took);
        cr_expect(bytes == 0,
                  "a connection that sent nothing should be closed "
                  "without a response, but %zu bytes came",
                  bytes);
    } else {
        cr_expect(!closed,
                  "step %d has no deadline: a silent connection should "
                  "stay open, but it was closed after %lld ms",
                  e->step, took);
    }
    close(fd);
    stop_server(&s);
}

/* A client asks for 16 MB and reads none of it: the server's writes
 * stop making progress. Step 4 drops it, and its only worker serves
 * the next request. The bound is 3 T plus a second, not T: a send
 * timeout (SO_SNDTIMEO) starts again whenever a write() moves a few
 * bytes, and on Linux the last writes into a full socket buffer still
 * move some; measured: about 3 T. */
Test(deadlines, a_client_that_stops_reading_is_dropped,
     .timeout = TEST_TIMEOUT_S)
{
    const char *request =
        "GET /bytes?n=16000000 HTTP/1.1\r\nHost: t\r\n\r\n";
    const struct expect *e = expect_this_step();
    struct server s;

    start_server(
        &s,
        (struct start){.threads = 1, .deadline_s = 1, .verbose = true});
    int fd = client_connect_small(s.port, 8192);
    client_send(fd, request, strlen(request));
    long long t0 = io_now_ms();
    bool logged = wait_for_log(&s, "GET /bytes?n=16000000",
                               e->deadline_option ? 5000 : 2000);
    long long took = io_now_ms() - t0;
    if (e->deadline_option) {
        cr_expect(logged && took <= 3 * T_MS + 2 * WAVE_MS,
                  "with -T 1, step %d should give up on a client that "
                  "stops reading after about 1 s without progress; "
                  "%s after %lld ms (log below)",
                  e->step,
                  logged ? "it did" : "the request was still running",
                  took);
        close(fd);
        assert_still_serving(s.port, "dropping a client that stopped "
                                     "reading");
    } else {
        cr_expect(!logged,
                  "step %d has no write deadline: a client that stops "
                  "reading should keep its connection, but the request "
                  "ended after %lld ms (log below)",
                  e->step, took);
        close(fd);
    }
    stop_server(&s);
}

/* A head that comes at once and a body that trickles, a byte every
 * TRICKLE_MS: -T bounds the whole request, so the body gets its 408
 * about T after the connection began. Steps without a deadline wait
 * for the rest of the body. */
Test(deadlines, a_trickled_body_gets_408_within_T,
     .timeout = TEST_TIMEOUT_S)
{
    static const char head[] = "POST /echo HTTP/1.1\r\nHost: t\r\n"
                               "Content-Length: 100\r\n\r\n";
    const struct expect *e = expect_this_step();
    int run_ms = e->deadline_option ? 3000 : 1500;
    struct server s;
    struct response r = {0};
    long long at = 0;

    start_server(&s, (struct start){.deadline_s = 1});
    int fd = client_connect(s.port);
    long long t0 = io_now_ms();
    client_send(fd, head, sizeof head - 1);
    for (int sent = 0; io_now_ms() - t0 < run_ms && sent < 100;
         sent++) {
        if (readable(fd)) {
            read_response(fd, &r, 2000);
            at = io_now_ms() - t0;
            break;
        }
        io_write_all(fd, "x", 1);
        pause_ms(TRICKLE_MS);
    }
    close(fd);
    if (e->deadline_option)
        cr_expect(
            at >= T_MS - 100 && at <= T_MS + 2 * WAVE_MS &&
                r.status == 408,
            "with -T 1, a body sent a byte every %d ms should get "
            "408 about 1 s after the connection began; got "
            "status %d at %lld ms (0: none)",
            TRICKLE_MS, r.status, at);
    else
        cr_expect(at == 0,
                  "step %d has no deadline: a trickled body should "
                  "still be read, but a response came after %lld ms",
                  e->step, at);
    if (at > 0)
        response_free(&r);
    stop_server(&s);
}
