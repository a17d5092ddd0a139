/*
 * Workload tiny-work: one producer submits jobs of about 1 us of busy work
 * each (a spin loop calibrated once per process with clock_gettime).  With
 * work this small, the pool's own cost per job decides how much of the
 * machine the jobs get.
 *
 * Reported: efficiency, the share of the workers' time spent in jobs:
 * (jobs x 1 us / workers) / wall time, from the first submit until finish()
 * has run every job; and the job rate.
 */
#include "config.h"

#include "bench.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define JOB_NS 1000u

struct tiny_run {
    uint64_t spin; /* iterations for JOB_NS; fixed before the pool starts */
    _Atomic uint64_t done;
};

static void tiny_job(void *ctx)
{
    struct tiny_run *run = ctx;

    bench_spin(run->spin);
    atomic_fetch_add_explicit(&run->done, 1, memory_order_relaxed);
}

int bench_run_tiny_work(const struct bench_workload *self,
                        const struct bench_peer *peer,
                        const struct bench_params *params)
{
    const uint64_t jobs = params->quick ? 50000 : 200000;
    struct tiny_run run = {0};
    uint64_t i, refused = 0, t0, wall;
    void *pool;
    int rc;

    run.spin = bench_spin_calibrate(JOB_NS);
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
    if (bench_verify(self, peer, jobs, atomic_load(&run.done)) != 0)
        return 1;

    bench_emit("efficiency",
               100.0 * (double)jobs * JOB_NS / params->threads / (double)wall);
    bench_emit("rate", (double)jobs * 1e9 / (double)wall);
    return 0;
}
