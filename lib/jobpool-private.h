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

/* The invariants each file states, checked in --enable-debug builds. */
#ifdef JOBPOOL_DEBUG
#include <assert.h>
#define JOB__ASSERT(cond) assert(cond)
#else
#define JOB__ASSERT(cond) ((void)0)
#endif

/* Fields written by different threads live on different cache lines. */
#define JOB__CACHELINE 64

/* ThreadSanitizer does not model fences (gcc refuses them with -Wtsan). */
#if defined(__SANITIZE_THREAD__)
#define JOB__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JOB__TSAN 1
#endif
#endif

/* Loads *p after a sequentially consistent fence, so that no earlier
 * access of the caller is ordered after the load.  Under ThreadSanitizer,
 * a read-modify-write, which orders the same way at the price of a write. */
static inline unsigned job__load_after_fence(_Atomic unsigned *p)
{
#ifdef JOB__TSAN
    return atomic_fetch_add_explicit(p, 0, memory_order_seq_cst);
#else
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load_explicit(p, memory_order_relaxed);
#endif
}

/* A pause in a spin: lets the sibling hardware thread run. */
static inline void job__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* One queued job: 16 bytes on LP64 platforms. */
struct job__slot {
    job_fn fn;
    void *ctx;
};

/*
 * A queue stores jobs in a list of fixed-size blocks, so it never copies
 * when it grows and frees memory as it drains.  A shard's block holds 1024
 * slots (16 KiB and a 16-byte header, 16.02 bytes per queued job); a lane's
 * 64 (1 KiB), so that an idle lane keeps little.  A power of two, so that
 * a job's place in its block follows from its sequence number.
 */
#define JOB__SHARD_BLOCK_SLOTS 1024u
#define JOB__LANE_BLOCK_SLOTS 64u
struct job__block {
    struct job__block *next; /* written before the slot that needs it is
                                published through tail_seq */
    size_t nslots;           /* the queue's block_slots, kept here so
                                that consumers need not read the
                                producers' line */
    struct job__slot slots[];
};

/*
 * A two-lock FIFO (Michael and Scott's design, with blocks of slots instead
 * of one node per job): the producer side holds tail_lock, consumers
 * head_lock, so a submit never waits for a worker that is taking a job.
 * The producer publishes a slot by storing tail_seq; a consumer learns of it
 * by loading tail_seq, which it caches in tail_seen.  The sequence numbers
 * count jobs since creation and never wrap in practice (2^64); job number
 * s is in slot s % nslots of its block.  The first block is allocated by
 * the first push, so a queue nobody uses costs no block.
 */
struct job__queue {
    /* producer side */
    alignas(JOB__CACHELINE) pthread_mutex_t tail_lock;
    struct job__block *tail_block; /* tail_lock */
    struct job__block *first;      /* tail_lock: stored once, before the
                                      first job is published */
    size_t block_slots;            /* fixed at init: slots per block */
    /* Stored (a sequentially consistent exchange) under tail_lock; loaded
     * anywhere.  On a line of its own, which idle workers poll. */
    alignas(JOB__CACHELINE) _Atomic uint64_t tail_seq;

    /* consumer side: one line, so that taking a job moves one line
     * between the workers (with the slot's) */
    alignas(JOB__CACHELINE) pthread_mutex_t head_lock;
    struct job__block *head_block; /* head_lock */
    _Atomic uint64_t tail_seen;    /* stored under head_lock: a recent
                                      value of tail_seq */
    _Atomic uint64_t head_seq;     /* stored under head_lock: jobs taken
                                      out, by a worker or a cancel */
};

/* queue.c */
/* Makes an empty queue in memory the caller zeroed (the pool and lanes
 * are allocated zeroed): but for its locks and block_slots, an empty
 * queue is all zeros. */
int job__queue_init(struct job__queue *q, size_t block_slots);
void job__queue_destroy(struct job__queue *q);
/* Appends a job and publishes it; tail_lock must be held.  Returns 0 or
 * ENOMEM. */
int job__queue_push(struct job__queue *q, job_fn fn, void *ctx);
/* Takes the oldest job into *out; head_lock must be held.  Returns false
 * when the queue is empty. */
bool job__queue_pop(struct job__queue *q, struct job__slot *out);
/* The two halves of a pop, for taking several jobs at once.  Reads from
 * job number seq, the oldest not yet read (head_seq, or the one after the
 * last read), on: points *run at it and returns how many jobs follow it in
 * its block, at most max, or 0 when there is none.  Then
 * job__queue_taken_to() takes out every job before seq.  head_lock must be
 * held from the first read to taken_to. */
