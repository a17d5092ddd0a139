/* SPDX-License-Identifier: MIT */
/*
 * jobpool-bench: declarations shared by the driver, the workloads and the
 * peer adapters.
 *
 * The tool compares jobpool with other thread pools ("peers") on a fixed set
 * of workloads.  Every measurement runs in a fresh child process (the tool
 * re-executes itself with --child), so one peer's heap, threads and caches
 * never colour another's numbers.  A child runs one workload against one
 * peer and prints "metric NAME VALUE" lines on stdout; the parent collects
 * them over repetitions and reports median and range.
 */
#ifndef JOBPOOL_BENCH_H
#define JOBPOOL_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A job as every peer runs it. */
typedef void (*bench_job_fn)(void *ctx);

/*
 * A peer behind the adapter interface.
 *
 * The job function is fixed when the pool is created and submit() takes only
 * the context: GLib's GThreadPool and libuv take their function once per
 * pool or request type, and boxing {fn, ctx} for them would add an
 * allocation per job that only they pay.  ctx is never NULL (GLib refuses
 * NULL tasks).  Each child process creates exactly one pool.
 *
 *   create  starts a pool of exactly `threads` workers that will run
 *           fn(ctx) for every submitted ctx; returns 0 or an errno value.
 *   submit  queues one job; returns 0, or non-zero if the job was refused
 *           (it then never runs).  Called only from the thread that called
 *           create unless multi_producer is true.
 *   finish  runs every job submitted so far, stops the workers and frees
 *           the pool; returns 0 or non-zero on failure.
 */
struct bench_peer {
    const char *name;
    const char *what; /* one line for --help */
    bool multi_producer;
    int (*create)(void **pool, unsigned threads, bench_job_fn fn);
    int (*submit)(void *pool, void *ctx);
    int (*finish)(void *pool);
};

/* A value a workload reports, as the parent prints it. */
struct bench_metric {
    const char *name; /* as the child emits it */
    const char *unit;
    bool higher_is_better;
    bool reference; /* measured beside the peer, not of it: no ratio */
};

/* What a child knows about its run. */
struct bench_params {
    unsigned threads; /* workers in every pool */
    bool quick;       /* smaller counts, shorter pauses */
};

struct bench_workload;
typedef int (*bench_run_fn)(const struct bench_workload *self,
                            const struct bench_peer *peer,
                            const struct bench_params *params);

struct bench_workload {
    const char *name;
    const char *what;   /* one line for --help */
    unsigned producers; /* submitting threads; > 1 needs multi_producer */
    const struct bench_metric *metrics;
    size_t nmetrics;
    bench_run_fn run; /* returns 0, or 1 after printing why */
};

/* catalog.c: every peer this binary knows, built in or not. */
struct bench_peer_entry {
    const char *name;
    const struct bench_peer *peer; /* NULL: configure did not find it */
};
extern const struct bench_peer_entry bench_peers[];
extern const size_t bench_npeers;
extern const struct bench_workload bench_workloads[];
extern const size_t bench_nworkloads;
const struct bench_peer_entry *bench_find_peer(const char *name);
const struct bench_workload *bench_find_workload(const char *name);

/* Peer adapters, each in its own peer-*.c file. */
extern const struct bench_peer bench_peer_jobpool;
extern const struct bench_peer bench_peer_textbook;
extern const struct bench_peer bench_peer_glib;
extern const struct bench_peer bench_peer_cthreadpool;
extern const struct bench_peer bench_peer_libuv;
extern const struct bench_peer bench_peer_onetbb;

/* Workload entry points, each in its own workload-*.c file. */
int bench_run_throughput(const struct bench_workload *self,
                         const struct bench_peer *peer,
                         const struct bench_params *params);
int bench_run_tiny_work(const struct bench_workload *self,
                        const struct bench_peer *peer,
                        const struct bench_params *params);
int bench_run_wakeup(const struct bench_workload *self,
                     const struct bench_peer *peer,
                     const struct bench_params *params);
