/*
 * Time for the library's bounded waits: everything is measured on
 * CLOCK_MONOTONIC, so that setting the wall clock can neither stretch nor
 * cut a timeout.
 */
#include "config.h"

#include "jobpool-private.h"

#include <time.h>

uint64_t job__monotonic_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void job__deadline_after(struct timespec *deadline, uint64_t timeout_ns)
{
    /* Far enough to be "never" yet safe from overflowing time_t. */
    const uint64_t max_ns = (uint64_t)100 * 365 * 24 * 3600 * 1000000000u;
    uint64_t at = job__monotonic_ns();

    at += timeout_ns < max_ns ? timeout_ns : max_ns;
    deadline->tv_sec = (time_t)(at / 1000000000u);
    deadline->tv_nsec = (long)(at % 1000000000u);
}

int job__monotonic_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);

    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &attr);
    (void)pthread_condattr_destroy(&attr);
    return rc;
}
