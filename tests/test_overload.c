/* SPDX-License-Identifier: MIT */
/*
 * Bounded queues: queue_limit, the three overflow policies, the timed
 * submit, and what each does from a worker and once shutdown has begun.
 *
 * Every full queue here is built without timing: the workers are held on a
 * gate (struct blockers) and exactly queue_limit jobs are queued behind
 * them, so the next submit meets a full queue for certain.
 */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>

static const enum job_overflow policies[] = {
    JOB_OVERFLOW_REJECT, JOB_OVERFLOW_BLOCK, JOB_OVERFLOW_CALLER_RUNS};
enum { POLICIES = sizeof policies / sizeof policies[0] };

static const char *const policy_names[] = {"REJECT", "BLOCK", "CALLER_RUNS"};

/* Holds all `workers` workers on b's gate and queues `limit` counting jobs
 * behind them: the queue is then exactly full. */
static void fill(job_pool *pool, struct blockers *b, unsigned workers,
                 size_t limit, atomic_ulong *counted)
{
    job_pool_stats s;

    blockers_add(b, pool, workers);
    for (size_t i = 0; i < limit; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, counted), 0);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.queued, limit);
    ck_assert_uint_eq(s.running, workers);
    ck_assert_uint_eq(s.queued_peak, limit);
}

/* Jobs that are running do not count against the limit: with both
 * workers busy, three more fit, and the fourth is refused at once. */
START_TEST(reject_refuses_a_full_queue_with_eagain)
{
    job_pool *pool = pool_bounded(2, 3, JOB_OVERFLOW_REJECT);
    struct blockers b;
    atomic_ulong counted = 0, refused = 0;
    job_pool_stats s;

    blockers_init(&b);
    fill(pool, &b, 2, 3, &counted);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &refused), EAGAIN);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &refused), EAGAIN);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.submitted, 5);
    ck_assert_uint_eq(s.rejected, 2);
    ck_assert_uint_eq(s.rejected_full, 2);
    ck_assert_uint_eq(s.rejected_shutdown, 0);
    ck_assert_uint_eq(s.ran_in_caller, 0);
    ck_assert_uint_eq(s.queued, 3);
    ck_assert_uint_eq(s.queued_peak, 3);

    blockers_open(&b);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 3);
    /* Room again. */
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 4);
    ck_assert_uint_eq(atomic_load(&refused), 0);
    ck_assert_uint_eq(atomic_load(&b.done), 2);
    blockers_destroy(&b);
}
END_TEST

/* The submitter stays blocked while the queue is full and gets in once a
 * worker takes a job. */
