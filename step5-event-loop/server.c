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
 * gracefully, everything accepted is served, workers are joined.
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
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int server_listen(int port, int *bound_port, const char **failed_call)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    socklen_t addr_len = sizeof addr;
    int one = 1;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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

/* Everything the loop, the workers and the signal thread share.
 * Set up before the threads start, except the fields under lock. */
/* HTTP statuses are below this. */
enum { STATUS_END = 600 };

struct server {
    int listen_fd;        /* the loop's; closed first when stopping */
    int wake[2];          /* self-pipe: a byte means "look again" */
    sigset_t signals;     /* SIGINT and SIGTERM */
    struct pool *pool;    /* the workers and their queue */
    int deadline_ms;      /* -T, in milliseconds */
    pthread_mutex_t lock; /* guards the fields below */
    long served[STATUS_END]; /* connections by status; [0]: none */
    bool stopping;           /* a signal came: stop accepting */
    bool wants_room;         /* the loop waits for room in the queue */
    bool finished;           /* main is done: next signal is its own */
};

/* Counts a connection that ended with status (0: none sent). */
static void count(struct server *s, int status)
{
    pthread_mutex_lock(&s->lock);
    s->served[status < 0 ? -status : status]++;
    pthread_mutex_unlock(&s->lock);
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

/* Gets a connection whose head has a verdict ready for a worker.
 * Returns 0, or -1 after reporting why. */
static int prepare_client(const struct server *s, int fd)
{
    struct timeval send_timeout = {.tv_sec = s->deadline_ms / 1000};
    int flags = fcntl(fd, F_GETFL);

    /* The loop polled it non-blocking; a worker's HTTP layer wants a
     * blocking one. */
    if (flags < 0 ||
        ((flags & O_NONBLOCK) &&
         fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) ||
        /* A write that makes no progress for -T seconds fails, so a
         * client that stops reading cannot hold a worker. */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
                   sizeof send_timeout) < 0) {
        fprintf(stderr, "server: preparing a connection: %s\n",
                strerror(errno));
        return -1;
    }
    return 0;
}

/* One accepted connection. The loop owns it, and fd, until its head
 * has a verdict; from then on the job that serves it does. */
struct conn {
    struct server *server;
    int fd;               /* non-blocking while the loop polls it */
    long long start_ms;   /* accept(): the deadline counts from here */
    char *buf;            /* the head; NULL until its first byte */
    size_t len;           /* bytes in buf */
    long verdict;         /* http_parse() on buf[0..len) */
    long long linger_end; /* 408 sent: drain until then; 0: not yet */
    long drained;         /* bytes read and dropped while lingering */
    struct conn *next;    /* the next one in the loop's ready list */
};

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c->buf);
    free(c);
}

/* A job for the pool. It owns c and c->fd. The loop has read the head;
 * the worker only answers it. */
static void conn_job(void *arg, int worker)
{
    struct conn *c = arg;
    struct server *s = c->server;
    char who[32];

    room_made(s); /* this job has left the queue */
    snprintf(who, sizeof who, "worker %d", worker);
    int status = http_respond(c->fd, c->buf, c->len, c->verdict, 0,
                              c->start_ms, who); /* closes fd */
    free(c->buf);
    free(c);
    count(s, status);
}

/* What only the loop's thread touches, so it needs no lock. Polled
 * connection i is conns[i]; its pollfd is fds[LOOP_FIRST + i]. */
struct loop {
    struct pollfd *fds;  /* the wake-up pipe, the listener, conns */
    struct conn **conns; /* the connections still sending a head */
    int polled;          /* how many */
    struct conn *ready;  /* FIFO of connections the queue had no room
                            for: their next fields link them */
    struct conn *ready_tail;
    int ready_count;
    long long accept_after; /* accept() lacked fds: pause until then */
    long long stop_at;      /* the stop began (0: not yet) */
};

enum { LOOP_WAKE, LOOP_LISTEN, LOOP_FIRST };

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
        if (pool_try_submit(s->pool, conn_job, c) < 0) {
            /* Full. Ask for a wake-up, then try once more: a worker
             * that made room before it saw wants_room sends none. */
            pthread_mutex_lock(&s->lock);
            s->wants_room = true;
            pthread_mutex_unlock(&s->lock);
            if (pool_try_submit(s->pool, conn_job, c) < 0)
                return;
        }
        l->ready = c->next; /* the job owns c now */
        l->ready_count--;
    }
    l->ready_tail = NULL;
}

/* The head of polled connection i has its verdict: out of the poll
 * set, blocking again, and on to the pool through the FIFO. */
