/*
 * summary.h - figures over the requests of a run.
 *
 * Layer 2 of the timeline client (measuring).
 */
#ifndef SUMMARY_H
#define SUMMARY_H

#include "timeline.h"

/* The figures of run's requests, idle connections apart. */
void summarize(const struct run *run, struct summary *sum);

/* From sent to finished, or NEVER when r was not answered. */
long long request_total(const struct request *r);

#endif
