/* SPDX-License-Identifier: MIT */
/*
 * The pool's lifecycle: create, wait_idle, shutdown, cancel, destroy.
 *
 * DESIGN
 *
 * Model.  A submit appends {fn, ctx} to its thread's shard, a FIFO of
 * 16-byte slots in blocks of 1024 (queue.c), and returns; worker threads take
 * jobs one at a time from the heads of the shards, one shard after another,
 * and run them.  Each submitting thread has a shard of its own (shards.c, up
 * to JOB__SHARDS threads, then shared), so in steady state each shard has
 * one producer and no line is written by two producers per job; its jobs
 * are taken in the order it submitted them, and jobs of different threads
 * have no order between them.  A shard's producer side (tail_lock) and
 * consumer side (head_lock) are apart, so submitting never waits for a
 * worker taking a job.  No worker holds jobs for later: a job is queued in
 * its shard until the worker that takes it runs it, so a job that blocks
 * holds back nothing but itself.  Idle workers spin briefly, then park;
 * idle.c states the rules that keep a queued job from waiting while a
 * worker is idle, and how an elastic pool grows and shrinks between
 * min_threads and max_threads (threads.c starts and joins the threads).  A
 * bounded queue refuses, blocks or runs the job in the caller when full
 * (submit.c); only a bounded pool keeps a count that every submit writes.
 *
 * Lifecycle.
 *
 *     create ──► RUNNING ──shutdown──► DRAINING ──all exited──► STOPPED
 *                                      (refuses jobs,   and joined  │
 *                                       runs accepted ones;      destroy
 *                                       cancel may empty it)        ▼
 *                                                                 freed
 *
 * Locks, in the order they may be nested:
 *   lanes_lock       the pool's list of lanes (lane.c): taken by lane
 *                    create and destroy, and by cancel to visit the lanes;
 *                    never held while a hand-back runs.
 *   lane lock        a lane's queue and counts (lane.c); held while it
 *                    queues a token in the pool, which may start a thread.
 *   lock             state, the idle and stopped conditions, the places'
 *                    flags, threads_alive, next_shard.  Held while starting
 *                    a thread and by a thread deciding to exit.
 *   space_lock       a bounded pool's waiting submitters.
 *   idle_lock        the parked stack and the thread counts (idle.c).
 *   shard tail_locks a shard's producer side; all of them together are
 *                    the gate (shards.c), closed to set stopping and to
 *                    lower nlive and nexiting.
 *   shard head_lock  a shard's consumer side; never held with another.
 *   worker park_lock a worker's wake flag; taken alone.
 *
 * Visibility.  A submitter's writes before a successful submit are visible
 * to the job (tail_seq is stored with release ordering after the slot and
 * loaded with acquire ordering before the slot is read).  A job's writes
 * are visible to the thread that job_pool_wait_idle() or job_pool_shutdown()
 * returns to (the worker's completed counter is stored with release after
 * the job returns and loaded with acquire by the waiter; shutdown joins).
 *
 * Shutdown sets stopping with the gate closed, so every submit after it
 * sees the flag and fails with ESHUTDOWN, and every job accepted before it
 * is published.  It wakes every parked worker and every submitter waiting
 * for room; a worker exits only when it sees stopping and every shard
 * empty.  The last thread to exit signals stopped_cond; a shutdown caller
 * waits for that (until its deadline, if it has one), joins the threads and
 * moves to STOPPED.  Shutdown allocates nothing.
 *
 * Cancelling takes queued jobs from the head of each shard under its
 * head_lock, as a worker does, so each job is either run or handed back,
 * never both.  Then it visits the pool's lanes, whose waiting jobs are
 * not all behind a token in the shards (a lane at its width has none
 * there), and takes them out under each lane's lock.
 *
 * Lanes (lane.c) and groups (group.c) sit on top of the pool: a lane's
 * jobs wait in the lane and reach the pool one token at a time; a group's
 * job is a pool or lane job that counts itself out of its group.  Neither
 * adds anything to the path of a plain submit or of a worker.  A group's
 * lock is never held while it calls the pool.
 *
 * Deliberately not offered: job handles, results, priorities, cancellation
 * of running jobs, per-worker affinity, and any use of a pool inherited
 * across fork().
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Jobs handed back per turn of head_lock: workers wait at most this
 * many slots for a cancel, and the batch lives on the stack. */
#define CANCEL_BATCH 64

/* Refuses further jobs and wakes every parked worker so it can drain the
 * shards and exit, and every submitter waiting for room so it can fail.
 * Idempotent. */
