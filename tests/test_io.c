/*
 * test_io.c - io.c's cancel hook, without any server.
 *
 * A stopping server makes a pipe readable; every io_sleep_ms() then
 * returns at once with ECANCELED, and io_cancelled() turns true. Each
 * Criterion test runs in its own process, so the hook set here never
 * reaches another test.
 */
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

Test(io, a_sleep_without_a_cancel_fd_sleeps_whole,
     .timeout = TEST_TIMEOUT_S)
{
    long long t0 = io_now_ms();

    cr_expect_eq(io_sleep_ms(50), 0, "io_sleep_ms(50) should return 0");
    cr_expect_geq(io_now_ms() - t0, 50, "io_sleep_ms(50) slept %lld ms",
                  io_now_ms() - t0);
    cr_expect(!io_cancelled(), "no cancel fd: io_cancelled() is false");
}

Test(io, a_pipe_made_readable_cuts_a_long_sleep_short,
     .timeout = TEST_TIMEOUT_S)
{
    int p[2];

    cr_assert(pipe(p) == 0, "pipe: %s", strerror(errno));
    io_set_cancel_fd(p[0]);
    cr_expect(!io_cancelled(), "an empty pipe is not a cancellation");
    pid_t child = fork();
    cr_assert(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        io_set_cancel_fd(-1);
        io_sleep_ms(100);
        _exit(write(p[1], "x", 1) == 1 ? 0 : 1);
    }
    long long t0 = io_now_ms();
    errno = 0;
    int r = io_sleep_ms(30000);
    int err = errno;
    long long took = io_now_ms() - t0;
    int status;
    cr_assert(waitpid(child, &status, 0) == child);
    cr_expect(
        r == -1 && err == ECANCELED,
        "a sleep whose cancel pipe becomes readable should return "
        "-1 with ECANCELED; returned %d (%s)",
        r, strerror(err));
    cr_expect(
        took >= 50 && took < 10000,
        "the sleep should end when the pipe becomes readable "
        "(after ~100 ms), not before nor at its end: took %lld ms",
        took);
    cr_expect(io_cancelled(),
              "io_cancelled() once the pipe is readable");
    cr_expect(io_sleep_ms(30000) == -1 && errno == ECANCELED,
              "a sleep that starts cancelled returns at once");
    close(p[0]);
    close(p[1]);
}
