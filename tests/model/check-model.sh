#!/bin/sh
# Model-checks jobpool's protocols with Spin (README.md beside this script
# explains the models): the submit / park / wake / wait_idle / shutdown
# protocol (jobpool.pml), room in a bounded queue (room.pml), and an elastic
# pool's threads coming and going (elastic.pml).
#
# Passes when the models of the code as it is verify with no errors, every
# planted bug is found, and every known bug (README.md, "Findings") is
# still found; fails otherwise; exits 77 (skipped) when spin or a C
# compiler is missing.  The largest run goes in the background, so the
# whole check takes about 55 s on two idle cores and 1.5 GB of memory.
#
# Environment:
#   top_srcdir          set by the test harness; the models are in
#                       $top_srcdir/tests/model (without it, beside this
#                       script)
#   CC, SPIN            the C compiler (also used as Spin's preprocessor)
#                       and spin
#   JOBPOOL_MODEL_FULL  1: add the long runs listed in README.md (about
#                       10 minutes, 4.5 GB)
#   JOBPOOL_MODEL_KEEP  1: keep the work directory, with pan.log and any
#                       error trail of each run
set -u

if [ -n "${top_srcdir:-}" ]; then
    models=$top_srcdir/tests/model
else
    models=$(dirname "$0")
fi
for m in jobpool.pml room.pml elastic.pml; do
    if [ ! -r "$models/$m" ]; then
        echo "check-model: cannot read $models/$m" >&2
        exit 99
    fi
done

SPIN=${SPIN:-spin}
if ! command -v "$SPIN" > /dev/null 2>&1; then
    echo "check-model: $SPIN not found (apt-get install spin): skipped"
    exit 77
fi
if [ -z "${CC:-}" ]; then
    for c in cc gcc clang; do
        if command -v "$c" > /dev/null 2>&1; then
            CC=$c
            break
        fi
    done
fi
# CC may carry flags ("gcc -std=gnu11"): look up its first word.
if [ -z "${CC:-}" ] || ! command -v "${CC%% *}" > /dev/null 2>&1; then
    echo "check-model: no C compiler: skipped"
    exit 77
fi
if command -v timeout > /dev/null 2>&1; then
    bounded="timeout"
else
    bounded=""
fi

tmp=$(mktemp -d) || exit 99
if [ "${JOBPOOL_MODEL_KEEP:-0}" = 1 ]; then
    echo "check-model: work directory $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 1' HUP INT TERM
cp "$models/jobpool.pml" "$models/room.pml" "$models/elastic.pml" "$tmp/" ||
    exit 99

