/* View: summary counts and bytes, chunks, anomalies, and the timeline of live
 * bytes (see views.h). */
#include "views.h"

#include <string.h>

/* Halves the timeline's resolution: bucket i becomes buckets 2i and 2i+1. */
static void tl_double(msx_view_totals *v)
{
    for (unsigned i = 0; i < MSX_TIMELINE_POINTS / 2; i++) {
        msx_tl_bucket a = v->tl[2 * i], b = v->tl[2 * i + 1], m = { 0 };
        m.touched = a.touched || b.touched;
        m.allocs = a.allocs + b.allocs;
        m.frees = a.frees + b.frees;
        m.max = a.touched && b.touched ? (a.max > b.max ? a.max : b.max) : a.touched ? a.max : b.max;
        m.last = b.touched ? b.last : a.last;
        v->tl[i] = m;
    }
    memset(&v->tl[MSX_TIMELINE_POINTS / 2], 0, sizeof v->tl / 2);
    v->tl_used /= 2;
    v->tl_shift++;
    v->bk_idx = UINT64_MAX;  /* the caller enters its bucket again */
}

/* Makes the bucket of `time` current (creating resolution room if needed);
 * a bucket entered for the first time starts at the live bytes of now. */
static void tl_enter(msx_view_totals *v, uint64_t time)
{
    while ((time >> v->tl_shift) >= MSX_TIMELINE_POINTS)
        tl_double(v);
    uint64_t i = time >> v->tl_shift;
    msx_tl_bucket *b = &v->tl[i];
    if (!b->touched) {
        b->touched = true;
        b->max = b->last = v->live;
    }
    if (i > v->tl_used)
        v->tl_used = i;
    v->bk = b;
    v->bk_idx = i;
}

/* Sets the timeline's first resolution from the trace's expected length. */
int msx_view_totals_init(msx_view_totals *v, msx_report *r, const msx_reader *R)
{
    v->r = r;
    uint64_t span = R->max_time > R->end_time ? R->max_time : R->end_time;
    v->tl_shift = 10;
    while ((span >> v->tl_shift) >= MSX_TIMELINE_POINTS)
        v->tl_shift++;
    v->bk = &v->tl[0];
    v->bk_idx = UINT64_MAX;  /* the first event enters its bucket */
    return 0;
}

/* Counts an event in the summary and its timeline bucket. */
void msx_view_totals_op(msx_view_totals *v, const msx_op_ev *e)
{
    msx_report *r = v->r;
    r->events++;
    if ((e->time >> v->tl_shift) != v->bk_idx)
        tl_enter(v, e->time);
    switch (e->kind) {
    case MSF_K_ALLOC:
        r->allocations++;
        r->bytes_allocated += e->size;
        v->bk->allocs++;
        break;
    case MSF_K_REALLOC:
        r->reallocs++;
        r->bytes_allocated += e->size;
        v->bk->allocs++;
        break;
    default:
        r->frees++;
        v->bk->frees++;
        break;
    }
}

/* Follows live bytes: the current bucket's last and highest value, and the
 * bytes freed. A moving realloc's old block leaves the bucket's last value to
 * the new block that follows it. */
void msx_view_totals_block(msx_view_totals *v, const msx_block_ev *e)
{
    msx_tl_bucket *b = v->bk;
    v->live = e->live;
    switch (e->kind) {
    case MSX_BEV_RESIZED:
        v->r->bytes_freed += e->prev.size;
        /* fall through */
    case MSX_BEV_BORN:
        b->last = e->live;
        if (e->live > b->max)
            b->max = e->live;
        break;
    case MSX_BEV_FREED:
        v->r->bytes_freed += e->blk.size;
        if (!(e->flags & MSX_BEVF_REALLOC))
            b->last = e->live;
        break;
    case MSX_BEV_SURVIVED:
    case MSX_BEV_LABELED:
        break;
    }
}

/* Counts chunks and stream bytes; counts and lists anomalies. */
int msx_view_totals_control(msx_view_totals *v, const msx_ctl_ev *e)
{
    msx_report *r = v->r;
    if (e->kind == MSX_CTL_CHUNK) {
        r->chunks++;
        r->stream_bytes += MSF_CHUNK_HEADER_SIZE + (uint64_t)e->chunk->present;
    } else if (e->kind == MSX_CTL_ANOMALY) {
        r->anomaly_counts[e->anomaly->kind]++;
        if (r->nanomalies < MSX_MAX_ANOMALIES)
            r->anomalies[r->nanomalies++] = *e->anomaly;
    }
    return 0;
}

/* Writes the timeline up to `end` (the trace's duration). */
void msx_view_totals_finish(msx_view_totals *v, uint64_t end)
{
    msx_report *r = v->r;
    tl_enter(v, end);
    r->timeline_bucket_ns = (uint64_t)1 << v->tl_shift;
    r->npoints = (uint32_t)v->tl_used + 1;
    uint64_t carry = 0;
    for (uint32_t i = 0; i < r->npoints; i++) {
        const msx_tl_bucket *b = &v->tl[i];
        msx_point *pt = &r->timeline[i];
        pt->time_ns = (uint64_t)i << v->tl_shift;
        pt->allocations = b->allocs;
        pt->frees = b->frees;
        pt->live_bytes = b->touched ? b->last : carry;
        pt->max_live_bytes = b->touched ? b->max : carry;
        carry = pt->live_bytes;
    }
}
