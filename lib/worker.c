/* SPDX-License-Identifier: MIT */
/*
 * Workers and the submit path that wakes them.
 *
 * A worker takes jobs until the queue runs dry, then spins for a short,
 * bounded time polling tail_seq, then parks on its own condition variable.
 * Parked workers form a stack guarded by the queue's tail_lock, so the
 * producer that queues a job sees, in the same critical section, whether a
 * worker must be woken.
 *
 * Wake rules (why a queued job never waits while a worker sleeps):
 *  1. A worker parks only after checking, under tail_lock, that the queue is
 *     empty.  A job queued later is queued under tail_lock too, so its
 *     producer sees the parked worker.
 *  2. A producer that sees a parked worker and no spinning worker wakes one.
 *     A spinning worker polls tail_seq and will take the job itself.
 *  3. A spinner stays counted in nspinning until it holds a job, so a
 *     producer never takes a worker on its way to a job for a busy one.
 *     But it may leave a second job behind that its producer expected it
 *     to take (the producer saw it spinning).  So a former spinner, after
 *     taking its job, looks again: if jobs remain, workers are parked and
 *     none spins, it wakes one.  The spinner's
 *     decrement of nspinning and the producer's read-modify-write of
 *     tail_seq (made only when a worker is parked) are both sequentially
 *     consistent, so either the producer sees the decrement (and wakes) or
 *     the spinner sees the second job (and wakes).  A worker woken from
 *     park() applies the same check, so that with several jobs queued and
 *     several workers parked the wake-ups chain instead of stopping at one.
 *  4. Batches.  Under a backlog (JOB__BATCH_MIN_DEPTH jobs per thread), a
 *     worker that takes a job also claims JOB__BATCH_MAX of the next
 *     ones into its batch under the same turn of head_lock (queue.c); they
 *     stay queued, and anyone may take them.  A worker takes from its own
 *     batch first, then from the queue, then from other workers' batches,
 *     so a batch never waits behind its owner's running job while another
 *     worker looks for work.  "Work" in rules 1-3 means a job in the queue
 *     or in a batch: a worker parks (or exits) only if, under tail_lock,
 *     the queue and then every batch are empty, and a former spinner's
 *     rule 3 check counts batched jobs.  Claiming moves jobs and never
 *     creates them, and needs a job in the queue, which cannot be queued
 *     while the parking worker holds tail_lock; and a batch is published
 *     before head_seq moves past its jobs (queue.c), so a worker that sees
 *     them gone from the queue sees them in the batch.  So the check under
 *     tail_lock misses no batch, and the owner need not wake anyone when
 *     it claims (tests/model checks this).  A spinning worker looks at the
 *     batches at each look at the clock too (not at every pause, which
 *     would pull the owners' lines away), so it finds jobs claimed after
 *     its last look at the queue without waiting for its spin to run out.
 *     A worker parks or exits only after finding its own batch empty, and
 *     only its owner refills a batch, so no thread leaves a batch of its
 *     own behind.  A busy worker also takes from a batch that has not
 *     moved since its last take from the queue (steal_stale), so a batch
 *     behind a blocked owner does not wait for the queue to run dry.
 * A running job may block for as long as it likes: the rules never leave a
 * queued job behind a running one while a parked worker could take it.
 *
 * Elastic pools.  When a job is queued, no worker is parked or spinning and
 * fewer than max_threads live, the producer reserves one more thread in
 * nstarting and starts it after dropping tail_lock; a thread counts as
 * starting until it is ready for jobs, and there are at most as many
 * starts in flight as jobs in the FIFO, so they run side by side.  A
 * former spinner that leaves jobs behind with nobody parked does
 * the same (rule 3 for growth), so a burst grows the pool step by step.
 * A parked worker of an elastic pool sleeps at most idle_timeout; then, if
 * it is still on the parked stack, the queue is empty and more than
 * min_threads live, it takes itself off the stack and exits.  A job queued
 * while it runs its stop hook may find no place for a new thread (the
 * leaving thread still holds one), so after the hook the thread looks
 * again: if a job waits with nobody idle to take it, it stays, as if it
 * were a new thread (start hook and all).  It decides
 * under pool->lock and tail_lock, so it can neither miss a job queued under
 * tail_lock nor leave between the start of a pool's only thread and the
 * queuing of the job it was started for (see queue_with_new_worker()).
 *
 * Idle waiters: job_pool_wait_idle() registers in idle_waiters under
 * tail_lock, then reads the completion counters.  A worker that finds the
 * queue empty reads idle_waiters (a plain load: this is the fast path, and
 * it nearly always sees a waiter that registered earlier); a worker about to
 * park or exit reads it again under tail_lock, after its last completion.
 * So a waiter that registered before that critical section is woken by it,
 * and one that registered after it sees the completion.  The cost of the
 * rare race is one bounded spin of latency, never a lost wake-up.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>

/* How long an idle worker polls before it parks.  Long enough to catch the
 * next job of a steady stream without a system call on either side, short
 * enough that an idle pool costs nothing measurable. */
