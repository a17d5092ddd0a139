/* SPDX-License-Identifier: MIT */
/*
 * Groups: counts of jobs across pools and lanes, with a wait, notifies,
 * refusals and reuse.
 */
#include "helpers.h"

#include <errno.h>

static job_group *group_new(void)
{
    job_group *g = NULL;

    ck_assert_int_eq(job_group_create(&g), 0);
    ck_assert_ptr_nonnull(g);
    return g;
}

/* Job: sets the plain flag ctx points to.  No atomics on purpose: a
 * wait that returns 0 makes the jobs' writes visible. */
static void job_set_flag(void *ctx)
{
    *(int *)ctx = 1;
}

/* wait */

START_TEST(wait_returns_once_jobs_on_two_pools_and_a_lane_have_run)
{
    job_pool *one = pool_new(2), *two = pool_new(1);
    job_lane *lane = lane_new(one, 1, 0, JOB_OVERFLOW_REJECT);
    job_group *g = group_new();
    enum { EACH = 20 };
    int flags[3 * EACH] = {0};

    for (int i = 0; i < EACH; i++) {
        ck_assert_int_eq(job_group_submit(g, one, job_set_flag, &flags[i]), 0);
        ck_assert_int_eq(
            job_group_submit(g, two, job_set_flag, &flags[EACH + i]), 0);
        ck_assert_int_eq(
            job_group_submit_lane(g, lane, job_set_flag, &flags[2 * EACH + i]),
            0);
    }
    ck_assert_int_eq(job_group_wait(g, JOB_WAIT_FOREVER), 0);
    for (int i = 0; i < 3 * EACH; i++)
        ck_assert_msg(flags[i] == 1, "job %d had not run", i);
    ck_assert_int_eq(job_group_destroy(g), 0);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(two), 0);
    ck_assert_int_eq(job_pool_destroy(one), 0);
}
END_TEST

/* A pending job: a look times out, destroy is refused; once it has
 * returned the group is empty again and can be reused. */
START_TEST(a_pending_job_keeps_the_group_busy_until_it_returns)
{
    job_pool *pool = pool_new(2);
    job_group *g = group_new();
    struct countdown started;
    struct latch gate;
    struct gated_job job;
    int flag = 0;

    ck_assert_int_eq(job_group_wait(g, 0), 0);
    countdown_init(&started, 1);
    latch_init(&gate);
    job = (struct gated_job){&started, &gate, NULL};
    ck_assert_int_eq(job_group_submit(g, pool, job_gated, &job), 0);
    countdown_wait(&started);
    ck_assert_int_eq(job_group_wait(g, 0), ETIMEDOUT);
    ck_assert_int_eq(job_group_destroy(g), EBUSY);
    latch_open(&gate);
    ck_assert_int_eq(job_group_wait(g, JOB_WAIT_FOREVER), 0);
    ck_assert_int_eq(job_group_wait(g, 0), 0);

    /* Reuse: the emptied group counts the next jobs. */
    ck_assert_int_eq(job_group_submit(g, pool, job_set_flag, &flag), 0);
    ck_assert_int_eq(job_group_wait(g, JOB_WAIT_FOREVER), 0);
    ck_assert_int_eq(flag, 1);
    ck_assert_int_eq(job_group_destroy(g), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&gate);
    countdown_destroy(&started);
}
END_TEST

/* A group job waiting for its own group would wait for itself. */
struct self_wait {
    job_group *group;
    atomic_int rc;
};

static void job_wait_own_group(void *ctx)
{
    struct self_wait *w = ctx;

    atomic_store(&w->rc, job_group_wait(w->group, JOB_WAIT_FOREVER));
}

START_TEST(waiting_from_a_job_of_the_group_is_edeadlk)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    struct self_wait w, wl;

    w.group = group_new();
    atomic_init(&w.rc, -1);
    wl.group = w.group;
    atomic_init(&wl.rc, -1);
    ck_assert_int_eq(job_group_submit(w.group, pool, job_wait_own_group, &w),
                     0);
    ck_assert_int_eq(
        job_group_submit_lane(w.group, lane, job_wait_own_group, &wl), 0);
    ck_assert_int_eq(job_group_wait(w.group, JOB_WAIT_FOREVER), 0);
    ck_assert_int_eq(atomic_load(&w.rc), EDEADLK);
    ck_assert_int_eq(atomic_load(&wl.rc), EDEADLK);
    ck_assert_int_eq(job_group_destroy(w.group), 0);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

