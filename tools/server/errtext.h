/* SPDX-License-Identifier: MIT */
/*
 * Error messages that any thread may build: strerror() may return a static
 * buffer that another thread's call overwrites, and strerror_r() has two
 * incompatible forms.  jobpool-httpd formats every errno value with
 * errno_text() instead.
 */
#ifndef JOBPOOL_HTTPD_ERRTEXT_H
#define JOBPOOL_HTTPD_ERRTEXT_H

#include <stddef.h>

/* Enough for any message the C libraries have. */
#define ERRNO_TEXT_MAX 128

/* Returns the message for errno value err, in buf[len] or in a constant
 * string; "error N" if the C library has none.  Safe from any thread. */
const char *errno_text(int err, char *buf, size_t len);

#endif /* JOBPOOL_HTTPD_ERRTEXT_H */