size_t job__queue_read(struct job__queue *q, uint64_t seq,
                       const struct job__slot **run, size_t max);
void job__queue_taken_to(struct job__queue *q, uint64_t seq);
/* True when the queue may hold a job, by the consumers' own line first:
 * tail_seq, which the producer writes, is loaded only when the consumers'
 * last look found the queue empty. */
static inline bool job__queue_maybe_nonempty(struct job__queue *q)
{
    uint64_t head = atomic_load_explicit(&q->head_seq, memory_order_relaxed);

    return atomic_load_explicit(&q->tail_seen, memory_order_relaxed) != head ||
           atomic_load_explicit(&q->tail_seq, memory_order_relaxed) != head;
}
/* Jobs in the queue: published and not taken out, read without a lock. */
static inline uint64_t job__queue_depth(struct job__queue *q)
{
    uint64_t head = atomic_load_explicit(&q->head_seq, memory_order_seq_cst);

    return atomic_load_explicit(&q->tail_seq, memory_order_seq_cst) - head;
}

/*
 * A shard's fronts: each up to JOB__FRONT_SLOTS jobs that a worker took
 * from the head of a deep queue in one turn of head_lock, so that it runs
 * them without moving the queue's head line between the CPUs at every
 * job.  They stay queued: anyone takes them, one at a time, by a
 * compare-and-swap on word, the worker that filled the front first, and
 * the others when it stops moving (its filler is blocked in a job) or when
 * the queues are empty (shards.c).
 *
 * word packs a generation (bits 16..63), the next slot to take (8..15) and
 * the end (0..7).  A taker reads the slot and then moves next on with a
 * CAS that expects the word it read, generation included; the front is
 * refilled (under head_lock, generation + 1) only once next == end, when
 * no CAS can succeed, so a CAS that succeeds took what it read.  The slots
 * are atomic only so that a taker's early read of a slot being refilled is
 * not a data race; its CAS then fails.  Generations wrap after 2^48
 * refills, and a stale CAS would need its taker stalled across all of
 * them.
 */
/* Fronts per shard: workers that can run fronts of one shard side by side. */
#define JOB__FRONTS 2
#define JOB__FRONT_SLOTS 64u
/* A front is filled only from a queue this deep (after the job taken),
 * so that short bursts keep their order of starts. */
#define JOB__FRONT_MIN_DEPTH 1024u
#define JOB__FRONT_NEXT_SHIFT 8
#define JOB__FRONT_GEN_SHIFT 16
_Static_assert(JOB__FRONT_SLOTS < 256, "next and end are 8-bit fields");
struct job__front {
    _Atomic uint64_t word; /* see above: stored when refilled under the
                              queue's head_lock, by a CAS otherwise */
    uint64_t seq;          /* queue.head_lock: sequence number of slot 0 */
    struct {
        _Atomic(job_fn) fn;
        _Atomic(void *) ctx;
    } slots[JOB__FRONT_SLOTS];
};
/* Jobs left in a front whose word is w. */
static inline unsigned job__front_left(uint64_t w)
{
    return (unsigned)(w & 0xffu) -
           (unsigned)(w >> JOB__FRONT_NEXT_SHIFT & 0xffu);
}

/*
 * A shard: the queue of the threads that submit through it.  Each
 * submitting thread is given a shard on its first submit to the pool and
 * keeps it, so its jobs are taken in the order it submitted them (a front
 * is filled from the queue's head), and in steady state a shard has one
 * producer: no two threads write the same line per job.  Threads past the
 * JOB__SHARDS-th share earlier shards.
 */
#define JOB__SHARDS                                                            \
    32 /* bits of shards_in_use; the gate holds them all,                      \
          with two more locks, and ThreadSanitizer follows                     \
          at most 64 locks held at once */
struct job__shard {
    struct job__queue queue;
    /* For queued_peak (submit.c): the deepest this shard has been seen,
     * and a value of job__shard_taken_bound(), so tail_seq - head_bound
     * bounds its depth. */
    size_t depth_peak;   /* queue.tail_lock */
    uint64_t head_bound; /* queue.tail_lock */
    /* The oldest jobs, taken out of the queue but not yet started; the
     * fronts' jobs follow each other in the order of their seq. */
    alignas(JOB__CACHELINE) struct job__front fronts[JOB__FRONTS];
};

