/*
 * http.c - serve one connection: read the request, answer.
 *
 * The same file in every step. What the bytes mean is decided by
 * http_parse.c; this file does the reading and writing around it. The
 * head is read into one fixed buffer and the body, if any, decoded into
 * another, and a client that vanishes or misbehaves ends only its own
 * connection, never the server.
 */
#include "http.h"

#include "config.h"
#include "io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- The first half: reading the head ---- */

/* Reads until http_parse() decides. Returns its verdict, or
 * HTTP_INCOMPLETE when the stream ended (errno 0), failed or ran out
 * of time (errno ETIMEDOUT) first. *len counts the bytes read. */
static long read_head(int fd, char *buf, size_t *len,
                      long long deadline)
{
    struct http_request req;
    long verdict = HTTP_INCOMPLETE;

    while (verdict == HTTP_INCOMPLETE) {
        ssize_t n =
            io_read(fd, buf + *len, HEAD_MAX_BYTES - *len, deadline);
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return HTTP_INCOMPLETE;
        }
        *len += (size_t)n;
        verdict = http_parse(buf, *len, &req);
    }
    return verdict;
}

int http_serve(int fd, const char *who, int deadline_ms)
{
    char buf[HEAD_MAX_BYTES];
    long long start = io_now_ms();
    long long deadline = deadline_ms > 0 ? start + deadline_ms : 0;
    size_t len = 0;

    long verdict = read_head(fd, buf, &len, deadline);
    return http_respond(fd, buf, len, verdict, errno, start,
                        deadline_ms, who);
}

/* ---- Formatting a response ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 417:
        return "Expectation Failed";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* The head of every response. Each part that varies has a bounded
 * width (an int, strings cut by %.Ns, a long long), so no head is
 * longer than HEAD_OUT_MAX with a text/plain body: a buffer that size
 * always holds it whole. /echo repeats the request's Content-Type,
 * which the head limit bounds. The bodies this server writes in one
 * go are shorter than SHORT_BODY_MAX. */
#define HEAD_FORMAT                                                    \
    "HTTP/1.1 %d %.31s\r\n"                                            \
    "%.37s"                                                            \
    "Content-Type: %.*s\r\n"                                           \
    "Content-Length: %lld\r\n"                                         \
    "%.24s"                                                            \
    "Connection: close\r\n\r\n"
#define TEXT_PLAIN "text/plain; charset=utf-8"
#define DATE_LINE_LEN 37 /* "Date: " + 29 + CRLF */
#define HEAD_OUT_MAX                                                   \
    (sizeof HEAD_FORMAT + 11 + 31 + 37 + sizeof TEXT_PLAIN + 20 + 24)
#define SHORT_BODY_MAX 64

/* What the head of a response says. */
struct head {
    int status;
    struct http_span type; /* Content-Type */
    long long length;      /* Content-Length */
    const char *allow;     /* the Allow line of a 405, or "" */
};

/* The Date header (RFC 9110 5.6.7's IMF-fixdate), with English names
 * whatever the locale: "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n". An
 * empty line when the clock cannot be read: a server without a clock
 * sends no Date. It changes once a second, so each thread keeps the
 * last line it made and makes a new one only when the second has
 * changed. _Thread_local (C11) gives every thread a copy of its own:
 * no lock, and no thread ever reads a line another is writing. */
static const char *date_line(void)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    static _Thread_local time_t made_at = (time_t)-1;
    static _Thread_local char line[DATE_LINE_LEN + 1];
    time_t now = time(NULL);
    struct tm tm;

    if (now == made_at && now != (time_t)-1)
        return line;
    made_at = (time_t)-1; /* until line holds a whole new one */
    if (now == (time_t)-1 || gmtime_r(&now, &tm) == NULL)
        return "";
    int n =
        snprintf(line, sizeof line,
                 "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n != DATE_LINE_LEN)
        return "";
    made_at = now;
    return line;
}

static struct http_span text(const char *s)
{
    return (struct http_span){.ptr = s, .len = strlen(s)};
}

/* The Allow line a 405 carries (RFC 9110 15.5.6): the methods the
 * target's resource takes. req is NULL when the target is unknown. */
static const char *allow_line(int status,
                              const struct http_request *req)
{
    enum http_route route;
    long long number;

    if (status != 405)
        return "";
    if (req != NULL && http_route(req->path, &route, &number) == 200 &&
        route == HTTP_ROUTE_ECHO)
        return "Allow: GET, HEAD, POST\r\n";
    return "Allow: GET, HEAD\r\n";
}

