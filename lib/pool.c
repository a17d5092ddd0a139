/*
 * The pool's lifecycle: create, wait_idle, shutdown, destroy.
 *
 * DESIGN
 *
 * Model.  A submit appends {fn, ctx} to a FIFO and returns; N worker threads
 * take jobs from the head and run them.  The FIFO is a two-lock queue of
 * 16-byte slots in 64 KiB blocks (queue.c): producers serialise on
 * tail_lock, workers on head_lock, so submitting and taking do not wait for
 * each other.  Jobs are never moved to a worker's private batch: every
 * queued job stays in the shared FIFO until a worker starts it, so a job
 * that blocks holds back nothing but itself.  Idle workers spin briefly,
 * then park on their own condition variable; worker.c states the rules that
 * keep a queued job from waiting while a worker sleeps.
 *
 * Lifecycle.
 *
 *     create ──► RUNNING ──shutdown──► DRAINING ──all joined──► STOPPED
 *                                      (refuses jobs,             │
 *                                       runs accepted ones)     destroy
 *                                                                 ▼
 *                                                               freed
 *
 * Locks, in the order they may be nested:
 *   lock            state, the idle and stopped conditions, worker started
 *                   and joined flags.  Held while taking tail_lock only by
 *                   job_pool_wait_idle(), to register as a waiter.
 *   queue.tail_lock the tail of the FIFO, the stack of parked workers,
 *                   nparked and the stopping flag.
 *   queue.head_lock the head of the FIFO.  Never held with tail_lock.
 *   worker.park_lock a worker's wake flag; taken alone.
 *
 * Ordering and visibility.  Jobs are started in the order they were
 * accepted.  A submitter's writes before a successful submit are visible to
 * the job (tail_seq is stored with release ordering after the slot and
 * loaded with acquire ordering before the slot is read).  A job's writes are
 * visible to the thread that job_pool_wait_idle() or job_pool_shutdown()
 * returns to (the worker's completed counter is stored with release after
 * the job returns and loaded with acquire by the waiter; shutdown joins).
 *
 * Shutdown sets stopping under tail_lock, so every submit after it sees the
 * flag and fails with ESHUTDOWN, and every job before it is in the queue.
 * It wakes every parked worker; a worker exits only when, under tail_lock,
 * it sees stopping and an empty queue.  Shutdown allocates nothing.
 *
 * Deliberately not offered: job handles, results, priorities, cancellation
 * of running jobs, per-worker affinity, and any use of a pool inherited
 * across fork().
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    if (n > (long)JOB_POOL_THREADS_MAX)
        return JOB_POOL_THREADS_MAX;
    return (unsigned)n;
}

static void *alloc_aligned(size_t size)
{
    void *p = NULL;

    if (posix_memalign(&p, JOB__CACHELINE, size) != 0)
        return NULL;
    memset(p, 0, size);
    return p;
}

/* True when the calling thread is one of the pool's live workers.
 * pool->lock must be held. */
static bool called_from_worker(const job_pool *pool)
{
    pthread_t self = pthread_self();

    for (unsigned i = 0; i < pool->nthreads; i++) {
        const struct job__worker *w = &pool->workers[i];

        if (w->started && !w->joined && pthread_equal(w->thread, self))
            return true;
    }
    return false;
}

/* Refuses further jobs and wakes every parked worker so it can drain the
 * queue and exit.  Idempotent. */
static void begin_drain(job_pool *pool)
{
    struct job__worker *parked;

    (void)pthread_mutex_lock(&pool->queue.tail_lock);
    atomic_store_explicit(&pool->stopping, true, memory_order_relaxed);
    parked = pool->parked;
    pool->parked = NULL;
    atomic_store_explicit(&pool->nparked, 0, memory_order_relaxed);
    (void)pthread_mutex_unlock(&pool->queue.tail_lock);

    while (parked != NULL) {
        struct job__worker *next = parked->next_parked;

        parked->next_parked = NULL;
        job__worker_wake(parked);
        parked = next;
    }
}

/* Joins every started worker.  Called by one thread at a time: the one that
 * moved the pool out of RUNNING, or the failing create. */
