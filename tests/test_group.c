/* SPDX-License-Identifier: MIT */
/*
 * Groups: counts of jobs across pools and lanes, with a wait, notifies,
 * refusals and reuse.
 */
#include "helpers.h"

#include <errno.h>
#include <sched.h>

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

/* A bounded wait on a group whose job is held returns ETIMEDOUT, and the
 * job is still held when it does: the gate opens only afterwards. */
START_TEST(a_bounded_wait_times_out_while_a_job_is_held)
{
    job_pool *pool = pool_new(1);
    job_group *g = group_new();
    atomic_ulong done = 0, behind = 0;
    struct countdown started;
    struct latch gate;
    struct gated_job job;

    countdown_init(&started, 1);
    latch_init(&gate);
    job = (struct gated_job){&started, &gate, &done};
    ck_assert_int_eq(job_group_submit(g, pool, job_gated, &job), 0);
    countdown_wait(&started);
    /* Queued behind the held job on the pool's only worker. */
    ck_assert_int_eq(job_group_submit(g, pool, job_count, &behind), 0);
    ck_assert_int_eq(job_group_wait(g, 10 * MS), ETIMEDOUT);
    ck_assert_int_eq(job_group_wait(g, 0), ETIMEDOUT);
    ck_assert_uint_eq(atomic_load(&done), 0);
    ck_assert_uint_eq(atomic_load(&behind), 0);

    latch_open(&gate);
    ck_assert_int_eq(job_group_wait(g, JOB_WAIT_FOREVER), 0);
    ck_assert_uint_eq(atomic_load(&done), 1);
    ck_assert_uint_eq(atomic_load(&behind), 1);
    ck_assert_int_eq(job_group_destroy(g), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&gate);
    countdown_destroy(&started);
}
END_TEST

/* races */

/*
 * Round after round, three threads submit through one group to two pools
 * and a lane, while a thread registers notifies on the group and another
 * waits on it over and over.  After each round's final wait every
 * accepted job has run exactly once; every accepted notify runs exactly
 * once (some when the group empties, some at once on an empty group);
 * every wait returns 0.
 */
enum { RACE_SUBMITTERS = 3, RACE_JOBS = 40, RACE_NOTIFIES = 5 };

struct race_notice {
    struct group_race *race;
    unsigned index;
};

struct group_race {
    job_pool *pools[2];
    job_lane *lane;
    job_group *group;
    atomic_uchar ran[RACE_SUBMITTERS * RACE_JOBS];
    int rcs[RACE_SUBMITTERS * RACE_JOBS]; /* read after the joins */
    int notify_rcs[RACE_NOTIFIES];        /* read after the join */
    struct race_notice notices[RACE_NOTIFIES];
    struct latch go;
    atomic_bool stop;
    atomic_ulong waits, wait_failures;
    /* The notifies that ran, each counted in notified[k]. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned notified[RACE_NOTIFIES]; /* lock */
    unsigned notified_total;          /* lock */
};

static void job_race_mark(void *ctx)
{
    atomic_fetch_add((atomic_uchar *)ctx, 1);
}

