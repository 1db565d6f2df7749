/* INTERIM: replaced by layout4's conns.c at the merge. */
#include "conns.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

struct conns {
    pthread_mutex_t lock;
    struct conn *open;
    long accepted, served, cut_by_grace, cut_other;
};

struct conns *conns_create(void)
{
    struct conns *cs = calloc(1, sizeof *cs);
    if (cs != NULL)
        pthread_mutex_init(&cs->lock, NULL);
    return cs;
}

void conns_add(struct conns *cs, struct conn *c)
{
    pthread_mutex_lock(&cs->lock);
    c->next = cs->open;
    c->prev = NULL;
    if (cs->open != NULL)
        cs->open->prev = c;
    cs->open = c;
    cs->accepted++;
    pthread_mutex_unlock(&cs->lock);
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
    if (status > 0)
        cs->served++;
    else if (c->cut)
        cs->cut_by_grace++;
    else
        cs->cut_other++;
    pthread_mutex_unlock(&cs->lock);
}

void conns_cut(struct conns *cs)
{
    pthread_mutex_lock(&cs->lock);
    for (struct conn *c = cs->open; c != NULL; c = c->next) {
        (void)shutdown(c->fd, SHUT_RDWR);
        c->cut = true;
    }
    pthread_mutex_unlock(&cs->lock);
}

void conns_report(struct conns *s)
{
    fprintf(stderr,
            "stopped: accepted %ld, served %ld, cut %ld (%ld by the "
            "grace period, %ld by the client or a deadline)\n",
            s->accepted, s->served, s->cut_by_grace + s->cut_other,
            s->cut_by_grace, s->cut_other);
}

void conns_destroy(struct conns *cs)
{
    pthread_mutex_destroy(&cs->lock);
    free(cs);
}
