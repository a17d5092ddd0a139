/* SPDX-License-Identifier: MIT */
/*
 * core.pml: a Promela model of jobpool 0.3's core (issue 12): per-producer
 * shards, the parked stack and its recheck, rule 3, elastic growth with
 * parallel starts, idle exits with the final look, and shutdown; and each
 * shard's front (lib/shards.c): jobs a worker moves out of the queue's
 * head in one turn of head_lock, which anyone then takes by a CAS.
 * README.md in this directory maps each step to the C code, says what is
 * left out, and lists the results; check-model.sh runs it.
 *
 * Threads: NPROD producers, producer s submitting NJOBS jobs to shard s
 * (there are two shards either way); NW worker places (fixed pool: 2
 * threads started with the pool; -DELASTIC: min_threads 0, max_threads
 * MAXT, and MAXT + 1 places, so that a thread can start while another
 * runs its stop hook); job_pool_shutdown(), racing the producers or after
 * them; a monitor.
 *
 * Granularity.  A step makes at most one access to a variable that another
 * thread may access at the same time without holding the lock that
 * guards it (tail[s], head[s], nparked, nlive, nspinning, stopping).
 * Taking a lock is folded into the step after it and releasing one into
 * the step before it, with the accesses the lock guards (Lipton: acquires
 * move right, releases left).  The lock order is pool_lock, idle_lock,
 * tail_lock[0], tail_lock[1], so taking several in one step hides no
 * deadlock.  Steps interleave: the model is sequentially consistent, as
 * the protocol's accesses are (seq_cst atomics and locks).  Three merges
 * more, argued here once:
 *  - A pop (under head_lock[s]) loads tail[s] and stores head[s] in one
 *    step: tail[s] only grows, so "head < tail" stays true.
 *  - One shard's look in work_visible(), a load of head[s] then of
 *    tail[s], is one step.  It says "empty" only if no job was pushed
 *    between the loads (head(t0) == tail(t1) >= tail(t0) >= head(t0)), so
 *    the shard was empty at the second load; and "work" only if the shard
 *    held a job at some moment between them.  A load changes nothing that
 *    another thread sees, so it may be placed at that moment.  This needs
 *    head[s] loaded first: -DTAIL_FIRST models the other order with two
 *    steps.  The depth (sum of tail - head) keeps its two loads apart.
 *  - With the gate held (leave_if_idle, exit_or_stay), tail[s] is fixed
 *    and "empty" stays true: a decision that follows an "empty" look may
 *    share its step.
 *
 * Fronts (FRONTS: on whenever a shard has two jobs or more, since a fill
 * needs a job left behind the one popped; with NJOBS 1 every front stays
 * empty and its steps are left out; -DNO_FRONTS leaves them out anyway).
 * A front is a pair fnext[s] <= fend[s] of job numbers, C's word.  Its
 * take is one step, the CAS: the loads of the word and of the slot before
 * it only choose what the CAS expects, and a taker whose CAS fails has
 * changed nothing.  One front per shard where C has JOB__FRONTS (2): a
 * second front of a shard is filled only while the first holds jobs,
 * after two pops and two fills, so four jobs of one shard, more than any
 * configuration has (NJOBS <= 3); and each front is looked at and taken
 * from by its own loads and CASes, as the model's two fronts (one per
 * shard) are.  Capacity FCAP (2), not 64.
 *  - Fill.  At a pop under head_lock[s] (hlock[s], modelled across a fill
 *    only), when a job is left behind the popped one and the front is
 *    empty, the filler may fill it.  C fills only under a backlog (a depth
 *    of JOB__FRONT_MIN_DEPTH at a later load): a heuristic, which only
 *    takes fills away.  A push, or a front take, that C sees between the
 *    pop and those tests commutes with the pop (other variables, and the
 *    pop's "head < tail" holds either way), so it may come before the pop.
 *    Then publish: choose n, 1 <= n <= FCAP, jobs all there, and store the
 *    front.  C reads tail_seen or tail_seq before it copies the slots;
 *    reading at the store can only offer more n, and nobody reads the
 *    copies before the store.  Then advance head[s] past the front and
 *    unlock: a step of its own (BUG_FRONT_ADVANCE_FIRST swaps the two).
 *  - Takes.  The filler takes from its own front first (job__shards_take:
 *    w->filled).  Every scan: before each shard's queue, a take from its
 *    front that may or may not happen (take_stale_front: staleness is a
 *    heuristic, so a nondeterministic choice); after every queue was seen
 *    empty, shard 0's front, then shard 1's (take_any_front).  A worker
 *    that finds head_lock[s] held waits for it (take_from).
 *  - Looks (work_visible, the depth) load head, tail, then the front, as
 *    shard_depth() does.  A look that finds the queue empty sees in the
 *    front the jobs of any fill under way, since a fill publishes before
 *    it advances.
 * Three merges, so that empty fronts cost few steps:
 *  - A dead front (LIVE below false: empty, no fill under way, fewer than
 *    two of its shard's jobs left to pop) stays empty for good, so a load
 *    of it gives the same at any later moment and commutes with every
 *    step: each step that only loads it is merged into the next step, or
 *    into the one before when it would end a scan.
 *  - In work_visible(), a front whose queue step finds the queue empty,
 *    the front empty and head_lock[s] free is not loaded in a step of its
 *    own: that step answers "empty" for the shard.  If C's later load of
 *    the front finds jobs, a fill was published in between, of jobs pushed
 *    after the queue's load; the look changes nothing, so the shard's
 *    loads may move to just after that publish (still before C's load of
 *    the front), where the queue still holds those jobs (the fill has not
 *    advanced): the model's look there answers "work", as C's does, and
 *    later loads no longer matter.  (Not for the depth, whose number
 *    would change, nor for a scan, whose takes cannot move.)
 *  - With the gate held, a shard's queue found empty stays empty, and no
 *    fill can start from it, nor be under way (its jobs would still be in
 *    the queue), so its front, loaded later, is what it was: under the
 *    gate a shard's whole look is one step.
 * Cancel (job_pool_cancel_queued) is not in this model (README.md), so
 * neither is its taking of front jobs.
 */

