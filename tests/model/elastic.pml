/* SPDX-License-Identifier: MIT */
/*
 * elastic.pml: a Promela model of an elastic pool's threads coming and
 * going while jobs are submitted (jobpool 0.2): lib/worker.c ("Elastic
 * pools" at the top, job__worker_main(), worker_start(), run_until_dry(),
 * park(), sleep_parked(), leave_if_idle(), wake_helper_if_needed()),
 * lib/submit.c (queue_locked() and its JOB__NO_WORKER case,
 * job__reserve_growth(), queue_with_new_worker(), submit_slow()),
 * lib/threads.c (job__worker_add_locked(), free_place(),
 * job__worker_exit_or_stay()) and lib/pool.c (shutdown_until(),
 * begin_drain()).  README.md in this directory says what is modelled and
 * abstracted; check-model.sh checks it and shows that planted bugs fail.
 *
 * Functions are named beside each step; line numbers would not survive the
 * next edit of those files.
 *
 * Threads: NPROD producers submitting NJOBS jobs each with
 * job_submit_detached() to a pool with min_threads = 0, max_threads = MAXT
 * and no queue limit; MAXT places, each running one worker thread at a time
 * (a thread that exited is joined and its place reused); one thread in
 * job_pool_shutdown(), which either races the producers or comes after
 * them; and a monitor.
 *
 * Granularity: as in jobpool.pml, whose comments give the reasons.  One
 * step holds at most one access to a variable that another thread may
 * touch at the same time; mutex acquisitions are folded into the step
 * after them and releases into the step before them.
 *
 * Memory model: sequentially consistent, except for one store, the one the
 * growth protocol depends on: a producer's publication of a job, the
 * release store of tail_seq in job__queue_push().  It goes into a one-entry
 * store buffer (tail_buffered) and reaches memory, where every other thread
 * reads tail_seq, only when the buffer drains: at any moment (the process
 * store_buffer), and at the latest before the producer's next full
 * barrier, the seq_cst read-modify-write of tail_seq in queue_locked() or
 * the unlock of tail_lock (glibc's unlock is an atomic exchange).  Until
 * then the producer's own loads see its store (store forwarding) and
 * everybody else sees the old value.  So the producer's loads of nspinning
 * and head_seq may pass its store, as on x86 (TSO) and as C11 allows for a
 * release store followed by seq_cst loads: the store-buffering pattern
 * that stranded a job in issue 15 (README.md says which other stores are
 * left unbuffered, and why).  Idle waiters (job_pool_wait_idle()) and
 * queue limits are left out: jobpool.pml and room.pml model them.
 */

#ifndef MAXT
#define MAXT 2 /* max_threads, and places: 1 or 2 */
#endif
#define MINT 0 /* min_threads */
#ifndef NPROD
#define NPROD 1 /* producers: 1 or 2 */
#endif
#ifndef NJOBS
#define NJOBS 2 /* jobs per producer */
#endif
#define NTOTAL (NPROD * NJOBS)
#ifndef SPURIOUS
#define SPURIOUS 0 /* spurious wake-ups of park_cond, in all */
#endif
#define NONE 255

/*
 * Planted bugs, one at a time with spin -DBUG_... (check-model.sh):
 *   BUG_EXIT_WITHOUT_POOL_LOCK leave_if_idle() decides under tail_lock
 *                         alone, so the thread that queue_with_new_worker()
 *                         started may leave before its job is queued
 *   BUG_EXIT_OFF_STACK    leave_if_idle() does not test w->parked: a worker
 *                         leaves although a waker already popped it
 *   BUG_EXIT_NONEMPTY     leave_if_idle() does not test that the queue is
 *                         empty: harmless, see README.md
 *   BUG_NO_LOOK_AGAIN     job__worker_exit_or_stay() never stays
 *   BUG_IGNORE_EXITING    queue_locked() does not count a thread that is
 *                         leaving (nexiting) as one to run the job
 *   BUG_GROWTH_WITHOUT_RMW queue_locked() makes the seq_cst
 *                         read-modify-write of tail_seq only when a worker
 *                         is parked (rule 2), not before the growth check:
 *                         the code before the fix of issue 15, whose
 *                         published job may still sit in the store buffer
 *                         when job__reserve_growth() loads nspinning
 *   BUG_RULE2_WITHOUT_RMW rule 2 without its read-modify-write of tail_seq:
 *                         the load of nspinning with the job perhaps still
 *                         in the store buffer (the same bug on the wake
 *                         path, which the code never had)
 * Configuration:
 *   START_OK              pthread_create() never fails (by default any
 *                         start may fail, with EAGAIN)
 *   NO_LOST_START         leave the lost start (below) out of the monitor
 *   BUG_LEAVE_IF_RESERVED the code of fdb8a40, fixed in the next commit: a
 *                         leaving thread does not stay for a queued job
 *                         when a start is reserved, though that start may
 *                         fail or meet shutdown (README.md, "Findings in
 *                         0.2")
 */

