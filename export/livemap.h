/* Open-addressing hash map from block address to block, for the analysis's hot
 * loop.
 *
 * Layout: a power-of-two array of 32-byte slots, linear probing, Fibonacci
 * hashing of the address. A slot is EMPTY, LIVE (a block lives at `addr`) or
 * FREED (the block at `addr` was freed; kept so that a second free of the same
 * address can be told from a free of an unknown one). Slots are never emptied
 * except by a rebuild, so no probe chain is ever broken. A FREED slot is taken
 * over by the next new key whose probe passes it.
 *
 * Invariant: used (LIVE + FREED slots) <= cap * 5 / 8 after every insert.
 * When an insert would break it, the map is rebuilt with the LIVE slots only,
 * at a capacity of at least 4 * live (never less than the current one), so
 * memory follows the largest live set, not the number of events.
 *
 * Keys (msx_keys: task, stack, weight, ...) sit in a side table, keys[i]
 * belonging to slots[i], allocated when the first block with a non-zero key
 * is stored: a trace without tasks or stacks (most version-1 traces) pays
 * nothing for them, and the probe loop touches only the slots. */
#ifndef MSX_LIVEMAP_H
#define MSX_LIVEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { MSX_SLOT_EMPTY = 0, MSX_SLOT_LIVE = 1, MSX_SLOT_FREED = 2 };

#define MSX_IDX_BITS 40      /* merged event index bits in meta */
#define MSX_THREAD_BITS 22   /* thread index bits in meta */

/* The keys of a block besides its thread: what views group blocks by. They
 * are set when the block is born and handed out with every event of it. */
typedef struct msx_keys {
    uint64_t task;   /* task current on its thread when it was born (0: none) */
    uint64_t stack;  /* stack id of ALLOC_EX / REALLOC_EX (0: none) */
    uint64_t weight; /* sample weight (0: exact) */
    uint64_t scope;  /* innermost scope open on its thread when it was born (SCOPE_ENTER id; 0: none) */
    uint64_t var;    /* variable label id of a VAR record (0: none; msx_merge_var) */
} msx_keys;

/* One slot: 32 bytes, two per cache line. meta packs: bits 63..24 the merged
 * index of the event that made the block (for the peak snapshot), bits 23..2
 * the index of the allocating thread, bits 1..0 the state. */
typedef struct msx_slot {
    uint64_t addr;
    uint64_t size;   /* requested bytes */
    uint64_t born;   /* time (ns) of the allocation that started the block */
    uint64_t meta;
} msx_slot;
_Static_assert(sizeof(msx_slot) == 32, "two slots per cache line");

static inline unsigned msx_slot_state(const msx_slot *s) { return (unsigned)(s->meta & 3); }
static inline uint32_t msx_slot_thread(const msx_slot *s) { return (uint32_t)(s->meta >> 2) & ((1u << MSX_THREAD_BITS) - 1); }
static inline uint64_t msx_slot_idx(const msx_slot *s) { return s->meta >> 24; }

/* Packs a meta word for a LIVE slot. */
static inline uint64_t msx_slot_meta(uint64_t idx, uint32_t thread)
{
    return idx << 24 | (uint64_t)thread << 2 | MSX_SLOT_LIVE;
}

typedef struct msx_livemap {
    msx_slot *slots;
    msx_keys *keys;   /* NULL, or cap entries parallel to slots */
    uint64_t cap;     /* power of two */
    unsigned shift;   /* 64 - log2(cap) */
    uint64_t used;    /* LIVE + FREED slots */
    uint64_t live;    /* LIVE slots */
} msx_livemap;

/* Sets up an empty map. Returns 0 or -ENOMEM. */
int msx_livemap_init(msx_livemap *m);
/* Frees the slots. */
void msx_livemap_free(msx_livemap *m);
/* Rebuilds with the LIVE slots only (see the invariant). Returns 0 or -ENOMEM. */
int msx_livemap_rebuild(msx_livemap *m);

/* Home slot index of an address. */
static inline uint64_t msx_livemap_home(const msx_livemap *m, uint64_t addr)
{
    return (addr * UINT64_C(0x9E3779B97F4A7C15)) >> m->shift;
}

/* The slot whose key is addr (LIVE or FREED), or NULL. */
static inline msx_slot *msx_livemap_find(const msx_livemap *m, uint64_t addr)
{
    uint64_t mask = m->cap - 1;
    for (uint64_t i = msx_livemap_home(m, addr);; i = (i + 1) & mask) {
        msx_slot *s = &m->slots[i];
        if ((s->meta & 3) == MSX_SLOT_EMPTY)
            return NULL;
        if (s->addr == addr)
            return s;
    }
}

/* The slot for addr: its own slot if it has one (LIVE or FREED), else a slot
 * taken for it (EMPTY or a FREED one of another key, now keyed addr and
 * marked FREED, so the caller sees state != LIVE and fills it in). Returns
 * NULL only if a needed rebuild failed for lack of memory. The pointer is
 * valid until the next call that inserts. */
static inline msx_slot *msx_livemap_slot(msx_livemap *m, uint64_t addr)
{
    if ((m->used + 1) * 8 > m->cap * 5 && msx_livemap_rebuild(m) < 0)
        return NULL;
    uint64_t mask = m->cap - 1;
    msx_slot *reuse = NULL;
    for (uint64_t i = msx_livemap_home(m, addr);; i = (i + 1) & mask) {
        msx_slot *s = &m->slots[i];
        unsigned st = (unsigned)(s->meta & 3);
        if (st == MSX_SLOT_EMPTY) {
            if (!reuse) {
                reuse = s;
                m->used++;
            }
            break;
        }
        if (s->addr == addr)
            return s;
        if (st == MSX_SLOT_FREED && !reuse)
            reuse = s;
    }
    reuse->addr = addr;
    reuse->meta = MSX_SLOT_FREED;
    return reuse;
}

/* Marks a LIVE slot as a block now living (count it) / freed (uncount it). */
static inline void msx_livemap_set_live(msx_livemap *m, msx_slot *s, uint64_t size, uint64_t born, uint64_t meta)
{
    s->size = size;
    s->born = born;
    s->meta = meta;
    m->live++;
}

static inline void msx_livemap_set_freed(msx_livemap *m, msx_slot *s)
{
    s->meta = (s->meta & ~(uint64_t)3) | MSX_SLOT_FREED;
    m->live--;
}

/* The keys of the block in slot s (all zero if none was ever stored). */
static inline msx_keys msx_livemap_keys(const msx_livemap *m, const msx_slot *s)
{
    if (!m->keys)
        return (msx_keys){ 0 };
    return m->keys[s - m->slots];
}

/* Allocates the key table (all zero). Returns 0 or -ENOMEM. */
int msx_livemap_alloc_keys(msx_livemap *m);

/* Stores the keys of the block in slot s. Returns 0, or -1 if the key
 * table was needed and could not be allocated. */
static inline int msx_livemap_set_keys(msx_livemap *m, msx_slot *s, const msx_keys *k)
{
    if (!m->keys) {
        if (!(k->task | k->stack | k->weight | k->scope | k->var))
            return 0;
        if (msx_livemap_alloc_keys(m) < 0)
            return -1;
    }
    m->keys[s - m->slots] = *k;
    return 0;
}

#endif /* MSX_LIVEMAP_H */
