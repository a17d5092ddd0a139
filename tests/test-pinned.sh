#!/bin/sh
# SPDX-License-Identifier: MIT
# The Check suites again, with every thread on one CPU: producers, workers
# and waiters then interleave only at preemption points, which exercises
# other orders than two CPUs do.
set -eu
command -v taskset >/dev/null 2>&1 || { echo "taskset not found"; exit 77; }
taskset -c 0 true 2>/dev/null || { echo "cannot pin to CPU 0"; exit 77; }
exec taskset -c 0 ./check_jobpool
