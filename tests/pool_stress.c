/*
 * pool_stress.c - hammer the pool from several threads, for TSan.
 *
 * A ThreadSanitizer build of a Criterion suite aborts (Criterion's own
 * runtime trips it), so the pool gets this small standalone program:
 * `make tsan` builds it with -fsanitize=thread against each step's
 * pool.c and runs it. Four submitters queue jobs into a small ring, so
 * that submitters often wait for room and workers often wait for jobs;
 * every job must run exactly once. From step 4 on, pool_destroy() must
 * run what is still queued, then join the workers.
 *
 * Exit status 0 when every check holds; 1 with a message otherwise.
 */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum {
    SUBMITTERS = 4,
    JOBS_EACH = 20000,
    JOBS = SUBMITTERS * JOBS_EACH,
    THREADS = 8,
    CAPACITY = 16,
};

static atomic_int runs[JOBS]; /* runs[i]: how often job i ran */
static int slot[JOBS];        /* slot[i] = i: the job's argument */
static atomic_int finished;   /* jobs done */
static atomic_int bad_worker; /* a worker number out of range */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done_cond = PTHREAD_COND_INITIALIZER;
static bool all_done; /* guarded by lock: the last job has finished */

static void job(void *arg, int worker)
{
    int i = *(int *)arg;

    if (worker < 1 || worker > THREADS)
        atomic_store(&bad_worker, worker);
    atomic_fetch_add(&runs[i], 1);
    if (atomic_fetch_add(&finished, 1) + 1 == JOBS) {
        pthread_mutex_lock(&lock);
        all_done = true;
        pthread_cond_signal(&all_done_cond);
        pthread_mutex_unlock(&lock);
    }
}

static struct pool *pool;

static void *submitter(void *arg)
{
    int first = *(int *)arg * JOBS_EACH;

    for (int i = first; i < first + JOBS_EACH; i++)
        if (pool_submit(pool, job, &slot[i]) != 0) {
            fprintf(stderr, "pool_stress: pool_submit failed\n");
            exit(1);
        }
    return NULL;
}

int main(void)
{
    pthread_t threads[SUBMITTERS];
    int ids[SUBMITTERS];

    pool = pool_create(THREADS, CAPACITY);
    if (pool == NULL) {
        perror("pool_stress: pool_create");
        return 1;
    }
    for (int i = 0; i < JOBS; i++)
        slot[i] = i;
    for (int i = 0; i < SUBMITTERS; i++) {
        ids[i] = i;
        if (pthread_create(&threads[i], NULL, submitter, &ids[i]) !=
            0) {
            perror("pool_stress: pthread_create");
            return 1;
        }
    }
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(threads[i], NULL);
#if STEP >= 4
    /* Step 4's pool can stop: destroying it must finish the queue. */
    pool_destroy(pool);
#else
    /* Step 3's workers never stop; wait for the last job instead. */
    pthread_mutex_lock(&lock);
    while (!all_done)
        pthread_cond_wait(&all_done_cond, &lock);
    pthread_mutex_unlock(&lock);
#endif
    int wrong = 0;
    for (int i = 0; i < JOBS; i++)
        if (atomic_load(&runs[i]) != 1 && wrong++ < 5)
            fprintf(stderr, "pool_stress: job %d ran %d times\n", i,
                    atomic_load(&runs[i]));
    if (atomic_load(&bad_worker) != 0)
        fprintf(stderr, "pool_stress: a job ran on worker %d\n",
                atomic_load(&bad_worker));
    if (wrong > 0 || atomic_load(&bad_worker) != 0)
        return 1;
    printf("pool_stress: %d jobs from %d threads on %d workers, each "
           "ran exactly once\n",
           JOBS, SUBMITTERS, THREADS);
    return 0;
}
