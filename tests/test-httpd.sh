#!/bin/sh
# SPDX-License-Identifier: MIT
# tools/jobpool-httpd end to end, over 127.0.0.1 with curl (skipped, 77,
# without curl): the routes answer, keep-alive reuses the connection, every
# /append reaches the data file, HEAD has no body, another method gets 405
# with Allow, lines may end in a bare LF, and SIGTERM with slow appends in
# flight still answers each of them, writes each line, and exits 0.  On a
# second server, the idle timeout closes connections that send no request
# in time; on a third, run out of file descriptors, accept() failing is
# logged once, not at every retry.  Raw requests go through curl's telnet
# client, which sends its input as it is and prints what it receives until
# the server closes the connection.
#
# The lanes: on the first server the six slow appends are accepted one
# after another from six connections, and the data file holds them in
# that order.  On a fourth server, one client's numbered appends to one
# file land in order and complete, and appends to two files from two
# clients, with /compress from three more, all run at the same time and
# come out whole and in order; /stats shows that one /append lane never
# ran two jobs at once, nor the /compress lane more than --compress-width.
#
# Waits are for conditions (the "listening on" line, the server's counters,
# a log line, the process exiting), polled in 0.05 s steps and bounded; no
# sleep is used as synchronisation.  The one sleep lets 1 s pass on
# purpose, to show that a log line is not repeated at each retry.
set -eu
command -v curl >/dev/null 2>&1 || { echo "curl not found; skipping"; exit 77; }
curl -V | grep -q '^Protocols:.* telnet' ||
    { echo "curl has no telnet client; skipping"; exit 77; }
httpd=$top_builddir/tools/jobpool-httpd
test -x "$httpd" || { echo "FAIL: $httpd is not built" >&2; exit 99; }

tmp=$(mktemp -d)
pid=
clients=
cleanup() {
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    for c in $clients; do kill -KILL "$c" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp"/*.out "$tmp"/*.err "$tmp/raw"; do
        if [ -s "$f" ]; then echo "--- $f" >&2; cat -A "$f" >&2; fi
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
    grep -qs '^listening on 127\.0\.0\.1:[0-9][0-9]*$' "$out"
}
server_gone() { ! kill -0 "$pid" 2>/dev/null; }
# start NAME [ULIMIT_N] -- ARGS...: starts a server with ARGS (and at most
# ULIMIT_N file descriptors), its output in $tmp/NAME.out and .err, its
# data file in $tmp/NAME/; sets pid, out, err, url and addr.
start() {
    name=$1
    nofile=$2
    shift 3
    out=$tmp/$name.out
    err=$tmp/$name.err
    mkdir "$tmp/$name"
    (
        if [ "$nofile" != - ]; then ulimit -n "$nofile"; fi
        exec "$httpd" --port 0 --dir "$tmp/$name" "$@"
    ) >"$out" 2>"$err" &
    pid=$!
    wait_until "the listening line" server_up
    addr=$(sed -n 's/^listening on //p' "$out")
    url=http://$addr
    echo "server $name: $pid at $url"
}
# stop: SIGTERM, then fail unless the server exits 0.
stop() {
    kill -TERM "$pid"
    wait_until "the server to exit" server_gone
    rc=0
    wait "$pid" || rc=$?
    pid=
    [ "$rc" = 0 ] || fail "the server exited $rc after SIGTERM"
}
# get PATH: the body, or fail unless the status is 200.
get() {
    code=$(curl -sS --max-time 10 -o "$tmp/body" -w '%{http_code}' \
        "$url$1") || fail "curl $1"
    [ "$code" = 200 ] || fail "$1: status $code"
    cat "$tmp/body"
}
stat_field() { get /stats | tr ' ' '\n' | sed -n "s/^$1=//p"; }
jobs_accepted() { [ "$(stat_field submitted)" -ge "$1" ]; }
# raw FORMAT: sends printf FORMAT over one connection and leaves in
# $tmp/raw what came back before the server closed it.
raw() {
    # shellcheck disable=SC2059 # the format is the request
    printf "$1" | curl -sS --max-time 10 "telnet://$addr" >"$tmp/raw" ||
        fail "curl telnet: $1"
}
# expect DESCRIPTION FORMAT: fails unless $tmp/raw is printf FORMAT.
expect() {
    # shellcheck disable=SC2059
    printf "$2" >"$tmp/expected"
    cmp -s "$tmp/expected" "$tmp/raw" ||
        fail "$1: expected $(cat -A "$tmp/expected")"
}
# response STATUS REASON CONNECTION BODY [HEADER]: a whole response, as a
# printf format; BODY is a format too.
response() {
    # shellcheck disable=SC2059
    printf '%s' "HTTP/1.1 $1 $2\\r\\nContent-Type: text/plain\\r\\n"
    printf '%s' "Content-Length: $(($(printf "$4" | wc -c)))\\r\\n"
    printf '%s' "Connection: $3\\r\\n${5:+$5\\r\\n}\\r\\n$4"
}
fast_close=$(response 200 OK close 'fast\n')
fast_keep=$(response 200 OK keep-alive 'fast\n')
# milliseconds since some fixed point
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# lines FILE N: fails unless FILE holds n=1 .. n=N, in that order.
lines() {
    seq "$2" | sed 's/^/n=/' >"$tmp/expected"
    diff -u "$tmp/expected" "$1" >&2 || fail "$1 is not n=1 .. n=$2 in order"
}

