/* SPDX-License-Identifier: MIT */
/*
 * Peer: the textbook thread pool, written here as a baseline.
 *
 * One mutex guards a singly linked FIFO of malloc'd nodes, one per job, and
 * one condition variable wakes idle workers.  A worker pops one node at a
 * time under the mutex and runs it with the mutex released.  This is the
 * pool most programs grow by themselves; the bench shows what a more
 * careful design buys over it.
 *
 * finish() sets stopping, wakes everyone and joins: a worker leaves only
 * when stopping is set and the queue is empty, so every job runs.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <stdlib.h>

struct textbook_node {
    struct textbook_node *next;
    bench_job_fn fn;
    void *ctx;
};

struct textbook_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;          /* lock: a node was queued, or stopping */
    struct textbook_node *head;   /* lock */
    struct textbook_node **tailp; /* lock: &last->next, or &head if empty */
    bool stopping;                /* lock */
    bench_job_fn fn;              /* fixed at create */
    unsigned nthreads;            /* fixed at create */
    pthread_t *threads;           /* fixed at create */
};

static void *textbook_worker(void *arg)
{
    struct textbook_pool *tp = arg;
    struct textbook_node *node;

    for (;;) {
        (void)pthread_mutex_lock(&tp->lock);
        while (tp->head == NULL && !tp->stopping)
            (void)pthread_cond_wait(&tp->cond, &tp->lock);
        node = tp->head;
        if (node == NULL) { /* stopping and drained */
            (void)pthread_mutex_unlock(&tp->lock);
            return NULL;
        }
        tp->head = node->next;
        if (tp->head == NULL)
            tp->tailp = &tp->head;
        (void)pthread_mutex_unlock(&tp->lock);

        node->fn(node->ctx);
        free(node);
    }
}

/* Wakes and joins the first n workers; the pool must be stopping. */
static void textbook_join(struct textbook_pool *tp, unsigned n)
{
    unsigned i;

    (void)pthread_mutex_lock(&tp->lock);
    tp->stopping = true;
    (void)pthread_cond_broadcast(&tp->cond);
    (void)pthread_mutex_unlock(&tp->lock);
    for (i = 0; i < n; i++)
        (void)pthread_join(tp->threads[i], NULL);
}

static int textbook_create(void **out, unsigned threads, bench_job_fn fn)
{
    struct textbook_pool *tp;
    unsigned started;
    int rc;

    tp = calloc(1, sizeof *tp);
    if (tp == NULL)
        return ENOMEM;
    tp->threads = calloc(threads, sizeof *tp->threads);
    if (tp->threads == NULL) {
        rc = ENOMEM;
        goto fail_threads_array;
    }
    rc = pthread_mutex_init(&tp->lock, NULL);
    if (rc != 0)
        goto fail_mutex;
    rc = pthread_cond_init(&tp->cond, NULL);
    if (rc != 0)
        goto fail_cond;
    tp->tailp = &tp->head;
    tp->fn = fn;
    tp->nthreads = threads;

    for (started = 0; started < threads; started++) {
        rc = pthread_create(&tp->threads[started], NULL, textbook_worker, tp);
        if (rc != 0)
            goto fail_workers;
    }
    *out = tp;
    return 0;

fail_workers:
    textbook_join(tp, started);
    (void)pthread_cond_destroy(&tp->cond);
fail_cond:
    (void)pthread_mutex_destroy(&tp->lock);
fail_mutex:
    free(tp->threads);
fail_threads_array:
    free(tp);
    return rc;
}

static int textbook_submit(void *pool, void *ctx)
{
    struct textbook_pool *tp = pool;
    struct textbook_node *node = malloc(sizeof *node);

    if (node == NULL)
        return ENOMEM;
    node->next = NULL;
    node->fn = tp->fn;
    node->ctx = ctx;

    (void)pthread_mutex_lock(&tp->lock);
    *tp->tailp = node;
    tp->tailp = &node->next;
    (void)pthread_cond_signal(&tp->cond);
    (void)pthread_mutex_unlock(&tp->lock);
    return 0;
}

static int textbook_finish(void *pool)
{
    struct textbook_pool *tp = pool;

    textbook_join(tp, tp->nthreads);
    (void)pthread_cond_destroy(&tp->cond);
    (void)pthread_mutex_destroy(&tp->lock);
    free(tp->threads);
    free(tp);
    return 0;
}

const struct bench_peer bench_peer_textbook = {
    .name = "textbook",
    .what = "baseline: one mutex, one condvar, a malloc'd node per job",
    .multi_producer = true,
    .create = textbook_create,
    .submit = textbook_submit,
    .finish = textbook_finish,
};
