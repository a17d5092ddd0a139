/* SPDX-License-Identifier: MIT */
/*
 * What the files of jobpool-httpd share: the connection and server
 * structures and the functions that pass between the event loop
 * (server.c) and the connections (conn.c).  Everything here belongs to the
 * loop thread, except the completion queue and, while it is with the pool,
 * a connection's job (see the DESIGN comment in jobpool-httpd.c).
 */
#ifndef JOBPOOL_HTTPD_SERVER_H
#define JOBPOOL_HTTPD_SERVER_H

#include "completion.h"
#include "errtext.h"
#include "handlers.h"
#include "http.h"
#include "lanes.h"

#include <jobpool.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A listener paused because accept() failed is retried this often; the
 * failures are logged at most once an interval (conn.c). */
#define ACCEPT_RETRY_MS 100
#define ACCEPT_LOG_INTERVAL_MS 60000

enum conn_state {
    CONN_READING, /* waiting for (the rest of) a request: EPOLLIN */
    CONN_RUNNING, /* its job is with the pool: no events */
    CONN_WRITING, /* sending out[]: EPOLLOUT while the socket is full */
    CONN_CLOSED,  /* socket closed, to be freed after this batch */
};

/* A client connection.  Loop thread only. */
struct conn {
    int fd; /* -1 once closed */
    enum conn_state state;
    uint32_t events; /* what epoll watches for now */
    bool keep_alive; /* of the request being answered */
    bool head;       /* the request being answered is a HEAD: no body */
    size_t in_len;   /* bytes of in[] read and not yet parsed */
    size_t out_len, out_sent;
    struct job job;           /* the request in flight, if any */
    struct conn *prev, *next; /* every allocated connection */
    /* Waiting for a request (CONN_READING) with an idle timeout set: on
     * the server's idle list, to be closed at idle_deadline. */
    bool idle_listed;
    long long idle_deadline;            /* monotonic ms */
    struct conn *idle_prev, *idle_next; /* the idle list */
    struct conn *next_dead; /* closed, to be freed after this batch */
    char in[HTTP_HEAD_MAX];
    char out[HTTP_RESPONSE_MAX];
};

/* The command line. */
struct options {
    unsigned port; /* 0: any free port */
    unsigned threads;
    bool inline_handlers;
    const char *dir;
    unsigned delay_ms;
    unsigned idle_timeout_ms; /* 0: connections may idle forever */
    unsigned compress_width;  /* 0: half the workers, at least 1 */
};

/* Loop thread only, but for done, which has its own lock. */
struct server {
    int epfd, listen_fd, signal_fd;
    struct completions done;
    job_pool *pool;            /* NULL with --inline */
    struct server_lanes lanes; /* all NULL with --inline */
    struct http_handlers handlers;
    struct conn *conns; /* every allocated connection */
    struct conn *dead;  /* closed during this batch */
    size_t open_conns;  /* connections whose socket is open */
    bool draining, accept_paused;
    long long now;            /* monotonic ms, read as epoll_wait() returns */
    long long accept_retry;   /* while accept_paused: when to retry, ms */
    long long flush_deadline; /* while draining: when to give up, ms */
    unsigned idle_timeout_ms; /* 0: none */
    /* The connections waiting for a request, soonest deadline first: they
     * all get the same timeout, so appending keeps the list in order. */
    struct conn *idle_first, *idle_last;
    /* accept() failures are logged at most once a minute (conn.c) */
    long long accept_log_next;          /* ms: no line before then */
    unsigned long long accept_unlogged; /* failures since the last line */
    /* counters */
    unsigned long long accepted, served, inline_runs, abandoned;
    unsigned long long timed_out, accept_errors;
};

/* Prints "jobpool-httpd: WHAT: " and the message of errno value err to
 * stderr.  Safe from any thread, workers included (errno_text()). */
void warn_errno(const char *what, int err);

/* server.c: setup, the event loop, teardown */

/* Sets up everything and prints what failed; returns 0 or an errno value.
 * *port is the port bound. */
int server_open(struct server *srv, const struct options *opt, unsigned *port);
/* Returns 0 after a signal once every connection is closed, or an errno
 * value if epoll_wait() fails. */
int server_run(struct server *srv);
void server_close(struct server *srv);

/* conn.c: the listener and the connections, called from the loop */

/* EPOLLIN on the listener: accepts every pending connection. */
void accept_all(struct server *srv);
/* Stops (pause) or resumes watching the listener.  A paused listener is
 * retried after ACCEPT_RETRY_MS (server.c) or when a connection closes. */
void accept_pause(struct server *srv, bool pause);
/* An epoll event on a connection. */
void conn_event(struct server *srv, struct conn *c, uint32_t events);
/* The completion queue's eventfd: sends the responses of finished jobs. */
void jobs_done(struct server *srv);
/* Closes the socket; the connection is freed later, see conn.c. */
void conn_close(struct server *srv, struct conn *c);
/* Unlinks and frees a closed connection whose job, if any, is back. */
void conn_free(struct server *srv, struct conn *c);
/* Closes every connection on the idle list whose deadline has passed. */
void idle_expire(struct server *srv);

#endif /* JOBPOOL_HTTPD_SERVER_H */
