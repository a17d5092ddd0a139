#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-httpd: what offloading buys an event loop.
#
# Runs tools/jobpool-httpd twice, its slow handlers first offloaded to the
# pool and then --inline on the loop thread, and drives each with wrk
# (Debian package wrk) on 127.0.0.1 only: /fast alone, then /fast while a
# second wrk hammers /append (write + fdatasync) to one file, then to 16
# files in turn, then /fast while one hammers /compress (256 KiB of CPU
# work).  Prints, for every run and route, requests/s and p50/p99 latency:
# offloaded, /fast should keep its latency while the slow routes run;
# inline, it waits behind them.  Offloaded, the appends to one file are
# written one at a time, in the order they were accepted (one lane per
# file), so one file's rate is one fdatasync at a time and 16 files' is
# what the disk takes in parallel; /compress runs on at most half the
# workers.
#
#   bench-httpd.sh HTTPD        (make bench-httpd)
#
# Environment: BENCH_HTTPD_SECONDS (each run, default 3), BENCH_HTTPD_THREADS
# (pool workers, default 8: they mostly wait on the disk), BENCH_HTTPD_DIR
# (where /append writes; default a temporary directory under the current
# one, since /tmp may be a tmpfs, where fdatasync costs nothing).
set -eu
httpd=${1:?usage: bench-httpd.sh path/to/jobpool-httpd}
secs=${BENCH_HTTPD_SECONDS:-3}
threads=${BENCH_HTTPD_THREADS:-8}

if ! command -v wrk >/dev/null 2>&1; then
    echo "bench-httpd: wrk not found; install it (Debian: apt-get install" \
        "wrk) to run this benchmark"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-httpd.XXXXXX")
data=${BENCH_HTTPD_DIR:-}
if [ -z "$data" ]; then data=$(mktemp -d ./bench-httpd-data.XXXXXX); fi
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
    if [ -z "${BENCH_HTTPD_DIR:-}" ]; then rm -rf "$data"; fi
}
trap cleanup EXIT INT TERM

# wrk calls done() once at the end: requests, requests/s, p50 and p99 in
# microseconds, and errors (socket errors, timeouts and non-2xx answers).
cat >"$work/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("result %d %.0f %d %d %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
# The same, asking for /append to 16 files in turn.
cat "$work/report.lua" - >"$work/files.lua" <<'EOF'
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "/append?n=" .. i .. "&file=f" .. i % 16)
end
EOF

# start_server [--inline]: sets pid and url.
start_server() {
    "$httpd" --port 0 --threads "$threads" --dir "$data" "$@" \
        >"$work/out" 2>"$work/err" &
    pid=$!
    i=0
    until grep -qs '^listening on ' "$work/out"; do
        i=$((i + 1))
        if [ "$i" -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "bench-httpd: the server did not start" >&2
            cat "$work/err" >&2
            exit 1
        fi
        sleep 0.05
    done
    url=http://$(sed -n 's/^listening on //p' "$work/out")
}

stop_server() {
    kill -TERM "$pid"
    wait "$pid" || { echo "bench-httpd: the server failed" >&2; exit 1; }
    pid=
    printf '    %s\n' "$(tail -1 "$work/out")"
}

# row MODE LOAD ROUTE FILE: one line of the table from wrk's result line.
row() {
    awk -v mode="$1" -v load="$2" -v route="$3" '
        $1 == "result" {
            printf "%-8s %-20s %-10s %9d %10.3f %10.3f %7d\n",
                mode, load, route, $3, $4 / 1000, $5 / 1000, $6
            found = 1
        }
        END { if (!found) printf "%-8s %-20s %-10s  (wrk failed)\n",
                mode, load, route }' "$4"
}

# load MODE NAME SLOW_PATH [SCRIPT]: /fast for $secs seconds, and
# SLOW_PATH (or what wrk script SCRIPT.lua asks for) at the same time
# unless it is empty.
load() {
    wrk_opts="-d ${secs}s --timeout 10s -s $work/report.lua"
    if [ -n "$3" ]; then
        wrk -t1 -c16 -d "${secs}s" --timeout 10s \
            -s "$work/${4:-report}.lua" "$url$3" >"$work/slow" 2>&1 &
        slow=$!
    fi
    # shellcheck disable=SC2086
    wrk -t1 -c8 $wrk_opts "$url/fast" >"$work/fast" 2>&1 || true
    row "$1" "$2" /fast "$work/fast" >>"$work/table"
    if [ -n "$3" ]; then
        wait "$slow" || true
        row "$1" "$2" "${3%%\?*}" "$work/slow" >>"$work/table"
    fi
}

echo "jobpool-httpd under wrk: ${secs} s per run, 8 connections on /fast," \
    "16 on the slow route;"
echo "pool of $threads threads; /append writes to $data" \
    "($(stat -f -c %T "$data"), $(nproc) CPUs)"
: >"$work/table"
for mode in offload inline; do
    if [ "$mode" = inline ]; then start_server --inline; else start_server; fi
    load "$mode" "/fast alone" ""
    load "$mode" "/fast + /append" "/append?n=1"
    load "$mode" "/fast + /append x16" "/append" files
    load "$mode" "/fast + /compress" "/compress"
    stop_server
done
echo
printf '%-8s %-20s %-10s %9s %10s %10s %7s\n' \
    mode load route 'req/s' 'p50 ms' 'p99 ms' errors
cat "$work/table"
