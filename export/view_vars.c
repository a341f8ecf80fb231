/* The per-variable view: what became of the blocks each VAR label named
 * (report.h, msx_var_report). It follows the block events that carry a label
 * (keys.var): LABELED starts a block's membership, a resize or a moving
 * realloc keeps it, a free ends it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "views.h"

void msx_view_vars_init(msx_view_vars *v, msx_report *r)
{
    *v = (msx_view_vars){ .r = r };
}

/* The state of label id, grown as ids appear (they are dense from 1); NULL
 * for 0 or when out of memory (the event is then not counted). */
static msx_var_report *var_of(msx_view_vars *v, uint64_t id)
{
    if (id == 0)
        return NULL;
    if (id > v->n) {
        uint64_t cap = v->n ? v->n : 16;
        while (cap < id)
            cap *= 2;
        msx_var_report *nv = realloc(v->v, cap * sizeof *nv);
        if (!nv)
            return NULL;
        memset(nv + v->n, 0, (cap - v->n) * sizeof *nv);
        v->v = nv;
        v->n = cap;
    }
    return &v->v[id - 1];
}

static void grow(msx_var_report *x, uint64_t bytes, uint64_t time)
{
    x->live_bytes += bytes;
    if (x->live_bytes > x->peak_live_bytes) {
        x->peak_live_bytes = x->live_bytes;
        x->peak_time_ns = time;
    }
}

static void shrink(msx_var_report *x, uint64_t bytes)
{
    x->live_bytes -= bytes < x->live_bytes ? bytes : x->live_bytes;
}

void msx_view_vars_block(msx_view_vars *v, const msx_block_ev *e)
{
    msx_var_report *x;
    switch (e->kind) {
    case MSX_BEV_LABELED:
        if (e->prev.keys.var == e->blk.keys.var)
            return;  /* the same label again */
        if ((x = var_of(v, e->prev.keys.var)) != NULL) {  /* relabelled: leaves the old one */
            x->live_blocks--;
            shrink(x, e->prev.size);
            x->last_time_ns = e->time;
        }
        if (!(x = var_of(v, e->blk.keys.var)))
            return;
        if (x->blocks++ == 0)
            x->first_time_ns = e->time;
        x->bytes_labelled += e->blk.size;
        x->live_blocks++;
        grow(x, e->blk.size, e->time);
        break;
    case MSX_BEV_RESIZED:
        if (!(x = var_of(v, e->blk.keys.var)))
            return;
        x->reallocs++;
        shrink(x, e->prev.size);
        grow(x, e->blk.size, e->time);
        break;
    case MSX_BEV_BORN:  /* a labelled block moved by a realloc (its FREED came first) */
        if (!(x = var_of(v, e->blk.keys.var)))
            return;
        x->live_blocks++;
        grow(x, e->blk.size, e->time);
        break;
    case MSX_BEV_FREED:
        if (!(x = var_of(v, e->blk.keys.var)))
            return;
        x->live_blocks--;
        shrink(x, e->blk.size);
        if (e->flags & MSX_BEVF_REALLOC) {
            x->reallocs++;
        } else {
            x->frees++;
            x->lifetime_ns_total += e->time > e->blk.birth ? e->time - e->blk.birth : 0;
        }
        break;
    default:
        return;  /* SURVIVED: still live, counted already */
    }
    x->last_time_ns = e->time;
}

/* A label with figures, while sorting. */
typedef struct var_ref {
    const msx_var_report *x;
    uint64_t id;
} var_ref;

/* Highest peak first, then the first labelled. */
static int peak_cmp(const void *a, const void *b)
{
    const msx_var_report *x = ((const var_ref *)a)->x, *y = ((const var_ref *)b)->x;
    if (x->peak_live_bytes != y->peak_live_bytes)
        return x->peak_live_bytes > y->peak_live_bytes ? -1 : 1;
    return x->first_time_ns < y->first_time_ns ? -1 : x->first_time_ns > y->first_time_ns;
}

int msx_view_vars_finish(msx_view_vars *v)
{
    msx_report *r = v->r;
    if (v->n == 0 || !v->labels)
        return 0;
    var_ref *refs = malloc(v->n * sizeof *refs);
    if (!refs)
        return -ENOMEM;
    uint64_t used = 0;
    for (uint64_t i = 0; i < v->n; i++)
        if (v->v[i].blocks && msx_labels_get(v->labels, i + 1))
            refs[used++] = (var_ref){ &v->v[i], i + 1 };
    qsort(refs, used, sizeof *refs, peak_cmp);
    uint32_t n = used < MSX_MAX_VARS ? (uint32_t)used : MSX_MAX_VARS;
    r->vars_omitted = used - n;
    r->vars = n ? calloc(n, sizeof *r->vars) : NULL;
    int rc = n && !r->vars ? -ENOMEM : 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const msx_var_label *L = msx_labels_get(v->labels, refs[i].id);
        msx_var_report *x = &r->vars[r->nvars++];
        *x = *refs[i].x;
        x->line = L->line;
        if (msx_str_set(&x->name, L->name.p, L->name.n) < 0 || msx_str_set(&x->type, L->type.p, L->type.n) < 0 ||
            msx_str_set(&x->file, L->file.p, L->file.n) < 0)
            rc = -ENOMEM;
    }
    free(refs);
    return rc;
}

void msx_view_vars_free(msx_view_vars *v)
{
    free(v->v);
    v->v = NULL;
    v->n = 0;
}
