/*
 * draw.h - pictures of a scripted run: bars in the terminal, an SVG.
 *
 * Layer 3 of the timeline client (drawing).
 */
#ifndef DRAW_H
#define DRAW_H

#include "timeline.h"

#include <stdbool.h>
#include <stdio.h>

/* One bar per connection; utf8: block characters, else ASCII. */
void draw_terminal(FILE *out, const struct run *run, bool utf8);

/* The summary lines bench.sh and demo.sh read. */
void draw_summary(FILE *out, const struct run *run);

/* The same picture as SVG. Returns 0, or -1 on a write error. */
int draw_svg(FILE *out, const struct run *run);

#endif
