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
        for (unsigned k = 0; k < JOB__FRONTS; k++) {
            JOB__ATOMIC_FIELD(&pool->shards[ready].fronts[k].word);
            JOB__ATOMIC_FIELD(&pool->shards[ready].fronts[k].slots);
        }
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

/* Jobs in shard i, its fronts' included.  The fronts are loaded after
 * head_seq, and a front is filled before head_seq moves past its jobs, so
 * a job on its way to a front is counted once or twice, never missed. */
static uint64_t shard_depth(job_pool *pool, unsigned i)
{
    struct job__shard *shard = &pool->shards[i];
    uint64_t depth = job__queue_depth(&shard->queue);

    for (unsigned k = 0; k < JOB__FRONTS; k++)
        depth += job__front_left(
            atomic_load_explicit(&shard->fronts[k].word, memory_order_seq_cst));
    return depth;
}

uint64_t job__shard_taken_bound(struct job__shard *shard)
{
    uint64_t in_fronts = 0;

    /* The fronts before head_seq: a front filled in between is then
     * counted in neither, and the bound comes out too high by its jobs,
     * never too low (queued_peak is never above the truth). */
    for (unsigned k = 0; k < JOB__FRONTS; k++)
        in_fronts += job__front_left(
            atomic_load_explicit(&shard->fronts[k].word, memory_order_seq_cst));
    return atomic_load_explicit(&shard->queue.head_seq, memory_order_seq_cst) -
           in_fronts;
}

