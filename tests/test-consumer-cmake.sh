#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds tests/consumer with CMake against a temporary install, both ways a
# CMake project finds jobpool: find_package(jobpool) with the imported
# target jobpool::jobpool, from the CMake package installed in
# LIBDIR/cmake/jobpool, and pkg_check_modules(IMPORTED_TARGET) with
# PkgConfig::JOBPOOL.  Runs each consumer and checks that it loaded the
# installed library; checks which versions the package's version file
# accepts.  Skipped (77) without cmake.
set -eu
if ! command -v cmake >/dev/null 2>&1; then
    echo "cmake not found; skipping"
    exit 77
fi
. "$top_srcdir/tests/install-tmp.sh"

# CMake runs pkg-config itself and cannot pass --define-variable: it is
# pointed at the copy of jobpool.pc whose prefix is inside the DESTDIR.
# find_package() is pointed at the prefix inside the DESTDIR.
export PKG_CONFIG_PATH="$pcdir"
export CC="${CC:-cc}"
prefix=$(pkg-config --variable=prefix jobpool)

# configure NAME [cmake options]: configures tests/consumer in $tmp/NAME,
# its output in $tmp/NAME.log.
configure() {
    name=$1
    shift
    # A sanitized library needs a sanitized program around it.
    cmake -S "$top_srcdir/tests/consumer" -B "$tmp/$name" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_FLAGS="${SANITIZER_FLAGS:-}" \
        -DCMAKE_EXE_LINKER_FLAGS="${SANITIZER_FLAGS:-}" "$@" \
        >"$tmp/$name.log" 2>&1
}

# consumer NAME [cmake options]: builds and runs the consumer; checks the
# version CMake found and the library the program loaded.
consumer() {
    name=$1
    if ! configure "$@" || ! cmake --build "$tmp/$name" >>"$tmp/$name.log" 2>&1
    then
        cat "$tmp/$name.log" >&2
        echo "the $name consumer does not build" >&2
        exit 1
    fi
    found=$(sed -n 's/^-- consumer: jobpool //p' "$tmp/$name.log")
    if [ "$found" != "$PACKAGE_VERSION" ]; then
        echo "$name: CMake found jobpool '$found', not $PACKAGE_VERSION" >&2
        exit 1
    fi
    # CMake links the library by its full path and records its directory
    # as the build tree's RUNPATH: no LD_LIBRARY_PATH is needed.
    "$tmp/$name/consumer"
    if ! loaded_libs "$tmp/$name/consumer" |
        grep -q "$libdir/libjobpool.so.0"; then
        loaded_libs "$tmp/$name/consumer" >&2
        echo "the $name consumer did not load $libdir/libjobpool.so.0" >&2
        exit 1
    fi
}

consumer pkg-config -DJOBPOOL_FIND=pkg-config
consumer package
dir=$(sed -n 's/^jobpool_DIR:PATH=//p' "$tmp/package/CMakeCache.txt")
case $dir in
"$libdir"/cmake/jobpool) ;;
*) echo "find_package(jobpool) took $dir, not $libdir/cmake/jobpool" >&2
   exit 1 ;;
esac

# The version file: this version and earlier ones of the same major
# version, or a range that holds it (CMake 3.19 and later); not a later
# version, nor another major version.
major=${PACKAGE_VERSION%%.*}
minor=${PACKAGE_VERSION#*.}
minor=${minor%%.*}
accept="$PACKAGE_VERSION $major.0"
refuse="$major.$((minor + 1)) $((major + 1)).0"
cmake_version=$(cmake --version | sed -n '1s/^cmake version //p')
cmake_minor=${cmake_version#*.}
cmake_minor=${cmake_minor%%.*}
if [ "${cmake_version%%.*}" -gt 3 ] || [ "$cmake_minor" -ge 19 ]; then
    accept="$accept $major.0...<$((major + 1)).0"
    refuse="$refuse $((major + 1)).0...$((major + 2)).0"
fi
for want in $accept; do
    if ! configure accept -DJOBPOOL_WANT="$want"; then
        cat "$tmp/accept.log" >&2
        echo "find_package(jobpool $want) did not accept $PACKAGE_VERSION" >&2
        exit 1
    fi
    rm -rf "$tmp/accept"
done
for want in $refuse; do
    if configure refuse -DJOBPOOL_WANT="$want"; then
        echo "find_package(jobpool $want) accepted $PACKAGE_VERSION" >&2
        exit 1
    fi
    if ! grep -q "compatible with requested version" "$tmp/refuse.log"; then
        cat "$tmp/refuse.log" >&2
        echo "find_package(jobpool $want) failed for another reason" >&2
        exit 1
    fi
    rm -rf "$tmp/refuse"
done
echo "CMake found jobpool $PACKAGE_VERSION through its package and through" \
    "pkg-config; the version file accepts and refuses as it should"