#ifndef NPROD
#define NPROD 2
#endif
#ifndef NJOBS
#define NJOBS 2
#endif
#define NTOTAL (NPROD * NJOBS)
#ifdef ELASTIC
#ifndef MAXT
#define MAXT 2 /* max_threads: 1 or 2; min_threads is 0 */
#endif
#define NW (MAXT + 1)
#else
#ifndef NW
#define NW 2 /* threads of the fixed pool: 2 or 3 */
#endif
#define MAXT NW
#endif
#define NONE 255
#if NJOBS >= 2 && !defined(NO_FRONTS)
#define FRONTS
#endif
#ifndef FCAP
#define FCAP 2 /* a front's capacity (C: JOB__FRONT_SLOTS, 64) */
#endif

/*
 * Planted bugs, each with -D (check-model.sh runs each and fails if it is
 * not found, except the one marked harmless):
 *   BUG_PUBLISH_AFTER_CHECK  submit loads nparked before it publishes
 *   BUG_NO_RULE3             a worker whose decrement of nspinning returned
 *                            1 does not look for work left
 *   BUG_PARK_NO_RECHECK      a parker does not look again once on the stack
 *   BUG_EXIT_WITHOUT_GATE    leave_if_idle and exit_or_stay without the gate
 *   BUG_NO_SHUTDOWN_GATE     shutdown sets stopping without the gate:
 *                            harmless, no property fails (README.md)
 *   BUG_SLOW_NO_WAKE         the NO_WORKER slow path skips step 4
 *   BUG_START_UNCOUNTED      a new thread does not wait for pool_lock
 *   BUG_LEAVE_OFF_STACK      leave_if_idle does not test "still on the stack"
 *   BUG_NEVER_STAY           exit_or_stay never stays
 *   BUG_WOKEN_NO_RULE3       a woken worker takes a job without counting
 *                            itself spinning, so it never applies rule 3
 *   BUG_STAY_COUNTS_RESERVED exit_or_stay counts reserved starts as room
 *                            taken (fix 2 undone in part)
 *   BUG_FRONT_ADVANCE_FIRST  a fill advances head[s] before it publishes
 *                            the front
 *   BUG_FRONT_INVISIBLE      looks (work_visible, depth) ignore fronts
 *   BUG_FRONT_LOOK_FIRST     looks load the front before head and tail
 *                            (not in the looks under the gate)
 *   BUG_FRONT_TAKE_NO_CAS    the filler's take of its own front loads
 *                            next, then stores next + 1
 *   BUG_FRONT_FILL_UNLOCKED  a fill does not hold head_lock[s] from the pop
 *                            to the advance
 * The protocol as issue 12 words it, where the model found it wrong
 * (README.md, "Findings"): ISSUE_SLOW (finding 1), ISSUE_RESERVE
 * (finding 2); both are planted bugs too.
 * Configuration: START_OK (pthread_create never fails), NO_TIMEOUT (idle
 * sleeps never time out), TAIL_FIRST (see above), LIVENESS (an LTL
 * property, for pan -a -f), NO_FRONTS, FCAP (a front's capacity, 2),
 * TAKE_ORDER (each shard's jobs taken to run in order: fails with fronts,
 * as jobpool.h says, README.md).
 */

/* ---- locks: 0 = free, else the holder's _pid + 1 ---- */
byte tail_lock[2]; /* shard.tail_lock: its producer; both: the gate */
byte idle_lock;
byte pool_lock;
#define ME (_pid + 1)
#define GATE_FREE (tail_lock[0] == 0 && tail_lock[1] == 0)
/* leave_if_idle() and exit_or_stay(): pool_lock, idle_lock, the gate */
#ifndef BUG_EXIT_WITHOUT_GATE
#define X_FREE (pool_lock == 0 && idle_lock == 0 && GATE_FREE)
#define X_TAKE                                                           \
    pool_lock = ME; idle_lock = ME; tail_lock[0] = ME; tail_lock[1] = ME
#define X_DROP tail_lock[0] = 0; tail_lock[1] = 0; idle_lock = 0; pool_lock = 0
#else
#define X_FREE (pool_lock == 0 && idle_lock == 0)
#define X_TAKE pool_lock = ME; idle_lock = ME
#define X_DROP idle_lock = 0; pool_lock = 0
#endif

/* ---- shards: a FIFO as two counters; job s * NJOBS + n ---- */
byte tail[2]; /* jobs pushed: seq_cst RMW under tail_lock[s] */
byte head[2]; /* jobs taken, under head_lock[s] */
#ifdef FRONTS
/* Shard s's front holds its jobs fnext[s] .. fend[s] - 1: the word, stored
 * by a fill under head_lock[s], moved on by a take's CAS. */
byte fnext[2];
byte fend[2];
byte hlock[2]; /* head_lock[s]: its filler's _pid + 1, pop to advance */
#define FRONT(s) (fnext[s] != fend[s])
/*
 * Front s may hold a job, now or later: it holds one, a fill of it is
 * under way, or two of its shard's NJOBS jobs (pushed or not) are still
 * to be popped (a fill needs a pop with a job left behind it).  Once
 * false, it stays false and the front stays empty (see the top): a step
 * that only loads it is merged into the step after it (an option guarded
 * by !LIVE), or, when it would end a scan, into the step before it (a
 * jump guarded by !LIVE).
 */
#define LIVE(s) (FRONT(s) || hlock[s] != 0 || head[s] + 2 <= NJOBS)
#define IF_DEAD(s, no) if :: !LIVE(s) -> no :: else fi
#else
#define FRONT(s) false
#endif
/* Jobs accepted and not taken, in a queue or a front. */
#define QUEUED                                                           \
    (head[0] != tail[0] || head[1] != tail[1] || FRONT(0) || FRONT(1))

/* ---- idle state, under idle_lock unless said otherwise ---- */
byte stack[NW];     /* the parked stack; stack[nparked - 1] is the top */
bool onstack[NW];
byte nparked;       /* atomic mirror of the stack's length */
byte nlive;         /* threads made (issue 12: or reserved), not decided
                       to exit */
