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

/* The stress: 20,000 tiny jobs through a ring of 16, so that
 * submitters often wait for room and workers often wait for jobs, in
 * three rounds that each let one bug show and say which it is:
 * 1. one submitter, 8 workers: only the take side can go wrong. A
 *    worker that waits in an `if` instead of a `while` is woken, finds
 *    that another worker took the job first, and takes one from the
 *    empty ring anyway (an old job runs again);
 * 2. 4 submitters, one worker: only the submit side can. A submitter
 *    that waits in an `if` is woken, finds that another took the free
 *    slot, and writes over a job that has not run;
 * 3. 4 submitters, 8 workers: both at once.
 * Waits are bounded (5 s): a missing signal fails with a message
 * rather than at the test's timeout, and says which one is missing. */
enum {
    MAX_SUBMITTERS = 4,
    STRESS_JOBS = 20000,
    STRESS_CAPACITY = 16,
    STRESS_LIMIT_MS = 5000,
};

struct stress {
    struct pool *pool;
    int workers, submitters;
    const char *twice_why;        /* what a job run twice means */
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
    "`if` instead of a `while`? Woken up, it must check again, since " \
    "another worker may have taken the job first [cause: empty_take]"
#define SUBMIT_IF                                                      \
    "a submitter wrote into a full queue: does pool_submit() wait in " \
    "an `if` instead of a `while`? Woken up, it must check again, "    \
    "since another submitter may have taken the free slot first "      \
    "[cause: full_submit]"
#define EITHER_IF                                                      \
    "a job ran twice with several workers and submitters: a wait in "  \
    "an `if`, or the ring touched outside the lock"

static void stress_job(void *arg, int worker)
{
    int i = *(int *)arg;

    if (worker < 1 || worker > st.workers)
        atomic_store(&st.bad_worker, worker);
    if (atomic_fetch_add(&st.runs[i], 1) == 1 &&
        atomic_exchange(&st.twice, i + 1) == 0) {
        /* Said at once: the ring's count may now be out of range, and
         * the corrupt pool can crash the test before its assertion. */
        fprintf(stderr, "job %d ran twice: %s\n", i, st.twice_why);
    }
    if (atomic_fetch_add(&st.done, 1) + 1 == STRESS_JOBS ||
        atomic_load(&st.twice) != 0) {
        pthread_mutex_lock(&st.lock);
        pthread_cond_broadcast(&st.changed);
        pthread_mutex_unlock(&st.lock);
    }
}

/* Once a worker has taken a job from the empty ring (or a submitter
 * has written into a full one), the ring's count is out of range, and
 * the next submit writes outside the ring, into the pool's own
 * memory. That can crash this test before any job runs twice, so a
 * crash during the stress says what it most likely is, then dies of
 * the same signal. (write() and raise() are safe in a signal handler;
 * fprintf() is not.) */
static void stress_crashed(int sig)
{
    /* Several workers may crash at once: only the first one speaks,
     * and its raise() ends the process. */
    static atomic_flag reporting = ATOMIC_FLAG_INIT;
    static const char pre[] = "the pool crashed under the stress: ";
    static const char post[] = "; then the count is out of range and "
                               "a submit writes outside the ring\n";
    const char *why = st.twice_why;
    char num[] = " [signal 00]";
    size_t n = 0;

    if (atomic_flag_test_and_set(&reporting))
        for (;;)
            pause();
    while (why[n] != '\0')
        n++;
    num[9] = (char)('0' + sig / 10 % 10);
    num[10] = (char)('0' + sig % 10);
    (void)!write(2, pre, sizeof pre - 1);
    (void)!write(2, why, n);
    (void)!write(2, num, sizeof num - 1);
    (void)!write(2, post, sizeof post - 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void *submit_share(void *arg)
{
    int which = *(int *)arg;
    int share = (STRESS_JOBS - STRESS_CAPACITY) / st.submitters;
    int first = STRESS_CAPACITY + which * share;
    int last = which == st.submitters - 1 ? STRESS_JOBS : first + share;

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
            atomic_load(&st.submitters_done) < st.submitters) &&
           atomic_load(&st.twice) == 0 &&
           pthread_cond_timedwait(&st.changed, &st.lock, &until) !=
               ETIMEDOUT)
        ;
    pthread_mutex_unlock(&st.lock);
}

static void stress_catch_crashes(void)
{
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
}

/* What the round saw when it stopped waiting, as one cause. */
static void stress_check(long long took)
{
    int twice = atomic_load(&st.twice);
    int done = atomic_load(&st.done);
    int waiting = st.submitters - atomic_load(&st.submitters_done);

    cr_assert(twice == 0,
              "job %d ran %d times with %d workers and %d "
              "submitters: %s",
              twice - 1, atomic_load(&st.runs[twice - 1]), st.workers,
              st.submitters, st.twice_why);
    cr_assert(done > 0,
              "after %lld ms, not one of %d queued jobs had run, and "
              "%d workers were idle: jobs stay queued while the "
              "workers sleep [cause: no_wakeup]",
              took, STRESS_CAPACITY, st.workers);
    cr_assert(waiting == 0,
              "after %lld ms, %d of %d jobs had run and %d of %d "
              "submitters were still waiting in pool_submit(): when a "
              "worker takes a job it must signal not_full, or a "
              "submitter waiting for room sleeps for ever "
              "[cause: no_room]",
              took, done, STRESS_JOBS, waiting, st.submitters);
    cr_assert(done == STRESS_JOBS,
              "after %lld ms only %d of %d jobs had run (every submit "
              "returned): a job was lost",
              took, done, STRESS_JOBS);
}

/* One round: WORKERS workers, SUBMITTERS threads submitting at once. */
static void stress_round(int workers, int submitters, const char *why)
{
    pthread_t threads[MAX_SUBMITTERS];
    int which[MAX_SUBMITTERS];

    st.workers = workers;
    st.submitters = submitters;
    st.twice_why = why;
    atomic_store(&st.done, 0);
    atomic_store(&st.submitters_done, 0);
    for (int i = 0; i < STRESS_JOBS; i++) {
        st.index[i] = i;
        atomic_store(&st.runs[i], 0);
    }
    st.pool = pool_create(workers, STRESS_CAPACITY);
    cr_assert(st.pool != NULL, "pool_create(%d, 16) failed", workers);
    pause_ms(50); /* every worker waits for its first job */
    /* A first lap fills every slot of the ring once, so that a worker
     * that takes from the empty ring runs an old job again (which is
     * counted) instead of calling through a zeroed slot. */
    for (int i = 0; i < STRESS_CAPACITY; i++)
        cr_assert_eq(pool_submit(st.pool, stress_job, &st.index[i]), 0);
    long long t0 = io_now_ms();
    for (int i = 0; i < submitters; i++) {
        which[i] = i;
        cr_assert_eq(
            pthread_create(&threads[i], NULL, submit_share, &which[i]),
            0);
    }
    stress_wait(STRESS_JOBS, STRESS_LIMIT_MS * slow_factor());
    stress_check(io_now_ms() - t0);
    for (int i = 0; i < submitters; i++)
        pthread_join(threads[i], NULL);
    io_sleep_ms(20); /* a job run twice would show up now */
    for (int i = 0; i < STRESS_JOBS; i++)
        cr_assert_eq(atomic_load(&st.runs[i]), 1,
                     "job %d ran %d times with %d workers and %d "
                     "submitters: %s",
                     i, atomic_load(&st.runs[i]), workers, submitters,
                     st.twice_why);
    cr_expect_eq(atomic_load(&st.bad_worker), 0,
                 "a job was told it ran on worker %d; workers are "
                 "numbered 1 to %d",
                 atomic_load(&st.bad_worker), workers);
}

Test(pool, four_submitters_20000_jobs_each_run_exactly_once,
     .timeout = TEST_TIMEOUT_S)
{
    stress_catch_crashes();
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.changed, NULL);
    stress_round(8, 1, IF_NOT_WHILE);
    stress_round(1, MAX_SUBMITTERS, SUBMIT_IF);
    stress_round(8, MAX_SUBMITTERS, EITHER_IF);
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
    pause_ms(50); /* every worker waits for its first job */
    submit_jobs(pool, &t, 0, JOBS);
    cr_assert(wait_until(&t, &t.done, 1, 2000 * slow_factor()),
              "not one of %d queued jobs ran within 2 s, and the %d "
              "workers were idle: jobs stay queued while the workers "
              "sleep [cause: no_wakeup]",
              JOBS, THREADS);
    cr_assert(wait_until(&t, &t.done, JOBS, 10000),
              "only %d of %d jobs finished in 10 s", t.done, JOBS);
    cr_expect(t.max_running <= THREADS,
              "a pool of %d workers ran %d jobs at once", THREADS,
              t.max_running);
    cr_expect(t.max_running == THREADS,
              "a pool of %d workers should run %d jobs at once when "
              "there are enough, but at most %d ran at a time: does a "
              "worker hold the queue's lock while it runs a job? "
              "[cause: lock_held]",
              THREADS, THREADS, t.max_running);
}

