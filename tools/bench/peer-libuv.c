/* SPDX-License-Identifier: MIT */
/*
 * Peer: libuv's thread pool, through uv_queue_work().
 *
 * libuv's pool is process-wide and is sized once, from UV_THREADPOOL_SIZE,
 * when the process first queues work; create() therefore sets that variable
 * (this runs in a fresh child process, before anything touches libuv) and
 * queues one empty request so the N threads exist before timing starts,
 * as the other peers' threads do.
 *
 * uv_queue_work() may only be called from the loop's thread, so this peer
 * is single-producer: the producer is the loop thread, and finish() drains
 * with uv_run(), which returns once every request's after-work callback has
 * run.  Each job needs its own uv_work_t (128 bytes on x86-64), which the
 * caller owns: submit mallocs it and the after-work callback frees it, as a
 * libuv program without a per-job object of its own would.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

struct libuv_peer {
    uv_loop_t loop;  /* loop.data points back here */
    bench_job_fn fn; /* fixed at create */
};

static void libuv_work(uv_work_t *req)
{
    struct libuv_peer *p = req->loop->data;

    p->fn(req->data);
}

static void libuv_after(uv_work_t *req, int status)
{
    (void)status; /* only UV_ECANCELED, and nothing is cancelled */
    free(req);
}

static void libuv_nothing(uv_work_t *req)
{
    (void)req;
}

static void libuv_warm_done(uv_work_t *req, int status)
{
    (void)req;
    (void)status;
}

static int libuv_create(void **out, unsigned threads, bench_job_fn fn)
{
    struct libuv_peer *p;
    uv_work_t warm;
    char size[16];
    int rc;

    (void)snprintf(size, sizeof size, "%u", threads);
    if (setenv("UV_THREADPOOL_SIZE", size, 1) != 0)
        return errno;

    p = malloc(sizeof *p);
    if (p == NULL)
        return ENOMEM;
    rc = uv_loop_init(&p->loop);
    if (rc != 0)
        goto fail_loop;
    p->loop.data = p;
    p->fn = fn;

    rc = uv_queue_work(&p->loop, &warm, libuv_nothing, libuv_warm_done);
    if (rc != 0) {
        fprintf(stderr, "jobpool-bench: uv_queue_work: %s\n", uv_strerror(rc));
        goto fail_warm;
    }
    /* Returns once the request's callbacks have run: nothing else is
     * active on this loop. */
    (void)uv_run(&p->loop, UV_RUN_DEFAULT);
    *out = p;
    return 0;

fail_warm:
    (void)uv_loop_close(&p->loop);
fail_loop:
    free(p);
    return EAGAIN;
}

static int libuv_submit(void *pool, void *ctx)
{
    struct libuv_peer *p = pool;
    uv_work_t *req = malloc(sizeof *req);
    int rc;

    if (req == NULL)
        return ENOMEM;
    req->data = ctx;
    rc = uv_queue_work(&p->loop, req, libuv_work, libuv_after);
    if (rc != 0) {
        free(req);
        return EAGAIN;
    }
    return 0;
}

static int libuv_finish(void *pool)
{
    struct libuv_peer *p = pool;
    int rc;

    (void)uv_run(&p->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&p->loop);
    if (rc != 0) {
        /* Something is still active: the loop, and p with it, must stay. */
        fprintf(stderr, "jobpool-bench: uv_loop_close: %s\n", uv_strerror(rc));
        return 1;
    }
    free(p);
    return 0;
}

const struct bench_peer bench_peer_libuv = {
    .name = "libuv",
    .what = "libuv uv_queue_work from the loop thread, drained by uv_run",
    .multi_producer = false,
    .create = libuv_create,
    .submit = libuv_submit,
    .finish = libuv_finish,
};