byte nstarting;     /* reserved or started, not yet taking jobs */
byte nexiting;      /* decided to exit, final look not yet made */
byte nreserved;     /* starts reserved, not yet made (fix 2) */
byte nspinning;     /* atomic RMW by the worker itself */
bool stopping;      /* set once, under the gate */
bool wake[NW];      /* the worker's wake flag, under its park lock */
byte threads_alive; /* pool_lock */
bool alive[NW];     /* pool_lock: the place runs a thread */
bool go[NW];        /* pthread_create() started a thread in the place */
bool joining;       /* pool_lock: shutdown joins; starts are refused */

/* ---- ghost state ---- */
byte ran[NTOTAL];   /* times each job was taken */
byte nrunning;      /* workers inside a job, which may block for ever */
bool asleep[NW];    /* on the stack, past the recheck */
bool leaving[NW];   /* decided to exit, not out of exit_or_stay */
byte npending;      /* producers between their publish and the end of
                       their wake/grow check */
bool popping;       /* shutdown between stopping and its pop of the stack */
bool create_failed; /* some pthread_create() failed */
byte nshut, nagain; /* submits refused with ESHUTDOWN, EAGAIN */
byte nfinished;     /* producers and shutdown that returned */

#if NW == 2
#define NSLEEP ((onstack[0] && asleep[0]) + (onstack[1] && asleep[1]))
#define NLEAVING (leaving[0] + leaving[1])
#define NONSTACK (onstack[0] + onstack[1])
#elif NW == 3
#define NSLEEP ((onstack[0] && asleep[0]) + (onstack[1] && asleep[1]) + \
                (onstack[2] && asleep[2]))
#define NLEAVING (leaving[0] + leaving[1] + leaving[2])
#define NONSTACK (onstack[0] + onstack[1] + onstack[2])
#else
#error "NW must be 2 or 3"
#endif
/* The first free place for pthread_create(), or NONE. */
#define PLACE(p)                                                         \
    p = 0;                                                               \
    do :: p < NW && alive[p] -> p++ :: p == NW -> p = NONE; break        \
       :: else -> break od

/*
 * work_visible(): WORK_LOOK jumps to yes if it sees work, else runs no
 * (which ends in a goto).  QLOOK and QLAST are a shard's queue's part,
 * each first step guarded by g; FSTEP and FLAST its front's.
 */
#ifndef TAIL_FIRST
#define QLOOK(g, s, yes)                                                 \
    atomic { g -> if :: head[s] != tail[s] -> goto yes :: else fi }
#define QLAST(g, s, yes, no)                                             \
    atomic { g -> if :: head[s] != tail[s] -> goto yes :: else -> no fi }
#else
#define QLOOK(g, s, yes) atomic { g -> h = tail[s] };                    \
    atomic { if :: h != head[s] -> h = 0; goto yes :: else -> h = 0 fi }
#define QLAST(g, s, yes, no) atomic { g -> h = tail[s] };                \
    atomic { if :: h != head[s] -> h = 0; goto yes :: else -> h = 0; no fi }
#endif
#if defined(FRONTS) && !defined(BUG_FRONT_INVISIBLE)
#define SEEN(s) FRONT(s)
#define FSTEP(g, s, yes) atomic { g -> if :: FRONT(s) -> goto yes :: else fi }
#define FLAST(s, yes, no)                                            \
    atomic { if :: FRONT(s) -> goto yes :: else -> no fi }
#ifndef BUG_FRONT_LOOK_FIRST
/*
 * Front s is looked at in a step of its own only if, at its queue's step,
 * the queue was seen empty while the front held a job or a fill of it was
 * under way (MUST); otherwise that load is merged into the queue's step,
 * which then answers "empty" for the shard (see the top).
 */
#define MUST(s) (FRONT(s) || hlock[s] != 0)
#ifndef TAIL_FIRST
#define SHARD_LOOK(s, yes, FRONT_STEP, NEXT)                             \
    if                                                                   \
    :: atomic { head[s] != tail[s] -> goto yes }                         \
    :: atomic { head[s] == tail[s] && MUST(s) }; FRONT_STEP; NEXT        \
    :: atomic { head[s] == tail[s] && !MUST(s) }; NEXT                   \
    fi
#define SHARD_LAST(s, yes, no)                                           \
    if                                                                   \
    :: atomic { head[s] != tail[s] -> goto yes }                         \
    :: atomic { head[s] == tail[s] && MUST(s) }; FLAST(s, yes, no)       \
    :: atomic { head[s] == tail[s] && !MUST(s) -> no }                   \
    fi
#else
#define SHARD_LOOK(s, yes, FRONT_STEP, NEXT)                             \
    atomic { h = tail[s] };                                              \
    if                                                                   \
    :: atomic { h != head[s] -> h = 0; goto yes }                        \
    :: atomic { h == head[s] && MUST(s) -> h = 0 }; FRONT_STEP; NEXT     \
    :: atomic { h == head[s] && !MUST(s) -> h = 0 }; NEXT                \
    fi
#define SHARD_LAST(s, yes, no)                                           \
    atomic { h = tail[s] };                                              \
    if                                                                   \
    :: atomic { h != head[s] -> h = 0; goto yes }                        \
    :: atomic { h == head[s] && MUST(s) -> h = 0 }; FLAST(s, yes, no)    \
    :: atomic { h == head[s] && !MUST(s) -> h = 0; no }                  \
    fi
#endif
#define WORK_LOOK(yes, no)                                               \
    SHARD_LOOK(0, yes, FSTEP(true, 0, yes), SHARD_LAST(1, yes, no))
#else
#define WORK_LOOK(yes, no)                                               \
    if                                                                   \
    :: FSTEP(LIVE(0), 0, yes); QLOOK(true, 0, yes)                       \
    :: QLOOK(!LIVE(0), 0, yes)                                           \
    fi;                                                                  \
    if                                                                   \
    :: FSTEP(LIVE(1), 1, yes); QLAST(true, 1, yes, no)                   \
    :: QLAST(!LIVE(1), 1, yes, no)                                       \
    fi
