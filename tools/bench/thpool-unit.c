/* SPDX-License-Identifier: MIT */
/*
 * Compiles C-Thread-Pool's thpool.c, at the path configure found
 * (--with-cthreadpool-src), into a convenience library for jobpool-bench.
 * It is third-party code, so it is built without the project's warning
 * flags (see tools/Makefile.am) and is not part of libjobpool.
 */
#include "config.h"

#include CTHREADPOOL_SOURCE