struct blocked_submit {
    struct pool *pool;
    struct tally *t;
    int first, count;
    atomic_int returned; /* submits that returned */
};

static void *submit_some(void *arg)
{
    struct blocked_submit *b = arg;
    struct job_arg *args = calloc((size_t)b->count, sizeof *args);

    for (int i = 0; args != NULL && i < b->count; i++) {
        args[i] = (struct job_arg){.t = b->t, .index = b->first + i};
        pool_submit(b->pool, job, &args[i]);
        atomic_fetch_add(&b->returned, 1);
    }
    return NULL;
}

/* Starts a thread that submits jobs FIRST.. (COUNT of them), waits up
 * to MS for them, and returns how many of those submits returned. */
static int submit_in_thread(struct blocked_submit *b, pthread_t *thread,
                            int first, int count, long ms)
{
    b->first = first;
    b->count = count;
    atomic_store(&b->returned, 0);
    cr_assert_eq(pthread_create(thread, NULL, submit_some, b), 0);
    long long deadline = io_now_ms() + ms;
    while (atomic_load(&b->returned) < count && io_now_ms() < deadline)
        pause_ms(5);
    return atomic_load(&b->returned);
}

/* One worker, two slots: a job that waits at a gate keeps the worker
 * busy, two more fill the queue, and a fourth submit must wait. Each
 * step runs in a thread of its own, so that a submit that waits when
 * it should not (or not when it should) is seen, and tells which bug
 * it is. */
