/* SPDX-License-Identifier: MIT */
/*
 * Workload wakeup-latency: how long an idle pool takes to start a job, and
 * what an idle pool costs.
 *
 * Latency: the producer sleeps for a gap (200 us, then 2 ms) so the pool
 * goes idle, reads CLOCK_MONOTONIC, submits one job and waits (on a latch)
 * until that job has finished; the job reads the clock as it starts.  The
 * difference is the submit-to-start latency.  One unmeasured job runs
 * before each series.  A series has 2000 samples, or with --quick as many
 * as make 200 ms of gaps (1000 and 100), so that it lasts at least 200 ms.
 *
 * Idle CPU: the process's CPU time is read across sleeps of the producer.
 * Ten times, one job runs and then the producer sleeps 20 ms, which holds
 * what a pool does right after its last job (a bounded spin before
 * sleeping, a wake-up of its own): tail-cpu is the mean of the ten, in us
 * (a single 20 ms window would be too short to time).  Then one sleep of
 * 1 s (0.25 s with --quick) is the pool at rest: idle-cpu, in ms per
 * second, anything a pool burns for as long as it stays idle (polling,
 * timers, housekeeping).  The producer's own sleeps and clock reads are in
 * both, alike for every peer.
 *
 * The sample counts are fixed, so the parent does not size this workload;
 * the time it reports as timed is its shortest part.
 */
#include "config.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES 2000u
#define TAILS 10u
#define TAIL_NS 20000000u

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

/* Runs one series and emits its percentiles as p50@NAME and so on; stores
 * its length in *took. */
static int series(const struct bench_peer *peer, void *pool,
                  struct wakeup_run *run, uint64_t *finished, uint64_t gap_ns,
                  const char *name, uint64_t *samples, size_t n, uint64_t *took)
{
    static const struct {
        const char *label;
        double q;
    } quantiles[] = {{"p50", 0.50}, {"p99", 0.99}, {"p99.9", 0.999}};
    char metric[32];
    size_t i;

    if (one_job(peer, pool, run, finished) == UINT64_MAX)
        return 1;
    *took = bench_now_ns();
    for (i = 0; i < n; i++) {
        bench_sleep_ns(gap_ns);
        samples[i] = one_job(peer, pool, run, finished);
        if (samples[i] == UINT64_MAX)
            return 1;
    }
    *took = bench_now_ns() - *took;
    for (i = 0; i < sizeof quantiles / sizeof quantiles[0]; i++) {
        (void)snprintf(metric, sizeof metric, "%s@%s", quantiles[i].label,
                       name);
        bench_emit(metric,
                   (double)bench_quantile(samples, n, quantiles[i].q) / 1e3);
    }
    return 0;
}

/* Size of a series: SAMPLES, or with --quick enough for 200 ms of gaps. */
static size_t series_length(const struct bench_params *params, uint64_t gap_ns)
{
    uint64_t n = (uint64_t)(BENCH_TIMED_MIN_MS * 1e6) / gap_ns;

    return params->quick ? (size_t)n : SAMPLES > n ? SAMPLES : (size_t)n;
}

/* The ten tails and the rest, as the top of the file says; took[0] gets
 * the tails' total length, took[1] the rest's. */
static int idle_cpu(const struct bench_peer *peer, void *pool,
                    struct wakeup_run *run, uint64_t *finished,
                    const struct bench_params *params, uint64_t *took)
{
    const uint64_t idle_ns = params->quick ? 250000000u : 1000000000u;
    uint64_t cpu0, cpu = 0, t0;
    unsigned i;

    for (i = 0; i < TAILS; i++) {
        if (one_job(peer, pool, run, finished) == UINT64_MAX)
            return 1;
        cpu0 = bench_cpu_ns();
        t0 = bench_now_ns();
        bench_sleep_ns(TAIL_NS);
        took[0] += bench_now_ns() - t0;
        cpu += bench_cpu_ns() - cpu0;
    }
    bench_emit("tail-cpu", (double)cpu / 1e3 / TAILS);
    cpu0 = bench_cpu_ns();
    t0 = bench_now_ns();
    bench_sleep_ns(idle_ns);
    cpu = bench_cpu_ns() - cpu0;
    took[1] = bench_now_ns() - t0;
    bench_emit("idle-cpu", (double)cpu / 1e6 / ((double)took[1] / 1e9));
    return 0;
}

int bench_run_wakeup(const struct bench_workload *self,
                     const struct bench_peer *peer,
                     const struct bench_params *params)
{
    const size_t n_short = series_length(params, 200000);
    const size_t n_long = series_length(params, 2000000);
    struct wakeup_run run;
    uint64_t finished = 0, took[4] = {0}, shortest;
    uint64_t *samples;
    void *pool;
    int rc, failed;
    unsigned i;

    samples = malloc((n_short > n_long ? n_short : n_long) * sizeof *samples);
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

    failed = series(peer, pool, &run, &finished, 200000, "200us", samples,
                    n_short, &took[0]);
    if (!failed)
        failed = series(peer, pool, &run, &finished, 2000000, "2ms", samples,
                        n_long, &took[1]);
    if (!failed)
        failed = idle_cpu(peer, pool, &run, &finished, params, &took[2]);

    rc = peer->finish(pool);
    if (failed || rc != 0) {
        fprintf(stderr, "jobpool-bench: %s: a submit or finish failed\n",
                peer->name);
        goto fail_pool;
    }
    /* finish() has joined the workers: no lock needed to read count. */
    rc = bench_verify(self, peer, finished, run.done.count);
    for (shortest = took[0], i = 1; i < 4; i++)
        shortest = took[i] < shortest ? took[i] : shortest;
    bench_emit_timed(shortest, finished);
    bench_latch_destroy(&run.done);
    free(samples);
    return rc;

fail_pool:
    bench_latch_destroy(&run.done);
fail_latch:
    free(samples);
    return 1;
}
