/* View: the estimates of a sampled trace (see views.h; estimate.h).
 *
 * In a sampled trace the events are samples with weights. This view sums
 * the weights, Horvitz-Thompson, per thread, per task and for the process:
 * allocations and bytes allocated (each sample born), live bytes and blocks
 * (born less freed), and the highest estimated live bytes, with the variance
 * of each. At the finish it puts the estimates, rounded, in place of the
 * sample figures of summary, threads[] and tasks[], and their 95% intervals
 * beside them (msx_est_ci); the counts of what was recorded stay in
 * `events` and the histograms. A trace that is not sampled is left alone. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "estimate.h"
#include "views.h"

const char *const msx_est_names[MSX_EST_FIGS] = {
    "allocations", "bytes_allocated", "live_bytes", "leaked_blocks", "peak_live_bytes",
};

int msx_view_est_init(msx_view_est *v, msx_report *r)
{
    memset(v, 0, sizeof *v);
    v->r = r;
    v->how = (msx_sampling)r->sampling;
    return 0;
}

/* The cell of thread index i, grown as needed; NULL without memory. */
static msx_est_cell *thread_cell(msx_view_est *v, uint32_t i)
{
    if (i >= v->nthreads) {
        uint32_t n = v->nthreads ? v->nthreads : 8;
        while (n <= i)
            n *= 2;
        msx_est_cell *c = realloc(v->threads, n * sizeof *c);
        if (c == NULL)
            return NULL;
        memset(c + v->nthreads, 0, (n - v->nthreads) * sizeof *c);
        v->threads = c;
        v->nthreads = n;
    }
    return &v->threads[i];
}

static uint64_t task_hash(uint64_t id)
{
    return (id * 0x9e3779b97f4a7c15ull) >> 17;
}

/* The cell of task id (> 0), the table grown as needed; NULL without memory. */
static msx_est_cell *task_cell(msx_view_est *v, uint64_t id)
{
    if (2 * (v->ntasks + 1) > v->task_cap) {
        uint32_t cap = v->task_cap ? v->task_cap * 2 : 256;
        msx_est_task *t = calloc(cap, sizeof *t);
        if (t == NULL)
            return NULL;
        for (uint32_t i = 0; i < v->task_cap; i++) {
            if (v->tasks[i].id == 0)
                continue;
            uint32_t j = (uint32_t)task_hash(v->tasks[i].id) & (cap - 1);
            while (t[j].id)
                j = (j + 1) & (cap - 1);
            t[j] = v->tasks[i];
        }
        free(v->tasks);
        v->tasks = t;
        v->task_cap = cap;
    }
    uint32_t j = (uint32_t)task_hash(id) & (v->task_cap - 1);
    while (v->tasks[j].id && v->tasks[j].id != id)
        j = (j + 1) & (v->task_cap - 1);
    if (v->tasks[j].id == 0) {
        v->tasks[j].id = id;
        v->ntasks++;
    }
    return &v->tasks[j].c;
}

/* Adds (sign 1) or removes (sign -1) block b to cell c. */
static void cell_add(msx_view_est *v, msx_est_cell *c, const msx_blk *b, double sign, uint64_t time)
{
    if (sign > 0)
        msx_est_add(&c->bytes, &c->allocs, v->how, b->size, b->keys.weight, 1);
    msx_est_add(&c->live, &c->blocks, v->how, b->size, b->keys.weight, sign);
    if (c->live.value > c->peak.value) {
        c->peak = c->live;
        c->peak_time = time;
    }
}

static void block(msx_view_est *v, const msx_blk *b, double sign, uint64_t time)
{
    cell_add(v, &v->total, b, sign, time);
    msx_est_cell *c = thread_cell(v, b->thread);
    if (c == NULL) {
        v->oom = true;
        return;
    }
    cell_add(v, c, b, sign, time);
    if (b->keys.task) {
        c = task_cell(v, b->keys.task);
        if (c == NULL) {
            v->oom = true;
            return;
        }
        cell_add(v, c, b, sign, time);
    }
}

void msx_view_est_block(msx_view_est *v, const msx_block_ev *e)
{
    switch (e->kind) {
    case MSX_BEV_BORN:
        block(v, &e->blk, 1, e->time);
        break;
    case MSX_BEV_FREED:
        block(v, &e->blk, -1, e->time);
        break;
    case MSX_BEV_RESIZED: /* an exact realloc in place: the block as it is now */
        block(v, &e->prev, -1, e->time);
        block(v, &e->blk, 1, e->time);
        break;
    default: /* SURVIVED: live at the end, counted; LABELED: no change */
        break;
    }
}

static uint64_t round_u64(double x)
{
    return x > 0 ? (uint64_t)llround(x) : 0;
}

/* Writes the estimates of cell c and their intervals. */
static void put(const msx_est_cell *c, uint64_t *allocs, uint64_t *bytes, uint64_t *live, uint64_t *blocks,
                uint64_t *peak, uint64_t *peak_time, msx_est_ci *ci)
{
    const msx_est *e[MSX_EST_FIGS] = { &c->allocs, &c->bytes, &c->live, &c->blocks, &c->peak };
    uint64_t *out[MSX_EST_FIGS] = { allocs, bytes, live, blocks, peak };
    for (int k = 0; k < MSX_EST_FIGS; k++) {
        if (out[k])
            *out[k] = round_u64(e[k]->value);
        msx_est_ci95(e[k], &ci->lo[k], &ci->hi[k]);
    }
    if (peak_time && c->peak.value > 0)
        *peak_time = c->peak_time;
}

int msx_view_est_finish(msx_view_est *v)
{
    msx_report *r = v->r;
    if (v->how == MSX_EXACT)
        return 0;
    if (v->oom)
        return -ENOMEM;
    put(&v->total, &r->allocations, &r->bytes_allocated, &r->leaked_bytes, &r->leaked_blocks,
        &r->peak_live_bytes, &r->peak_time_ns, &r->est);
    static const msx_est_cell zero;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        msx_thread_report *t = &r->threads[i];
        const msx_est_cell *c = i < v->nthreads ? &v->threads[i] : &zero;
        put(c, &t->allocations, &t->bytes_allocated, &t->live_bytes, &t->leaked_blocks, &t->peak_live_bytes,
            &t->peak_time_ns, &t->est);
    }
    for (uint32_t i = 0; i < r->ntasklist; i++) {
        msx_task_report *t = &r->tasklist[i];
        const msx_est_cell *c = &zero;
        if (v->task_cap) {
            uint32_t j = (uint32_t)task_hash(t->id) & (v->task_cap - 1);
            while (v->tasks[j].id && v->tasks[j].id != t->id)
                j = (j + 1) & (v->task_cap - 1);
            if (v->tasks[j].id == t->id)
                c = &v->tasks[j].c;
        }
        put(c, &t->allocations, &t->bytes_allocated, &t->live_bytes, NULL, &t->peak_live_bytes, &t->peak_time_ns,
            &t->est);
    }
    return 0;
}

const msx_est_cell *msx_view_est_task(const msx_view_est *v, uint64_t id)
{
    if (!v->task_cap || !id)
        return NULL;
    uint32_t j = (uint32_t)task_hash(id) & (v->task_cap - 1);
    while (v->tasks[j].id && v->tasks[j].id != id)
        j = (j + 1) & (v->task_cap - 1);
    return v->tasks[j].id == id ? &v->tasks[j].c : NULL;
}

void msx_view_est_free(msx_view_est *v)
{
    free(v->threads);
    free(v->tasks);
    v->threads = NULL;
    v->tasks = NULL;
}
