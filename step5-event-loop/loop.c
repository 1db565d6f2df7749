/*
 * loop.c - the event loop. One thread waits for every connection that
 * is only sending its request; a worker is taken only when there is
 * work.
 *
 * The loop poll()s its wake-up pipe, the listener and each connection
 * still sending a head, all non-blocking: it reads what has arrived,
 * never more, and http_parse() judges it. A head with a verdict goes
 * to the pool through a FIFO that never waits. Deadlines count from
 * accept(): the loop answers 408 itself. The cost, as Redis's ae.c
 * would say: poll() is O(n) in the connections at every call, where
 * epoll and kqueue are O(ready); one loop uses one core.
 */
#include "loop.h"

#include "config.h"
#include "conns.h"
#include "http.h"
#include "io.h"
#include "net.h"
#include "stop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/*** connections ***/

/* A connection, on the open list (conns.h) from accept() on, so that
 * the cut reaches it wherever it is. The loop owns it and its fd until
 * the head has a verdict; then the job that serves it does. */
struct lconn {
    struct conn *conn;    /* on the open list; conn->fd, conn->data */
    struct loop *loop;    /* whose connection */
    long long start_ms;   /* accept(): the deadline counts from it */
    char *buf;            /* the head; NULL until its first byte */
    size_t len;           /* bytes in buf */
    long verdict;         /* http_parse() on buf[0..len) */
    int status;           /* what the loop answered (408), or 0 */
    long long linger_end; /* after the 408: drain until then */
    long drained;         /* bytes read and dropped since */
    struct lconn *ready_next; /* in the ready FIFO */
};

/* Only the loop's thread touches what is not under lock. Polled
 * connection i is conns[i]; its pollfd is fds[LOOP_FIRST + i]. */
struct loop {
    int listen_fd;        /* the loop's; closed when the stop begins */
    int wake[2];          /* self-pipe: a byte means "look again" */
    struct pool *pool;    /* where heads with a verdict go */
    struct conns *open;   /* the open list and its counters */
    struct stop *stop;    /* whose grace timer the stop starts */
    int deadline_ms;      /* -T, in milliseconds */
    int grace_ms;         /* -G, in milliseconds */
    int max_conns;        /* what the descriptor limit lets it hold */
    struct pollfd *fds;   /* the pipe, the listener, the conns */
    struct lconn **conns; /* the connections still sending a head */
    int polled;           /* how many */
    struct lconn *ready, *ready_tail; /* FIFO: verdicts, no room yet */
    int ready_count;
    long long accept_after; /* accept() lacked fds: pause until then */
    pthread_mutex_t lock;   /* guards the two fields below */
    bool stopping;          /* loop_stop() came: stop accepting */
    bool wants_room;        /* the loop waits for room in the queue */
};

enum { LOOP_WAKE, LOOP_LISTEN, LOOP_FIRST };

static void wake(struct loop *l)
{
    if (write(l->wake[1], "", 1) < 0)
        perror("server: write to the loop's wake-up pipe");
}

/* Ends c: off the open list and counted (status: what http_respond()
 * returned), then closed and freed. In that order, so that the cut
 * never shuts down a descriptor closed, or given to another file. */
static void end(struct lconn *c, int status)
{
    conns_forget(c->loop->open, c->conn, status); /* closes fd */
    free(c->buf);
    free(c);
}

/*** the poll set ***/

static void poll_add(struct loop *l, struct lconn *c)
{
    l->fds[LOOP_FIRST + l->polled] =
        (struct pollfd){.fd = c->conn->fd, .events = POLLIN};
    l->conns[l->polled++] = c;
}

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

/* A job for the pool; it owns c and its fd. The loop has read the
 * head, the worker only answers it. A connection cut by the grace
 * period, running or still queued, ends at once. */
