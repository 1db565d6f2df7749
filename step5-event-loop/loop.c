/*
 * loop.c - the event loop: one thread waits for every connection that
 * is only sending its request, and a worker is taken only when there
 * is work.
 *
 * The loop poll()s its wake-up pipe, the listening socket and every
 * connection still sending a head, all non-blocking: it reads what
 * has arrived, never more, and http_parse() judges the bytes. Once the
 * head has a verdict the connection goes to the pool, through a FIFO
 * that never waits. Deadlines count from accept(): the loop answers
 * 408 itself, or closes a connection that sent nothing. Like Redis's
 * ae.c, it is simple rather than fast: poll() is O(n) in the
 * connections at every call, where epoll or kqueue are O(ready).
 */
#include "loop.h"

#include "config.h"
#include "conns.h"
#include "http.h"
#include "io.h"
#include "net.h"

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

/* A connection, from accept() on: on the open list (conns.h), so the
 * cut can reach it wherever it is. The loop owns it and its fd until
 * the head has a verdict, then the job that serves it does. */
struct lconn {
    struct conn conn;     /* first: the open list's part, and fd */
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

/* What only the loop's thread touches needs no lock. Polled connection
 * i is conns[i]; its pollfd is fds[LOOP_FIRST + i]. */
struct loop {
    int listen_fd;      /* the loop's; closed when the stop begins */
    int wake[2];        /* self-pipe: a byte in it means "look again" */
    struct pool *pool;  /* where heads with a verdict go */
    struct conns *open; /* the open list and its counters */
    int deadline_ms;    /* -T, in milliseconds */
    int max_conns;      /* what the descriptor limit lets it hold */
    struct pollfd *fds; /* the wake-up pipe, the listener, conns */
    struct lconn **conns; /* the connections still sending a head */
    int polled;           /* how many */
    struct lconn *ready;  /* FIFO: verdicts waiting for the queue */
    struct lconn *ready_tail;
    int ready_count;
    long long accept_after; /* accept() lacked fds: pause until then */
    pthread_mutex_t lock;   /* guards the two fields below */
    bool stopping;          /* a signal came: stop accepting */
    bool wants_room;        /* the loop waits for room in the queue */
};

enum { LOOP_WAKE, LOOP_LISTEN, LOOP_FIRST };

static void wake(struct loop *l)
{
    if (write(l->wake[1], "", 1) < 0)
        perror("server: write to the loop's wake-up pipe");
}

/* Ends a connection: off the open list and counted (status as from
 * http_respond()), then closed, then freed. In that order: the cut
 * never shuts down a descriptor that is closed, or reused. */
static void lconn_end(struct lconn *c, int status)
{
    conns_forget(c->loop->open, &c->conn, status);
    close(c->conn.fd);
    free(c->buf);
    free(c);
}

/*** the poll set ***/

static void poll_add(struct loop *l, struct lconn *c)
{
    l->fds[LOOP_FIRST + l->polled] =
        (struct pollfd){.fd = c->conn.fd, .events = POLLIN};
    l->conns[l->polled++] = c;
}

/* Takes polled connection i out of the poll set: the last one takes
 * its place, so the caller walks the set from the end. */
static void poll_remove(struct loop *l, int i)
{
    l->polled--;
    l->fds[LOOP_FIRST + i] = l->fds[LOOP_FIRST + l->polled];
    l->conns[i] = l->conns[l->polled];
}

/*** the ready FIFO and the pool ***/

/* A job for the pool. It owns c and its fd. The loop has read the
 * head; the worker only answers it. A connection cut at the end of the
 * grace period, running or still queued, ends at once. */
static void conn_job(void *arg, int worker)
{
    struct lconn *c = arg;
    struct loop *l = c->loop;
    char who[32];

    /* This job has left the queue: wake the loop if it waits. */
    pthread_mutex_lock(&l->lock);
    bool room = l->wants_room;
    l->wants_room = false;
    pthread_mutex_unlock(&l->lock);
    if (room)
        wake(l);
    snprintf(who, sizeof who, "worker %d", worker);
    lconn_end(c, http_respond(c->conn.fd, c->buf, c->len, c->verdict, 0,
                              c->start_ms, who));
}

/* Hands ready connections to the pool, oldest first, without ever
 * waiting: what does not fit stays in the FIFO until a worker takes a
 * job and wakes the loop (conn_job()). */
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
    struct lconn *c = l->conns[i];
    /* A write that makes no progress for -T seconds fails: a client
     * that stops reading loses its worker after about 3T (each partial
     * write restarts the timer). The grace period still bounds it. */
    struct timeval send_timeout = {.tv_sec = l->deadline_ms / 1000};

