/* SPDX-License-Identifier: MIT */
/*
 * Lanes: FIFOs of a given width inside a pool.  Their order across
 * producer threads, their width as a cap, their fairness towards the rest
 * of the pool, their refusals, their cancel and their drain.
 */
#include "helpers.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

/* order */

/* What the jobs of a serial lane saw.  Only the lane's jobs touch these
 * fields, one after another, so nothing guards them but the lane's order:
 * a race between two jobs would show as a lost count. */
struct ticket_log {
    unsigned expected;     /* the ticket the next job should carry */
    unsigned out_of_order; /* jobs whose ticket was not the expected one */
    unsigned count;        /* jobs run, a plain counter on purpose */
};

struct ticket_job {
    struct ticket_log *log;
    unsigned ticket;
};

static void job_check_ticket(void *ctx)
{
    struct ticket_job *job = ctx;
    struct ticket_log *log = job->log;
    unsigned count = log->count;

    if (job->ticket != log->expected)
        log->out_of_order++;
    /* Widens the window between the read and the write of count, so that
     * two of the lane's jobs running at once would lose an increment. */
    sched_yield();
    log->expected = job->ticket + 1;
    log->count = count + 1;
}

enum { PRODUCERS = 4, PER_PRODUCER = 500 };

/* Producers take a ticket and submit under one mutex, so the lane's
 * acceptance order is the ticket order. */
struct ticket_desk {
    pthread_mutex_t lock;
    unsigned next; /* lock */
    job_lane *lane;
    struct ticket_log *log;
    struct ticket_job *jobs; /* one per ticket */
    atomic_uint refused;     /* submits that did not return 0 */
};

static void *produce_tickets(void *arg)
{
    struct ticket_desk *desk = arg;

    for (unsigned i = 0; i < PER_PRODUCER; i++) {
        struct ticket_job *job;

        pthread_mutex_lock(&desk->lock);
        job = &desk->jobs[desk->next];
        *job = (struct ticket_job){desk->log, desk->next};
        desk->next++;
        if (job_submit_lane(desk->lane, job_check_ticket, job) != 0)
            atomic_fetch_add(&desk->refused, 1);
        pthread_mutex_unlock(&desk->lock);
    }
    return NULL;
}

START_TEST(serial_lane_runs_jobs_of_many_producers_in_acceptance_order)
{
    job_pool *pool = pool_new(4);
    struct ticket_log log = {0, 0, 0};
    struct ticket_desk desk;
    pthread_t producers[PRODUCERS];
    enum { TOTAL = PRODUCERS * PER_PRODUCER };
    job_lane_stats s;

    ck_assert_int_eq(pthread_mutex_init(&desk.lock, NULL), 0);
    desk.next = 0;
    desk.lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    desk.log = &log;
    desk.jobs = calloc(TOTAL, sizeof *desk.jobs);
    ck_assert_ptr_nonnull(desk.jobs);
    atomic_init(&desk.refused, 0);
    for (int i = 0; i < PRODUCERS; i++)
        ck_assert_int_eq(
            pthread_create(&producers[i], NULL, produce_tickets, &desk), 0);
    for (int i = 0; i < PRODUCERS; i++)
        ck_assert_int_eq(pthread_join(producers[i], NULL), 0);
    s = lane_stats(desk.lane);
    ck_assert_uint_le(s.running_peak, 1);
    ck_assert_int_eq(job_lane_destroy(desk.lane), 0);

    ck_assert_uint_eq(atomic_load(&desk.refused), 0);
    ck_assert_uint_eq(log.out_of_order, 0);
    ck_assert_uint_eq(log.expected, TOTAL);
    ck_assert_uint_eq(log.count, TOTAL);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    pthread_mutex_destroy(&desk.lock);
    free(desk.jobs);
}
END_TEST

/* width */

/* A lane of width 2 in a pool of 4: with every job blocked, two run and
 * the rest wait in the lane although two workers are free. */
START_TEST(lane_never_runs_more_jobs_than_its_width)
{
    job_pool *pool = pool_new(4);
    job_lane *lane = lane_new(pool, 2, 0, JOB_OVERFLOW_REJECT);
    struct countdown started;
    struct latch gate;
    atomic_ulong done = 0;
    struct gated_job job;
    job_lane_stats s;

    countdown_init(&started, 2);
    latch_init(&gate);
    job = (struct gated_job){&started, &gate, &done};
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(job_submit_lane(lane, job_gated, &job), 0);
    countdown_wait(&started);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.width, 2);
    ck_assert_uint_eq(s.running, 2);
    ck_assert_uint_eq(s.queued, 8);
    ck_assert_uint_eq(s.submitted, 10);
    ck_assert_uint_eq(s.completed, 0);
    ck_assert_uint_eq(atomic_load(&done), 0);

    /* The pool's shutdown drains the lane; the lane outlives it, so its
     * final counters can be read before destroy frees it. */
    latch_open(&gate);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_uint_eq(atomic_load(&done), 10);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.running_peak, 2);
    ck_assert_uint_eq(s.completed, 10);
    ck_assert_uint_eq(s.submitted, 10);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, 0);
    /* Eight waited at once at least; all ten, if none had started yet. */
    ck_assert_uint_ge(s.queued_peak, 8);
    ck_assert_uint_le(s.queued_peak, 10);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&gate);
    countdown_destroy(&started);
}
END_TEST

/* fairness */

/* A serial lane whose first job is held, with 50 more waiting: the lane
 * holds one worker of two, and the pool's other jobs and a second lane's
 * all run on the other while the first lane waits. */
