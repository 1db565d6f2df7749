/*
 * test_concurrency.c - the lesson of each step, measured.
 *
 * Built so that a wrong server cannot pass by accident: every
 * connection is opened before any request is sent (a server that
 * accepts one at a time cannot hide behind the listen backlog), and
 * requests are sent last connection first (a server that reads in
 * accept order gains nothing). Then the time until the last response
 * says how many requests ran side by side. Margins leave room for a
 * loaded two-core machine: every lower bound is a sum of sleeps that
 * cannot be beaten, every upper bound has most of a sleep to spare.
 */
#include "client.h"
#include "expect.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#define D 400             /* ms each /sleep request takes */
#define SPARE (D * 3 / 4) /* time allowed above an exact bound */
#define CLOCK_SLACK 20    /* ... and below one: clocks are not exact */
#define SLEEP_REQUEST "GET /sleep?ms=400 HTTP/1.1\r\nHost: t\r\n\r\n"

static int rounds(int k, int n)
{
    return (k + n - 1) / n;
}

static void expect_all_ok(struct batch *b, const char *when)
{
    for (int i = 0; i < b->k; i++)
        cr_assert(b->done[i] && b->r[i].status == 200 &&
                      response_complete(&b->r[i]),
                  "%s: request %d of %d did not get a complete 200 "
                  "(status %d, %zu bytes)",
                  when, i + 1, b->k, b->r[i].status, b->r[i].received);
}

Test(concurrency, sleeps_overlap_as_the_step_teaches,
     .timeout = TEST_TIMEOUT_S)
{
    enum { K = 3, N = 2 };
    const struct expect *e = expect_this_step();
    struct server s;
    struct batch b;

    start_server(&s, (struct start){.threads = N});
    batch_open(&b, s.port, K);
    long long t0 = io_now_ms();
    batch_send_reverse(&b, SLEEP_REQUEST);
    batch_wait(&b, 10000);
    long long took = batch_last_done(&b) - t0;
    expect_all_ok(&b, "3 sleeps at once");
    switch (e->model) {
    case MODEL_SERIAL:
        cr_expect(took >= K * D - CLOCK_SLACK,
                  "step %d should serve one connection at a time, but "
                  "%d x %d ms sleeps finished in %lld ms (less than "
                  "%d ms means they overlapped)",
                  e->step, K, D, took, K * D);
        break;
    case MODEL_THREAD_PER:
        cr_expect(took < 2 * D,
                  "step %d should run every connection on its own "
                  "thread, so %d x %d ms sleeps take about %d ms, but "
                  "they took %lld ms",
                  e->step, K, D, D, took);
        break;
    case MODEL_POOL: {
        int want = rounds(K, N) * D;
        cr_expect(took >= want - CLOCK_SLACK && took < want + SPARE,
                  "step %d with -t %d should run %d x %d ms sleeps %d "
                  "at a time, in %d ms; they took %lld ms",
                  e->step, N, K, D, N, want, took);
        break;
    }
    }
    batch_close(&b);
    stop_server(&s);
}

/* A client that connects and sends nothing: the lesson that motivates
 * deadlines. Step 1 is stuck on it; step 2 does not care; in a pool it
 * holds a worker for as long as it likes, unless an event loop waits
 * for requests in front of the pool (step 5). */
Test(concurrency, an_idle_connection_blocks_what_the_step_allows,
     .timeout = TEST_TIMEOUT_S)
{
    enum { K = 2, N = 2 };
    const struct expect *e = expect_this_step();
    struct server s;
    struct batch b;

    start_server(&s, (struct start){.threads = N});
    int idle = client_connect(s.port); /* first in the backlog */
    batch_open(&b, s.port, K);
    long long t0 = io_now_ms();
    batch_send_reverse(&b, SLEEP_REQUEST);
    if (e->model == MODEL_SERIAL) {
        int done = batch_wait(&b, 2 * D);
        cr_expect(done == 0 && !batch_any_bytes(&b),
                  "step %d serves one connection at a time: while a "
                  "connection that sends nothing is open, nobody else "
                  "should be answered, but %d of %d were",
                  e->step, done, K);
        close(idle);
        idle = -1;
        t0 = io_now_ms();
    }
    batch_wait(&b, 10000);
    long long took = batch_last_done(&b) - t0;
    expect_all_ok(&b, "sleeps next to an idle connection");
    switch (e->model) {
    case MODEL_SERIAL:
        cr_expect(took >= K * D - CLOCK_SLACK,
                  "once the idle connection closed, step %d should "
                  "serve the %d sleeps one after the other (>= %d ms), "
                  "but they took %lld ms",
                  e->step, K, K * D, took);
        break;
    case MODEL_THREAD_PER:
        cr_expect(took < 2 * D,
                  "an idle connection has a thread of its own in step "
                  "%d and should not slow others down, but %d x %d ms "
                  "sleeps took %lld ms",
                  e->step, K, D, took);
        break;
    case MODEL_POOL: {
        int want = rounds(K, e->waiting_in_loop ? N : N - 1) * D;
        if (e->waiting_in_loop)
            cr_expect(took >= want - CLOCK_SLACK && took < want + SPARE,
                      "in step %d the event loop waits for requests, "
                      "so a connection that sends nothing holds no "
                      "worker: with -t %d, %d x %d ms sleeps should "
                      "run side by side, in %d ms; they took %lld ms",
                      e->step, N, K, D, want, took);
        else
            cr_expect(took >= want - CLOCK_SLACK && took < want + SPARE,
                      "with -t %d, a connection that sends nothing "
                      "holds one worker, so step %d should run %d x %d "
                      "ms sleeps on the one left, in %d ms; they took "
                      "%lld ms",
                      N, e->step, K, D, want, took);
        break;
    }
    }
    if (idle >= 0)
        close(idle);
    batch_close(&b);
    stop_server(&s);
}