static void job_race_notified(void *ctx)
{
    struct race_notice *n = ctx;
    struct group_race *r = n->race;

    pthread_mutex_lock(&r->lock);
    r->notified[n->index]++;
    r->notified_total++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

struct race_submitter {
    struct group_race *race;
    unsigned index;
};

static void *race_submit(void *arg)
{
    struct race_submitter *s = arg;
    struct group_race *r = s->race;

    latch_wait(&r->go);
    for (unsigned i = 0; i < RACE_JOBS; i++) {
        unsigned k = s->index * RACE_JOBS + i;

        if (i % 3 == 2)
            r->rcs[k] = job_group_submit_lane(r->group, r->lane, job_race_mark,
                                              &r->ran[k]);
        else
            r->rcs[k] = job_group_submit(r->group, r->pools[i % 3],
                                         job_race_mark, &r->ran[k]);
    }
    return NULL;
}

static void *race_notify(void *arg)
{
    struct group_race *r = arg;

    latch_wait(&r->go);
    for (unsigned k = 0; k < RACE_NOTIFIES; k++) {
        r->notify_rcs[k] = job_group_notify(r->group, r->pools[k % 2],
                                            job_race_notified, &r->notices[k]);
        sched_yield();
    }
    return NULL;
}

static void *race_wait(void *arg)
{
    struct group_race *r = arg;

    latch_wait(&r->go);
    do {
        if (job_group_wait(r->group, JOB_WAIT_FOREVER) != 0)
            atomic_fetch_add(&r->wait_failures, 1);
        atomic_fetch_add(&r->waits, 1);
        /* A wait on an empty group returns at once: let the submitters
         * run (under valgrind, one thread runs at a time). */
        sched_yield();
    } while (!atomic_load(&r->stop));
    return NULL;
}

START_TEST(group_wait_and_notify_race_submits_from_several_threads)
{
    const unsigned rounds = test_rounds(100, 10);
    static struct group_race r;
    struct race_submitter subs[RACE_SUBMITTERS];
    pthread_t submitters[RACE_SUBMITTERS], notifier, waiter;
    unsigned long accepted = 0, notifies = 0;

    r.pools[0] = pool_new(2);
    r.pools[1] = pool_new(1);
    r.lane = lane_new(r.pools[0], 1, 0, JOB_OVERFLOW_REJECT);
    r.group = group_new();
    ck_assert_int_eq(pthread_mutex_init(&r.lock, NULL), 0);
    ck_assert_int_eq(pthread_cond_init(&r.cond, NULL), 0);
    for (unsigned k = 0; k < RACE_NOTIFIES; k++)
        r.notices[k] = (struct race_notice){&r, k};
    for (unsigned round = 0; round < rounds; round++) {
        for (unsigned k = 0; k < RACE_SUBMITTERS * RACE_JOBS; k++) {
            atomic_init(&r.ran[k], 0);
            r.rcs[k] = -1;
        }
        pthread_mutex_lock(&r.lock);
        for (unsigned k = 0; k < RACE_NOTIFIES; k++)
            r.notified[k] = 0;
        r.notified_total = 0;
        pthread_mutex_unlock(&r.lock);
        latch_init(&r.go);
        atomic_init(&r.stop, false);
        atomic_init(&r.wait_failures, 0);
        for (unsigned s = 0; s < RACE_SUBMITTERS; s++) {
            subs[s] = (struct race_submitter){&r, s};
            ck_assert_int_eq(
                pthread_create(&submitters[s], NULL, race_submit, &subs[s]), 0);
        }
        ck_assert_int_eq(pthread_create(&notifier, NULL, race_notify, &r), 0);
        ck_assert_int_eq(pthread_create(&waiter, NULL, race_wait, &r), 0);
        latch_open(&r.go);
        for (unsigned s = 0; s < RACE_SUBMITTERS; s++)
            ck_assert_int_eq(pthread_join(submitters[s], NULL), 0);
        ck_assert_int_eq(pthread_join(notifier, NULL), 0);
        ck_assert_int_eq(job_group_wait(r.group, JOB_WAIT_FOREVER), 0);
        /* The group is empty from here on: the waiter's next wait
         * returns at once. */
        atomic_store(&r.stop, true);
        ck_assert_int_eq(pthread_join(waiter, NULL), 0);
        ck_assert_uint_eq(atomic_load(&r.wait_failures), 0);

        for (unsigned k = 0; k < RACE_SUBMITTERS * RACE_JOBS; k++) {
            ck_assert_msg(r.rcs[k] == 0, "round %u: submit %u returned %d",
                          round, k, r.rcs[k]);
            ck_assert_msg(atomic_load(&r.ran[k]) == 1,
                          "round %u: job %u ran %u times", round, k,
                          (unsigned)atomic_load(&r.ran[k]));
            accepted++;
        }
        /* Each notify was submitted when it was made (the group was
         * empty) or when the group emptied; wait until they have all run,
         * then for the pools to be idle, so that one run twice shows. */
        for (unsigned k = 0; k < RACE_NOTIFIES; k++)
            ck_assert_int_eq(r.notify_rcs[k], 0);
        pthread_mutex_lock(&r.lock);
        while (r.notified_total < RACE_NOTIFIES)
            pthread_cond_wait(&r.cond, &r.lock);
        pthread_mutex_unlock(&r.lock);
        ck_assert_int_eq(job_pool_wait_idle(r.pools[0]), 0);
        ck_assert_int_eq(job_pool_wait_idle(r.pools[1]), 0);
        pthread_mutex_lock(&r.lock);
        for (unsigned k = 0; k < RACE_NOTIFIES; k++)
            ck_assert_msg(r.notified[k] == 1, "round %u: notify %u ran %u",
                          round, k, r.notified[k]);
        ck_assert_uint_eq(r.notified_total, RACE_NOTIFIES);
        pthread_mutex_unlock(&r.lock);
        notifies += RACE_NOTIFIES;
        latch_destroy(&r.go);
    }
    ck_assert_uint_eq(accepted, rounds * RACE_SUBMITTERS * RACE_JOBS);
    ck_assert_uint_eq(notifies, rounds * RACE_NOTIFIES);
    ck_assert_uint_ge(atomic_load(&r.waits), rounds);
    ck_assert_int_eq(job_group_destroy(r.group), 0);
    ck_assert_int_eq(job_lane_destroy(r.lane), 0);
    ck_assert_int_eq(job_pool_destroy(r.pools[1]), 0);
    ck_assert_int_eq(job_pool_destroy(r.pools[0]), 0);
    pthread_cond_destroy(&r.cond);
    pthread_mutex_destroy(&r.lock);
}
END_TEST

Suite *group_suite(void)
{
    Suite *s = suite_create("group");
    TCase *wait = tcase_create("wait");
    TCase *notify = tcase_create("notify");
    TCase *cancel = tcase_create("cancel");
    TCase *races = tcase_create("races");

    tcase_add_test(wait,
                   wait_returns_once_jobs_on_two_pools_and_a_lane_have_run);
    tcase_add_test(wait, a_pending_job_keeps_the_group_busy_until_it_returns);
    tcase_add_test(wait, waiting_from_a_job_of_the_group_is_edeadlk);
    tcase_add_test(wait, group_calls_reject_null_arguments);
    tcase_add_test(wait, a_bounded_wait_times_out_while_a_job_is_held);
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
    tcase_set_timeout(races, 60);
    tcase_add_test(races,
                   group_wait_and_notify_race_submits_from_several_threads);
    suite_add_tcase(s, races);
    return s;
}
