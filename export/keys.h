/* Block keys that need state of their own in the merge: variable labels
 * (VAR records), interned to ids, and each thread's stack of open scopes
 * (SCOPE_ENTER / SCOPE_LEAVE). The keys themselves are msx_keys (livemap.h). */
#ifndef MSX_KEYS_H
#define MSX_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "mpk.h"
#include "report.h"

/* A variable label (VAR record): keys.var of a block is its id, 1-based. */
typedef struct msx_var_label {
    msx_str name, type, file;  /* empty if the record lacks them */
    uint64_t line;
    uint64_t hash;             /* of the four fields, for the id table */
} msx_var_label;

/* The labels seen so far. ids: open addressing by hash, 2 * cap entries, each
 * a label id or 0 (empty); at most half full. */
typedef struct msx_labels {
    msx_var_label *v;          /* id i at v[i - 1] */
    uint64_t n, cap;
    uint64_t *ids;
} msx_labels;

/* The id of the label of VAR record o (name, type, file, line), made if new.
 * Returns 0 when out of memory. */
uint64_t msx_labels_intern(msx_labels *L, const msx_obj *o);
/* The label of id, NULL for 0 or an unknown id. */
const msx_var_label *msx_labels_get(const msx_labels *L, uint64_t id);
/* Frees the labels. */
void msx_labels_free(msx_labels *L);

/* A thread's open scopes, innermost last. */
typedef struct msx_scopes {
    uint64_t *id;
    uint32_t n, cap;
} msx_scopes;

/* Opens scope id (SCOPE_ENTER). Returns false when out of memory. */
bool msx_scopes_enter(msx_scopes *S, uint64_t id);
/* Closes scope id (SCOPE_LEAVE) and any scope opened inside it and not
 * closed (a longjmp or an exception skipped its SCOPE_LEAVE). A scope that
 * is not open is ignored. */
void msx_scopes_leave(msx_scopes *S, uint64_t id);
/* Frees the stack. */
void msx_scopes_free(msx_scopes *S);

/* The innermost open scope, 0 if none. */
static inline uint64_t msx_scopes_top(const msx_scopes *S)
{
    return S->n ? S->id[S->n - 1] : 0;
}

#endif /* MSX_KEYS_H */
