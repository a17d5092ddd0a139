/* SPDX-License-Identifier: MIT */
/*
 * The peers and workloads this binary knows, in the order reports list them.
 * A peer that configure did not find stays listed with no adapter, so the
 * tool can say it was skipped rather than call its name unknown.
 */
#include "config.h"

#include "bench.h"

#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const struct bench_peer_entry bench_peers[] = {
    {"jobpool", &bench_peer_jobpool},
    {"textbook", &bench_peer_textbook},
#ifdef HAVE_GLIB
    {"glib", &bench_peer_glib},
#else
    {"glib", NULL},
#endif
#ifdef HAVE_CTHREADPOOL
    {"cthreadpool", &bench_peer_cthreadpool},
#else
    {"cthreadpool", NULL},
#endif
#ifdef HAVE_LIBUV
    {"libuv", &bench_peer_libuv},
#else
    {"libuv", NULL},
#endif
#ifdef HAVE_ONETBB
    {"onetbb", &bench_peer_onetbb},
#else
    {"onetbb", NULL},
#endif
    /* Variants of jobpool, not peers (peer-lane.c). */
    {"lane-w1", &bench_peer_lane_w1},
    {"lane-w2", &bench_peer_lane_w2},
};
const size_t bench_npeers = COUNT(bench_peers);

/* Fields: name, unit, higher is better, reference (no ratio), headline (a
 * row of the by-state summary), detail (CSV and JSON only). */
const struct bench_metric bench_run_metrics[BENCH_NRUN] = {
    [BENCH_RUN_RTT] = {"cpu-rtt", "ns", false, true, false, false},
    [BENCH_RUN_RTT_AFTER] = {"cpu-rtt-after", "ns", false, true, false, true},
    [BENCH_RUN_TIMED] = {"timed", "ms", false, true, false, false},
    [BENCH_RUN_JOBS] = {"jobs", "jobs", false, true, false, true},
};

static const struct bench_metric throughput_1p_metrics[] = {
    {"rate", "jobs/s", true, false, true, false},
    {"submit", "ns/call", false, false, true, false},
};

static const struct bench_metric throughput_metrics[] = {
    {"rate", "jobs/s", true, false, true, false},
    {"submit", "ns/call", false, false, false, false},
};

static const struct bench_metric tiny_metrics[] = {
    {"efficiency", "%", true, false, true, false},
    {"rate", "jobs/s", true, false, false, false},
    {"no-pool", "%", true, true, false, false},
    {"top-share", "%", false, true, false, false},
};

static const struct bench_metric wakeup_metrics[] = {
    {"p50@200us", "us", false, false, true, false},
    {"p99@200us", "us", false, false, false, false},
    {"p99.9@200us", "us", false, false, false, false},
    {"p50@2ms", "us", false, false, true, false},
    {"p99@2ms", "us", false, false, false, false},
    {"p99.9@2ms", "us", false, false, false, false},
    {"tail-cpu", "us", false, false, true, false},
    {"idle-cpu", "ms/s", false, false, true, false},
};

static const struct bench_metric memory_metrics[] = {
    {"queued", "B/job", false, false, true, false},
    {"drain", "jobs/s", true, false, true, false},
};

static const struct bench_metric drain_private_metrics[] = {
    {"drain-private", "jobs/s", true, false, true, false},
    {"top-share", "%", false, true, false, false},
};

static const struct bench_metric blocking_metrics[] = {
    {"rate", "jobs/s", true, false, true, false},
    {"of-ideal", "%", true, false, false, false},
    {"p50", "ms", false, false, false, false},
    {"p99", "ms", false, false, false, false},
};

#define METRICS(a) a, COUNT(a)

/* Fields: name, --help line, producers, workers (0: --threads), sized
 * (the parent sizes its job count), metrics, entry point, and whether the
 * lanes (the variant peers) run it too: throughput-1p and -4p, for the
 * cost of a lane's submit and of its one-at-a-time drain beside a plain
 * submit's.  The sized workloads' counts in --help are first guesses: the
 * parent raises them until a run times at least 200 ms. */
const struct bench_workload bench_workloads[] = {
    {"throughput-1p", "1 producer, empty jobs, drain included", 1, 0, true,
     METRICS(throughput_1p_metrics), bench_run_throughput, true},
    {"throughput-2p", "2 producers share the empty jobs", 2, 0, true,
     METRICS(throughput_metrics), bench_run_throughput, false},
    {"throughput-4p", "4 producers share the empty jobs", 4, 0, true,
     METRICS(throughput_metrics), bench_run_throughput, true},
    {"throughput-8p", "8 producers share the empty jobs (scaling)", 8, 0, true,
     METRICS(throughput_metrics), bench_run_throughput, false},
    {"throughput-1p-8w", "1 producer, 8 workers (oversubscribed)", 1, 8, true,
     METRICS(throughput_metrics), bench_run_throughput, false},
    {"throughput-8p-8w", "8 producers, 8 workers (oversubscribed)", 8, 8, true,
     METRICS(throughput_metrics), bench_run_throughput, false},
    {"tiny-work", "jobs of 1 us busy work; efficiency", 1, 0, true,
     METRICS(tiny_metrics), bench_run_tiny_work, false},
    {"wakeup-latency", "submit-to-start on an idle pool; idle CPU", 1, 0, false,
     METRICS(wakeup_metrics), bench_run_wakeup, false},
    {"memory-drain", "bytes per queued job; drain rate of the backlog", 1, 0,
     true, METRICS(memory_metrics), bench_run_memory_drain, false},
    {"drain-private", "drain rate, each job counting per thread", 1, 0, true,
     METRICS(drain_private_metrics), bench_run_memory_drain, false},
    {"blocking-offload", "200 x workers jobs sleeping 1 ms", 1, 0, true,
     METRICS(blocking_metrics), bench_run_blocking, false},
};
const size_t bench_nworkloads = COUNT(bench_workloads);

size_t bench_nmetrics(const struct bench_workload *w)
{
    return w->nmetrics + BENCH_NRUN;
}

const struct bench_metric *bench_metric_at(const struct bench_workload *w,
                                           size_t i)
{
    return i < w->nmetrics ? &w->metrics[i]
                           : &bench_run_metrics[i - w->nmetrics];
}

const struct bench_peer_entry *bench_find_peer(const char *name)
{
    size_t i;

    for (i = 0; i < bench_npeers; i++) {
        if (strcmp(bench_peers[i].name, name) == 0)
            return &bench_peers[i];
    }
    return NULL;
}

const struct bench_workload *bench_find_workload(const char *name)
{
    size_t i;

    for (i = 0; i < bench_nworkloads; i++) {
        if (strcmp(bench_workloads[i].name, name) == 0)
            return &bench_workloads[i];
    }
    return NULL;
}
