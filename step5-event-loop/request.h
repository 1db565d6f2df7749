/*
 * request.h - one connection's request as the loop reads it: the head,
 * then the body, fed in whatever pieces arrive, so that a worker is
 * only ever given a whole request.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include "config.h"
#include "http_parse.h"

#include <stdbool.h>
#include <stddef.h>

/* Allocated at the connection's first byte: an idle one has none. */
struct request {
    char head[HEAD_MAX_BYTES]; /* the head, and what came with it */
    size_t len;                /* bytes in head */
    long verdict;              /* http_parse() on head[0..len) */
    struct http_request req;   /* what it found; spans into head */
    struct http_body body;     /* the decoder, once the head is in */
    char *bytes; /* the decoded body; NULL until a body byte comes */
    int status;  /* once whole: 0 to answer req, or the error */
    bool unread; /* bytes came after the request: nobody reads them */
};

/* What request_read() found. */
enum request_step {
    REQUEST_MORE,  /* nothing more to do until fd is readable again */
    REQUEST_WHOLE, /* whole, or refused: status says which */
    REQUEST_ENDED  /* the client closed (errno 0), or a call failed */
};

/* A request with nothing read yet, or NULL (errno set). */
struct request *request_create(void);

/* Frees r and its body; r may be NULL. */
void request_destroy(struct request *r);

/* Reads what non-blocking fd has now, with one read(), and feeds it to
 * the parser or the body decoder. Once the head is accepted, writes
 * "100 Continue" when the client expects it (see request.c). */
enum request_step request_read(struct request *r, int fd);

#endif
