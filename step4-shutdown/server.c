/*
 * server.c - step 4: a thread pool that stops cleanly.
 *
 * The accept loop puts each connection in a bounded queue as a job;
 * -t workers, started once, take jobs from it. At most -t requests run
 * at once, however many connections arrive, and when the queue is full
 * the accept loop waits. New: SIGINT or SIGTERM ends the accept loop
 * (stop.c), and the server then stops in order (drain.c): what was
 * accepted is served, within a grace period (-G). Every request has a
 * deadline (-T), and every connection is on a list (conns.c).
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

/* accept_client() returns this once the server should stop. */
enum { ACCEPT_STOP = -2 };

/* Takes the next connection. Returns its descriptor, -1 when there
 * was none to take and the caller should simply call again, or
 * ACCEPT_STOP once a signal has asked the server to stop. */
static int accept_client(struct server *s)
{
    int fd = net_accept(s->listen_fd);

    if (fd >= 0)
        return fd;
    /* The listener is non-blocking: this thread waits in stop_wait(),
     * for a connection or for the stop. A thread blocked in accept()
     * could not be woken. */
    if (errno == EAGAIN)
        stop_wait(s->stop, s->listen_fd, -1);
    else if (errno != EINTR) /* no descriptor left */
        stop_wait(s->stop, -1, ACCEPT_BACKOFF_MS);
    return stop_requested(s->stop) ? ACCEPT_STOP : -1;
}

/* A job for the pool. It owns c, and c->data is the server. */
static void conn_job(void *arg, int worker)
{
    struct conn *c = arg;
    struct server *s = c->data;
    char who[32];

    snprintf(who, sizeof who, "worker %d", worker);
    conns_forget(s->conns, c, http_serve(c->fd, who, s->deadline_ms));
}

/* Tracks the connection fd and queues it as a job, waiting while the
 * queue is full. From here on the list owns fd. Returns NULL; or, if
 * the pool has stopped, the connection, for drain() to serve. */
static struct conn *dispatch(struct server *s, int fd)
{
    struct conn *c = NULL;

    /* Blocking, as http_serve() wants (the BSDs pass the listener's
     * O_NONBLOCK on), and a write that makes no progress for -T fails:
     * a client that stops reading loses its worker after about 3T. */
    if (net_set_nonblocking(fd, false) < 0 ||
        net_set_send_timeout(fd, s->deadline_ms) < 0 ||
        (c = conns_add(s->conns, fd, s)) == NULL) {
        perror("server: taking a connection");
        close(fd);
        return NULL;
    }
    return pool_submit(s->pool, conn_job, c) == 0 ? NULL : c;
}

int server_run(int listen_fd, const struct server_options *opt)
{
    struct server s;
    struct conn *held = NULL; /* accepted after the pool stopped */

    if (drain_start(&s, listen_fd, opt) < 0)
        return 1;
    while (held == NULL) {
        int fd = accept_client(&s);
        if (fd == ACCEPT_STOP)
            break;
        if (fd >= 0)
            held = dispatch(&s, fd);
    }
    return drain(&s, held);
}
