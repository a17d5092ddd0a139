/* SPDX-License-Identifier: MIT */
/*
 * jobpool.pml: a Promela model of jobpool's submit / spin / park / wake /
 * wait_idle / shutdown protocol (lib/submit.c, lib/worker.c, lib/pool.c,
 * lib/queue.c).  README.md in this directory says what is modelled and
 * abstracted and how to run it; check-model.sh checks it and shows that
 * planted bugs fail.
 *
 * Functions are named beside each step; line numbers would not survive the
 * next edit of those files.
 *
 * Threads: NPROD producers submitting NJOBS jobs each, NW workers, one
 * thread in job_pool_wait_idle(), one thread in job_pool_shutdown() racing
 * the producers, and a monitor that fails on a lost wake-up.
 *
 * Granularity.  One Promela step holds at most one access to a variable
 * that another thread may touch at the same time: an atomic (tail_seq,
 * head_seq, nspinning, nparked, idle_waiters, completed) or a condition
 * variable's wait or signal.  Taking a mutex is folded into the step after
 * it and releasing one into the step before it, together with accesses to
 * data the mutex guards: no other thread can tell the difference (Lipton's
 * reduction: acquire moves right, release moves left).  Where a whole
 * critical section is one step (head_lock, park_lock, pool->lock in
 * notify_idle_waiters) the mutex is still written as a test-and-set, so
 * that the model reads like the code.
 *
 * Memory model.  Steps are atomic and interleave, so the model is
 * sequentially consistent.  It assumes that the C code's seq_cst
 * operations give SC where the protocol needs it: the producer's seq_cst
 * read-modify-write of tail_seq and load of nspinning (rule 2) against a
 * former spinner's decrement of nspinning and seq_cst load of tail_seq
 * (rule 3).  The read-modify-write is what makes that so: without it the
 * release store of tail_seq could wait in the store buffer past the load
 * of nspinning, which this model cannot represent (elastic.pml models that
 * store buffer; README.md, "Memory model").  The one relaxed load the
 * design expects to be stale, the worker's fast-path look at idle_waiters
 * (in job__worker_main(), after run_until_dry()), may return 0 at any time
 * in the model.
 */

#ifndef NJOBS
#define NJOBS 2 /* jobs per producer */
#endif
#ifndef NPROD
#define NPROD 2 /* producers: 1 or 2 */
#endif
#ifndef NW
#define NW 2 /* workers: 2 or 3 */
#endif
#define NTOTAL (NPROD * NJOBS)
/* Spurious wake-ups of pthread_cond_wait(): a budget shared by every
 * condition variable.  Bounded, so that a lost wake-up still ends in a
 * blocked (invalid) end state and not in a loop of spurious wake-ups. */
#ifndef SPURIOUS
#define SPURIOUS 1
#endif
#define NONE 255

#if NW == 2
#define NOT_ON_STACK(w) (stack[0] != w && stack[1] != w)
#define ALL_EXITED (exited[0] && exited[1])
#elif NW == 3
#define NOT_ON_STACK(w) (stack[0] != w && stack[1] != w && stack[2] != w)
#define ALL_EXITED (exited[0] && exited[1] && exited[2])
#else
#error "NW must be 2 or 3"
#endif

/*
 * Planted bugs, one at a time with spin -DBUG_... (check-model.sh):
 *   BUG_STOP_UNLOCKED   begin_drain() stores stopping after releasing
 *                       tail_lock (it still takes the parked stack under it)
 *   BUG_STOP_EARLY      begin_drain() stores stopping before taking
 *                       tail_lock: harmless, see README.md
 *   BUG_EXIT_UNLOCKED   park() reads "empty" and "stopping" before taking
 *                       tail_lock
 *   BUG_NO_RULE2        job_submit_detached() never wakes a parked worker
 *   BUG_NO_RULE3        a former spinner never wakes a helper
 *   BUG_PARK_IF         park() waits with "if (!wake)" instead of "while"
 *   BUG_IDLE_NO_RECHECK park() does not look at idle_waiters under tail_lock
 *                       (only the fast path in job__worker_main()
 *                       notifies)
 * Proposed fix, for the lost wake-up the model finds with NW=3:
 *   BUG_NO_CHAIN_WAKE   a worker woken from park() skips rule 3 (the lost
 *                       wake-up with 3 workers this model found in the C
 *                       code, since fixed)
 * Configuration: NO_WAITER leaves out the wait_idle thread, NO_MONITOR the
 * lost wake-up monitor (so that only assertions and end states remain).
 *
 * BATCH adds the workers' batches (rule 4 of worker.c), as batches of one
 * job: a worker that takes a job from the FIFO may claim the next one into
 * its batch; a worker takes from its own batch first, then may take from
 * another batch (steal_stale), then from the FIFO, then from the other
 * batches; a spinner may leave its spin when it sees a batch; park() and
 * rule 3 count batched jobs as work.  Without BATCH the model is the
 * protocol of a bounded pool or a shallow queue, where nothing is ever
 * claimed.  Planted bugs of the batches:
 *   BUG_PARK_IGNORES_BATCHES park() looks at the FIFO only
 *   BUG_RULE3_IGNORES_BATCHES rule 3 looks at the FIFO only
 *   BUG_CLAIM_LATE      head_seq moves past the claimed job before the
 *                       batch is published (the stores in the other order)
 */

