/*
 * stream_draw.h - the stream mode's report and picture.
 *
 * Layer 3 of the timeline client (drawing).
 */
#ifndef STREAM_DRAW_H
#define STREAM_DRAW_H

#include "stream_types.h"

#include <stdio.h>

/* What was run, (unless quiet) the requests in slices, and the line
 * "requests 2000, answered 2000, p50 ..." that bench.sh reads. */
void stream_draw_report(FILE *out, const struct stream *s, bool quiet,
                        long long *sorted);

/* The picture, 450 pixels wide. Returns 0, or -1 on a write error. */
int stream_draw_svg(FILE *out, const struct stream *s,
                    long long *sorted);

#endif
