/* SPDX-License-Identifier: MIT */
/* Shutdown: drains what was accepted, refuses the rest, always returns. */
#include "helpers.h"

#include <errno.h>
#include <sched.h>
#include <unistd.h>

static void *shutdown_thread(void *arg)
{
    return (void *)(intptr_t)job_pool_shutdown(arg);
}

/* Submits until the pool refuses; returns how many were accepted.  Used to
 * learn, without sleeping, that a shutdown in another thread has begun. */
static unsigned long submit_until_refused(job_pool *pool, atomic_ulong *count)
{
    unsigned long accepted = 0;
    int rc;

    while ((rc = job_submit_detached(pool, job_count, count)) == 0) {
        accepted++;
        sched_yield();
    }
    ck_assert_int_eq(rc, ESHUTDOWN);
    return accepted;
}

START_TEST(shutdown_runs_every_accepted_job)
{
    job_pool *pool = pool_new(1);
    struct latch gate;
    struct countdown started;
    atomic_ulong counted = 0, done = 0;
    struct gated_job g = {&started, &gate, &done};
    unsigned long late;
    pthread_t stopper;
    void *rc;

    latch_init(&gate);
    countdown_init(&started, 1);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &g), 0);
    countdown_wait(&started);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);

    ck_assert_int_eq(pthread_create(&stopper, NULL, shutdown_thread, pool), 0);
    late = submit_until_refused(pool, &counted);
    /* Shutdown has begun and is waiting for the blocked job. */
    ck_assert_uint_eq(atomic_load(&counted), 0);
    latch_open(&gate);
    ck_assert_int_eq(pthread_join(stopper, &rc), 0);
    ck_assert_int_eq((int)(intptr_t)rc, 0);

    ck_assert_uint_eq(atomic_load(&done), 1);
    ck_assert_uint_eq(atomic_load(&counted), 10000 + late);
    ck_assert_uint_eq(pool_stats(pool).completed, 10001 + late);
    ck_assert_uint_eq(pool_stats(pool).threads, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

START_TEST(submit_after_shutdown_is_refused_and_counted)
{
    job_pool *pool = pool_new(2);
    atomic_ulong counted = 0;
    job_pool_stats s;

    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), ESHUTDOWN);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), ESHUTDOWN);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.submitted, 1);
    ck_assert_uint_eq(s.completed, 1);
    ck_assert_uint_eq(s.rejected, 2);
    ck_assert_uint_eq(s.threads, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
}
END_TEST

START_TEST(shutdown_again_returns_zero)
{
    job_pool *pool = pool_new(2);

    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_int_eq(job_pool_shutdown(NULL), EINVAL);
}
END_TEST

/* Several threads shut the pool down at once: each returns 0, and only
 * once the pool has stopped. */
struct stopper_result {
    job_pool *pool;
    int rc;
    job_pool_stats after;
};

static void *shutdown_and_look(void *arg)
{
    struct stopper_result *r = arg;

    r->rc = job_pool_shutdown(r->pool);
    job_pool_get_stats(r->pool, &r->after);
    return NULL;
}

