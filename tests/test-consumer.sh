#!/bin/sh
# Installs into a temporary directory and builds a consumer with
# `pkg-config --cflags --libs jobpool`, as a user would.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

${MAKE:-make} -s -C "$top_builddir" install DESTDIR="$tmp" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/jobpool.pc")
libdir=$(PKG_CONFIG_PATH= pkg-config --define-variable=prefix="$tmp$prefix" \
    --variable=libdir "$top_builddir/jobpool.pc")
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pc() { pkg-config --define-variable=prefix="$tmp$prefix" "$@" jobpool; }

test "$(pc --modversion)" = "$PACKAGE_VERSION"
# A sanitized library needs a sanitized program around it.
${CC:-cc} ${SANITIZER_FLAGS:-} -o "$tmp/consumer" \
    "$top_srcdir/tests/consumer/consumer.c" $(pc --cflags) $(pc --libs)
LD_LIBRARY_PATH="$libdir" "$tmp/consumer"
# The binary must have loaded the installed copy.
LD_LIBRARY_PATH="$libdir" ldd "$tmp/consumer" | grep -q "$libdir/libjobpool.so.0"
