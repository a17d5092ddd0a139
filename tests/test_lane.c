/* SPDX-License-Identifier: MIT */
/*
 * Lanes: FIFOs of a given width inside a pool.  Their order across
 * producer threads, their width as a cap, their fairness towards the rest
 * of the pool, their refusals, their cancel and their drain.
 */
#include "helpers.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

/* order */

/* What the jobs of a serial lane saw.  Only the lane's jobs touch these
 * fields, one after another, so nothing guards them but the lane's order:
 * a race between two jobs would show as a lost count. */
struct ticket_log {
    unsigned expected;     /* the ticket the next job should carry */
    unsigned out_of_order; /* jobs whose ticket was not the expected one */
    unsigned count;        /* jobs run, a plain counter on purpose */
};

struct ticket_job {
    struct ticket_log *log;
    unsigned ticket;
};

static void job_check_ticket(void *ctx)
{
    struct ticket_job *job = ctx;
    struct ticket_log *log = job->log;
    unsigned count = log->count;

    if (job->ticket != log->expected)
        log->out_of_order++;
    /* Widens the window between the read and the write of count, so that
     * two of the lane's jobs running at once would lose an increment. */
    sched_yield();
    log->expected = job->ticket + 1;
    log->count = count + 1;
}

enum { PRODUCERS = 4, PER_PRODUCER = 500 };

/* Producers take a ticket and submit under one mutex, so the lane's
 * acceptance order is the ticket order. */
struct ticket_desk {
    pthread_mutex_t lock;
    unsigned next; /* lock */
    job_lane *lane;
    struct ticket_log *log;
    struct ticket_job *jobs; /* one per ticket */
    atomic_uint refused;     /* submits that did not return 0 */
};

static void *produce_tickets(void *arg)
{
    struct ticket_desk *desk = arg;

    for (unsigned i = 0; i < PER_PRODUCER; i++) {
        struct ticket_job *job;

        pthread_mutex_lock(&desk->lock);
        job = &desk->jobs[desk->next];
        *job = (struct ticket_job){desk->log, desk->next};
        desk->next++;
        if (job_submit_lane(desk->lane, job_check_ticket, job) != 0)
            atomic_fetch_add(&desk->refused, 1);
        pthread_mutex_unlock(&desk->lock);
    }
    return NULL;
}

START_TEST(serial_lane_runs_jobs_of_many_producers_in_acceptance_order)
{
    job_pool *pool = pool_new(4);
    struct ticket_log log = {0, 0, 0};
    struct ticket_desk desk;
    pthread_t producers[PRODUCERS];
    enum { TOTAL = PRODUCERS * PER_PRODUCER };
    job_lane_stats s;

    ck_assert_int_eq(pthread_mutex_init(&desk.lock, NULL), 0);
    desk.next = 0;
    desk.lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    desk.log = &log;
    desk.jobs = calloc(TOTAL, sizeof *desk.jobs);
    ck_assert_ptr_nonnull(desk.jobs);
    atomic_init(&desk.refused, 0);
    for (int i = 0; i < PRODUCERS; i++)
        ck_assert_int_eq(
            pthread_create(&producers[i], NULL, produce_tickets, &desk), 0);
    for (int i = 0; i < PRODUCERS; i++)
        ck_assert_int_eq(pthread_join(producers[i], NULL), 0);
    s = lane_stats(desk.lane);
    ck_assert_uint_le(s.running_peak, 1);
    ck_assert_int_eq(job_lane_destroy(desk.lane), 0);

    ck_assert_uint_eq(atomic_load(&desk.refused), 0);
    ck_assert_uint_eq(log.out_of_order, 0);
    ck_assert_uint_eq(log.expected, TOTAL);
    ck_assert_uint_eq(log.count, TOTAL);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    pthread_mutex_destroy(&desk.lock);
    free(desk.jobs);
}
END_TEST

/* width */