# Every /append sleeps 200 ms after its fdatasync, so that the slow
# requests below are still in flight when SIGTERM arrives.
start main - -- --threads 2 --delay-ms 200
data=$tmp/main/jobpool-httpd.data

# Keep-alive: three requests in one curl reuse one connection.
body=$(curl -sS --max-time 10 "$url/fast" "$url/fast" "$url/stats") ||
    fail "curl /fast /fast /stats"
echo "$body" | head -2 | tr '\n' ' ' | grep -qx 'fast fast ' ||
    fail "/fast answered: $body"
echo "$body" | grep -q ' accepted=1 .* served=2 ' ||
    fail "keep-alive: not one connection for three requests: $body"

body=$(curl -sS --max-time 10 "$url/append?n=1" "$url/append?n=2" \
    "$url/append?n=3") || fail "curl /append"
[ "$body" = "$(printf 'appended n=1\nappended n=2\nappended n=3')" ] ||
    fail "/append answered: $body"
[ "$(cat "$data")" = "$(printf 'n=1\nn=2\nn=3')" ] ||
    fail "data file after three appends: $(cat "$data")"

get /compress | grep -Eqx 'compressed 262144 to [0-9]+ bytes, crc32 [0-9a-f]{8}' ||
    fail "/compress answered: $(cat "$tmp/body")"
for bad in /nope:404 /append:400 '/append?n=x':400 '/append?n=1&file=':400 \
    '/append?n=1&file=../x':400 '/append?n=1&file=a.b':400 \
    "/append?n=1&file=$(printf '%033d' 0)":400; do
    code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
        "$url${bad%:*}") || fail "curl ${bad%:*}"
    [ "$code" = "${bad##*:}" ] || fail "${bad%:*}: status $code"
done

# Bare LF line endings, pipelined, and mixed with CRLF; a CR that does not
# end a line is refused.
raw 'GET /fast HTTP/1.1\nHost: x\n\nGET /fast HTTP/1.1\r\nConnection: close\n\r\n'
expect "two requests with bare LF" "$fast_keep$fast_close"
raw 'GET /fast HTTP/1.1\rHost: x\r\n\r\n'
expect "a bare CR" "$(response 400 'Bad Request' close 'Bad Request\n')"

# HEAD: the headers of GET, Content-Length included, and no body, also
# from a job; the next response on the connection follows right after.
raw 'HEAD /fast HTTP/1.1\r\n\r\nGET /fast HTTP/1.1\r\nConnection: close\r\n\r\n'
expect "HEAD /fast then GET /fast" "${fast_keep%fast\\n}$fast_close"
raw 'HEAD /compress HTTP/1.1\nConnection: close\n\n'
grep -q '^Content-Length: [1-9][0-9]*' "$tmp/raw" &&
    ! grep -q compressed "$tmp/raw" &&
    [ "$(tail -c 4 "$tmp/raw" | od -An -c | tr -d ' ')" = '\r\n\r\n' ] ||
    fail "HEAD /compress: a body, or no Content-Length"

