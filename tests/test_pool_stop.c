/*
 * test_pool_stop.c - a pool that can stop: pool_stop() and
 * pool_destroy(), without a server.
 *
 * Built for every step whose pool.h declares pool_stop() (tests.mk
 * looks), from step 4 on. Waits are bounded: a worker that is never
 * woken fails the test with a message instead of hanging it.
 */
#include "pool.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "harness.h"
#include "io.h"

enum { THREADS = 4 };

static atomic_int started; /* jobs that began */

static void short_job(void *arg, int worker)
{
    (void)arg;
    (void)worker;
    atomic_fetch_add(&started, 1);
}

struct destroyer {
    struct pool *pool;
    atomic_bool returned;
};

static void *destroy(void *arg)
{
    struct destroyer *d = arg;

    pool_destroy(d->pool);
    atomic_store(&d->returned, true);
    return NULL;
}

/* Four workers wait for jobs; pool_destroy() stops the pool and joins
 * them. Each waits on the same condition variable, so pool_stop()
 * must wake them all (broadcast): a signal wakes one, and the join of
 * the others never returns. */
Test(pool, stop_wakes_every_idle_worker, .timeout = TEST_TIMEOUT_S)
{
    int limit_ms = 2000 * slow_factor();
    struct destroyer d = {0};
    pthread_t thread;

    d.pool = pool_create(THREADS, 8);
    cr_assert(d.pool != NULL, "pool_create(4, 8) failed");
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pool_submit(d.pool, short_job, NULL), 0);
    long long deadline = io_now_ms() + limit_ms;
    while (atomic_load(&started) < THREADS && io_now_ms() < deadline)
        pause_ms(1);
    cr_assert_eq(atomic_load(&started), THREADS,
                 "only %d of %d jobs ran", atomic_load(&started),
                 THREADS);
    /* Nothing announces "every worker is waiting again": give them
     * the time. Too short would only let a wrong pool pass. */
    pause_ms(100);
    cr_assert_eq(pthread_create(&thread, NULL, destroy, &d), 0);
    deadline = io_now_ms() + limit_ms;
    while (!atomic_load(&d.returned) && io_now_ms() < deadline)
        pause_ms(5);
    cr_assert(atomic_load(&d.returned),
              "pool_destroy() was still joining its %d idle workers "
              "%d ms after it stopped the pool: pool_stop() must wake "
              "every idle worker (pthread_cond_broadcast), not just "
              "one (pthread_cond_signal); the others sleep for ever",
              THREADS, limit_ms);
    pthread_join(thread, NULL);
}
