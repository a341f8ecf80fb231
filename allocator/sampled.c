/* Sampled blocks (MEMSCOPE_MODE=sampled): the allocator side of
 * tracking/alloc_iface.h.
 *
 * A sampled block lives in one reserved range of address space, served by
 * jemalloc arenas of their own whose extent hooks hand out that range, so that
 * free() recognises a sampled block with one compare and an unsampled free
 * costs nothing more. Sampled blocks bypass the ordinary thread caches both
 * ways: a cached address of the range must never come back from an ordinary
 * malloc. Each thread has an explicit tcache of its own for them instead.
 *
 * The range is reserved once (MAP_NORESERVE: untouched pages cost nothing)
 * and never handed back; jemalloc keeps and reuses the extents it frees
 * (the dalloc hook refuses), and purges their pages with MADV_DONTNEED. */
#include "alloc_iface.h"

#include "jemalloc_private.h"

#include <jemalloc/jemalloc.h> /* extent_hooks_t, MALLOCX_* (the library's own header) */
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

uintptr_t ms_sample_base, ms_sample_size;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* Over a sanitizer's heap (sanitizer_backend.c) the msjem_* functions are the
 * sanitizer's, which has no arenas to give. The sampled blocks then come from
 * a second jemalloc copy, renamed msrange_* (allocator/meson.build), which
 * serves nothing but the range's arenas; the ordinary blocks stay the
 * sanitizer's, checked. */
#define RJ(f) msrange_##f
int msrange_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
void *msrange_mallocx(size_t size, int flags);
void msrange_dallocx(void *p, int flags);
size_t msrange_malloc_usable_size(const void *p);
#else
#define RJ(f) msjem_##f
#endif

#ifdef __SANITIZE_THREAD__
/* jemalloc is not built with TSan, so TSan may see no order between a
 * thread's free of a sampled block and another thread's allocation of its
 * memory. The free releases the block's address, and an allocation there
 * acquires it: the previous user of a block comes before the next one, and
 * nothing else is ordered (a sync object of the whole range would order
 * every free before every later allocation, and hide the program's races). */
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define RANGE_ACQUIRE(p) __tsan_acquire(p)
#define RANGE_RELEASE(p) __tsan_release(p)
#else
#define RANGE_ACQUIRE(p) ((void)0)
#define RANGE_RELEASE(p) ((void)0)
#endif


static _Atomic uintptr_t bump; /* next free address of the range */
/* The range's arenas, as jemalloc spreads threads over its own: threads take
 * them in turn (made on first use), so that threads sampling at once do not
 * wait on one arena's locks. Each holds its index + 1, 0 until made. */
#define SAMPLE_ARENAS 64
static _Atomic unsigned sample_arenas[SAMPLE_ARENAS];
static unsigned sample_narenas;   /* in use: as many as jemalloc's, at most SAMPLE_ARENAS */
static _Atomic unsigned sample_next; /* the slot the next thread takes */
static _Thread_local unsigned sample_slot __attribute__((tls_model("initial-exec"))); /* + 1 */
/* The thread's explicit tcache for sampled blocks (jemalloc's tcache.create),
 * + 1; 0 until its first sampled block, and after ms_sampled_thread_end. Only
 * sampled allocations and frees use it, so that the blocks it caches are all
 * of the range and never come back from an ordinary malloc. */
static _Thread_local unsigned sample_tcache __attribute__((tls_model("initial-exec")));

/* MALLOCX_TCACHE of the thread's cache, making it on first use; without
 * one, MALLOCX_TCACHE_NONE. */
static int tcache_flag(bool make)
{
    if (sample_tcache == 0 && make) {
        unsigned tc;
        size_t len = sizeof tc;
        if (RJ(mallctl)("tcache.create", &tc, &len, NULL, 0) == 0)
            sample_tcache = tc + 1;
    }
    return sample_tcache ? MALLOCX_TCACHE(sample_tcache - 1) : MALLOCX_TCACHE_NONE;
}

void ms_sampled_thread_end(void)
{
    if (sample_tcache == 0)
        return;
    unsigned tc = sample_tcache - 1;
    sample_tcache = 0;
    (void)RJ(mallctl)("tcache.destroy", NULL, NULL, &tc, sizeof tc);
}

static void *ext_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t align, bool *zero,
                       bool *commit, unsigned ind)
{
    (void)h, (void)ind;
    if (new_addr != NULL)
        return NULL; /* growing in place: only where the range is ours to give */
    if (align < 4096)
        align = 4096;
    uintptr_t cur = atomic_load_explicit(&bump, memory_order_relaxed), start;
    do {
        start = (cur + align - 1) & ~(uintptr_t)(align - 1);
        if (start < cur || start - ms_sample_base > ms_sample_size ||
            size > ms_sample_size - (start - ms_sample_base))
            return NULL; /* the range is used up */
    } while (!atomic_compare_exchange_weak_explicit(&bump, &cur, start + size, memory_order_relaxed,
                                                    memory_order_relaxed));
    *zero = true;   /* fresh pages of an anonymous mapping */
    *commit = true; /* always committed */
    return (void *)start;
}

static bool ext_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
    (void)h, (void)addr, (void)size, (void)committed, (void)ind;
    return true; /* refused: jemalloc keeps the extent and reuses it */
}

static void ext_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
    (void)h, (void)committed, (void)ind;
    (void)madvise(addr, size, MADV_DONTNEED);
}

static bool ext_commit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
    (void)h, (void)addr, (void)size, (void)off, (void)len, (void)ind;
    return false; /* committed already */
}