Test(pool, submit_waits_while_the_queue_is_full_then_resumes,
     .timeout = TEST_TIMEOUT_S)
{
    struct tally t;
    struct blocked_submit fill = {0}, fourth = {0}, fifth = {0};
    pthread_t threads[3];

    tally_init(&t, 1, 5);
    t.gate_open = false;
    struct pool *pool = pool_create(1, 2);
    cr_assert(pool != NULL);
    fill = fourth = fifth =
        (struct blocked_submit){.pool = pool, .t = &t};
    pause_ms(50); /* the worker waits for its first job */
    submit_jobs(pool, &t, 0, 1);
    cr_assert(wait_until(&t, &t.running, 1, 2000 * slow_factor()),
              "the only worker was idle and never started the job "
              "queued for it: jobs stay queued while the workers sleep "
              "[cause: no_wakeup]");
    int filled = submit_in_thread(&fill, &threads[0], 1, 2,
                                  1000L * slow_factor());
    cr_assert(filled != 0,
              "with one job running and the queue empty, pool_submit() "
              "did not return within 1 s: does the worker hold the "
              "lock while it runs the job? [cause: lock_held]");
    cr_assert(filled == 2,
              "pool_submit() waited with 1 of 2 slots taken: a queue "
              "of 2 is full at 2 jobs, not 1 [cause: full_off_by_one]");
    /* The queue is now full: a fourth submit must wait. Nothing
     * announces "still blocked": give it time to go wrong. */
    if (submit_in_thread(&fourth, &threads[1], 3, 1, 200) == 1) {
        int more = submit_in_thread(&fifth, &threads[2], 4, 1, 200);
        cr_assert_fail(
            "pool_submit() returned while the queue was full "
            "(2 of 2 slots taken)%s",
            more ? ", and again after that: the queue grows "
                   "without bound [cause: unbounded]"
                 : ", then waited at 3: it holds one job more "
                   "than its capacity "
                   "[cause: full_off_by_one]");
    }
    pthread_mutex_lock(&t.lock);
    t.gate_open = true;
    pthread_cond_broadcast(&t.changed);
    pthread_mutex_unlock(&t.lock);
    cr_assert(wait_until(&t, &t.done, 4, 5000),
              "after the queue drained, only %d of 4 jobs finished: a "
              "submit waiting for room must resume when a worker takes "
              "a job [cause: no_room]",
              t.done);
    pthread_join(threads[0], NULL);
    pthread_join(threads[1], NULL);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(atomic_load(&t.runs[i]), 1, "job %d ran %d times",
                     i, atomic_load(&t.runs[i]));
}
