/* SPDX-License-Identifier: MIT */
/*
 * Submitting: the fast path that queues a job and wakes a worker if one
 * must be woken, and the slow paths taken only when a pool refuses a job
 * at first sight: a full bounded queue (reject, wait for room, or run the
 * job in the caller) and an elastic pool with no thread left.
 *
 * A fixed-size pool without a limit pays for none of this: its submit
 * tests `guarded` and `parked` and otherwise only pushes.
 *
 * Room in a bounded queue.  A submitter that finds the queue full adds
 * itself to space_waiters (a sequentially consistent read-modify-write)
 * and then reads head_seq; a worker that took a job stores head_seq, makes
 * a sequentially consistent fence and reads space_waiters.  So either the
 * submitter sees the room or the worker sees the waiter, and then wakes it
 * under tail_lock, which the submitter holds from its check until it
 * sleeps.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>

/* What a submit does once it has dropped tail_lock. */
struct followup {
    struct job__worker *sleeper; /* a parked worker to wake */
    bool grow;                   /* a worker reserved in nstarting */
};

/* True when the queue holds queue_limit jobs.  tail_lock must be held.
 * head_seen is an old value of head_seq, so the first test is a bound that
 * spares the consumers' cache line while there is room. */
static bool queue_full(job_pool *pool)
{
    uint64_t tail =
        atomic_load_explicit(&pool->queue.tail_seq, memory_order_relaxed);

    if (tail - pool->head_seen < pool->queue_limit)
        return false;
    pool->head_seen =
        atomic_load_explicit(&pool->queue.head_seq, memory_order_seq_cst);
    return tail - pool->head_seen >= pool->queue_limit;
}

/* Records the depth after a push if it may be a new peak.  tail_lock must
 * be held.  The bound from left_seen decides cheaply that it is not.  It
 * reads the workers' counters only when the bound passes the peak by more
 * than 1/64 of it: while a backlog grows under busy workers, a look per
 * push would cost a cache miss per push (measured: 21 -> 28 ns a submit,
 * 40 -> 32 M jobs/s with one producer); this way a peak of n costs about
 * 64 ln n looks in all, and the peak kept is exact below 64 jobs and
 * within 1/64 of the truth above. */
static void note_depth(job_pool *pool)
{
    uint64_t tail =
        atomic_load_explicit(&pool->queue.tail_seq, memory_order_relaxed);
    size_t peak =
        atomic_load_explicit(&pool->queued_peak, memory_order_relaxed);

    if (tail - pool->left_seen <= peak + peak / 64)
        return;
    /* Jobs in a worker's batch have passed head_seq but are still queued:
     * count what has started instead.  A bounded pool claims no batches,
     * and its head_seq is what its limit counts. */
    if (pool->queue_limit != 0)
        pool->left_seen =
            atomic_load_explicit(&pool->queue.head_seq, memory_order_acquire);
    else
        pool->left_seen =
            job__started(pool) +
            atomic_load_explicit(&pool->cancelled, memory_order_relaxed);
    if (tail - pool->left_seen > peak)
        atomic_store_explicit(&pool->queued_peak,
                              (size_t)(tail - pool->left_seen),
                              memory_order_relaxed);
}

bool job__thread_needed(job_pool *pool)
{
    if (pool->parked != NULL || pool->nlive >= pool->max_threads)
        return false;
    /* nspinning first: a spinner stops counting only once it has taken
     * its job, so if it is seen gone, so is the job it took. */
    if (atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) != 0)
        return false;
    return job__work_queued(pool);
}

bool job__reserve_growth(job_pool *pool)
{
    uint64_t depth;

    if (!job__thread_needed(pool))
        return false;
    /* One start for each job in the FIFO that waits for a thread, so the
     * starts run side by side: a slow start hook delays its own thread's
     * first job, not every later start. */
    depth = atomic_load_explicit(&pool->queue.tail_seq, memory_order_relaxed) -
            atomic_load_explicit(&pool->queue.head_seq, memory_order_relaxed);
    if (pool->nstarting >= depth)
        return false;
    pool->nstarting++;
    return true;
}

