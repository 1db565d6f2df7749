/*
 * test_loop.c - who waits for a request: a worker, or an event loop.
 *
 * In steps 3 and 4 a worker reads each request head itself, so a
 * client that sends nothing, or trickles its head a byte at a time,
 * holds a worker for as long as its deadline allows. Step 5 puts an
 * event loop in front of the pool: one thread poll()s every
 * connection until its request, head and body, is complete, and a
 * worker is taken only for work. Each test asserts what the step in
 * hand teaches (see waiting_in_loop in expect.h), so that the
 * neighbours fail each other's lesson.
 */
#include "client.h"
#include "expect.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define GET_ROOT "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
#define AT_ONCE_MS 500 /* "at once", on a loaded two-core machine */
#define WAVE_MS 500    /* how far a deadline may be from its time */

/* A head that never ends: a header line longer than any test. */
static const char trickle_text[] =
    "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/* Whether a connection in this step gets its own reader while it
 * sends its head: a thread per connection, or the event loop. */
static bool waiting_is_free(const struct expect *e)
{
    return e->waiting_in_loop || e->model == MODEL_THREAD_PER;
}

/* Sends GET / on a new connection and reads the answer for up to
 * timeout_ms. Returns the time it took, or -1 without a complete 200;
 * *bytes says how much came. */
static long long timed_get(int port, int timeout_ms, size_t *bytes)
{
    struct response r;
    int fd = client_connect(port);
    long long t0 = io_now_ms();

    client_send(fd, GET_ROOT, strlen(GET_ROOT));
    read_response(fd, &r, timeout_ms);
    close(fd);
    bool ok = r.status == 200 && response_complete(&r);
    *bytes = r.received;
    response_free(&r);
    return ok ? r.done_ms - t0 : -1;
}

/* Whether a complete 200 comes on fd within timeout_ms. */
static bool answered_200(int fd, int timeout_ms)
{
    struct response r;

    read_response(fd, &r, timeout_ms);
    bool ok = r.status == 200 && response_complete(&r);
    response_free(&r);
    return ok;
}

/* GET / on fd was not answered while idle[0..n) were open. Why, in an
 * event loop: closes them, and if the answer comes then, the loop was
 * waiting in read() on one of them; if it comes only when the head is
 * sent again, the worker read the socket itself and the head the loop
 * had read was lost. Returns the cause's tag, or "". */
static const char *why_unanswered(int fd, int *idle, int n)
{
    int wait_ms = 1000 * slow_factor();

    for (int i = 0; i < n; i++) {
        close(idle[i]);
        idle[i] = -1;
    }
    if (answered_200(fd, wait_ms))
        return " [cause: loop_blocks]";
    client_send(fd, GET_ROOT, strlen(GET_ROOT));
    if (answered_200(fd, wait_ms))
        return " [cause: head_lost]";
    return "";
}

/* The lesson: with one worker, ten connections that send nothing and
 * one GET /. */
Test(loop, ten_idle_connections_do_not_hold_the_only_worker,
     .timeout = TEST_TIMEOUT_S)
{
    enum { IDLE = 10 };
    const struct expect *e = expect_this_step();
    struct server s;
    struct response r;
    int idle[IDLE];

    start_server(&s, (struct start){.threads = 1, .deadline_s = 10});
    for (int i = 0; i < IDLE; i++)
        idle[i] = client_connect(s.port);
    pause_ms(100); /* the server takes them before the GET / */
    int fd = client_connect(s.port);
    long long t0 = io_now_ms();
    client_send(fd, GET_ROOT, strlen(GET_ROOT));
    read_response(fd, &r, 1000);
    bool ok = r.status == 200 && response_complete(&r);
    long long took = ok ? r.done_ms - t0 : -1;
    size_t bytes = r.received;
    response_free(&r);
    if (waiting_is_free(e)) {
        const char *cause = "";
        if (took < 0 && bytes == 0 && e->waiting_in_loop)
            cause = why_unanswered(fd, idle, IDLE);
        cr_expect(took >= 0 && took < AT_ONCE_MS,
                  "in step %d a connection that sends nothing costs no "
                  "worker: with -t 1 and %d idle connections, GET / "
                  "should be answered at once (< %d ms), but %s %lld "
                  "ms. Does the event loop block in read() on one "
                  "client, or lose a connection it took out of the "
                  "poll set?%s",
                  e->step, IDLE, AT_ONCE_MS,
                  took < 0 ? "no complete 200 came within" : "it took",
                  took < 0 ? 1000 : took, cause);
    } else {
        cr_expect(took < 0 && bytes == 0,
                  "in step %d the only worker waits for the request of "
                  "an idle connection, so GET / should not be answered "
                  "while %d idle connections are open; it was, in %lld "
                  "ms",
                  e->step, IDLE, took);
    }
    for (int i = 0; i < IDLE; i++)
        if (idle[i] >= 0)
            close(idle[i]);
    close(fd);
    stop_server(&s);
}

