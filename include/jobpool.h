/* SPDX-License-Identifier: MIT */
/*
 * jobpool: fire-and-forget background jobs on a pool of threads.
 *
 * A program hands blocking work (fsync, file I/O, compression, DNS, database
 * calls) to job_submit_detached(); the call queues a function pointer and its
 * context and returns at once, and the pool's worker threads run the jobs.
 * Shutdown runs every job that was accepted before it joins the workers.
 *
 * Conventions used by every function below:
 *   - Return values are 0 on success or a positive errno value, as pthreads
 *     do.  errno itself is never set or relied upon.
 *   - A submit that fails never calls the job and leaves ctx with the caller.
 *   - Every submit that returned 0 runs exactly once (on a worker thread,
 *     or in the submitting thread under JOB_OVERFLOW_CALLER_RUNS or a
 *     worker's blocking submit to a full queue of its own pool),
 *     before job_pool_shutdown() or job_pool_destroy() returns.
 *   - The library keeps no global state, installs no signal handler, never
 *     prints, and never calls abort() or exit().
 *   - The waits inside a submit, wait_idle and shutdown are not
 *     cancellation points: a thread cancelled (deferred cancellation)
 *     while it waits there finishes the call, leaving the pool
 *     consistent, and is cancelled at its next cancellation point.
 *
 * The manual page jobpool(7) describes the model in full.
 */
#ifndef JOBPOOL_H
#define JOBPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* version */

#define JOBPOOL_VERSION_MAJOR 0
#define JOBPOOL_VERSION_MINOR 3
#define JOBPOOL_VERSION_PATCH 0
#define JOBPOOL_VERSION_STRING "0.3.0"
/* One number that compares in release order: 0xMMmmpp. */
#define JOBPOOL_VERSION_NUMBER                                                 \
    ((JOBPOOL_VERSION_MAJOR << 16) | (JOBPOOL_VERSION_MINOR << 8) |            \
     JOBPOOL_VERSION_PATCH)

#if defined(JOBPOOL_BUILDING) && defined(__GNUC__)
#define JOB_API __attribute__((visibility("default")))
#else
#define JOB_API
#endif

/* The largest thread count job_pool_create() accepts. */
#define JOB_POOL_THREADS_MAX 1024u

/* types */

/* An opaque pool.  All functions taking a pool are safe to call from any
 * thread unless their description says otherwise. */
typedef struct job_pool job_pool;

/* A job: called once with the ctx given at submit, on a worker thread (or
 * in the submitter when a full queue makes it run there; see
 * enum job_overflow). */
typedef void (*job_fn)(void *ctx);

/*
 * What a submit does when the queue holds queue_limit jobs.
 */
enum job_overflow {
    /* Refuse the job: job_submit_detached() returns EAGAIN at once. */
    JOB_OVERFLOW_REJECT = 0,
    /* Wait until a worker takes a job and makes room (or shutdown begins:
     * ESHUTDOWN).  A worker of the pool never waits for its own pool: a
     * blocking submit from one of its workers runs the job in place, as
     * JOB_OVERFLOW_CALLER_RUNS does, so a pool whose every worker submits
     * cannot deadlock. */
    JOB_OVERFLOW_BLOCK = 1,
    /* Run the job in the submitting thread before returning 0: the
     * classic back-pressure, which slows the producer to the pool's pace.
     * The job must not need a lock the submitter holds. */
    JOB_OVERFLOW_CALLER_RUNS = 2
};

/* Called by each worker thread as it starts, before it runs any job, and
 * as it stops, after its last job (see thread_start in job_pool_options).
 * Calls on one thread alternate, start first.  A worker of an elastic pool
 * that is leaving when a job arrives that no other thread can take stays
 * for it: its stop hook is then followed by its start hook again. */
typedef void (*job_thread_hook)(void *arg);

