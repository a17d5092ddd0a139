/* SPDX-License-Identifier: MIT */
/*
 * Summaries of the collected results, written as tables for people here
 * or as CSV or JSON for programs (report-data.c).
 *
 * Runs are grouped by the machine's state at their time (states.c): a
 * pool is compared with the others only over runs in the same state.
 * Each workload x state x metric x peer gets the median and the range
 * over its runs in that state, and a ratio that puts jobpool next to the
 * others: on a peer's row, the peer's median / jobpool's; on jobpool's
 * row, jobpool's median / the best other peer's (named beside it).  The
 * variants (jobpool's lanes) get a peer's ratio, lane / plain, and are
 * never the best other peer.
 *
 * The table ends with a summary by state, the source of the README's
 * table: for each headline metric, a row per state with jobpool's median,
 * the best other peer's and the ratio.  A state that no run was in gets a
 * row that says so, never a figure.  Runs that saw the state change
 * (mixed) are in no table, only in CSV and JSON.
 */
#include "config.h"

#include "bench.h"

#include <jobpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Sorts v[n] and returns its median; n > 0. */
static double median_of(double *v, unsigned n)
{
    qsort(v, n, sizeof v[0], compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median and range of one metric of one cell over its runs in state s;
 * runs == 0 if it has none. */
static struct bench_summary summarise(const struct bench_cell *cell,
                                      size_t nmetrics, size_t metric,
                                      enum bench_state s)
{
    struct bench_summary out = {0};
    double v[BENCH_REPS_MAX * BENCH_STATE_ROUNDS];
    unsigned i, n = 0;

    for (i = 0; i < cell->runs; i++) {
        if (cell->states[i] == s)
            v[n++] = cell->values[i * nmetrics + metric];
    }
    out.runs = n;
    if (n == 0)
        return out;
    out.median = median_of(v, n);
    out.min = v[0];
    out.max = v[n - 1];
    return out;
}

/* The index of jobpool among the plan's peers, or npeers. */
static size_t jobpool_index(const struct bench_plan *p)
{
    size_t pi;

    for (pi = 0; pi < p->npeers; pi++) {
        if (strcmp(p->peers[pi]->name, "jobpool") == 0)
            break;
    }
    return pi;
}

size_t bench_summarise_metric(const struct bench_results *r, size_t wi,
                              size_t metric, enum bench_state s,
                              struct bench_summary *out)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    const struct bench_metric *m = bench_metric_at(w, metric);
    size_t pi, jp = jobpool_index(p), best = p->npeers;

    for (pi = 0; pi < p->npeers; pi++)
        out[pi] = summarise(&r->cells[wi * p->npeers + pi], bench_nmetrics(w),
                            metric, s);
    if (jp == p->npeers || out[jp].runs == 0 || m->reference)
        return p->npeers;
    for (pi = 0; pi < p->npeers; pi++) {
        if (pi == jp || out[pi].runs == 0)
            continue;
        if (out[jp].median > 0) {
            out[pi].ratio = out[pi].median / out[jp].median;
            out[pi].ratio_to = "jobpool";
        }
        if (p->peers[pi]->variant)
            continue; /* jobpool itself: never the best other peer */
        if (best == p->npeers ||
            (m->higher_is_better ? out[pi].median > out[best].median
                                 : out[pi].median < out[best].median))
            best = pi;
    }
    if (best != p->npeers && out[best].median > 0) {
        out[jp].ratio = out[jp].median / out[best].median;
        out[jp].ratio_to = p->peers[best]->name;
    }
    return best;
}

/* Runs of workload wi, any peer, in state s. */
static unsigned workload_runs_in(const struct bench_results *r, size_t wi,
                                 enum bench_state s)
{
    unsigned n = 0;
    size_t pi;

    for (pi = 0; pi < r->plan->npeers; pi++)
        n += bench_cell_runs_in(r, wi, pi, s);
    return n;
}

/* Runs of any workload in state s. */
static unsigned all_runs_in(const struct bench_results *r, enum bench_state s)
{
    unsigned n = 0;
    size_t wi;

    for (wi = 0; wi < r->plan->nworkloads; wi++)
        n += workload_runs_in(r, wi, s);
    return n;
}

/* The states a table has rows for: near and far, each with a row saying
 * it was not seen if need be; unmeasured only if it has runs (then
 * nothing could be told apart). */
static bool table_state(const struct bench_results *r, enum bench_state s)
{
    if (s == BENCH_NEAR || s == BENCH_FAR)
        return all_runs_in(r, BENCH_UNMEASURED) == 0 ||
               all_runs_in(r, BENCH_NEAR) + all_runs_in(r, BENCH_FAR) > 0;
    return s == BENCH_UNMEASURED && all_runs_in(r, s) > 0;
}

/* A state as the tables' narrow column shows it. */
static const char *state_label(enum bench_state s)
{
    return s == BENCH_UNMEASURED ? "n/a" : bench_state_name(s);
}

/* Three or four significant digits, with k/M/G for large values. */
static const char *number(char *buf, size_t size, double v)
{
    if (v >= 1e9)
        (void)snprintf(buf, size, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        (void)snprintf(buf, size, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        (void)snprintf(buf, size, "%.1fk", v / 1e3);
    else if (v >= 100)
        (void)snprintf(buf, size, "%.0f", v);
    else
        (void)snprintf(buf, size, "%.3g", v);
    return buf;
}

#define ROW_FORMAT "%-16s %-4s %-13s %-12s %8s  %-22s %4s %-7s %s\n"

static void print_table_row(const struct bench_results *r, size_t wi,
                            size_t metric, size_t pi,
                            const struct bench_summary *s, const char *workload,
                            const char *state, bool first_of_metric)
{
    const struct bench_plan *p = r->plan;
    const struct bench_metric *m = bench_metric_at(p->workloads[wi], metric);
    char med[16], range[40], lo[16], hi[16], runs[16], ratio[40] = "";

    (void)number(med, sizeof med, s->median);
    (void)snprintf(range, sizeof range, "%s .. %s",
                   number(lo, sizeof lo, s->min),
                   number(hi, sizeof hi, s->max));
    (void)snprintf(runs, sizeof runs, "%u", s->runs);
    if (s->ratio_to != NULL && strcmp(s->ratio_to, "jobpool") == 0)
        (void)snprintf(ratio, sizeof ratio, "%.2f", s->ratio);
    else if (s->ratio_to != NULL)
        (void)snprintf(ratio, sizeof ratio, "%.2f vs %s", s->ratio,
                       s->ratio_to);

    printf(ROW_FORMAT, workload, state, first_of_metric ? m->name : "",
           p->peers[pi]->name, med, range, runs, m->unit, ratio);
}

/* Lists, on one line, the peers of workload wi that have no run in state
 * st: none at all ("failed"), or only in other states. */
static void print_absent(const struct bench_results *r, size_t wi,
                         enum bench_state st)
{
    const struct bench_plan *p = r->plan;
    const char *sep = "";
    bool failed;
    size_t pi;

    for (failed = false;; failed = true) {
        for (pi = 0; pi < p->npeers; pi++) {
            const struct bench_cell *cell = &r->cells[wi * p->npeers + pi];

            if (cell->skipped || bench_cell_runs_in(r, wi, pi, st) != 0 ||
                (cell->runs == 0) != failed)
                continue;
            if (*sep == '\0')
                printf("%-16s %-4s %s: ", "", "",
                       failed ? "failed" : "no run in this state");
            printf("%s%s", sep, p->peers[pi]->name);
            sep = ", ";
        }
        if (*sep != '\0')
            printf("\n");
        sep = "";
        if (failed)
            break;
    }
}

/* The rows of one workload in one state: one per metric and peer that
 * has runs in it. */
static void print_table_state(const struct bench_results *r, size_t wi,
                              enum bench_state st, bool *first_w,
                              struct bench_summary *s)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    const char *name = state_label(st);
    bool first_s = true;
    size_t m, pi;

    if (workload_runs_in(r, wi, st) == 0) {
        printf("%-16s %-4s not seen in this run\n", *first_w ? w->name : "",
               name);
        *first_w = false;
        return;
    }
    for (m = 0; m < bench_nmetrics(w); m++) {
        bool first_m = true;

        if (bench_metric_at(w, m)->detail)
            continue;
        (void)bench_summarise_metric(r, wi, m, st, s);
        for (pi = 0; pi < p->npeers; pi++) {
            if (s[pi].runs == 0)
                continue;
            print_table_row(r, wi, m, pi, &s[pi], *first_w ? w->name : "",
                            first_s ? name : "", first_m);
            *first_w = first_m = first_s = false;
        }
    }
    print_absent(r, wi, st);
}

/* The median cpu-rtt of every run of workload wi in state st, or 0. */
static double state_rtt(const struct bench_results *r, size_t wi,
                        enum bench_state st)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    const size_t nm = bench_nmetrics(w);
    double *v, med = 0;
    unsigned n = 0, i;
    size_t pi;

    v = calloc((size_t)p->npeers * p->max_runs + 1, sizeof *v);
    if (v == NULL)
        return 0;
    for (pi = 0; pi < p->npeers; pi++) {
        const struct bench_cell *cell = &r->cells[wi * p->npeers + pi];

        for (i = 0; i < cell->runs; i++) {
            if (cell->states[i] == st)
                v[n++] = cell->values[i * nm + w->nmetrics + BENCH_RUN_RTT];
        }
    }
    if (n > 0)
        med = median_of(v, n);
    free(v);
    return med;
}

#define SUMMARY_FORMAT "%-16s %-13s %-5s %8s  %-20s %6s  %-7s %-7s %s\n"

/* One row of the summary: workload wi, metric m, state st. */
static void print_summary_row(const struct bench_results *r, size_t wi,
                              size_t m, enum bench_state st, bool first_m,
                              const char *workload, struct bench_summary *s)
{
    const struct bench_plan *p = r->plan;
    const struct bench_metric *metric = bench_metric_at(p->workloads[wi], m);
    size_t jp = jobpool_index(p), best;
    char jmed[16], bmed[16], peer[40], ratio[16], runs[16], rtt[16];
    const char *name = state_label(st);

    best = bench_summarise_metric(r, wi, m, st, s);
    if (workload_runs_in(r, wi, st) == 0) {
        printf("%-16s %-13s %-5s not seen in this run\n", workload,
               first_m ? metric->name : "", name);
        return;
    }
    if (jp == p->npeers || s[jp].runs == 0) {
        printf("%-16s %-13s %-5s jobpool: no run in this state\n", workload,
               first_m ? metric->name : "", name);
        return;
    }
    (void)number(jmed, sizeof jmed, s[jp].median);
    if (best == p->npeers) {
        printf("%-16s %-13s %-5s %8s  no other peer ran in this state\n",
               workload, first_m ? metric->name : "", name, jmed);
        return;
    }
    (void)snprintf(peer, sizeof peer, "%s %s",
                   number(bmed, sizeof bmed, s[best].median),
                   p->peers[best]->name);
    (void)snprintf(ratio, sizeof ratio, "%.2f", s[jp].ratio);
    (void)snprintf(runs, sizeof runs, "%u/%u", s[jp].runs, s[best].runs);
    (void)snprintf(rtt, sizeof rtt, "%.0f ns", state_rtt(r, wi, st));
    printf(SUMMARY_FORMAT, workload, first_m ? metric->name : "", name, jmed,
           peer, ratio, metric->unit, runs, rtt);
}

static void print_summary(const struct bench_results *r,
                          struct bench_summary *s)
{
    const struct bench_plan *p = r->plan;
    enum bench_state st;
    size_t wi, m;

    printf("\nBy state: jobpool's median, the best other peer's and jobpool / "
           "best, over the\nruns in that state (far: cpu-rtt above %.0f ns "
           "before and after the run).\n\n",
           BENCH_FAR_NS);
    printf(SUMMARY_FORMAT, "workload", "metric", "state", "jobpool",
           "best other peer", "ratio", "unit", "runs", "cpu-rtt");
    for (wi = 0; wi < p->nworkloads; wi++) {
        const struct bench_workload *w = p->workloads[wi];
        bool first_w = true;

        for (m = 0; m < w->nmetrics; m++) {
            bool first_m = true;

            if (!w->metrics[m].headline)
                continue;
            for (st = BENCH_NEAR; st < BENCH_NSTATES; st++) {
                if (st == BENCH_MIXED || !table_state(r, st))
                    continue;
                print_summary_row(r, wi, m, st, first_m, first_w ? w->name : "",
                                  s);
                first_w = first_m = false;
            }
        }
    }
    printf("\nruns: jobpool's / the best peer's.  ratio: for jobs/s and %%, "
           "above 1 is jobpool\nahead; for ns, us, B/job and ms/s, below 1 "
           "is.\n");
}

/* Whether the plan has a variant peer (a lane) at all. */
static bool has_variants(const struct bench_plan *p)
{
    size_t pi;

    for (pi = 0; pi < p->npeers; pi++) {
        if (p->peers[pi]->variant)
            return true;
    }
    return false;
}

static void print_table(const struct bench_results *r, struct bench_summary *s)
{
    const struct bench_plan *p = r->plan;
    unsigned mixed = all_runs_in(r, BENCH_MIXED), fixed = 0;
    enum bench_state st;
    char workers[48] = "";
    size_t wi, i;

    /* The -8w workloads' own worker count, if the plan has one. */
    for (wi = 0; wi < p->nworkloads && fixed == 0; wi++)
        fixed = p->workloads[wi]->workers;
    if (fixed != 0)
        (void)snprintf(workers, sizeof workers, " (%u in the -%uw workloads)",
                       fixed, fixed);
    printf("jobpool-bench %s: %u workers%s, %u repetition%s%s;\nmedian and "
           "min .. max over the runs in each machine state: near, or far\n"
           "(cpu-rtt above %.0f ns before and after the run).  Every run "
           "timed at least\n%.0f ms of work (timed), its job count sized for "
           "each pool.\n\n",
           job_version_string(), p->threads, workers, p->reps,
           p->reps == 1 ? "" : "s", p->quick ? " (--quick samples)" : "",
           BENCH_FAR_NS, BENCH_TIMED_MIN_MS);
    printf(ROW_FORMAT, "workload", "st.", "metric", "peer", "median",
           "min .. max", "runs", "unit", "ratio");
    for (wi = 0; wi < p->nworkloads; wi++) {
        bool first_w = true;

        for (st = BENCH_NEAR; st < BENCH_NSTATES; st++) {
            if (st != BENCH_MIXED && table_state(r, st))
                print_table_state(r, wi, st, &first_w, s);
        }
        if (wi + 1 < p->nworkloads)
            printf("\n");
    }
    printf("\nratio: a peer's median / jobpool's; on jobpool's row, "
           "jobpool's / the best other peer's.\n"
           "Higher is better for jobs/s and %%; lower for ns, us, ms, B/job "
           "and ms/s.\n"
           "Rows without a ratio describe the run, not the pool: cpu-rtt "
           "(the machine's\n"
           "cross-CPU round trip before the run), timed (how long the run's "
           "measured part\n"
           "lasted), no-pool (plain threads' efficiency), top-share (the "
           "busiest worker's\n"
           "part of the jobs).\n");
    if (has_variants(p))
        printf("lane-w1 and lane-w2 are jobpool itself, each job submitted "
               "with\n"
               "job_submit_lane() into one lane of width 1 or 2: their ratio "
               "is lane / plain\n"
               "job_submit_detached(); they are never the best other peer.  "
               "No other peer has\n"
               "a serial queue.\n");
    if (mixed != 0)
        printf("%u run%s saw the state change while %s ran: in no table "
               "(CSV and JSON have %s).\n",
               mixed, mixed == 1 ? "" : "s", mixed == 1 ? "it" : "they",
               mixed == 1 ? "it" : "them");
    print_summary(r, s);
    printf("\n");
    for (i = 0; i < r->nnotes; i++)
        printf("note: %s\n", r->notes[i]);
    for (i = 0; i < r->nfailures; i++)
        printf("FAILED: %s\n", r->failures[i]);
    printf("%u child processes (%u of them discarded as timing under %.0f "
           "ms) in %.0f s.\n",
           r->children, r->resized, BENCH_TIMED_MIN_MS,
           (double)r->wall_ns / 1e9);
}

void bench_report(const struct bench_results *r)
{
    struct bench_summary *s =
        calloc(r->plan->npeers ? r->plan->npeers : 1, sizeof *s);

    if (s == NULL) {
        fprintf(stderr, "jobpool-bench: out of memory\n");
        return;
    }
    switch (r->plan->format) {
    case BENCH_TABLE:
        print_table(r, s);
        break;
    case BENCH_CSV:
        bench_print_csv(r, s);
        break;
    case BENCH_JSON:
        bench_print_json(r, s);
        break;
    }
    if (r->plan->format != BENCH_TABLE) {
        size_t i;

        for (i = 0; i < r->nnotes; i++)
            fprintf(stderr, "jobpool-bench: note: %s\n", r->notes[i]);
        for (i = 0; i < r->nfailures; i++)
            fprintf(stderr, "jobpool-bench: FAILED: %s\n", r->failures[i]);
    }
    free(s);
}