START_TEST(block_waits_for_room_then_queues)
{
    job_pool *pool = pool_bounded(1, 2, JOB_OVERFLOW_BLOCK);
    struct blockers b;
    struct submitter sub;
    atomic_ulong counted = 0, late = 0;
    job_pool_stats s;

    blockers_init(&b);
    fill(pool, &b, 1, 2, &counted);
    submitter_start(&sub, pool, job_count, &late);
    grace();
    ck_assert_msg(!atomic_load(&sub.returned),
                  "submit to a full BLOCK queue returned %d", sub.rc);
    ck_assert_uint_eq(pool_stats(pool).queued, 2);

    blockers_open(&b);
    ck_assert_int_eq(submitter_join(&sub), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&late), 1);
    ck_assert_uint_eq(atomic_load(&counted), 2);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.submitted, 4);
    ck_assert_uint_eq(s.completed, 4);
    ck_assert_uint_eq(s.rejected, 0);
    ck_assert_uint_eq(s.ran_in_caller, 0);
    ck_assert_uint_eq(s.queued_peak, 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

static void *shutdown_thread(void *arg)
{
    return (void *)(intptr_t)job_pool_shutdown(arg);
}

/* Shutdown wakes a submitter blocked on a full queue: it gets ESHUTDOWN
 * while the workers are still held, and its job never runs. */
START_TEST(block_submitter_is_released_by_shutdown)
{
    job_pool *pool = pool_bounded(1, 1, JOB_OVERFLOW_BLOCK);
    struct blockers b;
    struct submitter sub;
    atomic_ulong counted = 0, late = 0;
    pthread_t stopper;
    void *rc;
    job_pool_stats s;

    blockers_init(&b);
    fill(pool, &b, 1, 1, &counted);
    submitter_start(&sub, pool, job_count, &late);
    grace();
    ck_assert(!atomic_load(&sub.returned));

    ck_assert_int_eq(pthread_create(&stopper, NULL, shutdown_thread, pool), 0);
    ck_assert_int_eq(submitter_join(&sub), ESHUTDOWN);
    ck_assert_uint_eq(atomic_load(&b.done), 0); /* gate still shut */
    blockers_open(&b);
    ck_assert_int_eq(pthread_join(stopper, &rc), 0);
    ck_assert_int_eq((int)(intptr_t)rc, 0);

    ck_assert_uint_eq(atomic_load(&late), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.submitted, 2);
    ck_assert_uint_eq(s.rejected, 1);
    ck_assert_uint_eq(s.rejected_shutdown, 1);
    ck_assert_uint_eq(s.rejected_full, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&late), 0);
    blockers_destroy(&b);
}
END_TEST

/* Whatever the policy, the timed submit gives up with ETIMEDOUT, after
 * waiting for the deadline (or at once with 0), and never runs the job in
 * the caller. */
START_TEST(timed_submit_to_a_full_queue_times_out)
{
    job_pool *pool = pool_bounded(1, 1, policies[_i]);
    struct blockers b;
    atomic_ulong counted = 0, refused = 0;
    uint64_t start, waited;
    job_pool_stats s;

    blockers_init(&b);
    fill(pool, &b, 1, 1, &counted);
    ck_assert_int_eq(job_submit_detached_timed(pool, job_count, &refused, 0),
                     ETIMEDOUT);
    start = now_ns();
    ck_assert_int_eq(
        job_submit_detached_timed(pool, job_count, &refused, 20 * MS),
        ETIMEDOUT);
    waited = now_ns() - start;
    ck_assert_msg(waited >= 15 * MS, "%s: gave up after %llu ns",
                  policy_names[_i], (unsigned long long)waited);
    ck_assert_uint_eq(atomic_load(&refused), 0);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.rejected, 2);
    ck_assert_uint_eq(s.rejected_full, 2);
    ck_assert_uint_eq(s.rejected_shutdown, 0);
    ck_assert_uint_eq(s.ran_in_caller, 0);
    ck_assert_uint_eq(s.submitted, 2);

    /* With room it queues. */
    blockers_open(&b);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(
        job_submit_detached_timed(pool, job_count, &counted, 20 * MS), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(job_submit_detached_timed(pool, job_count, &counted, 0),
                     0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 3);
    ck_assert_uint_eq(atomic_load(&refused), 0);
    blockers_destroy(&b);
}
END_TEST

/* A timed submit waits for room even under REJECT, and gets in once a
 * worker takes a job. */
