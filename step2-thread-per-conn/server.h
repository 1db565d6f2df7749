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
};

/* Accepts connections on listen_fd and serves them. Returns the exit
 * status for main, if it returns at all. */
int server_run(int listen_fd, const struct server_options *opt);

#endif
