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
#include "entry.h"
#include "helper.h"
#include "jemalloc_private.h"
#include "tracker.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Over a sanitizer's heap (allocator/meson.build) these functions are not the
 * entries but are called by them (sanitizer_backend.c): they sit in the
 * entries' section, so that a stack starts past them (tracking/stacks.c). */
#ifdef MS_CHECKED_ENTRIES
#define MS_ENTRY_SECTION __attribute__((section("memscope_entry")))
#else
#define MS_ENTRY_SECTION
#endif
#define MS_EXPORT __attribute__((visibility("default"))) MS_ENTRY_SECTION

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

/* malloc in a sampling process when the countdown runs out here, or the
 * thread has none yet: kept out of line, so that the sampled case of malloc
 * needs no saved register. ra: malloc's return address. */
__attribute__((noinline)) MS_ENTRY_SECTION static void *malloc_sampling(size_t n, uintptr_t ra)
{
    if (MS_LIKELY(ms_tls.sampling)) {
        bool lost;
        void *q = ms_sample_new(n, ra, &lost); /* decided before any block is made */
        if (q)
            return q;
        q = msjem_malloc(n);
        if (q && lost)
            ms_sample_lost();
        return q;
    }
    void *p = msjem_malloc(n); /* the thread starts: ms_ev_sampling */
    if (MS_UNLIKELY(p == NULL))
        return NULL;
    return (void *)ms_ev_sampling(p, n, ra);
}

/* malloc's bodies: a process that traces every event or none, and (for
 * realloc, and malloc where the entries are C) any process. */
static inline __attribute__((always_inline)) void *malloc_full_body(size_t n)
{
    void *p = msjem_malloc(n);
    if (MS_LIKELY(p != NULL))
        p = ms_ev_alloc(p, n);
    return p;
}

static inline __attribute__((always_inline)) void *malloc_body(size_t n)
{
    if (MS_UNLIKELY(ms_sampling_on)) {
        if (MS_LIKELY(ms_sample_pass(n)))
            return msjem_malloc(n);
        return malloc_sampling(n, (uintptr_t)__builtin_return_address(0));
    }
    return malloc_full_body(n);
}

static inline __attribute__((always_inline)) void free_body(void *p)
{
    ms_entry_free(p);
}

#if MS_ENTRY_DISPATCH
/* On x86-64 over jemalloc, malloc and free are a few instructions of
 * assembly in front of jemalloc, so that sampled mode's common case costs as
 * little as it can here: no saved register, no call, one jump.
 *
 *   malloc  counts the thread's sample countdown down by n (tracker.h,
 *           ms_sample_pass: sample_left - n, unsigned) and, while it stays
 *           above 0, jumps to jemalloc's malloc. Otherwise it jumps to
 *           ms_entries.malloc: the full body (a process that traces every
 *           event, or none: its threads' countdown is 0, so they always come
 *           here) or the sampled body, where the countdown ran out, the thread
 *           has not started, or it samples by rate (countdown 0: sampler.c
 *           counts those).
 *   free    jumps to jemalloc's free unless the block lies below free_end:
 *           the end of the sampled range while sampling, which sampled.c
 *           maps below every other heap mapping, so that one compare tells
 *           (anything else found below goes the slow way too, which tells
 *           exactly); the end of memory otherwise. Those go to ms_free_slow.
 *
 * Every body is reached by a jump, so that its return address is the
 * program's call site, as the stacks need. */
__attribute__((used, noinline)) void *ms_malloc_full(size_t n);
__attribute__((used, noinline)) void *ms_malloc_sampled(size_t n);
__attribute__((used, noinline)) void ms_free_slow(void *p);
void *ms_malloc_full(size_t n) { return malloc_full_body(n); }
void *ms_malloc_sampled(size_t n) { return malloc_body(n); }
void ms_free_slow(void *p) { free_body(p); }

/* What the assembly reads, in a cache line of its own that only the start
 * of sampling writes. */
struct ms_entries {
    void *(*malloc)(size_t);
    uintptr_t free_end;
    char pad[64 - 2 * sizeof(void *)];
};
__attribute__((used, aligned(64))) struct ms_entries ms_entries = { ms_malloc_full, UINTPTR_MAX, { 0 } };
_Static_assert(offsetof(struct ms_entries, free_end) == 8, "the slot the assembly reads");

#define MS_STR_(x) #x
#define MS_STR(x) MS_STR_(x)
#ifdef __CET__
#define MS_ENDBR "    endbr64\n"
#else
#define MS_ENDBR ""
#endif
__asm__(".pushsection .text\n"
        ".globl malloc\n"
        ".type malloc, @function\n"
        ".p2align 4\n"
        "malloc:\n"
        ".cfi_startproc\n"
        MS_ENDBR
        "    movq ms_tls@gottpoff(%rip), %rax\n"
        "    movq %fs:" MS_STR(MS_TLS_SAMPLE_LEFT) "(%rax), %rcx\n"
        "    subq %rdi, %rcx\n"
        "    jbe 1f\n" /* borrow or zero: the countdown does not stay above n */
        "    movq %rcx, %fs:" MS_STR(MS_TLS_SAMPLE_LEFT) "(%rax)\n"
        "    jmp msjem_malloc\n"
        "1:  jmp *ms_entries(%rip)\n"
        ".cfi_endproc\n"
        ".size malloc, .-malloc\n"
        ".globl free\n"
        ".type free, @function\n"
        ".p2align 4\n"
        "free:\n"
        ".cfi_startproc\n"
        MS_ENDBR
        "    cmpq ms_entries+8(%rip), %rdi\n"
        "    jb ms_free_slow\n"
        "    jmp msjem_free\n"
        ".cfi_endproc\n"
        ".size free, .-free\n"
        ".popsection\n");

void ms_sampled_start(bool on)
{
    /* No other thread runs here (alloc_iface.h), and no block of the range
     * is live when sampling starts: the order of the stores does not matter.
     * Off, every free goes to ms_free_slow, which tells the range's blocks
     * (a fork child's, from its sampling parent) from the others. */
    ms_sampling_on = on;
    __atomic_store_n(&ms_entries.free_end, on ? ms_sample_base + ms_sample_size : UINTPTR_MAX, __ATOMIC_RELAXED);
    __atomic_store_n(&ms_entries.malloc, on ? ms_malloc_sampled : ms_malloc_full, __ATOMIC_RELAXED);
}
#else
MS_EXPORT void *malloc(size_t n)
{
    return malloc_body(n);
}

MS_EXPORT void free(void *p)
{
    free_body(p);
}

void ms_sampled_start(bool on)
{
    ms_sampling_on = on; /* what the C entries test */
}
#endif

MS_EXPORT void *calloc(size_t n, size_t size)
{
    size_t bytes;
    if (!__builtin_mul_overflow(n, size, &bytes) && ms_entry_unsampled(bytes))
        return msjem_calloc(n, size);
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
        return malloc_body(n);
    if (n == 0) {
        free_body(p);
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
    bool unsampled = ms_entry_unsampled(n);
    void *p = msjem_aligned_alloc(align, n);
    if (MS_UNLIKELY(p == NULL))
        errno = ENOMEM;
    else if (!unsampled)
        p = ms_ev_alloc_ex(p, n, align, false);
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
    return p ? ms_heap_usable(p) : 0; /* a sampled block: the range's (sampled.c) */
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