#define SPIN_NANOSECONDS 50000
/* Pause instructions between two looks at the clock. */
#define SPIN_PAUSES_PER_CHECK 64

enum park_result {
    PARK_FOUND_WORK, /* the queue was not empty: did not sleep, still
                        counted as spinning */
    PARK_WOKEN,      /* slept and was woken by a producer or by shutdown */
    PARK_EXIT        /* leave: the pool is stopping and the queue is
                        empty, or the idle timeout ran out */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

void job__worker_wake(struct job__worker *w)
{
    (void)pthread_mutex_lock(&w->park_lock);
    w->wake = true;
    (void)pthread_cond_signal(&w->park_cond);
    (void)pthread_mutex_unlock(&w->park_lock);
}

struct job__worker *job__unpark_one(job_pool *pool)
{
    struct job__worker *w = pool->parked;

    if (w != NULL) {
        pool->parked = w->next_parked;
        w->next_parked = NULL;
        w->parked = false;
        atomic_fetch_sub_explicit(&pool->nparked, 1, memory_order_relaxed);
    }
    return w;
}

uint64_t job__completed(job_pool *pool)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < pool->max_threads; i++) {
        sum += atomic_load_explicit(&pool->workers[i].completed,
                                    memory_order_seq_cst);
        JOB__HAPPENS_AFTER(&pool->workers[i].completed);
    }
    return sum;
}

uint64_t job__started(job_pool *pool)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < pool->max_threads; i++)
        sum +=
            atomic_load_explicit(&pool->workers[i].taken, memory_order_acquire);
    return sum;
}

/* True when some worker's batch holds a job (rule 4). */
static bool batches_nonempty(job_pool *pool)
{
    for (unsigned i = 0; i < pool->max_threads; i++) {
        if (job__batch_left(atomic_load_explicit(&pool->workers[i].batch.claim,
                                                 memory_order_acquire)) != 0)
            return true;
    }
    return false;
}

bool job__work_queued(job_pool *pool)
{
    return atomic_load_explicit(&pool->queue.tail_seq, memory_order_seq_cst) !=
               atomic_load_explicit(&pool->queue.head_seq,
                                    memory_order_seq_cst) ||
           batches_nonempty(pool);
}

/* How many jobs to claim into a batch when depth remain in the queue after
 * the one taken: a full batch under a backlog of JOB__BATCH_MIN_DEPTH jobs
 * per thread, else none.  With a shallower queue, claims would empty the
 * FIFO under the other workers, who would then take from the batch its
 * owner is working through: one contended line traded for another, and
 * workers that run dry and spin where the producer needs the CPU
 * (measured: 1 producer, 2 workers, half the throughput with claims from
 * 2 jobs per thread).  Never in a bounded pool, whose room is counted on
 * head_seq by the submitter. */
static unsigned batch_share(job_pool *pool, uint64_t depth)
{
    unsigned threads =
        atomic_load_explicit(&pool->threads_alive, memory_order_relaxed);

    if (pool->queue_limit != 0 ||
        depth < (uint64_t)JOB__BATCH_MIN_DEPTH * (threads ? threads : 1))
        return 0;
    return JOB__BATCH_MAX;
}

/* Takes a job from another worker's batch, starting after w's place. */
static bool steal_job(job_pool *pool, struct job__worker *w,
                      struct job__slot *job)
{
    for (unsigned i = 1; i < pool->max_threads; i++) {
        struct job__worker *v =
            &pool->workers[(w->index + i) % pool->max_threads];

        if (job__batch_left(atomic_load_explicit(&v->batch.claim,
                                                 memory_order_relaxed)) != 0 &&
            job__batch_take(&v->batch, job))
            return true;
    }
    return false;
}

