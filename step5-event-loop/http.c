/*
 * http.c - parse one request, answer it, close the connection.
 *
 * The same file in every step. It is written to survive any input: the
 * request is read into one fixed buffer, every length is checked
 * against a limit in config.h, and a client that vanishes or misbehaves
 * ends only its own connection, never the server.
 */
#include "http.h"

#include "config.h"
#include "io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- Parsing: pure functions over (buffer, length) ---- */

/* Token characters (RFC 9110): method and header names. */
static bool is_tchar(unsigned char c)
{
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible characters: the request target. */
static bool is_vchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* What a header value may hold: no control characters but tab. */
static bool is_field_char(unsigned char c)
{
    return c == '\t' || c == ' ' || is_vchar(c) || c >= 0x80;
}

/* What a Host value may hold: a name or an IP literal, and a port. */
static bool is_host_char(unsigned char c)
{
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c != '\0' && strchr("-._~!$&'()*+,;=:[]%", c) != NULL;
}

static struct http_span span(const char *p, size_t n)
{
    return (struct http_span){.ptr = p, .len = n};
}

/* Exact comparison; methods are case-sensitive. */
static bool span_is(struct http_span s, const char *word)
{
    return s.len == strlen(word) && memcmp(s.ptr, word, s.len) == 0;
}

/* Case-insensitive comparison, for header names. */
static bool span_is_name(struct http_span s, const char *name)
{
    return s.len == strlen(name) &&
           strncasecmp(s.ptr, name, s.len) == 0;
}

/* Parses a decimal number of 1 to 18 digits, at most max. Unlike
 * atoi() it rejects signs, spaces, trailing garbage and overflow. */
static bool parse_number(struct http_span s, long long max,
                         long long *out)
{
    long long n = 0;

    if (s.len == 0 || s.len > 18)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        n = n * 10 + (s.ptr[i] - '0');
    }
    if (n > max)
        return false;
    *out = n;
    return true;
}

/* "HTTP/1.1", or while incomplete any prefix of that shape. */
static long parse_version(const char *s, size_t n, bool complete,
                          struct http_request *req)
{
    static const char shape[] = "HTTP/#.#";
    size_t want = sizeof shape - 1;

    if (n > want || (complete && n < want))
        return -400;
    for (size_t i = 0; i < n; i++) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        if (shape[i] == '#' ? !digit : s[i] != shape[i])
            return -400;
    }
    if (complete) {
        req->major = s[5] - '0';
        req->minor = s[7] - '0';
    }
    return 0;
}

/* METHOD SP TARGET SP VERSION, without the line ending. While the
 * line is incomplete, checks that what has come so far could still
 * become a valid request line: garbage is refused early. */
static long parse_request_line(const char *s, size_t n, bool complete,
                               struct http_request *req)
{
    size_t i = 0;

    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    req->method = span(s, i);
    if (i == n)
        return complete ? -400 : 0;
    if (i == 0 || s[i] != ' ')
        return -400;
    size_t start = ++i;
    while (i < n && is_vchar((unsigned char)s[i]))
        i++;
    req->target = span(s + start, i - start);
    if (i > start && s[start] != '/')
        return -400; /* only origin-form: "/path?query" */
    if (i == n)
        return complete ? -400 : 0;
    if (i == start || s[i] != ' ')
        return -400;
    return parse_version(s + i + 1, n - i - 1, complete, req);
}

/* Remembers the headers that decide how the request is answered. */
static void note_header(struct http_span name, struct http_span value,
                        struct http_request *req)
{
    long long n;

    if (span_is_name(name, "Host")) {
        req->host_count++;
        for (size_t i = 0; i < value.len; i++)
            if (!is_host_char((unsigned char)value.ptr[i]))
                req->bad_host = true;
    } else if (span_is_name(name, "Transfer-Encoding")) {
        req->has_transfer_encoding = true;
    } else if (span_is_name(name, "Content-Length")) {
        bool ok = parse_number(value, 999999999999999999LL, &n);
        if (!ok ||
            (req->content_length >= 0 && req->content_length != n))
            req->bad_content_length = true;
        else
            req->content_length = n;
    }
}

