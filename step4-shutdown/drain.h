/*
 * drain.h - the graceful stop, in order: refuse new connections, serve
 * every one already accepted, cut what is still open when the grace
 * period ends, join the workers, free everything.
 */
#ifndef DRAIN_H
#define DRAIN_H

#include "conns.h"
#include "pool.h"
#include "server.h"
#include "stop.h"

/* What the server's threads share. Set by drain_start() before they
 * start, and only read afterwards. */
struct server {
    int listen_fd;       /* closed first when stopping */
    struct stop *stop;   /* the signals and the grace timer */
    struct conns *conns; /* every connection accepted, until closed */
    struct pool *pool;   /* the workers and their queue */
    int deadline_ms;     /* -T, in milliseconds */
    int grace_ms;        /* -G, in milliseconds */
    struct conn *held;   /* main thread only: the pool refused it */
};

/* Makes listen_fd non-blocking, and starts the server's parts, then
 * its signal thread. Returns 0, or -1 after saying why, releasing
 * what it had made and closing listen_fd. */
int drain_start(struct server *s, int listen_fd,
                const struct server_options *opt);

/* Stops the server, once the accept loop has ended: closes the
 * listener, starts the grace timer, serves s->held on this thread,
 * waits for the workers to finish the queue, joins every thread,
 * writes the stop line and frees everything. Returns the exit status
 * for main. */
int drain(struct server *s);

#endif
