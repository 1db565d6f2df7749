/*
 * net.h - socket plumbing: the listening socket, and a descriptor's
 * blocking mode.
 *
 * The same file in every step. Like Redis's anet.c, it keeps the
 * setup calls out of the files that teach something, so that
 * server.c reads as the step's idea and nothing else.
 */
#ifndef NET_H
#define NET_H

#include <stdbool.h>

/* Opens a socket listening on 127.0.0.1:port and stores the port it
 * got in *bound_port. Returns the socket, or -1 with errno set and
 * *failed_call naming the call that failed ("bind"). */
int net_listen(int port, int *bound_port, const char **failed_call);

/* Makes fd non-blocking (on) or blocking (!on), leaving its other
 * flags alone. Returns 0, or -1 with errno set. */
int net_set_nonblocking(int fd, bool on);

#endif
