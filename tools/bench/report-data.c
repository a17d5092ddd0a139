/* SPDX-License-Identifier: MIT */
/*
 * The results as CSV or JSON, for programs: one record per workload x
 * metric x peer x state, each run counted in the state it was labelled
 * with (mixed runs included, which the tables leave out), with the
 * median, the range and the ratio of report.c.  CSV's column order is
 * what tools/bench/plot.gp reads.
 */
#include "config.h"

#include "bench.h"

#include <jobpool.h>
#include <stdio.h>

void bench_print_csv(const struct bench_results *r, struct bench_summary *s)
{
    const struct bench_plan *p = r->plan;
    enum bench_state st;
    size_t wi, m, pi;

    printf("workload,metric,peer,unit,higher_is_better,runs,median,min,max,"
           "ratio,ratio_to,state\n");
    for (wi = 0; wi < p->nworkloads; wi++) {
        const struct bench_workload *w = p->workloads[wi];

        for (st = BENCH_NEAR; st < BENCH_NSTATES; st++) {
            for (m = 0; m < bench_nmetrics(w); m++) {
                const struct bench_metric *metric = bench_metric_at(w, m);

                (void)bench_summarise_metric(r, wi, m, st, s);
                for (pi = 0; pi < p->npeers; pi++) {
                    if (s[pi].runs == 0)
                        continue;
                    printf("%s,%s,%s,%s,%d,%u,%.6g,%.6g,%.6g,", w->name,
                           metric->name, p->peers[pi]->name, metric->unit,
                           metric->higher_is_better, s[pi].runs, s[pi].median,
                           s[pi].min, s[pi].max);
                    if (s[pi].ratio_to != NULL)
                        printf("%.4g,%s,", s[pi].ratio, s[pi].ratio_to);
                    else
                        printf(",,");
                    printf("%s\n", bench_state_name(st));
                }
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

/* One result object: workload wi, metric m, peer pi, state st. */
static void json_result(const struct bench_results *r, size_t wi, size_t m,
                        size_t pi, enum bench_state st,
                        const struct bench_summary *s)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    const struct bench_metric *metric = bench_metric_at(w, m);
    const struct bench_cell *cell = &r->cells[wi * p->npeers + pi];
    const size_t nm = bench_nmetrics(w);
    unsigned i;
    bool first = true;

    printf("    {\"workload\": \"%s\", \"metric\": \"%s\", \"peer\": \"%s\", "
           "\"state\": \"%s\", \"unit\": \"%s\", \"higher_is_better\": %s, "
           "\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"values\": [",
           w->name, metric->name, p->peers[pi]->name, bench_state_name(st),
           metric->unit, metric->higher_is_better ? "true" : "false", s->median,
           s->min, s->max);
    for (i = 0; i < cell->runs; i++) {
        if (cell->states[i] != st)
            continue;
        printf("%s%.6g", first ? "" : ", ", cell->values[i * nm + m]);
        first = false;
    }
    printf("]");
    if (s->ratio_to != NULL)
        printf(", \"ratio\": %.4g, \"ratio_to\": \"%s\"", s->ratio,
               s->ratio_to);
    printf("}");
}

void bench_print_json(const struct bench_results *r, struct bench_summary *s)
{
    const struct bench_plan *p = r->plan;
    enum bench_state st;
    size_t wi, m, pi;
    bool first = true;

    printf("{\n  \"tool\": \"jobpool-bench\",\n  \"jobpool_version\": ");
    json_string(job_version_string());
    printf(",\n  \"threads\": %u,\n  \"reps\": %u,\n  \"quick\": %s,\n"
           "  \"far_above_ns\": %.0f,\n  \"timed_min_ms\": %.0f,\n"
           "  \"children\": %u,\n  \"discarded_short\": %u,\n"
           "  \"wall_s\": %.1f,\n  \"results\": [",
           p->threads, p->reps, p->quick ? "true" : "false", BENCH_FAR_NS,
           BENCH_TIMED_MIN_MS, r->children, r->resized,
           (double)r->wall_ns / 1e9);
    for (wi = 0; wi < p->nworkloads; wi++) {
        for (st = BENCH_NEAR; st < BENCH_NSTATES; st++) {
            for (m = 0; m < bench_nmetrics(p->workloads[wi]); m++) {
                (void)bench_summarise_metric(r, wi, m, st, s);
                for (pi = 0; pi < p->npeers; pi++) {
                    if (s[pi].runs == 0)
                        continue;
                    printf(first ? "\n" : ",\n");
                    json_result(r, wi, m, pi, st, &s[pi]);
                    first = false;
                }
            }
        }
    }
    printf("\n  ]");
    json_list("notes", r->notes, r->nnotes);
    json_list("failures", r->failures, r->nfailures);
    printf("\n}\n");
}
