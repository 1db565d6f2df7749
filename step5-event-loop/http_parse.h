/*
 * http_parse.h - the request parser and the router: pure functions.
 *
 * You can read this file and http_parse.c after the workshop. They
 * decide what a request means, and nothing else: they never read a
 * socket, never allocate and never write the buffer they are given.
 * The shared suite tests them directly (tests/test_parser.c) and
 * `make fuzz` feeds them millions of hostile inputs. Like http.c, they
 * are the same in every step.
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* A piece of the request buffer: never NUL-terminated, never copied. */
struct http_span {
    const char *ptr;
    size_t len;
};

/* What http_parse() found. Spans point into the caller's buffer. */
struct http_request {
    struct http_span line;    /* the request line, without CRLF */
    struct http_span method;  /* "GET" */
    struct http_span target;  /* as sent: "http://h/sleep?ms=300" */
    struct http_span path;    /* its path and query: "/sleep?ms=300" */
    int major, minor;         /* HTTP/1.1: 1 and 1 */
    int host_count;           /* how many Host headers */
    bool bad_host;            /* a Host value no host could have */
    int transfer_encodings;   /* how many Transfer-Encoding headers */
    bool chunked;             /* the one sent is exactly "chunked" */
    bool bad_content_length;  /* not a number, or two that differ */
    long long content_length; /* -1: none sent */
    bool expect_continue;     /* Expect: 100-continue */
    bool bad_expect;          /* any other expectation */
    struct http_span content_type; /* the value, or empty */
    size_t head_len; /* up to the blank line; 0 until it is found */
};

/* http_parse() returns this while the head is not complete yet. */
#define HTTP_INCOMPLETE 0

/*
 * Parses the head of a request in buf[0..len): a pure function, which
 * reads nothing but buf, never writes it and never allocates.
 *
 * Returns the length of the head, blank line included, when it is
 * complete and acceptable (a request the server can answer, whose body,
 * if it has one, http_body_feed() below can read); HTTP_INCOMPLETE when
 * more bytes are needed; or minus the status of the first rule the
 * request breaks, in this order:
 *   -400 malformed request line or header, more than EMPTY_LINES_MAX
 *        empty lines before the request line, or a target that is
 *        neither "/path?query" nor "http://host/path?query" with a
 *        host that passes the rules of Host
 *   -414 buffer full before the request line ends
 *   -431 buffer full before the head ends
 *   -505 a version other than HTTP/1.0 and HTTP/1.1
 *   -400 HTTP/1.1 without exactly one Host (or any with two), or a
 *        Host value that is not a host
 *   -405 POST (but POST /echo), PUT, DELETE, PATCH, OPTIONS, TRACE or
 *        CONNECT: the method is judged before the body, whatever it is
 *   -501 any other method but GET and HEAD
 *   -400 Transfer-Encoding together with Content-Length (RFC 9112
 *        6.3), or in an HTTP/1.0 request (6.1): the framing is unsure
 *   -501 Transfer-Encoding other than one header saying "chunked"
 *   -400 Content-Length not plain digits, or two that differ
 *   -417 an Expect other than 100-continue
 *   -413 Content-Length above BODY_MAX_BYTES
 * Empty lines before the request line (CRLF or LF) are skipped and
 * count in the head's length. Only the first HEAD_MAX_BYTES of buf are
 * ever looked at. *req is filled with as much as could be parsed.
 */
long http_parse(const char *buf, size_t len, struct http_request *req);

/* The server's resources. */
enum http_route {
    HTTP_ROUTE_HELLO,
    HTTP_ROUTE_SLEEP,
    HTTP_ROUTE_BYTES,
    HTTP_ROUTE_ECHO
};

/*
 * Picks the route for a path and query such as "/sleep?ms=300" (a
 * request's path span). Sets *route, and *number to the route's
 * parameter (ms or n). Returns 200, 400 (a query value that is not a
 * number in range) or 404 (an unknown path). Pure, like http_parse().
 */
int http_route(struct http_span path, enum http_route *route,
               long long *number);

/*
 * The body: a pure decoder, fed the bytes that follow the head in
 * pieces of any size, as they arrive. Like http_parse() it never reads
 * a socket and never allocates; it reads in[0..len) and nothing past
 * it, and writes only out[0..BODY_MAX_BYTES). Both framings of RFC
 * 9112 are decoded: Content-Length, and chunked (section 7.1): hex
 * chunk sizes, chunk extensions skipped, the trailer section read and
 * dropped.
 *
 * How a server uses it, blocking or not: once http_parse() accepted
 * the head, call http_body_start(), then feed it what came after the
 * head in the same buffer, then each new piece read from the socket:
 *
 *     http_body_start(&body, &req);
 *     long n = http_body_feed(&body, buf + head_len, len - head_len,
 *                             out);
 *     ... while (n >= 0 && !body.done) read more, feed it ...
 *
 * An event loop does the same from its readable callback, keeping the
 * struct with the connection, and hands the request over once
 * body.done is true (with Content-Length, body.left is exactly how
 * many bytes are still due). Each call returns how many of the len
 * bytes it took (all of them, unless the body ended among them: the
 * rest is the next request's), or minus the status when the body is
 * malformed: -400 a chunk size that is not hex or overflows, a line
 * that does not end in CRLF (bare LF too), a control character in a
 *        chunk extension, a size line or a trailer section longer
 *        than HEAD_MAX_BYTES
 *   -413 the decoded body would pass BODY_MAX_BYTES
 * After an error every call returns the same status.
 */
struct http_body {
    int state; /* where in the framing; see http_parse.c */
    unsigned long long left; /* bytes still due in this chunk or body */
    size_t len;              /* decoded so far, in out[0..len) */
    size_t line;             /* bytes of the size or trailer line */
    int digits;              /* hex digits of the chunk size so far */
    int status;              /* 0, or the error every call returns */
    bool done;               /* the whole body is in out[0..len) */
};

/* Starts decoding the body of req, a head http_parse() accepted. A
 * request without Content-Length or chunked has an empty body, which
 * is done at once. */
void http_body_start(struct http_body *b,
                     const struct http_request *req);

/* Feeds in[0..len) (in may be NULL when len is 0). Decoded bytes go to
 * out + b->len; out has room for BODY_MAX_BYTES. Returns the count of
 * bytes taken, or minus the status, as said above. */
long http_body_feed(struct http_body *b, const char *in, size_t len,
                    char *out);

#endif
