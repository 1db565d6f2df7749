/*
 * stream_main.h - the stream mode (--every, --trickle, --hold).
 *
 * Layer 4 of the timeline client (main).
 */
#ifndef STREAM_MAIN_H
#define STREAM_MAIN_H

/* Takes the whole command line; returns the exit status. */
int stream_main(int argc, char **argv);

#endif