/* Sends the next byte of every trickler that has not been answered
 * yet; records who was answered (read and closed, as a browser would).
 * Returns how many were answered. */
static int trickle_round(int *fd, size_t *sent, int k, const char *text,
                         size_t len)
{
    int answered = 0;

    for (int i = 0; i < k; i++) {
        if (fd[i] < 0) {
            answered++;
            continue;
        }
        struct pollfd p = {.fd = fd[i], .events = POLLIN};
        if (poll(&p, 1, 0) > 0) {
            close(fd[i]);
            fd[i] = -1;
            answered++;
        } else if (sent[i] < len) {
            io_write_all(fd[i], text + sent[i]++, 1);
        }
    }
    return answered;
}

/* 200 clients trickle one header byte every 100 ms; meanwhile normal
 * requests come, one at a time. Then SIGTERM: the stop line says how
 * many workers were busy. */
Test(loop, two_hundred_tricklers_never_hold_a_worker,
     .timeout = TEST_TIMEOUT_S)
{
    enum { K = 200, N = 2, NORMAL = 8, TRICKLE_MS = 100 };
    const struct expect *e = expect_this_step();
    static int fd[K];
    static size_t sent[K];
    struct server s;
    long long worst = 0;
    int answered_normal = 0;
    size_t bytes;

    /* A step whose tricklers each hold a worker does not accept them
     * all: the rest wait in the listen backlog (128), and connecting
     * beyond it would hang. Half as many show its lesson as well. */
    int k = waiting_is_free(e) ? K : K / 2;
    /* Sanitized servers are slower: TEST_SLOW stretches the wait. */
    int patience = 2000 * slow_factor();

    start_server(&s, (struct start){.threads = N, .deadline_s = 30});
    for (int i = 0; i < k; i++) {
        fd[i] = client_connect_within(s.port, 2000);
        cr_assert(fd[i] >= 0,
                  "trickler %d of %d could not connect within 2 s "
                  "(%s): has the server stopped accepting?",
                  i + 1, k, strerror(errno));
        sent[i] = 0;
    }
    for (int round = 0; round < NORMAL; round++) {
        trickle_round(fd, sent, k, trickle_text,
                      sizeof trickle_text - 1);
        long long took = timed_get(
            s.port, waiting_is_free(e) ? patience : TRICKLE_MS * 3,
            &bytes);
        if (took < 0 || took > worst)
            worst = took < 0 ? -1 : took;
        answered_normal += took >= 0;
        if (worst < 0)
            break;
        pause_ms(TRICKLE_MS);
    }
    int tricklers_answered = trickle_round(fd, sent, k, trickle_text,
                                           sizeof trickle_text - 1);
    if (waiting_is_free(e)) {
        cr_expect(worst >= 0 && worst < AT_ONCE_MS * slow_factor(),
                  "in step %d %s: with %d clients trickling a byte "
                  "every %d ms and -t %d, every normal GET / should be "
                  "answered well under a second; %s %lld ms",
                  e->step,
                  e->waiting_in_loop
                      ? "tricklers wait in the event loop, not on a "
                        "worker"
                      : "every trickler has a thread of its own",
                  K, TRICKLE_MS, N,
                  worst < 0 ? "one got no answer within"
                            : "the slowest took",
                  worst < 0 ? patience : worst);
        cr_expect(tricklers_answered == 0,
                  "with -T 30 no trickler should have been answered "
                  "yet, but %d were",
                  tricklers_answered);
    } else {
        cr_expect(answered_normal == 0,
                  "in step %d every worker waits on a trickler, so a "
                  "normal GET / should not be answered, but %d were",
                  e->step, answered_normal);
    }
    if (e->graceful_stop) {
        signal_server(&s, SIGTERM);
        cr_assert(
            wait_for_log(&s, "shutting down: ", 3000 * slow_factor()),
            "no \"shutting down\" line after SIGTERM (log below)");
        if (e->waiting_in_loop)
            cr_expect(log_contains(&s, "shutting down: 0 running, 0 "
                                       "queued"),
                      "with %d tricklers and no normal request left, "
                      "no worker should be busy and none queued: the "
                      "stop line should start \"shutting down: 0 "
                      "running, 0 queued\" (log below)",
                      K);
    }
    for (int i = 0; i < k; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    if (!e->graceful_stop) {
        stop_server(&s);
        return;
    }
    cr_expect(wait_server_exit(&s, 5000 * slow_factor()),
              "step %d should exit once its tricklers have gone",
              e->step);
    check_server_log(&s);
}

/* A head that announces a body, which then comes a byte at a time. */
#define BODY_HEAD                                                      \
    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"
#define BODY_LEN 1000

static int compare_ms(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* Prints the median and the p99 of the n times in ms[]. */
static void print_times(const char *what, long long *ms, int n)
{
    if (n == 0)
        return;
    qsort(ms, (size_t)n, sizeof *ms, compare_ms);
    fprintf(stderr,
            "test_loop: %s: %d GET / answered, median %lld ms, "
            "p99 %lld ms\n",
            what, n, ms[n / 2], ms[(n * 99 + 99) / 100 - 1]);
}

/* Connects k clients that each send BODY_HEAD whole: what is left to
 * send is the body, text[sent[i]..). */
static void connect_body_tricklers(int port, int *fd, size_t *sent,
                                   int k)
{
    for (int i = 0; i < k; i++) {
        fd[i] = client_connect_within(port, 2000);
        cr_assert(fd[i] >= 0,
                  "body trickler %d of %d could not connect within "
                  "2 s (%s): in step %d every trickler is accepted "
                  "at once; has the server stopped accepting, its "
                  "workers all held by clients still sending a body?",
                  i + 1, k, strerror(errno), expect_this_step()->step);
        client_send(fd[i], BODY_HEAD, strlen(BODY_HEAD));
        sent[i] = strlen(BODY_HEAD);
    }
}

/* The step's verdict on NORMAL GET / among body tricklers: cheap
 * when a trickler costs no worker. */
static void expect_body_lesson(const struct expect *e, bool cheap,
                               int answered, long long worst)
{
    enum { NORMAL = 40 };

    if (!cheap) {
        cr_expect(answered == 0,
                  "in step %d the worker that takes a connection reads "
                  "its body, so with every worker on a client that "
                  "trickles its body a normal GET / should not be "
                  "answered, but %d were",
                  e->step, answered);
        return;
    }
    cr_expect(answered == NORMAL && worst < AT_ONCE_MS * slow_factor(),
              "in step %d %s: with 200 clients trickling a body byte "
              "every 100 ms and -t 2, every normal GET / should be "
              "answered within %d ms; %s. Is a connection handed to a "
              "worker as soon as its head is complete, so that the "
              "worker waits for the body?",
              e->step,
              e->bodies_in_loop ? "the loop reads each body before a "
                                  "worker is taken"
                                : "every trickler has a thread of its "
                                  "own",
              AT_ONCE_MS * slow_factor(),
              answered < NORMAL ? "one got no answer in 2 s"
                                : "the slowest took longer");
}

/* 200 clients send a head announcing a body, then one body byte every
 * 100 ms (a slow POST); meanwhile normal requests come, one at a time,
 * and the median and p99 of their times are printed. */
Test(loop, two_hundred_body_tricklers_never_hold_a_worker,
     .timeout = TEST_TIMEOUT_S)
{
    enum { K = 200, N = 2, NORMAL = 40, TRICKLE_MS = 100 };
    const struct expect *e = expect_this_step();
    static int fd[K];
    static size_t sent[K];
    static char text[sizeof BODY_HEAD - 1 + BODY_LEN];
    long long took[NORMAL], worst = 0;
    bool cheap = e->bodies_in_loop || e->model == MODEL_THREAD_PER;
    int k = cheap ? K : K / 2, answered = 0;
    int patience = 2000 * slow_factor();
    size_t bytes;
    struct server s;

    memcpy(text, BODY_HEAD, strlen(BODY_HEAD));
    memset(text + strlen(BODY_HEAD), 'a', BODY_LEN);
    start_server(&s, (struct start){.threads = N, .deadline_s = 30});
    connect_body_tricklers(s.port, fd, sent, k);
    while (answered < NORMAL) {
        trickle_round(fd, sent, k, text, sizeof text);
        long long t = timed_get(
            s.port, cheap ? patience : TRICKLE_MS * 3, &bytes);
        if (t < 0)
            break;
        took[answered++] = t;
        worst = t > worst ? t : worst;
        pause_ms(TRICKLE_MS);
    }
    int tricklers_answered =
        trickle_round(fd, sent, k, text, sizeof text);
    print_times("body tricklers", took, answered);
    expect_body_lesson(e, cheap, answered, worst);
    if (cheap)
        cr_expect(tricklers_answered == 0,
                  "with -T 30 no body trickler should have been "
                  "answered yet, but %d were",
                  tricklers_answered);
    if (e->bodies_in_loop) {
        signal_server(&s, SIGTERM);
        cr_assert(
            wait_for_log(&s, "shutting down: ", 3000 * slow_factor()),
            "no \"shutting down\" line after SIGTERM (log below)");
        cr_expect(
            log_contains(&s, "shutting down: 0 running, 0 queued"),
            "with %d body tricklers and no normal request left, "
            "no worker should be busy and none queued: the loop "
            "holds them until their bodies are whole (log below)",
            K);
    }
    for (int i = 0; i < k; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    if (!e->bodies_in_loop) {
        stop_server(&s);
        return;
    }
    cr_expect(wait_server_exit(&s, 5000 * slow_factor()),
              "step %d should exit once its body tricklers have gone",
              e->step);
    check_server_log(&s);
}

/* Raises this test process's descriptor limit to at least want.
 * Returns false if the hard limit does not allow it. */
static bool raise_own_fd_limit(rlim_t want)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) < 0)
        return false;
    if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur >= want)
        return true;
    if (r.rlim_max != RLIM_INFINITY && r.rlim_max < want)
        return false;
    r.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &r) == 0;
}

