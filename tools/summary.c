/*
 * summary.c - figures over the requests of a run: how many were
 * answered, the makespan, the median and the slowest.
 *
 * Unanswered requests sort last, as LLONG_MAX: a median or maximum
 * that lands on one of them is reported as never, not skipped.
 *
 * Layer 2 of the timeline client (measuring).
 */
#include "summary.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

long long request_total(const struct request *r)
{
    return r->outcome == OUTCOME_ANSWERED ? r->finished - r->sent
                                          : NEVER;
}

static int compare_totals(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

static void count_idle(const struct request *r, struct summary *sum)
{
    if (r->connected == NEVER)
        return;
    sum->idle++;
    sum->idle_closed += r->outcome == OUTCOME_IDLE_CLOSED;
    if (r->finished - r->connected > sum->idle_longest)
        sum->idle_longest = r->finished - r->connected;
}

void summarize(const struct run *run, struct summary *sum)
{
    long long totals[REQUESTS_MAX], first = LLONG_MAX, last = 0;
    int n = 0;

    memset(sum, 0, sizeof *sum);
    for (int i = 0; i < run->count; i++) {
        const struct request *r = &run->req[i];
        long long t = request_total(r);
        if (r->path == NULL) {
            count_idle(r, sum);
            continue;
        }
        totals[n++] = t == NEVER ? LLONG_MAX : t;
        if (t == NEVER)
            continue;
        sum->answered++;
        sum->failed += r->status >= 400;
        first = r->sent < first ? r->sent : first;
        last = r->finished > last ? r->finished : last;
    }
    sum->requests = n;
    qsort(totals, (size_t)n, sizeof totals[0], compare_totals);
    sum->makespan = sum->answered == n && n > 0 ? last - first : NEVER;
    sum->median = NEVER;
    sum->max = NEVER;
    if (n > 0 && totals[n - 1] != LLONG_MAX)
        sum->max = totals[n - 1];
    if (n > 0 && totals[n / 2] != LLONG_MAX)
        sum->median = n % 2 ? totals[n / 2]
                            : (totals[n / 2 - 1] + totals[n / 2]) / 2;
}
