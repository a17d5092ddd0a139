/* SPDX-License-Identifier: MIT */
/*
 * Stopping early: job_pool_shutdown_timed() and job_pool_cancel_queued(),
 * alone and together (Java's shutdownNow(), without lost jobs).
 *
 * Jobs here are slots: a job marks its slot as run, a handback marks it as
 * handed back, and at the end every accepted job must have exactly one of
 * the two marks.
 */
#include "helpers.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

struct slot {
    atomic_uchar ran;
    atomic_uchar handed;
};

static void job_run_slot(void *ctx)
{
    atomic_fetch_add(&((struct slot *)ctx)->ran, 1);
}

/* The same job under another name, to check that handback gets each job's
 * own fn with its ctx. */
static void job_run_slot_too(void *ctx)
{
    atomic_fetch_add(&((struct slot *)ctx)->ran, 1);
}

static void slots_init(struct slot *slots, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        atomic_init(&slots[i].ran, 0);
        atomic_init(&slots[i].handed, 0);
    }
}

/* What handback saw.  Only the thread that cancels writes it; the test
 * reads it after that thread is done. */
enum { LOG_MAX = 256 };
struct handback_log {
    pthread_t caller; /* the thread expected to run handback */
    unsigned calls;
    unsigned wrong; /* on another thread, or with an unknown fn */
    job_fn fns[LOG_MAX];
    void *ctxs[LOG_MAX];
};

static void handback_log_init(struct handback_log *h)
{
    h->caller = pthread_self();
    h->calls = 0;
    h->wrong = 0;
}

static void handback_slot(job_fn fn, void *ctx, void *arg)
{
    struct handback_log *h = arg;

    if (!pthread_equal(pthread_self(), h->caller) ||
        (fn != job_run_slot && fn != job_run_slot_too))
        h->wrong++;
    if (h->calls < LOG_MAX) {
        h->fns[h->calls] = fn;
        h->ctxs[h->calls] = ctx;
    }
    h->calls++;
    atomic_fetch_add(&((struct slot *)ctx)->handed, 1);
}

/* Every slot of the first `accepted` ran or was handed back, once. */
static void assert_each_once(struct slot *slots, unsigned accepted)
{
    for (unsigned i = 0; i < accepted; i++) {
        unsigned ran = atomic_load(&slots[i].ran);
        unsigned handed = atomic_load(&slots[i].handed);

        ck_assert_msg(ran + handed == 1, "job %u ran %u and was handed back %u",
                      i, ran, handed);
    }
}

static unsigned count_handed(struct slot *slots, unsigned n)
{
    unsigned handed = 0;

    for (unsigned i = 0; i < n; i++)
        handed += atomic_load(&slots[i].handed);
    return handed;
}

/* shutdown_timed */

/* A held worker keeps the pool from stopping: the deadline passes, the
 * shutdown goes on in the background, and a later call waits again. */
START_TEST(shutdown_timed_times_out_while_jobs_remain)
{
    job_pool *pool = pool_new(1);
    struct blockers b;
    atomic_ulong counted = 0, refused = 0;
    uint64_t start, waited;
    job_pool_stats s;

    blockers_init(&b);
    blockers_add(&b, pool, 1);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    start = now_ns();
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 20 * MS), ETIMEDOUT);
    waited = now_ns() - start;
    ck_assert_msg(waited >= 15 * MS, "gave up after %llu ns",
                  (unsigned long long)waited);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &refused), ESHUTDOWN);
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 0), ETIMEDOUT);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.queued, 5);
    ck_assert_uint_eq(s.running, 1);
    ck_assert_uint_eq(s.rejected_shutdown, 1);

    blockers_open(&b);
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 60000 * MS), 0);
    ck_assert_uint_eq(atomic_load(&counted), 5);
    ck_assert_uint_eq(atomic_load(&refused), 0);
    ck_assert_uint_eq(atomic_load(&b.done), 1);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.completed, 6);
    ck_assert_uint_eq(s.threads, 0);
    /* Stopped: every later call returns 0 at once. */
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 0), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* A plain shutdown after a timed-out one waits for the drain. */
START_TEST(shutdown_after_a_timed_out_one_waits_for_the_drain)
{
    job_pool *pool = pool_new(2);
    struct blockers b;
    atomic_ulong counted = 0;

    blockers_init(&b);
    blockers_add(&b, pool, 2);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_shutdown_timed(pool, MS), ETIMEDOUT);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 100);
    ck_assert_uint_eq(pool_stats(pool).threads, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* timeout 0 begins the shutdown and only looks: on an idle pool the
 * workers may not have exited yet, so either answer is right. */
START_TEST(shutdown_timed_zero_begins_the_shutdown)
{
    job_pool *pool = pool_new(2);
    atomic_ulong counted = 0;
    int rc;

    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    rc = job_pool_shutdown_timed(pool, 0);
    ck_assert_msg(rc == 0 || rc == ETIMEDOUT, "returned %d", rc);
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), ESHUTDOWN);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_uint_eq(pool_stats(pool).threads, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
}
END_TEST

