#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual pages: every function the public header declares with JOB_API
# has a page (or an alias page, a one-line ".so man3/PAGE.3", to the page
# that documents it); every page is installed by doc/Makefile.am; every page
# passes `mandoc -T lint` (or, without mandoc, `groff -ww -man -z`) with no
# message at all; and every page's EXAMPLES program compiles with -Werror
# against the header, links with the library and runs successfully.
set -eu
man="$top_srcdir/doc/man"
header="$top_srcdir/include/jobpool.h"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "$*" >&2
    status=1
}
status=0

is_alias() { head -n 1 "$1" | grep -q '^\.so '; }

# Every JOB_API function has a page named after it.
sed -n 's/^JOB_API [^(]*[ *]\(job_[a-z_]*\)(.*/\1/p' "$header" |
    sort -u > "$tmp/declared"
test -s "$tmp/declared"
while read -r fn; do
    test -f "$man/$fn.3" || fail "$fn is declared in jobpool.h but has no page"
done < "$tmp/declared"
test -f "$man/jobpool.7" || fail "jobpool.7 is missing"

pages=0
for page in "$man"/*.[0-9]; do
    name=$(basename "$page")
    pages=$((pages + 1))
    grep -q "[[:space:]/]$name\([[:space:]]\|\$\)" \
        "$top_srcdir/doc/Makefile.am" ||
        fail "$name is not listed in doc/Makefile.am"
    if is_alias "$page"; then
        # One line, naming a real page whose NAME section lists this one.
        target=$(sed -n '1s,^\.so man[0-9]/\([^ ]*\)$,\1,p' "$page")
        if [ "$(wc -l < "$page")" -ne 1 ] || [ -z "$target" ] ||
            [ ! -f "$man/$target" ] || is_alias "$man/$target"; then
            fail "$name: an alias page is one line, .so manN/PAGE.N"
        elif ! sed -n '/^\.SH NAME/,/^\.SH/p' "$man/$target" |
            grep -q "\\b${name%.*}\\b"; then
            fail "$name: $target does not name ${name%.*} in NAME"
        fi
        continue
    fi
    sed -n '/^\.SH NAME/,/^\.SH/p' "$page" | grep -q "\\b${name%.*}\\b" ||
        fail "$name: the NAME section does not name ${name%.*}"
    for section in NAME SYNOPSIS DESCRIPTION EXAMPLES "SEE ALSO"; do
        grep -q "^\.SH $section\$" "$page" ||
            fail "$name: no $section section"
    done
done
test "$pages" -gt 0

# Lint.  mandoc(1) reports style issues as well as errors; any message
# fails.  mandoc cannot follow .so outside a manual tree, and calls .so
# fragile, so alias pages were checked above instead.
if command -v mandoc >/dev/null 2>&1; then
    linter="mandoc -T lint"
elif command -v groff >/dev/null 2>&1; then
    linter="groff -ww -man -z"
else
    linter=
    echo "neither mandoc nor groff found: pages not linted"
fi
if [ -n "$linter" ]; then
    for page in "$man"/*.[0-9]; do
        is_alias "$page" && continue
        if ! $linter "$page" > "$tmp/lint" 2>&1 || [ -s "$tmp/lint" ]; then
            cat "$tmp/lint" >&2
            fail "$(basename "$page"): $linter is not quiet"
        fi
    done
fi

# Examples: the text between .EX and .EE in the EXAMPLES section, with the
# roff escapes they use turned back into C.
for page in "$man"/*.[0-9]; do
    is_alias "$page" && continue
    name=$(basename "$page")
    src="$tmp/${name%.*}.c"
    sed -n '/^\.SH EXAMPLES/,/^\.SH/p' "$page" | sed -n '/^\.EX/,/^\.EE/p' |
        sed '/^\.E[XE]/d; s/\\-/-/g; s/\\(dq/"/g; s/\\&//g; s/\\e/\\/g' \
        > "$src"
    if ! grep -q '^int main' "$src"; then
        fail "$name: the EXAMPLES section has no complete program"
        continue
    fi
    # A sanitized library needs a sanitized program around it.
    if ! ${CC:-cc} -std=gnu11 -Wall -Wextra -Werror ${SANITIZER_FLAGS:-} \
        -I"$top_srcdir/include" -c "$src" -o "$tmp/example.o" ||
        ! "$top_builddir/libtool" --quiet --mode=link --tag=CC \
            ${CC:-cc} ${SANITIZER_FLAGS:-} -o "$tmp/example" \
            "$tmp/example.o" "$top_builddir/lib/libjobpool.la"; then
        fail "$name: the example does not build"
        continue
    fi
    if ! "$top_builddir/libtool" --mode=execute "$tmp/example" \
        > "$tmp/example.out" 2>&1; then
        cat "$tmp/example.out" >&2
        fail "$name: the example fails"
    fi
done

test "$status" -eq 0 || exit 1
echo "$(wc -l < "$tmp/declared") functions documented in $pages pages," \
    "linted with ${linter:-nothing}, examples built and run"
