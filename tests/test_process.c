/* SPDX-License-Identifier: MIT */
/* The pool and the host process: signals, handlers, fork. */
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ThreadSanitizer cannot start threads in the child of a multi-threaded
 * fork, so that one test is left to the other builds. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static void job_read_mask(void *ctx)
{
    pthread_sigmask(SIG_BLOCK, NULL, ctx);
}

START_TEST(workers_block_asynchronous_signals)
{
    static const int async[] = {SIGINT,  SIGTERM, SIGCHLD, SIGHUP,  SIGUSR1,
                                SIGUSR2, SIGPIPE, SIGALRM, SIGQUIT, SIGWINCH};
    sigset_t none, mask;
    job_pool *pool;

    sigemptyset(&none);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &none, NULL), 0);
    pool = pool_new(2);
    sigemptyset(&mask);
    ck_assert_int_eq(job_submit_detached(pool, job_read_mask, &mask), 0);
    ck_assert_int_eq(job_pool_wait_idle(pool), 0);
    for (size_t i = 0; i < sizeof async / sizeof async[0]; i++)
        ck_assert_msg(sigismember(&mask, async[i]) == 1,
                      "signal %d not blocked in a worker", async[i]);
    /* Faults stay deliverable to the thread that causes them. */
    ck_assert_int_eq(sigismember(&mask, SIGSEGV), 0);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

START_TEST(create_leaves_the_callers_mask_and_handlers_alone)
{
    sigset_t before, after;
    struct sigaction old_actions[NSIG], new_action;
    job_pool *pool;

    sigemptyset(&before);
    sigaddset(&before, SIGUSR2);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, NULL, &old_actions[sig]);

    pool = pool_new(3);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
    for (int sig = 1; sig < NSIG; sig++)
        ck_assert_int_eq(sigismember(&after, sig), sigismember(&before, sig));
    ck_assert_int_eq(job_pool_destroy(pool), 0);

    for (int sig = 1; sig < NSIG; sig++) {
        if (sigaction(sig, NULL, &new_action) != 0)
            continue;
        ck_assert_msg(new_action.sa_handler == old_actions[sig].sa_handler,
                      "handler of signal %d changed", sig);
    }
}
END_TEST

/* A signal sent to the process reaches the application's thread, not a
 * worker: with SIGUSR1 blocked everywhere but in the calling thread, a
 * process-directed SIGUSR1 is taken by the calling thread's sigwait. */
START_TEST(process_signals_are_left_to_the_application)
{
    sigset_t usr1;
    job_pool *pool = pool_new(2);
    int sig = 0;

    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
    ck_assert_int_eq(sigwait(&usr1, &sig), 0);
    ck_assert_int_eq(sig, SIGUSR1);
    ck_assert_int_eq(job_pool_destroy(pool), 0);
}
END_TEST

#ifndef UNDER_TSAN
/* After fork() the child can create and use a pool of its own, even if the
 * parent's pool was busy (its locks held) at the moment of the fork. */
/* Static so that the child, which must leave the inherited pool alone,
 * still holds a pointer to it: valgrind then sees it as reachable. */
static job_pool *parent_pool;

START_TEST(child_of_fork_can_use_a_new_pool)
{
    const unsigned rounds = test_rounds(20, 2);
    atomic_ulong parent_count = 0;
    int status;
    pid_t pid;

    parent_pool = pool_new(2);
    for (unsigned round = 0; round < rounds; round++) {
        for (int i = 0; i < 20000; i++)
            ck_assert_int_eq(
                job_submit_detached(parent_pool, job_count, &parent_count), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            job_pool *child_pool;
            atomic_ulong child_count = 0;

            if (job_pool_create(&child_pool, NULL) != 0)
                _exit(2);
            for (int i = 0; i < 1000; i++) {
                int rc =
                    job_submit_detached(child_pool, job_count, &child_count);

                if (rc != 0) {
                    fprintf(stderr, "child: submit %d returned %d\n", i, rc);
                    _exit(3);
                }
            }
            if (job_pool_destroy(child_pool) != 0)
                _exit(4);
            _exit(atomic_load(&child_count) == 1000 ? 0 : 5);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
    ck_assert_int_eq(job_pool_destroy(parent_pool), 0);
    ck_assert_uint_eq(atomic_load(&parent_count), rounds * 20000ul);
}
END_TEST
#endif

Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("signals-fork");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, workers_block_asynchronous_signals);
    tcase_add_test(tc, create_leaves_the_callers_mask_and_handlers_alone);
    tcase_add_test(tc, process_signals_are_left_to_the_application);
#ifndef UNDER_TSAN
    tcase_add_test(tc, child_of_fork_can_use_a_new_pool);
#endif
    suite_add_tcase(s, tc);
    return s;
}
