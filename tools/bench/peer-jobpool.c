/* SPDX-License-Identifier: MIT */
/*
 * Peer: jobpool itself, through its public API only.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <jobpool.h>
#include <stdlib.h>

struct jobpool_peer {
    job_pool *pool;
    bench_job_fn fn;
};

static int jobpool_create(void **out, unsigned threads, bench_job_fn fn)
{
    struct jobpool_peer *p;
    job_pool_options opts;
    int rc;

    p = malloc(sizeof *p);
    if (p == NULL)
        return ENOMEM;
    job_pool_options_init(&opts);
    opts.threads = threads;
    opts.name = "bench";
    rc = job_pool_create(&p->pool, &opts);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p->fn = fn;
    *out = p;
    return 0;
}

static int jobpool_submit(void *pool, void *ctx)
{
    struct jobpool_peer *p = pool;

    return job_submit_detached(p->pool, p->fn, ctx);
}

/* job_pool_destroy() shuts down first, which runs every accepted job. */
static int jobpool_finish(void *pool)
{
    struct jobpool_peer *p = pool;
    int rc = job_pool_destroy(p->pool);

    free(p);
    return rc;
}

const struct bench_peer bench_peer_jobpool = {
    .name = "jobpool",
    .what = "this library",
    .multi_producer = true,
    .create = jobpool_create,
    .submit = jobpool_submit,
    .finish = jobpool_finish,
};
