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
 *  3. A spinner that leaves to take a job may leave a second job behind that
 *     its producer expected it to take (the producer saw it spinning).  So a
 *     former spinner, after taking its job, looks again: if jobs remain,
 *     workers are parked and none spins, it wakes one.  The spinner's
 *     decrement of nspinning and the producer's read-modify-write of
 *     tail_seq (made only when a worker is parked) are both sequentially
 *     consistent, so either the producer sees the decrement (and wakes) or
 *     the spinner sees the second job (and wakes).  A worker woken from
 *     park() applies the same check, so that with several jobs queued and
 *     several workers parked the wake-ups chain instead of stopping at one.
 * A running job may block for as long as it likes: the rules never leave a
 * queued job behind a running one while a parked worker could take it.
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
#include <time.h>

/* How long an idle worker polls before it parks.  Long enough to catch the
 * next job of a steady stream without a system call on either side, short
 * enough that an idle pool costs nothing measurable. */
#define SPIN_NANOSECONDS 50000
/* Pause instructions between two looks at the clock. */
#define SPIN_PAUSES_PER_CHECK 64

enum park_result {
    PARK_FOUND_WORK, /* the queue was not empty: did not sleep */
    PARK_WOKEN,      /* slept and was woken by a producer or by shutdown */
    PARK_EXIT        /* the pool is stopping and the queue is empty */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void job__worker_wake(struct job__worker *w)
{
    (void)pthread_mutex_lock(&w->park_lock);
    w->wake = true;
    (void)pthread_cond_signal(&w->park_cond);
    (void)pthread_mutex_unlock(&w->park_lock);
}

/* Pops a parked worker, or returns NULL.  queue.tail_lock must be held. */
static struct job__worker *unpark_one(job_pool *pool)
{
    struct job__worker *w = pool->parked;

    if (w != NULL) {
        pool->parked = w->next_parked;
        w->next_parked = NULL;
        atomic_fetch_sub_explicit(&pool->nparked, 1, memory_order_relaxed);
    }
    return w;
}

uint64_t job__completed(job_pool *pool)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < pool->nthreads; i++) {
        sum += atomic_load_explicit(&pool->workers[i].completed,
                                    memory_order_seq_cst);
        JOB__HAPPENS_AFTER(&pool->workers[i].completed);
    }
    return sum;
}

int job_submit_detached(job_pool *pool, job_fn fn, void *ctx)
{
    struct job__worker *sleeper = NULL;
    int rc;

    if (pool == NULL || fn == NULL)
        return EINVAL;
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    if (atomic_load_explicit(&pool->stopping, memory_order_relaxed))
        rc = ESHUTDOWN;
    else
        rc = job__queue_push(&pool->queue, fn, ctx);
    /* Rule 2, only when someone is parked.  The read-modify-write puts the
     * publication of the job in the single order of sequentially
     * consistent operations ahead of the load of nspinning (rule 3). */
    if (rc == 0 && pool->parked != NULL) {
        (void)atomic_fetch_add_explicit(&pool->queue.tail_seq, 0,
                                        memory_order_seq_cst);
        if (atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) == 0)
            sleeper = unpark_one(pool);
    }
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);

    if (rc != 0) {
        atomic_fetch_add_explicit(&pool->rejected, 1, memory_order_relaxed);
        return rc;
    }
    if (sleeper != NULL)
        job__worker_wake(sleeper);
    return 0;
}

static bool take_job(job_pool *pool, struct job__slot *job)
{
    bool taken;

    (void)pthread_mutex_lock(&pool->queue.head_lock);
    taken = job__queue_pop(&pool->queue, job);
    (void)pthread_mutex_unlock(&pool->queue.head_lock);
    return taken;
}

/* Rule 3, run by a former spinner once it holds a job. */
static void wake_helper_if_needed(job_pool *pool)
{
    struct job__worker *helper;
    uint64_t tail =
        atomic_load_explicit(&pool->queue.tail_seq, memory_order_seq_cst);
    uint64_t head =
        atomic_load_explicit(&pool->queue.head_seq, memory_order_relaxed);

    if (tail == head)
        return;
    if (atomic_load_explicit(&pool->nparked, memory_order_relaxed) == 0 ||
        atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) != 0)
        return;
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    helper = unpark_one(pool);
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
    if (helper != NULL)
        job__worker_wake(helper);
}

/* Wakes job_pool_wait_idle() callers; see the top of the file for when it
 * is called. */
