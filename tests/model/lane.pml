/* SPDX-License-Identifier: MIT */
/*
 * lane.pml: a Promela model of jobpool's lanes (lib/lane.c, issue 13): how
 * a lane's jobs reach the pool as tokens, how a token hands the lane on
 * (a successor at the pool's tail, or retiring), the inline run when the
 * pool refuses a successor, the pool's cancel meeting a token, the lane's
 * own cancel, a submit blocked for room, destroy, and the pool's shutdown.
 * README.md in this directory says what is modelled, what is left out and
 * why the abstraction of the pool is sound, and lists the results;
 * check-model.sh runs it.
 *
 * Threads: NPROD producers, each submitting NJOBS jobs to one lane of
 * width WIDTH; NW workers; job_pool_shutdown(), racing everything from
 * the start; job_lane_destroy(), once every producer has returned (or is
 * blocked in a submit: a call in progress); with -DCANCEL, a thread that
 * may call job_lane_cancel_queued() and one that calls
 * job_pool_cancel_queued(); a monitor.
 *
 * The pool is abstracted (README.md, "The pool"): ptok counts the lane's
 * tokens queued in it; a worker not running a token takes one whenever one
 * is queued, and waits (parked) only while none is; it exits once stopping
 * is set and none is queued.  A token push is refused exactly when
 * stopping is set (and, with -DFAILS, at will: ENOMEM, or EAGAIN from an
 * elastic pool that could not start a thread).  core.pml verifies that the
 * core keeps these promises.
 *
 * Granularity.  Each critical section of lane->lock is one step: taking
 * the lock moves right, releasing it left (Lipton), and inside, every
 * field is the lock's except the pool's, which a section touches at most
 * once (the token push, whose load of stopping and push are one step under
 * the shard's tail_lock, as stopping is stored under the gate).  The one
 * other unguarded access, refusal()'s relaxed load of stopping, is folded
 * into the same step: stopping only goes from false to true, so a load
 * that saw true could have been made at the push, and a load made earlier
 * or served stale may see false either way; the step lets it see either
 * once stopping is set.  A section that ends in pthread_cond_wait() is one
 * step that releases the lock and waits; the wake-up and the taking of the
 * lock again are the next.  So the lane lock is never held between steps
 * and needs no variable.  The moment a job's fn is called (after the
 * unlock) is a step of its own; its return is folded into the step that
 * takes the lock again, which can only make more jobs count as running.
 */

#ifndef NPROD
#define NPROD 2
#endif
#ifndef NJOBS
#define NJOBS 2
#endif
#define NTOTAL (NPROD * NJOBS) /* at most 8: a job is a bit of a byte */
#ifndef WIDTH
#define WIDTH 1
#endif
#ifndef NW
#define NW (WIDTH + 1) /* workers: one more than the width, so that a
                          protocol that ran more than WIDTH jobs could */
#endif
#ifndef NCANCEL
#define NCANCEL 2 /* tokens that the pool's cancel takes at most */
#endif

/*
 * Configuration: -DCANCEL (the two cancelling threads), -DFAILS (token
 * pushes and job pushes may fail), -DLIMIT=n (queue_limit n with
 * JOB_OVERFLOW_BLOCK), -DCALL_ORDER (check the order of the fn calls at
 * any width; README.md: it fails at width 2), -DCONTRACT (check only the
 * properties the API promises, not lane.c's debug assertions nor the
 * model's accounting of its counters: the planted bugs run this way, so
 * that what finds them is a broken promise).
 *
 * Planted bugs, each with -D (check-model.sh runs each and fails if it is
 * not found):
 *   BUG_PUSH_BEFORE_TOKEN  submit pushes the job and unlocks, then loads
 *                          active without the lock and adds a token
 *   BUG_TOKEN_AFTER_PUSH   submit pushes the job, then adds the token, and
 *                          a refused token leaves the refused job queued
 *   BUG_RETIRE_UNLOCKED    a token that finds the queue empty drops the
 *                          lock and retires later without looking again
 *   BUG_NO_SUCCESSOR       a token retires after its job although jobs wait
 *   BUG_SUCCESSOR_LOST     a token whose successor the pool refuses ends
 *                          as if it had been queued (no inline run)
 *   BUG_SUCCESSOR_EARLY    a token queues its successor when it takes its
 *                          job, before running it
 *   BUG_RETIRE_NO_WAKE     retire() does not wake the lane's sleepers
 *   BUG_CANCEL_RETIRES     cancel_token() retires the cancelled token
 *                          without looking for jobs accepted meanwhile
 *   BUG_VISIT_UNCOUNTED    the pool's cancel hands back a lane's jobs
 *                          without counting itself in the lane's callers
 */

