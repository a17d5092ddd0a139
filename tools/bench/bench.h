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
 *
 * Two rules hold for every recorded measurement:
 *   - it times at least BENCH_TIMED_MIN_MS of work.  A child reports how
 *     long its timed part lasted ("timed") and how many jobs it ran; the
 *     parent sizes the job count of each workload x peer pair from that
 *     (runner.c), and a run that timed less is rerun with more jobs, not
 *     recorded;
 *   - it is labelled with the machine's state at its time (states.c): the
 *     child measures cpu-rtt, the cross-CPU round trip of a cache line,
 *     just before and just after the workload, and the report compares
 *     pools only within one state.
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
    /* jobpool itself through another API (its lanes, peer-lane.c): runs
     * only the workloads with variants set, is compared with jobpool (its
     * ratio is its median / jobpool's) and is never the best other peer. */
    bool variant;
};

/* A value a workload reports, as the parent prints it. */
struct bench_metric {
    const char *name; /* as the child emits it */
    const char *unit;
    bool higher_is_better;
    bool reference; /* measured beside the peer, not of it: no ratio */
    bool headline;  /* a row of the by-state summary (report.c) */
    bool detail;    /* in CSV and JSON only, not in the table */
};

/* The shortest timed part a recorded measurement may have, and what the
 * parent aims at when it sizes a job count (a margin for a machine that
 * speeds up between two runs). */
#define BENCH_TIMED_MIN_MS 200.0
#define BENCH_TIMED_AIM_MS 300.0

/* What a child knows about its run. */
struct bench_params {
    unsigned threads; /* workers in the pool */
    uint64_t jobs;    /* the job count the parent sized; 0: the workload's
                         own first guess */
    bool quick;       /* fewer samples, shorter pauses */
};

struct bench_workload;
typedef int (*bench_run_fn)(const struct bench_workload *self,
                            const struct bench_peer *peer,
                            const struct bench_params *params);

struct bench_workload {
    const char *name;
    const char *what;   /* one line for --help */
    unsigned producers; /* submitting threads; > 1 needs multi_producer */
    unsigned workers;   /* 0: the plan's --threads; else exactly this many */
    bool sized;         /* its job count comes from params->jobs */
    const struct bench_metric *metrics;
    size_t nmetrics;
    bench_run_fn run; /* returns 0, or 1 after printing why */
    bool variants;    /* the variant peers (lanes) run it too */
};

/*
 * What every child reports besides its workload's own metrics, in this
 * order after them: cpu-rtt before and after the workload (bench_child()
 * measures both), and how long the timed part lasted and how many jobs it
 * ran (the workload emits both, with bench_emit_timed()).
 */
enum {
    BENCH_RUN_RTT,
    BENCH_RUN_RTT_AFTER,
    BENCH_RUN_TIMED,
    BENCH_RUN_JOBS,
    BENCH_NRUN
};
extern const struct bench_metric bench_run_metrics[BENCH_NRUN];
/* A workload's metrics and then bench_run_metrics: every row holds
 * bench_nmetrics() values, and bench_metric_at() names each. */
size_t bench_nmetrics(const struct bench_workload *w);
const struct bench_metric *bench_metric_at(const struct bench_workload *w,
                                           size_t i);

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
extern const struct bench_peer bench_peer_lane_w1;
extern const struct bench_peer bench_peer_lane_w2;

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
/* Prints the timed part's length and its job count. */
void bench_emit_timed(uint64_t ns, uint64_t jobs);
/* Complains loudly (stderr) and returns 1 when ran != submitted. */
int bench_verify(const struct bench_workload *w, const struct bench_peer *p,
                 uint64_t submitted, uint64_t ran);
/* True once bench_verify() has found a mismatch in this process. */
bool bench_jobs_lost(void);
/* A child's exit status when the peer lost (or invented) jobs. */
#define BENCH_EXIT_LOST 3

/* machine.c: the time a cache line takes to go from one CPU to another
 * and back, measured now, in ns (0 if it cannot be measured). */
double bench_cpu_round_trip(void);

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

