/* SPDX-License-Identifier: MIT */
/*
 * Variants: jobpool's lanes, through its public API only.  Not peers: they
 * are jobpool itself, each job submitted with job_submit_lane() into one
 * lane of a pool created as the jobpool peer creates its pool, instead of
 * with job_submit_detached() into the pool.  The report sets each beside
 * jobpool (its ratio is lane / plain) and never counts it as the best
 * other peer; they run only the workloads that ask for variants.
 *
 * lane-w1 is a serial queue: its jobs run one at a time in the order they
 * were accepted, so the pool's workers but one stay idle, and each job
 * passes through the pool once on its own (a token, see lib/lane.c).
 * lane-w2 lets two run at once.
 *
 * No other peer has a serial queue inside a shared pool to set beside
 * these: GLib's GThreadPool, libuv's work queue and C-Thread-Pool are
 * serial only as a pool of one thread of its own, and oneTBB's
 * task_arena has no FIFO of limited width (its flow graph's serial nodes
 * are another API, and no peer here uses it).  libdispatch, whose serial
 * queues are what lanes resemble, has no package in Debian 12.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <jobpool.h>
#include <stdlib.h>

struct lane_peer {
    job_pool *pool;
    job_lane *lane;
    bench_job_fn fn;
};

static int lane_create(void **out, unsigned threads, bench_job_fn fn,
                       unsigned width)
{
    struct lane_peer *p;
    job_pool_options opts;
    job_lane_options lopts;
    int rc;

    p = malloc(sizeof *p);
    if (p == NULL)
        return ENOMEM;
    job_pool_options_init(&opts);
    opts.threads = threads;
    opts.name = "bench";
    rc = job_pool_create(&p->pool, &opts);
    if (rc != 0)
        goto fail_pool;
    job_lane_options_init(&lopts);
    lopts.width = width;
    rc = job_lane_create(p->pool, &p->lane, &lopts);
    if (rc != 0)
        goto fail_lane;
    p->fn = fn;
    *out = p;
    return 0;

fail_lane:
    (void)job_pool_destroy(p->pool);
fail_pool:
    free(p);
    return rc;
}

static int lane_create_w1(void **out, unsigned threads, bench_job_fn fn)
{
    return lane_create(out, threads, fn, 1);
}

static int lane_create_w2(void **out, unsigned threads, bench_job_fn fn)
{
    return lane_create(out, threads, fn, 2);
}

static int lane_submit(void *pool, void *ctx)
{
    struct lane_peer *p = pool;

    return job_submit_lane(p->lane, p->fn, ctx);
}

/* job_lane_destroy() returns once every job of the lane has; the pool's
 * destroy then stops the workers, as the jobpool peer's finish does. */
static int lane_finish(void *pool)
{
    struct lane_peer *p = pool;
    int rc = job_lane_destroy(p->lane);
    int rc2 = job_pool_destroy(p->pool);

    free(p);
    return rc != 0 ? rc : rc2;
}

const struct bench_peer bench_peer_lane_w1 = {
    .name = "lane-w1",
    .what = "jobpool: job_submit_lane into one lane of width 1",
    .multi_producer = true,
    .variant = true,
    .create = lane_create_w1,
    .submit = lane_submit,
    .finish = lane_finish,
};

const struct bench_peer bench_peer_lane_w2 = {
    .name = "lane-w2",
    .what = "jobpool: job_submit_lane into one lane of width 2",
    .multi_producer = true,
    .variant = true,
    .create = lane_create_w2,
    .submit = lane_submit,
    .finish = lane_finish,
};
