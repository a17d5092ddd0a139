/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: pthread_create, pthread_sigmask and the allocator fail
 * at the k-th call.
 *
 * The seam is link-time wrapping (ld --wrap): this program links the
 * library's objects statically with pthread_create, pthread_join, malloc
 * and posix_memalign routed through the __wrap_ functions below, so the
 * production library carries no hook and pays nothing at run time.  Only
 * calls made by the library's own objects are redirected; the C library's
 * internal allocations (thread stacks, Check's bookkeeping in libcheck.so)
 * are not.
 */
#include "helpers.h"

#include "jobpool-private.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

int __real_pthread_create(pthread_t *, const pthread_attr_t *,
                          void *(*)(void *), void *);
int __real_pthread_join(pthread_t, void **);
int __real_pthread_sigmask(int, const sigset_t *, sigset_t *);
void *__real_malloc(size_t);
int __real_posix_memalign(void **, size_t, size_t);

int __wrap_pthread_create(pthread_t *, const pthread_attr_t *,
                          void *(*)(void *), void *);
int __wrap_pthread_join(pthread_t, void **);
int __wrap_pthread_sigmask(int, const sigset_t *, sigset_t *);
void *__wrap_malloc(size_t);
int __wrap_posix_memalign(void **, size_t, size_t);

/* Calls left before the injected failure; negative = never fail.  Only the
 * test thread arms them, before the call under test. */
static atomic_int creates_left = -1;
static atomic_int allocs_left = -1;
static atomic_int sigmasks_left = -1;
static atomic_int threads_started, threads_joined;

static bool should_fail(atomic_int *left)
{
    int n = atomic_load(left);

    while (n >= 0) {
        if (atomic_compare_exchange_weak(left, &n, n - 1))
            return n == 0;
    }
    return false;
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg)
{
    int rc;

    if (should_fail(&creates_left))
        return EAGAIN;
    rc = __real_pthread_create(t, attr, fn, arg);
    if (rc == 0)
        atomic_fetch_add(&threads_started, 1);
    return rc;
}

int __wrap_pthread_join(pthread_t t, void **ret)
{
    int rc = __real_pthread_join(t, ret);

    if (rc == 0)
        atomic_fetch_add(&threads_joined, 1);
    return rc;
}

int __wrap_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    if (should_fail(&sigmasks_left))
        return EINVAL;
    return __real_pthread_sigmask(how, set, old);
}

void *__wrap_malloc(size_t size)
{
    return should_fail(&allocs_left) ? NULL : __real_malloc(size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    return should_fail(&allocs_left) ? ENOMEM
                                     : __real_posix_memalign(p, align, size);
}

static void reset_counters(void)
{
    atomic_store(&creates_left, -1);
    atomic_store(&allocs_left, -1);
    atomic_store(&sigmasks_left, -1);
    atomic_store(&threads_started, 0);
    atomic_store(&threads_joined, 0);
}

START_TEST(create_fails_with_eagain_when_any_thread_cannot_start)
{
    enum { THREADS = 4 };
    job_pool_options opts;

    job_pool_options_init(&opts);
    opts.threads = THREADS;
    for (int k = 0; k < THREADS; k++) {
        job_pool *pool = NULL;

        reset_counters();
        atomic_store(&creates_left, k);
        ck_assert_int_eq(job_pool_create(&pool, &opts), EAGAIN);
        ck_assert_ptr_null(pool);
        ck_assert_int_eq(atomic_load(&threads_started), k);
        ck_assert_int_eq(atomic_load(&threads_joined), k);
    }
    reset_counters();
    {
        job_pool *pool = NULL;
        atomic_ulong counted = 0;

        ck_assert_int_eq(job_pool_create(&pool, &opts), 0);
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
        ck_assert_int_eq(job_pool_destroy(pool), 0);
        ck_assert_uint_eq(atomic_load(&counted), 1);
        ck_assert_int_eq(atomic_load(&threads_joined), THREADS);
    }
}
END_TEST

START_TEST(create_fails_with_enomem_at_every_allocation)
{
    job_pool_options opts;
    int k;

    job_pool_options_init(&opts);
    opts.threads = 2;
    for (k = 0;; k++) {
        job_pool *pool = NULL;
        int rc;

        reset_counters();
        atomic_store(&allocs_left, k);
        rc = job_pool_create(&pool, &opts);
        atomic_store(&allocs_left, -1);
        if (rc == 0) {
            ck_assert_int_eq(job_pool_destroy(pool), 0);
            break;
        }
        ck_assert_int_eq(rc, ENOMEM);
        ck_assert_ptr_null(pool);
        ck_assert_int_eq(atomic_load(&threads_started),
                         atomic_load(&threads_joined));
    }
    ck_assert_int_ge(k, 1); /* the pool, with its places (the queues
                               allocate on their first job) */
}
END_TEST

/* The queue needs a new block once the first one's slots are taken. */
START_TEST(submit_fails_with_enomem_when_the_queue_cannot_grow)
{
    job_pool *pool = pool_new(1);
    struct latch gate;
    struct countdown started;
    struct gated_job g = {&started, &gate, NULL};
    atomic_ulong counted = 0;
    unsigned long accepted = 0;
    job_pool_stats s;

    reset_counters();
    latch_init(&gate);
    countdown_init(&started, 1);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &g), 0);
    countdown_wait(&started);

    /* Fail every allocation until one submit is refused.  Disarm before
     * asserting: Check may allocate too. */
    for (;;) {
        int rc;

        atomic_store(&allocs_left, 0);
        rc = job_submit_detached(pool, job_count, &counted);
        atomic_store(&allocs_left, -1);
        if (rc == ENOMEM)
            break;
        ck_assert_int_eq(rc, 0);
        accepted++;
    }
    ck_assert_uint_gt(accepted, 1000);
    /* The next submit, with memory back, succeeds. */
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    accepted++;
    s = pool_stats(pool);
    ck_assert_uint_eq(s.rejected, 1);
    ck_assert_uint_eq(s.submitted, accepted + 1);

    latch_open(&gate);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    /* Every accepted job ran; the refused one never did. */
    ck_assert_uint_eq(atomic_load(&counted), accepted);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

