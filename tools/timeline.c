/*
 * timeline.c - watch a server handle concurrent requests.
 *
 * Fires a scripted set of requests at a server on this machine, each on
 * its own connection, all opened before the first request is sent, and
 * draws when each one was answered: a terminal picture, and with --svg
 * the same picture for slides. A request that is never answered is
 * drawn as such, never left out.
 *
 *   ./timeline -p 8080 sleepers
 *   ./timeline 127.0.0.1:8080 / /sleep?ms=500 /bytes?n=100
 *
 * Layer 4 of the timeline client (main). The layers, each using only
 * the ones below it:
 *   1 leaves: timeline.h and stream_types.h (the types), clock.c,
 *     conn.c, svg.c, parse.c;
 *   2 measuring: fire.c, summary.c; stream.c, hold.c, figures.c;
 *   3 drawing: draw.c; stream_draw.c;
 *   4 main: this file, and stream_main.c, the stream mode's main.
 */
#include "draw.h"
#include "fire.h"
#include "parse.h"
#include "stream_main.h"
#include "summary.h"

#include <arpa/inet.h>
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEADLINE_DEFAULT_S 10 /* -d: give up on requests after this */
#define IDLE_DEFAULT_S 3      /* -i: close an idle connection after */
/* "A moment later": the first request's head start, so that the
 * server surely has it before the others. */
#define LATER_US 100000

/* A standard scenario: a first request (NULL: a connection that never
 * sends), then `count` more of the same path, `delay` later. */
struct scenario {
    const char *name, *what;
    const char *first;
    const char *then;
    int count;
    long long delay;
};

static const struct scenario scenarios[] = {
    {"slow-mix", "one /sleep?ms=2000, then six / a moment later",
     "/sleep?ms=2000", "/", 6, LATER_US},
    {"sleepers", "eight /sleep?ms=1000 at once", "/sleep?ms=1000",
     "/sleep?ms=1000", 7, 0},
    {"idle", "a connection that never sends, then four /", NULL, "/", 4,
     LATER_US},
};

#define SCENARIO_COUNT (int)(sizeof scenarios / sizeof scenarios[0])

struct options {
    const char *svg; /* --svg FILE, or NULL */
    bool ascii, quiet;
};

/* --help, after the scenarios: stream mode and the exit status. */
static void usage_stream(FILE *out)
{
    fprintf(out, "stream mode: timeline -p PORT --every MS [--for S]"
                 " [--trickle[-body] K] [--hold N]\n"
                 "  --every MS    GET / on a new connection every MS"
                 " ms (default 10)\n"
                 "  --for S       ... for S seconds (default 1); -d:"
                 " each one's patience\n"
                 "  --trickle K   meanwhile K connections trickle a"
                 " header byte every 500 ms\n"
                 "                and come back when thrown out\n"
                 "  --trickle-body K  ... send a whole head, then a"
                 " body byte every 500 ms\n"
                 "  --hold N      first open N connections that never"
                 " send; hold them\n"
                 "  prints p50 and p99 of the requests (connect() to"
                 " last byte); --svg\n"
                 "  draws each request as a dot: when sent, how long"
                 " it took\n"
                 "exit status: 0 every request answered with a status"
                 " below 400; 1 not so\n"
                 "(the timeline shows which); 2 bad command line;"
                 " 3 no connection could be\n"
                 "made, or FILE could not be written.\n");
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: timeline [options] -p PORT SCENARIO | PATH...\n"
            "       timeline [options] HOST:PORT SCENARIO | PATH...\n"
            "Sends requests to a server on this machine, each on its"
            " own connection,\nall opened before the first request"
            " is sent, and draws when each was answered.\n"
            "  -p PORT       the server is at 127.0.0.1:PORT\n"
            "  -d SECONDS    give up on requests after this long"
            " (default %d)\n"
            "  -i SECONDS    close a connection that never sends after"
            " this (default %d)\n"
            "  --svg FILE    also draw the timeline as a picture"
            " in FILE\n"
            "  --title TEXT  title of the timeline\n"
            "  --scale MS    draw at least MS milliseconds, to compare"
            " runs side by side\n"
            "  --ascii       draw with ASCII characters only\n"
            "  -q            print the summary only\n"
            "  -h, --help    show this help\n"
            "scenarios:\n",
            DEADLINE_DEFAULT_S, IDLE_DEFAULT_S);
    for (int i = 0; i < SCENARIO_COUNT; i++)
        fprintf(out, "  %-10s  %s\n", scenarios[i].name,
                scenarios[i].what);
    fprintf(out, "  PATH...     each path (such as / or /sleep?ms=500)"
                 " once; the word idle\n"
                 "              for a connection that never sends\n");
    usage_stream(out);
}

