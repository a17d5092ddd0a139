#!/bin/sh
# SPDX-License-Identifier: MIT
# Model-checks jobpool's protocols with Spin (README.md beside this script
# explains the models): the submit / park / wake / wait_idle / shutdown
# protocol (jobpool.pml), room in a bounded queue (room.pml), and an elastic
# pool's threads coming and going (elastic.pml).
#
# Passes when the models of the code as it is verify with no errors and
# every planted bug (among them the bugs the models found, README.md,
# "Findings") is found; fails otherwise; exits 77 (skipped) when spin or a
# C compiler is missing.
#
# No run has a time limit, so a busy machine makes the check slower but
# never changes its verdict.  Each search is bounded instead by the model's
# own bounds (jobs, workers, spurious wake-ups: every execution is finite),
# by a depth limit (pan -m) and by a memory limit (-DMEMLIM), both above
# what the run needs: a run that hit one would fail as "search
# incomplete", whatever the load.  The runs go in two lanes, one in the
# background: about 150 s of CPU, so 80 s on two idle cores, and at most
# 600 MB of memory.
#
# Environment:
#   top_srcdir          set by the test harness; the models are in
#                       $top_srcdir/tests/model (without it, beside this
#                       script)
#   CC, SPIN            the C compiler (also used as Spin's preprocessor)
#                       and spin
#   JOBPOOL_MODEL_FULL  1: add the long runs listed in README.md (about
#                       1 500 s of CPU, 4.3 GB)
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
tmp=$(mktemp -d) || exit 99
if [ "${JOBPOOL_MODEL_KEEP:-0}" = 1 ]; then
    echo "check-model: work directory $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 1' HUP INT TERM
cp "$models/jobpool.pml" "$models/room.pml" "$models/elastic.pml" "$tmp/" ||
    exit 99

# verify NAME EXPECT MEGABYTES SPIN_DEFINES PAN_CFLAGS PAN_FLAGS DESCRIPTION
#
# Generates, compiles and runs one verifier of the model $pml in $tmp/NAME
# and prints one line.  EXPECT is "pass" (the search must complete with
# "errors: 0") or "fail" (it must report at least one error).  MEGABYTES
# bounds the verifier's memory (-DMEMLIM); PAN_FLAGS give the depth bound
# (-m).  Returns 0 when the verdict is the expected one.
verify() {
    v_name=$1 v_expect=$2 v_mb=$3 v_defs=$4 v_cflags=$5 v_flags=$6
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
        $CC -w -O2 -DMEMLIM="$v_mb" $v_cflags -o pan pan.c > cc.log 2>&1 ||
            exit 1
        # shellcheck disable=SC2086
        ./pan $v_flags > pan.log 2>&1
        echo "$?" > pan.status
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
    v_depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$v_log" |
        tail -n 1)
    v_time=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\).*/\1/p' "$v_log" |
        tail -n 1)
    v_first=$(sed -n 's/^pan:1: \(.*\) (at depth.*/\1/p' "$v_log" | head -n 1)
    v_hash=$(sed -n 's/^hash factor: \([0-9.e+]*\).*/\1/p' "$v_log" |
        tail -n 1)
    v_stats="${v_states:-?} states, depth ${v_depth:-?}, ${v_time:-?} s"
    if [ -n "$v_hash" ]; then
        v_stats="$v_stats, bitstate, hash factor $v_hash"
    fi
    v_incomplete=""
    if grep -q -e 'out of memory' -e 'max search depth too small' \
        -e 'Search not completed' "$v_log"; then
        v_incomplete="search incomplete"
    fi
    if [ -z "$v_errors" ]; then
        echo "FAIL  $v_name: pan stopped without a verdict, exit status" \
            "$(cat "$v_dir/pan.status" 2> /dev/null) ($v_what)"
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

safety="-DSAFETY"
liveness="-DNFAIR=3"
# Verifiers built with -O1 run as fast as with -O2 and build in half the
# time; those of planted bugs stop within a million states, and -O0 builds
# them fastest.
small="$safety -O1"
quick="$safety -O0"
# The runs of more than 5 M states store each state as bits of a 128 or
# 64 MB hash array (-DBITSTATE, 3 bits a state): up to twice as fast as
# storing states compressed (-DCOLLAPSE), in a quarter to a twelfth of the
# memory, at the price of a few states in 10 000 left unexplored, whose
# hash bits other states had set (the "hash factor", array bits per state,
# says how few).
# JOBPOOL_MODEL_FULL=1 makes the same searches exhaustively.
bitstate="$safety -DBITSTATE -O1"
status=0

