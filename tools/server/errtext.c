/* SPDX-License-Identifier: MIT */
/*
 * errno_text(): strerror_r() whichever form the C library declares.  glibc
 * with _GNU_SOURCE (which configure defines) has
 *
 *     char *strerror_r(int err, char *buf, size_t len);
 *
 * which returns the message, possibly a constant string and not buf; musl,
 * the BSDs and glibc without _GNU_SOURCE have POSIX's
 *
 *     int strerror_r(int err, char *buf, size_t len);
 *
 * which fills buf and returns 0 or an error.  _Generic picks the function
 * that matches the type strerror_r() returns here, with no configure test;
 * its controlling expression is not evaluated, so strerror_r() runs once.
 */
#include "config.h"

#include "errtext.h"

#include <stdio.h>
#include <string.h>

/* The GNU form: the message is what strerror_r() returned. */
static const char *gnu_result(char *text, int err, char *buf, size_t len)
{
    (void)err;
    (void)buf;
    (void)len;
    return text;
}

/* The POSIX form: the message is in buf, unless strerror_r() failed. */
static const char *posix_result(int rc, int err, char *buf, size_t len)
{
    if (rc != 0)
        (void)snprintf(buf, len, "error %d", err);
    return buf;
}

const char *errno_text(int err, char *buf, size_t len)
{
    return _Generic(strerror_r(err, buf, len),
                    char *: gnu_result,
                    int: posix_result)(strerror_r(err, buf, len), err, buf,
                                       len);
}
