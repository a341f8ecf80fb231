/* Call stacks: capture and the per-thread table (see stacks.h). */
#include "stacks.h"

#include "options.h"
#include "prim.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

uint32_t ms_stack_depth;
static unsigned unwind_how;            /* ms_unwind_t */
/* libunwind's unw_backtrace, once dlopen'ed (NULL before, or without it) */
typedef int (*backtrace_fn)(void **, int);
static _Atomic(backtrace_fn) unw_bt;
static uintptr_t libc_lo, libc_hi;     /* the C library's executable segment */

/* The table: open addressing over SLOTS slots, the frames of each stack in
 * one array after them. Sized so that a thread's table is a few hundred KiB
 * of address space, touched only as far as it is used. */
#define SLOTS 8192u
#define FRAMES (SLOTS * 8u)

typedef struct slot {
    uint64_t hash;
    uint64_t id;        /* 0: empty */
    uint32_t off, n;    /* its frames: pcs[off .. off + n) */
} slot_t;

struct ms_stk {
    uintptr_t hi;       /* the top of the thread's stack: frame pointers point below */
    uint64_t next_id;   /* ids given so far */
    uint64_t last_id;   /* the stack found last (0: none): a loop allocates from */
    uint32_t last_n;    /* one stack again and again, found by one compare */
    uintptr_t last_pc[MS_STACK_MAX];
    uint32_t used;      /* slots in use */
    uint32_t pcs_used;  /* frames in use */
    slot_t slots[SLOTS];
    uintptr_t pcs[FRAMES];
};

/* ---- configuration ------------------------------------------------------ */

/* Entries that call the recording code rather than inline it (the malloc
 * family over a sanitizer's heap, allocator/sanitizer_backend.c) sit in the
 * section memscope_entry: the leading frames in it are memscope's, dropped.
 * In other builds the section does not exist and both bounds are NULL. */
extern const char __start_memscope_entry[] __attribute__((weak, visibility("hidden")));
extern const char __stop_memscope_entry[] __attribute__((weak, visibility("hidden")));

/* Frames a walk collects: the depth, and the entries' frames it drops (the
 * entry, and alloc.c's function it calls, with its sampling helper). */
static uint32_t walk_max;

void ms_stacks_configure(void)
{
    uint64_t d = ms_option_u64(MS_OPT_STACK_DEPTH);
    ms_stack_depth = (uint32_t)(d > MS_STACK_MAX ? MS_STACK_MAX : d);
    walk_max = ms_stack_depth;
    if ((uintptr_t)__start_memscope_entry != (uintptr_t)__stop_memscope_entry && walk_max)
        walk_max += MS_STACK_ENTRY_FRAMES;
    unwind_how = (unsigned)ms_option_u64(MS_OPT_UNWIND);
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* Loads libunwind (RTLD_LOCAL: its backtrace and _Unwind_* do not interpose
 * the program's) and gives it a cache per thread. */
static void load_libunwind(void)
{
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        ms_prim_stderr("memscope: libunwind.so.8 not found: stacks follow frame pointers only\n");
        return;
    }
    /* the header's macros name the local-only symbols (_ULx86_64_...) */
    int (*set_policy)(unw_addr_space_t, unw_caching_policy_t) =
        (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(h, STR(unw_set_caching_policy));
    unw_addr_space_t *as = (unw_addr_space_t *)dlsym(h, STR(unw_local_addr_space));
    backtrace_fn bt = (backtrace_fn)dlsym(h, "unw_backtrace");
    if (set_policy == NULL || as == NULL || bt == NULL) {
        ms_prim_stderr("memscope: libunwind.so.8 lacks unw_backtrace: stacks follow frame pointers only\n");
        return;
    }
    set_policy(*as, UNW_CACHE_PER_THREAD);
    atomic_store_explicit(&unw_bt, bt, memory_order_release);
}

static int libc_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t pc = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (pc >= lo && pc < hi) {
            libc_lo = lo;
            libc_hi = hi;
            return 1;
        }
    }
    return 0;
}

void ms_stacks_learn_runtime(void)
{
    if (ms_stack_depth == 0 || unwind_how == MS_UNWIND_FP)
        return;
    if (atomic_load_explicit(&unw_bt, memory_order_acquire) == NULL)
        load_libunwind();
    if (unwind_how != MS_UNWIND_AUTO)
        return;
    /* __libc_start_main's module: where the main thread's chain ends; a
     * thread's ends in start_thread, in the same module. Found by a function
     * that only the C library defines: a sanitizer's runtime defines
     * pthread_create too, and so does memscope's TSan build. */
    dl_iterate_phdr(libc_cb, (void *)(uintptr_t)&gnu_get_libc_version);
}

