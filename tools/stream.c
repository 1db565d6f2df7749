/*
 * stream.c - the timeline client's stream mode: a steady stream of
 * GET / while other connections trickle or sit idle.
 *
 *   timeline -p PORT --every 10 --for 20 --trickle 200
 *   timeline -p PORT --hold 10000 --every 10 --for 2
 *
 * Sends GET / on a new connection every --every ms for --for seconds
 * and times each request from its connect() to the last byte of the
 * answer, so that a wait in the kernel's backlog counts too. Meanwhile
 *   --trickle K  K connections send a request head one byte every
 *                500 ms, never finishing it, and connect again as
 *                soon as the server closes them (slowloris);
 *   --hold N     N connections, opened before the stream starts, send
 *                nothing at all. A connection is open for the client
 *                as soon as it sits in the server's backlog, which
 *                holds only 128, and the kernel drops a connect()
 *                while it is full (and tries again only a second
 *                later). So at most HOLD_AT_ONCE connect at once,
 *                and one unanswered after HOLD_RETRY_MS is closed and
 *                opened anew: the backlog is full again as soon as
 *                the server has emptied it, and a server that accepts
 *                many at a time can. Opening stops when all are open
 *                or none opened for HOLD_STALL_MS.
 * A request unanswered after -d seconds counts as unanswered: it sorts
 * after every answer, so a percentile that lands on it says ">5000
 * ms" and is never left out. One thread and poll(), as in fire.c; the
 * held connections are not polled while the stream runs, so that
 * their number does not slow the client down.
 */
#include "parse.h"
#include "timeline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TRICKLE_MS 500   /* a trickler sends one byte this often */
#define HOLD_AT_ONCE 128 /* held connections connecting at once */
#define HOLD_RETRY_MS                                                  \
    20                      /* a connect() unanswered after this met a \
                               full backlog: give up on it, open anew */
#define HOLD_STALL_MS 3000  /* stop opening after this without one */
#define HOLD_LIMIT_MS 60000 /* opening the held ones takes at most */
#define SETTLE_MS 2000      /* tricklers connect within this first */
#define SLICES 20           /* rows of the terminal picture */

#define SVG_W 450 /* one picture: half of the bench's 900 */
#define SVG_H 300
#define PLOT_X 64 /* the plot area inside it */
#define PLOT_W 370
#define PLOT_TOP 78
#define PLOT_H 170

/* The head a trickler sends, then 'a' for ever: no blank line. */
static const char trickle_head[] = "GET / HTTP/1.1\r\nHost: bench\r\n"
                                   "X-Trickle: ";

/* One GET / of the stream. Times are µs since the run started. */
struct call {
    int fd; /* owned by the stream loop; -1 before and after */
    bool connected;
    size_t sent;
    char head[16]; /* the status line's start */
    size_t head_len;
    int status;
    enum outcome outcome;
    long long start, end; /* connect() called; answer complete */
};

/* A slowloris client; it comes back each time it is thrown out. */
struct trickler {
    int fd; /* owned by the stream loop; -1 between connections */
    bool connected;
    long long next_send;
    size_t sent; /* bytes of this connection's head sent */
};

struct stream {
    char host[64];
    int port;
    const char *title;
    long every_ms, for_s, trickle, hold;
    long long patience; /* -d, in µs */
    struct sockaddr_in addr;
    char text[128]; /* the GET / request */
    size_t text_len;
    struct call *calls;
    int count; /* calls: for_s * 1000 / every_ms */
    struct trickler *tr;
    int *held; /* hold descriptors, -1 when not open */
    long held_open, held_closed; /* held connections; the server
                                    closed this many by the end */
    long long hold_ms;           /* opening them took this long */
    long reopened;               /* tricklers thrown out, reopened */
    struct pollfd *pfd;
    int *who; /* pfd[i] is calls[who[i]], or trickler -1 - who[i] */
};

static long long origin;

