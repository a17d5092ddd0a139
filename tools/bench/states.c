/* SPDX-License-Identifier: MIT */
/*
 * The machine's two states, and --states: sampling until both were seen.
 *
 * The 2-core virtual machine this project measures on moves, for seconds
 * to minutes at a time, between a near state (its two CPUs share a cache:
 * a cache line's round trip between them, cpu-rtt, takes 50-100 ns) and a
 * far state (350-420 ns, like cores in different L3 domains or sockets of
 * a server).  Every hand-off of a job from one thread to another pays that
 * trip, so a pool's figures in one state say nothing about the other, and
 * a median over runs of both states is neither.  Each run is labelled by
 * the cpu-rtt its child measured just before and just after it
 * (bench_state_of()); the report compares pools within one state only.
 *
 * No run can choose its state.  With --states, after the plan's
 * repetitions, the parent keeps going until every workload has reps runs
 * of each of its pairs in both states, within two bounds:
 *
 *   loop:
 *     probe the state now (the parent measures cpu-rtt itself);
 *     run one more round of every workload that lacks runs in that state,
 *       of the peers that lack them (at most (BENCH_STATE_ROUNDS - 1) x
 *       reps extra rounds per workload);
 *     if none ran but some workload still lacks the other state, wait
 *       PROBE_GAP_S and probe again, at most --state-probes waits in all;
 *     stop when no workload lacks a state it can still be given.
 *
 * A round's runs are labelled by their own cpu-rtt, not by the probe: a
 * round that the state changed under counts where its runs fell.
 */
#include "config.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PROBE_GAP_S 5u

static enum bench_state state_of_one(double rtt)
{
    if (rtt <= 0)
        return BENCH_UNMEASURED;
    return rtt > BENCH_FAR_NS ? BENCH_FAR : BENCH_NEAR;
}

enum bench_state bench_state_of(double rtt_before, double rtt_after)
{
    enum bench_state a = state_of_one(rtt_before);
    enum bench_state b = state_of_one(rtt_after);

    /* One figure missing (the pong side did not get its CPU in time):
     * the other one labels the run. */
    if (a == BENCH_UNMEASURED)
        return b;
    if (b == BENCH_UNMEASURED)
        return a;
    return a == b ? a : BENCH_MIXED;
}

const char *bench_state_name(enum bench_state s)
{
    switch (s) {
    case BENCH_NEAR:
        return "near";
    case BENCH_FAR:
        return "far";
    case BENCH_MIXED:
        return "mixed";
    case BENCH_UNMEASURED:
        break;
    }
    return "unmeasured";
}

/* The fewest runs in state s of any pair of workload wi that runs. */
static unsigned fewest_runs(const struct bench_results *r, size_t wi,
                            enum bench_state s)
{
    const struct bench_plan *p = r->plan;
    unsigned fewest = p->reps, n;
    size_t pi;

    for (pi = 0; pi < p->npeers; pi++) {
        if (r->cells[wi * p->npeers + pi].skipped)
            continue;
        n = bench_cell_runs_in(r, wi, pi, s);
        if (n < fewest)
            fewest = n;
    }
    return fewest;
}

/* Runs one more round of every workload that lacks runs in state now and
 * has rounds left (extra[wi] counts them); returns true if one ran, else
 * whether some workload still lacks the other state in *other_lacking. */
static bool run_lacking(struct bench_results *r, unsigned *extra,
                        enum bench_state now, bool *other_lacking)
{
    const struct bench_plan *p = r->plan;
    const enum bench_state other = now == BENCH_NEAR ? BENCH_FAR : BENCH_NEAR;
    bool ran = false;
    size_t wi;

    *other_lacking = false;
    for (wi = 0; wi < p->nworkloads; wi++) {
        if (extra[wi] == p->max_runs - p->reps)
            continue;
        if (fewest_runs(r, wi, now) < p->reps) {
            bench_run_round(r, wi, p->reps + extra[wi]++, &now);
            ran = true;
        } else if (fewest_runs(r, wi, other) < p->reps) {
            *other_lacking = true;
        }
    }
    return ran;
}

void bench_run_states(struct bench_results *r)
{
    const struct bench_plan *p = r->plan;
    unsigned *extra, probes = 0, rounds = 0; /* extra[wi]: its rounds */
    bool waiting = false;
    size_t wi;

    if (!p->states)
        return;
    extra = calloc(p->nworkloads ? p->nworkloads : 1, sizeof *extra);
    if (extra == NULL) {
        bench_note(r, true, "--states: out of memory");
        return;
    }
    for (;;) {
        double rtt = bench_cpu_round_trip();
        enum bench_state now = bench_state_of(rtt, rtt);
        const char *awaited =
            bench_state_name(now == BENCH_NEAR ? BENCH_FAR : BENCH_NEAR);
        bool lacking;

        if (now == BENCH_UNMEASURED) {
            bench_note(r, false,
                       "--states: cpu-rtt cannot be measured here, so the "
                       "states cannot be told apart");
            break;
        }
        if (run_lacking(r, extra, now, &lacking)) {
            waiting = false;
            continue;
        }
        if (!lacking)
            break;
        if (probes == p->state_probes) {
            bench_note(r, false,
                       "--states: the %s state did not come in %u probes "
                       "%u s apart",
                       awaited, probes, PROBE_GAP_S);
            break;
        }
        if (!waiting)
            fprintf(stderr,
                    "%sjobpool-bench: waiting for the %s state (cpu-rtt now "
                    "%.0f ns); at most %u more probe%s, %u s apart\n",
                    isatty(STDERR_FILENO) ? "\r\033[K" : "", awaited, rtt,
                    p->state_probes - probes,
                    p->state_probes - probes == 1 ? "" : "s", PROBE_GAP_S);
        waiting = true;
        probes++;
        (void)sleep(PROBE_GAP_S);
    }

    for (wi = 0; wi < p->nworkloads; wi++)
        rounds += extra[wi];
    bench_note(r, false, "--states: %u extra rounds, %u waits of %u s", rounds,
               probes, PROBE_GAP_S);
    for (wi = 0; wi < p->nworkloads; wi++) {
        unsigned near = fewest_runs(r, wi, BENCH_NEAR);
        unsigned far = fewest_runs(r, wi, BENCH_FAR);

        if (near < p->reps || far < p->reps)
            bench_note(r, false,
                       "--states: %s has, for its pair with the fewest, %u "
                       "near and %u far runs of the %u asked for",
                       p->workloads[wi]->name, near, far, p->reps);
    }
    free(extra);
}
