/* SPDX-License-Identifier: MIT */
/*
 * room.pml: a Promela model of how a submitter waits for room in a bounded
 * queue (jobpool 0.2): lib/submit.c ("Room in a bounded queue" at the top,
 * submit_fast(), queue_locked(), queue_full(), wait_for_room()),
 * lib/worker.c (take_job(), job__notify_space_waiters()) and lib/pool.c
 * (begin_drain(), job_pool_cancel_queued()).  README.md in this directory
 * says what is modelled and abstracted; check-model.sh checks it and shows
 * that planted bugs fail.  jobpool.pml models the park / wake protocol that
 * this model abstracts away.
 *
 * Functions are named beside each step ("wait_for_room"); line numbers
 * would not survive the next edit of those files.
 *
 * Threads: NPROD producers submitting NJOBS jobs each with the
 * JOB_OVERFLOW_BLOCK policy (or job_submit_detached_timed() with -DTIMED),
 * NW workers, one thread in job_pool_shutdown(), optionally one in
 * job_pool_cancel_queued() (-DCANCEL), and a monitor.
 *
 * Workers.  How an idle worker spins, parks and is woken is jobpool.pml's
 * subject; here a worker simply takes a job whenever one is queued (its
 * take is blocked while the queue is empty).  What is modelled is what a
 * worker does for room: the pop that stores head_seq, then
 * job__notify_space_waiters().
 *
 * Granularity, as in jobpool.pml: one step holds at most one access to a
 * variable that another thread may touch at the same time (tail_seq,
 * head_seq, space_waiters, or a wait or broadcast of space_cond); taking a
 * mutex is folded into the step after it and releasing one into the step
 * before it (Lipton's reduction).  Two merges are argued where they are
 * made: the fullness check with the push, and the fullness check with the
 * start of the wait.
 *
 * Memory model.  Steps are atomic and interleave, so the model is
 * sequentially consistent.  The C code relies on one store-buffering
 * pattern being SC: the submitter's seq_cst read-modify-write of
 * space_waiters then seq_cst load of head_seq (queue_full()), against the
 * worker's release store of head_seq, seq_cst fence and relaxed load of
 * space_waiters (job__notify_space_waiters()).  C11 forbids both loads
 * reading the old values: if the worker's load read the value before the
 * increment, its fence precedes the increment in the single total order S
 * (C++20 [atomics.order] p4.3, the fence is sequenced before a load that
 * is coherence-ordered before the seq_cst RMW); if the submitter's load
 * read head_seq before the store, it precedes the fence in S (p4.2, the
 * store happens before the fence); and the RMW precedes the load in S
 * (sequenced before).  That is a cycle in S.  (With the older C11 wording
 * the same follows from 7.17.3p10-11.)  So in every execution one of the
 * two sees the other, which is what interleaving the two steps gives.
 */

#ifndef LIMIT
#define LIMIT 1 /* queue_limit */
#endif
#ifndef NPROD
#define NPROD 2 /* producers: 1 or 2 */
#endif
#ifndef NJOBS
#define NJOBS 2 /* jobs per producer */
#endif
#ifndef NW
#define NW 1 /* workers: 1 or 2 */
#endif
#define NTOTAL (NPROD * NJOBS)
/* Spurious wake-ups of pthread_cond_wait(), shared by all waits. */
#ifndef SPURIOUS
#define SPURIOUS 1
#endif

/*
 * Planted bugs, one at a time with spin -DBUG_... (check-model.sh):
 *   BUG_SPACE_CHECK_FIRST  wait_for_room() checks for room (queue_locked())
 *                          before it adds itself to space_waiters
 *   BUG_NOTIFY_UNLOCKED    job__notify_space_waiters() broadcasts space_cond
 *                          without taking tail_lock
 *   BUG_NO_DRAIN_BROADCAST begin_drain() does not broadcast space_cond
 *   BUG_NO_LAST_LOOK       (with TIMED) after a timed-out wait,
 *                          wait_for_room() gives up without looking at the
 *                          queue again (the code before this model found
 *                          it: README.md, "Findings in 0.2")
 * Configuration: TIMED makes the producers' waits timed
 * (job_submit_detached_timed()): each wait may time out; CANCEL adds a
 * thread in job_pool_cancel_queued().
 */