/* The threads a step runs with n idle connections open. */
static void expect_threads(const struct server *s, int workers, int n)
{
    const struct expect *e = expect_this_step();
    int threads = server_threads(s);
    /* ThreadSanitizer's runtime runs a background thread of its own
     * in the server (make tsan passes it SERVER_TSAN_OPTIONS). */
    int runtime = getenv("SERVER_TSAN_OPTIONS") != NULL ? 1 : 0;

    cr_assert(threads > 0, "could not count the server's threads");
    threads -= runtime;
    switch (e->model) {
    case MODEL_SERIAL:
        cr_expect(threads == 1,
                  "step %d has one thread, but runs %d with %d "
                  "connections open",
                  e->step, threads, n);
        break;
    case MODEL_THREAD_PER:
        cr_expect(threads >= n + 1,
                  "step %d runs a thread per connection: with %d open "
                  "it should run at least %d threads, but runs %d",
                  e->step, n, n + 1, threads);
        break;
    case MODEL_POOL:
        cr_expect(threads == workers + e->threads_besides_workers,
                  "step %d with -t %d should run %d threads (the "
                  "workers and %d more) however many connections are "
                  "open; with %d open it runs %d",
                  e->step, workers,
                  workers + e->threads_besides_workers,
                  e->threads_besides_workers, n, threads);
        break;
    }
}

