/* SPDX-License-Identifier: MIT */
/*
 * The pool's lifecycle: create, wait_idle, shutdown, cancel, destroy.
 *
 * DESIGN
 *
 * Model.  A submit appends {fn, ctx} to a FIFO and returns; worker threads
 * take jobs from the head and run them.  The FIFO is a two-lock queue of
 * 16-byte slots in 64 KiB blocks (queue.c): producers serialise on
 * tail_lock, workers on head_lock, so submitting and taking do not wait for
 * each other.  Under a backlog (JOB__BATCH_MIN_DEPTH jobs per thread), a
 * worker claims the next JOB__BATCH_MAX jobs into its batch under one turn
 * of head_lock and takes them one by one without the lock; the jobs stay
 * queued, and any idle worker, or a cancel, takes them from the batch with
 * the same compare-and-swap, so a job that blocks holds back nothing but
 * itself while a worker is idle (worker.c, rule 4).  Idle workers spin
 * briefly, then park on their own condition variable; worker.c states the
 * rules that keep a queued job from waiting while a worker sleeps, and how
 * an elastic pool grows and shrinks between min_threads and max_threads
 * (threads.c starts and joins the threads).  A bounded queue refuses,
 * blocks or runs the job in the caller when full (submit.c).
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
 *   lock            state, the idle and stopped conditions, the workers'
 *                   started, exited and joined flags, threads_alive.  Held
 *                   while taking tail_lock to register an idle waiter, to
 *                   start a thread, and by an idle worker deciding to exit.
 *   queue.tail_lock the tail of the FIFO, the stack of parked workers,
 *                   nparked, nlive, nstarting, head_seen, space_cond and
 *                   the stopping flag.
 *   queue.head_lock the head of the FIFO, and the refill of a worker's
 *                   batch (the jobs in a batch are taken with a
 *                   compare-and-swap, without it).  Never held with
 *                   tail_lock.
 *   worker.park_lock a worker's wake flag; taken alone.
 *
 * Ordering and visibility.  Jobs are taken from the FIFO in the order they
 * were accepted; with one worker they start in that order.  With several,
 * a job in one worker's batch may start after later jobs that another
 * worker took from the FIFO while the owner ran an earlier job.  An idle
 * worker takes from any batch, and a busy one takes from a batch that has
 * stopped moving before it goes back to the FIFO, noticing it within a few
 * of its own takes from the FIFO (worker.c, steal_stale).
 * A submitter's writes before a successful submit are visible to
 * the job (tail_seq is stored with release ordering after the slot and
 * loaded with acquire ordering before the slot is read).  A job's writes are
 * visible to the thread that job_pool_wait_idle() or job_pool_shutdown()
 * returns to (the worker's completed counter is stored with release after
 * the job returns and loaded with acquire by the waiter; shutdown joins).
 *
 * Shutdown sets stopping under tail_lock, so every submit after it sees the
 * flag and fails with ESHUTDOWN, and every job before it is in the queue.
 * It wakes every parked worker and every submitter waiting for room; a
 * worker exits only when, under tail_lock, it sees stopping and an empty
 * queue.  The last thread to exit signals stopped_cond; a shutdown caller
 * waits for that (until its deadline, if it has one), joins the threads and
 * moves to STOPPED.  Shutdown allocates nothing.
 *
 * Cancelling takes queued jobs under head_lock, from the batches (oldest
 * first, with the compare-and-swap the workers use) and then from the head
 * of the FIFO, so each job is either run or handed back, never both.
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
 * queue and exit, and every submitter waiting for room so it can fail.
 * Idempotent. */
static void begin_drain(job_pool *pool)
{
    struct job__worker *parked;

    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    atomic_store_explicit(&pool->stopping, true, memory_order_release);
    parked = pool->parked;
    pool->parked = NULL;
    atomic_store_explicit(&pool->nparked, 0, memory_order_relaxed);
    for (struct job__worker *w = parked; w != NULL; w = w->next_parked)
        w->parked = false;
    (void)pthread_cond_broadcast(&pool->space_cond);
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);

    while (parked != NULL) {
        struct job__worker *next = parked->next_parked;

        parked->next_parked = NULL;
        job__worker_wake(parked);
        parked = next;
    }
}

