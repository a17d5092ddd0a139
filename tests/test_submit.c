/* SPDX-License-Identifier: MIT */
/* Submitting: exactly-once execution, order, threads, visibility. */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

START_TEST(submit_rejects_null_pool_and_null_fn)
{
    job_pool *pool = pool_new(1);
    atomic_ulong counted = 0;

    ck_assert_int_eq(job_submit_detached(NULL, job_count, &counted), EINVAL);
    ck_assert_int_eq(job_submit_detached(pool, NULL, &counted), EINVAL);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 0);
}
END_TEST

static void *seen_ctx = &seen_ctx;

static void job_record_ctx(void *ctx)
{
    seen_ctx = ctx;
}

/* ctx is opaque to the pool: NULL is a valid context. */
START_TEST(null_ctx_is_passed_through)
{
    job_pool *pool = pool_new(1);

    ck_assert_int_eq(job_submit_detached(pool, job_record_ctx, NULL), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_ptr_null(seen_ctx);
}
END_TEST

/* Each job marks its own slot; every slot must end at exactly one. */
static void job_mark(void *ctx)
{
    atomic_fetch_add((atomic_uchar *)ctx, 1);
}

struct producer {
    job_pool *pool;
    atomic_uchar *marks;
    unsigned from, count;
    struct latch *go;
};

static void *produce_marks(void *arg)
{
    struct producer *p = arg;

    latch_wait(p->go);
    for (unsigned i = p->from; i < p->from + p->count; i++)
        ck_assert_int_eq(job_submit_detached(p->pool, job_mark, &p->marks[i]),
                         0);
    return NULL;
}

START_TEST(every_accepted_job_runs_exactly_once)
{
    enum { PRODUCERS = 4 };
    const unsigned per_producer = test_rounds(50000, 1000);
    job_pool *pool = pool_new(3);
    atomic_uchar *marks = calloc(PRODUCERS * per_producer, sizeof *marks);
    struct producer producers[PRODUCERS];
    pthread_t threads[PRODUCERS];
    struct latch go;
    job_pool_stats s;

    latch_init(&go);
    for (unsigned i = 0; i < PRODUCERS; i++) {
        producers[i] =
            (struct producer){pool, marks, i * per_producer, per_producer, &go};
        ck_assert_int_eq(
            pthread_create(&threads[i], NULL, produce_marks, &producers[i]), 0);
    }
    latch_open(&go);
    for (unsigned i = 0; i < PRODUCERS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);

    for (unsigned i = 0; i < PRODUCERS * per_producer; i++)
        ck_assert_msg(atomic_load(&marks[i]) == 1, "job %u ran %u times", i,
                      (unsigned)atomic_load(&marks[i]));
    s = pool_stats(pool);
    ck_assert_uint_eq(s.submitted, PRODUCERS * per_producer);
    ck_assert_uint_eq(s.completed, PRODUCERS * per_producer);
    ck_assert_uint_eq(s.rejected, 0);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&go);
    free(marks);
}
END_TEST

/* With one worker, the jobs one thread submits run in the order it submitted
 * them (tests/test_order.c has several producers). */
struct order_log {
    unsigned next;       /* only the single worker touches it */
    unsigned seen[1000]; /* seen[k] = the id of the k-th job to run */
};

struct order_job {
    struct order_log *log;
    unsigned id;
};

static void job_log_order(void *ctx)
{
    struct order_job *j = ctx;

    j->log->seen[j->log->next++] = j->id;
}