/* ---- capture ------------------------------------------------------------ */

/* The largest distance from a frame to its stack's top that a walk follows:
 * a stack pointer farther below the thread's top is on another stack (a
 * signal's alternate stack), whose frames are not followed. */
#define STACK_WINDOW ((uintptr_t)256 << 20)

/* The main thread's stack top: the stack pointer at the program's entry
 * (the dynamic loader's). */
extern void *__libc_stack_end;

/* The thread's table, mapped on first use; NULL if it cannot be.
 *
 * The top of the thread's stack bounds the frame pointers a walk follows
 * (everything between the current frame and it is mapped). It is found
 * without pthread_getattr_np, which holds the thread's lock while it calls
 * realloc: from inside that realloc, asking again would deadlock. glibc puts
 * a thread's descriptor (pthread_self) at the top of its stack, its own or
 * one the program gave; the main thread's top is __libc_stack_end. */
static ms_stk_t *table(ms_stk_t **stk)
{
    if (__builtin_expect(*stk != NULL, 1))
        return *stk;
    ms_stk_t *s = ms_prim_map_anon(sizeof *s);
    if (s == NULL)
        return NULL;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    bool main_thread = ms_prim_gettid() == (uint64_t)getpid();
    s->hi = main_thread ? (uintptr_t)__libc_stack_end : (uintptr_t)pthread_self();
    if (s->hi <= here || s->hi - here > STACK_WINDOW)
        s->hi = here; /* not a stack we know: frame pointers are not followed */
    *stk = s;
    return s;
}

/* Follows the frame-pointer chain from fp. Returns false if it broke on a
 * frame that cannot be trusted (not at a zero frame pointer, and not right
 * after a frame of the C library, where a chain ends). */
static bool walk_fp(const ms_stk_t *t, uintptr_t fp, ms_stack_t *s, uint32_t max)
{
    uintptr_t lo = (uintptr_t)__builtin_frame_address(0), hi = t->hi;
    if (lo >= hi || hi - lo > STACK_WINDOW)
        return false; /* not on the thread's stack (a signal's alternate stack) */
    while (s->n < max) {
        if (fp == 0)
            return true;
        if (fp < lo || fp > hi - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)))
            break;
        const uintptr_t *f = (const uintptr_t *)fp;
        uintptr_t next = f[0], ret = f[1];
        if (ret < 4096)
            return true;
        s->pc[s->n++] = ret;
        if (ret >= libc_lo && ret < libc_hi)
            return true; /* __libc_start_call_main, start_thread: the chain ends here */
        if (next <= fp)
            return next == 0;
        lo = fp + 2 * sizeof(uintptr_t);
        fp = next;
    }
    if (s->n >= max)
        return true;
    return s->n > 0 && s->pc[s->n - 1] >= libc_lo && s->pc[s->n - 1] < libc_hi;
}

/* libunwind's walk, from this function up: the frames up to ra are
 * memscope's, dropped. Returns false if ra was not found. */
static bool walk_libunwind(uintptr_t ra, ms_stack_t *s, uint32_t max)
{
    backtrace_fn bt = atomic_load_explicit(&unw_bt, memory_order_acquire);
    if (bt == NULL)
        return false; /* before the library's constructor, or no libunwind */
    void *buf[MS_STACK_MAX + 16];
    int n = bt(buf, (int)(max + 16 < MS_STACK_MAX + 16 ? max + 16 : MS_STACK_MAX + 16));
    int i = 0;
    while (i < n && (uintptr_t)buf[i] != ra)
        i++;
    if (i >= n)
        return false;
    s->n = 0;
    for (; i < n && s->n < max; i++)
        s->pc[s->n++] = (uintptr_t)buf[i];
    return true;
}

static void drop_entries(ms_stack_t *s)
{
    uintptr_t lo = (uintptr_t)__start_memscope_entry, hi = (uintptr_t)__stop_memscope_entry;
    if (__builtin_expect(lo == hi, 1))
        return;
    uint32_t k = 0;
    while (k + 1 < s->n && s->pc[k] >= lo && s->pc[k] < hi)
        k++;
    if (k) {
        memmove(s->pc, s->pc + k, (s->n - k) * sizeof s->pc[0]);
        s->n -= k;
    }
    if (s->n > ms_stack_depth)
        s->n = ms_stack_depth;
}

