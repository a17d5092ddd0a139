/* SPDX-License-Identifier: MIT */
/*
 * Groups: count the jobs submitted through them, to wait for a set of
 * detached jobs or have a job follow them.
 *
 * A group's job is queued as {job__group_run, record}, where the record, one
 * of the group's, holds the caller's fn and ctx.  Records are kept on a free
 * list and allocated in blocks that the group keeps until it is destroyed,
 * so in steady state a group's submit allocates nothing.  group->lock
 * guards every field; `pending` counts the jobs from before their submit
 * returns until they return (or are handed back by a cancel), and the one
 * whose end takes it to zero wakes the waiters and submits the notifies,
 * after dropping the lock.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#define RECORDS_PER_BLOCK 64

/* A job submitted through the group, from its submit until it starts. */
struct record {
    job_fn fn;
    void *ctx;
    job_group *group;
    struct record *next_free; /* group->lock */
};

struct record_block {
    struct record_block *next;
    struct record records[RECORDS_PER_BLOCK];
};

/* A job to submit once the group empties. */
struct notify {
    job_pool *pool;
    job_fn fn;
    void *ctx;
    struct notify *next;
};

struct job_group {
    pthread_mutex_t lock;
    pthread_cond_t empty;        /* lock, CLOCK_MONOTONIC: pending fell to 0 */
    size_t pending;              /* lock */
    struct record *free;         /* lock */
    struct record_block *blocks; /* lock: every record, for destroy */
    struct notify *notifies;     /* lock: in the order they were added */
    struct notify **notifies_end;
    struct job__runner *runners; /* lock: threads running its jobs */
};

int job_group_create(job_group **group)
{
    job_group *g;
    int rc;

    if (group == NULL)
        return EINVAL;
    g = calloc(1, sizeof *g);
    if (g == NULL)
        return ENOMEM;
    rc = pthread_mutex_init(&g->lock, NULL);
    if (rc == 0) {
        rc = job__monotonic_cond_init(&g->empty);
        if (rc == 0) {
            g->notifies_end = &g->notifies;
            *group = g;
            return 0;
        }
        (void)pthread_mutex_destroy(&g->lock);
    }
    free(g);
    return rc == ENOMEM ? ENOMEM : EAGAIN;
}

int job_group_destroy(job_group *group)
{
    if (group == NULL)
        return 0;
    (void)pthread_mutex_lock(&group->lock);
    if (group->pending != 0) {
        (void)pthread_mutex_unlock(&group->lock);
        return EBUSY;
    }
    (void)pthread_mutex_unlock(&group->lock);
    while (group->blocks != NULL) {
        struct record_block *next = group->blocks->next;

        free(group->blocks);
        group->blocks = next;
    }
    (void)pthread_cond_destroy(&group->empty);
    (void)pthread_mutex_destroy(&group->lock);
    free(group);
    return 0;
}

/* Counts a job in the group and gives it a record; NULL when out of
 * memory. */
static struct record *record_take(job_group *g, job_fn fn, void *ctx)
{
    struct record *r;

    (void)pthread_mutex_lock(&g->lock);
    if (g->free == NULL) {
        struct record_block *b = malloc(sizeof *b);

        if (b == NULL) {
            (void)pthread_mutex_unlock(&g->lock);
            return NULL;
        }
        b->next = g->blocks;
        g->blocks = b;
        for (size_t i = 0; i < RECORDS_PER_BLOCK; i++) {
            b->records[i].next_free = g->free;
            g->free = &b->records[i];
        }
    }
    r = g->free;
    g->free = r->next_free;
    g->pending++;
    (void)pthread_mutex_unlock(&g->lock);
    r->fn = fn;
    r->ctx = ctx;
    r->group = g;
    return r;
}

static void record_free(job_group *g, struct record *r)
{
    r->next_free = g->free;
    g->free = r;
}

/* Submits what waited for the group to empty; without the lock.  A job
 * its pool refuses now runs here, so that no accepted notify is lost. */
static void notify_all(struct notify *n)
{
    while (n != NULL) {
        struct notify *next = n->next;

        if (job_submit_detached(n->pool, n->fn, n->ctx) != 0)
            n->fn(n->ctx);
        free(n);
        n = next;
    }
}

