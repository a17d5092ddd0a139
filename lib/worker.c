/* SPDX-License-Identifier: MIT */
/*
 * A worker thread's life: take jobs from the shards and run them until none
 * is left, spin for a short, bounded time, then park (idle.c says when a
 * worker is woken, started or let go).  It counts the jobs it starts and
 * finishes, and wakes job_pool_wait_idle() callers when it runs dry.
 *
 * Idle waiters: job_pool_wait_idle() counts itself in idle_waiters (a
 * sequentially consistent read-modify-write, under pool->lock), then reads
 * the completion counters.  A worker that runs dry makes a sequentially
 * consistent fence after its last completion and then reads idle_waiters.
 * So either the worker sees the waiter, and wakes it under pool->lock,
 * which the waiter holds from its check until it sleeps, or the waiter
 * sees the completion.
 */
#include "config.h"

#include "jobpool-private.h"

/* How long an idle worker polls before it parks.  Long enough to catch the
 * next job of a steady stream without a system call on either side, short
 * enough that an idle pool costs nothing measurable. */
#define SPIN_NANOSECONDS 50000
/* Pause instructions between two looks at the clock. */
#define SPIN_PAUSES_PER_CHECK 64

uint64_t job__completed(job_pool *pool)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < pool->cfg.max_threads; i++) {
        sum += atomic_load_explicit(&pool->workers[i].completed,
                                    memory_order_seq_cst);
        JOB__HAPPENS_AFTER(&pool->workers[i].completed);
    }
    return sum;
}

uint64_t job__started(job_pool *pool)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < pool->cfg.max_threads; i++)
        sum += atomic_load_explicit(&pool->workers[i].started_jobs,
                                    memory_order_acquire);
    return sum;
}

void job__notify_idle_waiters(job_pool *pool)
{
    (void)pthread_mutex_lock(&pool->lock);
    (void)pthread_cond_broadcast(&pool->idle_cond);
    (void)pthread_mutex_unlock(&pool->lock);
}

/* Takes the next job, giving back its room in a bounded queue. */
static bool take_job(job_pool *pool, struct job__worker *w,
                     struct job__slot *job)
{
    if (!job__shards_take(pool, w, job))
        return false;
    if (pool->cfg.queue_limit != 0)
        job__room_release(pool, 1);
    return true;
}

/* Polls the shards for a job.  Returns true when one may be there; false
 * when the spin ran out or the pool is stopping, both of which
 * job__park() settles. */
static bool spin_for_work(job_pool *pool)
{
    uint64_t deadline = 0;

    for (;;) {
        for (unsigned i = 0; i < SPIN_PAUSES_PER_CHECK; i++) {
            if (job__work_visible(pool))
                return true;
            if (atomic_load_explicit(&pool->stopping, memory_order_relaxed))
                return false;
            job__cpu_relax();
        }
        if (deadline == 0)
            deadline = job__monotonic_ns() + SPIN_NANOSECONDS;
        else if (job__monotonic_ns() >= deadline)
            return false;
    }
}

/* Runs jobs, starting with the one in *job, until the shards run dry. */
static void run_until_dry(job_pool *pool, struct job__worker *w,
                          struct job__slot *job)
{
    /* A reused place carries on from its previous thread's counts. */
    uint64_t started =
        atomic_load_explicit(&w->started_jobs, memory_order_relaxed);
    uint64_t done = atomic_load_explicit(&w->completed, memory_order_relaxed);

    do {
        atomic_store_explicit(&w->started_jobs, ++started,
                              memory_order_release);
        job->fn(job->ctx);
        JOB__HAPPENS_BEFORE(&w->completed);
        atomic_store_explicit(&w->completed, ++done, memory_order_release);
    } while (take_job(pool, w, job));
}

void *job__worker_main(void *arg)
{
    struct job__worker *w = arg;
    job_pool *pool = w->pool;
    struct job__slot job;

start:
    if (pool->cfg.thread_start != NULL)
        pool->cfg.thread_start(pool->cfg.thread_hook_arg);
    /* Idle (spinning) from here until it holds a job. */
    job__worker_ready(pool);
    for (;;) {
        if (take_job(pool, w, &job)) {
            job__worker_took_job(pool);
            run_until_dry(pool, w, &job);
            if (job__load_after_fence(&pool->idle_waiters) != 0)
                job__notify_idle_waiters(pool);
            job__worker_ran_dry(pool);
            continue;
        }
        if (!spin_for_work(pool) && job__park(pool, w) == JOB__PARK_EXIT)
            break;
    }
    if (pool->cfg.thread_stop != NULL)
        pool->cfg.thread_stop(pool->cfg.thread_hook_arg);
    if (job__exit_or_stay(w))
        goto start; /* a job came while it was leaving */
    return NULL;
}
