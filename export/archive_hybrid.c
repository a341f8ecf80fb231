/* The "hybrid" member of the archive (docs/ARCHIVE.md): packed and read
 * here, called from archive.c. Packing uses msgpack-c's header-only
 * pack_template.h with an msx_buf as output, as archive.c does; reading
 * checks every type and bound, as a corrupt archive must never crash. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack/pack_define.h>
#include <msgpack/timestamp.h>

#include "buf.h"
#include "export.h"
#include "mpk.h"

/* The template's output callback: appends to the buffer (errors stay in b->err). */
static inline int hy_pk_append(msx_buf *b, const void *p, size_t n)
{
    msx_buf_put(b, p, n);
    return 0;
}

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#define msgpack_pack_inline_func(name) static inline int hy_pk##name
#define msgpack_pack_inline_func_cint(name) static inline int hy_pk##name
#define msgpack_pack_inline_func_fixint(name) static inline int hy_pk_fix##name
#define msgpack_pack_user msx_buf *
#define msgpack_pack_append_buffer(user, buf, len) return hy_pk_append(user, buf, len)
#define msgpack_pack_ext hy_pk_ext
#include <msgpack/pack_template.h>
#undef msgpack_pack_inline_func_cint
#undef msgpack_pack_ext
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static void key(msx_buf *b, const char *k)
{
    size_t n = strlen(k);
    hy_pk_str(b, n);
    hy_pk_str_body(b, k, n);
}

static void ku(msx_buf *b, const char *k, uint64_t v)
{
    key(b, k);
    hy_pk_uint64(b, v);
}

/* Packs rows of variables as 6-tuples. */
static void pk_vars(msx_buf *b, const msx_hybrid_vars *v, uint32_t n)
{
    hy_pk_array(b, n);
    for (uint32_t i = 0; i < n; i++) {
        hy_pk_array(b, 6);
        const uint64_t f[6] = { v[i].id, v[i].variables, v[i].blocks, v[i].bytes_labelled, v[i].live_blocks,
                                v[i].live_bytes };
        for (int k = 0; k < 6; k++)
            hy_pk_uint64(b, f[k]);
    }
}

void msx_archive_pack_hybrid(msx_buf *b, const msx_report *r)
{
    const msx_hybrid_report *h = &r->hybrid;
    key(b, "hybrid");
    hy_pk_map(b, 12);
    key(b, "rows");
    hy_pk_array(b, h->nrows);
    for (uint32_t i = 0; i < h->nrows; i++)
        hy_pk_uint64(b, h->rows[i]);
    ku(b, "rows_other", h->rows_other);
    key(b, "cols");
    hy_pk_array(b, h->ncols);
    for (uint32_t i = 0; i < h->ncols; i++)
        hy_pk_uint64(b, h->cols[i]);
    ku(b, "cols_other", h->cols_other);
    size_t ncells = h->cells ? (size_t)msx_hybrid_nrows(h) * msx_hybrid_ncols(h) : 0;
    key(b, "cells");
    hy_pk_array(b, ncells);
    for (size_t i = 0; i < ncells; i++) {
        hy_pk_array(b, 3);
        hy_pk_uint64(b, h->cells[i].allocations);
        hy_pk_uint64(b, h->cells[i].bytes);
        hy_pk_uint64(b, h->cells[i].live_bytes);
    }
    key(b, "lanes");
    hy_pk_array(b, h->nlanes);
    for (uint32_t i = 0; i < h->nlanes; i++) {
        const msx_hybrid_lane *l = &h->lanes[i];
        hy_pk_array(b, 3);
        hy_pk_uint64(b, l->thread);
        hy_pk_uint64(b, l->spans_omitted);
        hy_pk_array(b, l->nspans);
        for (uint32_t k = 0; k < l->nspans; k++) {
            hy_pk_array(b, 3);
            hy_pk_uint64(b, l->spans[k].task);
            hy_pk_uint64(b, l->spans[k].start_ns);
            hy_pk_uint64(b, l->spans[k].end_ns);
        }
    }
    ku(b, "lanes_omitted", h->lanes_omitted);
    ku(b, "lane_spans_omitted", h->lane_spans_omitted);
    key(b, "by_thread");
    pk_vars(b, h->by_thread, h->nby_thread);
    ku(b, "by_thread_omitted", h->by_thread_omitted);
    key(b, "by_task");
    pk_vars(b, h->by_task, h->nby_task);
    ku(b, "by_task_omitted", h->by_task_omitted);
}

/* -- reading -------------------------------------------------------------- */

/* A uint object's value; *bad set for anything else (nil: 0). */
static uint64_t uint_of(const msx_obj *o, const char **bad, const char *what)
{
    if (!o || o->type == MSX_NIL)
        return 0;
    if (o->type != MSX_UINT) {
        *bad = what;
        return 0;
    }
    return o->v.u;
}

/* map[k] as an array of at most max items, each a tuple of width items if
 * width > 0; NULL if missing; *bad set if malformed. */
static const msx_obj *list_of(const msx_obj *map, const char *k, uint64_t max, uint32_t width, const char **bad)
{
    const msx_obj *o = msx_map_get(map, k);
    if (!o)
        return NULL;
    if (o->type != MSX_ARRAY || o->n > max) {
        *bad = k;
        return NULL;
    }
    for (uint32_t i = 0; width && i < o->n; i++)
        if (o->v.a[i].type != MSX_ARRAY || o->v.a[i].n != width) {
            *bad = k;
            return NULL;
        }
    return o;
}