static uint64_t hash_pcs(const uintptr_t *pc, uint32_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (uint32_t i = 0; i < n; i++) {
        h ^= (uint64_t)pc[i];
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    return h ? h : 1;
}

static slot_t *probe(ms_stk_t *t, const ms_stack_t *s)
{
    for (uint32_t i = (uint32_t)s->hash & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
        slot_t *sl = &t->slots[i];
        if (sl->id == 0)
            return sl;
        if (sl->hash == s->hash && sl->n == s->n) {
            const uintptr_t *pc = &t->pcs[sl->off];
            uint32_t k = 0;
            while (k < s->n && pc[k] == s->pc[k])
                k++;
            if (k == s->n)
                return sl;
        }
    }
}

/* Remembers s (of id) as the thread's last stack. */
static void remember(ms_stk_t *t, const ms_stack_t *s, uint64_t id)
{
    t->last_id = id;
    t->last_n = s->n;
    memcpy(t->last_pc, s->pc, s->n * sizeof s->pc[0]);
}

uint64_t ms_stack_quick(ms_stk_t *t, uintptr_t ra, uintptr_t fp, ms_stack_t *s)
{
    s->n = 1;
    s->pc[0] = ra;
    if (unwind_how == MS_UNWIND_LIBUNWIND)
        return 0;
    if (walk_max > 1 && !walk_fp(t, fp, s, walk_max) && unwind_how != MS_UNWIND_FP)
        return 0; /* libunwind's turn */
    drop_entries(s);
    if (t->last_id && s->n == t->last_n) {
        uint32_t k = 0;
        while (k < s->n && s->pc[k] == t->last_pc[k])
            k++;
        if (k == s->n)
            return t->last_id;
    }
    s->hash = hash_pcs(s->pc, s->n);
    uint64_t id = probe(t, s)->id;
    if (id)
        remember(t, s, id);
    return id;
}

void ms_stack_capture(ms_stk_t **stk, uintptr_t ra, uintptr_t fp, ms_stack_t *s)
{
    uint32_t max = walk_max;
    s->n = 0;
    s->pc[s->n++] = ra;
    bool done = false;
    if (unwind_how != MS_UNWIND_LIBUNWIND && max > 1) {
        ms_stk_t *t = table(stk);
        if (t != NULL)
            done = walk_fp(t, fp, s, max) || unwind_how == MS_UNWIND_FP;
    }
    if (!done && unwind_how != MS_UNWIND_FP && max > 1) {
        ms_stack_t u;
        u.n = 0;
        if (walk_libunwind(ra, &u, max))
            memcpy(s->pc, u.pc, (s->n = u.n) * sizeof u.pc[0]);
    }
    drop_entries(s);
    s->hash = hash_pcs(s->pc, s->n);
}

/* ---- the table ---------------------------------------------------------- */

uint64_t ms_stack_find(ms_stk_t **stk, const ms_stack_t *s)
{
    ms_stk_t *t = table(stk);
    return t ? probe(t, s)->id : 0;
}



uint64_t ms_stack_next_id(ms_stk_t **stk)
{
    ms_stk_t *t = table(stk);
    return t ? t->next_id + 1 : 0;
}

uint64_t ms_stack_add(ms_stk_t **stk, const ms_stack_t *s)
{
    ms_stk_t *t = table(stk);
    if (t == NULL)
        return 0;
    if (t->used >= SLOTS / 4 * 3 || t->pcs_used + s->n > FRAMES) {
        /* full: start over; stacks seen again are defined again */
        memset(t->slots, 0, sizeof t->slots);
        t->used = t->pcs_used = 0;
        t->last_id = 0;
    }
    slot_t *sl = probe(t, s);
    sl->hash = s->hash;
    sl->id = ++t->next_id;
    sl->off = t->pcs_used;
    sl->n = s->n;
    memcpy(&t->pcs[t->pcs_used], s->pc, s->n * sizeof s->pc[0]);
    t->pcs_used += s->n;
    t->used++;
    remember(t, s, sl->id);
    return sl->id;
}

void ms_stack_release(ms_stk_t **stk)
{
    if (*stk != NULL)
        ms_prim_unmap(*stk, sizeof **stk);
    *stk = NULL;
}
