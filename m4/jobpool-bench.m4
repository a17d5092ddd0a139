# SPDX-License-Identifier: MIT
#
# Checks for tools/jobpool-bench, the benchmark that compares jobpool with
# other thread pools.  Each peer is optional: a peer that is not found is
# left out of the benchmark (which says so when it runs), never an error.
# The library and its tests need none of them.

# JOBPOOL_BENCH_PEER_PKG(NAME, VARIABLE-PREFIX, PKG-CONFIG-MODULE, WHAT,
#                        HEADER, CALL)
# ----------------------------------------------------------------------
# A peer found by pkg-config: --without-NAME leaves it out; otherwise it is
# in when pkg-config finds MODULE and a program that includes HEADER and
# makes CALL links with the compiler (pkg-config may find the build
# machine's library for a compiler that cannot use it, musl-gcc or
# gcc -m32).  Sets have_NAME to yes or no, defines HAVE_<NAME> and the
# conditional HAVE_<NAME>, and substitutes VARIABLE-PREFIX_CFLAGS and _LIBS.
AC_DEFUN([JOBPOOL_BENCH_PEER_PKG], [
AC_ARG_WITH([$1],
  [AS_HELP_STRING([--without-$1],
    [leave $4 out of jobpool-bench even if $3 is found
     @<:@default: use it when pkg-config finds $3@:>@])],
  [], [with_$1=check])
have_$1=no
AS_IF([test "x$with_$1" != xno],
  [PKG_CHECK_MODULES([$2], [$3], [have_$1=yes], [have_$1=no])])
AS_IF([test "x$have_$1" = xyes],
  [JOBPOOL_LINKS_WITH([$3], [$$2_CFLAGS], [$$2_LIBS],
     [[#include <$5>]], [[$6;]], [], [have_$1=no])])
AS_IF([test "x$have_$1" = xyes],
  [AC_DEFINE([HAVE_]m4_toupper([$1]), [1],
     [Define if jobpool-bench has the $1 peer])])
AM_CONDITIONAL([HAVE_]m4_toupper([$1]), [test "x$have_$1" = xyes])
])

# JOBPOOL_BENCH_ONETBB
# --------------------
# oneTBB's task_arena, when pkg-config finds tbb and the C++ compiler links
# a program that uses it the way the adapter does (--without-onetbb: never).
# Sets have_onetbb, defines HAVE_ONETBB and the conditional HAVE_ONETBB.
AC_DEFUN([JOBPOOL_BENCH_ONETBB], [
AC_REQUIRE([AC_PROG_CXX])
AC_ARG_WITH([onetbb],
  [AS_HELP_STRING([--without-onetbb],
    [leave oneTBB's task_arena out of jobpool-bench even if tbb is found
     @<:@default: use it when pkg-config finds tbb and a C++ compiler
     links against it@:>@])],
  [], [with_onetbb=check])
have_onetbb=no
AS_IF([test "x$with_onetbb" != xno],
  [PKG_CHECK_MODULES([TBB], [tbb], [have_onetbb=yes], [have_onetbb=no])])
AS_IF([test "x$have_onetbb" = xyes],
  [AC_MSG_CHECKING([whether the C++ compiler links against oneTBB])
   AC_LANG_PUSH([C++])
   onetbb_save_CPPFLAGS=$CPPFLAGS
   onetbb_save_LIBS=$LIBS
   CPPFLAGS="$CPPFLAGS $TBB_CFLAGS"
   LIBS="$TBB_LIBS $LIBS"
   AC_LINK_IFELSE([AC_LANG_PROGRAM(
       [[#include <oneapi/tbb/task_arena.h>
         #include <oneapi/tbb/task_group.h>]],
       [[tbb::task_arena a(2, 0); tbb::task_group g;
         a.enqueue(g.defer([] {})); g.wait();]])],
     [], [have_onetbb=no])
   CPPFLAGS=$onetbb_save_CPPFLAGS
   LIBS=$onetbb_save_LIBS
   AC_LANG_POP([C++])
   AC_MSG_RESULT([$have_onetbb])])
AS_IF([test "x$have_onetbb" = xyes],
  [AC_DEFINE([HAVE_ONETBB], [1], [Define if jobpool-bench has the oneTBB peer])])
AM_CONDITIONAL([HAVE_ONETBB], [test "x$have_onetbb" = xyes])
])

# JOBPOOL_BENCH_CTHREADPOOL
# -------------------------
# C-Thread-Pool ships as source (Debian: cthreadpool-dev puts thpool.c in
# /usr/share/cthreadpool and thpool.h in /usr/include/cthreadpool); the
# benchmark compiles thpool.c into itself.  The header is looked for beside
# thpool.c, then in PREFIX/include/cthreadpool for a DIR of
# PREFIX/share/cthreadpool.  Sets have_cthreadpool, defines
# HAVE_CTHREADPOOL and CTHREADPOOL_SOURCE, substitutes CTHREADPOOL_CPPFLAGS
# and sets the conditional HAVE_CTHREADPOOL.
AC_DEFUN([JOBPOOL_BENCH_CTHREADPOOL], [
AC_ARG_WITH([cthreadpool-src],
  [AS_HELP_STRING([--with-cthreadpool-src=DIR],
    [directory holding C-Thread-Pool's thpool.c, compiled into
     jobpool-bench as a peer; --without-cthreadpool-src leaves it out
     @<:@default: /usr/share/cthreadpool, if thpool.c is there@:>@])],
  [], [with_cthreadpool_src=/usr/share/cthreadpool])
have_cthreadpool=no
CTHREADPOOL_CPPFLAGS=
AS_IF([test "x$with_cthreadpool_src" != xno],
  [AC_MSG_CHECKING([for C-Thread-Pool's thpool.c and thpool.h])
   cthreadpool_src=`echo "$with_cthreadpool_src" | sed 's,/*$,,'`
   cthreadpool_inc="$cthreadpool_src/../../include/cthreadpool"
   AS_IF([test -f "$cthreadpool_src/thpool.c"],
     [AS_IF([test -f "$cthreadpool_src/thpool.h"],
        [have_cthreadpool=yes
         CTHREADPOOL_CPPFLAGS="-I$cthreadpool_src"],
        [test -f "$cthreadpool_inc/thpool.h"],
        [have_cthreadpool=yes
         CTHREADPOOL_CPPFLAGS="-I$cthreadpool_inc"])])
   AC_MSG_RESULT([$have_cthreadpool])])
AS_IF([test "x$have_cthreadpool" = xyes],
  [AC_DEFINE([HAVE_CTHREADPOOL], [1],
     [Define if jobpool-bench has the C-Thread-Pool peer])
   AC_DEFINE_UNQUOTED([CTHREADPOOL_SOURCE], ["$cthreadpool_src/thpool.c"],
     [C-Thread-Pool's thpool.c, which jobpool-bench compiles in])])
AC_SUBST([CTHREADPOOL_CPPFLAGS])
AM_CONDITIONAL([HAVE_CTHREADPOOL], [test "x$have_cthreadpool" = xyes])
])

# JOBPOOL_BENCH_AFFINITY
# ----------------------
# Whether threads can be pinned to CPUs the way tools/bench/machine.c does
# to measure cpu-rtt: sched_getcpu(), cpu_set_t and
# pthread_{get,set}affinity_np() (glibc and musl have them; macOS and musl
# lack pthread_attr_setaffinity_np(), which the benchmark does not use).
# Defines HAVE_PTHREAD_AFFINITY when they link; without them the benchmark
# reports cpu-rtt as 0, not measured.  Needs AX_PTHREAD's flags.
AC_DEFUN([JOBPOOL_BENCH_AFFINITY], [
jobpool_save_LIBS=$LIBS
jobpool_save_CFLAGS=$CFLAGS
LIBS="$PTHREAD_LIBS $LIBS"
CFLAGS="$CFLAGS $PTHREAD_CFLAGS"
AC_CACHE_CHECK([for pthread_setaffinity_np and sched_getcpu],
  [jobpool_cv_pthread_affinity],
  [AC_LINK_IFELSE([AC_LANG_PROGRAM(
      [[#include <pthread.h>
        #include <sched.h>]],
      [[cpu_set_t set;
        int cpu = sched_getcpu();
        if (cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof set,
                                              &set) != 0)
            return 1;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        return CPU_ISSET(cpu, &set) && CPU_SETSIZE > 0 ?
            pthread_setaffinity_np(pthread_self(), sizeof set, &set) : 1;]])],
    [jobpool_cv_pthread_affinity=yes], [jobpool_cv_pthread_affinity=no])])
AS_IF([test "x$jobpool_cv_pthread_affinity" = xyes],
  [AC_DEFINE([HAVE_PTHREAD_AFFINITY], [1],
     [Define if threads can be pinned with pthread_setaffinity_np() and
      sched_getcpu() says where they run])])
LIBS=$jobpool_save_LIBS
CFLAGS=$jobpool_save_CFLAGS
])
