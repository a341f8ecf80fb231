/* The tracked-variables view: one row per VAR record that took effect
 * (report.h, msx_var_row). A label of a live block starts a row that follows
 * the block's events (keys.var): a resize or a moving realloc keeps it, a free
 * ends it, a new label of the block ends it and starts the new label's row,
 * and SURVIVED marks it leaked. A VAR record without addr is a named value:
 * a row of its size at once. Each row gets the scope its block was born in
 * (keys.scope on the allocating thread; a value: its thread's scope then),
 * named from the SCOPE_ENTER records seen. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "views.h"

/* -- the uint64 map ------------------------------------------------------- */

static uint64_t slot_of(const msx_u64map *m, uint64_t key)
{
    return (key * UINT64_C(0x9e3779b97f4a7c15)) >> 17 & (m->cap - 1);
}

/* The value of key (non-zero), 0 if absent. */
static uint64_t map_get(const msx_u64map *m, uint64_t key)
{
    if (!m->cap)
        return 0;
    for (uint64_t i = slot_of(m, key); m->k[i]; i = (i + 1) & (m->cap - 1))
        if (m->k[i] == key)
            return m->v[i];
    return 0;
}

/* Sets key (non-zero) to val. Returns 0 or -ENOMEM. */
static int map_put(msx_u64map *m, uint64_t key, uint64_t val)
{
    if (2 * (m->n + 1) > m->cap) {
        msx_u64map g = { .cap = m->cap ? 2 * m->cap : 64 };
        g.k = calloc(g.cap, sizeof *g.k);
        g.v = calloc(g.cap, sizeof *g.v);
        if (!g.k || !g.v) {
            free(g.k);
            free(g.v);
            return -ENOMEM;
        }
        for (uint64_t i = 0; i < m->cap; i++)
            if (m->k[i])
                (void)map_put(&g, m->k[i], m->v[i]);
        free(m->k);
        free(m->v);
        *m = g;
    }
    uint64_t i = slot_of(m, key);
    while (m->k[i] && m->k[i] != key)
        i = (i + 1) & (m->cap - 1);
    m->n += m->k[i] == 0;
    m->k[i] = key;
    m->v[i] = val;
    return 0;
}

/* Removes key; returns its value, 0 if absent. */
static uint64_t map_take(msx_u64map *m, uint64_t key)
{
    if (!m->cap)
        return 0;
    uint64_t mask = m->cap - 1, i = slot_of(m, key);
    while (m->k[i] && m->k[i] != key)
        i = (i + 1) & mask;
    if (!m->k[i])
        return 0;
    uint64_t val = m->v[i];
    /* backward shift: move up each later entry whose home is not between */
    for (uint64_t j = (i + 1) & mask; m->k[j]; j = (j + 1) & mask) {
        uint64_t h = slot_of(m, m->k[j]);
        if (((j - h) & mask) >= ((j - i) & mask)) {
            m->k[i] = m->k[j];
            m->v[i] = m->v[j];
            i = j;
        }
    }
    m->k[i] = 0;
    m->n--;
    return val;
}

static void map_free(msx_u64map *m)
{
    free(m->k);
    free(m->v);
    *m = (msx_u64map){ 0 };
}

/* -- the view ------------------------------------------------------------- */

void msx_view_var_rows_init(msx_view_var_rows *v, msx_report *r)
{
    *v = (msx_view_var_rows){ .r = r };
}

/* The key of scope id on thread index t. */
static uint64_t scope_key(uint32_t t, uint64_t id)
{
    return ((uint64_t)t << 40 ^ id) + 1; /* never 0; ids past 2^40 may share names */
}

/* A new row for label id; NULL when out of memory (the row is not counted). */
static msx_var_row *row_new(msx_view_var_rows *v, uint64_t label, uint32_t thread, uint64_t scope)
{
    if (v->n == v->cap) {
        uint64_t cap = v->cap ? 2 * v->cap : 16;
        msx_var_row *nr = realloc(v->row, cap * sizeof *nr);
        if (nr)
            v->row = nr;
        uint64_t *nl = nr ? realloc(v->label, cap * sizeof *nl) : NULL;
        if (nl)
            v->label = nl;
        uint64_t *ns = nl ? realloc(v->scope_name, cap * sizeof *ns) : NULL;
        if (!ns)
            return NULL;
        v->scope_name = ns;
        v->cap = cap;
    }
    v->label[v->n] = label;
    v->scope_name[v->n] = scope ? map_get(&v->scopes, scope_key(thread, scope)) : 0;
    msx_var_row *x = &v->row[v->n++];
    *x = (msx_var_row){ .scope_id = scope };
    return x;
}

/* The row of the live labelled block at addr, NULL if none. */
static msx_var_row *row_at(msx_view_var_rows *v, uint64_t addr)
{
    uint64_t i = map_get(&v->live, addr);
    return i ? &v->row[i - 1] : NULL;
}

