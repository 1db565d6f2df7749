/*
 * server.c - step 4: a thread pool that stops cleanly.
 *
 * The accept loop puts each connection in a bounded queue as a job;
 * -t workers, started once, take jobs from it. New: SIGINT or SIGTERM
 * stops the server gracefully (stop.c). The listening socket closes
 * first, every connection already accepted is served, the workers are
 * joined and everything is freed; when the grace period (-G) is over,
 * what is still open is cut (conns.c lists it). Every request has a
 * deadline (-T): a client that sends it too slowly loses its worker
 * after -T seconds, one that stops reading the response after a few.
 */
#include "server.h"

#include "config.h"
#include "conns.h"
#include "http.h"
#include "io.h"
#include "net.h"
#include "pool.h"
#include "stop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* What the accept loop, the workers and the stop's threads share. Set
 * before the threads start, and only read afterwards. */
struct server {
    int listen_fd;       /* closed first when stopping */
    struct stop *stop;   /* the signals and the grace timer */
    struct conns *conns; /* every connection accepted, until closed */
    struct pool *pool;   /* the workers and their queue */
    int deadline_ms;     /* -T, in milliseconds */
    int grace_ms;        /* -G, in milliseconds */
};

/* Gets an accepted socket ready for http_serve(). Returns fd, or -1
 * after closing it. */
static int prepare_client(const struct server *s, int fd)
{
    struct timeval send_timeout = {.tv_sec = s->deadline_ms / 1000};

    /* On BSD and macOS a socket inherits O_NONBLOCK from the listening
     * socket (not on Linux); the HTTP layer wants a blocking one. */
    if (net_set_nonblocking(fd, false) < 0 ||
        /* A write that makes no progress for -T seconds fails: a
         * client that stops reading loses its worker after about 3T
         * (each partial write restarts the timer). One that reads a
         * little now and then keeps it; the grace period (-G) still
         * bounds the stop. */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
                   sizeof send_timeout) < 0) {
        fprintf(stderr, "server: preparing a connection: %s\n",
                strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* accept_client() returns this once the server should stop. */
enum { ACCEPT_STOP = -2 };

/* Takes the next connection. Returns its descriptor, -1 when there
 * was none to take and the caller should simply call again, or
 * ACCEPT_STOP once a signal has asked the server to stop. */
static int accept_client(struct server *s)
{
    static long long last_report;

    /* The listening socket is non-blocking: when no connection waits,
     * this thread waits in stop_wait() for one or for the stop; a
     * thread blocked in accept() could not be woken. (While
     * connections keep coming, the stop arrives through pool_submit()
     * instead.) */
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd >= 0)
        return prepare_client(s, fd);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        stop_wait(s->stop, s->listen_fd, -1);
        return stop_requested(s->stop) ? ACCEPT_STOP : -1;
    }
    if (errno == EINTR || errno == ECONNABORTED)
        return -1; /* ECONNABORTED: the client gave up; next */
    /* Usually EMFILE or ENFILE: no descriptor left for a new socket.
     * The connection stays in the backlog, so calling accept() again
     * at once would fail again at once, spinning at 100% CPU. Report
     * it at most once a second and wait a little instead. */
    if (io_now_ms() - last_report >= 1000) {
        fprintf(stderr, "server: accept: %s (retrying every %d ms)\n",
                strerror(errno), ACCEPT_BACKOFF_MS);
        last_report = io_now_ms();
    }
    stop_wait(s->stop, -1, ACCEPT_BACKOFF_MS);
    return stop_requested(s->stop) ? ACCEPT_STOP : -1;
}

/* Serves c and forgets it, which closes c->fd. A connection cut at the
 * end of the grace period, running or still queued, ends at once in
 * http_serve(). */
static void serve(struct server *s, struct conn *c, const char *who)
{
    int status = http_serve(c->fd, who, s->deadline_ms);

    conns_forget(s->conns, c, status);
}