    poll_remove(l, i);
    /* The HTTP layer wants a blocking socket. */
    if (net_set_nonblocking(c->conn.fd, false) < 0 ||
        setsockopt(c->conn.fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
                   sizeof send_timeout) < 0) {
        fprintf(stderr, "server: preparing a connection: %s\n",
                strerror(errno));
        lconn_end(c, 0);
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

/* Polled connection i ends without a response (the client closed, it
 * was cut, or it sent nothing before its deadline): read_errno says
 * why, as for http_respond(), which logs it without blocking. */
static void end_unanswered(struct loop *l, int i, int read_errno)
{
    struct lconn *c = l->conns[i];

    poll_remove(l, i);
    lconn_end(c,
              http_respond(c->conn.fd, c->buf, c->len, HTTP_INCOMPLETE,
                           read_errno, c->start_ms, "loop"));
}

/* Lingering close, inside the loop: reads and drops what the client
 * still sends after its 408. Returns true when the connection ended:
 * end of stream, an error (a cut), or LINGER_MAX_BYTES read. */
static bool linger_read(struct loop *l, int i)
{
    struct lconn *c = l->conns[i];
    char sink[4096];

    ssize_t n = read(c->conn.fd, sink, sizeof sink);
    if (n < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (n > 0 && (c->drained += (long)n) < LINGER_MAX_BYTES)
        return false;
    poll_remove(l, i);
    lconn_end(c, c->status);
    return true;
}

/* Polled connection i is readable: reads what has arrived, with one
 * read() that cannot block, and asks the parser. The head buffer is
 * allocated with the first byte: a connection that sends nothing
 * costs a pollfd and a struct lconn. Returns true when connection i
 * left the poll set. */
static bool on_readable(struct loop *l, int i)
{
    struct lconn *c = l->conns[i];
    struct http_request req;
    char first[HEAD_MAX_BYTES];

    if (c->linger_end != 0)
        return linger_read(l, i);
    char *into = c->buf != NULL ? c->buf + c->len : first;
    ssize_t n = read(c->conn.fd, into, HEAD_MAX_BYTES - c->len);
    if (n < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false; /* nothing there after all */
    if (n <= 0) {
        end_unanswered(l, i, n == 0 ? 0 : errno);
        return true;
    }
    if (c->buf == NULL) {
        if ((c->buf = malloc(HEAD_MAX_BYTES)) == NULL) {
            fprintf(stderr, "server: out of memory, dropping a "
                            "connection\n");
            poll_remove(l, i);
            lconn_end(c, 0);
            return true;
        }
        memcpy(c->buf, first, (size_t)n);
    }
    c->len += (size_t)n;
    c->verdict = http_parse(c->buf, c->len, &req);
    if (c->verdict == HTTP_INCOMPLETE)
        return false;
    hand_over(l, i);
    return true;
}

/*** deadlines: the loop's own 408, and lingering close ***/

/* Polled connection i has run out of time. With part of a head, the
 * loop answers 408 itself: under 256 bytes into an empty send buffer
 * is one write() that cannot block; if even that does not fit, the
 * connection is dropped. Then it lingers in the poll set. With no
 * bytes, it is closed. */
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
    bool sent = n > 0 && write(c->conn.fd, out, n) == (ssize_t)n;
    http_log("loop", req.line, 408, now - c->start_ms,
             sent ? "" : "the 408 did not fit: dropped");
    c->status = sent ? 408 : 0;
    free(c->buf); /* req.line pointed into it: logged already */
    c->buf = NULL;
    if (!sent || shutdown(c->conn.fd, SHUT_WR) < 0) {
        poll_remove(l, i);
        lconn_end(c, c->status);
        return;
    }
    c->linger_end = now + LINGER_MS;
}

/* Checks the deadline of polled connection i. */
static void check_deadline(struct loop *l, int i, long long now)
{
    struct lconn *c = l->conns[i];

    if (c->linger_end != 0) {
        if (now >= c->linger_end) {
            poll_remove(l, i);
            lconn_end(c, c->status);
        }
    } else if (now >= c->start_ms + l->deadline_ms) {
        expire(l, i, now);
    }
}

/* How long poll() may wait: until the nearest deadline. A linear scan
 * over every connection; a heap or a timer wheel would find it in
 * O(log n) or O(1), but poll() itself is O(n) per call anyway. */
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

/* Each connection the loop holds is a descriptor, and the default soft
 * limit is often 1024. Asks for all it may hold; refused (macOS
 * refuses more than OPEN_MAX), asks quietly for the most it may have,
 * and warns only when even that is less. Returns the limit it got. */
static long fd_limit(void)
{
    rlim_t want = LOOP_MAX_CONNECTIONS + LOOP_FD_SPARE;
    struct rlimit lim;

    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        perror("server: getrlimit(RLIMIT_NOFILE)");
        return 1024; /* the usual soft limit: a guess */
    }
    rlim_t had = lim.rlim_cur;
    if (had != RLIM_INFINITY && had < want) {
        lim.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &lim) < 0) {
            lim.rlim_cur = lim.rlim_max;
#ifdef OPEN_MAX /* macOS: also the most that poll() takes */
            if (lim.rlim_cur == RLIM_INFINITY ||
                lim.rlim_cur > OPEN_MAX)
                lim.rlim_cur = OPEN_MAX;
#endif
            if (lim.rlim_cur < had ||
                setrlimit(RLIMIT_NOFILE, &lim) < 0)
                lim.rlim_cur = had;
        }
    }
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want)
        fprintf(stderr,
                "server: RLIMIT_NOFILE is %ld, below %ld: fewer"
                " connections will fit\n",
                (long)lim.rlim_cur, (long)want);
    return lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > want
               ? (long)want
               : (long)lim.rlim_cur;
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
    /* Explicitly: it inherits O_NONBLOCK from the listener on macOS
     * and the BSDs, but not on Linux. */
    if (c == NULL || net_set_nonblocking(fd, true) < 0) {
        fprintf(stderr, "server: taking a connection: %s\n",
                c == NULL ? "out of memory" : strerror(errno));
        free(c);
        close(fd);
        return true;
    }
    *c = (struct lconn){
        .conn = {.fd = fd}, .loop = l, .start_ms = io_now_ms()};
    conns_add(l->open, &c->conn);
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

