/* SPDX-License-Identifier: MIT */
/*
 * Peer: GLib's GThreadPool.
 *
 * Created exclusive with max_threads = N, so GLib starts all N threads at
 * once and shares none of them with other pools.  GThreadPool runs one
 * function per pool, which is why the adapter interface fixes the job
 * function at create: each task is the job's ctx itself.  Freeing with
 * immediate = FALSE and wait = TRUE runs every queued task before it
 * returns.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

struct glib_peer {
    GThreadPool *pool;
    bench_job_fn fn; /* fixed at create */
};

static void glib_task(gpointer data, gpointer user_data)
{
    struct glib_peer *p = user_data;

    p->fn(data);
}

static int glib_create(void **out, unsigned threads, bench_job_fn fn)
{
    struct glib_peer *p;
    GError *error = NULL;

    p = malloc(sizeof *p);
    if (p == NULL)
        return ENOMEM;
    p->fn = fn;
    p->pool = g_thread_pool_new(glib_task, p, (gint)threads, TRUE, &error);
    if (p->pool == NULL) {
        fprintf(stderr, "jobpool-bench: g_thread_pool_new: %s\n",
                error != NULL ? error->message : "failed");
        g_clear_error(&error);
        free(p);
        return EAGAIN;
    }
    *out = p;
    return 0;
}

static int glib_submit(void *pool, void *ctx)
{
    struct glib_peer *p = pool;

    return g_thread_pool_push(p->pool, ctx, NULL) ? 0 : EAGAIN;
}

static int glib_finish(void *pool)
{
    struct glib_peer *p = pool;

    g_thread_pool_free(p->pool, FALSE, TRUE);
    free(p);
    return 0;
}

const struct bench_peer bench_peer_glib = {
    .name = "glib",
    .what = "GLib GThreadPool, exclusive, max_threads = N",
    .multi_producer = true,
    .create = glib_create,
    .submit = glib_submit,
    .finish = glib_finish,
};