/* Formats h. Returns the length, or 0 when it does not fit in cap. */
static size_t format_head(char *out, size_t cap, const struct head *h)
{
    int type_len = h->type.len < HEAD_MAX_BYTES ? (int)h->type.len
                                                : HEAD_MAX_BYTES;
    int n = snprintf(out, cap, HEAD_FORMAT, h->status,
                     reason(h->status), date_line(), type_len,
                     h->type.ptr, h->length, h->allow);

    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* Formats a text/plain response: the head, then body if not NULL.
 * Returns the length, or 0 when it does not fit in cap. */
static size_t format_response(char *out, size_t cap, int status,
                              const char *allow, const char *body,
                              bool head_only)
{
    struct head h = {status, text(TEXT_PLAIN), (long long)strlen(body),
                     allow};
    size_t n = format_head(out, cap, &h);
    size_t body_len = head_only ? 0 : strlen(body);

    if (n == 0 || body_len > cap - n)
        return 0;
    memcpy(out + n, body, body_len);
    return n + body_len;
}

/* An error response: its status and reason as a one-line body. */
static size_t format_error(char *out, size_t cap, int status,
                           const char *allow, bool head_only)
{
    char body[SHORT_BODY_MAX];

    snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    return format_response(out, cap, status, allow, body, head_only);
}

size_t http_format_error(char *out, size_t cap, int status,
                         bool head_only)
{
    return format_error(out, cap, status, allow_line(status, NULL),
                        head_only);
}

/* ---- Writing a response ---- */

static bool is_head(const struct http_request *req)
{
    return req->method.len == 4 &&
           memcmp(req->method.ptr, "HEAD", 4) == 0;
}

/* Writes a response whose body is short, head and body in one write.
 * The buffer holds any of them: a 0 from format_response() cannot
 * happen, and is still never sent as an empty response. */
static int send_short(int fd, int status, const char *body,
                      bool head_only)
{
    char out[HEAD_OUT_MAX + SHORT_BODY_MAX];
    size_t n =
        format_response(out, sizeof out, status, "", body, head_only);

    if (n == 0) {
        errno = EOVERFLOW;
        return -1;
    }
    return io_write_all(fd, out, n);
}

/* The error response to req, whose fields may be partly parsed. */
static int send_error(int fd, int status,
                      const struct http_request *req)
{
    char out[HEAD_OUT_MAX + SHORT_BODY_MAX];
    size_t n = format_error(out, sizeof out, status,
                            allow_line(status, req), is_head(req));

    if (n == 0) {
        errno = EOVERFLOW;
        return -1;
    }
    return io_write_all(fd, out, n);
}

/* The body of /bytes: "0123456789abcde\n" repeated, cut at n bytes,
 * written BYTES_CHUNK at a time so that slow readers and resets can
 * catch the server in the middle of a response. */
static int send_bytes(int fd, long long n, bool head_only)
{
    static const char pattern[] = "0123456789abcde\n";
    char head[HEAD_OUT_MAX], chunk[BYTES_CHUNK];
    struct head h = {200, text(TEXT_PLAIN), n, ""};
    size_t head_len = format_head(head, sizeof head, &h);
    _Static_assert(BYTES_CHUNK % (sizeof pattern - 1) == 0,
                   "each chunk must start the pattern afresh");

    if (head_len == 0) {
        errno = EOVERFLOW;
        return -1;
    }
    if (io_write_all(fd, head, head_len) < 0)
        return -1;
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = pattern[i % (sizeof pattern - 1)];
    while (!head_only && n > 0) {
        size_t k = n < BYTES_CHUNK ? (size_t)n : BYTES_CHUNK;
        if (io_write_all(fd, chunk, k) < 0)
            return -1;
        n -= (long long)k;
    }
    return 0;
}

/* POST /echo: the body as it came, under the request's Content-Type
 * (application/octet-stream when it sent none). */
static int send_echo(int fd, const struct http_request *req,
                     const char *body, size_t len)
{
    char head[HEAD_OUT_MAX + HEAD_MAX_BYTES];
    struct head h = {200, req->content_type, (long long)len, ""};

    if (h.type.len == 0)
        h.type = text("application/octet-stream");
    size_t n = format_head(head, sizeof head, &h);
    if (n == 0) {
        errno = EOVERFLOW;
        return -1;
    }
    if (io_write_all(fd, head, n) < 0)
        return -1;
    return is_head(req) ? 0 : io_write_all(fd, body, len);
}

bool http_is_head(const struct http_request *req)
{
    return is_head(req);
}

/* Answers a complete, acceptable request, whose body is body[0..len).
 * Returns the status; *r is 0 once the whole response is written, -1
 * (errno set) if it was not. */
static int answer(int fd, const struct http_request *req,
                  const char *body, size_t len, int *r)
{
    enum http_route route = HTTP_ROUTE_HELLO;
    long long number = 0;
    char reply[SHORT_BODY_MAX];
    int status = http_route(req->path, &route, &number);

    if (status != 200) {
        *r = send_error(fd, status, req);
    } else if (route == HTTP_ROUTE_HELLO) {
        *r = send_short(fd, 200, "Hello, World!", is_head(req));
    } else if (route == HTTP_ROUTE_SLEEP) {
        /* The simulated slow request; a stopping server cuts it. */
        snprintf(reply, sizeof reply, "slept %lld ms\n", number);
        *r = io_sleep_ms((long)number);
        if (*r == 0)
            *r = send_short(fd, 200, reply, is_head(req));
    } else if (route == HTTP_ROUTE_ECHO) {
        *r = send_echo(fd, req, body, len);
    } else {
        *r = send_bytes(fd, number, is_head(req));
    }
    return status; /* a body the route does not use is dropped */
}

/* ---- The second half: answer, log, linger ---- */

static bool logging = true;

void http_set_logging(bool on)
{
    logging = on;
}

/* Copies s into out (cap > 0) with every byte that is not plain,
 * printable ASCII written as \xHH: request bytes never reach a
 * terminal raw. Stops early rather than cut an escape in half. */
static void escape(struct http_span s, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        if (o + (plain ? 1 : 4) >= cap)
            break;
        if (plain)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

/* One line per connection: who: "request line" status time (problem).
 * Built whole and written with one call, so that lines from several
 * threads never mix; cut at LOG_LINE_MAX bytes. */
void http_log(const char *who, struct http_span line, int status,
              long long ms, const char *problem)
{
    char text[LOG_LINE_MAX], out[LOG_LINE_MAX + 2];
    char code[12] = "-";

    if (!logging)
        return;
    escape(line, text, sizeof text);
    if (status > 0)
        snprintf(code, sizeof code, "%d", status);
    int n = snprintf(
        out, LOG_LINE_MAX + 1, "%s: \"%s\" %s %lldms%s%s%s", who, text,
        code, ms, *problem ? " (" : "", problem, *problem ? ")" : "");
    size_t k = n < 0 ? 0 : n > LOG_LINE_MAX ? LOG_LINE_MAX : (size_t)n;
    out[k] = '\n';
    out[k + 1] = '\0';
    fputs(out, stderr);
}

/* Whether the client may still send bytes nobody read, when its
 * request is refused: the head was not read to its end, or it
 * announced a body that was not read whole. (Bytes read after the
 * head or the body are the caller's to count: the unread argument.) A
 * request pipelined behind a complete head is the same risk after a
 * 404 as after a 200, so neither lingers for it. */
static bool may_send_more(const struct http_request *req)
{
    return req->head_len == 0 || req->content_length > 0 ||
           req->bad_content_length || req->transfer_encodings > 0;
}

/* Gets fd ready to be closed without losing the response. Closing a
 * socket that still has unread request bytes makes the kernel send a
 * reset, which can destroy the response before the client reads it.
 * So: end our side, and read and discard what the client still sends
 * (bounded in time and bytes). The caller closes fd afterwards. */
static void linger(int fd)
{
    char sink[4096];
    long long deadline = io_now_ms() + LINGER_MS;
    long total = 0;

    if (shutdown(fd, SHUT_WR) == 0) {
        while (total < LINGER_MAX_BYTES) {
            ssize_t n = io_read(fd, sink, sizeof sink, deadline);
            if (n <= 0)
                break;
            total += (long)n;
        }
    }
}

/* Says why a read or write failed, for the log. A stopping server
 * cuts connections on purpose: that is said instead. */
static void describe(char *out, size_t cap, const char *call, int err)
{
    char msg[96];

    if (io_cancelled()) {
        snprintf(out, cap, "cut: server stopping");
        return;
    }
    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    snprintf(out, cap, "%s: %s", call, msg);
}

/* Why no request came, when none did. */
static void describe_read(char *out, size_t cap, int err, size_t len)
{
    if (io_cancelled())
        snprintf(out, cap, "cut: server stopping");
    else if (err == 0)
        snprintf(out, cap, "client closed %s",
                 len == 0 ? "before sending a request"
                          : "in the middle of its request");
    else if (err == ETIMEDOUT)
        snprintf(out, cap, "no request before deadline");
    else
        describe(out, cap, "read", err);
}

/* ---- Reading the body ---- */

/* One request on its way through http_respond(). */
struct exchange {
    int fd;                  /* the caller's; never closed here */
    struct http_request req; /* spans into the caller's buffer */
    struct http_body body;   /* the decoder's state, over bytes */
    char *bytes;             /* the body: BODY_MAX_BYTES of room */
    bool unread;             /* the client may have sent bytes we did
                                not read: linger before closing */
    char problem[128];       /* for the log line; may be "" */
};

/* RFC 9110 10.1.1: a client that sent Expect: 100-continue waits for
 * this before it sends the body. Only a head the server accepted gets
 * it; a refused one gets its final status at once, and the body is
 * never read. An HTTP/1.0 client cannot expect it. */
static int send_continue(const struct exchange *x)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if (!x->req.expect_continue || x->req.minor == 0 || x->body.done)
        return 0;
    return io_write_all(x->fd, line, sizeof line - 1);
}

/* Reads the body of the accepted head in buf[0..len), starting with
 * the bytes that came after the head, until http_body_feed() has it
 * whole. Returns 0 then; the status to answer when the body is
 * refused (400, 413) or late (408); or -1, x->problem set, when the
 * client closed or a read or write failed. */
static int read_body(struct exchange *x, const char *buf, size_t len,
                     long long deadline)
{
    char wire[4096];
    size_t rest = len - x->req.head_len;

    http_body_start(&x->body, &x->req);
    long n =
        http_body_feed(&x->body, buf + x->req.head_len, rest, x->bytes);
    x->unread = n < 0 || (size_t)n < rest;
    if (n >= 0 && send_continue(x) < 0) {
        describe(x->problem, sizeof x->problem, "write", errno);
        return -1;
    }
    while (n >= 0 && !x->body.done) {
        ssize_t got = io_read(x->fd, wire, sizeof wire, deadline);
        if (got < 0 && errno == ETIMEDOUT)
            return 408;
        if (got <= 0) {
            describe_read(x->problem, sizeof x->problem,
                          got == 0 ? 0 : errno, len);
            return -1;
        }
        n = http_body_feed(&x->body, wire, (size_t)got, x->bytes);
        x->unread = n < 0 || n < got; /* more came after the body */
    }
    return n < 0 ? (int)-n : 0;
}

/* ---- The second half, on the whole ---- */

int http_answer(int fd, const struct http_request *req, int status,
                const char *body, size_t body_len, bool unread,
                long long start_ms, const char *who)
{
    char problem[128] = "";
    bool refused = status != 0;
    int r = 0;

    if (!refused)
        status = answer(fd, req, body, body_len, &r);
    else
        r = send_error(fd, status, req);
    if (r < 0)
        describe(problem, sizeof problem, "write", errno);
    if (r == 0 && (unread || (refused && may_send_more(req))))
        linger(fd);
    http_log(who, req->line, status, io_now_ms() - start_ms, problem);
    return r < 0 ? -status : status;
}

int http_respond(int fd, const char *buf, size_t len, long verdict,
                 int read_errno, long long start_ms, int deadline_ms,
                 const char *who)
{
    /* 64 KiB of stack: fine for any thread (macOS gives 512 KiB). */
    char bytes[BODY_MAX_BYTES];
    struct exchange x = {.fd = fd, .bytes = bytes};
    long long deadline = deadline_ms > 0 ? start_ms + deadline_ms : 0;
    int status = -1;

    /* Pure and cheap: parsing again gives the fields behind verdict. */
    http_parse(buf, len, &x.req);
    x.unread = x.req.head_len > 0 && len > x.req.head_len;
    if (verdict > 0)
        status = read_body(&x, buf, len, deadline);
    else if (verdict < 0)
        status = (int)-verdict;
    else if (read_errno == ETIMEDOUT && len > 0)
        status = 408;
    else
        describe_read(x.problem, sizeof x.problem, read_errno, len);
    if (status >= 0)
        return http_answer(fd, &x.req, status, x.bytes, x.body.len,
                           x.unread, start_ms, who);
    http_log(who, x.req.line, 0, io_now_ms() - start_ms, x.problem);
    return 0;
}