/* One worker thread, or a free place for one in an elastic pool. */
struct job__worker {
    job_pool *pool;
    pthread_t thread;
    unsigned index;
    unsigned cursor; /* only its thread: the shard it looks at first */
    unsigned turn;   /* only its thread: jobs it took there in a row */
    /* Only its thread: the front it filled last, or NULL. */
    struct job__front *filled;
    /* Only its thread: each front's word at its last look, to see whether
     * the front has moved since (shards.c). */
    uint64_t fronts_seen[JOB__SHARDS][JOB__FRONTS];
    /* A place is reused by a later thread once its thread has exited and
     * been joined. */
    bool started; /* pool->lock: pthread_create succeeded, and
                     pthread_join has not returned */
    bool exited;  /* pool->lock: the thread ran its stop hook and is
                     returning */
    bool reaping; /* pool->lock: growth is joining the exited thread, with
                     the lock dropped */

    /* Jobs started and finished by the threads of this place.  Only the
     * current thread stores them (release), so the jobs' writes are
     * visible to whoever loads completed (acquire); a new thread carries
     * on from the joined one's counts. */
    alignas(JOB__CACHELINE) _Atomic uint64_t started_jobs;
    _Atomic uint64_t completed;

    /* Parking: the worker sleeps on park_cond until a waker sets wake. */
    alignas(JOB__CACHELINE) pthread_mutex_t park_lock;
    pthread_cond_t park_cond;        /* CLOCK_MONOTONIC, for the idle timeout */
    bool wake;                       /* park_lock */
    bool parked;                     /* pool->idle_lock: on the parked stack */
    struct job__worker *next_parked; /* pool->idle_lock */
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
    struct job__shard shards[JOB__SHARDS];

    /* Read by every submit; written once (stopping) or never. */
    alignas(JOB__CACHELINE) _Atomic bool stopping; /* stored with every
                                                      shard's tail_lock held
                                                      (job__gate_close) */
    bool elastic; /* cfg.min_threads < cfg.max_threads */
    /* The options of job_pool_create() as the library uses them, every
     * default filled in (options.c): min_threads and max_threads always
     * set, equal for a fixed-size pool; threads 0; idle_timeout_ms set
     * for an elastic pool; name pointing at worker_name.  cfg.max_threads
     * places in workers[]. */
    job_pool_options cfg;
    char worker_name[16];           /* worker name prefix, NUL-terminated */
    pthread_key_t shard_key;        /* a thread's shard in this pool */
    _Atomic uint64_t shards_in_use; /* bit i: shard i was given to a thread;
                                       set under lock */
    unsigned next_shard;            /* lock: the shard the next thread gets */

    /* idle.c: who is idle, who starts, who leaves. */
    alignas(JOB__CACHELINE) pthread_mutex_t idle_lock;
    struct job__worker *parked; /* idle_lock: a stack */
    _Atomic unsigned nparked;   /* stored under idle_lock: its length */
    _Atomic unsigned nlive;     /* stored under idle_lock, and lowered only
                                   with the gate closed too: threads started
                                   and not decided to exit */
    _Atomic unsigned nexiting;  /* stored like nlive: threads that decided to
                                   exit and have not looked again */
    unsigned nstarting;         /* idle_lock: threads reserved or started
                                   that are not yet taking jobs */
    /* Workers awake with nothing to do, polling the shards; changed by
     * each worker for itself. */
    alignas(JOB__CACHELINE) _Atomic unsigned nspinning;

    /* pool.c: threads blocked in job_pool_wait_idle(); changed under lock,
     * read by workers that run dry (worker.c). */
    alignas(JOB__CACHELINE) _Atomic unsigned idle_waiters;

    /* submit.c: a bounded pool's count of queued jobs, and submitters
     * waiting for room.  An unbounded pool never writes these lines. */
    alignas(JOB__CACHELINE) _Atomic size_t queued_now;
    alignas(JOB__CACHELINE) _Atomic unsigned space_waiters; /* stored under
                                                               space_lock */
    pthread_mutex_t space_lock;
    pthread_cond_t space_cond; /* space_lock; CLOCK_MONOTONIC */
    _Atomic size_t queued_peak;
    _Atomic uint64_t rejected;
    _Atomic uint64_t rejected_full;
    _Atomic uint64_t rejected_shutdown;
    _Atomic uint64_t ran_in_caller;

    /* pool.c */
    _Atomic uint64_t cancelled; /* added when the jobs leave the queue,
                                   before they are handed back */