START_TEST(group_calls_reject_null_arguments)
{
    job_pool *pool = pool_new(1);
    job_group *g = group_new();
    atomic_ulong ran = 0;

    ck_assert_int_eq(job_group_create(NULL), EINVAL);
    ck_assert_int_eq(job_group_wait(NULL, 0), EINVAL);
    ck_assert_int_eq(job_group_notify(NULL, pool, job_count, &ran), EINVAL);
    ck_assert_int_eq(job_group_notify(g, NULL, job_count, &ran), EINVAL);
    ck_assert_int_eq(job_group_notify(g, pool, NULL, &ran), EINVAL);
    ck_assert_int_eq(job_group_submit(g, pool, NULL, &ran), EINVAL);
    ck_assert_int_eq(job_group_submit(g, NULL, job_count, &ran), EINVAL);
    ck_assert_int_eq(job_group_submit_lane(g, NULL, job_count, &ran), EINVAL);
    /* Refused submits left nothing pending. */
    ck_assert_int_eq(job_group_wait(g, 0), 0);
    ck_assert_int_eq(job_group_destroy(NULL), 0);
    ck_assert_int_eq(job_group_destroy(g), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&ran), 0);
}
END_TEST

/* notify */

START_TEST(notify_runs_once_after_the_group_empties)
{
    job_pool *pool = pool_new(2);
    job_group *g = group_new();
    struct countdown started, notified;
    struct latch gate;
    struct gated_job job;
    atomic_ulong notifies = 0;

    countdown_init(&started, 1);
    countdown_init(&notified, 1);
    latch_init(&gate);
    job = (struct gated_job){&started, &gate, NULL};
    ck_assert_int_eq(job_group_submit(g, pool, job_gated, &job), 0);
    countdown_wait(&started);
    ck_assert_int_eq(job_group_notify(g, pool, job_count, &notifies), 0);
    ck_assert_int_eq(job_group_notify(g, pool, job_countdown_arrive, &notified),
                     0);
    /* A notify not yet submitted keeps the group from being destroyed. */
    ck_assert_int_eq(job_group_destroy(g), EBUSY);
    grace();
    ck_assert_uint_eq(atomic_load(&notifies), 0);

    latch_open(&gate);
    countdown_wait(&notified);
    /* Both notifies were submitted when the job emptied the group; the
     * pool's drain runs the first if it has not run yet. */
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_uint_eq(atomic_load(&notifies), 1);
    ck_assert_int_eq(job_group_destroy(g), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&gate);
    countdown_destroy(&notified);
    countdown_destroy(&started);
}
END_TEST

START_TEST(notify_on_an_empty_group_is_submitted_at_once)
{
    job_pool *pool = pool_new(1);
    job_group *g = group_new();
    struct countdown notified;

    countdown_init(&notified, 1);
    ck_assert_int_eq(job_group_notify(g, pool, job_countdown_arrive, &notified),
                     0);
    countdown_wait(&notified);
    ck_assert_int_eq(job_group_destroy(g), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&notified);
}
END_TEST

/* Job: records the thread that ran it in the pthread_t ctx points to,
 * then arrives at the countdown that follows it. */
struct where {
    pthread_t thread;
    struct countdown ran;
};

static void job_note_thread(void *ctx)
{
    struct where *w = ctx;

    w->thread = pthread_self();
    countdown_arrive(&w->ran);
}

/* The group empties on a worker of one pool; the notify's pool has shut
 * down by then, so the notify runs in that worker instead of being lost. */
START_TEST(a_notify_its_pool_refuses_runs_in_the_thread_that_empties_the_group)
{
    job_pool *work = pool_new(1), *closed = pool_new(1);
    job_group *g = group_new();
    struct where emptier, notify;
    struct countdown started;
    struct latch gate;
    struct gated_job job;

    countdown_init(&started, 1);
    countdown_init(&emptier.ran, 1);
    countdown_init(&notify.ran, 1);
    latch_init(&gate);
    job = (struct gated_job){&started, &gate, NULL};
    ck_assert_int_eq(job_group_submit(g, work, job_gated, &job), 0);
    countdown_wait(&started);
    ck_assert_int_eq(job_group_notify(g, closed, job_note_thread, &notify), 0);
    ck_assert_int_eq(job_pool_shutdown(closed), 0);
    latch_open(&gate);
    countdown_wait(&notify.ran);
    /* The pool's single worker emptied the group; ask it who it is. */
    ck_assert_int_eq(job_submit_detached(work, job_note_thread, &emptier), 0);
    countdown_wait(&emptier.ran);
    ck_assert(pthread_equal(notify.thread, emptier.thread));
    ck_assert_int_eq(job_group_destroy(g), 0);

    ck_assert_int_eq(job_pool_destroy(closed), 0);
    ck_assert_int_eq(job_pool_destroy(work), 0);
    latch_destroy(&gate);
    countdown_destroy(&notify.ran);
    countdown_destroy(&emptier.ran);
    countdown_destroy(&started);
}
END_TEST