START_TEST(concurrent_shutdowns_return_once_stopped)
{
    enum { STOPPERS = 4 };
    job_pool *pool = pool_new(2);
    struct latch gate;
    struct countdown started;
    atomic_ulong done = 0, counted = 0;
    struct gated_job g = {&started, &gate, &done};
    struct stopper_result results[STOPPERS];
    pthread_t threads[STOPPERS];

    latch_init(&gate);
    countdown_init(&started, 2);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &g), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &g), 0);
    countdown_wait(&started);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    for (int i = 0; i < STOPPERS; i++) {
        results[i] = (struct stopper_result){.pool = pool, .rc = -1};
        ck_assert_int_eq(
            pthread_create(&threads[i], NULL, shutdown_and_look, &results[i]),
            0);
    }
    submit_until_refused(pool, &counted);
    latch_open(&gate);
    for (int i = 0; i < STOPPERS; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(results[i].rc, 0);
        ck_assert_uint_eq(results[i].after.threads, 0);
        ck_assert_uint_eq(results[i].after.queued, 0);
        ck_assert_uint_eq(results[i].after.running, 0);
        ck_assert_uint_eq(results[i].after.completed,
                          results[i].after.submitted);
    }
    ck_assert_uint_eq(atomic_load(&done), 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

/* A job running during the drain submits to its own pool: refused. */
struct late_submitter {
    job_pool *pool;
    struct latch *gate;
    struct countdown *started;
    int rc;
    atomic_ulong never;
};

static void job_submit_after_gate(void *ctx)
{
    struct late_submitter *l = ctx;

    countdown_arrive(l->started);
    latch_wait(l->gate);
    l->rc = job_submit_detached(l->pool, job_count, &l->never);
}

START_TEST(submit_from_a_worker_during_drain_is_refused)
{
    job_pool *pool = pool_new(1);
    struct latch gate;
    struct countdown started;
    struct late_submitter l = {pool, &gate, &started, -1, 0};
    atomic_ulong counted = 0;
    pthread_t stopper;

    latch_init(&gate);
    countdown_init(&started, 1);
    ck_assert_int_eq(job_submit_detached(pool, job_submit_after_gate, &l), 0);
    countdown_wait(&started);
    ck_assert_int_eq(pthread_create(&stopper, NULL, shutdown_thread, pool), 0);
    submit_until_refused(pool, &counted);
    latch_open(&gate);
    ck_assert_int_eq(pthread_join(stopper, NULL), 0);
    ck_assert_int_eq(l.rc, ESHUTDOWN);
    ck_assert_uint_eq(atomic_load(&l.never), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

/* A worker may not wait for its own pool. */
struct self_wait {
    job_pool *pool;
    int shutdown_rc, wait_rc, destroy_rc;
};

static void job_wait_for_own_pool(void *ctx)
{
    struct self_wait *w = ctx;

    w->shutdown_rc = job_pool_shutdown(w->pool);
    w->wait_rc = job_pool_wait_idle(w->pool);
    w->destroy_rc = job_pool_destroy(w->pool);
}

START_TEST(waiting_from_a_worker_is_edeadlk_and_changes_nothing)
{
    job_pool *pool = pool_new(2);
    struct self_wait w = {pool, -1, -1, -1};
    atomic_ulong counted = 0;

    ck_assert_int_eq(job_submit_detached(pool, job_wait_for_own_pool, &w), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(w.shutdown_rc, EDEADLK);
    ck_assert_int_eq(w.wait_rc, EDEADLK);
    ck_assert_int_eq(w.destroy_rc, EDEADLK);
    /* Still running and accepting. */
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    ck_assert_uint_eq(pool_stats(pool).threads, 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

/* Producers race shutdown: whatever was accepted ran, nothing refused ran. */
struct racer {
    job_pool *pool;
    atomic_ulong *executed;
    struct countdown *running;
    unsigned long accepted;
    unsigned long refused;
};

/* Past this many jobs a producer gives its CPU away before each submit,
 * so that the shutdown gets to run where threads take turns on one CPU
 * (valgrind), rather than after millions of queued jobs. */
enum { RACE_YIELD_AFTER = 10000 };

static void *race_shutdown(void *arg)
{
    struct racer *r = arg;
    int rc;

    while ((rc = job_submit_detached(r->pool, job_count, r->executed)) == 0) {
        if (++r->accepted == 100)
            countdown_arrive(r->running);
        if (r->accepted >= RACE_YIELD_AFTER)
            (void)sched_yield();
    }
    ck_assert_int_eq(rc, ESHUTDOWN);
    r->refused++;
    if (r->accepted < 100)
        countdown_arrive(r->running);
    return NULL;
}

START_TEST(producers_racing_shutdown_lose_nothing)
{
    enum { PRODUCERS = 4 };
    const unsigned rounds = test_rounds(30, 3);

    for (unsigned round = 0; round < rounds; round++) {
        job_pool *pool = pool_new(1 + round % 3);
        atomic_ulong executed = 0;
        struct countdown running;
        struct racer racers[PRODUCERS];
        pthread_t threads[PRODUCERS];
        unsigned long accepted = 0, refused = 0;
        job_pool_stats s;

        countdown_init(&running, PRODUCERS);
        for (int i = 0; i < PRODUCERS; i++) {
            racers[i] = (struct racer){pool, &executed, &running, 0, 0};
            ck_assert_int_eq(
                pthread_create(&threads[i], NULL, race_shutdown, &racers[i]),
                0);
        }
        countdown_wait(&running);
        ck_assert_int_eq(job_pool_shutdown(pool), 0);
        for (int i = 0; i < PRODUCERS; i++) {
            ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
            accepted += racers[i].accepted;
            refused += racers[i].refused;
        }
        s = pool_stats(pool);
        ck_assert_uint_eq(atomic_load(&executed), accepted);
        ck_assert_uint_eq(s.submitted, accepted);
        ck_assert_uint_eq(s.completed, accepted);
        ck_assert_uint_eq(s.rejected, refused);
        ck_assert_uint_eq(refused, PRODUCERS);
        ck_assert_int_eq(job_pool_destroy(pool), 0);
        ck_assert_uint_eq(atomic_load(&executed), accepted);
        countdown_destroy(&running);
    }
}
END_TEST

/* Shutdown of a pool whose workers are all parked (the missed wake-up
 * case), and of one that has just been handed a job. */
START_TEST(shutdown_wakes_parked_workers)
{
    for (int round = 0; round < 100; round++) {
        job_pool *pool = pool_new(1 + round % 4);
        atomic_ulong counted = 0;

        if (round % 2 == 0) {
            ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
            ck_assert_int_eq(job_pool_wait_idle(pool), 0);
        }
        if (round % 4 < 2)
            usleep(300); /* let the workers' spin run out so they park */
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
        ck_assert_int_eq(job_pool_shutdown(pool), 0);
        ck_assert_uint_eq(atomic_load(&counted), 1 + (round % 2 == 0));
        ck_assert_int_eq(job_pool_destroy(pool), 0);
    }
}
END_TEST

Suite *shutdown_suite(void)
{
    Suite *s = suite_create("shutdown");
    TCase *tc = tcase_create("shutdown");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, shutdown_runs_every_accepted_job);
    tcase_add_test(tc, submit_after_shutdown_is_refused_and_counted);
    tcase_add_test(tc, shutdown_again_returns_zero);
    tcase_add_test(tc, concurrent_shutdowns_return_once_stopped);
    tcase_add_test(tc, submit_from_a_worker_during_drain_is_refused);
    tcase_add_test(tc, waiting_from_a_worker_is_edeadlk_and_changes_nothing);
    tcase_add_test(tc, producers_racing_shutdown_lose_nothing);
    tcase_add_test(tc, shutdown_wakes_parked_workers);
    suite_add_tcase(s, tc);
    return s;
}