    /* lane.c: the pool's lanes, so that its cancel reaches the jobs of a
     * lane at its width, which have no token in the shards. */
    pthread_mutex_t lanes_lock;
    struct job_lane *lanes; /* lanes_lock: the lanes not being destroyed,
                               newest first */

    /* threads.c */
    _Atomic uint64_t thread_start_failures;
    _Atomic unsigned threads_alive; /* stored under lock: places started
                                       and not exited */
    _Atomic unsigned threads_peak;  /* stored under lock */

    /* Lifecycle. */
    alignas(JOB__CACHELINE) pthread_mutex_t lock;
    pthread_cond_t idle_cond;    /* lock: signalled when workers run dry */
    pthread_cond_t stopped_cond; /* lock, CLOCK_MONOTONIC: signalled when
                                    a thread exits and on STOPPED */
    enum job__state state;       /* lock */
    bool joining;                /* lock: a shutdown is joining the threads;
                                    no thread may start */

    /* Fixed at create. */
    pthread_attr_t thread_attr; /* for every worker thread */
    /* cfg.max_threads places, allocated with the pool. */
    struct job__worker workers[];
};

/* Checks the caller's options (NULL for the defaults) and copies them
 * into cfg with every default filled in; name still the caller's.
 * Returns 0 or EINVAL. */
int job__options_settle(job_pool_options *cfg, const job_pool_options *opts);

/* clock.c: CLOCK_MONOTONIC time and timed waits. */
uint64_t job__monotonic_ns(void);
/* The CLOCK_MONOTONIC time timeout_ns from now, for timed waits. */
void job__deadline_after(struct timespec *deadline, uint64_t timeout_ns);
/* A condition variable whose timed waits use CLOCK_MONOTONIC. */
int job__monotonic_cond_init(pthread_cond_t *cond);

/* shards.c: the shards, who uses which, and what they hold. */
int job__shards_init(job_pool *pool);
void job__shards_fini(job_pool *pool);
/* Gives the calling thread the next shard; NULL when the thread's key
 * could not be set (ENOMEM). */
struct job__shard *job__assign_shard(job_pool *pool);
/* The calling thread's shard, given it on its first call. */
static inline struct job__shard *job__my_shard(job_pool *pool)
{
    struct job__shard *shard = pthread_getspecific(pool->shard_key);

    return shard != NULL ? shard : job__assign_shard(pool);
}
/* True when some shard holds a job (sequentially consistent loads). */
bool job__work_visible(job_pool *pool);
/* The jobs of a shard that have left it (started or cancelled), more or
 * less those being moved to a front at that moment: head_seq less the
 * jobs in its fronts.  It never decreases, so tail_seq less a value it
 * had bounds the shard's depth from above. */
uint64_t job__shard_taken_bound(struct job__shard *shard);
/* Jobs in all shards, and jobs ever published to them. */
uint64_t job__shards_depth(job_pool *pool);
uint64_t job__shards_submitted(job_pool *pool);
/* Takes the next job of front f into *out; false when f is empty. */
bool job__front_take(struct job__front *f, struct job__slot *out);
/* Takes a job for worker w: from the front it filled, else from a front
 * that has not moved since its last look, else from the first shard with
 * a job, from w's cursor on, else from any front.  Returns false when
 * every shard and front was empty. */
#define JOB__TURN 32
bool job__shards_take(job_pool *pool, struct job__worker *w,
                      struct job__slot *out);
/* Takes every shard's tail_lock, in index order, and gives them back: the
 * gate that the submit path's checks of stopping, nlive and nexiting
 * cannot pass while it is closed. */
void job__gate_close(job_pool *pool);
void job__gate_open(job_pool *pool);

/* idle.c: parking, waking, growing and leaving. */
/* After a submit published a job: true when someone may have to be woken
 * or started for it (then job__wake_or_grow()).  Loads only. */
static inline bool job__may_need_worker(job_pool *pool)
{
    if (atomic_load_explicit(&pool->nparked, memory_order_seq_cst) == 0 &&
        (!pool->elastic ||
         atomic_load_explicit(&pool->nlive, memory_order_seq_cst) >=
             pool->cfg.max_threads))
        return false;
    return atomic_load_explicit(&pool->nspinning, memory_order_seq_cst) == 0;
}
void job__wake_or_grow(job_pool *pool);
/* Reserves one more thread; for create and for a pool with none. */
void job__reserve_start(job_pool *pool);
/* Settles a reservation once pthread_create() has answered. */
void job__start_done(job_pool *pool, bool started);
/* The worker's own transitions; see idle.c. */
void job__worker_ready(job_pool *pool);
void job__worker_took_job(job_pool *pool);
void job__worker_ran_dry(job_pool *pool);
enum job__park_result {
    JOB__PARK_WORK, /* work was seen: spinning again */
    JOB__PARK_EXIT  /* leave: stopping and drained, or idle too long */
};
enum job__park_result job__park(job_pool *pool, struct job__worker *w);
/* After the stop hook: true when the thread must stay (a job came that
 * nobody else can take); otherwise its place is marked exited. */
