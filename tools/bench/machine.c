/* SPDX-License-Identifier: MIT */
/*
 * How fast this machine moves a cache line between two CPUs right now.
 *
 * On a shared virtual machine that figure changes from minute to minute
 * (seen here: about 80 ns, and 350-420 ns for minutes at a time, while one
 * CPU's speed stays the same).  Workloads whose speed is a hand-off
 * between producers and workers report it beside their own figures, so
 * that a slow repetition can be told from a slow pool.
 *
 * The two sides are pinned to two different CPUs for the measurement, so
 * that neither waits for the scheduler, and the calling thread gets its
 * own CPU set back afterwards: the threads the workload starts inherit it.
 * The pong thread pins itself, with pthread_setaffinity_np(), rather than
 * being started pinned: musl has no pthread_attr_setaffinity_np().  Where
 * configure found no way to pin threads (HAVE_PTHREAD_AFFINITY), the
 * figure is 0, not measured.
 */
#include "config.h"

#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#define ROUND_TRIPS 2000u
/* Never spin longer than this, whatever the machine does. */
#define LIMIT_NS 20000000u
#define STOP UINT64_MAX

#ifdef HAVE_PTHREAD_AFFINITY
/* Odd: the pong side's turn.  It starts at 1, so the first trip, untimed,
 * also says that the pong side is running, on its CPU. */
struct ping {
    _Alignas(64) _Atomic uint64_t ball;
    cpu_set_t pong_cpu;
};

static void *pong(void *arg)
{
    struct ping *p = arg;
    uint64_t seen;

    /* Unpinned, it never plays: the ping side gives up at LIMIT_NS. */
    if (pthread_setaffinity_np(pthread_self(), sizeof p->pong_cpu,
                               &p->pong_cpu) != 0)
        return NULL;
    for (;;) {
        seen = atomic_load_explicit(&p->ball, memory_order_acquire);
        if (seen == STOP)
            return NULL;
        /* A compare-and-swap, so that a STOP stored meanwhile is never
         * overwritten. */
        if (seen % 2 == 1)
            (void)atomic_compare_exchange_strong_explicit(
                &p->ball, &seen, seen + 1, memory_order_acq_rel,
                memory_order_acquire);
    }
}

/* True once *ball holds want, false if the limit passed first.  The clock is
 * read only now and then: a read costs as much as a hop. */
static bool wait_for(_Atomic uint64_t *ball, uint64_t want, uint64_t t0)
{
    unsigned polls = 0;

    while (atomic_load_explicit(ball, memory_order_acquire) != want) {
        if (++polls % 1024 == 0 && bench_now_ns() - t0 > LIMIT_NS)
            return false;
    }
    return true;
}

/* Times the round trips after the first; returns ns per trip, or 0. */
static double play(struct ping *p)
{
    uint64_t t0 = bench_now_ns(), done;

    if (!wait_for(&p->ball, 2, t0))
        return 0;
    t0 = bench_now_ns();
    for (done = 0; done < ROUND_TRIPS; done++) {
        atomic_store_explicit(&p->ball, 2 * done + 3, memory_order_release);
        if (!wait_for(&p->ball, 2 * done + 4, t0))
            break;
    }
    return done ? (double)(bench_now_ns() - t0) / (double)done : 0;
}

/* ns per round trip between this thread's CPU and another one it may run
 * on, or 0. */
static double measure(void)
{
    pthread_t self = pthread_self(), thread;
    cpu_set_t saved, mine;
    struct ping p;
    double ns = 0;
    int here = sched_getcpu(), there = -1;

    atomic_init(&p.ball, 1);
    if (here < 0 || pthread_getaffinity_np(self, sizeof saved, &saved) != 0)
        return 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && there < 0; cpu++) {
        if (cpu != here && CPU_ISSET(cpu, &saved))
            there = cpu;
    }
    if (there < 0)
        return 0;
    CPU_ZERO(&mine);
    CPU_SET(here, &mine);
    CPU_ZERO(&p.pong_cpu);
    CPU_SET(there, &p.pong_cpu);
    if (pthread_setaffinity_np(self, sizeof mine, &mine) == 0) {
        if (pthread_create(&thread, NULL, pong, &p) == 0) {
            ns = play(&p);
            atomic_store_explicit(&p.ball, STOP, memory_order_release);
            (void)pthread_join(thread, NULL);
        }
        (void)pthread_setaffinity_np(self, sizeof saved, &saved);
    }
    return ns;
}
#endif

void bench_emit_cpu_round_trip(void)
{
#ifdef HAVE_PTHREAD_AFFINITY
    bench_emit("cpu-rtt", measure());
#else
    bench_emit("cpu-rtt", 0);
#endif
}