# verify NAME EXPECT SECONDS SPIN_DEFINES PAN_CFLAGS PAN_FLAGS DESCRIPTION
#
# Generates, compiles and runs one verifier of the model $pml in $tmp/NAME
# and prints one line.  EXPECT is "pass" (the search must complete with
# "errors: 0") or "fail" (it must report at least one error).  Returns 0
# when the verdict is the expected one.
verify() {
    v_name=$1 v_expect=$2 v_secs=$3 v_defs=$4 v_cflags=$5 v_flags=$6
    v_what=$7
    v_dir=$tmp/$v_name
    v_pml=$pml
    mkdir "$v_dir" && cp "$tmp/$v_pml" "$v_dir/" || return 1
    (
        cd "$v_dir" || exit 1
        # shellcheck disable=SC2086 # the define lists are word lists
        "$SPIN" -P"$CC -E -x c" -a $v_defs "$v_pml" > spin.log 2>&1 ||
            exit 1
        # shellcheck disable=SC2086
        $CC -w -O2 -DMEMLIM=$memlim $v_cflags -o pan pan.c > cc.log 2>&1 ||
            exit 1
        if [ -n "$bounded" ]; then
            # shellcheck disable=SC2086
            timeout "$v_secs" ./pan $v_flags > pan.log 2>&1
        else
            # shellcheck disable=SC2086
            ./pan $v_flags > pan.log 2>&1
        fi
        exit 0
    ) || {
        echo "FAIL  $v_name: could not build the verifier ($v_what)"
        cat "$v_dir/spin.log" "$v_dir/cc.log" 2> /dev/null | sed 's/^/      /' |
            head -20
        return 1
    }
    v_log=$v_dir/pan.log
    v_errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$v_log" | tail -n 1)
    v_states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$v_log" |
        tail -n 1)
    v_time=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\).*/\1/p' "$v_log" |
        tail -n 1)
    v_first=$(sed -n 's/^pan:1: \(.*\) (at depth.*/\1/p' "$v_log" | head -n 1)
    v_stats="${v_states:-?} states, ${v_time:-?} s"
    v_incomplete=""
    if grep -q -e 'out of memory' -e 'max search depth too small' \
        -e 'Search not completed' "$v_log"; then
        v_incomplete="search incomplete"
    fi
    if [ -z "$v_errors" ]; then
        echo "FAIL  $v_name: pan did not finish within $v_secs s ($v_what)"
        tail -n 5 "$v_log" | sed 's/^/      /'
        return 1
    fi
    if [ "$v_expect" = pass ]; then
        if [ "$v_errors" -eq 0 ] && [ -z "$v_incomplete" ]; then
            echo "PASS  $v_name: no errors, $v_stats ($v_what)"
            return 0
        fi
        echo "FAIL  $v_name: $v_errors error(s)${v_incomplete:+, $v_incomplete}," \
            "$v_stats ($v_what)"
        grep -e '^pan:' "$v_log" | head -n 5 | sed 's/^/      /'
        echo "      replay: cd $v_dir && $SPIN -t -p -g $v_defs $v_pml" \
            "(set JOBPOOL_MODEL_KEEP=1)"
        return 1
    fi
    if [ "$v_errors" -gt 0 ]; then
        echo "PASS  $v_name: found: ${v_first:-an error}, $v_stats ($v_what)"
        return 0
    fi
    echo "FAIL  $v_name: not found${v_incomplete:+ ($v_incomplete)}," \
        "$v_stats ($v_what)"
    return 1
}

pml=jobpool.pml
safety="-DSAFETY"
liveness="-DNFAIR=3"
memlim=2048 # MB, per verifier
status=0


# The model as the code is, at full size: 2 producers x 2 jobs, 2 workers,
# wait_idle, and shutdown racing the producers.  The largest run (22 M
# states): in the background, with states compressed (-DCOLLAPSE, lossless).
verify as-is pass 300 "-DSPURIOUS=0" "$safety -DCOLLAPSE" "-m10000 -w25" \
    "2x2 jobs, 2 workers, wait_idle, shutdown" > "$tmp/as-is.out" 2>&1 &
big=$!

verify as-is-spurious pass 120 "-DNJOBS=1 -DSPURIOUS=2" "$safety" \
    "-m10000 -w23" "2x1 jobs, 2 spurious wake-ups" || status=1
verify as-is-spurious-park pass 120 "-DSPURIOUS=1 -DNO_WAITER" "$safety" \
    "-m10000 -w23" "2x2 jobs, 1 spurious wake-up, no wait_idle" || status=1
verify as-is-liveness pass 120 "-DNJOBS=1 -DSPURIOUS=0 -DLIVENESS" \
    "$liveness" "-a -m10000 -w23" \
    "LTL: queued jobs are taken, every thread returns" || status=1

# Planted bugs: each must be found.
for bug in BUG_STOP_UNLOCKED BUG_EXIT_UNLOCKED BUG_NO_RULE2 BUG_NO_RULE3 \
    BUG_IDLE_NO_RECHECK; do
    verify "$bug" fail 120 "-DSPURIOUS=0 -D$bug" "$safety" "-m10000 -w23" \
        "planted bug" || status=1
done
verify BUG_PARK_IF fail 120 "-DSPURIOUS=1 -DBUG_PARK_IF" "$safety" \
    "-m10000 -w23" "planted bug, needs a spurious wake-up" || status=1
