#!/bin/sh
# SPDX-License-Identifier: MIT
# Links tests/consumer statically against the installed libjobpool.a with
# `pkg-config --static --libs jobpool`, runs it, and checks that it has no
# dynamic dependency on libjobpool.so.  Skipped (77) when the static
# library was not built (./configure --disable-static).
set -eu
. "$top_srcdir/tests/install-tmp.sh"
if [ ! -f "$libdir/libjobpool.a" ]; then
    echo "no libjobpool.a installed (--disable-static?); skipping"
    exit 77
fi

export PKG_CONFIG_PATH="$pcdir"
cflags=$(pkg-config --cflags jobpool)
libs=$(pkg-config --static --libs jobpool)
# Libs.private must bring what the archive's objects need: the thread
# flags configure found, which the shared library records for itself.
for flag in ${PTHREAD_CFLAGS:-} ${PTHREAD_LIBS:-}; do
    case " $libs " in
    *" $flag "*) ;;
    *) echo "pkg-config --static --libs jobpool lacks $flag: $libs" >&2
       exit 1 ;;
    esac
done
# libjobpool.so is installed beside the archive and -ljobpool would pick
# it; ask the linker for the archive by its file name instead.
static_libs=$(echo " $libs " | sed 's/ -ljobpool / -l:libjobpool.a /')
case $static_libs in
*-l:libjobpool.a*) ;;
*) echo "no -ljobpool in pkg-config --static --libs jobpool: $libs" >&2
   exit 1 ;;
esac

# A sanitized library needs a sanitized program around it.
${CC:-cc} ${SANITIZER_FLAGS:-} -o "$tmp/consumer-static" \
    "$top_srcdir/tests/consumer/consumer.c" $cflags $static_libs
if readelf -d "$tmp/consumer-static" | grep NEEDED | grep -q libjobpool; then
    readelf -d "$tmp/consumer-static" >&2
    echo "the static consumer depends on libjobpool.so" >&2
    exit 1
fi
nm "$tmp/consumer-static" | grep -q ' T job_submit_detached$'
# Run it with the shared library out of reach.
rm -f "$libdir"/libjobpool.so*
"$tmp/consumer-static"