/* Queues the job if the pool takes it now, and says in *f whom to wake.
 * tail_lock must be held.  Returns 0, ESHUTDOWN, ENOMEM, JOB__FULL or
 * JOB__NO_WORKER.  Inlined: this is the whole of the fast path. */
static inline __attribute__((always_inline)) int
queue_locked(job_pool *pool, job_fn fn, void *ctx, struct followup *f)
{
    int rc;

    if (atomic_load_explicit(&pool->stopping, memory_order_relaxed))
        return ESHUTDOWN;
    if (pool->guarded) {
        if (pool->queue_limit != 0 && queue_full(pool))
            return JOB__FULL;
        /* A thread that is leaving looks again before it goes (see
         * job__worker_exit_or_stay()), so it counts as one to run it. */
        if (pool->nlive == 0 && pool->nexiting == 0)
            return JOB__NO_WORKER;
    }
    rc = job__queue_push(&pool->queue, fn, ctx);
    if (rc != 0)
        return rc;
    note_depth(pool);
    /* Rule 2 of worker.c, when someone is parked, and growth, when an
     * elastic pool has room for a thread: both load nspinning next.  The
     * read-modify-write puts the publication of the job in the single
     * order of sequentially consistent operations ahead of that load, so
     * that a spinner that stops counting after it (rule 3) sees the job.
     * A plain release store of tail_seq may wait in the store buffer past
     * the load; growth without the read-modify-write stranded a job
     * (issue 15). */
    if (pool->parked == NULL &&
        (!pool->elastic || pool->nlive >= pool->max_threads))
        return 0;
    (void)atomic_fetch_add_explicit(&pool->queue.tail_seq, 0,
                                    memory_order_seq_cst);
    if (pool->parked != NULL) {
        if (atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) == 0)
            f->sleeper = job__unpark_one(pool);
    } else {
        f->grow = job__reserve_growth(pool);
    }
    return 0;
}

static void follow_up(job_pool *pool, const struct followup *f)
{
    if (f->sleeper != NULL)
        job__worker_wake(f->sleeper);
    if (f->grow)
        job__worker_add(pool);
}

/* Counts a refused submit and returns its error. */
static int refuse(job_pool *pool, int rc, _Atomic uint64_t *reason)
{
    atomic_fetch_add_explicit(&pool->rejected, 1, memory_order_relaxed);
    if (reason != NULL)
        atomic_fetch_add_explicit(reason, 1, memory_order_relaxed);
    return rc;
}

static bool on_own_worker(job_pool *pool)
{
    bool own;

    (void)pthread_mutex_lock(&pool->lock);
    own = job__called_from_worker_locked(pool);
    (void)pthread_mutex_unlock(&pool->lock);
    return own;
}

/* Back-pressure: the submitting thread runs the job itself. */
static int run_in_caller(job_pool *pool, job_fn fn, void *ctx)
{
    if (atomic_load_explicit(&pool->stopping, memory_order_acquire))
        return refuse(pool, ESHUTDOWN, &pool->rejected_shutdown);
    fn(ctx);
    atomic_fetch_add_explicit(&pool->ran_in_caller, 1, memory_order_relaxed);
    return 0;
}

/* Waits for room in the queue, until the deadline if there is one, and
 * queues the job.  Returns what queue_locked() returns, except JOB__FULL,
 * or ETIMEDOUT. */
