/*
 * http_parse.c - what a request means: the parser and the router.
 *
 * Read it after the workshop, if at all: the steps never change it.
 * Every function here is pure, over (buffer, length), and every length
 * is checked against a limit in config.h: the head, the route, and the
 * body's framing. The suite tests it row by row and `make fuzz` throws
 * millions of hostile inputs at it.
 */
#include "http_parse.h"

#include "config.h"

#include <limits.h>
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
        req->transfer_encodings++;
        req->chunked = span_is_name(value, "chunked");
    } else if (span_is_name(name, "Expect")) {
        if (span_is_name(value, "100-continue"))
            req->expect_continue = true;
        else
            req->bad_expect = true;
    } else if (span_is_name(name, "Content-Type")) {
        req->content_type = value;
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

/* The method, judged before the body: GET and HEAD anywhere, POST
 * only to /echo. Returns 0, -405 (a method some resource could allow)
 * or -501 (one this server does not know). */
static long check_method(const struct http_request *req)
{
    static const char *const known[] = {"POST",    "PUT",   "DELETE",
                                        "PATCH",   "TRACE", "CONNECT",
                                        "OPTIONS", NULL};
    enum http_route route;
    long long number;

    if (span_is(req->method, "GET") || span_is(req->method, "HEAD"))
        return 0;
    if (span_is(req->method, "POST") &&
        http_route(req->path, &route, &number) == 200 &&
        route == HTTP_ROUTE_ECHO)
        return 0;
    for (int i = 0; known[i] != NULL; i++)
        if (span_is(req->method, known[i]))
            return -405;
    return -501;
}

/* The checks that need the whole head, in the documented order. */
static long check_head(const struct http_request *req, size_t head_len)
{
    bool has_te = req->transfer_encodings > 0;

    if (req->major != 1 || req->minor > 1)
        return -505;
    if (req->host_count > 1 || req->bad_host ||
        (req->minor == 1 && req->host_count == 0))
        return -400;
    long r = check_method(req);
    if (r < 0)
        return r;
    if (has_te && (req->content_length >= 0 ||
                   req->bad_content_length || req->minor == 0))
        return -400;
    if (has_te && (req->transfer_encodings > 1 || !req->chunked))
        return -501;
    if (req->bad_content_length)
        return -400;
    if (req->bad_expect)
        return -417;
    if (req->content_length > BODY_MAX_BYTES)
        return -413;
    return (long)head_len;
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
    if (span_is(path, "/echo")) {
        *route = HTTP_ROUTE_ECHO;
        return 200;
    }
    if (span_is(path, "/bytes")) {
        *route = HTTP_ROUTE_BYTES;
        return query_number(query, "n", -1, BYTES_MAX, number) ? 200
                                                               : 400;
    }
    return 404;
}

/* ---- The body: Content-Length or chunked, fed in pieces ---- */

/* Where the decoder is. The chunked framing (RFC 9112 7.1) is
 *   chunk-size [ chunk-ext ] CRLF chunk-data CRLF ... "0" CRLF
 *   *( field-line CRLF ) CRLF
 * and each state below waits for one part of it. */
enum {
    BODY_DONE,     /* the whole body has come */
    BODY_FIXED,    /* Content-Length: left bytes still due */
    BODY_SIZE,     /* hex digits of a chunk size */
    BODY_BWS,      /* spaces after them, before ';' or CR */
    BODY_EXT,      /* a chunk extension, skipped up to CR */
    BODY_SIZE_LF,  /* the LF ending the size line */
    BODY_DATA,     /* left bytes of chunk data still due */
    BODY_DATA_CR,  /* the CRLF after chunk data */
    BODY_DATA_LF,  /* ... its LF */
    BODY_TRAILER,  /* the start of a trailer line, or the last CRLF */
    BODY_FIELD,    /* a trailer field line, dropped up to CR */
    BODY_FIELD_LF, /* the LF ending it */
    BODY_END_LF    /* the LF of the blank line that ends the body */
};

void http_body_start(struct http_body *b,
                     const struct http_request *req)
{
    *b = (struct http_body){.state = BODY_DONE, .done = true};
    if (req->chunked) {
        b->state = BODY_SIZE;
        b->done = false;
    } else if (req->content_length > 0) {
        b->state = BODY_FIXED;
        b->done = false;
        b->left = (unsigned long long)req->content_length;
    }
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* One byte of a chunk-size line. Returns 0, or minus the status. */
static long size_byte(struct http_body *b, unsigned char c)
{
    int h = hex_value(c);

    if (++b->line > HEAD_MAX_BYTES)
        return -400;
    if (b->state == BODY_SIZE && h >= 0) {
        if (b->left > ULLONG_MAX >> 4)
            return -400; /* one more digit would overflow */
        b->left = b->left * 16 + (unsigned)h;
        b->digits++;
        return 0;
    }
    if (b->digits == 0 || c == '\n' || c == 0x7f ||
        (c < 0x20 && c != '\t' && c != '\r'))
        return -400; /* no size, a bare LF or a control character */
    bool space = c == ' ' || c == '\t';
    if (c == '\r')
        b->state = BODY_SIZE_LF;
    else if (c == ';' || b->state == BODY_EXT)
        b->state = BODY_EXT;
    else if (space)
        b->state = BODY_BWS;
    else
        return -400; /* after the digits: BWS, then ';' or CR only */
    return 0;
}

/* The LF that ends a chunk-size line: data follows, or the trailer. */
static long size_line_end(struct http_body *b, unsigned char c)
{
    if (c != '\n')
        return -400;
    if (b->left > BODY_MAX_BYTES - b->len)
        return -413; /* said before a byte of the chunk is read */
    b->state = b->left > 0 ? BODY_DATA : BODY_TRAILER;
    b->line = 0;
    b->digits = 0;
    return 0;
}

/* One byte of the trailer section, which is read and dropped. */
static long trailer_byte(struct http_body *b, unsigned char c)
{
    if (++b->line > HEAD_MAX_BYTES)
        return -400;
    if (c == '\n' && b->state != BODY_FIELD_LF &&
        b->state != BODY_END_LF)
        return -400; /* a bare LF */
    if (b->state == BODY_TRAILER)
        b->state = c == '\r' ? BODY_END_LF : BODY_FIELD;
    else if (b->state == BODY_FIELD)
        b->state = c == '\r' ? BODY_FIELD_LF : BODY_FIELD;
    else if (c != '\n')
        return -400; /* CR not followed by LF */
    else if (b->state == BODY_FIELD_LF)
        b->state = BODY_TRAILER;
    else
        b->state = BODY_DONE;
    return 0;
}

/* One byte of framing, in any state but those holding data. */
static long framing_byte(struct http_body *b, unsigned char c)
{
    switch (b->state) {
    case BODY_SIZE:
    case BODY_BWS:
    case BODY_EXT:
        return size_byte(b, c);
    case BODY_SIZE_LF:
        return size_line_end(b, c);
    case BODY_DATA_CR:
        b->state = BODY_DATA_LF;
        return c == '\r' ? 0 : -400;
    case BODY_DATA_LF:
        b->state = BODY_SIZE;
        return c == '\n' ? 0 : -400;
    default:
        return trailer_byte(b, c);
    }
}

/* Copies up to b->left data bytes from in[0..len) to out. Returns how
 * many, or -413 should they pass BODY_MAX_BYTES (a check that a head
 * and a size line made first, kept here for the memory's sake). */
static long data_bytes(struct http_body *b, const char *in, size_t len,
                       char *out)
{
    size_t n = b->left < len ? (size_t)b->left : len;

    if (n > BODY_MAX_BYTES - b->len)
        return -413;
    memcpy(out + b->len, in, n);
    b->len += n;
    b->left -= n;
    if (b->left == 0)
        b->state = b->state == BODY_FIXED ? BODY_DONE : BODY_DATA_CR;
    return (long)n;
}

long http_body_feed(struct http_body *b, const char *in, size_t len,
                    char *out)
{
    size_t used = 0;

    while (b->status == 0 && b->state != BODY_DONE && used < len) {
        long r;
        if (b->state == BODY_FIXED || b->state == BODY_DATA)
            r = data_bytes(b, in + used, len - used, out);
        else if ((r = framing_byte(b, (unsigned char)in[used])) == 0)
            r = 1;
        if (r < 0)
            b->status = (int)-r;
        else
            used += (size_t)r;
    }
    b->done = b->state == BODY_DONE;
    return b->status != 0 ? -b->status : (long)used;
}
