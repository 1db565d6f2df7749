/*
 * config.h - every limit of the server, one commented line each.
 *
 * A limit that is not written here does not exist. When a request goes
 * past one of them the server answers with that limit's own status
 * code, named in the comment.
 */
#ifndef CONFIG_H
#define CONFIG_H

/* Network. After accept() fails for lack of descriptors, the server
 * pauses instead of retrying at once, which would spin. */
#define DEFAULT_PORT 8080     /* -p: the port when none is given */
#define LISTEN_BACKLOG 128    /* connections the kernel queues for us */
#define ACCEPT_BACKOFF_MS 100 /* pause when accept() lacks fds */

/* The request head (request line + headers + blank line) */
#define HEAD_MAX_BYTES 8192 /* one buffer: 414 or 431 past this */
#define EMPTY_LINES_MAX 8   /* ignored before the request line; 400 */

/* The request body, framed by Content-Length or chunked, is read whole
 * into one buffer: 413 past this, said at the head when it can be. */
#define BODY_MAX_BYTES (64 * 1024) /* POST /echo's body at most */

/* Routes */
#define SLEEP_DEFAULT_MS 5000 /* GET /sleep with no ?ms= */
#define SLEEP_MAX_MS 60000    /* GET /sleep?ms=N: 400 above this */
#define BYTES_MAX (16L << 20) /* GET /bytes?n=N: 400 above 16 MiB */
#define BYTES_CHUNK 16384     /* /bytes is written in pieces this big */

/* Lingering close: reading what the client still sends, after an error
 * response, so that closing does not reset the connection under it. */
#define LINGER_MS 500               /* stop draining after this long */
#define LINGER_MAX_BYTES (1L << 20) /* ... or after this many bytes */

/* The thread pool: -t workers, and the queue they take jobs from. */
#define THREADS_DEFAULT 4 /* -t: workers when none is given */
#define THREADS_MAX 1024  /* -t: the most workers allowed */
#define QUEUE_CAPACITY 64 /* connections waiting for a worker */

/* The event loop stops accepting while it holds all the connections
 * the fd limit allows (fdlimit.c), or LOOP_READY_MAX requests wait for
 * room in the queue: then the kernel's backlog takes the pressure. */
#define LOOP_MAX_CONNECTIONS 10176 /* polled or ready, at most */
#define LOOP_READY_MAX 64          /* ready, waiting for the queue */
#define LOOP_FD_SPARE 64           /* fds for all but the connections */

/* -T bounds sending a request (then 408) and each write's stall, -G
 * a stop; keep -G below your supervisor's (docker stop: 10 s). */
#define DEADLINE_DEFAULT_S 10 /* -T: when none is given */
#define DEADLINE_MAX_S 3600   /* -T: the longest allowed */
#define GRACE_DEFAULT_S 25    /* -G: when none is given */
#define GRACE_MAX_S 3600      /* -G: the longest allowed */
#define FAREWELL_MS 20 /* second signal: wait for stderr this long */

/* Logging */
#define LOG_LINE_MAX 200 /* a request log line is cut here */

#endif
