#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports exactly the functions the public header
# declares, each one tagged with the symbol version of the node that lists
# it in the linker version script (JOBPOOL_0 for 0.1's functions,
# JOBPOOL_0.2 and JOBPOOL_0.3 for those 0.2 and 0.3 added); and the library carries a SONAME with
# the libtool major version.
set -eu
lib="$top_builddir/lib/.libs/libjobpool.so"
header="$top_srcdir/include/jobpool.h"
map="$top_srcdir/lib/libjobpool.map"
version=JOBPOOL_0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Defined functions and data, as name@@VERSION (or a bare name when the
# symbol has no version).  The version definitions themselves are absolute
# symbols (type A) and are left out.
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' |
    sort -u > "$tmp/exported-versioned"
sed 's/@.*//' "$tmp/exported-versioned" | sort -u > "$tmp/exported"
sed -n 's/^JOB_API [^(]*[ *]\(job_[a-z_]*\)(.*/\1/p' "$header" |
    sort -u > "$tmp/declared"
test -s "$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/exported"; then
    echo "exported symbols differ from the header's declarations" >&2
    exit 1
fi

# The version script as "name@@NODE" lines, with the comments taken out:
# each name between "global:" and "local:" or the end of its node.
sed 's,/\*.*\*/,,; /\/\*/,/\*\//d' "$map" | tr -s ' \t;{}' '\n\n\n\n\n' |
    awk '/^JOBPOOL_/ && !on { node = $0; next }
         $0 == "global:" { on = 1; next }
         $0 == "local:" || /^JOBPOOL_/ { on = 0; next }
         on { print $0 "@@" node }' |
    sort -u > "$tmp/mapped-versioned"
sed 's/@.*//' "$tmp/mapped-versioned" | sort -u > "$tmp/mapped"
if ! diff -u "$tmp/declared" "$tmp/mapped"; then
    echo "$map lists other functions than the header declares" >&2
    exit 1
fi

# Every export is the default version (@@) of the node that lists it, and
# the first release's functions stay in $version.
if ! diff -u "$tmp/mapped-versioned" "$tmp/exported-versioned"; then
    echo "exported symbol versions differ from $map" >&2
    exit 1
fi
grep -q "^job_submit_detached@@$version\$" "$tmp/exported-versioned"

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" != "libjobpool.so.0" ]; then
    echo "unexpected SONAME: '$soname'" >&2
    exit 1
fi
echo "exports $(wc -l < "$tmp/exported") functions, versioned as the" \
    "header and the version script list them; SONAME $soname"