/*
 * Options for job_pool_create().
 *
 * Binary compatibility: later versions add fields at the end of this struct.
 * job_pool_options_init() is a macro that records sizeof(job_pool_options)
 * as the caller's compiler saw it in struct_size, so a newer library knows
 * which fields an older program has and gives every other field its default;
 * an older library refuses (EINVAL) a newer program's struct only when a
 * field it does not know is set to something other than its default (every
 * field added later has the default 0).  Always call job_pool_options_init()
 * before setting fields.
 *
 * Thread count: set threads for a fixed-size pool, or max_threads (and
 * optionally min_threads and idle_timeout_ms) for an elastic one, never
 * both.  An elastic pool starts min_threads workers; when a job is queued
 * and no worker is idle it starts another, up to max_threads; a worker
 * idle for idle_timeout_ms exits while more than min_threads remain.  A
 * fixed-size pool is the elastic pool with min = max.
 */
typedef struct job_pool_options {
    size_t struct_size; /* written by job_pool_options_init(); do not set */
    unsigned threads;   /* fixed-size pool: worker threads; 0 = one per
                           CPU the creating thread may run on (its
                           affinity mask; when max_threads is 0) */
    const char *name;   /* worker name prefix shown by top -H; a worker is
                           named prefix-index, cut to the kernel's 15
                           bytes; NULL = "jobpool" */

    /* Since 0.2. */
    size_t queue_limit;           /* most jobs queued (not yet started) at
                                     once; 0 = unbounded */
    enum job_overflow overflow;   /* what a submit does at queue_limit */
    unsigned min_threads;         /* elastic pool: workers always kept,
                                     0..max_threads (0 is allowed: the pool
                                     then has no thread while idle) */
    unsigned max_threads;         /* elastic pool: most workers at once;
                                     0 = a fixed-size pool of threads */
    unsigned idle_timeout_ms;     /* elastic pool: how long a worker above
                                     min_threads stays idle before it exits;
                                     0 = 10000 (10 s) */
    size_t stack_size;            /* bytes of stack per worker, at least
                                     PTHREAD_STACK_MIN; 0 = the system's
                                     default */
    job_thread_hook thread_start; /* NULL = none; called on each worker as
                                     it starts */
    job_thread_hook thread_stop;  /* NULL = none; called on each worker
                                     before it exits */
    void *thread_hook_arg;        /* passed to both hooks */
} job_pool_options;

/*
 * Statistics, a snapshot taken by job_pool_get_stats().  The same
 * compatibility rule as job_pool_options applies: the macro passes the
 * caller's sizeof, and the library fills only what the caller has room for.
 */
typedef struct job_pool_stats {
    size_t struct_size; /* written by job_pool_get_stats() */
    uint64_t submitted; /* jobs accepted and queued for the workers */
    uint64_t completed; /* queued jobs that have returned */
    uint64_t rejected;  /* submits refused for any reason except EINVAL */
    size_t queued;      /* accepted, not yet started */
    size_t running;     /* started on a worker, not yet returned */
    unsigned threads;   /* worker threads alive */

    /* Since 0.2. */
    unsigned threads_peak;          /* most worker threads alive at once */
    unsigned threads_idle;          /* workers waiting for a job */
    size_t queued_peak;             /* most jobs queued at once: exact
                                       with a queue_limit; otherwise, from
                                       one submitting thread, exact up to
                                       64 and within 1/64 above, and from
                                       several, sampled (never above the
                                       truth; see job_pool_get_stats(3)) */
    uint64_t rejected_full;         /* refused because the queue was at
                                       queue_limit (EAGAIN or ETIMEDOUT) */
    uint64_t rejected_shutdown;     /* refused because shutdown had begun */
    uint64_t ran_in_caller;         /* jobs run by the submitting thread
                                       because the queue was full */
    uint64_t cancelled;             /* queued jobs taken out by
                                       job_pool_cancel_queued() (counted
                                       before they are handed back) */
    uint64_t thread_start_failures; /* extra workers an elastic pool could
                                       not start */
} job_pool_stats;

