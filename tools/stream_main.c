/*
 * stream_main.c - the stream mode's command line, and its main: read
 * the options, hold, stream, report.
 *
 *   timeline -p PORT --every 10 --for 20 --trickle 200
 *   timeline -p PORT --every 10 --for 20 --trickle-body 200
 *   timeline -p PORT --hold 10000 --every 10 --for 2
 *
 * Layer 4 of the timeline client (main): timeline.c hands it the
 * whole command line when it names a stream option.
 */
#include "stream_main.h"
#include "clock.h"
#include "figures.h"
#include "hold.h"
#include "parse.h"
#include "stream.h"
#include "stream_draw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int usage_error(const char *what, const char *value)
{
    fprintf(stderr, "timeline: bad value for %s: '%s'\n", what, value);
    fprintf(stderr, "try 'timeline -h' for help\n");
    return 2;
}

/* One option and its value. Returns false for a bad value. */
static bool stream_option(const char *a, const char *val,
                          struct stream *s, long *deadline_s,
                          const char **svg)
{
    long v = 0;

    if (strcmp(a, "-p") == 0) {
        bool ok = parse_long(val, 1, 65535, &v);
        s->port = (int)v;
        return ok;
    }
    if (strcmp(a, "-d") == 0)
        return parse_long(val, 1, 3600, deadline_s);
    if (strcmp(a, "--every") == 0)
        return parse_long(val, 1, 1000, &s->every_ms);
    if (strcmp(a, "--for") == 0)
        return parse_long(val, 1, 600, &s->for_s);
    if (strcmp(a, "--trickle") == 0 ||
        strcmp(a, "--trickle-body") == 0) {
        s->trickle_body = strcmp(a, "--trickle-body") == 0;
        return parse_long(val, 0, 2000, &s->trickle);
    }
    if (strcmp(a, "--hold") == 0)
        return parse_long(val, 0, 60000, &s->hold);
    if (strcmp(a, "--svg") == 0)
        *svg = val;
    else
        s->title = val; /* --title */
    return true;
}

/* Options of the stream mode. Returns -1 to go on, or a status. */
static int parse_stream(int argc, char **argv, struct stream *s,
                        const char **svg, bool *quiet)
{
    static const char *const names[] = {
        "-p",     "-d",        "--every",
        "--for",  "--trickle", "--trickle-body",
        "--hold", "--svg",     "--title"};
    long deadline_s = 10;

    for (int i = 1; i < argc; i++) {
        bool known = false;
        if (strcmp(argv[i], "-q") == 0) {
            *quiet = true;
            continue;
        }
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            known |= strcmp(argv[i], names[k]) == 0;
        if (!known) {
            fprintf(stderr,
                    "timeline: '%s' is not an option of the"
                    " stream mode\n",
                    argv[i]);
            fprintf(stderr, "try 'timeline -h' for help\n");
            return 2;
        }
        if (i + 1 == argc ||
            !stream_option(argv[i], argv[i + 1], s, &deadline_s, svg))
            return usage_error(argv[i],
                               i + 1 < argc ? argv[i + 1] : "");
        i++;
    }
    if (s->port == 0) {
        fprintf(stderr, "timeline: say where the server is: -p PORT\n");
        return 2;
    }
    s->patience = deadline_s * 1000000LL;
    s->count = (int)(s->for_s * 1000 / s->every_ms);
    return -1;
}

/* Room for every held connection, trickler and request under way. */
static void raise_fd_limit(const struct stream *s)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)(s->hold + s->trickle + 64) +
                  (rlim_t)(s->patience / 1000 / s->every_ms + 1);

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want
                      ? rl.rlim_max
                      : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        perror("timeline: setrlimit");
}

static bool allocate(struct stream *s)
{
    size_t polled = (size_t)s->trickle + (size_t)s->count;

    s->calls = calloc((size_t)s->count, sizeof s->calls[0]);
    s->tr = calloc((size_t)s->trickle + 1, sizeof s->tr[0]);
    s->held = calloc((size_t)s->hold + 1, sizeof s->held[0]);
    s->pfd = calloc(polled, sizeof s->pfd[0]);
    s->who = calloc(polled, sizeof s->who[0]);
    if (!s->calls || !s->tr || !s->held || !s->pfd || !s->who)
        return false;
    for (int i = 0; i < s->count; i++)
        s->calls[i] = (struct call){.fd = -1,
                                    .outcome = OUTCOME_PENDING,
                                    .start = NEVER,
                                    .end = NEVER};
    for (long i = 0; i < s->hold; i++)
        s->held[i] = -1;
    return true;
}

static int write_stream_svg(const char *path, const struct stream *s,
                            long long *sorted)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        fprintf(stderr, "timeline: %s: %s\n", path, strerror(errno));
        return 3;
    }
    int failed = stream_draw_svg(f, s, sorted) < 0;
    if (fclose(f) != 0 || failed) {
        fprintf(stderr, "timeline: cannot write %s\n", path);
        return 3;
    }
    return 0;
}

int stream_main(int argc, char **argv)
{
    static struct stream s;
    const char *svg = NULL;
    bool quiet = false;
    struct figures f;

    snprintf(s.host, sizeof s.host, "127.0.0.1");
    s.every_ms = 10;
    s.for_s = 1;
    int status = parse_stream(argc, argv, &s, &svg, &quiet);
    if (status >= 0)
        return status;
    s.addr = (struct sockaddr_in){.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)s.port)};
    s.addr.sin_addr.s_addr = htonl(0x7f000001); /* 127.0.0.1 */
    int n = snprintf(s.text, sizeof s.text,
                     "GET / HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Connection: close\r\n\r\n",
                     s.host, s.port);
    s.text_len = (size_t)n;
    long long *sorted = malloc((size_t)s.count * sizeof *sorted);
    if (!allocate(&s) || sorted == NULL) {
        fprintf(stderr, "timeline: out of memory\n");
        return 3;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed peer: EPIPE, not death */
    raise_fd_limit(&s);
    clock_start();
    if (s.hold > 0)
        hold_open(&s);
    stream_run(&s);
    hold_release(&s);
    stream_draw_report(stdout, &s, quiet, sorted);
    if (svg != NULL && write_stream_svg(svg, &s, sorted) != 0)
        return 3;
    figures_of(&s, &f, sorted);
    return f.answered == s.count && f.failed == 0 ? 0 : 1;
}