struct self_stop {
    job_pool *pool;
    int zero_rc, long_rc;
};

static void job_stop_own_pool(void *ctx)
{
    struct self_stop *s = ctx;

    s->zero_rc = job_pool_shutdown_timed(s->pool, 0);
    s->long_rc = job_pool_shutdown_timed(s->pool, 1000 * MS);
}

START_TEST(shutdown_timed_from_a_worker_is_edeadlk_and_changes_nothing)
{
    job_pool *pool = pool_new(2);
    struct self_stop s = {pool, -1, -1};
    atomic_ulong counted = 0;

    ck_assert_int_eq(job_pool_shutdown_timed(NULL, 0), EINVAL);
    ck_assert_int_eq(job_submit_detached(pool, job_stop_own_pool, &s), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(s.zero_rc, EDEADLK);
    ck_assert_int_eq(s.long_rc, EDEADLK);
    /* Still running and accepting. */
    ck_assert_int_eq(job_submit_detached(pool, job_count, &counted), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&counted), 1);
    ck_assert_uint_eq(pool_stats(pool).threads, 2);
    ck_assert_uint_eq(pool_stats(pool).rejected, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

/* cancel_queued */

/* Held workers, jobs queued behind them by this thread alone: each queued
 * job is handed back once, in the order this thread submitted them, on the
 * calling thread, with its own fn and ctx; the running jobs are left alone;
 * wait_idle still returns afterwards.  (tests/test_order.c has several
 * producers.) */
START_TEST(cancel_hands_back_every_queued_job_in_fifo_order)
{
    enum { QUEUED = 100 };
    job_pool *pool = pool_new(2);
    struct slot slots[QUEUED];
    static struct handback_log h;
    struct blockers b;
    size_t count = 0;
    job_pool_stats s;

    slots_init(slots, QUEUED);
    blockers_init(&b);
    blockers_add(&b, pool, 2);
    for (unsigned i = 0; i < QUEUED; i++)
        ck_assert_int_eq(
            job_submit_detached(pool, i % 2 ? job_run_slot_too : job_run_slot,
                                &slots[i]),
            0);
    handback_log_init(&h);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_slot, &h, &count),
                     0);
    ck_assert_uint_eq(count, QUEUED);
    ck_assert_uint_eq(h.calls, QUEUED);
    ck_assert_uint_eq(h.wrong, 0);
    for (unsigned i = 0; i < QUEUED; i++) {
        ck_assert_ptr_eq(h.ctxs[i], &slots[i]);
        ck_assert(h.fns[i] == (i % 2 ? job_run_slot_too : job_run_slot));
    }
    s = pool_stats(pool);
    ck_assert_uint_eq(s.cancelled, QUEUED);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, 2);
    ck_assert_uint_eq(atomic_load(&b.done), 0);

    blockers_open(&b);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_uint_eq(atomic_load(&b.done), 2);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.submitted, QUEUED + 2);
    ck_assert_uint_eq(s.completed, 2);
    ck_assert_uint_eq(s.cancelled, QUEUED);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    for (unsigned i = 0; i < QUEUED; i++) {
        ck_assert_uint_eq(atomic_load(&slots[i].ran), 0);
        ck_assert_uint_eq(atomic_load(&slots[i].handed), 1);
    }
    blockers_destroy(&b);
}
END_TEST

