/* SPDX-License-Identifier: MIT */
/*
 * The parent's loop and the child's entry point.
 *
 * Every repetition of every workload x peer pair runs in a fresh process:
 * the parent executes itself as "SELF --child PEER WORKLOAD --threads N
 * [--quick]" and reads the child's "metric NAME VALUE" lines from a pipe.
 * Within a workload, each round runs every peer once, starting one peer
 * later each round, so that drift in the machine (other builds, thermal
 * limits) falls on all peers alike instead of on whichever ran last.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that runs longer than this is killed by SIGALRM. */
#define CHILD_LIMIT_S 600u

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

        r->cells[i].values = calloc(p->reps * w->nmetrics, sizeof(double));
        if (r->cells[i].values == NULL)
            return ENOMEM; /* bench_results_free() copes */
    }
    return 0;
}

void bench_results_free(struct bench_results *r)
{
    size_t i;

    if (r->cells != NULL) {
        for (i = 0; i < r->plan->nworkloads * r->plan->npeers; i++)
            free(r->cells[i].values);
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

/* Starts a child with its stdout on a pipe; returns its pid or -1. */
static pid_t spawn(const struct bench_plan *p, const char *peer,
                   const char *workload, int *out_fd)
{
    char threads[16];
    char *argv[9];
    int fds[2], argc = 0;
    pid_t pid;

    (void)snprintf(threads, sizeof threads, "%u", p->threads);
    argv[argc++] = (char *)p->self_path;
    argv[argc++] = "--child";
    argv[argc++] = (char *)peer;
    argv[argc++] = (char *)workload;
    argv[argc++] = "--threads";
    argv[argc++] = threads;
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

/* Stores one child's metrics as repetition cell->runs.  Returns false if
 * a line is malformed or a metric is missing. */
static bool parse_metrics(const struct bench_workload *w,
                          struct bench_cell *cell, char *text)
{
    double *row = cell->values + (size_t)cell->runs * w->nmetrics;
    size_t i, seen = 0;
    char *line, *save = NULL, name[64];
    double value;

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (sscanf(line, "metric %63s %lf", name, &value) != 2)
            return false;
        for (i = 0; i < w->nmetrics; i++) {
            if (strcmp(w->metrics[i].name, name) == 0)
                break;
        }
        if (i == w->nmetrics)
            return false;
        row[i] = value;
        seen |= (size_t)1 << i;
    }
    if (seen != ((size_t)1 << w->nmetrics) - 1)
        return false;
    cell->runs++;
    return true;
}

/* Runs one repetition of one pair and records its result or failure. */
static void run_one(struct bench_results *r, size_t wi, size_t pi)
{
    const struct bench_plan *p = r->plan;
    const struct bench_workload *w = p->workloads[wi];
    const char *peer = p->peers[pi]->name;
    struct bench_cell *cell = bench_cell(r, wi, pi);
    int fd, status;
    char *text;
    pid_t pid, waited;

    pid = spawn(p, peer, w->name, &fd);
    if (pid < 0) {
        bench_note(r, true, "%s on %s: cannot start a child: %s", w->name, peer,
                   strerror(errno));
        return;
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
        return;
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
    } else if (text == NULL || !parse_metrics(w, cell, text)) {
        bench_note(r, true, "%s on %s: child's output is incomplete", w->name,
                   peer);
    }
    free(text);
}

static void progress(unsigned done, unsigned total, const char *workload,
                     const char *peer, unsigned round, unsigned rounds)
{
    if (!isatty(STDERR_FILENO))
        return;
    if (done == total) {
        fprintf(stderr, "\r%-72s\r", "");
        return;
    }
    fprintf(stderr, "\r[%3u/%u] %-16s %-12s round %u/%u   ", done + 1, total,
            workload, peer, round + 1, rounds);
}

void bench_run_plan(struct bench_results *r)
{
    const struct bench_plan *p = r->plan;
    unsigned total = 0, done = 0, round;
    size_t wi, pi, k;

    for (wi = 0; wi < p->nworkloads; wi++) {
        for (pi = 0; pi < p->npeers; pi++) {
            if (p->workloads[wi]->producers > 1 &&
                !p->peers[pi]->multi_producer) {
                bench_cell(r, wi, pi)->skipped = true;
                bench_note(r, false,
                           "%s: %s skipped: its submit works only from one "
                           "thread",
                           p->peers[pi]->name, p->workloads[wi]->name);
            } else {
                total += p->reps;
            }
        }
    }

    for (wi = 0; wi < p->nworkloads; wi++) {
        for (round = 0; round < p->reps; round++) {
            for (k = 0; k < p->npeers; k++) {
                pi = (k + round) % p->npeers;
                if (bench_cell(r, wi, pi)->skipped)
                    continue;
                progress(done, total, p->workloads[wi]->name,
                         p->peers[pi]->name, round, p->reps);
                run_one(r, wi, pi);
                done++;
            }
        }
    }
    progress(total, total, "", "", 0, 0);
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
    if (w->run(w, peer->peer, params) != 0)
        return bench_jobs_lost() ? BENCH_EXIT_LOST : 1;
    return fflush(stdout) == 0 ? 0 : 1;
}
