/* SPDX-License-Identifier: MIT */
/*
 * Who is idle, who is woken, who starts and who leaves: the only file that
 * writes nspinning, nparked, nlive, nstarting, nexiting and the parked
 * stack.
 *
 * A worker is in one of four states: running a job; spinning (counted in
 * nspinning: awake, polling the shards); parked (on the stack, counted in
 * nparked, asleep on its own condition variable); or woken (taken off the
 * stack by a waker, counted nowhere until it runs again).
 *
 * The rules that keep a queued job from waiting while a worker is idle
 * (each step named is a sequentially consistent atomic operation, so of
 * any two threads that each write and then read, one sees the other's
 * write):
 *  1. Publish, then look.  A submit publishes its job (an exchange of
 *     tail_seq), then loads nparked and nspinning: if someone is parked
 *     and nobody spins, it wakes one (job__wake_or_grow).
 *  2. Announce, then look.  A worker parks by pushing itself on the stack
 *     and counting itself in nparked, then stops counting as spinning, and
 *     only then looks at the shards once more: if a job is there, it takes
 *     itself back off the stack.  With rule 1, either the submit sees the
 *     parked worker or the worker sees the job.
 *  3. The last spinner passes it on.  A spinner stops counting in
 *     nspinning only once it holds a job; a submit that saw it spinning
 *     woke nobody, but its job may not be the one the spinner took.  So a
 *     worker whose decrement leaves nspinning at zero looks at the shards,
 *     and if work is left wakes (or starts) one more worker.  Either the
 *     submit saw nspinning at zero (rule 1 wakes) or this look sees its
 *     job.  A woken worker counts itself spinning before it looks, so the
 *     wake-ups chain through a burst.
 * Spinning is bounded (worker.c); a woken worker is counted nowhere until
 * it runs, so each job of a burst that finds nobody spinning wakes its own
 * worker, side by side.
 *
 * Elastic pools.  A job that finds nobody parked or spinning and fewer
 * than max_threads threads has a thread started for it (job__wake_or_grow:
 * one start in flight per queued job, so the starts run side by side).  A
 * parked worker that has slept idle_timeout leaves if more than
 * min_threads live and no job is queued; it decides with the gate closed
 * (every shard's tail_lock held: shards.c), so a submit that checks nlive
 * and nexiting under its tail_lock either sees it gone or is seen.  After
 * its stop hook it looks once more, the gate closed again, and stays if a
 * job has nobody to run it (job__exit_or_stay).  nlive and nexiting are
 * lowered only with the gate closed: a submit never sees more threads than
 * there are.
 *
 * Locks: pool->lock, then idle_lock, then the gate; a worker's park_lock
 * is taken alone.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>

/* Adds delta to a counter stored under idle_lock. */
static void count(_Atomic unsigned *n, int delta)
{
    unsigned v =
        atomic_load_explicit(n, memory_order_relaxed) + (unsigned)delta;

    JOB__ASSERT(delta >= 0 || v != (unsigned)-1);
    atomic_store_explicit(n, v, memory_order_seq_cst);
}

/* The invariants of the fields under idle_lock, which must be held. */
static void check_locked(const job_pool *pool)
{
#ifdef JOBPOOL_DEBUG
    unsigned len = 0;

    for (const struct job__worker *w = pool->parked; w != NULL;
         w = w->next_parked)
        len++;
    JOB__ASSERT(len == atomic_load(&pool->nparked));
    JOB__ASSERT(atomic_load(&pool->nlive) <= pool->cfg.max_threads);
    /* Each thread counts itself at most once as idle, and only while it
     * is counted live: so threads_idle never exceeds the threads. */
    JOB__ASSERT(len + atomic_load(&pool->nspinning) <=
                atomic_load(&pool->nlive));
#else
    (void)pool;
#endif
}

static void push_parked(job_pool *pool, struct job__worker *w)
{
    w->next_parked = pool->parked;
    w->parked = true;
    pool->parked = w;
    count(&pool->nparked, 1);
}

/* Takes w, or the top of the stack when w is NULL, off the stack; returns
 * it, or NULL when the stack is empty. */
static struct job__worker *pop_parked(job_pool *pool, struct job__worker *w)
{
    struct job__worker **link = &pool->parked;

    while (*link != NULL && w != NULL && *link != w)
        link = &(*link)->next_parked;
    w = *link;
    if (w != NULL) {
        *link = w->next_parked;
        w->next_parked = NULL;
        w->parked = false;
        count(&pool->nparked, -1);
    }
    return w;
}

