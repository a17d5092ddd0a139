/* SPDX-License-Identifier: MIT */
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
#include <time.h>

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
    /* Jobs that have left the FIFO: taken by a worker or a cancel, or
     * claimed into a worker's batch.  Stored under head_lock; loaded
     * anywhere. */
    _Atomic uint64_t head_seq;

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

/*
 * A worker's batch: up to JOB__BATCH_MAX consecutive jobs that the worker
 * claimed from the head of the queue under one turn of head_lock, and that
 * anyone may take, one job at a time, by a compare-and-swap on claim.
 *
 * claim packs a generation (bits 16..63), the next slot to take (bits
 * 8..15) and the end of the batch (bits 0..7).  A taker reads the slot
 * first and then moves next on with a CAS that expects the generation it
 * read, so a CAS that succeeds took the slot's contents of that
 * generation: the owner refills only once next == end, and that value is
 * written after the taker's CAS.  The slots are atomic only so that a
 * taker's early read of a slot being refilled is not a data race; its CAS
 * then fails.  Generations wrap after 2^48 refills of one batch (years of
 * draining), and a stale CAS would need its taker stalled across all of
 * them.
 */
#define JOB__BATCH_MAX 32u
_Static_assert(JOB__BATCH_MAX < 256, "next and end are 8-bit fields of claim");
/* Claims are made only when at least this many jobs per thread are queued
 * behind the one taken: 32 full batches each (see batch_share()). */
#define JOB__BATCH_MIN_DEPTH 1024u
#define JOB__BATCH_GEN_SHIFT 16
#define JOB__BATCH_NEXT_SHIFT 8
struct job__batch_slot {
    _Atomic(job_fn) fn;
    _Atomic(void *) ctx;
};
struct job__batch {
    _Atomic uint64_t claim; /* see above; written by the owner when it
                               refills (next == end), by a CAS otherwise */
    uint64_t seq;           /* head_lock: queue sequence number of slot 0 */
    struct job__batch_slot slots[JOB__BATCH_MAX];
};
/* Fills b, whose jobs have all been taken, with up to want jobs from the
 * head of the queue and publishes them; head_lock must be held.  Returns
 * how many it claimed. */
unsigned job__queue_claim(struct job__queue *q, struct job__batch *b,
                          unsigned want);
/* Jobs left in a batch. */
static inline unsigned job__batch_left(uint64_t claim)
{
    return (unsigned)(claim & 0xffu) -
           (unsigned)((claim >> JOB__BATCH_NEXT_SHIFT) & 0xffu);
}
/* Takes the next job of b into *out.  Returns false when b is empty. */
bool job__batch_take(struct job__batch *b, struct job__slot *out);
/* Takes up to max of the next jobs of b whose sequence numbers are below
 * end into out[]; head_lock must be held (for b->seq).  Returns how many. */
unsigned job__batch_take_before(struct job__batch *b, uint64_t end,
                                struct job__slot *out, unsigned max);

/* One worker thread, or a free place for one in an elastic pool. */
struct job__worker {
    job_pool *pool;
    pthread_t thread;
    unsigned index;
    /* A place is reused by a later thread once its thread has exited and
     * been joined. */
    bool started; /* pool->lock: pthread_create succeeded */
    bool exited;  /* pool->lock: the thread ran its stop hook and is
                     returning */
    bool joined;  /* pool->lock: pthread_join returned */

    /* Jobs finished by the threads of this place.  Only the current thread
     * stores it (release), so the jobs' writes are visible to whoever loads
     * it (acquire); a new thread carries on from the joined one's count. */
    alignas(JOB__CACHELINE) _Atomic uint64_t completed;
    /* Jobs started by the threads of this place, from the queue or from
     * any batch; stored like completed, before the job runs.  With
     * cancel_taken, it counts the jobs that have left the queue: jobs in a
     * batch are still queued. */
    _Atomic uint64_t taken;
    /* The current thread's watch on other workers' batches, to notice one
     * whose owner takes nothing from it (blocked in a job) while this
     * thread works through the queue: the place watched, whether its
     * claim word was recorded, and that word.  Only this thread uses them. */
    unsigned watch;
    bool watch_armed;
    uint64_t watch_claim;

    /* The jobs this place's thread claimed; taken by it first, and by idle
     * workers and cancel.  A thread exits only with its batch empty. */
    alignas(JOB__CACHELINE) struct job__batch batch;

