/* SPDX-License-Identifier: MIT */
/*
 * Counting jobs without a shared cache line.
 *
 * A job that adds to one shared counter bounces that line between the
 * workers on every job: a cross-core transfer that costs as much as a
 * small job and is the benchmark's cost, not the pool's.  Here each thread
 * counts on a line of its own, taken on its first job, and the total is
 * summed after the pool has joined its threads.  Pools in this tool have a
 * few threads; a thread beyond the last place shares that place
 * atomically, so the count stays exact.
 */
#include "config.h"

#include "bench.h"

#include <stdatomic.h>

#define PLACES 64

struct place {
    _Alignas(64) _Atomic uint64_t count;
};

/* One child process runs one workload, so the places are process-wide. */
static struct place places[PLACES];
static _Atomic unsigned places_taken;
static _Thread_local struct place *mine;

void bench_count_job(void)
{
    struct place *p = mine;

    if (p == NULL) {
        unsigned i = atomic_fetch_add(&places_taken, 1);

        p = &places[i < PLACES ? i : PLACES - 1];
        mine = p;
    }
    if (p == &places[PLACES - 1]) {
        atomic_fetch_add_explicit(&p->count, 1, memory_order_relaxed);
        return;
    }
    /* Only this thread writes this place: a plain load and store. */
    atomic_store_explicit(
        &p->count, atomic_load_explicit(&p->count, memory_order_relaxed) + 1,
        memory_order_relaxed);
}

uint64_t bench_counted_jobs(void)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < PLACES; i++)
        sum += atomic_load(&places[i].count);
    return sum;
}

double bench_counted_top_share(void)
{
    uint64_t sum = bench_counted_jobs(), top = 0;

    for (unsigned i = 0; i < PLACES; i++) {
        uint64_t n = atomic_load(&places[i].count);

        if (n > top)
            top = n;
    }
    return sum != 0 ? 100.0 * (double)top / (double)sum : 0.0;
}
