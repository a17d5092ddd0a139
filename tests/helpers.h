/* SPDX-License-Identifier: MIT */
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
#include <stdint.h>

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
bool latch_is_open(struct latch *l);

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

/*
 * Workers held on one gate.  blockers_add() submits gated jobs one at a
 * time and waits until each has started: at most one of them is ever
 * queued (so a queue_limit of 1 is enough), and each finds every earlier
 * one holding a worker (so an elastic pool must grow to run it).
 */
enum { BLOCKERS_MAX = 8 };
struct blockers {
    struct latch gate;
    struct countdown started[BLOCKERS_MAX];
    struct gated_job jobs[BLOCKERS_MAX];
    atomic_ulong done; /* gated jobs that have returned */
    unsigned count;    /* only the test thread touches it */
};

void blockers_init(struct blockers *b);
void blockers_add(struct blockers *b, job_pool *pool, unsigned count);
void blockers_open(struct blockers *b);
void blockers_destroy(struct blockers *b);
/* blockers_add() for a lane: each gated job must start, so count plus the
 * lane's running jobs must not pass its width. */
void blockers_add_lane(struct blockers *b, job_lane *lane, unsigned count);

/* Job: arrives at the struct countdown ctx points to. */
void job_countdown_arrive(void *ctx);

/* One submit made on a thread of its own, because it may block. */
struct submitter {
    job_pool *pool;
    job_fn fn;
    void *ctx;
    bool timed;
    uint64_t timeout_ns;
    atomic_bool returned;
    int rc; /* valid once returned */
    pthread_t thread;
};

void submitter_start(struct submitter *s, job_pool *pool, job_fn fn, void *ctx);
void submitter_start_timed(struct submitter *s, job_pool *pool, job_fn fn,
                           void *ctx, uint64_t timeout_ns);
int submitter_join(struct submitter *s);

/* Creates a pool with the given thread count, failing the test on error. */
job_pool *pool_new(unsigned threads);
/* Creates a pool with the given options, failing the test on error. */
job_pool *pool_with(const job_pool_options *opts);
/* A pool of threads workers with a queue_limit and an overflow policy. */
job_pool *pool_bounded(unsigned threads, size_t limit,
                       enum job_overflow overflow);
job_pool_stats pool_stats(job_pool *pool);
/* A lane of pool with the given width, queue_limit and overflow policy,
 * failing the test on error. */
job_lane *lane_new(job_pool *pool, unsigned width, size_t limit,
                   enum job_overflow overflow);
job_lane_stats lane_stats(job_lane *lane);

/* Worker threads of this process whose name starts with prefix. */
unsigned count_named_threads(const char *prefix);
/* count_named_threads() once it is expect, or after 100000 looks: a thread
 * that pthread_join() has returned for may still be listed for a moment,
 * since the kernel wakes the joiner before it unlists the thread. */
unsigned settled_named_threads(const char *prefix, unsigned expect);

/*
 * The rounds a round-based test runs: full, or the share of it that
 * JOBPOOL_TEST_ROUNDS asks for (a percentage, 1 to 100; 100 when unset),
 * rounded up and never fewer than least, which a test sets to cover each
 * of its variants (thread counts, pauses) at least once.  What a test
 * asserts does not change, only how many times it tries.
 */
unsigned test_rounds(unsigned full, unsigned least);

/* A millisecond in nanoseconds, for timeouts. */
#define MS 1000000ull

uint64_t now_ns(void);
void sleep_ms(unsigned ms);
/* A short pause that gives a thread expected to stay blocked the chance to
 * return wrongly.  Never used to wait for something to happen. */
void grace(void);

Suite *lifecycle_suite(void);
Suite *submit_suite(void);
Suite *shutdown_suite(void);
Suite *wait_idle_suite(void);
Suite *process_suite(void);
Suite *stress_suite(void);
Suite *batch_suite(void);
Suite *misuse_suite(void);
Suite *overload_suite(void);
Suite *elastic_suite(void);
Suite *cancel_suite(void);
Suite *order_suite(void);
Suite *hardening_suite(void);
Suite *lane_suite(void);
Suite *group_suite(void);

#endif
