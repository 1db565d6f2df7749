/*
 * stress.c - the client behind `make stress`: hostile load on loopback.
 *
 *   usage: stress SCENARIO PORT [SERVER_PID]
 *   SCENARIO: probe slowloris burst resets garbage fdexhaust sigterm
 *
 * One thread and poll() drive up to a few thousand non-blocking
 * connections, each following a script: send a request (whole, one
 * byte every 500 ms, or a 10 MB one), read the response, sometimes
 * reset the connection on purpose. Every scenario is a fixed schedule
 * of connections, bounded in count and in time.
 *
 * How each connection ended is classified from the client's side:
 *   complete  a whole response arrived (status line, headers, and
 *             Content-Length bytes of body)
 *   refused   connect() failed or timed out, or the connection was
 *             reset before any response byte
 *   lost      connected, but the response is missing or cut short:
 *             end of stream or reset after a partial response, end of
 *             stream with none, or none within the client's patience
 *   aborted   the client ended it on purpose (a reset scripted by the
 *             scenario, or an attacker stopped when the attack ends)
 * The result is one line of key=value pairs on stdout, read by
 * tests/stress/run.sh. Exit status: 0 whatever the outcomes, 2 on a
 * usage error.
 *
 * Linux and macOS; loopback only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Connections in one scenario, at most. */
#define MAX_CONNS 2600
/* When the listen backlog is full, Linux drops SYNs; the client sends
 * them again after 1, 3, 7 and 15 s. A connect() still pending after
 * CONNECT_TIMEOUT ms counts as refused. */
#define CONNECT_TIMEOUT 20000
/* A response head longer than this is malformed. */
#define RESP_HEAD_MAX 2048
/* poll() wakes up at least this often (ms). */
#define POLL_MS 5
/* Slowloris: one byte this often (ms). */
#define TRICKLE_MS 500

/* What a connection does. */
enum kind {
    NORMAL,     /* a request sent whole; the response read whole */
    SLOW,       /* slowloris: one header byte every TRICKLE_MS */
    HOLD,       /* connects, waits hold_ms, then a normal request */
    RESET_REQ,  /* sends part of a request, then resets */
    RESET_RESP, /* reads part of a long response, then resets */
    BIG,        /* a huge request, written while reading the answer */
};

enum outcome { PENDING, COMPLETE, REFUSED, LOST, ABORTED };

/* The bytes a connection sends: head, then fill_len copies of fill,
 * then tail. Big requests are never held in memory. */
struct payload {
    const char *head;
    size_t head_len;
    char fill;
    size_t fill_len;
    const char *tail;
    size_t tail_len;
};

struct conn {
    int fd; /* -1 before opening and after the end; owned here */
    enum kind kind;
    bool measured; /* a "normal" client whose latency is reported */
    struct payload out;
    size_t sent;
    bool write_done; /* all sent, or the peer stopped taking bytes */
    bool connected;
    long long start_at, started, next_send, give_up_at;
    long hold_ms;       /* HOLD and RESET_REQ: wait before acting */
    size_t abort_after; /* RESET_RESP: bytes of response, then reset */
    char head[RESP_HEAD_MAX];
    size_t head_len;     /* bytes of the response head kept so far */
    long long body_left; /* -1 until the head is complete */
    size_t got;          /* response bytes received */
    int status;
    enum outcome outcome;
    const char *why; /* how it ended, for the report */
    long long ended;
};

/* ---- Time, randomness, sockets ---- */

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fixed-seed generator: every run sends the same bytes. */
static unsigned long long rng_state = 88172645463325252ULL;

static unsigned long long rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int port;

/* Starts a non-blocking connect. Returns the fd, or -1. */
static int open_socket(bool *connected)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_addr.s_addr = htonl(0x7f000001); /* 127.0.0.1 */
    if (fd < 0)
        return -1;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        *connected = true;
        return fd;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        *connected = false;
        return fd;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* Closes with a reset (RST) instead of an orderly end of stream. */
