#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds tests/consumer with CMake, through pkg_check_modules(IMPORTED_TARGET)
# and PkgConfig::JOBPOOL, against a temporary install; runs it and checks
# that it loaded the installed library.  Skipped (77) without cmake.
set -eu
if ! command -v cmake >/dev/null 2>&1; then
    echo "cmake not found; skipping"
    exit 77
fi
. "$top_srcdir/tests/install-tmp.sh"

# CMake runs pkg-config itself and cannot pass --define-variable: it is
# pointed at the copy of jobpool.pc whose prefix is inside the DESTDIR.
export PKG_CONFIG_PATH="$pcdir"
export CC="${CC:-cc}"
build="$tmp/build"
# A sanitized library needs a sanitized program around it.
if ! cmake -S "$top_srcdir/tests/consumer" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="${SANITIZER_FLAGS:-}" \
    -DCMAKE_EXE_LINKER_FLAGS="${SANITIZER_FLAGS:-}" >"$tmp/cmake.log" 2>&1 ||
    ! cmake --build "$build" >>"$tmp/cmake.log" 2>&1; then
    cat "$tmp/cmake.log" >&2
    exit 1
fi
found=$(sed -n 's/^JOBPOOL_VERSION:INTERNAL=//p' "$build/CMakeCache.txt")
if [ "$found" != "$PACKAGE_VERSION" ]; then
    echo "CMake found jobpool '$found', not $PACKAGE_VERSION" >&2
    exit 1
fi

# CMake links the library by its full path and records its directory as
# the build tree's RUNPATH: no LD_LIBRARY_PATH is needed.
"$build/consumer"
if ! ldd "$build/consumer" | grep -q "$libdir/libjobpool.so.0"; then
    ldd "$build/consumer" >&2
    echo "the CMake consumer did not load $libdir/libjobpool.so.0" >&2
    exit 1
fi
