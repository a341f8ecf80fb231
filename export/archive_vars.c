/* The archive's variables (docs/ARCHIVE.md): the per-label "variables" and
 * the per-variable "tracked_variables". See archive.h. */
#include <stdlib.h>

#include "archive.h"

/* Packs the "variables" map: `omitted` and `list`, each a 15-tuple (ARCHIVE.md). */
static void pk_labels(msx_buf *b, const msx_report *r)
{
    pk_key(b, "variables");
    msx_pk_map(b, 2);
    pk_ku(b, "omitted", r->vars_omitted);
    pk_key(b, "list");
    msx_pk_array(b, r->nvars);
    for (uint32_t i = 0; i < r->nvars; i++) {
        const msx_var_report *x = &r->vars[i];
        msx_pk_array(b, 15);
        pk_mstr(b, &x->name);
        pk_mstr(b, &x->type);
        pk_mstr(b, &x->file);
        const uint64_t v[12] = {
            x->line, x->blocks, x->bytes_labelled, x->reallocs, x->frees, x->lifetime_ns_total,
            x->live_blocks, x->live_bytes, x->peak_live_bytes, x->peak_time_ns, x->first_time_ns, x->last_time_ns,
        };
        for (int k = 0; k < 12; k++)
            msx_pk_uint64(b, v[k]);
    }
}

/* Reads the "variables" map (absent in older archives: none labelled). */
static void get_labels(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *m = msx_map_get(root, "variables");
    r->vars_omitted = get_ku(R, m, "omitted");
    const msx_obj *l = get_list(R, m, "list", MSX_MAX_VARS, 15);
    if (!l || !l->n)
        return;
    r->vars = calloc(l->n, sizeof *r->vars);
    if (!r->vars) {
        oom(R);
        return;
    }
    for (uint32_t i = 0; i < l->n && !R->err; i++) {
        const msx_obj *t = &l->v.a[i];
        msx_var_report *x = &r->vars[r->nvars++];
        get_str(R, &x->name, &t->v.a[0], "variable name");
        get_str(R, &x->type, &t->v.a[1], "variable type");
        get_str(R, &x->file, &t->v.a[2], "variable file");
        uint64_t *v[12] = {
            &x->line, &x->blocks, &x->bytes_labelled, &x->reallocs, &x->frees, &x->lifetime_ns_total,
            &x->live_blocks, &x->live_bytes, &x->peak_live_bytes, &x->peak_time_ns, &x->first_time_ns,
            &x->last_time_ns,
        };
        for (uint32_t k = 0; k < 12; k++)
            *v[k] = tu(R, t, 3 + k);
    }
}


/* A tracked variable's flags in the archive. */
enum { ROW_HEAP = 1, ROW_FREED = 2, ROW_RELABELLED = 4, ROW_LEAKED = 8 };
#define ROW_WIDTH 16

/* Packs the "tracked_variables" map: `omitted` and `list`, each a 16-tuple. */
static void pk_rows(msx_buf *b, const msx_report *r)
{
    pk_key(b, "tracked_variables");
    msx_pk_map(b, 2);
    pk_ku(b, "omitted", r->var_rows_omitted);
    pk_key(b, "list");
    msx_pk_array(b, r->nvar_rows);
    for (uint32_t i = 0; i < r->nvar_rows; i++) {
        const msx_var_row *x = &r->var_rows[i];
        msx_pk_array(b, ROW_WIDTH);
        pk_mstr(b, &x->name);
        pk_mstr(b, &x->type);
        pk_mstr(b, &x->file);
        pk_mstr(b, &x->scope);
        uint64_t flags = (x->heap ? ROW_HEAP : 0) | (x->freed ? ROW_FREED : 0) |
                         (x->relabelled ? ROW_RELABELLED : 0) | (x->leaked ? ROW_LEAKED : 0);
        const uint64_t v[ROW_WIDTH - 4] = {
            x->line, flags, x->addr, x->size, x->thread, x->task, x->scope_id, x->alloc_time_ns,
            x->label_time_ns, x->reallocs, x->free_time_ns, x->end_time_ns,
        };
        for (int k = 0; k < ROW_WIDTH - 4; k++)
            msx_pk_uint64(b, v[k]);
    }
}

/* Reads the "tracked_variables" map. */
static void get_rows(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *m = msx_map_get(root, "tracked_variables");
    r->var_rows_omitted = get_ku(R, m, "omitted");
    const msx_obj *l = get_list(R, m, "list", MSX_MAX_VAR_ROWS, ROW_WIDTH);
    if (!l || !l->n)
        return;
    r->var_rows = calloc(l->n, sizeof *r->var_rows);
    if (!r->var_rows) {
        oom(R);
        return;
    }
    for (uint32_t i = 0; i < l->n && !R->err; i++) {
        const msx_obj *t = &l->v.a[i];
        msx_var_row *x = &r->var_rows[r->nvar_rows++];
        get_str(R, &x->name, &t->v.a[0], "tracked variable name");
        get_str(R, &x->type, &t->v.a[1], "tracked variable type");
        get_str(R, &x->file, &t->v.a[2], "tracked variable file");
        get_str(R, &x->scope, &t->v.a[3], "tracked variable scope");
        x->line = tu(R, t, 4);
        uint64_t flags = tu(R, t, 5);
        x->heap = flags & ROW_HEAP;
        x->freed = flags & ROW_FREED;
        x->relabelled = flags & ROW_RELABELLED;
        x->leaked = flags & ROW_LEAKED;
        x->addr = tu(R, t, 6);
        x->size = tu(R, t, 7);
        x->thread = (uint32_t)tu(R, t, 8);
        x->task = tu(R, t, 9);
        x->scope_id = tu(R, t, 10);
        x->alloc_time_ns = tu(R, t, 11);
        x->label_time_ns = tu(R, t, 12);
        x->reallocs = tu(R, t, 13);
        x->free_time_ns = tu(R, t, 14);
        x->end_time_ns = tu(R, t, 15);
    }
}

void msx_ar_pk_vars(msx_buf *b, const msx_report *r)
{
    pk_labels(b, r);
    pk_rows(b, r);
}

void msx_ar_get_vars(rd *R, const msx_obj *root)
{
    get_labels(R, root);
    if (!R->err)
        get_rows(R, root);
}
