/* SPDX-License-Identifier: MIT */
/*
 * The completion queue of jobpool-httpd: the way back from a pool worker to
 * the loop thread, as in nginx's thread pools and Redis's bio.  A FIFO of
 * finished jobs under a mutex, plus an eventfd that the loop watches with
 * epoll.  Workers push one job at a time; the loop takes the whole list at
 * once.  See the DESIGN comment in jobpool-httpd.c for who owns a job when.
 */
#ifndef JOBPOOL_HTTPD_COMPLETION_H
#define JOBPOOL_HTTPD_COMPLETION_H

#include "http.h"

#include <pthread.h>

struct server;
struct conn;

/* One request handed to a worker.  The loop writes srv, conn and req
 * before the submit; the worker writes resp, then pushes the job. */
struct job {
    struct job *next; /* completion queue link, guarded by its lock */
    struct server *srv;
    struct conn *conn;
    struct http_request req;   /* written by the loop before the submit */
    struct http_response resp; /* written by the worker */
};

/* Finished jobs on their way back to the loop. */
struct completions {
    pthread_mutex_t lock;
    struct job *head;  /* lock */
    struct job **tail; /* lock; &head when empty */
    int efd;           /* eventfd: readable while the loop has work */
};

/* Sets up an empty queue and its eventfd.  Returns 0 or an errno value; on
 * failure nothing is left open. */
int completions_init(struct completions *cq);
void completions_fini(struct completions *cq);

/* Called by a worker: queues the finished job and wakes the loop.  The job
 * must not be touched afterwards: the loop may already reuse it. */
void completions_push(struct completions *cq, struct job *job);

/* Called by the loop when the eventfd is readable: takes every queued job,
 * oldest first, linked through next. */
struct job *completions_take(struct completions *cq);

#endif /* JOBPOOL_HTTPD_COMPLETION_H */
