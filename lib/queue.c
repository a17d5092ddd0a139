/* SPDX-License-Identifier: MIT */
/*
 * A job queue: a FIFO of 16-byte slots in 16 KiB blocks, with one lock for
 * the producer side and one for consumers.  See struct job__queue for the
 * fields and how they are guarded.
 */
#include "config.h"

#include "jobpool-private.h"

#include <errno.h>
#include <stdlib.h>

static struct job__block *block_new(size_t bytes)
{
    struct job__block *b = malloc(bytes);

    if (b != NULL) {
        b->next = NULL;
        b->nslots = (bytes - sizeof *b) / sizeof b->slots[0];
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

int job__queue_init(struct job__queue *q, size_t block_bytes)
{
    int rc = pthread_mutex_init(&q->tail_lock, NULL);

    if (rc != 0)
        return rc == ENOMEM ? ENOMEM : EAGAIN;
    rc = lock_init(&q->head_lock);
    if (rc != 0) {
        (void)pthread_mutex_destroy(&q->tail_lock);
        return rc == ENOMEM ? ENOMEM : EAGAIN;
    }
    q->tail_block = NULL;
    q->tail_index = 0;
    q->block_bytes = block_bytes;
    q->first = NULL;
    atomic_init(&q->tail_seq, 0);
    JOB__ATOMIC_FIELD(&q->tail_seq);
    q->head_block = NULL;
    q->head_index = 0;
    atomic_init(&q->tail_seen, 0);
    JOB__ATOMIC_FIELD(&q->tail_seen);
    atomic_init(&q->head_seq, 0);
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
    struct job__slot *slot;

    if (q->tail_block == NULL || q->tail_index == q->tail_block->nslots) {
        struct job__block *b = block_new(q->block_bytes);

        if (b == NULL)
            return ENOMEM;
        if (q->tail_block != NULL)
            q->tail_block->next = b;
        else
            q->first = b;
        q->tail_block = b;
        q->tail_index = 0;
    }
    slot = &q->tail_block->slots[q->tail_index++];
    slot->fn = fn;
    slot->ctx = ctx;
    JOB__HAPPENS_BEFORE(&q->tail_seq);
    /* An exchange, not a store: what the submitter loads next (who is
     * idle, idle.c) must not be read before the job is visible. */
    (void)atomic_exchange_explicit(&q->tail_seq, seq + 1, memory_order_seq_cst);
    return 0;
}

/* Moves the consumer to the next block when the current one is used up;
 * head_lock must be held and a job must exist past head_index. */
static struct job__slot *head_slot(struct job__queue *q)
{
    if (q->head_block == NULL)
        q->head_block = q->first; /* published with the first job */
    if (q->head_index == q->head_block->nslots) {
        struct job__block *done = q->head_block;

        q->head_block = done->next;
        q->head_index = 0;
        free(done);
    }
    return &q->head_block->slots[q->head_index++];
}

bool job__queue_pop(struct job__queue *q, struct job__slot *out)
{
    uint64_t head = atomic_load_explicit(&q->head_seq, memory_order_relaxed);

    if (head == atomic_load_explicit(&q->tail_seen, memory_order_relaxed)) {
        uint64_t tail =
            atomic_load_explicit(&q->tail_seq, memory_order_acquire);

        JOB__HAPPENS_AFTER(&q->tail_seq);
        atomic_store_explicit(&q->tail_seen, tail, memory_order_relaxed);
        if (head == tail)
            return false;
    }
    /* A job exists past the end of this block, so the producer has already
     * linked the next one. */
    *out = *head_slot(q);
    atomic_store_explicit(&q->head_seq, head + 1, memory_order_release);
    return true;
}
