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
#include "conns.h"
#include "io.h"
#include "loop.h"
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct server {
    int listen_fd;
    int wake[2];
    int cancel[2];
    sigset_t signals;
    struct pool *pool;
    struct loop *loop;
    struct conns *conns;
    int grace_ms;
    long long grace_end;
    pthread_t grace;
    bool grace_started;
    pthread_mutex_t lock;
    bool drained;
    bool finished;
};

static void cut_all(struct server *s)
{
    conns_cut(s->conns);
    if (write(s->cancel[1], "", 1) < 0)
        perror("server: write to the cancel pipe");
}

static void *grace_main(void *arg);

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
    loop_stop(s->loop);
    s->grace_end = io_now_ms() + s->grace_ms;
    if (pthread_create(&s->grace, NULL, grace_main, s) == 0)
        s->grace_started = true;
    else
        cut_all(s);

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

/* Starts what the loop needs: its poll set, the pool, the signal
 * thread and the pipes. Returns 0, or -1 after reporting the failure
 * and releasing what it had acquired. */
static int server_start(struct server *s, int threads, int deadline_ms,
                        pthread_t *signal_thread)
{
    const char *what;
    int err; /* an error number, kept: cleaning up may change errno */

    stop_signals(&s->signals); /* main has blocked them already */
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
    s->conns = conns_create();
    s->loop = loop_create(s->listen_fd, s->pool, s->conns, deadline_ms);
    if (s->loop == NULL) {
        what = "loop";
        err = errno;
        goto fail_pool;
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

static void drain(struct server *s)
{
    pool_destroy(s->pool); /* runs the queue dry, joins the workers */
    pthread_mutex_lock(&s->lock);
    s->drained = true;
    pthread_mutex_unlock(&s->lock);
    if (s->grace_started) {
        if (write(s->wake[1], "", 1) < 0) /* the grace thread waits */
            perror("server: write to the wake-up pipe");
        pthread_join(s->grace, NULL);
    }
}

int server_run(int listen_fd, const struct server_options *opt)
{
    struct server s = {.listen_fd = listen_fd,
                       .grace_ms = opt->grace_s * 1000};
    pthread_t signal_thread;

    if (server_start(&s, opt->threads, opt->deadline_s * 1000,
                     &signal_thread) < 0) {
        close(listen_fd);
        return 1;
    }
    loop_run(s.loop);
    drain(&s);
    pthread_mutex_lock(&s.lock);
    s.finished = true;
    pthread_mutex_unlock(&s.lock);
    pthread_kill(signal_thread, SIGTERM); /* its last sigwait() */
    pthread_join(signal_thread, NULL);
    loop_destroy(s.loop);
    close_pipes(&s);
    pthread_mutex_destroy(&s.lock);
    conns_report(s.conns);
    conns_destroy(s.conns);
    return 0;
}
