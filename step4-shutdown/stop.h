/*
 * stop.h - how a signal becomes a stop.
 *
 * The first SIGINT or SIGTERM asks for a graceful stop, a second ends
 * the process at once, and a grace timer bounds the stop. This file
 * knows nothing of pools or loops: each step says what a stop and a
 * cut do there through struct stop_hooks.
 */
#ifndef STOP_H
#define STOP_H

#include <stdbool.h>

/* What a stop does in this step. Each hook runs on a thread of
 * stop.c's, and may lock mutexes (no signal handler is involved). */
struct stop_hooks {
    /* The first signal came (signal thread), before stop_requested()
     * turns true and the wake-up byte is written: e.g. stop the pool.
     * May be NULL. */
    void (*stop)(void *arg);
    /* The grace period is over (grace thread, or stop_cut()'s
     * caller): end every connection still open. May be NULL. */
    void (*cut)(void *arg);
    void *arg; /* given to both */
};

struct stop;

/* Blocks SIGINT and SIGTERM in the calling thread, and so in every
 * thread it starts later. main calls it before any other thread, and
 * before it prints the port: a SIGTERM sent at once then waits for the
 * signal thread, instead of killing the server by its default action.
 * Returns 0, or -1 after saying why. */
int stop_block_signals(void);

/* Opens the wake-up and cancel pipes, and hands the cancel pipe to io
 * (io_set_cancel_fd()): call it before any thread that uses io
 * starts. Returns the stop, or NULL with errno set and *failed_call
 * naming the call that failed ("pipe"). */
struct stop *stop_open(struct stop_hooks hooks,
                       const char **failed_call);

/* Starts the signal thread, once what the hooks touch exists. Returns
 * 0 or an error number. */
int stop_watch_signals(struct stop *st);

/* The read end of the wake-up pipe, non-blocking, for poll(): readable
 * means "look again", after a signal or any stop_wake(). */
int stop_wake_fd(const struct stop *st);

/* Writes one byte to the wake-up pipe. Any thread may call it. */
void stop_wake(struct stop *st);

/* Reads every byte waiting in the wake-up pipe, without blocking. */
void stop_take_wakes(struct stop *st);

/* Whether a signal has asked for the stop (its hook has run). Any
 * thread may ask. */
bool stop_requested(struct stop *st);

/* For a thread that blocks: waits until fd is readable (-1: no fd),
 * timeout_ms has passed (-1: no limit) or a wake-up byte comes, and
 * takes the wake-up bytes. Then ask stop_requested(). */
void stop_wait(struct stop *st, int fd, int timeout_ms);

/* Cuts now: calls the cut hook, then makes the cancel descriptor
 * readable, which ends work that waits on no socket (a /sleep). */
void stop_cut(struct stop *st);

/* Starts the grace timer: at end_ms (an io_now_ms() value), unless
 * stop_grace_end() came first, the grace thread calls stop_cut(). If
 * the thread cannot start, says so and cuts at once. */
void stop_grace_begin(struct stop *st, long long end_ms);

/* The drain is done: stops the grace timer and joins its thread. */
void stop_grace_end(struct stop *st);

/* Main is done: ends the signal thread (a signal from now on is main's
 * own, not a second one), closes both pipes and frees st. */
void stop_close(struct stop *st);

#endif
