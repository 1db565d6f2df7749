/*
 * fdlimit.c - how many connections fit. Each one the loop holds costs
 * a descriptor instead of a thread, and a process may open only so
 * many (RLIMIT_NOFILE, often 1024 by default).
 *
 * It asks for LOOP_MAX_CONNECTIONS + LOOP_FD_SPARE, 10240: exactly
 * macOS's OPEN_MAX, the most a Mac gives, so that none warns at start.
 */
#include "fdlimit.h"

#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <sys/resource.h>

/* Asks for what the loop may use; refused, quietly for the most it may
 * have (the hard limit, and OPEN_MAX on macOS, which refuses more),
 * and warns only when even that is less. Returns the limit it got. */
static long fd_limit(void)
{
    rlim_t want = LOOP_MAX_CONNECTIONS + LOOP_FD_SPARE, most = want;
    struct rlimit lim;

#ifdef OPEN_MAX /* macOS: poll() fails with EINVAL past it, too */
    most = want < OPEN_MAX ? want : OPEN_MAX;
#endif
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        perror("server: getrlimit(RLIMIT_NOFILE)");
        return (long)most; /* accept() will say when there are none */
    }
    rlim_t had = lim.rlim_cur; /* RLIM_INFINITY is the largest */
    lim.rlim_cur = want;
    if (had >= want || setrlimit(RLIMIT_NOFILE, &lim) == 0)
        return (long)most;
    lim.rlim_cur = lim.rlim_max < most ? lim.rlim_max : most;
    if (lim.rlim_cur <= had || setrlimit(RLIMIT_NOFILE, &lim) < 0)
        lim.rlim_cur = had;
    if (lim.rlim_cur < want)
        fprintf(stderr,
                "server: RLIMIT_NOFILE is %ld, not %ld: fewer"
                " connections will fit\n",
                (long)lim.rlim_cur, (long)want);
    return (long)lim.rlim_cur;
}

int fdlimit_room(void)
{
    long limit = fd_limit();
    long room =
        limit >= 2 * LOOP_FD_SPARE ? limit - LOOP_FD_SPARE : limit - 2;

    return room < 1 ? 1 : (int)room;
}
