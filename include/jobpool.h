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
 *   - Every submit that returned 0 runs exactly once, on a worker thread,
 *     before job_pool_shutdown() or job_pool_destroy() returns.
 *   - The library keeps no global state, installs no signal handler, never
 *     prints, and never calls abort() or exit().
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
#define JOBPOOL_VERSION_MINOR 1
#define JOBPOOL_VERSION_PATCH 0
#define JOBPOOL_VERSION_STRING "0.1.0"
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

/* A job: called once, on a worker thread, with the ctx given at submit. */
typedef void (*job_fn)(void *ctx);

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
 */
typedef struct job_pool_options {
    size_t struct_size; /* written by job_pool_options_init(); do not set */
    unsigned threads;   /* worker threads; 0 = one per online CPU */
    const char *name;   /* worker name prefix shown by top -H; a worker is
                           named prefix-index, cut to the kernel's 15
                           bytes; NULL = "jobpool" */
} job_pool_options;

/*
 * Statistics, a snapshot taken by job_pool_get_stats().  The same
 * compatibility rule as job_pool_options applies: the macro passes the
 * caller's sizeof, and the library fills only what the caller has room for.
 */
typedef struct job_pool_stats {
    size_t struct_size; /* written by job_pool_get_stats() */
    uint64_t submitted; /* jobs accepted (submits that returned 0) */
    uint64_t completed; /* jobs that have returned */
    uint64_t rejected;  /* submits refused for any reason except EINVAL */
    size_t queued;      /* accepted, not yet started */
    size_t running;     /* started, not yet returned */
    unsigned threads;   /* worker threads alive */
} job_pool_stats;

/* lifecycle */

/*
 * Fills opts with the defaults: threads = 0 (one per online CPU),
 * name = NULL ("jobpool").  The macro form records the caller's struct size;
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
 *
 * Returns 0, or
 *   EINVAL  pool is NULL, opts has an unknown struct_size or a field this
 *           library does not know set, or threads > JOB_POOL_THREADS_MAX;
 *           nothing was allocated;
 *   ENOMEM  out of memory;
 *   EAGAIN  a worker thread could not be started.
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
 * Shuts the pool down as job_pool_shutdown() does, then frees it.  No other
 * call on this pool may be in progress or follow.  destroy(NULL) returns 0.
 * Returns 0, or EDEADLK (called from a worker of this pool; nothing is
 * changed and the pool stays usable).
 */
JOB_API int job_pool_destroy(job_pool *pool);

/* submitting */

/*
 * Queues fn(ctx) to run on a worker and returns at once.  Jobs are started
 * in the order they were accepted (FIFO); with more than one worker they may
 * finish in any order.  Writes the caller made before the submit are visible
 * to the job.  Safe from any thread, including the pool's own workers.
 * In steady state the call allocates nothing and makes no system call unless
 * it must wake a sleeping worker.
 *
 * Returns 0, or
 *   EINVAL     pool or fn is NULL;
 *   ESHUTDOWN  shutdown has begun (counted as rejected);
 *   ENOMEM     the queue needed memory and none was available (counted as
 *              rejected).
 * On failure fn is never called and ctx stays with the caller.
 */
JOB_API int job_submit_detached(job_pool *pool, job_fn fn, void *ctx);

/* waiting */

/*
 * Blocks until, at one instant, no job is queued or running.  The pool stays
 * usable; other threads may go on submitting (the call then returns at the
 * first idle instant it observes, or waits for it).  Everything the finished
 * jobs wrote is visible to the caller when it returns.
 *
 * Returns 0, or EINVAL (pool is NULL), or EDEADLK (called from a worker of
 * this pool).
 */
JOB_API int job_pool_wait_idle(job_pool *pool);

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