/* ---- mutexes: 0 = free, else the owner's _pid + 1 ---- */
byte tail_lock; /* queue.tail_lock */
byte head_lock; /* queue.head_lock */

#define ACQUIRE(m) m == 0 -> m = _pid + 1
#define RELEASE(m) assert(m == _pid + 1); m = 0

/*
 * space_cond, with one waiting flag per producer.  As in jobpool.pml:
 * COND_WAIT_BEGIN releases the mutex and starts waiting in one step; the
 * wait ends after a broadcast or a spurious wake-up (or, with TIMED, a
 * timeout), and COND_RETURN is the step that retakes the mutex.
 */
byte spurious = SPURIOUS;
bool space_waiting[NPROD]; /* the producer is blocked on space_cond */
#define COND_WAIT_BEGIN(waiting, m) RELEASE(m); waiting = true
#define COND_WOKEN(waiting) (!waiting || spurious > 0)
#define COND_RETURN(waiting, m)                                          \
    if                                                                   \
    :: !waiting                                                          \
    :: spurious > 0 -> spurious--; waiting = false                       \
    fi;                                                                  \
    m = _pid + 1
#if NPROD == 2
#define BROADCAST_SPACE space_waiting[0] = false; space_waiting[1] = false
#else
#define BROADCAST_SPACE space_waiting[0] = false
#endif

/* ---- the queue as two counters; a job is known by its number ---- */
byte tail_seq; /* queue.tail_seq: jobs pushed, stored under tail_lock */
byte head_seq; /* queue.head_seq: jobs popped, stored under head_lock */

/* ---- the pool ---- */
bool stopping;      /* pool->stopping, stored under tail_lock */
byte space_waiters; /* pool->space_waiters: changed under tail_lock, read
                       by workers without it */

/* ---- ghost state for the properties ---- */
byte ran[NTOTAL];    /* times the job with this number ran */
byte handed[NTOTAL]; /* times it was handed back by cancel */
byte nrefused;       /* submits that returned ESHUTDOWN */
byte ntimedout;      /* submits that returned ETIMEDOUT */
byte notifying;      /* threads between a pop and the end of their
                        job__notify_space_waiters() */
byte nfinished;      /* producers, shutdown and canceller that returned */
#ifdef CANCEL
#define NFINITE (NPROD + 2)
#else
#define NFINITE (NPROD + 1)
#endif

/*
 * A lost wake-up: a producer waits on space_cond although shutdown has
 * begun, or although there is room and no thread that made room is still
 * on its way to notify.  Either way nothing but a later pop would wake it,
 * and with jobs that block there may be none ("It waits until a worker
 * takes a job and makes room ... or fails with ESHUTDOWN",
 * job_submit_detached(3); begin_drain() "wakes ... every submitter waiting
 * for room so it can fail").
 */
bool lost_found; /* set by the monitor, for the error message */
#define lost_room(p)                                                     \
    (space_waiting[p] &&                                                 \
     (stopping || (tail_seq - head_seq < LIMIT && notifying == 0)))

/* Outcomes of queue_locked() */
#define OK 0
#define FULL 1
#define SHUT 2

/*
 * queue_locked(), submit.c, with tail_lock held: the stopping test, then
 * queue_full(), then job__queue_push().  queue_full() first compares with
 * head_seen, an older value of head_seq kept under tail_lock, and loads
 * head_seq only when that bound says full; head_seq never decreases, so
 * whenever the bound answers "room" a load of head_seq would too.  The
 * model always loads head_seq: same answers, and head_seen is left out.
 *
 * The load of head_seq (racy) and the store of tail_seq in the push (racy)
 * share a step.  Between them only pops can happen (tail_lock is held), and
 * a pop only makes more room: a run with a pop between them ends in the
 * same state as the run with the pop first, which the model has.
 */
inline queue_locked(rc)
{
    if
    :: stopping -> rc = SHUT
    :: !stopping && tail_seq - head_seq >= LIMIT -> rc = FULL
    :: !stopping && tail_seq - head_seq < LIMIT ->
        assert(ran[tail_seq] == 0 && handed[tail_seq] == 0);
        tail_seq++;
        rc = OK
    fi
}

/* ---------------------------------------------------------------------- */

