/* View: live bytes over time, in total, per thread (the allocating thread's
 * blocks) and per task (the blocks born in it), for the Chrome trace
 * (chrome.c). Off unless the analysis is asked for it (msx_analyze_opts).
 *
 * Each series keeps one msx_cpoint per interval in which it changed: the
 * highest value and the last one, with their times. Intervals are 2^shift
 * ns, shared by every series; when time passes MSX_COUNTER_POINTS intervals
 * the resolution halves and every series merges its pairs. Memory: one point
 * per series and interval it changed in, at most MSX_COUNTER_POINTS each. At
 * the finish the MSX_COUNTER_SERIES threads and tasks with the highest peak
 * are kept, and the rest of each summed into one "other" series: for threads
 * the total less the kept threads, for tasks the sum of every task's blocks
 * less the kept tasks, at the end of each interval. */
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void msx_view_counters_init(msx_view_counters *v, msx_report *r, const msx_reader *R)
{
    memset(v, 0, sizeof *v);
    v->r = r;
    v->nthreads = R->nthreads;
    uint64_t span = R->max_time > R->end_time ? R->max_time : R->end_time;
    v->shift = 10;
    while ((span >> v->shift) >= MSX_COUNTER_POINTS)
        v->shift++;
}

/* Merges a series' points pairwise after the resolution halved. */
static void halve(msx_cseries *s)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        msx_cpoint p = s->p[i];
        p.idx >>= 1;
        if (o && s->p[o - 1].idx == p.idx) {
            msx_cpoint *q = &s->p[o - 1];
            if (p.max > q->max) {
                q->max = p.max;
                q->t_max = p.t_max;
            }
            q->last = p.last;
            q->t_last = p.t_last;
        } else {
            s->p[o++] = p;
        }
    }
    s->n = o;
}

static void halve_all(msx_view_counters *v)
{
    v->shift++;
    halve(&v->total);
    halve(&v->all_tasks);
    for (uint32_t i = 0; v->th && i < v->nthreads; i++)
        halve(&v->th[i]);
    for (uint32_t i = 0; i < v->ntk; i++)
        halve(&v->tk[i]);
}

/* Series s takes value `val` at the current time. */
static void put(msx_view_counters *v, msx_cseries *s, uint64_t val)
{
    uint64_t t = v->now, idx = t >> v->shift;
    s->live = val;
    if (val > s->peak) {
        s->peak = val;
        s->peak_time_ns = t;
    }
    if (s->n && s->p[s->n - 1].idx == idx) {
        msx_cpoint *q = &s->p[s->n - 1];
        if (val > q->max) {
            q->max = val;
            q->t_max = t;
        }
        q->last = val;
        q->t_last = t;
        return;
    }
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        msx_cpoint *p = realloc(s->p, cap * sizeof *p);
        if (!p) {
            v->err = -ENOMEM;
            return;
        }
        s->p = p;
        s->cap = cap;
    }
    s->p[s->n++] = (msx_cpoint){ .idx = idx, .t_max = t, .max = val, .t_last = t, .last = val };
}

/* The series of task id (non-zero), created at its first sight; NULL: no memory. */
static msx_cseries *task_series(msx_view_counters *v, uint64_t id)
{
    if ((uint64_t)(v->ntk + 1) * 2 > v->slot_cap) {
        uint64_t cap = v->slot_cap ? v->slot_cap * 2 : 64;
        uint32_t *slot = calloc(cap, sizeof *slot);
        if (!slot)
            return NULL;
        for (uint32_t i = 0; i < v->ntk; i++) {
            uint64_t j = (v->tk[i].key * UINT64_C(0x9E3779B97F4A7C15)) & (cap - 1);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = i + 1;
        }
        free(v->slot);
        v->slot = slot;
        v->slot_cap = cap;
    }
    uint64_t j = (id * UINT64_C(0x9E3779B97F4A7C15)) & (v->slot_cap - 1);
    while (v->slot[j]) {
        if (v->tk[v->slot[j] - 1].key == id)
            return &v->tk[v->slot[j] - 1];
        j = (j + 1) & (v->slot_cap - 1);
    }
    if (v->ntk == v->tk_cap) {
        uint32_t cap = v->tk_cap ? v->tk_cap * 2 : 16;
        msx_cseries *tk = realloc(v->tk, cap * sizeof *tk);
        if (!tk)
            return NULL;
        v->tk = tk;
        v->tk_cap = cap;
    }
    v->tk[v->ntk] = (msx_cseries){ .key = id };
    v->slot[j] = ++v->ntk;
    return &v->tk[v->ntk - 1];
}

/* Block b's thread and task gain (sign > 0) or lose its size. */
static void change(msx_view_counters *v, const msx_blk *b, int sign)
{
    if (b->thread < v->nthreads) {
        msx_cseries *s = &v->th[b->thread];
        s->key = b->serial;
        put(v, s, sign > 0 ? s->live + b->size : s->live - b->size);
    }
    if (b->keys.task) {
        msx_cseries *s = task_series(v, b->keys.task);
        if (!s) {
            v->err = -ENOMEM;
            return;
        }
        put(v, s, sign > 0 ? s->live + b->size : s->live - b->size);
        put(v, &v->all_tasks, sign > 0 ? v->all_tasks.live + b->size : v->all_tasks.live - b->size);
    }
}

