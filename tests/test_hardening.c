/* SPDX-License-Identifier: MIT */
/*
 * Defects found from outside (issue 12's list), each pinned by a test:
 * cancelled callers, a wait from a hand-back, growth while draining,
 * starts side by side, statistics that disagree with themselves, a thread
 * destructor that calls into the pool, and the default thread count.
 */
#include "helpers.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

enum blocking_call {
    CALL_SUBMIT_BLOCK,
    CALL_SUBMIT_TIMED,
    CALL_WAIT_IDLE,
    CALL_SHUTDOWN,
    CALL_SHUTDOWN_TIMED,
    NCALLS
};

struct cancelled_caller {
    job_pool *pool;
    enum blocking_call call;
    atomic_ulong *counted;
    atomic_bool returned;
    int rc;
};

/* Makes the call, then reaches a cancellation point. */
static void *make_call(void *arg)
{
    struct cancelled_caller *c = arg;
    const uint64_t minute = 60000 * MS;

    switch (c->call) {
    case CALL_SUBMIT_BLOCK:
        c->rc = job_submit_detached(c->pool, job_count, c->counted);
        break;
    case CALL_SUBMIT_TIMED:
        c->rc =
            job_submit_detached_timed(c->pool, job_count, c->counted, minute);
        break;
    case CALL_WAIT_IDLE:
        c->rc = job_pool_wait_idle(c->pool);
        break;
    case CALL_SHUTDOWN:
        c->rc = job_pool_shutdown(c->pool);
        break;
    default:
        c->rc = job_pool_shutdown_timed(c->pool, minute);
        break;
    }
    atomic_store(&c->returned, true);
    pthread_testcancel();
    return NULL;
}

/*
 * A thread cancelled while it waits in a blocking call finishes the call
 * (the calls are not cancellation points) and is cancelled at its next
 * cancellation point, leaving no lock held: the pool drains and shuts
 * down.  Before, the cancel left tail_lock or pool->lock held and every
 * later shutdown hung (Check's timeout).
 */
START_TEST(a_cancelled_caller_leaves_the_pool_usable)
{
    struct cancelled_caller c = {.call = (enum blocking_call)_i};
    atomic_ulong counted = 0;
    job_pool_options opts;
    struct blockers b;
    pthread_t t;
    void *ret = NULL;

    job_pool_options_init(&opts);
    opts.threads = 1;
    opts.queue_limit = 1;
    opts.overflow = JOB_OVERFLOW_BLOCK;
    c.pool = pool_with(&opts);
    c.counted = &counted;
    atomic_init(&c.returned, false);
    blockers_init(&b);
    blockers_add(&b, c.pool, 1);
    ck_assert_int_eq(job_submit_detached(c.pool, job_count, &counted), 0);

    ck_assert_int_eq(pthread_create(&t, NULL, make_call, &c), 0);
    grace(); /* most likely waiting inside the call by now */
    ck_assert_int_eq(pthread_cancel(t), 0);
    grace();
    ck_assert(!atomic_load(&c.returned));
    blockers_open(&b);
    ck_assert_int_eq(pthread_join(t, &ret), 0);
    ck_assert(ret == PTHREAD_CANCELED);
    ck_assert(atomic_load(&c.returned));
    ck_assert_int_eq(c.rc, 0);

    ck_assert_int_eq(job_pool_destroy(c.pool), 0);
    ck_assert_uint_eq(atomic_load(&counted),
                      c.call <= CALL_SUBMIT_TIMED ? 2 : 1);
    blockers_destroy(&b);
}
END_TEST

struct handback_wait {
    job_pool *pool;
    struct blockers *b;
    unsigned handed;
    int wait_rc;
    size_t running;
};

/* Opens the gate of the running job, then waits for the pool to be idle:
 * the jobs being handed back count as gone. */
static void handback_and_wait(job_fn fn, void *ctx, void *arg)
{
    struct handback_wait *h = arg;

    (void)fn;
    (void)ctx;
    if (h->handed++ == 0) {
        h->running = pool_stats(h->pool).running;
        blockers_open(h->b);
        h->wait_rc = job_pool_wait_idle(h->pool);
    }
}

/* job_pool_wait_idle() from a hand-back returns once the running jobs are
 * done (it used to wait for the cancel that called it); while a cancel
 * hands jobs back they count as neither queued nor running. */