START_TEST(jobs_start_in_fifo_order)
{
    job_pool *pool = pool_new(1);
    static struct order_log log;
    static struct order_job jobs[1000];

    for (unsigned i = 0; i < 1000; i++) {
        jobs[i] = (struct order_job){&log, i};
        ck_assert_int_eq(job_submit_detached(pool, job_log_order, &jobs[i]), 0);
    }
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(log.next, 1000);
    for (unsigned i = 0; i < 1000; i++)
        ck_assert_uint_eq(log.seen[i], i);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

/* A worker blocked on a gate while 20000 jobs (several queue blocks) queue
 * behind it: they run afterwards in order and the queue's memory cycles. */
struct seq_check {
    unsigned long expect; /* only the single worker touches it */
    atomic_ulong errors;
};

static struct seq_check seq;

/* ctx carries the job's sequence number. */
static void job_expect_next(void *ctx)
{
    unsigned long id = (unsigned long)(uintptr_t)ctx;

    if (id != seq.expect)
        atomic_fetch_add(&seq.errors, 1);
    seq.expect = id + 1;
}

START_TEST(fifo_order_holds_across_queue_blocks)
{
    enum { JOBS = 20000 };
    job_pool *pool = pool_new(1);
    struct latch gate;
    struct countdown started;
    struct gated_job g = {&started, &gate, NULL};

    latch_init(&gate);
    countdown_init(&started, 1);
    ck_assert_int_eq(job_submit_detached(pool, job_gated, &g), 0);
    countdown_wait(&started);
    for (unsigned long i = 0; i < JOBS; i++)
        ck_assert_int_eq(
            job_submit_detached(pool, job_expect_next, (void *)(uintptr_t)i),
            0);
    ck_assert_uint_eq(pool_stats(pool).queued, JOBS);
    latch_open(&gate);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(seq.expect, JOBS);
    ck_assert_uint_eq(atomic_load(&seq.errors), 0);
    /* A second round reuses the drained blocks. */
    seq.expect = 0;
    for (unsigned long i = 0; i < JOBS; i++)
        ck_assert_int_eq(
            job_submit_detached(pool, job_expect_next, (void *)(uintptr_t)i),
            0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(seq.expect, JOBS);
    ck_assert_uint_eq(atomic_load(&seq.errors), 0);
    countdown_destroy(&started);
    latch_destroy(&gate);
}
END_TEST

static void job_record_thread(void *ctx)
{
    *(pthread_t *)ctx = pthread_self();
}

START_TEST(jobs_run_on_a_worker_thread)
{
    job_pool *pool = pool_new(2);
    pthread_t ran_on = pthread_self();

    ck_assert_int_eq(job_submit_detached(pool, job_record_thread, &ran_on), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert(!pthread_equal(ran_on, pthread_self()));
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

/* Plain (non-atomic) data crosses threads only through the pool's own
 * ordering: submit publishes the caller's writes to the job, wait_idle
 * publishes the job's writes to the caller.  ThreadSanitizer checks this
 * too. */
struct handoff {
    long input[64];
    long output[64];
};

static void job_double(void *ctx)
{
    struct handoff *h = ctx;

    for (int i = 0; i < 64; i++)
        h->output[i] = h->input[i] * 2;
}

START_TEST(writes_are_visible_across_submit_and_wait_idle)
{
    job_pool *pool = pool_new(2);
    static struct handoff h[200];

    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 64; i++)
            h[round].input[i] = round * 100 + i;
        ck_assert_int_eq(job_submit_detached(pool, job_double, &h[round]), 0);
    }
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    for (int round = 0; round < 200; round++)
        for (int i = 0; i < 64; i++)
            ck_assert_int_eq(h[round].output[i], 2 * (round * 100 + i));
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

/* A job that blocks must not hold back a job queued after it while another
 * worker is free: the second job finishes while the first is still blocked
 * (if it could not, countdown_wait would hang and Check's timeout fails the
 * test).  Rounds with pauses between them catch the workers both spinning
 * and parked. */
START_TEST(a_blocked_job_does_not_hold_back_the_next)
{
    job_pool *pool = pool_new(2);

    for (int round = 0; round < 200; round++) {
        struct latch gate;
        struct countdown started, second_done;
        struct gated_job blocker = {&started, &gate, NULL};

        latch_init(&gate);
        countdown_init(&started, 1);
        countdown_init(&second_done, 1);
        ck_assert_int_eq(job_submit_detached(pool, job_gated, &blocker), 0);
        if (round % 2 == 0)
            countdown_wait(&started);
        ck_assert_int_eq(
            job_submit_detached(pool, (job_fn)countdown_arrive, &second_done),
            0);
        countdown_wait(&second_done);
        latch_open(&gate);
        ck_assert_int_eq(job_pool_wait_idle(pool), 0);
        countdown_destroy(&second_done);
        countdown_destroy(&started);
        latch_destroy(&gate);
        if (round % 3 == 0)
            usleep(500); /* long enough for idle workers to park */
    }
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

/* Jobs may submit more jobs to their own pool. */
struct chain {
    job_pool *pool;
    atomic_ulong remaining;
    atomic_ulong ran;
};

static void job_chain(void *ctx)
{
    struct chain *c = ctx;

    atomic_fetch_add(&c->ran, 1);
    if (atomic_fetch_sub(&c->remaining, 1) > 1)
        ck_assert_int_eq(job_submit_detached(c->pool, job_chain, c), 0);
}

START_TEST(jobs_can_submit_to_their_own_pool)
{
    job_pool *pool = pool_new(2);
    struct chain c = {pool, 1000, 0};

    ck_assert_int_eq(job_submit_detached(pool, job_chain, &c), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&c.ran), 1000);
    ck_assert_uint_eq(pool_stats(pool).submitted, 1000);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

Suite *submit_suite(void)
{
    Suite *s = suite_create("submit");
    TCase *tc = tcase_create("submit");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, submit_rejects_null_pool_and_null_fn);
    tcase_add_test(tc, null_ctx_is_passed_through);
    tcase_add_test(tc, every_accepted_job_runs_exactly_once);
    tcase_add_test(tc, jobs_start_in_fifo_order);
    tcase_add_test(tc, fifo_order_holds_across_queue_blocks);
    tcase_add_test(tc, jobs_run_on_a_worker_thread);
    tcase_add_test(tc, writes_are_visible_across_submit_and_wait_idle);
    tcase_add_test(tc, a_blocked_job_does_not_hold_back_the_next);
    tcase_add_test(tc, jobs_can_submit_to_their_own_pool);
    suite_add_tcase(s, tc);
    return s;
}
