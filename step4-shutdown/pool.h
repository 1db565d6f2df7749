/*
 * pool.h - a fixed set of worker threads and a bounded queue of jobs.
 *
 * A job is a function and the argument to call it with: C's version
 * of a boxed closure. The worker that runs it passes its own number,
 * so that the job can say who ran it.
 */
#ifndef POOL_H
#define POOL_H

struct pool;

/* Starts threads workers sharing a queue of capacity jobs. Returns
 * NULL with errno set if that is not possible. */
struct pool *pool_create(int threads, int capacity);

/* Queues fn(arg, worker) to run on the next free worker. Waits while
 * the queue is full. Returns 0, or -1 with errno ECANCELED once the
 * pool is stopping: the job is not queued, arg stays the caller's. */
int pool_submit(struct pool *pool, void (*fn)(void *arg, int worker),
                void *arg);

/* Stops taking jobs: pool_submit() fails from now on, even one that
 * waits for space; queued jobs still run. Idempotent, any thread. */
void pool_stop(struct pool *pool);

/* Stops the pool, waits until every queued and running job is done,
 * joins the workers and frees the pool. */
void pool_destroy(struct pool *pool);

#endif
