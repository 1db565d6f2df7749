/*
 * exercises/sjf/tests.c - shortest request first, measured.
 *
 * With one worker (-t 1), a first /sleep keeps it busy while four more
 * arrive, 50 ms apart, longest first: 400, 300, 200 and 100 ms. In
 * arrival order (first in, first out) the 400 ms one would end first;
 * shortest first, the 100 ms one does, and the four end in the order
 * 100, 200, 300, 400. The test measures when each response ends: the
 * order is the policy.
 */
#include "client.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { FIRST_MS = 600, WAITING = 4 };

/* The sleeps that wait, in the order they are sent. */
static const int waiting_ms[WAITING] = {400, 300, 200, 100};

static void send_sleep(int fd, int ms)
{
    char request[128];

    snprintf(request, sizeof request,
             "GET /sleep?ms=%d HTTP/1.1\r\nHost: t\r\n\r\n", ms);
    client_send(fd, request, strlen(request));
}

/* Opens five connections, the busy one first (b->fd[0]); sends the
 * busy sleep, then, once a worker has it, the four others, longest
 * first (b->fd[1..4]); reads every response (for up to 10 s). */
static void run_sleeps(struct server *s, struct batch *b)
{
    batch_open(b, s->port, WAITING + 1);
    send_sleep(b->fd[0], FIRST_MS);
    /* The worker must have taken the first before the others arrive,
     * or the first could be ordered among them. */
    pause_ms(150);
    /* 50 ms apart: arriving together, they could be queued in any
     * order (an event loop may look at its sockets last first). */
    for (int i = 0; i < WAITING; i++) {
        send_sleep(b->fd[i + 1], waiting_ms[i]);
        pause_ms(50);
    }
    batch_wait(b, 10000);
    for (int i = 0; i <= WAITING; i++)
        cr_assert(b->done[i] && b->r[i].status == 200 &&
                      response_complete(&b->r[i]),
                  "every /sleep should get a complete 200; the one of "
                  "%d ms got status %d, %zu bytes",
                  i > 0 ? waiting_ms[i - 1] : FIRST_MS, b->r[i].status,
                  b->r[i].received);
}

/* "100 200 300 400": the sleeps in the order their responses ended. */
static const char *order_of(const struct batch *b)
{
    static char text[64];
    bool used[WAITING] = {false};
    size_t n = 0;

    text[0] = '\0';
    for (int k = 0; k < WAITING; k++) {
        int best = -1;
        for (int i = 0; i < WAITING; i++)
            if (!used[i] && (best < 0 || b->r[i + 1].done_ms <
                                             b->r[best + 1].done_ms))
                best = i;
        used[best] = true;
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%d",
                              k > 0 ? " " : "", waiting_ms[best]);
    }
    return text;
}

Test(sjf, waiting_sleeps_run_shortest_first, .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct batch b;

    start_server(&s, (struct start){.threads = 1});
    run_sleeps(&s, &b);
    const char *order = order_of(&b);
    cr_expect(
        strcmp(order, "100 200 300 400") == 0,
        "with one worker busy, sleeps of 400, 300, 200 and 100 ms "
        "arrived in that order; shortest first, they should end "
        "in the order 100 200 300 400, but ended %s (is the "
        "queue still first in, first out?)",
        order);
    batch_close(&b);
    stop_server(&s);
}

/* Shortest first must not cost time: one worker still runs the sleeps
 * one after the other, back to back, so the last ends at the sum. */
Test(sjf, the_worker_never_idles_while_jobs_wait,
     .timeout = TEST_TIMEOUT_S)
{
    enum { SPARE = 400 };
    struct server s;
    struct batch b;

    start_server(&s, (struct start){.threads = 1});
    long long t0 = io_now_ms();
    run_sleeps(&s, &b);
    long long took = batch_last_done(&b) - t0;
    int sum = FIRST_MS + 400 + 300 + 200 + 100;
    cr_expect(took >= sum - 20 && took < sum + SPARE,
              "one worker should run the 5 sleeps back to back, in "
              "about %d ms; they took %lld ms (order: %s)",
              sum, took, order_of(&b));
    const struct response *shortest = &b.r[WAITING];
    long long first_done = b.r[0].done_ms;
    cr_expect(
        shortest->done_ms - first_done < 100 + SPARE / 2,
        "the 100 ms sleep should start as soon as the first one "
        "ends, and end about 100 ms after it, but it ended %lld ms "
        "after (order: %s)",
        shortest->done_ms - first_done, order_of(&b));
    batch_close(&b);
    stop_server(&s);
}

/* Requests that are not sleeps take no time: they go before any
 * waiting sleep, as a sleep of 0 ms would. */
Test(sjf, a_hello_overtakes_waiting_sleeps, .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct batch b;
    struct response r;

    start_server(&s, (struct start){.threads = 1});
    int first = client_connect(s.port);
    send_sleep(first, FIRST_MS);
    pause_ms(150);
    batch_open(&b, s.port, 2);
    send_sleep(b.fd[0], 500);
    pause_ms(50);
    send_sleep(b.fd[1], 500);
    pause_ms(50);
    long long t0 = io_now_ms();
    http_get(s.port, "/", &r);
    long long took = io_now_ms() - t0;
    cr_expect(
        r.status == 200 && took < FIRST_MS + 250,
        "GET / arrived behind two waiting 500 ms sleeps while the "
        "worker was busy for %d ms more: shortest first, it runs "
        "next, in under %d ms, but it took %lld ms (status %d)",
        FIRST_MS - 250, FIRST_MS + 250, took, r.status);
    response_free(&r);
    batch_wait(&b, 10000);
    batch_close(&b);
    close(first);
    stop_server(&s);
}