/* lifecycle */

/*
 * Fills opts with the defaults: a fixed-size pool of one thread per usable
 * CPU named "jobpool", an unbounded queue, no hooks (every field 0 or
 * NULL).  The macro form records the caller's struct size;
 * the function form, for callers that cannot use the macro, assumes the
 * layout of version 0.1.  Safe from any thread.
 */
JOB_API void job_pool_options_init(job_pool_options *opts);
JOB_API void job_pool_options_init_sized(job_pool_options *opts,
                                         size_t struct_size);
#define job_pool_options_init(opts)                                            \
    job_pool_options_init_sized((opts), sizeof *(opts))

/*
 * Creates a pool and starts its worker threads, and stores it in *pool.
 * opts may be NULL for the defaults.  The workers start with every
 * asynchronous signal blocked; the caller's signal mask is left unchanged.
 * They run under the normal time-sharing policy (SCHED_OTHER) whatever the
 * policy of the thread that starts them: a real-time creator, or a
 * real-time thread whose submit grows an elastic pool, does not pass its
 * priority on.
 *
 * Returns 0, or
 *   EINVAL  pool is NULL; opts has an unknown struct_size or a field this
 *           library does not know set; threads or max_threads is above
 *           JOB_POOL_THREADS_MAX; both threads and max_threads are set;
 *           min_threads is above max_threads, or set without max_threads;
 *           overflow is not a job_overflow value; stack_size is below
 *           PTHREAD_STACK_MIN or refused by the system;
 *   ENOMEM  out of memory;
 *   EAGAIN  a worker thread could not be started, or the process has no
 *           thread-specific data key left (each pool uses one, out of
 *           PTHREAD_KEYS_MAX).
 * On failure *pool is left unchanged, every thread already started has been
 * joined and everything allocated has been freed.
 */
JOB_API int job_pool_create(job_pool **pool, const job_pool_options *opts);

/*
 * Stops accepting jobs, runs every job accepted so far, and joins every
 * worker.  Any number of threads may call it, at once or one after another:
 * each call returns 0 once the pool has stopped.  The pool object stays
 * valid until job_pool_destroy(), so a submit racing shutdown gets
 * ESHUTDOWN rather than touching freed memory.  Needs no memory and no
 * queue space, so it always terminates once the running jobs return.
 *
 * Returns 0, or EINVAL (pool is NULL), or EDEADLK (called from a worker of
 * this pool, which could never finish; nothing is changed).
 */
JOB_API int job_pool_shutdown(job_pool *pool);

/*
 * Shutdown with a deadline: stops accepting jobs as job_pool_shutdown()
 * does, then waits at most timeout_ns nanoseconds for the queue to drain
 * and every worker to exit.  If jobs are still queued or running then, it
 * returns ETIMEDOUT and the pool goes on draining in the background; a
 * later job_pool_shutdown() or job_pool_shutdown_timed() waits again, and
 * job_pool_cancel_queued() hands back what has not started (together,
 * Java's shutdownNow() without its lost tasks).  timeout_ns = 0 begins the
 * shutdown and only looks.
 *
 * Returns 0 (stopped: every worker joined), or ETIMEDOUT, or EINVAL (pool
 * is NULL), or EDEADLK (called from a worker of this pool; nothing is
 * changed).
 */
JOB_API int job_pool_shutdown_timed(job_pool *pool, uint64_t timeout_ns);

/*
 * Shuts the pool down as job_pool_shutdown() does, then frees it.  No other
 * call on this pool may be in progress or follow.  destroy(NULL) returns 0.
 * Returns 0, or EDEADLK (called from a worker of this pool; nothing is
 * changed and the pool stays usable).
 */
JOB_API int job_pool_destroy(job_pool *pool);

/* submitting */