#endif
/* The depth's loads, each a step, adding to d; then DECIDE(g, FIN). */
#define DEPTH(DECIDE, FIN)                                               \
    atomic { h = head[0] }; atomic { d = tail[0] - h; h = 0 };           \
    if                                                                   \
    :: atomic { LIVE(0) -> d = d + fend[0] - fnext[0] };                 \
       atomic { h = head[1] }                                            \
    :: atomic { !LIVE(0) -> h = head[1] }                                \
    fi;                                                                  \
    atomic { d = d + tail[1] - h; h = 0 };                               \
    if                                                                   \
    :: atomic { LIVE(1) -> d = d + fend[1] - fnext[1] }; DECIDE(true, FIN) \
    :: DECIDE(!LIVE(1), FIN)                                             \
    fi
#else
#define SEEN(s) false
#define WORK_LOOK(yes, no) QLOOK(true, 0, yes); QLAST(true, 1, yes, no)
#define DEPTH(DECIDE, FIN)                                               \
    atomic { h = head[0] }; atomic { d = tail[0] - h; h = 0 };           \
    atomic { h = head[1] }; atomic { d = d + tail[1] - h; h = 0 };       \
    DECIDE(true, FIN)
#endif
/* A shard's whole look with the gate held (see the top): one step's test. */
#define GATED_WORK(s) (head[s] != tail[s] || SEEN(s))

/*
 * -DTAKE_ORDER: job k of shard s is taken (by a pop or a front's CAS)
 * only once every job before it in s has been (jobpool.h: a thread's jobs
 * are taken in the order it submitted them).  It fails with fronts
 * (README.md, "Fronts").
 */
#ifdef TAKE_ORDER
#if NJOBS > 3
#error "TAKE_ORDER needs NJOBS <= 3"
#endif
#define IN_ORDER(s, k)                                                   \
    assert((k) < 1 || ran[(s) * NJOBS] != 0);                            \
    assert((k) < 2 || ran[(s) * NJOBS + 1] != 0)
#else
#define IN_ORDER(s, k) skip
#endif
/* A pop from shard s under head_lock[s]: the job at its head, taken once,
 * and only if pushed. */
#define POP(s)                                                           \
    job = (s) * NJOBS + head[s];                                         \
    assert(head[s] < tail[s] && ran[job] == 0); IN_ORDER(s, head[s]);    \
    ran[job]++; head[s]++; job = 0
#ifndef FRONTS
/* A pop from shard s, going to got; pre and post are ghost updates made
 * with it. */
#define TAKE(s, pre, post, got, none)                                    \
    atomic {                                                             \
        pre;                                                             \
        if                                                               \
        :: head[s] != tail[s] -> POP(s); post; goto got                  \
        :: else -> none                                                  \
        fi                                                               \
    }
/* A scan from a rotating cursor: either shard first. */
#define SCAN(g, pre, post, got, none)                                    \
    if                                                                   \
    :: TAKE(0, pre, post, got, skip); TAKE(1, skip, post, got, goto none) \
    :: TAKE(1, pre, post, got, skip); TAKE(0, skip, post, got, goto none) \
    fi
#define NOT_MINE skip
#else
/* The CAS of job__front_take(s): the front's next job, taken once, and
 * only if pushed. */
#define FPOP(s)                                                          \
    job = (s) * NJOBS + fnext[s];                                        \
    assert(fnext[s] < tail[s] && ran[job] == 0); IN_ORDER(s, fnext[s]);  \
    ran[job]++; fnext[s]++; job = 0
/* head_lock[s] is free for a pop.  hlock[s] is set by a fill all the
 * same (LIVE reads it). */
#ifndef BUG_FRONT_FILL_UNLOCKED
#define HEAD_FREE(s) (hlock[s] == 0)
#else
#define HEAD_FREE(s) true
#endif
/* A fill's count: from 1 to FCAP jobs, all there (0 when none is left,
 * which only BUG_FRONT_FILL_UNLOCKED can meet). */
#define CHOOSE(s)                                                        \
    nf = 0;                                                              \
    do                                                                   \
    :: nf < FCAP && head[s] + nf < tail[s] -> nf++                       \
    :: nf > 0 || head[s] == tail[s] -> break                             \
    od
/* fill_front(): publish the front; then advance head[s] past it, unlock
 * head_lock[s] and go to got. */
#ifndef BUG_FRONT_ADVANCE_FIRST
#define FILL(s, got)                                                     \
    atomic { CHOOSE(s); fnext[s] = head[s]; fend[s] = head[s] + nf; nf = 0 }; \
    atomic { head[s] = fend[s]; hlock[s] = 0; goto got }
#else
#define FILL(s, got)                                                     \
    atomic { CHOOSE(s); head[s] = head[s] + nf };                        \
    atomic {                                                             \
        fnext[s] = head[s] - nf; fend[s] = head[s]; nf = 0; hlock[s] = 0; \
        goto got                                                         \
    }
#endif
/*
 * Shard s in a scan, each first step guarded by g, going to got with a
 * job: a take from its front (take_stale_front, if the choice says
 * stale), or take_from(): if the queue is seen empty, run empty; else
 * wait for head_lock[s], pop, and maybe fill the front (mine = s).  pre
 * and post are ghost updates made with the take.
 */
#define SHARD(g, s, pre, post, got, empty)                               \
    if                                                                   \
    :: atomic { g && FRONT(s) -> pre; FPOP(s); post; goto got }          \
    :: atomic {                                                          \
        g && HEAD_FREE(s) && head[s] != tail[s] -> pre; POP(s); post;    \
        if                                                               \
        :: head[s] != tail[s] && !FRONT(s) -> hlock[s] = ME; mine = s    \
        :: true -> goto got                                              \
        fi                                                               \
       };                                                                \
       FILL(s, got)                                                      \
    :: atomic { g && head[s] == tail[s] -> pre; empty }                  \
    fi
/* take_any_front(): shard 0's front, then shard 1's (dead ones merged,
 * see LIVE); none if both are empty. */