static void begin_drain(job_pool *pool)
{
    job__gate_close(pool);
    atomic_store_explicit(&pool->stopping, true, memory_order_release);
    job__gate_open(pool);
    job__wake_all(pool);
    job__notify_space_waiters(pool);
}

/* The pool's mutexes and condition variables, for init and fini.  Every
 * condition variable times its waits on CLOCK_MONOTONIC; idle_cond is
 * never waited on with a deadline, which makes no difference to it. */
#define POOL_LOCKS(pool)                                                       \
    {                                                                          \
        &(pool)->lock, &(pool)->space_lock, &(pool)->lanes_lock,               \
            &(pool)->idle_lock                                                 \
    }
#define POOL_CONDS(pool)                                                       \
    {                                                                          \
        &(pool)->idle_cond, &(pool)->stopped_cond, &(pool)->space_cond         \
    }
enum { NLOCKS = 4, NCONDS = 3 };

static void pool_sync_fini(job_pool *pool, size_t nlocks, size_t nconds)
{
    pthread_mutex_t *locks[NLOCKS] = POOL_LOCKS(pool);
    pthread_cond_t *conds[NCONDS] = POOL_CONDS(pool);

    while (nconds > 0)
        (void)pthread_cond_destroy(conds[--nconds]);
    while (nlocks > 0)
        (void)pthread_mutex_destroy(locks[--nlocks]);
}

/* Initialises them all, or none: on failure, what was made is destroyed. */
static int pool_sync_init(job_pool *pool)
{
    pthread_mutex_t *locks[NLOCKS] = POOL_LOCKS(pool);
    pthread_cond_t *conds[NCONDS] = POOL_CONDS(pool);
    size_t nlocks = 0, nconds = 0;
    int rc = 0;

    while (rc == 0 && nlocks < NLOCKS)
        if ((rc = pthread_mutex_init(locks[nlocks], NULL)) == 0)
            nlocks++;
    while (rc == 0 && nconds < NCONDS)
        if ((rc = job__monotonic_cond_init(conds[nconds])) == 0)
            nconds++;
    if (rc != 0)
        pool_sync_fini(pool, nlocks, nconds);
    return rc;
}

/* A zeroed pool, with its places, carrying the settled options, or NULL. */
static job_pool *pool_alloc(const job_pool_options *cfg)
{
    size_t size =
        sizeof(job_pool) + cfg->max_threads * sizeof(struct job__worker);
    job_pool *pool = NULL;

    if (posix_memalign((void **)&pool, JOB__CACHELINE, size) != 0)
        return NULL;
    memset(pool, 0, size);
    JOB__ATOMIC_FIELD(&pool->stopping);
    JOB__ATOMIC_FIELD(&pool->shards_in_use);
    JOB__ATOMIC_FIELD(&pool->queued_now);
    JOB__ATOMIC_FIELD(&pool->queued_peak);
    JOB__ATOMIC_FIELD(&pool->idle_waiters);
    JOB__ATOMIC_FIELD(&pool->space_waiters);
    JOB__ATOMIC_FIELD(&pool->rejected);
    JOB__ATOMIC_FIELD(&pool->rejected_full);
    JOB__ATOMIC_FIELD(&pool->rejected_shutdown);
    JOB__ATOMIC_FIELD(&pool->ran_in_caller);
    JOB__ATOMIC_FIELD(&pool->cancelled);
    JOB__ATOMIC_FIELD(&pool->thread_start_failures);
    JOB__ATOMIC_FIELD(&pool->threads_alive);
    JOB__ATOMIC_FIELD(&pool->threads_peak);
    JOB__ATOMIC_FIELD(&pool->nparked);
    JOB__ATOMIC_FIELD(&pool->nlive);
    JOB__ATOMIC_FIELD(&pool->nexiting);
    JOB__ATOMIC_FIELD(&pool->nspinning);
    pool->cfg = *cfg;
    /* The caller's name may not outlive create: the pool keeps a copy. */
    (void)strncpy(pool->worker_name, cfg->name, sizeof pool->worker_name - 1);
    pool->cfg.name = pool->worker_name;
    pool->elastic = cfg->min_threads < cfg->max_threads;
    return pool;
}

