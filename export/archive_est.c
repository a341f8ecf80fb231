/* The archive's "estimates" list (ARCHIVE.md): in a sampled report, the 95%
 * intervals of the summary's, each thread's and each task's estimates
 * (view_estimates.c), so that a report of the archive equals the trace's.
 * nil in a report that is not sampled. */
#include "archive.h"

/* Packs one interval set as [lo..., hi...] (2 * MSX_EST_FIGS doubles). */
static void pk_ci(msx_buf *b, const msx_est_ci *c)
{
    msx_pk_array(b, 2 * MSX_EST_FIGS);
    for (int k = 0; k < MSX_EST_FIGS; k++)
        msx_pk_double(b, c->lo[k]);
    for (int k = 0; k < MSX_EST_FIGS; k++)
        msx_pk_double(b, c->hi[k]);
}

void msx_ar_pk_est(msx_buf *b, const msx_report *r)
{
    pk_key(b, "estimates");
    if (!r->sampling) {
        msx_pk_nil(b);
        return;
    }
    msx_pk_array(b, 3);
    pk_ci(b, &r->est);
    msx_pk_array(b, r->nthreads);
    for (uint32_t i = 0; i < r->nthreads; i++)
        pk_ci(b, &r->threads[i].est);
    msx_pk_array(b, r->ntasklist);
    for (uint32_t i = 0; i < r->ntasklist; i++)
        pk_ci(b, &r->tasklist[i].est);
}

static void get_ci(rd *R, const msx_obj *o, msx_est_ci *c)
{
    if (o->type != MSX_ARRAY || o->n != 2 * MSX_EST_FIGS) {
        bad(R, "estimate intervals");
        return;
    }
    for (uint32_t k = 0; k < 2 * MSX_EST_FIGS; k++) {
        const msx_obj *e = &o->v.a[k];
        double d = e->type == MSX_FLOAT ? e->v.f : e->type == MSX_UINT ? (double)e->v.u : -1;
        if (!(d >= 0)) {
            bad(R, "estimate interval");
            return;
        }
        if (k < MSX_EST_FIGS)
            c->lo[k] = d;
        else
            c->hi[k - MSX_EST_FIGS] = d;
    }
}

void msx_ar_get_est(rd *R, const msx_obj *root)
{
    const msx_obj *m = msx_map_get(root, "estimates");
    if (!m || m->type == MSX_NIL)
        return;
    msx_report *r = R->r;
    if (m->type != MSX_ARRAY || m->n != 3 || m->v.a[1].type != MSX_ARRAY || m->v.a[2].type != MSX_ARRAY ||
        m->v.a[1].n != r->nthreads || m->v.a[2].n != r->ntasklist) {
        bad(R, "estimates");
        return;
    }
    get_ci(R, &m->v.a[0], &r->est);
    for (uint32_t i = 0; i < r->nthreads && !R->err; i++)
        get_ci(R, &m->v.a[1].v.a[i], &r->threads[i].est);
    for (uint32_t i = 0; i < r->ntasklist && !R->err; i++)
        get_ci(R, &m->v.a[2].v.a[i], &r->tasklist[i].est);
}
