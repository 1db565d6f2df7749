/*
 * fire.h - the timeline client's scripted mode: fire the requests.
 *
 * Layer 2 of the timeline client (measuring).
 */
#ifndef FIRE_H
#define FIRE_H

#include "timeline.h"

/* Connects every request, then sends and times them. Returns 0, or
 * -1 with errno set when not one connection could be opened. */
int fire(struct run *run);

#endif
