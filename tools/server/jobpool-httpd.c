/* SPDX-License-Identifier: MIT */
/*
 * jobpool-httpd: an example HTTP/1.1 server whose event loop never blocks,
 * because it hands blocking work to a jobpool.  Copy the pattern, not the
 * HTTP parser.
 *
 * DESIGN
 *
 * One thread, the loop, owns every socket and every connection.  It waits
 * in epoll_wait() on four kinds of file descriptor:
 *
 *   listener   accept new connections (127.0.0.1 only)
 *   connection read a request; answer /fast and /stats at once; for the
 *              slow routes (/append: write + fdatasync, /compress: CPU)
 *              submit a job to the route's lane with job_submit_lane()
 *              and stop watching the socket until the job is back; write
 *              responses
 *   eventfd    jobs are back: take them all off the completion queue and
 *              send their responses
 *   signalfd   SIGTERM or SIGINT: drain and exit
 *
 * The lanes (lanes.c) decide which slow requests may run beside which:
 * the appends to one file go through one width-1 lane, so they run one at
 * a time in the order they were accepted, whichever connections sent them;
 * different files and /compress run in parallel, and /compress has a lane
 * of its own, at most --compress-width wide, so that it cannot take every
 * worker.  The lanes are made at start, never per request.
 *
 * The way back from a worker to the loop is the completion queue, as in
 * nginx's thread pools and Redis's bio: a FIFO under a mutex plus an eventfd.
 *
 *       loop thread                                 worker (jobpool)
 *   read, parse, submit  ──── job_submit_lane ────► http_run()   (blocks)
 *                                                   lock; push job; unlock
 *   epoll_wait wakes     ◄──── eventfd write ────── (only if it was empty)
 *   read eventfd, lock, take the whole list, unlock, send responses
 *
 * Ownership: a connection, its buffers and its struct job belong to the
 * loop, except that between the submit and the moment the loop takes the
 * job off the queue, the worker alone reads job->req and writes job->resp.
 * The submit makes the loop's writes visible to the worker; the queue's
 * mutex makes the worker's visible to the loop.  A connection whose client
 * goes away meanwhile is closed but not freed until its job is back.
 * At most one request per connection is in flight, so responses go out in
 * request order even when the client pipelines, and a request is accepted
 * (submitted) only after the one before it on its connection has been
 * answered.
 *
 * Shutdown:  SERVING ──SIGTERM/SIGINT──► DRAINING ──no connections──► exit 0
 *   stop accepting; close idle connections; job_pool_shutdown() runs every
 *   job already accepted, those waiting in the lanes too (it blocks the
 *   loop meanwhile, which is fine: there is nothing new to do); then send
 *   the finished responses with "Connection: close" and exit once every
 *   connection is closed, or after FLUSH_TIMEOUT_MS if a client stops
 *   reading.  The lanes are destroyed then, before the pool.
 *
 * With --inline the same handlers run on the loop thread, which is what this
 * program exists to compare against (make bench-httpd).
 *
 * Timers: epoll_wait()'s timeout is the soonest of three deadlines.  A
 * connection waiting for a request is closed once --idle-timeout-ms have
 * passed since it was accepted or last answered; the timeout is the same
 * for every connection, so the waiting ones sit on one list in deadline
 * order, appended at the tail and expired from the head.  A listener
 * paused because accept() failed (out of file descriptors, say) is retried
 * after ACCEPT_RETRY_MS; its failures are logged at most once a minute.
 * And a drain gives up after FLUSH_TIMEOUT_MS.
 *
 * Left out on purpose: request bodies, TLS, timeouts on a client that stops
 * reading a response (but for the drain's), more than one loop thread,
 * back-pressure beyond one job per connection.
 *
 * Files:
 *   jobpool-httpd.c  this comment, the command line, main()
 *   server.c         setup, the event loop, draining, teardown
 *   conn.c           the listener and the connections' state machine
 *   lanes.c          the lanes: per-file order, a cap on /compress
 *   completion.c     the completion queue: finished jobs back to the loop
 *   server.h         the structures those four share
 *   http.c           HTTP/1.1 parsing and response formatting
 *   handlers.c       the routes' handlers: /fast, /append, /compress
 *   errtext.c        errno messages that any thread may build
 */
