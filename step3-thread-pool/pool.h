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
 * the queue is full. Returns 0. */
int pool_submit(struct pool *pool, void (*fn)(void *arg, int worker),
                void *arg);

#endif
