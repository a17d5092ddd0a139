/* SPDX-License-Identifier: MIT */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void latch_init(struct latch *l)
{
    ck_assert_int_eq(pthread_mutex_init(&l->lock, NULL), 0);
    ck_assert_int_eq(pthread_cond_init(&l->cond, NULL), 0);
    l->open = false;
}

void latch_destroy(struct latch *l)
{
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
}

void latch_open(struct latch *l)
{
    pthread_mutex_lock(&l->lock);
    l->open = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

void latch_wait(struct latch *l)
{
    pthread_mutex_lock(&l->lock);
    while (!l->open)
        pthread_cond_wait(&l->cond, &l->lock);
    pthread_mutex_unlock(&l->lock);
}

/* Looks without waiting. */
bool latch_is_open(struct latch *l)
{
    bool open;

    pthread_mutex_lock(&l->lock);
    open = l->open;
    pthread_mutex_unlock(&l->lock);
    return open;
}

void countdown_init(struct countdown *c, unsigned count)
{
    ck_assert_int_eq(pthread_mutex_init(&c->lock, NULL), 0);
    ck_assert_int_eq(pthread_cond_init(&c->cond, NULL), 0);
    c->count = count;
}

void countdown_destroy(struct countdown *c)
{
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
}

void countdown_arrive(struct countdown *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->count > 0 && --c->count == 0)
        pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void countdown_wait(struct countdown *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->count > 0)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

void job_count(void *ctx)
{
    atomic_fetch_add((atomic_ulong *)ctx, 1);
}

void job_countdown_arrive(void *ctx)
{
    countdown_arrive(ctx);
}

void job_gated(void *ctx)
{
    struct gated_job *g = ctx;

    if (g->started != NULL)
        countdown_arrive(g->started);
    latch_wait(g->gate);
    if (g->done != NULL)
        atomic_fetch_add(g->done, 1);
}

void blockers_init(struct blockers *b)
{
    latch_init(&b->gate);
    atomic_init(&b->done, 0);
    b->count = 0;
}

void blockers_add(struct blockers *b, job_pool *pool, unsigned count)
{
    ck_assert_uint_le(b->count + count, BLOCKERS_MAX);
    for (unsigned i = 0; i < count; i++) {
        struct countdown *started = &b->started[b->count];
        struct gated_job *job = &b->jobs[b->count];

        countdown_init(started, 1);
        *job = (struct gated_job){started, &b->gate, &b->done};
        b->count++;
        ck_assert_int_eq(job_submit_detached(pool, job_gated, job), 0);
        countdown_wait(started);
    }
}

void blockers_add_lane(struct blockers *b, job_lane *lane, unsigned count)
{
    ck_assert_uint_le(b->count + count, BLOCKERS_MAX);
    for (unsigned i = 0; i < count; i++) {
        struct countdown *started = &b->started[b->count];
        struct gated_job *job = &b->jobs[b->count];

        countdown_init(started, 1);
        *job = (struct gated_job){started, &b->gate, &b->done};
        b->count++;
        ck_assert_int_eq(job_submit_lane(lane, job_gated, job), 0);
        countdown_wait(started);
    }
}

void blockers_open(struct blockers *b)
{
    latch_open(&b->gate);
}

/* Call once the pool has finished the gated jobs (wait_idle, shutdown). */
void blockers_destroy(struct blockers *b)
{
    for (unsigned i = 0; i < b->count; i++)
        countdown_destroy(&b->started[i]);
    latch_destroy(&b->gate);
}

static void *submit_thread(void *arg)
{
    struct submitter *s = arg;

    if (s->timed)
        s->rc =
            job_submit_detached_timed(s->pool, s->fn, s->ctx, s->timeout_ns);
    else
        s->rc = job_submit_detached(s->pool, s->fn, s->ctx);
    atomic_store(&s->returned, true);
    return NULL;
}

void submitter_start(struct submitter *s, job_pool *pool, job_fn fn, void *ctx)
{
    s->pool = pool;
    s->fn = fn;
    s->ctx = ctx;
    s->timed = false;
    s->timeout_ns = 0;
    s->rc = -1;
    atomic_init(&s->returned, false);
    ck_assert_int_eq(pthread_create(&s->thread, NULL, submit_thread, s), 0);
}

void submitter_start_timed(struct submitter *s, job_pool *pool, job_fn fn,
                           void *ctx, uint64_t timeout_ns)
{
    s->pool = pool;
    s->fn = fn;
    s->ctx = ctx;
    s->timed = true;
    s->timeout_ns = timeout_ns;
    s->rc = -1;
    atomic_init(&s->returned, false);
    ck_assert_int_eq(pthread_create(&s->thread, NULL, submit_thread, s), 0);
}

/* Waits for the submit to return and gives its result. */
int submitter_join(struct submitter *s)
{
    ck_assert_int_eq(pthread_join(s->thread, NULL), 0);
    ck_assert(atomic_load(&s->returned));
    return s->rc;
}

job_pool *pool_new(unsigned threads)
{
    job_pool_options opts;

    job_pool_options_init(&opts);
    opts.threads = threads;
    return pool_with(&opts);
}

job_pool *pool_bounded(unsigned threads, size_t limit,
                       enum job_overflow overflow)
{
    job_pool_options opts;

    job_pool_options_init(&opts);
    opts.threads = threads;
    opts.queue_limit = limit;
    opts.overflow = overflow;
    return pool_with(&opts);
}

job_pool *pool_with(const job_pool_options *opts)
{
    job_pool *pool = NULL;

    ck_assert_int_eq(job_pool_create(&pool, opts), 0);
    ck_assert_ptr_nonnull(pool);
    return pool;
}

job_pool_stats pool_stats(job_pool *pool)
{
    job_pool_stats s;

    ck_assert_int_eq(job_pool_get_stats(pool, &s), 0);
    return s;
}

job_lane *lane_new(job_pool *pool, unsigned width, size_t limit,
                   enum job_overflow overflow)
{
    job_lane_options opts;
    job_lane *lane = NULL;

    job_lane_options_init(&opts);
    opts.width = width;
    opts.queue_limit = limit;
    opts.overflow = overflow;
    ck_assert_int_eq(job_lane_create(pool, &lane, &opts), 0);
    ck_assert_ptr_nonnull(lane);
    return lane;
}

job_lane_stats lane_stats(job_lane *lane)
{
    job_lane_stats s;

    ck_assert_int_eq(job_lane_get_stats(lane, &s), 0);
    return s;
}

/* Counts tasks under /proc/self/task by name.  Counting every task would
 * also count threads that runtimes such as ThreadSanitizer start on their
 * own. */
unsigned count_named_threads(const char *prefix)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    size_t len = strlen(prefix);
    unsigned n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], comm[32] = "";
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue; /* the task has just exited */
        if (fgets(comm, sizeof comm, f) != NULL &&
            strncmp(comm, prefix, len) == 0)
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