#define BIT(k) (1 << (k))
#define LQ (ltail - lhead) /* queued(lane) */

/* ---- the lane: every field is lane->lock's ---- */
byte lhead, ltail; /* the queue: jobs taken (run or handed back), jobs
                      accepted; job k is the lane's k-th accepted job */
byte lactive;      /* active: tokens queued in the pool or running */
byte lrunning;     /* running: tokens running a job of the lane */
bool closing;      /* destroy has begun */
byte callers;      /* calls that left the lock and will take it again */
byte waiters;      /* threads in pthread_cond_wait(&lane->cond), a bit
                      each: producer s is bit s, destroy bit 2 (sleepers
                      is their number: only "!= 0" is used) */
#define DBIT BIT(2)

/* ---- the pool, abstracted ---- */
byte ptok;     /* the lane's tokens queued in the pool */
bool stopping; /* set once by shutdown, under the gate */
byte nexited;  /* workers that exited */

/* ---- ghost state ---- */
byte ntaken;      /* tokens held by workers: from the take to their end */
byte nbusy;       /* of those, tokens that took a job and have not yet
                     taken the lock again after it */
byte ncancel;     /* tokens held by the pool's cancel */
byte nrun;        /* jobs whose fn is running */
byte called;      /* jobs whose fn was called */
byte handed;      /* jobs handed back by a cancel */
byte refused;     /* jobs queued by a submit that then failed (bugs) */
byte nprod_done;  /* producers that returned for good */
byte nblocked;    /* producers inside a submit blocked for room */
bool destroyed;   /* job_lane_destroy() has seen the lane drain: only
                     the pool's cancel may still lock it, until unlinked */
bool unlinked;    /* destroy has taken the lane out of the pool's list
                     and freed it */
bool joined;      /* job_pool_shutdown() has returned */
byte nfinished;   /* shutdown, destroy, the cancels: returned */
/* Properties, each a flag set just before the assertion that it is
 * false, so that an error names what broke. */
bool over_width;     /* (a) a job called while WIDTH jobs of the lane run */
bool out_of_order;   /* (b) a job called before one accepted earlier was
                        called or handed back */
bool refused_ran;    /* (c) a job whose submit failed was called or handed
                        back */
bool not_once;       /* (c) at the end, an accepted job was neither called
                        nor handed back, or both */
bool job_held_back;  /* (d) see held_back, near the end */
bool shutdown_early; /* (d) shutdown returned with a job of the lane
                        waiting, and no cancel holds a token to hand it
                        back */
bool destroy_early;  /* destroy returned with a job of the lane waiting or
                        running, a call in it, or a token of it left */
#ifdef CANCEL
#define NFINISH 4
#else
#define NFINISH 2
#endif

/* Every step that takes lane->lock: the lane must not have been freed, or
 * be about to be (the pool's cancel passes a drained lane by). */
#define LANE_LOCK assert(!destroyed)
/* lane_unlock(): lane.c's debug assertions, the rule among them. */
#ifndef CONTRACT
#define LANE_UNLOCK                                                      \
    assert(lrunning <= lactive && lactive <= WIDTH);                     \
    assert(LQ <= lactive - lrunning || lactive == WIDTH)
#define RETIRE_CHECK assert(lactive > lrunning)
#else
#define LANE_UNLOCK skip
#define RETIRE_CHECK skip
#endif

