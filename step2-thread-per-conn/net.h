/*
 * net.h - socket plumbing: the listening socket, taking a connection,
 * and a socket's modes.
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

/* Takes the next connection on listen_fd. Returns its descriptor, or
 * -1 with errno set:
 * - EAGAIN: none waits (only on a non-blocking listener);
 * - EINTR: call again at once (a signal came, or the client gave up
 *   first: ECONNABORTED);
 * - anything else, usually EMFILE: no descriptor is left. The
 *   connection stays in the backlog, so calling again at once would
 *   fail again at once, spinning at 100% CPU: wait ACCEPT_BACKOFF_MS
 *   first. net_accept() has said so on stderr, at most once a second.
 * Only one thread may call it. */
int net_accept(int listen_fd);

/* Makes fd non-blocking (on) or blocking (!on), leaving its other
 * flags alone. Returns 0, or -1 with errno set. */
int net_set_nonblocking(int fd, bool on);

/* Makes the connection fd ready for a worker: blocking, as
 * http_serve() wants (the BSDs pass a listener's O_NONBLOCK on), and
 * a write that makes no progress for send_timeout_ms (rounded down to
 * seconds) fails with EAGAIN: a client that stops reading loses its
 * worker after about 3 timeouts. Returns 0, or -1 with errno set. */
int net_set_blocking_timeout(int fd, int send_timeout_ms);

#endif
