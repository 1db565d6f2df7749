/*
 * harness.c - server processes for tests: start, signal, stop, watch.
 *
 * The process tree of one test:
 *
 *   test process --fork--> watchdog --fork+exec--> server
 *        |  lifeline pipe  ^
 *        +-----------------+
 *
 * The test talks to the server over TCP and signals it directly; the
 * watchdog only waits. When the server exits, the watchdog reaps it
 * and exits with the same status, so the test's waitpid() on the
 * watchdog reports the server's own exit. When the lifeline reaches
 * end-of-file instead (the test process is gone: it crashed, or
 * Criterion killed it at its timeout), the watchdog kills the server
 * and reaps it. A lifeline pipe works on Linux and macOS alike, unlike
 * Linux's prctl(PR_SET_PDEATHSIG).
 *
 * Between fork() and exec() only async-signal-safe calls are made: the
 * test process may have other threads.
 */
#include "harness.h"

#include "expect.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

int slow_factor(void)
{
    const char *s = getenv("TEST_SLOW");
    long n = s != NULL ? strtol(s, NULL, 10) : 1;

    return n >= 1 && n <= 100 ? (int)n : 1;
}

void pause_ms(long ms)
{
    io_sleep_ms(ms);
}

const char *log_dir(void)
{
    const char *dir = getenv("TEST_LOG_DIR");

    if (dir == NULL || *dir == '\0')
        dir = "tests/build/logs";
    mkdir(dir, 0777); /* EEXIST is fine; a real failure shows at open */
    return dir;
}

/* The highest descriptor open in this process, found before fork():
 * closing every one up to RLIMIT_NOFILE could mean a million calls.
 * /dev/fd lists the open descriptors on Linux and macOS. */
static int highest_open_fd(void)
{
    DIR *d = opendir("/dev/fd");
    int max = 255;

    if (d == NULL)
        return 1023;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        long fd = strtol(e->d_name, NULL, 10);
        if (fd > max)
            max = (int)fd;
    }
    closedir(d);
    return max;
}

static void close_from(int first, int last, const int *keep, int nkeep)
{
    for (int fd = first; fd <= last; fd++) {
        bool kept = false;
        for (int i = 0; i < nkeep; i++)
            kept = kept || keep[i] == fd;
        if (!kept)
            close(fd);
    }
}

extern char **environ;

/* The server's environment: the test's, except that a variable named
 * SERVER_X=v becomes X=v, replacing X. The suite and the servers can
 * then run with different sanitizer options (ASAN_OPTIONS). Built
 * before fork(), as it calls getenv() and snprintf(). */
static char **server_environment(void)
{
    static char *env[1024];
    char key[160];
    size_t n = 0;

    for (char **e = environ; *e != NULL && n < 1000; e++) {
        size_t name_len = strcspn(*e, "=");
        snprintf(key, sizeof key, "SERVER_%.*s", (int)name_len, *e);
        if (strncmp(*e, "SERVER_", 7) != 0 && getenv(key) == NULL)
            env[n++] = *e;
    }
    for (char **e = environ; *e != NULL && n < 1020; e++)
        if (strncmp(*e, "SERVER_", 7) == 0)
            env[n++] = *e + 7;
    env[n] = NULL;
    return env;
}

/* The server's side of fork(): descriptors 0-2 only, no blocked or
 * ignored signals, then exec. Never returns. */
static void exec_server(char *const argv[], char *const envp[], int out,
                        int log, int null, int max_fd,
                        const struct start *opt)
{
    sigset_t none;

    if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(log, 2) < 0)
        _exit(126);
    /* Criterion's own pipes must not leak into the server: they would
     * show up in valgrind's count of open descriptors, and keep pipes
     * open after the test ends. */
    close_from(3, max_fd + 16, NULL, 0); /* + the watchdog's own */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL); /* the test process ignores it */
    signal(SIGCHLD, SIG_DFL);
    if (opt->max_fds > 0) {
        struct rlimit r = {.rlim_cur = (rlim_t)opt->max_fds,
                           .rlim_max = (rlim_t)opt->max_fds};
        if (setrlimit(RLIMIT_NOFILE, &r) < 0)
            _exit(126);
    }
    if (opt->soft_fds > 0) {
        struct rlimit r;
        if (getrlimit(RLIMIT_NOFILE, &r) < 0)
            _exit(126);
        r.rlim_cur = (rlim_t)opt->soft_fds;
        if (setrlimit(RLIMIT_NOFILE, &r) < 0)
            _exit(126);
    }
    execve(argv[0], argv, envp);
    static const char msg[] = "harness: cannot exec the server\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
}

static int child_exited[2]; /* the watchdog's self-pipe for SIGCHLD */

static void on_sigchld(int sig)
{
    int saved = errno;

    (void)sig;
    (void)!write(child_exited[1], "", 1);
    errno = saved;
}

