/*
 * test_process.c - the server as a process: many requests, then a
 * stop; and a server that runs out of file descriptors.
 *
 * Under `make valgrind`, the first test is the one that shows leaks
 * and descriptors left open: stop_server() reads valgrind's summary.
 */
#include "client.h"
#include "expect.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

Test(process, serves_hundreds_of_requests_then_stops_clean,
     .timeout = TEST_TIMEOUT_S)
{
    static const char *const paths[] = {
        "/", "/bytes?n=5000", "/nope", "/sleep?ms=0", "/bytes?n=x",
    };
    static const int statuses[] = {200, 200, 404, 200, 400};
    struct server s;
    struct response r;

    start_server(&s, (struct start){.threads = 4});
    for (int i = 0; i < 300; i++) {
        int k = i % 5;
        http_get(s.port, paths[k], &r);
        cr_assert(r.status == statuses[k] && response_complete(&r),
                  "request %d (GET %s) got status %d, %zu bytes; "
                  "expected a complete %d",
                  i + 1, paths[k], r.status, r.received, statuses[k]);
        response_free(&r);
    }
    stop_server(&s); /* reads valgrind's and the sanitizers' verdict */
}

static double cpu_seconds_of_children(void)
{
    struct rusage u;

    cr_assert(getrusage(RUSAGE_CHILDREN, &u) == 0);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

/* With ulimit -n 32, 100 connections: accept() fails with EMFILE while
 * the backlog still holds connections. A server that retries at once
 * spins at 100% CPU; every step backs off instead. It must stay up,
 * and serve again once the connections are gone. */
Test(limits, out_of_descriptors_it_backs_off_and_recovers,
     .timeout = TEST_TIMEOUT_S)
{
    enum { CONNS = 100, HOLD_MS = 5000 };
    const struct expect *e = expect_this_step();
    double cpu_limit = 0.5 * slow_factor();
    struct server s;
    struct batch b;

    double before = cpu_seconds_of_children();
    start_server(&s, (struct start){.threads = 4, .max_fds = 32});
    batch_open(&b, s.port, CONNS);
    pause_ms(HOLD_MS);
    /* 10 ms, not 0: a deadline that has passed already times out
     * before poll() could see the end of the server's stdout. */
    cr_expect(!wait_server_exit(&s, 10),
              "step %d died while out of descriptors: it %s", e->step,
              describe_status(s.status));
    batch_close(&b);
    assert_still_serving(s.port, "running out of descriptors");
    stop_server(&s);
    double cpu = cpu_seconds_of_children() - before;
    cr_expect(cpu < cpu_limit,
              "out of descriptors for %d s, step %d used %.2f s of CPU "
              "(limit %.1f): does it retry accept() in a tight loop?",
              HOLD_MS / 1000, e->step, cpu, cpu_limit);
}
