/*
 * stream.h - the stream mode's loop: GET / every few ms among
 * trickling clients.
 *
 * Layer 2 of the timeline client (measuring).
 */
#ifndef STREAM_H
#define STREAM_H

#include "stream_types.h"

/* The tricklers connect first (for up to 2 s), then the stream runs;
 * the tricklers keep on until the last request is done. Every call
 * ends with an outcome; every descriptor it opened is closed. */
void stream_run(struct stream *s);

#endif