static void conn_job(void *arg, int worker)
{
    struct lconn *c = arg;
    struct loop *l = c->loop;
    char who[32];

    pthread_mutex_lock(&l->lock); /* this job has left the queue */
    bool room = l->wants_room;
    l->wants_room = false;
    pthread_mutex_unlock(&l->lock);
    if (room)
        wake(l);
    snprintf(who, sizeof who, "worker %d", worker);
    end(c, http_respond(c->conn->fd, c->buf, c->len, c->verdict, 0,
                        c->start_ms, who));
}

/* Hands ready connections to the pool, oldest first, never waiting:
 * what does not fit stays in the FIFO until a worker takes a job and
 * wakes the loop (conn_job()). */
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
    l->ready_tail = NULL;
}

/* The head of polled connection i has its verdict: out of the poll
 * set, blocking again, and on to the pool through the FIFO. */
static void hand_over(struct loop *l, int i)
{
    struct lconn *c = poll_remove(l, i);
    /* A write that makes no progress for -T seconds fails: a client
     * that stops reading loses its worker after about 3T (each partial
     * write restarts the timer). The grace period still bounds it. */
    struct timeval send_timeout = {.tv_sec = l->deadline_ms / 1000};

    /* Blocking again, for the HTTP layer. */
    if (net_set_nonblocking(c->conn->fd, false) < 0 ||
        setsockopt(c->conn->fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
                   sizeof send_timeout) < 0) {
        perror("server: preparing a connection");
        end(c, 0);
        return;
    }
    c->ready_next = NULL;
    if (l->ready_tail != NULL)
        l->ready_tail->ready_next = c;
    else
        l->ready = c;
    l->ready_tail = c;
    l->ready_count++;
    submit_ready(l);
}

/*** reading heads ***/

/* Polled connection i ends without a response: the client closed, it
 * was cut, or it sent nothing in time. read_errno says which, as for
 * http_respond(), which logs it without blocking. */
static void end_unanswered(struct loop *l, int i, int read_errno)
{
    struct lconn *c = poll_remove(l, i);

    end(c, http_respond(c->conn->fd, c->buf, c->len, HTTP_INCOMPLETE,
                        read_errno, c->start_ms, "loop"));
}

/* Lingering close, in the loop: reads and drops what the client still
 * sends after its 408, until the end of the stream, an error (a cut
 * too), or LINGER_MAX_BYTES. Returns true when the connection ended. */
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

/* Polled connection i is readable: one read() that cannot block, and
 * the parser's verdict. The buffer is allocated with the first byte: a
 * connection that sends nothing costs a pollfd and a struct lconn.
 * Returns true when connection i left the poll set. */
