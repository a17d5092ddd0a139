/* SPDX-License-Identifier: MIT */
/*
 * Deep backlogs behind a blocked worker.  From a backlog of over 1024 jobs
 * in one thread's queue, a worker takes a run of up to 64 of them at once
 * into a front of that queue (lib/shards.c); 0.2 called such runs
 * "batches", and the tests keep that word for the jobs right behind the
 * blocked one.  Whatever the mechanism, the jobs behind a blocked worker
 * stay queued, are handed back by a cancel exactly once and in order, are
 * started in order by a single worker, and are run by another worker
 * while the first is blocked, before the newer jobs of a long queue.
 */
#include "helpers.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Deeper than 1024 jobs behind the one taken: the backlog under which a
 * worker fills a front (JOB__FRONT_MIN_DEPTH). */
#define BACKLOG (2 * 1024 + 200)
#define LONG_BACKLOG (4 * BACKLOG)

/* Job: records its index in the order jobs start. */
struct order_log {
    atomic_uint next; /* places taken in seen[] */
    atomic_uint done; /* places written */
    unsigned seen[LONG_BACKLOG];
};
struct ordered_job {
    struct order_log *log;
    unsigned index;
};

static void job_log_order(void *ctx)
{
    struct ordered_job *j = ctx;

    j->log->seen[atomic_fetch_add(&j->log->next, 1)] = j->index;
    atomic_fetch_add(&j->log->done, 1);
}

struct handback_log {
    unsigned n;
    job_fn fn[BACKLOG];
    void *ctx[BACKLOG];
};

static void record_handback(job_fn fn, void *ctx, void *arg)
{
    struct handback_log *log = arg;

    ck_assert_uint_lt(log->n, BACKLOG);
    log->fn[log->n] = fn;
    log->ctx[log->n] = ctx;
    log->n++;
}

/* One worker: it takes the second gated job from a deep queue, so it
 * claims a batch behind it and blocks.  The batched jobs still count as
 * queued, and a cancel hands back all of them, batched and not, in FIFO
 * order, exactly once; none of them runs. */
START_TEST(batched_jobs_stay_queued_and_are_cancelled_in_order)
{
    job_pool *pool = pool_new(1);
    struct latch gate1, gate2;
    struct countdown started1, started2;
    struct gated_job first = {&started1, &gate1, NULL};
    struct gated_job second = {&started2, &gate2, NULL};
    static struct ordered_job jobs[BACKLOG];
    static struct order_log ran;
    static struct handback_log back;
    job_pool_stats s;
    size_t count = 0;

    latch_init(&gate1);
    latch_init(&gate2);
    countdown_init(&started1, 1);
    countdown_init(&started2, 1);
    atomic_init(&ran.next, 0);
    atomic_init(&ran.done, 0);
    back.n = 0;
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &first), 0);
    countdown_wait(&started1);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &second), 0);
    for (unsigned i = 0; i < BACKLOG; i++) {
        jobs[i] = (struct ordered_job){&ran, i};
        ck_assert_int_eq(job_submit_detached(pool, job_log_order, &jobs[i]), 0);
    }
    latch_open(&gate1);
    countdown_wait(&started2);

    s = pool_stats(pool);
    ck_assert_uint_eq(s.queued, BACKLOG);
    ck_assert_uint_eq(s.running, 1);
    ck_assert_uint_eq(s.completed, 1);

    ck_assert_int_eq(
        job_pool_cancel_queued(pool, record_handback, &back, &count), 0);
    ck_assert_uint_eq(count, BACKLOG);
    ck_assert_uint_eq(back.n, BACKLOG);
    for (unsigned i = 0; i < BACKLOG; i++) {
        ck_assert_ptr_eq((void *)back.fn[i], (void *)job_log_order);
        ck_assert_ptr_eq(back.ctx[i], &jobs[i]);
    }
    s = pool_stats(pool);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, 1);
    ck_assert_uint_eq(s.cancelled, BACKLOG);

    latch_open(&gate2);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&ran.next), 0);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.completed, 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&started2);
    countdown_destroy(&started1);
    latch_destroy(&gate2);
    latch_destroy(&gate1);
}
END_TEST

/* One worker starts jobs in FIFO order, batch or not. */
START_TEST(one_worker_starts_batched_jobs_in_fifo_order)
{
    job_pool *pool = pool_new(1);
    struct latch gate;
    struct countdown started;
    struct gated_job blocker = {&started, &gate, NULL};
    static struct ordered_job jobs[BACKLOG];
    static struct order_log ran;

    latch_init(&gate);
    countdown_init(&started, 1);
    atomic_init(&ran.next, 0);
    atomic_init(&ran.done, 0);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &blocker), 0);
    countdown_wait(&started);
    for (unsigned i = 0; i < BACKLOG; i++) {
        jobs[i] = (struct ordered_job){&ran, i};
        ck_assert_int_eq(job_submit_detached(pool, job_log_order, &jobs[i]), 0);
    }
    latch_open(&gate);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&ran.next), BACKLOG);
    for (unsigned i = 0; i < BACKLOG; i++)
        ck_assert_uint_eq(ran.seen[i], i);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