/* Takes a job from a batch whose owner has taken none of it since this
 * worker last looked, one take from the queue ago: the owner is likely
 * blocked in a job, and its batch holds older jobs than the queue.  Looks
 * at one place per call, recording its claim word on one call and
 * comparing on the next, then moves on; so a batch that stops moving is
 * noticed within 2 * (threads - 1) of this worker's takes from the queue,
 * and a batch that moves costs one load per look.  Without it, busy
 * workers would take newer jobs from the queue while the batch waits for
 * the queue to run dry (rule 4 guarantees only that). */
static bool steal_stale(job_pool *pool, struct job__worker *w,
                        struct job__slot *job)
{
    struct job__worker *v;
    uint64_t claim;

    if (pool->max_threads < 2)
        return false;
    if (w->watch == w->index)
        w->watch = (w->watch + 1) % pool->max_threads;
    v = &pool->workers[w->watch];
    claim = atomic_load_explicit(&v->batch.claim, memory_order_relaxed);
    if (job__batch_left(claim) == 0 ||
        (w->watch_armed && claim != w->watch_claim)) {
        w->watch_armed = false;
        w->watch = (w->watch + 1) % pool->max_threads;
        return false;
    }
    if (!w->watch_armed) {
        w->watch_armed = true;
        w->watch_claim = claim;
        return false;
    }
    if (!job__batch_take(&v->batch, job))
        return false;
    /* Keep watching: the next look finds it unchanged unless the owner
     * or someone else took a job meanwhile. */
    w->watch_claim =
        atomic_load_explicit(&v->batch.claim, memory_order_relaxed);
    return true;
}

/* Takes a job: from w's batch, else (busy: w has just run a job) from a
 * batch that stopped moving, else from the queue (claiming a batch when
 * there is a backlog), else from any other worker's batch.  A former
 * spinner skips the stale batches: it goes straight for the job it saw
 * queued, which keeps the wake-up path as short as it was. */
static bool take_job(job_pool *pool, struct job__worker *w,
                     struct job__slot *job, bool busy)
{
    struct job__queue *q = &pool->queue;
    bool taken = job__batch_take(&w->batch, job);

    if (!taken && busy)
        taken = steal_stale(pool, w, job);
    if (!taken) {
        (void)pthread_mutex_lock(&q->head_lock);
        taken = job__queue_pop(q, job);
        if (taken) {
            unsigned want = batch_share(
                pool, q->tail_seen - atomic_load_explicit(
                                         &q->head_seq, memory_order_relaxed));

            if (want != 0)
                (void)job__queue_claim(q, &w->batch, want);
        }
        (void)pthread_mutex_unlock(&q->head_lock);
    }
    if (!taken)
        taken = steal_job(pool, w, job);
    if (taken && pool->queue_limit != 0)
        job__notify_space_waiters(pool);
    return taken;
}

/* Rule 3, run by a former spinner once it holds a job: wakes a parked
 * worker, or has an elastic pool start one, for the work left behind. */
static void wake_helper_if_needed(job_pool *pool)
{
    struct job__worker *helper;
    bool grow = false;

    if (!job__work_queued(pool))
        return;
    if ((atomic_load_explicit(&pool->nparked, memory_order_relaxed) == 0 &&
         !pool->elastic) ||
        atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) != 0)
        return;
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    helper = job__unpark_one(pool);
    if (helper == NULL && pool->elastic)
        grow = job__reserve_growth(pool);
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
    if (helper != NULL)
        job__worker_wake(helper);
    if (grow)
        job__worker_add(pool);
}

void job__notify_idle_waiters(job_pool *pool)
{
    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_cond_broadcast(&pool->idle_cond);
    (void)pthread_mutex_unlock(&pool->lock);
}

/* ThreadSanitizer does not model fences (gcc refuses them with -Wtsan).
 * Under it, the fence and load below become one read-modify-write of
 * space_waiters, which orders the same way at the price of a write to a
 * line the workers share. */
#if defined(__SANITIZE_THREAD__)
#define JOB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JOB_TSAN 1
#endif
#endif

