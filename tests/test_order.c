/* SPDX-License-Identifier: MIT */
/*
 * Order: the jobs one thread submits are taken in the order that thread
 * submitted them; jobs of different threads have no order between them,
 * and nothing here assumes one.  Each job carries its producer and its
 * place in that producer's sequence.
 *
 * The workers are held on a gate while the producers fill the queue, then
 * let go while the producers are still submitting, so jobs are taken both
 * from a deep queue and as they arrive.  70 producers are more than the 32
 * queues a pool gives its submitting threads: some of them share one.
 */
#include "helpers.h"

#include <stdlib.h>

struct order_log;

/* One job of one producer.  runs is written by the pool's threads and read
 * by the test after wait_idle or destroy. */
struct tagged_job {
    struct order_log *log;
    unsigned producer;
    unsigned seq; /* place in the producer's submit order, from 0 */
    atomic_uint runs;
};

/*
 * What the jobs saw.  started[p] counts producer p's jobs as they start,
 * so a job's place is how many of its producer's jobs started before it.
 * A job started at place `place` with seq > place had seq - place earlier
 * jobs of its producer not yet started: its lag.
 */
struct order_log {
    atomic_uint *started;
    pthread_mutex_t lock;
    unsigned worst_lag; /* lock: the largest lag seen, 0 if none */
    unsigned worst_producer, worst_seq; /* lock: the job that had it */
};

static void order_log_init(struct order_log *log, unsigned producers)
{
    log->started = calloc(producers, sizeof *log->started);
    ck_assert_ptr_nonnull(log->started);
    for (unsigned p = 0; p < producers; p++)
        atomic_init(&log->started[p], 0);
    ck_assert_int_eq(pthread_mutex_init(&log->lock, NULL), 0);
    log->worst_lag = 0;
    log->worst_producer = log->worst_seq = 0;
}

static void order_log_destroy(struct order_log *log)
{
    pthread_mutex_destroy(&log->lock);
    free(log->started);
}

/* Job: takes the next place of its producer and notes its lag. */
static void job_take_place(void *ctx)
{
    struct tagged_job *j = ctx;
    struct order_log *log = j->log;
    unsigned place = atomic_fetch_add(&log->started[j->producer], 1);

    atomic_fetch_add(&j->runs, 1);
    if (j->seq > place) {
        pthread_mutex_lock(&log->lock);
        if (j->seq - place > log->worst_lag) {
            log->worst_lag = j->seq - place;
            log->worst_producer = j->producer;
            log->worst_seq = j->seq;
        }
        pthread_mutex_unlock(&log->lock);
    }
}

/* Job for the cancel tests, which hold every worker: it must never run.
 * Counted, and the test checks the count. */
static void job_held_back(void *ctx)
{
    atomic_fetch_add(&((struct tagged_job *)ctx)->runs, 1);
}

/* A producer thread.  Only it writes failed and first_error; the test reads
 * them after the join. */
struct producer {
    job_pool *pool;
    job_fn fn;
    struct tagged_job *jobs; /* its own, seq 0..count-1 */
    unsigned count;
    unsigned ready_after; /* arrives at ready after this many submits */
    bool timed;           /* every other submit is the timed one */
    struct latch *go;
    struct countdown *ready;
    atomic_uint *finished;
    unsigned failed;
    int first_error;
};

static void *produce(void *arg)
{
    struct producer *p = arg;

    latch_wait(p->go);
    for (unsigned i = 0; i < p->count; i++) {
        int rc;

        if (i == p->ready_after)
            countdown_arrive(p->ready);
        if (p->timed && i % 2 == 1)
            rc = job_submit_detached_timed(p->pool, p->fn, &p->jobs[i],
                                           UINT64_MAX);
        else
            rc = job_submit_detached(p->pool, p->fn, &p->jobs[i]);
        if (rc != 0 && p->failed++ == 0)
            p->first_error = rc;
    }
    if (p->ready_after >= p->count)
        countdown_arrive(p->ready);
    atomic_fetch_add(p->finished, 1);
    return NULL;
}

/* Producer threads started together, each submitting per_producer jobs. */
struct crowd {
    unsigned producers, per_producer;
    struct tagged_job *jobs; /* producer p's are jobs[p * per_producer ...] */
    struct producer *p;
    pthread_t *threads;
    struct latch go;
    struct countdown ready; /* every producer has made ready_after submits */
    atomic_uint finished;   /* producers that made all their submits */
};

