/*
 * test_io.c - the shared io layer (io.c), without any server.
 *
 * The cancel hook: a stopping server makes a pipe readable; every
 * io_sleep_ms() then returns at once with ECANCELED, and io_cancelled()
 * turns true. Each Criterion test runs in its own process, so the hook
 * set here never reaches another test.
 *
 * Short writes: a blocking write() on a socket may write fewer bytes
 * than it was given, when a signal interrupts it or when SO_SNDTIMEO
 * runs out after part of the data went in. Servers meet that with
 * slow readers; io_write_all() must then write the rest. A loopback
 * TCP connection with small buffers, a send timeout and a reader that
 * takes its time makes writes come back short. (Not a socketpair():
 * on Linux, SO_SNDTIMEO on a Unix socket restarts each time some data
 * goes through, so a steady reader never makes a write return early;
 * TCP counts the whole time a write waited.)
 */
#include "harness.h"
#include "io.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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

enum {
    TOTAL = 4 << 20, /* bytes to send: about 1 s at the reader's pace */
    BUFSIZE = 16384, /* the send and receive buffers */
    READ_SIZE = 4096, /* the reader takes this much ... */
    READ_PAUSE_MS = 1 /* ... then pauses this long */
};

static unsigned char byte_at(size_t i)
{
    return (unsigned char)(i % 251); /* a prime: no 2^k period */
}

struct reader {
    int fd;
    size_t received;  /* bytes read before end of stream */
    size_t first_bad; /* the first byte out of place, or TOTAL */
    pthread_t thread;
};

static void *slow_reader(void *arg)
{
    struct reader *r = arg;
    unsigned char buf[READ_SIZE];

    r->first_bad = TOTAL;
    for (;;) {
        ssize_t n = io_read(r->fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != byte_at(r->received + (size_t)i) &&
                r->first_bad == TOTAL)
                r->first_bad = r->received + (size_t)i;
        r->received += (size_t)n;
        pause_ms(READ_PAUSE_MS);
    }
    return NULL;
}

/* A connected pair over 127.0.0.1: sv[0] connected to sv[1], each
 * with buffers of about BUFSIZE (set on the listener before listen(),
 * so that the accepted socket starts with a small window). */
static void tcp_pair(int sv[2])
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof addr;
    int size = BUFSIZE;

    addr.sin_addr.s_addr = htonl(0x7f000001); /* 127.0.0.1 */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    sv[0] = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(lfd >= 0 && sv[0] >= 0, "socket: %s", strerror(errno));
    cr_assert(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &size,
                         sizeof size) == 0 &&
                  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size,
                             sizeof size) == 0,
              "setsockopt: %s", strerror(errno));
    cr_assert(bind(lfd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
                  listen(lfd, 1) == 0 &&
                  getsockname(lfd, (struct sockaddr *)&addr, &len) == 0,
              "listen on 127.0.0.1: %s", strerror(errno));
    cr_assert(connect(sv[0], (struct sockaddr *)&addr, sizeof addr) ==
                  0,
              "connect: %s", strerror(errno));
    sv[1] = accept(lfd, NULL, NULL);
    cr_assert(sv[1] >= 0, "accept: %s", strerror(errno));
    close(lfd);
}

Test(io, io_write_all_finishes_after_short_writes,
     .timeout = TEST_TIMEOUT_S)
{
    int sv[2];
    /* Long enough that a busy machine does not starve the reader for
     * that long (then the write fails with ETIMEDOUT); short next to
     * the second the whole transfer takes. */
    struct timeval timeout = {.tv_usec = 250000L * slow_factor()};
    struct reader r = {0};
    unsigned char *data = malloc(TOTAL);

    cr_assert(data != NULL);
    for (size_t i = 0; i < TOTAL; i++)
        data[i] = byte_at(i);
    timeout.tv_sec = timeout.tv_usec / 1000000;
    timeout.tv_usec %= 1000000;
    tcp_pair(sv);
    cr_assert(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &timeout,
                         sizeof timeout) == 0,
              "setsockopt: %s", strerror(errno));
    r.fd = sv[1];
    cr_assert_eq(pthread_create(&r.thread, NULL, slow_reader, &r), 0);

    /* First, show that this set-up makes write() come back short. */
    ssize_t first = write(sv[0], data, TOTAL);
    cr_assert(first > 0 && first < TOTAL,
              "the test's set-up should make write() come back short, "
              "but write() of %d bytes returned %zd (%s)",
              TOTAL, first, first < 0 ? strerror(errno) : "all of it");
    /* Then io_write_all() must send the rest, however many writes
     * that takes. */
    int rc = io_write_all(sv[0], data + first, TOTAL - (size_t)first);
    int err = errno;
    shutdown(sv[0], SHUT_WR); /* the reader sees the end */
    pthread_join(r.thread, NULL);
    close(sv[0]);
    close(sv[1]);
    free(data);
    cr_assert(rc == 0, "io_write_all() failed: %s", strerror(err));
    cr_assert(
        r.received == TOTAL,
        "io_write_all() returned 0, but the reader got %zu of %d "
        "bytes: write() may write fewer bytes than asked (a short "
        "write), and io_write_all() must go on with the rest "
        "until every byte is written",
        r.received, TOTAL);
    cr_assert(r.first_bad == TOTAL,
              "byte %zu arrived out of place: after a short write, the "
              "next write must start where the last one stopped",
              r.first_bad);
}
