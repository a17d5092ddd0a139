/* SPDX-License-Identifier: MIT */
/*
 * jobpool-demo: fire-and-forget jobs, drained at shutdown.
 *
 * Submits a burst of small jobs and a handful of blocking ones (each sleeps
 * a millisecond, standing in for an fsync), returns from every submit at
 * once, then shuts the pool down and shows that every accepted job ran.
 *
 *   jobpool-demo [jobs [threads]]
 */
#include <errno.h>
#include <inttypes.h>
#include <jobpool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCKING_JOBS 64

static atomic_uint_fast64_t small_done;
static atomic_uint_fast64_t blocking_done;

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void small_job(void *ctx)
{
    (void)ctx;
    atomic_fetch_add_explicit(&small_done, 1, memory_order_relaxed);
}

static void blocking_job(void *ctx)
{
    struct timespec ms = {0, 1000000};

    (void)ctx;
    nanosleep(&ms, NULL);
    atomic_fetch_add_explicit(&blocking_done, 1, memory_order_relaxed);
}

static unsigned long parse_count(const char *arg, unsigned long fallback)
{
    char *end;
    unsigned long n;

    if (arg == NULL)
        return fallback;
    errno = 0;
    n = strtoul(arg, &end, 10);
    if (errno != 0 || *end != '\0') {
        fprintf(stderr, "jobpool-demo: not a count: %s\n", arg);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    unsigned long jobs = parse_count(argc > 1 ? argv[1] : NULL, 1000000);
    job_pool_options opts;
    job_pool_stats stats;
    job_pool *pool;
    double t0, t_submitted, t_drained;
    int rc;

    job_pool_options_init(&opts);
    opts.threads = (unsigned)parse_count(argc > 2 ? argv[2] : NULL, 0);
    opts.name = "demo";
    rc = job_pool_create(&pool, &opts);
    if (rc != 0) {
        fprintf(stderr, "jobpool-demo: job_pool_create: %s\n", strerror(rc));
        return 1;
    }

    t0 = now_seconds();
    for (unsigned i = 0; i < BLOCKING_JOBS; i++)
        if ((rc = job_submit_detached(pool, blocking_job, NULL)) != 0)
            break;
    for (unsigned long i = 0; rc == 0 && i < jobs; i++)
        rc = job_submit_detached(pool, small_job, NULL);
    if (rc != 0) {
        fprintf(stderr, "jobpool-demo: submit: %s\n", strerror(rc));
        return 1;
    }
    t_submitted = now_seconds();
    job_pool_get_stats(pool, &stats);
    printf("jobpool %s, %u worker threads\n", job_version_string(),
           stats.threads);
    printf("submitted %lu small + %d blocking jobs in %.1f ms "
           "(%.0f ns per submit); %zu still queued\n",
           jobs, BLOCKING_JOBS, (t_submitted - t0) * 1e3,
           (t_submitted - t0) * 1e9 / (double)(jobs + BLOCKING_JOBS),
           stats.queued);

    job_pool_shutdown(pool);
    t_drained = now_seconds();
    job_pool_get_stats(pool, &stats);
    printf("shutdown drained the rest in %.1f ms\n",
           (t_drained - t_submitted) * 1e3);
    printf("accepted %" PRIu64 ", completed %" PRIu64 " (%" PRIu64
           " small, %" PRIu64 " blocking), rejected %" PRIu64 "\n",
           stats.submitted, stats.completed, (uint64_t)atomic_load(&small_done),
           (uint64_t)atomic_load(&blocking_done), stats.rejected);
    rc = job_submit_detached(pool, small_job, NULL);
    printf("a submit after shutdown returns %s\n",
           rc == ESHUTDOWN ? "ESHUTDOWN" : strerror(rc));
    job_pool_destroy(pool);
    return stats.completed == stats.submitted ? 0 : 1;
}
