/*
 * io.h - reading and writing whole buffers on a socket.
 *
 * read() and write() may transfer fewer bytes than asked, and may fail
 * with EINTR when a signal arrives. These helpers hide both, and return
 * 0 or a count on success and -1 with errno set on failure.
 */
#ifndef IO_H
#define IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Milliseconds on a clock that never jumps (not the time of day). */
long long io_now_ms(void);

/* Reads at most len bytes into buf. Returns the count, 0 at the end of
 * the stream, or -1. deadline is an io_now_ms() value (0: none); once
 * it has passed, fails with errno ETIMEDOUT. */
ssize_t io_read(int fd, void *buf, size_t len, long long deadline);

/* Writes all len bytes, however many write() calls that takes. A
 * socket's send timeout (SO_SNDTIMEO) shows as errno ETIMEDOUT. */
int io_write_all(int fd, const void *buf, size_t len);

/* Sleeps ms milliseconds, even when signals interrupt the sleep.
 * Returns 0 after the whole sleep, or -1 with errno ECANCELED as soon
 * as the cancel descriptor is readable (or poll's errno). */
int io_sleep_ms(long ms);

/* Cooperative cancellation. A step may hand io one descriptor (the
 * read end of a pipe it owns). Once that descriptor is readable,
 * io_sleep_ms() returns early and io_cancelled() is true. Steps 1-3
 * never set it. Set it before starting the threads that use io: they
 * read it without a lock. */
void io_set_cancel_fd(int fd); /* -1: none (the default) */
bool io_cancelled(void);       /* the cancel fd is readable */

#endif
