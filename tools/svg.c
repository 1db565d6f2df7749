/*
 * svg.c - text inside an SVG picture, with the characters XML reserves
 * escaped, so that a title such as "a < b & c" cannot break the file.
 *
 * Layer 1 of the timeline client (a leaf).
 */
#include "svg.h"

/* Text inside an SVG element: the five characters XML reserves. */
void svg_put_text(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}