/* 10 idle connections, then (for an event loop) 2,000: the thread
 * count does not move. Steps without a loop are only counted at 10:
 * their workers or backlog would hold the rest unaccepted. */
Test(loop, the_thread_count_stays_with_2000_open_connections,
     .timeout = TEST_TIMEOUT_S)
{
    enum {
        N = 4,
        FEW = 10,
        MANY = 2000,
        STEP_BY = 100,
        SOFT_FDS = 256
    };
    const struct expect *e = expect_this_step();
    static int fd[MANY];
    struct server s;
    size_t bytes;

    cr_assert(raise_own_fd_limit(MANY + 100),
              "this test needs %d descriptors: raise the hard limit "
              "(ulimit -Hn)",
              MANY + 100);
    /* A soft descriptor limit of 256 (the hard one stays): a step
     * with an event loop raises its own. */
    start_server(&s, (struct start){.threads = N,
                                    .deadline_s = 60,
                                    .soft_fds = SOFT_FDS});
    /* An answer means every thread has started (they start before
     * the first accept). */
    assert_still_serving(s.port, "starting");
    for (int i = 0; i < FEW; i++)
        fd[i] = client_connect(s.port);
    pause_ms(200);
    expect_threads(&s, N, FEW);
    int open = FEW;
    if (e->waiting_in_loop) {
        /* Gradually: the listen backlog holds 128. */
        while (open < MANY) {
            for (int k = 0; k < STEP_BY && open < MANY; k++) {
                fd[open] = client_connect_within(s.port, 2000);
                cr_assert(fd[open] >= 0,
                          "step %d's event loop should hold %d idle "
                          "connections, but connection %d could not "
                          "connect within 2 s (%s): it stopped "
                          "accepting. Started with a soft descriptor "
                          "limit of %d, does it raise RLIMIT_NOFILE?",
                          e->step, MANY, open + 1, strerror(errno),
                          SOFT_FDS);
                open++;
            }
            pause_ms(10);
        }
        pause_ms(200);
        expect_threads(&s, N, MANY);
        long long took = timed_get(s.port, 2000, &bytes);
        cr_expect(took >= 0 && took < AT_ONCE_MS,
                  "with %d idle connections held by the event loop, "
                  "GET / should be answered at once, but %s %lld ms",
                  MANY, took < 0 ? "got no answer within" : "took",
                  took < 0 ? 2000 : took);
    }
    for (int i = 0; i < open; i++)
        close(fd[i]);
    stop_server(&s);
}

