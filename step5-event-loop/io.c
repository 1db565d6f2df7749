/*
 * io.c - read and write loops that survive signals and short transfers.
 */
#include "io.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

long long io_now_ms(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail on POSIX systems that define it. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is readable or the deadline passes. Returns 0 when
 * it is readable, -1 with errno ETIMEDOUT (or poll's error). */
static int wait_readable(int fd, long long deadline)
{
    for (;;) {
        long long left = deadline - io_now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0)
            return 0; /* readable, closed or failed: read() tells */
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

ssize_t io_read(int fd, void *buf, size_t len, long long deadline)
{
    for (;;) {
        if (deadline > 0 && wait_readable(fd, deadline) < 0)
            return -1;
        ssize_t n = read(fd, buf, len);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

int io_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                errno = ETIMEDOUT; /* SO_SNDTIMEO ran out */
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The descriptor that cancels sleeps; io does not own it. Written
 * once, before the threads that read it start. */
static int cancel_fd = -1;

void io_set_cancel_fd(int fd)
{
    cancel_fd = fd;
}

bool io_cancelled(void)
{
    struct pollfd p = {.fd = cancel_fd, .events = POLLIN};

    /* A pipe whose write end is closed is readable too (POLLHUP). */
    return cancel_fd >= 0 && poll(&p, 1, 0) > 0 &&
           (p.revents & (POLLIN | POLLHUP)) != 0;
}

/* poll() with no descriptor is a sleep; with the cancel descriptor it
 * is a sleep that ends when the descriptor becomes readable. */
int io_sleep_ms(long ms)
{
    long long deadline = io_now_ms() + ms;
    struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
    nfds_t nfds = cancel_fd >= 0 ? 1 : 0;

    for (;;) {
        long long left = deadline - io_now_ms();
        if (left <= 0)
            return 0;
        int n = poll(&p, nfds, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0) {
            bool readable = (p.revents & (POLLIN | POLLHUP)) != 0;
            errno = readable ? ECANCELED : EBADF;
            return -1;
        }
        if (n < 0 && errno != EINTR)
            return -1;
    }
}