/*
 * Queues fn(ctx) to run on a worker and returns at once.  Order is FIFO per
 * submitting thread: the jobs one thread submits to a pool (with this call
 * or job_submit_detached_timed()) are taken, by a worker or by
 * job_pool_cancel_queued(), in the order that thread submitted them, and
 * with one worker they start in that order.  Jobs submitted by different
 * threads have no order between them.  With several workers, a job may
 * start after later ones that another worker took (from a backlog of over
 * 1024 jobs a worker takes runs of up to 64 at once; they count as queued,
 * and another worker runs them when that one is blocked in a job), and
 * jobs may finish in any order.  Writes the caller made before the submit
 * are visible to the job.  Safe from any thread, including the pool's own
 * workers.  In steady state the call allocates nothing and makes no system
 * call unless it must wake a sleeping worker (a thread's first submit to a
 * pool may allocate that thread's queue).
 *
 * With a queue_limit, a submit to a full queue follows the pool's overflow
 * policy (enum job_overflow).  An elastic pool may start a worker inside
 * this call (a system call, only when every worker is busy).
 *
 * Returns 0, or
 *   EINVAL     pool or fn is NULL;
 *   ESHUTDOWN  shutdown has begun (counted as rejected);
 *   EAGAIN     the queue is at queue_limit under JOB_OVERFLOW_REJECT, or an
 *              elastic pool with no worker could not start one (counted as
 *              rejected);
 *   ENOMEM     the queue needed memory (at this thread's first submit to the
 *              pool, or at a new queue block) and none was available
 *              (counted as rejected).
 * With JOB_OVERFLOW_CALLER_RUNS, 0 may mean the job has already run, in
 * this thread.
 * On failure fn is never called and ctx stays with the caller.
 */
JOB_API int job_submit_detached(job_pool *pool, job_fn fn, void *ctx);

/*
 * Like job_submit_detached(), but when the queue is at queue_limit it
 * waits at most timeout_ns nanoseconds for room, whatever the pool's
 * overflow policy, and then fails with ETIMEDOUT (counted as rejected).
 * timeout_ns = 0 never waits.  From a worker of this pool it waits too:
 * the deadline bounds it.  On a pool without a limit it is
 * job_submit_detached().
 *
 * Returns 0, or the errors of job_submit_detached() (EAGAIN is never
 * returned for a full queue: ETIMEDOUT is), or ETIMEDOUT.
 */
JOB_API int job_submit_detached_timed(job_pool *pool, job_fn fn, void *ctx,
                                      uint64_t timeout_ns);

/* cancelling */

/* Receives one job that job_pool_cancel_queued() removed: its fn and ctx,
 * and the arg given to the cancel call.  It owns ctx from then on. */
typedef void (*job_handback_fn)(job_fn fn, void *ctx, void *arg);

/*
 * Removes every job queued and not yet started when the call began, and
 * hands each one, exactly once, to handback(fn, ctx, arg) on the calling
 * thread; such a job never runs.  The jobs of each submitting thread are
 * handed back in the order that thread submitted them; jobs of different
 * threads have no order between them.  Running jobs are never
 * interrupted; jobs submitted while the call is in progress may be handed
 * back or may run, each exactly once either way.  The jobs waiting in the
 * pool's lanes are handed back too, each lane's in the lane's order (see
 * job_lane_cancel_queued()).  handback may submit jobs (to this pool or
 * another), but must not call job_pool_cancel_queued() on this pool.  Works
 * in any state, also during a shutdown that timed out.  Stores the number of
 * jobs handed back in *count when count is not NULL.  Makes room in a
 * bounded queue, waking blocked submitters.
 *
 * Returns 0, or EINVAL (pool or handback is NULL).
 */
JOB_API int job_pool_cancel_queued(job_pool *pool, job_handback_fn handback,
                                   void *arg, size_t *count);

/* waiting */

