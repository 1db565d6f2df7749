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

void io_sleep_ms(long ms)
{
    struct timespec left = {.tv_sec = ms / 1000,
                            .tv_nsec = (ms % 1000) * 1000000L};

    /* nanosleep() reports the time still to sleep when interrupted. */
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
}