static bool on_readable(struct loop *l, int i)
{
    struct lconn *c = l->conns[i];
    struct http_request req;
    char first[HEAD_MAX_BYTES];

    if (c->linger_end != 0)
        return linger_read(l, i);
    char *into = c->buf != NULL ? c->buf + c->len : first;
    ssize_t n = read(c->conn->fd, into, HEAD_MAX_BYTES - c->len);
    if (n < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false; /* nothing there after all */
    if (n <= 0) {
        end_unanswered(l, i, n == 0 ? 0 : errno);
        return true;
    }
    if (c->buf == NULL && (c->buf = malloc(HEAD_MAX_BYTES)) == NULL) {
        fputs("server: out of memory, dropping a connection\n", stderr);
        end(poll_remove(l, i), 0);
        return true;
    }
    if (into == first)
        memcpy(c->buf, first, (size_t)n);
    c->len += (size_t)n;
    c->verdict = http_parse(c->buf, c->len, &req);
    if (c->verdict == HTTP_INCOMPLETE)
        return false;
    hand_over(l, i);
    return true;
}

/*** deadlines, the loop's own 408, and lingering close ***/

/* Polled connection i has run out of time. With part of a head, the
 * loop answers 408 itself: under 256 bytes into an empty send buffer
 * is one write() that cannot block (if even that does not fit, the
 * connection is dropped), and lingers. With no bytes, it is closed. */
static void expire(struct loop *l, int i, long long now)
{
    struct lconn *c = l->conns[i];
    struct http_request req;
    char out[256];

    if (c->len == 0) {
        end_unanswered(l, i, ETIMEDOUT);
        return;
    }
    (void)http_parse(c->buf, c->len, &req); /* for the log line */
    size_t n =
        http_format_error(out, sizeof out, 408, http_is_head(&req));
    bool sent = n > 0 && write(c->conn->fd, out, n) == (ssize_t)n;
    http_log("loop", req.line, 408, now - c->start_ms,
             sent ? "" : "the 408 did not fit: dropped");
    c->status = sent ? 408 : 0;
    free(c->buf); /* req.line pointed into it: logged already */
    c->buf = NULL;
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
    long long next = l->accept_after > now ? l->accept_after : -1;

    for (int i = 0; i < l->polled; i++) {
        const struct lconn *c = l->conns[i];
        long long t = c->linger_end != 0 ? c->linger_end
                                         : c->start_ms + l->deadline_ms;
        if (next < 0 || t < next)
            next = t;
    }
    if (next < 0)
        return -1; /* nothing to time: wait for an event */
    if (next <= now)
        return 0;
    return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

/*** accepting ***/

/* n, or less where <limits.h> defines OPEN_MAX (macOS): setrlimit()
 * refuses more, and poll() fails with EINVAL past it. */
static rlim_t fd_cap(rlim_t n)
{
#ifdef OPEN_MAX
    if (n == RLIM_INFINITY || n > OPEN_MAX)
        return OPEN_MAX;
#endif
    return n;
}

/* Each connection the loop holds is a descriptor, and the soft limit
 * is often 1024. Asks for what the loop may use; refused, asks quietly
 * for the most it may have, and warns only when even that is less.
 * Returns the limit it got. */
static long fd_limit(void)
{
    rlim_t want = LOOP_MAX_CONNECTIONS + LOOP_FD_SPARE;
    struct rlimit lim;

    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        perror("server: getrlimit(RLIMIT_NOFILE)");
        return (long)fd_cap(want); /* accept() will say if it is not */
    }
    rlim_t had = lim.rlim_cur;
    if (had == RLIM_INFINITY || had >= want)
        return (long)fd_cap(want);
    lim.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
        return (long)fd_cap(want);
    lim.rlim_cur = fd_cap(lim.rlim_max);
    if (lim.rlim_cur <= had || setrlimit(RLIMIT_NOFILE, &lim) < 0)
        lim.rlim_cur = had;
    if (lim.rlim_cur < want)
        fprintf(stderr,
                "server: RLIMIT_NOFILE is %ld, not %ld: fewer"
                " connections will fit\n",
                (long)lim.rlim_cur, (long)want);
    return (long)fd_cap(lim.rlim_cur);
}

/* Takes one connection from the listener into the poll set, and reads
 * it at once: its request has often arrived with it, which saves a
 * round through poll(). Returns false when there is none to take. */
static bool accept_client(struct loop *l)
{
    static long long last_report;

    int fd = accept(l->listen_fd, NULL, NULL);
    if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
        return true;
    if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        /* Usually EMFILE or ENFILE. The connection stays in the
         * backlog, so polling the listener again would spin: leave it
         * out of the poll set for a while. */
        if (io_now_ms() - last_report >= 1000) {
            fprintf(stderr,
                    "server: accept: %s (retrying every %d ms)\n",
                    strerror(errno), ACCEPT_BACKOFF_MS);
            last_report = io_now_ms();
        }
        l->accept_after = io_now_ms() + ACCEPT_BACKOFF_MS;
    }
    if (fd < 0)
        return false;
    struct lconn *c = malloc(sizeof *c);
    /* Said, not assumed: a socket inherits O_NONBLOCK from the
     * listener on macOS and the BSDs, but not on Linux. */
    if (c == NULL || net_set_nonblocking(fd, true) < 0 ||
        (c->conn = conns_add(l->open, fd, c)) == NULL) {
        fprintf(stderr, "server: taking a connection: %s\n",
                strerror(errno));
        free(c);
        close(fd);
        return true;
    }
    *c = (struct lconn){
        .conn = c->conn, .loop = l, .start_ms = io_now_ms()};
    poll_add(l, c);
    on_readable(l, l->polled - 1);
    return true;
}