static void close_with_reset(int fd)
{
    struct linger hard = {.l_onoff = 1, .l_linger = 0};

    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard) < 0)
        perror("stress: setsockopt(SO_LINGER)"); /* closes normally */
    close(fd);
}

/* ---- One connection ---- */

static void finish(struct conn *c, enum outcome o, const char *why)
{
    if (c->fd >= 0) {
        if (o == ABORTED)
            close_with_reset(c->fd);
        else
            close(c->fd);
    }
    c->fd = -1;
    c->outcome = o;
    c->why = why;
    c->ended = now_ms();
}

/* Ends a connection that failed: before any response byte a reset
 * counts as refused, anything else as lost. */
static void fail(struct conn *c, int err, const char *why)
{
    if (c->got == 0 && (err == ECONNRESET || err == ECONNREFUSED))
        finish(c, REFUSED, why);
    else
        finish(c, LOST, why);
}

/* Copies the payload bytes from offset off into buf. */
static size_t payload_bytes(const struct payload *p, size_t off,
                            char *buf, size_t cap)
{
    size_t n = 0;

    while (n < cap) {
        size_t at = off + n;
        if (at < p->head_len)
            buf[n++] = p->head[at];
        else if (at < p->head_len + p->fill_len)
            buf[n++] = p->fill;
        else if (at < p->head_len + p->fill_len + p->tail_len)
            buf[n++] = p->tail[at - p->head_len - p->fill_len];
        else
            break;
    }
    return n;
}

static size_t payload_len(const struct payload *p)
{
    return p->head_len + p->fill_len + p->tail_len;
}

static void do_write(struct conn *c, long long now)
{
    char buf[65536];
    size_t total = payload_len(&c->out);

    size_t cap = c->kind == SLOW ? 1 : sizeof buf;
    size_t n = payload_bytes(&c->out, c->sent, buf, cap);
    ssize_t w = write(c->fd, buf, n);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        /* The server stopped reading (it has answered, or closed): a
         * response may still be waiting to be read. */
        c->write_done = true;
        return;
    }
    c->sent += (size_t)w;
    if (c->kind == SLOW)
        c->next_send = now + TRICKLE_MS;
    if (c->sent == total)
        c->write_done = true;
}

/* Reads a decimal number at p, up to a line end, into *out. */
static bool number_at(const char *p, long long *out)
{
    char *end;

    while (*p == ' ')
        p++;
    errno = 0;
    *out = strtoll(p, &end, 10);
    return errno == 0 && end != p && *end == '\r' && *out >= 0;
}

/* Once c->head holds a whole response head: the status, and how many
 * body bytes are still to come. False if the head is malformed. */
static bool parse_head(struct conn *c, char *end)
{
    const char *d = c->head + 9; /* "HTTP/1.1 200 OK" */
    long long length;

    end[2] = '\0'; /* the fields searched for end here */
    const char *cl = strstr(c->head, "\nContent-Length:");
    if (strncmp(c->head, "HTTP/1.1 ", 9) != 0 || d[0] < '1' ||
        d[0] > '5' || d[1] < '0' || d[1] > '9' || d[2] < '0' ||
        d[2] > '9' || d[3] != ' ' || cl == NULL ||
        !number_at(cl + 16, &length))
        return false;
    c->status = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
    c->body_left = length - (long long)(c->got - (end + 4 - c->head));
    return true;
}

/* Takes in response bytes: keeps the head, then counts the body. */
static void take_response(struct conn *c, const char *p, size_t n)
{
    c->got += n;
    if (c->body_left >= 0) {
        c->body_left -= (long long)n;
    } else {
        size_t room = sizeof c->head - 1 - c->head_len;
        size_t k = n < room ? n : room;
        memcpy(c->head + c->head_len, p, k);
        c->head_len += k;
        c->head[c->head_len] = '\0';
        char *end = strstr(c->head, "\r\n\r\n");
        if (end == NULL && k == room)
            finish(c, LOST, "response head too long");
        if (end == NULL)
            return;
        if (!parse_head(c, end)) {
            finish(c, LOST, "malformed response head");
            return;
        }
    }
    if (c->body_left <= 0)
        finish(c, COMPLETE, "");
    else if (c->kind == RESET_RESP && c->got >= c->abort_after)
        finish(c, ABORTED, "reset mid-response");
}

