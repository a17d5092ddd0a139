/* SPDX-License-Identifier: MIT */
/*
 * Submitting: the fast path that queues a job on the caller's shard and
 * wakes or starts a worker if one must be (idle.c), and the slow paths
 * taken only when a pool refuses a job at first sight: a full bounded queue
 * (reject, wait for room, or run the job in the caller) and an elastic pool
 * with no thread left.
 *
 * A fixed-size pool without a limit pays for none of this: its submit
 * takes its own shard's tail_lock, pushes, and loads nparked.
 *
 * Room in a bounded queue.  queued_now counts the jobs queued in all
 * shards: a submit reserves a place in it before it pushes, a worker or a
 * cancel gives places back after taking jobs out.  A submitter that finds
 * no room counts itself in space_waiters under space_lock (a sequentially
 * consistent read-modify-write) and then looks at queued_now again; a
 * releaser lowers queued_now (a sequentially consistent read-modify-write)
 * and then loads space_waiters.  So either the submitter sees the room or
 * the releaser sees the waiter, and wakes it under space_lock, which the
 * submitter holds from its look until it sleeps.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>

/* Raises queued_peak to depth if it is higher. */
static void raise_peak(job_pool *pool, size_t depth)
{
    size_t peak =
        atomic_load_explicit(&pool->queued_peak, memory_order_relaxed);

    while (depth > peak && !atomic_compare_exchange_weak_explicit(
                               &pool->queued_peak, &peak, depth,
                               memory_order_relaxed, memory_order_relaxed))
        ;
}

/* Takes a place in a bounded queue; false when it holds queue_limit jobs.
 * The count is exact, and so is the peak kept from it. */
static bool room_reserve(job_pool *pool)
{
    size_t n = atomic_load_explicit(&pool->queued_now, memory_order_seq_cst);

    do {
        if (n >= pool->cfg.queue_limit)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&pool->queued_now, &n,
                                                    n + 1, memory_order_seq_cst,
                                                    memory_order_seq_cst));
    raise_peak(pool, n + 1);
    return true;
}

/* Takes a place in a bounded queue whatever its count: a lane's token,
 * which the lane's own limit bounds. */
static void room_take(job_pool *pool)
{
    raise_peak(pool, atomic_fetch_add_explicit(&pool->queued_now, 1,
                                               memory_order_seq_cst) +
                         1);
}

void job__notify_space_waiters(job_pool *pool)
{
    if (atomic_load_explicit(&pool->space_waiters, memory_order_seq_cst) == 0)
        return;
    (void)pthread_mutex_lock(&pool->space_lock);
    (void)pthread_cond_broadcast(&pool->space_cond);
    (void)pthread_mutex_unlock(&pool->space_lock);
}

static void give_back(job_pool *pool, size_t n)
{
    size_t before =
        atomic_fetch_sub_explicit(&pool->queued_now, n, memory_order_seq_cst);

    JOB__ASSERT(before >= n);
    (void)before;
}

void job__room_release(job_pool *pool, size_t n)
{
    give_back(pool, n);
    job__notify_space_waiters(pool);
}

/* Records the depth of an unbounded pool's shard after a push if it may be
 * a new peak; tail_lock must be held.  The bound from head_bound decides
 * cheaply that it is not; the shard's consumers' line is read only when
 * the bound passes the shard's peak by more than 1/64 of it, so a peak of
 * n costs about 64 ln n looks, and each shard's peak is exact below 64
 * jobs and within 1/64 of the truth above.  A new peak of a shard takes a
 * look at every shard, so the pool's peak is at least the deepest shard's
 * and at most the true peak. */
static void note_depth(job_pool *pool, struct job__shard *shard)
{
    uint64_t tail =
        atomic_load_explicit(&shard->queue.tail_seq, memory_order_relaxed);

    if (tail - shard->head_bound <= shard->depth_peak + shard->depth_peak / 64)
        return;
    shard->head_bound = job__shard_taken_bound(shard);
    if (tail - shard->head_bound <= shard->depth_peak)
        return;
    shard->depth_peak = (size_t)(tail - shard->head_bound);
    raise_peak(pool, shard->depth_peak);
    raise_peak(pool, (size_t)job__shards_depth(pool));
}

/* Queues the job if the pool takes it now; the shard's tail_lock must be
 * held.  Returns 0, ESHUTDOWN, ENOMEM or JOB__NO_WORKER.  Inlined: this is
 * the whole of the fast path. */
static inline __attribute__((always_inline)) int
queue_locked(job_pool *pool, struct job__shard *shard, job_fn fn, void *ctx)
{
    int rc;

    if (atomic_load_explicit(&pool->stopping, memory_order_relaxed))
        return ESHUTDOWN;
    /* A thread that is leaving looks again before it goes (see
     * job__exit_or_stay()), so it counts as one to run the job.  Both
     * counts are lowered only with every tail_lock held. */
    if (pool->elastic &&
        atomic_load_explicit(&pool->nlive, memory_order_seq_cst) == 0 &&
        atomic_load_explicit(&pool->nexiting, memory_order_seq_cst) == 0)
        return JOB__NO_WORKER;
    rc = job__queue_push(&shard->queue, fn, ctx);
    if (rc == 0 && pool->cfg.queue_limit == 0)
        note_depth(pool, shard);
    return rc;
}

/* How an attempt treats a bounded queue. */
enum room_rule {
    ROOM_CHECKED,      /* JOB__FULL at queue_limit */
    ROOM_SPACE_LOCKED, /* the same; the caller holds space_lock (it waits
                          for room) */
    ROOM_ANY           /* a lane's token (lane.c): taken past the limit */
};

