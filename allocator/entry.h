/* What the malloc-family entries of alloc.c and cxx.c share: the free of a
 * block, and the test that lets an unsampled allocation of a sampling process
 * go straight to jemalloc. Always inlined, so that __builtin_return_address(0)
 * is the entry's own return address (tracker.h).
 *
 * MS_ENTRY_DISPATCH: malloc and free are a compare and a jump to one of two
 * bodies (alloc.c), on x86-64 over jemalloc; elsewhere (a sanitizer's heap,
 * other machines) they are C functions that test the same. */
#ifndef MS_ENTRY_H
#define MS_ENTRY_H

#include "alloc_iface.h"
#include "jemalloc_private.h"
#include "tracker.h"

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__LP64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define MS_ENTRY_DISPATCH 1
#else
#define MS_ENTRY_DISPATCH 0
#endif

/* An allocation of n bytes in a sampling process that is not sampled: the
 * entry only calls jemalloc (tracker.h, ms_sample_pass). Outside sampled mode
 * one load and compare. */
static inline __attribute__((always_inline)) bool ms_entry_unsampled(size_t n)
{
    return MS_UNLIKELY(ms_sampling_on) && MS_LIKELY(ms_sample_pass(n));
}

/* The heap's free of an ordinary block. jemalloc's keeps errno by itself
 * (jemalloc_sys.c); a sanitizer's heap is not known to, so there it is saved. */
static inline __attribute__((always_inline)) void ms_entry_heap_free(void *p)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    int *ep = ms_errno_ptr();
    int saved = *ep;
    msjem_free(p);
    *ep = saved;
#else
    msjem_free(p);
#endif
}

/* free and operator delete of a block outside the sampled range in a
 * process that traces every event, or none. */
static inline __attribute__((always_inline)) void ms_entry_free_full(void *p)
{
    if (MS_UNLIKELY(p == NULL))
        return;
    if (ms_ev_free(p))
        return; /* a sampled block: memscope freed it (not reached: ms_entry_free) */
    ms_entry_heap_free(p);
}

/* free and operator delete. A block of the sampled range goes back to it,
 * recorded, in any mode (a fork child that traces every event frees its
 * sampling parent's blocks too), whatever the state of the thread (a block
 * sampled by another thread, freed by one that has not started yet). In a
 * sampling process any other block is jemalloc's alone. NULL is never in the
 * range; jemalloc's free ignores it. */
static inline __attribute__((always_inline)) void ms_entry_free(void *p)
{
    if (MS_UNLIKELY(ms_sample_size != 0)) {
        if (MS_UNLIKELY((uintptr_t)p - ms_sample_base < ms_sample_size)) {
            ms_sample_free((uintptr_t)p, (uintptr_t)__builtin_return_address(0));
            return;
        }
        if (MS_LIKELY(ms_sampling_on)) {
            ms_entry_heap_free(p);
            return;
        }
    }
    ms_entry_free_full(p);
}

#endif /* MS_ENTRY_H */
