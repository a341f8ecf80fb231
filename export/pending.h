/* The merge's table of events that wait for their partner (merge.h,
 * FORMAT.md "Merging threads"): frees that met no live block wait for the
 * allocation they belong to, allocations that met a live block wait for its
 * free. Only ties of TIME between threads put anything here.
 *
 * Layout: open addressing by address, linear probing, a power-of-two array
 * at most half full; entries are removed by backward shifting, so no probe
 * chain is ever broken. */
#ifndef MSX_PENDING_H
#define MSX_PENDING_H

#include <stdbool.h>
#include <stdint.h>

#include "livemap.h"

/* The events waiting at one address. */
typedef struct msx_pend {
    uint64_t addr;             /* any value, 0 included (a corrupt trace may free 0) */
    bool used;                 /* false: empty entry */
    uint32_t frees;            /* departures (FREE, REALLOC's old side) waiting */
    uint32_t allocs;           /* allocations waiting for the live block to go */
    uint32_t free_thread;      /* thread index of the newest waiting departure */
    uint32_t alloc_thread;     /* thread index of the newest waiting allocation */
    uint8_t free_kind;         /* anomaly kind of that departure if never paired */
    uint64_t free_time, free_event; /* its time and its thread's event number */
    uint64_t size, born;       /* of the newest waiting allocation ... */
    uint64_t alloc_event;      /* ... its thread's event number ... */
    msx_keys keys;             /* ... and its keys */
} msx_pend;

typedef struct msx_pending {
    msx_pend *e;               /* cap entries */
    uint64_t cap;              /* power of two, or 0 before the first entry */
    uint64_t n;                /* used entries; n * 2 <= cap */
} msx_pending;

/* Home index of an address. */
static inline uint64_t msx_pending_hash(uint64_t a)
{
    return (a * 0x9e3779b97f4a7c15ull) >> 17;
}

/* The entry of addr, or NULL. */
static inline msx_pend *msx_pending_find(const msx_pending *P, uint64_t addr)
{
    if (!P->n)
        return NULL;
    for (uint64_t i = msx_pending_hash(addr) & (P->cap - 1);; i = (i + 1) & (P->cap - 1)) {
        if (!P->e[i].used)
            return NULL;
        if (P->e[i].addr == addr)
            return &P->e[i];
    }
}

/* The entry of addr, made empty if new; NULL when out of memory. Pointers to
 * entries are valid until the next call of msx_pending_get or _tidy. */
msx_pend *msx_pending_get(msx_pending *P, uint64_t addr);
/* Drops e if nothing waits in it any more. */
void msx_pending_tidy(msx_pending *P, msx_pend *e);
/* Frees the table. */
void msx_pending_free(msx_pending *P);

#endif /* MSX_PENDING_H */