/* One of the group's jobs has ended: returned, refused or handed back;
 * lock held.  Returns the notifies to submit once the lock is dropped. */
static struct notify *job_ended(job_group *g)
{
    struct notify *due = NULL;

    JOB__ASSERT(g->pending > 0);
    if (--g->pending == 0) {
        (void)pthread_cond_broadcast(&g->empty);
        due = g->notifies;
        g->notifies = NULL;
        g->notifies_end = &g->notifies;
    }
    return due;
}

/* Ends the job of record r, which has not run; without the lock. */
static void end_unrun(job_group *g, struct record *r)
{
    struct notify *due;

    (void)pthread_mutex_lock(&g->lock);
    record_free(g, r);
    due = job_ended(g);
    (void)pthread_mutex_unlock(&g->lock);
    notify_all(due);
}

void job__group_run(void *arg)
{
    struct record *r = arg;
    job_group *g = r->group;
    job_fn fn = r->fn;
    void *ctx = r->ctx;
    struct job__runner me = {.thread = pthread_self()};
    struct notify *due;

    (void)pthread_mutex_lock(&g->lock);
    record_free(g, r);
    me.next = g->runners;
    g->runners = &me;
    (void)pthread_mutex_unlock(&g->lock);
    fn(ctx);
    (void)pthread_mutex_lock(&g->lock);
    job__runner_remove(&g->runners, &me);
    due = job_ended(g);
    (void)pthread_mutex_unlock(&g->lock);
    notify_all(due);
}

void job__group_hand_back(void *arg, job_handback_fn handback, void *harg)
{
    struct record *r = arg;
    job_fn fn = r->fn;
    void *ctx = r->ctx;

    end_unrun(r->group, r);
    handback(fn, ctx, harg);
}

int job_group_submit(job_group *group, job_pool *pool, job_fn fn, void *ctx)
{
    struct record *r;
    int rc;

    if (group == NULL || pool == NULL || fn == NULL)
        return EINVAL;
    r = record_take(group, fn, ctx);
    if (r == NULL)
        return ENOMEM;
    rc = job_submit_detached(pool, job__group_run, r);
    if (rc != 0)
        end_unrun(group, r);
    return rc;
}

int job_group_submit_lane(job_group *group, job_lane *lane, job_fn fn,
                          void *ctx)
{
    struct record *r;
    int rc;

    if (group == NULL || lane == NULL || fn == NULL)
        return EINVAL;
    r = record_take(group, fn, ctx);
    if (r == NULL)
        return ENOMEM;
    rc = job_submit_lane(lane, job__group_run, r);
    if (rc != 0)
        end_unrun(group, r);
    return rc;
}

int job_group_wait(job_group *group, uint64_t timeout_ns)
{
    struct timespec deadline;
    int rc = 0, cancel_state;

    if (group == NULL)
        return EINVAL;
    job__deadline_after(&deadline, timeout_ns);
    /* Not a cancellation point, as the pool's waits are not. */
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    (void)pthread_mutex_lock(&group->lock);
    if (job__runs_in(group->runners))
        rc = EDEADLK;
    while (rc == 0 && group->pending != 0)
        if (pthread_cond_timedwait(&group->empty, &group->lock, &deadline) ==
                ETIMEDOUT &&
            group->pending != 0)
            rc = ETIMEDOUT;
    (void)pthread_mutex_unlock(&group->lock);
    (void)pthread_setcancelstate(cancel_state, NULL);
    return rc;
}

int job_group_notify(job_group *group, job_pool *pool, job_fn fn, void *ctx)
{
    struct notify *n;

    if (group == NULL || pool == NULL || fn == NULL)
        return EINVAL;
    n = malloc(sizeof *n);
    if (n == NULL)
        return ENOMEM;
    n->pool = pool;
    n->fn = fn;
    n->ctx = ctx;
    n->next = NULL;
    (void)pthread_mutex_lock(&group->lock);
    if (group->pending != 0) {
        *group->notifies_end = n;
        group->notifies_end = &n->next;
        (void)pthread_mutex_unlock(&group->lock);
        return 0;
    }
    (void)pthread_mutex_unlock(&group->lock);
    free(n);
    return job_submit_detached(pool, fn, ctx);
}
