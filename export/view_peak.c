/* View: the peak of live bytes and the exact snapshot of what was live at it,
 * in one pass (see views.h, msx_view_peak). */
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Sets up the view. Returns 0 or -ENOMEM. */
int msx_view_peak_init(msx_view_peak *v, msx_report *r)
{
    v->r = r;
    v->top = (msx_topn){ .cap = MSX_MAX_PEAK_BLOCKS, .b = v->top_store };
    v->thread_epoch = calloc(r->nthreads ? r->nthreads : 1, sizeof *v->thread_epoch);
    return v->thread_epoch ? 0 : -ENOMEM;
}

/* A block made at or before the peak ends after it (or survives): it was
 * live at the peak, so it joins the cells of the current epoch. */
static void snap(msx_view_peak *v, const msx_blk *b)
{
    if (b->idx > v->peak_idx)
        return;
    msx_snap_cell *c = &v->size[msx_log2_class(b->size)];
    if (c->epoch != v->epoch) {
        c->epoch = v->epoch;
        c->count = c->bytes = 0;
    }
    c->count++;
    c->bytes += b->size;
    msx_thread_report *th = &v->r->threads[b->thread];
    if (v->thread_epoch[b->thread] != v->epoch) {
        v->thread_epoch[b->thread] = v->epoch;
        th->peak_snapshot_blocks = th->peak_snapshot_bytes = 0;
    }
    th->peak_snapshot_blocks++;
    th->peak_snapshot_bytes += b->size;
    if (v->top_epoch != v->epoch) {
        v->top_epoch = v->epoch;
        v->top.n = 0;
    }
    msx_block k = { .addr = b->addr, .size = b->size, .time_ns = b->birth, .thread = b->serial };
    if (b->keys.stack && v->stacks)
        k.site = msx_view_stacks_lookup(v->stacks, b->thread, b->keys.stack);
    msx_topn_push(&v->top, &k);
}

/* A block became live: a new peak? Then everything noted so far is stale. */
static inline void gain(msx_view_peak *v, const msx_block_ev *e)
{
    msx_report *r = v->r;
    if (e->live > r->peak_live_bytes) {
        r->peak_live_bytes = e->live;
        r->peak_time_ns = e->time;
        v->peak_idx = e->blk.idx;
        v->epoch++;
    }
}

/* Follows the peak and the blocks that were live at it. */
void msx_view_peak_block(msx_view_peak *v, const msx_block_ev *e)
{
    switch (e->kind) {
    case MSX_BEV_BORN:
        gain(v, e);
        break;
    case MSX_BEV_RESIZED:
        snap(v, &e->prev);
        gain(v, e);
        break;
    case MSX_BEV_FREED:
    case MSX_BEV_SURVIVED:
        snap(v, &e->blk);
        break;
    case MSX_BEV_LABELED:
        break;
    }
}

/* Writes the snapshot: per size class, per thread, the largest blocks. */
void msx_view_peak_finish(msx_view_peak *v)
{
    msx_report *r = v->r;
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (v->thread_epoch[i] != v->epoch)
            r->threads[i].peak_snapshot_blocks = r->threads[i].peak_snapshot_bytes = 0;
    if (v->top_epoch != v->epoch)
        v->top.n = 0;
    r->npeak_largest = v->top.n;
    memcpy(r->peak_largest, v->top.b, v->top.n * sizeof *v->top.b);
    msx_blocks_sort(r->peak_largest, r->npeak_largest);
    for (unsigned k = 0; k < MSX_HIST_BUCKETS; k++) {
        if (v->size[k].epoch != v->epoch)
            continue;
        r->peak_by_size[k].count = v->size[k].count;
        r->peak_by_size[k].bytes = v->size[k].bytes;
        r->peak_blocks += v->size[k].count;
    }
}

/* Frees the view's memory. */
void msx_view_peak_free(msx_view_peak *v)
{
    free(v->thread_epoch);
    v->thread_epoch = NULL;
}