/* Two workers, both held.  The first is let go: it takes a job that blocks
 * from a deep queue and claims a batch behind it.  The second, let go
 * next, runs the whole backlog, the blocked worker's batch included (if it
 * could not, countdown_wait would hang and Check's timeout fails the
 * test); the batched jobs count as queued until then. */
START_TEST(a_blocked_owner_does_not_hold_back_its_batch)
{
    job_pool *pool = pool_new(2);
    struct latch hold1, hold2, block;
    struct countdown held, blocked, backlog_done;
    struct gated_job holder1 = {&held, &hold1, NULL};
    struct gated_job holder2 = {&held, &hold2, NULL};
    struct gated_job blocker = {&blocked, &block, NULL};
    job_pool_stats s;

    latch_init(&hold1);
    latch_init(&hold2);
    latch_init(&block);
    countdown_init(&held, 2);
    countdown_init(&blocked, 1);
    countdown_init(&backlog_done, BACKLOG);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &holder1), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &holder2), 0);
    countdown_wait(&held);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &blocker), 0);
    for (unsigned i = 0; i < BACKLOG; i++)
        ck_assert_int_eq(
            job_submit_detached(pool, (job_fn)countdown_arrive, &backlog_done),
            0);
    latch_open(&hold1);
    countdown_wait(&blocked);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.queued, BACKLOG);
    ck_assert_uint_eq(s.running, 2);

    latch_open(&hold2);
    countdown_wait(&backlog_done);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.queued, 0);
    latch_open(&block);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.completed, BACKLOG + 3);
    ck_assert_uint_eq(s.running, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&backlog_done);
    countdown_destroy(&blocked);
    countdown_destroy(&held);
    latch_destroy(&block);
    latch_destroy(&hold2);
    latch_destroy(&hold1);
}
END_TEST

/* Two workers: the first blocks in a job with a batch claimed behind it,
 * and the second works through a long queue.  The second notices that
 * the batch does not move and takes its jobs before the newer ones of the
 * queue, so the blocked worker's batch does not wait for the queue to run
 * dry. */
START_TEST(a_stuck_batch_is_taken_before_newer_jobs)
{
    job_pool *pool = pool_new(2);
    struct latch hold1, hold2, block;
    struct countdown held, blocked;
    struct gated_job holder1 = {&held, &hold1, NULL};
    struct gated_job holder2 = {&held, &hold2, NULL};
    struct gated_job blocker = {&blocked, &block, NULL};
    static struct ordered_job jobs[LONG_BACKLOG];
    static struct order_log ran;
    unsigned first_batched = LONG_BACKLOG, last_queued = 0;

    latch_init(&hold1);
    latch_init(&hold2);
    latch_init(&block);
    countdown_init(&held, 2);
    countdown_init(&blocked, 1);
    atomic_init(&ran.next, 0);
    atomic_init(&ran.done, 0);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &holder1), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &holder2), 0);
    countdown_wait(&held);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &blocker), 0);
    for (unsigned i = 0; i < LONG_BACKLOG; i++) {
        jobs[i] = (struct ordered_job){&ran, i};
        ck_assert_int_eq(job_submit_detached(pool, job_log_order, &jobs[i]), 0);
    }
    latch_open(&hold1);
    countdown_wait(&blocked);
    latch_open(&hold2);
    while (atomic_load(&ran.done) < LONG_BACKLOG)
        usleep(1000);
    /* Where job 0, the first one claimed behind the blocker, and the last
     * job of the queue started. */
    for (unsigned i = 0; i < LONG_BACKLOG; i++) {
        if (ran.seen[i] == 0)
            first_batched = i;
        if (ran.seen[i] == LONG_BACKLOG - 1)
            last_queued = i;
    }
    ck_assert_uint_lt(first_batched, last_queued);
    latch_open(&block);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&blocked);
    countdown_destroy(&held);
    latch_destroy(&block);
    latch_destroy(&hold2);
    latch_destroy(&hold1);
}
END_TEST

/* Two workers each block in the first job they start from a deep queue,
 * each with a run taken behind it: a cancel then hands back every job
 * that has not started, both runs and the queue, in the order they were
 * submitted, exactly once. */
struct first_two {
    atomic_uint started;       /* jobs started */
    struct countdown *blocked; /* the first two, once they block */
    struct latch *gate;        /* lets them go */
    bool ran[BACKLOG];
};
struct first_two_job {
    struct first_two *shared;
    unsigned index;
};