static void do_read(struct conn *c)
{
    char buf[65536];

    for (int i = 0; i < 16 && c->fd >= 0; i++) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n > 0) {
            take_response(c, buf, (size_t)n);
            continue;
        }
        if (n == 0)
            finish(c, LOST,
                   c->got == 0 ? "closed, no response"
                               : "closed mid-response");
        else if (errno != EAGAIN && errno != EWOULDBLOCK &&
                 errno != EINTR)
            fail(c, errno,
                 c->got == 0 ? "reset, no response"
                             : "reset mid-response");
        return;
    }
}

/* Finishes the connect() started by open_socket(). */
static void do_connected(struct conn *c, long long now)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        finish(c, REFUSED,
               err == ECONNREFUSED ? "connect refused"
                                   : "connect failed");
        return;
    }
    c->connected = true;
    c->next_send = c->kind == HOLD ? now + c->hold_ms : now;
}

static void do_open(struct conn *c, long long now, long patience)
{
    c->started = now;
    c->give_up_at = now + patience;
    c->body_left = -1;
    c->fd = open_socket(&c->connected);
    if (c->fd < 0) {
        finish(c, REFUSED,
               errno == ECONNREFUSED ? "connect refused"
                                     : "socket or connect failed");
        return;
    }
    if (c->connected)
        do_connected(c, now);
}

/* The scripted resets, and the client's patience. */
static void do_timers(struct conn *c, long long now)
{
    if (!c->connected) {
        if (now - c->started >= CONNECT_TIMEOUT)
            finish(c, REFUSED, "connect timed out");
        return;
    }
    if (c->kind == RESET_REQ && c->write_done &&
        now - c->started >= c->hold_ms) {
        finish(c, ABORTED, "reset mid-request");
        return;
    }
    if (c->kind != SLOW && now >= c->give_up_at) /* attackers wait */
        finish(c, LOST,
               c->got == 0 ? "no response in time"
                           : "response too slow");
}

/* ---- The scenario engine ---- */

static struct conn conns[MAX_CONNS];
static int nconns;

static struct conn *add(long long at, enum kind kind, bool measured,
                        struct payload out)
{
    if (nconns == MAX_CONNS) { /* a scenario asks too much: a bug */
        fprintf(stderr, "stress: more than %d connections\n",
                MAX_CONNS);
        exit(1);
    }
    struct conn *c = &conns[nconns++];
    *c = (struct conn){.fd = -1,
                       .kind = kind,
                       .measured = measured,
                       .out = out,
                       .start_at = at};
    return c;
}

static struct payload text(const char *s)
{
    return (struct payload){.head = s, .head_len = strlen(s)};
}

static const char get_root[] = "GET / HTTP/1.1\r\nHost: stress\r\n\r\n";

/* Settings of the running scenario. */
struct plan {
    long patience;       /* ms a client waits for its response */
    long long stop;      /* absolute time: hard end of the scenario */
    bool attack;         /* slowloris: attackers reconnect */
    int reconnects_left; /* ... this many more times at most */
    pid_t kill_pid;      /* sigterm: whom to signal */
    long long kill_at;   /* ... when (absolute ms), 0 when done */
};

/* True while a measured client has not finished. */
static bool measured_pending(void)
{
    for (int i = 0; i < nconns; i++)
        if (conns[i].measured && conns[i].outcome == PENDING)
            return true;
    return false;
}

static void step_conn(struct conn *c, short revents, long long now)
{
    if (!c->connected) {
        if (revents != 0)
            do_connected(c, now);
        return;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR))
        do_read(c);
    if (c->fd >= 0 && !c->write_done && (revents & POLLOUT))
        do_write(c, now);
}

