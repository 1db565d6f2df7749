/*
 * loop.c - the event loop. One thread waits for every connection that
 * is only sending its request; a worker is taken only when there is
 * work.
 *
 * Sockets are non-blocking: the loop reads what has arrived, never
 * more (request.c), and a request read whole, head and body, goes to
 * the pool, which only answers it. The cost: poll()
 * is O(n) in the connections at every call (epoll and kqueue are
 * O(ready)), and one loop uses one core.
 */
#include "loop.h"

#include "config.h"
#include "http.h"
#include "io.h"
#include "net.h"
#include "request.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*** connections ***/

/* A connection, on the open list (conns.h) from accept() on: the cut's
 * shutdown() makes a polled one readable, and the loop then ends it. */
struct lconn {
    struct conn *conn;    /* on the open list; conn->data is c */
    struct loop *loop;    /* owns c until its request is whole */
    long long start_ms;   /* accept(): the deadline counts from it */
    struct request *rq;   /* NULL while idle: no buffer */
    int status;           /* what the loop answered (408), or 0 */
    long long linger_end; /* after the 408: drain until then */
    long drained;         /* bytes read and dropped since */
    struct lconn *ready_next; /* in the ready FIFO */
};

/* The loop's alone, but for what lock guards. Polled i: conns[i]. */
struct loop {
    int listen_fd;        /* the loop's; closed when the stop begins */
    int wake[2];          /* self-pipe: 's' stop, 'r' room, in it */
    struct pool *pool;    /* where whole requests go */
    struct conns *open;   /* the open list and its counters */
    struct stop *stop;    /* whose grace timer the stop starts */
    int deadline_ms;      /* -T, in milliseconds */
    int grace_ms;         /* -G, in milliseconds */
    int max_conns;        /* what the descriptor limit lets it hold */
    struct pollfd *fds;   /* pipe, listener, conns[i] at LOOP_FIRST+i */
    struct lconn **conns; /* the connections still sending a request */
    int polled;           /* how many */
    struct lconn *ready;  /* FIFO: requests waiting for room */
    struct lconn **ready_end; /* where the next one goes */
    int ready_count;
    long long accept_after; /* accept() lacked fds: pause until then */
    pthread_mutex_t lock;   /* guards wants_room */
    bool wants_room;        /* the loop waits for room in the queue */
};

enum { LOOP_WAKE, LOOP_LISTEN, LOOP_FIRST };

/* Ends c: off the open list, counted (status as http_respond()'s),
 * and only then closed: the cut never touches a closed descriptor. */
static void end(struct lconn *c, int status)
{
    conns_forget(c->loop->open, c->conn, status);
    request_destroy(c->rq);
    free(c);
}

/*** the poll set ***/

/* Takes polled connection i out of the poll set and returns it: the
 * last one takes its place, so callers walk the set from the end. */
static struct lconn *poll_remove(struct loop *l, int i)
{
    struct lconn *c = l->conns[i];

    l->polled--;
    l->fds[LOOP_FIRST + i] = l->fds[LOOP_FIRST + l->polled];
    l->conns[i] = l->conns[l->polled];
    return c;
}

/*** the ready FIFO and the pool ***/

/* The pool's job, which owns c: the worker only answers the request,
 * read whole by the loop, and parsed there once. */
static void conn_job(void *arg, int worker)
{
    struct lconn *c = arg;
    struct loop *l = c->loop;
    char who[32];

    pthread_mutex_lock(&l->lock); /* this job has left the queue */
    bool room = l->wants_room;
    l->wants_room = false;
    pthread_mutex_unlock(&l->lock);
    if (room && write(l->wake[1], "r", 1) < 0)
        perror("server: write to the loop's wake-up pipe");
    snprintf(who, sizeof who, "worker %d", worker);
    conns_begin(l->open, c->conn);
    struct request *rq = c->rq;
    end(c, http_answer(c->conn->fd, &rq->req, rq->status, rq->bytes,
                       rq->body.len, rq->unread, c->start_ms, who));
}

/* Hands ready connections to the pool, oldest first, never waiting:
 * the rest waits until a worker takes a job and wakes the loop. */
static void submit_ready(struct loop *l)
{
    while (l->ready != NULL) {
        struct lconn *c = l->ready;
        struct lconn *next = c->ready_next; /* c may be gone at once */
        if (pool_try_submit(l->pool, conn_job, c) < 0) {
            /* Full. Ask for a wake-up, then try once more: a worker
             * that made room before it saw wants_room sends none. */
            pthread_mutex_lock(&l->lock);
            l->wants_room = true;
            pthread_mutex_unlock(&l->lock);
            if (pool_try_submit(l->pool, conn_job, c) < 0)
                return;
        }
        l->ready = next; /* the job owns c now */
        l->ready_count--;
    }
    l->ready_end = &l->ready;
}

/* The request of polled connection i is whole: out of the poll set,
 * blocking again (for the HTTP layer), and into the FIFO. */
