/* SPDX-License-Identifier: MIT */
/*
 * The lanes through which jobpool-httpd hands its slow requests to the
 * pool (see lanes.c): a fixed table of serial lanes for /append, hashed by
 * file name, and one lane of limited width for /compress.  Loop thread
 * only, but for the lanes themselves, which any thread may use.
 */
#ifndef JOBPOOL_HTTPD_LANES_H
#define JOBPOOL_HTTPD_LANES_H

#include "http.h"

#include <jobpool.h>
#include <stdint.h>

/* Width-1 lanes for /append.  More files than this still work: files
 * whose names hash alike share a lane, one after the other. */
#define APPEND_LANES 64u

struct server_lanes {
    job_lane *append[APPEND_LANES]; /* width 1, by hash of the file name */
    job_lane *compress;             /* width compress_width */
    unsigned compress_width;
};

/* What /stats reports of the lanes: sums over every lane, and the most
 * jobs each kind ran at once. */
struct lanes_counts {
    uint64_t submitted, completed;
    size_t queued;
    unsigned running;
    unsigned append_peak;   /* most appends of one lane at once: 1 */
    unsigned compress_peak; /* most compressions at once: <= the width */
};

/* Creates the lanes in pool; compress_width 0 means half the pool's
 * workers, at least 1.  Returns 0 or an errno value; on failure no lane
 * is left. */
int lanes_open(struct server_lanes *l, job_pool *pool, unsigned compress_width);
/* Destroys every lane, each once its jobs have returned (after the pool's
 * shutdown they have).  Before the pool is destroyed. */
void lanes_close(struct server_lanes *l);
/* The lane of a slow request (ROUTE_APPEND or ROUTE_COMPRESS). */
job_lane *lanes_for(const struct server_lanes *l,
                    const struct http_request *req);
void lanes_count(const struct server_lanes *l, struct lanes_counts *out);

#endif /* JOBPOOL_HTTPD_LANES_H */