/* ---- mutexes: 0 = free, else the owner's _pid + 1 ---- */
byte tail_lock;     /* queue.tail_lock */
byte head_lock;     /* queue.head_lock */
byte pool_lock;     /* pool->lock */
byte park_lock[NW]; /* worker->park_lock */

/* The test-and-set; only as the first statement of an atomic block. */
#define ACQUIRE(m) m == 0 -> m = _pid + 1
#define RELEASE(m) assert(m == _pid + 1); m = 0

/*
 * Condition variables.  Each has one possible waiter; "waiting" is true
 * while it is blocked.  pthread_cond_wait() releases the mutex and starts
 * waiting in one step (COND_WAIT_BEGIN); it returns holding the mutex
 * again after a signal or a spurious wake-up (COND_WOKEN guards the step
 * that retakes the mutex, COND_RETURN is that step).  Signal and broadcast
 * clear "waiting"; with no waiter they do nothing, so they are lost.
 */
byte spurious = SPURIOUS;
#define COND_WAIT_BEGIN(waiting, m) RELEASE(m); waiting = true
#define COND_WOKEN(waiting) (!waiting || spurious > 0)
#define COND_RETURN(waiting, m)                                          \
    if                                                                   \
    :: !waiting                                                          \
    :: spurious > 0 -> spurious--; waiting = false                       \
    fi;                                                                  \
    m = _pid + 1

bool park_waiting[NW]; /* the worker is blocked on its park_cond */
bool idle_waiting;     /* the wait_idle thread is blocked on idle_cond */

/* ---- the queue (queue.c) as two counters; a job is known by its
 * sequence number ---- */
byte tail_seq; /* queue.tail_seq: jobs pushed, stored under tail_lock */
byte head_seq; /* queue.head_seq: jobs popped, stored under head_lock */

/* ---- the pool (jobpool-private.h) ---- */
byte stack[NW];     /* pool->parked: stack[nparked - 1] is the top */
byte nparked;       /* pool->nparked (stored under tail_lock), which is
                       also the depth of the stack: both change together */
bool stopping;      /* pool->stopping */
byte nspinning;     /* pool->nspinning */
byte idle_waiters;  /* pool->idle_waiters, stored under tail_lock */
byte completed[NW]; /* worker->completed */
bool wake[NW];      /* worker->wake, park_lock */
bool exited[NW];    /* the worker thread returned: pthread_join may return */
#ifdef BATCH
byte batch[NW];     /* worker->batch: the job claimed into it, or NONE; a
                       step that takes it is the compare-and-swap */
#if NW == 2
#define BATCHED (batch[0] != NONE || batch[1] != NONE)
#else
#define BATCHED (batch[0] != NONE || batch[1] != NONE || batch[2] != NONE)
#endif
#else
#define BATCHED false
#endif

/* ---- ghost state for the properties ---- */
byte nrefused;      /* submits that returned ESHUTDOWN; the accepted ones
                       are counted by tail_seq */
byte ran[NTOTAL];   /* how many times the job with this number ran */
byte nrunning;      /* workers inside a job (from its call to the store of
                       completed): such a job may block for ever */
byte ndone;         /* the sum of completed[], updated with it */
bool waiter_returned;
byte nfinished;     /* threads that returned */
#ifdef NO_WAITER
#define NTHREADS (NPROD + NW + 1)
#else
#define NTHREADS (NPROD + NW + 2)
#endif