    /* Parking: the worker sleeps on park_cond until a waker sets wake. */
    alignas(JOB__CACHELINE) pthread_mutex_t park_lock;
    pthread_cond_t park_cond;        /* CLOCK_MONOTONIC, for the idle timeout */
    bool wake;                       /* park_lock */
    bool parked;                     /* queue.tail_lock: on the parked stack */
    struct job__worker *next_parked; /* queue.tail_lock */
};

enum job__state {
    JOB__RUNNING,  /* accepting and running jobs */
    JOB__DRAINING, /* refusing jobs, running what was accepted */
    JOB__STOPPED   /* every worker joined */
};

/* Internal outcomes of an attempt to queue a job, beside 0, ESHUTDOWN and
 * ENOMEM.  Negative, so never confused with an errno value. */
enum {
    JOB__FULL = -1,     /* the queue holds queue_limit jobs */
    JOB__NO_WORKER = -2 /* an elastic pool has no worker to run it */
};

struct job_pool {
    struct job__queue queue;

    /* Sleep and admission bookkeeping, kept with the producer so that a
     * submit reads it on a cache line it already owns. */
    alignas(JOB__CACHELINE) struct job__worker *parked; /* queue.tail_lock:
                                                           a stack */
    _Atomic unsigned nparked;   /* stored under queue.tail_lock */
    _Atomic bool stopping;      /* stored under queue.tail_lock, once */
    bool guarded;               /* fixed at create: a limit or an elastic
                                   thread count to check on each submit */
    bool elastic;               /* fixed at create: min_threads < max_threads */
    unsigned nlive;             /* queue.tail_lock: worker threads started and
                                   not yet decided to exit */
    unsigned nstarting;         /* queue.tail_lock: threads reserved or
                                   started that are not yet taking jobs */
    unsigned nexiting;          /* queue.tail_lock: threads that decided to
                                   exit and have not yet looked again in
                                   job__worker_exit_or_stay() */
    uint64_t head_seen;         /* queue.tail_lock: a value head_seq had, so
                                   tail_seq - head_seen bounds the depth of
                                   the FIFO (jobs in batches aside: none in
                                   a bounded pool) */
    uint64_t left_seen;         /* queue.tail_lock: a value the jobs
                                   started or cancelled had, so tail_seq -
                                   left_seen bounds the jobs queued */
    _Atomic size_t queued_peak; /* stored under queue.tail_lock */

    /* Workers awake with nothing to do, polling tail_seq.  A producer that
     * sees one leaves the parked workers asleep. */
    alignas(JOB__CACHELINE) _Atomic unsigned nspinning;
    /* Threads blocked in job_pool_wait_idle().  Stored under
     * queue.tail_lock; workers read it when the queue runs dry, and again
     * under tail_lock before they park or exit.  Rarely written, so it has
     * a line of its own that the workers nearly always only read. */
    alignas(JOB__CACHELINE) _Atomic unsigned idle_waiters;
    /* Submitters waiting for room in a full queue, on space_cond.  Changed
     * by them under queue.tail_lock (and, under ThreadSanitizer only, by
     * the workers' read-modify-write); read by workers after each take.
     * Bounded pools only, so an unbounded pool never writes this line. */
    _Atomic unsigned space_waiters;

    /* Counters for job_pool_get_stats(); each only grows. */
    alignas(JOB__CACHELINE) _Atomic uint64_t rejected;
    _Atomic uint64_t rejected_full;
    _Atomic uint64_t rejected_shutdown;
    _Atomic uint64_t ran_in_caller;
    _Atomic uint64_t cancelled; /* added when the jobs leave the queue,
                                   before they are handed back */
    _Atomic uint64_t thread_start_failures;

    pthread_cond_t space_cond; /* queue.tail_lock; CLOCK_MONOTONIC */

    /* Lifecycle. */
    alignas(JOB__CACHELINE) pthread_mutex_t lock;
    pthread_cond_t idle_cond;       /* lock: signalled when workers run dry */
    pthread_cond_t stopped_cond;    /* lock, CLOCK_MONOTONIC: signalled when
                                       a thread exits and on STOPPED */
    enum job__state state;          /* lock */
    bool joining;                   /* lock: a shutdown is joining the
                                       threads; no thread may start */
    _Atomic unsigned threads_alive; /* stored under lock: places started
                                       and not exited */
    _Atomic unsigned threads_peak;  /* stored under lock */

