/*
 * exercises/stats/preload.c - widen the race that a torn snapshot
 * loses: loaded into the server under test (LD_PRELOAD), it makes
 * every pthread_mutex_unlock() pause a little after it unlocks.
 *
 * A worker that changes two counts in two critical sections unlocks
 * and locks again at once, and a /stats thread waiting for the lock
 * almost never gets it in between: the test would catch that bug by
 * luck. With the pause, the waiting thread takes the lock between the
 * two, and the snapshot does not add up in nearly every run. A correct
 * server is only slower. Test tooling, not a step: dlsym(RTLD_NEXT) is
 * not POSIX; where it or LD_PRELOAD is missing, the test runs without.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    static int (*real)(pthread_mutex_t *);
    const struct timespec pause = {0, 20000}; /* 20 us */

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "pthread_mutex_unlock");
    int r = real(m);
    nanosleep(&pause, NULL);
    return r;
}
