/*
 * The public structs and their compatibility rules (see job_pool_options in
 * jobpool.h), the statistics snapshot, and the version query.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* The layouts of version 0.1, the oldest a caller can have compiled. */
#define OPTIONS_V1_SIZE                                                        \
    (offsetof(job_pool_options, name) + sizeof(const char *))
#define STATS_V1_SIZE (offsetof(job_pool_stats, threads) + sizeof(unsigned))

#define DEFAULT_NAME "jobpool"

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
    /* Fields this library does not know default to zero. */
    memset(opts, 0, struct_size);
    opts->struct_size = struct_size;
    opts->threads = 0;
    opts->name = NULL;
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

int job__settings_from_options(struct job__settings *out,
                               const job_pool_options *opts)
{
    const char *name = DEFAULT_NAME;

    memset(out, 0, sizeof *out);
    if (opts != NULL) {
        if (opts->struct_size < OPTIONS_V1_SIZE ||
            !tail_is_zero(opts, sizeof *opts, opts->struct_size))
            return EINVAL;
        if (opts->threads > JOB_POOL_THREADS_MAX)
            return EINVAL;
        out->threads = opts->threads;
        if (opts->name != NULL)
            name = opts->name;
    }
    (void)strncpy(out->name, name, sizeof out->name - 1);
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
    /* Each counter only grows and completed <= started <= submitted; read
     * them in that order so the differences below are never negative. */
    s.completed = job__completed(pool);
    started = atomic_load_explicit(&pool->queue.head_seq, memory_order_acquire);
    s.submitted =
        atomic_load_explicit(&pool->queue.tail_seq, memory_order_acquire);
    s.rejected = atomic_load_explicit(&pool->rejected, memory_order_relaxed);
    s.queued = (size_t)(s.submitted - started);
    s.running = (size_t)(started - s.completed);
    s.threads =
        atomic_load_explicit(&pool->threads_alive, memory_order_relaxed);

    if (struct_size > sizeof s) {
        memset((unsigned char *)out + sizeof s, 0, struct_size - sizeof s);
        struct_size = sizeof s;
    }
    s.struct_size = struct_size;
    memcpy(out, &s, struct_size);
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