/* NAME ":" OWS VALUE OWS, without the line ending; or a prefix of it
 * while incomplete. */
static long parse_header(const char *s, size_t n, bool complete,
                         struct http_request *req)
{
    size_t i = 0;

    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == n)
        return complete ? -400 : 0;
    if (i == 0 || s[i] != ':')
        return -400; /* also a folded line or a space before ':' */
    for (size_t j = i + 1; j < n; j++)
        if (!is_field_char((unsigned char)s[j]))
            return -400;
    if (!complete)
        return 0;
    size_t v = i + 1, end = n;
    while (v < end && (s[v] == ' ' || s[v] == '\t'))
        v++;
    while (end > v && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;
    note_header(span(s, i), span(s + v, end - v), req);
    return 0;
}

/* The checks that need the whole head, in the documented order. */
static long check_head(const struct http_request *req, size_t head_len)
{
    static const char *const known[] = {"POST",    "PUT",   "DELETE",
                                        "PATCH",   "TRACE", "CONNECT",
                                        "OPTIONS", NULL};

    if (req->major != 1 || req->minor > 1)
        return -505;
    if (req->host_count > 1 || req->bad_host ||
        (req->minor == 1 && req->host_count == 0))
        return -400;
    if (req->has_transfer_encoding)
        return -501;
    if (req->bad_content_length)
        return -400;
    if (req->content_length > 0)
        return -413;
    if (span_is(req->method, "GET") || span_is(req->method, "HEAD"))
        return (long)head_len;
    for (int i = 0; known[i] != NULL; i++)
        if (span_is(req->method, known[i]))
            return -405;
    return -501;
}

long http_parse(const char *buf, size_t len, struct http_request *req)
{
    *req = (struct http_request){.content_length = -1};
    if (len > HEAD_MAX_BYTES)
        len = HEAD_MAX_BYTES;
    for (size_t pos = 0, line = 0;; line++) {
        const char *lf = memchr(buf + pos, '\n', len - pos);
        size_t end = lf != NULL ? (size_t)(lf - buf) : len;
        size_t n = end - pos;
        bool complete = lf != NULL;
        long r;

        if (n > 0 && buf[pos + n - 1] == '\r')
            n--; /* CRLF or a bare LF both end a line */
        if (line == 0) {
            req->line = span(buf + pos, n);
            r = parse_request_line(buf + pos, n, complete, req);
        } else if (complete && n == 0) {
            return check_head(req, end + 1); /* the blank line */
        } else {
            r = parse_header(buf + pos, n, complete, req);
        }
        if (r < 0)
            return r;
        if (!complete) {
            if (len < HEAD_MAX_BYTES)
                return HTTP_INCOMPLETE;
            return line == 0 ? -414 : -431;
        }
        pos = end + 1;
    }
}

/* ---- Routing ---- */

enum route { ROUTE_HELLO, ROUTE_SLEEP, ROUTE_BYTES };

/* Finds name=N in a query such as "a=1&ms=300". Absent: *out = dflt
 * (a dflt of -1 makes the parameter required). Returns false on a
 * missing required value or a value that is not a number in 0..max. */
static bool query_number(struct http_span query, const char *name,
                         long long dflt, long long max, long long *out)
{
    size_t name_len = strlen(name);
    const char *p = query.ptr, *end = query.ptr + query.len;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        size_t n = (size_t)(stop - p);
        if (n > name_len && p[name_len] == '=' &&
            memcmp(p, name, name_len) == 0)
            return parse_number(
                span(p + name_len + 1, n - name_len - 1), max, out);
        p = stop + 1;
    }
    *out = dflt;
    return dflt >= 0;
}