static void wake(struct job__worker *w)
{
    (void)pthread_mutex_lock(&w->park_lock);
    w->wake = true;
    (void)pthread_cond_signal(&w->park_cond);
    (void)pthread_mutex_unlock(&w->park_lock);
}

/* A start for a queued job that nobody idle can take: one in flight per
 * queued job, up to max_threads.  idle_lock must be held. */
static bool growth_wanted(job_pool *pool)
{
    return pool->elastic && pool->parked == NULL &&
           atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) == 0 &&
           atomic_load_explicit(&pool->nlive, memory_order_relaxed) <
               pool->cfg.max_threads &&
           pool->nstarting < pool->cfg.max_threads &&
           pool->nstarting < job__shards_depth(pool);
}

void job__wake_or_grow(job_pool *pool)
{
    struct job__worker *sleeper = NULL;
    bool grow = false;

    (void)pthread_mutex_lock(&pool->idle_lock);
    if (atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) == 0)
        sleeper = pop_parked(pool, NULL);
    if (sleeper == NULL && growth_wanted(pool)) {
        pool->nstarting++;
        grow = true;
    }
    check_locked(pool);
    (void)pthread_mutex_unlock(&pool->idle_lock);
    if (sleeper != NULL)
        wake(sleeper);
    if (grow) {
        (void)pthread_mutex_lock(&pool->lock);
        (void)job__worker_add_locked(pool);
        (void)pthread_mutex_unlock(&pool->lock);
    }
}

void job__reserve_start(job_pool *pool)
{
    (void)pthread_mutex_lock(&pool->idle_lock);
    pool->nstarting++;
    (void)pthread_mutex_unlock(&pool->idle_lock);
}

void job__start_done(job_pool *pool, bool started)
{
    (void)pthread_mutex_lock(&pool->idle_lock);
    if (started) {
        count(&pool->nlive, 1); /* nstarting stays until it is ready */
    } else {
        JOB__ASSERT(pool->nstarting > 0);
        pool->nstarting--;
    }
    check_locked(pool);
    (void)pthread_mutex_unlock(&pool->idle_lock);
}

void job__worker_ready(job_pool *pool)
{
    /* The thread that started this one counts it in nlive under pool->lock
     * once pthread_create() has returned: wait for that, or a thread that
     * finds the pool draining could leave first and take nlive below
     * zero. */
    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_mutex_unlock(&pool->lock);
    (void)pthread_mutex_lock(&pool->idle_lock);
    /* Spinning and no longer starting in one step: a submit that looks in
     * between must not take it for busy and start yet another. */
    (void)atomic_fetch_add_explicit(&pool->nspinning, 1, memory_order_seq_cst);
    JOB__ASSERT(pool->nstarting > 0);
    pool->nstarting--;
    (void)pthread_mutex_unlock(&pool->idle_lock);
}

void job__worker_took_job(job_pool *pool)
{
    unsigned before =
        atomic_fetch_sub_explicit(&pool->nspinning, 1, memory_order_seq_cst);

    JOB__ASSERT(before > 0);
    /* Rule 3. */
    if (before == 1 &&
        (atomic_load_explicit(&pool->nparked, memory_order_seq_cst) != 0 ||
         pool->elastic) &&
        job__work_visible(pool))
        job__wake_or_grow(pool);
}

void job__worker_ran_dry(job_pool *pool)
{
    (void)atomic_fetch_add_explicit(&pool->nspinning, 1, memory_order_seq_cst);
}

/* Takes a parked worker whose idle timeout ran out off the stack, if the
 * pool can spare it.  Returns true when it must exit. */
static bool leave_if_idle(job_pool *pool, struct job__worker *w)
{
    bool leave;

    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_mutex_lock(&pool->idle_lock);
    job__gate_close(pool);
    leave = w->parked &&
            atomic_load_explicit(&pool->nlive, memory_order_relaxed) >
                pool->cfg.min_threads &&
            !atomic_load_explicit(&pool->stopping, memory_order_relaxed) &&
            !job__work_visible(pool);
    if (leave) {
        (void)pop_parked(pool, w);
        count(&pool->nlive, -1);
        count(&pool->nexiting, 1);
    }
    job__gate_open(pool);
    check_locked(pool);
    (void)pthread_mutex_unlock(&pool->idle_lock);
    (void)pthread_mutex_unlock(&pool->lock);
    return leave;
}

static uint64_t idle_timeout_ns(const job_pool *pool)
{
    return (uint64_t)pool->cfg.idle_timeout_ms * 1000000u;
}

