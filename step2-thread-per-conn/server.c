/*
 * server.c - step 2: a new thread for every connection.
 *
 * The accept loop hands each connection to a thread of its own and goes
 * straight back to accept(), so a slow request no longer blocks the
 * others. The price: nothing limits how many threads there are (a burst
 * of 500 connections makes 500 threads, each with its own stack), and
 * nobody ever waits for them to finish.
 */
#include "server.h"

#include "config.h"
#include "http.h"
#include "io.h"
#include "net.h"

#include <errno.h>
#include <pthread.h>
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

/* What a connection's thread needs: the socket and a number for the
 * log (a pthread_t is not printable). */
struct conn {
    int fd;
    unsigned long id;
};

static void *conn_thread(void *arg)
{
    struct conn *c = arg;
    char who[32];

    snprintf(who, sizeof who, "thread %lu", c->id);
    http_serve(c->fd, who, 0);
    close(c->fd);
    free(c);
    return NULL;
}

/* Starts a thread for the connection fd. From here on the thread owns
 * fd; if no thread can be started, the connection is closed here. */
static void dispatch(int fd, unsigned long id,
                     const pthread_attr_t *detached)
{
    struct conn *c = malloc(sizeof *c);
    pthread_t thread;

    if (c == NULL) {
        fprintf(stderr, "server: out of memory, dropping connection\n");
        close(fd);
        return;
    }
    *c = (struct conn){.fd = fd, .id = id};
    int err = pthread_create(&thread, detached, conn_thread, c);
    if (err != 0) {
        fprintf(stderr,
                "server: pthread_create: %s; dropping"
                " connection %lu\n",
                strerror(err), id);
        close(fd);
        free(c);
    }
}

int server_run(int listen_fd, const struct server_options *opt)
{
    pthread_attr_t detached;
    unsigned long count = 0;

    (void)opt; /* this step has no options of its own */
    /* Detached threads free their own resources when they end, since
     * nobody will pthread_join() them. That is also the problem: main
     * keeps no list of its threads, so it can neither count them, nor
     * limit them, nor wait for them before exiting. */
    if (pthread_attr_init(&detached) != 0 ||
        pthread_attr_setdetachstate(&detached,
                                    PTHREAD_CREATE_DETACHED) != 0) {
        fprintf(stderr, "server: cannot set up thread attributes\n");
        return 1;
    }
    for (;;) {
        int fd = accept_client(listen_fd);
        if (fd >= 0)
            dispatch(fd, ++count, &detached);
    }
}
