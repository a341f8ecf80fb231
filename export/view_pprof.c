/* View: the figures of the pprof profiles (pprof.h) per (site, thread, task),
 * where sites[] has them per site only. Runs only when the analysis asks for
 * it (msx_analyze_opts.pprof): a trace analysed for other outputs pays one
 * predictable branch per event.
 *
 *   alloc    op events but FREE, counted on the op's thread and the task
 *            current on it (as view_sites.c and view_tasks.c count them)
 *   inuse    block events: a block's (site, allocating thread, task) gains it
 *            when it is born and loses it when it ends; what is left at the
 *            end is live at the end
 *   peak     a block made at or before the peak's event and ending after it
 *            (or never) was live at the peak, found as view_sites.c does
 *
 * Memory follows the distinct (site, thread, task) triples, never the events.
 * Sampled traces keep estimates (estimate.h) beside the counts; the finish
 * rounds each (site, figure)'s cells so that they add up to the site's figure. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "symbolize.h"
#include "views.h"

int msx_view_pprof_init(msx_view_pprof *v, msx_report *r)
{
    memset(v, 0, sizeof *v);
    v->r = r;
    v->how = (msx_sampling)r->sampling;
    return 0;
}

static uint64_t cell_hash(uint32_t g, uint32_t thread, uint64_t task)
{
    uint64_t h = ((uint64_t)g << 32 | thread) * UINT64_C(0x9E3779B97F4A7C15) ^ task * UINT64_C(0xC2B2AE3D27D4EB4F);
    return h ^ h >> 29;
}

/* Grows the index to stay at most half full. Returns 0 or -ENOMEM. */
static int slots_grow(msx_view_pprof *v)
{
    if (2 * ((uint64_t)v->n + 1) <= v->slot_cap)
        return 0;
    uint64_t cap = v->slot_cap ? 2 * v->slot_cap : 256;
    uint32_t *s = calloc(cap, sizeof *s);
    if (!s)
        return -ENOMEM;
    for (uint32_t i = 0; i < v->n; i++) {
        const msx_pp_state *c = &v->c[i];
        uint64_t j = cell_hash(c->g, c->thread, c->task) & (cap - 1);
        while (s[j])
            j = (j + 1) & (cap - 1);
        s[j] = i + 1;
    }
    free(v->slot);
    v->slot = s;
    v->slot_cap = cap;
    return 0;
}

/* The cell of (g, thread index, task), made if new; NULL when out of memory
 * (noted: the finish reports it). */
static msx_pp_state *cell(msx_view_pprof *v, uint32_t g, uint32_t thread, uint64_t task)
{
    if (v->last) {
        msx_pp_state *c = &v->c[v->last - 1];
        if (c->g == g && c->thread == thread && c->task == task)
            return c;
    }
    if (v->oom || slots_grow(v) < 0)
        goto oom;
    uint64_t j = cell_hash(g, thread, task) & (v->slot_cap - 1);
    for (; v->slot[j]; j = (j + 1) & (v->slot_cap - 1)) {
        msx_pp_state *c = &v->c[v->slot[j] - 1];
        if (c->g == g && c->thread == thread && c->task == task) {
            v->last = v->slot[j];
            return c;
        }
    }
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? 2 * v->cap : 256;
        if (cap < v->cap)
            goto oom;
        msx_pp_state *c = realloc(v->c, (size_t)cap * sizeof *c);
        if (!c)
            goto oom;
        v->c = c;
        if (v->how != MSX_EXACT) {
            msx_pp_est *e = realloc(v->e, (size_t)cap * sizeof *e);
            if (!e)
                goto oom;
            v->e = e;
        }
        v->cap = cap;
    }
    v->c[v->n] = (msx_pp_state){ .g = g, .thread = thread, .task = task };
    if (v->e)
        v->e[v->n] = (msx_pp_est){ 0 };
    v->slot[j] = ++v->n;
    v->last = v->n;
    return &v->c[v->n - 1];
oom:
    v->oom = true;
    return NULL;
}