static void hand_over(struct server *s, struct loop *l, int i)
{
    struct conn *c = l->conns[i];

    loop_remove(l, i);
    if (prepare_client(s, c->fd) < 0) {
        conn_close(c);
        count(s, 0);
        return;
    }
    c->next = NULL;
    if (l->ready_tail != NULL)
        l->ready_tail->next = c;
    else
        l->ready = c;
    l->ready_tail = c;
    l->ready_count++;
    submit_ready(s, l);
}

/* Polled connection i ends without a response (the client closed, or
 * sent nothing before its deadline): read_errno says why, as for
 * http_respond(), which logs it and closes without blocking. */
static void end_unanswered(struct server *s, struct loop *l, int i,
                           int read_errno)
{
    struct conn *c = l->conns[i];

    loop_remove(l, i);
    int status = http_respond(c->fd, c->buf, c->len, HTTP_INCOMPLETE,
                              read_errno, c->start_ms, "loop");
    free(c->buf);
    free(c);
    count(s, status);
}

/* Lingering close, inside the loop: reads and drops what the client
 * still sends after its 408. Returns true when the connection ended:
 * end of stream, an error, or LINGER_MAX_BYTES read. */
static bool linger_read(struct loop *l, int i)
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
    conn_close(c);
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
    struct http_request req = {.content_length = -1};
    char first[HEAD_MAX_BYTES];

    if (c->linger_end != 0)
        return linger_read(l, i);
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
            fprintf(stderr, "server: out of memory, dropping "
                            "connection\n");
            loop_remove(l, i);
            conn_close(c);
            count(s, 0);
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
    struct http_request req = {.content_length = -1};
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
    count(s, sent ? 408 : -408);
    free(c->buf);
    c->buf = NULL;
    if (!sent || shutdown(c->fd, SHUT_WR) < 0) {
        loop_remove(l, i);
        conn_close(c);
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
            conn_close(c);
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

    for (int i = 0; i < l->polled; i++) {
        const struct conn *c = l->conns[i];
        long long t = c->linger_end != 0 ? c->linger_end
                                         : c->start_ms + s->deadline_ms;
        if (next < 0 || t < next)
            next = t;
    }
    if (next < 0)
        return -1; /* nothing to time: wait for an event */
    return next <= now            ? 0
           : next - now > INT_MAX ? INT_MAX
                                  : (int)(next - now);
}

/* Accepts what the listener has, up to the loop's limits, and reads
 * each new connection at once: its request has often arrived with it,
 * which saves a round through poll(). */
static void accept_clients(struct server *s, struct loop *l)
{
    static long long last_report;

    for (int k = 0; k < LISTEN_BACKLOG; k++) {
        if (l->polled + l->ready_count >= LOOP_MAX_CONNECTIONS ||
            l->ready_count >= LOOP_READY_MAX)
            return;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            /* Usually EMFILE or ENFILE. The connection stays in the
             * backlog, so polling the listener again would spin:
             * leave it out of the poll set for a while. */
            if (io_now_ms() - last_report >= 1000) {
                fprintf(stderr,
                        "server: accept: %s (retrying every %d ms)\n",
                        strerror(errno), ACCEPT_BACKOFF_MS);
                last_report = io_now_ms();
            }
            l->accept_after = io_now_ms() + ACCEPT_BACKOFF_MS;
        }
        if (fd < 0)
            return;
        struct conn *c = calloc(1, sizeof *c);
        int flags = fcntl(fd, F_GETFL);
        if (c == NULL || flags < 0 ||
            fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            fprintf(stderr, "server: taking a connection: %s\n",
                    c == NULL ? "out of memory" : strerror(errno));
            free(c);
            close(fd);
            continue;
        }
        *c = (struct conn){
            .server = s, .fd = fd, .start_ms = io_now_ms()};
        loop_add(l, c);
        on_readable(s, l, l->polled - 1);
    }
}

