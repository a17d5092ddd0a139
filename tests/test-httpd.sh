#!/bin/sh
# tools/jobpool-httpd end to end, over 127.0.0.1 with curl (skipped, 77,
# without curl): the routes answer, keep-alive reuses the connection, every
# /append reaches the data file, and SIGTERM with slow appends in flight
# still answers each of them, writes each line, and exits 0.
#
# Waits are for conditions (the "listening on" line, the server's counters,
# the process exiting), polled in 0.05 s steps and bounded; no sleep is
# used as synchronisation.
set -eu
command -v curl >/dev/null 2>&1 || { echo "curl not found; skipping"; exit 77; }
httpd=$top_builddir/tools/jobpool-httpd
test -x "$httpd" || { echo "FAIL: $httpd is not built" >&2; exit 99; }

tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp/out" "$tmp/err"; do
        if [ -s "$f" ]; then echo "--- $f" >&2; cat "$f" >&2; fi
    done
    exit 1
}
# wait_until DESCRIPTION COMMAND...: polls COMMAND for up to 10 s.
wait_until() {
    what=$1
    shift
    i=0
    until "$@"; do
        i=$((i + 1))
        [ "$i" -le 200 ] || fail "timed out waiting for $what"
        sleep 0.05
    done
}
server_up() {
    kill -0 "$pid" 2>/dev/null || fail "the server died"
    grep -qs '^listening on 127\.0\.0\.1:[0-9][0-9]*$' "$tmp/out"
}
server_gone() { ! kill -0 "$pid" 2>/dev/null; }
# get PATH: the body, or fail unless the status is 200.
get() {
    code=$(curl -sS --max-time 10 -o "$tmp/body" -w '%{http_code}' \
        "$url$1") || fail "curl $1"
    [ "$code" = 200 ] || fail "$1: status $code"
    cat "$tmp/body"
}
stat_field() { get /stats | tr ' ' '\n' | sed -n "s/^$1=//p"; }
jobs_accepted() { [ "$(stat_field submitted)" -ge "$1" ]; }

# Every /append sleeps 200 ms after its fdatasync, so that the slow
# requests below are still in flight when SIGTERM arrives.
"$httpd" --port 0 --threads 2 --delay-ms 200 --dir "$tmp" \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait_until "the listening line" server_up
url=http://$(sed -n 's/^listening on //p' "$tmp/out")
echo "server $pid at $url"

# Keep-alive: three requests in one curl reuse one connection.
out=$(curl -sS --max-time 10 "$url/fast" "$url/fast" "$url/stats") ||
    fail "curl /fast /fast /stats"
echo "$out" | head -2 | tr '\n' ' ' | grep -qx 'fast fast ' ||
    fail "/fast answered: $out"
echo "$out" | grep -q ' accepted=1 .* served=2 ' ||
    fail "keep-alive: not one connection for three requests: $out"

out=$(curl -sS --max-time 10 "$url/append?n=1" "$url/append?n=2" \
    "$url/append?n=3") || fail "curl /append"
[ "$out" = "$(printf 'appended n=1\nappended n=2\nappended n=3')" ] ||
    fail "/append answered: $out"
[ "$(cat "$tmp/jobpool-httpd.data")" = "$(printf 'n=1\nn=2\nn=3')" ] ||
    fail "data file after three appends: $(cat "$tmp/jobpool-httpd.data")"

get /compress | grep -Eqx 'compressed 262144 to [0-9]+ bytes, crc32 [0-9a-f]{8}' ||
    fail "/compress answered: $(cat "$tmp/body")"
for bad in /nope:404 /append:400 '/append?n=x':400; do
    code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
        "$url${bad%:*}") || fail "curl ${bad%:*}"
    [ "$code" = "${bad##*:}" ] || fail "${bad%:*}: status $code"
done
[ "$(stat_field submitted)" = 4 ] && [ "$(stat_field completed)" = 4 ] ||
    fail "expected 4 jobs: $(get /stats)"

# SIGTERM with six slow appends accepted: two run, four wait in the queue.
curls=
for i in 1 2 3 4 5 6; do
    curl -sS --max-time 20 -o "$tmp/slow$i" -w '%{http_code}' \
        "$url/append?n=10$i" >"$tmp/code$i" 2>"$tmp/curl$i" &
    curls="$curls $!"
done
wait_until "six jobs accepted" jobs_accepted 10
echo "at SIGTERM: $(get /stats)"
kill -TERM "$pid"
wait_until "the server to exit" server_gone
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "the server exited $rc after SIGTERM"
for c in $curls; do wait "$c" || true; done

for i in 1 2 3 4 5 6; do
    [ "$(cat "$tmp/code$i")" = 200 ] ||
        fail "slow append $i: status $(cat "$tmp/code$i") $(cat "$tmp/curl$i")"
    [ "$(cat "$tmp/slow$i")" = "appended n=10$i" ] ||
        fail "slow append $i answered: $(cat "$tmp/slow$i")"
done
printf 'n=%s\n' 1 2 3 101 102 103 104 105 106 | sort >"$tmp/expected"
sort "$tmp/jobpool-httpd.data" | diff -u "$tmp/expected" - ||
    fail "the data file does not hold every accepted append"
grep -q '^jobpool-httpd: served [0-9]* requests .* jobs run 10 of 10 submitted' \
    "$tmp/out" || fail "no summary line"
tail -1 "$tmp/out"
if curl -sS --max-time 5 -o /dev/null "$url/fast" 2>/dev/null; then
    fail "the port still answers after exit"
fi
[ ! -s "$tmp/err" ] || fail "the server wrote to stderr"
echo "jobpool-httpd: routes, keep-alive, appends and drain on SIGTERM ok"
