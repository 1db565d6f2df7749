/*
 * server.c - step 3: a pool of worker threads.
 *
 * The accept loop puts each connection in a bounded queue as a job;
 * -t workers, started once, take jobs from it. At most -t requests run
 * at once, however many connections arrive, and when the queue is full
 * the accept loop waits. What remains wrong: the workers run for ever,
 * Ctrl-C kills requests mid-flight, and an idle client holds a worker.
 */
#include "server.h"

#include "config.h"
#include "http.h"
#include "io.h"
#include "net.h"
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Takes the next connection. Returns its descriptor, or -1 when there
 * was none to take and the caller should simply call again. */
static int accept_client(int listen_fd)
{
    int fd = net_accept(listen_fd);

    if (fd < 0 && errno != EINTR)
        io_sleep_ms(ACCEPT_BACKOFF_MS); /* no descriptor left */
    return fd;
}

/* The argument of a job: the connection to serve. */
struct conn {
    int fd;
};

/* A job for the pool. It owns c and c->fd. */
static void conn_job(void *arg, int worker)
{
    struct conn *c = arg;
    char who[32];

    snprintf(who, sizeof who, "worker %d", worker);
    http_serve(c->fd, who, 0);
    close(c->fd);
    free(c);
}

/* Queues the connection fd as a job, waiting while the queue is full.
 * From here on the job owns fd. */
static void dispatch(struct pool *pool, int fd)
{
    struct conn *c = malloc(sizeof *c);

    if (c == NULL) {
        perror("server: taking a connection");
        close(fd);
        return;
    }
    c->fd = fd;
    pool_submit(pool, conn_job, c);
}

int server_run(int listen_fd, const struct server_options *opt)
{
    struct pool *pool = pool_create(opt->threads, QUEUE_CAPACITY);

    if (pool == NULL) {
        fprintf(stderr, "server: cannot start %d workers: %s\n",
                opt->threads, strerror(errno));
        return 1;
    }
    for (;;) {
        int fd = accept_client(listen_fd);
        if (fd >= 0)
            dispatch(pool, fd);
    }
}