verify BUG_NO_RULE2-liveness fail 120 \
    "-DNJOBS=1 -DSPURIOUS=0 -DLIVENESS -DNO_MONITOR -DBUG_NO_RULE2" \
    "$liveness" "-a -m10000 -w23" \
    "planted bug, found by the LTL property alone" || status=1

# The batches of rule 4 (worker.c): claimed, stolen, seen by spinners, by
# park() and by rule 3; then their planted bugs.
verify batch pass 300 "-DBATCH -DSPURIOUS=0 -DNO_WAITER" "$safety -DCOLLAPSE" \
    "-m10000 -w25" "batches: 2x2 jobs, 2 workers, shutdown" || status=1
verify batch-waiter pass 300 "-DBATCH -DNJOBS=1 -DSPURIOUS=0" \
    "$safety -DCOLLAPSE" "-m10000 -w25" \
    "batches: 2x1 jobs, wait_idle, shutdown" || status=1
for bug in BUG_PARK_IGNORES_BATCHES BUG_RULE3_IGNORES_BATCHES BUG_CLAIM_LATE; do
    verify "$bug" fail 120 "-DBATCH -DSPURIOUS=0 -DNO_WAITER -D$bug" \
        "$safety" "-m10000 -w23" "planted bug in the batches" || status=1
done

# The lost wake-up with three workers that this model found in the C code
# (README.md, "Finding"), now fixed: planted back, it must be caught.
verify BUG_NO_CHAIN_WAKE fail 120 \
    "-DSPURIOUS=0 -DNW=3 -DNPROD=1 -DNJOBS=3 -DNO_WAITER -DBUG_NO_CHAIN_WAKE" \
    "$safety" "-m10000 -w23" "planted bug: 3 workers, 1x3 jobs" || status=1

# The protocols of 0.2 (room.pml, elastic.pml): about 15 s of short runs.
# The verifiers that must pass run for a second or two, as fast built with
# -O1 as with -O2 and built in half the time; those of planted bugs stop
# within 100 000 states, and -O0 builds them fastest.
small="$safety -O1"
quick="$safety -O0"

# Room in a bounded queue (room.pml): 2 producers, 2 workers, a canceller
# and shutdown; 3 jobs each and queue_limit 1, or 2 timed submits each and
# queue_limit 2.
pml=room.pml
room="-DNJOBS=3 -DNW=2 -DCANCEL -DSPURIOUS=2"
verify room pass 120 "$room" "$small" "-m10000 -w23" \
    "2x3 jobs, limit 1, 2 workers, cancel, shutdown" || status=1
verify room-timed pass 120 \
    "-DNW=2 -DCANCEL -DSPURIOUS=2 -DLIMIT=2 -DTIMED" "$small" \
    "-m10000 -w23" "2x2 timed submits, limit 2, cancel, shutdown" ||
    status=1
for bug in BUG_SPACE_CHECK_FIRST BUG_NOTIFY_UNLOCKED \
    BUG_NO_DRAIN_BROADCAST; do
    verify "$bug" fail 120 "$room -D$bug" "$quick" "-m10000 -w23" \
        "planted bug" || status=1
done
verify BUG_NO_LAST_LOOK fail 120 "$room -DTIMED -DBUG_NO_LAST_LOOK" \
    "$quick" "-m10000 -w23" \
    "planted bug, found by the model in the code" || status=1

# An elastic pool with min_threads 0 (elastic.pml): 1 producer x 3 jobs or
# 2 x 1 (or 2 x 2 with one place), thread starts that may fail, shutdown.
pml=elastic.pml
verify elastic pass 120 "-DNJOBS=3 -DSPURIOUS=1" "$small" \
    "-m10000 -w23" "1x3 jobs, max 2 threads, idle exits, shutdown" ||
    status=1
verify elastic-2-producers pass 120 "-DNPROD=2 -DNJOBS=1 -DSPURIOUS=1" \
    "$small" "-m10000 -w23" "2x1 jobs, max 2 threads" || status=1