START_TEST(cancel_rejects_null_arguments_and_count_is_optional)
{
    job_pool *pool = pool_new(1);
    struct slot slots[3];
    struct handback_log h;
    struct blockers b;
    size_t count = 7;

    slots_init(slots, 3);
    handback_log_init(&h);
    blockers_init(&b);
    blockers_add(&b, pool, 1);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_run_slot, &slots[i]), 0);
    ck_assert_int_eq(job_pool_cancel_queued(NULL, handback_slot, &h, &count),
                     EINVAL);
    ck_assert_int_eq(job_pool_cancel_queued(pool, NULL, &h, &count), EINVAL);
    ck_assert_uint_eq(count, 7);
    ck_assert_uint_eq(h.calls, 0);
    ck_assert_uint_eq(pool_stats(pool).queued, 3);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_slot, &h, NULL), 0);
    ck_assert_uint_eq(h.calls, 3);
    ck_assert_uint_eq(pool_stats(pool).cancelled, 3);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    assert_each_once(slots, 3);
    ck_assert_uint_eq(count_handed(slots, 3), 3);
    blockers_destroy(&b);
}
END_TEST

/* Nothing queued: on an idle pool, with only running jobs, and after
 * shutdown, cancel hands back nothing and returns 0. */
START_TEST(cancel_with_nothing_queued_hands_back_nothing)
{
    job_pool *pool = pool_new(1);
    struct handback_log h;
    struct blockers b;
    size_t count = 7;

    handback_log_init(&h);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_slot, &h, &count),
                     0);
    ck_assert_uint_eq(count, 0);
    blockers_init(&b);
    blockers_add(&b, pool, 1);
    count = 7;
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_slot, &h, &count),
                     0);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(pool_stats(pool).running, 1);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    count = 7;
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_slot, &h, &count),
                     0);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(h.calls, 0);
    ck_assert_uint_eq(atomic_load(&b.done), 1);
    ck_assert_uint_eq(pool_stats(pool).cancelled, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/*
 * Cancel may be what makes the pool idle: the last queued job is in a
 * handback when the only running job finishes and its worker goes to
 * sleep.  A wait_idle caller must then be woken by the cancel itself.
 */
struct slow_handback {
    struct countdown inside;
    struct latch release;
};

static void handback_slowly(job_fn fn, void *ctx, void *arg)
{
    struct slow_handback *s = arg;

    (void)fn;
    countdown_arrive(&s->inside);
    latch_wait(&s->release);
    atomic_fetch_add(&((struct slot *)ctx)->handed, 1);
}

struct cancel_call {
    job_pool *pool;
    job_handback_fn handback;
    void *arg;
    size_t count;
    int rc;
};

static void *cancel_thread(void *arg)
{
    struct cancel_call *c = arg;

    c->rc = job_pool_cancel_queued(c->pool, c->handback, c->arg, &c->count);
    return NULL;
}

static void *wait_idle_thread(void *arg)
{
    return (void *)(intptr_t)job_pool_wait_idle(arg);
}

START_TEST(wait_idle_returns_when_a_cancel_takes_the_last_job)
{
    job_pool *pool = pool_new(1);
    struct slot slot;
    struct slow_handback slow;
    struct cancel_call call;
    struct blockers b;
    pthread_t canceller, waiter;
    uint64_t deadline;
    void *rc;

    slots_init(&slot, 1);
    countdown_init(&slow.inside, 1);
    latch_init(&slow.release);
    blockers_init(&b);
    blockers_add(&b, pool, 1);
    ck_assert_int_eq(job_submit_detached(pool, job_run_slot, &slot), 0);
    call = (struct cancel_call){pool, handback_slowly, &slow, 0, -1};
    ck_assert_int_eq(pthread_create(&canceller, NULL, cancel_thread, &call), 0);
    countdown_wait(&slow.inside);
    ck_assert_int_eq(pthread_create(&waiter, NULL, wait_idle_thread, pool), 0);

    /* The gated job finishes; its worker finds nothing and goes idle. */
    blockers_open(&b);
    deadline = now_ns() + 10000 * MS;
    for (;;) {
        job_pool_stats s = pool_stats(pool);

        if (s.completed == 1 && s.threads_idle == 1)
            break;
        ck_assert_msg(now_ns() < deadline, "the worker never went idle");
        sleep_ms(1);
    }
    grace(); /* lets the worker stop spinning and sleep */

    latch_open(&slow.release);
    ck_assert_int_eq(pthread_join(canceller, NULL), 0);
    ck_assert_int_eq(call.rc, 0);
    ck_assert_uint_eq(call.count, 1);
    ck_assert_int_eq(pthread_join(waiter, &rc), 0);
    ck_assert_int_eq((int)(intptr_t)rc, 0);
    ck_assert_uint_eq(atomic_load(&slot.ran), 0);
    ck_assert_uint_eq(atomic_load(&slot.handed), 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
    latch_destroy(&slow.release);
    countdown_destroy(&slow.inside);
}
END_TEST

/* A job may cancel the jobs queued behind it in its own pool. */
struct self_cancel {
    job_pool *pool;
    struct countdown started;
    struct latch go;
    struct handback_log h;
    size_t count;
    int rc;
};

static void job_cancel_own_queue(void *ctx)
{
    struct self_cancel *c = ctx;

    countdown_arrive(&c->started);
    latch_wait(&c->go);
    handback_log_init(&c->h);
    c->rc = job_pool_cancel_queued(c->pool, handback_slot, &c->h, &c->count);
}

START_TEST(a_worker_may_cancel_its_own_queue)
{
    job_pool *pool = pool_new(1);
    struct slot slots[5];
    static struct self_cancel c;

    slots_init(slots, 5);
    c = (struct self_cancel){.pool = pool, .rc = -1};
    countdown_init(&c.started, 1);
    latch_init(&c.go);
    ck_assert_int_eq(job_submit_detached(pool, job_cancel_own_queue, &c), 0);
    countdown_wait(&c.started);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_run_slot, &slots[i]), 0);
    latch_open(&c.go);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(c.rc, 0);
    ck_assert_uint_eq(c.count, 5);
    ck_assert_uint_eq(c.h.wrong, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(atomic_load(&slots[i].ran), 0);
        ck_assert_uint_eq(atomic_load(&slots[i].handed), 1);
    }
    latch_destroy(&c.go);
    countdown_destroy(&c.started);
}
END_TEST