uint64_t job__shards_depth(job_pool *pool)
{
    uint64_t depth = 0, bits = in_use(pool);

    for (; bits != 0; bits &= bits - 1)
        depth += shard_depth(pool, (unsigned)__builtin_ctzll(bits));
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

bool job__front_take(struct job__front *f, struct job__slot *out)
{
    uint64_t w = atomic_load_explicit(&f->word, memory_order_acquire);

    while (job__front_left(w) != 0) {
        unsigned next = (unsigned)(w >> JOB__FRONT_NEXT_SHIFT & 0xffu);

        out->fn =
            atomic_load_explicit(&f->slots[next].fn, memory_order_relaxed);
        out->ctx =
            atomic_load_explicit(&f->slots[next].ctx, memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(
                &f->word, &w, w + (1u << JOB__FRONT_NEXT_SHIFT),
                memory_order_seq_cst, memory_order_acquire)) {
            JOB__HAPPENS_AFTER(&f->word);
            return true;
        }
    }
    return false;
}

/* An empty front of shard i, or NULL; head_lock must be held. */
static struct job__front *empty_front(struct job__shard *shard)
{
    for (unsigned k = 0; k < JOB__FRONTS; k++)
        if (job__front_left(atomic_load_explicit(&shard->fronts[k].word,
                                                 memory_order_relaxed)) == 0)
            return &shard->fronts[k];
    return NULL;
}

/* Moves up to JOB__FRONT_SLOTS jobs from the head of the shard's queue to
 * f, an empty front of it; head_lock must be held.  The front is
 * published before head_seq moves past its jobs (see shard_depth()). */
static void fill_front(struct job__shard *shard, struct job__front *f)
{
    uint64_t w = atomic_load_explicit(&f->word, memory_order_relaxed);
    uint64_t head =
        atomic_load_explicit(&shard->queue.head_seq, memory_order_relaxed);
    const struct job__slot *run;
    size_t n = 0, k;

    JOB__ASSERT(job__front_left(w) == 0);
    while (n < JOB__FRONT_SLOTS &&
           (k = job__queue_read(&shard->queue, head + n, &run,
                                JOB__FRONT_SLOTS - n)) != 0) {
        for (size_t j = 0; j < k; j++, n++) {
            atomic_store_explicit(&f->slots[n].fn, run[j].fn,
                                  memory_order_relaxed);
            atomic_store_explicit(&f->slots[n].ctx, run[j].ctx,
                                  memory_order_relaxed);
        }
    }
    f->seq = head;
    w = ((w >> JOB__FRONT_GEN_SHIFT) + 1) << JOB__FRONT_GEN_SHIFT | n;
    JOB__HAPPENS_BEFORE(&f->word);
    atomic_store_explicit(&f->word, w, memory_order_seq_cst);
    job__queue_taken_to(&shard->queue, head + n);
}

/* Takes a job from a front of shard i that has not moved since w's last
 * look (whoever filled it is blocked in a job), and records what it saw. */
static bool take_stale_front(job_pool *pool, struct job__worker *w, unsigned i,
                             struct job__slot *out)
{
    for (unsigned k = 0; k < JOB__FRONTS; k++) {
        struct job__front *f = &pool->shards[i].fronts[k];
        uint64_t seen = atomic_load_explicit(&f->word, memory_order_relaxed);
        bool stale = seen == w->fronts_seen[i][k] && job__front_left(seen) != 0;

        w->fronts_seen[i][k] = seen;
        if (stale && job__front_take(f, out)) {
            /* Unchanged at the next look if its filler is still blocked. */
            w->fronts_seen[i][k] =
                atomic_load_explicit(&f->word, memory_order_relaxed);
            return true;
        }
    }
    return false;
}

/* Takes a job from shard i's queue if it may hold one; an empty queue is
 * passed over without its lock.  Under a backlog, as the consumers' own
 * line tells it (tail_seen, not the producer's tail_seq), also fills an
 * empty front, which w then runs. */
static bool take_from(job_pool *pool, struct job__worker *w, unsigned i,
                      struct job__slot *out)
{
    struct job__shard *shard = &pool->shards[i];
    struct job__queue *q = &shard->queue;
    struct job__front *f;
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
    if (taken &&
        atomic_load_explicit(&q->tail_seen, memory_order_relaxed) -
                atomic_load_explicit(&q->head_seq, memory_order_relaxed) >=
            JOB__FRONT_MIN_DEPTH &&
        (f = empty_front(shard)) != NULL) {
        fill_front(shard, f);
        w->filled = f;
    }
    (void)pthread_mutex_unlock(&q->head_lock);
    return taken;
}

/* Takes a job from any shard's front: when every queue is empty. */
static bool take_any_front(job_pool *pool, struct job__slot *out)
{
    for (uint64_t bits = in_use(pool); bits != 0; bits &= bits - 1)
        for (unsigned k = 0; k < JOB__FRONTS; k++)
            if (job__front_take(&pool->shards[__builtin_ctzll(bits)].fronts[k],
                                out))
                return true;
    return false;
}

/* job__shards_take() past the front w filled.  Not inlined there, so that
 * taking from that front, most takes under a backlog, is a short call. */
__attribute__((noinline)) static bool
take_elsewhere(job_pool *pool, struct job__worker *w, struct job__slot *out)
{
    uint64_t bits;

    /* A worker stays on a shard for JOB__TURN jobs, so that two workers do
     * not pass each shard's head between them at every job, then moves
     * on, so that every thread's jobs get their turn.  On its way to a
     * shard it looks at the shard's fronts. */
    if (w->turn != 0 && take_from(pool, w, w->cursor, out)) {
        if (++w->turn == JOB__TURN) {
            w->turn = 0;
            w->cursor = (w->cursor + 1) % JOB__SHARDS;
        }
        return true;
    }
    bits = in_use(pool);
    for (unsigned n = 0; n < JOB__SHARDS; n++) {
        unsigned i = (w->cursor + n) % JOB__SHARDS;

        if ((bits >> i & 1) == 0)
            continue;
        if (take_stale_front(pool, w, i, out)) {
            w->cursor = i;
            w->turn = 0; /* so that the next take looks again */
            return true;
        }
        if (take_from(pool, w, i, out)) {
            w->cursor = i;
            w->turn = 1;
            return true;
        }
    }
    w->turn = 0;
    return take_any_front(pool, out);
}

bool job__shards_take(job_pool *pool, struct job__worker *w,
                      struct job__slot *out)
{
    /* The front it filled first: its jobs are the oldest of their shard. */
    if (w->filled != NULL && job__front_take(w->filled, out))
        return true;
    w->filled = NULL;
    return take_elsewhere(pool, w, out);
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
