/*
 * server.c - step 1: one connection at a time.
 *
 * The accept loop takes a connection and serves it to the end before
 * it takes the next one. While http_serve() runs - sleeping in /sleep,
 * or waiting for a client that has connected but not yet sent its
 * request - nobody else is served: the other connections wait in the
 * kernel's backlog.
 */
#include "server.h"

#include "config.h"
#include "http.h"
#include "io.h"
#include "net.h"

#include <errno.h>
#include <unistd.h>

/* Takes the next connection. Returns its descriptor, or -1 when there
 * was none to take and the caller should simply call again. */
static int accept_client(int listen_fd)
{
    int fd = net_accept(listen_fd);

    if (fd < 0 && errno != EINTR)
        io_sleep_ms(ACCEPT_BACKOFF_MS); /* no descriptor left */
    return fd;
}

int server_run(int listen_fd, const struct server_options *opt)
{
    (void)opt; /* this step has no options of its own */
    for (;;) {
        int fd = accept_client(listen_fd);
        if (fd < 0)
            continue;
        http_serve(fd, "main", 0);
        close(fd); /* accepted here, so closed here */
    }
}