/* wake_sleepers(): broadcast on lane->cond when anyone sleeps on it */
#define BROADCAST waiters = 0
/* retire(): the token ends without a successor */
#ifndef BUG_RETIRE_NO_WAKE
#define RETIRE RETIRE_CHECK; lactive--; BROADCAST
#else
#define RETIRE RETIRE_CHECK; lactive--
#endif

/*
 * job__submit_token(): the pool refuses a token once stopping is set (the
 * test and the push are made under the shard's tail_lock); never for
 * room.  With -DFAILS it may also fail at will, which for a successor
 * also stands for job__lane_run() not pushing one because nothing else
 * waits in the pool (it then runs the next job, as when refused).
 */
#ifdef FAILS
#define TOKEN_PUSH(ok)                                                   \
    if :: !stopping -> ptok++; ok = true :: true -> ok = false fi
#else
#define TOKEN_PUSH(ok)                                                   \
    if :: !stopping -> ptok++; ok = true :: else -> ok = false fi
#endif

/* lane_pop() for a token: the job at the head; room for a blocked submit */
#define POP(k) k = lhead; lhead++; lrunning++; nbusy++; BROADCAST
/* lane_pop() for a hand-back */
#define HAND_BACK                                                        \
    refused_ran = (refused & BIT(lhead)) != 0; assert(!refused_ran);     \
    handed = handed | BIT(lhead); lhead++; BROADCAST

/*
 * The call of job k's fn, after the unlock: at most WIDTH jobs run
 * (property a), a refused job never runs (c), and (b), at width 1 or with
 * -DCALL_ORDER, every job accepted before k has been called or handed
 * back.
 */
#if WIDTH == 1 || defined(CALL_ORDER)
#define ORDER_CHECK(k)                                                   \
    out_of_order = (((called | handed) & (BIT(k) - 1)) != BIT(k) - 1);   \
    assert(!out_of_order)
#else
#define ORDER_CHECK(k) skip
#endif
#define CALL(k)                                                          \
    over_width = (nrun >= WIDTH); assert(!over_width); nrun++;           \
    refused_ran = (refused & BIT(k)) != 0; assert(!refused_ran);         \
    ORDER_CHECK(k); called = called | BIT(k); k = 0

/* ---------------------------------------------------------------------- */

/*
 * A producer: job_submit_lane() NJOBS times.  Each submit is one critical
 * section (accept_locked()), or, at the lane's queue_limit, a wait on
 * lane->cond and a new attempt after each wake-up.
 */
#ifdef LIMIT
/* JOB__FULL: count itself in callers once, sleep (releasing the lock) */
#define ROOM(me)                                                         \
    if                                                                   \
    :: LQ >= LIMIT ->                                                    \
        if :: !waited -> waited = true; callers++; nblocked++ :: else fi; \
        waiters = waiters | BIT(me); goto sleep_room                     \
    :: else                                                              \
    fi
/* after the loop of a blocked submit, whatever its result */
#define LEAVE                                                            \
    if                                                                   \
    :: waited -> waited = false; callers--; nblocked--; BROADCAST        \
    :: else                                                              \
    fi
#else
#define ROOM(me) skip
#define LEAVE skip
#endif
/* refusal(): closing, or pool->stopping (a relaxed load: see the top) */
#define REFUSAL                                                          \
    if                                                                   \
    :: closing -> LEAVE; LANE_UNLOCK; nprod_done++; goto done            \
    :: !closing && stopping -> LEAVE; LANE_UNLOCK; goto next             \
    :: !closing -> skip                                                  \
    fi
/* job__queue_push() into the lane, which may fail (ENOMEM) with -DFAILS:
 * the token added before it stays, finds nothing and retires */
