/* SPDX-License-Identifier: MIT */
/*
 * Peer: oneTBB, through a task_arena of its own.
 *
 * oneTBB is a work-stealing task scheduler rather than a job queue, but
 * task_arena::enqueue() is its fire-and-forget call: the job runs on one of
 * the arena's worker threads and the caller does not join the arena.  The
 * arena has N slots, none reserved for outside threads, so exactly N worker
 * threads run the jobs; a global_control lets oneTBB start N workers even
 * where its default (one per CPU, less the main thread) would start fewer.
 * Every job is deferred into one task_group, so finish() can wait for all
 * of them, and then it joins oneTBB's workers.  The waiting thread stays
 * outside the arena (a wait() inside it could take a slot and run jobs as
 * an N+1st worker).
 *
 * oneTBB starts its workers when work first arrives, so create() runs N
 * jobs that wait for each other: all N workers are up before timing starts,
 * as the other peers' are.
 */
#include "config.h"

/* bench.h is C, where bench_cell() may share its struct's name; in C++ the
 * function would hide the struct's constructor, which -Wshadow reports. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
extern "C" {
#include "bench.h"
}
#pragma GCC diagnostic pop

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <utility>

namespace
{

struct onetbb_peer {
    tbb::task_scheduler_handle sched; /* finish() joins the workers */
    tbb::global_control workers;      /* lets oneTBB run N workers */
    tbb::task_arena arena;            /* N slots, all for workers */
    tbb::task_group jobs;             /* every job, for finish() */
    bench_job_fn fn;                  /* fixed at create */

    onetbb_peer(unsigned threads, bench_job_fn job)
        : sched(tbb::attach{}),
          workers(tbb::global_control::max_allowed_parallelism,
                  threads + 1), /* the main thread counts as one */
          arena(static_cast<int>(threads), 0), fn(job)
    {
    }
};

/* Starts the arena's N workers: N jobs that each wait until all N run. */
int start_workers(onetbb_peer *p, unsigned threads)
{
    struct bench_latch started;
    unsigned queued = 0;

    if (bench_latch_init(&started) != 0)
        return EAGAIN;
    try {
        for (; queued < threads; queued++)
            p->arena.enqueue(p->jobs.defer([&started, threads] {
                bench_latch_add(&started, 1);
                bench_latch_wait(&started, threads);
            }));
    } catch (...) {
        /* Count the jobs that were never queued, so the others return. */
        bench_latch_add(&started, threads - queued);
        p->jobs.wait();
        bench_latch_destroy(&started);
        throw;
    }
    p->jobs.wait();
    bench_latch_destroy(&started);
    return 0;
}

int onetbb_create(void **out, unsigned threads, bench_job_fn fn)
{
    onetbb_peer *p = nullptr;

    try {
        p = new onetbb_peer(threads, fn);
        int rc = start_workers(p, threads);
        if (rc != 0) {
            delete p;
            return rc;
        }
    } catch (const std::bad_alloc &) {
        delete p;
        return ENOMEM;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "jobpool-bench: onetbb: %s\n", e.what());
        delete p;
        return EAGAIN;
    }
    *out = p;
    return 0;
}

int onetbb_submit(void *pool, void *ctx)
{
    onetbb_peer *p = static_cast<onetbb_peer *>(pool);

    try {
        p->arena.enqueue(p->jobs.defer([p, ctx] { p->fn(ctx); }));
    } catch (const std::exception &e) {
        /* defer() counts the job before it allocates it, and enqueue()
         * hands the task over before it can fail: after a throw the group
         * waits for a job that will never run, and finish() would hang.
         * The child process fails instead (the runner reports it). */
        std::fprintf(stderr, "jobpool-bench: onetbb: submit: %s\n", e.what());
        std::_Exit(1);
    }
    return 0;
}

int onetbb_finish(void *pool)
{
    onetbb_peer *p = static_cast<onetbb_peer *>(pool);

    bool ran_all = p->jobs.wait() == tbb::complete;
    tbb::task_scheduler_handle sched = std::move(p->sched);

    delete p;
    /* oneTBB keeps its worker threads after the arena is gone; finalize()
     * joins them, as the other peers' finish() joins theirs. */
    bool joined = tbb::finalize(sched, std::nothrow);
    return ran_all && joined ? 0 : EIO;
}

} // namespace

extern "C" const struct bench_peer bench_peer_onetbb = {
    "onetbb",
    "oneTBB task_arena::enqueue, N workers, one task_group to drain",
    true,
    onetbb_create,
    onetbb_submit,
    onetbb_finish,
    false,
};
