/* Per-thread jemalloc arenas and allocator statistics. Slow path only. */
#ifndef MS_ARENA_H
#define MS_ARENA_H

#include <stdint.h>

typedef struct ms_jem_stats {
    uint64_t allocated, active, resident, retained; /* bytes, jemalloc stats.* */
} ms_jem_stats_t;

/* arena.c */
/* Binds the calling thread to an arena of its own: one left by an exited
 * thread if any, else a new one. Returns the arena index or -1 on failure (the
 * thread then keeps jemalloc's default choice). */
int ms_arena_bind(void);
/* Hands the arena of an exiting thread back for reuse. Ignores -1. */
void ms_arena_release(int arena);
/* Forgets arenas waiting for reuse (a fork child: they may be bound to threads
 * that did not survive the fork; the parent still owns them). */
void ms_arena_forget(void);
/* Refreshes and reads jemalloc's statistics. Returns true on error. */
_Bool ms_jem_stats(ms_jem_stats_t *out);

#endif /* MS_ARENA_H */