static long long clock_us(void)
{
    struct timespec ts = {0, 0};

    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        return 0;
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long now(void)
{
    return clock_us() - origin;
}

static int ms_until(long long t)
{
    long long ms = (t - now() + 999) / 1000;

    return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* A non-blocking socket connecting to the server, or -1. */
static int open_conn(const struct stream *s, bool *connected)
{
    const struct sockaddr *sa = (const struct sockaddr *)&s->addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    *connected = false;
    if (fd < 0)
        return -1;
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0) {
        if (connect(fd, sa, sizeof s->addr) == 0) {
            *connected = true;
            return fd;
        }
        if (errno == EINPROGRESS || errno == EINTR)
            return fd;
    }
    close(fd);
    return -1;
}

/* poll() said a connecting socket is ready: did it connect? */
static bool connect_done(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;

    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
           err == 0;
}

/* ---- Requests of the stream ---- */

static void end_call(struct call *c, enum outcome outcome)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->outcome = outcome;
    c->end = now();
}

static void start_call(struct stream *s, struct call *c)
{
    c->start = now();
    c->fd = open_conn(s, &c->connected);
    if (c->fd < 0)
        end_call(c, OUTCOME_NO_CONNECTION);
}

static void call_write(const struct stream *s, struct call *c)
{
    ssize_t n = write(c->fd, s->text + c->sent, s->text_len - c->sent);

    if (n > 0)
        c->sent += (size_t)n;
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
             errno != EINTR)
        end_call(c, OUTCOME_CUT_OFF);
}

/* "HTTP/1.1 200": the status code, or 0. */
static int status_of(const char *head, size_t len)
{
    if (len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
        return 0;
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (head[i] < '0' || head[i] > '9')
            return 0;
        code = code * 10 + (head[i] - '0');
    }
    return code;
}

