/* SPDX-License-Identifier: MIT */
/*
 * jobpool-bench: compares jobpool with other C thread pools.
 *
 *   jobpool-bench [--quick] [--reps N] [--threads N] [--workload NAME]...
 *                 [--peer NAME]... [--states [--state-probes N]]
 *                 [--csv | --json]
 *
 * The driver parses options, builds the plan (which workloads, which
 * peers), runs it through runner.c (and states.c) and prints it through
 * report.c.  Run with --help for the lists of workloads and peers.
 *
 * Exit status: 0 when every run succeeded (skipped peers included), 1 when
 * a run failed (a peer lost jobs, crashed or timed out), 2 on a usage error.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPS_DEFAULT 5u
#define REPS_QUICK 3u
/* --state-probes: 120 probes 5 s apart, 10 minutes of waiting at most. */
#define STATE_PROBES_DEFAULT 120u
#define STATE_PROBES_MAX 10000u
#define CHILD_JOBS_MAX 1000000000u
#define THREADS_MAX 1024u
/* Room for name lists: more than the catalog holds, since repeated names
 * are validated and then collapse. */
#define LIST_MAX 16u

static void usage(FILE *out)
{
    size_t i;

    fprintf(out,
            "usage: jobpool-bench [options]\n"
            "Runs each workload on each peer in fresh processes and reports "
            "the median and\nrange over repetitions, by machine state: near "
            "(cpu-rtt at most %.0f ns) or far.\nEvery recorded run times at "
            "least %.0f ms of work: the job counts are sized to it.\n\n"
            "  --quick          fewer repetitions and samples (about two "
            "minutes)\n"
            "  --reps N         repetitions per workload and peer (default %u, "
            "%u with --quick)\n"
            "  --threads N      workers in every pool (default: online CPUs; "
            "the -8w\n"
            "                   workloads have 8)\n"
            "  --workload NAME  run this workload; repeatable (default: all)\n"
            "  --peer NAME      run this peer; repeatable (default: all built "
            "in)\n"
            "  --states         then run more rounds until every workload has "
            "N runs of\n"
            "                   each peer in both states (at most %u x N in "
            "all)\n"
            "  --state-probes N with --states, wait for a missing state at "
            "most N times,\n"
            "                   5 s each (default %u)\n"
            "  --csv, --json    machine-readable output instead of the table\n"
            "  --help           this text\n\nworkloads:\n",
            BENCH_FAR_NS, BENCH_TIMED_MIN_MS, REPS_DEFAULT, REPS_QUICK,
            BENCH_STATE_ROUNDS, STATE_PROBES_DEFAULT);
    for (i = 0; i < bench_nworkloads; i++)
        fprintf(out, "  %-17s %s\n", bench_workloads[i].name,
                bench_workloads[i].what);
    fprintf(out, "\npeers:\n");
    for (i = 0; i < bench_npeers; i++)
        fprintf(out, "  %-17s %s\n", bench_peers[i].name,
                bench_peers[i].peer ? bench_peers[i].peer->what
                                    : "(not built: not found by configure, "
                                      "or turned off)");
}

static unsigned parse_uint(const char *option, const char *arg, unsigned max)
{
    unsigned long n;
    char *end;

    errno = 0;
    n = strtoul(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || n < 1 || n > max) {
        fprintf(stderr, "jobpool-bench: %s wants a number from 1 to %u\n",
                option, max);
        exit(2);
    }
    return (unsigned)n;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > (long)THREADS_MAX ? THREADS_MAX : (unsigned)n;
}

/* Options shared by the parent and the child. */
struct options {
    struct bench_plan plan;
    unsigned reps;                    /* 0: the default for the mode */
    unsigned jobs;                    /* --jobs, for a child only */
    bool state_probes;                /* --state-probes was given */
    const char *peer_names[LIST_MAX]; /* --peer, checked against the catalog */
    size_t npeer_names;
    const char *workload_names[LIST_MAX]; /* --workload, likewise */
    size_t nworkload_names;
    const struct bench_workload *workloads[LIST_MAX]; /* plan.workloads */
    const struct bench_peer *peers[LIST_MAX];         /* plan.peers */
};

