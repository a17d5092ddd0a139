/* SPDX-License-Identifier: MIT */
/*
 * The pool's shards: one FIFO per submitting thread (up to JOB__SHARDS, then
 * shared), which thread uses which, and the scans the workers make of them.
 *
 * A thread finds its shard through a pthread key the pool owns; its first
 * submit is given the next shard in turn under pool->lock and sets the
 * shard's bit in shards_in_use before it publishes a job there, so a scan
 * of the bits set misses no job (the bit and the job are both published by
 * sequentially consistent read-modify-writes, and scans load them so).
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <sched.h>

int job__shards_init(job_pool *pool)
{
    unsigned ready;
    int rc = pthread_key_create(&pool->shard_key, NULL);

    if (rc != 0)
        return rc == ENOMEM ? ENOMEM : EAGAIN;
    for (ready = 0; ready < JOB__SHARDS; ready++) {
        rc =
            job__queue_init(&pool->shards[ready].queue, JOB__SHARD_BLOCK_SLOTS);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        return 0;
    while (ready > 0)
        job__queue_destroy(&pool->shards[--ready].queue);
    (void)pthread_key_delete(pool->shard_key);
    return rc;
}

void job__shards_fini(job_pool *pool)
{
    for (unsigned i = 0; i < JOB__SHARDS; i++)
        job__queue_destroy(&pool->shards[i].queue);
    (void)pthread_key_delete(pool->shard_key);
}

struct job__shard *job__assign_shard(job_pool *pool)
{
    struct job__shard *shard;
    unsigned i;

    (void)pthread_mutex_lock(&pool->lock);
    i = pool->next_shard;
    pool->next_shard = (i + 1) % JOB__SHARDS;
    (void)atomic_fetch_or_explicit(&pool->shards_in_use, (uint64_t)1 << i,
                                   memory_order_seq_cst);
    (void)pthread_mutex_unlock(&pool->lock);
    shard = &pool->shards[i];
    return pthread_setspecific(pool->shard_key, shard) == 0 ? shard : NULL;
}

static uint64_t in_use(job_pool *pool)
{
    return atomic_load_explicit(&pool->shards_in_use, memory_order_seq_cst);
}

uint64_t job__shards_depth(job_pool *pool)
{
    uint64_t depth = 0, bits = in_use(pool);

    for (; bits != 0; bits &= bits - 1)
        depth += job__queue_depth(&pool->shards[__builtin_ctzll(bits)].queue);
    return depth;
}

bool job__work_visible(job_pool *pool)
{
    return job__shards_depth(pool) != 0;
}

uint64_t job__shards_submitted(job_pool *pool)
{
    uint64_t sum = 0, bits = in_use(pool);

    for (; bits != 0; bits &= bits - 1)
        sum += atomic_load_explicit(
            &pool->shards[__builtin_ctzll(bits)].queue.tail_seq,
            memory_order_seq_cst);
    return sum;
}

/* Takes a job from shard i if it may hold one; an empty shard is passed
 * over without its lock. */
static bool take_from(job_pool *pool, unsigned i, struct job__slot *out)
{
    struct job__queue *q = &pool->shards[i].queue;
    bool taken;

    if (!job__queue_maybe_nonempty(q))
        return false;
    /* Held: another worker is taking from this shard right now.  Give
     * the CPU away once before waiting, rather than spin for the lock: on
     * a machine with fewer CPUs than threads, the CPU is best spent on the
     * producer or on the holder (measured: 1 producer and 2 workers on 2
     * CPUs, median 12 -> 17 M jobs/s). */
    if (pthread_mutex_trylock(&q->head_lock) != 0) {
        (void)sched_yield();
        (void)pthread_mutex_lock(&q->head_lock);
    }
    taken = job__queue_pop(q, out);
    (void)pthread_mutex_unlock(&q->head_lock);
    return taken;
}

bool job__shards_take(job_pool *pool, struct job__worker *w,
                      struct job__slot *out)
{
    uint64_t bits;

    /* A worker stays on a shard for JOB__TURN jobs, so that two workers do
     * not pass each shard's head between them at every job, then moves
     * on, so that every thread's jobs get their turn. */
    if (w->turn != 0 && take_from(pool, w->cursor, out)) {
        if (++w->turn == JOB__TURN) {
            w->turn = 0;
            w->cursor = (w->cursor + 1) % JOB__SHARDS;
        }
        return true;
    }
    bits = in_use(pool);
    for (unsigned n = 0; n < JOB__SHARDS; n++) {
        unsigned i = (w->cursor + n) % JOB__SHARDS;

        if ((bits >> i & 1) != 0 && take_from(pool, i, out)) {
            w->cursor = i;
            w->turn = 1;
            return true;
        }
    }
    w->turn = 0;
    return false;
}

void job__gate_close(job_pool *pool)
{
    for (unsigned i = 0; i < JOB__SHARDS; i++)
        (void)pthread_mutex_lock(&pool->shards[i].queue.tail_lock);
}

void job__gate_open(job_pool *pool)
{
    for (unsigned i = JOB__SHARDS; i > 0; i--)
        (void)pthread_mutex_unlock(&pool->shards[i - 1].queue.tail_lock);
}