START_TEST(timed_submit_gets_room_before_its_deadline)
{
    job_pool *pool = pool_bounded(1, 1, JOB_OVERFLOW_REJECT);
    struct blockers b;
    struct submitter sub;
    atomic_ulong counted = 0, late = 0;

    blockers_init(&b);
    fill(pool, &b, 1, 1, &counted);
    submitter_start_timed(&sub, pool, job_count, &late, 60000 * MS);
    grace();
    ck_assert(!atomic_load(&sub.returned));
    blockers_open(&b);
    ck_assert_int_eq(submitter_join(&sub), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&late), 1);
    ck_assert_uint_eq(pool_stats(pool).rejected, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* Without a limit the timed submit is a plain one, even with timeout 0. */
START_TEST(timed_submit_without_a_limit_never_waits)
{
    job_pool *pool = pool_new(1);
    struct blockers b;
    atomic_ulong counted = 0;

    blockers_init(&b);
    blockers_add(&b, pool, 1);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(
            job_submit_detached_timed(pool, job_count, &counted, 0), 0);
    ck_assert_uint_eq(pool_stats(pool).queued, 1000);
    ck_assert_int_eq(job_submit_detached_timed(NULL, job_count, &counted, 0),
                     EINVAL);
    ck_assert_int_eq(job_submit_detached_timed(pool, NULL, &counted, 0),
                     EINVAL);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_submit_detached_timed(pool, job_count, &counted, 0),
                     ESHUTDOWN);
    ck_assert_uint_eq(pool_stats(pool).rejected, 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1000);
    blockers_destroy(&b);
}
END_TEST

/* Records the thread a job ran on and counts it. */
struct ran_where {
    pthread_t thread;
    atomic_ulong runs;
};

static void job_record_thread(void *ctx)
{
    struct ran_where *r = ctx;

    r->thread = pthread_self();
    atomic_fetch_add(&r->runs, 1);
}

/* The job runs in the submitting thread before the submit returns; it was
 * not queued, so it is not counted as submitted or completed. */
START_TEST(caller_runs_runs_the_job_in_the_submitter)
{
    job_pool *pool = pool_bounded(1, 1, JOB_OVERFLOW_CALLER_RUNS);
    struct blockers b;
    struct ran_where r = {.runs = 0};
    atomic_ulong counted = 0;
    job_pool_stats s;

    blockers_init(&b);
    fill(pool, &b, 1, 1, &counted);
    for (unsigned long i = 1; i <= 3; i++) {
        ck_assert_int_eq(job_submit_detached(pool, job_record_thread, &r), 0);
        ck_assert_uint_eq(atomic_load(&r.runs), i);
        ck_assert(pthread_equal(r.thread, pthread_self()));
    }
    s = pool_stats(pool);
    ck_assert_uint_eq(s.ran_in_caller, 3);
    ck_assert_uint_eq(s.submitted, 2);
    ck_assert_uint_eq(s.rejected, 0);
    ck_assert_uint_eq(s.rejected_full, 0);
    ck_assert_uint_eq(s.queued, 1);

    blockers_open(&b);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.completed, 2);
    ck_assert_uint_eq(s.submitted, 2);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&r.runs), 3);
    blockers_destroy(&b);
}
END_TEST

/*
 * A job on the pool's only worker submits into its own full queue.  BLOCK
 * must not wait for itself: the job runs in place, like CALLER_RUNS.
 * REJECT refuses.  The timed submit waits out its deadline whatever the
 * policy.  _i: policy index, plus POLICIES for the timed submit.
 */
struct self_submit {
    job_pool *pool;
    bool timed;
    struct countdown started;
    struct latch go;
    pthread_t worker;
    int rc;
    struct ran_where inner;
};

static void job_submit_to_own_pool(void *ctx)
{
    struct self_submit *s = ctx;

    s->worker = pthread_self();
    countdown_arrive(&s->started);
    latch_wait(&s->go);
    if (s->timed)
        s->rc = job_submit_detached_timed(s->pool, job_record_thread, &s->inner,
                                          20 * MS);
    else
        s->rc = job_submit_detached(s->pool, job_record_thread, &s->inner);
}