/* Sleeps until a waker sets w->wake.  A worker of an elastic pool looks
 * every idle_timeout whether it can leave.  Returns true when it must. */
static bool sleep_parked(job_pool *pool, struct job__worker *w)
{
    struct timespec deadline;

    if (pool->elastic)
        job__deadline_after(&deadline, idle_timeout_ns(pool));
    (void)pthread_mutex_lock(&w->park_lock);
    while (!w->wake) {
        if (!pool->elastic)
            (void)pthread_cond_wait(&w->park_cond, &w->park_lock);
        else if (pthread_cond_timedwait(&w->park_cond, &w->park_lock,
                                        &deadline) == ETIMEDOUT &&
                 !w->wake) {
            (void)pthread_mutex_unlock(&w->park_lock);
            if (leave_if_idle(pool, w))
                return true;
            job__deadline_after(&deadline, idle_timeout_ns(pool));
            (void)pthread_mutex_lock(&w->park_lock);
        }
    }
    w->wake = false;
    (void)pthread_mutex_unlock(&w->park_lock);
    return false;
}

enum job__park_result job__park(job_pool *pool, struct job__worker *w)
{
    bool on_stack;

    (void)pthread_mutex_lock(&pool->idle_lock);
    if (atomic_load_explicit(&pool->stopping, memory_order_acquire)) {
        /* Every accepted job was published before stopping (job__gate
         * closed around it), so an empty look now means drained. */
        bool drained = !job__work_visible(pool);

        if (drained) {
            (void)atomic_fetch_sub_explicit(&pool->nspinning, 1,
                                            memory_order_seq_cst);
            count(&pool->nlive, -1);
            count(&pool->nexiting, 1);
        }
        (void)pthread_mutex_unlock(&pool->idle_lock);
        return drained ? JOB__PARK_EXIT : JOB__PARK_WORK;
    }
    /* Rule 2: announce, then look. */
    push_parked(pool, w);
    (void)atomic_fetch_sub_explicit(&pool->nspinning, 1, memory_order_seq_cst);
    check_locked(pool);
    (void)pthread_mutex_unlock(&pool->idle_lock);

    if (job__work_visible(pool)) {
        (void)pthread_mutex_lock(&pool->idle_lock);
        on_stack = w->parked;
        if (on_stack) {
            (void)pop_parked(pool, w);
            (void)atomic_fetch_add_explicit(&pool->nspinning, 1,
                                            memory_order_seq_cst);
        }
        (void)pthread_mutex_unlock(&pool->idle_lock);
        if (on_stack)
            return JOB__PARK_WORK;
        /* A waker took it off the stack: its wake is on the way. */
    }
    if (sleep_parked(pool, w))
        return JOB__PARK_EXIT;
    /* Woken: counted spinning again before it looks (rule 3). */
    (void)atomic_fetch_add_explicit(&pool->nspinning, 1, memory_order_seq_cst);
    return JOB__PARK_WORK;
}

bool job__exit_or_stay(struct job__worker *w)
{
    job_pool *pool = w->pool;
    bool stay;

    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_mutex_lock(&pool->idle_lock);
    job__gate_close(pool);
    count(&pool->nexiting, -1);
    /* A start reserved by someone else does not count: it may fail, or
     * find the pool shutting down; at worst the pool then has one thread
     * more for an idle timeout. */
    stay = pool->parked == NULL &&
           atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) == 0 &&
           atomic_load_explicit(&pool->nlive, memory_order_relaxed) <
               pool->cfg.max_threads &&
           job__work_visible(pool);
    if (stay) {
        count(&pool->nlive, 1);
        pool->nstarting++; /* until job__worker_ready(), as a new thread */
    }
    job__gate_open(pool);
    check_locked(pool);
    (void)pthread_mutex_unlock(&pool->idle_lock);
    if (!stay)
        job__place_exited(w);
    (void)pthread_mutex_unlock(&pool->lock);
    return stay;
}

void job__wake_all(job_pool *pool)
{
    struct job__worker *w;

    for (;;) {
        (void)pthread_mutex_lock(&pool->idle_lock);
        w = pop_parked(pool, NULL);
        (void)pthread_mutex_unlock(&pool->idle_lock);
        if (w == NULL)
            break;
        wake(w);
    }
}

unsigned job__threads_idle(job_pool *pool)
{
    return atomic_load_explicit(&pool->nspinning, memory_order_relaxed) +
           atomic_load_explicit(&pool->nparked, memory_order_relaxed);
}
