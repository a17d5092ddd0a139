#!/bin/sh
# SPDX-License-Identifier: MIT
# In TESTS in place of the Check suites (check_jobpool, test-pinned.sh,
# check_faults) when configure found no Check that the compiler links, or
# was given --without-check: they were not built, and this says so.
echo "the Check suites were not built: configure found no Check (>= 0.9.6)" \
    "that ${CC:-cc} links, or was given --without-check.  Install Check" \
    "(Debian: apt-get install check) and run configure again."
exit 77
