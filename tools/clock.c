/*
 * clock.c - microseconds since the run started, on CLOCK_MONOTONIC.
 *
 * Layer 1 of the timeline client (a leaf). A wall clock can jump when
 * the system's time is set; a monotonic one cannot, so a duration
 * measured on it is never negative.
 */
#include "clock.h"

#include <limits.h>
#include <time.h>

static long long origin; /* the start of the run, on the clock */

/* POSIX lets clock_gettime() fail only for a clock the system lacks;
 * then every time reads as 0. */
static long long clock_us(void)
{
    struct timespec ts = {0, 0};

    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        return 0;
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_start(void)
{
    origin = clock_us();
}

long long clock_now(void)
{
    return clock_us() - origin;
}

int clock_ms_until(long long t)
{
    long long ms = (t - clock_now() + 999) / 1000;

    return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}