/* The first signal: refuse new connections at once. */
static void begin_stop(struct server *s, struct loop *l)
{
    int running, queued;

    close(s->listen_fd);
    s->listen_fd = -1;
    l->stop_at = io_now_ms();
    pool_counts(s->pool, &running, &queued);
    fprintf(stderr,
            "shutting down: %d running, %d queued, %d reading\n",
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

/* The event loop: until a signal stops it and every connection it
 * holds has gone to the pool or ended. One round: poll, then read
 * what is readable, expire what is late, accept, submit. */
static void loop_run(struct server *s, struct loop *l)
{
    while (s->listen_fd >= 0 || l->polled > 0 || l->ready != NULL) {
        long long now = io_now_ms();
        /* The listener is left out (fd -1) when the loop is full, or
         * while accept() lacks descriptors. */
        bool accepting =
            s->listen_fd >= 0 && now >= l->accept_after &&
            l->polled + l->ready_count < LOOP_MAX_CONNECTIONS &&
            l->ready_count < LOOP_READY_MAX;
        l->fds[LOOP_LISTEN].fd = accepting ? s->listen_fd : -1;
        int n = poll(l->fds, (nfds_t)(LOOP_FIRST + l->polled),
                     loop_timeout(s, l, now));
        if (n < 0 && errno != EINTR) {
            perror("server: poll");
            io_sleep_ms(ACCEPT_BACKOFF_MS); /* rather than spin */
            continue;
        }
        now = io_now_ms();
        for (int i = l->polled - 1; i >= 0; i--) {
            if (n > 0 && l->fds[LOOP_FIRST + i].revents != 0 &&
                on_readable(s, l, i))
                continue;
            check_deadline(s, l, i, now);
        }
        if (n > 0 && l->fds[LOOP_WAKE].revents != 0)
            on_wake(s, l);
        if (n > 0 && accepting && s->listen_fd >= 0 &&
            l->fds[LOOP_LISTEN].revents != 0)
            accept_clients(s, l);
        submit_ready(s, l);
    }
}

/* A second signal during the drain: whoever sent it will not wait. */
static void exit_now(void)
{
    static const char msg[] = "server: second signal, exiting now\n";

    /* write(), not fprintf(): another thread may hold stderr's lock,
     * and _exit() does not wait for it either. */
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n; /* nothing to do if even that fails */
    _exit(1);
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

/* Makes fd non-blocking. Returns 0, or -1 with errno set. */
static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Makes the loop's poll set, with room for every connection it may
 * hold; the wake-up pipe and the listener take the first two places.
 * Returns 0, or -1 with errno set. */
static int loop_init(struct loop *l, const struct server *s)
{
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

/* Starts what the loop needs: the poll set, the pool, the signal
 * thread and the pipe between them. Returns 0, or -1 after reporting
 * the failure and releasing what it had acquired. */
static int server_start(struct server *s, struct loop *l, int threads,
                        pthread_t *signal_thread)
{
    const char *what;
    int err; /* an error number, kept: cleaning up may change errno */

    stop_signals(&s->signals); /* main has blocked them already */
    /* accept() must never block: the loop would stop with it. */
    if (set_nonblocking(s->listen_fd) < 0) {
        what = "fcntl";
        err = errno;
        goto fail;
    }
    if (pipe(s->wake) < 0) {
        what = "pipe";
        err = errno;
        goto fail;
    }
    /* The loop empties the pipe without blocking. */
    if (set_nonblocking(s->wake[0]) < 0 || loop_init(l, s) < 0) {
        what = "setting up the loop";
        err = errno;
        goto fail_pipe;
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
fail_pipe:
    close(s->wake[0]);
    close(s->wake[1]);
fail:
    fprintf(stderr, "server: %s: %s\n", what, strerror(err));
    return -1;
}

/* The last line: how many connections ended with which status. Only
 * main is left, so several fprintf() calls cannot mix with others. */
static void print_summary(const struct server *s)
{
    const char *sep = " (";
    long total = 0;

    for (int status = 0; status < STATUS_END; status++)
        total += s->served[status];
    fprintf(stderr, "stopped: served %ld connection%s", total,
            total == 1 ? "" : "s");
    for (int status = 1; status < STATUS_END; status++) {
        if (s->served[status] > 0) {
            fprintf(stderr, "%s%d: %ld", sep, status,
                    s->served[status]);
            sep = ", ";
        }
    }
    if (s->served[0] > 0)
        fprintf(stderr, "%sno response: %ld", sep, s->served[0]);
    fprintf(stderr, "%s\n", total > 0 ? ")" : "");
}

int server_run(int listen_fd, const struct server_options *opt)
{
    struct server s = {.listen_fd = listen_fd,
                       .deadline_ms = opt->deadline_s * 1000};
    struct loop l = {0};
    pthread_t signal_thread;

    if (server_start(&s, &l, opt->threads, &signal_thread) < 0) {
        close(listen_fd);
        return 1;
    }
    /* Until a signal, and then until every connection it held has gone
     * to the pool or ended; it closes listen_fd at the signal. */
    loop_run(&s, &l);
    pool_destroy(s.pool); /* runs the queue dry, joins the workers */
    pthread_mutex_lock(&s.lock);
    s.finished = true;
    pthread_mutex_unlock(&s.lock);
    pthread_kill(signal_thread, SIGTERM); /* its last sigwait() */
    pthread_join(signal_thread, NULL);
    close(s.wake[0]);
    close(s.wake[1]);
    free(l.fds);
    free(l.conns);
    pthread_mutex_destroy(&s.lock);
    print_summary(&s);
    return 0;
}
