#!/bin/sh
# SPDX-License-Identifier: MIT
# The C and C++ sources are formatted as the tree's .clang-format says.
# Skipped (77) when clang-format is not installed.  The file list is the
# tree's own code: the library, the public header, the tests and the tools.
set -eu
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
    echo "clang-format not found; skipping"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$top_srcdir"
test -f .clang-format
files=
for f in lib/*.c lib/*.h include/*.h tests/*.c tests/*.h tests/consumer/*.c \
    tools/*.c tools/*/*.c tools/*/*.cc tools/*/*.h; do
    if [ -f "$f" ]; then files="$files $f"; fi
done
test -n "$files"

failed=0
for f in $files; do
    if ! "$CLANG_FORMAT" --style=file --dry-run --Werror "$f" \
        >/dev/null 2>&1; then
        "$CLANG_FORMAT" --style=file "$f" | diff -u "$f" - >"$tmp/diff" ||
            true
        cat "$tmp/diff"
        lines=$(grep -c '^[-+][^-+]' <"$tmp/diff" || true)
        echo "$f: not formatted ($lines lines change; clang-format -i $f)" >&2
        failed=$((failed + 1))
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "$failed files differ from .clang-format ($("$CLANG_FORMAT" --version))" >&2
    exit 1
fi
echo "$(echo $files | wc -w) files match .clang-format"