static void notify_idle_waiters(job_pool *pool)
{
    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_cond_broadcast(&pool->idle_cond);
    (void)pthread_mutex_unlock(&pool->lock);
}

/* Polls for a job queued after the queue was seen empty at seen_tail.
 * Returns true when one may be there; false when the spin ran out or the
 * pool is stopping, both of which park() settles. */
static bool spin_for_work(job_pool *pool, uint64_t seen_tail)
{
    uint64_t deadline = 0;

    for (;;) {
        for (unsigned i = 0; i < SPIN_PAUSES_PER_CHECK; i++) {
            if (atomic_load_explicit(&pool->queue.tail_seq,
                                     memory_order_relaxed) != seen_tail)
                return true;
            if (atomic_load_explicit(&pool->stopping, memory_order_relaxed))
                return false;
            cpu_relax();
        }
        if (deadline == 0)
            deadline = monotonic_ns() + SPIN_NANOSECONDS;
        else if (monotonic_ns() >= deadline)
            return false;
    }
}

/* Called by a spinning worker whose spin ran out; leaves it not spinning. */
static enum park_result park(job_pool *pool, struct job__worker *w)
{
    struct job__queue *q = &pool->queue;
    unsigned waiters;
    bool empty, stopping;

    (void)pthread_mutex_lock(&q->tail_lock);
    empty = atomic_load_explicit(&q->tail_seq, memory_order_relaxed) ==
            atomic_load_explicit(&q->head_seq, memory_order_acquire);
    stopping = atomic_load_explicit(&pool->stopping, memory_order_relaxed);
    waiters = atomic_load_explicit(&pool->idle_waiters, memory_order_relaxed);
    if (!empty || stopping) {
        atomic_fetch_sub_explicit(&pool->nspinning, 1, memory_order_seq_cst);
        (void)pthread_mutex_unlock(&q->tail_lock);
        if (!empty)
            return PARK_FOUND_WORK;
        if (waiters != 0)
            notify_idle_waiters(pool);
        return PARK_EXIT;
    }
    w->next_parked = pool->parked;
    pool->parked = w;
    atomic_fetch_add_explicit(&pool->nparked, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&pool->nspinning, 1, memory_order_seq_cst);
    (void)pthread_mutex_unlock(&q->tail_lock);
    if (waiters != 0)
        notify_idle_waiters(pool);

    (void)pthread_mutex_lock(&w->park_lock);
    while (!w->wake)
        (void)pthread_cond_wait(&w->park_cond, &w->park_lock);
    w->wake = false;
    (void)pthread_mutex_unlock(&w->park_lock);
    return PARK_WOKEN;
}

void *job__worker_main(void *arg)
{
    struct job__worker *w = arg;
    job_pool *pool = w->pool;
    uint64_t done = 0;
    bool was_spinning = false;
    struct job__slot job;

    for (;;) {
        uint64_t seen_tail;

        if (take_job(pool, &job)) {
            if (was_spinning)
                wake_helper_if_needed(pool);
            was_spinning = false;
            job.fn(job.ctx);
            JOB__HAPPENS_BEFORE(&w->completed);
            atomic_store_explicit(&w->completed, ++done, memory_order_release);
            continue;
        }
        /* The queue ran dry (possibly after another worker took the job a
         * former spinner was after).  Spin, then park. */
        if (atomic_load_explicit(&pool->idle_waiters, memory_order_relaxed))
            notify_idle_waiters(pool);
        seen_tail =
            atomic_load_explicit(&pool->queue.head_seq, memory_order_relaxed);
        atomic_fetch_add_explicit(&pool->nspinning, 1, memory_order_seq_cst);
        if (spin_for_work(pool, seen_tail)) {
            atomic_fetch_sub_explicit(&pool->nspinning, 1,
                                      memory_order_seq_cst);
            was_spinning = true;
            continue;
        }
        switch (park(pool, w)) {
        case PARK_FOUND_WORK:
            was_spinning = true;
            break;
        case PARK_WOKEN:
            /* A woken worker may be the one a former spinner or producer
             * counted on for one job among several: it applies rule 3
             * too, so wake-ups chain (found by tests/model). */
            was_spinning = true;
            break;
        case PARK_EXIT:
            atomic_fetch_sub_explicit(&pool->threads_alive, 1,
                                      memory_order_relaxed);
            return NULL;
        }
    }
}