#define ALL_DEAD(none) if :: !LIVE(0) && !LIVE(1) -> goto none :: else fi
#define ANY(post, got, none)                                             \
    if                                                                   \
    :: atomic {                                                          \
        LIVE(0) ->                                                       \
        if                                                               \
        :: FRONT(0) -> FPOP(0); post; goto got                           \
        :: else -> IF_DEAD(1, goto none)                                 \
        fi                                                               \
       };                                                                \
       atomic {                                                          \
        if :: FRONT(1) -> FPOP(1); post; goto got :: else -> goto none fi \
       }                                                                 \
    :: atomic {                                                          \
        !LIVE(0) ->                                                      \
        if :: FRONT(1) -> FPOP(1); post; goto got :: else -> goto none fi \
       }                                                                 \
    fi
/* A scan (job__shards_take() past the filler's own front), its first
 * step guarded by g: from a rotating cursor, either shard first; then
 * take_any_front(). */
#define SCAN(g, pre, post, got, none)                                    \
    if                                                                   \
    :: SHARD(g, 0, pre, post, got, skip);                                \
       SHARD(true, 1, skip, post, got, ALL_DEAD(none)); ANY(post, got, none) \
    :: SHARD(g, 1, pre, post, got, skip);                                \
       SHARD(true, 0, skip, post, got, ALL_DEAD(none)); ANY(post, got, none) \
    fi
/*
 * The filler's take of its own front, first (job__shards_take():
 * w->filled), out of its job: the CAS, or, the front empty, mine = NONE.
 * Once its front is dead (see LIVE), that failed take is merged into the
 * step next to it: the take before it, or the scan's first step.
 * BUG_FRONT_TAKE_NO_CAS makes this take (only) a load of next, then a
 * store of next + 1 (h holds next + 1, 0 for none): the filler's race
 * with a thief is enough to run a job twice.
 */
#define NOT_LIVE_MINE (mine == NONE || !LIVE(mine))
#ifndef BUG_FRONT_TAKE_NO_CAS
#define MINE_TAKE                                                        \
    atomic {                                                             \
        mine != NONE && LIVE(mine) -> nrunning--;                        \
        if                                                               \
        :: FRONT(mine) -> FPOP(mine); IF_DEAD(mine, mine = NONE);        \
            nrunning++; goto in_job                                      \
        :: else -> mine = NONE                                           \
        fi                                                               \
    }
#else
#define MINE_TAKE                                                        \
    atomic {                                                             \
        mine != NONE && LIVE(mine) -> nrunning--;                        \
        if :: FRONT(mine) -> h = fnext[mine] + 1 :: else -> mine = NONE fi \
    };                                                                   \
    atomic {                                                             \
        if                                                               \
        :: h != 0 ->                                                     \
            job = mine * NJOBS + h - 1; fnext[mine] = h; h = 0;          \
            assert(ran[job] == 0); ran[job]++; job = 0;                  \
            nrunning++; goto in_job                                      \
        :: else                                                          \
        fi                                                               \
    }
#endif
/* A worker that is not inside a job has no front of its own. */
#define NOT_MINE assert(mine == NONE)
#endif

/* Take worker me off the stack, wherever it is (idle_lock held). */
#define UNSTACK(me)                                                      \
    i = 0;                                                               \
    do :: stack[i] == me -> break :: else -> i++ od;                     \
    do :: i + 1 < NW -> stack[i] = stack[i + 1]; i++                     \
       :: else -> stack[i] = NONE; break od;                             \
    i = 0; onstack[me] = false; nparked--

/* pthread_create() fails at will (not with START_OK), and when every
 * place holds a thread, as at a thread limit: threads that run their stop
 * hook no longer count in nlive, so more than max_threads may exist. */
#ifndef START_OK
#define CREATE_FAILS(undo) :: !joining -> create_failed = true; undo
#else
#define CREATE_FAILS(undo)                                               \
    :: !joining && p == NONE -> create_failed = true; undo
#endif
/*
 * Reserved starts.  Issue 12 (-DISSUE_RESERVE) counts a reservation in
 * nlive and nstarting; the start, under pool_lock, calls pthread_create()
 * in a free place, which may fail, and is refused once shutdown joins;
 * then the reservation is undone under idle_lock and the gate.
 * A thread that stays in exit_or_stay needs nlive < max.
 *
 * Fix 2 (the default; README.md, "Findings"): nlive counts threads made;
 * a reservation counts in nreserved and nstarting, and room is
 * nlive + nreserved < max.  A start, under pool_lock and idle_lock, makes
 * the thread (nreserved--, nlive++) or gives the reservation up
 * (nreserved--, nstarting--: no nlive--, no gate), unless a thread that
 * stayed has taken it over (nreserved == 0).  A thread stays in
 * exit_or_stay when nlive < max, taking over a reservation if there is
 * one.  The start is one step: its first look at nreserved under
 * idle_lock, before pthread_create(), can only be followed by increments
 * (a takeover needs pool_lock), so it may move to the count after it.
 * The slow path counts its thread once made (fix 1).
 */
#ifdef ISSUE_RESERVE
#define ROOM (nlive < MAXT)
#define RESERVE nlive++; nstarting++
#define STAY_ROOM (nlive < MAXT)
#define STAY nlive++; nstarting++
#define START(FIN)                                                       \
    atomic {                                                             \
        pool_lock == 0 ->                                                \
        PLACE(p);                                                        \
        if                                                               \
        :: !joining && p != NONE ->                                      \
            threads_alive++; alive[p] = true; go[p] = true; p = 0; FIN   \
        CREATE_FAILS(pool_lock = ME)                                     \
        :: joining -> pool_lock = ME                                     \
        fi;                                                              \
        p = 0                                                            \
    };                                                                   \
    atomic {                                                             \
        idle_lock == 0 && GATE_FREE ->                                   \
        nlive--; nstarting--; pool_lock = 0; FIN                         \
    }
#else
#define ROOM (nlive + nreserved < MAXT)
#define RESERVE nreserved++; nstarting++
#ifndef BUG_STAY_COUNTS_RESERVED
#define STAY_ROOM (nlive < MAXT)
#else
#define STAY_ROOM (nlive + nreserved < MAXT)
#endif
#define STAY                                                             \
    nlive++; if :: nreserved > 0 -> nreserved-- :: else -> nstarting++ fi
