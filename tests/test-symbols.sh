#!/bin/sh
# The shared library exports exactly the functions the public header
# declares, and carries a SONAME with the libtool major version.
set -eu
lib="$top_builddir/lib/.libs/libjobpool.so"
header="$top_srcdir/include/jobpool.h"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ { sub(/@.*/, "", $3); print $3 }' |
    sort -u > "$tmp/exported"
sed -n 's/^JOB_API [^(]*[ *]\(job_[a-z_]*\)(.*/\1/p' "$header" |
    sort -u > "$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/exported"; then
    echo "exported symbols differ from the header's declarations" >&2
    exit 1
fi
test -s "$tmp/declared"

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" != "libjobpool.so.0" ]; then
    echo "unexpected SONAME: '$soname'" >&2
    exit 1
fi
echo "exports $(wc -l < "$tmp/exported") functions, SONAME $soname"
