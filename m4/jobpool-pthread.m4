# SPDX-License-Identifier: MIT
#
# JOBPOOL_PTHREAD_FEATURES
# ------------------------
# What the library and its tests need from POSIX threads beyond AX_PTHREAD,
# checked with the flags AX_PTHREAD found (call it first):
#  - pthread_condattr_setclock() with CLOCK_MONOTONIC, required: the pool's
#    timed waits run on condition variables on the monotonic clock, so that
#    a change of the wall clock does not move their deadlines.  Without it
#    (macOS) configure stops here, with a message saying so.
#  - pthread_setname_np() and pthread_getname_np(), optional: workers are
#    named when the first exists (HAVE_PTHREAD_SETNAME_NP).
AC_DEFUN([JOBPOOL_PTHREAD_FEATURES], [
jobpool_save_LIBS=$LIBS
jobpool_save_CFLAGS=$CFLAGS
LIBS="$PTHREAD_LIBS $LIBS"
CFLAGS="$CFLAGS $PTHREAD_CFLAGS"
AC_CACHE_CHECK([for condition variables on CLOCK_MONOTONIC],
  [jobpool_cv_cond_monotonic],
  [AC_LINK_IFELSE([AC_LANG_PROGRAM(
      [[#include <pthread.h>
        #include <time.h>]],
      [[pthread_condattr_t attr;
        pthread_cond_t cond;
        if (pthread_condattr_init(&attr) != 0 ||
            pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
            pthread_cond_init(&cond, &attr) != 0)
            return 1;
        return pthread_cond_destroy(&cond);]])],
    [jobpool_cv_cond_monotonic=yes], [jobpool_cv_cond_monotonic=no])])
AS_IF([test "x$jobpool_cv_cond_monotonic" != xyes],
  [AC_MSG_FAILURE([jobpool needs pthread_condattr_setclock() with
CLOCK_MONOTONIC: its bounded waits run on condition variables on the
monotonic clock, so that setting the wall clock neither stretches nor cuts a
timeout.  This system's threads library has no such call (macOS is one such
system), and jobpool does not build on it])])
AC_CHECK_FUNCS([pthread_setname_np pthread_getname_np])
LIBS=$jobpool_save_LIBS
CFLAGS=$jobpool_save_CFLAGS
])