START_TEST(a_blocked_lane_does_not_starve_the_pool_or_other_lanes)
{
    job_pool *pool = pool_new(2);
    job_lane *held = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    job_lane *other = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    struct countdown started, others;
    struct latch gate;
    struct gated_job blocker;
    atomic_ulong held_ran = 0;
    job_lane_stats s;

    countdown_init(&started, 1);
    countdown_init(&others, 110);
    latch_init(&gate);
    blocker = (struct gated_job){&started, &gate, NULL};
    ck_assert_int_eq(job_submit_lane(held, job_gated, &blocker), 0);
    countdown_wait(&started);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(job_submit_lane(held, job_count, &held_ran), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(
            job_submit_detached(pool, job_countdown_arrive, &others), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(job_submit_lane(other, job_countdown_arrive, &others),
                         0);
    countdown_wait(&others);
    ck_assert(!latch_is_open(&gate));
    ck_assert_uint_eq(atomic_load(&held_ran), 0);
    s = lane_stats(held);
    ck_assert_uint_eq(s.running, 1);
    ck_assert_uint_eq(s.queued, 50);

    latch_open(&gate);
    ck_assert_int_eq(job_lane_destroy(held), 0);
    ck_assert_uint_eq(atomic_load(&held_ran), 50);
    ck_assert_int_eq(job_lane_destroy(other), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&gate);
    countdown_destroy(&others);
    countdown_destroy(&started);
}
END_TEST

/* A lane that runs its jobs back to back while nothing else waits in the
 * pool still gives way to work that arrives: with one worker, a plain job
 * queued behind a held serial lane runs before the lane's backlog is done
 * (the worker stays on one shard for at most 32 jobs, fewer than the 100
 * the lane has waiting). */
struct lane_progress {
    atomic_ulong *lane_ran;
    atomic_ulong seen;
    struct countdown done;
};

static void job_note_lane_progress(void *ctx)
{
    struct lane_progress *p = ctx;

    atomic_store(&p->seen, atomic_load(p->lane_ran));
    countdown_arrive(&p->done);
}

START_TEST(a_busy_lane_gives_way_to_work_queued_in_the_pool)
{
    job_pool *pool = pool_new(1);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    atomic_ulong lane_ran = 0;
    struct lane_progress p = {.lane_ran = &lane_ran};
    unsigned long seen;
    struct countdown started;
    struct latch gate;
    struct gated_job blocker;

    countdown_init(&started, 1);
    countdown_init(&p.done, 1);
    latch_init(&gate);
    blocker = (struct gated_job){&started, &gate, NULL};
    ck_assert_int_eq(job_submit_lane(lane, job_gated, &blocker), 0);
    countdown_wait(&started);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(job_submit_lane(lane, job_count, &lane_ran), 0);
    ck_assert_int_eq(job_submit_detached(pool, job_note_lane_progress, &p), 0);
    latch_open(&gate);
    countdown_wait(&p.done);
    seen = atomic_load(&p.seen);
    ck_assert_uint_lt(seen, 100);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_uint_eq(atomic_load(&lane_ran), 100);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&gate);
    countdown_destroy(&p.done);
    countdown_destroy(&started);
}
END_TEST

/* refusals */

static void job_nothing(void *ctx)
{
    (void)ctx;
}

START_TEST(lane_calls_reject_null_and_invalid_arguments)
{
    job_pool *pool = pool_new(1);
    job_lane *lane = NULL, *untouched = (job_lane *)&untouched;
    job_lane_options opts;
    job_lane_stats s;

    ck_assert_int_eq(job_lane_create(NULL, &lane, NULL), EINVAL);
    ck_assert_ptr_null(lane);
    ck_assert_int_eq(job_lane_create(pool, NULL, NULL), EINVAL);
    job_lane_options_init(&opts);
    opts.overflow = JOB_OVERFLOW_CALLER_RUNS;
    ck_assert_int_eq(job_lane_create(pool, &untouched, &opts), EINVAL);
    ck_assert_ptr_eq(untouched, (job_lane *)&untouched);
    job_lane_options_init(&opts);
    opts.overflow = (enum job_overflow)99;
    ck_assert_int_eq(job_lane_create(pool, &untouched, &opts), EINVAL);
    job_lane_options_init(&opts);
    opts.struct_size = 1;
    ck_assert_int_eq(job_lane_create(pool, &untouched, &opts), EINVAL);
    ck_assert_ptr_eq(untouched, (job_lane *)&untouched);

    /* opts NULL: the defaults, a serial unbounded lane. */
    ck_assert_int_eq(job_lane_create(pool, &lane, NULL), 0);
    ck_assert_ptr_nonnull(lane);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.width, 1);
    ck_assert_int_eq(job_submit_lane(NULL, job_nothing, NULL), EINVAL);
    ck_assert_int_eq(job_submit_lane(lane, NULL, NULL), EINVAL);
    ck_assert_int_eq(job_lane_cancel_queued(NULL, NULL, NULL, NULL), EINVAL);
    ck_assert_int_eq(job_lane_cancel_queued(lane, NULL, NULL, NULL), EINVAL);
    ck_assert_int_eq(job_lane_get_stats_sized(NULL, &s, sizeof s), EINVAL);
    ck_assert_int_eq(job_lane_get_stats_sized(lane, NULL, sizeof s), EINVAL);
    /* EINVAL is not counted as a rejection. */
    s = lane_stats(lane);
    ck_assert_uint_eq(s.rejected, 0);
    ck_assert_uint_eq(s.submitted, 0);
    ck_assert_int_eq(job_lane_destroy(NULL), 0);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

/* A held worker keeps the shutdown from finishing: lanes cannot be made
 * and refuse jobs while it runs and after it is done. */
START_TEST(lanes_refuse_work_once_the_pool_shutdown_has_begun)
{
    job_pool *pool = pool_new(1);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    job_lane *refused = NULL;
    atomic_ulong ran = 0;
    struct blockers b;

    blockers_init(&b);
    blockers_add(&b, pool, 1);
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 0), ETIMEDOUT);
    ck_assert_int_eq(job_lane_create(pool, &refused, NULL), ESHUTDOWN);
    ck_assert_ptr_null(refused);
    ck_assert_int_eq(job_submit_lane(lane, job_count, &ran), ESHUTDOWN);
    ck_assert_uint_eq(lane_stats(lane).rejected, 1);

    blockers_open(&b);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_lane_create(pool, &refused, NULL), ESHUTDOWN);
    ck_assert_ptr_null(refused);
    ck_assert_int_eq(job_submit_lane(lane, job_count, &ran), ESHUTDOWN);
    ck_assert_uint_eq(lane_stats(lane).rejected, 2);
    ck_assert_uint_eq(lane_stats(lane).submitted, 0);
    ck_assert_uint_eq(atomic_load(&ran), 0);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* A lane job destroying its own lane would wait for itself. */
struct self_destroy {
    job_lane *lane;
    atomic_int rc;
    struct countdown ran;
};

static void job_destroy_own_lane(void *ctx)
{
    struct self_destroy *d = ctx;

    atomic_store(&d->rc, job_lane_destroy(d->lane));
    countdown_arrive(&d->ran);
}

START_TEST(destroying_a_lane_from_its_own_job_is_edeadlk)
{
    job_pool *pool = pool_new(2);
    struct self_destroy d;
    atomic_ulong ran = 0;

    d.lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    atomic_init(&d.rc, -1);
    countdown_init(&d.ran, 1);
    ck_assert_int_eq(job_submit_lane(d.lane, job_destroy_own_lane, &d), 0);
    countdown_wait(&d.ran);
    ck_assert_int_eq(atomic_load(&d.rc), EDEADLK);
    /* Nothing changed: the lane still takes jobs. */
    ck_assert_int_eq(job_submit_lane(d.lane, job_count, &ran), 0);
    ck_assert_int_eq(job_lane_destroy(d.lane), 0);
    ck_assert_uint_eq(atomic_load(&ran), 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&d.ran);
}
END_TEST

