/* SPDX-License-Identifier: MIT */
/*
 * The public structs and their compatibility rules (see job_pool_options in
 * jobpool.h), the statistics snapshot, and the version query.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* The layouts of version 0.1, the oldest a caller can have compiled. */
#define OPTIONS_V1_SIZE                                                        \
    (offsetof(job_pool_options, name) + sizeof(const char *))
#define STATS_V1_SIZE (offsetof(job_pool_stats, threads) + sizeof(unsigned))

#define DEFAULT_NAME "jobpool"
#define DEFAULT_IDLE_TIMEOUT_MS 10000u

/* The parentheses keep the public macro of the same name from expanding:
 * this is the function form, for callers that cannot use the macro. */
void(job_pool_options_init)(job_pool_options *opts)
{
    job_pool_options_init_sized(opts, OPTIONS_V1_SIZE);
}

void job_pool_options_init_sized(job_pool_options *opts, size_t struct_size)
{
    if (opts == NULL || struct_size < OPTIONS_V1_SIZE)
        return;
    /* Every field defaults to zero (threads 0, name NULL), and so do those
     * this library does not know. */
    memset(opts, 0, struct_size);
    opts->struct_size = struct_size;
}

/* True when the bytes of a newer caller's struct past the end of ours are
 * all zero, i.e. every field this library does not know has its default. */
static bool tail_is_zero(const void *opts, size_t known, size_t size)
{
    const unsigned char *bytes = opts;

    for (size_t i = known; i < size; i++)
        if (bytes[i] != 0)
            return false;
    return true;
}

/* The CPUs this process may run on: its affinity mask (taskset, cpusets,
 * a container's CPU list), or the online CPUs where the mask cannot be
 * read.  A cgroup's CPU quota is not counted: it limits time, not
 * parallelism, and a pool sized below the CPUs it may use would idle them
 * while its jobs block. */
static unsigned usable_cpus(void)
{
    long n = 0;
#ifdef CPU_COUNT /* glibc and musl, with _GNU_SOURCE */
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
#endif
    if (n < 1)
        n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    if (n > (long)JOB_POOL_THREADS_MAX)
        return JOB_POOL_THREADS_MAX;
    return (unsigned)n;
}

int job__copy_in(void *out, size_t out_size, const void *in, size_t min_size)
{
    size_t size;

    memset(out, 0, out_size);
    if (in == NULL)
        return 0;
    memcpy(&size, in, sizeof size);
    if (size < min_size || !tail_is_zero(in, out_size, size))
        return EINVAL;
    memcpy(out, in, size < out_size ? size : out_size);
    return 0;
}

void job__copy_out(void *out, size_t struct_size, void *snapshot,
                   size_t snapshot_size)
{
    if (struct_size > snapshot_size) {
        memset((unsigned char *)out + snapshot_size, 0,
               struct_size - snapshot_size);
        struct_size = snapshot_size;
    }
    memcpy(snapshot, &struct_size, sizeof struct_size);
    memcpy(out, snapshot, struct_size);
}

/* Fills in the thread counts of a fixed-size or an elastic pool. */
static int thread_counts(job_pool_options *o)
{
    if (o->threads > JOB_POOL_THREADS_MAX ||
        o->max_threads > JOB_POOL_THREADS_MAX)
        return EINVAL;
    if (o->max_threads == 0) {
        if (o->min_threads != 0)
            return EINVAL;
        o->min_threads = o->threads != 0 ? o->threads : usable_cpus();
        o->max_threads = o->min_threads;
        o->threads = 0;
        return 0;
    }
    if (o->threads != 0 || o->min_threads > o->max_threads)
        return EINVAL;
    if (o->idle_timeout_ms == 0)
        o->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    return 0;
}

int job__options_settle(job_pool_options *cfg, const job_pool_options *opts)
{
    int rc = job__copy_in(cfg, sizeof *cfg, opts, OPTIONS_V1_SIZE);

    if (rc == 0)
        rc = thread_counts(cfg);
    if (rc != 0)
        return rc;
    /* The policies are numbered from 0 (jobpool.h); the cast also refuses a
     * negative value. */
    if ((unsigned)cfg->overflow > JOB_OVERFLOW_CALLER_RUNS)
        return EINVAL;
    if (cfg->stack_size != 0 && cfg->stack_size < (size_t)PTHREAD_STACK_MIN)
        return EINVAL;
    if (cfg->name == NULL)
        cfg->name = DEFAULT_NAME;
    return 0;
}

int(job_pool_get_stats)(job_pool *pool, job_pool_stats *out)
{
    return job_pool_get_stats_sized(pool, out, STATS_V1_SIZE);
}

int job_pool_get_stats_sized(job_pool *pool, job_pool_stats *out,
                             size_t struct_size)
{
    job_pool_stats s;
    uint64_t started;

    if (pool == NULL || out == NULL || struct_size < STATS_V1_SIZE)
        return EINVAL;
    memset(&s, 0, sizeof s);
    /* Each counter only grows; a job is counted as completed only after it
     * was started, and as started or cancelled only after it was
     * submitted.  Read in this order, the differences below are never
     * negative. */
    s.completed = job__completed(pool);
    started = job__started(pool);
    s.cancelled = atomic_load_explicit(&pool->cancelled, memory_order_seq_cst);
    s.submitted = job__shards_submitted(pool);
    s.rejected = atomic_load_explicit(&pool->rejected, memory_order_relaxed);
    s.queued = (size_t)(s.submitted - started - s.cancelled);
    s.running = (size_t)(started - s.completed);
    s.threads =
        atomic_load_explicit(&pool->threads_alive, memory_order_relaxed);
    s.threads_peak =
        atomic_load_explicit(&pool->threads_peak, memory_order_relaxed);
    s.threads_idle = job__threads_idle(pool);
    /* A thread counts as idle from just after it starts until it holds a
     * job and while it leaves, around the moments threads_alive moves: the
     * two are read at different instants, and a snapshot never shows more
     * idle threads than threads. */
    if (s.threads_idle > s.threads)
        s.threads_idle = s.threads;
    s.queued_peak =
        atomic_load_explicit(&pool->queued_peak, memory_order_relaxed);
    s.rejected_full =
        atomic_load_explicit(&pool->rejected_full, memory_order_relaxed);
    s.rejected_shutdown =
        atomic_load_explicit(&pool->rejected_shutdown, memory_order_relaxed);
    s.ran_in_caller =
        atomic_load_explicit(&pool->ran_in_caller, memory_order_relaxed);
    s.thread_start_failures = atomic_load_explicit(&pool->thread_start_failures,
                                                   memory_order_relaxed);

    job__copy_out(out, struct_size, &s, sizeof s);
    return 0;
}

unsigned long job_version(void)
{
    return JOBPOOL_VERSION_NUMBER;
}

const char *job_version_string(void)
{
    return JOBPOOL_VERSION_STRING;
}