int job_pool_create(job_pool **out, const job_pool_options *opts)
{
    job_pool_options cfg;
    job_pool *pool;
    int rc;

    if (out == NULL)
        return EINVAL;
    rc = job__options_settle(&cfg, opts);
    if (rc != 0)
        return rc;
    pool = pool_alloc(&cfg);
    if (pool == NULL)
        return ENOMEM;
    rc = job__shards_init(pool);
    if (rc != 0)
        goto fail_queue;
    rc = pool_sync_init(pool);
    if (rc != 0)
        goto fail_sync;
    rc = job__workers_init(pool);
    if (rc != 0)
        goto fail_workers;
    pool->state = JOB__RUNNING;
    rc = job__workers_start(pool, pool->cfg.min_threads);
    if (rc != 0)
        goto fail_threads;
    *out = pool;
    return 0;

fail_threads:
    begin_drain(pool);
    job__workers_join(pool);
    job__workers_fini(pool);
fail_workers:
    pool_sync_fini(pool, NLOCKS, NCONDS);
fail_sync:
    job__shards_fini(pool);
fail_queue:
    free(pool);
    return rc == ENOMEM || rc == EINVAL ? rc : EAGAIN;
}

/* At one instant, nothing queued or running: every accepted job has
 * completed or been handed back.  Those counters are read before the
 * shards' tail_seq; all are monotonic and their sum is at most the
 * accepted count, so equality means both were equal when the last
 * tail_seq was read. */
static bool pool_is_idle(job_pool *pool)
{
    uint64_t finished =
        job__completed(pool) +
        atomic_load_explicit(&pool->cancelled, memory_order_seq_cst);

    return finished == job__shards_submitted(pool);
}

int job_pool_wait_idle(job_pool *pool)
{
    bool own;
    int cancel_state;

    if (pool == NULL)
        return EINVAL;
    /* Not a cancellation point (see jobpool.h): a cancel acted on inside
     * pthread_cond_wait would leave pool->lock held and the waiter
     * registered. */
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    (void)pthread_mutex_lock(&pool->lock);
    own = pool->state != JOB__STOPPED && job__called_from_worker_locked(pool);
    if (!own) {
        /* See "Idle waiters" in worker.c. */
        atomic_fetch_add_explicit(&pool->idle_waiters, 1, memory_order_seq_cst);
        while (!pool_is_idle(pool))
            (void)pthread_cond_wait(&pool->idle_cond, &pool->lock);
        atomic_fetch_sub_explicit(&pool->idle_waiters, 1, memory_order_relaxed);
    }
    (void)pthread_mutex_unlock(&pool->lock);
    (void)pthread_setcancelstate(cancel_state, NULL);
    return own ? EDEADLK : 0;
}

/* The shutdown of both public forms; timeout_ns NULL waits without end. */
static int shutdown_within(job_pool *pool, const uint64_t *timeout_ns)
{
    struct timespec deadline;
    bool timed_out = false, own;
    int cancel_state;

    if (pool == NULL)
        return EINVAL;
    if (timeout_ns != NULL)
        job__deadline_after(&deadline, *timeout_ns);
    /* Not a cancellation point (see jobpool.h), like wait_idle. */
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    (void)pthread_mutex_lock(&pool->lock);
    own = pool->state != JOB__STOPPED && job__called_from_worker_locked(pool);
    if (!own && pool->state == JOB__RUNNING) {
        /* Growth goes on while draining, so that jobs waiting for each
         * other get threads up to max_threads, as in a running pool. */
        pool->state = JOB__DRAINING;
        (void)pthread_mutex_unlock(&pool->lock);
        begin_drain(pool);
        (void)pthread_mutex_lock(&pool->lock);
    }
    while (!own && pool->state != JOB__STOPPED) {
        if (atomic_load_explicit(&pool->threads_alive, memory_order_relaxed) ==
                0 &&
            !pool->joining) {
            /* Every thread has run its stop hook and is returning: join
             * them and move to STOPPED.  The joins are made without the
             * lock: a thread's exit runs its thread-specific data
             * destructors, which may call into the pool (wait_idle,
             * stats).  joining keeps a second caller from joining the
             * same threads and growth from starting one meanwhile. */
            pool->joining = true;
            (void)pthread_mutex_unlock(&pool->lock);
            job__workers_join(pool);
            (void)pthread_mutex_lock(&pool->lock);
            pool->state = JOB__STOPPED;
            (void)pthread_cond_broadcast(&pool->stopped_cond);
            break;
        }
        if (timed_out)
            break;
        if (timeout_ns == NULL)
            (void)pthread_cond_wait(&pool->stopped_cond, &pool->lock);
        else if (pthread_cond_timedwait(&pool->stopped_cond, &pool->lock,
                                        &deadline) == ETIMEDOUT)
            timed_out = true; /* one last look, then give up */
    }
    timed_out = pool->state != JOB__STOPPED;
    (void)pthread_mutex_unlock(&pool->lock);
    (void)pthread_setcancelstate(cancel_state, NULL);
    if (own)
        return EDEADLK;
    return timed_out ? ETIMEDOUT : 0;
}

