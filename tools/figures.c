/*
 * figures.c - the stream mode's figures: how many requests were
 * answered, and the percentiles of how long they took.
 *
 * An unanswered request counts as slower than every answer (LLONG_MAX
 * here), so a percentile that lands on one says so and is never left
 * out. Percentiles are by nearest rank: always a latency measured.
 *
 * Layer 2 of the timeline client (measuring).
 */
#include "figures.h"

#include <limits.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* The latency of a call, or LLONG_MAX when it was not answered. */
static long long latency(const struct call *c)
{
    return c->outcome == OUTCOME_ANSWERED ? c->end - c->start
                                          : LLONG_MAX;
}

long long figures_percentile(const struct call *calls, int from, int to,
                             double q, long long *sorted)
{
    int n = to - from;

    if (n <= 0)
        return LLONG_MAX;
    for (int i = 0; i < n; i++)
        sorted[i] = latency(&calls[from + i]);
    qsort(sorted, (size_t)n, sizeof sorted[0], by_value);
    int rank = (int)(q * n + 0.999999);
    return sorted[rank < 1 ? 0 : rank - 1];
}

void figures_of(const struct stream *s, struct figures *f,
                long long *sorted)
{
    *f = (struct figures){0, 0, 0, 0, 0};
    for (int i = 0; i < s->count; i++) {
        f->answered += s->calls[i].outcome == OUTCOME_ANSWERED;
        f->failed += s->calls[i].outcome == OUTCOME_ANSWERED &&
                     s->calls[i].status >= 400;
    }
    f->p50 = figures_percentile(s->calls, 0, s->count, 0.5, sorted);
    f->p99 = figures_percentile(s->calls, 0, s->count, 0.99, sorted);
    f->max = figures_percentile(s->calls, 0, s->count, 1.0, sorted);
}
