/* SPDX-License-Identifier: MIT */
/*
 * Time for the library's bounded waits: everything is measured on
 * CLOCK_MONOTONIC, so that setting the wall clock can neither stretch nor
 * cut a timeout.
 */
#include "config.h"

#include "jobpool-private.h"

#include <stdint.h>
#include <time.h>

uint64_t job__monotonic_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The latest second a time_t holds: 2^31 - 1 where it has 32 bits. */
#define TIME_T_MAX_SECONDS                                                     \
    (sizeof(time_t) >= 8 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX)

void job__deadline_after(struct timespec *deadline, uint64_t timeout_ns)
{
    /* Far enough to be "never": 100 years, or the end of time_t if that
     * comes first (in 2038 with a 32-bit time_t on CLOCK_REALTIME, after
     * 68 years of uptime on CLOCK_MONOTONIC). */
    const uint64_t max_ns = (uint64_t)100 * 365 * 24 * 3600 * 1000000000u;
    uint64_t now = job__monotonic_ns();
    uint64_t sec = now / 1000000000u, nsec = now % 1000000000u;

    if (timeout_ns > max_ns)
        timeout_ns = max_ns;
    sec += timeout_ns / 1000000000u;
    nsec += timeout_ns % 1000000000u;
    if (nsec >= 1000000000u) {
        sec++;
        nsec -= 1000000000u;
    }
    if (sec >= TIME_T_MAX_SECONDS) {
        sec = TIME_T_MAX_SECONDS;
        nsec = 0;
    }
    deadline->tv_sec = (time_t)sec;
    deadline->tv_nsec = (long)nsec;
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