/* Waits up to timeout_ms for fd to be readable or closed. Returns the
 * time that took, or -1. */
static long long wait_readable(int fd, long long t0, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    long long left = timeout_ms - (io_now_ms() - t0);
    int n = poll(&p, 1, left > 0 ? (int)left : 0);
    return n > 0 ? io_now_ms() - t0 : -1;
}

/* With -t 1 -T 1, the worker busy for 2 s: a client that sent half a
 * head, and one that sent nothing. An event loop counts their time
 * from accept(); a worker counts it from when it takes them. */
Test(loop, deadlines_count_from_accept, .timeout = TEST_TIMEOUT_S)
{
    enum { BUSY_MS = 2000, T_MS = 1000, WATCH_MS = 4500 };
    const char *busy = "GET /sleep?ms=2000 HTTP/1.1\r\nHost: t\r\n\r\n";
    const struct expect *e = expect_this_step();
    struct server s;
    struct response r;

    start_server(&s, (struct start){.threads = 1, .deadline_s = 1});
    int worker = client_connect(s.port);
    client_send(worker, busy, strlen(busy));
    pause_ms(100);
    int half = client_connect(s.port);
    long long t0 = io_now_ms();
    client_send(half, trickle_text, 20);
    int silent = client_connect(s.port);
    long long half_at = wait_readable(half, t0, WATCH_MS);
    if (half_at >= 0)
        read_response(half, &r, 2000);
    long long silent_at = wait_readable(silent, t0, WATCH_MS);
    size_t silent_bytes = 0;
    bool closed =
        silent_at >= 0 && wait_closed(silent, 1000, &silent_bytes);
    if (e->waiting_in_loop) {
        cr_expect(half_at >= T_MS - 100 && half_at <= T_MS + WAVE_MS &&
                      r.status == 408 && response_complete(&r),
                  "step %d counts the deadline from accept(): with the "
                  "only worker busy, a client that sent half a head "
                  "should get a complete 408 from the event loop after "
                  "about 1 s; %s",
                  e->step,
                  half_at < 0 ? "nothing came"
                              : "it came late or broken");
        cr_expect(closed && silent_at <= T_MS + WAVE_MS &&
                      silent_bytes == 0,
                  "step %d counts the deadline from accept(): a client "
                  "that sends nothing should be closed after about 1 "
                  "s, without a response, even while the only worker "
                  "is busy; %s after %lld ms",
                  e->step, closed ? "it was closed" : "still open",
                  silent_at);
    } else if (e->deadline_option) {
        cr_expect(half_at >= BUSY_MS,
                  "in step %d the deadline starts when a worker takes "
                  "the connection, so with the only worker busy for "
                  "%d ms the 408 should come after that, but it came "
                  "after %lld ms",
                  e->step, BUSY_MS, half_at);
    } else {
        cr_expect(half_at < 0 && silent_at < 0,
                  "step %d has no deadline: neither slow client should "
                  "hear from the server, but one did",
                  e->step);
    }
    if (half_at >= 0)
        response_free(&r);
    close(worker);
    close(half);
    close(silent);
    stop_server(&s);
}