static void job_block_if_first_two(void *ctx)
{
    struct first_two_job *j = ctx;

    j->shared->ran[j->index] = true;
    if (atomic_fetch_add(&j->shared->started, 1) < 2) {
        countdown_arrive(j->shared->blocked);
        latch_wait(j->shared->gate);
    }
}

START_TEST(cancel_hands_back_two_blocked_workers_runs_in_order)
{
    job_pool *pool = pool_new(2);
    struct latch hold, gate;
    struct countdown held, blocked;
    struct gated_job holder = {&held, &hold, NULL};
    static struct first_two shared;
    static struct first_two_job jobs[BACKLOG];
    static struct handback_log back;
    size_t count = 0;
    unsigned prev = 0;

    latch_init(&hold);
    latch_init(&gate);
    countdown_init(&held, 2);
    countdown_init(&blocked, 2);
    memset(&shared, 0, sizeof shared);
    atomic_init(&shared.started, 0);
    shared.blocked = &blocked;
    shared.gate = &gate;
    back.n = 0;
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &holder), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &holder), 0);
    countdown_wait(&held);
    for (unsigned i = 0; i < BACKLOG; i++) {
        jobs[i] = (struct first_two_job){&shared, i};
        ck_assert_int_eq(
            job_submit_detached(pool, job_block_if_first_two, &jobs[i]), 0);
    }
    latch_open(&hold);
    countdown_wait(&blocked);

    ck_assert_int_eq(
        job_pool_cancel_queued(pool, record_handback, &back, &count), 0);
    ck_assert_uint_eq(count, BACKLOG - 2);
    ck_assert_uint_eq(back.n, BACKLOG - 2);
    for (unsigned k = 0; k < back.n; k++) {
        const struct first_two_job *j = back.ctx[k];

        ck_assert_ptr_eq((void *)back.fn[k], (void *)job_block_if_first_two);
        ck_assert(!shared.ran[j->index]);
        if (k > 0)
            ck_assert_uint_gt(j->index, prev);
        prev = j->index;
    }
    ck_assert_uint_eq(pool_stats(pool).queued, 0);
    latch_open(&gate);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&shared.started), 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&blocked);
    countdown_destroy(&held);
    latch_destroy(&gate);
    latch_destroy(&hold);
}
END_TEST

/* A shutdown drains the batches too: the first worker takes a job that
 * waits for the whole backlog, claiming a batch of it, and the shutdown
 * begins before the second worker is let go; the second must run the
 * batch it finds after the queue, or the first never returns. */
struct wait_for_backlog {
    struct countdown *started;
    struct countdown *backlog_done;
};

static void job_wait_for_backlog(void *ctx)
{
    struct wait_for_backlog *w = ctx;

    countdown_arrive(w->started);
    countdown_wait(w->backlog_done);
}

START_TEST(shutdown_runs_the_batch_of_a_blocked_owner)
{
    job_pool *pool = pool_new(2);
    struct latch hold1, hold2;
    struct countdown held, started, backlog_done;
    struct gated_job holder1 = {&held, &hold1, NULL};
    struct gated_job holder2 = {&held, &hold2, NULL};
    struct wait_for_backlog waiter = {&started, &backlog_done};

    latch_init(&hold1);
    latch_init(&hold2);
    countdown_init(&held, 2);
    countdown_init(&started, 1);
    countdown_init(&backlog_done, BACKLOG);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &holder1), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &holder2), 0);
    countdown_wait(&held);
    ck_assert_int_eq(job_submit_detached(pool, job_wait_for_backlog, &waiter),
                     0);
    for (unsigned i = 0; i < BACKLOG; i++)
        ck_assert_int_eq(
            job_submit_detached(pool, (job_fn)countdown_arrive, &backlog_done),
            0);
    latch_open(&hold1);
    countdown_wait(&started);
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 0), ETIMEDOUT);
    latch_open(&hold2);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_uint_eq(pool_stats(pool).completed, BACKLOG + 3);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&backlog_done);
    countdown_destroy(&started);
    countdown_destroy(&held);
    latch_destroy(&hold2);
    latch_destroy(&hold1);
}
END_TEST

Suite *batch_suite(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, batched_jobs_stay_queued_and_are_cancelled_in_order);
    tcase_add_test(tc, one_worker_starts_batched_jobs_in_fifo_order);
    tcase_add_test(tc, a_blocked_owner_does_not_hold_back_its_batch);
    tcase_add_test(tc, a_stuck_batch_is_taken_before_newer_jobs);
    tcase_add_test(tc, cancel_hands_back_two_blocked_workers_runs_in_order);
    tcase_add_test(tc, shutdown_runs_the_batch_of_a_blocked_owner);
    suite_add_tcase(s, tc);
    return s;
}