START_TEST(wait_idle_from_a_handback_returns)
{
    job_pool *pool = pool_new(1);
    struct handback_wait h = {.pool = pool, .wait_rc = -1};
    atomic_ulong counted = 0;
    struct blockers b;
    size_t n = 0;

    blockers_init(&b);
    h.b = &b;
    blockers_add(&b, pool, 1);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_and_wait, &h, &n),
                     0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(h.handed, 3);
    ck_assert_int_eq(h.wait_rc, 0);
    ck_assert_uint_eq(h.running, 1); /* the gated job only */
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 0);
    blockers_destroy(&b);
}
END_TEST

static void job_meet(void *ctx)
{
    countdown_arrive(ctx);
    countdown_wait(ctx);
}

/* An elastic pool shut down right after a burst of jobs that wait for
 * each other still grows to run them all: draining starts threads up to
 * max_threads as a running pool does.  Before, it ran the backlog on the
 * threads it had and hung. */
START_TEST(draining_grows_to_max_threads)
{
    for (int round = 0; round < 200; round++) {
        struct countdown all_running;
        job_pool_options opts;
        job_pool *pool;
        int rc[4];

        job_pool_options_init(&opts);
        opts.min_threads = 1;
        opts.max_threads = 4;
        pool = pool_with(&opts);
        countdown_init(&all_running, 4);
        for (int j = 0; j < 4; j++)
            rc[j] = job_submit_detached(pool, job_meet, &all_running);
        ck_assert_int_eq(job_pool_shutdown(pool), 0);
        for (int j = 0; j < 4; j++)
            ck_assert_int_eq(rc[j], 0);
        ck_assert_int_eq(job_pool_destroy(pool), 0);
        countdown_destroy(&all_running);
    }
}
END_TEST

/* A start hook that returns only once every start of the burst is under
 * way: with starts made one after another it would never return. */
static void start_with_the_others(void *arg)
{
    job_meet(arg);
}

/* Threads started for a burst start side by side (one per waiting job,
 * up to max_threads), so a slow start hook delays only its own thread. */
START_TEST(starts_run_side_by_side)
{
    struct countdown all_starting;
    atomic_ulong counted = 0;
    job_pool_options opts;
    job_pool *pool;

    countdown_init(&all_starting, 4);
    job_pool_options_init(&opts);
    opts.min_threads = 0;
    opts.max_threads = 4;
    opts.thread_start = start_with_the_others;
    opts.thread_hook_arg = &all_starting;
    pool = pool_with(&opts);
    for (int j = 0; j < 4; j++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 4);
    ck_assert_uint_eq(pool_stats(pool).threads_peak, 4);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&all_starting);
}
END_TEST

/* threads_idle never exceeds threads in one snapshot, while workers of an
 * elastic pool come and go. */
START_TEST(threads_idle_never_exceeds_threads)
{
    job_pool_options opts;
    atomic_ulong counted = 0;
    job_pool *pool;

    job_pool_options_init(&opts);
    opts.min_threads = 0;
    opts.max_threads = 4;
    opts.idle_timeout_ms = 1;
    pool = pool_with(&opts);
    for (int i = 0; i < 20000; i++) {
        job_pool_stats s;

        if (i % 16 == 0)
            ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
        s = pool_stats(pool);
        ck_assert_uint_le(s.threads_idle, s.threads);
    }
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1250);
}
END_TEST

static pthread_key_t exit_key;
static atomic_int exit_waits, exit_wait_failures;

/* A worker's thread-specific data destructor that calls into the pool;
 * its value points at the test's pool variable. */
static void wait_at_thread_exit(void *value)
{
    job_pool *pool = *(job_pool **)value;

    if (job_pool_wait_idle(pool) != 0)
        atomic_fetch_add(&exit_wait_failures, 1);
    atomic_fetch_add(&exit_waits, 1);
}

static void set_exit_key(void *pool_var)
{
    ck_assert_int_eq(pthread_setspecific(exit_key, pool_var), 0);
}

/* Shutdown joins the workers without holding the pool's lock: a thread
 * destructor that calls job_pool_wait_idle() as the worker exits used to
 * deadlock shutdown about one run in three. */
