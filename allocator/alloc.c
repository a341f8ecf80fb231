/* The malloc family, served by the private jemalloc copy and recorded.
 *
 * Rules of this file (the malloc path is sacred):
 *  - the common case is jemalloc's fast path plus the inline encoder of
 *    tracking/tracker.h: no lock, no system call, no stdio, no call into
 *    memscope;
 *  - an allocation is recorded after the real allocation returned, a free
 *    before the real free runs (docs/FORMAT.md relies on it);
 *  - errno is what glibc would leave: set only on failure, never by free.
 *
 * Semantics follow glibc: malloc(0) returns a unique pointer, free(NULL) does
 * nothing, realloc(p, 0) frees p and returns NULL, memalign/valloc/pvalloc round
 * as glibc does, aligned_alloc refuses an alignment that is not a power of two
 * with EINVAL (C17, glibc >= 2.38). */
#include "helper.h"
#include "jemalloc_private.h"
#include "tracker.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define MS_EXPORT __attribute__((visibility("default")))

/* Glibc's page size for valloc/pvalloc. sysconf is a libc call with no system
 * call on Linux (the value comes from the auxiliary vector). */
static size_t page_size(void)
{
    static _Atomic size_t ps; /* every thread computes the same value */
    size_t v = atomic_load_explicit(&ps, memory_order_relaxed);
    if (MS_UNLIKELY(v == 0)) {
        v = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&ps, v, memory_order_relaxed);
    }
    return v;
}

MS_EXPORT void *malloc(size_t n)
{
    void *p = msjem_malloc(n);
    if (MS_LIKELY(p != NULL))
        p = ms_ev_alloc(p, n);
    return p;
}

MS_EXPORT void free(void *p)
{
    if (MS_UNLIKELY(p == NULL))
        return;
    if (ms_ev_free(p))
        return; /* a sampled block: memscope freed it */
    int *ep = ms_errno_ptr(); /* jemalloc may purge pages (madvise) inside free */
    int saved = *ep;
    msjem_free(p);
    *ep = saved;
}

MS_EXPORT void *calloc(size_t n, size_t size)
{
    void *p = msjem_calloc(n, size); /* jemalloc checks the overflow (ENOMEM) */
    if (MS_LIKELY(p != NULL))
        p = ms_ev_alloc_ex(p, n * size, 0, true);
    return p;
}

/* Grows or shrinks p. jemalloc's own realloc would free the old block inside
 * the call, before we could record it; another thread could then be handed the
 * same address and record it first. So: try in place (xallocx), else allocate,
 * copy, record, and only then free the old block. */
MS_EXPORT void *realloc(void *p, size_t n)
{
    if (p == NULL)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (MS_UNLIKELY(ms_sample_size != 0)) {
        /* sampled mode: a sampled block, or one to be, moves (sampler.c) */
        void *q;
        if (ms_sample_realloc(p, n, (uintptr_t)__builtin_return_address(0), &q))
            return q;
    }
    size_t old_usable = msjem_malloc_usable_size(p);
    int saved = errno; /* xallocx may purge pages (madvise) */
    bool in_place;
    if (n > old_usable)
        in_place = msjem_xallocx(p, n, 0, 0) >= n;     /* grown where it stands */
    else if (n > old_usable / 2)
        in_place = true;                               /* fits, and keeps most of it */
    else
        in_place = msjem_xallocx(p, n, 0, 0) < old_usable; /* tail given back in place
                                                            * (large blocks) */
    errno = saved;
    if (in_place) {
        /* Kept in place. A big shrink that jemalloc cannot do in place (a
         * small size class) moves, so that the memory is given back; copying
         * is cheap there. Shrinking a large block never needs twice its size. */
        ms_ev_realloc(p, p, n);
        return p;
    }
    void *q = msjem_malloc(n);
    if (q == NULL)
        return NULL; /* errno is ENOMEM; p is untouched */
    memcpy(q, p, old_usable < n ? old_usable : n);
    ms_ev_realloc(p, q, n);
    saved = errno;
    msjem_free(p);
    errno = saved;
    return q;
}

MS_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, bytes);
}

/* Common body of the aligned allocators. align must be a power of two.
 * Inlined: the event must see the entry's own return address. */
static inline __attribute__((always_inline)) void *aligned(size_t align, size_t n)
{
    void *p = msjem_aligned_alloc(align, n);
    if (MS_LIKELY(p != NULL))
        p = ms_ev_alloc_ex(p, n, align, false);
    else
        errno = ENOMEM;
    return p;
}

MS_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *p = aligned(align, n);
    errno = saved; /* posix_memalign reports through its result only */
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

MS_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(align, n);
}

MS_EXPORT void *memalign(size_t align, size_t n)
{
    /* glibc: a non-power-of-two alignment is rounded up to the next power. */
    if (align > ((size_t)1 << (sizeof(size_t) * 8 - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align == 0)
        align = 1;
    else if (align & (align - 1))
        align = (size_t)1 << (sizeof(size_t) * 8 - (size_t)__builtin_clzl(align));
    return aligned(align, n);
}

MS_EXPORT void *valloc(size_t n)
{
    return aligned(page_size(), n);
}

MS_EXPORT void *pvalloc(size_t n)
{
    size_t ps = page_size();
    size_t rounded;
    if (__builtin_add_overflow(n, ps - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(ps - 1);
    return aligned(ps, rounded ? rounded : ps);
}

MS_EXPORT size_t malloc_usable_size(void *p)
{
    return p ? msjem_malloc_usable_size(p) : 0;
}

/* ---- process start and exit ---------------------------------------------- */

/* Runs before main (or when the library is loaded): opens the trace even if
 * the program never allocates, and records the module map. Allocations made
 * before this ran (other constructors) were recorded already: the first one
 * initialised everything lazily. errno is left as it was: a program starts
 * with errno 0. */
__attribute__((constructor)) static void memscope_start(void)
{
    int saved = errno;
    ms_process_started();
    ms_tls_t *t = ms_guard_enter();
    t->own++; /* dlopen of libunwind allocates: memscope's, not the program's */
    ms_stacks_learn_runtime();
    t->own--;
    ms_guard_leave(t);
    ms_record_modules();
    ms_helper_start();
    errno = saved;
}

__attribute__((destructor)) static void memscope_stop(void)
{
    ms_process_end(MSF_END_EXIT);
}