/* See "Room in a bounded queue" in submit.c. */
void job__notify_space_waiters(job_pool *pool)
{
#ifdef JOB_TSAN
    if (atomic_fetch_add_explicit(&pool->space_waiters, 0,
                                  memory_order_seq_cst) == 0)
        return;
#else
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&pool->space_waiters, memory_order_relaxed) == 0)
        return;
#endif
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    (void)pthread_cond_broadcast(&pool->space_cond);
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
}

/* Polls for a job queued after the queue was seen empty at seen_tail, and
 * at each look at the clock for a job in a batch.  Returns true when one
 * may be there; false when the spin ran out or the pool is stopping, both
 * of which park() settles. */
static bool spin_for_work(job_pool *pool, uint64_t seen_tail)
{
    uint64_t deadline = 0;

    for (;;) {
        for (unsigned i = 0; i < SPIN_PAUSES_PER_CHECK; i++) {
            if (atomic_load_explicit(&pool->queue.tail_seq,
                                     memory_order_relaxed) != seen_tail)
                return true;
            /* Stopping: park() settles it, unless a batch still holds
             * jobs, which take_job() finds (park() would only send the
             * worker back here). */
            if (atomic_load_explicit(&pool->stopping, memory_order_relaxed))
                return batches_nonempty(pool);
            cpu_relax();
        }
        if (batches_nonempty(pool))
            return true;
        if (deadline == 0)
            deadline = job__monotonic_ns() + SPIN_NANOSECONDS;
        else if (job__monotonic_ns() >= deadline)
            return false;
    }
}

/* Takes a parked worker whose idle timeout ran out off the parked stack,
 * if the pool can spare it.  Returns true when it must exit. */
static bool leave_if_idle(job_pool *pool, struct job__worker *w)
{
    struct job__queue *q = &pool->queue;
    bool leave;

    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_mutex_lock(&q->tail_lock);
    leave = w->parked && pool->nlive > pool->min_threads &&
            !atomic_load_explicit(&pool->stopping, memory_order_relaxed) &&
            !job__work_queued(pool);
    if (leave) {
        struct job__worker **link = &pool->parked;

        while (*link != w)
            link = &(*link)->next_parked;
        *link = w->next_parked;
        w->next_parked = NULL;
        w->parked = false;
        atomic_fetch_sub_explicit(&pool->nparked, 1, memory_order_relaxed);
        pool->nlive--;
        pool->nexiting++;
    }
    (void)pthread_mutex_unlock(&q->tail_lock);
    (void)pthread_mutex_unlock(&pool->lock);
    return leave;
}

/* Sleeps on the parked stack until a waker sets wake.  A worker of an
 * elastic pool looks every idle_timeout whether it can leave. */
static enum park_result sleep_parked(job_pool *pool, struct job__worker *w)
{
    struct timespec deadline;

    if (pool->elastic)
        job__deadline_after(&deadline, pool->idle_timeout_ns);
    (void)pthread_mutex_lock(&w->park_lock);
    while (!w->wake) {
        if (!pool->elastic) {
            (void)pthread_cond_wait(&w->park_cond, &w->park_lock);
            continue;
        }
        if (pthread_cond_timedwait(&w->park_cond, &w->park_lock, &deadline) !=
                ETIMEDOUT ||
            w->wake)
            continue;
        (void)pthread_mutex_unlock(&w->park_lock);
        if (leave_if_idle(pool, w))
            return PARK_EXIT;
        job__deadline_after(&deadline, pool->idle_timeout_ns);
        (void)pthread_mutex_lock(&w->park_lock);
    }
    w->wake = false;
    (void)pthread_mutex_unlock(&w->park_lock);
    return PARK_WOKEN;
}

/* Called by a spinning worker whose spin ran out.  Returns
 * PARK_FOUND_WORK with the worker still spinning, otherwise leaves it not
 * spinning. */
static enum park_result park(job_pool *pool, struct job__worker *w)
{
    struct job__queue *q = &pool->queue;
    unsigned waiters;
    bool empty, stopping;