/* ---- mutexes: 0 = free, else the owner's _pid + 1 ---- */
byte tail_lock;       /* queue.tail_lock */
byte head_lock;       /* queue.head_lock */
byte pool_lock;       /* pool->lock */
byte park_lock[MAXT]; /* worker->park_lock */

#define ACQUIRE(m) m == 0 -> m = _pid + 1
#define RELEASE(m) assert(m == _pid + 1); m = 0

/* park_cond as in jobpool.pml: COND_WAIT_BEGIN releases the mutex and
 * starts waiting in one step; the wait ends on a signal, a spurious
 * wake-up (SPURIOUS in all) or a timeout.  stopped_cond has one waiter,
 * shutdown, which waits for a state it can test: a guard in the model. */
byte spurious = SPURIOUS;
#define COND_WAIT_BEGIN(waiting, m) RELEASE(m); waiting = true
bool park_waiting[MAXT]; /* blocked on the place's park_cond */

/* ---- the queue as two counters; a job is known by its number ---- */
byte tail_seq; /* queue.tail_seq in memory, stored under tail_lock */
byte head_seq; /* queue.head_seq, stored under head_lock */

/*
 * The store buffer of the thread that holds tail_lock, for its one store
 * of tail_seq (a push): true while the store tail_seq + 1 waits in it.
 * Only a producer stores tail_seq, at most once per turn of tail_lock, and
 * it drains the buffer before it unlocks, so one entry is enough.  The
 * holder reads OWN_TAIL, everybody else tail_seq.
 */
bool tail_buffered;
#define OWN_TAIL (tail_seq + tail_buffered)
/* A full barrier of the holder (a seq_cst read-modify-write, or the atomic
 * exchange of an unlock) waits until its store buffer has drained. */
#define DRAINED (!tail_buffered)
#define UNLOCK_TAIL DRAINED -> RELEASE(tail_lock)
/* The read-modify-write of tail_seq that queue_locked() makes before the
 * growth check loads nspinning (the fix of issue 15), as a guard of that
 * load's step: the RMW, then the load. */
#ifndef BUG_GROWTH_WITHOUT_RMW
#define GROWTH_RMW DRAINED
#else
#define GROWTH_RMW true
#endif
/* And the one of rule 2. */
#ifndef BUG_RULE2_WITHOUT_RMW
#define RULE2_RMW DRAINED
#else
#define RULE2_RMW true
#endif

/* ---- the pool: under tail_lock unless said otherwise ---- */
byte stack[MAXT];   /* pool->parked: stack[nparked - 1] is the top */
byte nparked;       /* pool->nparked: the depth of the stack */
bool onstack[MAXT]; /* worker->parked */
bool stopping;      /* pool->stopping */
byte nspinning;     /* pool->nspinning (atomic) */
byte nlive;         /* pool->nlive: started, not decided to exit */
byte nstarting;     /* pool->nstarting: reserved or started, not ready */
byte nexiting;      /* pool->nexiting: decided to exit, not yet looked
                       again in job__worker_exit_or_stay() */