/* handback may submit, to this pool too: the resubmitted jobs run once. */
struct resubmit {
    job_pool *pool;
    unsigned calls;
    unsigned failed;
};

static void handback_resubmit(job_fn fn, void *ctx, void *arg)
{
    struct resubmit *r = arg;

    r->calls++;
    atomic_fetch_add(&((struct slot *)ctx)->handed, 1);
    if (job_submit_detached(r->pool, fn, ctx) != 0)
        r->failed++;
}

START_TEST(handback_may_resubmit_to_the_same_pool)
{
    enum { QUEUED = 10 };
    job_pool *pool = pool_new(1);
    struct slot slots[QUEUED];
    struct resubmit r = {pool, 0, 0};
    struct blockers b;
    size_t count = 0;

    slots_init(slots, QUEUED);
    blockers_init(&b);
    blockers_add(&b, pool, 1);
    for (int i = 0; i < QUEUED; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_run_slot, &slots[i]), 0);
    ck_assert_int_eq(
        job_pool_cancel_queued(pool, handback_resubmit, &r, &count), 0);
    /* Jobs submitted during the call may be handed back too. */
    ck_assert_uint_ge(count, QUEUED);
    ck_assert_uint_eq(count, r.calls);
    ck_assert_uint_eq(r.failed, 0);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    for (int i = 0; i < QUEUED; i++) {
        ck_assert_uint_eq(atomic_load(&slots[i].ran), 1);
        ck_assert_uint_ge(atomic_load(&slots[i].handed), 1);
    }
    blockers_destroy(&b);
}
END_TEST

/* Cancel makes room in a full bounded queue: a BLOCK submitter gets in
 * while the worker is still held. */
START_TEST(cancel_releases_a_submitter_blocked_on_a_full_queue)
{
    job_pool_options opts;
    job_pool *pool;
    struct slot slots[3];
    struct handback_log h;
    struct blockers b;
    struct submitter sub;
    size_t count = 0;

    slots_init(slots, 3);
    job_pool_options_init(&opts);
    opts.threads = 1;
    opts.queue_limit = 2;
    opts.overflow = JOB_OVERFLOW_BLOCK;
    pool = pool_with(&opts);
    blockers_init(&b);
    blockers_add(&b, pool, 1);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_run_slot, &slots[i]), 0);
    submitter_start(&sub, pool, job_run_slot, &slots[2]);
    grace();
    ck_assert(!atomic_load(&sub.returned));

    handback_log_init(&h);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_slot, &h, &count),
                     0);
    ck_assert_int_eq(submitter_join(&sub), 0);
    ck_assert_uint_eq(atomic_load(&b.done), 0); /* the gate is still shut */
    ck_assert_uint_ge(count, 2);
    ck_assert_uint_le(count, 3);
    ck_assert_uint_eq(atomic_load(&slots[0].handed), 1);
    ck_assert_uint_eq(atomic_load(&slots[1].handed), 1);

    blockers_open(&b);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    assert_each_once(slots, 3);
    ck_assert_uint_eq(count_handed(slots, 3), count);
    ck_assert_uint_eq(h.wrong, 0);
    blockers_destroy(&b);
}
END_TEST

