/* SPDX-License-Identifier: MIT */
/*
 * Summaries of the collected results, written as a table for people or as
 * CSV or JSON for programs.  Each workload x metric x peer gets the median
 * and the range over its repetitions, and a ratio that puts jobpool next to
 * the others: on a peer's row, the peer's median / jobpool's; on jobpool's
 * row, jobpool's median / the best other peer's (named beside it).
 */
#include "config.h"

#include "bench.h"

#include <jobpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct summary {
    unsigned runs;
    double median, min, max;
    double ratio;         /* 0 when there is nothing to compare with */
    const char *ratio_to; /* the peer the ratio compares with */
};

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median and range of one metric of one cell; runs == 0 if it has none. */
static struct summary summarise(const struct bench_cell *cell, size_t nmetrics,
                                size_t metric)
{
    struct summary s = {0};
    double v[BENCH_REPS_MAX];
    unsigned i, n = cell->runs;

    for (i = 0; i < n; i++)
        v[i] = cell->values[i * nmetrics + metric];
    s.runs = n;
    if (n == 0)
        return s;
    qsort(v, n, sizeof v[0], compare_double);
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

/* Summarises every peer of one workload x metric into out[npeers] and
 * fills in the ratios. */
static void summarise_metric(const struct bench_results *r, size_t wi,
                             size_t metric, struct summary *out)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    bool higher = w->metrics[metric].higher_is_better;
    size_t pi, jp = p->npeers, best = p->npeers;

    for (pi = 0; pi < p->npeers; pi++) {
        out[pi] =
            summarise(&r->cells[wi * p->npeers + pi], w->nmetrics, metric);
        if (strcmp(p->peers[pi]->name, "jobpool") == 0)
            jp = pi;
    }
    if (jp == p->npeers || out[jp].runs == 0 || w->metrics[metric].reference)
        return;
    for (pi = 0; pi < p->npeers; pi++) {
        if (pi == jp || out[pi].runs == 0)
            continue;
        if (out[jp].median > 0) {
            out[pi].ratio = out[pi].median / out[jp].median;
            out[pi].ratio_to = "jobpool";
        }
        if (best == p->npeers || (higher ? out[pi].median > out[best].median
                                         : out[pi].median < out[best].median))
            best = pi;
    }
    if (best != p->npeers && out[best].median > 0) {
        out[jp].ratio = out[jp].median / out[best].median;
        out[jp].ratio_to = p->peers[best]->name;
    }
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

static void print_table_row(const struct bench_results *r, size_t wi,
                            size_t metric, size_t pi, const struct summary *s,
                            bool first_of_workload, bool first_of_metric)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    char med[16], range[40], ratio[40] = "";

    if (s->runs == 0) {
        (void)snprintf(med, sizeof med, "failed");
        range[0] = '\0';
    } else {
        char lo[16], hi[16];

        (void)number(med, sizeof med, s->median);
        (void)snprintf(range, sizeof range, "%s .. %s",
                       number(lo, sizeof lo, s->min),
                       number(hi, sizeof hi, s->max));
        if (s->runs < p->reps) {
            size_t len = strlen(range);
            (void)snprintf(range + len, sizeof range - len, " (%u/%u)", s->runs,
                           p->reps);
        }
    }
    if (s->ratio_to != NULL && strcmp(s->ratio_to, "jobpool") == 0)
        (void)snprintf(ratio, sizeof ratio, "%.2f", s->ratio);
    else if (s->ratio_to != NULL)
        (void)snprintf(ratio, sizeof ratio, "%.2f vs %s", s->ratio,
                       s->ratio_to);

    printf("%-16s %-12s %-12s %8s  %-22s %-7s %s\n",
           first_of_workload ? w->name : "",
           first_of_metric ? w->metrics[metric].name : "", p->peers[pi]->name,
           med, range, w->metrics[metric].unit, ratio);
}

