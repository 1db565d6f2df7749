/*
 * conn.h - non-blocking connections to the server.
 *
 * Layer 1 of the timeline client (a leaf). Both modes open every
 * connection non-blocking, so that no call can stall their one
 * thread: poll() is the only place where they wait.
 */
#ifndef CONN_H
#define CONN_H

#include <netinet/in.h>
#include <stdbool.h>

/* Starts connecting a non-blocking socket to addr. Returns the socket
 * (the caller owns it), or -1 with errno set. *connected: the
 * connection was made at once; else connect() is under way and
 * poll() reports the socket writable when it is done. */
int conn_open(const struct sockaddr_in *addr, bool *connected);

/* poll() said a connecting socket is ready: 0 if it connected, else
 * the reason it did not (an errno value). */
int conn_result(int fd);

/* The same as a question: did it connect? */
bool conn_made(int fd);

#endif
