/* View: size and lifetime histograms, and temporary allocations (see
 * views.h; docs/JSON.md defines "temporary"). */
#include "views.h"

#include <errno.h>
#include <stdlib.h>

/* Sets up one "latest block" per thread. Returns 0 or -ENOMEM. */
int msx_view_sizes_init(msx_view_sizes *v, msx_report *r)
{
    v->r = r;
    v->last = calloc(r->nthreads ? r->nthreads : 1, sizeof *v->last);
    return v->last ? 0 : -ENOMEM;
}

/* Counts a requested size (ALLOC, REALLOC) in the size histogram. */
void msx_view_sizes_op(msx_view_sizes *v, const msx_op_ev *e)
{
    if (e->kind == MSF_K_FREE)
        return;
    msx_bucket *h = &v->r->size_hist[msx_log2_class(e->size)];
    h->count++;
    h->bytes += e->size;
}

/* Remembers each thread's latest block; a freed block gets its lifetime, and
 * is a temporary if its own thread frees it before making another. */
void msx_view_sizes_block(msx_view_sizes *v, const msx_block_ev *e)
{
    switch (e->kind) {
    case MSX_BEV_BORN:
    case MSX_BEV_RESIZED:
        v->last[e->blk.thread] = (msx_last_alloc){ .addr = e->blk.addr, .valid = true };
        break;
    case MSX_BEV_FREED: {
        v->was_temporary = false;
        if (e->flags & MSX_BEVF_REALLOC)
            break;
        msx_report *r = v->r;
        uint64_t life = e->time > e->blk.birth ? e->time - e->blk.birth : 0;
        msx_bucket *h = &r->lifetime_hist[msx_log2_class(life)];
        h->count++;
        h->bytes += e->blk.size;
        msx_last_alloc *l = &v->last[e->actor];
        if (e->blk.thread == e->actor && l->valid && l->addr == e->blk.addr) {
            r->temporary++;
            r->threads[e->actor].temporary++;
            l->valid = false;
            v->was_temporary = true;
        }
        break;
    }
    case MSX_BEV_SURVIVED:
    case MSX_BEV_LABELED:
        break;
    }
}

/* Frees the view's memory. */
void msx_view_sizes_free(msx_view_sizes *v)
{
    free(v->last);
    v->last = NULL;
}