/* Ends the watchdog with the server's own status, so that the test's
 * waitpid() sees what the server did. */
static void exit_like(int status)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        struct rlimit no_core = {0, 0};
        sigset_t set;

        setrlimit(RLIMIT_CORE, &no_core);
        signal(sig, SIG_DFL);
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise(sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 125);
}

/* The watchdog: starts the server, sends its pid to the test, then
 * waits for whichever comes first, the server's exit or the end of the
 * lifeline. Never returns. */
static void run_watchdog(char *const argv[], char *const envp[],
                         int lifeline, int out, int log, int pid_pipe,
                         int max_fd, const struct start *opt)
{
    struct sigaction sa = {.sa_handler = on_sigchld};
    sigset_t chld;
    int null = open("/dev/null", O_RDWR);
    int status;

    if (null < 0 || pipe(child_exited) < 0 ||
        fcntl(child_exited[1], F_SETFL, O_NONBLOCK) < 0)
        _exit(124);
    fcntl(null, F_SETFD, FD_CLOEXEC); /* none of these for the server */
    fcntl(child_exited[0], F_SETFD, FD_CLOEXEC);
    fcntl(child_exited[1], F_SETFD, FD_CLOEXEC);
    sigemptyset(&sa.sa_mask);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigaction(SIGCHLD, &sa, NULL) < 0 ||
        sigprocmask(SIG_UNBLOCK, &chld, NULL) < 0)
        _exit(124);
    pid_t pid = fork();
    if (pid < 0)
        _exit(124);
    if (pid == 0)
        exec_server(argv, envp, out, log, null, max_fd, opt);
    (void)!write(pid_pipe, &pid, sizeof pid);
    int keep[] = {lifeline, child_exited[0], child_exited[1]};
    close_from(3, max_fd + 16, keep, 3);
    for (;;) {
        struct pollfd p[2] = {
            {.fd = lifeline, .events = POLLIN},
            {.fd = child_exited[0], .events = POLLIN}};
        char junk[64];

        if (poll(p, 2, -1) < 0)
            continue; /* EINTR: the SIGCHLD handler ran */
        if (p[1].revents != 0) {
            (void)!read(child_exited[0], junk, sizeof junk);
            if (waitpid(pid, &status, WNOHANG) == pid)
                exit_like(status);
        }
        if (p[0].revents != 0 &&
            read(lifeline, junk, sizeof junk) <= 0) {
            kill(pid, SIGKILL); /* the test is gone */
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            _exit(123);
        }
    }
}

/* Builds the command line: [valgrind ...] server -p 0 [-q] [-t N]
 * [-T S] [-G S]. Strings live in static storage until the next call. */
static void build_argv(char **argv, const struct start *opt)
{
    static char server[512], threads[16], deadline[16], grace[16];
    const struct expect *e = expect_this_step();
    const char *path = getenv("TEST_SERVER");
    int n = 0;

    if (path == NULL || *path == '\0') {
        snprintf(server, sizeof server, "%s/server", e->dir);
        path = server;
    }
    if (getenv("TEST_VALGRIND") != NULL) {
        argv[n++] = "/usr/bin/env";
        argv[n++] = "valgrind";
        argv[n++] = "--error-exitcode=99";
        argv[n++] = "--track-fds=yes";
        argv[n++] = "--leak-check=full";
        argv[n++] = "--show-leak-kinds=all";
        /* Steps 1-3 are killed by SIGTERM with threads and memory in
         * use: only a leak nothing points to is an error there. */
        argv[n++] = e->frees_everything
                        ? "--errors-for-leak-kinds=all"
                        : "--errors-for-leak-kinds=definite";
    }
    snprintf(server, sizeof server, "%s", path);
    argv[n++] = server;
    argv[n++] = "-p";
    argv[n++] = "0";
    if (!opt->verbose)
        argv[n++] = "-q";
    if (opt->threads > 0 && e->threads_option) {
        snprintf(threads, sizeof threads, "%d", opt->threads);
        argv[n++] = "-t";
        argv[n++] = threads;
    }
    if (opt->deadline_s > 0 && e->deadline_option) {
        snprintf(deadline, sizeof deadline, "%d", opt->deadline_s);
        argv[n++] = "-T";
        argv[n++] = deadline;
    }
    if (opt->grace_s > 0 && e->grace_option) {
        snprintf(grace, sizeof grace, "%d", opt->grace_s);
        argv[n++] = "-G";
        argv[n++] = grace;
    }
    argv[n] = NULL;
}

/* Reads the `listening on http://127.0.0.1:PORT` line. Returns the
 * port, or -1 if the server exits or stays silent. */
