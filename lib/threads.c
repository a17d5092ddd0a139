/* SPDX-License-Identifier: MIT */
/*
 * Worker threads: their places, how they are started (at create, and later
 * by an elastic pool that needs one more), and how they are joined.
 *
 * A pool has max_threads places.  A thread that exits marks its place
 * exited; the place is joined and reused by the next thread started there,
 * or joined at shutdown.  While a thread runs its stop hook it still holds
 * its place: a start that finds no free place is dropped (not a failure),
 * and the exiting thread, which looks again before it leaves, stays to run
 * the job instead (job__exit_or_stay() in idle.c).  So no thread is
 * ever detached, and every thread the pool started is joined before
 * job_pool_shutdown() returns.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes place w in zeroed memory: its flags and counters start at zero. */
static int place_init(job_pool *pool, struct job__worker *w, unsigned index)
{
    int rc;

    w->pool = pool;
    w->index = index;
    w->cursor = index;
    JOB__ATOMIC_FIELD(&w->completed);
    JOB__ATOMIC_FIELD(&w->started_jobs);
    rc = pthread_mutex_init(&w->park_lock, NULL);
    if (rc != 0)
        return rc;
    rc = job__monotonic_cond_init(&w->park_cond);
    if (rc != 0)
        (void)pthread_mutex_destroy(&w->park_lock);
    return rc;
}

static void place_fini(struct job__worker *w)
{
    (void)pthread_cond_destroy(&w->park_cond);
    (void)pthread_mutex_destroy(&w->park_lock);
}

/* Thread attributes for workers: the normal time-sharing policy whatever
 * the creating thread runs under, and the stack size asked for. */
static int thread_attr_init(pthread_attr_t *attr, size_t stack_size)
{
    struct sched_param param;
    int rc = pthread_attr_init(attr);

    if (rc != 0)
        return rc;
    memset(&param, 0, sizeof param);
    (void)pthread_attr_setinheritsched(attr, PTHREAD_EXPLICIT_SCHED);
    (void)pthread_attr_setschedpolicy(attr, SCHED_OTHER);
    (void)pthread_attr_setschedparam(attr, &param);
    if (stack_size != 0) {
        rc = pthread_attr_setstacksize(attr, stack_size);
        if (rc != 0)
            (void)pthread_attr_destroy(attr);
    }
    return rc;
}

/* Sets up the places (in the zeroed pool) and the thread attributes.
 * Returns 0, ENOMEM, EINVAL (the stack size was refused) or EAGAIN; on
 * failure nothing is left to destroy. */
