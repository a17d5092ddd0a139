#!/bin/sh
# SPDX-License-Identifier: MIT
# Model-checks jobpool 0.3's core protocol (issue 12) and its lanes (issue
# 13) with Spin: core.pml and lane.pml, which README.md beside this script
# explains.
#
# Passes when each model verifies with no errors in each configuration and
# every planted bug (among them the protocol as issue 12 first worded it,
# README.md, "Findings") is found; fails otherwise; exits 77 (skipped)
# when spin or a C compiler is missing.
#
# No run has a time limit, so a busy machine makes the check slower but
# never changes its verdict.  Each search is bounded instead by the model's
# own bounds (jobs, threads), by a depth limit (pan -m) and by a memory
# limit (-DMEMLIM), both above what the run needs: a run that hit one would
# fail as "search incomplete", whatever the load.  One run at a time: about
# 3 min of CPU and at most 650 MB.
#
# Environment:
#   top_srcdir          set by the test harness; the model is in
#                       $top_srcdir/tests/model (without it, beside this
#                       script)
#   CC, SPIN            the C compiler (also used as Spin's preprocessor)
#                       and spin
#   JOBPOOL_MODEL_FULL  1: add the long runs listed in README.md (about
#                       13 min of CPU more, at most 2.9 GB)
#   JOBPOOL_MODEL_KEEP  1: keep the work directory, with pan.log and any
#                       error trail of each run
set -u

if [ -n "${top_srcdir:-}" ]; then
    models=$top_srcdir/tests/model
else
    models=$(dirname "$0")
fi
for m in core.pml lane.pml; do
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
cp "$models/core.pml" "$models/lane.pml" "$tmp/" || exit 99

