/* SPDX-License-Identifier: MIT */
/*
 * The lanes of jobpool-httpd: which requests may run beside which.
 *
 * /append: the lines a file receives must stay in the order the server
 * accepted their requests, whichever connections sent them, while the
 * other routes and other files go on in parallel.  So each file's appends
 * go through a width-1 lane, where each one starts after the one before it
 * has returned.  The lanes are a fixed table made at start, APPEND_LANES
 * of them, and a file's lane is its name's hash modulo the table's size:
 * no lane is made or freed per request or per file, and a client cannot
 * make the server allocate one by naming new files.  Two files whose names
 * hash alike share a lane, and their appends run one after the other
 * instead of side by side; that costs only parallelism, never order, and
 * with 64 lanes it is rare.
 *
 * /compress: CPU work that a burst of requests could spread over every
 * worker, leaving appends (blocked on the disk, mostly) none.  Its lane
 * lets at most compress_width of them run at once, half the workers by
 * default; the others wait in the lane, holding no worker.
 *
 * Nothing else here takes a lock: the table is written before the first
 * request and read by the loop thread only, and the lanes lock themselves.
 * The pool's shutdown runs every job the lanes accepted; lanes_close()
 * then destroys them, before the pool is destroyed.
 */
#include "config.h"

#include "lanes.h"

#include "server.h"

#include <string.h>

/* FNV-1a, 32 bits: enough to spread short names over the table. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s != '\0') {
        h ^= (unsigned char)*s++;
        h *= 16777619u;
    }
    return h;
}

int lanes_open(struct server_lanes *l, job_pool *pool, unsigned compress_width)
{
    job_lane_options opts;
    unsigned i;
    int rc;

    memset(l, 0, sizeof *l);
    if (compress_width == 0) {
        job_pool_stats st = {0};

        (void)job_pool_get_stats(pool, &st); /* fails only on NULL */
        compress_width = st.threads > 1 ? st.threads / 2 : 1;
    }
    job_lane_options_init(&opts); /* width 1, unbounded */
    for (i = 0; i < APPEND_LANES; i++) {
        if ((rc = job_lane_create(pool, &l->append[i], &opts)) != 0)
            goto fail;
    }
    opts.width = compress_width;
    if ((rc = job_lane_create(pool, &l->compress, &opts)) != 0)
        goto fail;
    l->compress_width = compress_width;
    return 0;

fail:
    lanes_close(l); /* none has a job yet */
    return rc;
}

void lanes_close(struct server_lanes *l)
{
    int rc;

    /* EDEADLK, the only error, is for a call from a lane's own job. */
    for (unsigned i = 0; i < APPEND_LANES; i++) {
        if ((rc = job_lane_destroy(l->append[i])) != 0)
            warn_errno("job_lane_destroy", rc);
        l->append[i] = NULL;
    }
    if ((rc = job_lane_destroy(l->compress)) != 0)
        warn_errno("job_lane_destroy", rc);
    l->compress = NULL;
}

job_lane *lanes_for(const struct server_lanes *l,
                    const struct http_request *req)
{
    if (req->route == ROUTE_COMPRESS)
        return l->compress;
    return l->append[name_hash(req->file) % APPEND_LANES];
}

/* Adds lane's counters to *out and returns its running_peak. */
static unsigned count_lane(job_lane *lane, struct lanes_counts *out)
{
    job_lane_stats st = {0};

    (void)job_lane_get_stats(lane, &st); /* fails only on NULL */
    out->submitted += st.submitted;
    out->completed += st.completed;
    out->queued += st.queued;
    out->running += st.running;
    return st.running_peak;
}

void lanes_count(const struct server_lanes *l, struct lanes_counts *out)
{
    memset(out, 0, sizeof *out);
    if (l->compress == NULL)
        return; /* --inline: no lanes */
    for (unsigned i = 0; i < APPEND_LANES; i++) {
        unsigned peak = count_lane(l->append[i], out);

        if (peak > out->append_peak)
            out->append_peak = peak;
    }
    out->compress_peak = count_lane(l->compress, out);
}
