/*
 * server.c - step 4: a thread pool that stops cleanly.
 *
 * As in step 3, the accept loop queues connections for -t workers. New:
 *  - SIGINT or SIGTERM stops the server gracefully. The accept loop
 *    closes the listening socket, every connection already accepted is
 *    served, the workers are joined and everything is freed.
 *  - The stop has a bound: when the grace period (-G) is over, every
 *    connection still open is cut, whatever its client is doing.
 *  - Every request has a deadline (-T): a client that sends its
 *    request too slowly loses its worker after -T seconds, one that
 *    stops reading the response after a few -T, instead of holding it
 *    for ever.
 *
 * How a signal reaches the accept loop: SIGINT and SIGTERM are blocked
 * in every thread, and one thread waits for them in sigwait(). When one
 * comes, it stops the pool (which wakes an accept loop waiting for
 * room in the queue) and writes a byte to a pipe that the accept loop
 * polls (which wakes it in poll()). No signal handler is needed, so
 * the code that reacts may lock mutexes and call anything it likes.
 */
#include "server.h"

#include "config.h"
#include "http.h"
#include "io.h"
#include "net.h"
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* An accepted connection, and the argument of its job. fd belongs to
 * serve(), which closes it. twin is a second descriptor for the
 * same socket, which belongs to server.c: the cut at the end of the
 * grace period acts on twin, and twin is closed only once the
 * connection is off the open list, so the cut never touches a closed
 * descriptor, or a number the kernel has given to another file. */
struct conn {
    struct server *server;
    int fd;                   /* serve() closes it */
    int twin;                 /* forget() closes it */
    bool cut;                 /* guarded by server->lock */
    struct conn *prev, *next; /* guarded by server->lock: open list */
};

/* Everything the accept loop, the workers and the signal and grace
 * threads share. Set up before the threads start, except the fields
 * under lock. */
struct server {
    int listen_fd;     /* closed first when stopping */
    int wake[2];       /* self-pipe: a byte in it means "look again" */
    int cancel[2];     /* readable once the grace period is over */
    int spare;         /* the next connection's twin, or -1 */
    sigset_t signals;  /* SIGINT and SIGTERM */
    struct pool *pool; /* the workers and their queue */
    int deadline_ms;   /* -T, in milliseconds */
    int grace_ms;      /* -G, in milliseconds */
    pthread_mutex_t lock; /* guards the fields below */
    struct conn *open;    /* accepted and not closed yet */
    long accepted, served, cut_by_grace, cut_other;
    bool drained;  /* main has joined the workers */
    bool finished; /* main is done: next signal is its own */
};

/* accept_client() returns this once the server should stop. */
enum { ACCEPT_STOP = -2 };

/* Gets an accepted socket ready for http_serve(). Returns fd, or -1
 * after closing it. */
static int prepare_client(const struct server *s, int fd)
{
    struct timeval send_timeout = {.tv_sec = s->deadline_ms / 1000};

    /* On BSD and macOS a socket inherits O_NONBLOCK from the listening
     * socket (not on Linux); the HTTP layer wants a blocking one. */
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
        close(fd);
        return -1;
    }
    return fd;
}

/* Takes the next connection. Returns its descriptor, -1 when there
 * was none to take and the caller should simply call again, or
 * ACCEPT_STOP once a signal has asked the server to stop. */
static int accept_client(struct server *s)
{
    static long long last_report;
    struct pollfd fds[2] = {{.fd = s->wake[0], .events = POLLIN},
                            {.fd = s->listen_fd, .events = POLLIN}};

    /* The descriptor for the next connection's twin is taken first:
     * a connection accepted can then always be tracked, even when
     * descriptors run out. */
    if (s->spare < 0)
        s->spare = dup(s->wake[0]);
    /* The listening socket is non-blocking: accept() takes a waiting
     * connection, or fails at once with EAGAIN when there is none.
     * Then this thread waits in poll() for a connection or the stop,
     * whichever comes first; a thread blocked in accept() could not
     * be woken. (While connections keep coming, the stop arrives
     * through pool_submit() instead.) */
    int fd = s->spare < 0 ? -1 : accept(s->listen_fd, NULL, NULL);
    if (fd >= 0)
        return prepare_client(s, fd);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        int n = poll(fds, 2, -1);
        if (n > 0 && fds[0].revents != 0)
            return ACCEPT_STOP;
        if (n >= 0 || errno == EINTR)
            return -1;
    }
    if (errno == EINTR || errno == ECONNABORTED)
        return -1;
    /* Usually EMFILE or ENFILE: no descriptor left for a new socket.
     * The connection stays in the backlog, so the listening socket
     * stays readable and polling it again would spin at 100% CPU.
     * Report it at most once a second, and wait a little for the
     * stop only. */
    if (io_now_ms() - last_report >= 1000) {
        fprintf(stderr, "server: accept: %s (retrying every %d ms)\n",
                strerror(errno), ACCEPT_BACKOFF_MS);
        last_report = io_now_ms();
    }
    return poll(fds, 1, ACCEPT_BACKOFF_MS) > 0 ? ACCEPT_STOP : -1;
}