static void print_table(const struct bench_results *r, struct summary *s)
{
    const struct bench_plan *p = r->plan;
    size_t wi, m, pi, i;

    printf("jobpool-bench %s: %u workers, %u repetition%s%s; median and "
           "min .. max over repetitions\n\n",
           job_version_string(), p->threads, p->reps, p->reps == 1 ? "" : "s",
           p->quick ? " (--quick counts)" : "");
    printf("%-16s %-12s %-12s %8s  %-22s %-7s %s\n", "workload", "metric",
           "peer", "median", "min .. max", "unit", "ratio");
    for (wi = 0; wi < p->nworkloads; wi++) {
        bool first_w = true;

        for (m = 0; m < p->workloads[wi]->nmetrics; m++) {
            bool first_m = true;

            summarise_metric(r, wi, m, s);
            for (pi = 0; pi < p->npeers; pi++) {
                if (r->cells[wi * p->npeers + pi].skipped)
                    continue;
                print_table_row(r, wi, m, pi, &s[pi], first_w, first_m);
                first_w = first_m = false;
            }
        }
        if (!first_w && wi + 1 < p->nworkloads)
            printf("\n");
    }
    printf("\nratio: a peer's median / jobpool's; on jobpool's row, "
           "jobpool's / the best other peer's.\n"
           "Higher is better for jobs/s and %%; lower for ns, us, ms, B/job "
           "and ms/s.\n"
           "Rows without a ratio describe the run, not the pool: cpu-rtt "
           "(the machine's\n"
           "cross-CPU round trip), no-pool (plain threads' efficiency), "
           "top-share (the\n"
           "busiest worker's part of the jobs).\n");
    for (i = 0; i < r->nnotes; i++)
        printf("note: %s\n", r->notes[i]);
    for (i = 0; i < r->nfailures; i++)
        printf("FAILED: %s\n", r->failures[i]);
}

static void print_csv(const struct bench_results *r, struct summary *s)
{
    const struct bench_plan *p = r->plan;
    size_t wi, m, pi;

    printf("workload,metric,peer,unit,higher_is_better,runs,median,min,max,"
           "ratio,ratio_to\n");
    for (wi = 0; wi < p->nworkloads; wi++) {
        const struct bench_workload *w = p->workloads[wi];

        for (m = 0; m < w->nmetrics; m++) {
            summarise_metric(r, wi, m, s);
            for (pi = 0; pi < p->npeers; pi++) {
                if (s[pi].runs == 0)
                    continue;
                printf("%s,%s,%s,%s,%d,%u,%.6g,%.6g,%.6g,", w->name,
                       w->metrics[m].name, p->peers[pi]->name,
                       w->metrics[m].unit, w->metrics[m].higher_is_better,
                       s[pi].runs, s[pi].median, s[pi].min, s[pi].max);
                if (s[pi].ratio_to != NULL)
                    printf("%.4g,%s\n", s[pi].ratio, s[pi].ratio_to);
                else
                    printf(",\n");
            }
        }
    }
}

/* Writes s as a JSON string: quotes, backslashes and control characters
 * escaped. */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned)(unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void json_list(const char *key, char *const *items, size_t n)
{
    size_t i;

    printf(",\n  \"%s\": [", key);
    for (i = 0; i < n; i++) {
        printf(i ? ", " : "");
        json_string(items[i]);
    }
    printf("]");
}

static void print_json(const struct bench_results *r, struct summary *s)
{
    const struct bench_plan *p = r->plan;
    const struct bench_cell *cell;
    size_t wi, m, pi;
    unsigned i;
    bool first = true;

    printf("{\n  \"tool\": \"jobpool-bench\",\n  \"jobpool_version\": ");
    json_string(job_version_string());
    printf(",\n  \"threads\": %u,\n  \"reps\": %u,\n  \"quick\": %s,\n"
           "  \"results\": [",
           p->threads, p->reps, p->quick ? "true" : "false");
    for (wi = 0; wi < p->nworkloads; wi++) {
        const struct bench_workload *w = p->workloads[wi];

        for (m = 0; m < w->nmetrics; m++) {
            summarise_metric(r, wi, m, s);
            for (pi = 0; pi < p->npeers; pi++) {
                cell = &r->cells[wi * p->npeers + pi];
                if (s[pi].runs == 0)
                    continue;
                printf("%s\n    {\"workload\": \"%s\", \"metric\": \"%s\", "
                       "\"peer\": \"%s\", \"unit\": \"%s\", "
                       "\"higher_is_better\": %s, \"median\": %.6g, "
                       "\"min\": %.6g, \"max\": %.6g, \"values\": [",
                       first ? "" : ",", w->name, w->metrics[m].name,
                       p->peers[pi]->name, w->metrics[m].unit,
                       w->metrics[m].higher_is_better ? "true" : "false",
                       s[pi].median, s[pi].min, s[pi].max);
                for (i = 0; i < cell->runs; i++)
                    printf("%s%.6g", i ? ", " : "",
                           cell->values[i * w->nmetrics + m]);
                printf("]");
                if (s[pi].ratio_to != NULL)
                    printf(", \"ratio\": %.4g, \"ratio_to\": \"%s\"",
                           s[pi].ratio, s[pi].ratio_to);
                printf("}");
                first = false;
            }
        }
    }
    printf("\n  ]");
    json_list("notes", r->notes, r->nnotes);
    json_list("failures", r->failures, r->nfailures);
    printf("\n}\n");
}

void bench_report(const struct bench_results *r)
{
    struct summary *s =
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
        print_csv(r, s);
        break;
    case BENCH_JSON:
        print_json(r, s);
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