static int read_port(int out, int timeout_ms)
{
    char line[128];
    size_t len = 0;
    long long deadline = io_now_ms() + timeout_ms;

    while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
        ssize_t n =
            io_read(out, line + len, sizeof line - 1 - len, deadline);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
    line[len] = '\0';
    const char *prefix = "listening on http://127.0.0.1:";
    if (strncmp(line, prefix, strlen(prefix)) != 0)
        return -1;
    long port = strtol(line + strlen(prefix), NULL, 10);
    return port > 0 && port < 65536 ? (int)port : -1;
}

/* The stderr_unread option: a pipe filled to the brim, whose read
 * end the test keeps and never reads. The write end is blocking again
 * when the server gets it: O_NONBLOCK belongs to the pipe's open file
 * description, which the server shares. Returns the write end. */
static int full_pipe(struct server *s)
{
    static const char junk[4096] = {0};
    int p[2];

    cr_assert(pipe(p) == 0, "pipe: %s", strerror(errno));
    int flags = fcntl(p[1], F_GETFL);
    cr_assert(flags >= 0 &&
                  fcntl(p[1], F_SETFL, flags | O_NONBLOCK) == 0,
              "fcntl: %s", strerror(errno));
    while (write(p[1], junk, sizeof junk) > 0)
        ;
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK,
              "filling a pipe: %s", strerror(errno));
    while (write(p[1], junk, 1) > 0) /* the last bytes, one by one */
        ;
    cr_assert(fcntl(p[1], F_SETFL, flags) == 0, "fcntl: %s",
              strerror(errno));
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    s->unread = p[0];
    return p[1];
}

static void make_log_path(struct server *s)
{
    static int count; /* servers started by this test process */
    const struct criterion_test *t = criterion_current_test;

    snprintf(s->log, sizeof s->log, "%s/%s.%s.%d.log", log_dir(),
             t != NULL ? t->category : "none",
             t != NULL ? t->name : "none", ++count);
}

void start_server(struct server *s, struct start opt)
{
    char *argv[24];
    int life[2], out[2], pid_pipe[2];

    *s = (struct server){.pid = -1, .watchdog = -1, .unread = -1};
    make_log_path(s);
    build_argv(argv, &opt);
    int log = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(log >= 0, "cannot create the log %s: %s", s->log,
              strerror(errno));
    if (opt.stderr_unread) {
        close(log);
        log = full_pipe(s);
    }
    cr_assert(pipe(life) == 0 && pipe(out) == 0 && pipe(pid_pipe) == 0,
              "pipe: %s", strerror(errno));
    char **envp = server_environment();
    int max_fd = highest_open_fd();
    s->watchdog = fork();
    cr_assert(s->watchdog >= 0, "fork: %s", strerror(errno));
    if (s->watchdog == 0)
        run_watchdog(argv, envp, life[0], out[1], log, pid_pipe[1],
                     max_fd, &opt);
    close(life[0]);
    close(out[1]);
    close(pid_pipe[1]);
    close(log);
    s->lifeline = life[1];
    s->out = out[0];
    fcntl(s->lifeline, F_SETFD, FD_CLOEXEC);
    fcntl(s->out, F_SETFD, FD_CLOEXEC);
    ssize_t n = io_read(pid_pipe[0], &s->pid, sizeof s->pid, 0);
    close(pid_pipe[0]);
    cr_assert(n == (ssize_t)sizeof s->pid,
              "the watchdog did not start");
    s->port = read_port(s->out, 5000 * slow_factor());
    if (s->port < 0) {
        kill_server(s);
        cr_assert_fail("%s did not print `listening on "
                       "http://127.0.0.1:PORT` (%s); its log is below",
                       argv[0], describe_status(s->status));
    }
}

void signal_server(struct server *s, int sig)
{
    if (!s->exited)
        kill(s->pid, sig);
}

bool wait_server_exit(struct server *s, int timeout_ms)
{
    long long deadline = io_now_ms() + timeout_ms;
    char junk[256];

    if (s->exited)
        return true;
    for (;;) { /* the server's stdout ends when it exits */
        ssize_t n = io_read(s->out, junk, sizeof junk, deadline);
        if (n == 0)
            break;
        if (n < 0 && errno == ETIMEDOUT)
            return false;
        if (n < 0)
            break;
    }
    while (waitpid(s->watchdog, &s->status, 0) < 0 && errno == EINTR)
        ;
    s->exited = true;
    close(s->out);
    close(s->lifeline);
    if (s->unread >= 0) /* only now: the server never saw EPIPE */
        close(s->unread);
    return true;
}

void kill_server(struct server *s)
{
    if (s->pid < 0 || s->exited)
        return;
    kill(s->pid, SIGKILL);
    wait_server_exit(s, 10000);
}

