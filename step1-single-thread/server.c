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

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Takes the next connection. Returns its descriptor, or -1 when there
 * was none to take and the caller should simply call again. */
static int accept_client(int listen_fd)
{
    static long long last_report;

    int fd = accept(listen_fd, NULL, NULL);
    if (fd >= 0 || errno == EINTR || errno == ECONNABORTED)
        return fd; /* ECONNABORTED: the client gave up; next */
    /* Usually EMFILE or ENFILE: no descriptor left for a new socket.
     * The connection stays in the backlog, so calling accept() again
     * at once would fail again at once, spinning at 100% CPU. Report
     * it at most once a second and wait a little instead. */
    if (io_now_ms() - last_report >= 1000) {
        fprintf(stderr, "server: accept: %s (retrying every %d ms)\n",
                strerror(errno), ACCEPT_BACKOFF_MS);
        last_report = io_now_ms();
    }
    io_sleep_ms(ACCEPT_BACKOFF_MS);
    return -1;
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
