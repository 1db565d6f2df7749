/*
 * test_threads.c - how many threads each step runs, and whether they
 * give back what they took. Read from /proc/PID/status.
 *
 * The concurrency tests time requests; they cannot see a thread the
 * server does not need (a pool that starts a thread per job serves
 * every request on time) or one it never cleans up (a joinable thread
 * that nobody joins ends, but its stack stays mapped for ever). The
 * kernel's count of a process's threads and of its virtual memory
 * can. Both live in /proc, which only Linux has: elsewhere these
 * tests are skipped with a message. TEST_PROC=path reads another
 * folder instead (TEST_PROC=/nonexistent shows the skip on Linux).
 */
#include "client.h"
#include "expect.h"
#include "harness.h"
#include "io.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VM_GROWTH_MAX_KB (256L * 1024) /* 256 MiB after a burst */

/* Where the kernel's process files are: /proc, or TEST_PROC. */
static const char *proc_dir(void)
{
    const char *dir = getenv("TEST_PROC");
    return dir != NULL && dir[0] != '\0' ? dir : "/proc";
}

/* The value of a "Name:\tvalue" line of /proc/PID/status (VmSize is
 * in kB), or -1 if it cannot be read. */
static long proc_status(pid_t pid, const char *name)
{
    char path[512], line[256];
    long value = -1;
    size_t len = strlen(name);

    snprintf(path, sizeof path, "%s/%ld/status", proc_dir(), (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            value = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return value;
}

/* The memory the process has mapped for writing, in kB: /proc/PID/
 * maps, lines whose permissions start with "rw". Unlike VmSize, this
 * leaves out address space that is only reserved: glibc's malloc
 * reserves 64 MiB for each thread that allocates (its arena, mapped
 * PROT_NONE until used), so a pool of 4 grows VmSize by 256 MiB while
 * doing nothing wrong. A thread's stack is mapped for writing, and
 * stays so until the thread is detached or joined. -1 on error. */
static long proc_writable_kb(pid_t pid)
{
    char path[512], line[512];
    long kb = 0;

    snprintf(path, sizeof path, "%s/%ld/maps", proc_dir(), (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        /* "start-end perms ...", addresses in hex */
        char *p;
        unsigned long long start = strtoull(line, &p, 16);
        if (*p != '-')
            continue;
        unsigned long long end = strtoull(p + 1, &p, 16);
        if (p[0] == ' ' && p[1] == 'r' && p[2] == 'w' && end > start)
            kb += (long)((end - start) / 1024);
    }
    fclose(f);
    return kb;
}

static void skip_without_proc(void)
{
    char path[512];

    snprintf(path, sizeof path, "%s/self/status", proc_dir());
    if (access(path, R_OK) != 0)
        cr_skip_test("needs /proc/PID/status to count threads and "
                     "memory (Linux only): no %s; skipped",
                     path);
}

/* Threads a sanitizer's runtime adds to every threaded server
 * (ThreadSanitizer starts one): TEST_RUNTIME_THREADS, set by `make
 * tsan`; 0 otherwise. */
static int runtime_threads(void)
{
    const char *s = getenv("TEST_RUNTIME_THREADS");
    long n = s != NULL ? strtol(s, NULL, 10) : 0;

    return n >= 0 && n <= 8 ? (int)n : 0;
}

/* How many threads the step runs when no request is in flight:
 * main, or for a pool its N workers and the threads besides them.
 * A runtime's thread starts with the process's second thread: for
 * step 2, only once it has served a connection (served). */
static int idle_threads(const struct expect *e, int n, bool served)
{
    if (e->model == MODEL_POOL)
        return n + e->threads_besides_workers + runtime_threads();
    if (e->model == MODEL_THREAD_PER && served)
        return 1 + runtime_threads();
    return 1;
}

/* "4 workers and main", for messages. */
static const char *who_runs(const struct expect *e, int n)
{
    static char text[96];
    int more = e->threads_besides_workers - 1, rt = runtime_threads();

    if (e->model != MODEL_POOL)
        snprintf(text, sizeof text, "main");
    else if (more > 0)
        snprintf(text, sizeof text, "%d workers, main and %d more%s", n,
                 more, rt > 0 ? ", the runtime's" : "");
    else
        snprintf(text, sizeof text, "%d workers and main%s", n,
                 rt > 0 ? ", the runtime's" : "");
    return text;
}

/* Waits up to timeout_ms for the server to run want threads. Returns
 * the last count seen. */
static long wait_threads(pid_t pid, long want, int timeout_ms)
{
    long long deadline = io_now_ms() + timeout_ms;
    long n;

    while ((n = proc_status(pid, "Threads")) != want &&
           io_now_ms() < deadline)
        pause_ms(5);
    return n;
}

/* A thread of the test that reads the server's thread count every
 * 2 ms while a burst is served. */
struct sampler {
    pid_t pid;
    atomic_bool stop;
    long min, max; /* written by the sampler; read after the join */
    int samples;
    pthread_t thread;
};

static void *sample_threads(void *arg)
{
    struct sampler *s = arg;

    while (!atomic_load(&s->stop)) {
        long n = proc_status(s->pid, "Threads");
        if (n > 0) {
            s->min = s->samples == 0 || n < s->min ? n : s->min;
            s->max = n > s->max ? n : s->max;
            s->samples++;
        }
        pause_ms(2);
    }
    return NULL;
}

static void sampler_start(struct sampler *s, pid_t pid)
{
    *s = (struct sampler){.pid = pid};
    cr_assert_eq(pthread_create(&s->thread, NULL, sample_threads, s), 0,
                 "pthread_create for the sampler failed");
}

static void sampler_stop(struct sampler *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    cr_assert(s->samples > 0, "could not read /proc/%ld/status",
              (long)s->pid);
}

static struct batch burst; /* too big for a test's stack */

/* 40 connections send all of their request heads but the blank line,
 * and hold them: a step that reads each head on a thread of its own
 * has a thread blocked on each. Step 2 should then run a thread per
 * connection, a pool exactly its N workers and the threads besides
 * them (main; step 4's signal thread), however many connections wait.
 * The hold ends when step 2's count is reached, or after 1 s (x
 * TEST_SLOW): no timing decides the count, however slowly a sanitizer
 * starts threads. */
Test(threads, a_burst_runs_the_threads_the_step_teaches,
     .timeout = TEST_TIMEOUT_S)
{
    enum { K = 40, N = 4 };
    const struct expect *e = expect_this_step();
    int idle = idle_threads(e, N, false);
    int per_conn = K + idle_threads(e, N, true);
    struct server s;
    struct sampler sm;

    skip_without_proc();
    start_server(&s, (struct start){.threads = N});
    long now = wait_threads(s.pid, idle, 2000 * slow_factor());
    cr_assert(now == idle,
              "step %d%s should run %d threads while idle (%s), but "
              "runs %ld",
              e->step, e->model == MODEL_POOL ? " with -t 4" : "", idle,
              who_runs(e, N), now);
    sampler_start(&sm, s.pid);
    batch_open(&burst, s.port, K);
    batch_send_reverse(&burst, "GET / HTTP/1.1\r\nHost: t\r\n");
    long long until = io_now_ms() + 1000 * slow_factor();
    long held = 0; /* the hold's own count: the sampler may miss it */
    while ((held = proc_status(s.pid, "Threads")) < per_conn &&
           io_now_ms() < until)
        pause_ms(5);
    batch_send_reverse(&burst, "\r\n"); /* the heads are complete */
    batch_wait(&burst, 10000 * slow_factor());
    sampler_stop(&sm);
    if (held > sm.max)
        sm.max = held;
    batch_expect_all_ok(&burst, "a burst of 40 held requests");
    batch_close(&burst);
    switch (e->model) {
    case MODEL_SERIAL:
        cr_expect(sm.max == 1,
                  "step %d serves every connection on its one thread, "
                  "but it ran %ld threads during a burst of %d",
                  e->step, sm.max, K);
        break;
    case MODEL_THREAD_PER:
        cr_expect(sm.max >= per_conn,
                  "step %d starts a thread for every connection: %d "
                  "connections waiting at once should make %d threads "
                  "with main, but it never ran more than %ld (is this "
                  "a thread pool?)",
                  e->step, K, per_conn, sm.max);
        break;
    case MODEL_POOL:
        cr_expect(
            sm.min == idle && sm.max == idle,
            "step %d with -t %d should run exactly %d threads (%s) "
            "however many connections arrive, but during a burst "
            "of %d it ran from %ld to %ld (a thread per job? a "
            "thread too many?)",
            e->step, N, idle, who_runs(e, N), K, sm.min, sm.max);
        break;
    }
    stop_server(&s);
}

/* 200 connections, in two bursts of 100 (the listen backlog holds
 * 128). Afterwards the step must be back to its idle threads, and its
 * virtual memory must not keep a stack per connection: a thread that
 * is neither detached nor joined ends, but its 8 MiB stack stays. */
Test(threads, after_a_burst_threads_end_and_memory_is_given_back,
     .timeout = TEST_TIMEOUT_S)
{
    enum { K = 100, ROUNDS = 2, N = 4 };
    const struct expect *e = expect_this_step();
    int idle = idle_threads(e, N, true);
    struct server s;

    skip_without_proc();
    start_server(&s, (struct start){.threads = N});
    wait_threads(s.pid, idle_threads(e, N, false),
                 2000 * slow_factor());
    long vm_before = proc_writable_kb(s.pid);
    cr_assert(vm_before > 0, "cannot read /proc/%ld/maps", (long)s.pid);
    for (int round = 0; round < ROUNDS; round++) {
        batch_open(&burst, s.port, K);
        batch_send_reverse(&burst, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        batch_wait(&burst, 10000 * slow_factor());
        batch_expect_all_ok(&burst, "a burst of 100 GET /");
        batch_close(&burst);
    }
    long now = wait_threads(s.pid, idle, 2000 * slow_factor());
    long grew_kb = proc_writable_kb(s.pid) - vm_before;
    cr_expect(now == idle,
              "%d connections later, step %d runs %ld threads; "
              "it should be back to %d: %s",
              K * ROUNDS, e->step, now, idle,
              e->model == MODEL_THREAD_PER
                  ? "does every connection's thread end?"
                  : "does it start threads it never ends?");
    cr_expect(grew_kb < VM_GROWTH_MAX_KB,
              "after %d connections, the memory step %d has mapped for "
              "writing grew by %ld MiB (limit %ld): a thread that is "
              "neither detached "
              "nor joined keeps its stack after it ends; detach it, or "
              "join it",
              K * ROUNDS, e->step, grew_kb / 1024,
              VM_GROWTH_MAX_KB / 1024);
    stop_server(&s);
}
