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
};
const size_t bench_npeers = COUNT(bench_peers);

static const struct bench_metric throughput_metrics[] = {
    {"rate", "jobs/s", true, false},
    {"submit", "ns/call", false, false},
    {"cpu-rtt", "ns", false, true},
};

static const struct bench_metric tiny_metrics[] = {
    {"efficiency", "%", true, false},
    {"rate", "jobs/s", true, false},
    {"no-pool", "%", true, true},
    {"top-share", "%", false, true},
};

static const struct bench_metric wakeup_metrics[] = {
    {"p50@200us", "us", false, false},   {"p99@200us", "us", false, false},
    {"p99.9@200us", "us", false, false}, {"p50@2ms", "us", false, false},
    {"p99@2ms", "us", false, false},     {"p99.9@2ms", "us", false, false},
    {"tail-cpu", "us", false, false},    {"idle-cpu", "ms/s", false, false},
};

static const struct bench_metric memory_metrics[] = {
    {"queued", "B/job", false, false},
    {"drain", "jobs/s", true, false},
    {"cpu-rtt", "ns", false, true},
};

static const struct bench_metric drain_private_metrics[] = {
    {"drain-private", "jobs/s", true, false},
    {"top-share", "%", false, true},
    {"cpu-rtt", "ns", false, true},
};

static const struct bench_metric blocking_metrics[] = {
    {"rate", "jobs/s", true, false},
    {"of-ideal", "%", true, false},
    {"p50", "ms", false, false},
    {"p99", "ms", false, false},
};

const struct bench_workload bench_workloads[] = {
    {"throughput-1p", "1 producer, 2M empty jobs, drain included", 1,
     throughput_metrics, COUNT(throughput_metrics), bench_run_throughput},
    {"throughput-2p", "2 producers share 2M empty jobs", 2, throughput_metrics,
     COUNT(throughput_metrics), bench_run_throughput},
    {"throughput-4p", "4 producers share 2M empty jobs", 4, throughput_metrics,
     COUNT(throughput_metrics), bench_run_throughput},
    {"tiny-work", "200k jobs of 1 us busy work; efficiency", 1, tiny_metrics,
     COUNT(tiny_metrics), bench_run_tiny_work},
    {"wakeup-latency", "submit-to-start on an idle pool; idle CPU", 1,
     wakeup_metrics, COUNT(wakeup_metrics), bench_run_wakeup},
    {"memory-drain", "bytes per queued job; drain rate of 1M jobs", 1,
     memory_metrics, COUNT(memory_metrics), bench_run_memory_drain},
    {"drain-private",
     "drain rate of 1M jobs counting per thread (no shared line)", 1,
     drain_private_metrics, COUNT(drain_private_metrics),
     bench_run_memory_drain},
    {"blocking-offload", "4 x workers x 50 jobs sleeping 1 ms", 1,
     blocking_metrics, COUNT(blocking_metrics), bench_run_blocking},
};
const size_t bench_nworkloads = COUNT(bench_workloads);

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
