# SPDX-License-Identifier: MIT
#
# JOBPOOL_CHECK_FRAMEWORK
# -----------------------
# Check, the unit-test framework of the test suites (tests/check_*.c), is
# needed by `make check` only: a library-only build and install works
# without it.  --with-check insists on it, --without-check leaves it out;
# by default the suites are built when pkg-config finds check >= 0.9.6 and
# a program links against it with this compiler (pkg-config may find the
# build machine's Check for a compiler that cannot use it, musl-gcc or
# gcc -m32).  Sets have_check, substitutes CHECK_CFLAGS and CHECK_LIBS and
# sets the conditional HAVE_CHECK.
AC_DEFUN([JOBPOOL_CHECK_FRAMEWORK], [
AC_ARG_WITH([check],
  [AS_HELP_STRING([--without-check],
    [build no Check test suites, even if Check is found (make check then
     skips them) @<:@default: build them when Check >= 0.9.6 is found@:>@])],
  [], [with_check=check])
have_check=no
AS_IF([test "x$with_check" != xno],
  [PKG_CHECK_MODULES([CHECK], [check >= 0.9.6], [have_check=yes],
     [have_check=no])])
AS_IF([test "x$have_check" = xyes],
  [JOBPOOL_LINKS_WITH([Check], [$CHECK_CFLAGS], [$CHECK_LIBS],
     [[#include <check.h>]],
     [[SRunner *sr = srunner_create(suite_create("configure"));
       srunner_free(sr);]], [], [have_check=no])])
AS_IF([test "x$have_check" != xyes],
  [AS_IF([test "x$with_check" = xyes],
     [AC_MSG_FAILURE([--with-check: no Check >= 0.9.6 that $CC can link])])
   CHECK_CFLAGS=
   CHECK_LIBS=
   AS_IF([test "x$with_check" != xno],
     [AC_MSG_WARN([Check >= 0.9.6 not found (or $CC cannot link it): the
library builds and installs, and make check skips the Check suites; install
Check (Debian: apt-get install check) and run configure again to build
them])])])
AM_CONDITIONAL([HAVE_CHECK], [test "x$have_check" = xyes])
])