    (void)pthread_mutex_lock(&q->tail_lock);
    empty = !job__work_queued(pool);
    stopping = atomic_load_explicit(&pool->stopping, memory_order_relaxed);
    waiters = atomic_load_explicit(&pool->idle_waiters, memory_order_relaxed);
    if (!empty) {
        (void)pthread_mutex_unlock(&q->tail_lock);
        return PARK_FOUND_WORK;
    }
    if (stopping) {
        atomic_fetch_sub_explicit(&pool->nspinning, 1, memory_order_seq_cst);
        pool->nlive--;
        pool->nexiting++;
        (void)pthread_mutex_unlock(&q->tail_lock);
        if (waiters != 0)
            job__notify_idle_waiters(pool);
        return PARK_EXIT;
    }
    w->next_parked = pool->parked;
    w->parked = true;
    pool->parked = w;
    atomic_fetch_add_explicit(&pool->nparked, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&pool->nspinning, 1, memory_order_seq_cst);
    (void)pthread_mutex_unlock(&q->tail_lock);
    if (waiters != 0)
        job__notify_idle_waiters(pool);
    return sleep_parked(pool, w);
}

/* Runs the start hook and gives up the reservation made for this thread,
 * counting it as spinning in the same critical section: a producer that
 * looks in between must not take it for busy and start yet another. */
static void worker_start(job_pool *pool)
{
    if (pool->thread_start != NULL)
        pool->thread_start(pool->thread_hook_arg);
    /* The thread that started this one counts it in nlive under pool->lock
     * once pthread_create() has returned.  Wait for that: while a shutdown
     * drains, this thread could otherwise find the queue empty and leave,
     * taking nlive below zero (found by tests/model/elastic.pml). */
    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_mutex_unlock(&pool->lock);
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    atomic_fetch_add_explicit(&pool->nspinning, 1, memory_order_seq_cst);
    pool->nstarting--;
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
}

/* Runs jobs, starting with the one in *job, until the queue and the
 * batches run dry. */
static void run_until_dry(job_pool *pool, struct job__worker *w,
                          struct job__slot *job)
{
    /* A reused place carries on from its previous thread's counts. */
    uint64_t taken = atomic_load_explicit(&w->taken, memory_order_relaxed);
    uint64_t done = atomic_load_explicit(&w->completed, memory_order_relaxed);

    do {
        atomic_store_explicit(&w->taken, ++taken, memory_order_release);
        job->fn(job->ctx);
        JOB__HAPPENS_BEFORE(&w->completed);
        atomic_store_explicit(&w->completed, ++done, memory_order_release);
    } while (take_job(pool, w, job, true));
}

void *job__worker_main(void *arg)
{
    struct job__worker *w = arg;
    job_pool *pool = w->pool;
    struct job__slot job;

    /* The worker is idle (counted in nspinning) from here until it holds
     * a job: a producer that sees it idle may count on it. */
start:
    worker_start(pool);
    for (;;) {
        uint64_t seen_tail =
            atomic_load_explicit(&pool->queue.head_seq, memory_order_relaxed);

        if (spin_for_work(pool, seen_tail)) {
            if (!take_job(pool, w, &job, false))
                continue; /* another worker took it: still spinning */
            atomic_fetch_sub_explicit(&pool->nspinning, 1,
                                      memory_order_seq_cst);
        } else {
            /* A worker woken from park() may be the one a former spinner
             * or producer counted on for one job among several: it
             * applies rule 3 too, so wake-ups chain (found by
             * tests/model). */
            enum park_result parked = park(pool, w);

            if (parked == PARK_EXIT)
                break;
            if (parked == PARK_FOUND_WORK)
                continue;
            if (!take_job(pool, w, &job, false)) {
                atomic_fetch_add_explicit(&pool->nspinning, 1,
                                          memory_order_seq_cst);
                continue;
            }
        }
        wake_helper_if_needed(pool);
        run_until_dry(pool, w, &job);
        /* The queue ran dry (possibly after another worker took the job a
         * former spinner was after).  Spin, then park. */
        if (atomic_load_explicit(&pool->idle_waiters, memory_order_relaxed))
            job__notify_idle_waiters(pool);
        atomic_fetch_add_explicit(&pool->nspinning, 1, memory_order_seq_cst);
    }
    if (pool->thread_stop != NULL)
        pool->thread_stop(pool->thread_hook_arg);
    if (job__worker_exit_or_stay(w))
        goto start; /* a job came while it was leaving */
    return NULL;
}