/* Jobs waiting in a lane when the pool's shutdown begins all run before
 * it finishes. */
START_TEST(pool_shutdown_drains_the_jobs_waiting_in_a_lane)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    atomic_ulong ran = 0;
    struct blockers b;
    job_lane_stats s;

    blockers_init(&b);
    blockers_add_lane(&b, lane, 1);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(job_submit_lane(lane, job_count, &ran), 0);
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 0), ETIMEDOUT);
    ck_assert_uint_eq(atomic_load(&ran), 0);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_uint_eq(atomic_load(&ran), 20);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.completed, 21);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* A lane at its queue_limit under REJECT refuses the next job at once. */
START_TEST(bounded_lane_rejects_past_its_queue_limit)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 2, JOB_OVERFLOW_REJECT);
    atomic_ulong ran = 0;
    struct blockers b;
    job_lane_stats s;

    blockers_init(&b);
    blockers_add_lane(&b, lane, 1);
    ck_assert_int_eq(job_submit_lane(lane, job_count, &ran), 0);
    ck_assert_int_eq(job_submit_lane(lane, job_count, &ran), 0);
    ck_assert_int_eq(job_submit_lane(lane, job_count, &ran), EAGAIN);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.rejected, 1);
    ck_assert_uint_eq(s.queued, 2);
    ck_assert_uint_eq(s.submitted, 3);

    blockers_open(&b);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_uint_eq(atomic_load(&ran), 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* A submit to a lane on a thread of its own, because it may block. */
struct lane_submitter {
    job_lane *lane;
    job_fn fn;
    void *ctx;
    atomic_bool returned;
    int rc; /* valid once joined */
    pthread_t thread;
};

static void *lane_submit_main(void *arg)
{
    struct lane_submitter *ls = arg;

    ls->rc = job_submit_lane(ls->lane, ls->fn, ls->ctx);
    atomic_store(&ls->returned, true);
    return NULL;
}

static void lane_submitter_start(struct lane_submitter *ls, job_lane *lane,
                                 job_fn fn, void *ctx)
{
    *ls = (struct lane_submitter){.lane = lane, .fn = fn, .ctx = ctx};
    atomic_init(&ls->returned, false);
    ck_assert_int_eq(pthread_create(&ls->thread, NULL, lane_submit_main, ls),
                     0);
}

static int lane_submitter_join(struct lane_submitter *ls)
{
    ck_assert_int_eq(pthread_join(ls->thread, NULL), 0);
    return ls->rc;
}

/* Under BLOCK a submit at the limit waits for room and is then accepted. */
START_TEST(bounded_lane_blocks_a_submit_until_there_is_room)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 1, JOB_OVERFLOW_BLOCK);
    struct lane_submitter ls;
    atomic_ulong ran = 0;
    struct blockers b;

    blockers_init(&b);
    blockers_add_lane(&b, lane, 1);
    ck_assert_int_eq(job_submit_lane(lane, job_count, &ran), 0);
    lane_submitter_start(&ls, lane, job_count, &ran);
    grace();
    ck_assert(!atomic_load(&ls.returned));
    blockers_open(&b);
    ck_assert_int_eq(lane_submitter_join(&ls), 0);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_uint_eq(atomic_load(&ran), 2);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

struct lane_destroyer {
    job_lane *lane;
    int rc;
    pthread_t thread;
};

static void *lane_destroy_main(void *arg)
{
    struct lane_destroyer *d = arg;

    d->rc = job_lane_destroy(d->lane);
    return NULL;
}

/* A submit blocked for room gets ESHUTDOWN once destroy begins, while the
 * destroy still waits for the held job: only destroy's closing can have
 * released it, as the gate is still shut. */
START_TEST(destroy_releases_a_blocked_submit_with_eshutdown)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 1, JOB_OVERFLOW_BLOCK);
    struct lane_submitter ls;
    struct lane_destroyer d = {lane, -1, 0};
    atomic_ulong ran = 0;
    struct blockers b;

    blockers_init(&b);
    blockers_add_lane(&b, lane, 1);
    ck_assert_int_eq(job_submit_lane(lane, job_count, &ran), 0);
    lane_submitter_start(&ls, lane, job_count, &ran);
    ck_assert_int_eq(pthread_create(&d.thread, NULL, lane_destroy_main, &d), 0);
    ck_assert_int_eq(lane_submitter_join(&ls), ESHUTDOWN);
    ck_assert(!latch_is_open(&b.gate));
    blockers_open(&b);
    ck_assert_int_eq(pthread_join(d.thread, NULL), 0);
    ck_assert_int_eq(d.rc, 0);
    ck_assert_uint_eq(atomic_load(&ran), 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* A lane job that fills its own lane under BLOCK would wait for itself. */
struct self_fill {
    job_lane *lane;
    atomic_ulong ran;
    int first, second; /* read once done has been reached */
    struct countdown done;
};

static void job_fill_own_lane(void *ctx)
{
    struct self_fill *f = ctx;

    f->first = job_submit_lane(f->lane, job_count, &f->ran);
    f->second = job_submit_lane(f->lane, job_count, &f->ran);
    countdown_arrive(&f->done);
}

START_TEST(a_lane_job_blocking_on_its_own_full_lane_is_edeadlk)
{
    job_pool *pool = pool_new(2);
    struct self_fill f = {.first = -1, .second = -1};

    f.lane = lane_new(pool, 1, 1, JOB_OVERFLOW_BLOCK);
    atomic_init(&f.ran, 0);
    countdown_init(&f.done, 1);
    ck_assert_int_eq(job_submit_lane(f.lane, job_fill_own_lane, &f), 0);
    countdown_wait(&f.done);
    ck_assert_int_eq(f.first, 0);
    ck_assert_int_eq(f.second, EDEADLK);
    ck_assert_uint_eq(lane_stats(f.lane).rejected, 1);
    ck_assert_int_eq(job_lane_destroy(f.lane), 0);
    ck_assert_uint_eq(atomic_load(&f.ran), 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    countdown_destroy(&f.done);
}
END_TEST

/* cancel */

/* What a handback saw, in order.  Only the cancelling thread writes it. */
enum { HANDED_MAX = 16 };
struct handed {
    unsigned calls;
    job_fn fns[HANDED_MAX];
    void *ctxs[HANDED_MAX];
};

static void handback_record(job_fn fn, void *ctx, void *arg)
{
    struct handed *h = arg;

    if (h->calls < HANDED_MAX) {
        h->fns[h->calls] = fn;
        h->ctxs[h->calls] = ctx;
    }
    h->calls++;
}

static void job_mark(void *ctx)
{
    atomic_fetch_add((atomic_uint *)ctx, 1);
}

/* Submits n jobs to the lane, job i marking marks[i], which starts at 0. */
static void submit_marks(job_lane *lane, atomic_uint *marks, int n)
{
    for (int i = 0; i < n; i++) {
        atomic_init(&marks[i], 0);
        ck_assert_int_eq(job_submit_lane(lane, job_mark, &marks[i]), 0);
    }
}

static void assert_handed_in_order(const struct handed *h, atomic_uint *marks,
                                   unsigned n)
{
    ck_assert_uint_eq(h->calls, n);
    for (unsigned i = 0; i < n; i++) {
        ck_assert_msg(h->fns[i] == job_mark, "handback %u got another fn", i);
        ck_assert_ptr_eq(h->ctxs[i], &marks[i]);
    }
}

START_TEST(lane_cancel_hands_back_waiting_jobs_in_order)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    atomic_uint marks[5];
    struct handed h = {0};
    struct blockers b;
    size_t count = 99;
    job_lane_stats s;

    blockers_init(&b);
    blockers_add_lane(&b, lane, 1);
    submit_marks(lane, marks, 5);
    ck_assert_int_eq(job_lane_cancel_queued(lane, handback_record, &h, &count),
                     0);
    ck_assert_uint_eq(count, 5);
    assert_handed_in_order(&h, marks, 5);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.cancelled, 5);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, 1);
    /* Nothing left: a second cancel hands back nothing. */
    ck_assert_int_eq(job_lane_cancel_queued(lane, handback_record, &h, &count),
                     0);
    ck_assert_uint_eq(count, 0);

    blockers_open(&b);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* Queues five jobs in lane behind the pool's only worker, held by b, and
 * checks that the pool's cancel hands back exactly those five, in order,
 * with their own fn and ctx (not the lane's tokens). */
static void pool_cancel_held_lane(job_pool *pool, job_lane *lane,
                                  struct blockers *b, atomic_uint marks[5])
{
    struct handed h = {0};
    size_t count = 99;
    job_lane_stats s;

    blockers_init(b);
    blockers_add(b, pool, 1);
    submit_marks(lane, marks, 5);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_record, &h, &count),
                     0);
    ck_assert_uint_eq(count, 5);
    assert_handed_in_order(&h, marks, 5);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.cancelled, 5);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(pool_stats(pool).queued, 0);
}