#ifndef BUG_START_UNCOUNTED
#define MADE nlive++
#define COUNT(FIN)
#else
/* The new thread may run before its creator counts it: two steps. */
#define MADE pool_lock = ME; idle_lock = 0; goto count
#define COUNT(FIN)                                                       \
    count: atomic { idle_lock == 0 -> nlive++; pool_lock = 0; FIN }
#endif
#define START(FIN)                                                       \
    atomic {                                                             \
        pool_lock == 0 && idle_lock == 0 ->                              \
        if                                                               \
        :: nreserved == 0 -> FIN                   /* taken over */      \
        :: else -> nreserved--; PLACE(p);                                \
            if                                                           \
            :: !joining && p != NONE ->                                  \
                threads_alive++; alive[p] = true; go[p] = true; p = 0;   \
                MADE                                                     \
            CREATE_FAILS(nstarting--)                                    \
            :: joining -> nstarting--                                    \
            fi;                                                          \
            p = 0; FIN                                                   \
        fi                                                               \
    };                                                                   \
    COUNT(FIN)
#endif
/* The slow path: issue 12 reserves first (-DISSUE_SLOW); fix 1 counts the
 * thread once made, and like a thread that stays it takes over a pending
 * reservation, if any, so that nlive + nreserved stays within max (with
 * two producers, unreachable: a reservation pending while nlive is 0 is
 * the other producer's, and max is 2 or the reservation was taken over). */
#ifdef ISSUE_SLOW
#define SLOW_RESERVE nlive++; nstarting++
#define SLOW_COUNT skip
#define SLOW_UNDO nlive--; nstarting--
#else
#define SLOW_RESERVE skip
#define SLOW_COUNT STAY
#define SLOW_UNDO skip
#endif

/*
 * wake_or_grow(): lock idle_lock; with nobody spinning, pop a parked
 * worker and, after unlocking, set its wake flag and signal it; or, in an
 * elastic pool with nobody parked, room below max_threads and fewer starts
 * than queued jobs (the depth, loaded shard by shard, fronts included),
 * reserve a thread, unlock and start it.
 */
#ifdef ELASTIC
#define DECIDE(g, FIN)                                                   \
    atomic {                                                             \
        g ->                                                             \
        if                                                               \
        :: nstarting < d -> RESERVE; idle_lock = 0; d = 0                \
        :: else -> idle_lock = 0; d = 0; FIN                             \
        fi                                                               \
    }
#define GROW(FIN) DEPTH(DECIDE, FIN); START(FIN)
#define NO_GROWTH !ROOM
#else
#define GROW(FIN)
#define NO_GROWTH true
#endif
#define WAKE_OR_GROW(FIN, pop)                                           \
    if                                                                   \
    :: atomic { idle_lock == 0 && nspinning != 0 -> FIN }                \
    :: atomic {                                                          \
        idle_lock == 0 && nspinning == 0 ->                              \
        if                                                               \
        :: nparked > 0 -> idle_lock = ME; goto pop                       \
        :: nparked == 0 && NO_GROWTH -> FIN                              \
        :: else -> idle_lock = ME                                        \
        fi                                                               \
       };                                                                \
       GROW(FIN);                                                        \
pop:   atomic {                                                          \
           nparked--; w = stack[nparked]; stack[nparked] = NONE;         \
           onstack[w] = false; idle_lock = 0                             \
       };                                                                \
       atomic { wake[w] = true; w = 0; FIN }                             \
    fi

/*
 * A timeout that leave_if_idle() declines changes nothing, but a loop of
 * them can keep the locks busy so that shutdown, whose step needs them, is
 * never continuously enabled and weak fairness does not force it: lock
 * starvation, not a protocol bug.  The liveness runs give such declines a
 * budget (-DDECLINES=n); the safety runs let them come for ever.
 */
#ifdef DECLINES
byte declines = DECLINES;
#define MAY_DECLINE declines > 0
#define DECLINE declines--
#else
#define MAY_DECLINE true
#define DECLINE skip
#endif
/* d: woken: nspinning++ and back to a, where a take whose decrement
 * returns 1 applies rule 3 (BUG_WOKEN_NO_RULE3: a woken worker takes
 * without counting itself, so it never does). */
#ifndef BUG_WOKEN_NO_RULE3
#define WOKEN nspinning++; goto take
#else
#define WOKEN goto woken_take
#endif
#ifndef BUG_LEAVE_OFF_STACK
#define OFF_STACK !onstack[me]
#else
#define OFF_STACK false
#endif

/* ---------------------------------------------------------------------- */

