#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs into a temporary directory and builds a consumer with
# `pkg-config --cflags --libs jobpool`, as a user would, with pkg-config's
# --define-variable=prefix standing for a relocated install.
set -eu
. "$top_srcdir/tests/install-tmp.sh"

export PKG_CONFIG_PATH="$(dirname "$installed_pc")"
pc() { pkg-config --define-variable=prefix="$tmp/root$prefix" "$@" jobpool; }

test "$(pc --variable=libdir)" = "$libdir"
test "$(pc --modversion)" = "$PACKAGE_VERSION"
# A sanitized library needs a sanitized program around it.
${CC:-cc} ${SANITIZER_FLAGS:-} -o "$tmp/consumer" \
    "$top_srcdir/tests/consumer/consumer.c" $(pc --cflags) $(pc --libs)
LD_LIBRARY_PATH="$libdir" "$tmp/consumer"
# The binary must have loaded the installed copy.
LD_LIBRARY_PATH="$libdir" ldd "$tmp/consumer" | grep -q "$libdir/libjobpool.so.0"
