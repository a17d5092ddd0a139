/* SPDX-License-Identifier: MIT */
/*
 * Lanes: FIFOs inside a pool that run at most `width` of their jobs at once,
 * in the order they were accepted.
 *
 * A lane's jobs wait in the lane's own queue.  The pool sees only tokens:
 * ordinary pool jobs {job__lane_run, lane}, at most width of them per lane.
 * A token that a worker runs takes the lane's oldest job and runs it; when
 * it returns and more jobs wait, it queues a successor token at the back of
 * the pool and ends if other work waits there, so a busy lane takes its
 * turn with the pool's other work, and runs the next job itself if none
 * does.  A lane never keeps a worker while it has nothing runnable.
 *
 * lane->lock guards every field below.  Counts: active is the tokens queued
 * in the pool or running, running the tokens running a job of the lane.
 * The rule that keeps a waiting job from waiting for nothing, checked at
 * every release of the lock in debug builds:
 *
 *     queued <= active - running   or   active == width
 *
 * (every waiting job has a token that has not started yet, or the lane is
 * at its width).  A submit adds a token while active < width, before it
 * queues the job, so a token that cannot be queued refuses the submit; a
 * token retires only when it finds the queue empty.  A token that cannot
 * queue its successor (the pool is shutting down, or out of memory) runs
 * the next job itself, so the pool's drain runs every lane's jobs.
 *
 * The pool's cancel may take a token out of the pool; it then hands back
 * the lane's waiting jobs (job__hand_back()), and the token retires or is
 * replaced as the rule requires.  A lane at its width has no token in the
 * pool, only running ones, so the pool also keeps a list of its lanes
 * (pool->lanes_lock), and its cancel visits each one (job__lanes_cancel()).  A
 * visit counts itself in the lane's callers while it hands back, as the lane's
 * own cancel does, and destroy leaves the list only once callers is zero.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The layout of version 0.3, the first with lanes. */
#define LANE_OPTIONS_V1_SIZE sizeof(job_lane_options)
#define LANE_STATS_V1_SIZE sizeof(job_lane_stats)

struct job_lane {
    job_pool *pool;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* lock: room made, a token retired, closing */
    /* The waiting jobs; lane->lock is both sides' lock. */
    struct job__queue queue;
    unsigned width;
    size_t queue_limit;
    enum job_overflow overflow;
    unsigned active;             /* lock */
    unsigned running;            /* lock */
    unsigned sleepers;           /* lock: threads waiting on cond */
    unsigned callers;            /* lock: calls that left the lock and
                                    will take it again (blocked submits,
                                    cancels): destroy waits for them */
    bool closing;                /* lock: destroy has begun */
    struct job__runner *runners; /* lock: threads running its jobs */
    /* In the pool's list of lanes until destroy has seen it drain. */
    job_lane *next;       /* pool->lanes_lock */
    job_lane **prev_next; /* pool->lanes_lock: what points to this lane */
    /* Statistics; lock. */
    uint64_t completed, rejected, cancelled;
    size_t queued_peak;
    unsigned running_peak;
};

void job__runner_remove(struct job__runner **list, struct job__runner *r)
{
    while (*list != r)
        list = &(*list)->next;
    *list = r->next;
}

static size_t queued(job_lane *lane)
{
    return (size_t)job__queue_depth(&lane->queue);
}

/* Releases lane->lock, checking the rule first. */
static void lane_unlock(job_lane *lane)
{
    JOB__ASSERT(lane->running <= lane->active && lane->active <= lane->width);
    JOB__ASSERT(queued(lane) <= lane->active - lane->running ||
                lane->active == lane->width);
    (void)pthread_mutex_unlock(&lane->lock);
}

static void wake_sleepers(job_lane *lane)
{
    if (lane->sleepers != 0)
        (void)pthread_cond_broadcast(&lane->cond);
}

/* Takes the lane's oldest waiting job; lock held. */
static bool lane_pop(job_lane *lane, struct job__slot *job)
{
    if (!job__queue_pop(&lane->queue, job))
        return false;
    wake_sleepers(lane); /* room for a blocked submit */
    return true;
}

/* A token ends without a successor; lock held. */
static void retire(job_lane *lane)
{
    JOB__ASSERT(lane->active > lane->running);
    lane->active--;
    wake_sleepers(lane);
}

