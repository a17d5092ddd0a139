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
 * A running job may block for as long as it likes: the rules never leave a
 * queued job behind a running one while a parked worker could take it.
 *
 * Elastic pools.  When a job is queued, no worker is parked or spinning and
 * fewer than max_threads live, the producer reserves one more thread in
 * nstarting and starts it after dropping tail_lock; a thread counts as
 * starting until it is ready for jobs, and only one start is in flight at
 * a time.  A former spinner that leaves jobs behind with nobody parked does
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

static bool take_job(job_pool *pool, struct job__slot *job)
{
    bool taken;

    (void)pthread_mutex_lock(&pool->queue.head_lock);
    taken = job__queue_pop(&pool->queue, job);
    (void)pthread_mutex_unlock(&pool->queue.head_lock);
    if (taken && pool->queue_limit != 0)
        job__notify_space_waiters(pool);
    return taken;
}

/* Rule 3, run by a former spinner once it holds a job: wakes a parked
 * worker, or has an elastic pool start one, for the jobs left behind. */
static void wake_helper_if_needed(job_pool *pool)
{
    struct job__worker *helper;
    bool grow = false;
    uint64_t tail =
        atomic_load_explicit(&pool->queue.tail_seq, memory_order_seq_cst);
    uint64_t head =
        atomic_load_explicit(&pool->queue.head_seq, memory_order_relaxed);

    if (tail == head)
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
            atomic_load_explicit(&q->tail_seq, memory_order_relaxed) ==
                atomic_load_explicit(&q->head_seq, memory_order_acquire);
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
    empty = atomic_load_explicit(&q->tail_seq, memory_order_relaxed) ==
            atomic_load_explicit(&q->head_seq, memory_order_acquire);
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
    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    atomic_fetch_add_explicit(&pool->nspinning, 1, memory_order_seq_cst);
    pool->nstarting--;
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);
}

/* Runs jobs, starting with the one in *job, until the queue runs dry. */
static void run_until_dry(job_pool *pool, struct job__worker *w,
                          struct job__slot *job)
{
    /* A reused place carries on from its previous thread's count. */
    uint64_t done = atomic_load_explicit(&w->completed, memory_order_relaxed);

    do {
        job->fn(job->ctx);
        JOB__HAPPENS_BEFORE(&w->completed);
        atomic_store_explicit(&w->completed, ++done, memory_order_release);
    } while (take_job(pool, job));
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
            if (!take_job(pool, &job))
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
            if (!take_job(pool, &job)) {
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