# Any other method: 405 with the methods allowed, and the connection stays.
raw 'DELETE /fast HTTP/1.1\r\n\r\nGET /fast HTTP/1.1\r\nConnection: close\r\n\r\n'
expect "DELETE /fast then GET /fast" "$(response 405 'Method Not Allowed' \
    keep-alive 'Method Not Allowed\n' 'Allow: GET, HEAD')$fast_close"
code=$(curl -sS --max-time 10 -X POST -o /dev/null -w '%{http_code}' \
    "$url/fast") || fail "curl -X POST"
[ "$code" = 405 ] || fail "POST /fast: status $code"
[ "$(stat_field submitted)" = 5 ] && [ "$(stat_field completed)" = 5 ] ||
    fail "expected 5 jobs: $(get /stats)"
[ "$(stat_field compress_width)" = 1 ] ||
    fail "2 workers: /compress is not 1 wide: $(get /stats)"

# SIGTERM with six slow appends to one file accepted, each from its own
# connection and each sent once the one before it was accepted: they are
# in one lane, where one runs and the others wait, in that order.
curls=
for i in 1 2 3 4 5 6; do
    curl -sS --max-time 20 -o "$tmp/slow$i" -w '%{http_code}' \
        "$url/append?n=10$i" >"$tmp/code$i" 2>"$tmp/curl$i" &
    curls="$curls $!"
    wait_until "slow append $i accepted" jobs_accepted $((5 + i))
done
echo "at SIGTERM: $(get /stats)"
stop
for c in $curls; do wait "$c" || true; done

for i in 1 2 3 4 5 6; do
    [ "$(cat "$tmp/code$i")" = 200 ] ||
        fail "slow append $i: status $(cat "$tmp/code$i") $(cat "$tmp/curl$i")"
    [ "$(cat "$tmp/slow$i")" = "appended n=10$i" ] ||
        fail "slow append $i answered: $(cat "$tmp/slow$i")"
done
printf 'n=%s\n' 1 2 3 101 102 103 104 105 106 >"$tmp/expected"
diff -u "$tmp/expected" "$data" ||
    fail "the data file does not hold every accepted append, in order"
grep -q '^jobpool-httpd: served [0-9]* requests .* jobs run 11 of 11 submitted' \
    "$out" || fail "no summary line"
tail -1 "$out"
if curl -sS --max-time 5 -o /dev/null "$url/fast" 2>/dev/null; then
    fail "the port still answers after exit"
fi
[ ! -s "$err" ] || fail "the server wrote to stderr"
echo "jobpool-httpd: routes, keep-alive, HEAD, 405, bare LF, appends and" \
    "drain on SIGTERM ok"

# The idle timeout closes a connection that sends nothing, one that sends
# nothing after its response, and one whose request never ends; not
# before the timeout, and each well within the 10 s curl allows.
idle=500
start idle - -- --threads 1 --idle-timeout-ms $idle
n=0
for case in '' 'GET /fast HTTP/1.1\r\n\r\n' 'GET /fast HTTP/1.1\r\nHost:'; do
    n=$((n + 1))
    t0=$(now_ms)
    raw "$case"
    t=$(($(now_ms) - t0))
    [ "$t" -ge $((idle - 10)) ] || fail "idle case $n: closed after $t ms"
    echo "idle case $n: closed after $t ms"
    if [ "$n" = 2 ]; then expect "idle after a response" "$fast_keep"; fi
    if [ "$n" != 2 ]; then expect "idle case $n" ''; fi
    [ "$(stat_field timed_out)" = $n ] ||
        fail "idle case $n: timed_out is not $n: $(get /stats)"
done
[ "$(stat_field compress_width)" = 1 ] ||
    fail "1 worker: /compress is not 1 wide: $(get /stats)"
stop
[ ! -s "$err" ] || fail "the server wrote to stderr"
echo "jobpool-httpd: idle timeout ok"