static void hand_over(struct loop *l, int i)
{
    struct lconn *c = poll_remove(l, i);

    if (net_set_blocking_timeout(c->conn->fd, l->deadline_ms) < 0) {
        perror("server: preparing a connection");
        end(c, 0);
        return;
    }
    c->ready_next = NULL;
    *l->ready_end = c;
    l->ready_end = &c->ready_next;
    l->ready_count++;
    submit_ready(l);
}

/*** reading requests, and lingering close ***/

/* Polled connection i ends unanswered: read_errno as http_respond(),
 * which logs why (the one time a head is parsed again: for the log). */
static void end_unanswered(struct loop *l, int i, int read_errno)
{
    struct lconn *c = poll_remove(l, i);
    const char *head = c->rq != NULL ? c->rq->head : NULL;
    size_t len = c->rq != NULL ? c->rq->len : 0;

    end(c, http_respond(c->conn->fd, head, len, HTTP_INCOMPLETE,
                        read_errno, c->start_ms, 0, "loop"));
}

/* Lingering close, after the loop's 408: reads and drops what comes,
 * until the end, an error (or the cut) or LINGER_MAX_BYTES. */
static bool linger_read(struct loop *l, int i)
{
    struct lconn *c = l->conns[i];
    char sink[4096];

    ssize_t n = read(c->conn->fd, sink, sizeof sink);
    if (n < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (n > 0 && (c->drained += (long)n) < LINGER_MAX_BYTES)
        return false;
    end(poll_remove(l, i), c->status);
    return true;
}

/* Polled connection i is readable: one read() that cannot block, fed
 * to its request. Returns true when i left the poll set. */
static bool on_readable(struct loop *l, int i)
{
    struct lconn *c = l->conns[i];

    if (c->linger_end != 0)
        return linger_read(l, i);
    if (c->rq == NULL && (c->rq = request_create()) == NULL) {
        fputs("server: out of memory, dropping a connection\n", stderr);
        end(poll_remove(l, i), 0);
        return true;
    }
    enum request_step step = request_read(c->rq, c->conn->fd);
    if (step == REQUEST_MORE)
        return false;
    if (step == REQUEST_ENDED)
        end_unanswered(l, i, errno);
    else
        hand_over(l, i);
    return true;
}

/*** deadlines, and the loop's own 408 ***/

/* Polled connection i is out of time. After part of a request, head
 * or body, the loop writes a 408 (one write() of < 256 bytes on a
 * socket that was sent at most a 100 Continue: it cannot block). */
static void expire(struct loop *l, int i, long long now)
{
    struct lconn *c = l->conns[i];
    char out[256];

    if (c->rq == NULL || c->rq->len == 0) {
        end_unanswered(l, i, ETIMEDOUT);
        return;
    }
    const struct http_request *req = &c->rq->req;
    size_t n =
        http_format_error(out, sizeof out, 408, http_is_head(req));
    bool sent = n > 0 && write(c->conn->fd, out, n) == (ssize_t)n;
    http_log("loop", req->line, 408, now - c->start_ms,
             sent ? "" : "the 408 did not fit: dropped");
    c->status = sent ? 408 : 0;
    request_destroy(c->rq); /* req->line pointed into it: logged */
    c->rq = NULL;
    if (!sent || shutdown(c->conn->fd, SHUT_WR) < 0)
        end(poll_remove(l, i), c->status);
    else
        c->linger_end = now + LINGER_MS;
}

static void check_deadline(struct loop *l, int i, long long now)
{
    struct lconn *c = l->conns[i];

    if (c->linger_end != 0 && now >= c->linger_end)
        end(poll_remove(l, i), c->status);
    else if (c->linger_end == 0 && now >= c->start_ms + l->deadline_ms)
        expire(l, i, now);
}

/* How long poll() may wait: until the nearest deadline. A linear scan;
 * a heap or a timer wheel would find it in O(log n) or O(1), but
 * poll() itself is O(n) per call anyway. */
static int loop_timeout(const struct loop *l, long long now)
{
    long long next =
        l->accept_after > now ? l->accept_after : LLONG_MAX;

    for (int i = 0; i < l->polled; i++) {
        const struct lconn *c = l->conns[i];
        long long t = c->linger_end != 0 ? c->linger_end
                                         : c->start_ms + l->deadline_ms;
        next = t < next ? t : next;
    }
    if (next == LLONG_MAX)
        return -1; /* nothing to time: wait for an event */
    if (next <= now)
        return 0;
    return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

/*** accepting ***/

/* Takes one connection into the poll set, and reads it at once (its
 * request often came with it). Returns false when there is none. */
static bool accept_client(struct loop *l)
{
    int fd = net_accept(l->listen_fd);
    if (fd < 0 && errno == EINTR)
        return true;
    /* No descriptor left: polling the listener would spin. */
    if (fd < 0 && errno != EAGAIN)
        l->accept_after = io_now_ms() + ACCEPT_BACKOFF_MS;
    if (fd < 0)
        return false;
    struct lconn *c = malloc(sizeof *c);
    /* Said, not assumed: a socket inherits O_NONBLOCK from the
     * listener on macOS and the BSDs, but not on Linux. */
    if (c == NULL || net_set_nonblocking(fd, true) < 0 ||
        (c->conn = conns_add(l->open, fd, c)) == NULL) {
        perror("server: taking a connection");
        free(c);
        close(fd);
        return true;
    }
    *c = (struct lconn){
        .conn = c->conn, .loop = l, .start_ms = io_now_ms()};
    l->fds[LOOP_FIRST + l->polled] =
        (struct pollfd){.fd = fd, .events = POLLIN};
    l->conns[l->polled++] = c;
    on_readable(l, l->polled - 1);
    return true;
}

/* Whether the loop takes more: not when it is full, nor the queue, nor
 * while accept() lacks fds. Then the kernel's backlog holds them. */
static bool accepting(const struct loop *l, long long now)
{
    return l->listen_fd >= 0 && now >= l->accept_after &&
           l->polled + l->ready_count < l->max_conns &&
           l->ready_count < LOOP_READY_MAX;
}

/*** stopping ***/

void loop_stop(void *loop)
{
    struct loop *l = loop;

    if (write(l->wake[1], "s", 1) < 0)
        perror("server: write to the loop's wake-up pipe");
}

/* The pipe is readable: empties it. After loop_stop(), refuses new
 * connections and starts the grace timer. */
static void on_wake(struct loop *l)
{
    char bytes[64];
    bool stop = false;
    int open, running;

    for (ssize_t n; (n = read(l->wake[0], bytes, sizeof bytes)) > 0;)
        stop = stop || memchr(bytes, 's', (size_t)n) != NULL;
    if (!stop || l->listen_fd < 0)
        return;
    close(l->listen_fd);
    l->listen_fd = -1;
    stop_grace_begin(l->stop, io_now_ms() + l->grace_ms);
    conns_counts(l->open, &open, &running);
    fprintf(stderr,
            "shutting down: %d running, %d queued, %d sending a "
            "request\n",
            running, open - running - l->polled, l->polled);
}

/*** running ***/

/* One round, after poll(): the readable and the late (from the end:
 * see poll_remove()), then the pipe, then the listener. */
static void loop_round(struct loop *l, bool polled_ok)
{
    long long now = io_now_ms();

    for (int i = l->polled - 1; i >= 0; i--) {
        if (polled_ok && l->fds[LOOP_FIRST + i].revents != 0 &&
            on_readable(l, i))
            continue;
        check_deadline(l, i, now);
    }
    if (polled_ok && l->fds[LOOP_WAKE].revents != 0)
        on_wake(l);
    if (polled_ok && l->fds[LOOP_LISTEN].fd >= 0 &&
        l->fds[LOOP_LISTEN].revents != 0) {
        /* At most a backlog's worth per round: the others wait too. */
        for (int k = 0; k < LISTEN_BACKLOG && accepting(l, now); k++)
            if (!accept_client(l))
                break;
    }
    submit_ready(l);
}

void loop_run(struct loop *l)
{
    l->fds[LOOP_WAKE].fd = l->wake[0];
    l->fds[LOOP_WAKE].events = l->fds[LOOP_LISTEN].events = POLLIN;
    while (l->listen_fd >= 0 || l->polled > 0 || l->ready != NULL) {
        long long now = io_now_ms();
        /* poll() skips an fd of -1: the listener, when full */
        l->fds[LOOP_LISTEN].fd = accepting(l, now) ? l->listen_fd : -1;
        int n = poll(l->fds, (nfds_t)(LOOP_FIRST + l->polled),
                     loop_timeout(l, now));
        if (n < 0 && errno != EINTR) {
            perror("server: poll");
            io_sleep_ms(ACCEPT_BACKOFF_MS); /* rather than spin */
        }
        loop_round(l, n > 0);
    }
}

struct loop *loop_create(int listen_fd, struct pool *pool,
                         struct conns *open, struct stop *stop,
                         int deadline_ms, int grace_ms, int n)
{
    struct loop *l = malloc(sizeof *l);

    if (l == NULL)
        return NULL;
    *l = (struct loop){.listen_fd = listen_fd,
                       .pool = pool,
                       .open = open,
                       .stop = stop,
                       .deadline_ms = deadline_ms,
                       .grace_ms = grace_ms,
                       .max_conns = n,
                       .ready_end = &l->ready};
    l->fds = calloc(LOOP_FIRST + (size_t)n, sizeof *l->fds);
    l->conns = calloc((size_t)n, sizeof *l->conns);
    int err = l->fds == NULL || l->conns == NULL ? ENOMEM : 0;
    /* Its own pipe, emptied without blocking: stop.c's grace thread
     * empties stop.c's. */
    if (err == 0 && pipe(l->wake) < 0) {
        err = errno;
    } else if (err == 0) {
        if (net_set_nonblocking(l->wake[0], true) < 0)
            err = errno;
        else if ((err = pthread_mutex_init(&l->lock, NULL)) == 0)
            return l;
        close(l->wake[0]);
        close(l->wake[1]);
    }
    free(l->fds);
    free(l->conns);
    free(l);
    errno = err;
    return NULL;
}

void loop_destroy(struct loop *l)
{
    pthread_mutex_destroy(&l->lock);
    close(l->wake[0]);
    close(l->wake[1]);
    free(l->fds);
    free(l->conns);
    free(l);
}