bool wake[MAXT];    /* worker->wake, park_lock */
#define RUNNING 0
#define DRAINING 1
#define STOPPED 2
byte state;          /* pool->state, pool_lock */
byte threads_alive;  /* pool->threads_alive, stored under pool_lock */
bool started[MAXT];  /* worker->started, pool_lock */
bool exited[MAXT];   /* worker->exited, pool_lock */
bool joined[MAXT];   /* worker->joined, pool_lock */
bool go[MAXT];       /* pthread_create() made a thread for this place */
bool returned[MAXT]; /* that thread returned: pthread_join() may too */

/* ---- ghost state for the properties ---- */
byte ran[NTOTAL];   /* times the job with this number ran */
byte nrunning;      /* workers inside a job (which may block for ever) */
byte nstarted;      /* threads started whose nlive++ is still to come:
                       live too, for the monitor */
bool create_failed; /* some pthread_create() failed */
bool new_for_job;   /* queue_with_new_worker() started a thread and has not
                       yet queued the job it started it for */
byte nshut;         /* submits refused with ESHUTDOWN */
byte nagain;        /* submits refused with EAGAIN */
byte nfinished;     /* producers and shutdown that returned */

/*
 * Stranded: a job is queued and no thread will take it: no worker is live
 * (nlive, plus a thread just started whose nlive++ is to come), none is
 * leaving (it looks again before it goes), and no start is reserved.
 * Only a later submit would start one.  Looked at while tail_lock is free:
 * job__worker_exit_or_stay() holds it from nexiting-- to its decision.
 */
#define stranded                                                         \
    (tail_lock == 0 && tail_seq != head_seq &&                           \
     nlive + nstarted + nexiting + nstarting == 0)
/*
 * A lost wake-up, as in jobpool.pml: a job is queued, a worker is parked,
 * and every other live worker is inside a job, which may block for ever.
 */
#define lost_wakeup                                                      \
    (tail_lock == 0 && tail_seq != head_seq && nparked > 0 &&            \
     nparked + nrunning == nlive + nstarted)
/*
 * A lost start: before STOPPED (draining grows too), a job is queued, no worker is parked, every
 * live worker is inside a job, no start is reserved, no thread is leaving
 * (it will look again), fewer than max_threads are live, and no
 * pthread_create() has failed: "starts another whenever a job is queued
 * and no worker is idle, up to max_threads" (jobpool(7)); after a failure
 * "the job waits for the workers there are".
 */
#define lost_start                                                       \
    (tail_lock == 0 && state != STOPPED && tail_seq != head_seq &&       \
     nparked == 0 && nrunning == nlive + nstarted && nstarting == 0 &&   \
     nexiting == 0 && nlive + nstarted < MAXT && !create_failed)

/* Set by the monitor when a property fails, to name it in the error
 * message. */
bool job_stranded, wakeup_lost, start_lost, too_many_live;

/* job__unpark_one(), worker.c, inside a step that holds tail_lock. */
#define UNPARK_ONE(w)                                                    \
    if                                                                   \
    :: nparked > 0 ->                                                    \
        nparked--;                                                       \
        w = stack[nparked];                                              \
        stack[nparked] = NONE;                                           \
        onstack[w] = false                                               \
    :: else -> w = NONE                                                  \
    fi

/* job__worker_wake(), worker.c: lock park_lock, set wake, signal, unlock. */
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

/*
 * job__reserve_growth(), submit.c, with tail_lock held; releases it (the
 * caller's unlock).  nstarting and nlive are guarded by the lock; the
 * seq_cst load of nspinning, then the seq_cst load of head_seq, are one
 * step each.  rmw is what precedes the load of nspinning: GROWTH_RMW for a
 * producer (queue_locked()), true for rule 3, which has stored nothing
 * that may be buffered.
 *
 * The unlock waits for the store buffer to drain (UNLOCK_TAIL).  With an
 * empty buffer it belongs to the step of the load before it; with a store
 * still buffered the step stops there, and the buffer may drain, and other
 * threads run, between the load and the unlock, as in the code.
 */
#define GROWTH_FULL (nlive >= MAXT)
inline reserve_growth(grow, rmw)
{
    if
    :: atomic { rmw && (GROWTH_FULL || nspinning != 0) -> UNLOCK_TAIL }
    :: atomic { rmw && !GROWTH_FULL && nspinning == 0 -> skip };
       atomic {
           if
           /* One start per job in the FIFO: starts run side by side. */
           :: OWN_TAIL - head_seq > nstarting -> nstarting++; grow = true
           :: else
           fi;
           UNLOCK_TAIL
       }
    fi
}

