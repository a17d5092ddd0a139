/* SPDX-License-Identifier: MIT */
/* Runs every suite.  CK_FORK=no runs them in-process, for valgrind and gdb. */
#include "helpers.h"

#include <stdlib.h>

int main(void)
{
    SRunner *runner = srunner_create(lifecycle_suite());
    int failed;

    srunner_add_suite(runner, submit_suite());
    srunner_add_suite(runner, shutdown_suite());
    srunner_add_suite(runner, wait_idle_suite());
    srunner_add_suite(runner, process_suite());
    srunner_add_suite(runner, misuse_suite());
    srunner_add_suite(runner, overload_suite());
    srunner_add_suite(runner, elastic_suite());
    srunner_add_suite(runner, cancel_suite());
    srunner_add_suite(runner, order_suite());
    srunner_add_suite(runner, hardening_suite());
    srunner_add_suite(runner, lane_suite());
    srunner_add_suite(runner, group_suite());
    srunner_add_suite(runner, batch_suite());
    srunner_add_suite(runner, stress_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