/* Reads rows of variables. Returns 0, -EINVAL (*bad set) or -ENOMEM. */
static int get_vars(const msx_obj *m, const char *k, msx_hybrid_vars **out, uint32_t *n, const char **bad)
{
    const msx_obj *l = list_of(m, k, MSX_HYBRID_VAR_ROWS, 6, bad);
    if (*bad)
        return -EINVAL;
    if (!l || !l->n)
        return 0;
    if (!(*out = calloc(l->n, sizeof **out)))
        return -ENOMEM;
    *n = l->n;
    for (uint32_t i = 0; i < l->n; i++) {
        const msx_obj *t = l->v.a[i].v.a;
        msx_hybrid_vars *v = &(*out)[i];
        uint64_t *f[6] = { &v->id, &v->variables, &v->blocks, &v->bytes_labelled, &v->live_blocks, &v->live_bytes };
        for (int j = 0; j < 6; j++)
            *f[j] = uint_of(&t[j], bad, k);
    }
    return *bad ? -EINVAL : 0;
}

int msx_archive_get_hybrid(const msx_obj *root, msx_report *r, const char **bad)
{
    msx_hybrid_report *h = &r->hybrid;
    *bad = NULL;
    const msx_obj *m = msx_map_get(root, "hybrid");
    if (!m)
        return 0;  /* an archive written before it */
    if (m->type != MSX_MAP) {
        *bad = "hybrid";
        return -EINVAL;
    }
    const msx_obj *rows = list_of(m, "rows", MSX_HYBRID_THREADS, 0, bad);
    const msx_obj *cols = list_of(m, "cols", MSX_HYBRID_TASKS + 1, 0, bad);
    if (*bad)
        return -EINVAL;
    for (uint32_t i = 0; rows && i < rows->n; i++) {
        uint64_t id = uint_of(&rows->v.a[i], bad, "rows");
        h->rows[h->nrows++] = id > UINT32_MAX ? (*bad = "rows", 0) : (uint32_t)id;
    }
    for (uint32_t i = 0; cols && i < cols->n; i++)
        h->cols[h->ncols++] = uint_of(&cols->v.a[i], bad, "cols");
    h->rows_other = uint_of(msx_map_get(m, "rows_other"), bad, "rows_other");
    h->cols_other = uint_of(msx_map_get(m, "cols_other"), bad, "cols_other");
    if (*bad)
        return -EINVAL;
    size_t ncells = (size_t)msx_hybrid_nrows(h) * msx_hybrid_ncols(h);
    const msx_obj *cells = list_of(m, "cells", ncells, 3, bad);
    if (*bad || (cells ? cells->n : 0) != ncells) {  /* the JSON reads every cell of the shape */
        *bad = "cells";
        return -EINVAL;
    }
    if (ncells) {
        if (!(h->cells = calloc(ncells, sizeof *h->cells)))
            return -ENOMEM;
        for (size_t i = 0; i < ncells; i++) {
            const msx_obj *t = cells->v.a[i].v.a;
            h->cells[i] = (msx_hybrid_cell){ uint_of(&t[0], bad, "cells"), uint_of(&t[1], bad, "cells"),
                                             uint_of(&t[2], bad, "cells") };
        }
    }
    const msx_obj *lanes = list_of(m, "lanes", MSX_HYBRID_THREADS, 3, bad);
    for (uint32_t i = 0; lanes && i < lanes->n && !*bad; i++) {
        const msx_obj *t = lanes->v.a[i].v.a;
        const msx_obj *sp = &t[2];
        if (sp->type != MSX_ARRAY || sp->n > MSX_HYBRID_SPANS) {
            *bad = "lanes";
            break;
        }
        msx_hybrid_lane *l = &h->lanes[h->nlanes++];
        uint64_t th = uint_of(&t[0], bad, "lanes");
        l->thread = th > UINT32_MAX ? (*bad = "lanes", 0) : (uint32_t)th;
        l->spans_omitted = uint_of(&t[1], bad, "lanes");
        if (sp->n && !(l->spans = calloc(sp->n, sizeof *l->spans)))
            return -ENOMEM;
        for (uint32_t k = 0; k < sp->n && !*bad; k++) {
            const msx_obj *s = &sp->v.a[k];
            if (s->type != MSX_ARRAY || s->n != 3) {
                *bad = "lanes";
                break;
            }
            l->spans[l->nspans++] = (msx_hybrid_span){ uint_of(&s->v.a[0], bad, "lanes"),
                                                       uint_of(&s->v.a[1], bad, "lanes"),
                                                       uint_of(&s->v.a[2], bad, "lanes") };
        }
    }
    h->lanes_omitted = uint_of(msx_map_get(m, "lanes_omitted"), bad, "lanes_omitted");
    h->lane_spans_omitted = uint_of(msx_map_get(m, "lane_spans_omitted"), bad, "lane_spans_omitted");
    h->by_thread_omitted = uint_of(msx_map_get(m, "by_thread_omitted"), bad, "by_thread_omitted");
    h->by_task_omitted = uint_of(msx_map_get(m, "by_task_omitted"), bad, "by_task_omitted");
    if (*bad)
        return -EINVAL;
    int rc = get_vars(m, "by_thread", &h->by_thread, &h->nby_thread, bad);
    if (rc == 0)
        rc = get_vars(m, "by_task", &h->by_task, &h->nby_task, bad);
    return rc;
}