static void crowd_start(struct crowd *c, job_pool *pool, job_fn fn,
                        struct order_log *log, unsigned producers,
                        unsigned per_producer, unsigned ready_after, bool timed)
{
    c->producers = producers;
    c->per_producer = per_producer;
    c->jobs = calloc((size_t)producers * per_producer, sizeof *c->jobs);
    c->p = calloc(producers, sizeof *c->p);
    c->threads = calloc(producers, sizeof *c->threads);
    ck_assert_ptr_nonnull(c->jobs);
    ck_assert_ptr_nonnull(c->p);
    ck_assert_ptr_nonnull(c->threads);
    latch_init(&c->go);
    countdown_init(&c->ready, producers);
    atomic_init(&c->finished, 0);
    for (unsigned p = 0; p < producers; p++) {
        struct tagged_job *mine = &c->jobs[(size_t)p * per_producer];

        for (unsigned i = 0; i < per_producer; i++) {
            mine[i].log = log;
            mine[i].producer = p;
            mine[i].seq = i;
            atomic_init(&mine[i].runs, 0);
        }
        c->p[p] = (struct producer){.pool = pool,
                                    .fn = fn,
                                    .jobs = mine,
                                    .count = per_producer,
                                    .ready_after = ready_after,
                                    .timed = timed,
                                    .go = &c->go,
                                    .ready = &c->ready,
                                    .finished = &c->finished};
        ck_assert_int_eq(
            pthread_create(&c->threads[p], NULL, produce, &c->p[p]), 0);
    }
    latch_open(&c->go);
}

/* Joins the producers: every submit must have been accepted. */
static void crowd_join(struct crowd *c)
{
    for (unsigned p = 0; p < c->producers; p++)
        ck_assert_int_eq(pthread_join(c->threads[p], NULL), 0);
    for (unsigned p = 0; p < c->producers; p++)
        ck_assert_msg(c->p[p].failed == 0,
                      "producer %u: %u submits failed, the first with %d", p,
                      c->p[p].failed, c->p[p].first_error);
}

static void crowd_free(struct crowd *c)
{
    countdown_destroy(&c->ready);
    latch_destroy(&c->go);
    free(c->threads);
    free(c->p);
    free(c->jobs);
}

/*
 * The runs.  A bounded pool (queue_limit 16, BLOCK) makes the producers
 * wait for room, and half their submits are the timed kind with an endless
 * timeout; its producers let the workers go at once, as the queue cannot
 * hold half their jobs.  The runs with several workers keep the backlog
 * under 1024 jobs per worker: the 0.2 core, where these tests pass too,
 * claimed runs of 32 jobs from deeper backlogs, which could start after
 * later jobs (its contract allowed that).
 */
static const struct order_run {
    unsigned workers, producers, per_producer;
    size_t queue_limit;
} runs[] = {
    {1, 4, 5000, 0}, {1, 70, 300, 0}, {1, 4, 2000, 16}, {1, 70, 100, 16},
    {3, 4, 700, 0},  {3, 70, 40, 0},  {3, 4, 2000, 16}, {3, 70, 100, 16},
};

/*
 * Each producer's jobs start in the order it submitted them, up to the
 * jobs the other workers have taken and not yet started: when a job of
 * seq s starts, every earlier job of its producer was taken before it, and
 * one not yet started is held by another worker between its take and its
 * start (a worker takes one job at a time), so at least s - (workers - 1)
 * of them have started.  With one worker that is the exact order (no job
 * lags, and each job runs once, so every place equals its seq).  Nothing
 * is assumed about jobs of different producers.
 */
START_TEST(each_producers_jobs_start_in_its_submit_order)
{
    const struct order_run *r = &runs[_i];
    const unsigned total = r->producers * r->per_producer;
    job_pool *pool =
        pool_bounded(r->workers, r->queue_limit, JOB_OVERFLOW_BLOCK);
    struct order_log log;
    struct crowd crowd;
    struct blockers b;
    unsigned ready_after = r->queue_limit == 0 ? r->per_producer / 2 : 0;
    job_pool_stats s;

    order_log_init(&log, r->producers);
    blockers_init(&b);
    blockers_add(&b, pool, r->workers);
    crowd_start(&crowd, pool, job_take_place, &log, r->producers,
                r->per_producer, ready_after, r->queue_limit != 0);
    countdown_wait(&crowd.ready);
    s = pool_stats(pool);
    if (r->queue_limit == 0)
        ck_assert_uint_ge(s.queued, (size_t)r->producers * ready_after);
    ck_assert_uint_eq(s.running, r->workers);
    blockers_open(&b);
    crowd_join(&crowd);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);

    for (unsigned i = 0; i < total; i++)
        ck_assert_msg(atomic_load(&crowd.jobs[i].runs) == 1,
                      "producer %u's job %u ran %u times",
                      crowd.jobs[i].producer, crowd.jobs[i].seq,
                      atomic_load(&crowd.jobs[i].runs));
    for (unsigned p = 0; p < r->producers; p++)
        ck_assert_uint_eq(atomic_load(&log.started[p]), r->per_producer);
    pthread_mutex_lock(&log.lock);
    ck_assert_msg(log.worst_lag <= r->workers - 1,
                  "producer %u's job %u started with %u earlier jobs of its "
                  "producer not started, %u workers",
                  log.worst_producer, log.worst_seq, log.worst_lag, r->workers);
    pthread_mutex_unlock(&log.lock);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.submitted, total + r->workers);
    ck_assert_uint_eq(s.completed, total + r->workers);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    blockers_destroy(&b);
    order_log_destroy(&log);
    crowd_free(&crowd);
}
END_TEST

