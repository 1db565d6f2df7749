/*
 * net.c - socket plumbing: the listening socket, taking a connection,
 * and a socket's modes.
 *
 * The same file in every step, like Redis's anet.c: each step decides
 * what to do with its sockets, this file only sets them up.
 */
#include "net.h"

#include "config.h"
#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int net_listen(int port, int *bound_port, const char **failed_call)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    socklen_t addr_len = sizeof addr;
    int one = 1;

    /* 127.0.0.1: POSIX gives it no name, and macOS hides the usual
     * one from a program that asks for POSIX only. */
    addr.sin_addr.s_addr = htonl(0x7f000001);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        *failed_call = "socket";
        return -1;
    }
    /* Lets a restarted server bind at once, while connections of the
     * previous one still linger in TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        *failed_call = "setsockopt";
    else if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        *failed_call = "bind";
    else if (listen(fd, LISTEN_BACKLOG) < 0)
        *failed_call = "listen";
    else if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) < 0)
        *failed_call = "getsockname";
    else {
        *bound_port = ntohs(addr.sin_port);
        return fd;
    }
    int saved = errno; /* close() may change errno */
    close(fd);
    errno = saved;
    return -1;
}

int net_accept(int listen_fd)
{
    static long long last_report; /* one thread accepts: see net.h */

    int fd = accept(listen_fd, NULL, NULL);
    if (fd >= 0)
        return fd;
    if (errno == EWOULDBLOCK) /* POSIX lets it differ from EAGAIN */
        errno = EAGAIN;
    if (errno == ECONNABORTED) /* the client gave up first: next */
        errno = EINTR;
    if (errno == EAGAIN || errno == EINTR)
        return -1;
    int err = errno; /* usually EMFILE or ENFILE */
    if (io_now_ms() - last_report >= 1000) {
        fprintf(stderr, "server: accept: %s (retrying every %d ms)\n",
                strerror(err), ACCEPT_BACKOFF_MS);
        last_report = io_now_ms();
    }
    errno = err;
    return -1;
}

int net_set_nonblocking(int fd, bool on)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0)
        return -1;
    int wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    if (wanted == flags)
        return 0; /* already so: no second call */
    return fcntl(fd, F_SETFL, wanted);
}

int net_set_blocking_timeout(int fd, int send_timeout_ms)
{
    struct timeval t = {.tv_sec = send_timeout_ms / 1000};

    if (net_set_nonblocking(fd, false) < 0)
        return -1;
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
}
