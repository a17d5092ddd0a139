/* SPDX-License-Identifier: MIT */
/*
 * The parent's loop and the child's entry point.
 *
 * Every repetition of every workload x peer pair runs in a fresh process:
 * the parent executes itself as "SELF --child PEER WORKLOAD --threads N
 * [--jobs N] [--quick]" and reads the child's "metric NAME VALUE" lines
 * from a pipe.  Within a workload, each round runs every peer once,
 * starting one peer later each round, so that drift in the machine (other
 * builds, thermal limits, its near and far states) falls on all peers
 * alike instead of on whichever ran last.
 *
 * Sizing: a run is recorded only if its timed part lasted at least
 * BENCH_TIMED_MIN_MS.  Each pair keeps the job count its next run asks
 * for, 0 at first (the workload's own guess).  A run that timed less is
 * discarded and run again at once with the count scaled to last
 * BENCH_TIMED_AIM_MS; a recorded run that lasted more than twice
 * that (the machine became slower) scales the count down for the next
 * repetition.  So the fastest pool runs the most jobs, and every pool's
 * figure comes from at least 200 ms of work.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that runs longer than this is killed by SIGALRM. */
#define CHILD_LIMIT_S 600u
/* Runs of one repetition, the recorded one included, before a run that
 * still times too little is recorded with a note. */
#define SIZING_TRIES 6u
/* Job counts the parent asks for: a backlog of JOBS_MAX jobs is 1 GiB at
 * 16 bytes a job. */
#define JOBS_MIN 1000u
#define JOBS_MAX 64000000u

int bench_results_init(struct bench_results *r, const struct bench_plan *p)
{
    size_t i, n = p->nworkloads * p->npeers;

    memset(r, 0, sizeof *r);
    r->plan = p;
    r->cells = calloc(n ? n : 1, sizeof *r->cells);
    if (r->cells == NULL)
        return ENOMEM;
    for (i = 0; i < n; i++) {
        const struct bench_workload *w = p->workloads[i / p->npeers];

        r->cells[i].values =
            calloc((size_t)p->max_runs * bench_nmetrics(w), sizeof(double));
        r->cells[i].states = calloc(p->max_runs, sizeof *r->cells[i].states);
        if (r->cells[i].values == NULL || r->cells[i].states == NULL)
            return ENOMEM; /* bench_results_free() copes */
    }
    return 0;
}

void bench_results_free(struct bench_results *r)
{
    size_t i;

    if (r->cells != NULL) {
        for (i = 0; i < r->plan->nworkloads * r->plan->npeers; i++) {
            free(r->cells[i].values);
            free(r->cells[i].states);
        }
    }
    free(r->cells);
    for (i = 0; i < r->nnotes; i++)
        free(r->notes[i]);
    free(r->notes);
    for (i = 0; i < r->nfailures; i++)
        free(r->failures[i]);
    free(r->failures);
}

/* Records a note or a failure; out of memory, it goes to stderr only. */
void bench_note(struct bench_results *r, bool failure, const char *fmt, ...)
{
    char ***list = failure ? &r->failures : &r->notes;
    size_t *n = failure ? &r->nfailures : &r->nnotes;
    char **grown, *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    grown = text ? realloc(*list, (*n + 1) * sizeof **list) : NULL;
    if (grown == NULL) {
        fprintf(stderr, "jobpool-bench: %s\n", text ? text : fmt);
        free(text);
        if (failure) /* still counted, so the exit status is right */
            r->nfailures++;
        return;
    }
    grown[(*n)++] = text;
    *list = grown;
}

struct bench_cell *bench_cell(struct bench_results *r, size_t workload,
                              size_t peer)
{
    return &r->cells[workload * r->plan->npeers + peer];
}

unsigned bench_cell_runs_in(const struct bench_results *r, size_t wi, size_t pi,
                            enum bench_state s)
{
    const struct bench_cell *cell = &r->cells[wi * r->plan->npeers + pi];
    unsigned i, n = 0;

    for (i = 0; i < cell->runs; i++)
        n += cell->states[i] == s;
    return n;
}