/* The pool's only worker is held, so the lane's token waits in the pool's
 * queue: the pool's cancel hands back the lane's jobs themselves, with the
 * caller's fn and ctx, not the token. */
START_TEST(pool_cancel_hands_back_a_lanes_jobs_with_their_own_fn)
{
    job_pool *pool = pool_new(1);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    atomic_uint marks[5];
    struct blockers b;

    pool_cancel_held_lane(pool, lane, &b, marks);

    /* The lane still works after losing its token. */
    blockers_open(&b);
    ck_assert_int_eq(job_submit_lane(lane, job_mark, &marks[0]), 0);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_uint_eq(atomic_load(&marks[0]), 1);
    for (int i = 1; i < 5; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* A lane of width 2 has two tokens queued in the held pool; the pool's
 * cancel takes both, and hands back each waiting job once, in order. */
START_TEST(pool_cancel_hands_back_each_job_once_when_a_lane_has_two_tokens)
{
    job_pool *pool = pool_new(1);
    job_lane *lane = lane_new(pool, 2, 0, JOB_OVERFLOW_REJECT);
    atomic_uint marks[5];
    struct blockers b;

    pool_cancel_held_lane(pool, lane, &b, marks);

    blockers_open(&b);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* The handback of a lane's cancel may put the job back into the lane. */
struct requeue {
    job_lane *lane;
    unsigned refused; /* only the cancelling thread writes it */
};

static void handback_requeue(job_fn fn, void *ctx, void *arg)
{
    struct requeue *r = arg;

    if (job_submit_lane(r->lane, fn, ctx) != 0)
        r->refused++;
}

START_TEST(lane_cancel_handback_may_resubmit_to_the_same_lane)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    struct requeue r = {lane, 0};
    atomic_uint marks[5];
    struct blockers b;
    size_t count = 0;

    blockers_init(&b);
    blockers_add_lane(&b, lane, 1);
    submit_marks(lane, marks, 5);
    ck_assert_int_eq(job_lane_cancel_queued(lane, handback_requeue, &r, &count),
                     0);
    /* Only the jobs waiting when the call began: the resubmitted ones
     * wait again. */
    ck_assert_uint_eq(count, 5);
    ck_assert_uint_eq(r.refused, 0);
    ck_assert_uint_eq(lane_stats(lane).queued, 5);

    blockers_open(&b);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), 1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/*
 * A lane at its width has no token waiting in the pool, only running
 * ones: the pool's cancel must still reach the jobs waiting in the lane,
 * hand them back in the lane's order with the caller's fn and ctx, and
 * leave the running ones alone.  _i: 0 a serial lane on 2 workers, 1 a
 * lane of width 2 on 3.
 */
START_TEST(pool_cancel_hands_back_the_jobs_of_a_lane_at_its_width)
{
    const unsigned k = (unsigned)_i + 1;
    job_pool *pool = pool_new(k + 1);
    job_lane *lane = lane_new(pool, k, 0, JOB_OVERFLOW_REJECT);
    atomic_uint marks[5];
    struct handed h = {0};
    struct blockers b;
    size_t count = 99;
    job_lane_stats s;

    blockers_init(&b);
    blockers_add_lane(&b, lane, k);
    submit_marks(lane, marks, 5);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_record, &h, &count),
                     0);
    ck_assert_uint_eq(count, 5);
    assert_handed_in_order(&h, marks, 5);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.cancelled, 5);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, k);

    blockers_open(&b);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), 0);
    ck_assert_uint_eq(atomic_load(&b.done), k);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* shutdownNow with a serial lane whose job holds it: the shutdown times
 * out, the cancel hands back every job waiting in the lane, and the drain
 * then runs none of them. */
START_TEST(shutdown_now_hands_back_the_jobs_waiting_in_a_held_lane)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    atomic_uint marks[10];
    struct handed h = {0};
    struct blockers b;
    size_t count = 99;
    job_lane_stats s;

    blockers_init(&b);
    blockers_add_lane(&b, lane, 1);
    submit_marks(lane, marks, 10);
    ck_assert_int_eq(job_pool_shutdown_timed(pool, 0), ETIMEDOUT);
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_record, &h, &count),
                     0);
    ck_assert_uint_eq(count, 10);
    assert_handed_in_order(&h, marks, 10);
    blockers_open(&b);
    ck_assert_int_eq(job_pool_shutdown(pool), 0);

    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), 0);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.submitted, 11);
    ck_assert_uint_eq(s.completed, 1);
    ck_assert_uint_eq(s.cancelled, 10);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/*
 * A hand-back of a lane's job is one of the lane's callers: a destroy of
 * the lane from it would wait for the hand-back itself, and so would a
 * submit blocked on the lane's full queue.  Both are EDEADLK, and the lane
 * goes on working.  _i: 0 the lane's cancel, 1 the pool's (the lane is at
 * its width, so the pool's cancel reaches the jobs by visiting the lane).
 */
