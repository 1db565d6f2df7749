/*
 * stop.c - how a signal becomes a stop, and how long a stop may take.
 *
 * A thread waits for SIGINT and SIGTERM in sigwait(): the first runs
 * the step's stop hook and wakes whoever polls the wake-up pipe, a
 * second ends the process at once. When the grace period is over, the
 * grace thread runs the step's cut hook and makes the cancel pipe
 * readable, which ends a /sleep.
 */
#include "stop.h"

#include "config.h"
#include "io.h"
#include "net.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct stop {
    struct stop_hooks hooks;
    sigset_t signals; /* SIGINT and SIGTERM */
    int wake[2];      /* self-pipe: a byte in it means "look again" */
    int cancel[2];    /* readable once the grace period is over */
    /* Written by main only (grace_end before the grace thread). */
    pthread_t signal_thread, grace_thread;
    bool watching, timing; /* whether each thread runs */
    long long grace_end;   /* set before the grace thread starts */
    /* Locking it fails only when misused: not checked, as in pool.c */
    pthread_mutex_t lock; /* guards the fields below */
    bool requested;       /* the first signal came */
    bool drained;         /* main is done with the drain */
    bool finished;        /* main is done: next signal is its own */
};

/* ---- The signals ---- */

/* The signals that stop the server: SIGINT (Ctrl-C) and SIGTERM. */
static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

int stop_block_signals(void)
{
    sigset_t set;

    stop_signals(&set);
    int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (err != 0)
        fprintf(stderr, "server: pthread_sigmask: %s\n", strerror(err));
    return err == 0 ? 0 : -1;
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

/* Whether main is done; then a signal is its own, sent to end us. */
static bool finished(struct stop *st)
{
    pthread_mutex_lock(&st->lock);
    bool done = st->finished;
    pthread_mutex_unlock(&st->lock);
    return done;
}

/* The signal thread: the first signal starts the graceful stop; a
 * second, while the server drains, ends the process at once. When
 * main is done, it sets finished and sends the last signal itself,
 * and this thread returns. */
static void *signal_main(void *arg)
{
    struct stop *st = arg;
    int sig;

    if (sigwait(&st->signals, &sig) != 0 || finished(st))
        return NULL;
    /* The hook first: whoever sees the stop requested may free what
     * the hook touches. */
    if (st->hooks.stop != NULL)
        st->hooks.stop(st->hooks.arg);
    pthread_mutex_lock(&st->lock);
    st->requested = true;
    pthread_mutex_unlock(&st->lock);
    stop_wake(st); /* wakes poll() */

    if (sigwait(&st->signals, &sig) != 0)
        return NULL;
    if (!finished(st))
        exit_now();
    return NULL;
}

int stop_watch_signals(struct stop *st)
{
    int err = pthread_create(&st->signal_thread, NULL, signal_main, st);

    st->watching = err == 0;
    return err;
}

bool stop_requested(struct stop *st)
{
    pthread_mutex_lock(&st->lock);
    bool requested = st->requested;
    pthread_mutex_unlock(&st->lock);
    return requested;
}

/* ---- The wake-up pipe ---- */

int stop_wake_fd(const struct stop *st)
{
    return st->wake[0];
}

void stop_wake(struct stop *st)
{
    /* Both ends are non-blocking: a full pipe (EAGAIN) holds bytes
     * enough, whoever polls it will look again anyway. */
    if (write(st->wake[1], "", 1) < 0 && errno != EAGAIN &&
        errno != EWOULDBLOCK)
        perror("server: write to the wake-up pipe");
}

void stop_take_wakes(struct stop *st)
{
    char bytes[64];

    while (read(st->wake[0], bytes, sizeof bytes) > 0)
        ;
}

void stop_wait(struct stop *st, int fd, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = st->wake[0], .events = POLLIN},
                            {.fd = fd, .events = POLLIN}};

    /* poll() skips a descriptor of -1. Its failure (EINTR) is a
     * wake-up like any other: the caller looks again. */
    if (poll(fds, 2, timeout_ms) > 0 && fds[0].revents != 0)
        stop_take_wakes(st);
}

/* ---- The grace period ---- */