void msx_view_pprof_op(msx_view_pprof *v, const msx_op_ev *e)
{
    if (e->kind == MSF_K_FREE)
        return;
    uint32_t g = e->stack ? msx_view_stacks_lookup(v->stacks, e->actor, e->stack) : 0;
    const msx_view_tasks *T = v->tasks;
    uint64_t task = T->cur && T->cur[e->actor] ? T->t[T->cur[e->actor] - 1].id : 0;
    msx_pp_state *c = cell(v, g, e->actor, task);
    if (!c)
        return;
    c->alloc++;
    c->bytes += e->size;
    if (v->e) {
        msx_pp_est *x = &v->e[c - v->c];
        msx_est_add(&x->bytes, &x->alloc, v->how, e->size, e->weight, 1);
    }
}

/* The cell of a block. */
static inline msx_pp_state *cell_of(msx_view_pprof *v, const msx_blk *b)
{
    uint32_t g = b->keys.stack ? msx_view_stacks_lookup(v->stacks, b->thread, b->keys.stack) : 0;
    return cell(v, g, b->thread, b->keys.task);
}

static void gain(msx_view_pprof *v, const msx_blk *b)
{
    msx_pp_state *c = cell_of(v, b);
    if (!c)
        return;
    c->live += b->size;
    c->live_blocks++;
    if (v->e) {
        msx_pp_est *x = &v->e[c - v->c];
        msx_est_add(&x->live, &x->live_blocks, v->how, b->size, b->keys.weight, 1);
    }
}

/* A block ends: out of its cell's live figures, and into its share of the
 * peak if it was live then. */
static void end(msx_view_pprof *v, const msx_blk *b, bool lost)
{
    msx_pp_state *c = cell_of(v, b);
    if (!c)
        return;
    msx_pp_est *x = v->e ? &v->e[c - v->c] : NULL;
    if (lost) {
        c->live = c->live > b->size ? c->live - b->size : 0;
        c->live_blocks -= c->live_blocks > 0;
        if (x)
            msx_est_add(&x->live, &x->live_blocks, v->how, b->size, b->keys.weight, -1);
    }
    const msx_view_peak *p = v->peak;
    if (b->idx > p->peak_idx)
        return;
    if (c->snap_epoch != p->epoch) {
        c->snap_epoch = p->epoch;
        c->snap_bytes = c->snap_blocks = 0;
        if (x)
            x->snap = x->snap_blocks = (msx_est){ 0 };
    }
    c->snap_bytes += b->size;
    c->snap_blocks++;
    if (x)
        msx_est_add(&x->snap, &x->snap_blocks, v->how, b->size, b->keys.weight, 1);
}

void msx_view_pprof_block(msx_view_pprof *v, const msx_block_ev *e)
{
    switch (e->kind) {
    case MSX_BEV_BORN:
        gain(v, &e->blk);
        break;
    case MSX_BEV_RESIZED:
        end(v, &e->prev, true);  /* the peak view has not seen this event yet */
        gain(v, &e->blk);
        break;
    case MSX_BEV_FREED:
        end(v, &e->blk, true);
        break;
    case MSX_BEV_SURVIVED:
        end(v, &e->blk, false);
        break;
    case MSX_BEV_LABELED:
        break;
    }
}

/* -- the finish ------------------------------------------------------------- */

/* Order of the cells: by site, thread serial, task. */
static int cell_cmp(const void *a, const void *b)
{
    const msx_pprof_cell *x = a, *y = b;
    if (x->site != y->site)
        return x->site < y->site ? -1 : 1;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return x->task < y->task ? -1 : x->task > y->task;
}

typedef struct rnd {
    uint32_t cell;              /* index in the view's cells */
    double frac;
} rnd;

static int rnd_cmp(const void *a, const void *b)
{
    const rnd *x = a, *y = b;
    if (x->frac != y->frac)
        return x->frac > y->frac ? -1 : 1;
    return x->cell < y->cell ? -1 : x->cell > y->cell;
}

/* The estimate of figure k of cell i. */
static double est_of(const msx_view_pprof *v, uint32_t i, int k)
{
    const msx_pp_est *x = &v->e[i];
    bool at_peak = v->c[i].snap_epoch == v->peak->epoch;
    switch (k) {
    case MSX_PP_ALLOC_OBJECTS: return x->alloc.value;
    case MSX_PP_ALLOC_SPACE: return x->bytes.value;
    case MSX_PP_INUSE_OBJECTS: return x->live_blocks.value;
    case MSX_PP_INUSE_SPACE: return x->live.value;
    case MSX_PP_PEAK_OBJECTS: return at_peak ? x->snap_blocks.value : 0;
    default: return at_peak ? x->snap.value : 0;
    }
}

