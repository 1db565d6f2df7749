/*
 * client.c - connect, send, read a whole response.
 */
#include "client.h"

#include "io.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connect() interrupted by a signal goes on in the background; it
 * must not be called again, only waited for. Returns 0 or -1. */
static int finish_connect(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;

    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -1;
    errno = err;
    return err == 0 ? 0 : -1;
}

static int connect_with(int port, int rcvbuf)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    int one = 1;

    addr.sin_addr.s_addr = htonl(0x7f000001); /* 127.0.0.1 */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    /* Small writes leave at once: one-byte-at-a-time means it. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 &&
        (errno != EINTR || finish_connect(fd) < 0)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int client_connect_within(int port, int timeout_ms)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    struct pollfd p = {.events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;

    addr.sin_addr.s_addr = htonl(0x7f000001); /* 127.0.0.1 */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    int flags = fcntl(fd, F_GETFL);
    cr_assert(flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0,
              "fcntl: %s", strerror(errno));
    p.fd = fd;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        if (errno != EINPROGRESS && errno != EINTR)
            err = errno;
        else if (poll(&p, 1, timeout_ms) <= 0)
            err = ETIMEDOUT; /* (EINTR: the test has no handlers) */
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
    }
    if (err == 0 && fcntl(fd, F_SETFL, flags) < 0)
        err = errno;
    if (err != 0) {
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int client_try_connect(int port)
{
    return connect_with(port, 0);
}

int client_connect_small(int port, int rcvbuf)
{
    int fd = connect_with(port, rcvbuf);

    cr_assert(fd >= 0, "connect to 127.0.0.1:%d: %s", port,
              strerror(errno));
    return fd;
}

int client_connect(int port)
{
    int fd = client_try_connect(port);

    cr_assert(fd >= 0, "connect to 127.0.0.1:%d: %s", port,
              strerror(errno));
    return fd;
}

void client_send(int fd, const void *buf, size_t len)
{
    cr_assert(io_write_all(fd, buf, len) == 0,
              "sending %zu bytes to the server failed: %s", len,
              strerror(errno));
}

/* Splits what has arrived into head and body, once the blank line is
 * there, and reads the status and Content-Length. */
static void parse_head(struct response *r, const char *buf, size_t len)
{
    const char *end = NULL;

    for (size_t i = 0; i + 3 < len && end == NULL; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            end = buf + i + 4;
    if (end == NULL || (size_t)(end - buf) >= sizeof r->head)
        return;
    r->head_len = (size_t)(end - buf);
    memcpy(r->head, buf, r->head_len);
    r->head[r->head_len] = '\0';
    if (strncmp(r->head, "HTTP/1.1 ", 9) == 0)
        r->status = (int)strtol(r->head + 9, NULL, 10);
    const char *cl = header(r, "Content-Length");
    r->declared = cl != NULL ? strtoll(cl, NULL, 10) : -1;
}

/* Turns the bytes read (buf, malloc'd) into *r; r owns buf after. */
static void finish_response(struct response *r, char *buf, size_t len)
{
    r->done_ms = io_now_ms();
    r->received = len;
    parse_head(r, buf, len);
    r->body_len = len - r->head_len;
    memmove(buf, buf + r->head_len, r->body_len);
    r->body = buf;
}

/* One read into a growing buffer. Returns read()'s result. */
static ssize_t read_more(int fd, char **buf, size_t *len, size_t *cap,
                         long long deadline)
{
    if (*len == *cap) {
        char *bigger = realloc(*buf, *cap * 2);
        cr_assert(bigger != NULL, "out of memory");
        *buf = bigger;
        *cap *= 2;
    }
    ssize_t n = io_read(fd, *buf + *len, *cap - *len, deadline);
    if (n > 0)
        *len += (size_t)n;
    return n;
}

void read_response(int fd, struct response *r, int timeout_ms)
{
    long long deadline = io_now_ms() + timeout_ms;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);

    cr_assert(buf != NULL, "out of memory");
    *r = (struct response){.declared = -1};
    for (;;) {
        ssize_t n = read_more(fd, &buf, &len, &cap, deadline);
        if (n <= 0) {
            r->eof = n == 0;
            r->error = n < 0 ? errno : 0;
            break;
        }
    }
    finish_response(r, buf, len);
}

void http_exchange(int port, const char *request, struct response *r)
{
    int fd = client_connect(port);

    client_send(fd, request, strlen(request));
    read_response(fd, r, 10000);
    close(fd);
}

void http_get(int port, const char *path, struct response *r)
{
    char request[1024];

    snprintf(request, sizeof request,
             "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
    http_exchange(port, request, r);
}

const char *header(const struct response *r, const char *name)
{
    static char value[256];
    size_t name_len = strlen(name);
    const char *line = strstr(r->head, "\r\n");

    while (line != NULL && line[2] != '\r') {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (end != NULL && strncasecmp(line, name, name_len) == 0 &&
            line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            size_t n = (size_t)(end - v);
            if (n >= sizeof value)
                n = sizeof value - 1;
            memcpy(value, v, n);
            value[n] = '\0';
            return value;
        }
        line = end;
    }
    return NULL;
}

bool header_is(const struct response *r, const char *name,
               const char *value)
{
    const char *v = header(r, name);

    return v != NULL && strcmp(v, value) == 0;
}

bool response_complete(const struct response *r)
{
    return r->status > 0 && r->eof && r->declared >= 0 &&
           r->body_len == (size_t)r->declared;
}

void response_free(struct response *r)
{
    free(r->body);
    r->body = NULL;
}

void assert_still_serving(int port, const char *after_what)
{
    struct response r;

    http_get(port, "/", &r);
    cr_assert(r.status == 200 && r.body_len == 13 &&
                  memcmp(r.body, "Hello, World!", 13) == 0,
              "after %s, the server should still answer GET / with 200 "
              "\"Hello, World!\", but got status %d (%zu bytes, %s)",
              after_what, r.status, r.received,
              r.error ? strerror(r.error) : "then end-of-file");
    response_free(&r);
}

bool is_pattern(const char *buf, size_t len, size_t offset)
{
    static const char pattern[] = "0123456789abcde\n";

    for (size_t i = 0; i < len; i++)
        if (buf[i] != pattern[(offset + i) % 16])
            return false;
    return true;
}

void set_reset_on_close(int fd)
{
    struct linger now = {.l_onoff = 1, .l_linger = 0};

    cr_assert(setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now) ==
                  0,
              "setsockopt(SO_LINGER): %s", strerror(errno));
}

bool wait_closed(int fd, int timeout_ms, size_t *bytes_seen)
{
    char buf[4096];
    long long deadline = io_now_ms() + timeout_ms;

    *bytes_seen = 0;
    for (;;) {
        ssize_t n = io_read(fd, buf, sizeof buf, deadline);
        if (n == 0)
            return true;
        if (n < 0)
            return errno != ETIMEDOUT; /* a reset is a close too */
        *bytes_seen += (size_t)n;
    }
}

void batch_open(struct batch *b, int port, int k)
{
    cr_assert(k <= BATCH_MAX);
    *b = (struct batch){.k = k};
    for (int i = 0; i < k; i++)
        b->fd[i] = client_connect(port);
}

void batch_send_reverse(struct batch *b, const char *request)
{
    for (int i = b->k - 1; i >= 0; i--)
        client_send(b->fd[i], request, strlen(request));
}

int batch_wait(struct batch *b, int timeout_ms)
{
    long long deadline = io_now_ms() + timeout_ms;
    struct pollfd p[BATCH_MAX];
    int done = 0;

    for (;;) {
        int n = 0, map[BATCH_MAX];
        for (int i = 0; i < b->k; i++)
            if (!b->done[i]) {
                p[n] =
                    (struct pollfd){.fd = b->fd[i], .events = POLLIN};
                map[n++] = i;
            }
        long long left = deadline - io_now_ms();
        if (n == 0 || left <= 0)
            break;
        if (poll(p, (nfds_t)n, (int)left) < 0) {
            cr_assert(errno == EINTR, "poll: %s", strerror(errno));
            continue;
        }
        for (int j = 0; j < n; j++) {
            int i = map[j];
            if (p[j].revents == 0)
                continue;
            if (b->buf[i] == NULL) {
                b->cap[i] = 4096;
                b->buf[i] = malloc(b->cap[i]);
                cr_assert(b->buf[i] != NULL);
            }
            ssize_t got = read_more(b->fd[i], &b->buf[i], &b->len[i],
                                    &b->cap[i], 0);
            if (got <= 0) {
                b->r[i] =
                    (struct response){.declared = -1,
                                      .eof = got == 0,
                                      .error = got < 0 ? errno : 0};
                finish_response(&b->r[i], b->buf[i], b->len[i]);
                b->buf[i] = NULL;
                b->done[i] = true;
            }
        }
    }
    for (int i = 0; i < b->k; i++)
        done += b->done[i];
    return done;
}

long long batch_last_done(const struct batch *b)
{
    long long last = 0;

    for (int i = 0; i < b->k; i++)
        if (b->done[i] && b->r[i].done_ms > last)
            last = b->r[i].done_ms;
    return last;
}

bool batch_any_bytes(const struct batch *b)
{
    for (int i = 0; i < b->k; i++)
        if (b->len[i] > 0 || (b->done[i] && b->r[i].received > 0))
            return true;
    return false;
}

void batch_close(struct batch *b)
{
    for (int i = 0; i < b->k; i++) {
        if (b->fd[i] >= 0)
            close(b->fd[i]);
        response_free(&b->r[i]);
        free(b->buf[i]);
    }
}

void batch_expect_all_ok(const struct batch *b, const char *when)
{
    for (int i = 0; i < b->k; i++)
        cr_assert(b->done[i] && b->r[i].status == 200 &&
                      response_complete(&b->r[i]),
                  "%s: request %d of %d did not get a complete 200 "
                  "(status %d, %zu bytes)",
                  when, i + 1, b->k, b->r[i].status, b->r[i].received);
}
