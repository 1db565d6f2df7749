/*
 * figures.h - the stream mode's figures over its requests.
 *
 * Layer 2 of the timeline client (measuring).
 */
#ifndef FIGURES_H
#define FIGURES_H

#include "stream_types.h"

struct figures {
    int answered, failed;
    long long p50, p99, max;
};

/* The percentile q (0..1) of calls[from..to), nearest rank; LLONG_MAX
 * when it lands on an unanswered one (or there are none). sorted has
 * room for to - from values. */
long long figures_percentile(const struct call *calls, int from, int to,
                             double q, long long *sorted);

/* The figures of all the stream's requests. */
void figures_of(const struct stream *s, struct figures *f,
                long long *sorted);

#endif
