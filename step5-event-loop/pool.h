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
 * pool is stopping: then the job was not queued, the caller keeps arg.
 */
int pool_submit(struct pool *pool, void (*fn)(void *arg, int worker),
                void *arg);

/* Queues fn(arg, worker) like pool_submit(), but never waits: returns
 * -1 with errno EAGAIN when the queue is full (or ECANCELED, as
 * above). For a caller that must not block, such as an event loop. */
int pool_try_submit(struct pool *pool,
                    void (*fn)(void *arg, int worker), void *arg);

/* Stops taking jobs: a pool_submit() waiting for space returns -1 at
 * once, and so does every later one. Jobs already queued still run.
 * Safe to call from any thread, more than once. */
void pool_stop(struct pool *pool);

/* How many jobs are running on a worker, and how many wait. */
void pool_counts(struct pool *pool, int *running, int *queued);

/* Stops the pool, waits until every queued and running job is done,
 * joins the workers and frees the pool. */
void pool_destroy(struct pool *pool);

#endif