/* Starts a child with its stdout on a pipe; returns its pid or -1. */
static pid_t spawn(const struct bench_plan *p, const char *peer,
                   const struct bench_workload *w, uint64_t jobs, int *out_fd)
{
    char threads[16], count[24];
    char *argv[11];
    int fds[2], argc = 0;
    pid_t pid;

    (void)snprintf(threads, sizeof threads, "%u",
                   w->workers ? w->workers : p->threads);
    (void)snprintf(count, sizeof count, "%" PRIu64, jobs);
    argv[argc++] = (char *)p->self_path;
    argv[argc++] = "--child";
    argv[argc++] = (char *)peer;
    argv[argc++] = (char *)w->name;
    argv[argc++] = "--threads";
    argv[argc++] = threads;
    if (jobs != 0) {
        argv[argc++] = "--jobs";
        argv[argc++] = count;
    }
    if (p->quick)
        argv[argc++] = "--quick";
    argv[argc] = NULL;

    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        if (dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(127);
        (void)close(fds[0]);
        (void)close(fds[1]);
        execv(p->self_path, argv);
        fprintf(stderr, "jobpool-bench: cannot run %s: %s\n", p->self_path,
                strerror(errno));
        _exit(127);
    }
    (void)close(fds[1]);
    if (pid < 0) {
        (void)close(fds[0]);
        return -1;
    }
    *out_fd = fds[0];
    return pid;
}

/* Reads all of fd into a NUL-terminated buffer the caller frees. */
static char *slurp(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap), *grown;

    while (buf != NULL) {
        ssize_t got;

        if (cap - len < 1024) {
            grown = realloc(buf, cap *= 2);
            if (grown == NULL)
                break;
            buf = grown;
        }
        got = read(fd, buf + len, cap - len - 1);
        if (got > 0) {
            len += (size_t)got;
        } else if (got == 0 || errno != EINTR) {
            buf[len] = '\0';
            return buf;
        }
    }
    free(buf);
    return NULL;
}

/* Stores one child's metrics in row[bench_nmetrics(w)].  Returns false if
 * a line is malformed or a metric is missing. */
static bool parse_metrics(const struct bench_workload *w, double *row,
                          char *text)
{
    size_t i, n = bench_nmetrics(w);
    uint64_t seen = 0;
    char *line, *save = NULL, name[64];
    double value;

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (sscanf(line, "metric %63s %lf", name, &value) != 2)
            return false;
        for (i = 0; i < n; i++) {
            if (strcmp(bench_metric_at(w, i)->name, name) == 0)
                break;
        }
        if (i == n)
            return false;
        row[i] = value;
        seen |= (uint64_t)1 << i;
    }
    return seen == ((uint64_t)1 << n) - 1;
}

/* Runs one child of one pair into row; returns false, after recording
 * the failure, if it produced no complete row. */
static bool run_child(struct bench_results *r, size_t wi, size_t pi,
                      double *row)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    const char *peer = p->peers[pi]->name;
    struct bench_cell *cell = bench_cell(r, wi, pi);
    bool ok = false;
    int fd, status;
    char *text;
    pid_t pid, waited;

    r->children++;
    pid = spawn(p, peer, w, cell->jobs, &fd);
    if (pid < 0) {
        bench_note(r, true, "%s on %s: cannot start a child: %s", w->name, peer,
                   strerror(errno));
        return false;
    }
    text = slurp(fd);
    (void)close(fd);
    do
        waited = waitpid(pid, &status, 0);
    while (waited < 0 && errno == EINTR);
    if (waited < 0) {
        bench_note(r, true, "%s on %s: waitpid: %s", w->name, peer,
                   strerror(errno));
        free(text);
        return false;
    }

    if (WIFSIGNALED(status)) {
        bench_note(r, true, "%s on %s: child killed by signal %d (%s)%s",
                   w->name, peer, WTERMSIG(status), strsignal(WTERMSIG(status)),
                   WTERMSIG(status) == SIGALRM ? ", time limit" : "");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == BENCH_EXIT_LOST) {
        bench_note(r, true,
                   "%s on %s: *** LOST JOBS ***: jobs run != jobs submitted",
                   w->name, peer);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        bench_note(r, true, "%s on %s: child failed (exit status %d)", w->name,
                   peer, WEXITSTATUS(status));
    } else if (text == NULL || !parse_metrics(w, row, text)) {
        bench_note(r, true, "%s on %s: child's output is incomplete", w->name,
                   peer);
    } else {
        ok = true;
    }
    free(text);
    return ok;
}

/* The job count that makes a run that timed timed_ms with jobs jobs last
 * BENCH_TIMED_AIM_MS, rounded up to two significant digits, within
 * JOBS_MIN .. JOBS_MAX. */
static uint64_t resize(double jobs, double timed_ms)
{
    double want =
        jobs * BENCH_TIMED_AIM_MS / (timed_ms > 0.01 ? timed_ms : 0.01);
    uint64_t n, unit = 1;

    want = want < JOBS_MIN ? JOBS_MIN : want > JOBS_MAX ? JOBS_MAX : want;
    n = (uint64_t)want;
    while (n / unit >= 100)
        unit *= 10;
    return (n + unit - 1) / unit * unit;
}

