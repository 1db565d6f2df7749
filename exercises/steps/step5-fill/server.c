/*
 * server.c - step 5 (the epilogue): an event loop in front of the pool.
 *
 * In step 4 a worker waits for the request of each connection it
 * takes: ten clients that connect and send nothing hold ten workers.
 * Here one thread, the event loop, does all the waiting:
 *  - It poll()s the wake-up pipe, the listening socket and every
 *    connection still sending its request head. Those sockets are
 *    non-blocking: the loop reads what has arrived, never more.
 *  - Each read goes into that connection's buffer, and http_parse()
 *    judges it. Once it gives a verdict (a complete head, or an error
 *    status), the socket becomes blocking again, leaves the poll set
 *    and goes to the pool: a worker is taken only when there is work.
 *  - Deadlines count from accept(). A client that has sent part of a
 *    head gets its 408 from the loop itself; one that sent nothing is
 *    closed.
 * What step 4 added stays: SIGINT or SIGTERM stop the server
 * gracefully, everything accepted is served, and the grace period
 * (-G) bounds the stop.
 *
 * How a signal reaches the loop: SIGINT and SIGTERM are blocked in
 * every thread, and one thread waits for them in sigwait(). When one
 * comes, it sets a flag and writes a byte to a pipe that the loop
 * polls. Workers use the same pipe to say that the queue has room.
 */
#include "server.h"

#include "config.h"
#include "http.h"
#include "io.h"
#include "net.h"
#include "pool.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* An accepted connection. The event loop owns it, and fd, until the
 * head has a verdict; from then on the job that serves it does, and
 * conn_job() closes fd once http_respond() is done. twin is a second
 * descriptor for the same socket, taken at the hand-over, which
 * belongs to server.c: the cut at the end of the grace period acts on
 * twin, and twin is closed only once the connection is off the open
 * list, so the cut never touches a closed descriptor, or a number the
 * kernel has given to another file. */
struct conn {
    struct server *server;
    int fd;                   /* the loop's, then conn_job()'s */
    int twin;                 /* forget() closes it; -1 if none */
    bool cut;                 /* guarded by server->lock */
    struct conn *prev, *next; /* guarded by server->lock: open list */
    /* Written by the loop until the hand-over; then read by the job. */
    long long start_ms;      /* accept(): the deadline counts from it */
    char *buf;               /* the head; NULL until its first byte */
    size_t len;              /* bytes in buf */
    long verdict;            /* http_parse() on buf[0..len) */
    int status;              /* what the loop answered (408), or 0 */
    long long linger_end;    /* after the 408: drain until then */
    long drained;            /* bytes read and dropped since */
    struct conn *ready_next; /* in the loop's ready list */
};

/* Everything the event loop, the workers and the signal and grace
 * threads share. Set up before the threads start, except the fields
 * under lock. */
struct server {
    int listen_fd;     /* the loop's; closed first when stopping */
    int wake[2];       /* self-pipe: a byte in it means "look again" */
    int cancel[2];     /* readable once the grace period is over */
    sigset_t signals;  /* SIGINT and SIGTERM */
    struct pool *pool; /* the workers and their queue */
    int deadline_ms;   /* -T, in milliseconds */
    int grace_ms;      /* -G, in milliseconds */
    long long grace_end;  /* set by the loop when the stop begins */
    pthread_mutex_t lock; /* guards the fields below */
    struct conn *open;    /* accepted and not closed yet */
    long accepted, served, cut_by_grace, cut_other;
    bool stopping;   /* a signal came: the loop stops accepting */
    bool wants_room; /* the loop waits for room in the queue */
    bool drained;    /* main has joined the workers */
    bool finished;   /* main is done: next signal is its own */
};

/* Gets a connection whose head has a verdict ready for a worker.
 * Returns 0, or -1 after reporting why. */
