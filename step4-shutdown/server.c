/*
 * server.c - step 4: a thread pool that stops cleanly.
 *
 * The accept loop puts each connection in a bounded queue as a job;
 * -t workers, started once, take jobs from it. At most -t requests run
 * at once, however many connections arrive, and when the queue is full
 * the accept loop waits. New: a signal ends the accept loop (stop.c)
 * and the server stops in order (drain.c), within -G seconds, cutting
 * what is left (conns.c). Each request has -T seconds.
 */
#include "server.h"

#include "config.h"
#include "drain.h"
#include "http.h"
#include "net.h"
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* Takes the next connection. Returns its descriptor, or -1 when there
 * was none to take and the caller should simply call again. */
static int accept_client(struct server *s)
{
    int fd = net_accept(s->listen_fd);

    if (fd < 0 && errno == EAGAIN) /* wait for one, or the stop */
        stop_wait(s->stop, s->listen_fd, -1);
    else if (fd < 0 && errno != EINTR) /* no descriptor left */
        stop_wait(s->stop, -1, ACCEPT_BACKOFF_MS);
    return fd;
}

/* A job for the pool. It owns c and c->fd. */
static void conn_job(void *arg, int worker)
{
    struct conn *c = arg;
    struct server *s = c->data; /* as dispatch() gave it */
    char who[32];

    snprintf(who, sizeof who, "worker %d", worker);
    conns_begin(s->conns, c);
    conns_forget(s->conns, c, http_serve(c->fd, who, s->deadline_ms));
}

/* Queues the connection fd as a job, waiting while the queue is full.
 * From here on the list owns fd. */
static void dispatch(struct server *s, int fd)
{
    struct conn *c = NULL;

    if (net_set_blocking_timeout(fd, s->deadline_ms) < 0 ||
        (c = conns_add(s->conns, fd, s)) == NULL) {
        perror("server: taking a connection");
        close(fd);
        return;
    }
    if (pool_submit(s->pool, conn_job, c) != 0)
        s->held = c; /* the pool has stopped: drain() serves it */
}

int server_run(int listen_fd, const struct server_options *opt)
{
    struct server s;

    if (drain_start(&s, listen_fd, opt) < 0)
        return 1;
    while (s.held == NULL && !stop_requested(s.stop)) {
        int fd = accept_client(&s);
        if (fd >= 0)
            dispatch(&s, fd);
    }
    return drain(&s);
}