/*
 * A lost wake-up: a job is queued, a worker is parked, and every worker
 * that is not parked is inside a job, which may block for ever: nothing
 * but a later submit or shutdown would take the queued job ("the rules
 * never leave a queued job behind a running one while a parked worker
 * could take it", the wake rules at the top of worker.c).  Looked at only
 * while tail_lock is free,
 * because a producer pushes and picks a sleeper in one critical section.
 * A worker popped from the stack counts as awake: whoever popped it wakes
 * it.
 */
bool lost_wakeup_found; /* set by the monitor, for the error message */
#define lost_wakeup                                                      \
    (tail_lock == 0 && (tail_seq != head_seq || BATCHED) &&              \
     nparked > 0 && nparked + nrunning == NW)

/* job__unpark_one(), worker.c, inside a step that holds tail_lock. */
#define UNPARK_ONE(w)                                                    \
    if                                                                   \
    :: nparked > 0 ->                                                    \
        nparked--;                                                       \
        w = stack[nparked];                                              \
        stack[nparked] = NONE                                            \
    :: else -> w = NONE                                                  \
    fi

/* job__worker_wake(), worker.c: lock park_lock, set wake, signal
 * park_cond, unlock.  One step: wake is guarded by park_lock, and the
 * signal is the step's one shared access. */
inline worker_wake(w)
{
    atomic {
        ACQUIRE(park_lock[w]);
        wake[w] = true;
        park_waiting[w] = false;
        RELEASE(park_lock[w]);
        w = NONE
    }
}

/* job__notify_idle_waiters(), worker.c: broadcast idle_cond under
 * pool->lock. */
#define NOTIFY_IDLE_WAITERS                                              \
    atomic {                                                             \
        ACQUIRE(pool_lock);                                              \
        idle_waiting = false;                                            \
        RELEASE(pool_lock)                                               \
    }

/* ---------------------------------------------------------------------- */

/* job_submit_detached(), submit.c, NJOBS times: submit_fast() and
 * queue_locked() (a pool that is neither elastic nor bounded), then
 * follow_up(). */
proctype producer()
{
    byte k;
    byte sleeper = NONE;

    do
    :: k < NJOBS ->
        atomic {
            ACQUIRE(tail_lock);
            k++;
            if
            :: stopping ->                  /* queue_locked(): ESHUTDOWN */
                nrefused++;
                RELEASE(tail_lock);
                goto submitted              /* submit_slow(): refuse() */
            :: else ->
                /* job__queue_push(), queue.c: fill the slot, then the
                 * release store of tail_seq */
                tail_seq++
            fi;
            /* Rule 2 in queue_locked(): pool->parked is guarded by
             * tail_lock; with no parked worker the critical section ends
             * here (submit_fast()'s unlock). */
#ifdef BUG_NO_RULE2
            RELEASE(tail_lock);
            goto submitted
#else
            if
            :: nparked > 0
            :: else -> RELEASE(tail_lock); goto submitted
            fi
#endif
        };
        /* queue_locked(): the seq_cst read-modify-write of tail_seq (adds
         * 0: nothing to see in an SC model), then the seq_cst load of
         * nspinning */
        atomic {
            if
            :: nspinning == 0
            :: else -> RELEASE(tail_lock); goto submitted
            fi
        };
        atomic {
            UNPARK_ONE(sleeper);
            RELEASE(tail_lock)
        };
submitted:
        if
        :: sleeper != NONE -> worker_wake(sleeper)     /* follow_up() */
        :: else
        fi
    :: else -> break
    od;
    nfinished++
}

/* job__worker_main(), worker.c, with take_job(), wake_helper_if_needed(),
 * spin_for_work(), park(), sleep_parked() (a pool that is not elastic) and
 * run_until_dry() inlined. */