/* Puts c on the open list, where the cut can find it. */
static void track(struct server *s, struct conn *c)
{
    pthread_mutex_lock(&s->lock);
    c->next = s->open;
    if (s->open != NULL)
        s->open->prev = c;
    s->open = c;
    s->accepted++;
    pthread_mutex_unlock(&s->lock);
}

/* Takes c, closed by serve(), off the open list, counts how it
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
    close(c->twin); /* off the list: the cut can no longer reach it */
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

/* Serves c and forgets it. A connection cut at the end of the grace
 * period, running or still queued, ends at once in http_serve(). */
static void serve(struct conn *c, const char *who)
{
    int status = http_serve(c->fd, who, c->server->deadline_ms);

    close(c->fd);
    forget(c, status);
}

/* A job for the pool. It owns c and c->fd. */
static void conn_job(void *arg, int worker)
{
    char who[32];

    snprintf(who, sizeof who, "worker %d", worker);
    serve(arg, who);
}

/* Tracks the connection fd and queues it as a job, waiting while the
 * queue is full. From here on the job owns fd. Returns NULL; or, when
 * the pool has stopped, the connection, still to be served by the
 * caller. */
static struct conn *dispatch(struct server *s, int fd)
{
    struct conn *c = malloc(sizeof *c);

    /* dup2() onto the spare descriptor cannot run out of them. */
    if (c == NULL || dup2(fd, s->spare) < 0) {
        fprintf(stderr, "server: %s, dropping a connection\n",
                c == NULL ? "out of memory" : strerror(errno));
        free(c);
        close(fd);
        return NULL;
    }
    *c = (struct conn){.server = s, .fd = fd, .twin = s->spare};
    s->spare = -1;
    track(s, c);
    return pool_submit(s->pool, conn_job, c) == 0 ? NULL : c;
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
    pool_stop(s->pool); /* wakes a pool_submit() waiting for room */
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

/* The grace thread, started when the stop begins: waits until main
 * has drained the pool, or until the grace period is over, and then
 * cuts whatever is left. It waits in poll() on the wake-up pipe, where
 * main writes when it is done, with a relative timeout: the one timed
 * wait that every POSIX system has (macOS lacks sigtimedwait()). */
static void *grace_main(void *arg)
{
    struct server *s = arg;
    long long end = io_now_ms() + s->grace_ms;
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

/* Starts what the accept loop needs: the pool, the signal thread and
 * the pipes. Returns 0, or -1 after reporting the failure and
 * releasing what it had acquired. */
static int server_start(struct server *s, int threads,
                        pthread_t *signal_thread)
{
    const char *what;
    int err; /* an error number, kept: cleaning up may change errno */

    stop_signals(&s->signals); /* main has blocked them already */
    /* accept() must never block: see accept_client(). */
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
    if ((err = pthread_mutex_init(&s->lock, NULL)) != 0) {
        what = "pthread_mutex_init";
        goto fail_pipes;
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
fail_pipes:
    close_pipes(s);
fail:
    fprintf(stderr, "server: %s: %s\n", what, strerror(err));
    return -1;
}

/* The stop: refuse new connections first, then finish every one
 * already accepted, cutting those still open when the grace period
 * is over. */
static void drain(struct server *s, struct conn *held)
{
    pthread_t grace;
    int running, queued;

    close(s->listen_fd);
    int err = pthread_create(&grace, NULL, grace_main, s);
    if (err != 0) { /* then there is no grace period at all */
        fprintf(stderr, "server: starting the grace thread: %s\n",
                strerror(err));
        cut_all(s);
    }
    pool_counts(s->pool, &running, &queued);
    fprintf(stderr, "shutting down: %d running, %d queued\n", running,
            queued + (held != NULL));
    if (held != NULL)
        serve(held, "main");
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
                       .spare = -1,
                       .deadline_ms = opt->deadline_s * 1000,
                       .grace_ms = opt->grace_s * 1000};
    struct conn *held = NULL; /* accepted, but the pool had stopped */
    pthread_t signal_thread;

    if (server_start(&s, opt->threads, &signal_thread) < 0) {
        close(listen_fd);
        return 1;
    }
    while (held == NULL) {
        int fd = accept_client(&s);
        if (fd == ACCEPT_STOP)
            break;
        if (fd >= 0)
            held = dispatch(&s, fd);
    }
    drain(&s, held);
    pthread_mutex_lock(&s.lock);
    s.finished = true;
    pthread_mutex_unlock(&s.lock);
    pthread_kill(signal_thread, SIGTERM); /* its last sigwait() */
    pthread_join(signal_thread, NULL);
    if (s.spare >= 0)
        close(s.spare);
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
