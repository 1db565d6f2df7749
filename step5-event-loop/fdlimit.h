/*
 * fdlimit.h - how many connections fit, when each costs a descriptor.
 */
#ifndef FDLIMIT_H
#define FDLIMIT_H

/* Raises RLIMIT_NOFILE as far as it may for LOOP_MAX_CONNECTIONS, and
 * returns how many connections the loop may hold: the limit it got,
 * minus LOOP_FD_SPARE. A limit below twice that (ulimit -n 32) leaves
 * no room for spares: then all but the 2 the loop polls besides, and
 * accept() runs out of descriptors first (and backs off). Either way
 * poll() is never given more descriptors than the limit. */
int fdlimit_room(void);

#endif
