/* What the recorder needs from the allocator, and nothing more.
 *
 * tracking/ declares this interface and allocator/ implements it (arena.c),
 * so that dependencies run one way: the allocator uses tracking, tracking
 * knows only these calls. A build of tracking without the allocator (the
 * writer tests) links arena.c, or its own implementation. Slow path only. */
#ifndef MS_ALLOC_IFACE_H
#define MS_ALLOC_IFACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The allocator's own statistics, bytes (jemalloc's stats.*). */
typedef struct ms_alloc_stats {
    uint64_t allocated, active, resident, retained, mapped;
} ms_alloc_stats_t;

/* Binds the calling thread to an arena of its own: one left by an exited
 * thread if any, else a new one. Returns the arena index or -1 on failure (the
 * thread then keeps the allocator's default choice). */
int ms_arena_bind(void);
/* Hands the arena of an exiting thread back for reuse. Ignores -1. */
void ms_arena_release(int arena);
/* Forgets arenas waiting for reuse (a fork child: they may be bound to threads
 * that did not survive the fork; the parent still owns them). */
void ms_arena_forget(void);
/* Refreshes and reads the allocator's statistics. Returns true on error. */
bool ms_alloc_stats(ms_alloc_stats_t *out);

/* Sampled blocks (MEMSCOPE_MODE=sampled, allocator/sampled.c): served from
 * one reserved address range, [ms_sample_base, ms_sample_base +
 * ms_sample_size), so that free() tells a sampled block by one compare.
 * Both are 0 until ms_sampled_init succeeded, and never change after. */
extern uintptr_t ms_sample_base __attribute__((visibility("hidden")));
extern uintptr_t ms_sample_size __attribute__((visibility("hidden")));
/* Reserves the range and makes its arena. Returns false when sampled mode is
 * not available (no address space, or a sanitizer's heap). */
bool ms_sampled_init(void);
/* The process samples (on) or not, from now on (each time the trace is
 * opened: a fork child reads its options again): the allocator's entries
 * switch to their sampled bodies, or back. Before any of its threads samples,
 * and while no other thread runs (process start, a fork child). */
void ms_sampled_start(bool on);
/* What ms_sampled_start said last. A block of the range may outlive it (a
 * fork child that does not sample frees its parent's): the range check,
 * ms_sample_size != 0, is apart. */
extern bool ms_sampling_on __attribute__((visibility("hidden")));
/* A block of the range (align 0: the default; zero: zero-filled), or NULL. */
void *ms_sampled_alloc(size_t n, size_t align, bool zero);
/* Frees a block of the range. */
void ms_sampled_free(void *p);
/* The calling thread ends: its cache of sampled blocks goes back to the
 * arena. */
void ms_sampled_thread_end(void);
/* The allocator's own malloc, free and usable size of ordinary blocks,
 * untraced (for the sampled slow paths). */
void *ms_heap_malloc(size_t n);
void ms_heap_free(void *p);
size_t ms_heap_usable(void *p);

#endif /* MS_ALLOC_IFACE_H */