void job__lane_run(void *arg)
{
    job_lane *lane = arg;
    struct job__runner me = {.thread = pthread_self()};
    struct job__slot job;
    bool others;

    (void)pthread_mutex_lock(&lane->lock);
    while (lane_pop(lane, &job)) {
        if (++lane->running > lane->running_peak)
            lane->running_peak = lane->running;
        me.next = lane->runners;
        lane->runners = &me;
        lane_unlock(lane);
        job.fn(job.ctx);
        others = job__work_visible(lane->pool); /* loads, out of the lock */
        (void)pthread_mutex_lock(&lane->lock);
        job__runner_remove(&lane->runners, &me);
        lane->running--;
        lane->completed++;
        if (queued(lane) == 0)
            break;
        /* While other work waits in the pool, the successor carries this
         * token on from the back of the pool.  Otherwise, or without a
         * successor (the pool is shutting down), this call runs the next
         * job itself: a successor would only be taken by the next free
         * worker, after a push, a pop and perhaps a wake-up. */
        if (others && job__submit_token(lane->pool, job__lane_run, lane) == 0) {
            lane_unlock(lane);
            return;
        }
    }
    retire(lane);
    lane_unlock(lane);
}

/* Hands back a waiting job, with lock dropped around the hand-back;
 * lock held.  Returns false when none waits.  The hand-back counts as one
 * of the lane's runners: a destroy or a blocked submit it made would wait
 * for this call, so they get EDEADLK. */
static bool hand_back_one(job_lane *lane, job_handback_fn handback, void *arg,
                          size_t *count)
{
    struct job__runner me = {.thread = pthread_self()};
    struct job__slot job;

    if (!lane_pop(lane, &job))
        return false;
    lane->cancelled++;
    lane->callers++;
    me.next = lane->runners;
    lane->runners = &me;
    lane_unlock(lane);
    *count += job__hand_back(job, handback, arg);
    (void)pthread_mutex_lock(&lane->lock);
    job__runner_remove(&lane->runners, &me);
    lane->callers--;
    wake_sleepers(lane);
    return true;
}

/* Hands back the jobs that wait in the lane now and were accepted before
 * sequence number end; lock held. */
static size_t hand_back_until(job_lane *lane, uint64_t end,
                              job_handback_fn handback, void *arg)
{
    size_t count = 0;

    while (atomic_load_explicit(&lane->queue.head_seq, memory_order_relaxed) <
               end &&
           hand_back_one(lane, handback, arg, &count))
        ;
    return count;
}

static uint64_t accepted(job_lane *lane)
{
    return atomic_load_explicit(&lane->queue.tail_seq, memory_order_relaxed);
}

/* The pool's cancel took this lane's token out of the pool. */
static size_t cancel_token(job_lane *lane, job_handback_fn handback, void *arg)
{
    size_t count;

    (void)pthread_mutex_lock(&lane->lock);
    count = hand_back_until(lane, accepted(lane), handback, arg);
    /* Jobs accepted since need this token, or another in its place; a
     * pool that takes no more tokens has them handed back too. */
    while (queued(lane) != 0 &&
           job__submit_token(lane->pool, job__lane_run, lane) != 0)
        (void)hand_back_one(lane, handback, arg, &count);
    if (queued(lane) == 0)
        retire(lane);
    lane_unlock(lane);
    return count;
}

size_t job__hand_back(struct job__slot job, job_handback_fn handback, void *arg)
{
    if (job.fn == job__lane_run)
        return cancel_token(job.ctx, handback, arg);
    if (job.fn == job__group_run)
        job__group_hand_back(job.ctx, handback, arg);
    else
        handback(job.fn, job.ctx, arg);
    return 1;
}

void job_lane_options_init_sized(job_lane_options *opts, size_t struct_size)
{
    if (opts == NULL || struct_size < LANE_OPTIONS_V1_SIZE)
        return;
    memset(opts, 0, struct_size);
    opts->struct_size = struct_size;
}

