/* SPDX-License-Identifier: MIT */
/*
 * Every public function given NULL, an absurd value, or a call in the wrong
 * state returns its documented error and leaves a usable pool usable.
 */
#include "helpers.h"

#include <errno.h>
#include <string.h>

static void job_nothing(void *ctx)
{
    (void)ctx;
}

/* Each misuse takes a live, running pool it must not disturb. */
struct misuse {
    const char *what;
    int (*call)(job_pool *pool);
    int expect;
};

static int create_null_out(job_pool *pool)
{
    (void)pool;
    return job_pool_create(NULL, NULL);
}

static int create_too_many_threads(job_pool *pool)
{
    job_pool_options opts;

    (void)pool;
    job_pool_options_init(&opts);
    opts.threads = JOB_POOL_THREADS_MAX + 1;
    return job_pool_create(&pool, &opts);
}

static int create_uninitialised_options(job_pool *pool)
{
    job_pool_options opts;

    memset(&opts, 0, sizeof opts);
    return job_pool_create(&pool, &opts);
}

static int create_truncated_options(job_pool *pool)
{
    job_pool_options opts;

    job_pool_options_init(&opts);
    opts.struct_size = sizeof(size_t);
    return job_pool_create(&pool, &opts);
}

static int submit_null_pool(job_pool *pool)
{
    (void)pool;
    return job_submit_detached(NULL, job_nothing, NULL);
}

static int submit_null_fn(job_pool *pool)
{
    return job_submit_detached(pool, NULL, NULL);
}

static int wait_idle_null(job_pool *pool)
{
    (void)pool;
    return job_pool_wait_idle(NULL);
}

static int shutdown_null(job_pool *pool)
{
    (void)pool;
    return job_pool_shutdown(NULL);
}

static int destroy_null(job_pool *pool)
{
    (void)pool;
    return job_pool_destroy(NULL);
}

static int stats_null_pool(job_pool *pool)
{
    job_pool_stats s;

    (void)pool;
    return job_pool_get_stats(NULL, &s);
}

static int stats_null_out(job_pool *pool)
{
    return (job_pool_get_stats)(pool, NULL);
}

static int stats_too_small(job_pool *pool)
{
    job_pool_stats s;

    return job_pool_get_stats_sized(pool, &s, sizeof(size_t));
}

static int options_init_null(job_pool *pool)
{
    (void)pool;
    job_pool_options_init_sized(NULL, sizeof(job_pool_options));
    (job_pool_options_init)(NULL);
    return 0;
}

static int options_init_too_small(job_pool *pool)
{
    job_pool_options opts;

    (void)pool;
    memset(&opts, 0x5a, sizeof opts);
    job_pool_options_init_sized(&opts, 1);
    /* Nothing written: the struct is left as it was. */
    return opts.threads == 0x5a5a5a5au ? 0 : -1;
}

/* From inside a job of the pool itself. */
struct from_worker {
    job_pool *pool;
    int (*call)(job_pool *pool);
    int rc;
};

static void job_call(void *ctx)
{
    struct from_worker *f = ctx;

    f->rc = f->call(f->pool);
}

static int in_worker(job_pool *pool, int (*call)(job_pool *pool))
{
    struct from_worker f = {pool, call, -1};

    ck_assert_int_eq(job_submit_detached(pool, job_call, &f), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    return f.rc;
}

static int shutdown_from_worker(job_pool *pool)
{
    return in_worker(pool, job_pool_shutdown);
}

static int wait_idle_from_worker(job_pool *pool)
{
    return in_worker(pool, job_pool_wait_idle);
}

static int destroy_from_worker(job_pool *pool)
{
    return in_worker(pool, job_pool_destroy);
}

static const struct misuse misuses[] = {
    {"create(NULL, NULL)", create_null_out, EINVAL},
    {"create with threads > MAX", create_too_many_threads, EINVAL},
    {"create with options never initialised", create_uninitialised_options,
     EINVAL},
    {"create with a truncated options struct", create_truncated_options,
     EINVAL},
    {"submit(NULL, fn, ctx)", submit_null_pool, EINVAL},
    {"submit(pool, NULL, ctx)", submit_null_fn, EINVAL},
    {"wait_idle(NULL)", wait_idle_null, EINVAL},
    {"shutdown(NULL)", shutdown_null, EINVAL},
    {"destroy(NULL)", destroy_null, 0},
    {"get_stats(NULL, out)", stats_null_pool, EINVAL},
    {"get_stats(pool, NULL)", stats_null_out, EINVAL},
    {"get_stats into a struct too small", stats_too_small, EINVAL},
    {"options_init(NULL)", options_init_null, 0},
    {"options_init with a size too small", options_init_too_small, 0},
    {"shutdown from a worker", shutdown_from_worker, EDEADLK},
    {"wait_idle from a worker", wait_idle_from_worker, EDEADLK},
    {"destroy from a worker", destroy_from_worker, EDEADLK},
};

START_TEST(misuse_returns_its_error_and_the_pool_stays_usable)
{
    const struct misuse *m = &misuses[_i];
    job_pool *pool = pool_new(2);
    atomic_ulong counted = 0;
    job_pool_stats s;

    ck_assert_msg(m->call(pool) == m->expect, "%s: expected %d", m->what,
                  m->expect);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.threads, 2);
    ck_assert_uint_eq(s.rejected, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

/* After shutdown every call still answers, with the documented result. */
START_TEST(calls_after_shutdown_answer_cleanly)
{
    job_pool *pool = pool_new(2);
    atomic_ulong counted = 0;
    job_pool_stats s;

    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), ESHUTDOWN);
    ck_assert_int_eq(job_submit_detached(pool, NULL, &counted), EINVAL);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_pool_get_stats(pool, &s), 0);
    ck_assert_uint_eq(s.rejected, 1);
    ck_assert_uint_eq(s.threads, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 0);
}
END_TEST

Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc = tcase_create("misuse");

    tcase_add_loop_test(tc, misuse_returns_its_error_and_the_pool_stays_usable,
                        0, (int)(sizeof misuses / sizeof misuses[0]));
    tcase_add_test(tc, calls_after_shutdown_answer_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
