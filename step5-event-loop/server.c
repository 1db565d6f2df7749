/*
 * server.c - step 5 (the epilogue): an event loop in front of the pool.
 *
 * In step 4 a worker waits for the request of each connection it
 * takes: ten clients that connect and send nothing hold ten workers.
 * Here one thread, the event loop (loop.c), does all the waiting, and
 * only a whole request goes to the pool. The stop is step 4's.
 */
#include "server.h"

#include "drain.h"
#include "loop.h"

int server_run(int listen_fd, const struct server_options *opt)
{
    struct server s;

    if (drain_start(&s, listen_fd, opt) < 0)
        return 1;
    /* Until a signal, and then until every connection it holds has
     * gone to the pool or ended; it closes listen_fd at the signal. */
    loop_run(s.loop);
    return drain(&s);
}
