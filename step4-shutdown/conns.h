/*
 * conns.h - the open connections: who they are, and how each ended.
 *
 * Every connection the server accepts goes on one list, under one
 * lock, until it ends; so a stop can cut those still open when the
 * grace period is over, and count every one as served or cut.
 */
#ifndef CONNS_H
#define CONNS_H

#include <stdbool.h>

/* One open connection. conns_add() makes it, conns_forget() closes fd
 * and frees it: from conns_add() on, the list owns fd, and the code
 * that serves the connection never closes it. */
struct conn {
    int fd;
    void *data;               /* the step's; conns never reads it */
    bool running;             /* guarded by the list's lock */
    bool cut;                 /* guarded by the list's lock */
    struct conn *prev, *next; /* guarded by the list's lock */
};

struct conns;

/* An empty list, or NULL with errno set. */
struct conns *conns_create(void);

/* Puts the accepted connection fd on the list and counts it accepted.
 * Returns it, or NULL with errno set (out of memory): then fd is still
 * the caller's, to close. Taking no descriptor, this works even when
 * the process has none left. */
struct conn *conns_add(struct conns *cs, int fd, void *data);

/* Takes c off the list, counts how it ended (status: what http_serve()
 * or http_respond() returned, > 0 when the whole response was
 * written), then closes c->fd and frees c. */
void conns_forget(struct conns *cs, struct conn *c, int status);

/* A worker begins to serve c: it counts as running, no longer as
 * waiting. */
void conns_begin(struct conns *cs, struct conn *c);

/* How many connections are open, and how many of those a worker
 * serves; the others wait for one. */
void conns_counts(struct conns *cs, int *open, int *running);

/* The grace period is over: shuts down every connection still on the
 * list, which wakes whoever reads or writes it, and marks it cut. */
void conns_cut(struct conns *cs);

/* Writes the stop line to stderr: "stopped: accepted A, served S,
 * cut C (G by the grace period, O by the client or a deadline)". */
void conns_report(struct conns *cs);

/* Frees the list, which must be empty: every conns_add() has had its
 * conns_forget(). */
void conns_destroy(struct conns *cs);

#endif