static int lane_init(job_lane *lane, job_pool *pool, const job_lane_options *o)
{
    int rc = pthread_mutex_init(&lane->lock, NULL);

    if (rc != 0)
        return rc == ENOMEM ? ENOMEM : EAGAIN;
    rc = pthread_cond_init(&lane->cond, NULL);
    if (rc == 0) {
        rc = job__queue_init(&lane->queue, JOB__LANE_BLOCK_SLOTS);
        if (rc == 0) {
            lane->pool = pool;
            lane->width = o->width != 0 ? o->width : 1;
            lane->queue_limit = o->queue_limit;
            lane->overflow = o->overflow;
            return 0;
        }
        (void)pthread_cond_destroy(&lane->cond);
    }
    (void)pthread_mutex_destroy(&lane->lock);
    return rc == ENOMEM ? ENOMEM : EAGAIN;
}

int job_lane_create(job_pool *pool, job_lane **lane,
                    const job_lane_options *opts)
{
    job_lane_options o;
    job_lane *l;
    int rc;

    if (pool == NULL || lane == NULL)
        return EINVAL;
    rc = job__copy_in(&o, sizeof o, opts, LANE_OPTIONS_V1_SIZE);
    if (rc != 0)
        return rc;
    if (o.overflow != JOB_OVERFLOW_REJECT && o.overflow != JOB_OVERFLOW_BLOCK)
        return EINVAL;
    if (atomic_load_explicit(&pool->stopping, memory_order_relaxed))
        return ESHUTDOWN;
    l = calloc(1, sizeof *l);
    if (l == NULL)
        return ENOMEM;
    rc = lane_init(l, pool, &o);
    if (rc != 0) {
        free(l);
        return rc;
    }
    /* At the head: a cancel walking the list meanwhile does not visit a
     * lane created after it began. */
    (void)pthread_mutex_lock(&pool->lanes_lock);
    l->next = pool->lanes;
    if (l->next != NULL)
        l->next->prev_next = &l->next;
    l->prev_next = &pool->lanes;
    pool->lanes = l;
    (void)pthread_mutex_unlock(&pool->lanes_lock);
    *lane = l;
    return 0;
}

/* Waits on the lane's condition; lock held.  Not a cancellation point
 * (the caller disabled cancellation). */
static void lane_wait(job_lane *lane)
{
    lane->sleepers++;
    (void)pthread_cond_wait(&lane->cond, &lane->lock);
    lane->sleepers--;
}

/* Why the lane takes no job now, or 0; lock held. */
static int refusal(job_lane *lane)
{
    if (lane->closing ||
        atomic_load_explicit(&lane->pool->stopping, memory_order_relaxed))
        return ESHUTDOWN;
    if (lane->queue_limit == 0 || queued(lane) < lane->queue_limit)
        return 0;
    if (lane->overflow == JOB_OVERFLOW_REJECT)
        return EAGAIN;
    return job__runs_in(lane->runners) ? EDEADLK : JOB__FULL;
}

/* Accepts the job into the lane if it takes it now; lock held. */
static int accept_locked(job_lane *lane, job_fn fn, void *ctx)
{
    int rc = refusal(lane);

    if (rc != 0)
        return rc;
    if (lane->active < lane->width) {
        rc = job__submit_token(lane->pool, job__lane_run, lane);
        if (rc != 0)
            return rc;
        lane->active++;
    }
    /* On failure the token added above finds nothing and retires. */
    rc = job__queue_push(&lane->queue, fn, ctx);
    if (rc == 0 && queued(lane) > lane->queued_peak)
        lane->queued_peak = queued(lane);
    return rc;
}

