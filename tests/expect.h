/*
 * expect.h - what each step of the workshop is expected to do.
 *
 * One suite runs against every step. Where the steps differ, a test
 * does not skip the older steps: it looks up what this step teaches in
 * the table (expect.c) and asserts exactly that. Step 1 is asserted to
 * serve one connection at a time, because that is its lesson.
 */
#ifndef EXPECT_H
#define EXPECT_H

#include <stdbool.h>

/* How a step runs connections side by side. */
enum model {
    MODEL_SERIAL,     /* one connection at a time, in the accept loop */
    MODEL_THREAD_PER, /* a new thread for every connection */
    MODEL_POOL,       /* -t workers take connections from a queue */
};

struct expect {
    int step;        /* 1 to 5 */
    const char *dir; /* "step3-thread-pool" */
    enum model model;
    bool threads_option; /* takes -t THREADS */
    bool
        deadline_option; /* takes -T SECONDS: 408 and dropped writers */
    /* SIGTERM: a graceful stop (listener closed, everything accepted is
     * served, exit 0). Otherwise the default action: the process dies
     * at once, killing requests in the middle. */
    bool graceful_stop;
    /* Takes -G SECONDS: once the grace period of a stop is over, every
     * connection still open is cut, and the process exits 0; even
     * when no descriptor is left (the cut needs none). */
    bool grace_option;
    /* Everything freed and closed at exit (valgrind: no leaks, only
     * the 3 standard descriptors open). */
    bool frees_everything;
    /* MODEL_POOL: threads besides the -t workers, however many
     * connections are open (the accept loop or event loop, and the
     * signal thread). */
    int threads_besides_workers;
    /* An event loop waits for request heads: a connection that is
     * still sending its head costs a pollfd, not a worker, so idle
     * and trickling clients never delay others, and deadlines count
     * from accept(). Otherwise a worker waits for each head. */
    bool waiting_in_loop;
    /* The event loop reads the body too before a worker is taken: a
     * client that trickles its body costs a pollfd, not a worker.
     * Otherwise the worker that answers reads it. */
    bool bodies_in_loop;
};

/* The step this suite was built for (STEP, given by tests.mk). */
const struct expect *expect_this_step(void);

#endif