static int pool_sync_init(job_pool *pool)
{
    int rc = pthread_mutex_init(&pool->lock, NULL);

    if (rc != 0)
        return rc;
    rc = pthread_cond_init(&pool->idle_cond, NULL);
    if (rc != 0)
        goto fail_idle;
    rc = job__monotonic_cond_init(&pool->stopped_cond);
    if (rc != 0)
        goto fail_stopped;
    rc = job__monotonic_cond_init(&pool->space_cond);
    if (rc != 0)
        goto fail_space;
    return 0;

fail_space:
    (void)pthread_cond_destroy(&pool->stopped_cond);
fail_stopped:
    (void)pthread_cond_destroy(&pool->idle_cond);
fail_idle:
    (void)pthread_mutex_destroy(&pool->lock);
    return rc;
}

static void pool_sync_fini(job_pool *pool)
{
    (void)pthread_cond_destroy(&pool->space_cond);
    (void)pthread_cond_destroy(&pool->stopped_cond);
    (void)pthread_cond_destroy(&pool->idle_cond);
    (void)pthread_mutex_destroy(&pool->lock);
}

/* A zeroed pool carrying the settings, or NULL. */
static job_pool *pool_alloc(const struct job__settings *settings)
{
    job_pool *pool = NULL;

    if (posix_memalign((void **)&pool, JOB__CACHELINE, sizeof *pool) != 0)
        return NULL;
    memset(pool, 0, sizeof *pool);
    JOB__ATOMIC_FIELD(&pool->nparked);
    JOB__ATOMIC_FIELD(&pool->stopping);
    JOB__ATOMIC_FIELD(&pool->queued_peak);
    JOB__ATOMIC_FIELD(&pool->nspinning);
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
    pool->min_threads = settings->min_threads;
    pool->max_threads = settings->max_threads;
    pool->elastic = settings->min_threads < settings->max_threads;
    pool->idle_timeout_ns = settings->idle_timeout_ns;
    pool->queue_limit = settings->queue_limit;
    pool->overflow = settings->overflow;
    pool->guarded = pool->elastic || pool->queue_limit != 0;
    pool->thread_start = settings->thread_start;
    pool->thread_stop = settings->thread_stop;
    pool->thread_hook_arg = settings->thread_hook_arg;
    memcpy(pool->name, settings->name, sizeof pool->name);
    return pool;
}

int job_pool_create(job_pool **out, const job_pool_options *opts)
{
    struct job__settings settings;
    job_pool *pool;
    int rc;

    if (out == NULL)
        return EINVAL;
    rc = job__settings_from_options(&settings, opts);
    if (rc != 0)
        return rc;
    pool = pool_alloc(&settings);
    if (pool == NULL)
        return ENOMEM;
    rc = job__queue_init(&pool->queue);
    if (rc != 0)
        goto fail_queue;
    rc = pool_sync_init(pool);
    if (rc != 0)
        goto fail_sync;
    rc = job__workers_init(pool, &settings);
    if (rc != 0)
        goto fail_workers;
    pool->state = JOB__RUNNING;
    rc = job__workers_start(pool, pool->min_threads);
    if (rc != 0)
        goto fail_threads;
    *out = pool;
    return 0;

fail_threads:
    begin_drain(pool);
    job__workers_join(pool);
    job__workers_fini(pool);
fail_workers:
    pool_sync_fini(pool);
fail_sync:
    job__queue_destroy(&pool->queue);
fail_queue:
    free(pool);
    return rc == ENOMEM || rc == EINVAL ? rc : EAGAIN;
}

/* At one instant, nothing queued or running: every accepted job has
 * completed or been handed back.  Those counters are read before tail_seq;
 * all are monotonic and their sum is at most the accepted count, so
 * equality means both were equal when tail_seq was read. */
static bool pool_is_idle(job_pool *pool)
{
    uint64_t finished =
        job__completed(pool) +
        atomic_load_explicit(&pool->cancelled, memory_order_seq_cst);

    return finished ==
           atomic_load_explicit(&pool->queue.tail_seq, memory_order_seq_cst);
}

/* Registers or unregisters a wait_idle caller.  Under tail_lock, so that a
 * worker about to park sees it (see worker.c). */
static void add_idle_waiter(job_pool *pool, int delta)
{
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    atomic_store_explicit(
        &pool->idle_waiters,
        atomic_load_explicit(&pool->idle_waiters, memory_order_relaxed) +
            (unsigned)delta,
        memory_order_relaxed);
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
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
        add_idle_waiter(pool, 1);
        while (!pool_is_idle(pool))
            (void)pthread_cond_wait(&pool->idle_cond, &pool->lock);
        add_idle_waiter(pool, -1);
    }
    (void)pthread_mutex_unlock(&pool->lock);
    (void)pthread_setcancelstate(cancel_state, NULL);
    return own ? EDEADLK : 0;
}