/* Picks the route for a target. Returns 200, 400 (bad query value)
 * or 404 (unknown path). */
static int route_target(struct http_span target, enum route *route,
                        long long *number)
{
    const char *q = memchr(target.ptr, '?', target.len);
    struct http_span path = span(target.ptr, target.len);
    struct http_span query = span(NULL, 0);

    if (q != NULL) {
        path.len = (size_t)(q - target.ptr);
        query = span(q + 1, target.len - path.len - 1);
    }
    if (span_is(path, "/")) {
        *route = ROUTE_HELLO;
        return 200;
    }
    if (span_is(path, "/sleep")) {
        *route = ROUTE_SLEEP;
        return query_number(query, "ms", SLEEP_DEFAULT_MS, SLEEP_MAX_MS,
                            number)
                   ? 200
                   : 400;
    }
    if (span_is(path, "/bytes")) {
        *route = ROUTE_BYTES;
        return query_number(query, "n", -1, BYTES_MAX, number) ? 200
                                                               : 400;
    }
    return 404;
}

/* ---- Responding ---- */

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

/* Formats the status line and headers into out. Returns the length. */
static size_t format_head(char *out, size_t cap, int status,
                          long long content_length)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %lld\r\n"
                     "%s"
                     "Connection: close\r\n\r\n",
                     status, reason(status), content_length,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "");
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n; /* never cut */
}

/* Sends a response whose body is short, head and body in one write. */
static int send_short(int fd, int status, const char *body,
                      bool head_only)
{
    char out[512];
    size_t body_len = strlen(body);
    size_t n = format_head(out, sizeof out - body_len, status,
                           (long long)body_len);

    if (!head_only) {
        memcpy(out + n, body, body_len);
        n += body_len;
    }
    return io_write_all(fd, out, n);
}

/* The body of /bytes: "0123456789abcde\n" repeated, cut at n bytes,
 * written BYTES_CHUNK at a time so that slow readers and resets can
 * catch the server in the middle of a response. */
static int send_bytes(int fd, long long n, bool head_only)
{
    static const char pattern[] = "0123456789abcde\n";
    char head[256], chunk[BYTES_CHUNK];
    _Static_assert(BYTES_CHUNK % (sizeof pattern - 1) == 0,
                   "each chunk must start the pattern afresh");

    if (io_write_all(fd, head, format_head(head, sizeof head, 200, n)) <
        0)
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

static int send_error(int fd, int status, bool head_only)
{
    char body[64];

    snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    return send_short(fd, status, body, head_only);
}

/* Answers a complete, acceptable request. Returns the status sent;
 * -1 from a write is reported through *failed. */
static int answer(int fd, const struct http_request *req, bool *failed)
{
    bool head_only = span_is(req->method, "HEAD");
    enum route route = ROUTE_HELLO;
    long long number = 0;
    char body[64];
    int status = route_target(req->target, &route, &number);
    int r;

    if (status != 200) {
        r = send_error(fd, status, head_only);
    } else if (route == ROUTE_HELLO) {
        r = send_short(fd, 200, "Hello, World!", head_only);
    } else if (route == ROUTE_SLEEP) {
        io_sleep_ms((long)number); /* the simulated slow request */
        snprintf(body, sizeof body, "slept %lld ms\n", number);
        r = send_short(fd, 200, body, head_only);
    } else {
        r = send_bytes(fd, number, head_only);
    }
    *failed = r < 0;
    return status;
}

/* ---- The connection ---- */

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
static void log_request(const char *who, struct http_span line,
                        int status, long long ms, const char *problem)
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

/* Reads until http_parse() decides. Returns its verdict, or
 * HTTP_INCOMPLETE when the stream ended (errno 0), failed or ran out
 * of time (errno ETIMEDOUT) first. *len counts the bytes read. */
static long read_head(int fd, char *buf, size_t *len,
                      long long deadline, struct http_request *req)
{
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
        verdict = http_parse(buf, *len, req);
    }
    return verdict;
}

