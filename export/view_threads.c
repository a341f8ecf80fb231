/* View: per-thread figures (see views.h); temporaries are view_sizes.c's,
 * the peak snapshot view_peak.c's, leaked blocks view_leaks.c's. */
#include "views.h"

#include <errno.h>
#include <stdlib.h>

/* Allocates r->threads, one per thread of the reader in serial order, with
 * the identity its first chunk gives. Returns 0 or -ENOMEM. */
int msx_view_threads_init(msx_view_threads *v, msx_report *r, const msx_reader *R)
{
    v->r = r;
    uint32_t n = R->nthreads;
    r->threads = calloc(n ? n : 1, sizeof *r->threads);
    if (!r->threads)
        return -ENOMEM;
    r->nthreads = n;
    v->th = r->threads;
    uint32_t t = 0;
    for (uint64_t i = 0; i < R->nchunks; i++) {
        if (i && R->chunks[i].thread == R->chunks[i - 1].thread)
            continue;
        msx_thread_report *th = &r->threads[t++];
        th->id = R->chunks[i].thread;
        th->tid = R->chunks[i].tid;
        th->first_time_ns = R->chunks[i].time_ns;
    }
    for (uint64_t i = 0, k = 0; i < R->nchunks; i++) {
        k += i && R->chunks[i].thread != R->chunks[i - 1].thread;
        if (!(R->chunks[i].flags & MSF_CF_INTERNAL))
            continue;
        if (!v->internal && !(v->internal = calloc(n, sizeof *v->internal)))
            return -ENOMEM;
        v->internal[k] = true;
    }
    return 0;
}

/* Drops from r->threads memscope's own streams (the helper's METRIC
 * records): they are no thread of the program. One that holds events (a
 * damaged or foreign trace) stays listed. */
void msx_view_threads_finish(msx_view_threads *v)
{
    msx_report *r = v->r;
    if (!v->internal)
        return;
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        if (v->internal[i] && r->threads[i].events == 0) {
            free(r->threads[i].name.p);
            continue;
        }
        r->threads[k++] = r->threads[i];
    }
    r->nthreads = k;
}

void msx_view_threads_free(msx_view_threads *v)
{
    free(v->internal);
    v->internal = NULL;
}

/* Counts an event on its thread. */
void msx_view_threads_op(msx_view_threads *v, const msx_op_ev *e)
{
    msx_thread_report *th = &v->th[e->actor];
    th->events++;
    switch (e->kind) {
    case MSF_K_ALLOC:
        th->allocations++;
        th->bytes_allocated += e->size;
        break;
    case MSF_K_REALLOC:
        th->reallocs++;
        th->bytes_allocated += e->size;
        break;
    default:
        th->frees++;
        break;
    }
}

/* Adds a block to its thread's live bytes and peak. */
static inline void owner_gains(msx_view_threads *v, const msx_blk *b, uint64_t time)
{
    msx_thread_report *o = &v->th[b->thread];
    o->live_bytes += b->size;
    if (o->live_bytes > o->peak_live_bytes) {
        o->peak_live_bytes = o->live_bytes;
        o->peak_time_ns = time;
    }
}

/* Follows the live bytes of each thread's blocks, bytes freed by each thread,
 * and frees of blocks another thread made. */
void msx_view_threads_block(msx_view_threads *v, const msx_block_ev *e)
{
    switch (e->kind) {
    case MSX_BEV_BORN:
        owner_gains(v, &e->blk, e->time);
        break;
    case MSX_BEV_RESIZED:
        v->th[e->prev.thread].live_bytes -= e->prev.size;
        v->th[e->actor].bytes_freed += e->prev.size;
        owner_gains(v, &e->blk, e->time);
        break;
    case MSX_BEV_FREED:
        v->th[e->blk.thread].live_bytes -= e->blk.size;
        v->th[e->actor].bytes_freed += e->blk.size;
        if (!(e->flags & MSX_BEVF_REALLOC) && e->blk.thread != e->actor)
            v->th[e->actor].cross_thread_frees++;
        break;
    case MSX_BEV_SURVIVED:
    case MSX_BEV_LABELED:
        break;
    }
}

/* Thread names and ids, exits, dropped events, last times. */
int msx_view_threads_control(msx_view_threads *v, const msx_ctl_ev *e)
{
    msx_thread_report *th = &v->th[e->actor];
    switch (e->kind) {
    case MSX_CTL_CHUNK:
        if (e->chunk->flags & MSF_CF_THREAD_EXITED)
            th->exited = true;
        return 0;
    case MSX_CTL_THREAD_DONE:
        th->last_time_ns = e->time;
        return 0;
    case MSX_CTL_RECORD:
        break;
    default:
        return 0;
    }
    switch (e->type) {
    case MSF_R_THREAD:
        th->tid = msx_map_uint(e->obj, MSF_KEY_TID, th->tid);
        return msx_str_take(&th->name, msx_map_get(e->obj, MSF_KEY_NAME));
    case MSF_R_THREAD_EXIT:
        th->exited = true;
        return msx_str_take(&th->name, msx_map_get(e->obj, MSF_KEY_NAME));
    case MSF_R_DROPPED:
        th->dropped_events += e->obj->v.u;
        return 0;
    default:
        return 0;
    }
}
