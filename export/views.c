/* The fixed list of views (see views.h): setup, control dispatch, finishing,
 * and the helpers several views share. */
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int msx_str_take(msx_str *s, const msx_obj *o)
{
    if (!o || (o->type != MSX_STR && o->type != MSX_BIN))
        return 0;
    return msx_str_set(s, o->v.s, o->n);
}

int msx_idset_add(msx_idset *s, uint64_t key)
{
    if ((s->n + 1) * 2 > s->cap) {
        uint64_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *k = calloc(cap, sizeof *k);
        if (!k)
            return -ENOMEM;
        for (uint64_t i = 0; i < s->cap; i++) {
            if (!s->k[i])
                continue;
            uint64_t j = (s->k[i] * UINT64_C(0x9E3779B97F4A7C15)) & (cap - 1);
            while (k[j])
                j = (j + 1) & (cap - 1);
            k[j] = s->k[i];
        }
        free(s->k);
        s->k = k;
        s->cap = cap;
    }
    uint64_t j = (key * UINT64_C(0x9E3779B97F4A7C15)) & (s->cap - 1);
    while (s->k[j]) {
        if (s->k[j] == key)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->k[j] = key;
    s->n++;
    return 1;
}

void msx_topn_push(msx_topn *h, const msx_block *blk)
{
    msx_block *b = h->b;
    if (h->n == h->cap) {
        if (blk->size < b[0].size || (blk->size == b[0].size && blk->addr >= b[0].addr))
            return;
        b[0] = *blk;
        uint32_t i = 0;
        for (;;) {  /* sift down */
            uint32_t l = 2 * i + 1, m = i;
            if (l < h->n && (b[l].size < b[m].size || (b[l].size == b[m].size && b[l].addr > b[m].addr)))
                m = l;
            if (l + 1 < h->n && (b[l + 1].size < b[m].size || (b[l + 1].size == b[m].size && b[l + 1].addr > b[m].addr)))
                m = l + 1;
            if (m == i)
                return;
            msx_block t = b[i]; b[i] = b[m]; b[m] = t;
            i = m;
        }
    }
    uint32_t i = h->n++;
    b[i] = *blk;
    while (i) {  /* sift up */
        uint32_t p = (i - 1) / 2;
        if (b[p].size < b[i].size || (b[p].size == b[i].size && b[p].addr > b[i].addr))
            break;
        msx_block t = b[i]; b[i] = b[p]; b[p] = t;
        i = p;
    }
}

/* Orders blocks largest first, then by address. */
static int block_cmp(const void *a, const void *b)
{
    const msx_block *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void msx_blocks_sort(msx_block *b, uint32_t n)
{
    qsort(b, n, sizeof *b, block_cmp);
}

int msx_views_init(msx_views *V, msx_report *r, const msx_reader *R)
{
    memset(V, 0, sizeof *V);
    if (msx_view_threads_init(&V->threads, r, R) < 0 || msx_view_totals_init(&V->totals, r, R) < 0 ||
        msx_view_sizes_init(&V->sizes, r) < 0 || msx_view_peak_init(&V->peak, r) < 0 ||
        msx_view_tasks_init(&V->tasks, r, R) < 0)
        return -ENOMEM;
    msx_view_leaks_init(&V->leaks, r);
    msx_view_process_init(&V->process, r, R);
    msx_view_vars_init(&V->vars, r);
    msx_view_hybrid_init(&V->hybrid, r, R);
    V->hybrid.internal = V->threads.internal;
    msx_view_var_rows_init(&V->var_rows, r);
    msx_view_stacks_init(&V->stacks);
    V->stacks.R = (msx_reader *)R;  /* problems only */
    if (msx_view_sites_init(&V->sites, r) < 0)
        return -ENOMEM;
    V->sites.stacks = &V->stacks;
    V->sites.peak = &V->peak;
    V->sites.sizes = &V->sizes;
    V->sites.on = R->stack_depth > 0;
    V->leaks.stacks = &V->stacks;
    msx_view_pprof_init(&V->pprof, r);
    V->pprof.stacks = &V->stacks;
    V->pprof.peak = &V->peak;
    V->pprof.tasks = &V->tasks;
    V->peak.stacks = &V->stacks;
    msx_view_counters_init(&V->counters, r, R);
    return msx_view_est_init(&V->est, r);
}

int msx_views_control(msx_views *V, const msx_ctl_ev *e)
{
    if (msx_view_totals_control(&V->totals, e) < 0 || msx_view_threads_control(&V->threads, e) < 0 ||
        msx_view_process_control(&V->process, e) < 0 || msx_view_tasks_control(&V->tasks, e) < 0 ||
        msx_view_hybrid_control(&V->hybrid, e) < 0 || msx_view_var_rows_control(&V->var_rows, e) < 0)
        return -ENOMEM;
    if (e->kind == MSX_CTL_RECORD && (e->type == MSF_R_STACK || e->type == MSF_R_MODULES)) {
        if (msx_view_stacks_control(&V->stacks, e) < 0 || msx_view_sites_grow(&V->sites) < 0)
            return -ENOMEM;
        V->sites.on |= V->stacks.n != 0;
    }
    return 0;
}

int msx_views_finish(msx_views *V, uint64_t end)
{
    if (msx_view_cuts_finish(V, end) < 0)  /* first: before any view finishes */
        return -ENOMEM;
    msx_view_leaks_finish(&V->leaks);
    msx_view_peak_finish(&V->peak);
    msx_view_stacks_finish(&V->stacks);
    if (msx_view_sites_finish(&V->sites) < 0 || msx_view_pprof_finish(&V->pprof) < 0)
        return -ENOMEM;
    msx_view_process_finish(&V->process);
    msx_view_totals_finish(&V->totals, end);
    if (msx_view_vars_finish(&V->vars) < 0 || msx_view_var_rows_finish(&V->var_rows) < 0 ||
        msx_view_tasks_finish(&V->tasks) < 0)
        return -ENOMEM;
    int rc = msx_view_hybrid_finish(&V->hybrid);
    if (rc == 0)
        rc = msx_view_counters_finish(&V->counters);
    if (rc == 0)
        rc = msx_view_est_finish(&V->est); /* in place of the sample figures */
    msx_view_threads_finish(&V->threads); /* last: it renumbers r->threads */
    return rc;
}

void msx_views_free(msx_views *V)
{
    msx_view_sizes_free(&V->sizes);
    msx_view_threads_free(&V->threads);
    msx_view_peak_free(&V->peak);
    msx_view_process_free(&V->process);
    msx_view_tasks_free(&V->tasks);
    msx_view_vars_free(&V->vars);
    msx_view_hybrid_free(&V->hybrid);
    msx_view_var_rows_free(&V->var_rows);
    msx_view_sites_free(&V->sites);
    msx_view_stacks_free(&V->stacks);
    msx_view_est_free(&V->est);
    msx_view_pprof_free(&V->pprof);
    msx_view_counters_free(&V->counters);
}