/*
 * The end of queue_locked() after a push, with tail_lock held and the
 * job's store of tail_seq perhaps still buffered; releases tail_lock.
 * Rule 2 when a worker is parked: the seq_cst read-modify-write of
 * tail_seq, which drains the store buffer, and load of nspinning, then
 * job__unpark_one(); one step, as the stack and nparked are touched only
 * under tail_lock in an elastic pool (wake_helper_if_needed() loads
 * nparked without it, but does not act on the value there).  Otherwise,
 * growth: the read-modify-write when the pool has room (nlive below
 * max_threads), then job__reserve_growth(); with no room, queue_locked()
 * returns at once, and reserve_growth() unlocks in its first step (the load
 * of nspinning it makes there is then dead).  An RMW merged into the step
 * of the load that follows it loses no behaviour: the buffer may drain on
 * its own at any earlier moment.
 */
inline wake_or_grow(sleeper, grow)
{
    if
    :: nparked > 0 ->
        atomic {
            RULE2_RMW ->
            if
            :: nspinning == 0 -> UNPARK_ONE(sleeper)
            :: else
            fi;
            UNLOCK_TAIL
        }
    :: else -> reserve_growth(grow, GROWTH_RMW)
    fi
}

/*
 * job__worker_add_locked(), threads.c, with pool->lock held: under
 * tail_lock, is nlive below max_threads; if so and the pool is RUNNING,
 * free_place() and start_thread(); then, under tail_lock, nlive++ or
 * nstarting--.  rc: 0, EAGAIN_RC (pthread_create() failed, or no free
 * place: every other one is held by a thread in its stop hook, which will
 * look again) or ESHUTDOWN_RC (also when nlive leaves no room).
 *
 * free_place() takes the first place whose thread never started or was
 * joined, else one whose thread marked itself exited, joining it (the join
 * waits for that thread to return: the step's atomicity ends there, and
 * what it read is guarded by pool->lock, which is held).  The start and
 * the tail_lock section are two steps, as in the code: the new thread may
 * run in between.
 */
#define EAGAIN_RC 1
#define ESHUTDOWN_RC 2
#define PLACE_FREE(i) (!started[i] || joined[i] || exited[i])
inline worker_add_locked(rc, p)
{
    atomic { ACQUIRE(tail_lock); room = (nlive < MAXT); RELEASE(tail_lock) };
    atomic {
        p = NONE;
        rc = ESHUTDOWN_RC;
        if
#ifdef BUG_NO_DRAIN_GROWTH
        :: state == RUNNING && room ->
#else
        /* Growth goes on while draining; shutdown's join is one step with
         * STOPPED here, so the code's joining flag needs no variable. */
        :: state != STOPPED && room ->
#endif
            rc = EAGAIN_RC;
            if
            :: PLACE_FREE(0) -> p = 0
#if MAXT == 2
            :: !PLACE_FREE(0) && PLACE_FREE(1) -> p = 1
            :: !PLACE_FREE(0) && !PLACE_FREE(1)
#else
            :: else
#endif
            fi
        :: else
        fi;
        room = false;
        if
        :: p != NONE ->
            if
            :: started[p] && !joined[p] ->
                assert(exited[p]);
                returned[p];                     /* pthread_join() */
                joined[p] = true
            :: else
            fi;
            if
            :: true ->                           /* pthread_create() */
                rc = 0;
                started[p] = true;
                exited[p] = false;
                joined[p] = false;
                returned[p] = false;
                threads_alive++;
                nstarted++;
                go[p] = true
#ifndef START_OK
            :: true -> create_failed = true      /* it failed: EAGAIN */
#endif
            fi;
            p = NONE
        :: else
        fi
    };
    atomic {
        ACQUIRE(tail_lock);
        if
        :: rc == 0 -> nlive++; nstarted--
        :: else -> nstarting--
        fi;
        RELEASE(tail_lock)
    }
}

/* ---------------------------------------------------------------------- */