int job__workers_init(job_pool *pool)
{
    unsigned ready = 0;
    int rc = thread_attr_init(&pool->thread_attr, pool->cfg.stack_size);

    if (rc != 0)
        return rc == EINVAL ? EINVAL : EAGAIN;
    for (; ready < pool->cfg.max_threads; ready++) {
        rc = place_init(pool, &pool->workers[ready], ready);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        return 0;
    while (ready > 0)
        place_fini(&pool->workers[--ready]);
    (void)pthread_attr_destroy(&pool->thread_attr);
    return rc == ENOMEM ? ENOMEM : EAGAIN;
}

void job__workers_fini(job_pool *pool)
{
    for (unsigned i = 0; i < pool->cfg.max_threads; i++)
        place_fini(&pool->workers[i]);
    (void)pthread_attr_destroy(&pool->thread_attr);
}

/* Every signal a thread may block: all but those the hardware raises on the
 * faulting thread, which must stay deliverable. */
static void async_signals(sigset_t *set)
{
    (void)sigfillset(set);
    (void)sigdelset(set, SIGSEGV);
    (void)sigdelset(set, SIGBUS);
    (void)sigdelset(set, SIGFPE);
    (void)sigdelset(set, SIGILL);
    (void)sigdelset(set, SIGTRAP);
    (void)sigdelset(set, SIGSYS);
}

/* Names a worker "prefix-index" for top -H and debuggers.  Done by the
 * creating thread, so the name is there before create returns. */
static void name_worker(const job_pool *pool, const struct job__worker *w)
{
#ifdef HAVE_PTHREAD_SETNAME_NP
    char name[32];

    /* Linux keeps 15 bytes of a thread's name; cut it there rather than
     * have pthread_setname_np() refuse it with ERANGE. */
    (void)snprintf(name, sizeof name, "%s-%u", pool->cfg.name, w->index);
    name[15] = '\0';
    (void)pthread_setname_np(w->thread, name);
#else
    (void)pool;
    (void)w;
#endif
}

/* Starts a thread in place w with asynchronous signals blocked (a thread
 * inherits the creator's mask, which is restored afterwards).  pool->lock
 * must be held, or the pool not yet shared. */
static int start_thread(job_pool *pool, struct job__worker *w)
{
    sigset_t blocked, saved;
    unsigned alive;
    int rc;

    async_signals(&blocked);
    /* Without the mask the thread could take the program's signals; and
     * saved would be unset, so the caller's mask could not be restored. */
    if (pthread_sigmask(SIG_SETMASK, &blocked, &saved) != 0)
        return EAGAIN;
    rc = pthread_create(&w->thread, &pool->thread_attr, job__worker_main, w);
    (void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (rc != 0)
        return EAGAIN;
    w->started = true;
    w->exited = false;
    name_worker(pool, w);
    alive =
        atomic_load_explicit(&pool->threads_alive, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool->threads_alive, alive, memory_order_relaxed);
    if (alive > atomic_load_explicit(&pool->threads_peak, memory_order_relaxed))
        atomic_store_explicit(&pool->threads_peak, alive, memory_order_relaxed);
    return 0;
}

/* A place for one more thread, or NULL when every place holds a live
 * thread.  pool->lock must be held; it is dropped while an exited thread
 * that held the place is joined, because that thread's exit runs its
 * thread-specific data destructors, which may call into the pool. */
static struct job__worker *free_place(job_pool *pool)
{
    struct job__worker *exited = NULL;

    for (unsigned i = 0; i < pool->cfg.max_threads; i++) {
        struct job__worker *w = &pool->workers[i];

        if (!w->started)
            return w;
        if (w->exited && !w->reaping && exited == NULL)
            exited = w;
    }
    if (exited != NULL) {
        exited->reaping = true;
        (void)pthread_mutex_unlock(&pool->lock);
        (void)pthread_join(exited->thread, NULL);
        (void)pthread_mutex_lock(&pool->lock);
        exited->reaping = false;
        exited->started = false;
        (void)pthread_cond_broadcast(&pool->stopped_cond);
    }
    return exited;
}

/* A shutdown joins the threads, or has; pool->lock held. */
static bool joining_begun(const job_pool *pool)
{
    return pool->state == JOB__STOPPED || pool->joining;
}

int job__worker_add_locked(job_pool *pool)
{
    struct job__worker *w = NULL;
    int rc;

    if (atomic_load_explicit(&pool->nlive, memory_order_relaxed) >=
        pool->cfg.max_threads) {
        rc = EAGAIN; /* a leaving thread stayed instead: not a failure */
    } else {
        /* Before free_place(), which would join an exited thread that the
         * shutdown may be joining too, and after it, since it may drop
         * the lock. */
        if (!joining_begun(pool))
            w = free_place(pool);
        if (joining_begun(pool))
            rc = ESHUTDOWN;
        else if (w == NULL ||
                 atomic_load_explicit(&pool->nlive, memory_order_relaxed) >=
                     pool->cfg.max_threads)
            rc = EAGAIN; /* every place is held by a thread in its stop
                            hook, which stays if the job needs it */
        else if ((rc = start_thread(pool, w)) != 0)
            atomic_fetch_add_explicit(&pool->thread_start_failures, 1,
                                      memory_order_relaxed);
    }
    /* On success the new thread gives up the reservation once it is
     * ready for jobs. */
    job__start_done(pool, rc == 0);
    return rc;
}

int job__workers_start(job_pool *pool, unsigned n)
{
    int rc = 0;

    (void)pthread_mutex_lock(&pool->lock);
    for (unsigned i = 0; i < n && rc == 0; i++) {
        job__reserve_start(pool);
        rc = job__worker_add_locked(pool);
    }
    (void)pthread_mutex_unlock(&pool->lock);
    return rc;
}

void job__workers_join(job_pool *pool)
{
    for (unsigned i = 0; i < pool->cfg.max_threads; i++) {
        struct job__worker *w = &pool->workers[i];
        bool join;

        (void)pthread_mutex_lock(&pool->lock);
        while (w->reaping) /* growth is joining it */
            (void)pthread_cond_wait(&pool->stopped_cond, &pool->lock);
        join = w->started;
        (void)pthread_mutex_unlock(&pool->lock);
        if (!join)
            continue;
        (void)pthread_join(w->thread, NULL);
        (void)pthread_mutex_lock(&pool->lock);
        w->started = false;
        (void)pthread_mutex_unlock(&pool->lock);
    }
}

bool job__called_from_worker_locked(const job_pool *pool)
{
    pthread_t self = pthread_self();

    for (unsigned i = 0; i < pool->cfg.max_threads; i++) {
        const struct job__worker *w = &pool->workers[i];

        if (w->started && !w->exited && pthread_equal(w->thread, self))
            return true;
    }
    return false;
}

void job__place_exited(struct job__worker *w)
{
    job_pool *pool = w->pool;

    w->exited = true;
    atomic_store_explicit(
        &pool->threads_alive,
        atomic_load_explicit(&pool->threads_alive, memory_order_relaxed) - 1,
        memory_order_relaxed);
    /* Shutdown waits for the last. */
    (void)pthread_cond_broadcast(&pool->stopped_cond);
}
