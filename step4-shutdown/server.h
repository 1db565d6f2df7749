/*
 * server.h - the listening socket and the accept loop.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdbool.h>

/* What the command line chose. */
struct server_options {
    /* -p: 0 lets the kernel pick a free port */
    int port;
    /* -q: no line per request */
    bool quiet;
    /* -t: how many workers */
    int threads;
    /* -T: seconds a client has for its request */
    int deadline_s;
    /* -G: seconds the stop waits before it cuts connections */
    int grace_s;
};

/* Accepts connections on listen_fd and serves them, until a signal
 * stops the server (drain.h). Returns the exit status for main. */
int server_run(int listen_fd, const struct server_options *opt);

#endif