/* job_submit_detached(), submit.c, NJOBS times: submit_fast(), then for
 * JOB__NO_WORKER submit_slow() and queue_with_new_worker(). */
#define NO_WORKER_RC 3
/* queue_locked(): JOB__NO_WORKER when no worker is live and none is
 * leaving (a leaving one looks again before it goes) */
#ifndef BUG_IGNORE_EXITING
#define NO_WORKER (nlive == 0 && nexiting == 0)
#else
#define NO_WORKER (nlive == 0)
#endif
proctype producer(byte me)
{
    byte k, rc, p;
    byte sleeper = NONE;
    bool grow, room;

    do
    :: k < NJOBS ->
        k++;
        /* submit_fast(): lock tail_lock, queue_locked(): stopping; then
         * (guarded pool) no live worker and none leaving (a leaving one
         * looks again): JOB__NO_WORKER; else job__queue_push() */
        atomic {
            ACQUIRE(tail_lock);
            if
            :: stopping -> rc = ESHUTDOWN_RC; RELEASE(tail_lock)
            :: !stopping && NO_WORKER -> rc = NO_WORKER_RC; RELEASE(tail_lock)
            :: else ->
                /* job__queue_push(): the release store of tail_seq,
                 * into the store buffer */
                assert(!tail_buffered && ran[tail_seq] == 0);
                tail_buffered = true;
                rc = 0
            fi
        };
        if
        :: rc == 0 -> wake_or_grow(sleeper, grow)
        :: rc == NO_WORKER_RC ->
            /* queue_with_new_worker(): lock pool->lock; while
             * queue_locked() says JOB__NO_WORKER, reserve a thread and
             * start it; a failure ends the loop */
            atomic { ACQUIRE(pool_lock) };
new_worker:
            atomic {
                ACQUIRE(tail_lock);
                if
                :: stopping -> rc = ESHUTDOWN_RC
                :: !stopping && NO_WORKER ->
                    rc = NO_WORKER_RC;
                    nstarting++;
                    RELEASE(tail_lock)
                :: else ->
                    assert(!tail_buffered && ran[tail_seq] == 0);
                    tail_buffered = true;
                    rc = 0
                fi
            };
            if
            :: rc == NO_WORKER_RC ->
                worker_add_locked(rc, p);
                if
                :: rc == 0 -> new_for_job = true; goto new_worker
                :: else                 /* lock, break, unlock: nothing */
                fi
            :: else
            fi;
            new_for_job = false;
            if
            :: rc == 0 -> wake_or_grow(sleeper, grow)
            :: rc == ESHUTDOWN_RC && tail_lock == _pid + 1 ->
                RELEASE(tail_lock)
            :: else
            fi;
            atomic { RELEASE(pool_lock) }
        :: else
        fi;
        /* follow_up() */
        if
        :: sleeper != NONE -> worker_wake(sleeper)
        :: else
        fi;
        if
        :: grow ->                          /* job__worker_add() */
            atomic { ACQUIRE(pool_lock) };
            worker_add_locked(rc, p);
            atomic { RELEASE(pool_lock); grow = false; rc = 0 }
        :: else
        fi;
        /* submit_slow(): refuse() */
        atomic {
            if
            :: rc == ESHUTDOWN_RC -> nshut++
            :: rc == EAGAIN_RC ->
                /* "the pool is elastic, had no worker, and could not start
                 * one" (job_submit_detached(3)): a pthread_create() failed */
                assert(create_failed);
                nagain++
            :: else
            fi;
            rc = 0
        }
    :: else -> break
    od;
    nfinished++
}

/*
 * A place: one worker thread at a time runs job__worker_main() in it.
 * go[me] is the pthread_create() that starts one.
 */
