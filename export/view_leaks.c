/* View: blocks live at the end of the trace, the largest listed (see
 * views.h). */
#include "views.h"

#include <string.h>

/* Sets up the list of the largest leaks. */
void msx_view_leaks_init(msx_view_leaks *v, msx_report *r)
{
    v->r = r;
    v->top = (msx_topn){ .cap = MSX_MAX_LEAKS, .b = v->store };
}

/* Counts a block live at the end (SURVIVED) as leaked. */
void msx_view_leaks_block(msx_view_leaks *v, const msx_block_ev *e)
{
    if (e->kind != MSX_BEV_SURVIVED)
        return;
    msx_report *r = v->r;
    r->leaked_blocks++;
    r->leaked_bytes += e->blk.size;
    r->threads[e->blk.thread].leaked_blocks++;
    msx_block b = { .addr = e->blk.addr, .size = e->blk.size, .time_ns = e->blk.birth, .thread = e->blk.serial };
    if (e->blk.keys.stack && v->stacks)
        b.site = msx_view_stacks_lookup(v->stacks, e->blk.thread, e->blk.keys.stack);
    msx_topn_push(&v->top, &b);
}

/* Lists the largest leaks, largest first. */
void msx_view_leaks_finish(msx_view_leaks *v)
{
    msx_report *r = v->r;
    r->nleaks = v->top.n;
    memcpy(r->leaks, v->store, v->top.n * sizeof *v->store);
    msx_blocks_sort(r->leaks, r->nleaks);
}