/*
 * states.c: the machine's state during a run.  This machine (a shared
 * virtual one) is "near" when its two CPUs share a cache, a round trip of
 * 50-100 ns, and "far" when they do not, 350-420 ns, for seconds to minutes,
 * like distant cores of a server.  A run is far when cpu-rtt was above
 * BENCH_FAR_NS both before and after it, near when it was at most that
 * both times, mixed when the state changed during the run (no table
 * counts it), and unmeasured when cpu-rtt could not be measured (if only
 * one of the two could, that one decides).
 */
#define BENCH_FAR_NS 250.0
enum bench_state { BENCH_NEAR, BENCH_FAR, BENCH_MIXED, BENCH_UNMEASURED };
#define BENCH_NSTATES 4
enum bench_state bench_state_of(double rtt_before, double rtt_after);
const char *bench_state_name(enum bench_state s);

/* runner.c and report.c: the parent side. */
#define BENCH_REPS_MAX 64u
/* With --states, each pair may run up to this many times its reps. */
#define BENCH_STATE_ROUNDS 3u
enum bench_format { BENCH_TABLE, BENCH_CSV, BENCH_JSON };

struct bench_plan {
    const struct bench_workload **workloads;
    size_t nworkloads;
    const struct bench_peer **peers; /* built-in peers that were selected */
    size_t npeers;
    unsigned threads;
    unsigned reps;
    bool quick;
    bool states;           /* --states: sample both machine states */
    unsigned state_probes; /* --state-probes: at most this many waits */
    unsigned max_runs;     /* recorded runs a pair may have */
    enum bench_format format;
    const char *self_path; /* what the parent executes for a child */
};

/* One workload x peer pair: values[run * bench_nmetrics(w) + metric]. */
struct bench_cell {
    bool skipped;  /* the pair cannot run (see note) */
    unsigned runs; /* runs recorded */
    uint64_t jobs; /* the count the next run asks for; 0: the child's own */
    enum bench_state *states; /* [run] */
    double *values;
};

struct bench_results {
    const struct bench_plan *plan;
    struct bench_cell *cells; /* [workload * npeers + peer] */
    char **notes;
    size_t nnotes;
    char **failures;
    size_t nfailures;
    unsigned children; /* child processes run, sizing runs included */
    unsigned resized;  /* runs discarded for timing too little */
    uint64_t wall_ns;  /* how long the whole plan took */
};

int bench_results_init(struct bench_results *r, const struct bench_plan *p);
void bench_results_free(struct bench_results *r);
void bench_note(struct bench_results *r, bool failure, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct bench_cell *bench_cell(struct bench_results *r, size_t workload,
                              size_t peer);

/* Runs every repetition of the plan in child processes, then, with
 * --states, the rounds that states.c asks for. */
void bench_run_plan(struct bench_results *r);
/* Runs every peer of workload wi once, from the peer that round picks;
 * with lacking, only the peers with fewer than reps runs in that state. */
void bench_run_round(struct bench_results *r, size_t wi, unsigned round,
                     const enum bench_state *lacking);
/* Runs of workload wi, peer pi, in state s. */
unsigned bench_cell_runs_in(const struct bench_results *r, size_t wi, size_t pi,
                            enum bench_state s);
/* states.c: with --states, runs rounds until each workload has reps runs
 * of every pair in both states, within the plan's bounds. */
void bench_run_states(struct bench_results *r);
/* Writes the results in the plan's format to stdout. */
void bench_report(const struct bench_results *r);

/* report.c: one workload x metric x peer over its runs in one state. */
struct bench_summary {
    unsigned runs; /* in the state summarised */
    double median, min, max;
    double ratio;         /* 0 when there is nothing to compare with */
    const char *ratio_to; /* the peer the ratio compares with */
};
/* Summarises every peer of workload wi x metric in state s into
 * out[npeers] and fills in the ratios; returns the best other peer's
 * index, or npeers if there is none. */
size_t bench_summarise_metric(const struct bench_results *r, size_t wi,
                              size_t metric, enum bench_state s,
                              struct bench_summary *out);
/* report-data.c: the machine-readable formats; s has room for npeers. */
void bench_print_csv(const struct bench_results *r, struct bench_summary *s);
void bench_print_json(const struct bench_results *r, struct bench_summary *s);
/* Runs one workload against one peer in this process (child mode). */
int bench_child(const char *peer, const char *workload,
                const struct bench_params *params);

#endif /* JOBPOOL_BENCH_H */
