/*
 * http.c - serve one connection: read the request head, answer.
 *
 * The same file in every step. What the bytes mean is decided by
 * http_parse.c; this file does the reading and writing around it. The
 * request is read into one fixed buffer, and a client that vanishes or
 * misbehaves ends only its own connection, never the server.
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
    return http_respond(fd, buf, len, verdict, errno, start, who);
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
 * longer than HEAD_OUT_MAX: a buffer that size always holds it whole.
 * The bodies this server writes in one go are shorter than
 * SHORT_BODY_MAX. */
#define HEAD_FORMAT                                                    \
    "HTTP/1.1 %d %.31s\r\n"                                            \
    "%.37s"                                                            \
    "Content-Type: text/plain; charset=utf-8\r\n"                      \
    "Content-Length: %lld\r\n"                                         \
    "%.18s"                                                            \
    "Connection: close\r\n\r\n"
#define DATE_LINE_LEN 37 /* "Date: " + 29 + CRLF */
#define HEAD_OUT_MAX (sizeof HEAD_FORMAT + 11 + 31 + 37 + 20 + 18)
#define SHORT_BODY_MAX 64

/* The Date header (RFC 9110 5.6.7's IMF-fixdate), with English names
 * whatever the locale: "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n". An
 * empty line when the clock cannot be read: a server without a clock
 * sends no Date. */
static const char *date_line(char *out, size_t cap)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;

    if (now == (time_t)-1 || gmtime_r(&now, &tm) == NULL)
        return "";
    int n = snprintf(
        out, cap, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
        days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
        tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return n == DATE_LINE_LEN ? out : "";
}

/* Formats a head announcing content_length bytes, then body if not
 * NULL. Returns the length, or 0 when it does not fit in cap. */
static size_t format_response(char *out, size_t cap, int status,
                              long long content_length,
                              const char *body)
{
    char date[DATE_LINE_LEN + 1];
    size_t body_len = body != NULL ? strlen(body) : 0;
    int n = snprintf(out, cap, HEAD_FORMAT, status, reason(status),
                     date_line(date, sizeof date), content_length,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "");

    if (n < 0 || (size_t)n >= cap || body_len > cap - (size_t)n)
        return 0;
    memcpy(out + n, body != NULL ? body : "", body_len);
    return (size_t)n + body_len;
}

size_t http_format_error(char *out, size_t cap, int status,
                         bool head_only)
{
    char body[SHORT_BODY_MAX];

    snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    return format_response(out, cap, status, (long long)strlen(body),
                           head_only ? NULL : body);
}

/* ---- Writing a response ---- */

/* Writes a response whose body is short, head and body in one write.
 * The buffer holds any of them: a 0 from format_response() cannot
 * happen, and is still never sent as an empty response. */
static int send_short(int fd, int status, const char *body,
                      bool head_only)
{
    char out[HEAD_OUT_MAX + SHORT_BODY_MAX];
    size_t n = format_response(out, sizeof out, status,
                               (long long)strlen(body),
                               head_only ? NULL : body);

    if (n == 0) {
        errno = EOVERFLOW;
        return -1;
    }
    return io_write_all(fd, out, n);
}

static int send_error(int fd, int status, bool head_only)
{
    char out[HEAD_OUT_MAX + SHORT_BODY_MAX];
    size_t n = http_format_error(out, sizeof out, status, head_only);

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
    size_t head_len = format_response(head, sizeof head, 200, n, NULL);
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

static bool is_head(const struct http_request *req)
{
    return req->method.len == 4 &&
           memcmp(req->method.ptr, "HEAD", 4) == 0;
}

bool http_is_head(const struct http_request *req)
{
    return is_head(req);
}

/* Answers a complete, acceptable request. Returns the status; *r is
 * 0 once the whole response is written, -1 (errno set) if it was not.
 */
static int answer(int fd, const struct http_request *req, int *r)
{
    enum http_route route = HTTP_ROUTE_HELLO;
    long long number = 0;
    char body[SHORT_BODY_MAX];
    int status = http_route(req->path, &route, &number);

    if (status != 200) {
        *r = send_error(fd, status, is_head(req));
    } else if (route == HTTP_ROUTE_HELLO) {
        *r = send_short(fd, 200, "Hello, World!", is_head(req));
    } else if (route == HTTP_ROUTE_SLEEP) {
        /* The simulated slow request; a stopping server cuts it. */
        snprintf(body, sizeof body, "slept %lld ms\n", number);
        *r = io_sleep_ms((long)number);
        if (*r == 0)
            *r = send_short(fd, 200, body, is_head(req));
    } else {
        *r = send_bytes(fd, number, is_head(req));
    }
    return status;
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

/* Whether the client may still send bytes nobody read: the head was
 * not read to its end, more bytes came after it, or it announced a
 * body. A request pipelined behind a complete head is the same risk
 * after a 404 as after a 200, so neither lingers for it. */
static bool may_have_unread(const struct http_request *req, size_t len)
{
    return req->head_len == 0 || len > req->head_len ||
           req->content_length > 0 || req->bad_content_length ||
           req->has_transfer_encoding;
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

int http_respond(int fd, const char *buf, size_t len, long verdict,
                 int read_errno, long long start_ms, const char *who)
{
    struct http_request req;
    char problem[128] = "";
    int status = 0, r = 0;

    /* Pure and cheap: parsing again gives the fields behind verdict. */
    http_parse(buf, len, &req);
    if (verdict > 0) {
        status = answer(fd, &req, &r);
    } else if (verdict < 0) {
        status = (int)-verdict;
        r = send_error(fd, status, is_head(&req));
    } else if (read_errno == ETIMEDOUT && len > 0) {
        status = 408;
        r = send_error(fd, status, is_head(&req));
    } else {
        describe_read(problem, sizeof problem, read_errno, len);
    }
    if (r < 0)
        describe(problem, sizeof problem, "write", errno);
    if (status != 0 && r == 0 && may_have_unread(&req, len))
        linger(fd);
    http_log(who, req.line, status, io_now_ms() - start_ms, problem);
    return r < 0 ? -status : status;
}
