/*
 * pool.c - N workers take jobs from a bounded ring, in arrival order.
 *
 * One mutex guards the ring; two condition variables say when it is
 * worth looking again: not_empty wakes a worker when a job arrives,
 * not_full wakes the submitter when a worker has taken one.
 *
 * pthread_mutex_lock() and the condition calls fail only when misused
 * (say, on a mutex that was never initialised), which is a bug in
 * this file rather than something that happens at run time, so their
 * results are not checked.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct job {
    void (*fn)(void *arg, int worker);
    void *arg;
};

struct worker {
    struct pool *pool;
    int id; /* 1 to N, for the log */
    pthread_t thread;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t not_empty; /* a job was added */
    pthread_cond_t not_full;  /* a job was taken */
    struct job *ring;         /* guarded by lock: capacity slots */
    int capacity;             /* slots in the ring */
    int head;                 /* guarded by lock: the oldest job */
    int count;                /* guarded by lock: jobs waiting */
    struct worker *workers;   /* the threads, and their numbers */
    int threads;              /* how many */
};

/* Every worker runs this loop: wait for a job, take it out of the
 * ring, unlock, run it. The job runs without the lock held, or only
 * one worker at a time could work. In this step it runs for ever. */
static void *worker_main(void *arg)
{
    struct worker *self = arg;
    struct pool *pool = self->pool;

    for (;;) {
        pthread_mutex_lock(&pool->lock);
        /* A while, not an if: wake-ups can be spurious. */
        while (pool->count == 0)
            pthread_cond_wait(&pool->not_empty, &pool->lock);
        struct job job = pool->ring[pool->head];
        pool->head = (pool->head + 1) % pool->capacity;
        pool->count--;
        pthread_cond_signal(&pool->not_full);
        pthread_mutex_unlock(&pool->lock);

        job.fn(job.arg, self->id);
    }
    return NULL; /* never reached: in this step workers never stop */
}

/* Puts job at the tail of the ring, which has room, and wakes a
 * worker. The caller holds pool->lock. */
static void enqueue(struct pool *pool, struct job job)
{
    int tail = (pool->head + pool->count) % pool->capacity;
    pool->ring[tail] = job;
    pool->count++;
    pthread_cond_signal(&pool->not_empty);
}

int pool_submit(struct pool *pool, void (*fn)(void *arg, int worker),
                void *arg)
{
    pthread_mutex_lock(&pool->lock);
    /* Backpressure: a full ring makes the caller wait, not grow. */
    while (pool->count == pool->capacity)
        pthread_cond_wait(&pool->not_full, &pool->lock);
    enqueue(pool, (struct job){.fn = fn, .arg = arg});
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

/* Frees a pool that no worker uses. */
static void pool_free(struct pool *pool)
{
    free(pool->ring);
    free(pool->workers);
    free(pool);
}

struct pool *pool_create(int threads, int capacity)
{
    struct pool *pool = calloc(1, sizeof *pool);

    if (pool == NULL)
        return NULL;
    pool->ring = calloc((size_t)capacity, sizeof *pool->ring);
    pool->workers = calloc((size_t)threads, sizeof *pool->workers);
    pool->capacity = capacity;
    pool->threads = threads;
    if (pool->ring == NULL || pool->workers == NULL ||
        pthread_mutex_init(&pool->lock, NULL) != 0 ||
        pthread_cond_init(&pool->not_empty, NULL) != 0 ||
        pthread_cond_init(&pool->not_full, NULL) != 0) {
        pool_free(pool); /* (what was initialised needs no destroy) */
        errno = ENOMEM;
        return NULL;
    }
    for (int i = 0; i < threads; i++) {
        struct worker *w = &pool->workers[i];
        *w = (struct worker){.pool = pool, .id = i + 1};
        int err = pthread_create(&w->thread, NULL, worker_main, w);
        if (err != 0) {
            /* The workers that started wait on the pool for ever
             * (step 4 can stop them): the caller exits. */
            errno = err;
            return NULL;
        }
    }
    return pool;
}
