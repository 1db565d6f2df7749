/*
 * drain.c - the graceful stop, in order.
 *
 * A signal only asks (stop.c); this file says what the stop does in
 * this step, and starts and frees what it needs. The listening socket
 * closes first, so new clients are refused at once instead of waiting
 * in a backlog nobody reads. Every connection already accepted is
 * then served, and when the grace period (-G) is over, what is still
 * open is cut (conns.c). Last, the workers are joined and everything
 * is freed, so the stop line counts every connection exactly once.
 */
#include "drain.h"

#include "config.h"
#include "http.h"
#include "io.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* drain_start()'s parts, released in reverse order on a failure.
 * Returns 0, or -1 after saying why. */
static int start_parts(struct server *s, int threads)
{
    struct stop_hooks hooks = {
        .stop = stop_pool, .cut = cut_conns, .arg = s};
    const char *what = "fcntl";
    int err; /* an error number, kept: cleaning up may change errno */

    /* accept() must never block: its thread must see the stop too. */
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

int drain_start(struct server *s, int listen_fd,
                const struct server_options *opt)
{
    *s = (struct server){.listen_fd = listen_fd,
                         .deadline_ms = opt->deadline_s * 1000,
                         .grace_ms = opt->grace_s * 1000};
    if (start_parts(s, opt->threads) == 0)
        return 0;
    close(listen_fd);
    return -1;
}

int drain(struct server *s)
{
    int open, running;

    close(s->listen_fd);
    stop_grace_begin(s->stop, io_now_ms() + s->grace_ms);
    conns_counts(s->conns, &open, &running); /* held waits, too */
    fprintf(stderr, "shutting down: %d running, %d queued\n", running,
            open - running);
    if (s->held != NULL)
        conns_forget(s->conns, s->held,
                     http_serve(s->held->fd, "main", s->deadline_ms));
    pool_destroy(s->pool); /* runs the queue dry, joins the workers */
    stop_grace_end(s->stop);
    stop_close(s->stop); /* joins the signal thread */
    /* Only main is left: no other thread can write to stderr now. */
    conns_report(s->conns);
    conns_destroy(s->conns);
    return 0;
}
