/* View: per-site figures (see views.h, msx_view_sites). One site per global
 * stack (view_stacks.c); s[0] gathers the events without a stack. Memory
 * follows the number of sites, never the number of events.
 *
 *   allocations, bytes_allocated   op events (ALLOC sizes plus REALLOC new
 *                                  sizes, as the threads count them)
 *   live, peak_live                the site's own blocks, as they come and go
 *   peak_bytes                     its blocks live at the process peak, found
 *                                  as view_peak.c finds its snapshot: a block
 *                                  made at or before the peak's event and
 *                                  ended after it (or never) was live then
 *   leaked                         its blocks live at the end (SURVIVED)
 *   temporary                      view_sizes.c's verdict on each FREED
 *
 * In a sampled trace every figure is also an estimate (estimate.h) whose
 * interval the report carries. The finish (symbolizing, classifying,
 * listing) is in sites.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "views.h"

int msx_view_sites_init(msx_view_sites *v, msx_report *r)
{
    memset(v, 0, sizeof *v);
    v->r = r;
    v->how = (msx_sampling)r->sampling;
    return msx_view_sites_grow(v);
}

int msx_view_sites_grow(msx_view_sites *v)
{
    uint32_t need = v->stacks ? v->stacks->n + 1 : 1;
    if (need <= v->cap)
        return 0;
    uint32_t cap = v->cap ? v->cap : 64;
    while (cap < need)
        cap = cap > UINT32_MAX / 2 ? need : cap * 2;
    msx_site_state *s = realloc(v->s, (size_t)cap * sizeof *s);
    if (!s)
        return -ENOMEM;
    memset(s + v->cap, 0, (size_t)(cap - v->cap) * sizeof *s);
    v->s = s;
    if (v->how != MSX_EXACT) {
        msx_site_est *e = realloc(v->e, (size_t)cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        memset(e + v->cap, 0, (size_t)(cap - v->cap) * sizeof *e);
        v->e = e;
    }
    v->cap = cap;
    return 0;
}

/* The site of a block: its thread's stack id made global. */
static inline uint32_t site_of(msx_view_sites *v, const msx_blk *b)
{
    return b->keys.stack ? msx_view_stacks_lookup(v->stacks, b->thread, b->keys.stack) : 0;
}

void msx_view_sites_op(msx_view_sites *v, const msx_op_ev *e)
{
    if (e->kind == MSF_K_FREE)
        return;
    uint32_t g = 0;
    if (e->stack && !(g = msx_view_stacks_lookup(v->stacks, e->actor, e->stack)))
        v->stacks->undefined++;
    msx_site_state *s = &v->s[g];
    s->alloc++;
    s->bytes += e->size;
    if (v->e)
        msx_est_add(&v->e[g].bytes, &v->e[g].alloc, v->how, e->size, e->weight, 1);
}

/* Adds a block to its site's live bytes. */
static inline void gain(msx_view_sites *v, uint32_t g, const msx_blk *b)
{
    msx_site_state *s = &v->s[g];
    s->live += b->size;
    if (s->live > s->peak_live)
        s->peak_live = s->live;
    if (v->e) {
        msx_site_est *x = &v->e[g];
        msx_est_add(&x->live, NULL, v->how, b->size, b->keys.weight, 1);
        if (x->live.value > x->peak_live.value)
            x->peak_live = x->live;
    }
}

/* Removes a block from its site's live bytes (never below 0: a hostile
 * trace can name a stack only after its block was born). */
static inline void lose(msx_view_sites *v, uint32_t g, const msx_blk *b)
{
    msx_site_state *s = &v->s[g];
    s->live = s->live > b->size ? s->live - b->size : 0;
    if (v->e)
        msx_est_add(&v->e[g].live, NULL, v->how, b->size, b->keys.weight, -1);
}

/* A block ends (or survives): if it was live at the peak, it counts in its
 * site's share of the peak. */
static inline void snap(msx_view_sites *v, uint32_t g, const msx_blk *b)
{
    const msx_view_peak *p = v->peak;
    if (b->idx > p->peak_idx)
        return;
    msx_site_state *s = &v->s[g];
    if (s->snap_epoch != p->epoch) {
        s->snap_epoch = p->epoch;
        s->snap_bytes = s->snap_blocks = 0;
        if (v->e)
            v->e[g].snap = (msx_est){ 0 };
    }
    s->snap_bytes += b->size;
    s->snap_blocks++;
    if (v->e)
        msx_est_add(&v->e[g].snap, NULL, v->how, b->size, b->keys.weight, 1);
}

void msx_view_sites_block(msx_view_sites *v, const msx_block_ev *e)
{
    switch (e->kind) {
    case MSX_BEV_BORN:
        gain(v, site_of(v, &e->blk), &e->blk);
        break;
    case MSX_BEV_RESIZED: {
        uint32_t g = site_of(v, &e->prev);
        snap(v, g, &e->prev);  /* the peak view has not seen this event yet */
        lose(v, g, &e->prev);
        gain(v, site_of(v, &e->blk), &e->blk);
        break;
    }
    case MSX_BEV_FREED: {
        uint32_t g = site_of(v, &e->blk);
        snap(v, g, &e->blk);
        lose(v, g, &e->blk);
        if (!(e->flags & MSX_BEVF_REALLOC) && v->sizes->was_temporary) {
            v->s[g].temporary++;
            if (v->e)
                msx_est_add(NULL, &v->e[g].temporary, v->how, e->blk.size, e->blk.keys.weight, 1);
        }
        break;
    }
    case MSX_BEV_SURVIVED: {
        uint32_t g = site_of(v, &e->blk);
        snap(v, g, &e->blk);
        v->s[g].leaked_bytes += e->blk.size;
        v->s[g].leaked_blocks++;
        if (v->e)
            msx_est_add(&v->e[g].leaked_bytes, &v->e[g].leaked_blocks, v->how, e->blk.size, e->blk.keys.weight, 1);
        break;
    }
    case MSX_BEV_LABELED:
        break;
    }
}

void msx_view_sites_free(msx_view_sites *v)
{
    free(v->s);
    free(v->e);
    v->s = NULL;
    v->e = NULL;
    v->cap = 0;
}