/* After its 408 the server reads what the client still sends for a
 * while (a lingering close), so that the client's next bytes are not
 * met with a reset that could destroy the response. */
Test(loop, after_a_408_the_connection_lingers,
     .timeout = TEST_TIMEOUT_S)
{
    const struct expect *e = expect_this_step();
    struct server s;
    struct response r;

    start_server(&s, (struct start){.threads = 2, .deadline_s = 1});
    int fd = client_connect(s.port);
    client_send(fd, trickle_text, 20);
    read_response(fd, &r, e->deadline_option ? 3000 : 1500);
    if (!e->deadline_option) {
        cr_expect(r.received == 0,
                  "step %d has no deadline, so half a head should get "
                  "no answer, but %zu bytes came",
                  e->step, r.received);
    } else {
        cr_expect(r.status == 408 && response_complete(&r),
                  "half a head and then silence should get a complete "
                  "408 after 1 s; got status %d, %zu bytes",
                  r.status, r.received);
        /* The server has ended its side; ours is still open. */
        bool first = io_write_all(fd, "more", 4) == 0;
        pause_ms(100);
        bool second = io_write_all(fd, "more", 4) == 0;
        cr_expect(first && second,
                  "after its 408 step %d should keep reading for a "
                  "while (lingering close, up to %d ms) instead of "
                  "closing at once: bytes the client sends 100 ms "
                  "later should not be met with a reset (%s)",
                  e->step, 500, strerror(errno));
    }
    response_free(&r);
    close(fd);
    stop_server(&s);
}

/* With -t 1 the worker sleeps 2.5 s while 70 requests come: 64 fill the
 * queue, the rest wait. A client that sends half a head meanwhile is
 * still timed by a loop that never blocks, and every request is served
 * once the worker is free. */
