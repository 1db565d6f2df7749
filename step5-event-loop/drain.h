/*
 * drain.h - the graceful stop, in order: refuse new connections, serve
 * every one already accepted, cut what is still open when the grace
 * period ends, join the workers, free everything.
 */
#ifndef DRAIN_H
#define DRAIN_H

#include "conns.h"
#include "loop.h"
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
    struct loop *loop;   /* the connections still sending a request */
    int deadline_ms;     /* -T, in milliseconds */
    int grace_ms;        /* -G, in milliseconds */
};

/* Makes listen_fd non-blocking, and starts the server's parts, then
 * its signal thread. Returns 0, or -1 after saying why, releasing
 * what it had made and closing listen_fd. */
int drain_start(struct server *s, int listen_fd,
                const struct server_options *opt);

/* Ends the stop, once the loop has handed over or ended every
 * connection it held: waits for the workers to finish the queue, joins
 * every thread, writes the stop line and frees everything. Returns the
 * exit status for main. */
int drain(struct server *s);

#endif
