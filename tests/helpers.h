/*
 * Test helpers: latches that make timing deterministic, job functions that
 * record what they did, and Check glue.
 */
#ifndef JOBPOOL_TEST_HELPERS_H
#define JOBPOOL_TEST_HELPERS_H

#include "config.h"

#include <check.h>
#include <jobpool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* A one-shot gate: threads wait until someone opens it. */
struct latch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open; /* lock */
};

void latch_init(struct latch *l);
void latch_destroy(struct latch *l);
void latch_open(struct latch *l);
void latch_wait(struct latch *l);

/* A countdown: waiters block until count jobs have arrived. */
struct countdown {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned count; /* lock */
};

void countdown_init(struct countdown *c, unsigned count);
void countdown_destroy(struct countdown *c);
void countdown_arrive(struct countdown *c);
void countdown_wait(struct countdown *c);

/* Job: atomically increments the atomic_ulong ctx points to. */
void job_count(void *ctx);

/* Job blocked on a gate: announces it started, then waits for the gate. */
struct gated_job {
    struct countdown *started;
    struct latch *gate;
    atomic_ulong *done;
};
void job_gated(void *ctx);

/* Creates a pool with the given thread count, failing the test on error. */
job_pool *pool_new(unsigned threads);
job_pool_stats pool_stats(job_pool *pool);

Suite *lifecycle_suite(void);
Suite *submit_suite(void);
Suite *shutdown_suite(void);
Suite *wait_idle_suite(void);
Suite *process_suite(void);
Suite *stress_suite(void);
Suite *misuse_suite(void);

#endif
