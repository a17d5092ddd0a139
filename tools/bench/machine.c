/* SPDX-License-Identifier: MIT */
/*
 * How fast this machine moves a cache line between two CPUs right now.
 *
 * On a shared virtual machine that figure changes over time (seen here:
 * about 80 ns, and 350-420 ns for minutes at a time, or flipping every
 * second or two while the host is busy, while one CPU's speed stays the
 * same).  Every child measures it before and after
 * its workload, and states.c labels the run near or far from the two
 * figures; the parent also probes it while it waits for a state.
 *
 * The round trips are timed in BATCHES batches and the figure is the
 * median batch's mean: on a machine shared with other builds, one side
 * may be preempted for a millisecond, which would turn the mean of all
 * the trips of a near machine into a far one; it spoils one batch only.
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

#define BATCHES 7u
#define ROUND_TRIPS 300u /* per batch */
/* Never spin longer than this, whatever the machine does. */
#define LIMIT_NS 100000000u
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

/* Times BATCHES batches of round trips after the first; returns the median
 * batch's ns per trip, of the batches done if the limit came first, or 0
 * if none was. */
static double play(struct ping *p)
{
    uint64_t t0 = bench_now_ns(), ball = 2;
    double batch[BATCHES];
    unsigned b, i, j;

    /* The first trip also says that the pong side runs on its CPU. */
    while (atomic_load_explicit(&p->ball, memory_order_acquire) != 2) {
        if (bench_now_ns() - t0 > LIMIT_NS)
            return 0;
        (void)sched_yield();
    }
    t0 = bench_now_ns();
    for (b = 0; b < BATCHES; b++) {
        uint64_t start = bench_now_ns();
        double x;

        for (i = 0; i < ROUND_TRIPS; i++) {
            atomic_store_explicit(&p->ball, ball + 1, memory_order_release);
            ball += 2;
            if (!wait_for(&p->ball, ball, t0))
                return b > 0 ? batch[b / 2] : 0;
        }
        x = (double)(bench_now_ns() - start) / ROUND_TRIPS;
        /* Insertion into the sorted batch[0..b). */
        for (j = b; j > 0 && batch[j - 1] > x; j--)
            batch[j] = batch[j - 1];
        batch[j] = x;
    }
    return batch[BATCHES / 2];
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
    /* The pong side is started before this side pins itself, so that it
     * never has to wait for this side's CPU to go to its own. */
    if (pthread_create(&thread, NULL, pong, &p) != 0)
        return 0;
    if (pthread_setaffinity_np(self, sizeof mine, &mine) == 0) {
        ns = play(&p);
        (void)pthread_setaffinity_np(self, sizeof saved, &saved);
    }
    atomic_store_explicit(&p.ball, STOP, memory_order_release);
    (void)pthread_join(thread, NULL);
    return ns;
}
#endif

double bench_cpu_round_trip(void)
{
#ifdef HAVE_PTHREAD_AFFINITY
    return measure();
#else
    return 0;
#endif
}