/*
 * Blocks until, at one instant, no job is queued or running (a job being
 * handed back by job_pool_cancel_queued() is neither, so a hand-back may
 * call this too).  The pool stays
 * usable; other threads may go on submitting (the call then returns at the
 * first idle instant it observes, or waits for it).  Everything the finished
 * jobs wrote is visible to the caller when it returns.
 *
 * Returns 0, or EINVAL (pool is NULL), or EDEADLK (called from a worker of
 * this pool).
 */
JOB_API int job_pool_wait_idle(job_pool *pool);

/* lanes */

/*
 * A lane: a FIFO inside a pool with a width w >= 1.  At most w of its jobs
 * run at once, and workers take them in the order they were accepted into
 * the lane, whatever thread submitted them: with w = 1 each job starts after
 * the one before it has returned; with w > 1 two jobs taken in order by two
 * workers may begin their calls in either order.  w = 1 is a serial queue
 * (the jobs of one connection or one file, one after another); w = k caps a
 * class of slow work (DNS, a remote service) so that it cannot take every
 * worker.
 *
 * A lane's jobs wait in the lane, not on a worker: while w of them run, the
 * later ones hold no thread, and the pool's workers run other work.  A lane
 * with jobs waiting and fewer than w running always has one of them queued
 * in its pool, behind the jobs queued there before it, so lanes share the
 * workers fairly with the rest of the pool.  A pool may have any number of
 * lanes; an idle lane costs a few hundred bytes and no thread.
 *
 * The pool's shutdown drains every lane: each job a lane accepted runs
 * before job_pool_shutdown() returns.  Destroy a lane before its pool is
 * destroyed (after the pool's shutdown is fine).
 *
 * A lane hands its jobs to the pool in turns, as they become runnable; a
 * turn that finds nothing else waiting in the pool when its job returns
 * runs the lane's next job too.  The pool's statistics count those turns
 * (which the pool's overflow policy never refuses, so a bounded pool's
 * queue may hold up to each lane's width past its queue_limit), and
 * job_lane_get_stats() counts the lane's jobs.
 */
typedef struct job_lane job_lane;

/*
 * Options for job_lane_create(), with the compatibility rule of
 * job_pool_options: always call job_lane_options_init() first.
 */
typedef struct job_lane_options {
    size_t struct_size;         /* written by job_lane_options_init() */
    unsigned width;             /* most jobs of the lane running at once;
                                   0 = 1, a serial lane */
    size_t queue_limit;         /* most jobs waiting in the lane (accepted,
                                   not started); 0 = unbounded.  The pool's
                                   queue_limit does not apply to them */
    enum job_overflow overflow; /* at queue_limit: JOB_OVERFLOW_REJECT or
                                   JOB_OVERFLOW_BLOCK; CALLER_RUNS would
                                   break the lane's order and is EINVAL */
} job_lane_options;

/* A snapshot of a lane's counters, filled by job_lane_get_stats(); the
 * compatibility rule of job_pool_stats applies. */
typedef struct job_lane_stats {
    size_t struct_size;    /* written by job_lane_get_stats() */
    uint64_t submitted;    /* jobs accepted into the lane */
    uint64_t completed;    /* accepted jobs that have returned */
    uint64_t rejected;     /* submits refused for any reason but EINVAL */
    uint64_t cancelled;    /* jobs handed back by a cancel, of the lane
                              or of its pool */
    size_t queued;         /* accepted, not yet started */
    size_t queued_peak;    /* most jobs queued at once */
    unsigned running;      /* started, not yet returned */
    unsigned running_peak; /* most jobs running at once: never above
                              width */
    unsigned width;        /* as created */
} job_lane_stats;

/* Fills opts with the defaults: width 1, unbounded.  The macro form
 * records the caller's struct size. */
JOB_API void job_lane_options_init_sized(job_lane_options *opts,
                                         size_t struct_size);
#define job_lane_options_init(opts)                                            \
    job_lane_options_init_sized((opts), sizeof *(opts))

