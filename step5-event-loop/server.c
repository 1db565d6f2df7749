/*
 * server.c - step 5 (the epilogue): an event loop in front of the pool.
 *
 * In step 4 a worker waits for the request of each connection it
 * takes: ten clients that connect and send nothing hold ten workers.
 * Here one thread, the event loop (loop.c), does all the waiting, and
 * only a whole request, head and body, goes to the pool. What step 4
 * added stays, in the same files: SIGINT or SIGTERM stops the server
 * gracefully (stop.c), and when the grace period (-G) is over, what
 * is still open is cut (conns.c lists it), in the loop or in a
 * worker. This file wires them together.
 */
#include "server.h"

#include "config.h"
#include "conns.h"
#include "loop.h"
#include "net.h"
#include "pool.h"
#include "stop.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* What the loop, the workers and the stop's threads share. Set
 * before the threads start, and only read afterwards. */
struct server {
    int listen_fd;       /* the loop's: closed first when stopping */
    struct stop *stop;   /* the signals and the grace timer */
    struct conns *conns; /* every connection accepted, until closed */
    struct pool *pool;   /* the workers and their queue */
    struct loop *loop;   /* the connections still sending a head */
    int deadline_ms;     /* -T, in milliseconds */
    int grace_ms;        /* -G, in milliseconds */
};

/* Each connection the loop holds is a descriptor, and the soft limit
 * is often 1024. Asks for what the loop may use; refused, quietly for
 * the most it may have (the hard limit, and OPEN_MAX on macOS, which
 * refuses more), and warns only when even that is less. Returns the
 * limit it got. */
static long fd_limit(void)
{
    rlim_t want = LOOP_MAX_CONNECTIONS + LOOP_FD_SPARE, most = want;
    struct rlimit lim;

#ifdef OPEN_MAX /* macOS: poll() fails with EINVAL past it, too */
    most = want < OPEN_MAX ? want : OPEN_MAX;
#endif
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        perror("server: getrlimit(RLIMIT_NOFILE)");
        return (long)most; /* accept() will say when there are none */
    }
    rlim_t had = lim.rlim_cur; /* RLIM_INFINITY is the largest */
    lim.rlim_cur = want;
    if (had >= want || setrlimit(RLIMIT_NOFILE, &lim) == 0)
        return (long)most;
    lim.rlim_cur = lim.rlim_max < most ? lim.rlim_max : most;
    if (lim.rlim_cur <= had || setrlimit(RLIMIT_NOFILE, &lim) < 0)
        lim.rlim_cur = had;
    if (lim.rlim_cur < want)
        fprintf(stderr,
                "server: RLIMIT_NOFILE is %ld, not %ld: fewer"
                " connections will fit\n",
                (long)lim.rlim_cur, (long)want);
    return (long)lim.rlim_cur;
}

/* How many connections the loop may hold: the limit it got, minus
 * LOOP_FD_SPARE. A limit below twice that (ulimit -n 32) leaves no
 * room for spares: then all but the 2 the loop polls besides, and
 * accept() runs out of descriptors first (and backs off). Either way
 * poll() is never given more descriptors than the limit. */
static int loop_room(void)
{
    long limit = fd_limit();
    long room =
        limit >= 2 * LOOP_FD_SPARE ? limit - LOOP_FD_SPARE : limit - 2;

    return room < 1 ? 1 : (int)room;
}

/* What a stop does in this step, on the signal thread: the loop stops
 * accepting, and goes on with the connections it holds. */
static void stop_loop(void *arg)
{
    struct server *s = arg;

    loop_stop(s->loop);
}

/* What the end of the grace period cuts: every open connection. */
static void cut_conns(void *arg)
{
    struct server *s = arg;

    conns_cut(s->conns);
}

/* Starts what the loop needs: the stop, the list, the pool, the loop
 * and the signal thread. Returns 0, or -1 after reporting the failure
 * and releasing what it had acquired. */
static int server_start(struct server *s, int threads)
{
    struct stop_hooks hooks = {
        .stop = stop_loop, .cut = cut_conns, .arg = s};
    const char *what = "fcntl";
    int err; /* an error number, kept: cleaning up may change errno */

    /* accept() must never block: the loop would block with it. */
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
    what = "setting up the loop";
    if ((s->loop = loop_create(s->listen_fd, s->pool, s->conns, s->stop,
                               s->deadline_ms, s->grace_ms,
                               loop_room())) == NULL) {
        err = errno;
        goto fail_pool;
    }
    what = "starting the signal thread";
    if ((err = stop_watch_signals(s->stop)) == 0)
        return 0;
    loop_destroy(s->loop);
fail_pool:
    pool_destroy(s->pool);
fail_conns:
    conns_destroy(s->conns);
fail_stop:
    stop_close(s->stop);
fail:
    fprintf(stderr, "server: %s: %s\n", what, strerror(err));
    return -1;
}

/* The rest of the stop, once the loop has handed over or ended every
 * connection it held: finish what the pool holds, and stop the grace
 * timer that the loop started. */
static void drain(struct server *s)
{
    pool_destroy(s->pool); /* runs the queue dry, joins the workers */
    stop_grace_end(s->stop);
}

int server_run(int listen_fd, const struct server_options *opt)
{
    struct server s = {.listen_fd = listen_fd,
                       .deadline_ms = opt->deadline_s * 1000,
                       .grace_ms = opt->grace_s * 1000};

    if (server_start(&s, opt->threads) < 0) {
        close(listen_fd);
        return 1;
    }
    /* Until a signal, and then until every connection it holds has
     * gone to the pool or ended; it closes listen_fd at the signal. */
    loop_run(s.loop);
    drain(&s);
    stop_close(s.stop); /* joins the signal thread */
    loop_destroy(s.loop);
    /* Only main is left: no other thread can write to stderr now. */
    conns_report(s.conns);
    conns_destroy(s.conns);
    return 0;
}
