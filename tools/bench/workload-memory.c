/* SPDX-License-Identifier: MIT */
/*
 * Workload memory-drain: what a backlog costs and how fast it clears.
 *
 * The first N jobs (one per worker) block on a gate, and the producer waits
 * until all N have started, so every worker is held.  It then queues a
 * backlog of empty jobs and reads the growth of the resident set
 * (/proc/self/statm) across that: bytes per queued job, whatever the peer
 * allocates for a job (its queue node, or the request a libuv caller must
 * provide).  Then it opens the gate and times the drain until finish()
 * returns.  The backlog is the one the parent sized, so that the drain
 * lasts at least 200 ms for every pool; 200,000 jobs when it has not sized
 * it yet.
 *
 * Workload drain-private is the same backlog with a job that costs the
 * same on every peer and contends on nothing: it counts in a counter of
 * its own thread (count.c), summed after finish().  The shared
 * counter of memory-drain is one cache line bounced between the workers
 * for every job, which caps that drain at what the hardware does for
 * atomic increments of one line; drain-private measures the pool.  It
 * also reports top-share, the part of the backlog the busiest worker ran:
 * 50 % with two workers sharing the drain, near 100 % when one ran it
 * alone (its peer never got a CPU of its own, or never got the lock).
 */
#include "config.h"

#include "bench.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define FIRST_GUESS 200000u

struct drain_run;

/* Every job's ctx is one of two items: gated or not. */
struct drain_item {
    struct drain_run *run;
    bool gated;
};

struct drain_run {
    struct bench_latch started; /* gated jobs that have started */
    struct bench_latch gate;    /* opens at 1 */
    _Atomic uint64_t done;      /* jobs finished (memory-drain) */
    bool private_count;         /* drain-private: count per thread */
    struct drain_item gated, plain;
};

static void drain_job(void *ctx)
{
    const struct drain_item *item = ctx;

    if (item->gated) {
        bench_latch_add(&item->run->started, 1);
        bench_latch_wait(&item->run->gate, 1);
    }
    if (item->run->private_count)
        bench_count_job();
    else
        atomic_fetch_add_explicit(&item->run->done, 1, memory_order_relaxed);
}

/* Queues the gated jobs, the backlog and its measurements; the gate is
 * still closed on return.  Returns the number of refused submits. */
static uint64_t fill(const struct bench_peer *peer, void *pool,
                     struct drain_run *run, unsigned workers, uint64_t backlog)
{
    uint64_t i, refused = 0;
    size_t rss0, rss1;

    run->gated = (struct drain_item){run, true};
    run->plain = (struct drain_item){run, false};
    for (i = 0; i < workers; i++) {
        if (peer->submit(pool, &run->gated) != 0)
            return workers; /* without every worker held, nothing to do */
    }
    bench_latch_wait(&run->started, workers);

    rss0 = bench_rss_bytes();
    for (i = 0; i < backlog; i++) {
        if (peer->submit(pool, &run->plain) != 0)
            refused++;
    }
    rss1 = bench_rss_bytes();
    if (!run->private_count)
        bench_emit("queued",
                   rss1 > rss0 ? (double)(rss1 - rss0) / (double)backlog : 0.0);
    return refused;
}

int bench_run_memory_drain(const struct bench_workload *self,
                           const struct bench_peer *peer,
                           const struct bench_params *params)
{
    const uint64_t backlog = params->jobs ? params->jobs : FIRST_GUESS;
    struct drain_run run;
    uint64_t refused, t0, wall;
    void *pool;
    int rc;

    atomic_init(&run.done, 0);
    run.private_count = strcmp(self->name, "drain-private") == 0;
    if (bench_latch_init(&run.started) != 0)
        return 1;
    if (bench_latch_init(&run.gate) != 0)
        goto fail_gate;
    rc = peer->create(&pool, params->threads, drain_job);
    if (rc != 0) {
        fprintf(stderr, "jobpool-bench: %s: create: %s\n", peer->name,
                strerror(rc));
        goto fail_pool;
    }

    refused = fill(peer, pool, &run, params->threads, backlog);
    t0 = bench_now_ns();
    bench_latch_add(&run.gate, 1);
    rc = peer->finish(pool);
    wall = bench_now_ns() - t0;
    if (rc != 0 || refused != 0) {
        fprintf(stderr,
                "jobpool-bench: %s: finish failed or %" PRIu64
                " submits refused\n",
                peer->name, refused);
        goto fail_pool;
    }
    bench_emit(run.private_count ? "drain-private" : "drain",
               (double)backlog * 1e9 / (double)wall);
    if (run.private_count)
        bench_emit("top-share", bench_counted_top_share());
    bench_emit_timed(wall, backlog);
    rc = bench_verify(self, peer, backlog + params->threads,
                      run.private_count ? bench_counted_jobs()
                                        : atomic_load(&run.done));
    bench_latch_destroy(&run.gate);
    bench_latch_destroy(&run.started);
    return rc;

fail_pool:
    bench_latch_destroy(&run.gate);
fail_gate:
    bench_latch_destroy(&run.started);
    return 1;
}