struct handback_misuse {
    job_lane *lane;
    atomic_ulong requeued_ran;
    unsigned calls;           /* the cancelling thread only */
    int destroy, fill, block; /* what the first hand-back got */
};

static void handback_misuse(job_fn fn, void *ctx, void *arg)
{
    struct handback_misuse *m = arg;

    (void)fn;
    (void)ctx;
    if (m->calls++ != 0)
        return;
    m->destroy = job_lane_destroy(m->lane);
    /* The cancel took one of the two jobs: room for one more. */
    m->fill = job_submit_lane(m->lane, job_count, &m->requeued_ran);
    m->block = job_submit_lane(m->lane, job_count, &m->requeued_ran);
}

START_TEST(destroy_or_a_full_submit_from_a_lanes_handback_is_edeadlk)
{
    job_pool *pool = pool_new(2);
    struct handback_misuse m = {.destroy = -1, .fill = -1, .block = -1};
    atomic_uint marks[2];
    struct blockers b;
    size_t count = 99;

    m.lane = lane_new(pool, 1, 2, JOB_OVERFLOW_BLOCK);
    atomic_init(&m.requeued_ran, 0);
    blockers_init(&b);
    blockers_add_lane(&b, m.lane, 1);
    submit_marks(m.lane, marks, 2);
    if (_i == 0)
        ck_assert_int_eq(
            job_lane_cancel_queued(m.lane, handback_misuse, &m, &count), 0);
    else
        ck_assert_int_eq(
            job_pool_cancel_queued(pool, handback_misuse, &m, &count), 0);
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_eq(m.calls, 2);
    ck_assert_int_eq(m.destroy, EDEADLK);
    ck_assert_int_eq(m.fill, 0);
    ck_assert_int_eq(m.block, EDEADLK);
    ck_assert_uint_eq(lane_stats(m.lane).rejected, 1);

    blockers_open(&b);
    ck_assert_int_eq(job_lane_destroy(m.lane), 0);
    ck_assert_uint_eq(atomic_load(&m.requeued_ran), 1);
    for (int i = 0; i < 2; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/*
 * The pool's cancel also reaches a lane whose destroy is waiting for its
 * held job: the jobs behind that job are handed back, not run, and the
 * destroy then returns.  The destroy cannot return before the gate opens,
 * so probing the lane with a submit until it says ESHUTDOWN is a call made
 * while destroy waits.
 */
START_TEST(pool_cancel_hands_back_the_jobs_of_a_lane_being_destroyed)
{
    job_pool *pool = pool_new(2);
    job_lane *lane = lane_new(pool, 1, 0, JOB_OVERFLOW_REJECT);
    struct lane_destroyer d = {lane, -1, 0};
    atomic_uint marks[5];
    struct handed h = {0};
    struct blockers b;
    size_t count = 99;

    blockers_init(&b);
    blockers_add_lane(&b, lane, 1);
    submit_marks(lane, marks, 5);
    ck_assert_int_eq(pthread_create(&d.thread, NULL, lane_destroy_main, &d), 0);
    while (job_submit_lane(lane, job_nothing, NULL) == 0)
        (void)sched_yield(); /* accepted before destroy began: handed back */
    ck_assert_int_eq(job_pool_cancel_queued(pool, handback_record, &h, &count),
                     0);
    ck_assert(!latch_is_open(&b.gate));
    ck_assert_uint_ge(count, 5);
    ck_assert_uint_eq(count, h.calls);
    h.calls = 5; /* the jobs after the first five are the probes */
    assert_handed_in_order(&h, marks, 5);
    blockers_open(&b);
    ck_assert_int_eq(pthread_join(d.thread, NULL), 0);
    ck_assert_int_eq(d.rc, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/*
 * The pool's cancel walks the pool's lanes while other threads create and
 * destroy lanes.  Each churning thread, round after round, creates a lane,
 * submits a job that holds it on a gate and jobs behind it, opens the gate
 * and destroys the lane, while a canceller cancels over and over.  When a
 * destroy returns, every job its lane accepted has run or been handed
 * back, once, and each hand-back got the fn it was submitted with.
 */
enum { CHURNERS = 2, CHURN_JOBS = 20 };

struct churn_slot {
    job_fn fn; /* what it was submitted with */
    struct latch *gate;
    atomic_uchar ran, handed;
};

static void job_churn(void *ctx)
{
    atomic_fetch_add(&((struct churn_slot *)ctx)->ran, 1);
}

static void job_churn_gated(void *ctx)
{
    struct churn_slot *slot = ctx;

    latch_wait(slot->gate);
    atomic_fetch_add(&slot->ran, 1);
}

/* Written by the churning thread alone, read after its join. */
struct churner {
    job_pool *pool;
    unsigned rounds;
    struct churn_slot *slots; /* rounds * (CHURN_JOBS + 1) */
    unsigned accepted, unsettled, failed;
};

static void *churn_lanes(void *arg)
{
    struct churner *c = arg;

    for (unsigned r = 0; r < c->rounds; r++) {
        struct churn_slot *slots = &c->slots[r * (CHURN_JOBS + 1)];
        struct latch gate;
        job_lane *lane = NULL;
        unsigned accepted = 0, settled = 0;

        latch_init(&gate);
        if (job_lane_create(c->pool, &lane, NULL) != 0) {
            c->failed++;
            latch_destroy(&gate);
            continue;
        }
        for (unsigned i = 0; i <= CHURN_JOBS; i++) {
            slots[i].fn = i == 0 ? job_churn_gated : job_churn;
            slots[i].gate = &gate;
            atomic_init(&slots[i].ran, 0);
            atomic_init(&slots[i].handed, 0);
            if (job_submit_lane(lane, slots[i].fn, &slots[i]) == 0)
                accepted++;
            else
                c->failed++;
        }
        latch_open(&gate);
        if (job_lane_destroy(lane) != 0)
            c->failed++;
        for (unsigned i = 0; i <= CHURN_JOBS; i++)
            settled +=
                atomic_load(&slots[i].ran) + atomic_load(&slots[i].handed);
        c->accepted += accepted;
        if (settled != accepted)
            c->unsettled++;
        latch_destroy(&gate);
    }
    return NULL;
}

/* Only the cancelling thread writes these; read after its join. */
struct churn_canceller {
    job_pool *pool;
    struct latch stop;
    unsigned long handed, calls, wrong_fn, failed;
};

static void handback_churn(job_fn fn, void *ctx, void *arg)
{
    struct churn_canceller *c = arg;
    struct churn_slot *slot = ctx;

    if (fn != slot->fn)
        c->wrong_fn++;
    atomic_fetch_add(&slot->handed, 1);
}

static void *cancel_churned(void *arg)
{
    struct churn_canceller *c = arg;

    do {
        size_t count = 0;

        if (job_pool_cancel_queued(c->pool, handback_churn, c, &count) != 0)
            c->failed++;
        c->handed += count;
        c->calls++;
        sched_yield();
    } while (!latch_is_open(&c->stop));
    return NULL;
}

START_TEST(pool_cancel_races_lanes_being_created_and_destroyed)
{
    const unsigned rounds = test_rounds(200, 20);
    job_pool *pool = pool_new(2);
    struct churner churners[CHURNERS];
    pthread_t threads[CHURNERS], cancelling;
    static struct churn_canceller c;
    unsigned long handed = 0;

    c = (struct churn_canceller){.pool = pool};
    latch_init(&c.stop);
    for (unsigned t = 0; t < CHURNERS; t++) {
        churners[t] = (struct churner){.pool = pool, .rounds = rounds};
        churners[t].slots = calloc((size_t)rounds * (CHURN_JOBS + 1),
                                   sizeof(struct churn_slot));
        ck_assert_ptr_nonnull(churners[t].slots);
    }
    ck_assert_int_eq(pthread_create(&cancelling, NULL, cancel_churned, &c), 0);
    for (unsigned t = 0; t < CHURNERS; t++)
        ck_assert_int_eq(
            pthread_create(&threads[t], NULL, churn_lanes, &churners[t]), 0);
    for (unsigned t = 0; t < CHURNERS; t++)
        ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
    latch_open(&c.stop);
    ck_assert_int_eq(pthread_join(cancelling, NULL), 0);

    for (unsigned t = 0; t < CHURNERS; t++) {
        struct churner *ch = &churners[t];

        ck_assert_uint_eq(ch->failed, 0);
        ck_assert_uint_eq(ch->unsettled, 0);
        ck_assert_uint_eq(ch->accepted, rounds * (CHURN_JOBS + 1));
        for (unsigned i = 0; i < rounds * (CHURN_JOBS + 1); i++) {
            unsigned ran = atomic_load(&ch->slots[i].ran);
            unsigned back = atomic_load(&ch->slots[i].handed);

            ck_assert_msg(ran + back == 1,
                          "churner %u job %u ran %u, handed back %u", t, i, ran,
                          back);
            handed += back;
        }
        free(ch->slots);
    }
    ck_assert_uint_eq(c.failed, 0);
    ck_assert_uint_eq(c.wrong_fn, 0);
    ck_assert_uint_eq(c.handed, handed);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    latch_destroy(&c.stop);
}
END_TEST

/* exactly once */

/*
 * Producers submit to three lanes (widths 1, 2 and 3) and to the pool
 * itself, while one thread cancels the pool over and over and another
 * cancels the lanes in turn, and the pool shuts down: every submit that
 * returned 0 ran or was handed back exactly once, with the fn it was
 * submitted with, and every refused one did neither.  The lanes' and the
 * pool's counters agree with the jobs.  The producers start once both
 * cancellers are at work; a shutdown during production waits until every
 * producer is halfway, and they go on as it begins.
 * _i: 0 unbounded lanes, the shutdown begins while the producers are
 * halfway; 1 lanes bounded under REJECT, the shutdown after the
 * producers, racing the cancellers; 2 lanes bounded under BLOCK, the
 * shutdown while the producers are halfway.
 */
enum { MIX_LANES = 3, MIX_PRODUCERS = 3, MIX_LIMIT = 32 };

struct mix_slot {
    job_fn fn;  /* what it was submitted with */
    int target; /* a lane's index, or MIX_LANES for the pool */
    int rc;     /* the submit's result; read after the producer's join */
    atomic_uchar ran, handed;
};

static void job_mix_lane(void *ctx)
{
    atomic_fetch_add(&((struct mix_slot *)ctx)->ran, 1);
}

static void job_mix_pool(void *ctx)
{
    atomic_fetch_add(&((struct mix_slot *)ctx)->ran, 1);
}

struct mix {
    job_pool *pool;
    job_lane *lanes[MIX_LANES];
    struct mix_slot *slots; /* MIX_PRODUCERS * per */
    unsigned per;
    bool early_shutdown;
    struct latch go, stop;
    struct countdown halfway;
    struct latch stopping;  /* opened just before the shutdown call */
    struct countdown ready; /* each canceller has made one call */
    /* Written by the cancelling threads. */
    atomic_ulong wrong, pool_handed, lane_handed, failed;
};

struct mix_producer {
    struct mix *m;
    unsigned index;
};

static void *mix_produce(void *arg)
{
    struct mix_producer *p = arg;
    struct mix *m = p->m;
    struct mix_slot *mine = &m->slots[p->index * m->per];

    latch_wait(&m->go);
    for (unsigned i = 0; i < m->per; i++) {
        struct mix_slot *slot = &mine[i];

        /* The second half races the shutdown, which has been called or
         * is about to be. */
        if (i == m->per / 2) {
            countdown_arrive(&m->halfway);
            if (m->early_shutdown)
                latch_wait(&m->stopping);
        }
        slot->target = (int)((p->index + i) % (MIX_LANES + 1));
        if (slot->target == MIX_LANES) {
            slot->fn = job_mix_pool;
            slot->rc = job_submit_detached(m->pool, slot->fn, slot);
        } else {
            slot->fn = job_mix_lane;
            slot->rc = job_submit_lane(m->lanes[slot->target], slot->fn, slot);
        }
    }
    return NULL;
}

/* Checks that ctx is one of the slots and fn the one it was submitted
 * with before it marks the slot. */
static void handback_mix(job_fn fn, void *ctx, void *arg)
{
    struct mix *m = arg;
    struct mix_slot *slot = ctx;

    if (slot < m->slots || slot >= m->slots + MIX_PRODUCERS * m->per ||
        fn != slot->fn) {
        atomic_fetch_add(&m->wrong, 1);
        return;
    }
    atomic_fetch_add(&slot->handed, 1);
}

static void *mix_cancel_pool(void *arg)
{
    struct mix *m = arg;

    do {
        size_t count = 0;

        if (job_pool_cancel_queued(m->pool, handback_mix, m, &count) != 0)
            atomic_fetch_add(&m->failed, 1);
        atomic_fetch_add(&m->pool_handed, count);
        countdown_arrive(&m->ready);
        sched_yield();
    } while (!latch_is_open(&m->stop));
    return NULL;
}

static void *mix_cancel_lanes(void *arg)
{
    struct mix *m = arg;
    unsigned turn = 0;

    do {
        size_t count = 0;

        if (job_lane_cancel_queued(m->lanes[turn++ % MIX_LANES], handback_mix,
                                   m, &count) != 0)
            atomic_fetch_add(&m->failed, 1);
        atomic_fetch_add(&m->lane_handed, count);
        countdown_arrive(&m->ready);
        sched_yield();
    } while (!latch_is_open(&m->stop));
    return NULL;
}

static void *mix_shutdown(void *arg)
{
    struct mix *m = arg;

    countdown_wait(&m->halfway);
    latch_open(&m->stopping);
    if (job_pool_shutdown(m->pool) != 0)
        atomic_fetch_add(&m->failed, 1);
    return NULL;
}

START_TEST(every_lane_and_pool_job_runs_or_is_handed_back_once)
{
    const bool early_shutdown = _i != 1;
    const size_t limit = _i == 0 ? 0 : MIX_LIMIT;
    const enum job_overflow overflow =
        _i == 2 ? JOB_OVERFLOW_BLOCK : JOB_OVERFLOW_REJECT;
    static struct mix m;
    struct mix_producer producers[MIX_PRODUCERS];
    pthread_t threads[MIX_PRODUCERS], pool_canceller, lane_canceller, stopper;
    unsigned long accepted[MIX_LANES + 1] = {0}, refused[MIX_LANES + 1] = {0};
    unsigned long handed[MIX_LANES + 1] = {0}, handed_all = 0;
    unsigned total;

    m = (struct mix){.per = test_rounds(3000, 300),
                     .early_shutdown = early_shutdown};
    total = MIX_PRODUCERS * m.per;
    m.pool = pool_new(2);
    for (unsigned l = 0; l < MIX_LANES; l++)
        m.lanes[l] = lane_new(m.pool, l + 1, limit, overflow);
    m.slots = calloc(total, sizeof *m.slots);
    ck_assert_ptr_nonnull(m.slots);
    for (unsigned i = 0; i < total; i++)
        m.slots[i].rc = -1;
    latch_init(&m.go);
    latch_init(&m.stop);
    latch_init(&m.stopping);
    countdown_init(&m.halfway, MIX_PRODUCERS);
    countdown_init(&m.ready, 2);
    ck_assert_int_eq(pthread_create(&pool_canceller, NULL, mix_cancel_pool, &m),
                     0);
    ck_assert_int_eq(
        pthread_create(&lane_canceller, NULL, mix_cancel_lanes, &m), 0);
    if (early_shutdown)
        ck_assert_int_eq(pthread_create(&stopper, NULL, mix_shutdown, &m), 0);
    for (unsigned p = 0; p < MIX_PRODUCERS; p++) {
        producers[p] = (struct mix_producer){&m, p};
        ck_assert_int_eq(
            pthread_create(&threads[p], NULL, mix_produce, &producers[p]), 0);
    }
    countdown_wait(&m.ready);
    latch_open(&m.go);
    for (unsigned p = 0; p < MIX_PRODUCERS; p++)
        ck_assert_int_eq(pthread_join(threads[p], NULL), 0);
    if (early_shutdown)
        ck_assert_int_eq(pthread_join(stopper, NULL), 0);
    else
        ck_assert_int_eq(job_pool_shutdown(m.pool), 0);
    latch_open(&m.stop);
    ck_assert_int_eq(pthread_join(pool_canceller, NULL), 0);
    ck_assert_int_eq(pthread_join(lane_canceller, NULL), 0);

    for (unsigned i = 0; i < total; i++) {
        struct mix_slot *slot = &m.slots[i];
        unsigned ran = atomic_load(&slot->ran);
        unsigned back = atomic_load(&slot->handed);

        if (slot->rc == 0) {
            accepted[slot->target]++;
            handed[slot->target] += back;
            ck_assert_msg(ran + back == 1, "job %u ran %u, handed back %u", i,
                          ran, back);
            continue;
        }
        refused[slot->target]++;
        ck_assert_msg(
            (early_shutdown && slot->rc == ESHUTDOWN) ||
                (_i == 1 && slot->target != MIX_LANES && slot->rc == EAGAIN),
            "job %u refused with %d", i, slot->rc);
        ck_assert_uint_eq(ran, 0);
        ck_assert_uint_eq(back, 0);
    }
    ck_assert_uint_eq(atomic_load(&m.wrong), 0);
    ck_assert_uint_eq(atomic_load(&m.failed), 0);
    for (unsigned t = 0; t <= MIX_LANES; t++)
        handed_all += handed[t];
    ck_assert_uint_eq(atomic_load(&m.pool_handed) + atomic_load(&m.lane_handed),
                      handed_all);
    for (unsigned l = 0; l < MIX_LANES; l++) {
        job_lane_stats s = lane_stats(m.lanes[l]);

        ck_assert_uint_eq(s.submitted, accepted[l]);
        ck_assert_uint_eq(s.rejected, refused[l]);
        ck_assert_uint_eq(s.cancelled, handed[l]);
        ck_assert_uint_eq(s.completed + s.cancelled, s.submitted);
        ck_assert_uint_eq(s.queued, 0);
        ck_assert_uint_eq(s.running, 0);
        ck_assert_uint_le(s.running_peak, l + 1);
        if (limit != 0)
            ck_assert_uint_le(s.queued_peak, limit);
        ck_assert_int_eq(job_lane_destroy(m.lanes[l]), 0);
    }
    ck_assert_uint_eq(pool_stats(m.pool).rejected, refused[MIX_LANES]);
    ck_assert_int_eq(job_pool_destroy(m.pool), 0);
    countdown_destroy(&m.ready);
    countdown_destroy(&m.halfway);
    latch_destroy(&m.stopping);
    latch_destroy(&m.stop);
    latch_destroy(&m.go);
    free(m.slots);
}
END_TEST

/* stats */

/*
 * A lane's counters at quiescent points, each exact: a lane of width 2
 * held by two jobs, with jobs waiting, cancelled, added and refused.
 */
START_TEST(lane_stats_are_exact_at_quiescent_points)
{
    job_pool *pool = pool_new(3);
    job_lane *lane = lane_new(pool, 2, 6, JOB_OVERFLOW_REJECT);
    atomic_uint marks[9];
    struct handed h = {0};
    struct blockers b;
    size_t count = 0;
    job_lane_stats s;

    s = lane_stats(lane);
    ck_assert_uint_eq(s.struct_size, sizeof s);
    ck_assert_uint_eq(s.width, 2);
    ck_assert_uint_eq(s.submitted + s.completed + s.rejected + s.cancelled, 0);
    ck_assert_uint_eq(s.queued + s.queued_peak + s.running + s.running_peak, 0);

    blockers_init(&b);
    blockers_add_lane(&b, lane, 2);
    for (int i = 0; i < 9; i++)
        atomic_init(&marks[i], 0);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(job_submit_lane(lane, job_mark, &marks[i]), 0);
    ck_assert_int_eq(job_submit_lane(lane, job_mark, &marks[6]), EAGAIN);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.submitted, 8);
    ck_assert_uint_eq(s.rejected, 1);
    ck_assert_uint_eq(s.queued, 6);
    ck_assert_uint_eq(s.queued_peak, 6);
    ck_assert_uint_eq(s.running, 2);
    ck_assert_uint_eq(s.running_peak, 2);
    ck_assert_uint_eq(s.completed, 0);

    /* All six handed back, three added: the peak stays. */
    ck_assert_int_eq(job_lane_cancel_queued(lane, handback_record, &h, &count),
                     0);
    ck_assert_uint_eq(count, 6);
    for (int i = 6; i < 9; i++)
        ck_assert_int_eq(job_submit_lane(lane, job_mark, &marks[i]), 0);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.cancelled, 6);
    ck_assert_uint_eq(s.queued, 3);
    ck_assert_uint_eq(s.queued_peak, 6);
    ck_assert_uint_eq(s.submitted, 11);

    blockers_open(&b);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    s = lane_stats(lane);
    ck_assert_uint_eq(s.submitted, 11);
    ck_assert_uint_eq(s.completed, 5);
    ck_assert_uint_eq(s.cancelled, 6);
    ck_assert_uint_eq(s.rejected, 1);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, 0);
    ck_assert_uint_eq(s.running_peak, 2);
    ck_assert_uint_eq(s.queued_peak, 6);
    for (int i = 0; i < 9; i++)
        ck_assert_uint_eq(atomic_load(&marks[i]), i >= 6 ? 1 : 0);

    ck_assert_int_eq(job_pool_shutdown(pool), 0);
    ck_assert_int_eq(job_submit_lane(lane, job_mark, &marks[0]), ESHUTDOWN);
    ck_assert_uint_eq(lane_stats(lane).rejected, 2);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

/* elastic */

/*
 * A lane on an elastic pool that starts with no thread: its first job
 * starts one, and three of its jobs held at once (width 3) make the pool
 * grow to three threads at least; the jobs behind them run once they
 * return.
 */
START_TEST(lane_on_an_elastic_pool_runs_its_jobs_and_the_pool_grows)
{
    job_pool_options opts;
    job_pool *pool;
    job_lane *lane;
    atomic_ulong counted = 0;
    struct blockers b;
    job_pool_stats ps;

    job_pool_options_init(&opts);
    opts.min_threads = 0;
    opts.max_threads = 4;
    pool = pool_with(&opts);
    ck_assert_uint_eq(pool_stats(pool).threads, 0);
    lane = lane_new(pool, 3, 0, JOB_OVERFLOW_REJECT);
    blockers_init(&b);
    blockers_add_lane(&b, lane, 3);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(job_submit_lane(lane, job_count, &counted), 0);
    ps = pool_stats(pool);
    ck_assert_uint_ge(ps.threads, 3);
    ck_assert_uint_ge(ps.threads_peak, 3);
    ck_assert_uint_le(ps.threads_peak, 4);
    ck_assert_uint_eq(lane_stats(lane).running, 3);
    ck_assert_uint_eq(lane_stats(lane).queued, 10);

    blockers_open(&b);
    ck_assert_int_eq(job_lane_destroy(lane), 0);
    ck_assert_uint_eq(atomic_load(&counted), 10);
    ck_assert_uint_eq(atomic_load(&b.done), 3);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
}
END_TEST

Suite *lane_suite(void)
{
    Suite *s = suite_create("lane");
    TCase *order = tcase_create("order");
    TCase *width = tcase_create("width");
    TCase *fairness = tcase_create("fairness");
    TCase *refusals = tcase_create("refusals");
    TCase *cancel = tcase_create("cancel");
    TCase *once = tcase_create("exactly-once");
    TCase *stats = tcase_create("stats");
    TCase *elastic = tcase_create("elastic");

    tcase_add_test(order,
                   serial_lane_runs_jobs_of_many_producers_in_acceptance_order);
    suite_add_tcase(s, order);
    tcase_add_test(width, lane_never_runs_more_jobs_than_its_width);
    suite_add_tcase(s, width);
    tcase_add_test(fairness,
                   a_blocked_lane_does_not_starve_the_pool_or_other_lanes);
    tcase_add_test(fairness, a_busy_lane_gives_way_to_work_queued_in_the_pool);
    suite_add_tcase(s, fairness);
    tcase_add_test(refusals, lane_calls_reject_null_and_invalid_arguments);
    tcase_add_test(refusals,
                   lanes_refuse_work_once_the_pool_shutdown_has_begun);
    tcase_add_test(refusals, destroying_a_lane_from_its_own_job_is_edeadlk);
    tcase_add_test(refusals, pool_shutdown_drains_the_jobs_waiting_in_a_lane);
    tcase_add_test(refusals, bounded_lane_rejects_past_its_queue_limit);
    tcase_add_test(refusals, bounded_lane_blocks_a_submit_until_there_is_room);
    tcase_add_test(refusals, destroy_releases_a_blocked_submit_with_eshutdown);
    tcase_add_test(refusals,
                   a_lane_job_blocking_on_its_own_full_lane_is_edeadlk);
    suite_add_tcase(s, refusals);
    tcase_add_test(cancel, lane_cancel_hands_back_waiting_jobs_in_order);
    tcase_add_test(cancel,
                   pool_cancel_hands_back_a_lanes_jobs_with_their_own_fn);
    tcase_add_test(
        cancel,
        pool_cancel_hands_back_each_job_once_when_a_lane_has_two_tokens);
    tcase_add_test(cancel, lane_cancel_handback_may_resubmit_to_the_same_lane);
    tcase_add_loop_test(
        cancel, pool_cancel_hands_back_the_jobs_of_a_lane_at_its_width, 0, 2);
    tcase_add_test(cancel,
                   shutdown_now_hands_back_the_jobs_waiting_in_a_held_lane);
    tcase_add_loop_test(
        cancel, destroy_or_a_full_submit_from_a_lanes_handback_is_edeadlk, 0,
        2);
    tcase_add_test(cancel,
                   pool_cancel_hands_back_the_jobs_of_a_lane_being_destroyed);
    tcase_add_test(cancel, pool_cancel_races_lanes_being_created_and_destroyed);
    suite_add_tcase(s, cancel);
    tcase_set_timeout(once, 60);
    tcase_add_loop_test(
        once, every_lane_and_pool_job_runs_or_is_handed_back_once, 0, 3);
    suite_add_tcase(s, once);
    tcase_add_test(stats, lane_stats_are_exact_at_quiescent_points);
    suite_add_tcase(s, stats);
    tcase_add_test(elastic,
                   lane_on_an_elastic_pool_runs_its_jobs_and_the_pool_grows);
    suite_add_tcase(s, elastic);
    return s;
}
