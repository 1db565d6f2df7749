/*
 * exercises/sigusr1/tests.c - SIGUSR1: a report, not a stop.
 *
 * On SIGUSR1 the server writes one line to stderr,
 * "status: R running, Q queued", and goes on as before: serving, or
 * stopping if a stop had begun. Without a handler, SIGUSR1's default
 * action kills the process.
 *
 * The counts take a moment to settle after the clients connect (the
 * accept loop must queue them, the workers take them), and nothing
 * tells a client when they have. So the tests send SIGUSR1 every
 * 100 ms until the line they expect appears: each report is a fresh
 * snapshot, and a right server gets there within a few tries.
 */
#include "client.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Sends SIGUSR1 every 100 ms until the log holds line, for up to
 * timeout_ms. Fails the test, saying how, if the server dies or the
 * line never comes. */
static void report_until(struct server *s, const char *line,
                         int timeout_ms, const char *when)
{
    long long deadline = io_now_ms() + timeout_ms;
    bool seen;

    do {
        signal_server(s, SIGUSR1);
        seen = wait_for_log(s, line, 100);
        if (!seen && wait_server_exit(s, 10))
            cr_assert_fail("%s: after SIGUSR1 the server should log "
                           "\"%s\" and go on, but it %s (no handler: "
                           "SIGUSR1 kills a process by default; block "
                           "it, and let the signal thread wait for it)",
                           when, line, describe_status(s->status));
    } while (!seen && io_now_ms() < deadline);
    cr_assert(seen,
              "%s: SIGUSR1, sent every 100 ms for %d ms, should make "
              "the server log \"%s\"; the log (below) never had it",
              when, timeout_ms, line);
}

/* Whether the log has a line starting with then after the first line
 * holding first. */
static bool logged_after(const struct server *s, const char *first,
                         const char *then)
{
    static char text[1 << 16];
    FILE *f = fopen(s->log, "r");
    size_t n = 0;

    if (f != NULL) {
        n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
    }
    text[n] = '\0';
    const char *p = strstr(text, first);
    if (p == NULL)
        return false;
    for (p = strchr(p, '\n'); p != NULL; p = strchr(p + 1, '\n'))
        if (strncmp(p + 1, then, strlen(then)) == 0)
            return true;
    return false;
}

static void expect_all_ok(struct batch *b, const char *when)
{
    batch_wait(b, 10000);
    for (int i = 0; i < b->k; i++)
        cr_expect(b->done[i] && b->r[i].status == 200 &&
                      response_complete(&b->r[i]),
                  "%s: request %d of %d should get a complete 200 (a "
                  "report must not disturb the work); got status "
                  "%d, %zu bytes",
                  when, i + 1, b->k, b->r[i].status, b->r[i].received);
}

Test(sigusr1, reports_running_and_queued, .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct batch b;

    start_server(&s, (struct start){.threads = 2});
    batch_open(&b, s.port, 4);
    batch_send_reverse(
        &b, "GET /sleep?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n");
    report_until(&s, "status: 2 running, 2 queued", 1000,
                 "with -t 2 and 4 sleeps of 1.5 s");
    expect_all_ok(&b, "after SIGUSR1");
    batch_close(&b);
    assert_still_serving(s.port, "SIGUSR1");
    stop_server(&s);
}

/* SIGUSR1 is not a stop signal: after it, the server serves, and a
 * SIGTERM is still the first stop signal (a graceful stop, exit 0),
 * not a second one (exit 1 at once). */
Test(sigusr1, is_not_a_stop_signal, .timeout = TEST_TIMEOUT_S)
{
    struct server s;

    start_server(&s, (struct start){.threads = 2});
    report_until(&s, "status: 0 running, 0 queued", 1000,
                 "an idle server");
    signal_server(&s, SIGUSR1);
    signal_server(&s, SIGUSR1);
    pause_ms(200);
    cr_assert(!wait_server_exit(&s, 10),
              "three SIGUSR1 should only make reports, but the server "
              "%s: is SIGUSR1 treated as a stop signal?",
              describe_status(s.status));
    cr_expect(!log_contains(&s, "shutting down"),
              "SIGUSR1 should only make a report, but the server "
              "began to stop (log below)");
    assert_still_serving(s.port, "three SIGUSR1");
    stop_server(&s); /* SIGTERM: a graceful stop, exit 0 */
    cr_expect(log_contains(&s, "stopped: accepted 1, served 1"),
              "after SIGUSR1, GET / and SIGTERM, the server should end "
              "with \"stopped: accepted 1, served 1, ...\" (log "
              "below)");
}

/* During the stop, SIGUSR1 shows the drain's progress. It must not
 * count as the second stop signal, which exits 1 at once and cuts the
 * requests still running. */
Test(sigusr1, during_the_stop_reports_and_does_not_exit,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;
    struct batch b;

    start_server(&s, (struct start){.threads = 2});
    batch_open(&b, s.port, 3);
    batch_send_reverse(
        &b, "GET /sleep?ms=1000 HTTP/1.1\r\nHost: t\r\n\r\n");
    report_until(&s, "status: 2 running, 1 queued", 800,
                 "with -t 2 and 3 sleeps of 1 s");
    signal_server(&s, SIGTERM);
    cr_assert(wait_for_log(&s, "shutting down", 1000),
              "SIGTERM should start the stop (\"shutting down\" in the "
              "log below)");
    long long deadline = io_now_ms() + 800;
    bool seen;
    do {
        signal_server(&s, SIGUSR1);
        pause_ms(100);
        seen = logged_after(&s, "shutting down", "status: ");
    } while (!seen && io_now_ms() < deadline);
    cr_expect(
        seen,
        "SIGUSR1 during the stop should still log a \"status: R "
        "running, Q queued\" line (the drain's progress), but none "
        "came after \"shutting down\" (log below)");
    expect_all_ok(&b, "SIGUSR1 during the stop");
    bool exited = wait_server_exit(&s, 5000);
    if (!exited)
        kill_server(&s);
    cr_assert(exited, "the server should exit once its 3 requests are "
                      "served, but was still running 5 s later");
    cr_expect(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0,
              "SIGUSR1 during the stop should make a report, not count "
              "as a second stop signal; the server should exit 0 once "
              "it has served everything, but it %s",
              describe_status(s.status));
    batch_close(&b);
}

/* The report goes to stderr, and stderr may be a pipe that nobody
 * reads (a terminal suspended, a full log pipe): then the write blocks
 * for good. Only the signal thread may wait for it. A report written
 * while it holds the lock that the workers and the accept loop take
 * stops the whole server behind it. */
Test(sigusr1, a_report_nobody_reads_does_not_stop_the_serving,
     .timeout = TEST_TIMEOUT_S)
{
    struct server s;

    start_server(&s,
                 (struct start){.threads = 2, .stderr_unread = true});
    signal_server(&s, SIGUSR1);
    pause_ms(200 * slow_factor()); /* the report is stuck in write() */
    for (int i = 0; i < 4; i++) {
        int fd = client_connect(s.port);
        struct response r;

        client_send(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 28);
        read_response(fd, &r, 2000 * slow_factor());
        close(fd);
        cr_assert(r.status == 200 && response_complete(&r),
                  "with stderr a full pipe that nobody reads, after "
                  "SIGUSR1, GET / number %d should still get a 200, "
                  "but got status %d, %zu bytes: is the report "
                  "written while a lock the workers need is held? "
                  "Copy the counts under the lock, unlock, then write",
                  i + 1, r.status, r.received);
        response_free(&r);
    }
    kill_server(&s);
}