# The two largest runs, in the background: jobpool.pml as the code is, at
# full size (2 producers x 2 jobs, 2 workers, wait_idle, and shutdown
# racing the producers), and with batches and wait_idle.
big_lane() {
    b_status=0
    pml=jobpool.pml
    verify as-is pass 512 "-DSPURIOUS=0" "$bitstate" "-m10000 -w30 -k3" \
        "2x2 jobs, 2 workers, wait_idle, shutdown" || b_status=1
    verify batch-waiter pass 512 "-DBATCH -DNJOBS=1 -DSPURIOUS=0" \
        "$bitstate" "-m10000 -w29 -k3" \
        "batches: 2x1 jobs, wait_idle, shutdown" || b_status=1
    return $b_status
}

# Everything else, in the foreground.
main_lane() {
    m_status=0
    pml=jobpool.pml
    verify as-is-spurious pass 512 "-DNJOBS=1 -DSPURIOUS=2" "$bitstate" \
        "-m10000 -w29 -k3" "2x1 jobs, 2 spurious wake-ups" || m_status=1
    verify as-is-spurious-park pass 768 "-DSPURIOUS=1 -DNO_WAITER" "$small" \
        "-m10000 -w23" "2x2 jobs, 1 spurious wake-up, no wait_idle" ||
        m_status=1

    # Planted bugs: each must be found.
    for bug in BUG_STOP_UNLOCKED BUG_EXIT_UNLOCKED BUG_NO_RULE2 \
        BUG_NO_RULE3; do
        verify "$bug" fail 256 "-DSPURIOUS=0 -D$bug" "$quick" "-m10000 -w20" \
            "planted bug" || m_status=1
    done
    verify BUG_IDLE_NO_RECHECK fail 256 \
        "-DSPURIOUS=0 -DNPROD=1 -DBUG_IDLE_NO_RECHECK" "$quick" \
        "-m10000 -w20" "planted bug, 1x2 jobs" || m_status=1
    verify BUG_PARK_IF fail 256 "-DSPURIOUS=1 -DBUG_PARK_IF" "$quick" \
        "-m10000 -w20" "planted bug, needs a spurious wake-up" || m_status=1

    # The batches of rule 4 (worker.c): claimed, stolen, seen by spinners,
    # by park() and by rule 3; then their planted bugs.
    verify batch pass 512 "-DBATCH -DSPURIOUS=0 -DNO_WAITER" "$bitstate" \
        "-m10000 -w29 -k3" "batches: 2x2 jobs, 2 workers, shutdown" ||
        m_status=1
    for bug in BUG_PARK_IGNORES_BATCHES BUG_RULE3_IGNORES_BATCHES \
        BUG_CLAIM_LATE; do
        verify "$bug" fail 256 "-DBATCH -DSPURIOUS=0 -DNO_WAITER -D$bug" \
            "$quick" "-m10000 -w20" "planted bug in the batches" ||
            m_status=1
    done

    # The lost wake-up with three workers that this model found in the C
    # code (README.md, "Findings"), planted back.
    verify BUG_NO_CHAIN_WAKE fail 512 \
        "-DSPURIOUS=0 -DNW=3 -DNPROD=1 -DNJOBS=3 -DNO_WAITER -DBUG_NO_CHAIN_WAKE" \
        "$small" "-m10000 -w23" "planted bug: 3 workers, 1x3 jobs" ||
        m_status=1

    # Room in a bounded queue (room.pml): 2 producers, 2 workers, a
    # canceller and shutdown; 3 jobs each and queue_limit 1, or 2 timed
    # submits each and queue_limit 2.
    pml=room.pml
    room="-DNJOBS=3 -DNW=2 -DCANCEL -DSPURIOUS=2"
    verify room pass 512 "$room" "$small" "-m10000 -w23" \
        "2x3 jobs, limit 1, 2 workers, cancel, shutdown" || m_status=1
    verify room-timed pass 256 \
        "-DNW=2 -DCANCEL -DSPURIOUS=2 -DLIMIT=2 -DTIMED" "$small" \
        "-m10000 -w22" "2x2 timed submits, limit 2, cancel, shutdown" ||
        m_status=1
    for bug in BUG_SPACE_CHECK_FIRST BUG_NOTIFY_UNLOCKED \
        BUG_NO_DRAIN_BROADCAST; do
        verify "$bug" fail 256 "$room -D$bug" "$quick" "-m10000 -w20" \
            "planted bug" || m_status=1
    done
    verify BUG_NO_LAST_LOOK fail 256 "$room -DTIMED -DBUG_NO_LAST_LOOK" \
        "$quick" "-m10000 -w20" \
        "planted bug, found by the model in the code" || m_status=1

    # An elastic pool with min_threads 0 (elastic.pml): 1 producer x 3 jobs
    # or 2 x 1 (or 2 x 2 with one place), thread starts that may fail, idle
    # exits, shutdown; the producer's store of tail_seq buffered.
    pml=elastic.pml
    verify elastic pass 768 "-DNJOBS=3 -DSPURIOUS=1" "$small" \
        "-m10000 -w23" "1x3 jobs, max 2 threads, idle exits, shutdown" ||
        m_status=1
    verify elastic-2-producers pass 512 "-DNPROD=2 -DNJOBS=1 -DSPURIOUS=1" \
        "$small" "-m10000 -w22" "2x1 jobs, max 2 threads" || m_status=1
    verify elastic-1-place pass 512 "-DMAXT=1 -DNPROD=2" "$small" \
        "-m10000 -w22" "2x2 jobs, max 1 thread" || m_status=1
    # BUG_EXIT_WITHOUT_POOL_LOCK is no longer a bug: a new thread now
    # waits for pool->lock in worker_start() (README.md, Findings, 6).
    for bug in BUG_EXIT_OFF_STACK BUG_NO_LOOK_AGAIN; do
        verify "$bug" fail 256 "-D$bug" "$quick" "-m10000 -w20" \
            "planted bug" || m_status=1
    done
    verify BUG_IGNORE_EXITING fail 256 "-DMAXT=1 -DBUG_IGNORE_EXITING" \
        "$quick" "-m10000 -w20" "planted bug, max 1 thread" || m_status=1
    # The bugs this model found in the code (README.md, "Findings"),
    # planted back.
    verify BUG_LEAVE_IF_RESERVED fail 256 "-DBUG_LEAVE_IF_RESERVED" "$quick" \
        "-m10000 -w20" "planted bug: an accepted job left with no thread" ||
        m_status=1
    verify BUG_GROWTH_WITHOUT_RMW fail 256 "-DBUG_GROWTH_WITHOUT_RMW" \
        "$quick" "-m10000 -w20" \
        "planted bug: growth checked with the job in the store buffer" ||
        m_status=1
    verify BUG_NO_DRAIN_GROWTH fail 256 "-DBUG_NO_DRAIN_GROWTH" \
        "$quick" "-m10000 -w20" \
        "planted bug: no thread started once shutdown has begun" ||
        m_status=1
    verify BUG_START_BEFORE_COUNTED fail 256 "-DBUG_START_BEFORE_COUNTED" \
        "$quick" "-m10000 -w20" \
        "planted bug: a new thread leaves before it is counted in nlive" ||
        m_status=1
    verify BUG_RULE2_WITHOUT_RMW fail 256 "-DNJOBS=3 -DBUG_RULE2_WITHOUT_RMW" \
        "$quick" "-m10000 -w20" \
        "planted bug: rule 2 with the job in the store buffer, 1x3 jobs" ||
        m_status=1
    return $m_status
}

