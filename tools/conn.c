/*
 * conn.c - non-blocking connections to the server: connect() returns
 * at once, and poll() says when the connection is made.
 *
 * Layer 1 of the timeline client (a leaf).
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int conn_open(const struct sockaddr_in *addr, bool *connected)
{
    const struct sockaddr *sa = (const struct sockaddr *)addr;

    *connected = false;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (set_nonblocking(fd) == 0) {
        if (connect(fd, sa, sizeof *addr) == 0) {
            *connected = true;
            return fd;
        }
        if (errno == EINPROGRESS || errno == EINTR)
            return fd;
    }
    int saved = errno; /* close() may change errno */
    close(fd);
    errno = saved;
    return -1;
}

int conn_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

bool conn_made(int fd)
{
    return conn_result(fd) == 0;
}
