/*
 * stream.c - the timeline client's stream mode: a steady stream of
 * GET / while other connections trickle or sit idle.
 *
 *   timeline -p PORT --every 10 --for 20 --trickle 200
 *   timeline -p PORT --every 10 --for 20 --trickle-body 200
 *   timeline -p PORT --hold 10000 --every 10 --for 2
 *
 * Sends GET / on a new connection every --every ms for --for seconds
 * and times each request from its connect() to the last byte of the
 * answer, so that a wait in the kernel's backlog counts too. Meanwhile
 *   --trickle K  K connections send a request head one byte every
 *                500 ms, never finishing it, and connect again as
 *                soon as the server closes them (slowloris);
 *   --trickle-body K  the same, but each sends a whole head that
 *                announces a 64 KiB body, then the body one byte every
 *                500 ms (a slow POST, "R.U.D.Y.");
 *   --hold N     N connections, opened before the stream starts, send
 *                nothing at all (hold.c: how they are opened past a
 *                full backlog).
 * A request unanswered after -d seconds counts as unanswered: it sorts
 * after every answer, so a percentile that lands on it says ">5000
 * ms" and is never left out. One thread and poll(), as in fire.c; the
 * held connections are not polled while the stream runs, so that
 * their number does not slow the client down.
 *
 * Layer 2 of the timeline client (measuring): this file is the loop
 * of the stream and the tricklers; hold.c opens the held connections,
 * figures.c computes the percentiles, stream_draw.c prints and draws,
 * stream_main.c reads the command line.
 */
#include "stream.h"
#include "clock.h"
#include "conn.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define SETTLE_MS 2000 /* tricklers connect within this first */

/* The head a trickler sends, then 'a' for ever: no blank line. */
static const char trickle_head[] = "GET / HTTP/1.1\r\nHost: bench\r\n"
                                   "X-Trickle: ";
/* A body trickler's head, sent whole; then 'a' for ever (the server's
 * -T ends it long before 65,536 bytes at two a second). */
static const char body_head[] = "POST /echo HTTP/1.1\r\nHost: bench\r\n"
                                "Content-Length: 65536\r\n\r\n";

/* ---- Requests of the stream ---- */

static void end_call(struct call *c, enum outcome outcome)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->outcome = outcome;
    c->end = clock_now();
}

static void start_call(struct stream *s, struct call *c)
{
    c->start = clock_now();
    c->fd = conn_open(&s->addr, &c->connected);
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
        if (!conn_made(c->fd)) {
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
    t->fd = conn_open(&s->addr, &t->connected);
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
    trickler_open(s, t, clock_now());
}

/* The next byte, or with --trickle-body the whole head at first. */
static void trickler_write(struct stream *s, struct trickler *t)
{
    const char *text = s->trickle_body ? body_head : trickle_head;
    size_t head = strlen(text);
    size_t k = s->trickle_body && t->sent < head ? head - t->sent : 1;
    ssize_t n = write(t->fd, t->sent < head ? text + t->sent : "a", k);

    if (n > 0) {
        t->sent += (size_t)n;
        t->next_send = clock_now() + TRICKLE_MS * 1000LL;
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
        if (!conn_made(t->fd)) {
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
    if ((revents & POLLOUT) && clock_now() >= t->next_send)
        trickler_write(s, t);
}

/* ---- The loop ---- */

/* Fills s->pfd with the tricklers and the requests under way.
 * *first: no request before it is still under way. */
static int watch(struct stream *s, int started, int *first,
                 bool tricklers)
{
    long long t = clock_now();
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
    long long t = clock_now() + 1000000;

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
void stream_run(struct stream *s)
{
    int started = 0, first = 0;
    long long settle_end = clock_now() + SETTLE_MS * 1000LL;

    for (long i = 0; i < s->trickle; i++)
        trickler_open(s, &s->tr[i],
                      clock_now() +
                          i * TRICKLE_MS * 1000LL / s->trickle);
    for (int round = 0; s->trickle > 0 && clock_now() < settle_end;
         round++) {
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
    long long stream_start = clock_now();
    for (long round = 0; round < 100000000L; round++) {
        while (started < s->count &&
               clock_now() >= stream_start + (long long)started *
                                                 s->every_ms * 1000)
            start_call(s, &s->calls[started++]);
        int n = watch(s, started, &first, true);
        if (started == s->count && first == started)
            break;
        int timeout =
            clock_ms_until(next_due(s, started, first, stream_start));
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
