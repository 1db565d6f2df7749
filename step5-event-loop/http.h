/*
 * http.h - the HTTP layer: read one request, answer it, close.
 *
 * This file and http.c are the same in every step of the workshop: the
 * steps teach concurrency, not HTTP. Every step calls http_serve() on
 * each connection; only who calls it, and on which thread, changes.
 */
#ifndef HTTP_H
#define HTTP_H

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
    struct http_span target; /* "/sleep?ms=300": path and query */
    int major, minor;        /* HTTP/1.1: 1 and 1 */
    int host_count;          /* how many Host headers */
    bool bad_host;           /* a Host value no host could have */
    bool has_transfer_encoding;
    bool bad_content_length;  /* not a number, or two that differ */
    long long content_length; /* -1: none sent */
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
 *   -400 malformed request line or header
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
 * Only the first HEAD_MAX_BYTES of buf are ever looked at. *req is
 * filled with as much as could be parsed.
 */
long http_parse(const char *buf, size_t len, struct http_request *req);

/*
 * Serves one connection: reads a request, answers it, logs one line
 * and closes fd. The caller hands fd over: http_serve closes it.
 *
 * who names the caller in the log ("main", "worker 2"). deadline_ms > 0
 * bounds the time to receive the whole head (408 Request Timeout);
 * 0 means wait for ever. Returns the status sent, or 0 if none was.
 */
int http_serve(int fd, const char *who, int deadline_ms);

/* TEMPORARY (until the split HTTP layer of issue 10 lands): the
 * second half of http_serve(), for a server that read the head. */
int http_respond(int fd, const char *buf, size_t len, long verdict,
                 int read_errno, long long start_ms, const char *who);
size_t http_format_error(char *out, size_t cap, int status,
                         bool head_only);
void http_log(const char *who, struct http_span line, int status,
              long long ms, const char *problem);

/* Turns the per-request log lines on stderr on (the default) or off. */
void http_set_logging(bool on);

#endif