/* What the hand-backs saw, on the cancelling thread only: expect[p] is the
 * seq producer p's next job handed back should have. */
struct handback_order {
    pthread_t caller;
    unsigned *expect;
    unsigned calls;
    unsigned wrong_thread_or_fn;
    unsigned out_of_order;
    unsigned first_producer, first_seq, first_expected;
};

static void handback_in_order(job_fn fn, void *ctx, void *arg)
{
    struct handback_order *h = arg;
    struct tagged_job *j = ctx;

    h->calls++;
    if (!pthread_equal(pthread_self(), h->caller) || fn != job_held_back)
        h->wrong_thread_or_fn++;
    if (j->seq != h->expect[j->producer] && h->out_of_order++ == 0) {
        h->first_producer = j->producer;
        h->first_seq = j->seq;
        h->first_expected = h->expect[j->producer];
    }
    h->expect[j->producer] = j->seq + 1;
}

static const struct {
    unsigned producers, per_producer;
    bool racing; /* cancel again and again while the producers submit */
} cancels[] = {
    {4, 1000, false},
    {70, 100, false},
    {4, 1000, true},
    {70, 100, true},
};

/*
 * With every worker held, job_pool_cancel_queued() hands back each
 * producer's jobs in the order that producer submitted them, each exactly
 * once.  In the racing runs the test cancels while the producers submit:
 * jobs submitted during a call may be left for the next one, but as a
 * cancel takes jobs in each thread's order, the hand-backs of all the
 * calls, one after another, are still each producer's jobs in order.
 */
START_TEST(cancel_hands_back_each_producers_jobs_in_its_submit_order)
{
    const unsigned producers = cancels[_i].producers;
    const unsigned per_producer = cancels[_i].per_producer;
    const unsigned total = producers * per_producer;
    job_pool *pool = pool_new(2);
    struct handback_order h = {.caller = pthread_self()};
    unsigned long handed = 0, calls = 0;
    struct crowd crowd;
    struct blockers b;
    size_t count;
    job_pool_stats s;

    h.expect = calloc(producers, sizeof *h.expect);
    ck_assert_ptr_nonnull(h.expect);
    blockers_init(&b);
    blockers_add(&b, pool, 2);
    crowd_start(&crowd, pool, job_held_back, NULL, producers, per_producer,
                per_producer, false);
    if (cancels[_i].racing) {
        do {
            count = 0;
            ck_assert_int_eq(
                job_pool_cancel_queued(pool, handback_in_order, &h, &count), 0);
            handed += count;
            calls++;
        } while (atomic_load(&crowd.finished) < producers);
    }
    crowd_join(&crowd);
    count = 0;
    ck_assert_int_eq(
        job_pool_cancel_queued(pool, handback_in_order, &h, &count), 0);
    handed += count;
    calls++;

    ck_assert_uint_eq(handed, total);
    ck_assert_uint_eq(h.calls, total);
    ck_assert_uint_eq(h.wrong_thread_or_fn, 0);
    ck_assert_msg(h.out_of_order == 0,
                  "%u jobs handed back out of their producer's order in %lu "
                  "calls; the first: producer %u's job %u where %u was next",
                  h.out_of_order, calls, h.first_producer, h.first_seq,
                  h.first_expected);
    for (unsigned p = 0; p < producers; p++)
        ck_assert_uint_eq(h.expect[p], per_producer);
    s = pool_stats(pool);
    ck_assert_uint_eq(s.cancelled, total);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.running, 2);

    blockers_open(&b);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
    for (unsigned i = 0; i < total; i++)
        ck_assert_uint_eq(atomic_load(&crowd.jobs[i].runs), 0);
    ck_assert_uint_eq(atomic_load(&b.done), 2);
    blockers_destroy(&b);
    crowd_free(&crowd);
    free(h.expect);
}
END_TEST

Suite *order_suite(void)
{
    Suite *s = suite_create("order");
    TCase *start = tcase_create("start-order");
    TCase *cancel = tcase_create("cancel-order");

    tcase_set_timeout(start, 60);
    tcase_add_loop_test(start, each_producers_jobs_start_in_its_submit_order, 0,
                        (int)(sizeof runs / sizeof runs[0]));
    suite_add_tcase(s, start);

    tcase_set_timeout(cancel, 60);
    tcase_add_loop_test(
        cancel, cancel_hands_back_each_producers_jobs_in_its_submit_order, 0,
        (int)(sizeof cancels / sizeof cancels[0]));
    suite_add_tcase(s, cancel);
    return s;
}
