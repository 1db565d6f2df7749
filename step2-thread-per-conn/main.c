/*
 * main.c - read the command line, open the listening socket, run.
 */
#include "config.h"
#include "http.h"
#include "net.h"
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: server [-p PORT] [-q] [-h]\n"
            "  -p PORT  port on 127.0.0.1, 0 for any free one"
            " (default %d)\n"
            "  -q       quiet: no log line per request\n"
            "  -h       show this help\n",
            DEFAULT_PORT);
}

/* Parses the value of option -name as a whole decimal number in
 * min..max: no atoi(), which turns "80x" into 80 and "x" into 0
 * without a word. what names the number, for the message that says
 * what was wrong. */
static bool parse_int(char name, const char *what, long min, long max,
                      int *out)
{
    char *end;

    errno = 0;
    long n = strtol(optarg, &end, 10);
    if (errno != 0 || end == optarg || *end != '\0' || n < min ||
        n > max) {
        fprintf(stderr,
                "server: -%c takes %s from %ld to %ld, not '%s'\n",
                name, what, min, max, optarg);
        return false;
    }
    *out = (int)n;
    return true;
}

/* Returns -1 to go on and run, or the status to exit with. */
static int parse_options(int argc, char **argv,
                         struct server_options *opt)
{
    bool ok = true;
    int c;

    while (ok && (c = getopt(argc, argv, "p:qh")) != -1) {
        switch (c) {
        case 'p':
            ok = parse_int('p', "a port", 0, 65535, &opt->port);
            break;
        case 'q':
            opt->quiet = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default: /* getopt() has said what was wrong */
            usage(stderr);
            return 2;
        }
    }
    if (!ok) {
        usage(stderr);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "server: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct server_options opt = {.port = DEFAULT_PORT};
    const char *failed_call = "";
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

    int fd = net_listen(opt.port, &port, &failed_call);
    if (fd < 0 && errno == EADDRINUSE) {
        fprintf(stderr,
                "server: port %d is already in use (is another"
                " server running?); choose another with -p PORT,"
                " or -p 0 for any free port\n",
                opt.port);
        return 1;
    }
    if (fd < 0) {
        fprintf(stderr, "server: %s 127.0.0.1:%d: %s\n", failed_call,
                opt.port, strerror(errno));
        return 1;
    }
    printf("listening on http://127.0.0.1:%d\n", port);
    fflush(stdout);
    return server_run(fd, &opt);
}
