/* SPDX-License-Identifier: MIT */
/*
 * Stress with bounded time: many pools coming and going, producers racing
 * shutdown while jobs resubmit themselves, and the thread count coming back
 * to where it started.  test-pinned.sh runs the same suites on one CPU,
 * where the interleavings differ.
 */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* Worker threads in this process, named with the default prefix, once
 * they are expect. */
static unsigned count_threads(unsigned expect)
{
    return settled_named_threads("jobpool-", expect);
}

START_TEST(thousands_of_create_submit_destroy_cycles)
{
    unsigned before = count_named_threads("jobpool-");
    atomic_ulong executed = 0;
    unsigned long accepted = 0;
    const unsigned cycles = test_rounds(2000, 100);

    for (unsigned i = 0; i < cycles; i++) {
        job_pool *pool = pool_new(1 + i % 3);
        unsigned jobs = (i * 7919u) % 50;

        if (i % 100 == 0)
            ck_assert_uint_eq(count_threads(before + 1 + i % 3),
                              before + 1 + i % 3);

        for (unsigned j = 0; j < jobs; j++) {
            ck_assert_int_eq(job_submit_detached(pool, job_count, &executed),
                             0);
            accepted++;
        }
        if (i % 5 == 0)
            ck_assert_int_eq(job_pool_wait_idle(pool), 0);
        ck_assert_int_eq(job_pool_destroy(pool), 0);
    }
    ck_assert_uint_eq(atomic_load(&executed), accepted);
    ck_assert_uint_eq(count_threads(before), before);
}
END_TEST

/* Jobs that resubmit themselves while producers submit and the main thread
 * shuts the pool down: every accepted job (from outside or inside) ran,
 * and every refusal was ESHUTDOWN. */
struct respawn {
    job_pool *pool;
    atomic_ulong accepted;
    atomic_ulong executed;
    atomic_ulong refused;
    atomic_ulong wrong_error;
};

static void job_respawn(void *ctx)
{
    struct respawn *r = ctx;
    int rc;

    atomic_fetch_add(&r->executed, 1);
    rc = job_submit_detached(r->pool, job_respawn, r);
    if (rc == 0)
        atomic_fetch_add(&r->accepted, 1);
    else if (rc == ESHUTDOWN)
        atomic_fetch_add(&r->refused, 1);
    else
        atomic_fetch_add(&r->wrong_error, 1);
}

struct outside {
    struct respawn *r;
    struct countdown *going;
};

static void *submit_from_outside(void *arg)
{
    struct outside *o = arg;
    unsigned long n = 0;
    int rc;

    while ((rc = job_submit_detached(o->r->pool, job_respawn, o->r)) == 0) {
        atomic_fetch_add(&o->r->accepted, 1);
        if (++n == 50)
            countdown_arrive(o->going);
    }
    if (n < 50)
        countdown_arrive(o->going);
    if (rc == ESHUTDOWN)
        atomic_fetch_add(&o->r->refused, 1);
    else
        atomic_fetch_add(&o->r->wrong_error, 1);
    return NULL;
}

START_TEST(self_resubmitting_jobs_and_producers_race_shutdown)
{
    enum { PRODUCERS = 3 };
    unsigned before = count_named_threads("jobpool-");
    const unsigned rounds = test_rounds(40, 4);

    for (unsigned round = 0; round < rounds; round++) {
        struct respawn r = {.pool = pool_new(1 + round % 4)};
        struct countdown going;
        struct outside o = {&r, &going};
        pthread_t threads[PRODUCERS];
        job_pool_stats s;

        countdown_init(&going, PRODUCERS);
        for (int i = 0; i < PRODUCERS; i++)
            ck_assert_int_eq(
                pthread_create(&threads[i], NULL, submit_from_outside, &o), 0);
        countdown_wait(&going);
        ck_assert_int_eq(job_pool_shutdown(r.pool), 0);
        for (int i = 0; i < PRODUCERS; i++)
            ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        s = pool_stats(r.pool);
        ck_assert_uint_eq(atomic_load(&r.wrong_error), 0);
        ck_assert_uint_eq(atomic_load(&r.executed), atomic_load(&r.accepted));
        ck_assert_uint_eq(s.submitted, atomic_load(&r.accepted));
        ck_assert_uint_eq(s.rejected, atomic_load(&r.refused));
        ck_assert_uint_eq(s.threads, 0);
        ck_assert_int_eq(job_pool_destroy(r.pool), 0);
        countdown_destroy(&going);
    }
    ck_assert_uint_eq(count_threads(before), before);
}
END_TEST

/* Bursts separated by idle gaps of varying length, so that workers are
 * caught running, spinning and parked as a burst arrives. */
START_TEST(bursts_after_idle_gaps_all_run)
{
    job_pool *pool = pool_new(3);
    atomic_ulong executed = 0;
    unsigned long accepted = 0;
    unsigned seed = 12345;

    for (int burst = 0; burst < 300; burst++) {
        unsigned jobs = 1 + rand_r(&seed) % 64;
        struct timespec gap = {0, (long)(rand_r(&seed) % 200) * 1000};

        for (unsigned j = 0; j < jobs; j++) {
            ck_assert_int_eq(job_submit_detached(pool, job_count, &executed),
                             0);
            accepted++;
        }
        if (burst % 10 == 0) {
            ck_assert_int_eq(job_pool_wait_idle(pool), 0);
            ck_assert_uint_eq(atomic_load(&executed), accepted);
        }
        nanosleep(&gap, NULL); /* varies the workers' state, not a sync */
    }
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&executed), accepted);
}
END_TEST

Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("stress");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, thousands_of_create_submit_destroy_cycles);
    tcase_add_test(tc, self_resubmitting_jobs_and_producers_race_shutdown);
    tcase_add_test(tc, bursts_after_idle_gaps_all_run);
    suite_add_tcase(s, tc);
    return s;
}