# The long runs, with JOBPOOL_MODEL_FULL=1 (README.md, "Results"): the
# bitstate runs above again, exhaustively (as-is is part of full-spurious:
# a spurious wake-up is one the search may or may not take); then larger
# configurations.  The LTL property is checked here, beside the run that
# shows that the model has no cycles: without cycles, the safety runs' end
# states already imply it.
full_runs() {
    f_status=0
    pml=jobpool.pml
    verify full-as-is-spurious pass 2048 "-DNJOBS=1 -DSPURIOUS=2" \
        "$safety" "-m10000 -w23" "2x1 jobs, 2 spurious wake-ups" ||
        f_status=1
    verify full-batch pass 2048 "-DBATCH -DSPURIOUS=0 -DNO_WAITER" \
        "$safety -DCOLLAPSE" "-m10000 -w24" \
        "batches: 2x2 jobs, 2 workers, shutdown" || f_status=1
    verify full-batch-waiter pass 2048 "-DBATCH -DNJOBS=1 -DSPURIOUS=0" \
        "$safety -DCOLLAPSE" "-m10000 -w24" \
        "batches: 2x1 jobs, wait_idle, shutdown" || f_status=1
    verify full-liveness pass 2048 "-DNJOBS=1 -DSPURIOUS=0 -DLIVENESS" \
        "$liveness" "-a -m10000 -w23" \
        "LTL: queued jobs are taken, every thread returns" || f_status=1
    verify BUG_NO_RULE2-liveness fail 1024 \
        "-DNJOBS=1 -DSPURIOUS=0 -DLIVENESS -DNO_MONITOR -DBUG_NO_RULE2" \
        "$liveness" "-a -m10000 -w23" \
        "planted bug, found by the LTL property alone" || f_status=1
    verify full-spurious pass 8192 "-DSPURIOUS=1" "$safety -DCOLLAPSE" \
        "-m10000 -w26" "2x2 jobs, wait_idle, 1 spurious wake-up" ||
        f_status=1
    verify full-liveness-fair pass 8192 "-DNJOBS=1 -DSPURIOUS=0 -DLIVENESS" \
        "$liveness -DCOLLAPSE" "-a -f -m10000 -w24" \
        "LTL under weak fairness" || f_status=1
    verify full-no-cycles pass 8192 "-DNJOBS=1 -DSPURIOUS=1" \
        "-DNP -DCOLLAPSE" "-l -m10000 -w24" \
        "no cycle at all: every execution is finite" || f_status=1
    verify full-stop-early pass 8192 "-DSPURIOUS=0 -DBUG_STOP_EARLY" \
        "$safety -DCOLLAPSE" "-m10000 -w25" \
        "stopping stored before tail_lock is taken: harmless" || f_status=1
    verify full-batch-3-workers pass 8192 \
        "-DBATCH -DSPURIOUS=0 -DNW=3 -DNPROD=1 -DNJOBS=2 -DNO_WAITER" \
        "$safety -DCOLLAPSE" "-m10000 -w26" \
        "batches, 3 workers, 1x2 jobs (1x3 jobs does not finish in 8 GB)" ||
        f_status=1
    verify full-3-workers pass 8192 \
        "-DSPURIOUS=0 -DNW=3 -DNPROD=1 -DNJOBS=3 -DNO_WAITER" \
        "$safety -DCOLLAPSE" "-m10000 -w25" \
        "the chained wake-up, 3 workers, 1x3 jobs" || f_status=1
    pml=room.pml
    verify full-room-timed pass 8192 "-DLIMIT=2 -DNJOBS=4 -DNW=2 -DCANCEL \
        -DSPURIOUS=2 -DTIMED" "$safety -DCOLLAPSE" "-m10000 -w25" \
        "2x4 timed submits, limit 2, cancel" || f_status=1
    pml=elastic.pml
    verify full-elastic pass 8192 "-DNPROD=2" "$safety -DCOLLAPSE" \
        "-m10000 -w26" "2x2 jobs, max 2 threads" || f_status=1
    verify full-elastic-4-jobs pass 8192 "-DNJOBS=4 -DSPURIOUS=1" \
        "$safety -DCOLLAPSE" "-m10000 -w25" "1x4 jobs, max 2 threads" ||
        f_status=1
    verify full-harmless-exit-nonempty pass 8192 \
        "-DNJOBS=4 -DBUG_EXIT_NONEMPTY" "$safety -DCOLLAPSE" \
        "-m10000 -w25" \
        "leave_if_idle() without the empty-queue test: harmless" ||
        f_status=1
    return $f_status
}

big_lane > "$tmp/big.out" 2>&1 &
big=$!
main_lane || status=1
wait "$big" || status=1
cat "$tmp/big.out"
if [ "${JOBPOOL_MODEL_FULL:-0}" = 1 ]; then
    full_runs || status=1
fi
exit $status