/* The server closes after every answer: end of stream ends it. */
static void call_read(struct call *c)
{
    char buf[4096];
    ssize_t n = read(c->fd, buf, sizeof buf);

    if (n < 0 &&
        (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n > 0) {
        size_t keep = sizeof c->head - c->head_len;
        keep = keep < (size_t)n ? keep : (size_t)n;
        memcpy(c->head + c->head_len, buf, keep);
        c->head_len += keep;
        return;
    }
    c->status = status_of(c->head, c->head_len);
    end_call(c, n == 0 && c->status != 0 ? OUTCOME_ANSWERED
                                         : OUTCOME_CUT_OFF);
}

static void call_event(const struct stream *s, struct call *c,
                       short revents)
{
    if (!c->connected) {
        if (!connect_done(c->fd)) {
            end_call(c, OUTCOME_NO_CONNECTION);
            return;
        }
        c->connected = true;
    }
    if ((revents & POLLOUT) && c->sent < s->text_len)
        call_write(s, c);
    if (c->fd >= 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
        call_read(c);
}

/* ---- Tricklers ---- */

static void trickler_open(struct stream *s, struct trickler *t,
                          long long first_byte)
{
    t->fd = open_conn(s, &t->connected);
    t->sent = 0;
    t->next_send = first_byte;
}

/* Thrown out (or never let in): come straight back. */
static void trickler_reopen(struct stream *s, struct trickler *t)
{
    if (t->fd >= 0) {
        close(t->fd);
        s->reopened++;
    }
    trickler_open(s, t, now());
}

static void trickler_write(struct stream *s, struct trickler *t)
{
    size_t head = sizeof trickle_head - 1;
    char byte = t->sent < head ? trickle_head[t->sent] : 'a';
    ssize_t n = write(t->fd, &byte, 1);

    if (n == 1) {
        t->sent++;
        t->next_send = now() + TRICKLE_MS * 1000LL;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
               errno != EINTR) {
        trickler_reopen(s, t);
    }
}

static void trickler_event(struct stream *s, struct trickler *t,
                           short revents)
{
    char buf[1024];

    if (!t->connected) {
        if (!connect_done(t->fd)) {
            trickler_reopen(s, t);
            return;
        }
        t->connected = true;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = read(t->fd, buf, sizeof buf); /* a 408, or EOF */
        if (n == 0 || (n < 0 && errno != EAGAIN &&
                       errno != EWOULDBLOCK && errno != EINTR)) {
            trickler_reopen(s, t);
            return;
        }
    }
    if ((revents & POLLOUT) && now() >= t->next_send)
        trickler_write(s, t);
}

/* ---- The loop ---- */

/* Fills s->pfd with the tricklers and the requests under way.
 * *first: no request before it is still under way. */
static int watch(struct stream *s, int started, int *first,
                 bool tricklers)
{
    long long t = now();
    int n = 0;

    for (long i = 0; tricklers && i < s->trickle; i++) {
        struct trickler *tr = &s->tr[i];
        if (tr->fd < 0)
            trickler_reopen(s, tr);
        if (tr->fd < 0)
            continue; /* no descriptor now: try next round */
        short ev = POLLIN;
        if (!tr->connected || t >= tr->next_send)
            ev |= POLLOUT;
        s->pfd[n] = (struct pollfd){.fd = tr->fd, .events = ev};
        s->who[n++] = -1 - (int)i;
    }
    while (*first < started && s->calls[*first].fd < 0)
        (*first)++;
    for (int i = *first; i < started; i++) {
        struct call *c = &s->calls[i];
        if (c->fd >= 0 && t - c->start >= s->patience)
            end_call(c, OUTCOME_NO_ANSWER);
        if (c->fd < 0)
            continue;
        short ev = POLLIN;
        if (!c->connected || c->sent < s->text_len)
            ev |= POLLOUT;
        s->pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
        s->who[n++] = i;
    }
    return n;
}

/* The next moment something is due: a send, a trickled byte, a
 * request's patience running out. */
static long long next_due(const struct stream *s, int started,
                          int first, long long stream_start)
{
    long long t = now() + 1000000;

    if (started < s->count)
        t = stream_start + (long long)started * s->every_ms * 1000;
    for (long i = 0; i < s->trickle && s->tr != NULL; i++)
        if (s->tr[i].fd >= 0 && s->tr[i].connected &&
            s->tr[i].next_send < t)
            t = s->tr[i].next_send;
    for (int i = first; i < started; i++)
        if (s->calls[i].fd >= 0 && s->calls[i].start + s->patience < t)
            t = s->calls[i].start + s->patience;
    return t;
}

static void dispatch(struct stream *s, int n)
{
    for (int k = 0; k < n; k++) {
        if (s->pfd[k].revents == 0)
            continue;
        if (s->who[k] < 0)
            trickler_event(s, &s->tr[-1 - s->who[k]],
                           s->pfd[k].revents);
        else
            call_event(s, &s->calls[s->who[k]], s->pfd[k].revents);
    }
}

/* The tricklers connect first (for up to SETTLE_MS), then the stream
 * runs; the tricklers keep on until the last request is done. */
static void run_stream(struct stream *s)
{
    int started = 0, first = 0;
    long long settle_end = now() + SETTLE_MS * 1000LL;

    for (long i = 0; i < s->trickle; i++)
        trickler_open(s, &s->tr[i],
                      now() + i * TRICKLE_MS * 1000LL / s->trickle);
    for (int round = 0; s->trickle > 0 && now() < settle_end; round++) {
        int n = watch(s, 0, &first, true), waiting = 0;
        for (long i = 0; i < s->trickle; i++)
            waiting += s->tr[i].fd >= 0 && !s->tr[i].connected;
        if (waiting == 0 || round > 100000)
            break;
        if (poll(s->pfd, (nfds_t)n, 10) < 0 && errno != EINTR)
            break;
        dispatch(s, n);
    }
    s->reopened = 0; /* count from when the stream starts */
    long long stream_start = now();
    for (long round = 0; round < 100000000L; round++) {
        while (started < s->count &&
               now() >= stream_start +
                            (long long)started * s->every_ms * 1000)
            start_call(s, &s->calls[started++]);
        int n = watch(s, started, &first, true);
        if (started == s->count && first == started)
            break;
        int timeout =
            ms_until(next_due(s, started, first, stream_start));
        if (poll(s->pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        dispatch(s, n);
    }
    for (long i = 0; i < s->trickle; i++)
        if (s->tr[i].fd >= 0)
            close(s->tr[i].fd);
    for (int i = 0; i < s->count; i++)
        if (s->calls[i].fd >= 0)
            end_call(&s->calls[i], OUTCOME_NO_ANSWER);
}

/* ---- Held connections ---- */

/* Connections being opened for holding. */
struct opening {
    struct pollfd pfd[HOLD_AT_ONCE];
    long long since[HOLD_AT_ONCE]; /* connect() called */
    int n;
};

/* Takes k out of the set: the last one takes its place. */
static void forget_opening(struct opening *o, int k)
{
    o->n--;
    o->pfd[k] = o->pfd[o->n];
    o->since[k] = o->since[o->n];
}

/* The connections that connected are held; one that failed, or met a
 * full backlog (unanswered after HOLD_RETRY_MS), is closed. */
static void check_opening(struct stream *s, struct opening *o,
                          long long *progress)
{
    long long t = now();

    for (int k = o->n - 1; k >= 0; k--) {
        if (o->pfd[k].revents != 0 && connect_done(o->pfd[k].fd)) {
            s->held[s->held_open++] = o->pfd[k].fd;
            *progress = t;
            forget_opening(o, k);
        } else if (o->pfd[k].revents != 0 ||
                   t - o->since[k] >= HOLD_RETRY_MS * 1000LL) {
            close(o->pfd[k].fd);
            forget_opening(o, k);
        }
    }
}

/* Opens the held connections; see the top of the file. */
static void open_held(struct stream *s)
{
    static struct opening o;
    long want = s->hold;
    long long start = now(), progress = start;

    o.n = 0;
    while (s->held_open < want &&
           now() - progress < HOLD_STALL_MS * 1000LL &&
           now() - start < HOLD_LIMIT_MS * 1000LL) {
        while (o.n < HOLD_AT_ONCE && s->held_open + o.n < want) {
            bool connected;
            int fd = open_conn(s, &connected);
            if (fd < 0) { /* out of descriptors: keep what we have */
                want = s->held_open + o.n;
                break;
            }
            if (connected) {
                s->held[s->held_open++] = fd;
                continue;
            }
            o.since[o.n] = now();
            o.pfd[o.n++] = (struct pollfd){.fd = fd, .events = POLLOUT};
        }
        if (poll(o.pfd, (nfds_t)o.n, 5) < 0 && errno != EINTR)
            break;
        check_opening(s, &o, &progress);
    }
    while (o.n > 0) { /* never let in: give up */
        close(o.pfd[o.n - 1].fd);
        o.n--;
    }
    s->hold_ms = (now() - start) / 1000;
}

/* After the stream: how many held connections did the server close?
 * Then close them all. */
static void release_held(struct stream *s)
{
    for (long i = 0; i < s->hold; i++) {
        if (s->held[i] < 0)
            continue;
        struct pollfd p = {.fd = s->held[i], .events = POLLIN};
        char byte;
        if (poll(&p, 1, 0) > 0 && read(s->held[i], &byte, 1) <= 0)
            s->held_closed++;
        close(s->held[i]);
    }
}

/* ---- Figures and pictures ---- */

static int by_value(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* The latency of a call, or LLONG_MAX when it was not answered. */
static long long latency(const struct call *c)
{
    return c->outcome == OUTCOME_ANSWERED ? c->end - c->start
                                          : LLONG_MAX;
}

/* The percentile q (0..1) of the calls from..to, nearest rank. */
static long long percentile(const struct call *calls, int from, int to,
                            double q, long long *sorted)
{
    int n = to - from;

    if (n <= 0)
        return LLONG_MAX;
    for (int i = 0; i < n; i++)
        sorted[i] = latency(&calls[from + i]);
    qsort(sorted, (size_t)n, sizeof sorted[0], by_value);
    int rank = (int)(q * n + 0.999999);
    return sorted[rank < 1 ? 0 : rank - 1];
}

/* "0.4 ms", "12 ms", or ">5000 ms" for an unanswered request. */
static const char *ms_text(char *buf, size_t size, long long us,
                           long long patience)
{
    if (us == LLONG_MAX)
        snprintf(buf, size, ">%lld ms", patience / 1000);
    else if (us < 10000)
        snprintf(buf, size, "%.1f ms", (double)us / 1000);
    else
        snprintf(buf, size, "%lld ms", (us + 500) / 1000);
    return buf;
}

struct figures {
    int answered, failed;
    long long p50, p99, max;
};

static void figures(const struct stream *s, struct figures *f,
                    long long *sorted)
{
    *f = (struct figures){0, 0, 0, 0, 0};
    for (int i = 0; i < s->count; i++) {
        f->answered += s->calls[i].outcome == OUTCOME_ANSWERED;
        f->failed += s->calls[i].outcome == OUTCOME_ANSWERED &&
                     s->calls[i].status >= 400;
    }
    f->p50 = percentile(s->calls, 0, s->count, 0.5, sorted);
    f->p99 = percentile(s->calls, 0, s->count, 0.99, sorted);
    f->max = percentile(s->calls, 0, s->count, 1.0, sorted);
}

/* "requests 2000, answered 2000, p50 0.2 ms, p99 1.1 ms, max 4 ms" */
static void summary(char *buf, size_t size, const struct stream *s,
                    const struct figures *f)
{
    char a[24], b[24], c[24];

    int n = snprintf(buf, size,
                     "requests %d, answered %d, p50 %s, p99 %s, max %s",
                     s->count, f->answered,
                     ms_text(a, sizeof a, f->p50, s->patience),
                     ms_text(b, sizeof b, f->p99, s->patience),
                     ms_text(c, sizeof c, f->max, s->patience));
    if (f->failed > 0 && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, " (%d with status >= 400)",
                 f->failed);
}

/* "GET / every 10 ms for 20 s; 200 trickling" */
static void setting(char *buf, size_t size, const struct stream *s)
{
    int n = snprintf(buf, size, "GET / every %ld ms for %ld s",
                     s->every_ms, s->for_s);

    if (s->trickle > 0 && n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, "; %ld trickling",
                      s->trickle);
    if (s->hold > 0 && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "; %ld of %ld idle held",
                 s->held_open, s->hold);
}

/* Rows per slice of the stream: sent when, answered how fast. */
static void draw_slices(FILE *out, const struct stream *s,
                        long long *sorted)
{
    int per = (s->count + SLICES - 1) / SLICES;
    char a[24], b[24];

    fprintf(out, "  %-15s %5s %8s %10s %10s\n", "sent at", "sent",
            "answered", "p50", "max");
    for (int from = 0; from < s->count; from += per) {
        int to = from + per < s->count ? from + per : s->count, ok = 0;
        for (int i = from; i < to; i++)
            ok += s->calls[i].outcome == OUTCOME_ANSWERED;
        fprintf(out, "  %6lld-%6lld ms %5d %8d %10s %10s\n",
                (long long)from * s->every_ms,
                (long long)to * s->every_ms, to - from, ok,
                ms_text(a, sizeof a,
                        percentile(s->calls, from, to, 0.5, sorted),
                        s->patience),
                ms_text(b, sizeof b,
                        percentile(s->calls, from, to, 1.0, sorted),
                        s->patience));
    }
}

static void print_report(FILE *out, const struct stream *s, bool quiet,
                         long long *sorted)
{
    char line[256];
    struct figures f;

    setting(line, sizeof line, s);
    fprintf(out, "%s: %s to %s:%d\n", s->title ? s->title : "stream",
            line, s->host, s->port);
    if (s->hold > 0)
        fprintf(out,
                "held: %ld of %ld idle connections open after %lld ms;"
                " %ld closed by the server by the end\n",
                s->held_open, s->hold, s->hold_ms, s->held_closed);
    if (s->trickle > 0)
        fprintf(out,
                "tricklers: %ld, one byte every %d ms; thrown out and"
                " back %ld times\n",
                s->trickle, TRICKLE_MS, s->reopened);
    if (!quiet)
        draw_slices(out, s, sorted);
    figures(s, &f, sorted);
    summary(line, sizeof line, s, &f);
    fprintf(out, "%s\n", line);
}

/* y of a latency on a log axis from 0.1 ms up to the patience. */
static double y_of(long long us, long long patience)
{
    double lo = 100, hi = (double)patience, v = (double)us;

    v = v < lo ? lo : v > hi ? hi : v;
    return PLOT_TOP + PLOT_H - log10(v / lo) * PLOT_H / log10(hi / lo);
}

static void svg_axes(FILE *out, const struct stream *s)
{
    long long total_ms = (long long)s->count * s->every_ms;
    long long step = total_ms <= 2000    ? 250
                     : total_ms <= 10000 ? 1000
                                         : 5000;

    for (long long us = 100; us <= s->patience; us *= 10) {
        double y = y_of(us, s->patience);
        fprintf(out,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\""
                " stroke=\"#ddd\"/>\n"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\""
                " fill=\"#555\">%g ms</text>\n",
                PLOT_X, y, PLOT_X + PLOT_W, y, PLOT_X - 4, y + 4,
                (double)us / 1000);
    }
    for (long long t = 0; t <= total_ms; t += step)
        fprintf(out,
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\""
                " fill=\"#555\">%g s</text>\n",
                PLOT_X + (double)t * PLOT_W / (double)total_ms,
                PLOT_TOP + PLOT_H + 16, (double)t / 1000);
    fprintf(out,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"end\""
            " fill=\"#c0392b\">none</text>\n",
            PLOT_X - 4, PLOT_TOP - 4);
}

static int draw_stream_svg(FILE *out, const struct stream *s,
                           long long *sorted)
{
    long long total = (long long)s->count * s->every_ms * 1000;
    char line[256];
    struct figures f;

    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\""
            " height=\"%d\" viewBox=\"0 0 %d %d\">\n"
            "<g font-family=\"DejaVu Sans Mono, Menlo, Consolas,"
            " monospace\" font-size=\"11\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
            "<text x=\"12\" y=\"20\" font-size=\"14\""
            " font-weight=\"bold\">",
            SVG_W, SVG_H, SVG_W, SVG_H, SVG_W, SVG_H);
    svg_put_text(out, s->title ? s->title : "stream");
    setting(line, sizeof line, s);
    fprintf(out,
            "</text>\n<text x=\"12\" y=\"38\" fill=\"#555\">%s"
            "</text>\n",
            line);
    fprintf(out,
            "<text x=\"12\" y=\"54\" fill=\"#555\">a dot per request:"
            " sent (x), took (y); none: not in %lld s</text>\n",
            s->patience / 1000000);
    svg_axes(out, s);
    for (int i = 0; i < s->count; i++) {
        const struct call *c = &s->calls[i];
        double x = PLOT_X + (double)(c->start - s->calls[0].start) *
                                PLOT_W /
                                (double)(total > 0 ? total : 1);
        bool ok = c->outcome == OUTCOME_ANSWERED;
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"2\" height=\"2\""
                " fill=\"%s\"/>\n",
                x,
                ok ? y_of(c->end - c->start, s->patience) - 1
                   : (double)PLOT_TOP - 9,
                !ok                ? "#c0392b"
                : c->status >= 400 ? "#dd6b20"
                                   : "#2b6cb0");
    }
    figures(s, &f, sorted);
    char a[24], b[24]; /* the summary, short enough for 450 pixels */
    fprintf(out,
            "<text x=\"12\" y=\"%d\" font-weight=\"bold\">%d of %d"
            " answered; p50 %s, p99 %s</text>\n</g>\n</svg>\n",
            SVG_H - 14, f.answered, s->count,
            ms_text(a, sizeof a, f.p50, s->patience),
            ms_text(b, sizeof b, f.p99, s->patience));
    return ferror(out) ? -1 : 0;
}

/* ---- Command line ---- */

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
    if (strcmp(a, "--trickle") == 0)
        return parse_long(val, 0, 2000, &s->trickle);
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
    static const char *const names[] = {"-p",    "-d",        "--every",
                                        "--for", "--trickle", "--hold",
                                        "--svg", "--title"};
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
    int failed = draw_stream_svg(f, s, sorted) < 0;
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
    origin = clock_us();
    if (s.hold > 0)
        open_held(&s);
    run_stream(&s);
    release_held(&s);
    print_report(stdout, &s, quiet, sorted);
    if (svg != NULL && write_stream_svg(svg, &s, sorted) != 0)
        return 3;
    figures(&s, &f, sorted);
    return f.answered == s.count && f.failed == 0 ? 0 : 1;
}