/* A job for the pool. It owns c, and c->data is the server. */
static void conn_job(void *arg, int worker)
{
    struct conn *c = arg;
    char who[32];

    snprintf(who, sizeof who, "worker %d", worker);
    serve(c->data, c, who);
}

/* Tracks the connection fd and queues it as a job, waiting while the
 * queue is full. From here on the list owns fd. Returns NULL; or, when
 * the pool has stopped, the connection, still to be served by the
 * caller. */
static struct conn *dispatch(struct server *s, int fd)
{
    struct conn *c = conns_add(s->conns, fd, s);

    if (c == NULL) {
        fprintf(stderr,
                "server: out of memory, dropping a connection\n");
        close(fd);
        return NULL;
    }
    return pool_submit(s->pool, conn_job, c) == 0 ? NULL : c;
}

/* What a stop does in this step, on the signal thread: the pool takes
 * no more jobs, which wakes an accept loop waiting for room. */
static void stop_pool(void *arg)
{
    struct server *s = arg;

    pool_stop(s->pool);
}

/* What the end of the grace period cuts: every open connection. */
static void cut_conns(void *arg)
{
    struct server *s = arg;

    conns_cut(s->conns);
}

/* Starts what the accept loop needs: the stop, the list, the pool and
 * the signal thread. Returns 0, or -1 after reporting the failure and
 * releasing what it had acquired. */
static int server_start(struct server *s, int threads)
{
    struct stop_hooks hooks = {
        .stop = stop_pool, .cut = cut_conns, .arg = s};
    const char *what = "fcntl";
    int err; /* an error number, kept: cleaning up may change errno */

    /* accept() must never block: see accept_client(). */
    if (net_set_nonblocking(s->listen_fd, true) < 0 ||
        (s->stop = stop_open(hooks, &what)) == NULL) {
        err = errno;
        goto fail;
    }
    what = "setting up the connection list";
    if ((s->conns = conns_create()) == NULL) {
        err = errno;
        goto fail_stop;
    }
    what = "starting the workers";
    if ((s->pool = pool_create(threads, QUEUE_CAPACITY)) == NULL) {
        err = errno;
        goto fail_conns;
    }
    what = "starting the signal thread";
    if ((err = stop_watch_signals(s->stop)) == 0)
        return 0;
    pool_destroy(s->pool);
fail_conns:
    conns_destroy(s->conns);
fail_stop:
    stop_close(s->stop);
fail:
    fprintf(stderr, "server: %s: %s\n", what, strerror(err));
    return -1;
}

/* The stop: refuse new connections first, then finish every one
 * already accepted, cutting those still open when the grace period
 * is over. */
static void drain(struct server *s, struct conn *held)
{
    int running, queued;

    close(s->listen_fd);
    stop_grace_begin(s->stop, io_now_ms() + s->grace_ms);
    pool_counts(s->pool, &running, &queued);
    fprintf(stderr, "shutting down: %d running, %d queued\n", running,
            queued + (held != NULL));
    if (held != NULL)
        serve(s, held, "main");
    pool_destroy(s->pool); /* runs the queue dry, joins the workers */
    stop_grace_end(s->stop);
}

int server_run(int listen_fd, const struct server_options *opt)
{
    struct server s = {.listen_fd = listen_fd,
                       .deadline_ms = opt->deadline_s * 1000,
                       .grace_ms = opt->grace_s * 1000};
    struct conn *held = NULL; /* accepted, but the pool had stopped */

    if (server_start(&s, opt->threads) < 0) {
        close(listen_fd);
        return 1;
    }
    while (held == NULL) {
        int fd = accept_client(&s);
        if (fd == ACCEPT_STOP)
            break;
        if (fd >= 0)
            held = dispatch(&s, fd);
    }
    drain(&s, held);
    stop_close(s.stop); /* joins the signal thread */
    /* Only main is left: no other thread can write to stderr now. */
    conns_report(s.conns);
    conns_destroy(s.conns);
    return 0;
}