proctype place(byte me)
{
    bool taken, dry, stop, leave, grow, room, stay;
    byte job, seen, rc, p;
    byte helper = NONE;

end_unused:
    do
    :: atomic { go[me] -> go[me] = false };
start:
        /* worker_start() first takes and drops pool->lock, which its
         * creator holds until it has counted it in nlive. */
#ifndef BUG_START_BEFORE_COUNTED
        atomic { pool_lock == 0 -> skip };
#endif
        /* worker_start(): the start hook, then, under tail_lock, count
         * itself spinning and give up the reservation.  From here the
         * worker counts in nspinning until it holds a job. */
        atomic {
            ACQUIRE(tail_lock);
            nspinning++;
            nstarting--;
            RELEASE(tail_lock)
        };
idle:
        atomic { seen = head_seq };                 /* seen_tail */
        /* spin_for_work(): sees tail_seq move, or gives up at any moment */
        if
        :: tail_seq != seen ->
            /* take_job(): a pop under head_lock (no queue limit, so no
             * notify); then, holding a job, nspinning-- */
            atomic {
                ACQUIRE(head_lock);
                if
                :: head_seq != tail_seq ->
                    job = head_seq; head_seq++; taken = true
                :: else -> taken = false
                fi;
                RELEASE(head_lock);
                seen = 0
            };
            if
            :: !taken -> goto idle              /* still spinning */
            :: else
            fi;
            atomic { nspinning-- };
            goto have_job
        :: true
        fi;
        /* park(): under tail_lock, empty? stopping?  Parks in the same
         * step (jobpool.pml says why that merge is sound); with the queue
         * not empty, unlocks: PARK_FOUND_WORK, still spinning. */
        atomic {
            ACQUIRE(tail_lock);
            dry = (tail_seq == head_seq);
            stop = stopping;
            seen = 0;
            if
            :: !dry -> RELEASE(tail_lock); goto idle
            :: dry && !stop ->
                assert(nparked < MAXT && !onstack[me]);
                stack[nparked] = me;
                nparked++;
                onstack[me] = true
            :: dry && stop
            fi
        };
        if
        :: stop ->                                  /* PARK_EXIT */
            atomic {
                nspinning--;
                nlive--;
                nexiting++;
                RELEASE(tail_lock);
                dry = false;
                stop = false
            };
            goto worker_exit
        :: else
        fi;
        atomic { nspinning--; RELEASE(tail_lock); dry = false };

        /* sleep_parked(): lock park_lock; while (!wake) timed wait */
        atomic {
            ACQUIRE(park_lock[me]);
            if
            :: wake[me] -> goto woken
            :: else -> COND_WAIT_BEGIN(park_waiting[me], park_lock[me])
            fi
        };
park_wait:
        /* The wait ends on a signal, a spurious wake-up, or the timeout
         * (which may come at any time, even with a signal), and retakes
         * park_lock.  "!= ETIMEDOUT || w->wake": back to the while. */
        atomic {
            park_lock[me] == 0 ->
            park_lock[me] = _pid + 1;
            if
            :: !park_waiting[me] -> leave = false
            :: spurious > 0 ->
                spurious--;
                park_waiting[me] = false;
                leave = false
            :: true -> park_waiting[me] = false; leave = true /* ETIMEDOUT */
            fi;
            if
            :: wake[me] -> leave = false; goto woken
            :: !wake[me] && !leave ->
                COND_WAIT_BEGIN(park_waiting[me], park_lock[me]);
                goto park_wait
            :: else -> RELEASE(park_lock[me])  /* timed out: unlock */
            fi
        };
        /*
         * leave_if_idle(): lock pool->lock, lock tail_lock, decide, and if
         * leaving take itself off the stack and nlive--; unlock both.  One
         * step: its one racy access is the load of head_seq; the rest is
         * guarded by tail_lock, and pool->lock is only held.
         */
        atomic {
#ifndef BUG_EXIT_WITHOUT_POOL_LOCK
            pool_lock == 0 && tail_lock == 0 ->
#else
            tail_lock == 0 ->
#endif
            leave = (nlive > MINT && !stopping
#ifndef BUG_EXIT_OFF_STACK
                     && onstack[me]
#endif
#ifndef BUG_EXIT_NONEMPTY
                     && tail_seq == head_seq
#endif
                    );
            if
            :: leave ->
                /* queue_with_new_worker(): "the new thread cannot leave
                 * before the job is there for it" */
                assert(!new_for_job);
                /* the walk of the stack, "while (*link != w)", assumes
                 * that w is on it (else it follows a NULL link) */
                assert(onstack[me]);
#if MAXT == 2
                if
                :: stack[0] == me -> stack[0] = stack[1]; stack[1] = NONE
                :: stack[1] == me -> stack[1] = NONE
                fi;
#else
                stack[0] = NONE;
#endif
                nparked--;
                onstack[me] = false;
                nlive--;
                nexiting++
            :: else
            fi
        };
        if
        :: leave -> goto worker_exit
        :: else
        fi;
        /* a new deadline; lock park_lock; while (!wake) */
        atomic {
            ACQUIRE(park_lock[me]);
            if
            :: wake[me] -> goto woken
            :: else ->
                COND_WAIT_BEGIN(park_waiting[me], park_lock[me]);
                goto park_wait
            fi
        };
woken:
        /* wake = false, unlock: PARK_WOKEN, not spinning; take_job(), and
         * if the queue is empty after all, count itself spinning again */
        atomic { wake[me] = false; RELEASE(park_lock[me]) };
        atomic {
            ACQUIRE(head_lock);
            if
            :: head_seq != tail_seq -> job = head_seq; head_seq++; taken = true
            :: else -> taken = false
            fi;
            RELEASE(head_lock)
        };
        if
        :: !taken -> nspinning++; goto idle
        :: else
        fi;
have_job:
        /* wake_helper_if_needed() (rule 3): seq_cst load of tail_seq, load
         * of head_seq, (the load of nparked is ignored in an elastic pool),
         * seq_cst load of nspinning, one step each; then under tail_lock
         * job__unpark_one(), or job__reserve_growth() */
        atomic { seen = tail_seq };
        if
        :: atomic { seen == head_seq -> seen = 0 }
        :: atomic { seen != head_seq -> seen = 0 };
            if
            :: atomic { nspinning != 0 -> skip }
            :: atomic {
                nspinning == 0 && tail_lock == 0 ->
                tail_lock = _pid + 1;
                UNPARK_ONE(helper)
               };
               if
               :: helper != NONE -> atomic { RELEASE(tail_lock) }
               :: else -> reserve_growth(grow, true)
               fi;
               if
               :: helper != NONE -> worker_wake(helper)
               :: else
               fi;
               if
               :: grow ->                           /* job__worker_add() */
                   atomic { ACQUIRE(pool_lock) };
                   worker_add_locked(rc, p);
                   atomic { RELEASE(pool_lock); grow = false; rc = 0 }
               :: else
               fi
            fi
        fi;
        /* run_until_dry(): the job; then take_job() until the queue is
         * empty, each job called in the step of its take */
        d_step {
            assert(job < tail_seq && ran[job] == 0);
            ran[job]++;
            nrunning++
        };
        do
        :: d_step { nrunning--; job = 0 };          /* completed++ */
            atomic {
                ACQUIRE(head_lock);
                if
                :: head_seq != tail_seq ->
                    job = head_seq; head_seq++; taken = true
                :: else -> taken = false
                fi;
                RELEASE(head_lock);
                if
                :: taken ->
                    assert(job < tail_seq && ran[job] == 0);
                    ran[job]++;
                    nrunning++
                :: else
                fi
            };
            if
            :: taken
            :: else -> break
            fi
        od;
        /* the queue ran dry (idle waiters are jobpool.pml's concern):
         * count itself spinning again */
        nspinning++;
        goto idle;
worker_exit:
        /*
         * The stop hook, then job__worker_exit_or_stay(): under pool->lock
         * and tail_lock, nexiting--, and stay if a queued job has nobody to
         * take it (job__thread_needed(): nobody parked, no start reserved,
         * nlive below max_threads, the seq_cst load of nspinning, then of
         * head_seq: one step each), as a new thread would (nlive++,
         * nstarting++, back to worker_start()); else mark the place
         * exited, threads_alive--, broadcast stopped_cond, unlock, return.
         */
        atomic {
            pool_lock == 0 && tail_lock == 0 ->
            pool_lock = _pid + 1;
            tail_lock = _pid + 1;
            nexiting--;
#ifdef BUG_LEAVE_IF_RESERVED
            stay = (nparked == 0 && nstarting == 0 && nlive < MAXT &&
                    nspinning == 0);
#else
            stay = (nparked == 0 && nlive < MAXT && nspinning == 0);
#endif
            leave = false
        };
        atomic {
            stay = (stay && tail_seq != head_seq);
#ifdef BUG_NO_LOOK_AGAIN
            stay = false;
#endif
            if
            :: stay ->
                nlive++;
                nstarting++;
                RELEASE(tail_lock);
                RELEASE(pool_lock);
                stay = false;
                goto start
            :: else ->
                RELEASE(tail_lock);
                exited[me] = true;
                threads_alive--;
                RELEASE(pool_lock);
                returned[me] = true
            fi
        }
    od
}