/* HOST:PORT, where HOST is localhost or a numeric 127.x.y.z address:
 * the tool only ever talks to this machine. */
static bool parse_address(const char *s, struct run *run)
{
    const char *colon = strrchr(s, ':');
    struct in_addr addr;
    long port;

    if (colon == NULL || (size_t)(colon - s) >= sizeof run->host ||
        !parse_long(colon + 1, 1, 65535, &port))
        return false;
    memcpy(run->host, s, (size_t)(colon - s));
    run->host[colon - s] = '\0';
    if (strcmp(run->host, "localhost") == 0)
        snprintf(run->host, sizeof run->host, "127.0.0.1");
    if (inet_pton(AF_INET, run->host, &addr) != 1 ||
        (ntohl(addr.s_addr) >> 24) != 127)
        return false;
    run->port = (int)port;
    return true;
}

/* A path to request: starts with '/', visible ASCII only, not long. */
static bool valid_path(const char *s)
{
    size_t n = strlen(s);

    if (s[0] != '/' || n > PATH_MAX_BYTES)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 0x7f)
            return false;
    return true;
}

static void add_request(struct run *run, const char *path,
                        long long send_at)
{
    struct request *r = &run->req[run->count++];

    memset(r, 0, sizeof *r);
    r->path = path;
    r->send_at = send_at;
}

static bool use_scenario(struct run *run, const char *name)
{
    for (int i = 0; i < SCENARIO_COUNT; i++) {
        const struct scenario *s = &scenarios[i];
        if (strcmp(name, s->name) != 0)
            continue;
        run->name = s->name;
        add_request(run, s->first, 0);
        for (int k = 0; k < s->count; k++)
            add_request(run, s->then, s->delay);
        return true;
    }
    return false;
}

/* The requests named on the command line: a scenario, or paths. */
static int use_arguments(struct run *run, char **args, int n)
{
    if (n == 1 && use_scenario(run, args[0]))
        return -1;
    if (n == 0 || n > REQUESTS_MAX) {
        fprintf(stderr, "timeline: give a scenario, or 1 to %d paths\n",
                REQUESTS_MAX);
        return 2;
    }
    run->name = "paths";
    for (int i = 0; i < n; i++) {
        bool idle = strcmp(args[i], "idle") == 0;
        if (!idle && !valid_path(args[i])) {
            fprintf(stderr,
                    "timeline: '%s' is neither a scenario nor a path"
                    " (a path starts with /)\n",
                    args[i]);
            return 2;
        }
        add_request(run, idle ? NULL : args[i], 0);
    }
    return -1;
}

/* Stores the value of option name into run or opt. Returns -1 to go
 * on, or the status to exit with. */
static int parse_value(const char *name, const char *value,
                       struct run *run, struct options *opt)
{
    long n = 0;
    bool ok = true;

    if (strcmp(name, "-p") == 0) {
        ok = parse_long(value, 1, 65535, &n);
        run->port = (int)n;
    } else if (strcmp(name, "-d") == 0) {
        ok = parse_long(value, 1, 3600, &n);
        run->deadline = n * 1000000LL;
    } else if (strcmp(name, "-i") == 0) {
        ok = parse_long(value, 1, 3600, &n);
        run->idle_for = n * 1000000LL;
    } else if (strcmp(name, "--scale") == 0) {
        ok = parse_long(value, 1, 3600000, &n);
        run->scale = n * 1000LL;
    } else if (strcmp(name, "--svg") == 0) {
        opt->svg = value;
    } else {
        run->title = value; /* --title */
    }
    if (ok)
        return -1;
    fprintf(stderr, "timeline: bad value for %s: '%s'\n", name, value);
    return 2;
}

