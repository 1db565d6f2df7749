/*
 * fire.c - open every connection, then send the requests and time the
 * answers, all from one thread with poll().
 *
 * One thread that watches every socket at once is what lets the client
 * see the server: a blocking read() on one connection would hide what
 * happens on the others meanwhile. Every socket is non-blocking, so no
 * call can stall the loop; poll() is the only place where it waits.
 *
 * Layer 2 of the timeline client (measuring).
 */
#include "fire.h"
#include "clock.h"
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_LIMIT_US 2000000 /* connecting takes at most 2 s */
#define ROUNDS_MAX 1000000 /* poll() rounds: a bound far above need */

/* Closes r's connection: it ended the way outcome says, now. */
static void close_request(struct request *r, enum outcome outcome)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->outcome = outcome;
    r->finished = clock_now();
}

/* poll() said r's socket is ready: did the connection succeed? */
static void finish_connect(struct request *r, int *error)
{
    int err = conn_result(r->fd);

    if (err == 0) {
        r->connected = clock_now();
        return;
    }
    *error = err;
    close_request(r, OUTCOME_NO_CONNECTION);
}

/* Collects the sockets that are still connecting into pfd. */
static int connecting(struct run *run, struct pollfd *pfd, int *who)
{
    int n = 0;

    for (int i = 0; i < run->count; i++) {
        if (run->req[i].fd >= 0 && run->req[i].connected == NEVER) {
            pfd[n] = (struct pollfd){.fd = run->req[i].fd,
                                     .events = POLLOUT};
            who[n++] = i;
        }
    }
    return n;
}

/* Opens every connection before any request is sent, so that the
 * server has them all waiting at once. Returns how many succeeded;
 * *error is the reason of the last failure. */
static int connect_all(struct run *run, const struct sockaddr_in *addr,
                       int *error)
{
    struct pollfd pfd[REQUESTS_MAX];
    int who[REQUESTS_MAX], opened = 0;
    bool connected; /* at once, or not: poll() says so either way */
    long long limit = clock_now() + CONNECT_LIMIT_US;

    for (int i = 0; i < run->count; i++) {
        run->req[i].fd = conn_open(addr, &connected);
        if (run->req[i].fd < 0) {
            *error = errno;
            close_request(&run->req[i], OUTCOME_NO_CONNECTION);
        }
    }
    for (int round = 0; round < ROUNDS_MAX && clock_now() < limit;
         round++) {
        int n = connecting(run, pfd, who);
        if (n == 0)
            break;
        if (poll(pfd, (nfds_t)n, clock_ms_until(limit)) < 0 &&
            errno != EINTR)
            break;
        for (int k = 0; k < n; k++)
            if (pfd[k].revents != 0)
                finish_connect(&run->req[who[k]], error);
    }
    for (int i = 0; i < run->count; i++) {
        struct request *r = &run->req[i];
        if (r->fd >= 0 && r->connected == NEVER) {
            *error = ETIMEDOUT;
            close_request(r, OUTCOME_NO_CONNECTION);
        }
        opened += r->connected != NEVER;
    }
    return opened;
}

/* Writes what remains of r's request. A full socket buffer shows as
 * EAGAIN: poll() then says when to go on. Each pass of the loop
 * writes at least one byte or returns. */
static void send_request(struct request *r)
{
    while (r->text_sent < r->text_len) {
        ssize_t n = write(r->fd, r->text + r->text_sent,
                          r->text_len - r->text_sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            close_request(r, OUTCOME_CUT_OFF);
            return;
        }
        r->text_sent += (size_t)n;
    }
    r->sent = clock_now();
}