/* Closes without losing the response. Closing a socket that still has
 * unread request bytes makes the kernel send a reset, which can
 * destroy the response before the client reads it. So: end our side,
 * read and discard what the client still sends (bounded in time and
 * bytes), then close. */
static void close_lingering(int fd)
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
    close(fd);
}

static void describe(char *out, size_t cap, const char *call, int err)
{
    char msg[96];

    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    snprintf(out, cap, "%s: %s", call, msg);
}

size_t http_format_error(char *out, size_t cap, int status,
                         bool head_only)
{
    char body[64];
    int b =
        snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    size_t n = format_head(out, cap, status, b);
    if (n == 0 || head_only)
        return n;
    if (n + (size_t)b > cap)
        return 0;
    memcpy(out + n, body, (size_t)b);
    return n + (size_t)b;
}

void http_log(const char *who, struct http_span line, int status,
              long long ms, const char *problem)
{
    log_request(who, line, status, ms, problem);
}

int http_respond(int fd, const char *buf, size_t len, long head,
                 int read_errno, long long start, const char *who)
{
    char problem[128] = "";
    struct http_request req = {.content_length = -1};
    bool failed = false;
    int status = 0;

    if (len > 0)
        (void)http_parse(buf, len, &req);
    bool head_only = span_is(req.method, "HEAD");
    if (head > 0) {
        status = answer(fd, &req, &failed);
    } else if (head < 0) {
        status = (int)-head;
        failed = send_error(fd, status, head_only) < 0;
    } else if (read_errno == ETIMEDOUT && len > 0) {
        status = 408;
        failed = send_error(fd, status, head_only) < 0;
    } else if (read_errno == 0) {
        snprintf(problem, sizeof problem, "client closed %s",
                 len == 0 ? "before sending a request"
                          : "in the middle of its request");
    } else if (read_errno == ETIMEDOUT) {
        snprintf(problem, sizeof problem, "no request before deadline");
    } else {
        describe(problem, sizeof problem, "read", read_errno);
    }
    if (failed)
        describe(problem, sizeof problem, "write", errno);
    if (status != 0 && !failed && (status != 200 || len > (size_t)head))
        close_lingering(fd);
    else
        close(fd);
    log_request(who, req.line, status, io_now_ms() - start, problem);
    return failed ? -status : status;
}

int http_serve(int fd, const char *who, int deadline_ms)
{
    char buf[HEAD_MAX_BYTES], problem[128] = "";
    struct http_request req = {.content_length = -1};
    long long start = io_now_ms();
    long long deadline = deadline_ms > 0 ? start + deadline_ms : 0;
    size_t len = 0;
    bool failed = false;
    int status = 0;

    long head = read_head(fd, buf, &len, deadline, &req);
    int read_errno = errno;
    bool head_only = span_is(req.method, "HEAD");
    if (head > 0) {
        status = answer(fd, &req, &failed);
    } else if (head < 0) {
        status = (int)-head;
        failed = send_error(fd, status, head_only) < 0;
    } else if (read_errno == ETIMEDOUT && len > 0) {
        status = 408;
        failed = send_error(fd, status, head_only) < 0;
    } else if (read_errno == 0) {
        snprintf(problem, sizeof problem, "client closed %s",
                 len == 0 ? "before sending a request"
                          : "in the middle of its request");
    } else if (read_errno == ETIMEDOUT) {
        snprintf(problem, sizeof problem, "no request before deadline");
    } else {
        describe(problem, sizeof problem, "read", read_errno);
    }
    if (failed)
        describe(problem, sizeof problem, "write", errno);
    /* Unread bytes are possible after an error, or after a request
     * whose head was followed by more bytes. */
    if (status != 0 && !failed && (status != 200 || len > (size_t)head))
        close_lingering(fd);
    else
        close(fd);
    log_request(who, req.line, status, io_now_ms() - start, problem);
    return status;
}