int bench_run_memory_drain(const struct bench_workload *self,
                           const struct bench_peer *peer,
                           const struct bench_params *params);
int bench_run_blocking(const struct bench_workload *self,
                       const struct bench_peer *peer,
                       const struct bench_params *params);

/* util.c: clocks, a latch, busy work, process measurements. */
uint64_t bench_now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t bench_cpu_ns(void);      /* CPU time of the whole process */
void bench_sleep_ns(uint64_t ns); /* nanosleep, resumed after signals */
size_t bench_rss_bytes(void);     /* resident set, 0 if unknown */
uint64_t bench_spin_calibrate(uint64_t target_ns);
void bench_spin(uint64_t iterations);
/* The value at quantile q (0..1, nearest rank) of n samples; sorts them. */
uint64_t bench_quantile(uint64_t *samples, size_t n, double q);
/* Prints one result line for the parent. */
void bench_emit(const char *metric, double value);
/* Complains loudly (stderr) and returns 1 when ran != submitted. */
int bench_verify(const struct bench_workload *w, const struct bench_peer *p,
                 uint64_t submitted, uint64_t ran);
/* True once bench_verify() has found a mismatch in this process. */
bool bench_jobs_lost(void);
/* A child's exit status when the peer lost (or invented) jobs. */
#define BENCH_EXIT_LOST 3

/* machine.c: emits cpu-rtt, the time a cache line takes to go from one
 * CPU to another and back, measured now (0 if it cannot be measured). */
void bench_emit_cpu_round_trip(void);

/* count.c: counts a job on a line of the calling thread's own, so the
 * count adds no contention; the total is exact once the pool has joined
 * its threads. */
void bench_count_job(void);
uint64_t bench_counted_jobs(void);
/* The share of the counted jobs, in percent, that the busiest thread ran:
 * 100 / threads when the work was spread evenly, 100 when one thread ran
 * it all (the others asleep, starved of CPU, or shut out by a lock). */
double bench_counted_top_share(void);

/*
 * A counter that threads wait on: bench_latch_wait() blocks until the count
 * reaches a target.  Used as a gate (target 1), a start line and a done
 * signal, so no workload sleeps and hopes.
 */
struct bench_latch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t count; /* lock */
};
int bench_latch_init(struct bench_latch *l);
void bench_latch_destroy(struct bench_latch *l);
void bench_latch_add(struct bench_latch *l, uint64_t n);
void bench_latch_wait(struct bench_latch *l, uint64_t target);

/* runner.c and report.c: the parent side. */
#define BENCH_REPS_MAX 64u
enum bench_format { BENCH_TABLE, BENCH_CSV, BENCH_JSON };

struct bench_plan {
    const struct bench_workload **workloads;
    size_t nworkloads;
    const struct bench_peer **peers; /* built-in peers that were selected */
    size_t npeers;
    unsigned threads;
    unsigned reps;
    bool quick;
    enum bench_format format;
    const char *self_path; /* what the parent executes for a child */
};

/* One workload x peer pair: values[rep * nmetrics + metric]. */
struct bench_cell {
    bool skipped;  /* the pair cannot run (see note) */
    unsigned runs; /* repetitions that completed */
    double *values;
};

struct bench_results {
    const struct bench_plan *plan;
    struct bench_cell *cells; /* [workload * npeers + peer] */
    char **notes;
    size_t nnotes;
    char **failures;
    size_t nfailures;
};

int bench_results_init(struct bench_results *r, const struct bench_plan *p);
void bench_results_free(struct bench_results *r);
void bench_note(struct bench_results *r, bool failure, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct bench_cell *bench_cell(struct bench_results *r, size_t workload,
                              size_t peer);

/* Runs every repetition of the plan in child processes. */
void bench_run_plan(struct bench_results *r);
/* Writes the results in the plan's format to stdout. */
void bench_report(const struct bench_results *r);
/* Runs one workload against one peer in this process (child mode). */
int bench_child(const char *peer, const char *workload,
                const struct bench_params *params);

#endif /* JOBPOOL_BENCH_H */
