/* Per-thread arenas and statistics: the allocator side of
 * tracking/alloc_iface.h.
 *
 * Arenas of exited threads wait in a small lock-free pool: each slot holds an
 * arena index + 1, or 0 when empty. Taking and giving back are CAS loops over
 * the slots; a full pool simply leaks the arena to jemalloc's keeping (it stays
 * usable, it is just not handed to a new thread). */
#include "alloc_iface.h"

#include "jemalloc_private.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define ARENA_POOL 256

static _Atomic unsigned arena_pool[ARENA_POOL];

/* Takes an arena from the pool. Returns -1 when the pool is empty. */
static int pool_take(void)
{
    for (int i = 0; i < ARENA_POOL; i++) {
        unsigned v = atomic_load_explicit(&arena_pool[i], memory_order_relaxed);
        if (v && atomic_compare_exchange_strong_explicit(&arena_pool[i], &v, 0,
                                                         memory_order_acquire,
                                                         memory_order_relaxed))
            return (int)v - 1;
    }
    return -1;
}

int ms_arena_bind(void)
{
    int arena = pool_take();
    if (arena < 0) {
        unsigned created;
        size_t len = sizeof created;
        if (msjem_mallctl("arenas.create", &created, &len, NULL, 0) != 0)
            return -1;
        arena = (int)created;
    }
    unsigned a = (unsigned)arena;
    if (msjem_mallctl("thread.arena", NULL, NULL, &a, sizeof a) != 0) {
        ms_arena_release(arena);
        return -1;
    }
    return arena;
}

void ms_arena_release(int arena)
{
    if (arena < 0)
        return;
    for (int i = 0; i < ARENA_POOL; i++) {
        unsigned empty = 0;
        if (atomic_compare_exchange_strong_explicit(&arena_pool[i], &empty,
                                                    (unsigned)arena + 1,
                                                    memory_order_release,
                                                    memory_order_relaxed))
            return;
    }
}

void ms_arena_forget(void)
{
    for (int i = 0; i < ARENA_POOL; i++)
        atomic_store_explicit(&arena_pool[i], 0, memory_order_relaxed);
}

bool ms_alloc_stats(ms_alloc_stats_t *out)
{
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    if (msjem_mallctl("epoch", &epoch, &len, &epoch, len) != 0)
        return true;
    static const char *const names[5] = { "stats.allocated", "stats.active", "stats.resident",
                                          "stats.retained", "stats.mapped" };
    uint64_t *dst[5] = { &out->allocated, &out->active, &out->resident, &out->retained,
                         &out->mapped };
    for (int i = 0; i < 5; i++) {
        size_t v;
        len = sizeof v;
        if (msjem_mallctl(names[i], &v, &len, NULL, 0) != 0)
            return true;
        *dst[i] = v;
    }
    return false;
}
