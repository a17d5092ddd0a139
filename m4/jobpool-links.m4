# SPDX-License-Identifier: MIT
#
# JOBPOOL_LINKS_WITH(WHAT, CFLAGS, LIBS, PROLOGUE, BODY,
#                    [IF-LINKS], [IF-NOT])
# ---------------------------------------------------
# Whether the C compiler links the program PROLOGUE/BODY with CFLAGS and
# LIBS added; says "checking whether CC links against WHAT".
AC_DEFUN([JOBPOOL_LINKS_WITH], [
AC_MSG_CHECKING([whether $CC links against $1])
jobpool_save_CFLAGS=$CFLAGS
jobpool_save_LIBS=$LIBS
CFLAGS="$CFLAGS $2"
LIBS="$3 $LIBS"
AC_LINK_IFELSE([AC_LANG_PROGRAM([$4], [$5])],
  [jobpool_links=yes], [jobpool_links=no])
CFLAGS=$jobpool_save_CFLAGS
LIBS=$jobpool_save_LIBS
AC_MSG_RESULT([$jobpool_links])
AS_IF([test "x$jobpool_links" = xyes], [$6], [$7])
])
