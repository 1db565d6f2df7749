/*
 * timeline.h - what the timeline client records about each request.
 *
 * timeline.c reads the command line and picks the requests, fire.c
 * sends them and times them, summary.c sums them up, draw.c draws what
 * fire.c recorded. All times are microseconds since the run started;
 * a moment that never came is NEVER.
 *
 * Layer 1 of the timeline client (a leaf: types only).
 */
#ifndef TIMELINE_H
#define TIMELINE_H

#include <stdbool.h>
#include <stdio.h>

#define REQUESTS_MAX 64       /* connections one run may open */
#define PATH_MAX_BYTES 256    /* longest path on the command line */
#define REQUEST_MAX_BYTES 512 /* the request text sent for one path */
#define NEVER (-1LL)          /* a moment that did not happen */

/* How a connection ended. */
enum outcome {
    OUTCOME_PENDING,       /* still running (only while firing) */
    OUTCOME_ANSWERED,      /* a response, then the server closed */
    OUTCOME_NO_CONNECTION, /* connect() failed */
    OUTCOME_CUT_OFF,       /* closed or reset before a response */
    OUTCOME_NO_ANSWER,     /* still waiting when the deadline came */
    OUTCOME_IDLE_CLOSED,   /* idle connection: the server closed it */
    OUTCOME_IDLE_DROPPED,  /* idle connection: we gave up and closed */
};

/* One connection and the request it carries. */
struct request {
    const char *path;  /* NULL: a connection that never sends */
    long long send_at; /* when to send, after all have connected */
    int fd;            /* owned by fire(); -1 when closed */
    char text[REQUEST_MAX_BYTES]; /* what is sent */
    size_t text_len, text_sent;
    char head[16]; /* first bytes of the response: the status */
    size_t head_len;
    int status; /* the response's status code; 0 if none */
    enum outcome outcome;
    long long connected, sent, first_byte, finished; /* or NEVER */
};

/* A run: the requests, where they go and how long to wait for them. */
struct run {
    const char *name;  /* scenario name, or "paths" */
    const char *title; /* --title, or NULL */
    char host[64];     /* numeric IPv4 loopback address */
    int port;
    struct request req[REQUESTS_MAX];
    int count;
    long long deadline; /* give up on every request after this */
    long long idle_for; /* close a connection that never sends */
    long long scale;    /* the time axis spans at least this */
    long long end;      /* when firing stopped */
};

/* Figures over the requests of a run; idle connections apart. */
struct summary {
    int requests, answered, failed; /* failed: status >= 400 */
    long long makespan;     /* first send to last finish; NEVER if any
                               request was not answered */
    long long median, max;  /* of each request's total; NEVER when
                               it falls on an unanswered request */
    int idle, idle_closed;  /* idle connections; closed by the server */
    long long idle_longest; /* the longest one stayed open */
};

#endif