proctype worker(byte me)
{
    bool was_spinning, spin_taking, taken, dry, stop, waiters;
    byte job, seen;
    byte helper = NONE;
#ifdef BATCH
    bool claimed, work;
    byte v;
#ifdef BUG_CLAIM_LATE
    byte late;
#endif
#endif

next_job:
#ifdef BATCH
    /* take_job(): the worker's own batch first (job__batch_take, the CAS) */
    atomic {
        if
        :: batch[me] != NONE ->
            job = batch[me];
            batch[me] = NONE;
            taken = true;
            if
            :: !was_spinning ->
                assert(job < tail_seq && ran[job] == 0);
                ran[job]++;
                nrunning++
            :: else
            fi
        :: else -> taken = false
        fi
    };
    /* steal_stale(): may take from another worker's batch before the FIFO
     * (the code does when the batch has not moved; any choice here) */
    v = 0;
    do
    :: !taken && v < NW ->
        atomic {
            if
            :: v != me && batch[v] != NONE ->
                job = batch[v];
                batch[v] = NONE;
                taken = true;
                if
                :: !was_spinning ->
                    assert(job < tail_seq && ran[job] == 0);
                    ran[job]++;
                    nrunning++
                :: else
                fi
            :: true
            fi;
            v++
        }
    :: else -> v = 0; break
    od;
    if
    :: taken -> goto got_job
    :: else
    fi;
#endif
    /* take_job(), with job__queue_pop(), queue.c, under head_lock.  The
     * pop loads tail_seq (or uses tail_seen, an older value of the same
     * increasing counter) and stores head_seq: one step, which is sound
     * because a pop that saw a job still sees it later.  A worker that was
     * not spinning (in run_until_dry()) calls the job at once. */
    atomic {
        ACQUIRE(head_lock);
        if
        :: head_seq != tail_seq ->
            job = head_seq;
            head_seq++;                 /* the release store of head_seq */
            taken = true;
#ifdef BATCH
            /* job__queue_claim(): may claim the next job (the code claims
             * when the queue is deep; any choice is explored here).  The
             * batch is published before head_seq moves on, and both are in
             * this step: no thread can tell the difference, since a thread
             * that saw the job in both places would find work either way,
             * and FIFO takers are kept out by head_lock. */
            assert(batch[me] == NONE);
            if
            :: head_seq != tail_seq ->
#ifdef BUG_CLAIM_LATE
                late = head_seq;
                head_seq++;
#else
                batch[me] = head_seq;
                head_seq++;
#endif
                claimed = true
            :: true
            fi
#endif
        :: else -> taken = false                        /* empty */
        fi;
#ifndef BUG_CLAIM_LATE
        RELEASE(head_lock);
#endif
        if
#ifdef BATCH
        :: taken && !was_spinning && !claimed ->
#else
        :: taken && !was_spinning ->
#endif
            assert(job < tail_seq && ran[job] == 0);
            ran[job]++;
            nrunning++
        :: else
        fi
    };

#ifdef BATCH
    /* take_job(): the other workers' batches when the FIFO is empty
     * (steal_job), one CAS each */
    v = 0;
    do
    :: !taken && v < NW ->
        atomic {
            if
            :: v != me && batch[v] != NONE ->
                job = batch[v];
                batch[v] = NONE;
                taken = true;
                if
                :: !was_spinning ->
                    assert(job < tail_seq && ran[job] == 0);
                    ran[job]++;
                    nrunning++
                :: else
                fi
            :: else
            fi;
            v++
        }
    :: else -> v = 0; break
    od;
#ifdef BUG_CLAIM_LATE
    /* the batch published after head_seq moved on, with head_lock held */
    atomic {
        if
        :: claimed -> batch[me] = late; late = 0
        :: else
        fi;
        RELEASE(head_lock)
    };
#endif
    /* the claim wakes nobody (rule 4); the job starts now */
    if
    :: claimed ->
        d_step {
            claimed = false;
            if
            :: !was_spinning ->
                assert(job < tail_seq && ran[job] == 0);
                ran[job]++;
                nrunning++
            :: else
            fi
        }
    :: else
    fi;
got_job:
#endif
    if
    :: taken ->
        if
        :: spin_taking ->
            d_step { nspinning--; spin_taking = false } /* seq_cst */
        :: else
        fi;
        if
        :: was_spinning ->                              /* :248 */
#ifndef BUG_NO_RULE3
            /* Rule 3, wake_helper_if_needed(): loads of
             * tail_seq (seq_cst), head_seq, then (BATCH: each batch, and
             * nspinning before nparked) nparked, nspinning (seq_cst), each
             * only if the one before leaves a wake possible */
            atomic { seen = tail_seq };         /* job__work_queued() */
#ifdef BATCH
            if
            :: seen != head_seq -> work = true
            :: else -> work = false
            fi;
            v = 0;
            do
#ifndef BUG_RULE3_IGNORES_BATCHES
            :: !work && v < NW ->
                atomic {
                    if
                    :: batch[v] != NONE -> work = true
                    :: else
                    fi;
                    v++
                }
#endif
            :: else -> v = 0; break
            od;
            if
            :: !work -> skip
            :: else ->
                work = false;
                if
                :: nspinning != 0 -> skip
                :: else ->
                    if
                    :: nparked == 0 -> skip
                    :: else ->
#else
            if
            :: seen == head_seq -> skip                 /* no work */
            :: else ->
                if
                :: nparked == 0 -> skip                 /* relaxed */
                :: else ->
                    if
                    :: nspinning != 0 -> skip           /* seq_cst */
                    :: else ->
#endif
                        atomic {
                            ACQUIRE(tail_lock);
                            UNPARK_ONE(helper);
                            RELEASE(tail_lock)
                        };
                        if
                        :: helper != NONE -> worker_wake(helper)
                        :: else
                        fi
                    fi
                fi
            fi;
#endif
            /* run_until_dry(): job->fn(job->ctx) */
            d_step {
                was_spinning = false;
                seen = 0;
                helper = NONE;
                assert(job < tail_seq && ran[job] == 0);
                ran[job]++;
                nrunning++
            }
        :: else
        fi;
        /* run_until_dry(): the release store of completed */
        d_step { completed[me]++; ndone++; nrunning--; job = 0; taken = false };
        goto next_job
    :: else
    fi;
    /* a spinner that found nothing: still counted, back to the spin */
    if
    :: spin_taking ->
        d_step { spin_taking = false; was_spinning = false };
        seen = head_seq;
        goto spin
    :: else
    fi;

    /* job__worker_main(), once run_until_dry() has returned: a relaxed
     * load of idle_waiters, then job__notify_idle_waiters().
     * The load may be stale, so it may miss a waiter at any time (a stale
     * non-zero value would only broadcast to nobody).  When it does see
     * one, the load is folded into the step that takes pool->lock: once
     * idle_waiters is not 0 it only drops back as the waiter returns, and
     * a broadcast after that does nothing. */
    if
    :: skip
    :: atomic {
        idle_waiters != 0 && pool_lock == 0 ->
        pool_lock = _pid + 1;
        idle_waiting = false;
        RELEASE(pool_lock)
       }
    fi;

    /* seen_tail, the load of head_seq, and the seq_cst increment of
     * nspinning.  The code increments first and loads seen_tail at the top
     * of the next turn of its loop; the older head_seq loaded here can
     * only make the spin below see a job sooner, and a take that then
     * finds the queue empty goes back to the spin, still counted. */
    seen = head_seq;
    nspinning++;                                        /* seq_cst */

    /* spin_for_work() polls tail_seq; the spin may run out at any moment
     * (a timeout, a descheduled thread, or stopping seen). */
spin:
    if
    :: tail_seq != seen ->
        goto spin_take
#ifdef BATCH
    /* at a look at the clock: a batch holds a job */
    :: batch[0] != NONE -> goto spin_take
    :: batch[1] != NONE -> goto spin_take
#if NW == 3
    :: batch[2] != NONE -> goto spin_take
#endif
#endif
    :: true ->                          /* the spin ran out, or stopping */
        /* park() */
#ifdef BUG_EXIT_UNLOCKED
        dry = (tail_seq == head_seq);
        stop = stopping;
        atomic {
            ACQUIRE(tail_lock);
#else
        atomic {
            ACQUIRE(tail_lock);
            /* job__work_queued() and stopping: tail_seq and stopping only
             * change under tail_lock,
             * so the load of head_seq is this step's one racy access */
            dry = (tail_seq == head_seq);
            stop = stopping;
#endif
#ifdef BUG_IDLE_NO_RECHECK
            waiters = false;
#else
            waiters = (idle_waiters != 0);
#endif
            seen = 0;
#ifndef BATCH
            /* Onto the stack, nparked++.  Folded into this step:
             * with tail_lock held and the queue seen empty no job can be
             * pushed, so none popped, and nothing can change what the load
             * of head_seq saw in between. */
            if
            :: dry && !stop ->
                assert(nparked < NW && NOT_ON_STACK(me));
                stack[nparked] = me;
                nparked++
            :: else
            fi
#endif
        }
    fi;
#ifdef BATCH
    /* job__work_queued() in park(): the batches, one load each, tail_lock
     * held; then onto the stack */
    v = 0;
    do
#ifndef BUG_PARK_IGNORES_BATCHES
    :: dry && v < NW ->
        atomic {
            if
            :: batch[v] != NONE -> dry = false
            :: else
            fi;
            v++
        }
#endif
    :: else -> v = 0; break
    od;
    atomic {
        if
        :: dry && !stop ->
            assert(nparked < NW && NOT_ON_STACK(me));
            stack[nparked] = me;
            nparked++
        :: else
        fi
    };
#endif
    if
    :: !dry ->
        /* park() since 0.2: PARK_FOUND_WORK leaves the worker counted in
         * nspinning; job__worker_main() goes back to the spin, which sees
         * the job at once. */
        atomic {
            RELEASE(tail_lock);
            stop = false;
            waiters = false;
            goto spin_take
        }
    :: dry && stop ->                                   /* PARK_EXIT */
        atomic {
            nspinning--;                                /* seq_cst */
            RELEASE(tail_lock);
        };
        if
        :: waiters -> NOTIFY_IDLE_WAITERS
        :: else
        fi;
        atomic {                        /* job__worker_main() returns */
#ifdef BATCH
            assert(batch[me] == NONE);
#endif
            exited[me] = true;
            nfinished++;
            goto worker_exit
        }
    :: else
    fi;
    atomic {
        nspinning--;                                    /* seq_cst */
        RELEASE(tail_lock);
        dry = false;
        stop = false
    };
    if
    :: waiters -> NOTIFY_IDLE_WAITERS
    :: else
    fi;

    /* sleep_parked(): lock park_lock; while (!wake) pthread_cond_wait();
     * wake = false; unlock */
    atomic {
        ACQUIRE(park_lock[me]);
        waiters = false;
        if
        :: wake[me] -> goto woken
        :: else -> COND_WAIT_BEGIN(park_waiting[me], park_lock[me])
        fi
    };
park_wait:
    atomic {
        COND_WOKEN(park_waiting[me]) && park_lock[me] == 0 ->
        COND_RETURN(park_waiting[me], park_lock[me]);
#ifdef BUG_PARK_IF
        goto woken
#else
        if
        :: wake[me] -> goto woken
        :: else ->
            COND_WAIT_BEGIN(park_waiting[me], park_lock[me]);
            goto park_wait
        fi
#endif
    };
woken:
    atomic {
        wake[me] = false;
        RELEASE(park_lock[me]);
#ifdef BUG_NO_CHAIN_WAKE
        was_spinning = false;
#else
        was_spinning = true;                            /* PARK_WOKEN */
#endif
        goto next_job
    };

    /* Since 0.2 a spinner stays counted in nspinning until it holds a job
     * (job__worker_main(): take_job(), then the seq_cst decrement, then
     * rule 3); if another worker took the job, it goes on spinning.  The
     * take is that of next_job (with BATCH: its own batch, the FIFO with a
     * claim, the other batches); spin_taking says where it goes after. */
spin_take:
    atomic {
        spin_taking = true;
        was_spinning = true;
        seen = 0;
        goto next_job
    };

worker_exit:
    skip
}

/* job_pool_wait_idle(), pool.c, with add_idle_waiter(), pool_is_idle() and
 * job__completed() (worker.c). */
proctype waiter()
{
    byte c, t;
    bool idle_then;

    /* Lock pool->lock, then register under tail_lock (add_idle_waiter()).
     * One step: until idle_waiters is 1 no thread wants
     * pool->lock (a worker notifies only after seeing a waiter), so
     * holding it alone is invisible. */
    atomic {
        pool_lock == 0 && tail_lock == 0 ->
        pool_lock = _pid + 1;
        tail_lock = _pid + 1;
        idle_waiters++;
        RELEASE(tail_lock)
    };
    c = completed[0];                           /* job__completed() */
check:
    c = c + completed[1];
#if NW == 3
    c = c + completed[2];
#endif
    atomic {
        t = tail_seq;                           /* pool_is_idle() */
        if
        :: c == t ->
            /* ghost: was the pool idle at this instant? */
            idle_then = (ndone == t);
            c = 0;
            t = 0
        :: else ->
            c = 0;
            t = 0;
            /* pthread_cond_wait(idle_cond): pool->lock is held from the
             * load of tail_seq on, so the wait begins in this step */
            COND_WAIT_BEGIN(idle_waiting, pool_lock);
            COND_WOKEN(idle_waiting) && pool_lock == 0 ->
            COND_RETURN(idle_waiting, pool_lock);
            c = completed[0];
            goto check
        fi
    };
    atomic {
        ACQUIRE(tail_lock);             /* add_idle_waiter(pool, -1) */
        idle_waiters--;
        RELEASE(tail_lock);
        RELEASE(pool_lock);
        /* wait_idle returns only after an instant at which every accepted
         * job had completed */
        assert(idle_then);
        waiter_returned = true;
        nfinished++
    }
}

/* job_pool_shutdown(), pool.c: shutdown_until(), with begin_drain(), then
 * the wait until every worker has exited and job__workers_reap_locked().
 * There is one caller: the state changes under pool->lock and the wait on
 * stopped_cond block nobody and are left out. */
proctype shutdown()
{
    byte n;
    byte w = NONE;
    byte drained[NW];

#ifndef NO_WAITER
    /* Either shutdown races the producers from the start, or it comes
     * after wait_idle has returned.  In the second case nothing but the
     * wake rules can run a job left queued behind parked workers, so a
     * lost wake-up leaves wait_idle, and then everyone, blocked: an
     * invalid end state. */
    if
    :: true
    :: true -> waiter_returned          /* commits, then blocks */
    fi;
#endif

    /* begin_drain(): set stopping and take the stack, under
     * tail_lock.  In the model stopping is read only under tail_lock (the
     * spin's look at it is covered by "the spin may run out"), so it is
     * stored in the same step as the racy store of nparked. */
#ifdef BUG_STOP_EARLY
    stopping = true;
#endif
    atomic {
        ACQUIRE(tail_lock);
#if !defined(BUG_STOP_UNLOCKED) && !defined(BUG_STOP_EARLY)
        stopping = true;
#endif
        n = nparked;
        drained[0] = stack[0];
        drained[1] = stack[1];
        stack[0] = NONE;
        stack[1] = NONE;
#if NW == 3
        drained[2] = stack[2];
        stack[2] = NONE;
#endif
        nparked = 0;
        RELEASE(tail_lock)
    };
#ifdef BUG_STOP_UNLOCKED
    stopping = true;
#endif
    /* begin_drain(): wake each, from the top of the stack down */
    do
    :: n > 0 ->
        d_step { n--; w = drained[n]; drained[n] = 0 };
        worker_wake(w)
    :: else -> break
    od;

    /* Every worker has exited: reap; then STOPPED.  Every job accepted so far
     * ran exactly once. */
    atomic {
        ALL_EXITED ->
        n = 0;
        do
        :: n < NTOTAL ->
            assert(ran[n] == (n < tail_seq -> 1 : 0));
            n++
        :: else -> break
        od;
        assert(head_seq == tail_seq && ndone == tail_seq && !BATCHED);
        nfinished++
    }
}

/* Fails in any reachable state that shows a lost wake-up, and checks the
 * final state once every thread has returned: every accepted job ran
 * (exactly once: see the assertions where jobs run), and every submit was
 * either accepted or refused. */
active proctype monitor()
{
end:
    if
#ifndef NO_MONITOR
    :: atomic {
        lost_wakeup ->
        lost_wakeup_found = true;
        assert(!lost_wakeup_found)
       }
#endif
    :: atomic {
        nfinished == NTHREADS ->
        assert(head_seq == tail_seq && ndone == tail_seq && !BATCHED);
        assert(tail_seq + nrefused == NTOTAL)
       }
    fi
}

init
{
    atomic {
        stack[0] = NONE;
        stack[1] = NONE;
#if NW == 3
        stack[2] = NONE;
#endif
#ifdef BATCH
        batch[0] = NONE;
        batch[1] = NONE;
#if NW == 3
        batch[2] = NONE;
#endif
#endif
        run producer();
#if NPROD == 2
        run producer();
#endif
        run worker(0);
        run worker(1);
#if NW == 3
        run worker(2);
#endif
#ifndef NO_WAITER
        run waiter();
#endif
        run shutdown()
    }
}

#ifdef LIVENESS
/* Every queued job is eventually taken, and every thread returns. */
ltl live {
    [] ((tail_seq != head_seq) -> <> (tail_seq == head_seq)) &&
    <> (nfinished == NTHREADS)
}
#endif