/* Shows what runs now on a terminal; with peer NULL, clears the line. */
static void progress(const struct bench_results *r, size_t wi, const char *peer,
                     unsigned round, const char *why)
{
    if (!isatty(STDERR_FILENO))
        return;
    if (peer == NULL) {
        fprintf(stderr, "\r%-78s\r", "");
        return;
    }
    fprintf(stderr, "\r[%4u] %-16s %-12s round %-3u %-16s", r->children + 1,
            r->plan->workloads[wi]->name, peer, round + 1, why);
}

/* Runs one repetition of one pair, with as many sizing runs before it as
 * the 200 ms rule needs, and records it with its machine state. */
static void run_rep(struct bench_results *r, size_t wi, size_t pi,
                    unsigned round)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    struct bench_cell *cell = bench_cell(r, wi, pi);
    const size_t nm = w->nmetrics;
    double *row, timed, jobs;
    unsigned tries;

    if (cell->runs == p->max_runs)
        return;
    row = cell->values + (size_t)cell->runs * bench_nmetrics(w);
    for (tries = 1;; tries++) {
        progress(r, wi, p->peers[pi]->name, round, tries > 1 ? "(sizing)" : "");
        if (!run_child(r, wi, pi, row))
            return;
        timed = row[nm + BENCH_RUN_TIMED];
        jobs = row[nm + BENCH_RUN_JOBS];
        if (timed >= BENCH_TIMED_MIN_MS)
            break;
        if (!w->sized || jobs >= JOBS_MAX || tries == SIZING_TRIES) {
            bench_note(r, false,
                       "%s on %s: a run timed %.0f ms of work, under %.0f ms "
                       "(%s); recorded",
                       w->name, p->peers[pi]->name, timed, BENCH_TIMED_MIN_MS,
                       !w->sized          ? "its counts are fixed"
                       : jobs >= JOBS_MAX ? "the job count is at its cap"
                                          : "after every sizing try");
            break;
        }
        cell->jobs = resize(jobs, timed);
        r->resized++;
    }
    if (w->sized && timed > 2 * BENCH_TIMED_AIM_MS)
        cell->jobs = resize(jobs, timed);
    cell->states[cell->runs] =
        bench_state_of(row[nm + BENCH_RUN_RTT], row[nm + BENCH_RUN_RTT_AFTER]);
    cell->runs++;
}

void bench_run_round(struct bench_results *r, size_t wi, unsigned round,
                     const enum bench_state *lacking)
{
    const struct bench_plan *p = r->plan;
    size_t k;

    for (k = 0; k < p->npeers; k++) {
        size_t pi = (k + round) % p->npeers;

        if (bench_cell(r, wi, pi)->skipped)
            continue;
        if (lacking != NULL &&
            bench_cell_runs_in(r, wi, pi, *lacking) >= p->reps)
            continue;
        run_rep(r, wi, pi, round);
    }
}

void bench_run_plan(struct bench_results *r)
{
    const struct bench_plan *p = r->plan;
    uint64_t t0 = bench_now_ns();
    unsigned round;
    size_t wi, pi;

    for (wi = 0; wi < p->nworkloads; wi++) {
        for (pi = 0; pi < p->npeers; pi++) {
            /* The lanes run only where they are asked to: not a note. */
            if (p->peers[pi]->variant && !p->workloads[wi]->variants)
                bench_cell(r, wi, pi)->skipped = true;
            else if (p->workloads[wi]->producers > 1 &&
                     !p->peers[pi]->multi_producer) {
                bench_cell(r, wi, pi)->skipped = true;
                bench_note(r, false,
                           "%s: %s skipped: its submit works only from one "
                           "thread",
                           p->peers[pi]->name, p->workloads[wi]->name);
            }
        }
    }

    for (wi = 0; wi < p->nworkloads; wi++) {
        for (round = 0; round < p->reps; round++)
            bench_run_round(r, wi, round, NULL);
    }
    bench_run_states(r);
    progress(r, 0, NULL, 0, "");
    r->wall_ns = bench_now_ns() - t0;
}

int bench_child(const char *peer_name, const char *workload_name,
                const struct bench_params *params)
{
    const struct bench_peer_entry *peer = bench_find_peer(peer_name);
    const struct bench_workload *w = bench_find_workload(workload_name);

    if (peer == NULL || peer->peer == NULL || w == NULL) {
        fprintf(stderr, "jobpool-bench: --child: no peer %s or workload %s\n",
                peer_name, workload_name);
        return 2;
    }
    alarm(CHILD_LIMIT_S);
    bench_emit(bench_run_metrics[BENCH_RUN_RTT].name, bench_cpu_round_trip());
    if (w->run(w, peer->peer, params) != 0)
        return bench_jobs_lost() ? BENCH_EXIT_LOST : 1;
    bench_emit(bench_run_metrics[BENCH_RUN_RTT_AFTER].name,
               bench_cpu_round_trip());
    return fflush(stdout) == 0 ? 0 : 1;
}
