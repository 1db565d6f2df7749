/*
 * client.h - a small HTTP client for tests, over loopback TCP.
 *
 * Helpers fail the test (with a message naming the call) when
 * something the test does not expect goes wrong, and return what the
 * server did otherwise: a status, bytes, end-of-file or a reset.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* One response, read until the server closed the connection. */
struct response {
    int status;         /* from the status line; 0 if none */
    char head[4096];    /* status line and headers, NUL-terminated */
    size_t head_len;    /* including the blank line */
    char *body;         /* malloc'd; free with response_free() */
    size_t body_len;    /* bytes after the head */
    long long declared; /* Content-Length; -1 if absent */
    size_t received;    /* every byte read, head and body */
    bool eof;           /* the server closed cleanly */
    int error;          /* errno of the read that failed, or 0 */
    long long done_ms;  /* io_now_ms() when the read ended */
};

/* Connects to 127.0.0.1:port. Fails the test if that is refused. */
int client_connect(int port);

/* Connects; returns the socket, or -1 with errno (ECONNREFUSED). */
int client_try_connect(int port);

/* Connects, waiting at most timeout_ms (a server that stopped
 * accepting fills its backlog, and connect() then hangs). Returns the
 * socket, or -1 with errno (ETIMEDOUT). */
int client_connect_within(int port, int timeout_ms);

/* Connects with a receive buffer of about rcvbuf bytes, set before
 * connecting so that the TCP window stays that small. */
int client_connect_small(int port, int rcvbuf);

/* Sends all len bytes; fails the test on an error. */
void client_send(int fd, const void *buf, size_t len);

/* Reads a response until end-of-file, an error, or timeout_ms. */
void read_response(int fd, struct response *r, int timeout_ms);

/* Connects, sends request, reads the response, closes. */
void http_exchange(int port, const char *request, struct response *r);

/* GET path with HTTP/1.1 and a Host header. */
void http_get(int port, const char *path, struct response *r);

/* The value of a header (case-insensitive name), NUL-terminated in a
 * static buffer, or NULL if absent. */
const char *header(const struct response *r, const char *name);

/* Whether the header name is present with exactly this value. */
bool header_is(const struct response *r, const char *name,
               const char *value);

/* A response was complete: status line, headers, a body exactly as
 * long as Content-Length, then a clean end-of-file. */
bool response_complete(const struct response *r);

void response_free(struct response *r);

/* Fails the test unless GET / still gets 200 "Hello, World!". */
void assert_still_serving(int port, const char *after_what);

/* Checks that buf holds bytes offset..offset+len of /bytes' pattern. */
bool is_pattern(const char *buf, size_t len, size_t offset);

/* Makes closing fd send a reset (RST) instead of a FIN. */
void set_reset_on_close(int fd);

/* Whether the peer closed or reset fd within timeout_ms. Data that
 * arrives first is read and counted in *bytes_seen. */
bool wait_closed(int fd, int timeout_ms, size_t *bytes_seen);

/* k connections used together: the concurrency tests open them all,
 * then send, then read every response at once with poll(). */
#define BATCH_MAX 128
struct batch {
    int k;
    int fd[BATCH_MAX];
    struct response r[BATCH_MAX];
    bool done[BATCH_MAX];
    char *buf[BATCH_MAX]; /* bytes so far, until done */
    size_t len[BATCH_MAX], cap[BATCH_MAX];
};

/* Opens k connections (all of them before any request is sent). */
void batch_open(struct batch *b, int port, int k);

/* Sends request on every connection, last connection first. */
void batch_send_reverse(struct batch *b, const char *request);

/* Reads until every response is complete or timeout_ms has passed.
 * Returns how many are done. */
int batch_wait(struct batch *b, int timeout_ms);

/* The time the last response ended (io_now_ms()). */
long long batch_last_done(const struct batch *b);

/* Whether any byte at all has arrived on any connection. */
bool batch_any_bytes(const struct batch *b);

void batch_close(struct batch *b);

#endif