/* Joins every thread, once every one has run its stop hook and is
 * returning, and moves to STOPPED; pool->lock must be held.  The joins are
 * made without the lock: a thread's exit runs its thread-specific data
 * destructors, which may call into the pool (wait_idle, stats).  joining
 * keeps a second caller from joining the same threads and growth from
 * starting one meanwhile. */
static void join_and_stop(job_pool *pool)
{
    pool->joining = true;
    (void)pthread_mutex_unlock(&pool->lock);
    job__workers_join(pool);
    (void)pthread_mutex_lock(&pool->lock);
    pool->state = JOB__STOPPED;
    (void)pthread_cond_broadcast(&pool->stopped_cond);
}

/* The shutdown of both public forms; deadline NULL waits without end. */
static int shutdown_until(job_pool *pool, const struct timespec *deadline)
{
    bool timed_out = false, own;
    int cancel_state;

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
            join_and_stop(pool);
            break;
        }
        if (timed_out)
            break;
        if (deadline == NULL)
            (void)pthread_cond_wait(&pool->stopped_cond, &pool->lock);
        else if (pthread_cond_timedwait(&pool->stopped_cond, &pool->lock,
                                        deadline) == ETIMEDOUT)
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
    if (pool == NULL)
        return EINVAL;
    return shutdown_until(pool, NULL);
}

int job_pool_shutdown_timed(job_pool *pool, uint64_t timeout_ns)
{
    struct timespec deadline;

    if (pool == NULL)
        return EINVAL;
    job__deadline_after(&deadline, timeout_ns);
    return shutdown_until(pool, &deadline);
}

/* The batch holding the oldest jobs, or NULL when every batch is empty;
 * head_lock must be held, so that no batch is refilled meanwhile. */
static struct job__batch *oldest_batch(job_pool *pool)
{
    struct job__batch *oldest = NULL;

    for (unsigned i = 0; i < pool->max_threads; i++) {
        struct job__batch *b = &pool->workers[i].batch;

        if (job__batch_left(
                atomic_load_explicit(&b->claim, memory_order_acquire)) != 0 &&
            (oldest == NULL || b->seq < oldest->seq))
            oldest = b;
    }
    return oldest;
}

/* Takes up to CANCEL_BATCH jobs queued before sequence number end, oldest
 * first: the workers' batches hold older jobs than the FIFO, and the jobs
 * of two batches do not interleave.  Under head_lock no batch is claimed
 * or refilled, but workers still take from them: a batch found oldest may
 * be emptied before its jobs are taken here, and then the next oldest is
 * looked for (batches only empty meanwhile, so the loop ends).  So a job
 * taken later in this call or the next is never older than one taken now.
 * Returns how many. */
static size_t take_batch(job_pool *pool, uint64_t end,
                         struct job__slot batch[CANCEL_BATCH])
{
    struct job__queue *q = &pool->queue;
    struct job__batch *b;
    size_t n = 0;

    (void)pthread_mutex_lock(&q->head_lock);
    while (n < CANCEL_BATCH && (b = oldest_batch(pool)) != NULL) {
        unsigned got = job__batch_take_before(b, end, &batch[n],
                                              (unsigned)(CANCEL_BATCH - n));

        if (got == 0) {
            if (job__batch_left(
                    atomic_load_explicit(&b->claim, memory_order_acquire)) == 0)
                continue; /* emptied by a worker meanwhile */
            break;        /* the oldest batch starts at end or later */
        }
        n += got;
    }
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
    return n;
}

int job_pool_cancel_queued(job_pool *pool, job_handback_fn handback, void *arg,
                           size_t *count)
{
    struct job__slot batch[CANCEL_BATCH];
    uint64_t end;
    size_t total = 0, n;

    if (pool == NULL || handback == NULL)
        return EINVAL;
    end = atomic_load_explicit(&pool->queue.tail_seq, memory_order_acquire);
    while ((n = take_batch(pool, end, batch)) != 0) {
        if (pool->queue_limit != 0)
            job__notify_space_waiters(pool);
        for (size_t i = 0; i < n; i++)
            handback(batch[i].fn, batch[i].ctx, arg);
        total += n;
    }
    /* One wake-up for every batch: a wait_idle made by the hand-back
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
    pool_sync_fini(pool);
    job__queue_destroy(&pool->queue);
    free(pool);
    return 0;
}