/*
 * Creates a lane in pool and stores it in *lane; opts may be NULL for the
 * defaults.  Allocates the lane; its queue's memory comes with its first
 * job and goes as it drains.
 *
 * Returns 0, or
 *   EINVAL     pool or lane is NULL; opts has an unknown struct_size or an
 *              unknown field set; overflow is JOB_OVERFLOW_CALLER_RUNS or
 *              not a job_overflow value;
 *   ESHUTDOWN  the pool's shutdown has begun;
 *   ENOMEM     out of memory.
 * On failure *lane is left unchanged.
 */
JOB_API int job_lane_create(job_pool *pool, job_lane **lane,
                            const job_lane_options *opts);

/*
 * Stops the lane accepting jobs (ESHUTDOWN from then on), waits until every
 * job it accepted has returned (or was handed back by a cancel), and frees
 * it.  Calls that other threads make on the lane while destroy waits are
 * served (a submit gets ESHUTDOWN, a submit blocked for room is woken with
 * it, a cancel hands back what it takes), but no call may be on its way
 * when destroy returns: the program must make sure none follows.  Called
 * from a job of another lane or of the pool it waits like any call, which
 * needs a free worker to run the lane's jobs.  destroy(NULL) returns 0.
 *
 * Returns 0, or EDEADLK (called from one of the lane's own jobs, or from a
 * hand-back of one of its jobs, which could never see the lane drain;
 * nothing is changed).
 */
JOB_API int job_lane_destroy(job_lane *lane);

/*
 * Queues fn(ctx) in the lane and returns at once; it runs on a worker of
 * the lane's pool when it is the lane's oldest job and fewer than width of
 * the lane's jobs run.  Jobs are taken in the order they were accepted into
 * the lane (by this call or job_group_submit_lane()), by any threads; with
 * width 1 each job starts after the one before it has returned, and sees
 * everything it wrote.  Writes the caller made before the submit are
 * visible to the job.  Safe from any thread, including the pool's workers
 * and the lane's own jobs.  In steady state it allocates nothing and makes
 * no system call unless it must wake a sleeping worker.
 *
 * Returns 0, or
 *   EINVAL     lane or fn is NULL;
 *   ESHUTDOWN  the lane is being destroyed, or the pool's shutdown has
 *              begun;
 *   EAGAIN     the lane is at its queue_limit under JOB_OVERFLOW_REJECT, or
 *              an elastic pool with no worker could not start one;
 *   EDEADLK    the lane is at its queue_limit under JOB_OVERFLOW_BLOCK and
 *              the caller is one of the lane's own jobs or a hand-back of
 *              one, which would wait for itself;
 *   ENOMEM     the lane's queue needed memory and none was available.
 * Every refusal is counted in the lane's rejected.  On failure fn is never
 * called and ctx stays with the caller.
 */
JOB_API int job_submit_lane(job_lane *lane, job_fn fn, void *ctx);

/*
 * Removes every job waiting in the lane when the call began and hands each
 * one, in the lane's order, to handback(fn, ctx, arg) on the calling
 * thread, as job_pool_cancel_queued() does for a pool; running jobs go on.
 * job_pool_cancel_queued() on the lane's pool hands back the lane's
 * waiting jobs too.  handback may submit, also to this lane, but must not
 * cancel this lane.  Stores the number handed back in *count when
 * count is not NULL.
 *
 * Returns 0, or EINVAL (lane or handback is NULL).
 */
JOB_API int job_lane_cancel_queued(job_lane *lane, job_handback_fn handback,
                                   void *arg, size_t *count);

/* Fills *out with a snapshot of the lane's counters, each exact, taken
 * under the lane's lock.  Returns 0, or EINVAL (lane or out is NULL). */
JOB_API int job_lane_get_stats_sized(job_lane *lane, job_lane_stats *out,
                                     size_t struct_size);
#define job_lane_get_stats(lane, out)                                          \
    job_lane_get_stats_sized((lane), (out), sizeof *(out))

/* groups */