int job_pool_shutdown(job_pool *pool)
{
    return shutdown_within(pool, NULL);
}

int job_pool_shutdown_timed(job_pool *pool, uint64_t timeout_ns)
{
    return shutdown_within(pool, &timeout_ns);
}

/* The shard's nonempty front whose next job is the oldest, if that job
 * was queued before sequence number end; else NULL.  Its queue's head_lock
 * must be held, so that no front is refilled. */
static struct job__front *oldest_front(struct job__shard *shard, uint64_t end)
{
    struct job__front *oldest = NULL;
    uint64_t oldest_seq = end;

    for (unsigned k = 0; k < JOB__FRONTS; k++) {
        struct job__front *f = &shard->fronts[k];
        uint64_t w = atomic_load_explicit(&f->word, memory_order_acquire);
        uint64_t seq = f->seq + (w >> JOB__FRONT_NEXT_SHIFT & 0xffu);

        if (job__front_left(w) != 0 && seq < oldest_seq) {
            oldest = f;
            oldest_seq = seq;
        }
    }
    return oldest;
}

/* Takes up to CANCEL_BATCH jobs from the head of shard i (its front, then
 * its queue) that were queued before sequence number end.  Returns how
 * many. */
static size_t take_batch(job_pool *pool, unsigned i, uint64_t end,
                         struct job__slot batch[CANCEL_BATCH])
{
    struct job__shard *shard = &pool->shards[i];
    struct job__queue *q = &shard->queue;
    struct job__front *f;
    size_t n = 0;

    (void)pthread_mutex_lock(&q->head_lock);
    /* The fronts first, oldest job first: their jobs are older than the
     * queue's.  A take that fails found its front emptied meanwhile. */
    while (n < CANCEL_BATCH && (f = oldest_front(shard, end)) != NULL)
        n += job__front_take(f, &batch[n]);
    while (n < CANCEL_BATCH &&
           atomic_load_explicit(&q->head_seq, memory_order_relaxed) < end &&
           job__queue_pop(q, &batch[n]))
        n++;
    (void)pthread_mutex_unlock(&q->head_lock);
    /* Counted as soon as they have left the queue: they are neither
     * queued nor running from here, so wait_idle (also one called by the
     * hand-back itself) and the stats see them gone. */
    if (n != 0)
        atomic_fetch_add_explicit(&pool->cancelled, n, memory_order_seq_cst);
    if (n != 0 && pool->cfg.queue_limit != 0)
        job__room_release(pool, n);
    return n;
}

int job_pool_cancel_queued(job_pool *pool, job_handback_fn handback, void *arg,
                           size_t *count)
{
    struct job__slot batch[CANCEL_BATCH];
    uint64_t end[JOB__SHARDS];
    size_t total = 0, n;

    if (pool == NULL || handback == NULL)
        return EINVAL;
    /* What is queued when the call begins, shard by shard; each shard's
     * jobs are handed back in the order they were submitted. */
    for (unsigned i = 0; i < JOB__SHARDS; i++)
        end[i] = atomic_load_explicit(&pool->shards[i].queue.tail_seq,
                                      memory_order_acquire);
    for (unsigned i = 0; i < JOB__SHARDS; i++) {
        while ((n = take_batch(pool, i, end[i], batch)) != 0) {
            for (size_t k = 0; k < n; k++)
                total += job__hand_back(batch[k], handback, arg);
        }
    }
    total += job__lanes_cancel(pool, handback, arg);
    /* One wake-up for the whole call: a wait_idle made by the hand-back
     * itself looks at the counts and needs none. */
    if (total != 0)
        job__notify_idle_waiters(pool);
    if (count != NULL)
        *count = total;
    return 0;
}

int job_pool_destroy(job_pool *pool)
{
    int rc;

    if (pool == NULL)
        return 0;
    rc = job_pool_shutdown(pool);
    if (rc != 0)
        return rc;
    job__workers_fini(pool);
    pool_sync_fini(pool, NLOCKS, NCONDS);
    job__shards_fini(pool);
    free(pool);
    return 0;
}
