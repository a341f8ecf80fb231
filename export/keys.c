/* Variable labels and scope stacks (see keys.h). */
#include "keys.h"

#include <stdlib.h>
#include <string.h>

/* The bytes of a STR or BIN object; anything else (or NULL) is empty. */
static void obj_bytes(const msx_obj *o, const char **p, uint32_t *n)
{
    bool str = o && (o->type == MSX_STR || o->type == MSX_BIN);
    *p = str ? o->v.s : "";
    *n = str ? o->n : 0;
}

/* FNV-1a of n bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* Inserts label id into the id table (which has a free entry). */
static void index_label(msx_labels *L, uint64_t id)
{
    uint64_t mask = 2 * L->cap - 1;
    uint64_t i = L->v[id - 1].hash & mask;
    while (L->ids[i])
        i = (i + 1) & mask;
    L->ids[i] = id;
}

uint64_t msx_labels_intern(msx_labels *L, const msx_obj *o)
{
    const char *f[3];
    uint32_t n[3];
    obj_bytes(msx_map_get(o, MSF_KEY_NAME), &f[0], &n[0]);
    obj_bytes(msx_map_get(o, MSF_KEY_TYPE), &f[1], &n[1]);
    obj_bytes(msx_map_get(o, MSF_KEY_FILE), &f[2], &n[2]);
    uint64_t line = msx_map_uint(o, MSF_KEY_LINE, 0);
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (int k = 0; k < 3; k++)
        h = fnv(fnv(h, &n[k], sizeof n[k]), f[k], n[k]);
    h = fnv(h, &line, sizeof line);
    if (L->n == L->cap) {
        uint64_t cap = L->cap ? 2 * L->cap : 16;
        msx_var_label *v = realloc(L->v, cap * sizeof *v);
        if (!v)
            return 0;
        L->v = v;
        uint64_t *ids = calloc(2 * cap, sizeof *ids);
        if (!ids)
            return 0;
        free(L->ids);
        L->ids = ids;
        L->cap = cap;
        for (uint64_t id = 1; id <= L->n; id++)
            index_label(L, id);
    }
    uint64_t mask = 2 * L->cap - 1;
    for (uint64_t i = h & mask; L->ids[i]; i = (i + 1) & mask) {
        const msx_var_label *l = &L->v[L->ids[i] - 1];
        if (l->hash == h && l->line == line && l->name.n == n[0] && l->type.n == n[1] && l->file.n == n[2] &&
            !memcmp(l->name.p, f[0], n[0]) && !memcmp(l->type.p, f[1], n[1]) && !memcmp(l->file.p, f[2], n[2]))
            return L->ids[i];
    }
    msx_var_label *l = &L->v[L->n];
    *l = (msx_var_label){ .line = line, .hash = h };
    if (msx_str_set(&l->name, f[0], n[0]) < 0 || msx_str_set(&l->type, f[1], n[1]) < 0 ||
        msx_str_set(&l->file, f[2], n[2]) < 0) {
        free(l->name.p);
        free(l->type.p);
        return 0;
    }
    uint64_t id = ++L->n;
    index_label(L, id);
    return id;
}

const msx_var_label *msx_labels_get(const msx_labels *L, uint64_t id)
{
    return id && id <= L->n ? &L->v[id - 1] : NULL;
}

void msx_labels_free(msx_labels *L)
{
    for (uint64_t i = 0; i < L->n; i++) {
        free(L->v[i].name.p);
        free(L->v[i].type.p);
        free(L->v[i].file.p);
    }
    free(L->v);
    free(L->ids);
    *L = (msx_labels){ 0 };
}

bool msx_scopes_enter(msx_scopes *S, uint64_t id)
{
    if (S->n == S->cap) {
        uint32_t cap = S->cap ? 2 * S->cap : 8;
        uint64_t *s = realloc(S->id, cap * sizeof *s);
        if (!s)
            return false;
        S->id = s;
        S->cap = cap;
    }
    S->id[S->n++] = id;
    return true;
}

void msx_scopes_leave(msx_scopes *S, uint64_t id)
{
    for (uint32_t i = S->n; i-- > 0;)
        if (S->id[i] == id) {
            S->n = i;
            return;
        }
}

void msx_scopes_free(msx_scopes *S)
{
    free(S->id);
    *S = (msx_scopes){ 0 };
}
