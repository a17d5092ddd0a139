#!/bin/sh
# SPDX-License-Identifier: MIT
# The public header compiles on its own as strict C99 and as C++.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <jobpool.h>\nint main(void) { return job_pool_destroy(0); }\n' \
    > "$tmp/use.c"
cp "$tmp/use.c" "$tmp/use.cpp"

${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror \
    -I"$top_srcdir/include" -c "$tmp/use.c" -o "$tmp/use-c.o"
if command -v "${CXX:-c++}" >/dev/null 2>&1 &&
    "${CXX:-c++}" --version >/dev/null 2>&1; then
    "${CXX:-c++}" -std=c++11 -pedantic -Wall -Wextra -Werror \
        -I"$top_srcdir/include" -c "$tmp/use.cpp" -o "$tmp/use-cxx.o"
    echo "header compiles as C99 and C++11"
else
    echo "header compiles as C99 (no C++ compiler to try)"
fi
