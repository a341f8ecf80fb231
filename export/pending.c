/* The merge's table of waiting events (see pending.h). */
#include "pending.h"

#include <stdlib.h>

msx_pend *msx_pending_get(msx_pending *P, uint64_t addr)
{
    msx_pend *e = msx_pending_find(P, addr);
    if (e)
        return e;
    if (2 * (P->n + 1) > P->cap) {
        uint64_t cap = P->cap ? 2 * P->cap : 64;
        msx_pend *t = calloc(cap, sizeof *t);
        if (!t)
            return NULL;
        for (uint64_t i = 0; i < P->cap; i++) {
            if (!P->e[i].used)
                continue;
            uint64_t j = msx_pending_hash(P->e[i].addr) & (cap - 1);
            while (t[j].used)
                j = (j + 1) & (cap - 1);
            t[j] = P->e[i];
        }
        free(P->e);
        P->e = t;
        P->cap = cap;
    }
    uint64_t i = msx_pending_hash(addr) & (P->cap - 1);
    while (P->e[i].used)
        i = (i + 1) & (P->cap - 1);
    P->e[i] = (msx_pend){ .addr = addr, .used = true };
    P->n++;
    return &P->e[i];
}

void msx_pending_tidy(msx_pending *P, msx_pend *e)
{
    if (e->frees || e->allocs)
        return;
    uint64_t i = (uint64_t)(e - P->e), mask = P->cap - 1;
    P->e[i].used = false;
    P->n--;
    for (uint64_t j = (i + 1) & mask; P->e[j].used; j = (j + 1) & mask) {
        uint64_t home = msx_pending_hash(P->e[j].addr) & mask;
        /* move j back to the hole at i when its home is not in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            P->e[i] = P->e[j];
            P->e[j].used = false;
            i = j;
        }
    }
}

void msx_pending_free(msx_pending *P)
{
    free(P->e);
    *P = (msx_pending){ 0 };
}
