/* SPDX-License-Identifier: MIT */
/* wait_idle: returns at an instant when nothing is queued or running. */
#include "helpers.h"

#include <errno.h>
#include <unistd.h>

START_TEST(wait_idle_rejects_null)
{
    ck_assert_int_eq(job_pool_wait_idle(NULL), EINVAL);
}
END_TEST

START_TEST(wait_idle_on_an_idle_pool_returns_at_once)
{
    job_pool *pool = pool_new(2);

    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

START_TEST(wait_idle_returns_after_every_job_completed)
{
    job_pool *pool = pool_new(2);
    atomic_ulong counted = 0;
    const unsigned rounds = test_rounds(50, 5);

    for (unsigned round = 1; round <= rounds; round++) {
        job_pool_stats s;

        for (int i = 0; i < 1000; i++)
            ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
        ck_assert_int_eq(job_pool_wait_idle(pool), 0);
        ck_assert_uint_eq(atomic_load(&counted), round * 1000ul);
        s = pool_stats(pool);
        ck_assert_uint_eq(s.completed, round * 1000ul);
        ck_assert_uint_eq(s.queued, 0);
        ck_assert_uint_eq(s.running, 0);
    }
    /* The pool stays usable. */
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), rounds * 1000ul + 1);
}
END_TEST

/* A waiter blocked behind a gated job: it must not return until the job
 * has finished.  The pause before opening the gate gives an early return
 * the chance to happen; the assertions hold however long it is. */
struct waiter {
    job_pool *pool;
    atomic_ulong *done;
    int rc;
    unsigned long done_when_returned;
};

static void *wait_idle_thread(void *arg)
{
    struct waiter *w = arg;

    w->rc = job_pool_wait_idle(w->pool);
    w->done_when_returned = atomic_load(w->done);
    return NULL;
}

START_TEST(wait_idle_waits_for_running_jobs)
{
    job_pool *pool = pool_new(2);
    struct latch gate;
    struct countdown started;
    atomic_ulong done = 0;
    struct gated_job g = {&started, &gate, &done};
    struct waiter w = {pool, &done, -1, 0};
    pthread_t t;

    latch_init(&gate);
    countdown_init(&started, 2);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &g), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &g), 0);
    countdown_wait(&started);
    ck_assert_int_eq(pthread_create(&t, NULL, wait_idle_thread, &w), 0);
    usleep(20000);
    ck_assert_uint_eq(pool_stats(pool).running, 2);
    latch_open(&gate);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(w.rc, 0);
    ck_assert_uint_eq(w.done_when_returned, 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

/* Many waiters at once, while jobs keep arriving in bursts. */
START_TEST(many_waiters_all_return)
{
    enum { WAITERS = 6 };
    job_pool *pool = pool_new(2);
    atomic_ulong counted = 0;
    const unsigned rounds = test_rounds(50, 5);

    for (unsigned round = 0; round < rounds; round++) {
        struct waiter w[WAITERS];
        pthread_t t[WAITERS];

        for (int i = 0; i < 500; i++)
            ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
        for (int i = 0; i < WAITERS; i++) {
            w[i] = (struct waiter){pool, &counted, -1, 0};
            ck_assert_int_eq(
                pthread_create(&t[i], NULL, wait_idle_thread, &w[i]), 0);
        }
        for (int i = 0; i < WAITERS; i++) {
            ck_assert_int_eq(pthread_join(t[i], NULL), 0);
            ck_assert_int_eq(w[i].rc, 0);
            ck_assert_uint_eq(w[i].done_when_returned, (round + 1) * 500ul);
        }
    }
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

START_TEST(wait_idle_after_shutdown_returns_zero)
{
    job_pool *pool = pool_new(1);
    atomic_ulong counted = 0;

    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

Suite *wait_idle_suite(void)
{
    Suite *s = suite_create("wait_idle");
    TCase *tc = tcase_create("wait_idle");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, wait_idle_rejects_null);
    tcase_add_test(tc, wait_idle_on_an_idle_pool_returns_at_once);
    tcase_add_test(tc, wait_idle_returns_after_every_job_completed);
    tcase_add_test(tc, wait_idle_waits_for_running_jobs);
    tcase_add_test(tc, many_waiters_all_return);
    tcase_add_test(tc, wait_idle_after_shutdown_returns_zero);
    suite_add_tcase(s, tc);
    return s;
}