void msx_view_var_rows_block(msx_view_var_rows *v, const msx_block_ev *e)
{
    msx_var_row *x;
    switch (e->kind) {
    case MSX_BEV_LABELED: {
        if (e->prev.keys.var == e->blk.keys.var)
            return; /* the same label again: the row goes on */
        uint64_t old = map_take(&v->live, e->blk.addr);
        if (old) {
            v->row[old - 1].relabelled = true;
            v->row[old - 1].end_time_ns = e->time;
        }
        if (!(x = row_new(v, e->blk.keys.var, e->blk.thread, e->blk.keys.scope)))
            return;
        x->heap = true;
        x->addr = e->blk.addr;
        x->size = e->blk.size;
        x->thread = e->blk.serial;
        x->task = e->blk.keys.task;
        x->alloc_time_ns = e->blk.birth;
        x->label_time_ns = e->time;
        if (map_put(&v->live, e->blk.addr, v->n) < 0)
            v->n--; /* out of memory: the row is not kept */
        return;
    }
    case MSX_BEV_RESIZED:
        if ((x = row_at(v, e->blk.addr)) != NULL) {
            x->size = e->blk.size;
            x->reallocs++;
        }
        return;
    case MSX_BEV_FREED: {
        uint64_t i = map_take(&v->live, e->blk.addr);
        if (!i)
            return;
        x = &v->row[i - 1];
        if (e->flags & MSX_BEVF_REALLOC) {
            x->reallocs++;
            v->moving = i; /* its BORN comes next */
        } else {
            x->freed = true;
            x->free_time_ns = e->time;
        }
        return;
    }
    case MSX_BEV_BORN:
        if (v->moving && e->blk.keys.var && map_put(&v->live, e->blk.addr, v->moving) == 0)
            v->row[v->moving - 1].size = e->blk.size;
        v->moving = 0;
        return;
    case MSX_BEV_SURVIVED:
        if ((x = row_at(v, e->blk.addr)) != NULL) {
            x->leaked = true;
            x->size = e->blk.size;
        }
        return;
    }
}

int msx_view_var_rows_control(msx_view_var_rows *v, const msx_ctl_ev *e)
{
    if (e->kind != MSX_CTL_RECORD || (e->type != MSF_R_VAR && e->type != MSF_R_SCOPE_ENTER) ||
        e->obj->type != MSX_MAP)
        return 0;
    if (e->type == MSF_R_SCOPE_ENTER) {
        const msx_obj *id = msx_map_get(e->obj, MSF_KEY_ID);
        if (!id || id->type != MSX_UINT || id->v.u == 0)
            return 0;
        uint64_t name = msx_labels_intern(&v->scope_names, e->obj);
        return name ? map_put(&v->scopes, scope_key(e->actor, id->v.u), name) : -ENOMEM;
    }
    /* a named value: a VAR record with a size and no addr */
    const msx_obj *size = msx_map_get(e->obj, MSF_KEY_SIZE);
    if (msx_map_get(e->obj, MSF_KEY_ADDR) || !size || size->type != MSX_UINT)
        return 0;
    uint64_t label = msx_labels_intern(&v->value_names, e->obj);
    if (!label)
        return -ENOMEM;
    msx_var_row *x = row_new(v, label, e->actor, e->scope);
    if (!x)
        return -ENOMEM;
    x->size = size->v.u;
    x->thread = e->actor < v->r->nthreads ? v->r->threads[e->actor].id : 0;
    x->task = e->task;
    x->alloc_time_ns = x->label_time_ns = e->time;
    return 0;
}

int msx_view_var_rows_finish(msx_view_var_rows *v)
{
    msx_report *r = v->r;
    if (v->n == 0)
        return 0;
    uint32_t n = v->n < MSX_MAX_VAR_ROWS ? (uint32_t)v->n : MSX_MAX_VAR_ROWS;
    r->var_rows_omitted = v->n - n;
    r->var_rows = calloc(n, sizeof *r->var_rows);
    if (!r->var_rows)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        msx_var_row *x = &r->var_rows[r->nvar_rows++];
        *x = v->row[i];
        const msx_var_label *L = msx_labels_get(x->heap ? v->labels : &v->value_names, v->label[i]);
        const msx_var_label *S = msx_labels_get(&v->scope_names, v->scope_name[i]);
        x->line = L ? L->line : 0;
        if (!L && (msx_str_set(&x->name, "", 0) < 0 || msx_str_set(&x->type, "", 0) < 0 ||
                   msx_str_set(&x->file, "", 0) < 0))
            return -ENOMEM;
        if ((L && (msx_str_set(&x->name, L->name.p, L->name.n) < 0 ||
                   msx_str_set(&x->type, L->type.p, L->type.n) < 0 ||
                   msx_str_set(&x->file, L->file.p, L->file.n) < 0)) ||
            msx_str_set(&x->scope, S ? S->name.p : "", S ? S->name.n : 0) < 0)
            return -ENOMEM;
    }
    return 0;
}

void msx_view_var_rows_free(msx_view_var_rows *v)
{
    free(v->row);
    free(v->label);
    free(v->scope_name);
    map_free(&v->live);
    map_free(&v->scopes);
    msx_labels_free(&v->scope_names);
    msx_labels_free(&v->value_names);
    *v = (msx_view_var_rows){ .r = v->r };
}
