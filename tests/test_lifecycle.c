/* SPDX-License-Identifier: MIT */
/* Creating and destroying pools: options, defaults, bad input, versions. */
#include "helpers.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One worker per CPU the process may run on: its affinity mask (so
 * test-pinned.sh, under taskset -c 0, expects one). */
START_TEST(create_with_null_options_starts_one_worker_per_cpu)
{
    job_pool *pool = NULL;
#ifdef CPU_COUNT
    cpu_set_t set;
    long cpus;

    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    cpus = CPU_COUNT(&set);
#else
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
#endif

    ck_assert_int_eq(job_pool_create(&pool, NULL), 0);
    ck_assert_uint_eq(pool_stats(pool).threads, (unsigned)cpus);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

START_TEST(create_starts_the_requested_thread_count)
{
    job_pool *pool = pool_new(3);

    ck_assert_uint_eq(pool_stats(pool).threads, 3);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

START_TEST(options_init_fills_defaults_and_records_size)
{
    job_pool_options opts;

    memset(&opts, 0xa5, sizeof opts);
    job_pool_options_init(&opts);
    ck_assert_uint_eq(opts.struct_size, sizeof opts);
    ck_assert_uint_eq(opts.threads, 0);
    ck_assert_ptr_null(opts.name);
}
END_TEST

START_TEST(options_init_function_form_gives_defaults)
{
    job_pool_options opts;
    job_pool *pool = NULL;

    memset(&opts, 0xa5, sizeof opts);
    (job_pool_options_init)(&opts);
    ck_assert_uint_eq(opts.threads, 0);
    ck_assert_ptr_null(opts.name);
    opts.threads = 1;
    ck_assert_int_eq(job_pool_create(&pool, &opts), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

START_TEST(options_init_leaves_the_server_controls_off)
{
    job_pool_options opts;

    memset(&opts, 0xa5, sizeof opts);
    job_pool_options_init(&opts);
    ck_assert_uint_eq(opts.queue_limit, 0);
    ck_assert_int_eq(opts.overflow, JOB_OVERFLOW_REJECT);
    ck_assert_uint_eq(opts.min_threads, 0);
    ck_assert_uint_eq(opts.max_threads, 0);
    ck_assert_uint_eq(opts.idle_timeout_ms, 0);
    ck_assert_uint_eq(opts.stack_size, 0);
    ck_assert_ptr_null(opts.thread_start);
    ck_assert_ptr_null(opts.thread_stop);
    ck_assert_ptr_null(opts.thread_hook_arg);
}
END_TEST

/* Each entry sets one combination job_pool_create() must refuse. */
static void both_threads_and_max_threads(job_pool_options *o)
{
    o->threads = 2;
    o->max_threads = 4;
}

static void max_threads_above_the_maximum(job_pool_options *o)
{
    o->max_threads = JOB_POOL_THREADS_MAX + 1;
}

static void min_threads_above_max_threads(job_pool_options *o)
{
    o->min_threads = 3;
    o->max_threads = 2;
}

static void min_threads_without_max_threads(job_pool_options *o)
{
    o->min_threads = 1;
}

static void min_threads_with_fixed_threads(job_pool_options *o)
{
    o->threads = 2;
    o->min_threads = 1;
}

static void overflow_past_the_last_policy(job_pool_options *o)
{
    o->threads = 1;
    o->overflow = (enum job_overflow)(JOB_OVERFLOW_CALLER_RUNS + 1);
}

static void overflow_negative(job_pool_options *o)
{
    o->threads = 1;
    o->overflow = (enum job_overflow) - 1;
}

static void stack_size_below_the_minimum(job_pool_options *o)
{
    o->threads = 1;
    o->stack_size = PTHREAD_STACK_MIN - 1;
}

static void stack_size_one_byte(job_pool_options *o)
{
    o->max_threads = 2;
    o->stack_size = 1;
}

static const struct {
    const char *what;
    void (*set)(job_pool_options *o);
} invalid_options[] = {
    {"threads and max_threads both set", both_threads_and_max_threads},
    {"max_threads above JOB_POOL_THREADS_MAX", max_threads_above_the_maximum},
    {"min_threads above max_threads", min_threads_above_max_threads},
    {"min_threads without max_threads", min_threads_without_max_threads},
    {"min_threads with a fixed thread count", min_threads_with_fixed_threads},
    {"overflow past the last policy", overflow_past_the_last_policy},
    {"overflow negative", overflow_negative},
    {"stack_size below PTHREAD_STACK_MIN", stack_size_below_the_minimum},
    {"stack_size of one byte", stack_size_one_byte},
};

START_TEST(create_rejects_inconsistent_options_and_leaves_pool_unset)
{
    job_pool_options opts;
    job_pool *pool = (job_pool *)&opts;

    job_pool_options_init(&opts);
    invalid_options[_i].set(&opts);
    ck_assert_msg(job_pool_create(&pool, &opts) == EINVAL,
                  "%s: not refused with EINVAL", invalid_options[_i].what);
    ck_assert_ptr_eq(pool, (job_pool *)&opts);
}
END_TEST

/* And combinations at the edges that it must accept, each starting the
 * stated number of workers and running a job. */
static void queue_limit_one(job_pool_options *o)
{
    o->threads = 1;
    o->queue_limit = 1;
    o->overflow = JOB_OVERFLOW_BLOCK;
}

static void queue_limit_huge(job_pool_options *o)
{
    o->threads = 1;
    o->queue_limit = SIZE_MAX;
    o->overflow = JOB_OVERFLOW_CALLER_RUNS;
}

static void min_equals_max(job_pool_options *o)
{
    o->min_threads = 2;
    o->max_threads = 2;
}

static void min_zero_max_the_maximum(job_pool_options *o)
{
    o->max_threads = JOB_POOL_THREADS_MAX;
    o->idle_timeout_ms = 1;
}

static void fixed_with_a_stack_size(job_pool_options *o)
{
    o->threads = 2;
    o->stack_size = 512 * 1024;
}

static const struct {
    const char *what;
    void (*set)(job_pool_options *o);
    unsigned threads; /* started by create */
} valid_options[] = {
    {"queue_limit 1 with BLOCK", queue_limit_one, 1},
    {"queue_limit SIZE_MAX with CALLER_RUNS", queue_limit_huge, 1},
    {"min_threads equal to max_threads", min_equals_max, 2},
    {"min 0, max JOB_POOL_THREADS_MAX", min_zero_max_the_maximum, 0},
    {"a fixed pool with a stack_size", fixed_with_a_stack_size, 2},
};

START_TEST(create_accepts_options_at_the_edges)
{
    job_pool_options opts;
    job_pool *pool = NULL;
    atomic_ulong counted = 0;
    int rc;

    job_pool_options_init(&opts);
    valid_options[_i].set(&opts);
    rc = job_pool_create(&pool, &opts);
    ck_assert_msg(rc == 0, "%s: refused with %d", valid_options[_i].what, rc);
    ck_assert_uint_eq(pool_stats(pool).threads, valid_options[_i].threads);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
}
END_TEST

START_TEST(create_rejects_null_pool_pointer)
{
    ck_assert_int_eq(job_pool_create(NULL, NULL), EINVAL);
}
END_TEST

START_TEST(create_rejects_too_many_threads_and_leaves_pool_unset)
{
    job_pool_options opts;
    job_pool *pool = (job_pool *)&opts;

    job_pool_options_init(&opts);
    opts.threads = JOB_POOL_THREADS_MAX + 1;
    ck_assert_int_eq(job_pool_create(&pool, &opts), EINVAL);
    ck_assert_ptr_eq(pool, (job_pool *)&opts);
    opts.threads = (unsigned)-1;
    ck_assert_int_eq(job_pool_create(&pool, &opts), EINVAL);
}
END_TEST

START_TEST(create_rejects_options_without_init)
{
    job_pool_options opts;
    job_pool *pool = NULL;

    memset(&opts, 0, sizeof opts); /* struct_size 0: never initialised */
    ck_assert_int_eq(job_pool_create(&pool, &opts), EINVAL);
    ck_assert_ptr_null(pool);
}
END_TEST

/* A program built against a newer header passes a larger struct: zero in
 * the fields this library does not know is their default and accepted;
 * anything else is a request this library cannot honour. */
struct newer_options {
    job_pool_options base;
    uint64_t future_field;
};

START_TEST(create_accepts_newer_struct_with_default_fields_only)
{
    struct newer_options opts;
    job_pool *pool = NULL;

    job_pool_options_init_sized(&opts.base, sizeof opts);
    ck_assert_uint_eq(opts.future_field, 0);
    opts.base.threads = 1;
    ck_assert_int_eq(job_pool_create(&pool, &opts.base), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);

    opts.future_field = 7;
    pool = NULL;
    ck_assert_int_eq(job_pool_create(&pool, &opts.base), EINVAL);
    ck_assert_ptr_null(pool);
}
END_TEST

START_TEST(destroy_null_returns_zero)
{
    ck_assert_int_eq(job_pool_destroy(NULL), 0);
}
END_TEST

START_TEST(version_matches_header)
{
    char expect[32];

    ck_assert_uint_eq(job_version(), JOBPOOL_VERSION_NUMBER);
    snprintf(expect, sizeof expect, "%d.%d.%d", JOBPOOL_VERSION_MAJOR,
             JOBPOOL_VERSION_MINOR, JOBPOOL_VERSION_PATCH);
    ck_assert_str_eq(job_version_string(), expect);
    ck_assert_str_eq(JOBPOOL_VERSION_STRING, expect);
}
END_TEST

START_TEST(get_stats_rejects_null_arguments)
{
    job_pool *pool = pool_new(1);
    job_pool_stats s;
    job_pool_stats *none = NULL;

    ck_assert_int_eq(job_pool_get_stats(NULL, &s), EINVAL);
    ck_assert_int_eq(job_pool_get_stats(pool, none), EINVAL);
    ck_assert_int_eq((job_pool_get_stats)(pool, NULL), EINVAL);
    ck_assert_int_eq(job_pool_get_stats_sized(pool, &s, 1), EINVAL);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

struct newer_stats {
    job_pool_stats base;
    uint64_t future_counter;
};

START_TEST(get_stats_fills_only_what_it_knows)
{
    job_pool *pool = pool_new(2);
    struct newer_stats s;

    memset(&s, 0xa5, sizeof s);
    ck_assert_int_eq(job_pool_get_stats_sized(pool, &s.base, sizeof s), 0);
    ck_assert_uint_eq(s.base.struct_size, sizeof s.base);
    ck_assert_uint_eq(s.future_counter, 0);
    ck_assert_uint_eq(s.base.threads, 2);

    memset(&s, 0xa5, sizeof s);
    ck_assert_int_eq((job_pool_get_stats)(pool, &s.base), 0);
    ck_assert_uint_eq(s.base.threads, 2);
    ck_assert_uint_eq(s.base.submitted, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

#ifdef HAVE_PTHREAD_GETNAME_NP
static void record_thread_name(void *ctx)
{
    pthread_getname_np(pthread_self(), ctx, 16);
}

START_TEST(workers_are_named_after_the_prefix)
{
    job_pool_options opts;
    job_pool *pool = NULL;
    char name[16] = "";

    job_pool_options_init(&opts);
    opts.threads = 1;
    opts.name = "dbwriter";
    ck_assert_int_eq(job_pool_create(&pool, &opts), 0);
    ck_assert_int_eq(job_submit_detached(pool, record_thread_name, name), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_str_eq(name, "dbwriter-0");

    ck_assert_int_eq(job_pool_destroy(pool), 0);
    opts.name = "a-very-long-thread-prefix";
    ck_assert_int_eq(job_pool_create(&pool, &opts), 0);
    ck_assert_int_eq(job_submit_detached(pool, record_thread_name, name), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_str_eq(name, "a-very-long-thr");
}
END_TEST
#endif

/* Destroying one pool must not disturb another that is busy. */
START_TEST(pools_are_independent)
{
    job_pool *busy = pool_new(1);
    job_pool *other = pool_new(2);
    struct latch gate;
    struct countdown started;
    atomic_ulong done = 0, counted = 0;
    struct gated_job g = {&started, &gate, &done};

    latch_init(&gate);
    countdown_init(&started, 1);
    ck_assert_int_eq(job_submit_detached(busy, job_gated, &g), 0);
    ck_assert_int_eq(job_submit_detached(busy, job_count, &counted), 0);
    countdown_wait(&started);

    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(job_submit_detached(other, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_destroy(other), 0);
    ck_assert_uint_eq(atomic_load(&counted), 100);

    /* The busy pool still holds its blocked job and its queued one. */
    ck_assert_uint_eq(pool_stats(busy).running, 1);
    ck_assert_uint_eq(pool_stats(busy).queued, 1);
    latch_open(&gate);
    ck_assert_int_eq(job_pool_destroy(busy), 0);
    ck_assert_uint_eq(atomic_load(&counted), 101);
    ck_assert_uint_eq(atomic_load(&done), 1);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

START_TEST(many_create_destroy_cycles)
{
    atomic_ulong counted = 0;

    for (unsigned i = 0; i < 200; i++) {
        job_pool *pool = pool_new(1 + i % 4);

        for (unsigned j = 0; j < i % 7; j++)
            ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
        ck_assert_int_eq(job_pool_destroy(pool), 0);
    }
    /* sum over i < 200 of i % 7 */
    unsigned long expect = 0;
    for (unsigned i = 0; i < 200; i++)
        expect += i % 7;
    ck_assert_uint_eq(atomic_load(&counted), expect);
}
END_TEST

Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("create-destroy");

    tcase_add_test(tc, create_with_null_options_starts_one_worker_per_cpu);
    tcase_add_test(tc, create_starts_the_requested_thread_count);
    tcase_add_test(tc, options_init_fills_defaults_and_records_size);
    tcase_add_test(tc, options_init_function_form_gives_defaults);
    tcase_add_test(tc, options_init_leaves_the_server_controls_off);
    tcase_add_test(tc, create_rejects_null_pool_pointer);
    tcase_add_loop_test(
        tc, create_rejects_inconsistent_options_and_leaves_pool_unset, 0,
        (int)(sizeof invalid_options / sizeof invalid_options[0]));
    tcase_add_loop_test(tc, create_accepts_options_at_the_edges, 0,
                        (int)(sizeof valid_options / sizeof valid_options[0]));
    tcase_add_test(tc, create_rejects_too_many_threads_and_leaves_pool_unset);
    tcase_add_test(tc, create_rejects_options_without_init);
    tcase_add_test(tc, create_accepts_newer_struct_with_default_fields_only);
    tcase_add_test(tc, destroy_null_returns_zero);
    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, get_stats_rejects_null_arguments);
    tcase_add_test(tc, get_stats_fills_only_what_it_knows);
#ifdef HAVE_PTHREAD_GETNAME_NP
    tcase_add_test(tc, workers_are_named_after_the_prefix);
#endif
    tcase_add_test(tc, pools_are_independent);
    tcase_add_test(tc, many_create_destroy_cycles);
    suite_add_tcase(s, tc);
    return s;
}