START_TEST(a_worker_submitting_to_its_own_full_pool_never_deadlocks)
{
    enum job_overflow policy = policies[_i % POLICIES];
    job_pool *pool = pool_bounded(1, 1, policy);
    struct self_submit s = {.pool = pool, .timed = _i >= POLICIES, .rc = -1};
    atomic_ulong counted = 0;
    job_pool_stats st;
    int expect;

    countdown_init(&s.started, 1);
    latch_init(&s.go);
    atomic_init(&s.inner.runs, 0);
    ck_assert_int_eq(job_submit_detached(pool, job_submit_to_own_pool, &s), 0);
    countdown_wait(&s.started);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_uint_eq(pool_stats(pool).queued, 1);
    latch_open(&s.go);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);

    if (s.timed)
        expect = ETIMEDOUT;
    else
        expect = policy == JOB_OVERFLOW_REJECT ? EAGAIN : 0;
    ck_assert_msg(s.rc == expect, "%s%s from a worker: %d, expected %d",
                  s.timed ? "timed " : "", policy_names[_i % POLICIES], s.rc,
                  expect);
    st = pool_stats(pool);
    if (expect == 0) {
        ck_assert_uint_eq(atomic_load(&s.inner.runs), 1);
        ck_assert(pthread_equal(s.inner.thread, s.worker));
        ck_assert_uint_eq(st.ran_in_caller, 1);
        ck_assert_uint_eq(st.rejected, 0);
    } else {
        ck_assert_uint_eq(atomic_load(&s.inner.runs), 0);
        ck_assert_uint_eq(st.ran_in_caller, 0);
        ck_assert_uint_eq(st.rejected, 1);
        ck_assert_uint_eq(st.rejected_full, 1);
    }
    ck_assert_uint_eq(st.submitted, 2);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&s.go);
    countdown_destroy(&s.started);
}
END_TEST

/* Once shutdown has begun every policy refuses with ESHUTDOWN, CALLER_RUNS
 * included, both on a stopped pool and on a draining one whose queue is
 * full; the refusals are counted as rejected_shutdown. */
START_TEST(every_policy_refuses_once_shutdown_has_begun)
{
    job_pool *pool = pool_bounded(1, 1, policies[_i]);
    struct blockers b;
    atomic_ulong counted = 0, refused = 0;
    job_pool_stats s;

    blockers_init(&b);
    fill(pool, &b, 1, 1, &counted);
    /* The worker is held: the shutdown can only begin. */
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 0), ETIMEDOUT);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &refused), ESHUTDOWN);
    ck_assert_int_eq(
        job_submit_detached_timed(pool, job_count, &refused, 20 * MS),
        ESHUTDOWN);
    ck_assert_uint_eq(atomic_load(&refused), 0);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);

    ck_assert_int_eq(job_submit_detached(pool, job_count, &refused), ESHUTDOWN);
    ck_assert_int_eq(job_submit_detached_timed(pool, job_count, &refused, 0),
                     ESHUTDOWN);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.rejected, 4);
    ck_assert_uint_eq(s.rejected_shutdown, 4);
    ck_assert_uint_eq(s.rejected_full, 0);
    ck_assert_uint_eq(s.ran_in_caller, 0);
    ck_assert_uint_eq(s.submitted, 2);
    ck_assert_uint_eq(s.completed, 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    ck_assert_uint_eq(atomic_load(&refused), 0);
    blockers_destroy(&b);
}
END_TEST

/* queued_peak keeps the high-water mark, on an unbounded pool too. */
START_TEST(queued_peak_keeps_the_high_water_mark)
{
    job_pool *pool = pool_new(1);
    struct blockers b;
    atomic_ulong counted = 0;
    job_pool_stats s;

    blockers_init(&b);
    blockers_add(&b, pool, 1);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.queued_peak, 7);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/*
 * Producers flood a small bounded queue under each policy.  Each job marks
 * its own slot; at the end every submit that returned 0 ran exactly once,
 * every refused one never ran, the queue never held more than its limit,
 * and the counters add up.
 */
enum { FLOOD_PRODUCERS = 3, FLOOD_JOBS = 3000, FLOOD_LIMIT = 4 };

static void job_mark(void *ctx)
{
    atomic_fetch_add((atomic_uchar *)ctx, 1);
}

struct flooder {
    job_pool *pool;
    atomic_uchar *marks;
    int *rcs;
    struct latch *go;
};