bool job__exit_or_stay(struct job__worker *w);
/* Shutdown: wakes every parked worker; stopping must be set. */
void job__wake_all(job_pool *pool);
unsigned job__threads_idle(job_pool *pool);

/* threads.c: places, and starting and joining threads. */
int job__workers_init(job_pool *pool);
void job__workers_fini(job_pool *pool);
/* Starts n workers at create; returns 0 or EAGAIN. */
int job__workers_start(job_pool *pool, unsigned n);
/* Starts the thread reserved with job__reserve_start(); pool->lock must
 * be held.  Returns 0, or EAGAIN or ESHUTDOWN (the reservation is given
 * back). */
int job__worker_add_locked(job_pool *pool);
/* Joins every thread started and not yet joined, taking pool->lock only
 * around each flag. */
void job__workers_join(job_pool *pool);
/* True when the calling thread is a live worker of the pool; pool->lock
 * must be held. */
bool job__called_from_worker_locked(const job_pool *pool);
/* Marks w's thread exited; pool->lock must be held. */
void job__place_exited(struct job__worker *w);

/* worker.c */
void *job__worker_main(void *arg);
/* Jobs finished (acquire loads) and started by all workers: sums of
 * counters that only grow. */
uint64_t job__completed(job_pool *pool);
uint64_t job__started(job_pool *pool);
/* Wakes job_pool_wait_idle() callers. */
void job__notify_idle_waiters(job_pool *pool);

/* submit.c */
/* Gives back the room of n jobs that left a bounded queue, waking the
 * submitters waiting for it. */
void job__room_release(job_pool *pool, size_t n);
/* Wakes the submitters waiting for room, if any (shutdown). */
void job__notify_space_waiters(job_pool *pool);
/* Queues a lane's token (lane.c) on the caller's shard: never waits, and
 * is taken past a bounded pool's queue_limit (the lane bounds its own
 * jobs).  Returns 0, ESHUTDOWN, ENOMEM or EAGAIN; not counted as a
 * rejected submit. */
int job__submit_token(job_pool *pool, job_fn fn, void *ctx);

/* options.c: the public structs that carry their own size. */
/* Copies the caller's struct in (size in its first field, at least
 * min_size) into out, giving every field the caller lacks its default 0;
 * EINVAL when in has a field this library does not know set. */
int job__copy_in(void *out, size_t out_size, const void *in, size_t min_size);
/* Copies snapshot (out_size bytes, a size first) into out, a caller's
 * struct of struct_size bytes, zeroing what this library does not know. */
void job__copy_out(void *out, size_t struct_size, void *snapshot,
                   size_t snapshot_size);

/* A thread running a job of a lane or a group, on its stack: so that a
 * wait for the lane or group from that job is refused (EDEADLK). */
struct job__runner {
    pthread_t thread;
    struct job__runner *next;
};
/* True when the calling thread is on the list. */
static inline bool job__runs_in(const struct job__runner *list)
{
    pthread_t self = pthread_self();

    for (; list != NULL; list = list->next)
        if (pthread_equal(list->thread, self))
            return true;
    return false;
}
void job__runner_remove(struct job__runner **list, struct job__runner *r);

/* lane.c */
/* The job that runs a lane's next job: its token. */
void job__lane_run(void *lane);
/* Hands back one job that job_pool_cancel_queued() or a lane's cancel took
 * out: a lane's token hands back the lane's waiting jobs, a group's job
 * leaves its group; returns the number of jobs handed back. */
size_t job__hand_back(struct job__slot job, job_handback_fn handback,
                      void *arg);
/* The pool's cancel, after the shards: hands back the jobs waiting in each
 * of the pool's lanes; returns how many. */
size_t job__lanes_cancel(job_pool *pool, job_handback_fn handback, void *arg);

/* group.c */
/* The job that runs a job submitted through a group. */
void job__group_run(void *record);
/* Takes a group's job out of its group and hands the caller's fn and ctx
 * back. */
void job__group_hand_back(void *record, job_handback_fn handback, void *arg);

#endif /* JOBPOOL_PRIVATE_H */