#ifdef FAILS
#define JOB_PUSH if :: ltail++ :: skip fi
#else
#define JOB_PUSH ltail++
#endif
#ifndef BUG_TOKEN_AFTER_PUSH
/* a token first, while lactive < width; then the job */
#define ACCEPT(me)                                                       \
    REFUSAL;                                                             \
    ROOM(me);                                                            \
    if                                                                   \
    :: lactive < WIDTH ->                                                \
        TOKEN_PUSH(ok);                                                  \
        if                                                               \
        :: !ok -> LEAVE; LANE_UNLOCK; goto next                          \
        :: else -> ok = false; lactive++                                 \
        fi                                                               \
    :: else                                                              \
    fi;                                                                  \
    JOB_PUSH; LEAVE; LANE_UNLOCK; goto next
#else
#define ACCEPT(me)                                                       \
    REFUSAL;                                                             \
    ROOM(me);                                                            \
    k = ltail; ltail++;                                                  \
    if                                                                   \
    :: lactive < WIDTH ->                                                \
        TOKEN_PUSH(ok);                                                  \
        if                                                               \
        :: !ok -> refused = refused | BIT(k)                             \
        :: else -> ok = false; lactive++                                 \
        fi                                                               \
    :: else                                                              \
    fi;                                                                  \
    k = 0; LEAVE; LANE_UNLOCK; goto next
#endif

proctype producer(byte me)
{
    byte n, k;
    bool ok, waited;

next:
    if
    :: atomic { n == NJOBS -> nprod_done++; goto done }
#ifndef BUG_PUSH_BEFORE_TOKEN
    :: atomic { n < NJOBS -> LANE_LOCK; n++; ACCEPT(me) }
#else
    /* push and unlock; load lactive without the lock; lock, add a token */
    :: atomic { n < NJOBS -> LANE_LOCK; n++; REFUSAL; ltail++; LANE_UNLOCK };
       atomic { ok = (lactive < WIDTH) };
       atomic {
        LANE_LOCK;
        if
        :: ok -> TOKEN_PUSH(ok); if :: ok -> lactive++ :: else fi
        :: else
        fi;
        ok = false; LANE_UNLOCK; goto next
       }
#endif
    fi;
#ifdef LIMIT
sleep_room:
    /* woken by a broadcast: take the lock, try again */
    atomic { !(waiters & BIT(me)) -> LANE_LOCK; ACCEPT(me) };
#endif
done:
    skip
}

/*
 * A worker: takes a token from the pool whenever one is queued, else waits
 * (parked); exits once stopping is set and the pool is empty.  A token is
 * job__lane_run(): lock; pop the oldest job and run it, or retire; after
 * the job, lock: nothing waits, retire; else queue a successor and end,
 * or, if the pool refuses it, run the next job here.
 */
proctype worker()
{
    byte k;
    bool ok;
#ifdef BUG_SUCCESSOR_EARLY
    bool early;
#endif

idle:
    if
    :: atomic { ptok > 0 -> ptok--; ntaken++ }
    :: atomic { stopping && ptok == 0 -> nexited++; goto gone }
    fi;
    atomic {
        LANE_LOCK;
        if
        :: LQ > 0 -> POP(k);
#ifdef BUG_SUCCESSOR_EARLY
            if :: LQ > 0 -> TOKEN_PUSH(early) :: else fi;
#endif
            LANE_UNLOCK
        :: else -> RETIRE; ntaken--; LANE_UNLOCK; goto idle
        fi
    };
call:
    atomic { CALL(k) };
    /* fn returns; lock */
    atomic {
        LANE_LOCK; nrun--; lrunning--; nbusy--;
#ifdef BUG_SUCCESSOR_EARLY
        if :: early -> early = false; ntaken--; LANE_UNLOCK; goto idle
           :: else fi;
#endif
#ifdef BUG_NO_SUCCESSOR
        RETIRE; ntaken--; LANE_UNLOCK; goto idle
#else
        if
#ifndef BUG_RETIRE_UNLOCKED
        :: LQ == 0 -> RETIRE; ntaken--; LANE_UNLOCK; goto idle
#else
        :: LQ == 0 -> LANE_UNLOCK; goto retire_later
#endif
        :: LQ > 0 -> TOKEN_PUSH(ok);
            if
            :: ok -> ok = false; ntaken--; LANE_UNLOCK; goto idle
#ifndef BUG_SUCCESSOR_LOST
            :: else -> POP(k); LANE_UNLOCK; goto call
#else
            :: else -> ntaken--; LANE_UNLOCK; goto idle
#endif
            fi
        fi
#endif
    };
#ifdef BUG_RETIRE_UNLOCKED
retire_later:
    atomic { LANE_LOCK; RETIRE; ntaken--; LANE_UNLOCK; goto idle };
#endif
gone:
    skip
}