static void *flood(void *arg)
{
    struct flooder *f = arg;

    latch_wait(f->go);
    for (unsigned i = 0; i < FLOOD_JOBS; i++)
        f->rcs[i] = job_submit_detached(f->pool, job_mark, &f->marks[i]);
    return NULL;
}

START_TEST(producers_flooding_a_bounded_queue_lose_nothing)
{
    enum { TOTAL = FLOOD_PRODUCERS * FLOOD_JOBS };
    enum job_overflow policy = policies[_i];
    job_pool *pool = pool_bounded(2, FLOOD_LIMIT, policy);
    atomic_uchar *marks = calloc(TOTAL, sizeof *marks);
    int *rcs = calloc(TOTAL, sizeof *rcs);
    struct flooder flooders[FLOOD_PRODUCERS];
    pthread_t threads[FLOOD_PRODUCERS];
    unsigned long accepted = 0, refused = 0;
    struct latch go;
    job_pool_stats s;

    ck_assert_ptr_nonnull(marks);
    ck_assert_ptr_nonnull(rcs);
    latch_init(&go);
    for (unsigned i = 0; i < FLOOD_PRODUCERS; i++) {
        flooders[i] = (struct flooder){pool, &marks[i * FLOOD_JOBS],
                                       &rcs[i * FLOOD_JOBS], &go};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, flood, &flooders[i]),
                         0);
    }
    latch_open(&go);
    for (unsigned i = 0; i < FLOOD_PRODUCERS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);

    for (unsigned i = 0; i < TOTAL; i++) {
        if (rcs[i] == 0) {
            accepted++;
            ck_assert_msg(atomic_load(&marks[i]) == 1,
                          "%s: job %u ran %u times", policy_names[_i], i,
                          (unsigned)atomic_load(&marks[i]));
        } else {
            refused++;
            ck_assert_msg(rcs[i] == EAGAIN && policy == JOB_OVERFLOW_REJECT,
                          "%s: job %u refused with %d", policy_names[_i], i,
                          rcs[i]);
            ck_assert_uint_eq(atomic_load(&marks[i]), 0);
        }
    }
    s = pool_stats(pool);
    ck_assert_uint_le(s.queued_peak, FLOOD_LIMIT);
    ck_assert_uint_eq(s.rejected, refused);
    ck_assert_uint_eq(s.rejected_full, refused);
    ck_assert_uint_eq(s.completed, s.submitted);
    ck_assert_uint_eq(s.submitted + s.ran_in_caller, accepted);
    if (policy != JOB_OVERFLOW_CALLER_RUNS)
        ck_assert_uint_eq(s.ran_in_caller, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&go);
    free(rcs);
    free(marks);
}
END_TEST

Suite *overload_suite(void)
{
    Suite *s = suite_create("overload");
    TCase *tc = tcase_create("bounded");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reject_refuses_a_full_queue_with_eagain);
    tcase_add_test(tc, block_waits_for_room_then_queues);
    tcase_add_test(tc, block_submitter_is_released_by_shutdown);
    tcase_add_loop_test(tc, timed_submit_to_a_full_queue_times_out, 0,
                        POLICIES);
    tcase_add_test(tc, timed_submit_gets_room_before_its_deadline);
    tcase_add_test(tc, timed_submit_without_a_limit_never_waits);
    tcase_add_test(tc, caller_runs_runs_the_job_in_the_submitter);
    tcase_add_loop_test(
        tc, a_worker_submitting_to_its_own_full_pool_never_deadlocks, 0,
        2 * POLICIES);
    tcase_add_loop_test(tc, every_policy_refuses_once_shutdown_has_begun, 0,
                        POLICIES);
    tcase_add_test(tc, queued_peak_keeps_the_high_water_mark);
    tcase_add_loop_test(tc, producers_flooding_a_bounded_queue_lose_nothing, 0,
                        POLICIES);
    suite_add_tcase(s, tc);
    return s;
}