/* One attempt to queue the job on the caller's shard.  Returns what
 * queue_locked() returns, or JOB__FULL. */
static int attempt(job_pool *pool, job_fn fn, void *ctx, enum room_rule room)
{
    struct job__shard *shard = job__my_shard(pool);
    int rc;

    if (shard == NULL)
        return ENOMEM;
    if (pool->cfg.queue_limit != 0) {
        if (room == ROOM_ANY)
            room_take(pool);
        else if (!room_reserve(pool))
            return atomic_load_explicit(&pool->stopping, memory_order_relaxed)
                       ? ESHUTDOWN
                       : JOB__FULL;
    }
    (void)pthread_mutex_lock(&shard->queue.tail_lock);
    rc = queue_locked(pool, shard, fn, ctx);
    (void)pthread_mutex_unlock(&shard->queue.tail_lock);
    /* A place given back wakes the waiters, who may have found the
     * queue full because of it; outside tail_lock, which comes after
     * space_lock. */
    if (rc != 0 && pool->cfg.queue_limit != 0) {
        give_back(pool, 1);
        if (room == ROOM_SPACE_LOCKED)
            (void)pthread_cond_broadcast(&pool->space_cond);
        else
            job__notify_space_waiters(pool);
    }
    return rc;
}

/* After a job was queued: rule 1 of idle.c.  Made once per job, by
 * submit() or job__submit_token(), whichever attempt queued it. */
static void follow_up(job_pool *pool)
{
    if (job__may_need_worker(pool))
        job__wake_or_grow(pool);
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
 * queues the job.  Returns what attempt() returns, except JOB__FULL, or
 * ETIMEDOUT. */
static int wait_for_room(job_pool *pool, job_fn fn, void *ctx,
                         const uint64_t *timeout_ns)
{
    struct timespec deadline;
    bool timed_out = false;
    int rc, cancel_state;

    if (timeout_ns != NULL)
        job__deadline_after(&deadline, *timeout_ns);
    /* Not a cancellation point (see jobpool.h): a cancel acted on inside
     * the wait would leave space_lock held and the waiter counted. */
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    (void)pthread_mutex_lock(&pool->space_lock);
    for (;;) {
        atomic_fetch_add_explicit(&pool->space_waiters, 1,
                                  memory_order_seq_cst);
        /* After a timeout, one last look: room may have come with it. */
        rc = attempt(pool, fn, ctx, ROOM_SPACE_LOCKED);
        if (rc != JOB__FULL || timed_out) {
            atomic_fetch_sub_explicit(&pool->space_waiters, 1,
                                      memory_order_relaxed);
            break;
        }
        if (timeout_ns == NULL)
            (void)pthread_cond_wait(&pool->space_cond, &pool->space_lock);
        else if (pthread_cond_timedwait(&pool->space_cond, &pool->space_lock,
                                        &deadline) == ETIMEDOUT)
            timed_out = true;
        atomic_fetch_sub_explicit(&pool->space_waiters, 1,
                                  memory_order_relaxed);
    }
    (void)pthread_mutex_unlock(&pool->space_lock);
    (void)pthread_setcancelstate(cancel_state, NULL);
    return rc == JOB__FULL ? ETIMEDOUT : rc;
}

/* An elastic pool with no thread: starts one and queues the job while
 * holding pool->lock, which an idle thread needs to exit, so the new
 * thread cannot leave before the job is there for it. */
static int queue_with_new_worker(job_pool *pool, job_fn fn, void *ctx,
                                 enum room_rule room)
{
    int rc;

    (void)pthread_mutex_lock(&pool->lock);
    while ((rc = attempt(pool, fn, ctx, room)) == JOB__NO_WORKER) {
        job__reserve_start(pool);
        rc = job__worker_add_locked(pool);
        if (rc != 0)
            break;
    }
    (void)pthread_mutex_unlock(&pool->lock);
    return rc;
}

/* Both public submits.  timeout_ns is NULL for job_submit_detached(),
 * which follows the overflow policy.  The first attempt is the whole of
 * the fast path; the loop settles a job it did not queue at once. */
static inline __attribute__((always_inline)) int
submit(job_pool *pool, job_fn fn, void *ctx, const uint64_t *timeout_ns)
{
    int rc;

    if (pool == NULL || fn == NULL)
        return EINVAL;
    rc = attempt(pool, fn, ctx, ROOM_CHECKED);
    for (;;) {
        switch (rc) {
        case 0:
            follow_up(pool);
            return 0;
        case JOB__NO_WORKER:
            rc = queue_with_new_worker(pool, fn, ctx, ROOM_CHECKED);
            break;
        case JOB__FULL:
            if (timeout_ns == NULL && pool->cfg.overflow == JOB_OVERFLOW_REJECT)
                return refuse(pool, EAGAIN, &pool->rejected_full);
            if (timeout_ns == NULL &&
                (pool->cfg.overflow == JOB_OVERFLOW_CALLER_RUNS ||
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

int job_submit_detached(job_pool *pool, job_fn fn, void *ctx)
{
    return submit(pool, fn, ctx, NULL);
}

int job_submit_detached_timed(job_pool *pool, job_fn fn, void *ctx,
                              uint64_t timeout_ns)
{
    return submit(pool, fn, ctx, &timeout_ns);
}

int job__submit_token(job_pool *pool, job_fn fn, void *ctx)
{
    int rc = attempt(pool, fn, ctx, ROOM_ANY);

    if (rc == JOB__NO_WORKER)
        rc = queue_with_new_worker(pool, fn, ctx, ROOM_ANY);
    if (rc == 0)
        follow_up(pool);
    return rc;
}