/* job_submit_detached() with JOB_OVERFLOW_BLOCK from a thread that is not
 * a worker (or job_submit_detached_timed() with -DTIMED), NJOBS times. */
proctype producer(byte me)
{
    byte k, rc;
    bool timed_out;

    do
    :: k < NJOBS ->
        k++;
        /* submit_fast(): lock tail_lock, queue_locked(), unlock */
        atomic {
            ACQUIRE(tail_lock);
            queue_locked(rc);
            RELEASE(tail_lock);
            if
            :: rc == OK -> goto submitted
            :: rc == SHUT -> nrefused++; goto submitted /* submit_slow */
            :: else
            fi
        };
        /* submit_slow(), JOB__FULL: wait_for_room(), a loop: register,
         * queue_locked(); if it queued, refused, or the last look after a
         * timeout found no room either, unregister and return; else wait
         * and unregister */
        atomic {
            ACQUIRE(tail_lock);                  /* wait_for_room */
#ifndef BUG_SPACE_CHECK_FIRST
            space_waiters++                      /* seq_cst RMW */
#else
            skip
#endif
        };
recheck:
        /*
         * queue_locked(), then pthread_cond_wait() if full: one step.  A
         * broadcast of space_cond needs tail_lock (begin_drain(),
         * job__notify_space_waiters()), which this thread holds from the
         * check until the wait releases it, so nothing that could wake it
         * can come between.  BUG_NOTIFY_UNLOCKED breaks that, and
         * BUG_SPACE_CHECK_FIRST puts the increment between: the two are
         * then separate steps.
         */
        atomic {
            queue_locked(rc);
#if !defined(BUG_NOTIFY_UNLOCKED) && !defined(BUG_SPACE_CHECK_FIRST)
            if
            :: rc == FULL && !timed_out ->
                COND_WAIT_BEGIN(space_waiting[me], tail_lock)
            :: else
            fi
#endif
        };
#if defined(BUG_NOTIFY_UNLOCKED) || defined(BUG_SPACE_CHECK_FIRST)
        atomic {
#ifdef BUG_SPACE_CHECK_FIRST
            space_waiters++;                     /* registers too late */
#endif
            if
            :: rc == FULL && !timed_out ->
                COND_WAIT_BEGIN(space_waiting[me], tail_lock)
            :: else
            fi
        };
#endif
        if
        :: rc == FULL && !timed_out ->
            /* the wait ends and retakes tail_lock; then the relaxed
             * decrement of space_waiters (wait_for_room) */
            atomic {
#ifdef TIMED
                /* pthread_cond_timedwait() returns ETIMEDOUT: it may do so
                 * whatever happened meanwhile, even after a broadcast */
                if
                :: tail_lock == 0 ->
                    space_waiting[me] = false;
                    timed_out = true;
                    tail_lock = _pid + 1
                :: COND_WOKEN(space_waiting[me]) && tail_lock == 0 ->
                    COND_RETURN(space_waiting[me], tail_lock)
                fi;
#else
                COND_WOKEN(space_waiting[me]) && tail_lock == 0 ->
                COND_RETURN(space_waiting[me], tail_lock);
#endif
                space_waiters--
            };
#if defined(TIMED) && defined(BUG_NO_LAST_LOOK)
            /* "if (timed_out) { rc = ETIMEDOUT; break; }": rc still holds
             * the JOB__FULL seen before the wait */
            atomic {
                if
                :: timed_out ->
                    /* job_submit_detached_timed(3): "If there is still no
                     * room when the time is up, it fails with ETIMEDOUT." */
                    assert(tail_seq - head_seq >= LIMIT);
                    ntimedout++;
                    timed_out = false;
                    RELEASE(tail_lock);
                    goto submitted
                :: else
                fi
            };
#endif
            /* the loop: register again, look again */
#ifndef BUG_SPACE_CHECK_FIRST
            atomic { space_waiters++ };
#endif
            goto recheck
        :: else
        fi;
        /* the queue_locked() that ended the loop: decrement, unlock; still
         * JOB__FULL after a timeout: ETIMEDOUT */
        atomic {
            space_waiters--;
            RELEASE(tail_lock);
            if
            :: rc == SHUT -> nrefused++
            :: rc == FULL ->
                /* job_submit_detached_timed(3): "If there is still no room
                 * when the time is up, it fails with ETIMEDOUT": the last
                 * look, the queue_locked() just before, found none */
                assert(timed_out);
                ntimedout++
            :: else
            fi;
            timed_out = false
        };
submitted:
        rc = 0
    :: else -> break
    od;
    nfinished++
}