/* job_pool_shutdown(), pool.c: shutdown_until() with begin_drain() and
 * job__workers_reap_locked().  One caller. */
proctype shutdown()
{
    byte n, w;
    byte drained[MAXT];

    if
    :: true
    :: nfinished == NPROD           /* after the producers */
    fi;
    atomic { ACQUIRE(pool_lock); state = DRAINING; RELEASE(pool_lock) };
    /* begin_drain(): under tail_lock, stopping and take the stack */
    atomic {
        ACQUIRE(tail_lock);
        stopping = true;
        n = nparked;
        drained[0] = stack[0];
        stack[0] = NONE;
        onstack[0] = false;
#if MAXT == 2
        drained[1] = stack[1];
        stack[1] = NONE;
        onstack[1] = false;
#endif
        nparked = 0;
        RELEASE(tail_lock)
    };
    do
    :: n > 0 ->
        d_step { n--; w = drained[n]; drained[n] = 0 };
        worker_wake(w)
    :: else -> break
    od;
    /* The wait on stopped_cond until threads_alive is 0 (the last thread
     * to exit broadcasts it under pool->lock: a guard here); reap; STOPPED
     * and broadcast.  Every accepted job ran exactly once. */
    atomic {
        pool_lock == 0 && threads_alive == 0 ->
        n = 0;
        do
        :: n < MAXT ->
            if
            :: started[n] && !joined[n] ->
                assert(exited[n] && returned[n]); /* pthread_join() */
                joined[n] = true
            :: else
            fi;
            n++
        :: else -> break
        od;
        state = STOPPED;
        assert(head_seq == tail_seq && nlive == 0 && nrunning == 0);
        assert(!tail_buffered);
        n = 0;
        do
        :: n < NTOTAL ->
            assert(ran[n] == (n < tail_seq -> 1 : 0));
            n++
        :: else -> break
        od;
        n = 0;
        nfinished++
    }
}

