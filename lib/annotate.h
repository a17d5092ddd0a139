/* SPDX-License-Identifier: MIT */
/*
 * Happens-before annotations for valgrind's helgrind and DRD.
 *
 * Those tools understand pthread mutexes and condition variables but not
 * C11 atomics, so they would report the hand-off of a job through tail_seq
 * (and of its results through a worker's completed counter) as a race.
 * With --enable-valgrind-annotations the library tells them about these
 * edges and stops them tracking the atomic fields themselves; in any other
 * build every macro here is empty, so the production library pays nothing.
 */
#ifndef JOBPOOL_ANNOTATE_H
#define JOBPOOL_ANNOTATE_H

#ifdef JOB_VALGRIND_ANNOTATIONS
#include <valgrind/helgrind.h>
/* Included after helgrind.h, drd.h leaves the shared ANNOTATE_ names to
 * helgrind; DRD's own requests are issued by number below. */
#include <valgrind/drd.h>

/* Everything one thread did before JOB__HAPPENS_BEFORE(addr) happens before
 * what another thread does after a later JOB__HAPPENS_AFTER(addr). */
#define JOB__HAPPENS_BEFORE(addr)                                              \
    do {                                                                       \
        ANNOTATE_HAPPENS_BEFORE(addr);                                         \
        VALGRIND_DO_CLIENT_REQUEST_STMT(                                       \
            VG_USERREQ__DRD_ANNOTATE_HAPPENS_BEFORE, (addr), 0, 0, 0, 0);      \
    } while (0)
#define JOB__HAPPENS_AFTER(addr)                                               \
    do {                                                                       \
        ANNOTATE_HAPPENS_AFTER(addr);                                          \
        VALGRIND_DO_CLIENT_REQUEST_STMT(                                       \
            VG_USERREQ__DRD_ANNOTATE_HAPPENS_AFTER, (addr), 0, 0, 0, 0);       \
    } while (0)
/* An atomic field: its accesses are ordered by the C11 memory model, which
 * the tools cannot see, so they do not check them. */
#define JOB__ATOMIC_FIELD(addr)                                                \
    do {                                                                       \
        VALGRIND_HG_DISABLE_CHECKING((addr), sizeof *(addr));                  \
        VALGRIND_DO_CLIENT_REQUEST_STMT(VG_USERREQ__DRD_START_SUPPRESSION,     \
                                        (addr), sizeof *(addr), 0, 0, 0);      \
    } while (0)
#else
#define JOB__HAPPENS_BEFORE(addr) ((void)0)
#define JOB__HAPPENS_AFTER(addr) ((void)0)
#define JOB__ATOMIC_FIELD(addr) ((void)0)
#endif

#endif /* JOBPOOL_ANNOTATE_H */