/* The site's own figure for pprof figure k (-1: none to follow). */
static int64_t site_target(const msx_site_figs *f, int k)
{
    switch (k) {
    case MSX_PP_ALLOC_OBJECTS: return (int64_t)f->v[MSX_SF_ALLOCATIONS];
    case MSX_PP_ALLOC_SPACE: return (int64_t)f->v[MSX_SF_BYTES_ALLOCATED];
    case MSX_PP_INUSE_OBJECTS: return (int64_t)f->v[MSX_SF_LEAKED_BLOCKS];
    case MSX_PP_INUSE_SPACE: return (int64_t)f->v[MSX_SF_LIVE_BYTES];
    case MSX_PP_PEAK_SPACE: return (int64_t)f->v[MSX_SF_PEAK_BYTES];
    default: return -1;
    }
}

/* Sampled: cells idx[0..n) are one site's (figures f, NULL: unknown); each
 * figure's estimates are rounded down, and the units left to reach the
 * site's figure go to the largest remainders. */
static void round_site(const msx_view_pprof *v, const uint32_t *idx, uint32_t n, const msx_site_figs *f,
                       msx_pprof_cell *out, rnd *tmp)
{
    for (int k = 0; k < MSX_PP_FIGS; k++) {
        double sum = 0;
        int64_t floors = 0;
        for (uint32_t j = 0; j < n; j++) {
            double x = est_of(v, idx[j], k);
            if (!(x > 0))
                x = 0;
            if (x > 4e18)  /* hostile weights: keep within int64 */
                x = 4e18;
            sum += x;
            double fl = floor(x);
            out[j].v[k] = (int64_t)fl;
            floors += (int64_t)fl;
            tmp[j] = (rnd){ .cell = j, .frac = x - fl };
        }
        int64_t target = f ? site_target(f, k) : -1;
        if (target < 0)
            target = sum > 0 ? (int64_t)llround(sum) : 0;
        else if (fabs((double)target - sum) > 1.0 + 1e-9 * sum)
            /* the cells count what the site counts: they cannot disagree
             * beyond the site's rounding */
            msx_reader_problem(v->stacks->R, 0, "pprof: site %u: figure %d of its cells is %.0f, the site's %lld",
                               v->c[idx[0]].g, k, sum, (long long)target);
        int64_t left = target - floors;
        if (left <= 0)
            continue;
        qsort(tmp, n, sizeof *tmp, rnd_cmp);
        int64_t each = left / n;  /* 0 unless the cells disagree with the site (reported above) */
        for (uint32_t j = 0; j < n; j++)
            out[tmp[j].cell].v[k] += each + ((int64_t)j < left % n);
    }
}