/*
 * shutdownNow: a shutdown that timed out, then cancel, then a shutdown that
 * waits.  _i = 0 cancels while the workers are held (everything queued is
 * handed back); _i = 1 opens the gate first, so cancel races the draining
 * workers.  Either way each job is accounted for exactly once.
 */
START_TEST(shutdown_now_accounts_for_every_job)
{
    enum { QUEUED = 200 };
    job_pool *pool = pool_new(2);
    struct slot slots[QUEUED];
    static struct handback_log h;
    struct blockers b;
    size_t count = 0;
    job_pool_stats s;

    slots_init(slots, QUEUED);
    blockers_init(&b);
    blockers_add(&b, pool, 2);
    for (int i = 0; i < QUEUED; i++)
        ck_assert_int_eq(job_submit_detached(pool, job_run_slot, &slots[i]), 0);
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 10 * MS), ETIMEDOUT);
    if (_i == 1)
        blockers_open(&b);
    handback_log_init(&h);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_slot, &h, &count),
                     0);
    if (_i == 0) {
        ck_assert_uint_eq(count, QUEUED);
        blockers_open(&b);
    }
    ck_assert_int_eq(job_pool_shutdown(pool), 0);

    assert_each_once(slots, QUEUED);
    ck_assert_uint_eq(count_handed(slots, QUEUED), count);
    ck_assert_uint_eq(h.wrong, 0);
    ck_assert_uint_eq(atomic_load(&b.done), 2);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.cancelled, count);
    ck_assert_uint_eq(s.completed, 2 + QUEUED - count);
    ck_assert_uint_eq(s.threads, 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/*
 * Producers submit tagged jobs while the workers run them and another
 * thread cancels over and over.  After shutdown every accepted job ran or
 * was handed back, exactly once, and every refused one did neither.
 * _i: 0 unbounded, 1 bounded with REJECT, 2 bounded with BLOCK.
 */
enum { RACE_PRODUCERS = 3, RACE_JOBS = 2000 };

struct race_producer {
    job_pool *pool;
    struct slot *slots;
    int *rcs;
    struct latch *go;
};

static void *race_produce(void *arg)
{
    struct race_producer *p = arg;

    latch_wait(p->go);
    for (unsigned i = 0; i < RACE_JOBS; i++)
        p->rcs[i] = job_submit_detached(p->pool, job_run_slot, &p->slots[i]);
    return NULL;
}

/* Only the cancelling thread writes it; the test reads it after the join. */
struct canceller {
    job_pool *pool;
    struct latch stop;
    struct handback_log h;
    unsigned long handed; /* sum of the counts */
    unsigned long calls;
    unsigned long failed; /* calls that did not return 0 */
};

static void *cancel_repeatedly(void *arg)
{
    struct canceller *c = arg;

    handback_log_init(&c->h);
    /* At least once, even if the producers are done before this thread
     * first runs. */
    do {
        size_t count = 0;

        if (job_pool_cancel_queued(c->pool, handback_slot, &c->h, &count) != 0)
            c->failed++;
        c->handed += count;
        c->calls++;
        sched_yield();
    } while (!latch_is_open(&c->stop));
    return NULL;
}

START_TEST(cancel_racing_producers_and_workers_loses_nothing)
{
    enum { TOTAL = RACE_PRODUCERS * RACE_JOBS };
    job_pool_options opts;
    job_pool *pool;
    struct slot *slots = calloc(TOTAL, sizeof *slots);
    int *rcs = calloc(TOTAL, sizeof *rcs);
    struct race_producer producers[RACE_PRODUCERS];
    pthread_t threads[RACE_PRODUCERS], cancelling;
    struct canceller *c = calloc(1, sizeof *c);
    unsigned long accepted = 0, refused = 0;
    struct latch go;
    job_pool_stats s;

    ck_assert_ptr_nonnull(slots);
    ck_assert_ptr_nonnull(rcs);
    ck_assert_ptr_nonnull(c);
    job_pool_options_init(&opts);
    opts.threads = 2;
    if (_i > 0) {
        opts.queue_limit = 8;
        opts.overflow = _i == 1 ? JOB_OVERFLOW_REJECT : JOB_OVERFLOW_BLOCK;
    }
    pool = pool_with(&opts);
    latch_init(&go);
    c->pool = pool;
    latch_init(&c->stop);
    ck_assert_int_eq(pthread_create(&cancelling, NULL, cancel_repeatedly, c),
                     0);
    for (unsigned i = 0; i < RACE_PRODUCERS; i++) {
        producers[i] = (struct race_producer){pool, &slots[i * RACE_JOBS],
                                              &rcs[i * RACE_JOBS], &go};
        ck_assert_int_eq(
            pthread_create(&threads[i], NULL, race_produce, &producers[i]), 0);
    }
    latch_open(&go);
    for (unsigned i = 0; i < RACE_PRODUCERS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    latch_open(&c->stop);
    ck_assert_int_eq(pthread_join(cancelling, NULL), 0);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);

    for (unsigned i = 0; i < TOTAL; i++) {
        if (rcs[i] == 0) {
            unsigned ran = atomic_load(&slots[i].ran);
            unsigned handed = atomic_load(&slots[i].handed);

            accepted++;
            ck_assert_msg(ran + handed == 1,
                          "job %u ran %u and was handed back %u", i, ran,
                          handed);
        } else {
            refused++;
            ck_assert_msg(_i == 1 && rcs[i] == EAGAIN, "job %u refused with %d",
                          i, rcs[i]);
            ck_assert_uint_eq(atomic_load(&slots[i].ran), 0);
            ck_assert_uint_eq(atomic_load(&slots[i].handed), 0);
        }
    }
    ck_assert_uint_eq(c->failed, 0);
    ck_assert_uint_gt(c->calls, 0);
    ck_assert_uint_eq(c->h.wrong, 0);
    ck_assert_uint_eq(c->handed, c->h.calls);
    ck_assert_uint_eq(count_handed(slots, TOTAL), c->handed);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.submitted, accepted);
    ck_assert_uint_eq(s.rejected, refused);
    ck_assert_uint_eq(s.cancelled, c->handed);
    ck_assert_uint_eq(s.completed + s.cancelled, s.submitted);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&go);
    latch_destroy(&c->stop);
    free(c);
    free(rcs);
    free(slots);
}
END_TEST

