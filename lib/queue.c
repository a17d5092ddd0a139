/* SPDX-License-Identifier: MIT */
/*
 * A job queue: a FIFO of 16-byte slots in blocks of 1024, with one lock for
 * the producer side and one for consumers.  See struct job__queue for the
 * fields and how they are guarded.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <stdlib.h>

static struct job__block *block_new(size_t nslots)
{
    struct job__block *b =
        malloc(sizeof *b + nslots * sizeof(struct job__slot));

    if (b != NULL) {
        b->next = NULL;
        b->nslots = nslots;
    }
    return b;
}

/* Makes a mutex that spins briefly before sleeping where the C library
 * offers it: head_lock, which the workers share, is held for a few dozen
 * instructions.  tail_lock has one thread in steady state and is a plain
 * mutex, whose uncontended path is the shortest. */
static int lock_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);

    if (rc != 0)
        return rc;
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    (void)pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    rc = pthread_mutex_init(m, &attr);
    (void)pthread_mutexattr_destroy(&attr);
    return rc;
}

int job__queue_init(struct job__queue *q, size_t block_slots)
{
    int rc = pthread_mutex_init(&q->tail_lock, NULL);

    if (rc == 0 && (rc = lock_init(&q->head_lock)) != 0)
        (void)pthread_mutex_destroy(&q->tail_lock);
    if (rc != 0)
        return rc == ENOMEM ? ENOMEM : EAGAIN;
    JOB__ASSERT(block_slots != 0 && (block_slots & (block_slots - 1)) == 0);
    q->block_slots = block_slots;
    JOB__ATOMIC_FIELD(&q->tail_seq);
    JOB__ATOMIC_FIELD(&q->tail_seen);
    JOB__ATOMIC_FIELD(&q->head_seq);
    return 0;
}

/* Frees the blocks.  Called once no thread uses the queue, which is then
 * empty. */
void job__queue_destroy(struct job__queue *q)
{
    struct job__block *b = q->head_block != NULL ? q->head_block : q->first;

    while (b != NULL) {
        struct job__block *next = b->next;

        free(b);
        b = next;
    }
    (void)pthread_mutex_destroy(&q->head_lock);
    (void)pthread_mutex_destroy(&q->tail_lock);
}

int job__queue_push(struct job__queue *q, job_fn fn, void *ctx)
{
    uint64_t seq = atomic_load_explicit(&q->tail_seq, memory_order_relaxed);
    size_t index = (size_t)seq & (q->block_slots - 1);
    struct job__slot *slot;

    if (index == 0) { /* the first job, or tail_block is full */
        struct job__block *b = block_new(q->block_slots);

        if (b == NULL)
            return ENOMEM;
        if (q->tail_block != NULL)
            q->tail_block->next = b;
        else
            q->first = b;
        q->tail_block = b;
    }
    slot = &q->tail_block->slots[index];
    slot->fn = fn;
    slot->ctx = ctx;
    JOB__HAPPENS_BEFORE(&q->tail_seq);
    /* An exchange, not a store: what the submitter loads next (who is
     * idle, idle.c) must not be read before the job is visible. */
    (void)atomic_exchange_explicit(&q->tail_seq, seq + 1, memory_order_seq_cst);
    return 0;
}

/* The slot of job number head, which exists and is the oldest not yet
 * read; moves the consumer to the next block when the current one is used
 * up.  head_lock must be held. */
static struct job__slot *head_slot(struct job__queue *q, uint64_t head)
{
    struct job__block *b = q->head_block;
    size_t index;

    if (b == NULL)
        b = q->head_block = q->first; /* published with the first job */
    index = (size_t)head & (b->nslots - 1);
    if (index == 0 && head != 0) {
        /* A job exists past the end of this block, so the producer has
         * already linked the next one. */
        q->head_block = b->next;
        free(b);
        b = q->head_block;
    }
    return &b->slots[index];
}

size_t job__queue_read(struct job__queue *q, uint64_t seq,
                       const struct job__slot **run, size_t max)
{
    uint64_t tail = atomic_load_explicit(&q->tail_seen, memory_order_relaxed);
    size_t n, in_block;

    if (seq == tail) {
        tail = atomic_load_explicit(&q->tail_seq, memory_order_acquire);
        JOB__HAPPENS_AFTER(&q->tail_seq);
        atomic_store_explicit(&q->tail_seen, tail, memory_order_relaxed);
        if (seq == tail)
            return 0;
    }
    *run = head_slot(q, seq);
    /* The block's nslots, not block_slots: that is on the producer's
     * line. */
    in_block =
        q->head_block->nslots - ((size_t)seq & (q->head_block->nslots - 1));
    n = tail - seq < max ? (size_t)(tail - seq) : max;
    return n < in_block ? n : in_block;
}

void job__queue_taken_to(struct job__queue *q, uint64_t seq)
{
    atomic_store_explicit(&q->head_seq, seq, memory_order_release);
}

bool job__queue_pop(struct job__queue *q, struct job__slot *out)
{
    uint64_t head = atomic_load_explicit(&q->head_seq, memory_order_relaxed);
    const struct job__slot *job;

    if (job__queue_read(q, head, &job, 1) == 0)
        return false;
    *out = *job;
    job__queue_taken_to(q, head + 1);
    return true;
}