/* The first signal: refuse new connections at once. The loop goes on
 * with those it holds, until each has its verdict or its deadline, or
 * the cut. */
static void begin_stop(struct loop *l)
{
    int running, queued;

    close(l->listen_fd);
    l->listen_fd = -1;
    pool_counts(l->pool, &running, &queued);
    fprintf(stderr,
            "shutting down: %d running, %d queued, %d sending a "
            "request\n",
            running, queued + l->ready_count, l->polled);
}

/* The wake-up pipe is readable: empties it, and starts the stop if a
 * signal asked for it. */
static void on_wake(struct loop *l)
{
    char bytes[64];

    while (read(l->wake[0], bytes, sizeof bytes) > 0)
        ;
    pthread_mutex_lock(&l->lock);
    bool stopping = l->stopping;
    pthread_mutex_unlock(&l->lock);
    if (stopping && l->listen_fd >= 0)
        begin_stop(l);
}

/*** running ***/

/* One round of the loop, after poll(): reads what is readable and
 * expires what is late (walking the poll set from its end, see
 * poll_remove()), then looks at the pipe and the listener. */
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

/* Makes the poll set, with room for every connection the descriptor
 * limit lets the loop hold, so that poll() is never given more
 * descriptors than the limit (macOS's fails with EINVAL then). */
static int loop_alloc(struct loop *l)
{
    l->max_conns = (int)(fd_limit() - LOOP_FD_SPARE);
    if (l->max_conns < 1)
        l->max_conns = 1;
    l->fds =
        calloc((size_t)(LOOP_FIRST + l->max_conns), sizeof *l->fds);
    l->conns = calloc((size_t)l->max_conns, sizeof *l->conns);
    if (l->fds == NULL || l->conns == NULL) {
        free(l->fds);
        free(l->conns);
        errno = ENOMEM;
        return -1;
    }
    l->fds[LOOP_WAKE] = (struct pollfd){.fd = -1, .events = POLLIN};
    l->fds[LOOP_LISTEN] =
        (struct pollfd){.fd = l->listen_fd, .events = POLLIN};
    return 0;
}

struct loop *loop_create(int listen_fd, struct pool *pool,
                         struct conns *open, int deadline_ms)
{
    struct loop *l = malloc(sizeof *l);

    if (l == NULL)
        return NULL;
    *l = (struct loop){.listen_fd = listen_fd,
                       .pool = pool,
                       .open = open,
                       .deadline_ms = deadline_ms};
    if (loop_alloc(l) < 0) {
        free(l);
        return NULL;
    }
    /* The loop empties its pipe without blocking; accept() must
     * never block either, or the loop would block with it. */
    if (pipe(l->wake) == 0) {
        int err = errno;
        if (net_set_nonblocking(l->wake[0], true) < 0 ||
            net_set_nonblocking(listen_fd, true) < 0)
            err = errno;
        else if ((err = pthread_mutex_init(&l->lock, NULL)) == 0) {
            l->fds[LOOP_WAKE].fd = l->wake[0];
            return l;
        }
        close(l->wake[0]);
        close(l->wake[1]);
        errno = err;
    }
    int saved = errno; /* free() leaves errno alone only since 2024 */
    free(l->fds);
    free(l->conns);
    free(l);
    errno = saved;
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
