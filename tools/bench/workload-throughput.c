/* SPDX-License-Identifier: MIT */
/*
 * Workloads throughput-Np and -Np-8w: N producers (1 to 8) submit a total
 * of empty jobs (each an atomic increment of one shared counter) as fast
 * as they can, to a pool of --threads workers, or of 8 for the -8w ones
 * (oversubscribed on a small machine).  The clock runs from the start line
 * until finish() has run every job, so a pool that queues fast but drains
 * slowly gains nothing.  The total is the one the parent sized, so that
 * this time is at least 200 ms for every pool; 200,000 jobs when it has
 * not sized it yet.
 *
 * Reported: jobs per second over that whole time, and the mean time of one
 * submit call as each producer saw it (its submit loop time divided by its
 * job count, averaged over producers).
 */
#include "config.h"

#include "bench.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCERS_MAX 8u
#define FIRST_GUESS 200000u

struct producer {
    const struct bench_peer *peer;
    void *pool;
    pthread_barrier_t *start; /* NULL when the main thread produces */
    uint64_t jobs;
    _Atomic uint64_t *counter; /* the jobs' context */
    uint64_t loop_ns;          /* out */
    uint64_t refused;          /* out */
};

static void count_job(void *ctx)
{
    atomic_fetch_add_explicit((_Atomic uint64_t *)ctx, 1, memory_order_relaxed);
}

static void *produce(void *arg)
{
    struct producer *pr = arg;
    uint64_t i, t0;

    /* Fails only for an invalid barrier. */
    if (pr->start != NULL)
        (void)pthread_barrier_wait(pr->start);
    t0 = bench_now_ns();
    for (i = 0; i < pr->jobs; i++) {
        if (pr->peer->submit(pr->pool, pr->counter) != 0)
            pr->refused++;
    }
    pr->loop_ns = bench_now_ns() - t0;
    return NULL;
}

/* Starts the producers behind a barrier that the caller also waits on, so
 * the caller's clock starts when they do.  Returns the start time. */
static uint64_t start_producers(struct producer *prs, pthread_t *threads,
                                unsigned n, pthread_barrier_t *start)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        int rc = pthread_create(&threads[i], NULL, produce, &prs[i]);

        if (rc != 0) {
            /* The barrier counts n + 1 and can never open now.  This is a
             * child process: leaving is the clean way out. */
            fprintf(stderr, "jobpool-bench: pthread_create: %s\n",
                    strerror(rc));
            exit(1);
        }
    }
    (void)pthread_barrier_wait(start);
    return bench_now_ns();
}

int bench_run_throughput(const struct bench_workload *self,
                         const struct bench_peer *peer,
                         const struct bench_params *params)
{
    const uint64_t total = params->jobs ? params->jobs : FIRST_GUESS;
    unsigned n = self->producers, i;
    _Atomic uint64_t counter = 0;
    struct producer prs[PRODUCERS_MAX];
    pthread_t threads[PRODUCERS_MAX];
    pthread_barrier_t start;
    uint64_t t0, t_end, refused = 0;
    double per_call = 0;
    void *pool;
    int rc;

    if (n < 1 || n > PRODUCERS_MAX || total < n)
        return 1;
    if (n > 1) {
        rc = pthread_barrier_init(&start, NULL, n + 1);
        if (rc != 0) {
            fprintf(stderr, "jobpool-bench: pthread_barrier_init: %s\n",
                    strerror(rc));
            return 1;
        }
    }
    rc = peer->create(&pool, params->threads, count_job);
    if (rc != 0) {
        fprintf(stderr, "jobpool-bench: %s: create: %s\n", peer->name,
                strerror(rc));
        if (n > 1)
            (void)pthread_barrier_destroy(&start);
        return 1;
    }
    for (i = 0; i < n; i++) {
        prs[i] = (struct producer){.peer = peer,
                                   .pool = pool,
                                   .start = n > 1 ? &start : NULL,
                                   .jobs = total / n,
                                   .counter = &counter};
    }
    prs[0].jobs += total % n;

    if (n == 1) {
        /* The main thread produces: libuv needs its loop thread. */
        t0 = bench_now_ns();
        produce(&prs[0]);
    } else {
        t0 = start_producers(prs, threads, n, &start);
        for (i = 0; i < n; i++)
            (void)pthread_join(threads[i], NULL);
        (void)pthread_barrier_destroy(&start);
    }
    rc = peer->finish(pool);
    t_end = bench_now_ns();
    if (rc != 0) {
        fprintf(stderr, "jobpool-bench: %s: finish failed\n", peer->name);
        return 1;
    }

    for (i = 0; i < n; i++) {
        refused += prs[i].refused;
        per_call += (double)prs[i].loop_ns / (double)prs[i].jobs;
    }
    if (refused != 0) {
        fprintf(stderr, "jobpool-bench: %s: %" PRIu64 " submits refused\n",
                peer->name, refused);
        return 1;
    }
    if (bench_verify(self, peer, total, atomic_load(&counter)) != 0)
        return 1;

    bench_emit("rate", (double)total * 1e9 / (double)(t_end - t0));
    bench_emit("submit", per_call / n);
    bench_emit_timed(t_end - t0, total);
    return 0;
}