static bool ext_purge(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len, unsigned ind)
{
    (void)h, (void)size, (void)ind;
    return madvise((char *)addr + off, len, MADV_DONTNEED) != 0;
}

static bool ext_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b, bool committed,
                      unsigned ind)
{
    (void)h, (void)addr, (void)size, (void)a, (void)b, (void)committed, (void)ind;
    return false; /* one mapping: any split is fine */
}

static bool ext_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool committed,
                      unsigned ind)
{
    (void)h, (void)a, (void)sa, (void)b, (void)sb, (void)committed, (void)ind;
    return false;
}

static extent_hooks_t hooks = {
    .alloc = ext_alloc,
    .dalloc = ext_dalloc,
    .destroy = ext_destroy,
    .commit = ext_commit,
    .decommit = NULL,     /* never decommitted: purged instead */
    .purge_lazy = NULL,
    .purge_forced = ext_purge,
    .split = ext_split,
    .merge = ext_merge,
};

static int arena_of_slot(unsigned slot);

/* Where the range is asked for (a hint: the kernel places it elsewhere when
 * that is taken). Over jemalloc, low in the address space, below every
 * mapping jemalloc makes (they come top-down from near the stack, or
 * bottom-up from a third of it), so that free() tells a sampled block by one
 * compare against the range's end (alloc.c); a range placed elsewhere stays
 * correct, as free's slow path tells exactly. Over a sanitizer's heap, whose
 * runtime owns fixed parts of the address space, and where free tells by
 * two compares anyway, wherever the kernel likes. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__LP64__)
#define RANGE_HINT NULL
#else
#define RANGE_HINT ((void *)((uintptr_t)64 << 30))
#endif

bool ms_sampled_init(void)
{
    if (ms_sample_size != 0)
        return true;
    /* 64 GiB of address space, less where the system refuses that much */
    void *p = MAP_FAILED;
    size_t size = (size_t)64 << 30;
    for (; size >= ((size_t)1 << 30); size /= 2) {
        p = mmap(RANGE_HINT, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED)
            break;
    }
    if (p == MAP_FAILED)
        return false;
    atomic_store_explicit(&bump, (uintptr_t)p, memory_order_relaxed);
    ms_sample_base = (uintptr_t)p;
    ms_sample_size = size;
    unsigned narenas = 0; /* jemalloc's own count: 4 per processor */
    size_t nlen = sizeof narenas;
    if (RJ(mallctl)("opt.narenas", &narenas, &nlen, NULL, 0) != 0 || narenas == 0)
        narenas = 1;
    sample_narenas = narenas < SAMPLE_ARENAS ? narenas : SAMPLE_ARENAS;
    if (arena_of_slot(0) < 0) {
        munmap(p, size);
        ms_sample_base = ms_sample_size = 0;
        return false;
    }
    return true;
}

/* The arena of a slot, made if it is not yet (two threads may both make
 * one: the second stays unused). -1 if jemalloc cannot make it. */
static int arena_of_slot(unsigned slot)
{
    unsigned v = atomic_load_explicit(&sample_arenas[slot], memory_order_acquire);
    if (v == 0) {
        unsigned ind;
        size_t len = sizeof ind;
        extent_hooks_t *hp = &hooks;
        if (RJ(mallctl)("arenas.create", &ind, &len, &hp, sizeof hp) != 0)
            return -1;
        unsigned expect = 0;
        v = ind + 1;
        if (!atomic_compare_exchange_strong_explicit(&sample_arenas[slot], &expect, v, memory_order_acq_rel,
                                                     memory_order_acquire))
            v = expect;
    }
    return (int)v - 1;
}

/* MALLOCX_ARENA of the calling thread's arena; its slot is taken on first use. */
static int arena_flag(void)
{
    if (sample_slot == 0)
        sample_slot = atomic_fetch_add_explicit(&sample_next, 1, memory_order_relaxed) % sample_narenas + 1;
    int a = arena_of_slot(sample_slot - 1);
    if (a < 0)
        a = arena_of_slot(0); /* made at start */
    return MALLOCX_ARENA((unsigned)a);
}

void *ms_sampled_alloc(size_t n, size_t align, bool zero)
{
    int flags = arena_flag() | tcache_flag(true);
    if (align > 16)
        flags |= MS_MALLOCX_ALIGN(align);
    if (zero)
        flags |= MALLOCX_ZERO;
    void *p = RJ(mallocx)(n ? n : 1, flags);
    if (p != NULL && (uintptr_t)p - ms_sample_base >= ms_sample_size) {
        RJ(dallocx)(p, MALLOCX_TCACHE_NONE); /* not from the range: cannot be told apart */
        return NULL;
    }
    if (p != NULL)
        RANGE_ACQUIRE(p);
    return p;
}

void ms_sampled_free(void *p)
{
    RANGE_RELEASE(p);
    RJ(dallocx)(p, tcache_flag(false));
}

/* alloc.c's, where the malloc family is memscope's; a build of the recorder
 * without it (the writer tests) has no entries to switch. */
bool ms_sampling_on;

__attribute__((weak)) void ms_sampled_start(bool on)
{
    ms_sampling_on = on;
}

void ms_heap_free(void *p)
{
    msjem_free(p);
}

void *ms_heap_malloc(size_t n)
{
    return msjem_malloc(n);
}

size_t ms_heap_usable(void *p)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    if ((uintptr_t)p - ms_sample_base < ms_sample_size)
        return RJ(malloc_usable_size)(p); /* a sampled block: the other copy's */
#endif
    return msjem_malloc_usable_size(p);
}
