/*
 * stream_types.h - what the stream mode (--every, --trickle, --hold)
 * records: the requests of the stream, the tricklers, the held
 * connections.
 *
 * Layer 1 of the timeline client (a leaf: types only). The stream
 * mode's files, stream.c, hold.c, figures.c, stream_draw.c and
 * stream_main.c, share them. Times are µs since the run started.
 */
#ifndef STREAM_TYPES_H
#define STREAM_TYPES_H

#include "timeline.h"

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#define TRICKLE_MS 500 /* a trickler sends one byte this often */

/* One GET / of the stream. Times are µs since the run started. */
struct call {
    int fd; /* owned by the stream loop; -1 before and after */
    bool connected;
    size_t sent;
    char head[16]; /* the status line's start */
    size_t head_len;
    int status;
    enum outcome outcome;
    long long start, end; /* connect() called; answer complete */
};

/* A slowloris client; it comes back each time it is thrown out. */
struct trickler {
    int fd; /* owned by the stream loop; -1 between connections */
    bool connected;
    long long next_send;
    size_t sent; /* bytes of this connection's head sent */
};

struct stream {
    char host[64];
    int port;
    const char *title;
    long every_ms, for_s, trickle, hold;
    bool trickle_body; /* --trickle-body: the head whole, then a body */
    long long patience; /* -d, in µs */
    struct sockaddr_in addr;
    char text[128]; /* the GET / request */
    size_t text_len;
    struct call *calls;
    int count; /* calls: for_s * 1000 / every_ms */
    struct trickler *tr;
    int *held; /* hold descriptors, -1 when not open */
    long held_open, held_closed; /* held connections; the server
                                    closed this many by the end */
    long long hold_ms;           /* opening them took this long */
    long reopened;               /* tricklers thrown out, reopened */
    struct pollfd *pfd;
    int *who; /* pfd[i] is calls[who[i]], or trickler -1 - who[i] */
};

#endif
