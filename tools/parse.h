/*
 * parse.h - reading numbers from the command line, for the tools.
 */
#ifndef PARSE_H
#define PARSE_H

#include <stdbool.h>

/* Parses a whole decimal number in min..max into *out. Unlike atoi(),
 * refuses "80x", "x" and overflow. */
bool parse_long(const char *s, long min, long max, long *out);

#endif
