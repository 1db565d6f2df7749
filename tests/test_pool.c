/*
 * test_pool.c - the thread pool of steps 3 and 4, without a server.
 *
 * Built only for steps that have pool.c. Jobs here are tiny functions
 * that count what happens; waits for them are bounded, so a pool that
 * loses a job fails a test instead of hanging it.
 */
#include "pool.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"
#include "io.h"

/* What the jobs of one test share. */
struct tally {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int done;        /* guarded by lock: jobs finished */
    int running;     /* guarded by lock: jobs running now */
    int max_running; /* guarded by lock: the most at once */
    int bad_worker;  /* guarded by lock: a worker number out of range */
    int threads;     /* the pool's size, for checking numbers */
    int hold_ms;     /* how long each job takes */
    bool gate_open;  /* guarded by lock: jobs may finish */
    atomic_int *runs; /* runs[i]: how often job i ran */
};

struct job_arg {
    struct tally *t;
    int index;
};

static void tally_init(struct tally *t, int threads, int jobs)
{
    *t = (struct tally){.threads = threads, .gate_open = true};
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->changed, NULL);
    t->runs = calloc((size_t)jobs, sizeof *t->runs);
    cr_assert(t->runs != NULL);
}

static void job(void *arg, int worker)
{
    struct job_arg *a = arg;
    struct tally *t = a->t;

    atomic_fetch_add(&t->runs[a->index], 1);
    pthread_mutex_lock(&t->lock);
    if (worker < 1 || worker > t->threads)
        t->bad_worker = worker;
    if (++t->running > t->max_running)
        t->max_running = t->running;
    pthread_cond_broadcast(&t->changed);
    while (!t->gate_open)
        pthread_cond_wait(&t->changed, &t->lock);
    pthread_mutex_unlock(&t->lock);
    if (t->hold_ms > 0)
        io_sleep_ms(t->hold_ms);
    pthread_mutex_lock(&t->lock);
    t->running--;
    t->done++;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

/* Waits until *field >= want, or timeout_ms. Caller holds no lock. */
static bool wait_until(struct tally *t, const int *field, int want,
                       int timeout_ms)
{
    struct timespec until;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (*field < want &&
           pthread_cond_timedwait(&t->changed, &t->lock, &until) !=
               ETIMEDOUT)
        ;
    ok = *field >= want;
    pthread_mutex_unlock(&t->lock);
    return ok;
}

static struct job_arg *submit_jobs(struct pool *pool, struct tally *t,
                                   int first, int count)
{
    struct job_arg *args = calloc((size_t)count, sizeof *args);

    cr_assert(args != NULL);
    for (int i = 0; i < count; i++) {
        args[i] = (struct job_arg){.t = t, .index = first + i};
        cr_assert_eq(pool_submit(pool, job, &args[i]), 0,
                     "pool_submit should return 0");
    }
    return args;
}

Test(pool, ten_thousand_jobs_each_run_exactly_once,
     .timeout = TEST_TIMEOUT_S)
{
    enum { JOBS = 10000, THREADS = 4 };
    struct tally t;

    tally_init(&t, THREADS, JOBS);
    struct pool *pool = pool_create(THREADS, 64);
    cr_assert(pool != NULL, "pool_create(4, 64) failed");
    submit_jobs(pool, &t, 0, JOBS);
    cr_assert(wait_until(&t, &t.done, JOBS, 10000),
              "after 10 s only %d of %d jobs had finished", t.done,
              JOBS);
    io_sleep_ms(20); /* a job run twice would show up now */
    for (int i = 0; i < JOBS; i++)
        cr_assert_eq(atomic_load(&t.runs[i]), 1,
                     "job %d ran %d times; every job must run exactly "
                     "once",
                     i, atomic_load(&t.runs[i]));
    cr_expect_eq(t.done, JOBS, "%d jobs finished, %d were submitted",
                 t.done, JOBS);
    cr_expect_eq(t.bad_worker, 0,
                 "a job was told it ran on worker %d; workers are "
                 "numbered 1 to %d",
                 t.bad_worker, THREADS);
}

Test(pool, runs_n_jobs_at_once_and_never_more,
     .timeout = TEST_TIMEOUT_S)
{
    enum { JOBS = 40, THREADS = 4 };
    struct tally t;

    tally_init(&t, THREADS, JOBS);
    t.hold_ms = 10;
    struct pool *pool = pool_create(THREADS, 64);
    cr_assert(pool != NULL);
    submit_jobs(pool, &t, 0, JOBS);
    cr_assert(wait_until(&t, &t.done, JOBS, 10000),
              "only %d of %d jobs finished in 10 s", t.done, JOBS);
    cr_expect(t.max_running <= THREADS,
              "a pool of %d workers ran %d jobs at once", THREADS,
              t.max_running);
    cr_expect(t.max_running == THREADS,
              "a pool of %d workers should run %d jobs at once when "
              "there are enough, but at most %d ran at a time (does a "
              "worker hold the queue's lock while it runs a job?)",
              THREADS, THREADS, t.max_running);
}

struct blocked_submit {
    struct pool *pool;
    struct job_arg *arg;
    atomic_bool returned;
};

static void *submit_one(void *arg)
{
    struct blocked_submit *b = arg;

    pool_submit(b->pool, job, b->arg);
    atomic_store(&b->returned, true);
    return NULL;
}

/* One worker, two slots: a job that waits at a gate keeps the worker
 * busy, two more fill the queue, and a fourth submit must wait. */
Test(pool, submit_waits_while_the_queue_is_full_then_resumes,
     .timeout = TEST_TIMEOUT_S)
{
    struct tally t;
    pthread_t thread;

    tally_init(&t, 1, 4);
    t.gate_open = false;
    struct pool *pool = pool_create(1, 2);
    cr_assert(pool != NULL);
    submit_jobs(pool, &t, 0, 1);
    cr_assert(wait_until(&t, &t.running, 1, 5000),
              "the only worker never started the first job");
    submit_jobs(pool, &t, 1, 2); /* the queue is now full */
    struct job_arg fourth = {.t = &t, .index = 3};
    struct blocked_submit b = {.pool = pool, .arg = &fourth};
    cr_assert_eq(pthread_create(&thread, NULL, submit_one, &b), 0);
    /* Nothing announces "still blocked": give it time to go wrong. */
    io_sleep_ms(200);
    cr_expect(!atomic_load(&b.returned),
              "pool_submit returned while the queue was full (2 of 2 "
              "slots taken); it should wait for a free slot");
    pthread_mutex_lock(&t.lock);
    t.gate_open = true;
    pthread_cond_broadcast(&t.changed);
    pthread_mutex_unlock(&t.lock);
    cr_assert(wait_until(&t, &t.done, 4, 5000),
              "after the queue drained, only %d of 4 jobs finished: a "
              "waiting submit must resume when a slot frees",
              t.done);
    pthread_join(thread, NULL);
    cr_expect(atomic_load(&b.returned));
    for (int i = 0; i < 4; i++)
        cr_expect_eq(atomic_load(&t.runs[i]), 1, "job %d ran %d times",
                     i, atomic_load(&t.runs[i]));
}
