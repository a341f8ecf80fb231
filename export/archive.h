/* What the archive's two files (archive.c: the report but its variables;
 * archive_vars.c: the variables and the tracked variables) share: the
 * packer (msgpack-c's pack_template.h writing into an msx_buf), the small
 * packing and reading helpers, and the reading state. Internal to them. */
#ifndef MSX_ARCHIVE_H
#define MSX_ARCHIVE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <msgpack/pack_define.h>
#include <msgpack/timestamp.h>

#include "buf.h"
#include "export.h"
#include "mpk.h"

/* -- packing -------------------------------------------------------------- */

/* The template's output callback: appends to the buffer (errors stay in b->err). */
static inline int msx_pk_append(msx_buf *b, const void *p, size_t n)
{
    msx_buf_put(b, p, n);
    return 0;
}

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#define msgpack_pack_inline_func(name) static inline int msx_pk##name
#define msgpack_pack_inline_func_cint(name) static inline int msx_pk##name
#define msgpack_pack_inline_func_fixint(name) static inline int msx_pk_fix##name
#define msgpack_pack_user msx_buf *
#define msgpack_pack_append_buffer(user, buf, len) return msx_pk_append(user, buf, len)
#define msgpack_pack_ext msx_pk_ext
#include <msgpack/pack_template.h>
#undef msgpack_pack_inline_func_cint
#undef msgpack_pack_ext
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* Packs a NUL-terminated key. */
static inline void pk_key(msx_buf *b, const char *k)
{
    size_t n = strlen(k);
    msx_pk_str(b, n);
    msx_pk_str_body(b, k, n);
}

/* Packs a report string. */
static inline void pk_mstr(msx_buf *b, const msx_str *s)
{
    msx_pk_str(b, s->n);
    msx_pk_str_body(b, s->p ? s->p : "", s->n);
}

/* Packs `key: uint`. */
static inline void pk_ku(msx_buf *b, const char *k, uint64_t v)
{
    pk_key(b, k);
    msx_pk_uint64(b, v);
}

/* Packs a list of uints as one array (a tuple). */
static inline void pk_tuple(msx_buf *b, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    msx_pk_array(b, (size_t)n);
    for (int i = 0; i < n; i++)
        msx_pk_uint64(b, va_arg(ap, uint64_t));
    va_end(ap);
}

/* -- reading -------------------------------------------------------------- */

/* Reading state: the report being filled and the first error. */
typedef struct rd {
    msx_report *r;
    const char *path;
    int err;
    char *errbuf;
    size_t errlen;
} rd;

/* Records the first error: the field `what` does not hold what it should. */
static inline void bad(rd *R, const char *what)
{
    if (R->err)
        return;
    R->err = -EINVAL;
    if (R->errlen)
        snprintf(R->errbuf, R->errlen, "%s: corrupt archive: bad \"%s\"", R->path, what);
}

/* Records an out-of-memory error. */
static inline void oom(rd *R)
{
    if (R->err)
        return;
    R->err = -ENOMEM;
    if (R->errlen)
        snprintf(R->errbuf, R->errlen, "%s: out of memory", R->path);
}

/* Reads a uint (nil: 0); a wrong type is an error. */
static inline uint64_t get_u(rd *R, const msx_obj *o, const char *what)
{
    if (!o || o->type == MSX_NIL)
        return 0;
    if (o->type != MSX_UINT) {
        bad(R, what);
        return 0;
    }
    return o->v.u;
}

/* Reads map[key] as a uint (missing: 0). */
static inline uint64_t get_ku(rd *R, const msx_obj *map, const char *key)
{
    return get_u(R, msx_map_get(map, key), key);
}

/* Reads map[key] as a boolean (missing: false). */
static inline bool get_kb(rd *R, const msx_obj *map, const char *key)
{
    const msx_obj *o = msx_map_get(map, key);
    if (!o)
        return false;
    if (o->type != MSX_BOOL) {
        bad(R, key);
        return false;
    }
    return o->v.b;
}

/* Copies a string object (missing: empty). */
static inline void get_str(rd *R, msx_str *s, const msx_obj *o, const char *what)
{
    if (o && o->type != MSX_STR && o->type != MSX_BIN) {
        bad(R, what);
        return;
    }
    if (msx_str_set(s, o ? o->v.s : "", o ? o->n : 0) < 0)
        oom(R);
}

/* Returns map[key] if it is an array (at most max items, and each a tuple of
 * `width` items when width > 0), NULL if missing; an error otherwise. */
static inline const msx_obj *get_list(rd *R, const msx_obj *map, const char *key, uint32_t max, uint32_t width)
{
    const msx_obj *o = msx_map_get(map, key);
    if (!o)
        return NULL;
    if (o->type != MSX_ARRAY || (max && o->n > max)) {
        bad(R, key);
        return NULL;
    }
    for (uint32_t i = 0; width && i < o->n; i++)
        if (o->v.a[i].type != MSX_ARRAY || o->v.a[i].n != width) {
            bad(R, key);
            return NULL;
        }
    return o;
}

/* Reads item i of a tuple as a uint. */
static inline uint64_t tu(rd *R, const msx_obj *t, uint32_t i)
{
    return get_u(R, &t->v.a[i], "tuple item");
}

/* archive_vars.c */
/* Packs the "variables" and "tracked_variables" maps (ARCHIVE.md). */
void msx_ar_pk_vars(msx_buf *b, const msx_report *r);
/* Reads them (each absent in older archives: none). */
void msx_ar_get_vars(rd *R, const msx_obj *root);
/* archive_snaps.c: the "snapshots" map (absent in older archives: none). */
void msx_ar_pk_snaps(msx_buf *b, const msx_report *r);
void msx_ar_get_snaps(rd *R, const msx_obj *root);

/* archive_sites.c: the "sites" map (absent in older archives: no sites);
 * read after the leaks and the peak's largest blocks. */
void msx_ar_pk_sites(msx_buf *b, const msx_report *r);
void msx_ar_get_sites(rd *R, const msx_obj *root);
/* archive_est.c */
void msx_ar_pk_est(msx_buf *b, const msx_report *r);
void msx_ar_get_est(rd *R, const msx_obj *root);

#endif /* MSX_ARCHIVE_H */