/* A lane of width 2 in a pool of 4: with every job blocked, two run and
 * the rest wait in the lane although two workers are free. */
START_TEST(lane_never_runs_more_jobs_than_its_width)
{
    job_pool *pool = pool_new(4);
    job_lane *lane = lane_new(pool, 2, 0, JOB_OVERFLOW_REJECT);
    struct countdown started;
    struct latch gate;
    atomic_ulong done = 0;
    struct gated_job job;
    job_lane_stats s;

    countdown_init(&started, 2);
    latch_init(&gate);
    job = (struct gated_job){&started, &gate, &done};
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(job_submit_lane(lane, job_gated, &job), 0);
    countdown_wait(&started);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.width, 2);
    ck_assert_uint_eq(s.running, 2);
    ck_assert_uint_eq(s.queued, 8);
    ck_assert_uint_eq(s.submitted, 10);
    ck_assert_uint_eq(s.completed, 0);
    ck_assert_uint_eq(atomic_load(&done), 0);

    /* The pool's shutdown drains the lane; the lane outlives it, so its
     * final counters can be read before destroy frees it. */
    latch_open(&gate);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_uint_eq(atomic_load(&done), 10);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.running_peak, 2);
    ck_assert_uint_eq(s.completed, 10);
    ck_assert_uint_eq(s.submitted, 10);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, 0);
    /* Eight waited at once at least; all ten, if none had started yet. */
    ck_assert_uint_ge(s.queued_peak, 8);
    ck_assert_uint_le(s.queued_peak, 10);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&gate);
    countdown_destroy(&started);
}
END_TEST

/* fairness */

/* A serial lane whose first job is held, with 50 more waiting: the lane
 * holds one worker of two, and the pool's other jobs and a second lane's
 * all run on the other while the first lane waits. */
START_TEST(a_blocked_lane_does_not_starve_the_pool_or_other_lanes)
{
    job_pool *pool = pool_new(2);
    job_lane *held = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    job_lane *other = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    struct countdown started, others;
    struct latch gate;
    struct gated_job blocker;
    atomic_ulong held_ran = 0;
    job_lane_stats s;

    countdown_init(&started, 1);
    countdown_init(&others, 110);
    latch_init(&gate);
    blocker = (struct gated_job){&started, &gate, NULL};
    ck_assert_int_eq(job_submit_lane(held, job_gated, &blocker), 0);
    countdown_wait(&started);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(job_submit_lane(held, job_count, &held_ran), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(
            job_submit_detached(pool, job_countdown_arrive, &others), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(job_submit_lane(other, job_countdown_arrive, &others),
                         0);
    countdown_wait(&others);
    ck_assert(!latch_is_open(&gate));
    ck_assert_uint_eq(atomic_load(&held_ran), 0);
    s = lane_stats(held);
    ck_assert_uint_eq(s.running, 1);
    ck_assert_uint_eq(s.queued, 50);

    latch_open(&gate);
    ck_assert_int_eq(job_lane_destroy(held), 0);
    ck_assert_uint_eq(atomic_load(&held_ran), 50);
    ck_assert_int_eq(job_lane_destroy(other), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&gate);
    countdown_destroy(&others);
    countdown_destroy(&started);
}
END_TEST

Suite *lane_suite(void)
{
    Suite *s = suite_create("lane");
    TCase *order = tcase_create("order");
    TCase *width = tcase_create("width");
    TCase *fairness = tcase_create("fairness");

    tcase_add_test(order,
                   serial_lane_runs_jobs_of_many_producers_in_acceptance_order);
    suite_add_tcase(s, order);
    tcase_add_test(width, lane_never_runs_more_jobs_than_its_width);
    suite_add_tcase(s, width);
    tcase_add_test(fairness,
                   a_blocked_lane_does_not_starve_the_pool_or_other_lanes);
    suite_add_tcase(s, fairness);
    return s;
}