int server_threads(const struct server *s)
{
    char path[64], line[256];
    int threads = -1;

    snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "Threads:", 8) == 0)
                threads = (int)strtol(line + 8, NULL, 10);
        fclose(f);
        return threads;
    }
    /* macOS: one line per thread, after a header line. */
    snprintf(path, sizeof path, "ps -M -p %d", (int)s->pid);
    f = popen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        threads++;
    return pclose(f) == 0 && threads > 0 ? threads : -1;
}

const char *describe_status(int status)
{
    static char text[96];

    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited with status %d",
                 WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "was killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(text, sizeof text, "ended with status 0x%x", status);
    return text;
}

void stop_server(struct server *s)
{
    const struct expect *e = expect_this_step();
    int wait_ms = 3000 * slow_factor();

    signal_server(s, SIGTERM);
    if (!wait_server_exit(s, wait_ms)) {
        kill_server(s);
        cr_assert_fail("step %d's server was still running %d ms after "
                       "SIGTERM; it was killed",
                       e->step, wait_ms);
    }
    check_server_log(s);
    if (e->graceful_stop)
        cr_assert(WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0,
                  "after SIGTERM, step %d should stop gracefully and "
                  "exit with status 0, but it %s",
                  e->step, describe_status(s->status));
    else
        cr_assert(WIFSIGNALED(s->status) &&
                      WTERMSIG(s->status) == SIGTERM,
                  "step %d has no SIGTERM handler, so SIGTERM should "
                  "kill it, but it %s",
                  e->step, describe_status(s->status));
}

/* Reads the whole log into a NUL-terminated buffer (free it). */
static char *read_log(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap + 1);

    cr_assert(text != NULL, "out of memory");
    if (f == NULL) {
        text[0] = '\0';
        return text;
    }
    for (size_t n; (n = fread(text + len, 1, cap - len, f)) > 0;) {
        len += n;
        if (len == cap) {
            char *bigger = realloc(text, 2 * cap + 1);
            cr_assert(bigger != NULL, "out of memory");
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    text[len] = '\0';
    return text;
}

bool log_contains(const struct server *s, const char *text)
{
    char *log = read_log(s->log);
    bool found = strstr(log, text) != NULL;

    free(log);
    return found;
}

long log_number_after(const struct server *s, const char *text)
{
    char *log = read_log(s->log);
    const char *p = strstr(log, text);
    long n = p != NULL ? strtol(p + strlen(text), NULL, 10) : -1;

    free(log);
    return n;
}

/* A log file has no way to say "a line was added", so this looks
 * every 10 ms; the server writes the line once and does not wait for
 * anyone to read it. */
bool wait_for_log(const struct server *s, const char *text,
                  int timeout_ms)
{
    long long deadline = io_now_ms() + timeout_ms;

    while (!log_contains(s, text)) {
        if (io_now_ms() >= deadline)
            return false;
        pause_ms(10);
    }
    return true;
}

/* valgrind writes "==PID== ERROR SUMMARY: N errors from ...". */
static long valgrind_errors(const char *log)
{
    const char *p = strstr(log, "ERROR SUMMARY: ");

    return p == NULL ? -1
                     : strtol(p + strlen("ERROR SUMMARY: "), NULL, 10);
}

void check_server_log(struct server *s)
{
    const struct expect *e = expect_this_step();
    char *log = read_log(s->log);
    bool sanitizer = strstr(log, "Sanitizer") != NULL ||
                     strstr(log, "runtime error:") != NULL;
    long errors = valgrind_errors(log);
    bool valgrind = getenv("TEST_VALGRIND") != NULL;
    /* valgrind 3.19 exits 0 on leaked descriptors even with
     * --error-exitcode, so the count is read from its summary. */
    bool fds_ok = strstr(log, "FILE DESCRIPTORS: 3 open (3 std) at "
                              "exit.") != NULL;

    free(log);
    cr_assert(
        !sanitizer,
        "a sanitizer reported an error in the server (log below)");
    if (!valgrind || !s->exited)
        return;
    cr_assert(errors == 0,
              "valgrind found %ld errors in the server (log below)",
              errors);
    if (e->frees_everything)
        cr_assert(fds_ok,
                  "step %d should close every descriptor but "
                  "0, 1 and 2 before it exits; valgrind saw "
                  "more open (log below)",
                  e->step);
}

void print_logs_of(const char *category, const char *name)
{
    char prefix[300], path[800];
    DIR *d = opendir(log_dir());

    if (d == NULL)
        return;
    snprintf(prefix, sizeof prefix, "%s.%s.", category, name);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", log_dir(), e->d_name);
        char *log = read_log(path);
        size_t len = strlen(log);
        const char *tail = len > 6000 ? log + len - 6000 : log;
        fprintf(stderr,
                "---- server log %s%s ----\n%s%s---- end ----\n", path,
                tail != log ? " (last 6000 bytes)" : "", tail,
                len > 0 && log[len - 1] != '\n' ? "\n" : "");
        free(log);
    }
    closedir(d);
}
