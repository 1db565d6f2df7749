/*
 * peak.c - what a server cost while under load: the most threads and
 * memory it used, and the processor time it spent.
 *
 *   ./peak -d 3000 PID     prints "threads 5 rss_kb 1720 cpu_ms 2870
 *                          fds 8 rss_start_kb 1500 tcp_mem_kb 12"
 *
 * Reads /proc/PID/status (Linux) every few milliseconds for the given
 * time, or until the process exits, and prints the highest thread count
 * and resident set size seen, and the user + system time the process
 * used meanwhile (from /proc/PID/stat, in clock ticks of 10 ms or so).
 * Children that PID has when sampling starts (an nginx master's
 * worker) are counted with it. Also the most descriptors PID had open
 * (every FDS_EVERY samples: a directory of 10,000 entries takes a
 * while to read), its resident set size at the first sample, and how
 * far the kernel's memory for TCP buffers (/proc/net/sockstat, "TCP:
 * ... mem PAGES"; the whole machine's, both ends of a loopback
 * connection) rose above what it was then. SIGTERM or SIGINT end the
 * sampling early; the figures so far are printed. Elsewhere there is
 * no /proc, and every figure is "n/a".
 *
 * Sampling can miss a peak shorter than the interval: a thread that
 * lives for less than 5 ms may go uncounted.
 */
#include "parse.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL_MS 5 /* between two samples */
#define PIDS_MAX 16   /* the process and its first children */
#define DURATION_MAX_MS 3600000
#define FDS_EVERY 20 /* samples between two counts of descriptors */

static volatile sig_atomic_t stop; /* SIGTERM or SIGINT came */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* One sample: summed over the process and its children. */
struct usage {
    long threads, rss_kb;
    long long ticks; /* user + system time so far */
};

static long long now_ms(void)
{
    struct timespec ts = {0, 0};

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* From /proc/pid/stat, "pid (name) S ppid ... utime stime ...": the
 * parent, and the time used in clock ticks. The name may hold spaces
 * and parentheses, so fields are counted after the last ')'. Returns
 * false if the process is gone. */
static bool read_stat(long pid, long *ppid, long long *ticks)
{
    char path[64], line[1024];
    unsigned long long utime, stime;
    bool ok = false;

    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    if (fgets(line, sizeof line, f) != NULL) {
        char *p = strrchr(line, ')');
        ok = p != NULL &&
             sscanf(p + 1,
                    " %*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u"
                    " %llu %llu",
                    ppid, &utime, &stime) == 3;
        *ticks = ok ? (long long)(utime + stime) : 0;
    }
    fclose(f);
    return ok;
}

/* Puts pid and its children into pids; returns how many. */
static int family(long pid, long *pids)
{
    int n = 0;
    DIR *dir = opendir("/proc");
    struct dirent *e;
    long child, ppid;
    long long ticks;

    pids[n++] = pid;
    while (dir != NULL && n < PIDS_MAX && (e = readdir(dir)) != NULL)
        if (parse_long(e->d_name, 1, 1L << 30, &child) &&
            read_stat(child, &ppid, &ticks) && ppid == pid)
            pids[n++] = child;
    if (dir != NULL)
        closedir(dir);
    return n;
}

/* Adds the "Threads:" and "VmRSS:" of one process, and its time, to
 * u. Returns false when the process is gone. */
static bool add_usage(long pid, struct usage *u)
{
    char path[64], line[256];
    long value, ppid;
    long long ticks;

    if (!read_stat(pid, &ppid, &ticks))
        return false;
    u->ticks += ticks;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "Threads: %ld", &value) == 1)
            u->threads += value;
        else if (sscanf(line, "VmRSS: %ld", &value) == 1)
            u->rss_kb += value;
    }
    fclose(f);
    return true;
}

/* One sample of the whole family; false when pid itself is gone. */
static bool sample(const long *pids, int n, struct usage *u)
{
    *u = (struct usage){0, 0, 0};
    bool alive = add_usage(pids[0], u);
    for (int i = 1; i < n; i++)
        add_usage(pids[i], u);
    return alive;
}

/* A signal that cuts the sleep short ends it: stop is set. */
static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, ms % 1000 * 1000000L};

    while (!stop && nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

/* How many descriptors pid has open, or -1. */
static long count_fds(long pid)
{
    char path[64];
    long n = 0;
    struct dirent *e;

    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    while ((e = readdir(dir)) != NULL)
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* The kernel's pages for TCP buffers, all sockets, or -1. */
static long tcp_mem_pages(void)
{
    char line[256];
    long pages = -1;
    FILE *f = fopen("/proc/net/sockstat", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        const char *mem = strstr(line, " mem ");
        if (strncmp(line, "TCP:", 4) == 0 && mem != NULL &&
            sscanf(mem, " mem %ld", &pages) != 1)
            pages = -1;
    }
    fclose(f);
    return pages;
}

int main(int argc, char **argv)
{
    long duration = 0, pid, pids[PIDS_MAX], fds = 0, n_fds;
    struct usage first, last, now, peak = {0, 0, 0};

    if (argc != 4 || strcmp(argv[1], "-d") != 0 ||
        !parse_long(argv[2], 1, DURATION_MAX_MS, &duration) ||
        !parse_long(argv[3], 1, 1L << 30, &pid)) {
        fprintf(stderr, "usage: peak -d MILLISECONDS PID\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    int n = family(pid, pids);
    long long end = now_ms() + duration;
    long tcp_first = tcp_mem_pages(), tcp_peak = tcp_first, tcp;
    if (!sample(pids, n, &first)) {
        printf("threads n/a rss_kb n/a cpu_ms n/a fds n/a"
               " rss_start_kb n/a tcp_mem_kb n/a\n");
        return 0;
    }
    last = first;
    for (long i = 0;
         i <= duration / INTERVAL_MS && now_ms() < end && !stop; i++) {
        if (!sample(pids, n, &now))
            break;
        last = now;
        if (now.threads > peak.threads)
            peak.threads = now.threads;
        if (now.rss_kb > peak.rss_kb)
            peak.rss_kb = now.rss_kb;
        if (i % FDS_EVERY == 0 && (n_fds = count_fds(pid)) > fds)
            fds = n_fds;
        if ((tcp = tcp_mem_pages()) > tcp_peak)
            tcp_peak = tcp;
        sleep_ms(INTERVAL_MS);
    }
    printf(
        "threads %ld rss_kb %ld cpu_ms %lld fds %ld rss_start_kb %ld",
        peak.threads, peak.rss_kb,
        (last.ticks - first.ticks) * 1000 / sysconf(_SC_CLK_TCK), fds,
        first.rss_kb);
    if (tcp_first < 0)
        printf(" tcp_mem_kb n/a\n");
    else
        printf(" tcp_mem_kb %ld\n",
               (tcp_peak - tcp_first) * (sysconf(_SC_PAGESIZE) / 1024));
    return 0;
}