static void join_workers(job_pool *pool)
{
    for (unsigned i = 0; i < pool->nthreads; i++) {
        struct job__worker *w = &pool->workers[i];

        if (!w->started)
            continue;
        (void)pthread_join(w->thread, NULL);
        (void)pthread_mutex_lock(&pool->lock);
        w->joined = true;
        (void)pthread_mutex_unlock(&pool->lock);
    }
}

static int worker_init(job_pool *pool, struct job__worker *w, unsigned index)
{
    int rc;

    w->pool = pool;
    w->index = index;
    atomic_init(&w->completed, 0);
    JOB__ATOMIC_FIELD(&w->completed);
    rc = pthread_mutex_init(&w->park_lock, NULL);
    if (rc != 0)
        return rc;
    rc = pthread_cond_init(&w->park_cond, NULL);
    if (rc != 0)
        (void)pthread_mutex_destroy(&w->park_lock);
    return rc;
}

static void worker_fini(struct job__worker *w)
{
    (void)pthread_cond_destroy(&w->park_cond);
    (void)pthread_mutex_destroy(&w->park_lock);
}

/* Thread attributes for workers: the normal time-sharing policy whatever
 * the creating thread runs under. */
static int worker_attr_init(pthread_attr_t *attr)
{
    struct sched_param param;
    int rc = pthread_attr_init(attr);

    if (rc != 0)
        return rc;
    memset(&param, 0, sizeof param);
    (void)pthread_attr_setinheritsched(attr, PTHREAD_EXPLICIT_SCHED);
    (void)pthread_attr_setschedpolicy(attr, SCHED_OTHER);
    (void)pthread_attr_setschedparam(attr, &param);
    return 0;
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
    (void)snprintf(name, sizeof name, "%s-%u", pool->name, w->index);
    name[15] = '\0';
    (void)pthread_setname_np(w->thread, name);
#else
    (void)pool;
    (void)w;
#endif
}

/* Starts the workers with asynchronous signals blocked (they inherit the
 * mask of the creating thread, which is restored afterwards). */
