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
#include <stdbool.h>
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
    bool stopping;            /* guarded by lock: finish up and leave */
    struct worker *workers;   /* the threads, and their numbers */
    int threads;              /* how many */
};

/* Every worker runs this loop: wait for a job, take it out of the
 * ring, unlock, run it. The job runs without the lock held, or only
 * one worker at a time could work. It ends once the pool stops and
 * the ring is empty. */
static void *worker_main(void *arg)
{
    struct worker *self = arg;
    struct pool *pool = self->pool;

    for (;;) {
        pthread_mutex_lock(&pool->lock);
        /* A while, not an if: wake-ups can be spurious. */
        while (pool->count == 0 && !pool->stopping)
            pthread_cond_wait(&pool->not_empty, &pool->lock);
        if (pool->count == 0) { /* stopping, and nothing left to do */
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        struct job job = pool->ring[pool->head];
        pool->head = (pool->head + 1) % pool->capacity;
        pool->count--;
        pthread_cond_signal(&pool->not_full);
        pthread_mutex_unlock(&pool->lock);

        job.fn(job.arg, self->id);
    }
}

/* Puts job at the tail of the ring, which has room, and wakes a
 * worker. Returns 0, or -1 with errno ECANCELED if the pool is
 * stopping. The caller holds pool->lock. */
static int enqueue(struct pool *pool, struct job job)
{
    if (pool->stopping) {
        errno = ECANCELED;
        return -1;
    }
    int tail = (pool->head + pool->count) % pool->capacity;
    pool->ring[tail] = job;
    pool->count++;
    pthread_cond_signal(&pool->not_empty);
    return 0;
}

int pool_submit(struct pool *pool, void (*fn)(void *arg, int worker),
                void *arg)
{
    pthread_mutex_lock(&pool->lock);
    /* Backpressure: a full ring makes the caller wait, not grow. */
    while (pool->count == pool->capacity && !pool->stopping)
        pthread_cond_wait(&pool->not_full, &pool->lock);
    int r = enqueue(pool, (struct job){.fn = fn, .arg = arg});
    pthread_mutex_unlock(&pool->lock);
    return r;
}

void pool_stop(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    /* Everyone who waits must look again: idle workers, to leave, and
     * a pool_submit() waiting for space, to give up. */
    pthread_cond_broadcast(&pool->not_empty);
    pthread_cond_broadcast(&pool->not_full);
    pthread_mutex_unlock(&pool->lock);
}

/* Frees a pool that no worker uses. */
static void pool_free(struct pool *pool)
{
    free(pool->ring);
    free(pool->workers);
    free(pool);
}

void pool_destroy(struct pool *pool)
{
    pool_stop(pool);
    for (int i = 0; i < pool->threads; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->not_full);
    pthread_cond_destroy(&pool->not_empty);
    pthread_mutex_destroy(&pool->lock);
    pool_free(pool);
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
            pool->threads = i; /* stop and join those that started */
            pool_destroy(pool);
            errno = err;
            return NULL;
        }
    }
    return pool;
}
