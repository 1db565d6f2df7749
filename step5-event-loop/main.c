/*
 * main.c - read the command line, open the listening socket, run.
 *
 * Each option that takes a number is one row of the table in
 * parse_options(): the getopt() string, the usage text, the range
 * check and the default all come from it, so an option is one row.
 */
#include "config.h"
#include "http.h"
#include "net.h"
#include "server.h"
#include "stop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An option that takes a whole decimal number, such as -p PORT. */
struct int_option {
    char letter;      /* -p */
    const char *arg;  /* PORT, in the usage */
    const char *help; /* what it sets, in the usage */
    const char *what; /* "a port", in the error message */
    long min, max;    /* the values it accepts */
    int def;          /* the value when the option is not given */
    int *value;       /* where it goes */
};

/* The options that take no value, after the rows in getopt()'s
 * string: -q and -h. */
static const char flags[] = "qh";

/* Prints the usage: a line per row, its help in the column where -q's
 * starts (an arg of up to 7 letters keeps it there). */
static void usage(FILE *out, const struct int_option *opts, size_t n)
{
    fprintf(out, "usage: server");
    for (size_t i = 0; i < n; i++)
        fprintf(out, " [-%c %s]", opts[i].letter, opts[i].arg);
    fprintf(out, " [-q] [-h]\n");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  -%c %-7s  %s (%ld to %ld, default %d)\n",
                opts[i].letter, opts[i].arg, opts[i].help, opts[i].min,
                opts[i].max, opts[i].def);
    fprintf(out, "  -q          quiet: no log line per request\n"
                 "  -h          show this help\n");
}

/* Parses text, the value of option o, as a whole decimal number in
 * o's range: no atoi(), which turns "80x" into 80 and "x" into 0
 * without a word. The message says what was wrong. */
static bool parse_int(const struct int_option *o, const char *text)
{
    char *end;

    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < o->min ||
        n > o->max) {
        fprintf(stderr,
                "server: -%c takes %s from %ld to %ld, not '%s'\n",
                o->letter, o->what, o->min, o->max, text);
        return false;
    }
    *o->value = (int)n;
    return true;
}

/* Sets every row's default and writes getopt()'s string: "p:" for
 * each row (the colon says it takes a value), then flags. */
static void prepare(const struct int_option *opts, size_t n,
                    char *optstring)
{
    for (size_t i = 0; i < n; i++) {
        *opts[i].value = opts[i].def;
        *optstring++ = opts[i].letter;
        *optstring++ = ':';
    }
    memcpy(optstring, flags, sizeof flags);
}

/* Acts on c, an option as getopt() returned it. Returns -1 to go on,
 * or the status to exit with. */
static int take_option(int c, const struct int_option *opts, size_t n,
                       struct server_options *opt)
{
    for (size_t i = 0; i < n; i++) {
        if (opts[i].letter != c)
            continue;
        if (parse_int(&opts[i], optarg))
            return -1;
        usage(stderr, opts, n); /* after parse_int()'s message */
        return 2;
    }
    switch (c) {
    case 'q':
        opt->quiet = true;
        return -1;
    case 'h':
        usage(stdout, opts, n);
        return 0;
    default: /* getopt() has said what was wrong */
        usage(stderr, opts, n);
        return 2;
    }
}

/* Returns -1 to go on and run, or the status to exit with. */
static int parse_options(int argc, char **argv,
                         struct server_options *opt)
{
    const struct int_option opts[] = {
        {'p', "PORT", "port on 127.0.0.1, 0 for any free one", "a port",
         0, 65535, DEFAULT_PORT, &opt->port},
        {'t', "THREADS", "worker threads", "a number of threads", 1,
         THREADS_MAX, THREADS_DEFAULT, &opt->threads},
        {'T', "SECONDS", "deadline of a request", "a number of seconds",
         1, DEADLINE_MAX_S, DEADLINE_DEFAULT_S, &opt->deadline_s},
        {'G', "SECONDS", "how long a stop waits", "a number of seconds",
         1, GRACE_MAX_S, GRACE_DEFAULT_S, &opt->grace_s},
    };
    const size_t n = sizeof opts / sizeof *opts;
    char optstring[2 * sizeof opts / sizeof *opts + sizeof flags];
    int c;

    prepare(opts, n, optstring);
    while ((c = getopt(argc, argv, optstring)) != -1) {
        int status = take_option(c, opts, n, opt);
        if (status >= 0)
            return status;
    }
    if (optind < argc) {
        fprintf(stderr, "server: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr, opts, n);
        return 2;
    }
    return -1;
}

/* Opens the listening socket on 127.0.0.1:want (0: any free port) and
 * stores the port it got in *port. Returns it, or -1 after saying why
 * on stderr. */
static int open_listener(int want, int *port)
{
    const char *failed_call = "";
    int fd = net_listen(want, port, &failed_call);

    if (fd < 0 && errno == EADDRINUSE)
        fprintf(stderr,
                "server: port %d is already in use (is another"
                " server running?); choose another with -p PORT,"
                " or -p 0 for any free port\n",
                want);
    else if (fd < 0)
        fprintf(stderr, "server: %s 127.0.0.1:%d: %s\n", failed_call,
                want, strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    struct server_options opt = {0}; /* parse_options() fills it */
    int port;

    int status = parse_options(argc, argv, &opt);
    if (status >= 0)
        return status;

    /* Writing to a connection the client has closed raises SIGPIPE,
     * which kills the process. Ignored, write() fails with EPIPE
     * instead and only that connection ends. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("server: signal(SIGPIPE)");
        return 1;
    }
    http_set_logging(!opt.quiet);
    /* Before the port is printed, and before any thread (see stop.h) */
    if (stop_block_signals() < 0)
        return 1;

    int fd = open_listener(opt.port, &port);
    if (fd < 0)
        return 1;
    printf("listening on http://127.0.0.1:%d\n", port);
    fflush(stdout);
    return server_run(fd, &opt);
}