unsigned settled_named_threads(const char *prefix, unsigned expect)
{
    unsigned n = count_named_threads(prefix);

    for (unsigned looks = 0; n != expect && looks < 100000; looks++) {
        (void)sched_yield();
        n = count_named_threads(prefix);
    }
    return n;
}

/* check-all runs the suites again in other builds; there the long tests run
 * fewer rounds (Makefile.am, CHECK_REPEAT_ROUNDS). */
unsigned test_rounds(unsigned full, unsigned least)
{
    const char *env = getenv("JOBPOOL_TEST_ROUNDS");
    unsigned long percent = 100;
    unsigned long rounds;
    char *end;

    ck_assert_uint_le(least, full);
    if (env != NULL && *env != '\0') {
        errno = 0;
        percent = strtoul(env, &end, 10);
        ck_assert_msg(
            errno == 0 && *end == '\0' && percent >= 1 && percent <= 100,
            "JOBPOOL_TEST_ROUNDS=%s: give a percentage, 1 to 100", env);
    }
    rounds = ((unsigned long)full * percent + 99) / 100;
    return rounds < least ? least : (unsigned)rounds;
}

uint64_t now_ns(void)
{
    struct timespec ts;

    ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    int rc;

    do {
        rc = nanosleep(&ts, &ts); /* ts: the time left after a signal */
    } while (rc != 0 && errno == EINTR);
}

void grace(void)
{
    sleep_ms(20);
}