static int task_cmp(const void *a, const void *b)
{
    const msx_pprof_task *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The tasks of the cells, with their names (before the tasks' finish takes
 * them). Returns 0 or -ENOMEM. */
static int take_tasks(msx_view_pprof *v, msx_pprof_report *p)
{
    uint64_t *ids = malloc(((size_t)v->n + 1) * sizeof *ids);
    if (!ids)
        return -ENOMEM;
    size_t n = 0;
    for (uint32_t i = 0; i < v->n; i++)
        if (v->c[i].task)
            ids[n++] = v->c[i].task;
    qsort(ids, n, sizeof *ids, u64_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    int rc = 0;
    if (u && !(p->tasks = calloc(u, sizeof *p->tasks)))
        rc = -ENOMEM;
    const msx_view_tasks *T = v->tasks;
    for (uint32_t i = 0; rc == 0 && u && i < T->n; i++) {
        const msx_task_state *t = &T->t[i];
        if (!bsearch(&t->id, ids, u, sizeof *ids, u64_cmp) || p->ntasks == u)
            continue;
        msx_pprof_task *o = &p->tasks[p->ntasks++];
        o->id = t->id;
        if (t->name.n && msx_str_set(&o->name, t->name.p, t->name.n) < 0)
            rc = -ENOMEM;
    }
    if (rc == 0 && p->ntasks)
        qsort(p->tasks, p->ntasks, sizeof *p->tasks, task_cmp);
    free(ids);
    return rc;
}

/* The modules of the symbolizer. Returns 0 or -ENOMEM. */
static int take_modules(const msx_view_pprof *v, msx_pprof_report *p)
{
    const msx_sym *S = v->stacks->sym;
    uint32_t n = msx_sym_module_count(S);
    if (!n)
        return 0;
    p->modules = calloc(n, sizeof *p->modules);
    if (!p->modules)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        msx_sym_module m;
        msx_sym_module_get(S, i, &m);
        msx_pprof_module *o = &p->modules[p->nmodules++];
        o->base = m.base;
        o->start = m.start;
        o->limit = m.limit;
        if (!m.path || msx_str_set(&o->path, m.path, strlen(m.path)) < 0 ||
            (m.build_id_len && msx_str_set(&o->build_id, (const char *)m.build_id, m.build_id_len) < 0))
            return -ENOMEM;
    }
    return 0;
}

int msx_view_pprof_finish(msx_view_pprof *v)
{
    if (!v->on)
        return 0;
    msx_report *r = v->r;
    if (v->oom) {
        msx_reader_problem(v->stacks->R, 0, "out of memory for the pprof figures: no profile");
        return 0;
    }
    msx_pprof_report *p = calloc(1, sizeof *p);
    uint32_t *order = malloc(((size_t)v->n + 1) * sizeof *order);
    rnd *tmp = malloc(((size_t)v->n + 1) * sizeof *tmp);
    const msx_site_report **site = calloc((size_t)(v->stacks ? v->stacks->n : 0) + 1, sizeof *site);
    int rc = p && order && tmp && site ? 0 : -ENOMEM;
    if (rc == 0 && v->n && !(p->cells = calloc(v->n, sizeof *p->cells)))
        rc = -ENOMEM;
    if (rc < 0)
        goto out;
    for (uint32_t i = 0; i < r->nsites; i++)
        if (r->sites[i].id <= v->stacks->n)
            site[r->sites[i].id] = &r->sites[i];
    /* the cells by site, so that a sampled site's cells round together */
    for (uint32_t i = 0; i < v->n; i++) {
        order[i] = i;
        tmp[i] = (rnd){ .cell = i, .frac = -(double)v->c[i].g };  /* by site: rnd_cmp's order */
    }
    qsort(tmp, v->n, sizeof *tmp, rnd_cmp);
    for (uint32_t i = 0; i < v->n; i++)
        order[i] = tmp[i].cell;
    for (uint32_t i = 0; i < v->n;) {
        uint32_t g = v->c[order[i]].g, j = i + 1;
        while (j < v->n && v->c[order[j]].g == g)
            j++;
        msx_pprof_cell *out = &p->cells[i];
        for (uint32_t k = i; k < j; k++) {
            const msx_pp_state *c = &v->c[order[k]];
            msx_pprof_cell *o = &p->cells[k];
            o->site = g;
            o->thread = c->thread < r->nthreads ? r->threads[c->thread].id : c->thread + 1;
            o->task = c->task;
            bool at_peak = c->snap_epoch == v->peak->epoch;
            o->v[MSX_PP_ALLOC_OBJECTS] = (int64_t)c->alloc;
            o->v[MSX_PP_ALLOC_SPACE] = (int64_t)c->bytes;
            o->v[MSX_PP_INUSE_OBJECTS] = (int64_t)c->live_blocks;
            o->v[MSX_PP_INUSE_SPACE] = (int64_t)c->live;
            o->v[MSX_PP_PEAK_OBJECTS] = at_peak ? (int64_t)c->snap_blocks : 0;
            o->v[MSX_PP_PEAK_SPACE] = at_peak ? (int64_t)c->snap_bytes : 0;
        }
        if (v->e)
            round_site(v, order + i, j - i, g ? (site[g] ? &site[g]->f : NULL) : &r->nostack, out, tmp);
        i = j;
    }
    p->ncells = v->n;
    if (p->ncells)
        qsort(p->cells, p->ncells, sizeof *p->cells, cell_cmp);
    if ((rc = take_tasks(v, p)) == 0)
        rc = take_modules(v, p);
out:
    free(order);
    free(tmp);
    free(site);
    if (rc < 0) {
        msx_pprof_report_free(p);
        return rc;
    }
    r->pprof = p;
    return 0;
}

void msx_view_pprof_free(msx_view_pprof *v)
{
    free(v->c);
    free(v->e);
    free(v->slot);
    v->c = NULL;
    v->e = NULL;
    v->slot = NULL;
    v->n = v->cap = 0;
    v->slot_cap = 0;
}