START_TEST(a_thread_destructor_may_call_into_the_pool)
{
    ck_assert_int_eq(pthread_key_create(&exit_key, wait_at_thread_exit), 0);
    atomic_store(&exit_waits, 0);
    atomic_store(&exit_wait_failures, 0);
    for (int round = 0; round < 30; round++) {
        job_pool_options opts;
        atomic_ulong counted = 0;
        job_pool *pool = NULL;

        job_pool_options_init(&opts);
        opts.threads = 2;
        /* The workers start inside create, before it stores the pool, so
         * the hook gets the variable; the destructors run at shutdown. */
        opts.thread_start = set_exit_key;
        opts.thread_hook_arg = &pool;
        ck_assert_int_eq(job_pool_create(&pool, &opts), 0);
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
        ck_assert_int_eq(job_pool_destroy(pool), 0);
    }
    ck_assert_int_eq(atomic_load(&exit_waits), 60);
    ck_assert_int_eq(atomic_load(&exit_wait_failures), 0);
    ck_assert_int_eq(pthread_key_delete(exit_key), 0);
}
END_TEST

/* Set by the growth test: the destructor below calls job_pool_wait_idle()
 * many times over, so that a submit that starts a thread in the leaving
 * thread's place comes while it does. */
static struct countdown *exit_started;

static void job_arrive(void *countdown)
{
    countdown_arrive(countdown);
}

static void wait_idle_often_at_thread_exit(void *value)
{
    job_pool *pool = *(job_pool **)value;

    countdown_arrive(exit_started);
    for (int i = 0; i < 20000; i++)
        if (job_pool_wait_idle(pool) != 0)
            atomic_fetch_add(&exit_wait_failures, 1);
    atomic_fetch_add(&exit_waits, 1);
}

/* An elastic pool whose only thread left after its idle timeout starts a
 * new one in the same place, joining the old thread first.  That join is
 * made without the pool's lock: it waits for the old thread's destructors,
 * and one that calls job_pool_wait_idle() used to deadlock the submit. */
START_TEST(growth_joins_a_leaving_thread_without_the_pool_lock)
{
    job_pool_options opts;
    job_pool *pool = NULL;
    struct countdown started, ran;

    ck_assert_int_eq(
        pthread_key_create(&exit_key, wait_idle_often_at_thread_exit), 0);
    atomic_store(&exit_waits, 0);
    atomic_store(&exit_wait_failures, 0);
    countdown_init(&started, 1);
    countdown_init(&ran, 2);
    exit_started = &started;
    job_pool_options_init(&opts);
    opts.min_threads = 0;
    opts.max_threads = 1;
    opts.idle_timeout_ms = 1;
    opts.thread_start = set_exit_key;
    opts.thread_hook_arg = &pool;
    ck_assert_int_eq(job_pool_create(&pool, &opts), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_arrive, &ran), 0);
    /* The thread ran the job, timed out and is running its destructor. */
    countdown_wait(&started);
    ck_assert_int_eq(job_submit_detached(pool, job_arrive, &ran), 0);
    countdown_wait(&ran);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_int_eq(atomic_load(&exit_waits), 2);
    ck_assert_int_eq(atomic_load(&exit_wait_failures), 0);
    ck_assert_int_eq(pthread_key_delete(exit_key), 0);
    countdown_destroy(&ran);
    countdown_destroy(&started);
}
END_TEST

#ifdef CPU_COUNT
/* threads = 0 gives one worker per CPU the process may run on, not per
 * online CPU. */
START_TEST(the_default_thread_count_follows_the_affinity_mask)
{
    cpu_set_t saved, one;
    job_pool *pool;

    ck_assert_int_eq(sched_getaffinity(0, sizeof saved, &saved), 0);
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &saved)) {
            CPU_SET(cpu, &one);
            break;
        }
    }
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    pool = pool_new(0);
    ck_assert_int_eq(sched_setaffinity(0, sizeof saved, &saved), 0);
    ck_assert_uint_eq(pool_stats(pool).threads, 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);

    pool = pool_new(0);
    ck_assert_uint_eq(pool_stats(pool).threads, (unsigned)CPU_COUNT(&saved));
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST
#endif

Suite *hardening_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("defects");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, a_cancelled_caller_leaves_the_pool_usable, 0,
                        NCALLS);
    tcase_add_test(tc, wait_idle_from_a_handback_returns);
    tcase_add_test(tc, draining_grows_to_max_threads);
    tcase_add_test(tc, starts_run_side_by_side);
    tcase_add_test(tc, threads_idle_never_exceeds_threads);
    tcase_add_test(tc, a_thread_destructor_may_call_into_the_pool);
    tcase_add_test(tc, growth_joins_a_leaving_thread_without_the_pool_lock);
#ifdef CPU_COUNT
    tcase_add_test(tc, the_default_thread_count_follows_the_affinity_mask);
#endif
    suite_add_tcase(s, tc);
    return s;
}
