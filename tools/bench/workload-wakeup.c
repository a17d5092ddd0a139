/* SPDX-License-Identifier: MIT */
/*
 * Workload wakeup-latency: how long an idle pool takes to start a job, and
 * what an idle pool costs.
 *
 * Latency: the producer sleeps for a gap (200 us, then 2 ms) so the pool
 * goes idle, reads CLOCK_MONOTONIC, submits one job and waits (on a latch)
 * until that job has finished; the job reads the clock as it starts.  The
 * difference is the submit-to-start latency.  One unmeasured job runs
 * before each series.
 *
 * Idle CPU: after one more job has finished, the process's CPU time is read
 * across two sleeps of the producer.  The first, 20 ms long, holds what a
 * pool does right after its last job (a bounded spin before sleeping, a
 * wake-up of its own): tail-cpu, in us.  The second (1 s; 0.25 s with
 * --quick) is the pool at rest: idle-cpu, in ms per second, anything a pool
 * burns for as long as it stays idle (polling, timers, housekeeping).  The
 * producer's own sleeps and clock reads are in both, alike for every peer.
 */
#include "config.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wakeup_run {
    struct bench_latch done; /* jobs finished */
    uint64_t started_ns;     /* written by the job before it adds to done */
};

static void wakeup_job(void *ctx)
{
    struct wakeup_run *run = ctx;

    run->started_ns = bench_now_ns();
    bench_latch_add(&run->done, 1);
}

/* Submits one job and waits until it has finished.  Returns its
 * submit-to-start latency in ns, or UINT64_MAX if the pool refused it. */
static uint64_t one_job(const struct bench_peer *peer, void *pool,
                        struct wakeup_run *run, uint64_t *finished)
{
    uint64_t t0 = bench_now_ns();

    if (peer->submit(pool, run) != 0)
        return UINT64_MAX;
    bench_latch_wait(&run->done, ++*finished);
    return run->started_ns - t0;
}

/* Runs one series and emits its percentiles as p50@NAME and so on. */
static int series(const struct bench_peer *peer, void *pool,
                  struct wakeup_run *run, uint64_t *finished, uint64_t gap_ns,
                  const char *name, uint64_t *samples, size_t n)
{
    static const struct {
        const char *label;
        double q;
    } quantiles[] = {{"p50", 0.50}, {"p99", 0.99}, {"p99.9", 0.999}};
    char metric[32];
    size_t i;

    if (one_job(peer, pool, run, finished) == UINT64_MAX)
        return 1;
    for (i = 0; i < n; i++) {
        bench_sleep_ns(gap_ns);
        samples[i] = one_job(peer, pool, run, finished);
        if (samples[i] == UINT64_MAX)
            return 1;
    }
    for (i = 0; i < sizeof quantiles / sizeof quantiles[0]; i++) {
        (void)snprintf(metric, sizeof metric, "%s@%s", quantiles[i].label,
                       name);
        bench_emit(metric,
                   (double)bench_quantile(samples, n, quantiles[i].q) / 1e3);
    }
    return 0;
}

int bench_run_wakeup(const struct bench_workload *self,
                     const struct bench_peer *peer,
                     const struct bench_params *params)
{
    const size_t n = params->quick ? 200 : 2000;
    const uint64_t tail_ns = 20000000u;
    const uint64_t idle_ns = params->quick ? 250000000u : 1000000000u;
    struct wakeup_run run;
    uint64_t finished = 0, cpu0, t0, cpu, wall;
    uint64_t *samples;
    void *pool;
    int rc, failed;

    samples = malloc(n * sizeof *samples);
    if (samples == NULL)
        return 1;
    rc = bench_latch_init(&run.done);
    if (rc != 0)
        goto fail_latch;
    rc = peer->create(&pool, params->threads, wakeup_job);
    if (rc != 0) {
        fprintf(stderr, "jobpool-bench: %s: create: %s\n", peer->name,
                strerror(rc));
        goto fail_pool;
    }

    failed = series(peer, pool, &run, &finished, 200000, "200us", samples, n);
    if (!failed)
        failed =
            series(peer, pool, &run, &finished, 2000000, "2ms", samples, n);
    if (!failed)
        failed = one_job(peer, pool, &run, &finished) == UINT64_MAX;
    if (!failed) {
        cpu0 = bench_cpu_ns();
        bench_sleep_ns(tail_ns);
        cpu = bench_cpu_ns() - cpu0;
        bench_emit("tail-cpu", (double)cpu / 1e3);
        cpu0 = bench_cpu_ns();
        t0 = bench_now_ns();
        bench_sleep_ns(idle_ns);
        cpu = bench_cpu_ns() - cpu0;
        wall = bench_now_ns() - t0;
        bench_emit("idle-cpu", (double)cpu / 1e6 / ((double)wall / 1e9));
    }

    rc = peer->finish(pool);
    if (failed || rc != 0) {
        fprintf(stderr, "jobpool-bench: %s: a submit or finish failed\n",
                peer->name);
        goto fail_pool;
    }
    /* finish() has joined the workers: no lock needed to read count. */
    rc = bench_verify(self, peer, finished, run.done.count);
    bench_latch_destroy(&run.done);
    free(samples);
    return rc;

fail_pool:
    bench_latch_destroy(&run.done);
fail_latch:
    free(samples);
    return 1;
}