void msx_view_counters_block(msx_view_counters *v, const msx_block_ev *e)
{
    if (e->kind != MSX_BEV_BORN && e->kind != MSX_BEV_RESIZED && e->kind != MSX_BEV_FREED)
        return;
    if (v->err)
        return;
    if (!v->th && !(v->th = calloc(v->nthreads ? v->nthreads : 1, sizeof *v->th))) {
        v->err = -ENOMEM;
        return;
    }
    if (e->time > v->now)
        v->now = e->time;
    while ((v->now >> v->shift) >= MSX_COUNTER_POINTS)
        halve_all(v);
    if (e->kind == MSX_BEV_RESIZED)
        change(v, &e->prev, -1);
    change(v, &e->blk, e->kind == MSX_BEV_FREED ? -1 : 1);
    put(v, &v->total, e->live);
}

/* Orders series by peak, highest first, then by key. */
static int by_peak(const void *a, const void *b)
{
    const msx_cseries *x = a, *y = b;
    if (x->peak != y->peak)
        return x->peak > y->peak ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static int by_key(const void *a, const void *b)
{
    const msx_cseries *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* The "other" series: base less the kept series k[0..nk), at the end of
 * each of base's intervals (the kept series' last values carried). */
static int other(msx_cseries *o, const msx_cseries *base, const msx_cseries *k, uint32_t nk)
{
    uint32_t *at = calloc(nk ? nk : 1, sizeof *at);
    o->p = calloc(base->n ? base->n : 1, sizeof *o->p);
    if (!at || !o->p) {
        free(at);
        return -ENOMEM;
    }
    o->cap = base->n;
    for (uint32_t i = 0; i < base->n; i++) {
        const msx_cpoint *bp = &base->p[i];
        uint64_t kept = 0;
        for (uint32_t j = 0; j < nk; j++) {
            while (at[j] < k[j].n && k[j].p[at[j]].idx <= bp->idx)
                at[j]++;
            kept += at[j] ? k[j].p[at[j] - 1].last : 0;
        }
        uint64_t val = bp->last - kept;
        o->p[o->n++] = (msx_cpoint){ .idx = bp->idx, .t_max = bp->t_last, .max = val, .t_last = bp->t_last,
                                     .last = val };
        if (val > o->peak) {
            o->peak = val;
            o->peak_time_ns = bp->t_last;
        }
        o->live = val;
    }
    free(at);
    return 0;
}

/* Keeps the MSX_COUNTER_SERIES of s[0..n) with the highest peak, by key, and
 * frees the others' points; returns how many are kept. */
static uint32_t keep_top(msx_cseries *s, uint32_t n)
{
    qsort(s, n, sizeof *s, by_peak);
    uint32_t k = n < MSX_COUNTER_SERIES ? n : MSX_COUNTER_SERIES;
    for (uint32_t i = k; i < n; i++)
        free(s[i].p);
    qsort(s, k, sizeof *s, by_key);
    return k;
}

int msx_view_counters_finish(msx_view_counters *v)
{
    if (!v->on)
        return 0;
    if (v->err)
        return v->err;
    msx_counters *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->interval_ns = (uint64_t)1 << v->shift;
    c->total = v->total;
    v->total = (msx_cseries){ 0 };
    /* threads: those with a change, compacted */
    uint32_t n = 0;
    for (uint32_t i = 0; v->th && i < v->nthreads; i++)
        if (v->th[i].n)
            v->th[n++] = v->th[i];
    c->nthreads = keep_top(v->th, n);
    c->threads_folded = n - c->nthreads;
    c->threads = v->th;
    v->th = NULL;
    c->ntasks = keep_top(v->tk, v->ntk);
    c->tasks_folded = v->ntk - c->ntasks;
    c->tasks = v->tk;
    v->tk = NULL;
    v->ntk = 0;
    v->r->counters = c;  /* owned by the report from here (msx_counters_free) */
    if (c->threads_folded && other(&c->thread_other, &c->total, c->threads, c->nthreads) < 0)
        return -ENOMEM;
    if (c->tasks_folded && other(&c->task_other, &v->all_tasks, c->tasks, c->ntasks) < 0)
        return -ENOMEM;
    return 0;
}

void msx_view_counters_free(msx_view_counters *v)
{
    free(v->total.p);
    free(v->all_tasks.p);
    for (uint32_t i = 0; v->th && i < v->nthreads; i++)
        free(v->th[i].p);
    free(v->th);
    for (uint32_t i = 0; i < v->ntk; i++)
        free(v->tk[i].p);
    free(v->tk);
    free(v->slot);
    memset(v, 0, sizeof *v);
}

void msx_counters_free(msx_counters *c)
{
    if (!c)
        return;
    free(c->total.p);
    for (uint32_t i = 0; i < c->nthreads; i++)
        free(c->threads[i].p);
    free(c->threads);
    for (uint32_t i = 0; i < c->ntasks; i++)
        free(c->tasks[i].p);
    free(c->tasks);
    free(c->thread_other.p);
    free(c->task_other.p);
    free(c);
}