/*
 * A group counts the jobs submitted through it, to any pools and lanes, until
 * they return, so that a program can wait for a set of detached jobs without
 * shutting a pool down (a dispatch group, a WaitGroup).  It is reusable:
 * once it empties it counts whatever is submitted next.  A pool's own
 * submits never touch a group; a group's jobs each cost its lock twice.
 */
typedef struct job_group job_group;

/* A timeout that never expires, for job_group_wait(). */
#define JOB_WAIT_FOREVER UINT64_MAX

/* Creates an empty group.  Returns 0, or EINVAL (group is NULL), or
 * ENOMEM. */
JOB_API int job_group_create(job_group **group);

/* Frees an empty group.  destroy(NULL) returns 0.  Returns 0, or EBUSY
 * (jobs of the group have not returned yet, or a notify has not been
 * submitted yet; nothing is changed). */
JOB_API int job_group_destroy(job_group *group);

/*
 * job_submit_detached(pool, fn, ctx) and job_submit_lane(lane, fn, ctx),
 * with the job counted in group from before the call returns 0 until fn
 * has returned.  Same return values, order and ownership rules as those
 * calls, and also ENOMEM when the group needed memory (it keeps what it
 * allocates for reuse until it is destroyed).  A job the pool runs in the
 * caller (JOB_OVERFLOW_CALLER_RUNS) has returned when the call does.  A
 * job handed back by a cancel leaves the group as it is handed back, and
 * its hand-back receives the caller's fn and ctx.
 */
JOB_API int job_group_submit(job_group *group, job_pool *pool, job_fn fn,
                             void *ctx);
JOB_API int job_group_submit_lane(job_group *group, job_lane *lane, job_fn fn,
                                  void *ctx);

/*
 * Waits until the group is empty: every job submitted through it has
 * returned (or been handed back).  A group that empties and fills again
 * while the caller sleeps may be seen empty or not; the call returns at
 * the first empty instant it observes.  Everything the group's jobs wrote
 * is visible to the caller when it returns 0.  timeout_ns bounds the wait
 * (0 only looks; JOB_WAIT_FOREVER never times out).  Not a cancellation
 * point, like the pool's waits.
 *
 * Returns 0, or ETIMEDOUT, or EINVAL (group is NULL), or EDEADLK (called
 * from one of the group's own jobs, which would wait for itself).
 */
JOB_API int job_group_wait(job_group *group, uint64_t timeout_ns);

/*
 * Submits fn(ctx) to pool once the group is empty: at once if it is empty
 * now, otherwise from the thread whose job empties it, right after that
 * job returns.  Any number of notifies may wait on a group; each is
 * submitted once.  If the pool refuses fn at that moment (its shutdown has
 * begun, or its queue is full), fn runs in the thread that emptied the
 * group, so an accepted notify is never lost.  Returns 0, or EINVAL (group,
 * pool or fn is NULL), or ENOMEM, or, when the group is empty now, what
 * job_submit_detached() returns.
 */
JOB_API int job_group_notify(job_group *group, job_pool *pool, job_fn fn,
                             void *ctx);

/* introspection */

/*
 * Fills *out with a snapshot of the pool's counters.  Counters are read
 * without stopping the pool, so while it is busy the fields are each exact
 * but not taken at one instant.  The macro form records the caller's struct
 * size; the function form assumes the layout of version 0.1.
 *
 * Returns 0, or EINVAL (pool or out is NULL).
 */
JOB_API int job_pool_get_stats(job_pool *pool, job_pool_stats *out);
JOB_API int job_pool_get_stats_sized(job_pool *pool, job_pool_stats *out,
                                     size_t struct_size);
#define job_pool_get_stats(pool, out)                                          \
    job_pool_get_stats_sized((pool), (out), sizeof *(out))

/* The library's version at run time, as JOBPOOL_VERSION_NUMBER and as a
 * "major.minor.patch" string. */
JOB_API unsigned long job_version(void);
JOB_API const char *job_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* JOBPOOL_H */