/* job_submit(fn), NJOBS times, on shard s. */
proctype producer(byte s)
{
    byte k, h, d, p, w;
    bool r;

next:
    if
    :: atomic { k == NJOBS -> nfinished++; goto done }
    :: atomic {
#ifdef BUG_PUBLISH_AFTER_CHECK
        k < NJOBS -> r = (nparked != 0) };
       atomic {
#endif
        /* 1: lock tail_lock[s]; stopping: ESHUTDOWN.  2 (elastic):
         * nlive == 0 && nexiting == 0 goes to the slow path.  Its two
         * loads share the step: with tail_lock[s] held and stopping
         * false, nexiting cannot change and nlive can only grow, so the
         * outcome is that of both loads at the first.  3: push. */
            k < NJOBS && tail_lock[s] == 0 ->
            k++;
            if
            :: stopping -> nshut++; goto next
#ifdef ELASTIC
            :: !stopping && nlive == 0 && nexiting == 0 -> goto slow
            :: else -> tail_lock[s] = ME
#elif !defined(BUG_NO_SHUTDOWN_GATE)
            :: else -> tail[s]++; npending++; goto check
#else
            /* stopping is not written under the lock: its load and the
             * push are two steps */
            :: else -> tail_lock[s] = ME
#endif
            fi
        };
#if defined(ELASTIC) || defined(BUG_NO_SHUTDOWN_GATE)
        atomic { tail[s]++; npending++; tail_lock[s] = 0; goto check }
#endif
    fi;
#ifdef ELASTIC
slow:
    /* NO_WORKER: lock pool_lock, idle_lock, tail_lock[s]; recheck; reserve
     * and start a thread (a failure is EAGAIN, the job not queued); push
     * under the tail_lock held; unlock all. */
    atomic {
        pool_lock == 0 && idle_lock == 0 && tail_lock[s] == 0 ->
        if
        :: stopping -> nshut++; goto next
        :: else -> pool_lock = ME; idle_lock = ME; tail_lock[s] = ME;
            if
            :: nlive == 0 && nexiting == 0 -> SLOW_RESERVE
            :: else -> goto push
            fi
        fi
    };
    atomic {
        PLACE(p);
        assert(p != NONE);
        if
        :: threads_alive++; alive[p] = true; go[p] = true; p = 0;
           SLOW_COUNT
#ifndef START_OK
        :: create_failed = true; SLOW_UNDO; p = 0; nagain++;
           tail_lock[s] = 0; idle_lock = 0; pool_lock = 0; goto next
#endif
        fi
    };
push:
    atomic {
        tail[s]++; npending++; tail_lock[s] = 0; idle_lock = 0; pool_lock = 0;
#ifdef BUG_SLOW_NO_WAKE
        npending--; goto next
#endif
    };
#endif
check:
    /* 4: nparked == 0 and no room to grow: return; nspinning != 0:
     * return; else wake_or_grow() */
    atomic {
#ifndef BUG_PUBLISH_AFTER_CHECK
        r = (nparked != 0);
#endif
        if
        :: r -> r = false; goto spinners
        :: else
        fi;
#ifndef ELASTIC
        npending--; goto next
#endif
    };
#ifdef ELASTIC
    atomic { if :: nlive < MAXT -> skip :: else -> npending--; goto next fi };
#endif
spinners:
    atomic {
        if :: nspinning == 0 -> skip :: else -> npending--; goto next fi
    };
    WAKE_OR_GROW(npending--; goto next, wake_one);
done:
    skip
}

/*
 * A worker place.  In a fixed pool each runs its thread from the start;
 * in an elastic pool, the threads pthread_create() puts there.
 */
proctype worker(byte me)
{
    byte job, h, d, p, i, w;
#ifdef FRONTS
    byte nf;          /* jobs of the fill under way */
    byte mine = NONE; /* w->filled: the shard whose front it filled */
#endif

end_place:
    atomic { go[me] -> go[me] = false };
start:
    /* start hook; lock and unlock pool_lock (its creator holds it until
     * the thread is counted); under idle_lock: nspinning++, nstarting-- */
#ifndef BUG_START_UNCOUNTED
    atomic { pool_lock == 0 -> skip };
#endif
    atomic { idle_lock == 0 -> nspinning++; nstarting-- };
take:
    /* a: take from the first shard with work; the front of a shard whose
     * queue it pops may be filled on the way */
    SCAN(true, NOT_MINE, skip, taken, poll);
#ifdef BUG_WOKEN_NO_RULE3
woken_take:
    SCAN(true, skip, nrunning++, in_job, woken_dry);
woken_dry:
    atomic { nspinning++; goto poll };
#endif
taken:
    /* old = nspinning--; old == 1: rule 3, if work_visible():
     * wake_or_grow(); then the job */
    atomic {
        nspinning--;
#ifndef BUG_NO_RULE3
        if :: nspinning == 0 -> goto rule3 :: else fi;
#endif
        nrunning++; goto in_job
    };
rule3:
    WORK_LOOK(helper, nrunning++; goto in_job);
helper:
    WAKE_OR_GROW(nrunning++; goto in_job, wake_helper);
in_job:
    /* inside a job (nrunning); then take and run until a scan finds
     * nothing, a filler from its front first; then nspinning++ and back
     * to a */
#ifdef FRONTS
    if
    :: MINE_TAKE; SCAN(true, skip, nrunning++, in_job, dry)
    :: SCAN(NOT_LIVE_MINE, nrunning--; mine = NONE, nrunning++, in_job, dry)
    fi;
#else
    SCAN(true, nrunning--, nrunning++, in_job, dry);
#endif
dry:
    atomic { nspinning++; goto take };
poll:
    /* b: spin, polling work_visible() a bounded number of times: one poll
     * stands for all, since a poll that sees nothing changes nothing */
    WORK_LOOK(take, goto park);
park:
    /* c: lock idle_lock; stopping?  If not, push itself and nparked++ in
     * the same step: a producer's load of nparked, the one access that
     * could come between, commutes with the load of stopping */
    atomic {
        idle_lock == 0 -> idle_lock = ME;
        if
        :: stopping -> goto stop_look
        :: else -> stack[nparked] = me; onstack[me] = true; nparked++
        fi
    };
    atomic {
        nspinning--; idle_lock = 0;
#ifdef BUG_PARK_NO_RECHECK
        asleep[me] = true; goto sleep
#endif
    };
    /* recheck: work visible?  Then off the stack if still on it */
    WORK_LOOK(found, asleep[me] = true; goto sleep);
found:
    atomic {
        idle_lock == 0 ->
        if
        :: onstack[me] -> idle_lock = ME; UNSTACK(me)
        :: else -> goto woken          /* popped: a wake is on its way */
        fi
    };
    atomic { nspinning++; idle_lock = 0; goto take };
stop_look:
    /* stopping, idle_lock held: work left: back to a; else exit */
    WORK_LOOK(stop_work, goto stop_exit);
stop_work:
    atomic { idle_lock = 0; goto take };
stop_exit:
    atomic { nspinning-- };
    atomic {
        nlive--; nexiting++; leaving[me] = true; idle_lock = 0; goto exit
    };
sleep:
    /* until the wake flag is set; an elastic pool's sleep may time out:
     * leave_if_idle(), under pool_lock, idle_lock and the gate: leave if
     * still on the stack, nlive > min, !stopping and !work_visible() */
    if
    :: atomic {
        wake[me] -> wake[me] = false; asleep[me] = false; WOKEN
       }
#if defined(ELASTIC) && !defined(NO_TIMEOUT)
    :: atomic {
        !wake[me] && X_FREE && MAY_DECLINE -> X_TAKE;
        if :: GATED_WORK(0) -> X_DROP; DECLINE; goto sleep :: else fi
       };
       atomic {
        if
        :: GATED_WORK(1) || stopping || nlive == 0 || OFF_STACK ->
            X_DROP; DECLINE; goto sleep
        :: else -> assert(onstack[me]); UNSTACK(me); asleep[me] = false
        fi
       };
       atomic { nlive--; nexiting++; leaving[me] = true; X_DROP; goto exit }
#endif
    fi;
woken:
    atomic { wake[me] -> wake[me] = false; WOKEN };
exit:
    /*
     * stop hook; exit_or_stay(): pool_lock, idle_lock, the gate;
     * nexiting--; stay = work_visible() && nparked == 0 &&
     * nspinning == 0 && nlive < max: as a new thread (nlive++,
     * nstarting++); else exited, threads_alive--.
     */
    atomic {
        X_FREE -> X_TAKE; nexiting--;
        if :: GATED_WORK(0) -> goto look_again :: else fi
    };
    atomic {
        if
        :: GATED_WORK(1) -> goto look_again
        :: else ->
            leaving[me] = false; alive[me] = false; threads_alive--;
            X_DROP; goto end_place
        fi
    };
look_again:
    atomic {
        if
#ifndef BUG_NEVER_STAY
        :: nparked == 0 && nspinning == 0 && STAY_ROOM -> skip
#endif
        :: else ->
            leaving[me] = false; alive[me] = false; threads_alive--;
            X_DROP; goto end_place
        fi
    };
    atomic {
        STAY; leaving[me] = false; X_DROP; goto start
    }
}

