/*
 * parse.c - reading numbers from the command line, for the tools.
 */
#include "parse.h"

#include <errno.h>
#include <stdlib.h>

bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;

    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < min || n > max)
        return false;
    *out = n;
    return true;
}
