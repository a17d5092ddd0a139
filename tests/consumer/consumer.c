/* SPDX-License-Identifier: MIT */
/* A program built the way users build: against the installed header and
 * library, found with pkg-config. */
#include <jobpool.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int ran;

static void job(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&ran, 1);
}

int main(void)
{
    job_pool_options opts;
    job_pool *pool;

    job_pool_options_init(&opts);
    opts.threads = 2;
    if (job_pool_create(&pool, &opts) != 0)
        return 1;
    for (int i = 0; i < 1000; i++)
        if (job_submit_detached(pool, job, NULL) != 0)
            return 2;
    if (job_pool_destroy(pool) != 0)
        return 3;
    printf("consumer: %d jobs ran with jobpool %s\n", atomic_load(&ran),
           job_version_string());
    return atomic_load(&ran) == 1000 ? 0 : 4;
}
