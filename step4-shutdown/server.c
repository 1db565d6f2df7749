/*
 * server.c - step 4: a thread pool that stops cleanly.
 *
 * As in step 3, the accept loop queues connections for -t workers. New:
 *  - SIGINT or SIGTERM stops the server gracefully. The accept loop
 *    closes the listening socket, every connection already accepted is
 *    served, the workers are joined and everything is freed.
 *  - Every request has a deadline (-T): a client that sends its
 *    request too slowly, or stops reading the response, loses its
 *    worker after -T seconds instead of holding it for ever.
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
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

/* Everything the accept loop, the workers and the signal thread share.
 * Set up before the threads start, except the fields under lock. */
/* HTTP statuses are below this. */
enum { STATUS_END = 600 };

struct server {
    int listen_fd;           /* closed first when stopping */
    int wake[2];             /* self-pipe: a byte in it means "stop" */
    sigset_t signals;        /* SIGINT and SIGTERM */
    struct pool *pool;       /* the workers and their queue */
    int deadline_ms;         /* -T, in milliseconds */
    pthread_mutex_t lock;    /* guards served and finished */
    long served[STATUS_END]; /* connections by status; [0]: none */
    bool finished;           /* main is done: next signal is its own */
};

/* accept_client() returns this once the server should stop. */
enum { ACCEPT_STOP = -2 };

/* Gets an accepted socket ready for http_serve(). Returns fd, or -1
 * after closing it. */
static int prepare_client(const struct server *s, int fd)
{
    struct timeval send_timeout = {.tv_sec = s->deadline_ms / 1000};
    int flags = fcntl(fd, F_GETFL);

    /* On BSD and macOS a socket inherits O_NONBLOCK from the listening
     * socket (not on Linux); the HTTP layer wants a blocking one. */
    if (flags < 0 ||
        ((flags & O_NONBLOCK) &&
         fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) ||
        /* A write that makes no progress for -T seconds fails, so a
         * client that stops reading cannot hold a worker. */
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
static int accept_client(const struct server *s)
{
    static long long last_report;
    struct pollfd fds[2] = {{.fd = s->wake[0], .events = POLLIN},
                            {.fd = s->listen_fd, .events = POLLIN}};

    /* The listening socket is non-blocking: accept() takes a waiting
     * connection, or fails at once with EAGAIN when there is none.
     * Then this thread waits in poll() for a connection or the stop,
     * whichever comes first; a thread blocked in accept() could not
     * be woken. (While connections keep coming, the stop arrives
     * through pool_submit() instead.) */
    int fd = accept(s->listen_fd, NULL, NULL);
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

/* The argument of a job: the connection to serve. */
struct conn {
    struct server *server;
    int fd;
};

/* Serves c, frees it, and counts the status sent. */
static void serve(struct conn *c, const char *who)
{
    struct server *s = c->server;

    int status = http_serve(c->fd, who, s->deadline_ms); /* closes fd */
    if (status < 0)
        status = -status; /* sent in part: counted as sent, for now */
    free(c);
    pthread_mutex_lock(&s->lock);
    s->served[status]++;
    pthread_mutex_unlock(&s->lock);
}

/* A job for the pool. It owns c and c->fd. */
static void conn_job(void *arg, int worker)
{
    char who[32];

    snprintf(who, sizeof who, "worker %d", worker);
    serve(arg, who);
}

/* Queues the connection fd as a job, waiting while the queue is full.
 * From here on the job owns fd. Returns NULL; or, when the pool has
 * stopped, the connection, still to be served by the caller. */
static struct conn *dispatch(struct server *s, int fd)
{
    struct conn *c = malloc(sizeof *c);

    if (c == NULL) {
        fprintf(stderr, "server: out of memory, dropping connection\n");
        close(fd);
        return NULL;
    }
    *c = (struct conn){.server = s, .fd = fd};
    return pool_submit(s->pool, conn_job, c) == 0 ? NULL : c;
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

/* Starts what the accept loop needs: the pool, the signal thread and
 * the pipe between them. Returns 0, or -1 after reporting the failure
 * and releasing what it had acquired. */
static int server_start(struct server *s, int threads,
                        pthread_t *signal_thread)
{
    const char *what;
    int err; /* an error number, kept: cleaning up may change errno */

    stop_signals(&s->signals); /* main has blocked them already */
    /* accept() must never block: see accept_client(). */
    int flags = fcntl(s->listen_fd, F_GETFL);
    if (flags < 0 ||
        fcntl(s->listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        what = "fcntl";
        err = errno;
        goto fail;
    }
    if (pipe(s->wake) < 0) {
        what = "pipe";
        err = errno;
        goto fail;
    }
    if ((err = pthread_mutex_init(&s->lock, NULL)) != 0) {
        what = "pthread_mutex_init";
        goto fail_pipe;
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
    struct conn *held = NULL; /* accepted, but the pool had stopped */
    pthread_t signal_thread;
    int running, queued;

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

    /* The stop: refuse new connections first, then finish every one
     * already accepted, then release everything. */
    close(listen_fd);
    pool_counts(s.pool, &running, &queued);
    fprintf(stderr, "shutting down: %d running, %d queued\n", running,
            queued + (held != NULL));
    if (held != NULL)
        serve(held, "main");
    pool_destroy(s.pool); /* runs the queue dry, joins the workers */
    pthread_mutex_lock(&s.lock);
    s.finished = true;
    pthread_mutex_unlock(&s.lock);
    pthread_kill(signal_thread, SIGTERM); /* its last sigwait() */
    pthread_join(signal_thread, NULL);
    close(s.wake[0]);
    close(s.wake[1]);
    pthread_mutex_destroy(&s.lock);
    print_summary(&s);
    return 0;
}