static void parse_options(int argc, char **argv, struct options *o)
{
    enum {
        OPT_CSV = 256,
        OPT_JSON,
        OPT_QUICK,
        OPT_REPS,
        OPT_THREADS,
        OPT_WORKLOAD,
        OPT_PEER,
        OPT_STATES,
        OPT_STATE_PROBES,
        OPT_JOBS,
        OPT_HELP
    };
    static const struct option longopts[] = {
        {"csv", no_argument, NULL, OPT_CSV},
        {"json", no_argument, NULL, OPT_JSON},
        {"quick", no_argument, NULL, OPT_QUICK},
        {"reps", required_argument, NULL, OPT_REPS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"workload", required_argument, NULL, OPT_WORKLOAD},
        {"peer", required_argument, NULL, OPT_PEER},
        {"states", no_argument, NULL, OPT_STATES},
        {"state-probes", required_argument, NULL, OPT_STATE_PROBES},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct bench_plan *p = &o->plan;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CSV:
            p->format = BENCH_CSV;
            break;
        case OPT_JSON:
            p->format = BENCH_JSON;
            break;
        case OPT_QUICK:
            p->quick = true;
            break;
        case OPT_REPS:
            o->reps = parse_uint("--reps", optarg, BENCH_REPS_MAX);
            break;
        case OPT_THREADS:
            p->threads = parse_uint("--threads", optarg, THREADS_MAX);
            break;
        case OPT_WORKLOAD:
            if (bench_find_workload(optarg) == NULL) {
                fprintf(stderr, "jobpool-bench: no workload %s (see --help)\n",
                        optarg);
                exit(2);
            }
            if (o->nworkload_names < LIST_MAX)
                o->workload_names[o->nworkload_names++] = optarg;
            break;
        case OPT_PEER:
            if (bench_find_peer(optarg) == NULL) {
                fprintf(stderr, "jobpool-bench: no peer %s (see --help)\n",
                        optarg);
                exit(2);
            }
            if (o->npeer_names < LIST_MAX)
                o->peer_names[o->npeer_names++] = optarg;
            break;
        case OPT_STATES:
            p->states = true;
            break;
        case OPT_STATE_PROBES:
            p->state_probes =
                parse_uint("--state-probes", optarg, STATE_PROBES_MAX);
            o->state_probes = true;
            break;
        case OPT_JOBS:
            o->jobs = parse_uint("--jobs", optarg, CHILD_JOBS_MAX);
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "jobpool-bench: unexpected argument %s\n",
                argv[optind]);
        exit(2);
    }
}

/* True if name is in the list, or the list is empty (everything). */
static bool selected(const char *const *list, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(list[i], name) == 0)
            return true;
    }
    return n == 0;
}

/* Fills in the plan from the options, in catalog order (so a name given
 * twice counts once). */
static void complete_plan(struct options *o, char **argv)
{
    struct bench_plan *p = &o->plan;
    size_t i;

    p->workloads = o->workloads;
    p->peers = o->peers;
    for (i = 0; i < bench_nworkloads && i < LIST_MAX; i++) {
        if (selected(o->workload_names, o->nworkload_names,
                     bench_workloads[i].name))
            o->workloads[p->nworkloads++] = &bench_workloads[i];
    }
    for (i = 0; i < bench_npeers && i < LIST_MAX; i++) {
        if (bench_peers[i].peer != NULL &&
            selected(o->peer_names, o->npeer_names, bench_peers[i].name))
            o->peers[p->npeers++] = bench_peers[i].peer;
    }
    if (p->threads == 0)
        p->threads = online_cpus();
    p->reps = o->reps ? o->reps : p->quick ? REPS_QUICK : REPS_DEFAULT;
    if (!o->state_probes)
        p->state_probes = STATE_PROBES_DEFAULT;
    p->max_runs = p->states ? p->reps * BENCH_STATE_ROUNDS : p->reps;
    /* Under a libtool wrapper, argv[0] is the script; /proc/self/exe is
     * the binary, and the wrapper's environment is inherited. */
    p->self_path =
        access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : argv[0];
}

int main(int argc, char **argv)
{
    struct options o = {0};
    struct bench_results r;
    struct bench_params params;
    size_t i;
    int status;

    if (argc >= 4 && strcmp(argv[1], "--child") == 0) {
        /* Child mode: argv[3] stands in for the program name. */
        parse_options(argc - 3, argv + 3, &o);
        params.threads = o.plan.threads ? o.plan.threads : online_cpus();
        params.jobs = o.jobs;
        params.quick = o.plan.quick;
        return bench_child(argv[2], argv[3], &params);
    }

    parse_options(argc, argv, &o);
    if (o.jobs != 0) {
        /* The parent sizes every count itself (runner.c). */
        fprintf(stderr, "jobpool-bench: --jobs is for --child runs only\n");
        return 2;
    }
    if (o.state_probes && !o.plan.states) {
        fprintf(stderr, "jobpool-bench: --state-probes needs --states\n");
        return 2;
    }
    complete_plan(&o, argv);
    if (bench_results_init(&r, &o.plan) != 0) {
        fprintf(stderr, "jobpool-bench: out of memory\n");
        return 1;
    }
    for (i = 0; i < bench_npeers; i++) {
        if (bench_peers[i].peer == NULL &&
            selected(o.peer_names, o.npeer_names, bench_peers[i].name))
            bench_note(&r, false,
                       "%s: skipped: not built (not found by configure, "
                       "or turned off)",
                       bench_peers[i].name);
    }

    bench_run_plan(&r);
    bench_report(&r);
    status = r.nfailures != 0;
    bench_results_free(&r);
    return status;
}
