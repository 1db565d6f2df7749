/*
 * conns.c - the list of open connections, and how each one ended.
 *
 * A connection is on the list from accept() until its descriptor is
 * closed, which only conns_forget() does, after taking it off under
 * the lock. So the cut at the end of the grace period can shutdown()
 * each descriptor on the list under that lock, and never touch one
 * that is closed, or a number the kernel has given to another file.
 */
#include "conns.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct conns {
    pthread_mutex_t lock; /* guards the fields below, and each conn's */
    struct conn *open;    /* accepted and not closed yet */
    long accepted, served, cut_by_grace, cut_other;
    int running; /* open, and begun by a worker */
};

struct conns *conns_create(void)
{
    struct conns *cs = calloc(1, sizeof *cs);

    if (cs == NULL)
        return NULL;
    int err = pthread_mutex_init(&cs->lock, NULL);
    if (err != 0) {
        free(cs);
        errno = err;
        return NULL;
    }
    return cs;
}

struct conn *conns_add(struct conns *cs, int fd, void *data)
{
    struct conn *c = malloc(sizeof *c);

    if (c == NULL)
        return NULL;
    *c = (struct conn){.fd = fd, .data = data};
    pthread_mutex_lock(&cs->lock);
    c->next = cs->open;
    if (cs->open != NULL)
        cs->open->prev = c;
    cs->open = c;
    cs->accepted++;
    pthread_mutex_unlock(&cs->lock);
    return c;
}

void conns_forget(struct conns *cs, struct conn *c, int status)
{
    pthread_mutex_lock(&cs->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        cs->open = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->running)
        cs->running--;
    if (status > 0) /* the whole response was written */
        cs->served++;
    else if (c->cut)
        cs->cut_by_grace++;
    else /* the client left, or a deadline passed */
        cs->cut_other++;
    pthread_mutex_unlock(&cs->lock);
    close(c->fd); /* off the list: the cut can no longer reach it */
    free(c);
}

void conns_begin(struct conns *cs, struct conn *c)
{
    pthread_mutex_lock(&cs->lock);
    c->running = true;
    cs->running++;
    pthread_mutex_unlock(&cs->lock);
}

void conns_counts(struct conns *cs, int *open, int *running)
{
    pthread_mutex_lock(&cs->lock);
    *open = (int)(cs->accepted - cs->served - cs->cut_by_grace -
                  cs->cut_other);
    *running = cs->running;
    pthread_mutex_unlock(&cs->lock);
}

void conns_cut(struct conns *cs)
{
    pthread_mutex_lock(&cs->lock);
    for (struct conn *c = cs->open; c != NULL; c = c->next) {
        /* shutdown(), never close(): it wakes a read(), write() or
         * poll() blocked on the socket in another thread, and the
         * number stays ours. Its only failure, ENOTCONN, means the
         * connection is dead already. */
        (void)shutdown(c->fd, SHUT_RDWR);
        c->cut = true;
    }
    pthread_mutex_unlock(&cs->lock);
}

void conns_report(struct conns *cs)
{
    pthread_mutex_lock(&cs->lock);
    fprintf(stderr,
            "stopped: accepted %ld, served %ld, cut %ld (%ld by the "
            "grace period, %ld by the client or a deadline)\n",
            cs->accepted, cs->served, cs->cut_by_grace + cs->cut_other,
            cs->cut_by_grace, cs->cut_other);
    pthread_mutex_unlock(&cs->lock);
}

void conns_destroy(struct conns *cs)
{
    pthread_mutex_destroy(&cs->lock);
    free(cs);
}