/* A slowloris attacker that got its answer comes straight back. */
static void reconnect(struct plan *plan, const struct conn *c,
                      long long now)
{
    if (!plan->attack || c->kind != SLOW || plan->reconnects_left <= 0)
        return;
    add(now, SLOW, false, c->out);
    plan->reconnects_left--;
}

static short events_of(const struct conn *c, long long now)
{
    if (!c->connected)
        return POLLOUT;
    /* next_send: when a trickling or holding client writes again */
    bool want_write = !c->write_done && now >= c->next_send;
    return (short)(POLLIN | (want_write ? POLLOUT : 0));
}

/* The attack is over once every normal client has its answer. */
static void end_attack(struct plan *plan)
{
    if (!plan->attack || measured_pending())
        return;
    plan->attack = false;
    for (int i = 0; i < nconns; i++)
        if (conns[i].kind == SLOW && conns[i].outcome == PENDING)
            finish(&conns[i], ABORTED, "attack over");
}

/* Opens what is due and fills pfd. Returns how many to poll; *busy
 * says whether any connection has yet to end. */
static int prepare(struct plan *plan, long long now, struct pollfd *pfd,
                   int *index_of, bool *busy)
{
    int n = 0;

    *busy = false;
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        if (c->outcome == PENDING && c->fd < 0 && now >= c->start_at)
            do_open(c, now, plan->patience);
        if (c->outcome == PENDING && c->fd >= 0)
            do_timers(c, now);
        if (c->outcome != PENDING)
            continue;
        *busy = true;
        if (c->fd >= 0) {
            pfd[n] = (struct pollfd){.fd = c->fd,
                                     .events = events_of(c, now)};
            index_of[n++] = i;
        }
    }
    return n;
}

static void run(struct plan *plan)
{
    static struct pollfd pfd[MAX_CONNS];
    static int index_of[MAX_CONNS];
    bool busy = true;

    while (busy && now_ms() < plan->stop) {
        long long now = now_ms();
        if (plan->kill_at > 0 && now >= plan->kill_at) {
            if (kill(plan->kill_pid, SIGTERM) < 0)
                perror("stress: kill");
            plan->kill_at = 0;
        }
        end_attack(plan);
        int n = prepare(plan, now, pfd, index_of, &busy);
        if (poll(pfd, (nfds_t)n, POLL_MS) < 0 && errno != EINTR) {
            perror("stress: poll");
            break;
        }
        now = now_ms();
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[index_of[k]];
            step_conn(c, pfd[k].revents, now);
            if (c->outcome == COMPLETE)
                reconnect(plan, c, now);
        }
    }
    for (int i = 0; i < nconns; i++) { /* the hard end */
        struct conn *c = &conns[i];
        if (c->outcome == PENDING)
            finish(c, c->kind == SLOW ? ABORTED : LOST,
                   "scenario over");
    }
}

/* ---- Scenarios: who connects when, and how long they wait ---- */

static const char slow_req[] =
    "GET / HTTP/1.1\r\nHost: stress\r\n"
    "X-Slowloris: aaaaaaaaaaaaaaaaaaaaaaaaaa";

/* 50 attackers trickle a byte every 500 ms, and come back when they
 * are thrown out; 20 normal clients arrive behind them. The attack
 * ends when every normal client has its answer or has given up. */
static void slowloris(struct plan *plan, long long t0)
{
    for (int i = 0; i < 50; i++)
        add(t0, SLOW, false, text(slow_req));
    for (int i = 0; i < 20; i++)
        add(t0 + 500 + 100 * i, NORMAL, true, text(get_root));
    plan->patience = 10000;
    plan->attack = true;
    plan->reconnects_left = 500;
    plan->stop = t0 + 14000;
}

static void burst(struct plan *plan, long long t0)
{
    for (int i = 0; i < 2000; i++)
        add(t0, NORMAL, true, text(get_root));
    plan->patience = 30000; /* SYN retries take up to 15 s */
    plan->stop = t0 + 35000;
}