/* job__notify_space_waiters(), worker.c: the seq_cst fence and relaxed load
 * of space_waiters (one step; the fence has no effect of its own under SC),
 * then, if a waiter was seen, a broadcast of space_cond under tail_lock. */
inline notify_space_waiters()
{
    if
    :: atomic { space_waiters == 0 -> notifying-- }
    :: atomic { space_waiters != 0 -> skip };
#ifdef BUG_NOTIFY_UNLOCKED
        atomic { BROADCAST_SPACE; notifying-- }
#else
        atomic {
            ACQUIRE(tail_lock);
            BROADCAST_SPACE;
            RELEASE(tail_lock);
            notifying--
        }
#endif
    fi
}

/* A worker of job__worker_main(), worker.c, reduced to its takes:
 * take_job() pops a job under head_lock (the pop loads tail_seq and stores
 * head_seq) and, the queue being bounded, calls
 * job__notify_space_waiters().  The job's run is not modelled. */
proctype worker()
{
    byte job;

end_idle:
    do
    :: atomic {
        head_lock == 0 && head_seq != tail_seq ->
        head_lock = _pid + 1;
        job = head_seq;
        head_seq++;
        RELEASE(head_lock);
        assert(job < tail_seq && ran[job] == 0 && handed[job] == 0);
        ran[job]++;
        job = 0;
        notifying++
       };
       notify_space_waiters()
    od
}

#ifdef CANCEL
/* job_pool_cancel_queued(), pool.c: the acquire load of tail_seq, then
 * take_batch() until it takes nothing.  A batch pops under head_lock, one
 * store of head_seq per job (one step each), then job__notify_space_waiters()
 * runs before the jobs are handed back. */
proctype canceller()
{
    byte end, n;

    end = tail_seq;
    do
    :: atomic { ACQUIRE(head_lock); n = 0 };      /* take_batch */
       do
       :: atomic {
            head_seq < end ->
            assert(ran[head_seq] == 0 && handed[head_seq] == 0);
            handed[head_seq]++;
            head_seq++;
            if
            :: n == 0 -> notifying++ /* owes a notify from here on */
            :: else
            fi;
            n++
          }
       :: else -> break
       od;
       atomic {
           RELEASE(head_lock);
           if
           :: n == 0 -> end = 0; goto cancel_done
           :: else
           fi
       };
       notify_space_waiters()
    od;
cancel_done:
    nfinished++
}
#endif

/* job_pool_shutdown(), pool.c: begin_drain() sets stopping and broadcasts
 * space_cond under tail_lock (the parked workers it wakes are jobpool.pml's
 * concern).  Joining the workers is left out: they never exit here. */
proctype shutdown()
{
    atomic {
        ACQUIRE(tail_lock);                      /* begin_drain */
        stopping = true;
#ifndef BUG_NO_DRAIN_BROADCAST
        BROADCAST_SPACE;
#endif
        RELEASE(tail_lock);
        nfinished++
    }
}

/* Fails in any state that shows a lost wake-up, and checks the final
 * state: every submit was accepted or refused, and every accepted job ran
 * or was handed back, exactly once. */
active proctype monitor()
{
    byte j;

end:
    if
    :: atomic {
        (lost_room(0)
#if NPROD == 2
         || lost_room(1)
#endif
        ) ->
        lost_found = true;
        assert(!lost_found)
       }
    :: atomic {
        nfinished == NFINITE && head_seq == tail_seq && notifying == 0 ->
        assert(tail_seq + nrefused + ntimedout == NTOTAL);
        do
        :: j < NTOTAL ->
            assert(ran[j] + handed[j] == (j < tail_seq -> 1 : 0));
            j++
        :: else -> break
        od
       }
    fi
}

init
{
    atomic {
        run producer(0);
#if NPROD == 2
        run producer(1);
#endif
        run worker();
#if NW == 2
        run worker();
#endif
#ifdef CANCEL
        run canceller();
#endif
        run shutdown()
    }
}