/* job_pool_shutdown(): stopping under the gate; the workers drain the
 * pool and exit; join.  Every job the lane accepted must have run by then,
 * except those that a cancel holding one of its tokens will hand back. */
proctype shutdown()
{
    atomic { stopping = true };
    atomic {
        nexited == NW ->
        joined = true;
        shutdown_early = (LQ != 0 && ncancel == 0);
        assert(!shutdown_early);
        nfinished++
    }
}
/*
 * job_lane_destroy(), when every producer has returned or is blocked in a
 * submit: closing, wake the sleepers, wait until lactive and callers are 0,
 * unlock, then unlink it from the pool's list and free it.  Nothing but
 * the pool's cancel passing it by may use the lane after the wait: no
 * token of it is left, in the pool, on a worker or in a cancel.
 */
#define FREE                                                             \
    LANE_UNLOCK; destroyed = true;                                       \
    destroy_early = (LQ != 0 || nrun != 0 || callers != 0 ||             \
                     ptok + ntaken + ncancel != 0);                      \
    assert(!destroy_early); nfinished++
proctype destroyer()
{
    atomic {
        nprod_done + nblocked == NPROD -> LANE_LOCK;
        closing = true; BROADCAST;
        if
        :: lactive != 0 || callers != 0 -> waiters = waiters | DBIT
        :: else -> FREE; goto out
        fi
    };
sleep:
    atomic {
        !(waiters & DBIT) -> LANE_LOCK;
        if
        :: lactive != 0 || callers != 0 ->
            waiters = waiters | DBIT; goto sleep
        :: else -> FREE
        fi
    };
out:
    atomic { unlinked = true }
}

#ifdef CANCEL
/*
 * job_lane_cancel_queued(), before destroy begins (no call may follow
 * it): hand back the jobs accepted before now, in order, the lock dropped
 * around each hand-back.
 */
proctype lane_cancel()
{
    byte end;

    if
    :: atomic {
        !closing -> LANE_LOCK; end = ltail;
        if
        :: lhead < end -> HAND_BACK; callers++; LANE_UNLOCK
        :: else -> end = 0; LANE_UNLOCK; goto done
        fi
       }
    :: goto done /* not called */
    fi;
again:
    atomic {
        LANE_LOCK; callers--; BROADCAST;
        if
        :: lhead < end -> HAND_BACK; callers++; LANE_UNLOCK; goto again
        :: else -> end = 0; LANE_UNLOCK
        fi
    };
done:
    atomic { nfinished++ }
}

/*
 * cancel_token(), after the jobs accepted before it began: jobs accepted
 * since need this token, or another in its place; while the pool refuses
 * one, hand them back.
 */
#ifndef BUG_CANCEL_RETIRES
#define CT_REST                                                          \
    if                                                                   \
    :: LQ != 0 ->                                                        \
        TOKEN_PUSH(ok);                                                  \
        if                                                               \
        :: ok -> ok = false; ncancel--; LANE_UNLOCK; goto next           \
        :: else -> HAND_BACK; callers++; LANE_UNLOCK; goto refused_back  \
        fi                                                               \
    :: else -> RETIRE; ncancel--; LANE_UNLOCK; goto next                 \
    fi
#else
#define CT_REST RETIRE; ncancel--; LANE_UNLOCK; goto next
#endif

