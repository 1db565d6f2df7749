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
              "one (pthread_cond_signal); the others sleep for ever "
              "[cause: stop_no_broadcast]",
              THREADS, limit_ms);
    pthread_join(thread, NULL);
}

static atomic_bool slow_job_over; /* the slow job returned */

static void slow_job(void *arg, int worker)
{
    (void)arg;
    (void)worker;
    atomic_fetch_add(&started, 1);
    io_sleep_ms(300);
    atomic_store(&slow_job_over, true);
}

/* pool_destroy() frees the pool: every worker must have ended first,
 * or a worker still running a job comes back to freed memory. So it
 * joins them all, and returns only after the running job is over. */
Test(pool, destroy_waits_for_the_running_job, .timeout = TEST_TIMEOUT_S)
{
    struct pool *pool = pool_create(2, 8);

    cr_assert(pool != NULL, "pool_create(2, 8) failed");
    atomic_store(&started, 0);
    cr_assert_eq(pool_submit(pool, slow_job, NULL), 0);
    long long deadline = io_now_ms() + 2000 * slow_factor();
    while (atomic_load(&started) < 1 && io_now_ms() < deadline)
        pause_ms(1);
    cr_assert_eq(atomic_load(&started), 1, "the job never started");
    pool_destroy(pool);
    cr_assert(
        atomic_load(&slow_job_over),
        "pool_destroy() returned while a worker was still running "
        "a 300 ms job: it must join every worker before it frees "
        "the pool [cause: not_joined]");
}
