/*
 * Declarations shared between the library's files.  Nothing here is part of
 * the public API; the public header is included, never the reverse.
 */
#ifndef JOBPOOL_PRIVATE_H
#define JOBPOOL_PRIVATE_H

#include "jobpool.h"

#include "annotate.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Fields written by different threads live on different cache lines. */
#define JOB__CACHELINE 64

/* One queued job: 16 bytes on LP64 platforms. */
struct job__slot {
    job_fn fn;
    void *ctx;
};

/*
 * The queue stores jobs in a list of fixed-size blocks, so it never copies
 * when it grows and frees memory as it drains.  A block is 64 KiB: 8 bytes
 * of link and 4095 slots, 16.002 bytes per queued job.
 */
#define JOB__BLOCK_BYTES 65536u
struct job__block {
    struct job__block *next; /* written before the slot that needs it is
                                published through tail_seq */
    struct job__slot slots[];
};
#define JOB__BLOCK_SLOTS                                                       \
    ((JOB__BLOCK_BYTES - sizeof(struct job__block)) / sizeof(struct job__slot))

/* Drained blocks a queue keeps for reuse: 256 KiB at most per pool. */
#define JOB__SPARE_BLOCKS 4

/*
 * A two-lock FIFO (Michael and Scott's design, with blocks of slots instead
 * of one node per job): producers serialise on tail_lock, consumers on
 * head_lock, so a submit never waits for a worker that is taking a job.
 * The producer publishes a slot by storing tail_seq; a consumer learns of it
 * by loading tail_seq, which it caches in tail_seen to avoid touching the
 * producer's cache line for every job.  The sequence numbers count jobs
 * since creation and never wrap in practice (2^64).
 */
struct job__queue {
    /* producer side */
    alignas(JOB__CACHELINE) pthread_mutex_t tail_lock;
    struct job__block *tail_block; /* tail_lock */
    size_t tail_index;             /* tail_lock: next free slot in tail_block */
    /* Stored under tail_lock; loaded anywhere.  On a line of its own because
     * spinning workers poll it: they must not pull the lock's line away
     * from the producer. */
    alignas(JOB__CACHELINE) _Atomic uint64_t tail_seq;

    /* consumer side */
    alignas(JOB__CACHELINE) pthread_mutex_t head_lock;
    struct job__block *head_block; /* head_lock */
    size_t head_index;             /* head_lock: next slot to take */
    uint64_t tail_seen;            /* head_lock: a recent value of tail_seq */
    _Atomic uint64_t head_seq;     /* stored under head_lock; loaded anywhere */

    /* Drained blocks kept for the producer, so that a queue that keeps
     * crossing block boundaries does not call malloc and free (and fault
     * in fresh pages) each time.  Each place is exchanged atomically: the
     * consumer fills empty places, the producer empties full ones. */
    alignas(
        JOB__CACHELINE) _Atomic(struct job__block *) spare[JOB__SPARE_BLOCKS];
};

int job__queue_init(struct job__queue *q);
void job__queue_destroy(struct job__queue *q);
/* Appends a job; tail_lock must be held.  Returns 0 or ENOMEM. */
int job__queue_push(struct job__queue *q, job_fn fn, void *ctx);
/* Takes the oldest job into *out; head_lock must be held.  Returns false
 * when the queue is empty. */
bool job__queue_pop(struct job__queue *q, struct job__slot *out);

/* One worker thread. */
struct job__worker {
    job_pool *pool;
    pthread_t thread;
    unsigned index;
    bool started; /* pool->lock: pthread_create succeeded */
    bool joined;  /* pool->lock: pthread_join returned */

    /* Jobs this worker has finished.  Only the worker stores it (release),
     * so the jobs' writes are visible to whoever loads it (acquire). */
    alignas(JOB__CACHELINE) _Atomic uint64_t completed;

    /* Parking: the worker sleeps on park_cond until a waker sets wake. */
    alignas(JOB__CACHELINE) pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    bool wake;                       /* park_lock */
    struct job__worker *next_parked; /* queue.tail_lock */
};

enum job__state {
    JOB__RUNNING,  /* accepting and running jobs */
    JOB__DRAINING, /* refusing jobs, running what was accepted */
    JOB__STOPPED   /* every worker joined */
};

struct job_pool {
    struct job__queue queue;

    /* Sleep bookkeeping, kept with the producer so that a submit reads it
     * on a cache line it already owns. */
    alignas(JOB__CACHELINE) struct job__worker *parked; /* queue.tail_lock:
                                                           a stack */
    _Atomic unsigned nparked; /* stored under queue.tail_lock */
    _Atomic bool stopping;    /* stored under queue.tail_lock, once */

    /* Workers awake with nothing to do, polling tail_seq.  A producer that
     * sees one leaves the parked workers asleep. */
    alignas(JOB__CACHELINE) _Atomic unsigned nspinning;
    /* Threads blocked in job_pool_wait_idle().  Stored under
     * queue.tail_lock; workers read it when the queue runs dry, and again
     * under tail_lock before they park or exit.  Rarely written, so it has
     * a line of its own that the workers only ever read. */
    alignas(JOB__CACHELINE) _Atomic unsigned idle_waiters;
    _Atomic uint64_t rejected;

    /* Lifecycle. */
    alignas(JOB__CACHELINE) pthread_mutex_t lock;
    pthread_cond_t idle_cond;    /* lock: signalled when workers run dry */
    pthread_cond_t stopped_cond; /* lock: signalled on reaching STOPPED */
    enum job__state state;       /* lock */
    _Atomic unsigned threads_alive;

    unsigned nthreads;           /* fixed at create */
    unsigned spin_rounds;        /* fixed at create */
    struct job__worker *workers; /* fixed at create, nthreads of them */
    char name[16];               /* worker name prefix */
};

/* options.c: the options of job_pool_create() as the library uses them. */
struct job__settings {
    unsigned threads; /* 0 = online CPUs */
    char name[16];    /* worker name prefix, NUL-terminated */
};
int job__settings_from_options(struct job__settings *out,
                               const job_pool_options *opts);

/* worker.c */
void *job__worker_main(void *arg);
void job__worker_wake(struct job__worker *w);
/* Jobs finished by all workers, loaded with acquire ordering. */
uint64_t job__completed(job_pool *pool);

#endif /* JOBPOOL_PRIVATE_H */
