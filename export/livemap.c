/* Allocation and rebuilding of the live-block map (see livemap.h). */
#include "livemap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { MIN_CAP = 1024 };

/* Allocates zeroed slots (all EMPTY) for a capacity of cap, aligned to a
 * cache line so that a slot never straddles two. The key table is the
 * caller's. */
static int alloc_slots(msx_livemap *m, uint64_t cap)
{
    msx_slot *s = aligned_alloc(64, cap * sizeof *s);
    if (!s)
        return -ENOMEM;
    memset(s, 0, cap * sizeof *s);
    m->slots = s;
    m->cap = cap;
    m->shift = 64u - (unsigned)__builtin_ctzll(cap);
    m->used = 0;
    m->live = 0;
    return 0;
}

int msx_livemap_init(msx_livemap *m)
{
    m->keys = NULL;
    return alloc_slots(m, MIN_CAP);
}

void msx_livemap_free(msx_livemap *m)
{
    free(m->slots);
    free(m->keys);
    m->slots = NULL;
    m->keys = NULL;
    m->cap = 0;
}

int msx_livemap_alloc_keys(msx_livemap *m)
{
    m->keys = calloc(m->cap, sizeof *m->keys);
    return m->keys ? 0 : -ENOMEM;
}

int msx_livemap_rebuild(msx_livemap *m)
{
    uint64_t cap = m->cap;
    while (cap < m->live * 4)
        cap *= 2;
    msx_livemap old = *m;
    m->keys = NULL;
    if (alloc_slots(m, cap) < 0 || (old.keys && msx_livemap_alloc_keys(m) < 0)) {
        if (m->slots != old.slots)
            free(m->slots);
        *m = old;
        return -ENOMEM;
    }
    uint64_t mask = cap - 1;
    for (uint64_t i = 0; i < old.cap; i++) {
        const msx_slot *s = &old.slots[i];
        if ((s->meta & 3) != MSX_SLOT_LIVE)
            continue;
        uint64_t j = msx_livemap_home(m, s->addr);
        while ((m->slots[j].meta & 3) != MSX_SLOT_EMPTY)
            j = (j + 1) & mask;
        m->slots[j] = *s;
        if (old.keys)
            m->keys[j] = old.keys[i];
        m->used++;
        m->live++;
    }
    free(old.slots);
    free(old.keys);
    return 0;
}