static int wait_for_room(job_pool *pool, job_fn fn, void *ctx,
                         const uint64_t *timeout_ns)
{
    struct followup f = {NULL, false};
    struct timespec deadline;
    bool timed_out = false;
    int rc, cancel_state;

    if (timeout_ns != NULL)
        job__deadline_after(&deadline, *timeout_ns);
    /* Not a cancellation point (see jobpool.h): a cancel acted on inside
     * the wait would leave tail_lock held and the waiter counted. */
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    for (;;) {
        atomic_fetch_add_explicit(&pool->space_waiters, 1,
                                  memory_order_seq_cst);
        /* After a timeout, one last look: room may have come with it. */
        rc = queue_locked(pool, fn, ctx, &f);
        if (rc != JOB__FULL || timed_out) {
            atomic_fetch_sub_explicit(&pool->space_waiters, 1,
                                      memory_order_relaxed);
            break;
        }
        if (timeout_ns == NULL)
            (void)pthread_cond_wait(&pool->space_cond, &pool->queue.tail_lock);
        else if (pthread_cond_timedwait(&pool->space_cond,
                                        &pool->queue.tail_lock,
                                        &deadline) == ETIMEDOUT)
            timed_out = true;
        atomic_fetch_sub_explicit(&pool->space_waiters, 1,
                                  memory_order_relaxed);
    }
    if (rc == JOB__FULL)
        rc = ETIMEDOUT;
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
    (void)pthread_setcancelstate(cancel_state, NULL);
    follow_up(pool, &f);
    return rc;
}

/* An elastic pool with no thread: starts one and queues the job while
 * holding pool->lock, which an idle thread needs to exit, so the new
 * thread cannot leave before the job is there for it.  With no thread
 * alive, every place is free. */
static int queue_with_new_worker(job_pool *pool, job_fn fn, void *ctx)
{
    struct followup f = {NULL, false};
    int rc;

    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    while ((rc = queue_locked(pool, fn, ctx, &f)) == JOB__NO_WORKER) {
        pool->nstarting++;
        (void)pthread_mutex_unlock(&pool->queue.tail_lock);
        rc = job__worker_add_locked(pool);
        (void)pthread_mutex_lock(&pool->queue.tail_lock);
        if (rc != 0)
            break;
    }
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
    (void)pthread_mutex_unlock(&pool->lock);
    follow_up(pool, &f);
    return rc;
}

/* Settles a submit that queue_locked() did not accept at once.  timeout_ns
 * is NULL for job_submit_detached(), which follows the overflow policy. */
static int submit_slow(job_pool *pool, job_fn fn, void *ctx, int rc,
                       const uint64_t *timeout_ns)
{
    for (;;) {
        switch (rc) {
        case 0:
            return 0;
        case JOB__NO_WORKER:
            rc = queue_with_new_worker(pool, fn, ctx);
            break;
        case JOB__FULL:
            if (timeout_ns == NULL && pool->overflow == JOB_OVERFLOW_REJECT)
                return refuse(pool, EAGAIN, &pool->rejected_full);
            if (timeout_ns == NULL &&
                (pool->overflow == JOB_OVERFLOW_CALLER_RUNS ||
                 on_own_worker(pool)))
                return run_in_caller(pool, fn, ctx);
            rc = wait_for_room(pool, fn, ctx, timeout_ns);
            break;
        case ETIMEDOUT:
            return refuse(pool, ETIMEDOUT, &pool->rejected_full);
        case ESHUTDOWN:
            return refuse(pool, ESHUTDOWN, &pool->rejected_shutdown);
        default:
            return refuse(pool, rc, NULL);
        }
    }
}

/* The attempt every submit starts with. */
static inline int submit_fast(job_pool *pool, job_fn fn, void *ctx)
{
    struct followup f = {NULL, false};
    int rc;

    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    rc = queue_locked(pool, fn, ctx, &f);
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
    if (rc == 0)
        follow_up(pool, &f);
    return rc;
}

int job_submit_detached(job_pool *pool, job_fn fn, void *ctx)
{
    int rc;

    if (pool == NULL || fn == NULL)
        return EINVAL;
    rc = submit_fast(pool, fn, ctx);
    if (rc != 0)
        rc = submit_slow(pool, fn, ctx, rc, NULL);
    return rc;
}

int job_submit_detached_timed(job_pool *pool, job_fn fn, void *ctx,
                              uint64_t timeout_ns)
{
    int rc;

    if (pool == NULL || fn == NULL)
        return EINVAL;
    rc = submit_fast(pool, fn, ctx);
    if (rc != 0)
        rc = submit_slow(pool, fn, ctx, rc, &timeout_ns);
    return rc;
}