# Out of file descriptors: with 16 at most, 20 idle clients leave some in
# the listen queue, and accept() fails until clients leave, then again
# each time one leaves and the next takes its place.  The first failure is
# logged, and the 10 or so retries in the next second are not, nor the
# failures once the clients leave.
start fds 16 -- --threads 1
for i in $(seq 20); do
    curl -sS --max-time 20 "telnet://$addr" </dev/null >/dev/null 2>&1 &
    clients="$clients $!"
done
accept_failed() { grep -q '^jobpool-httpd: accept' "$err"; }
wait_until "accept() to fail" accept_failed
sleep 1
for c in $clients; do kill "$c" 2>/dev/null || true; done
for c in $clients; do wait "$c" 2>/dev/null || true; done
clients=
stats_answer() { curl -s --max-time 2 -o /dev/null "$url/stats"; }
wait_until "/stats to answer again" stats_answer
failures=$(stat_field accept_errors)
[ "$failures" -ge 2 ] || fail "accept() failed only $failures times"
[ "$(wc -l <"$err")" = 1 ] ||
    fail "not one line for $failures accept() failures"
# The message is the C library's: glibc's and musl's differ.
grep -q '^jobpool-httpd: accept (retrying every 100 ms; .*): [A-Z]' "$err" ||
    fail "the accept() failure is not logged"
stop
echo "jobpool-httpd: $failures accept() failures logged once ok"

# The lanes, on 4 workers with /compress held to 1 of them.  Each append
# sleeps 20 ms, so that the clients below overlap.
start lanes - -- --threads 4 --delay-ms 20 --compress-width 1
[ "$(stat_field compress_width)" = 1 ] ||
    fail "--compress-width 1 is not the width: $(get /stats)"
n=40
# urls FILE: a curl config asking for /append?n=1 .. n=$n to FILE, in order
# over one connection.
urls() {
    for i in $(seq "$n"); do echo "url = \"$url/append?n=$i&file=$1\""; done
}

# One client, one connection, n numbered appends to one file one after
# another: each is accepted once the one before it is answered, so they
# land in that order, every one of them.
urls seq >"$tmp/seq.curl"
curl -sS --max-time 20 -K "$tmp/seq.curl" >"$tmp/seq.out" ||
    fail "curl: $n appends to seq"
seq "$n" | sed 's/^/appended n=/' | diff -u - "$tmp/seq.out" >&2 ||
    fail "the appends to seq were not answered in order"
lines "$tmp/lanes/seq.data" "$n"

# Two clients appending to two files and three asking for /compress, all
# at once.  Every request is answered, each file holds its client's lines
# whole and in order, and /stats shows each /append lane ran one job at a
# time and the /compress lane one at a time (its width), whatever
# overlapped.
urls a >"$tmp/a.curl"
urls b >"$tmp/b.curl"
for i in $(seq 4); do echo "url = \"$url/compress\""; done >"$tmp/c.curl"
curls=
for f in a b c c c; do
    curl -sS --max-time 60 -K "$tmp/$f.curl" >>"$tmp/$f.out" \
        2>>"$tmp/$f.err" &
    curls="$curls $!"
done
for c in $curls; do wait "$c" || fail "a concurrent client failed"; done
curls=
for f in a b; do
    seq "$n" | sed 's/^/appended n=/' | diff -u - "$tmp/$f.out" >&2 ||
        fail "the appends to $f were not answered in order"
    lines "$tmp/lanes/$f.data" "$n"
done
[ "$(grep -Ec '^compressed 262144 to [0-9]+ bytes, crc32 [0-9a-f]{8}$' \
    "$tmp/c.out")" = 12 ] || fail "not 12 answers from /compress"
jobs=$((3 * n + 12))
stats=$(get /stats)
echo "after the concurrent clients: $stats"
for want in submitted=$jobs completed=$jobs queued=0 running=0 append_peak=1 \
    compress_peak=1; do
    echo "$stats" | tr ' ' '\n' | grep -qx "$want" || fail "/stats: not $want"
done
stop
[ ! -s "$err" ] || fail "the server wrote to stderr"
grep -q "^jobpool-httpd: served .* jobs run $jobs of $jobs submitted" "$out" ||
    fail "no summary line with $jobs jobs"
echo "jobpool-httpd: appends in order per file, two files and /compress" \
    "at once, /compress within its width ok"