static int prepare_client(const struct server *s, int fd)
{
    struct timeval send_timeout = {.tv_sec = s->deadline_ms / 1000};

    /* The loop polled it non-blocking; the HTTP layer wants a
     * blocking one. */
    if (net_set_nonblocking(fd, false) < 0 ||
        /* A write that makes no progress for -T seconds fails: a
         * client that stops reading loses its worker after about 3T
         * (each partial write restarts the timer). One that reads a
         * little now and then keeps it; the grace period (-G) still
         * bounds the stop. */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
                   sizeof send_timeout) < 0) {
        fprintf(stderr, "server: preparing a connection: %s\n",
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Puts c on the open list, where the cut can find it. */
static void track(struct server *s, struct conn *c)
{
    pthread_mutex_lock(&s->lock);
    c->next = s->open;
    if (s->open != NULL)
        s->open->prev = c;
    s->open = c;
    pthread_mutex_unlock(&s->lock);
}

/* Takes c, closed by http_serve(), off the open list, counts how it
 * ended (status: what http_serve() returned) and frees it. */
static void forget(struct conn *c, int status)
{
    struct server *s = c->server;

    pthread_mutex_lock(&s->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->open = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (status > 0) /* the whole response was written */
        s->served++;
    else if (c->cut)
        s->cut_by_grace++;
    else /* the client left, or a deadline passed */
        s->cut_other++;
    pthread_mutex_unlock(&s->lock);
    if (c->twin >= 0) /* off the list: the cut can no longer reach it */
        close(c->twin);
    free(c->buf);
    free(c);
}

/* The grace period is over: ends every connection still open. */
static void cut_all(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    for (struct conn *c = s->open; c != NULL; c = c->next) {
        /* shutdown(), never close(): it wakes a read(), write() or
         * poll() blocked on the socket in another thread, and the
         * number stays ours. Its only failure, ENOTCONN, means the
         * connection is dead already. */
        (void)shutdown(c->twin, SHUT_RDWR);
        c->cut = true;
    }
    pthread_mutex_unlock(&s->lock);
    /* Wakes work that waits for no socket: a running /sleep. */
    if (write(s->cancel[1], "", 1) < 0)
        perror("server: write to the cancel pipe");
}

/* Wakes the loop if it waits for room in the queue. A worker calls it
 * when it has taken a job out of the queue. */
static void room_made(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    bool wake = s->wants_room;
    s->wants_room = false;
    pthread_mutex_unlock(&s->lock);
    if (wake && write(s->wake[1], "", 1) < 0)
        perror("server: write to the wake-up pipe");
}

/* A job for the pool. It owns c and c->fd. The loop has read the head;
 * the worker only answers it. A connection cut at the end of the grace
 * period, running or still queued, ends at once in http_respond(). */
static void conn_job(void *arg, int worker)
{
    struct conn *c = arg;
    char who[32];

    room_made(c->server); /* this job has left the queue */
    snprintf(who, sizeof who, "worker %d", worker);
    int status = http_respond(c->fd, c->buf, c->len, c->verdict, 0,
                              c->start_ms, who);
    close(c->fd);
    forget(c, status);
}

/* ---- The event loop ---- */

/* What only the loop's thread touches, so it needs no lock. Polled
 * connection i is conns[i]; its pollfd is fds[LOOP_FIRST + i]. */
struct loop {
    struct pollfd *fds;  /* the wake-up pipe, the listener, conns */
    struct conn **conns; /* the connections still sending a head */
    int polled;          /* how many */
    struct conn *ready;  /* FIFO: heads with a verdict that found the
                            queue full, linked by ready_next */
    struct conn *ready_tail;
    int ready_count;
    long long accept_after; /* accept() lacked fds: pause until then */
};

enum { LOOP_WAKE, LOOP_LISTEN, LOOP_FIRST };

/* Counts a connection that ends without reaching the pool (it is not
 * on the open list) and frees it; its fd is closed already. */
static void loop_forget(struct server *s, struct conn *c)
{
    pthread_mutex_lock(&s->lock);
    if (c->status > 0) /* the loop's 408 was written whole */
        s->served++;
    else if (c->cut)
        s->cut_by_grace++;
    else /* the client left, or a deadline passed */
        s->cut_other++;
    pthread_mutex_unlock(&s->lock);
    free(c->buf);
    free(c);
}

static void loop_close(struct server *s, struct conn *c)
{
    close(c->fd);
    loop_forget(s, c);
}

static void loop_add(struct loop *l, struct conn *c)
{
    l->fds[LOOP_FIRST + l->polled] =
        (struct pollfd){.fd = c->fd, .events = POLLIN};
    l->conns[l->polled++] = c;
}

/* Takes polled connection i out of the poll set: the last one takes
 * its place, so the caller walks the set from the end. */
static void loop_remove(struct loop *l, int i)
{
    l->polled--;
    l->fds[LOOP_FIRST + i] = l->fds[LOOP_FIRST + l->polled];
    l->conns[i] = l->conns[l->polled];
}

/* Hands ready connections to the pool, oldest first, without ever
 * waiting: what does not fit stays in the FIFO until a worker takes
 * a job and wakes the loop (room_made()). */
static void submit_ready(struct server *s, struct loop *l)
{
    while (l->ready != NULL) {
        struct conn *c = l->ready;
        struct conn *next = c->ready_next; /* c may be gone at once */
        if (pool_try_submit(s->pool, conn_job, c) < 0) {
            /* Full. Ask for a wake-up, then try once more: a worker
             * that made room before it saw wants_room sends none. */
            pthread_mutex_lock(&s->lock);
            s->wants_room = true;
            pthread_mutex_unlock(&s->lock);
            if (pool_try_submit(s->pool, conn_job, c) < 0)
                return;
        }
        l->ready = next; /* the job owns c now */
        l->ready_count--;
    }
    l->ready_tail = NULL;
}

/* The head of polled connection i has its verdict: out of the poll
 * set, blocking again, on the open list with a twin for the cut, and
 * on to the pool through the FIFO. */
static void hand_over(struct server *s, struct loop *l, int i)
{
    struct conn *c = l->conns[i];

    loop_remove(l, i);
    if (prepare_client(s, c->fd) < 0) {
        loop_close(s, c);
        return;
    }
    /* No descriptor left for a twin (-1): the cut cannot shut this
     * one down, but its write timeout still ends it. */
    c->twin = dup(c->fd);
    track(s, c);
    c->ready_next = NULL;
    if (l->ready_tail != NULL)
        l->ready_tail->ready_next = c;
    else
        l->ready = c;
    l->ready_tail = c;
    l->ready_count++;
    submit_ready(s, l);
}

/* Polled connection i ends without a response (the client closed, or
 * sent nothing before its deadline): read_errno says why, as for
 * http_respond(), which logs it without blocking; then fd is closed. */
static void end_unanswered(struct server *s, struct loop *l, int i,
                           int read_errno)
{
    struct conn *c = l->conns[i];

    loop_remove(l, i);
    (void)http_respond(c->fd, c->buf, c->len, HTTP_INCOMPLETE,
                       read_errno, c->start_ms, "loop");
    loop_close(s, c);
}

/* Lingering close, inside the loop: reads and drops what the client
 * still sends after its 408. Returns true when the connection ended:
 * end of stream, an error, or LINGER_MAX_BYTES read. */
static bool linger_read(struct server *s, struct loop *l, int i)
{
    struct conn *c = l->conns[i];
    char sink[4096];

    ssize_t n = read(c->fd, sink, sizeof sink);
    if (n < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (n > 0 && (c->drained += (long)n) < LINGER_MAX_BYTES)
        return false;
    loop_remove(l, i);
    loop_close(s, c);
    return true;
}

/* Polled connection i is readable: reads what has arrived, with one
 * read() that cannot block, and asks the parser. The head buffer is
 * allocated with the first byte: a connection that sends nothing
 * costs a pollfd and a struct conn. Returns true when connection i
 * left the poll set. */
static bool on_readable(struct server *s, struct loop *l, int i)
{
    struct conn *c = l->conns[i];
    struct http_request req;
    char first[HEAD_MAX_BYTES];

    if (c->linger_end != 0)
        return linger_read(s, l, i);
    char *into = c->buf != NULL ? c->buf + c->len : first;
    ssize_t n = read(c->fd, into, HEAD_MAX_BYTES - c->len);
    if (n < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false; /* nothing there after all */
    if (n <= 0) {
        end_unanswered(s, l, i, n == 0 ? 0 : errno);
        return true;
    }
    if (c->buf == NULL) {
        if ((c->buf = malloc(HEAD_MAX_BYTES)) == NULL) {
            fprintf(stderr, "server: out of memory, dropping a "
                            "connection\n");
            loop_remove(l, i);
            loop_close(s, c);
            return true;
        }
        memcpy(c->buf, first, (size_t)n);
    }
    c->len += (size_t)n;
    c->verdict = http_parse(c->buf, c->len, &req);
    if (c->verdict == HTTP_INCOMPLETE)
        return false;
    hand_over(s, l, i);
    return true;
}

/* Polled connection i has run out of time. With part of a head, the
 * loop answers 408 itself: under 256 bytes into an empty send buffer
 * is one write() that cannot block; if even that does not fit, the
 * connection is dropped. Then it lingers in the poll set. With no
 * bytes, it is closed. */
static void expire(struct server *s, struct loop *l, int i,
                   long long now)
{
    struct conn *c = l->conns[i];
    struct http_request req;
    char out[256];

    if (c->len == 0) {
        end_unanswered(s, l, i, ETIMEDOUT);
        return;
    }
    (void)http_parse(c->buf, c->len, &req); /* for the log line */
    bool head_only =
        req.method.len == 4 && memcmp(req.method.ptr, "HEAD", 4) == 0;
    size_t n = http_format_error(out, sizeof out, 408, head_only);
    bool sent = n > 0 && write(c->fd, out, n) == (ssize_t)n;
    http_log("loop", req.line, 408, now - c->start_ms,
             sent ? "" : "the 408 did not fit: dropped");
    c->status = sent ? 408 : 0;
    free(c->buf); /* req.line pointed into it: logged already */
    c->buf = NULL;
    if (!sent || shutdown(c->fd, SHUT_WR) < 0) {
        loop_remove(l, i);
        loop_close(s, c);
        return;
    }
    c->linger_end = now + LINGER_MS;
}

/* Checks the deadline of polled connection i. */
static void check_deadline(struct server *s, struct loop *l, int i,
                           long long now)
{
    struct conn *c = l->conns[i];

    if (c->linger_end != 0) {
        if (now >= c->linger_end) {
            loop_remove(l, i);
            loop_close(s, c);
        }
    } else if (now >= c->start_ms + s->deadline_ms) {
        expire(s, l, i, now);
    }
}

/* How long poll() may wait: until the nearest deadline. A linear scan
 * over every connection; a heap or a timer wheel would find it in
 * O(log n) or O(1), but poll() itself is O(n) per call anyway. */
static int loop_timeout(const struct server *s, const struct loop *l,
                        long long now)
{
    long long next = l->accept_after > now ? l->accept_after : -1;

    if (s->listen_fd < 0) /* stopping: the grace period ends too */
        next = s->grace_end;
    for (int i = 0; i < l->polled; i++) {
        const struct conn *c = l->conns[i];
        long long t = c->linger_end != 0 ? c->linger_end
                                         : c->start_ms + s->deadline_ms;
        if (next < 0 || t < next)
            next = t;
    }
    if (next < 0)
        return -1; /* nothing to time: wait for an event */
    if (next <= now)
        return 0;
    return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

/* Takes one connection from the listener into the poll set, and reads
 * it at once: its request has often arrived with it, which saves a
 * round through poll(). Returns false when there is none to take. */
static bool accept_client(struct server *s, struct loop *l)
{
    static long long last_report;

    int fd = accept(s->listen_fd, NULL, NULL);
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
    struct conn *c = malloc(sizeof *c);
    if (c == NULL || net_set_nonblocking(fd, true) < 0) {
        fprintf(stderr, "server: taking a connection: %s\n",
                c == NULL ? "out of memory" : strerror(errno));
        free(c);
        close(fd);
        return true;
    }
    *c = (struct conn){
        .server = s, .fd = fd, .twin = -1, .start_ms = io_now_ms()};
    pthread_mutex_lock(&s->lock);
    s->accepted++;
    pthread_mutex_unlock(&s->lock);
    loop_add(l, c);
    on_readable(s, l, l->polled - 1);
    return true;
}

/* Whether the loop may take more connections: not when it is full, nor
 * when the queue is, nor while accept() lacks descriptors. Then the
 * kernel's backlog holds new ones. */
static bool accepting(const struct server *s, const struct loop *l,
                      long long now)
{
    return s->listen_fd >= 0 && now >= l->accept_after &&
           l->polled + l->ready_count < LOOP_MAX_CONNECTIONS &&
           l->ready_count < LOOP_READY_MAX;
}

/* The first signal: refuse new connections at once. The loop goes on
 * with those it holds, until each has its verdict or its deadline, or
 * the grace period is over. */
static void begin_stop(struct server *s, struct loop *l)
{
    int running, queued;

    close(s->listen_fd);
    s->listen_fd = -1;
    s->grace_end = io_now_ms() + s->grace_ms;
    pool_counts(s->pool, &running, &queued);
    fprintf(stderr,
            "shutting down: %d running, %d queued, %d sending a "
            "request\n",
            running, queued + l->ready_count, l->polled);
}

/* The wake-up pipe is readable: empties it, and starts the stop if a
 * signal asked for it. */
static void on_wake(struct server *s, struct loop *l)
{
    char bytes[64];

    while (read(s->wake[0], bytes, sizeof bytes) > 0)
        ;
    pthread_mutex_lock(&s->lock);
    bool stopping = s->stopping;
    pthread_mutex_unlock(&s->lock);
    if (stopping && s->listen_fd >= 0)
        begin_stop(s, l);
}

/* The grace period is over while the loop still holds connections:
 * cuts what the workers hold, and ends what the loop holds. */
static void loop_cut(struct server *s, struct loop *l)
{
    cut_all(s); /* shuts down the twins of the ready ones too */
    while (l->polled > 0) {
        struct conn *c = l->conns[l->polled - 1];
        loop_remove(l, l->polled - 1);
        c->cut = true; /* only the loop knows c: no lock needed */
        loop_close(s, c);
    }
    while (l->ready != NULL) { /* on the open list: forget() */
        struct conn *c = l->ready;
        l->ready = c->ready_next;
        close(c->fd);
        forget(c, 0);
    }
    l->ready_tail = NULL;
    l->ready_count = 0;
}

/* One round of the loop, after poll(): reads what is readable and
 * expires what is late (walking the poll set from its end, see
 * loop_remove()), then looks at the pipe and the listener. */
static void loop_round(struct server *s, struct loop *l, bool polled_ok)
{
    /* TODO: one round, after poll(). For each polled connection, from
     * the last to the first (loop_remove() moves the last one into
     * the hole): if poll() said it is readable, on_readable(); if it
     * is still in the poll set, check_deadline(). Then, if the wake-up
     * pipe is readable, on_wake(); if the listener is, accept_client()
     * while accepting() allows, at most LISTEN_BACKLOG of them. Last,
     * submit_ready(). */
    (void)s;
    (void)l;
    (void)polled_ok;
    (void)on_readable;
    (void)check_deadline;
    (void)on_wake;
    (void)accept_client;
    (void)submit_ready;
}

/* The event loop: runs until a signal stops it and every connection it
 * holds has gone to the pool or ended, or the grace period is over. */
static void loop_run(struct server *s, struct loop *l)
{
    /* TODO: while the listener is open or connections remain (polled,
     * or ready and waiting for room in the queue): once the listener
     * is closed and the grace period is over, loop_cut() and return.
     * Otherwise poll() the wake-up pipe, the listener (its fd set to
     * -1 while !accepting(), so that poll() skips it) and every polled
     * connection, for at most loop_timeout() ms; then loop_round(). */
    (void)s;
    (void)l;
    (void)loop_cut;
    (void)accepting;
    (void)loop_timeout;
    (void)loop_round;
}

/* The farewell line of a second signal, on a thread of its own: with
 * stderr on a pipe that nobody reads, this write() never returns. */
static void *farewell_main(void *arg)
{
    static const char msg[] = "server: second signal, exiting now\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);

    (void)arg;
    (void)n; /* nothing to do if even that fails */
    _Exit(1);
}

/* A second signal during the drain: whoever sent it will not wait,
 * not even for stderr. The process ends when the farewell line is
 * written, or FAREWELL_MS from now, whichever comes first. _Exit() is
 * C's name for POSIX _exit(): no atexit() handlers, no stdio flush
 * (which would wait for stderr too). */
static void exit_now(void)
{
    pthread_t farewell;

    if (pthread_create(&farewell, NULL, farewell_main, NULL) == 0)
        poll(NULL, 0, FAREWELL_MS);
    _Exit(1);
}

/* The signal thread: waits for SIGINT or SIGTERM. The first starts the
 * graceful stop; a second, while the server drains, ends the process
 * at once. When main is done, it sets finished and sends the last
 * signal itself, and this thread returns. */
static void *signal_main(void *arg)
{
    struct server *s = arg;
    int sig;

    if (sigwait(&s->signals, &sig) != 0)
        return NULL;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_mutex_unlock(&s->lock);
    if (write(s->wake[1], "", 1) < 0) /* wakes poll() */
        perror("server: write to the wake-up pipe");

    if (sigwait(&s->signals, &sig) != 0)
        return NULL;
    pthread_mutex_lock(&s->lock);
    bool finished = s->finished;
    pthread_mutex_unlock(&s->lock);
    if (!finished)
        exit_now();
    return NULL;
}

/* The grace thread, started when the loop has ended: waits until main
 * has drained the pool, or until the grace period is over, and then
 * cuts whatever is left. It waits in poll() on the wake-up pipe, where
 * main writes when it is done, with a relative timeout: the one timed
 * wait that every POSIX system has (macOS lacks sigtimedwait()). */
static void *grace_main(void *arg)
{
    struct server *s = arg;
    long long end = s->grace_end; /* the loop may have used some */
    struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
    char byte;

    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool drained = s->drained;
        pthread_mutex_unlock(&s->lock);
        long long left = end - io_now_ms();
        if (drained)
            return NULL;
        if (left <= 0)
            break;
        /* Readable: main is done, or the signal's byte; look again. */
        if (poll(&p, 1, (int)left) > 0 &&
            read(s->wake[0], &byte, 1) <= 0)
            break; /* cannot happen (the pipe is open): cut now */
    }
    cut_all(s);
    return NULL;
}

/* The signals that stop the server: SIGINT (Ctrl-C) and SIGTERM. */
static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

int server_block_signals(void)
{
    sigset_t set;

    stop_signals(&set);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Opens the two pipes. Returns 0, or -1 with errno set and none of
 * them open. */
static int open_pipes(struct server *s)
{
    if (pipe(s->wake) < 0)
        return -1;
    if (pipe(s->cancel) == 0) {
        /* Before any worker starts: /sleep then returns once the
         * grace period is over (see io.h). */
        io_set_cancel_fd(s->cancel[0]);
        return 0;
    }
    int saved = errno; /* close() may change errno */
    close(s->wake[0]);
    close(s->wake[1]);
    errno = saved;
    return -1;
}

/* Closes both pipes, once no thread can use them any more. */
static void close_pipes(struct server *s)
{
    io_set_cancel_fd(-1);
    close(s->cancel[0]);
    close(s->cancel[1]);
    close(s->wake[0]);
    close(s->wake[1]);
}

/* Makes the loop's poll set, with room for every connection it may
 * hold; the wake-up pipe and the listener take the first two places.
 * The loop empties the pipe without blocking. Returns 0, or -1 with
 * errno set. */
static int loop_init(struct loop *l, const struct server *s)
{
    if (net_set_nonblocking(s->wake[0], true) < 0)
        return -1;
    l->fds = calloc(LOOP_FIRST + LOOP_MAX_CONNECTIONS, sizeof *l->fds);
    l->conns = calloc(LOOP_MAX_CONNECTIONS, sizeof *l->conns);
    if (l->fds == NULL || l->conns == NULL) {
        free(l->fds);
        free(l->conns);
        errno = ENOMEM;
        return -1;
    }
    l->fds[LOOP_WAKE] =
        (struct pollfd){.fd = s->wake[0], .events = POLLIN};
    l->fds[LOOP_LISTEN] =
        (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
    return 0;
}

/* Starts what the loop needs: its poll set, the pool, the signal
 * thread and the pipes. Returns 0, or -1 after reporting the failure
 * and releasing what it had acquired. */
static int server_start(struct server *s, struct loop *l, int threads,
                        pthread_t *signal_thread)
{
    const char *what;
    int err; /* an error number, kept: cleaning up may change errno */

    stop_signals(&s->signals); /* main has blocked them already */
    /* accept() must never block: the loop would block with it. */
    if (net_set_nonblocking(s->listen_fd, true) < 0) {
        what = "fcntl";
        err = errno;
        goto fail;
    }
    if (open_pipes(s) < 0) {
        what = "pipe";
        err = errno;
        goto fail;
    }
    if (loop_init(l, s) < 0) {
        what = "setting up the loop";
        err = errno;
        goto fail_pipes;
    }
    if ((err = pthread_mutex_init(&s->lock, NULL)) != 0) {
        what = "pthread_mutex_init";
        goto fail_loop;
    }
    if ((s->pool = pool_create(threads, QUEUE_CAPACITY)) == NULL) {
        what = "starting the workers";
        err = errno;
        goto fail_lock;
    }
    err = pthread_create(signal_thread, NULL, signal_main, s);
    if (err != 0) {
        what = "starting the signal thread";
        goto fail_pool;
    }
    return 0;

fail_pool:
    pool_destroy(s->pool);
fail_lock:
    pthread_mutex_destroy(&s->lock);
fail_loop:
    free(l->fds);
    free(l->conns);
fail_pipes:
    close_pipes(s);
fail:
    fprintf(stderr, "server: %s: %s\n", what, strerror(err));
    return -1;
}

/* The rest of the stop, once the loop has ended: finish what the pool
 * holds, cutting what is still open when the grace period is over. */
static void drain(struct server *s)
{
    pthread_t grace;

    int err = pthread_create(&grace, NULL, grace_main, s);
    if (err != 0) { /* then there is no grace period at all */
        fprintf(stderr, "server: starting the grace thread: %s\n",
                strerror(err));
        cut_all(s);
    }
    pool_destroy(s->pool); /* runs the queue dry, joins the workers */
    pthread_mutex_lock(&s->lock);
    s->drained = true;
    pthread_mutex_unlock(&s->lock);
    if (err == 0) {
        if (write(s->wake[1], "", 1) < 0) /* the grace thread waits */
            perror("server: write to the wake-up pipe");
        pthread_join(grace, NULL);
    }
}

int server_run(int listen_fd, const struct server_options *opt)
{
    struct server s = {.listen_fd = listen_fd,
                       .deadline_ms = opt->deadline_s * 1000,
                       .grace_ms = opt->grace_s * 1000};
    struct loop l = {0};
    pthread_t signal_thread;

    if (server_start(&s, &l, opt->threads, &signal_thread) < 0) {
        close(listen_fd);
        return 1;
    }
    /* Until a signal, and then until every connection it holds has
     * gone to the pool or ended; it closes listen_fd at the signal. */
    loop_run(&s, &l);
    drain(&s);
    pthread_mutex_lock(&s.lock);
    s.finished = true;
    pthread_mutex_unlock(&s.lock);
    pthread_kill(signal_thread, SIGTERM); /* its last sigwait() */
    pthread_join(signal_thread, NULL);
    free(l.fds);
    free(l.conns);
    close_pipes(&s);
    pthread_mutex_destroy(&s.lock);
    /* Only main is left: no other thread can write to stderr now. */
    fprintf(stderr,
            "stopped: accepted %ld, served %ld, cut %ld (%ld by the "
            "grace period, %ld by the client or a deadline)\n",
            s.accepted, s.served, s.cut_by_grace + s.cut_other,
            s.cut_by_grace, s.cut_other);
    return 0;
}
