/* View: the cuts (cuts.h). It keeps no running state of its own: when an
 * event passes the next cut's time, before any view has seen the event, it
 * copies the running figures the other views hold (the totals', the
 * threads' in r->threads, the tasks', the sites' and, in a sampled trace,
 * the estimates'). A trace without cuts pays one predictable branch per
 * event (views.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cuts.h"
#include "views.h"

void msx_cuts_clear(msx_cuts *cs)
{
    for (uint32_t i = 0; i < cs->n; i++) {
        msx_cut *c = &cs->c[i];
        free(c->sites);
        free(c->threads);
        for (uint32_t k = 0; k < c->ntasks; k++)
            free(c->tasks[k].name.p);
        free(c->tasks);
        uint64_t t = c->time_ns;
        *c = (msx_cut){ .time_ns = t };
    }
    cs->next = 0;
    cs->oom = false;
}

static void est_put(msx_cut_fig *f, const msx_est_cell *c)
{
    if (!c)
        return;
    f->e_allocations = c->allocs;
    f->e_bytes = c->bytes;
    f->e_live = c->live;
}

/* Copies the figures of now into cut c. Returns 0 or -ENOMEM. */
static int take(msx_views *V, msx_cut *c, uint64_t at)
{
    msx_report *r = V->totals.r;
    bool est = V->est.how != MSX_EXACT;
    c->taken = true;
    c->at_ns = at;
    c->total = (msx_cut_fig){ .allocations = r->allocations + r->reallocs, .bytes_allocated = r->bytes_allocated,
                              .live_bytes = V->totals.live, .peak_live_bytes = r->peak_live_bytes };
    if (est)
        est_put(&c->total, &V->est.total);

    uint32_t ns = V->stacks.n + 1;
    if (ns > V->sites.cap)
        ns = V->sites.cap;
    if (ns && !(c->sites = calloc(ns, sizeof *c->sites)))
        return -ENOMEM;
    c->nsites = ns;
    for (uint32_t g = 0; g < ns; g++) {
        const msx_site_state *s = &V->sites.s[g];
        msx_cut_fig *f = &c->sites[g];
        *f = (msx_cut_fig){ .allocations = s->alloc, .bytes_allocated = s->bytes, .live_bytes = s->live,
                            .peak_live_bytes = s->peak_live };
        if (V->sites.e) {
            f->e_allocations = V->sites.e[g].alloc;
            f->e_bytes = V->sites.e[g].bytes;
            f->e_live = V->sites.e[g].live;
        }
    }

    if (r->nthreads && !(c->threads = calloc(r->nthreads, sizeof *c->threads)))
        return -ENOMEM;
    c->nthreads = r->nthreads;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const msx_thread_report *t = &r->threads[i];
        msx_cut_thread *x = &c->threads[i];
        x->serial = t->id;
        x->f = (msx_cut_fig){ .allocations = t->allocations + t->reallocs, .bytes_allocated = t->bytes_allocated,
                              .live_bytes = t->live_bytes, .peak_live_bytes = t->peak_live_bytes };
        if (est && i < V->est.nthreads && V->est.threads)
            est_put(&x->f, &V->est.threads[i]);
    }

    const msx_view_tasks *tv = &V->tasks;
    if (tv->n && !(c->tasks = calloc(tv->n, sizeof *c->tasks)))
        return -ENOMEM;
    for (uint32_t i = 0; i < tv->n; i++) {
        const msx_task_state *s = &tv->t[i];
        msx_cut_task *x = &c->tasks[c->ntasks++];
        x->id = s->id;
        x->f = (msx_cut_fig){ .allocations = s->allocations + s->reallocs, .bytes_allocated = s->bytes_allocated,
                              .live_bytes = s->live, .peak_live_bytes = s->peak };
        if (est)
            est_put(&x->f, msx_view_est_task(&V->est, s->id));
        if (msx_str_set(&x->name, s->name.p ? s->name.p : "", s->name.n) < 0)
            return -ENOMEM;
    }
    return 0;
}

void msx_view_cuts_take(msx_views *V, uint64_t time)
{
    msx_cuts *cs = V->cuts;
    while (cs->next < cs->n && time > cs->c[cs->next].time_ns) {
        msx_cut *c = &cs->c[cs->next++];
        if (!cs->oom && take(V, c, time) < 0)
            cs->oom = true;
    }
}

int msx_view_cuts_finish(msx_views *V, uint64_t end)
{
    if (!V->cuts)
        return 0;
    msx_view_cuts_take(V, UINT64_MAX);
    for (uint32_t i = 0; i < V->cuts->n; i++)
        if (V->cuts->c[i].at_ns == UINT64_MAX)
            V->cuts->c[i].at_ns = end;
    return V->cuts->oom ? -ENOMEM : 0;
}