/* job_pool_shutdown(): under the gate, stopping; under idle_lock, pop
 * every parked worker; wake each; wait until every thread has exited;
 * join.  It must find every accepted job run exactly once. */
proctype shutdown()
{
    byte n, i;

    if
    :: true
    :: nfinished == NPROD            /* after the producers */
    fi;
#ifndef BUG_NO_SHUTDOWN_GATE
    atomic { GATE_FREE -> stopping = true; popping = true };
#else
    atomic { stopping = true; popping = true };
#endif
    atomic {
        idle_lock == 0 ->
        do
        :: i < NW ->
            if :: onstack[i] -> n = n | (1 << i) :: else fi;
            onstack[i] = false; stack[i] = NONE; i++
        :: else -> i = 0; break
        od;
        nparked = 0; popping = false
    };
    do
    :: atomic {
        n != 0 ->
        do :: n & (1 << i) -> break :: else -> i++ od;
        wake[i] = true; n = n & ~(1 << i); i = 0
       }
    :: else -> break
    od;
    atomic {
        pool_lock == 0 && threads_alive == 0 ->
        joining = true;
        assert(!QUEUED);
        do
        :: i < NTOTAL ->
            assert(ran[i] == (i % NJOBS < tail[i / NJOBS])); i++
        :: else -> i = 0; break
        od;
        nfinished++
    }
}

/*
 * Lost wake-up: a job is queued, a worker sleeps on the stack past its
 * recheck, no producer is on its way to wake or grow, shutdown is not
 * about to pop the stack, and every
 * other thread alive is inside a job (which may block for ever) or leaving
 * (a leaving thread does not stay while a worker is parked).  A worker
 * popped from the stack counts as awake: its waker wakes it.
 */
#define lost_wakeup                                                      \
    (QUEUED && NSLEEP > 0 && npending == 0 && !popping &&                \
     NSLEEP + nrunning + NLEAVING == threads_alive)
/*
 * Elastic.  Lost start: until shutdown joins, a job is queued, nobody is
 * parked, every thread alive is inside a job, no start is reserved, no
 * thread is leaving (it will look again), no producer is on its way,
 * there is room below max_threads, and no start ever failed.  Stranded: a
 * job is queued and no thread is alive, reserved, or on its way to being
 * started: a shutdown now would return without running it.
 */
#define lost_start                                                       \
    (QUEUED && !joining && nparked == 0 && npending == 0 &&              \
     nrunning == threads_alive && nstarting == 0 && nexiting == 0 &&     \
     nlive < MAXT && !create_failed)
#define stranded                                                         \
    (QUEUED && threads_alive == 0 && nstarting == 0 && npending == 0)
#ifdef FRONTS
/* A front holds jobs pushed, in order. */
#define FRONT_OK(s) (fnext[s] <= fend[s] && fend[s] <= tail[s])
#else
#define FRONT_OK(s) true
#endif
#define counters_ok                                                      \
    (nlive + nreserved <= MAXT && nparked == NONSTACK &&                  \
     nstarting <= MAXT && nexiting <= NW && nspinning <= NW &&           \
     FRONT_OK(0) && FRONT_OK(1))
bool wakeup_lost, start_lost, job_stranded;

active proctype monitor()
{
end:
    if
    :: atomic { !counters_ok -> assert(counters_ok) }
    :: atomic { lost_wakeup -> wakeup_lost = true; assert(!wakeup_lost) }
#ifdef ELASTIC
    :: atomic { lost_start -> start_lost = true; assert(!start_lost) }
    :: atomic { stranded -> job_stranded = true; assert(!job_stranded) }
#endif
    :: atomic {
        nfinished == NPROD + 1 ->
        assert(tail[0] + tail[1] + nshut + nagain == NTOTAL);
        assert(nlive == 0 && nstarting == 0 && nreserved == 0 &&
               nexiting == 0 && nparked == 0 && nspinning == 0 &&
               nrunning == 0)
       }
    fi
}

init
{
    byte i;

    atomic {
        do
        :: i < NW ->
            stack[i] = NONE;
#ifndef ELASTIC
            alive[i] = true; go[i] = true;     /* job_pool_create() */
#endif
            run worker(i); i++
        :: else -> break
        od;
#ifndef ELASTIC
        nlive = NW; nstarting = NW; threads_alive = NW;
#endif
        run producer(0);
#if NPROD == 2
        run producer(1);
#endif
        run shutdown()
    }
}

#ifdef LIVENESS
ltl live { [] (QUEUED -> <> !QUEUED) && <> (nfinished == NPROD + 1) }
#endif