/*
 * job_pool_cancel_queued(): takes the lane's tokens out of the pool, up to
 * NCANCEL of them, each at a moment when one is queued, and may stop at
 * any time.  (The C cancel takes only jobs queued when it began; the model
 * lets it take any token, which covers those.)  For each, cancel_token():
 * hand back the jobs accepted before now, the lock dropped around each
 * hand-back; then CT_REST.
 */
proctype pool_cancel()
{
    byte end, n;
    bool ok;

next:
    if
    :: atomic { n < NCANCEL && ptok > 0 -> ptok--; ncancel++; n++ }
    :: goto visit
    fi;
    atomic {
        LANE_LOCK; end = ltail;
        if
        :: lhead < end -> HAND_BACK; callers++; LANE_UNLOCK
        :: else -> end = 0; CT_REST
        fi
    };
back:
    atomic {
        LANE_LOCK; callers--; BROADCAST;
        if
        :: lhead < end -> HAND_BACK; callers++; LANE_UNLOCK; goto back
        :: else -> end = 0; CT_REST
        fi
    };
refused_back:
    atomic { LANE_LOCK; callers--; BROADCAST; CT_REST };
/*
 * job__lanes_cancel(): the visit of the lane in the pool's list, which it
 * stays in until destroy unlinks it, also while destroy waits.  A visit
 * after destroy's wait must find no job and so not count itself.
 */
#ifndef BUG_VISIT_UNCOUNTED
#define VISIT_COUNT callers++
#define VISIT_UNCOUNT callers--
#else
#define VISIT_COUNT skip
#define VISIT_UNCOUNT skip
#endif
visit:
    if
    :: atomic { unlinked -> goto done }
    :: atomic {
        !unlinked ->
        if
        :: LQ == 0 -> goto done
        :: else ->
            LANE_LOCK; end = ltail; HAND_BACK; VISIT_COUNT; LANE_UNLOCK
        fi
       }
    fi;
visit_back:
    atomic {
        LANE_LOCK; VISIT_UNCOUNT; BROADCAST;
        if
        :: lhead < end ->
            HAND_BACK; VISIT_COUNT; LANE_UNLOCK; goto visit_back
        :: else -> end = 0; LANE_UNLOCK
        fi
    };
done:
    atomic { nfinished++ }
}
#endif

/*
 * (d) Held back: a job waits in the lane, fewer than WIDTH of the lane's
 * tokens are running a job, and no token is on its way to the lane (none
 * queued in the pool, none taken by a worker and not yet at its job, none
 * held by a cancel).  Nothing but the return of a running job would then
 * run the waiting one, and that job may block for ever, even on the one
 * that waits: the lane promises that a lane with jobs waiting and fewer
 * than width running has one of them queued in its pool.  With no job
 * running, the job is stranded.
 */
#define UNSTARTED (ptok + ntaken - nbusy + ncancel)
#define held_back (LQ > 0 && nbusy < WIDTH && UNSTARTED == 0)
/* The lane's counts against the tokens that exist. */
#define accounts_ok                                                      \
    (lactive == ptok + ntaken + ncancel && lrunning == nbusy)
#define all_done                                                         \
    (nfinished == NFINISH && nprod_done == NPROD && nexited == NW)

proctype monitor()
{
end:
    if
    :: atomic { held_back -> job_held_back = true; assert(!job_held_back) }
#ifndef CONTRACT
    :: atomic { !accounts_ok -> assert(accounts_ok) }
#endif
    :: atomic {
        all_done ->
        not_once = (LQ != 0 || (called | handed) != BIT(ltail) - 1 ||
                    (called & handed) != 0);
        assert(!not_once)
       }
    fi
}

init
{
    byte i;

    atomic {
        do
        :: i < NW -> run worker(); i++
        :: else -> i = 0; break
        od;
        run producer(0);
#if NPROD == 2
        run producer(1);
#endif
        run shutdown();
        run destroyer();
#ifdef CANCEL
        run lane_cancel();
        run pool_cancel();
#endif
        /* last, so that the search tries its steps first: a state that
         * breaks a property is reported as soon as it is reached */
        run monitor()
    }
}
