/*
 * harness.h - start a step's server for a test, and make sure it ends.
 *
 * Every server runs as `server -p 0 -q [-t N] [-T S] [-G S]`; the
 * harness reads its port from the `listening on` line. Its stderr goes
 * to a log file that the runner prints when the test fails.
 *
 * No server outlives its test, even one that crashes or times out: the
 * server's parent is a small watchdog process that holds one end of a
 * pipe (the lifeline) whose other end only the test holds. When the
 * test process ends, however it ends, the kernel closes its end; the
 * watchdog reads end-of-file, kills the server and reaps it.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

/* Every test's timeout, in seconds, given to Criterion in each Test().
 * (Criterion 2.4 ignores its global --timeout.) The longest test takes
 * about 7 s natively; under valgrind and TSan everything is slower.
 * The grader (make check) builds with a shorter one, so that a
 * learner's server that hangs fails in seconds. */
#ifndef TEST_TIMEOUT_S
#define TEST_TIMEOUT_S 60
#endif

/* How to start a server. Zero fields are left out. */
struct start {
    int threads;    /* -t, if the step takes it */
    int deadline_s; /* -T, if the step takes it */
    int grace_s;    /* -G, if the step takes it */
    int max_fds;    /* RLIMIT_NOFILE for the server, like ulimit -n */
    int soft_fds;   /* only its soft limit, like ulimit -Sn */
    bool verbose;   /* leave out -q: log a line per request */
    /* stderr_unread: the server's stderr is a pipe that is full when
     * it starts and that nobody reads, so its first write to stderr
     * blocks for good (its log file stays empty). */
    bool stderr_unread;
};

struct server {
    pid_t pid;      /* the server (or valgrind running it) */
    pid_t watchdog; /* the server's parent; our child */
    int lifeline;   /* our end of the watchdog's pipe */
    int out;        /* the server's stdout: end-of-file once it exits */
    int unread;     /* stderr_unread: the pipe's read end, or -1 */
    int port;
    char log[512]; /* the server's stderr */
    bool exited;   /* status is valid */
    int status;    /* as from waitpid() */
};

/* Starts this step's server; fails the test if it does not print its
 * port within a few seconds. */
void start_server(struct server *s, struct start opt);

/* Sends sig to the server. */
void signal_server(struct server *s, int sig);

/* Waits up to timeout_ms for the server to exit. Returns true, with
 * s->status set, if it did. */
bool wait_server_exit(struct server *s, int timeout_ms);

/* Stops the server as the step expects SIGTERM to stop it (see
 * expect.h) and fails the test if it does not, or if its log shows a
 * sanitizer or valgrind report. */
void stop_server(struct server *s);

/* Kills the server (SIGKILL) without checking anything. */
void kill_server(struct server *s);

/* Fails the test if the log shows a sanitizer or valgrind error. */
void check_server_log(struct server *s);

/* Whether the server's log holds text. */
bool log_contains(const struct server *s, const char *text);

/* The number written right after text in the log ("stopped: served "
 * gives the count of connections), or -1 if text is not there. */
long log_number_after(const struct server *s, const char *text);

/* Waits up to timeout_ms for text to appear in the log. */
bool wait_for_log(const struct server *s, const char *text,
                  int timeout_ms);

/* How many threads the server runs now (Linux: /proc; elsewhere
 * ps -M), or -1 if that cannot be found out. */
int server_threads(const struct server *s);

/* "exited with status 1", "killed by signal 15 (Terminated)". */
const char *describe_status(int status);

/* How much slower than native this run is (TEST_SLOW: 1, or more
 * under sanitizers and valgrind). Startup and stop waits are
 * multiplied by it; concurrency margins are not. */
int slow_factor(void);

/* Sleeps ms milliseconds. Only for pacing a client (a slow reader, a
 * trickler), never instead of waiting for an event. */
void pause_ms(long ms);

/* The runner side: print the logs of a test that failed. */
void print_logs_of(const char *category, const char *name);

/* The directory of log files (TEST_LOG_DIR, made if missing). */
const char *log_dir(void);

#endif