static void job_arrive(void *ctx)
{
    countdown_arrive(ctx);
}

static job_pool *elastic_pool_new(unsigned min, unsigned max)
{
    job_pool_options opts;
    job_pool *pool = NULL;

    job_pool_options_init(&opts);
    opts.min_threads = min;
    opts.max_threads = max;
    ck_assert_int_eq(job_pool_create(&pool, &opts), 0);
    return pool;
}

/* A busy elastic pool that cannot start its next thread still accepts the
 * job: it waits for a running worker.  The next submit tries again. */
START_TEST(failed_growth_keeps_the_job_for_a_running_worker)
{
    job_pool *pool;
    struct latch gate;
    struct countdown started, arrived;
    struct gated_job g = {&started, &gate, NULL};
    job_pool_stats s;

    reset_counters();
    pool = elastic_pool_new(1, 4);
    latch_init(&gate);
    countdown_init(&started, 1);
    countdown_init(&arrived, 1);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &g), 0);
    countdown_wait(&started);

    atomic_store(&creates_left, 0);
    ck_assert_int_eq(job_submit_detached(pool, job_arrive, &arrived), 0);
    atomic_store(&creates_left, -1);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.thread_start_failures, 1);
    ck_assert_uint_eq(s.threads, 1);
    ck_assert_uint_eq(s.rejected, 0);

    /* With threads available again, one more job starts a worker, which
     * runs the queued job while the first worker is still blocked. */
    ck_assert_int_eq(job_submit_detached(pool, job_arrive, &arrived), 0);
    countdown_wait(&arrived);
    ck_assert_uint_ge(pool_stats(pool).threads, 2);

    latch_open(&gate);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_int_eq(atomic_load(&threads_started),
                     atomic_load(&threads_joined));
    countdown_destroy(&arrived);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

/* An elastic pool with no thread must start one to accept a job; if it
 * cannot, the job is refused and never runs. */
START_TEST(pool_without_threads_refuses_when_none_can_start)
{
    job_pool *pool;
    atomic_ulong counted = 0;
    job_pool_stats s;

    reset_counters();
    pool = elastic_pool_new(0, 2);
    ck_assert_uint_eq(pool_stats(pool).threads, 0);

    atomic_store(&creates_left, 0);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), EAGAIN);
    atomic_store(&creates_left, -1);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.rejected, 1);
    ck_assert_uint_eq(s.thread_start_failures, 1);
    ck_assert_uint_eq(s.submitted, 0);

    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    ck_assert_int_eq(atomic_load(&threads_started), 1);
    ck_assert_int_eq(atomic_load(&threads_joined), 1);
}
END_TEST

/* When the library cannot block signals for a new worker, create fails
 * with EAGAIN and leaves the caller's signal mask as it was (it used to
 * restore the mask from a set that was never filled in). */
START_TEST(create_keeps_the_callers_mask_when_blocking_signals_fails)
{
    sigset_t before, after;
    job_pool *pool = NULL;

    reset_counters();
    (void)sigemptyset(&before);
    (void)sigaddset(&before, SIGUSR1);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
    atomic_store(&sigmasks_left, 0);
    ck_assert_int_eq(job_pool_create(&pool, NULL), EAGAIN);
    ck_assert_ptr_null(pool);
    atomic_store(&sigmasks_left, -1);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
    for (int sig = 1; sig < NSIG; sig++)
        ck_assert_int_eq(sigismember(&after, sig), sigismember(&before, sig));
    ck_assert_int_eq(atomic_load(&threads_started),
                     atomic_load(&threads_joined));
}
END_TEST

/* A timeout of "never" gives a deadline far in the future even where
 * time_t has 32 bits (the 100-year cap overflowed it, so UINT64_MAX
 * expired at once). */
START_TEST(an_endless_timeout_is_a_deadline_in_the_future)
{
    struct timespec deadline;
    uint64_t now_s = job__monotonic_ns() / 1000000000u;

    job__deadline_after(&deadline, UINT64_MAX);
    ck_assert(deadline.tv_sec > 0);
    ck_assert_uint_gt((uint64_t)deadline.tv_sec, now_s + 10u * 365 * 24 * 3600);
    ck_assert(deadline.tv_nsec >= 0 && deadline.tv_nsec < 1000000000);
    job__deadline_after(&deadline, 1500 * MS);
    ck_assert_uint_ge((uint64_t)deadline.tv_sec, now_s + 1);
    ck_assert_uint_le((uint64_t)deadline.tv_sec, now_s + 60);
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");

    tcase_add_test(tc, create_fails_with_eagain_when_any_thread_cannot_start);
    tcase_add_test(tc, create_fails_with_enomem_at_every_allocation);
    tcase_add_test(tc, submit_fails_with_enomem_when_the_queue_cannot_grow);
    tcase_add_test(tc, failed_growth_keeps_the_job_for_a_running_worker);
    tcase_add_test(tc, pool_without_threads_refuses_when_none_can_start);
    tcase_add_test(tc,
                   create_keeps_the_callers_mask_when_blocking_signals_fails);
    tcase_add_test(tc, an_endless_timeout_is_a_deadline_in_the_future);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(faults_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