Test(loop, a_full_queue_never_stops_the_loop, .timeout = TEST_TIMEOUT_S)
{
    enum { K = 70, BUSY_MS = 2500, T_MS = 1000 };
    const char *busy = "GET /sleep?ms=2500 HTTP/1.1\r\nHost: t\r\n\r\n";
    const struct expect *e = expect_this_step();
    struct server s;
    struct batch b;
    struct response r;

    start_server(&s, (struct start){.threads = 1, .deadline_s = 1});
    int worker = client_connect(s.port);
    client_send(worker, busy, strlen(busy));
    pause_ms(100);
    batch_open(&b, s.port, K);
    batch_send_reverse(&b, GET_ROOT);
    pause_ms(100);
    int half = client_connect(s.port);
    long long t0 = io_now_ms();
    client_send(half, trickle_text, 20);
    long long half_at = wait_readable(half, t0, BUSY_MS + 3000);
    if (half_at >= 0)
        read_response(half, &r, 2000);
    int done = batch_wait(&b, 5000);
    if (e->waiting_in_loop) {
        cr_expect(
            half_at >= T_MS - 100 && half_at <= T_MS + WAVE_MS &&
                r.status == 408,
            "step %d's event loop must never wait for room in "
            "the queue: with the only worker busy and %d requests "
            "filling the queue, a client that sent half a head "
            "should still get its 408 after about 1 s; %s %lld ms",
            e->step, K,
            half_at < 0 ? "nothing came within" : "it came after",
            half_at < 0 ? BUSY_MS + 3000 : half_at);
        cr_expect(done == K,
                  "once the worker is free, all %d requests should be "
                  "served, those that waited in the loop for room in "
                  "the queue too (does a worker wake the loop?); %d "
                  "were",
                  K, done);
    } else if (e->deadline_option) {
        cr_expect(half_at < 0 || half_at >= BUSY_MS - 200,
                  "in step %d a connection waits for a worker before "
                  "its deadline starts: with the only worker busy for "
                  "%d ms, the 408 should not come before that; it came "
                  "after %lld ms",
                  e->step, BUSY_MS, half_at);
    } else {
        cr_expect(half_at < 0,
                  "step %d has no deadline: half a head should get no "
                  "answer, but one came after %lld ms",
                  e->step, half_at);
    }
    if (half_at >= 0)
        response_free(&r);
    close(worker);
    close(half);
    batch_close(&b);
    stop_server(&s);
}

/* The stop closes the listener, but a client that was still sending
 * its head when the signal came is served once the head is complete:
 * step 4's worker keeps reading it, step 5's loop keeps polling it. */
Test(loop, a_head_still_arriving_at_the_stop_is_served,
     .timeout = TEST_TIMEOUT_S)
{
    const char *rest = "\r\n\r\n";
    const struct expect *e = expect_this_step();
    struct server s;
    struct response r;

    start_server(&s, (struct start){.threads = 1, .deadline_s = 10});
    assert_still_serving(s.port, "starting");
    int fd = client_connect(s.port);
    client_send(fd, "GET / HTTP/1.1\r\nHost: t", 23);
    pause_ms(100);
    signal_server(&s, SIGTERM);
    if (!e->graceful_stop) {
        read_response(fd, &r, 2000);
        cr_expect(r.received == 0,
                  "step %d has no SIGTERM handler: a request still "
                  "arriving should die with it, but %zu bytes came",
                  e->step, r.received);
        response_free(&r);
        close(fd);
        wait_server_exit(&s, 3000 * slow_factor());
        return;
    }
    cr_assert(wait_for_log(&s, "shutting down: ", 3000 * slow_factor()),
              "no \"shutting down\" line after SIGTERM (log below)");
    pause_ms(100);
    client_send(fd, rest, strlen(rest));
    read_response(fd, &r, 3000);
    cr_expect(r.status == 200 && response_complete(&r),
              "a head that was still arriving when SIGTERM came should "
              "be served once complete: step %d %s keep it until its "
              "verdict, its deadline or the grace period; got status "
              "%d, %zu bytes",
              e->step,
              e->waiting_in_loop ? "'s event loop should"
                                 : "'s worker should",
              r.status, r.received);
    response_free(&r);
    close(fd);
    cr_expect(wait_server_exit(&s, 3000 * slow_factor()),
              "step %d should exit once that request is served",
              e->step);
    check_server_log(&s);
    cr_expect(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0,
              "step %d should exit 0 after a graceful stop, but it %s",
              e->step, describe_status(s.status));
    cr_expect(
        log_contains(&s, "stopped: accepted 2, served 2, cut 0"),
        "the last line should start \"stopped: accepted 2, served "
        "2, cut 0\" (log below)");
}
