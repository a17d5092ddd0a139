/* SPDX-License-Identifier: MIT */
/*
 * Small helpers for the workloads: clocks, a latch, calibrated busy work,
 * process measurements, and the child's output.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    (void)clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t bench_cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

void bench_sleep_ns(uint64_t ns)
{
    struct timespec left = {(time_t)(ns / 1000000000u),
                            (long)(ns % 1000000000u)};

    int rc;

    do
        rc = nanosleep(&left, &left);
    while (rc != 0 && errno == EINTR);
}

/* Resident pages from /proc/self/statm times the page size. */
size_t bench_rss_bytes(void)
{
    unsigned long size, resident;
    FILE *f = fopen("/proc/self/statm", "r");
    int n;

    if (f == NULL)
        return 0;
    n = fscanf(f, "%lu %lu", &size, &resident);
    (void)fclose(f);
    if (n != 2)
        return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* The empty asm takes i as an input, so the compiler must keep every
 * iteration but cannot fold the loop into arithmetic. */
void bench_spin(uint64_t iterations)
{
    uint64_t i;

    for (i = 0; i < iterations; i++)
        __asm__ __volatile__("" : : "r"(i));
}

/*
 * Returns how many bench_spin() iterations take target_ns on this CPU.  The
 * loop is first grown until one run takes at least 2 ms, then timed five
 * times; the fastest run counts, since interruptions only add time.
 */
uint64_t bench_spin_calibrate(uint64_t target_ns)
{
    uint64_t iterations = 1024, best = UINT64_MAX, t, n;
    int i;

    for (;;) {
        t = bench_now_ns();
        bench_spin(iterations);
        if (bench_now_ns() - t >= 2000000u)
            break;
        iterations *= 2;
    }
    for (i = 0; i < 5; i++) {
        t = bench_now_ns();
        bench_spin(iterations);
        t = bench_now_ns() - t;
        if (t < best)
            best = t;
    }
    n = (uint64_t)((double)iterations * (double)target_ns / (double)best);
    return n > 0 ? n : 1;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

uint64_t bench_quantile(uint64_t *samples, size_t n, double q)
{
    size_t rank;

    if (n == 0)
        return 0;
    qsort(samples, n, sizeof *samples, compare_u64);
    rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return samples[rank - 1];
}

void bench_emit(const char *metric, double value)
{
    printf("metric %s %.9g\n", metric, value);
}

void bench_emit_timed(uint64_t ns, uint64_t jobs)
{
    bench_emit(bench_run_metrics[BENCH_RUN_TIMED].name, (double)ns / 1e6);
    bench_emit(bench_run_metrics[BENCH_RUN_JOBS].name, (double)jobs);
}

/* Set by bench_verify() on a mismatch; the child's exit status says so. */
static bool jobs_lost;

bool bench_jobs_lost(void)
{
    return jobs_lost;
}

int bench_verify(const struct bench_workload *w, const struct bench_peer *p,
                 uint64_t submitted, uint64_t ran)
{
    if (ran == submitted)
        return 0;
    jobs_lost = true;
    fprintf(stderr,
            "jobpool-bench: *** LOST JOBS *** %s on %s: %" PRIu64
            " jobs submitted, %" PRIu64 " ran\n",
            w->name, p->name, submitted, ran);
    return 1;
}

int bench_latch_init(struct bench_latch *l)
{
    int rc = pthread_mutex_init(&l->lock, NULL);

    if (rc != 0)
        return rc;
    rc = pthread_cond_init(&l->cond, NULL);
    if (rc != 0) {
        (void)pthread_mutex_destroy(&l->lock);
        return rc;
    }
    l->count = 0;
    return 0;
}

void bench_latch_destroy(struct bench_latch *l)
{
    (void)pthread_cond_destroy(&l->cond);
    (void)pthread_mutex_destroy(&l->lock);
}

void bench_latch_add(struct bench_latch *l, uint64_t n)
{
    (void)pthread_mutex_lock(&l->lock);
    l->count += n;
    (void)pthread_cond_broadcast(&l->cond);
    (void)pthread_mutex_unlock(&l->lock);
}

void bench_latch_wait(struct bench_latch *l, uint64_t target)
{
    (void)pthread_mutex_lock(&l->lock);
    while (l->count < target)
        (void)pthread_cond_wait(&l->cond, &l->lock);
    (void)pthread_mutex_unlock(&l->lock);
}
