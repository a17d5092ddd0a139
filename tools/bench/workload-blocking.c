/* SPDX-License-Identifier: MIT */
/*
 * Workload blocking-offload: the pool's intended use, jobs that block.
 *
 * Far more jobs than workers (200 x workers unless the parent sized it
 * otherwise), each sleeping 1 ms in nanosleep(), are queued at once.  Ideal
 * throughput is workers / 1 ms, so the run lasts at least 200 ms; timer
 * slack makes each sleep a little longer, so no peer reaches it, but all
 * pay the same slack.
 *
 * Reported: jobs per second from the first submit until finish() returns,
 * that rate as a share of the ideal, and the median and 99th percentile of
 * each job's submit-to-finish time.
 */
#include "config.h"

#include "bench.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLEEP_NS 1000000u

struct blocking_job {
    uint64_t submit_ns; /* written before the submit */
    uint64_t finish_ns; /* written by the job */
    _Atomic uint64_t *done;
};

static void blocking_job(void *ctx)
{
    struct blocking_job *job = ctx;

    bench_sleep_ns(SLEEP_NS);
    job->finish_ns = bench_now_ns();
    atomic_fetch_add_explicit(job->done, 1, memory_order_relaxed);
}

int bench_run_blocking(const struct bench_workload *self,
                       const struct bench_peer *peer,
                       const struct bench_params *params)
{
    const uint64_t n = params->jobs ? params->jobs : 200ull * params->threads;
    _Atomic uint64_t done = 0;
    struct blocking_job *jobs;
    uint64_t *latency, i, refused = 0, t0, wall;
    double rate;
    void *pool;
    int rc = 1;

    jobs = calloc(n, sizeof *jobs);
    latency = calloc(n, sizeof *latency);
    if (jobs == NULL || latency == NULL)
        goto out;
    if (peer->create(&pool, params->threads, blocking_job) != 0) {
        fprintf(stderr, "jobpool-bench: %s: create failed\n", peer->name);
        goto out;
    }
    t0 = bench_now_ns();
    for (i = 0; i < n; i++) {
        jobs[i].done = &done;
        jobs[i].submit_ns = bench_now_ns();
        if (peer->submit(pool, &jobs[i]) != 0)
            refused++;
    }
    if (peer->finish(pool) != 0 || refused != 0) {
        fprintf(stderr,
                "jobpool-bench: %s: finish failed or %" PRIu64
                " submits refused\n",
                peer->name, refused);
        goto out;
    }
    wall = bench_now_ns() - t0;
    if (bench_verify(self, peer, n, atomic_load(&done)) != 0)
        goto out;

    for (i = 0; i < n; i++)
        latency[i] = jobs[i].finish_ns - jobs[i].submit_ns;
    rate = (double)n * 1e9 / (double)wall;
    bench_emit("rate", rate);
    bench_emit("of-ideal", 100.0 * rate / (params->threads * (1e9 / SLEEP_NS)));
    bench_emit("p50", (double)bench_quantile(latency, n, 0.50) / 1e6);
    bench_emit("p99", (double)bench_quantile(latency, n, 0.99) / 1e6);
    bench_emit_timed(wall, n);
    rc = 0;
out:
    free(latency);
    free(jobs);
    return rc;
}
