#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs into a temporary directory and builds a consumer with
# `pkg-config --cflags --libs jobpool`, as a user would, with pkg-config's
# --define-variable standing for a relocated install: prefix, and each
# directory that configure was given as an absolute path.
set -eu
. "$top_srcdir/tests/install-tmp.sh"

export PKG_CONFIG_PATH="$(dirname "$installed_pc")"
# $relocate is split into its options: it holds no spaces (mktemp's name,
# configure's directories).
pc() { pkg-config $relocate "$@" jobpool; }

test "$(pc --variable=libdir)" = "$libdir"
test "$(pc --modversion)" = "$PACKAGE_VERSION"
# A sanitized library needs a sanitized program around it.
${CC:-cc} ${SANITIZER_FLAGS:-} -o "$tmp/consumer" \
    "$top_srcdir/tests/consumer/consumer.c" $(pc --cflags) $(pc --libs)
LD_LIBRARY_PATH="$libdir" "$tmp/consumer"
# The binary must have loaded the installed copy.
LD_LIBRARY_PATH="$libdir" loaded_libs "$tmp/consumer" |
    grep -q "$libdir/libjobpool.so.0"
