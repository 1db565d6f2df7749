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
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

/* The stress: 4 submitter threads, 20,000 tiny jobs, 8 workers and a
 * ring of 16, so that submitters often wait for room and workers
 * often wait for jobs. Two classic bugs show up here within a second:
 * - a worker that waits in an `if` instead of a `while`: woken, it
 *   finds that another worker took the job first, and takes one from
 *   the empty ring anyway (an old job runs again);
 * - a worker that never signals not_full: a submitter waiting for
 *   room sleeps for ever. The wait here is bounded (5 s), so that this
 *   fails with a message rather than at the test's timeout. */
enum {
    SUBMITTERS = 4,
    STRESS_JOBS = 20000,
    STRESS_THREADS = 8,
    STRESS_CAPACITY = 16,
    STRESS_LIMIT_MS = 5000,
};

struct stress {
    struct pool *pool;
    atomic_int runs[STRESS_JOBS]; /* runs[i]: how often job i ran */
    int index[STRESS_JOBS];       /* index[i] = i: job i's argument */
    atomic_int done;              /* jobs finished */
    atomic_int
        submitters_done;   /* submitters whose last submit returned */
    atomic_int twice;      /* the first job that ran twice, + 1 */
    atomic_int bad_worker; /* a worker number out of range */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* done reached STRESS_JOBS, or twice set */
};

static struct stress st; /* 160 KB: not on a test's stack */

#define IF_NOT_WHILE                                                   \
    "a worker took a job from an empty queue: does it wait in an "     \
    "`if` "                                                            \
    "instead of a `while`? Woken up, it must check again, since "      \
    "another worker may have taken the job first"

static void stress_job(void *arg, int worker)
{
    int i = *(int *)arg;

    if (worker < 1 || worker > STRESS_THREADS)
        atomic_store(&st.bad_worker, worker);
    if (atomic_fetch_add(&st.runs[i], 1) == 1 &&
        atomic_exchange(&st.twice, i + 1) == 0) {
        /* Said at once: the ring's count may now be negative, and the
         * corrupt pool can crash the test before its assertion. */
        fprintf(stderr, "job %d ran twice: %s\n", i, IF_NOT_WHILE);
    }
    if (atomic_fetch_add(&st.done, 1) + 1 == STRESS_JOBS ||
        atomic_load(&st.twice) != 0) {
        pthread_mutex_lock(&st.lock);
        pthread_cond_broadcast(&st.changed);
        pthread_mutex_unlock(&st.lock);
    }
}

/* Once a worker has taken a job from the empty ring, the ring's count
 * is below zero, and the next submit writes before the ring, into
 * the pool's own memory. That can crash this test before any job runs
 * twice, so a crash during the stress says what it most likely is,
 * then dies of the same signal. (write() and raise() are safe in a
 * signal handler; fprintf() is not.) */
static void stress_crashed(int sig)
{
    static const char msg[] =
        "the pool crashed under the stress: " IF_NOT_WHILE
        "; from an empty ring, the count goes below zero and the next "
        "submit writes outside the ring\n";

    (void)!write(2, msg, sizeof msg - 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void *submit_share(void *arg)
{
    int which = *(int *)arg;
    int share = (STRESS_JOBS - STRESS_CAPACITY) / SUBMITTERS;
    int first = STRESS_CAPACITY + which * share;
    int last = which == SUBMITTERS - 1 ? STRESS_JOBS : first + share;

    for (int i = first; i < last; i++)
        if (pool_submit(st.pool, stress_job, &st.index[i]) != 0)
            break;
    atomic_fetch_add(&st.submitters_done, 1);
    pthread_mutex_lock(&st.lock);
    pthread_cond_broadcast(&st.changed);
    pthread_mutex_unlock(&st.lock);
    return NULL;
}

/* Waits until every job is done or one ran twice, at most
 * timeout_ms. */
static void stress_wait(int want, int timeout_ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&st.lock);
    while ((atomic_load(&st.done) < want ||
            atomic_load(&st.submitters_done) < SUBMITTERS) &&
           atomic_load(&st.twice) == 0 &&
           pthread_cond_timedwait(&st.changed, &st.lock, &until) !=
               ETIMEDOUT)
        ;
    pthread_mutex_unlock(&st.lock);
}

Test(pool, four_submitters_20000_jobs_each_run_exactly_once,
     .timeout = TEST_TIMEOUT_S)
{
    pthread_t submitters[SUBMITTERS];
    int which[SUBMITTERS];

    static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT,
                                        SIGILL, SIGFPE};
    /* sigaction, not signal(): with SysV semantics the handler is
     * reset as it is entered, and a second thread crashing at the same
     * moment would kill the test before the message is written. */
    struct sigaction sa = {.sa_handler = stress_crashed};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof crash_signals / sizeof *crash_signals;
         i++)
        sigaction(crash_signals[i], &sa, NULL);
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.changed, NULL);
    for (int i = 0; i < STRESS_JOBS; i++)
        st.index[i] = i;
    st.pool = pool_create(STRESS_THREADS, STRESS_CAPACITY);
    cr_assert(st.pool != NULL, "pool_create(8, 16) failed");
    /* A first lap fills every slot of the ring once, so that a worker
     * that takes from the empty ring runs an old job again (which is
     * counted) instead of calling through a zeroed slot. */
    for (int i = 0; i < STRESS_CAPACITY; i++)
        cr_assert_eq(pool_submit(st.pool, stress_job, &st.index[i]), 0);
    long long t0 = io_now_ms();
    for (int i = 0; i < SUBMITTERS; i++) {
        which[i] = i;
        cr_assert_eq(pthread_create(&submitters[i], NULL, submit_share,
                                    &which[i]),
                     0);
    }
    stress_wait(STRESS_JOBS, STRESS_LIMIT_MS);
    long long took = io_now_ms() - t0;
    int twice = atomic_load(&st.twice);
    cr_assert(twice == 0, "job %d ran %d times: %s", twice - 1,
              atomic_load(&st.runs[twice - 1]), IF_NOT_WHILE);
    int waiting = SUBMITTERS - atomic_load(&st.submitters_done);
    cr_assert(waiting == 0,
              "after %lld ms, %d of %d jobs had run and %d of %d "
              "submitters were still waiting in pool_submit(): when a "
              "worker takes a job it must signal not_full, or a "
              "submitter waiting for room sleeps for ever",
              took, atomic_load(&st.done), STRESS_JOBS, waiting,
              SUBMITTERS);
    cr_assert(atomic_load(&st.done) == STRESS_JOBS,
              "after %lld ms only %d of %d jobs had run (every submit "
              "returned): a job was lost",
              took, atomic_load(&st.done), STRESS_JOBS);
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(submitters[i], NULL);
    io_sleep_ms(20); /* a job run twice would show up now */
    for (int i = 0; i < STRESS_JOBS; i++)
        cr_assert_eq(atomic_load(&st.runs[i]), 1,
                     "job %d ran %d times; every job must run exactly "
                     "once",
                     i, atomic_load(&st.runs[i]));
    cr_expect_eq(atomic_load(&st.bad_worker), 0,
                 "a job was told it ran on worker %d; workers are "
                 "numbered 1 to %d",
                 atomic_load(&st.bad_worker), STRESS_THREADS);
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