#include "config.h"

#include "server.h"

#include <errno.h>
#include <getopt.h>
#include <jobpool.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define IDLE_TIMEOUT_MS 60000
#define IDLE_TIMEOUT_MAX_MS 86400000 /* a day; epoll_wait() takes an int */

/* the command line */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: jobpool-httpd [--port N] [--threads N] [--inline] "
            "[--dir DIR]\n"
            "                     [--delay-ms N] [--idle-timeout-ms N] "
            "[--compress-width N]\n"
            "  --port N      TCP port on 127.0.0.1; 0 picks a free one "
            "(default 8080)\n"
            "  --threads N   worker threads; 0 = one per CPU (default 0)\n"
            "  --inline      run the slow handlers on the loop thread\n"
            "  --dir DIR     where /append writes NAME.data (default .)\n"
            "  --delay-ms N  each /append also sleeps N ms, a slower "
            "disk (default 0)\n"
            "  --idle-timeout-ms N\n"
            "                close a connection that sends no whole "
            "request within N ms of\n"
            "                opening or of its last response; 0 = never "
            "(default %d)\n"
            "  --compress-width N\n"
            "                most /compress requests running at once; "
            "0 = half the workers,\n"
            "                at least 1 (default 0)\n"
            "Routes: GET or HEAD /fast, /append?n=N[&file=NAME], /compress, "
            "/stats.  NAME is\n"
            "1 to %d letters, digits, '-' or '_' (default jobpool-httpd); "
            "the appends to one\n"
            "file are written in the order they were accepted.  SIGTERM or "
            "SIGINT drains\n"
            "and exits.\n",
            IDLE_TIMEOUT_MS, HTTP_FILE_MAX);
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"inline", no_argument, NULL, 'i'},
        {"dir", required_argument, NULL, 'd'},
        {"delay-ms", required_argument, NULL, 'D'},
        {"idle-timeout-ms", required_argument, NULL, 'T'},
        {"compress-width", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, which = 0;

    *opt = (struct options){
        .port = 8080, .dir = ".", .idle_timeout_ms = IDLE_TIMEOUT_MS};
    while ((ch = getopt_long(argc, argv, "", longopts, &which)) != -1) {
        bool ok = true;

        switch (ch) {
        case 'p':
            ok = parse_uint(optarg, 65535, &opt->port);
            break;
        case 't':
            ok = parse_uint(optarg, JOB_POOL_THREADS_MAX, &opt->threads);
            break;
        case 'i':
            opt->inline_handlers = true;
            break;
        case 'd':
            opt->dir = optarg;
            break;
        case 'D':
            ok = parse_uint(optarg, 60000, &opt->delay_ms);
            break;
        case 'T':
            ok = parse_uint(optarg, IDLE_TIMEOUT_MAX_MS, &opt->idle_timeout_ms);
            break;
        case 'W':
            ok = parse_uint(optarg, JOB_POOL_THREADS_MAX, &opt->compress_width);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "jobpool-httpd: bad value for --%s: %s\n",
                    longopts[which].name, optarg);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct options opt;
    struct server srv;
    struct lanes_counts lc;
    unsigned port = 0;
    int rc;

    if ((rc = parse_options(argc, argv, &opt)) >= 0)
        return rc;
    if (server_open(&srv, &opt, &port) != 0)
        return 1;
    printf("listening on 127.0.0.1:%u\n", port);
    fflush(stdout);

    rc = server_run(&srv);
    if (rc != 0)
        warn_errno("epoll_wait", rc);
    lanes_count(&srv.lanes, &lc);
    printf("jobpool-httpd: served %llu requests on %llu connections; "
           "jobs run %llu of %llu submitted; %llu handlers ran inline; "
           "%llu connections abandoned\n",
           srv.served, srv.accepted, (unsigned long long)lc.completed,
           (unsigned long long)lc.submitted, srv.inline_runs, srv.abandoned);
    server_close(&srv);
    return rc == 0 ? 0 : 1;
}
