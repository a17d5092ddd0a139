/* SPDX-License-Identifier: MIT */
/*
 * The handlers of jobpool-httpd's routes, with no sockets, no event loop
 * and no threads of their own.  For the slow routes http_run() blocks
 * (/append: write + fdatasync) or burns CPU (/compress), and it is safe to
 * call from any thread at once, so the server runs it on a pool worker or,
 * with --inline, on the loop thread.
 */
#ifndef JOBPOOL_HTTPD_HANDLERS_H
#define JOBPOOL_HTTPD_HANDLERS_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>

/* What the handlers share: set up once by http_handlers_init(), then only
 * read, by any number of threads at once. */
struct http_handlers {
    int dir_fd;            /* --dir: /append opens NAME.data in it */
    unsigned delay_ms;     /* extra sleep per append, a slower disk */
    unsigned char *corpus; /* what /compress compresses */
    size_t corpus_len;
};

/* Opens DIR, creates DIR/jobpool-httpd.data (the file of the appends that
 * name none) so that an unwritable DIR fails here rather than at the first
 * append, and generates the corpus.  Returns 0 or an errno value; on
 * failure nothing is left open. */
int http_handlers_init(struct http_handlers *h, const char *dir,
                       unsigned delay_ms);
void http_handlers_fini(struct http_handlers *h);

/* True for the routes whose handler blocks or burns CPU: the ones worth
 * handing to a worker. */
bool http_route_is_slow(enum http_route route);

/* Runs the handler of any route but ROUTE_STATS (the server answers that
 * one, it has the counters) and fills *resp; ROUTE_NONE gets its error
 * status.  May block for the slow routes.  Safe to call from several
 * threads at once. */
void http_run(const struct http_handlers *h, const struct http_request *req,
              struct http_response *resp);

#endif /* JOBPOOL_HTTPD_HANDLERS_H */