/* "HTTP/1.1 200 OK": the status code, or 0 if head is not that. */
static int parse_status(const char *head, size_t len)
{
    int code = 0;

    if (len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
        return 0;
    for (int i = 9; i < 12; i++) {
        if (head[i] < '0' || head[i] > '9')
            return 0;
        code = code * 10 + (head[i] - '0');
    }
    return code;
}

/* poll() said r's socket is readable: a piece of the response, the
 * end of it (the server closes after every response), or an error. */
static void receive(struct request *r)
{
    char buf[16384];

    ssize_t n = read(r->fd, buf, sizeof buf);
    if (n < 0 &&
        (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return; /* nothing after all; poll() will tell again */
    if (n > 0) {
        size_t keep = sizeof r->head - r->head_len;
        if (r->first_byte == NEVER)
            r->first_byte = clock_now();
        if (keep > (size_t)n)
            keep = (size_t)n;
        memcpy(r->head + r->head_len, buf, keep);
        r->head_len += keep;
        return;
    }
    r->status = parse_status(r->head, r->head_len);
    if (r->path == NULL)
        close_request(r, OUTCOME_IDLE_CLOSED);
    else if (n == 0 && r->status != 0)
        close_request(r, OUTCOME_ANSWERED);
    else
        close_request(r, OUTCOME_CUT_OFF); /* closed early, or reset */
}

/* Is r's request due at time t, and not yet fully written? */
static bool wants_to_send(const struct request *r, long long ready,
                          long long t)
{
    return r->path != NULL && r->fd >= 0 && r->sent == NEVER &&
           ready + r->send_at <= t;
}

/* Sends the requests that are due, and closes idle connections that
 * have waited long enough. */
static void act(struct run *run, long long ready)
{
    long long t = clock_now();

    for (int i = 0; i < run->count; i++) {
        struct request *r = &run->req[i];
        if (wants_to_send(r, ready, t) && r->text_sent == 0)
            send_request(r);
        if (r->path == NULL && r->fd >= 0 &&
            t >= r->connected + run->idle_for)
            close_request(r, OUTCOME_IDLE_DROPPED);
    }
}

/* The next moment act() has something to do, or the deadline. A
 * request that is due already waits for poll() to report room to
 * write, not for a time. */
static long long next_wakeup(const struct run *run, long long ready)
{
    long long t = run->deadline, now_t = clock_now();

    for (int i = 0; i < run->count; i++) {
        const struct request *r = &run->req[i];
        long long due = ready + r->send_at;
        if (r->fd < 0)
            continue;
        if (r->path != NULL && due > now_t && due < t)
            t = due;
        if (r->path == NULL && r->connected + run->idle_for < t)
            t = r->connected + run->idle_for;
    }
    return t;
}

/* Collects every open connection into pfd: all of them are read
 * (a server may close one at any time), and the ones with a request
 * half written are watched for room to write the rest. */
static int watching(struct run *run, long long ready,
                    struct pollfd *pfd, int *who)
{
    int n = 0;
    long long t = clock_now();

    for (int i = 0; i < run->count; i++) {
        struct request *r = &run->req[i];
        if (r->fd < 0)
            continue;
        pfd[n] = (struct pollfd){.fd = r->fd, .events = POLLIN};
        if (wants_to_send(r, ready, t))
            pfd[n].events |= POLLOUT;
        who[n++] = i;
    }
    return n;
}

/* Sends the requests on schedule and reads the answers, until every
 * connection is closed or the deadline comes. */
static void exchange(struct run *run)
{
    struct pollfd pfd[REQUESTS_MAX];
    int who[REQUESTS_MAX];
    long long ready =
        clock_now(); /* all connected: the schedule starts */

    for (int round = 0; round < ROUNDS_MAX; round++) {
        act(run, ready);
        int n = watching(run, ready, pfd, who);
        if (n == 0 || clock_now() >= run->deadline)
            break;
        int timeout = clock_ms_until(next_wakeup(run, ready));
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < n; k++) {
            struct request *r = &run->req[who[k]];
            if (pfd[k].revents & POLLOUT)
                send_request(r);
            if (r->fd >= 0 && (pfd[k].revents & ~POLLOUT))
                receive(r);
        }
    }
    for (int i = 0; i < run->count; i++) {
        struct request *r = &run->req[i];
        if (r->fd >= 0)
            close_request(r, r->path ? OUTCOME_NO_ANSWER
                                     : OUTCOME_IDLE_DROPPED);
    }
    run->end = clock_now();
}

/* The text of a request for path; paths were checked to fit. */
static void build_request(struct request *r, const struct run *run)
{
    int n = snprintf(r->text, sizeof r->text,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Connection: close\r\n\r\n",
                     r->path, run->host, run->port);

    r->text_len = n > 0 && (size_t)n < sizeof r->text ? (size_t)n : 0;
    r->text_sent = 0;
}

int fire(struct run *run)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)run->port)};
    int error = ECONNREFUSED;

    if (inet_pton(AF_INET, run->host, &addr.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    clock_start();
    for (int i = 0; i < run->count; i++) {
        struct request *r = &run->req[i];
        r->fd = -1;
        r->connected = r->sent = r->first_byte = r->finished = NEVER;
        r->outcome = OUTCOME_PENDING;
        if (r->path != NULL)
            build_request(r, run);
    }
    if (connect_all(run, &addr, &error) == 0) {
        errno = error;
        return -1;
    }
    exchange(run);
    return 0;
}