Suite *cancel_suite(void)
{
    Suite *s = suite_create("cancel");
    TCase *timed = tcase_create("shutdown-timed");
    TCase *cancel = tcase_create("cancel-queued");

    tcase_set_timeout(timed, 30);
    tcase_add_test(timed, shutdown_timed_times_out_while_jobs_remain);
    tcase_add_test(timed, shutdown_after_a_timed_out_one_waits_for_the_drain);
    tcase_add_test(timed, shutdown_timed_zero_begins_the_shutdown);
    tcase_add_test(timed,
                   shutdown_timed_from_a_worker_is_edeadlk_and_changes_nothing);
    suite_add_tcase(s, timed);

    tcase_set_timeout(cancel, 30);
    tcase_add_test(cancel, cancel_hands_back_every_queued_job_in_fifo_order);
    tcase_add_test(cancel, cancel_rejects_null_arguments_and_count_is_optional);
    tcase_add_test(cancel, cancel_with_nothing_queued_hands_back_nothing);
    tcase_add_test(cancel, wait_idle_returns_when_a_cancel_takes_the_last_job);
    tcase_add_test(cancel, a_worker_may_cancel_its_own_queue);
    tcase_add_test(cancel, handback_may_resubmit_to_the_same_pool);
    tcase_add_test(cancel, cancel_releases_a_submitter_blocked_on_a_full_queue);
    tcase_add_loop_test(cancel, shutdown_now_accounts_for_every_job, 0, 2);
    tcase_add_loop_test(
        cancel, cancel_racing_producers_and_workers_loses_nothing, 0, 3);
    suite_add_tcase(s, cancel);
    return s;
}
