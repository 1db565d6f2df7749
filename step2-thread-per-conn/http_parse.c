/*
 * http_parse.c - what a request means: the parser and the router.
 *
 * Read it after the workshop, if at all: the steps never change it.
 * Every function here is pure, over (buffer, length), and every length
 * is checked against a limit in config.h. The suite tests it row by
 * row and `make fuzz` throws millions of hostile inputs at it.
 */
#include "http_parse.h"

#include "config.h"

#include <string.h>
#include <strings.h>

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

/* The request target, or while incomplete the part that came: either
 * origin-form "/path?query", or absolute-form "http://host/path?query"
 * (RFC 9112 3.2.2), which a server must accept too. Its host must pass
 * the rules a Host value does (so no user@) and may not be empty; its
 * path and query become req->path (an empty path means "/"). */
static long parse_target(const char *s, size_t n, bool complete,
                         struct http_request *req)
{
    static const char scheme[] = "http://"; /* any case: HtTp:// too */
    size_t k = sizeof scheme - 1, i = k;

    req->path = span(s, n);
    if (n > 0 && s[0] == '/')
        return 0;
    if (strncasecmp(s, scheme, n < k ? n : k) != 0)
        return -400; /* https:// is another origin: not ours either */
    if (n < k)
        return complete ? -400 : 0;
    while (i < n && s[i] != '/' && s[i] != '?') {
        if (!is_host_char((unsigned char)s[i]))
            return -400;
        i++;
    }
    if (i == k && (i < n || complete))
        return -400; /* no host */
    req->path = span(s + i, n - i);
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
    long r = parse_target(s + start, i - start, i < n, req);
    if (r < 0)
        return r;
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
    size_t empty = 0; /* empty lines before the request line */

    *req = (struct http_request){.content_length = -1};
    if (len == 0)
        return HTTP_INCOMPLETE; /* and buf may be NULL: never offset it
                                 */
    if (len > HEAD_MAX_BYTES)
        len = HEAD_MAX_BYTES;
    for (size_t pos = 0, line = 0;;) {
        const char *lf = memchr(buf + pos, '\n', len - pos);
        size_t end = lf != NULL ? (size_t)(lf - buf) : len;
        size_t n = end - pos;
        bool complete = lf != NULL;
        long r = 0;

        if (n > 0 && buf[pos + n - 1] == '\r')
            n--; /* CRLF or a bare LF both end a line */
        if (line == 0 && complete && n == 0) {
            /* RFC 9112 2.2: ignore empty lines before a request */
            if (++empty > EMPTY_LINES_MAX)
                return -400;
        } else if (line++ == 0) {
            req->line = span(buf + pos, n);
            r = parse_request_line(buf + pos, n, complete, req);
        } else if (complete && n == 0) {
            req->head_len = end + 1; /* the blank line */
            return check_head(req, req->head_len);
        } else {
            r = parse_header(buf + pos, n, complete, req);
        }
        if (r < 0)
            return r;
        if (!complete) {
            if (len < HEAD_MAX_BYTES)
                return HTTP_INCOMPLETE;
            return line == 1 ? -414 : -431;
        }
        pos = end + 1;
    }
}

/* ---- Routing ---- */

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

int http_route(struct http_span path, enum http_route *route,
               long long *number)
{
    /* An empty path ("http://h", "http://h?x") is "/" (RFC 9110
     * 4.2.3). Without '?' the query is empty, and points at "" rather
     * than NULL: NULL + 0 is undefined behaviour in C. */
    const char *q =
        path.len > 0 ? memchr(path.ptr, '?', path.len) : NULL;
    size_t path_len = q != NULL ? (size_t)(q - path.ptr) : path.len;
    struct http_span query = span(q != NULL ? q + 1 : "", 0);

    if (q != NULL)
        query.len = path.len - path_len - 1;
    path.len = path_len;
    if (path.len == 0 || span_is(path, "/")) {
        *route = HTTP_ROUTE_HELLO;
        return 200;
    }
    if (span_is(path, "/sleep")) {
        *route = HTTP_ROUTE_SLEEP;
        return query_number(query, "ms", SLEEP_DEFAULT_MS, SLEEP_MAX_MS,
                            number)
                   ? 200
                   : 400;
    }
    if (span_is(path, "/bytes")) {
        *route = HTTP_ROUTE_BYTES;
        return query_number(query, "n", -1, BYTES_MAX, number) ? 200
                                                               : 400;
    }
    return 404;
}