/* For 3 s: every 10 ms a client that resets, alternately half-way
 * through its request and part-way into a 4 MiB response; every
 * 25 ms a normal client. */
static void resets(struct plan *plan, long long t0)
{
    static const char partial[] = "GET /bytes?n=1048576 HTTP/1.1\r\nHo";
    static const char bytes[] = "GET /bytes?n=4194304 HTTP/1.1\r\n"
                                "Host: stress\r\n\r\n";

    for (int i = 0; i < 300; i++) {
        struct conn *c =
            add(t0 + 10 * i, i % 2 ? RESET_RESP : RESET_REQ, false,
                text(i % 2 ? bytes : partial));
        c->hold_ms = (long)(rng() % 30);
        c->abort_after = 1 + rng() % 262144;
    }
    for (int i = 0; i < 120; i++)
        add(t0 + 25 * i, NORMAL, true, text(get_root));
    plan->patience = 10000;
    plan->stop = t0 + 15000;
}

/* 30 clients each of: 4 KiB of random bytes, a 1 MB header, a 10 MB
 * target; 20 normal clients among them. */
static void garbage(struct plan *plan, long long t0)
{
    static char noise[4096];
    static const char host[] = " HTTP/1.1\r\nHost: stress\r\n\r\n";
    struct payload big_header = {
        .head = "GET / HTTP/1.1\r\nHost: stress\r\nX-Big: ",
        .fill = 'a',
        .fill_len = 1000000,
        .tail = "\r\n\r\n",
        .tail_len = 4};
    struct payload big_uri = {.head = "GET /",
                              .fill = 'a',
                              .fill_len = 10000000,
                              .tail = host,
                              .tail_len = sizeof host - 1};

    big_header.head_len = strlen(big_header.head);
    big_uri.head_len = strlen(big_uri.head);
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (char)(rng() & 0xff);
    for (int i = 0; i < 30; i++) {
        struct payload p = {.head = noise + 16 * i,
                            .head_len = sizeof noise - 16 * i};
        add(t0 + 5 * i, BIG, false, p);
        add(t0 + 5 * i, BIG, false, big_header);
        add(t0 + 5 * i, BIG, false, big_uri);
    }
    for (int i = 0; i < 20; i++)
        add(t0 + 50 * i, NORMAL, true, text(get_root));
    plan->patience = 15000;
    plan->stop = t0 + 20000;
}

/* 500 clients connect at once and each holds its connection 300 ms
 * before sending GET /: the server needs a descriptor for every one
 * it accepts meanwhile. */
static void fdexhaust(struct plan *plan, long long t0)
{
    for (int i = 0; i < 500; i++) {
        struct conn *c = add(t0, HOLD, true, text(get_root));
        c->hold_ms = 300;
    }
    plan->patience = 30000; /* SYN retries take up to 15 s */
    plan->stop = t0 + 35000;
}

/* For 3 s: a client every 20 ms, 3 in 5 asking for /, 2 in 5 for
 * /sleep?ms=300..1500. SIGTERM reaches the server after 1.5 s. */
static void sigterm(struct plan *plan, long long t0)
{
    static char reqs[150][80];

    for (int i = 0; i < 150; i++) {
        if (i % 5 < 3) {
            add(t0 + 20 * i, NORMAL, true, text(get_root));
            continue;
        }
        snprintf(reqs[i], sizeof reqs[i],
                 "GET /sleep?ms=%llu HTTP/1.1\r\nHost: stress\r\n\r\n",
                 300 + rng() % 1201);
        add(t0 + 20 * i, NORMAL, true, text(reqs[i]));
    }
    plan->patience = 15000;
    plan->kill_at = t0 + 1500;
    plan->stop = t0 + 19000;
}

static void probe(struct plan *plan, long long t0)
{
    add(t0, NORMAL, true, text(get_root));
    plan->patience = 1000;
    plan->stop = t0 + 1500;
}

/* ---- The report ---- */

