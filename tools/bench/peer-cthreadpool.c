/* SPDX-License-Identifier: MIT */
/*
 * Peer: C-Thread-Pool (Pithikos/C-Thread-Pool), compiled into this binary
 * from the thpool.c that configure found (see thpool-unit.c).
 *
 * thpool_destroy() alone stops the workers at once and drops queued jobs,
 * so finish() calls thpool_wait() first.  The library keeps its run flag in
 * a global, which is harmless here: each child process makes one pool.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <thpool.h>

struct cthreadpool_peer {
    threadpool pool;
    bench_job_fn fn; /* fixed at create */
};

static int cthreadpool_create(void **out, unsigned threads, bench_job_fn fn)
{
    struct cthreadpool_peer *p;

    p = malloc(sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->fn = fn;
    p->pool = thpool_init((int)threads);
    if (p->pool == NULL) {
        free(p);
        return EAGAIN;
    }
    *out = p;
    return 0;
}

static int cthreadpool_submit(void *pool, void *ctx)
{
    struct cthreadpool_peer *p = pool;

    return thpool_add_work(p->pool, p->fn, ctx) == 0 ? 0 : ENOMEM;
}

static int cthreadpool_finish(void *pool)
{
    struct cthreadpool_peer *p = pool;

    thpool_wait(p->pool);
    thpool_destroy(p->pool);
    free(p);
    return 0;
}

const struct bench_peer bench_peer_cthreadpool = {
    .name = "cthreadpool",
    .what = "C-Thread-Pool (thpool.c); thpool_wait, then thpool_destroy",
    .multi_producer = true,
    .create = cthreadpool_create,
    .submit = cthreadpool_submit,
    .finish = cthreadpool_finish,
};