int job_submit_lane(job_lane *lane, job_fn fn, void *ctx)
{
    int rc, cancel_state;

    if (lane == NULL || fn == NULL)
        return EINVAL;
    (void)pthread_mutex_lock(&lane->lock);
    rc = accept_locked(lane, fn, ctx);
    if (rc == JOB__FULL) {
        /* Not a cancellation point, as the pool's waits are not. */
        (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
        lane->callers++;
        while ((rc = accept_locked(lane, fn, ctx)) == JOB__FULL)
            lane_wait(lane);
        lane->callers--;
        wake_sleepers(lane); /* a destroy may wait for this call */
        (void)pthread_setcancelstate(cancel_state, NULL);
    }
    if (rc != 0)
        lane->rejected++;
    lane_unlock(lane);
    return rc;
}

int job_lane_cancel_queued(job_lane *lane, job_handback_fn handback, void *arg,
                           size_t *count)
{
    size_t n;

    if (lane == NULL || handback == NULL)
        return EINVAL;
    (void)pthread_mutex_lock(&lane->lock);
    /* The tokens stay in the pool and retire when they find nothing. */
    n = hand_back_until(lane, accepted(lane), handback, arg);
    lane_unlock(lane);
    if (count != NULL)
        *count = n;
    return 0;
}

int job_lane_destroy(job_lane *lane)
{
    job_pool *pool;
    int cancel_state;

    if (lane == NULL)
        return 0;
    (void)pthread_mutex_lock(&lane->lock);
    if (job__runs_in(lane->runners)) {
        lane_unlock(lane);
        return EDEADLK;
    }
    lane->closing = true;
    wake_sleepers(lane); /* blocked submits: ESHUTDOWN */
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    while (lane->active != 0 || lane->callers != 0)
        lane_wait(lane);
    (void)pthread_setcancelstate(cancel_state, NULL);
    lane_unlock(lane);
    /* Out of the pool's list only now: a cancel visiting the lane was
     * counted in callers, and a visit from now on finds no job and does
     * not count itself (see job__lanes_cancel()). */
    pool = lane->pool;
    (void)pthread_mutex_lock(&pool->lanes_lock);
    *lane->prev_next = lane->next;
    if (lane->next != NULL)
        lane->next->prev_next = lane->prev_next;
    (void)pthread_mutex_unlock(&pool->lanes_lock);
    job__queue_destroy(&lane->queue);
    (void)pthread_cond_destroy(&lane->cond);
    (void)pthread_mutex_destroy(&lane->lock);
    free(lane);
    return 0;
}

/*
 * The lanes' part of the pool's cancel: hands back the jobs waiting in each
 * lane, those accepted before the visit, in the lane's order.  The list is
 * walked under lanes_lock, which is dropped while a lane hands back (a
 * hand-back may create or destroy other lanes).  The lane visited stays in
 * the list meanwhile: it is counted in callers, and destroy leaves the
 * list only after it has seen callers at zero, and only under lanes_lock,
 * which the walk holds again from before it stops counting until it has
 * locked the next lane.  A lane being destroyed is visited too, while its
 * destroy waits; once that wait has ended the lane has no token (active is
 * 0), hence by the rule no job, and the walk passes it by without
 * counting itself.
 */
size_t job__lanes_cancel(job_pool *pool, job_handback_fn handback, void *arg)
{
    size_t count = 0;
    job_lane *lane, *next;

    (void)pthread_mutex_lock(&pool->lanes_lock);
    for (lane = pool->lanes; lane != NULL; lane = next) {
        (void)pthread_mutex_lock(&lane->lock);
        if (queued(lane) == 0) {
            lane_unlock(lane);
            next = lane->next;
            continue;
        }
        lane->callers++;
        (void)pthread_mutex_unlock(&pool->lanes_lock);
        count += hand_back_until(lane, accepted(lane), handback, arg);
        lane_unlock(lane);
        (void)pthread_mutex_lock(&pool->lanes_lock);
        next = lane->next;
        (void)pthread_mutex_lock(&lane->lock);
        lane->callers--;
        wake_sleepers(lane); /* a destroy may wait for this visit */
        lane_unlock(lane);
    }
    (void)pthread_mutex_unlock(&pool->lanes_lock);
    return count;
}

int job_lane_get_stats_sized(job_lane *lane, job_lane_stats *out,
                             size_t struct_size)
{
    job_lane_stats s = {0};

    if (lane == NULL || out == NULL || struct_size < LANE_STATS_V1_SIZE)
        return EINVAL;
    (void)pthread_mutex_lock(&lane->lock);
    s.submitted = accepted(lane);
    s.completed = lane->completed;
    s.rejected = lane->rejected;
    s.cancelled = lane->cancelled;
    s.queued = queued(lane);
    s.queued_peak = lane->queued_peak;
    s.running = lane->running;
    s.running_peak = lane->running_peak;
    s.width = lane->width;
    lane_unlock(lane);
    job__copy_out(out, struct_size, &s, sizeof s);
    return 0;
}
