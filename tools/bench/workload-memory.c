/*
 * Workload memory-drain: what a backlog costs and how fast it clears.
 *
 * The first N jobs (one per worker) block on a gate, and the producer waits
 * until all N have started, so every worker is held.  It then queues a
 * backlog of empty jobs and reads the growth of the resident set
 * (/proc/self/statm) across that: bytes per queued job, whatever the peer
 * allocates for a job (its queue node, or the request a libuv caller must
 * provide).  Then it opens the gate and times the drain until finish()
 * returns.
 *
 * Workload drain-private is the same backlog with a job that costs the
 * same on every peer and contends on nothing: it counts in a counter of
 * its own thread, and the counters are summed after finish().  The shared
 * counter of memory-drain is one cache line bounced between the workers
 * for every job, which caps that drain at what the hardware does for
 * atomic increments of one line; drain-private measures the pool.
 */
#include "config.h"

#include "bench.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Per-thread counters of drain-private, each on a line of its own.  A
 * thread takes a place on its first job; pools here have a few threads,
 * and a thread beyond the last place shares the last one atomically. */
#define PRIVATE_PLACES 64
struct private_counter {
    _Alignas(64) _Atomic uint64_t count;
};
static struct private_counter private_counters[PRIVATE_PLACES];
static _Atomic unsigned private_places_taken;
static _Thread_local struct private_counter *private_mine;

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

/* Adds one to the calling thread's counter: a plain load and store on a
 * line no other thread writes, except in the shared last place. */
static void count_private(void)
{
    struct private_counter *c = private_mine;

    if (c == NULL) {
        unsigned i = atomic_fetch_add(&private_places_taken, 1);

        c = &private_counters[i < PRIVATE_PLACES ? i : PRIVATE_PLACES - 1];
        private_mine = c;
        if (i >= PRIVATE_PLACES - 1) {
            atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
            return;
        }
    } else if (c == &private_counters[PRIVATE_PLACES - 1]) {
        atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(
        &c->count, atomic_load_explicit(&c->count, memory_order_relaxed) + 1,
        memory_order_relaxed);
}

/* Jobs counted by every thread; read after finish() joined them. */
static uint64_t private_total(void)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < PRIVATE_PLACES; i++)
        sum += atomic_load(&private_counters[i].count);
    return sum;
}

static void drain_job(void *ctx)
{
    const struct drain_item *item = ctx;

    if (item->gated) {
        bench_latch_add(&item->run->started, 1);
        bench_latch_wait(&item->run->gate, 1);
    }
    if (item->run->private_count)
        count_private();
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
    const uint64_t backlog = params->quick ? 200000 : 1000000;
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
    rc = bench_verify(self, peer, backlog + params->threads,
                      run.private_count ? private_total()
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
