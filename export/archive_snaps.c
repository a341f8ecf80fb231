/* The archive's "snapshots" map (ARCHIVE.md): the runtime snapshots of the
 * report (view_snaps.c), packed and read back. */
#include <stdlib.h>

#include "archive.h"

void msx_ar_pk_snaps(msx_buf *b, const msx_report *r)
{
    pk_key(b, "snapshots");
    msx_pk_map(b, 2);
    pk_ku(b, "omitted", r->snaps_omitted);
    pk_key(b, "list");
    msx_pk_array(b, r->nsnaps);
    for (uint32_t i = 0; i < r->nsnaps; i++) {
        const msx_snap_report *s = &r->snaps[i];
        msx_pk_array(b, 7);
        msx_pk_uint64(b, s->id);
        msx_pk_uint64(b, s->time_ns);
        msx_pk_uint64(b, s->live_bytes);
        msx_pk_uint64(b, s->active_tasks);
        msx_pk_uint64(b, s->tasks_omitted);
        msx_pk_array(b, s->ntasks);
        for (uint32_t j = 0; j < s->ntasks; j++)
            pk_tuple(b, 2, s->tasks[j].id, s->tasks[j].live_bytes);
        msx_pk_nil(b); /* reserved */
    }
}

void msx_ar_get_snaps(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *m = msx_map_get(root, "snapshots");
    r->snaps_omitted = get_ku(R, m, "omitted");
    const msx_obj *l = get_list(R, m, "list", MSX_MAX_SNAPS, 7);
    if (!l || !l->n)
        return;
    if (!(r->snaps = calloc(l->n, sizeof *r->snaps))) {
        oom(R);
        return;
    }
    for (uint32_t i = 0; i < l->n && !R->err; i++) {
        const msx_obj *t = &l->v.a[i], *tk = &t->v.a[5];
        msx_snap_report *s = &r->snaps[r->nsnaps++];
        s->id = tu(R, t, 0);
        s->time_ns = tu(R, t, 1);
        s->live_bytes = tu(R, t, 2);
        s->active_tasks = tu(R, t, 3);
        s->tasks_omitted = tu(R, t, 4);
        if (tk->type != MSX_ARRAY || tk->n > MSX_MAX_SNAP_TASKS) {
            bad(R, "snapshot tasks");
            return;
        }
        if (tk->n && !(s->tasks = calloc(tk->n, sizeof *s->tasks))) {
            oom(R);
            return;
        }
        for (uint32_t j = 0; j < tk->n; j++) {
            const msx_obj *e = &tk->v.a[j];
            if (e->type != MSX_ARRAY || e->n != 2) {
                bad(R, "snapshot task");
                return;
            }
            s->tasks[s->ntasks++] = (msx_snap_task){ tu(R, e, 0), tu(R, e, 1) };
        }
    }
}