void stop_cut(struct stop *st)
{
    if (st->hooks.cut != NULL)
        st->hooks.cut(st->hooks.arg);
    /* Wakes work that waits for no socket: a running /sleep. */
    if (write(st->cancel[1], "", 1) < 0)
        perror("server: write to the cancel pipe");
}

/* The grace thread: waits until main has drained, or until the grace
 * period is over, and then cuts whatever is left. It waits in poll()
 * on the wake-up pipe, where main writes when it is done, with a
 * relative timeout: the one timed wait that every POSIX system has
 * (macOS lacks sigtimedwait()). */
static void *grace_main(void *arg)
{
    struct stop *st = arg;
    struct pollfd p = {.fd = st->wake[0], .events = POLLIN};

    for (;;) {
        pthread_mutex_lock(&st->lock);
        bool drained = st->drained;
        pthread_mutex_unlock(&st->lock);
        long long left = st->grace_end - io_now_ms();
        if (drained)
            return NULL;
        if (left <= 0)
            break;
        /* Readable: main is done, or another byte; look again. */
        if (poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left) > 0)
            stop_take_wakes(st);
    }
    stop_cut(st);
    return NULL;
}

void stop_grace_begin(struct stop *st, long long end_ms)
{
    st->grace_end = end_ms;
    int err = pthread_create(&st->grace_thread, NULL, grace_main, st);
    st->timing = err == 0;
    if (err != 0) { /* then there is no grace period at all */
        fprintf(stderr, "server: starting the grace thread: %s\n",
                strerror(err));
        stop_cut(st);
    }
}

void stop_grace_end(struct stop *st)
{
    pthread_mutex_lock(&st->lock);
    st->drained = true;
    pthread_mutex_unlock(&st->lock);
    if (st->timing) {
        stop_wake(st); /* the grace thread waits in poll() */
        pthread_join(st->grace_thread, NULL);
        st->timing = false;
    }
}

/* ---- Opening and closing ---- */

/* Closes both ends of a pipe, keeping errno. */
static void close_pipe(int p[2])
{
    int saved = errno; /* close() may change errno */

    close(p[0]);
    close(p[1]);
    errno = saved;
}

/* Opens both pipes. Returns 0, or -1 with errno set, *failed_call
 * naming the call, and none of them open. */
static int open_pipes(struct stop *st, const char **failed_call)
{
    *failed_call = "pipe";
    if (pipe(st->wake) < 0)
        return -1;
    if (pipe(st->cancel) < 0) {
        close_pipe(st->wake);
        return -1;
    }
    *failed_call = "fcntl";
    if (net_set_nonblocking(st->wake[0], true) == 0 &&
        net_set_nonblocking(st->wake[1], true) == 0)
        return 0;
    close_pipe(st->cancel);
    close_pipe(st->wake);
    return -1;
}

struct stop *stop_open(struct stop_hooks hooks,
                       const char **failed_call)
{
    struct stop *st = calloc(1, sizeof *st);

    if (st == NULL) {
        *failed_call = "calloc";
        return NULL;
    }
    st->hooks = hooks;
    stop_signals(&st->signals); /* main has blocked them already */
    if (open_pipes(st, failed_call) < 0) {
        free(st);
        return NULL;
    }
    int err = pthread_mutex_init(&st->lock, NULL);
    if (err != 0) {
        close_pipe(st->cancel);
        close_pipe(st->wake);
        free(st);
        *failed_call = "pthread_mutex_init";
        errno = err;
        return NULL;
    }
    /* Before any worker starts: /sleep then returns once the grace
     * period is over (see io.h). */
    io_set_cancel_fd(st->cancel[0]);
    return st;
}

void stop_close(struct stop *st)
{
    if (st->watching) {
        pthread_mutex_lock(&st->lock);
        st->finished = true;
        pthread_mutex_unlock(&st->lock);
        pthread_kill(st->signal_thread, SIGTERM); /* its last wait */
        pthread_join(st->signal_thread, NULL);
    }
    io_set_cancel_fd(-1);
    close_pipe(st->cancel);
    close_pipe(st->wake);
    pthread_mutex_destroy(&st->lock);
    free(st);
}