    /* Fixed at create. */
    size_t queue_limit; /* 0 = unbounded */
    enum job_overflow overflow;
    unsigned min_threads;
    unsigned max_threads; /* places in workers[] */
    uint64_t idle_timeout_ns;
    struct job__worker *workers; /* max_threads places */
    pthread_attr_t thread_attr;  /* for every worker thread */
    job_thread_hook thread_start;
    job_thread_hook thread_stop;
    void *thread_hook_arg;
    char name[16]; /* worker name prefix */
};

/* options.c: the options of job_pool_create() as the library uses them. */
struct job__settings {
    unsigned min_threads;
    unsigned max_threads; /* equal to min_threads for a fixed-size pool */
    uint64_t idle_timeout_ns;
    size_t queue_limit;
    enum job_overflow overflow;
    size_t stack_size; /* 0 = the system's default */
    job_thread_hook thread_start;
    job_thread_hook thread_stop;
    void *thread_hook_arg;
    char name[16]; /* worker name prefix, NUL-terminated */
};
int job__settings_from_options(struct job__settings *out,
                               const job_pool_options *opts);

/* clock.c: CLOCK_MONOTONIC time and timed waits. */
uint64_t job__monotonic_ns(void);
/* The CLOCK_MONOTONIC time timeout_ns from now, for timed waits. */
void job__deadline_after(struct timespec *deadline, uint64_t timeout_ns);
/* A condition variable whose timed waits use CLOCK_MONOTONIC. */
int job__monotonic_cond_init(pthread_cond_t *cond);

/* threads.c: starting, growing and joining worker threads. */
int job__workers_init(job_pool *pool, const struct job__settings *settings);
void job__workers_fini(job_pool *pool);
/* Starts n workers at create; returns 0 or EAGAIN. */
int job__workers_start(job_pool *pool, unsigned n);
/* Starts one more worker for an elastic pool, reserved beforehand in
 * nstarting under queue.tail_lock; pool->lock must be held.  Returns 0 (the
 * new thread releases the reservation when it is ready), or EAGAIN or
 * ESHUTDOWN (released here). */
int job__worker_add_locked(job_pool *pool);
/* Starts the worker reserved in nstarting, taking pool->lock. */
void job__worker_add(job_pool *pool);
/* Joins every thread that was started and not yet joined, taking
 * pool->lock around each flag (never while joining). */
void job__workers_join(job_pool *pool);
/* True when the calling thread is a live worker of the pool; pool->lock
 * must be held. */
bool job__called_from_worker_locked(const job_pool *pool);
/* Called by a worker on its way out, after its stop hook: if a queued job
 * now has nobody to run it (it came while the thread was leaving), the
 * thread stays and returns true; otherwise it marks its place exited. */
bool job__worker_exit_or_stay(struct job__worker *w);

/* worker.c */
void *job__worker_main(void *arg);
void job__worker_wake(struct job__worker *w);
/* Pops a parked worker, or returns NULL.  queue.tail_lock must be held. */
struct job__worker *job__unpark_one(job_pool *pool);
/* Jobs finished by all workers, loaded with acquire ordering. */
uint64_t job__completed(job_pool *pool);
/* Jobs started by the workers (from the FIFO or a batch): a sum of
 * counters that only grow, so a value between the sums at the start and at
 * the end of the call. */
uint64_t job__started(job_pool *pool);
/* True when a job is queued: in the FIFO, or in a worker's batch (rule 4
 * in worker.c).  Loads tail_seq and head_seq (sequentially consistent),
 * then each batch's claim word (acquire). */
bool job__work_queued(job_pool *pool);
/* Wakes job_pool_wait_idle() callers. */
void job__notify_idle_waiters(job_pool *pool);
/* Wakes submitters waiting for room, if any; called after jobs leave a
 * bounded queue. */
void job__notify_space_waiters(job_pool *pool);

/* submit.c */
/* Under queue.tail_lock: true when a queued job has nobody parked or
 * spinning to take it and fewer than max_threads threads live. */
bool job__thread_needed(job_pool *pool);
/* Under queue.tail_lock: true when an elastic pool should start a worker
 * for a queued job (job__thread_needed(), and fewer starts in flight than
 * jobs in the FIFO), and if so reserves it in nstarting. */
bool job__reserve_growth(job_pool *pool);

#endif /* JOBPOOL_PRIVATE_H */