static int by_latency(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* "200:1990/408:52": how many complete responses had each status. */
static void print_statuses(void)
{
    static int count[600];
    const char *sep = "";

    for (int i = 0; i < nconns; i++)
        if (conns[i].outcome == COMPLETE)
            count[conns[i].status]++;
    printf(" statuses=");
    for (int s = 0; s < 600; s++) {
        if (count[s] > 0)
            printf("%s%d:%d", sep, s, count[s]);
        if (count[s] > 0)
            sep = "/";
    }
    if (*sep == '\0')
        printf("none");
}

/* " key=reason": the most frequent way connections ended with the
 * outcome o, spaces written as '_'. */
static void print_why(enum outcome o, const char *key)
{
    const char *best = "none";
    int best_n = 0;

    for (int i = 0; i < nconns; i++) {
        int n = 0;
        if (conns[i].outcome != o)
            continue;
        for (int j = 0; j < nconns; j++)
            n += conns[j].outcome == o && conns[j].why == conns[i].why;
        if (n > best_n) {
            best = conns[i].why;
            best_n = n;
        }
    }
    printf(" %s=", key);
    for (const char *p = best; *p != '\0'; p++)
        putchar(*p == ' ' ? '_' : *p);
}

static void report(long long elapsed)
{
    static long long lat[MAX_CONNS];
    int count[ABORTED + 1] = {0}, measured = 0, m_done = 0;

    for (int i = 0; i < nconns; i++) {
        const struct conn *c = &conns[i];
        count[c->outcome]++;
        measured += c->measured;
        if (c->measured && c->outcome == COMPLETE)
            lat[m_done++] = c->ended - c->started;
    }
    qsort(lat, (size_t)m_done, sizeof lat[0], by_latency);
    printf("conns=%d complete=%d refused=%d lost=%d aborted=%d", nconns,
           count[COMPLETE], count[REFUSED], count[LOST],
           count[ABORTED]);
    printf(" measured=%d measured_complete=%d measured_p50_ms=%lld"
           " measured_worst_ms=%lld",
           measured, m_done, m_done > 0 ? lat[m_done / 2] : -1,
           m_done > 0 ? lat[m_done - 1] : -1);
    print_statuses();
    print_why(LOST, "lost_why");
    print_why(REFUSED, "refused_why");
    printf(" elapsed_ms=%lld\n", elapsed);
}

/* ---- main ---- */

static const struct {
    const char *name;
    void (*setup)(struct plan *, long long);
} scenarios[] = {
    {"probe", probe},     {"slowloris", slowloris},
    {"burst", burst},     {"resets", resets},
    {"garbage", garbage}, {"fdexhaust", fdexhaust},
    {"sigterm", sigterm},
};

/* 2,000 connections at once need more descriptors than the usual
 * soft limit of 1024: raise it as far as the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = MAX_CONNS + 64;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want
                          ? want
                          : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            perror("stress: setrlimit");
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: stress SCENARIO PORT [SERVER_PID]\n"
                    "  SCENARIO: probe slowloris burst resets garbage"
                    " fdexhaust sigterm\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct plan plan = {0};
    char *end;
    long pid = 0;

    if (argc < 3 || argc > 4)
        return usage();
    long p = strtol(argv[2], &end, 10);
    if (*end != '\0' || p < 1 || p > 65535)
        return usage();
    port = (int)p;
    if (argc == 4) {
        pid = strtol(argv[3], &end, 10);
        if (*end != '\0' || pid < 1)
            return usage();
    }
    size_t i = 0;
    while (i < sizeof scenarios / sizeof scenarios[0] &&
           strcmp(scenarios[i].name, argv[1]) != 0)
        i++;
    if (i == sizeof scenarios / sizeof scenarios[0] ||
        (strcmp(argv[1], "sigterm") == 0 && pid == 0))
        return usage();
    signal(SIGPIPE, SIG_IGN); /* a closed peer: EPIPE, not death */
    raise_fd_limit();
    long long t0 = now_ms();
    plan.kill_pid = (pid_t)pid;
    scenarios[i].setup(&plan, t0);
    run(&plan);
    report(now_ms() - t0);
    return 0;
}
