#include "helpers.h"

#include <stdlib.h>

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

void job_gated(void *ctx)
{
    struct gated_job *g = ctx;

    if (g->started != NULL)
        countdown_arrive(g->started);
    latch_wait(g->gate);
    if (g->done != NULL)
        atomic_fetch_add(g->done, 1);
}

job_pool *pool_new(unsigned threads)
{
    job_pool_options opts;
    job_pool *pool = NULL;

    job_pool_options_init(&opts);
    opts.threads = threads;
    ck_assert_int_eq(job_pool_create(&pool, &opts), 0);
    ck_assert_ptr_nonnull(pool);
    return pool;
}

job_pool_stats pool_stats(job_pool *pool)
{
    job_pool_stats s;

    ck_assert_int_eq(job_pool_get_stats(pool, &s), 0);
    return s;
}
