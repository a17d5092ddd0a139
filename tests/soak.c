/* SPDX-License-Identifier: MIT */
/*
 * soak: runs for a given time with random bursts, random job lengths and
 * pools coming and going, and checks that every accepted job ran, that no
 * refused one did, and that memory and the thread count stay flat.
 *
 *   jobpool-soak [seconds]      (make soak SOAK_SECONDS=600)
 *
 * Each epoch creates a few pools, lets producer threads throw bursts at
 * them, and shuts them down while the producers may still be submitting.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <jobpool.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_POOLS 3
#define MAX_PRODUCERS 4

struct tally {
    atomic_ulong accepted, refused, executed, wrong;
};

struct epoch {
    job_pool *pools[MAX_POOLS];
    struct tally tally[MAX_POOLS];
    unsigned npools;
    atomic_bool stop;
};

struct job {
    struct tally *tally;
    unsigned kind; /* 0 empty, 1 short spin, 2 short sleep */
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_job(void *ctx)
{
    struct job *j = ctx;

    if (j->kind == 1) {
        double until = now() + 20e-6;
        while (now() < until)
            ;
    } else if (j->kind == 2) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&j->tally->executed, 1);
    free(j);
}

static void *produce(void *arg)
{
    struct epoch *e = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed ^ (unsigned)time(NULL);

    while (!atomic_load(&e->stop)) {
        unsigned p = (unsigned)rand_r(&seed) % e->npools;
        unsigned burst = 1 + (unsigned)rand_r(&seed) % 500;
        job_pool_stats s;

        /* Keep the backlog bounded: the soak is about churn, not about
         * how much memory a runaway producer can fill. */
        if (job_pool_get_stats(e->pools[p], &s) == 0 && s.queued > 20000) {
            sched_yield();
            continue;
        }

        for (unsigned i = 0; i < burst; i++) {
            struct job *j = malloc(sizeof *j);
            int rc;

            if (j == NULL)
                abort();
            j->tally = &e->tally[p];
            j->kind = (unsigned)rand_r(&seed) % 100 < 98 ? 0
                      : rand_r(&seed) % 2                ? 1
                                                         : 2;
            rc = job_submit_detached(e->pools[p], run_job, j);
            if (rc == 0) {
                atomic_fetch_add(&e->tally[p].accepted, 1);
            } else {
                /* A refused job stays ours: free it here. */
                free(j);
                if (rc == ESHUTDOWN)
                    atomic_fetch_add(&e->tally[p].refused, 1);
                else
                    atomic_fetch_add(&e->tally[p].wrong, 1);
            }
        }
        if (rand_r(&seed) % 8 == 0) {
            struct timespec gap = {0, (rand_r(&seed) % 300) * 1000};
            nanosleep(&gap, NULL);
        }
    }
    return NULL;
}

static unsigned count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *ent;
    unsigned n = 0;

    while (d != NULL && (ent = readdir(d)) != NULL)
        n += ent->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* One epoch; returns the number of failures found. */
static int run_epoch(unsigned seed, unsigned long *jobs)
{
    struct epoch e = {.npools = 1 + seed % MAX_POOLS};
    pthread_t producers[MAX_PRODUCERS];
    unsigned nproducers = 1 + (seed / 3) % MAX_PRODUCERS;
    struct timespec run = {0, 50000000 + (long)(seed % 200) * 1000000};
    int failures = 0;

    for (unsigned p = 0; p < e.npools; p++) {
        job_pool_options opts;

        job_pool_options_init(&opts);
        opts.threads = 1 + (seed + p) % 6;
        if (job_pool_create(&e.pools[p], &opts) != 0)
            return 1;
    }
    for (unsigned i = 0; i < nproducers; i++)
        if (pthread_create(&producers[i], NULL, produce, &e) != 0)
            abort();
    nanosleep(&run, NULL);
    if (seed % 2 == 0) {
        /* Shut down while the producers are still submitting. */
        for (unsigned p = 0; p < e.npools; p++)
            job_pool_shutdown(e.pools[p]);
        atomic_store(&e.stop, true);
        for (unsigned i = 0; i < nproducers; i++)
            pthread_join(producers[i], NULL);
    } else {
        /* Stop the producers, wait for an idle pool, then shut down.
         * (wait_idle under a never-ending stream would wait for an idle
         * instant that may never come.) */
        atomic_store(&e.stop, true);
        for (unsigned i = 0; i < nproducers; i++)
            pthread_join(producers[i], NULL);
        job_pool_wait_idle(e.pools[0]);
        for (unsigned p = 0; p < e.npools; p++)
            job_pool_shutdown(e.pools[p]);
    }

    for (unsigned p = 0; p < e.npools; p++) {
        struct tally *t = &e.tally[p];
        job_pool_stats s;

        job_pool_get_stats(e.pools[p], &s);
        if (atomic_load(&t->executed) != atomic_load(&t->accepted) ||
            s.submitted != atomic_load(&t->accepted) ||
            s.rejected != atomic_load(&t->refused) ||
            atomic_load(&t->wrong) != 0) {
            fprintf(stderr,
                    "soak: pool %u: accepted %lu executed %lu refused %lu "
                    "(stats: submitted %llu rejected %llu) wrong errors %lu\n",
                    p, atomic_load(&t->accepted), atomic_load(&t->executed),
                    atomic_load(&t->refused), (unsigned long long)s.submitted,
                    (unsigned long long)s.rejected, atomic_load(&t->wrong));
            failures++;
        }
        *jobs += atomic_load(&t->executed);
        job_pool_destroy(e.pools[p]);
    }
    return failures;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 60;
    double start = now(), last_report = start;
    unsigned threads_before = count_threads();
    long rss_baseline = 0, rss_peak = 0;
    unsigned long jobs = 0, epochs = 0;
    int failures = 0;

    while (now() - start < seconds) {
        failures += run_epoch((unsigned)(epochs * 2654435761u) >> 7, &jobs);
        epochs++;
        if (count_threads() != threads_before) {
            fprintf(stderr, "soak: %u threads after epoch %lu, %u before\n",
                    count_threads(), epochs, threads_before);
            failures++;
        }
        /* Memory: the first epochs warm the allocator up; after that the
         * resident size must stay within a margin of that level. */
        if (epochs == 5)
            rss_baseline = rss_kib();
        if (epochs > 5 && rss_kib() > rss_peak)
            rss_peak = rss_kib();
        if (now() - last_report >= 10) {
            printf("soak: %.0f s, %lu epochs, %lu jobs, rss %ld KiB\n",
                   now() - start, epochs, jobs, rss_kib());
            fflush(stdout);
            last_report = now();
        }
    }
    if (rss_baseline > 0 && rss_peak > rss_baseline + 16384) {
        fprintf(stderr, "soak: resident size grew from %ld to %ld KiB\n",
                rss_baseline, rss_peak);
        failures++;
    }
    printf("soak: %lu epochs, %lu jobs in %.0f s, rss %ld -> %ld KiB, "
           "threads %u -> %u: %s\n",
           epochs, jobs, now() - start, rss_baseline, rss_peak, threads_before,
           count_threads(), failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
