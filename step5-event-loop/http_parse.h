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
    struct http_span line;   /* the request line, without CRLF */
    struct http_span method; /* "GET" */
    struct http_span target; /* as sent: "http://h/sleep?ms=300" */
    struct http_span path;   /* its path and query: "/sleep?ms=300" */
    int major, minor;        /* HTTP/1.1: 1 and 1 */
    int host_count;          /* how many Host headers */
    bool bad_host;           /* a Host value no host could have */
    bool has_transfer_encoding;
    bool bad_content_length;  /* not a number, or two that differ */
    long long content_length; /* -1: none sent */
    size_t head_len; /* up to the blank line; 0 until it is found */
};

/* http_parse() returns this while the head is not complete yet. */
#define HTTP_INCOMPLETE 0

/*
 * Parses the head of a request in buf[0..len): a pure function, which
 * reads nothing but buf, never writes it and never allocates.
 *
 * Returns the length of the head, blank line included, when it is
 * complete and acceptable (a GET or HEAD the server can answer);
 * HTTP_INCOMPLETE when more bytes are needed; or minus the status of
 * the first rule the request breaks, in this order:
 *   -400 malformed request line or header, more than EMPTY_LINES_MAX
 *        empty lines before the request line, or a target that is
 *        neither "/path?query" nor "http://host/path?query" with a
 *        host that passes the rules of Host
 *   -414 buffer full before the request line ends
 *   -431 buffer full before the head ends
 *   -505 a version other than HTTP/1.0 and HTTP/1.1
 *   -400 HTTP/1.1 without exactly one Host (or any with two), or a
 *        Host value that is not a host
 *   -501 Transfer-Encoding present
 *   -400 Content-Length invalid or conflicting
 *   -413 Content-Length above zero (this server takes no bodies)
 *   -405 POST, PUT, DELETE, PATCH, OPTIONS, TRACE or CONNECT
 *   -501 any other method but GET and HEAD
 * Empty lines before the request line (CRLF or LF) are skipped and
 * count in the head's length. Only the first HEAD_MAX_BYTES of buf are
 * ever looked at. *req is filled with as much as could be parsed.
 */
long http_parse(const char *buf, size_t len, struct http_request *req);

/* The server's resources. */
enum http_route {
    HTTP_ROUTE_HELLO,
    HTTP_ROUTE_SLEEP,
    HTTP_ROUTE_BYTES
};

/*
 * Picks the route for a path and query such as "/sleep?ms=300" (a
 * request's path span). Sets *route, and *number to the route's
 * parameter (ms or n). Returns 200, 400 (a query value that is not a
 * number in range) or 404 (an unknown path). Pure, like http_parse().
 */
int http_route(struct http_span path, enum http_route *route,
               long long *number);

#endif
