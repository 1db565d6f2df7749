/*
 * hold.h - the stream mode's held connections (--hold N).
 *
 * Layer 2 of the timeline client (measuring).
 */
#ifndef HOLD_H
#define HOLD_H

#include "stream_types.h"

/* Opens s->hold connections that never send (as many as the server
 * lets in), into s->held; sets s->held_open and s->hold_ms. */
void hold_open(struct stream *s);

/* After the stream: counts the held connections the server closed
 * (s->held_closed), then closes them all. */
void hold_release(struct stream *s);

#endif