/* Whether the loop may take more connections: not when it is full, nor
 * when the queue is, nor while accept() lacks descriptors. Then the
 * kernel's backlog holds new ones. */
static bool accepting(const struct loop *l, long long now)
{
    return l->listen_fd >= 0 && now >= l->accept_after &&
           l->polled + l->ready_count < l->max_conns &&
           l->ready_count < LOOP_READY_MAX;
}

/*** stopping ***/

void loop_stop(void *arg)
{
    struct loop *l = arg;

    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_mutex_unlock(&l->lock);
    wake(l);
}

/* The wake-up pipe is readable: empties it. After loop_stop(), refuses
 * new connections; the loop goes on with those it holds until each
 * has its verdict, its deadline or the cut. */
static void on_wake(struct loop *l)
{
    char bytes[64];
    int running, queued;

    while (read(l->wake[0], bytes, sizeof bytes) > 0)
        ;
    pthread_mutex_lock(&l->lock);
    bool stopping = l->stopping;
    pthread_mutex_unlock(&l->lock);
    if (!stopping || l->listen_fd < 0)
        return;
    close(l->listen_fd);
    l->listen_fd = -1;
    stop_grace_begin(l->stop, io_now_ms() + l->grace_ms);
    pool_counts(l->pool, &running, &queued);
    fprintf(stderr,
            "shutting down: %d running, %d queued, %d sending a "
            "request\n",
            running, queued + l->ready_count, l->polled);
}

/*** running ***/

/* One round, after poll(): reads what is readable and expires what is
 * late (from the end of the poll set, see poll_remove()), then looks
 * at the pipe and the listener. */
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

/* The poll set has room for what the descriptor limit lets the loop
 * hold, so poll() is never given more descriptors than the limit. */
struct loop *loop_create(int listen_fd, struct pool *pool,
                         struct conns *open, struct stop *stop,
                         int deadline_ms, int grace_ms)
{
    long n = fd_limit() - LOOP_FD_SPARE;
    struct loop *l = malloc(sizeof *l);

    if (l == NULL)
        return NULL;
    n = n < 1 ? 1 : n; /* accept() says when there is no room */
    *l = (struct loop){.listen_fd = listen_fd,
                       .wake = {-1, -1},
                       .pool = pool,
                       .open = open,
                       .stop = stop,
                       .deadline_ms = deadline_ms,
                       .grace_ms = grace_ms,
                       .max_conns = (int)n,
                       .fds = calloc(LOOP_FIRST + n, sizeof *l->fds),
                       .conns = calloc(n, sizeof *l->conns)};
    int err = l->fds == NULL || l->conns == NULL ? ENOMEM : 0;
    /* Its own pipe: stop.c's grace thread empties stop.c's. The loop
     * empties it without blocking. */
    if (err == 0 && (pipe(l->wake) < 0 ||
                     net_set_nonblocking(l->wake[0], true) < 0))
        err = errno;
    if (err == 0 && (err = pthread_mutex_init(&l->lock, NULL)) == 0) {
        l->fds[LOOP_WAKE] =
            (struct pollfd){.fd = l->wake[0], .events = POLLIN};
        l->fds[LOOP_LISTEN] =
            (struct pollfd){.fd = listen_fd, .events = POLLIN};
        return l;
    }
    if (l->wake[0] >= 0) {
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