# verify NAME EXPECT MEGABYTES SPIN_DEFINES PAN_CFLAGS PAN_FLAGS DESCRIPTION
#
# Generates, compiles and runs one verifier of $model (core.pml or
# lane.pml) in $tmp/NAME and prints one line.  EXPECT is "pass" (the search must complete with
# "errors: 0") or "fail" (it must report at least one error).  MEGABYTES
# bounds the verifier's memory (-DMEMLIM); PAN_FLAGS give the depth bound
# (-m).  Returns 0 when the verdict is the expected one.
verify() {
    v_name=$1 v_expect=$2 v_mb=$3 v_defs=$4 v_cflags=$5 v_flags=$6
    v_what=$7
    v_dir=$tmp/$v_name
    v_pml=$model
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

# Verifiers built with -O1 run as fast as with -O2 and build in half the
# time; those of planted bugs stop within a few hundred thousand states,
# and -O0 builds them fastest.  Runs of more than a million states store
# states compressed (-DCOLLAPSE, a third of the memory).
safety="-DSAFETY -O1"
collapse="-DSAFETY -DCOLLAPSE -O1"
quick="-DSAFETY -O0"
liveness="-DNFAIR=3 -DCOLLAPSE -O1"
depth="-m10000"
fixed=""
elastic="-DELASTIC -DNJOBS=1"
one_place="-DELASTIC -DMAXT=1 -DNJOBS=1"
status=0
model=core.pml

# The model as the protocol should be (issue 12 with the fixes of
# README.md, "Findings"), exhaustively.  Shards of two jobs or more have
# fronts (README.md, "Fronts"); with 2x1 jobs no front is ever filled.
verify fixed pass 1024 "$fixed" "$collapse" "$depth -w24" \
    "fixed pool: 2 workers, 2x2 jobs, fronts, shutdown" || status=1
verify elastic pass 512 "$elastic" "$safety" "$depth -w22" \
    "elastic, max 2: 2x1 jobs, failing starts, timeouts" || status=1
verify elastic-3-jobs pass 512 "-DELASTIC -DNPROD=1 -DNJOBS=3" "$collapse" \
    "$depth -w22" "elastic, max 2: 1x3 jobs, fronts" || status=1
verify one-place pass 512 "-DELASTIC -DMAXT=1" "$collapse" "$depth -w22" \
    "elastic, max 1: 2x2 jobs, fronts, the exit/stay race" || status=1

# Planted bugs: each must be found.
for bug in BUG_PUBLISH_AFTER_CHECK BUG_NO_RULE3 BUG_PARK_NO_RECHECK \
    BUG_WOKEN_NO_RULE3; do
    verify "$bug" fail 256 "-DNJOBS=1 -D$bug" "$quick" "$depth -w20" \
        "planted bug, fixed pool, 2x1 jobs" || status=1
done
for bug in BUG_EXIT_WITHOUT_GATE BUG_SLOW_NO_WAKE BUG_START_UNCOUNTED \
    BUG_LEAVE_OFF_STACK BUG_NEVER_STAY; do
    verify "$bug" fail 256 "$elastic -D$bug" "$quick" "$depth -w20" \
        "planted bug, elastic, 2x1 jobs" || status=1
done
verify BUG_STAY_COUNTS_RESERVED fail 256 \
    "$one_place -DBUG_STAY_COUNTS_RESERVED" "$quick" "$depth -w20" \
    "planted bug, max 1: finding 2 in part" || status=1
# The fronts' planted bugs need a shard of two jobs or more.
for bug in BUG_FRONT_ADVANCE_FIRST BUG_FRONT_INVISIBLE BUG_FRONT_LOOK_FIRST \
    BUG_FRONT_TAKE_NO_CAS BUG_FRONT_FILL_UNLOCKED; do
    verify "$bug" fail 256 "-DNPROD=1 -DNJOBS=3 -D$bug" "$quick" \
        "$depth -w20" "planted bug, fixed pool, 1x3 jobs, fronts" || status=1
done
# Not a bug (README.md, "Fronts"): with fronts, a thread's jobs are taken
# from its queue in order, but a later one may be taken to run while
# earlier ones wait in a front, as jobpool.h says.
verify take-order fail 256 "-DNPROD=1 -DNJOBS=3 -DTAKE_ORDER" "$quick" \
    "$depth -w20" "fronts: taken to run in submission order (they are not)" ||
    status=1

# The protocol as issue 12 worded it (README.md, "Findings"): each
# wording the model found wrong must still be found wrong.
verify ISSUE_SLOW fail 256 "$elastic -DISSUE_SLOW" "$quick" "$depth -w20" \
    "issue 12's slow path, finding 1" || status=1
verify ISSUE_RESERVE fail 256 "$one_place -DISSUE_RESERVE" "$quick" \
    "$depth -w20" "issue 12's reservations, finding 2" || status=1
verify ISSUE_RESERVE-no-failure fail 256 \
    "$one_place -DISSUE_RESERVE -DSTART_OK" "$quick" "$depth -w20" \
    "finding 2 with every pthread_create() working" || status=1
verify ISSUE_12 fail 256 "$one_place -DISSUE_SLOW -DISSUE_RESERVE" \
    "$quick" "$depth -w20" "issue 12 as worded" || status=1

# Lanes (lane.pml; README.md, "Lanes"): each configuration with both
# cancels and failing pushes, which only add behaviours; a queue_limit
# takes some away, so it has runs of its own.
model=lane.pml
lane_all="-DCANCEL -DFAILS"
no_cycle="-DNP -DCOLLAPSE -O1"
verify lane-w1 pass 1024 "-DNJOBS=3 $lane_all" "$collapse" "$depth -w23" \
    "lane width 1, 2 workers, 2x3 jobs, cancels, failing pushes" ||
    status=1
verify lane-w1-limit pass 1024 "-DNJOBS=3 -DLIMIT=1 $lane_all" "$collapse" \
    "$depth -w23" "lane width 1, 2x3 jobs, queue_limit 1 (BLOCK)" ||
    status=1
verify lane-w2 pass 1024 "-DWIDTH=2 $lane_all" "$collapse" "$depth -w23" \
    "lane width 2, 3 workers, 2x2 jobs, cancels, failing pushes" ||
    status=1
verify lane-w2-limit pass 1024 "-DWIDTH=2 -DLIMIT=1 $lane_all" "$collapse" \
    "$depth -w23" "lane width 2, 2x2 jobs, queue_limit 1 (BLOCK)" ||
    status=1
verify lane-ends pass 512 "-DLIMIT=1 $lane_all" "$no_cycle" \
    "-l $depth -w22" "lane width 1, 2x2 jobs: no cycle, every run ends" ||
    status=1
# Not a bug (README.md, "Lanes"): at width 2, two jobs taken in order may
# have their fn called in the other order.
verify lane-call-order fail 256 "-DWIDTH=2 -DCALL_ORDER" "$quick" \
    "$depth -w20" "lane width 2: calls in acceptance order (they are not)" ||
    status=1
for bug in BUG_PUSH_BEFORE_TOKEN BUG_TOKEN_AFTER_PUSH BUG_RETIRE_UNLOCKED \
    BUG_NO_SUCCESSOR BUG_SUCCESSOR_LOST BUG_SUCCESSOR_EARLY \
    BUG_RETIRE_NO_WAKE; do
    for w in 1 2; do
        verify "lane-$bug-w$w" fail 256 "-DCONTRACT -DWIDTH=$w -D$bug" \
            "$quick" "$depth -w20" "planted bug, lane width $w, 2x2 jobs" ||
            status=1
    done
done
for bug in BUG_CANCEL_RETIRES BUG_VISIT_UNCOUNTED; do
    for w in 1 2; do
        verify "lane-$bug-w$w" fail 256 \
            "-DCONTRACT -DCANCEL -DWIDTH=$w -D$bug" "$quick" \
            "$depth -w21" "planted bug, lane width $w, 2x2 jobs, cancels" ||
            status=1
    done
done

# The long runs, with JOBPOOL_MODEL_FULL=1 (README.md, "Results").
if [ "${JOBPOOL_MODEL_FULL:-0}" = 1 ]; then
    model=core.pml
    # Without fronts: with them this run takes 105 M states and 7.2 GB
    # (README.md, "Results").
    verify full-elastic pass 8192 "-DELASTIC -DNO_FRONTS" "$collapse" \
        "$depth -w27" "elastic, max 2: 2x2 jobs, no fronts" || status=1
    verify full-3-workers pass 2048 "-DNW=3 -DNPROD=1 -DNJOBS=3" \
        "$collapse" "$depth -w25" "fixed pool: 3 workers, 1x3 jobs" ||
        status=1
    verify full-tail-first pass 4096 "-DTAIL_FIRST" "$collapse" \
        "$depth -w25" "fixed pool, work_visible() loads tail first" ||
        status=1
    verify full-tail-first-one-place pass 2048 \
        "-DELASTIC -DMAXT=1 -DTAIL_FIRST" "$collapse" "$depth -w24" \
        "max 1, 2x2 jobs, tail first" || status=1
    verify full-liveness pass 2048 "-DNJOBS=1 -DLIVENESS" "$liveness" \
        "-a -f $depth -w24" "LTL, fixed pool, 2x1 jobs" || status=1
    verify full-liveness-fronts pass 2048 "-DNPROD=1 -DNJOBS=3 -DLIVENESS" \
        "$liveness" "-a -f $depth -w24" "LTL, fixed pool, 1x3 jobs, fronts" ||
        status=1
    verify full-liveness-elastic pass 4096 \
        "$elastic -DLIVENESS -DDECLINES=2" "$liveness" "-a -f $depth -w24" \
        "LTL, elastic, 2x1 jobs, 2 declined timeouts" || status=1
    verify full-liveness-one-place pass 2048 \
        "$one_place -DLIVENESS -DDECLINES=2" "$liveness" \
        "-a -f $depth -w23" "LTL, max 1, 2x1 jobs" || status=1
    # Not a bug (README.md, "Results"): each thread's final look takes
    # the gate, so it sees a job pushed after an unlocked stopping store.
    verify full-harmless-no-shutdown-gate pass 2048 \
        "-DBUG_NO_SHUTDOWN_GATE" "$collapse" "$depth -w24" \
        "shutdown stores stopping without the gate: harmless" || status=1
    verify full-ISSUE_RESERVE-2x2 fail 2048 \
        "-DELASTIC -DISSUE_RESERVE -DSTART_OK" "$collapse" "$depth -w25" \
        "finding 2b: a job accepted on a reservation" || status=1
    model=lane.pml
    verify lane-full-w2-3-jobs pass 4096 "-DWIDTH=2 -DNJOBS=3 $lane_all" \
        "$collapse" "$depth -w26" "lane width 2, 3 workers, 2x3 jobs" ||
        status=1
    verify lane-full-w3 pass 3072 "-DWIDTH=3 $lane_all" "$collapse" \
        "$depth -w25" "lane width 3, 4 workers, 2x2 jobs" || status=1
    verify lane-full-3-workers pass 2048 "-DNW=3 -DNJOBS=3 $lane_all" \
        "$collapse" "$depth -w24" "lane width 1, 3 workers, 2x3 jobs" ||
        status=1
    verify lane-full-w2-ends pass 1024 "-DWIDTH=2 $lane_all" "$no_cycle" \
        "-l $depth -w24" "lane width 2, 2x2 jobs: no cycle" || status=1
fi
exit $status
