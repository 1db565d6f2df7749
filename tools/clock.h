/*
 * clock.h - the timeline client's clock: microseconds since the run
 * started, on a clock that never jumps.
 *
 * Layer 1 of the timeline client (a leaf: it uses no other file of
 * it). Both modes, fire.c and stream.c, time everything with it.
 */
#ifndef CLOCK_H
#define CLOCK_H

/* The run starts now: clock_now() counts from here. */
void clock_start(void);

/* Microseconds since clock_start(). */
long long clock_now(void);

/* The poll() timeout that wakes us at time t (clock_now()'s scale):
 * whole milliseconds, rounded up so that we never wake just before t
 * and spin; 0 when t has passed. */
int clock_ms_until(long long t);

#endif