static bool takes_value(const char *arg)
{
    static const char *const names[] = {"-p",      "-d",    "-i",
                                        "--scale", "--svg", "--title"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(arg, names[i]) == 0)
            return true;
    return false;
}

/* Options may come anywhere; what is left is the address (unless -p
 * gave it) and the requests. Returns -1 to go on, or an exit status. */
static int parse_command_line(int argc, char **argv, struct run *run,
                              struct options *opt)
{
    char *args[REQUESTS_MAX + 1] = {NULL};
    int n = 0, status = -1;

    for (int i = 1; i < argc && status < 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-q") == 0) {
            opt->quiet = true;
        } else if (strcmp(a, "--ascii") == 0) {
            opt->ascii = true;
        } else if (takes_value(a) && i + 1 == argc) {
            fprintf(stderr, "timeline: %s needs a value\n", a);
            status = 2;
        } else if (takes_value(a)) {
            status = parse_value(a, argv[i + 1], run, opt);
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "timeline: unexpected '%s'\n", a);
            status = 2;
        } else if (n > REQUESTS_MAX) {
            fprintf(stderr, "timeline: at most %d requests\n",
                    REQUESTS_MAX);
            status = 2;
        } else {
            args[n++] = argv[i];
        }
    }
    if (status < 0 && run->port == 0) {
        if (n > 0 && parse_address(args[0], run)) {
            memmove(args, args + 1, (size_t)--n * sizeof args[0]);
        } else {
            fprintf(stderr, "timeline: say where the server is: -p PORT"
                            " or 127.0.0.1:PORT (this machine only)\n");
            status = 2;
        }
    }
    if (status < 0)
        status = use_arguments(run, args, n);
    if (status == 2)
        fprintf(stderr, "try 'timeline -h' for help\n");
    return status;
}

/* Is the terminal's character set UTF-8 (so block characters show)? */
static bool locale_is_utf8(void)
{
    if (setlocale(LC_CTYPE, "") == NULL)
        return false;
    const char *set = nl_langinfo(CODESET);
    return strcasecmp(set, "UTF-8") == 0 ||
           strcasecmp(set, "utf8") == 0;
}

static int write_svg(const char *path, const struct run *run)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        fprintf(stderr, "timeline: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int failed = draw_svg(f, run) < 0 || ferror(f);
    if (fclose(f) != 0 || failed) {
        fprintf(stderr, "timeline: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct run run; /* 64 requests: too big for the stack */
    struct options opt = {0};
    struct summary sum;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--every") == 0 ||
            strcmp(argv[i], "--trickle") == 0 ||
            strcmp(argv[i], "--trickle-body") == 0 ||
            strcmp(argv[i], "--hold") == 0)
            return stream_main(argc, argv);
    snprintf(run.host, sizeof run.host, "127.0.0.1");
    run.deadline = DEADLINE_DEFAULT_S * 1000000LL;
    run.idle_for = IDLE_DEFAULT_S * 1000000LL;
    int status = parse_command_line(argc, argv, &run, &opt);
    if (status >= 0)
        return status;
    /* A server may close a connection while we write to it; without
     * this, the SIGPIPE that raises would kill the tool. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || fire(&run) < 0) {
        fprintf(stderr, "timeline: cannot connect to %s:%d: %s\n",
                run.host, run.port, strerror(errno));
        return 3;
    }
    if (!opt.quiet)
        draw_terminal(stdout, &run, !opt.ascii && locale_is_utf8());
    draw_summary(stdout, &run);
    if (opt.svg != NULL && write_svg(opt.svg, &run) < 0)
        return 3;
    summarize(&run, &sum);
    return sum.answered == sum.requests && sum.failed == 0 ? 0 : 1;
}
