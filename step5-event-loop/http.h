/*
 * http.h - serving one connection: read a request, answer it.
 *
 * This file and http.c are the same in every step of the workshop: the
 * steps teach concurrency, not HTTP. Every step calls http_serve() on
 * each connection; only who calls it, and on which thread, changes.
 * What a request means is decided in http_parse.h.
 *
 * Whoever accepted a connection closes it: no function here ever
 * closes the descriptor it is given. Then another thread may cut a
 * connection with shutdown() on that one descriptor for as long as
 * its owner has not closed it.
 */
#ifndef HTTP_H
#define HTTP_H

#include "http_parse.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- What every step calls ---- */

/*
 * Serves one connection: reads the request head, then its body
 * (http_respond()), then answers (http_answer()). The caller keeps fd,
 * and closes it afterwards.
 *
 * who names the caller in the log ("main", "worker 2"). deadline_ms > 0
 * bounds the time to receive the whole request, head and body (408
 * Request Timeout); 0 means wait for ever. Returns the status when the
 * whole response was written, minus the status when it could not be (a
 * write failed, or the server was stopping), and 0 when no response was
 * sent.
 */
int http_serve(int fd, const char *who, int deadline_ms);

/* Turns the per-request log lines on stderr on (the default) or off. */
void http_set_logging(bool on);

/* ---- Only for a server that reads the request itself (step 5) ---- */

/*
 * Answers a request the caller read whole by other means: req is what
 * http_parse() filled in, and the head was accepted (status 0; body,
 * body_len bytes, is its decoded body) or refused with status (400,
 * 413, 431...: answered with that error, the body is not looked at).
 * unread says that bytes came after the request which nobody will
 * read; a refused request whose head or body was not read to its end
 * is known to have them anyway. start_ms (an io_now_ms() value) is
 * when the connection began, for the log.
 *
 * Writes the answer, lingers only when the client may still send
 * bytes nobody read, and logs one line. The caller keeps fd, and
 * closes it afterwards. Returns what http_serve() does.
 */
int http_answer(int fd, const struct http_request *req, int status,
                const char *body, size_t body_len, bool unread,
                long long start_ms, const char *who);

/*
 * What http_serve() does once it has read a head, for a server that
 * read it by other means (and, with HTTP_INCOMPLETE, for one that
 * gives up on a connection and wants it logged). buf[0..len) holds the
 * bytes read and verdict is what http_parse() returned on them. When
 * verdict is HTTP_INCOMPLETE, read_errno says why the reading stopped:
 * 0 the client closed, ETIMEDOUT the deadline passed (408 if any byte
 * came), any other an error. start_ms is when the connection began,
 * and deadline_ms > 0 bounds the whole request from then (0: none).
 *
 * When the head was accepted, reads its body from fd (blocking, with
 * the deadline; "100 Continue" first if the client expects it), which
 * may have begun in buf after the head, and answers through
 * http_answer(). The caller keeps fd, and closes it afterwards.
 * Returns what http_serve() does.
 */
int http_respond(int fd, const char *buf, size_t len, long verdict,
                 int read_errno, long long start_ms, int deadline_ms,
                 const char *who);

/* Formats a whole error response for status into out: the head, and
 * unless head_only a one-line body. Returns its length, or 0 (and
 * out is not to be sent) when it does not fit in cap bytes. */
size_t http_format_error(char *out, size_t cap, int status,
                         bool head_only);

/* Whether req is a HEAD request, whose answers have no body. */
bool http_is_head(const struct http_request *req);

/* Writes one line to stderr: who: "request line" status time
 * (problem). A status of 0 is written "-"; problem may be "". */
void http_log(const char *who, struct http_span line, int status,
              long long ms, const char *problem);

#endif