verify elastic-1-place pass 120 "-DMAXT=1 -DNPROD=2" "$small" \
    "-m10000 -w23" "2x2 jobs, max 1 thread" || status=1
for bug in BUG_EXIT_WITHOUT_POOL_LOCK BUG_EXIT_OFF_STACK BUG_NO_LOOK_AGAIN; do
    verify "$bug" fail 120 "-D$bug" "$quick" "-m10000 -w23" \
        "planted bug" || status=1
done
verify BUG_IGNORE_EXITING fail 120 "-DMAXT=1 -DBUG_IGNORE_EXITING" \
    "$quick" "-m10000 -w23" "planted bug, max 1 thread" || status=1
# The bug this model found in fdb8a40, planted back.
verify BUG_LEAVE_IF_RESERVED fail 120 "-DBUG_LEAVE_IF_RESERVED" "$quick" \
    "-m10000 -w23" "planted bug: an accepted job left with no thread" ||
    status=1

if [ "${JOBPOOL_MODEL_FULL:-0}" = 1 ]; then
    memlim=8192
    pml=jobpool.pml
    verify full-spurious pass 900 "-DSPURIOUS=1" "$safety -DCOLLAPSE" \
        "-m10000 -w26" "2x2 jobs, wait_idle, 1 spurious wake-up" || status=1
    verify full-liveness-fair pass 900 "-DNJOBS=1 -DSPURIOUS=0 -DLIVENESS" \
        "$liveness -DCOLLAPSE" "-a -f -m10000 -w24" \
        "LTL under weak fairness" || status=1
    verify full-no-cycles pass 900 "-DNJOBS=1 -DSPURIOUS=1" \
        "-DNP -DCOLLAPSE" "-l -m10000 -w24" \
        "no cycle at all: every execution is finite" || status=1
    verify full-stop-early pass 900 "-DSPURIOUS=0 -DBUG_STOP_EARLY" \
        "$safety -DCOLLAPSE" "-m10000 -w25" \
        "stopping stored before tail_lock is taken: harmless" || status=1
    verify full-batch-3-workers pass 900 \
        "-DBATCH -DSPURIOUS=0 -DNW=3 -DNPROD=1 -DNJOBS=2 -DNO_WAITER" \
        "$safety -DCOLLAPSE" "-m10000 -w26" \
        "batches, 3 workers, 1x2 jobs (1x3 jobs does not finish in 8 GB)" ||
        status=1
    verify full-3-workers pass 900 \
        "-DSPURIOUS=0 -DNW=3 -DNPROD=1 -DNJOBS=3 -DNO_WAITER" \
        "$safety -DCOLLAPSE" "-m10000 -w25" \
        "the chained wake-up, 3 workers, 1x3 jobs" || status=1
    pml=room.pml
    verify full-room-timed pass 900 "-DLIMIT=2 -DNJOBS=4 -DNW=2 -DCANCEL \
        -DSPURIOUS=2 -DTIMED" "$safety -DCOLLAPSE" "-m10000 -w25" \
        "2x4 timed submits, limit 2, cancel" || status=1
    pml=elastic.pml
    verify full-elastic pass 900 "-DNPROD=2" "$safety -DCOLLAPSE" \
        "-m10000 -w26" "2x2 jobs, max 2 threads" || status=1
    verify full-elastic-4-jobs pass 900 "-DNJOBS=4 -DSPURIOUS=1" \
        "$safety -DCOLLAPSE" "-m10000 -w25" "1x4 jobs, max 2 threads" ||
        status=1
    verify full-harmless-exit-nonempty pass 900 \
        "-DNJOBS=4 -DBUG_EXIT_NONEMPTY" "$safety -DCOLLAPSE" \
        "-m10000 -w25" \
        "leave_if_idle() without the empty-queue test: harmless" || status=1
fi

wait "$big" || status=1
cat "$tmp/as-is.out"
exit $status
