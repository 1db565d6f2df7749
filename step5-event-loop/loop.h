/*
 * loop.h - the event loop: one thread holds every connection that is
 * still sending its request; the pool gets those that have one.
 */
#ifndef LOOP_H
#define LOOP_H

#include "conns.h"
#include "pool.h"
#include "stop.h"

struct loop;

/* Makes a loop over listen_fd, non-blocking, which it closes when the
 * stop begins; then it starts stop's grace timer (grace_ms). It holds
 * at most max_conns connections, each on open from accept() on, gives
 * each deadline_ms from accept() to send its request, head and body
 * (step 4 counts from when a worker takes it), and hands those
 * read whole (or refused) to pool. Returns NULL with errno set. */
struct loop *loop_create(int listen_fd, struct pool *pool,
                         struct conns *open, struct stop *stop,
                         int deadline_ms, int grace_ms, int max_conns);

/* Runs the loop on the calling thread: until loop_stop(), and then
 * until every connection it holds has gone to the pool or ended. */
void loop_run(struct loop *loop);

/* The stop hook: the loop stops accepting. Any thread may call it. */
void loop_stop(void *loop);

/* Frees the loop, once loop_run() has returned and the pool is gone. */
void loop_destroy(struct loop *loop);

#endif