/* On an empty group the notify is a plain submit, with its refusals. */
START_TEST(notify_on_an_empty_group_returns_the_pools_refusal)
{
    job_pool *pool = pool_new(1);
    job_group *g = group_new();
    atomic_ulong ran = 0;

    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_group_notify(g, pool, job_count, &ran), ESHUTDOWN);
    ck_assert_int_eq(job_group_destroy(g), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&ran), 0);
}
END_TEST

/* A job the full pool runs in the caller has left the group when the
 * submit returns. */
START_TEST(a_group_job_run_by_its_caller_has_returned_with_the_call)
{
    job_pool *pool = pool_bounded(1, 1, JOB_OVERFLOW_CALLER_RUNS);
    job_group *g = group_new();
    atomic_ulong queued = 0;
    struct blockers b;
    int flag = 0;

    blockers_init(&b);
    blockers_add(&b, pool, 1);
    ck_assert_int_eq(job_group_submit(g, pool, job_count, &queued), 0);
    ck_assert_int_eq(job_group_submit(g, pool, job_set_flag, &flag), 0);
    ck_assert_int_eq(flag, 1);
    ck_assert_int_eq(job_group_wait(g, 0), ETIMEDOUT);
    blockers_open(&b);
    ck_assert_int_eq(job_group_wait(g, JOB_WAIT_FOREVER), 0);
    ck_assert_uint_eq(atomic_load(&queued), 1);
    ck_assert_int_eq(job_group_destroy(g), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* cancel */

struct handed {
    unsigned calls;
    unsigned wrong; /* with another fn or ctx than the caller's */
    atomic_ulong *ctx;
};

static void handback_check(job_fn fn, void *ctx, void *arg)
{
    struct handed *h = arg;

    if (fn != job_count || ctx != h->ctx)
        h->wrong++;
    h->calls++;
}

/* The pool's only worker is held by a job outside the group, so the
 * group's jobs wait in the queue; a cancel hands them back with the
 * caller's fn and ctx and they leave the group as it does. */
START_TEST(cancelled_jobs_leave_the_group_with_their_own_fn)
{
    job_pool *pool = pool_new(1);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    job_group *g = group_new();
    atomic_ulong ran = 0;
    struct handed h = {0, 0, &ran};
    struct blockers b;
    size_t count = 0;

    blockers_init(&b);
    blockers_add(&b, pool, 1);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(job_group_submit(g, pool, job_count, &ran), 0);
        ck_assert_int_eq(job_group_submit_lane(g, lane, job_count, &ran), 0);
    }
    ck_assert_int_eq(job_group_wait(g, 0), ETIMEDOUT);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_check, &h, &count),
                     0);
    ck_assert_uint_eq(count, 6);
    ck_assert_uint_eq(h.calls, 6);
    ck_assert_uint_eq(h.wrong, 0);
    ck_assert_int_eq(job_group_wait(g, 0), 0);
    ck_assert_int_eq(job_group_destroy(g), 0);

    blockers_open(&b);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&ran), 0);
    blockers_destroy(&b);
}
END_TEST

Suite *group_suite(void)
{
    Suite *s = suite_create("group");
    TCase *wait = tcase_create("wait");
    TCase *notify = tcase_create("notify");
    TCase *cancel = tcase_create("cancel");

    tcase_add_test(wait,
                   wait_returns_once_jobs_on_two_pools_and_a_lane_have_run);
    tcase_add_test(wait, a_pending_job_keeps_the_group_busy_until_it_returns);
    tcase_add_test(wait, waiting_from_a_job_of_the_group_is_edeadlk);
    tcase_add_test(wait, group_calls_reject_null_arguments);
    tcase_add_test(wait,
                   a_group_job_run_by_its_caller_has_returned_with_the_call);
    suite_add_tcase(s, wait);
    tcase_add_test(notify, notify_runs_once_after_the_group_empties);
    tcase_add_test(notify, notify_on_an_empty_group_is_submitted_at_once);
    tcase_add_test(
        notify,
        a_notify_its_pool_refuses_runs_in_the_thread_that_empties_the_group);
    tcase_add_test(notify, notify_on_an_empty_group_returns_the_pools_refusal);
    suite_add_tcase(s, notify);
    tcase_add_test(cancel, cancelled_jobs_leave_the_group_with_their_own_fn);
    suite_add_tcase(s, cancel);
    return s;
}