static int start_workers(job_pool *pool)
{
    pthread_attr_t attr;
    sigset_t blocked, saved;
    int rc = worker_attr_init(&attr);

    if (rc != 0)
        return EAGAIN;
    async_signals(&blocked);
    (void)pthread_sigmask(SIG_SETMASK, &blocked, &saved);
    for (unsigned i = 0; i < pool->nthreads; i++) {
        struct job__worker *w = &pool->workers[i];

        rc = pthread_create(&w->thread, &attr, job__worker_main, w);
        if (rc != 0)
            break;
        w->started = true;
        name_worker(pool, w);
        atomic_fetch_add_explicit(&pool->threads_alive, 1,
                                  memory_order_relaxed);
    }
    (void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
    (void)pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : EAGAIN;
}

static void pool_free(job_pool *pool, unsigned workers_ready)
{
    for (unsigned i = 0; i < workers_ready; i++)
        worker_fini(&pool->workers[i]);
    free(pool->workers);
    (void)pthread_cond_destroy(&pool->stopped_cond);
    (void)pthread_cond_destroy(&pool->idle_cond);
    (void)pthread_mutex_destroy(&pool->lock);
    job__queue_destroy(&pool->queue);
    free(pool);
}

static int pool_sync_init(job_pool *pool)
{
    int rc = pthread_mutex_init(&pool->lock, NULL);

    if (rc != 0)
        return rc;
    rc = pthread_cond_init(&pool->idle_cond, NULL);
    if (rc != 0)
        goto fail_idle;
    rc = pthread_cond_init(&pool->stopped_cond, NULL);
    if (rc != 0)
        goto fail_stopped;
    return 0;

fail_stopped:
    (void)pthread_cond_destroy(&pool->idle_cond);
fail_idle:
    (void)pthread_mutex_destroy(&pool->lock);
    return rc;
}

int job_pool_create(job_pool **out, const job_pool_options *opts)
{
    struct job__settings settings;
    job_pool *pool;
    unsigned ready = 0;
    int rc;

    if (out == NULL)
        return EINVAL;
    rc = job__settings_from_options(&settings, opts);
    if (rc != 0)
        return rc;

    pool = alloc_aligned(sizeof *pool);
    if (pool == NULL)
        return ENOMEM;
    JOB__ATOMIC_FIELD(&pool->nparked);
    JOB__ATOMIC_FIELD(&pool->stopping);
    JOB__ATOMIC_FIELD(&pool->nspinning);
    JOB__ATOMIC_FIELD(&pool->idle_waiters);
    JOB__ATOMIC_FIELD(&pool->rejected);
    JOB__ATOMIC_FIELD(&pool->threads_alive);
    pool->nthreads = settings.threads != 0 ? settings.threads : online_cpus();
    memcpy(pool->name, settings.name, sizeof pool->name);
    rc = job__queue_init(&pool->queue);
    if (rc != 0)
        goto fail_queue;
    rc = pool_sync_init(pool);
    if (rc != 0)
        goto fail_sync;
    pool->workers = alloc_aligned(pool->nthreads * sizeof *pool->workers);
    if (pool->workers == NULL) {
        rc = ENOMEM;
        goto fail_workers;
    }
    for (; ready < pool->nthreads; ready++) {
        rc = worker_init(pool, &pool->workers[ready], ready);
        if (rc != 0)
            goto fail_threads;
    }
    pool->state = JOB__RUNNING;
    rc = start_workers(pool);
    if (rc != 0)
        goto fail_threads;
    *out = pool;
    return 0;

fail_threads:
    begin_drain(pool);
    join_workers(pool);
    pool_free(pool, ready);
    return rc == ENOMEM ? ENOMEM : EAGAIN;
fail_workers:
    (void)pthread_cond_destroy(&pool->stopped_cond);
    (void)pthread_cond_destroy(&pool->idle_cond);
    (void)pthread_mutex_destroy(&pool->lock);
fail_sync:
    job__queue_destroy(&pool->queue);
fail_queue:
    free(pool);
    return rc == ENOMEM ? ENOMEM : EAGAIN;
}

/* At one instant, nothing queued or running: every accepted job has
 * completed.  The completion counters are read before tail_seq; all are
 * monotonic and completed <= accepted, so equality means both were equal
 * when tail_seq was read. */
static bool pool_is_idle(job_pool *pool)
{
    uint64_t completed = job__completed(pool);

    return completed ==
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
    if (pool == NULL)
        return EINVAL;
    (void)pthread_mutex_lock(&pool->lock);
    if (pool->state != JOB__STOPPED && called_from_worker(pool)) {
        (void)pthread_mutex_unlock(&pool->lock);
        return EDEADLK;
    }
    add_idle_waiter(pool, 1);
    while (!pool_is_idle(pool))
        (void)pthread_cond_wait(&pool->idle_cond, &pool->lock);
    add_idle_waiter(pool, -1);
    (void)pthread_mutex_unlock(&pool->lock);
    return 0;
}

int job_pool_shutdown(job_pool *pool)
{
    if (pool == NULL)
        return EINVAL;
    (void)pthread_mutex_lock(&pool->lock);
    if (pool->state != JOB__STOPPED && called_from_worker(pool)) {
        (void)pthread_mutex_unlock(&pool->lock);
        return EDEADLK;
    }
    if (pool->state == JOB__RUNNING) {
        /* This caller drains and joins; later callers wait for it. */
        pool->state = JOB__DRAINING;
        (void)pthread_mutex_unlock(&pool->lock);
        begin_drain(pool);
        join_workers(pool);
        (void)pthread_mutex_lock(&pool->lock);
        pool->state = JOB__STOPPED;
        (void)pthread_cond_broadcast(&pool->stopped_cond);
    }
    while (pool->state != JOB__STOPPED)
        (void)pthread_cond_wait(&pool->stopped_cond, &pool->lock);
    (void)pthread_mutex_unlock(&pool->lock);
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
    pool_free(pool, pool->nthreads);
    return 0;
}
