/*
 * svg.h - text inside an SVG picture.
 *
 * Layer 1 of the timeline client (a leaf). Both pictures, draw.c's and
 * stream_draw.c's, write titles and paths a user typed.
 */
#ifndef SVG_TEXT_H
#define SVG_TEXT_H

#include <stdio.h>

/* Writes s as SVG text: the five characters XML reserves escaped. */
void svg_put_text(FILE *out, const char *s);

#endif
