/* SPDX-License-Identifier: MIT */
/*
 * Workload tiny-work: one producer submits jobs of about 1 us of busy work
 * each (a spin loop calibrated once per process with clock_gettime).  With
 * work this small, the pool's own cost per job decides how much of the
 * machine the jobs get.  A job counts itself on its own thread's line
 * (count.c): an increment of one shared counter would bounce a cache line
 * between the workers on every job, a cost of the benchmark and not of the
 * pool (about 1 % of efficiency on the 2-core machine of doc/).
 *
 * Reported: efficiency, the share of the workers' time spent in jobs:
 * (jobs x 1 us / workers) / wall time, from the first submit until finish()
 * has run every job; and the job rate.  The first guess at the job count
 * is 300 ms of jobs per worker, so that even a pool at 100 % (and the
 * no-pool run below) times at least 200 ms; the parent raises it if not.
 *
 * Also reported, as no-pool: the same efficiency for the same jobs split
 * evenly over as many plain threads in advance, measured in the same child
 * just before the pool starts.  No queue, no producer: it is what the
 * machine gives at that moment, the ceiling for any pool.  On a shared
 * virtual machine it moves from run to run, and a pool's figure moves with
 * it.  And top-share: the part of the jobs the busiest worker ran (50 %
 * when two workers shared them evenly).
 */
#include "config.h"

#include "bench.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_NS 1000u

/* Iterations for JOB_NS; fixed before the pool starts. */
struct tiny_run {
    uint64_t spin;
};

static void tiny_job(void *ctx)
{
    const struct tiny_run *run = ctx;

    bench_spin(run->spin);
    bench_count_job();
}

struct no_pool_share {
    struct bench_latch *start;
    uint64_t spin, jobs;
};

static void *no_pool_thread(void *arg)
{
    const struct no_pool_share *share = arg;

    bench_latch_wait(share->start, 1);
    for (uint64_t i = 0; i < share->jobs; i++)
        bench_spin(share->spin);
    return NULL;
}

/* Runs jobs x spin split over `threads` plain threads; returns the wall
 * time from their start to the last join, or 0 if a thread could not be
 * started. */
static uint64_t run_no_pool(uint64_t spin, uint64_t jobs, unsigned threads)
{
    struct bench_latch start;
    struct no_pool_share share = {&start, spin, jobs / threads};
    pthread_t *tids;
    uint64_t t0, wall = 0;
    unsigned started = 0;

    tids = calloc(threads, sizeof *tids);
    if (tids == NULL || bench_latch_init(&start) != 0) {
        free(tids);
        return 0;
    }
    while (started < threads &&
           pthread_create(&tids[started], NULL, no_pool_thread, &share) == 0)
        started++;
    t0 = bench_now_ns();
    bench_latch_add(&start, 1);
    for (unsigned i = 0; i < started; i++)
        (void)pthread_join(tids[i], NULL);
    if (started == threads)
        wall = bench_now_ns() - t0;
    bench_latch_destroy(&start);
    free(tids);
    return wall;
}

int bench_run_tiny_work(const struct bench_workload *self,
                        const struct bench_peer *peer,
                        const struct bench_params *params)
{
    const uint64_t guess = (uint64_t)(BENCH_TIMED_AIM_MS * 1e6 / JOB_NS);
    const uint64_t jobs =
        (params->jobs ? params->jobs / params->threads : guess) *
        params->threads;
    struct tiny_run run = {0};
    uint64_t i, refused = 0, t0, wall, no_pool;
    void *pool;
    int rc;

    if (jobs == 0) {
        fprintf(stderr, "jobpool-bench: tiny-work: fewer jobs than workers\n");
        return 1;
    }
    run.spin = bench_spin_calibrate(JOB_NS);
    no_pool = run_no_pool(run.spin, jobs, params->threads);
    if (no_pool == 0) {
        fprintf(stderr, "jobpool-bench: tiny-work: cannot start threads\n");
        return 1;
    }
    rc = peer->create(&pool, params->threads, tiny_job);
    if (rc != 0) {
        fprintf(stderr, "jobpool-bench: %s: create: %s\n", peer->name,
                strerror(rc));
        return 1;
    }
    t0 = bench_now_ns();
    for (i = 0; i < jobs; i++) {
        if (peer->submit(pool, &run) != 0)
            refused++;
    }
    rc = peer->finish(pool);
    wall = bench_now_ns() - t0;
    if (rc != 0 || refused != 0) {
        fprintf(stderr,
                "jobpool-bench: %s: finish failed or %" PRIu64
                " submits refused\n",
                peer->name, refused);
        return 1;
    }
    if (bench_verify(self, peer, jobs, bench_counted_jobs()) != 0)
        return 1;

    bench_emit("efficiency",
               100.0 * (double)jobs * JOB_NS / params->threads / (double)wall);
    bench_emit("rate", (double)jobs * 1e9 / (double)wall);
    bench_emit("no-pool", 100.0 * (double)(jobs / params->threads) * JOB_NS /
                              (double)no_pool);
    bench_emit("top-share", bench_counted_top_share());
    /* Both runs time the same jobs: the shorter one must last 200 ms. */
    bench_emit_timed(wall < no_pool ? wall : no_pool, jobs);
    return 0;
}