/* Fails in any state that is stranded, shows a lost wake-up or a lost
 * start, or counts more live workers than max_threads, and checks the
 * final state: every submit was accepted or refused, and the counts are
 * back to zero. */
active proctype monitor()
{
end:
    if
    :: atomic { stranded -> job_stranded = true; assert(!job_stranded) }
    :: atomic { lost_wakeup -> wakeup_lost = true; assert(!wakeup_lost) }
#ifndef NO_LOST_START
    :: atomic { lost_start -> start_lost = true; assert(!start_lost) }
#endif
    :: atomic { nlive > MAXT -> too_many_live = true; assert(!too_many_live) }
    :: atomic {
        nfinished == NPROD + 1 ->
        assert(tail_seq + nshut + nagain == NTOTAL);
        assert(nstarting == 0 && nexiting == 0 && nlive == 0 &&
               threads_alive == 0)
       }
    fi
}

/* The store buffer of the holder of tail_lock drains on its own, at any
 * moment.  The holder still holds the lock: it waits for the drain before
 * it unlocks. */
proctype store_buffer()
{
end:
    do
    :: atomic {
        tail_buffered ->
        assert(tail_lock != 0);
        tail_seq++;
        tail_buffered = false
       }
    od
}

init
{
    atomic {
        stack[0] = NONE;
#if MAXT == 2
        stack[1] = NONE;
#endif
        run place(0);
#if MAXT == 2
        run place(1);
#endif
        run producer(0);
#if NPROD == 2
        run producer(1);
#endif
        run shutdown();
        run store_buffer()
    }
}
