# SPDX-License-Identifier: MIT
# Sourced by the consumer tests (test-consumer*.sh).  Installs the build into
# a temporary directory with `make install DESTDIR=...`, as a package build
# does, and sets:
#   tmp           the temporary directory, removed when the script exits
#   installed_pc  the installed jobpool.pc, under $tmp
#   libdir        the installed library's directory, under $tmp
#   pcdir         a directory holding a copy of jobpool.pc whose prefix and
#                 other absolute directories point into $tmp, for tools that
#                 cannot pass pkg-config --define-variable (CMake): with
#                 PKG_CONFIG_PATH=$pcdir, pkg-config finds the installed copy.
#   relocate      the pkg-config --define-variable options that do the same
#                 with the installed jobpool.pc, one per absolute directory
# and defines loaded_libs (below).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

${MAKE:-make} -s -C "$top_builddir" install DESTDIR="$tmp/root" \
    >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; exit 1; }

installed_pc=$(find "$tmp/root" -name jobpool.pc -type f)
test -n "$installed_pc" && test -f "$installed_pc"

pcdir="$tmp/pkgconfig"
mkdir "$pcdir"
# Every directory given as an absolute path moves under $tmp/root: prefix
# always, and libdir and the others too when configure was given them
# whole, as distributions do (--libdir=/usr/lib/x86_64-linux-gnu).
sed -E "s,^(prefix|exec_prefix|libdir|includedir)=/,\\1=$tmp/root/," \
    "$installed_pc" > "$pcdir/jobpool.pc"
relocate=$(sed -En "s,^(prefix|exec_prefix|libdir|includedir)=(/.*),\
--define-variable=\\1=$tmp/root\\2,p" "$installed_pc")
libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir jobpool)
case $libdir in
"$tmp"/*) ;;
*) echo "the rewritten jobpool.pc points outside $tmp: libdir=$libdir" >&2
   exit 1 ;;
esac
test -d "$libdir"

# loaded_libs PROGRAM: the shared libraries PROGRAM loads, listed as ldd
# lists them, by the program's own dynamic loader: glibc's ldd cannot list
# a program linked against musl, whose loader lists it with --list.
loaded_libs() {
    interp=$(readelf -l "$1" |
        sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
    case $interp in
    */ld-musl-*) "$interp" --list "$1" || true ;;
    *) ldd "$1" ;;
    esac
}
