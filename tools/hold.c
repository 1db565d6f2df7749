/*
 * hold.c - the stream mode's held connections (--hold N): opened
 * before the stream starts, they send nothing at all.
 *
 * A connection is open for the client as soon as it sits in the
 * server's backlog, which holds only 128, and the kernel drops a
 * connect() while it is full (and tries again only a second later).
 * So at most HOLD_AT_ONCE connect at once, and one unanswered after
 * HOLD_RETRY_MS is closed and opened anew: the backlog is full again
 * as soon as the server has emptied it, and a server that accepts many
 * at a time can. Opening stops when all are open or none opened for
 * HOLD_STALL_MS.
 *
 * Layer 2 of the timeline client (measuring).
 */
#include "hold.h"
#include "clock.h"
#include "conn.h"

#include <errno.h>
#include <unistd.h>

#define HOLD_AT_ONCE 128 /* held connections connecting at once */
#define HOLD_RETRY_MS                                                  \
    20                      /* a connect() unanswered after this met a \
                               full backlog: give up on it, open anew */
#define HOLD_STALL_MS 3000  /* stop opening after this without one */
#define HOLD_LIMIT_MS 60000 /* opening the held ones takes at most */

/* Connections being opened for holding. */
struct opening {
    struct pollfd pfd[HOLD_AT_ONCE];
    long long since[HOLD_AT_ONCE]; /* connect() called */
    int n;
};

/* Takes k out of the set: the last one takes its place. */
static void forget_opening(struct opening *o, int k)
{
    o->n--;
    o->pfd[k] = o->pfd[o->n];
    o->since[k] = o->since[o->n];
}

/* The connections that connected are held; one that failed, or met a
 * full backlog (unanswered after HOLD_RETRY_MS), is closed. */
static void check_opening(struct stream *s, struct opening *o,
                          long long *progress)
{
    long long t = clock_now();

    for (int k = o->n - 1; k >= 0; k--) {
        if (o->pfd[k].revents != 0 && conn_made(o->pfd[k].fd)) {
            s->held[s->held_open++] = o->pfd[k].fd;
            *progress = t;
            forget_opening(o, k);
        } else if (o->pfd[k].revents != 0 ||
                   t - o->since[k] >= HOLD_RETRY_MS * 1000LL) {
            close(o->pfd[k].fd);
            forget_opening(o, k);
        }
    }
}

void hold_open(struct stream *s)
{
    static struct opening o;
    long want = s->hold;
    long long start = clock_now(), progress = start;

    o.n = 0;
    while (s->held_open < want &&
           clock_now() - progress < HOLD_STALL_MS * 1000LL &&
           clock_now() - start < HOLD_LIMIT_MS * 1000LL) {
        while (o.n < HOLD_AT_ONCE && s->held_open + o.n < want) {
            bool connected;
            int fd = conn_open(&s->addr, &connected);
            if (fd < 0) { /* out of descriptors: keep what we have */
                want = s->held_open + o.n;
                break;
            }
            if (connected) {
                s->held[s->held_open++] = fd;
                continue;
            }
            o.since[o.n] = clock_now();
            o.pfd[o.n++] = (struct pollfd){.fd = fd, .events = POLLOUT};
        }
        if (poll(o.pfd, (nfds_t)o.n, 5) < 0 && errno != EINTR)
            break;
        check_opening(s, &o, &progress);
    }
    while (o.n > 0) { /* never let in: give up */
        close(o.pfd[o.n - 1].fd);
        o.n--;
    }
    s->hold_ms = (clock_now() - start) / 1000;
}

void hold_release(struct stream *s)
{
    for (long i = 0; i < s->hold; i++) {
        if (s->held[i] < 0)
            continue;
        struct pollfd p = {.fd = s->held[i], .events = POLLIN};
        char byte;
        if (poll(&p, 1, 0) > 0 && read(s->held[i], &byte, 1) <= 0)
            s->held_closed++;
        close(s->held[i]);
    }
}
