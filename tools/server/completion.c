/* SPDX-License-Identifier: MIT */
/*
 * The completion queue: finished jobs from the pool's workers back to the
 * loop thread (see completion.h).
 */
#include "config.h"

#include "completion.h"

#include "server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int completions_init(struct completions *cq)
{
    int rc = pthread_mutex_init(&cq->lock, NULL);

    if (rc != 0)
        return rc;
    cq->head = NULL;
    cq->tail = &cq->head;
    cq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cq->efd < 0) {
        rc = errno;
        (void)pthread_mutex_destroy(&cq->lock);
        return rc;
    }
    return 0;
}

void completions_fini(struct completions *cq)
{
    (void)close(cq->efd);
    (void)pthread_mutex_destroy(&cq->lock);
}

/* Only the push onto an empty queue writes the eventfd: a non-empty queue
 * means the loop has been woken and has not taken the list yet, and it
 * reads the eventfd before it takes the list, so no job is left behind.
 * The job is not touched after the unlock: the loop may already reuse it.
 * (Locking a default mutex that this thread does not hold cannot fail.) */
void completions_push(struct completions *cq, struct job *job)
{
    uint64_t one = 1;
    bool was_empty;

    job->next = NULL;
    (void)pthread_mutex_lock(&cq->lock);
    was_empty = cq->head == NULL;
    *cq->tail = job;
    cq->tail = &job->next;
    (void)pthread_mutex_unlock(&cq->lock);
    /* Fails only if the counter would overflow, which the loop's reads
     * prevent. */
    if (was_empty && write(cq->efd, &one, sizeof one) != sizeof one)
        warn_errno("eventfd write", errno);
}

struct job *completions_take(struct completions *cq)
{
    uint64_t count;
    struct job *list;

    if (read(cq->efd, &count, sizeof count) < 0 && errno != EAGAIN)
        warn_errno("eventfd read", errno);
    (void)pthread_mutex_lock(&cq->lock);
    list = cq->head;
    cq->head = NULL;
    cq->tail = &cq->head;
    (void)pthread_mutex_unlock(&cq->lock);
    return list;
}
