/*
 * request.c - reading one request without blocking.
 *
 * Its head, then its body, a piece each time the socket is readable.
 *
 * The loop calls request_read() whenever poll() says a connection has
 * bytes, and hands the connection to a worker only when the request is
 * whole: a client that trickles its body, like one that trickles its
 * head, costs a pollfd and this struct, never a thread. The parser and
 * the decoder are the pure ones of http_parse.c, as in http.c.
 */
#include "request.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct request *request_create(void)
{
    struct request *r = malloc(sizeof *r);

    /* Every field after the head starts at zero (body.len is 0 for a
     * request refused before a body). The head is only ever read up to
     * len, which counts bytes written into it, so it is left as it is:
     * clearing its HEAD_MAX_BYTES for every request (calloc) took half
     * of the instructions step 5's own code ran per request. */
    _Static_assert(offsetof(struct request, head) == 0,
                   "the head comes first, and the rest is cleared");
    if (r != NULL)
        memset(&r->len, 0, sizeof *r - offsetof(struct request, len));
    return r;
}

void request_destroy(struct request *r)
{
    if (r != NULL)
        free(r->bytes);
    free(r);
}

/* One read() of what fd has. Returns its count; 0 and errno 0 when the
 * client closed; -1 with errno EAGAIN when nothing came after all. */
static ssize_t read_some(int fd, char *buf, size_t cap)
{
    ssize_t n = read(fd, buf, cap);

    if (n < 0 && (errno == EWOULDBLOCK || errno == EINTR))
        errno = EAGAIN;
    if (n == 0)
        errno = 0;
    return n;
}

static enum request_step ended_or_more(void)
{
    return errno == EAGAIN ? REQUEST_MORE : REQUEST_ENDED;
}

/* Feeds in[0..len) to the body decoder. Room for the body is taken at
 * its first byte, only as much as Content-Length says (the decoder
 * writes no more), or BODY_MAX_BYTES when it is chunked. */
static enum request_step feed(struct request *r, const char *in,
                              size_t len)
{
    size_t room =
        r->req.chunked ? BODY_MAX_BYTES : (size_t)r->req.content_length;

    if (r->body.done) {
        r->unread = r->unread || len > 0;
        return REQUEST_WHOLE;
    }
    if (len > 0 && r->bytes == NULL &&
        (r->bytes = malloc(room)) == NULL)
        return REQUEST_ENDED; /* errno ENOMEM */
    long n = http_body_feed(&r->body, in, len, r->bytes);
    if (n < 0)
        r->status = (int)-n;
    r->unread = n < 0 || (size_t)n < len; /* the next request's */
    return n < 0 || r->body.done ? REQUEST_WHOLE : REQUEST_MORE;
}

/* RFC 9110 10.1.1: a client that sent Expect: 100-continue waits for
 * this before its body, but not for ever (curl waits one second), so
 * one non-blocking write() is all the loop spends on it: nothing has
 * been sent on this socket yet, so its 25 bytes go at once, and if
 * they cannot (EAGAIN), the client sends its body after its own wait.
 * Only part of the line written would garble the stream: that ends
 * the connection. Returns 0, or -1 with errno set. */
static int send_continue(const struct request *r, int fd)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if (!r->req.expect_continue || r->req.minor == 0 || r->body.done)
        return 0;
    ssize_t n = write(fd, line, sizeof line - 1);
    if (n == (ssize_t)sizeof line - 1 ||
        (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
        return 0;
    if (n >= 0)
        errno = EIO;
    return -1;
}

/* The head has its verdict: a refused one is whole at once, an
 * accepted one starts its body with what came after the head. */
static enum request_step head_done(struct request *r, int fd)
{
    size_t rest = r->len - r->req.head_len;

    if (r->verdict < 0) {
        r->status = (int)-r->verdict;
        r->unread = r->req.head_len > 0 && rest > 0;
        return REQUEST_WHOLE;
    }
    http_body_start(&r->body, &r->req);
    enum request_step step = feed(r, r->head + r->req.head_len, rest);
    if (step == REQUEST_MORE && send_continue(r, fd) < 0)
        return REQUEST_ENDED;
    return step;
}

enum request_step request_read(struct request *r, int fd)
{
    char wire[4096];

    if (r->verdict > 0) { /* the body: one piece, fed on */
        ssize_t n = read_some(fd, wire, sizeof wire);
        return n > 0 ? feed(r, wire, (size_t)n) : ended_or_more();
    }
    ssize_t n =
        read_some(fd, r->head + r->len, HEAD_MAX_BYTES - r->len);
    if (n <= 0)
        return ended_or_more();
    r->len += (size_t)n;
    r->verdict = http_parse(r->head, r->len, &r->req);
    if (r->verdict == HTTP_INCOMPLETE)
        return REQUEST_MORE;
    return head_done(r, fd);
}
