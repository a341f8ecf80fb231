/* The archive's "sites" map (ARCHIVE.md): sampling, the call-stack sites
 * with their frames, the functions, the leak totals by kind, the peak's
 * sites and the sites of the listed blocks, packed and read back, so that
 * a report of the archive equals the trace's (folded output included:
 * every site is kept). */
#include <stdlib.h>

#include "archive.h"

/* Packs a frame as [pc, offset, function, file, module, line, inlined]. */
static void pk_frame(msx_buf *b, const msx_site_frame *f)
{
    pk_tuple(b, 7, f->pc, f->offset, (uint64_t)f->function, (uint64_t)f->file, (uint64_t)f->module,
             (uint64_t)f->line, (uint64_t)f->inlined);
}

/* Packs figures as [v...], and in a sampled report [lo...], [hi...]. */
static void pk_figs(msx_buf *b, const msx_report *r, const msx_site_figs *f)
{
    msx_pk_array(b, MSX_SITE_FIGS);
    for (int k = 0; k < MSX_SITE_FIGS; k++)
        msx_pk_uint64(b, f->v[k]);
    const double *d[2] = { f->lo, f->hi };
    for (int j = 0; j < 2; j++) {
        if (!r->sampling) {
            msx_pk_nil(b);
            continue;
        }
        msx_pk_array(b, MSX_SITE_FIGS);
        for (int k = 0; k < MSX_SITE_FIGS; k++)
            msx_pk_double(b, d[j][k]);
    }
}

void msx_ar_pk_sites(msx_buf *b, const msx_report *r)
{
    pk_key(b, "sites");
    msx_pk_map(b, 9);
    pk_key(b, "sampling");
    pk_tuple(b, 4, (uint64_t)r->sampling, r->sample_bytes, r->sample_rate, r->sample_seed);
    pk_key(b, "strings");
    msx_pk_array(b, r->nstrings);
    for (uint32_t i = 0; i < r->nstrings; i++)
        pk_mstr(b, &r->strings[i]);
    pk_key(b, "list");
    msx_pk_array(b, r->nsites);
    for (uint32_t i = 0; i < r->nsites; i++) {
        const msx_site_report *s = &r->sites[i];
        msx_pk_array(b, 9);
        msx_pk_uint64(b, s->id);
        msx_pk_uint64(b, s->frame);
        msx_pk_uint64(b, s->runtime);
        msx_pk_uint64(b, s->suppressed);
        msx_pk_uint64(b, s->peak_blocks);
        msx_pk_array(b, s->nframes);
        for (uint32_t j = 0; j < s->nframes; j++)
            pk_frame(b, &s->frames[j]);
        pk_figs(b, r, &s->f);
    }
    pk_key(b, "functions");
    msx_pk_array(b, r->nfunctions);
    for (uint32_t i = 0; i < r->nfunctions; i++) {
        const msx_function_report *f = &r->functions[i];
        msx_pk_array(b, 5);
        pk_frame(b, &f->at);
        pk_figs(b, r, &f->f);
        msx_pk_array(b, f->nsites);
        for (uint32_t j = 0; j < f->nsites; j++)
            msx_pk_uint64(b, f->sites[j]);
    }
    pk_key(b, "nostack");
    msx_pk_array(b, 3);
    pk_figs(b, r, &r->nostack);
    pk_key(b, "leaked");
    pk_tuple(b, 6, r->leaked_program_bytes, r->leaked_program_blocks, r->leaked_runtime_bytes,
             r->leaked_runtime_blocks, r->leaked_suppressed_bytes, r->leaked_suppressed_blocks);
    pk_key(b, "peak");
    msx_pk_array(b, r->npeak_sites);
    for (uint32_t i = 0; i < r->npeak_sites; i++)
        pk_tuple(b, 3, (uint64_t)r->peak_sites[i].site, r->peak_sites[i].bytes, r->peak_sites[i].blocks);
    pk_key(b, "leak_sites");
    msx_pk_array(b, r->nleaks);
    for (uint32_t i = 0; i < r->nleaks; i++)
        msx_pk_uint64(b, r->leaks[i].site);
    pk_key(b, "largest_sites");
    msx_pk_array(b, r->npeak_largest);
    for (uint32_t i = 0; i < r->npeak_largest; i++)
        msx_pk_uint64(b, r->peak_largest[i].site);
}

/* Reads a uint that must fit 32 bits and be at most max. */
static uint32_t u32(rd *R, const msx_obj *o, uint64_t max, const char *what)
{
    uint64_t v = get_u(R, o, what);
    if (v > max) {
        bad(R, what);
        return 0;
    }
    return (uint32_t)v;
}

static void get_frame(rd *R, const msx_obj *t, msx_site_frame *f)
{
    if (t->type != MSX_ARRAY || t->n != 7) {
        bad(R, "site frame");
        return;
    }
    uint32_t ns = R->r->nstrings;
    f->pc = tu(R, t, 0);
    f->offset = tu(R, t, 1);
    f->function = u32(R, &t->v.a[2], ns, "frame function");
    f->file = u32(R, &t->v.a[3], ns, "frame file");
    f->module = u32(R, &t->v.a[4], ns, "frame module");
    f->line = u32(R, &t->v.a[5], UINT32_MAX, "frame line");
    f->inlined = tu(R, t, 6) != 0;
}

/* Reads [v...] and, sampled, [lo...], [hi...] at t[i..i+3). */
static void get_figs(rd *R, const msx_obj *t, uint32_t i, msx_site_figs *f)
{
    const msx_obj *v = &t->v.a[i];
    if (v->type != MSX_ARRAY || v->n != MSX_SITE_FIGS) {
        bad(R, "site figures");
        return;
    }
    for (int k = 0; k < MSX_SITE_FIGS; k++)
        f->v[k] = tu(R, v, (uint32_t)k);
    double *d[2] = { f->lo, f->hi };
    for (int j = 0; j < 2; j++) {
        const msx_obj *x = &t->v.a[i + 1 + (uint32_t)j];
        if (x->type == MSX_NIL)
            continue;
        if (x->type != MSX_ARRAY || x->n != MSX_SITE_FIGS) {
            bad(R, "site intervals");
            return;
        }
        for (int k = 0; k < MSX_SITE_FIGS; k++) {
            const msx_obj *e = &x->v.a[k];
            d[j][k] = e->type == MSX_FLOAT ? e->v.f : e->type == MSX_UINT ? (double)e->v.u : 0;
        }
    }
}

/* Reads a list of site ids into the blocks' site fields. */
static void get_block_sites(rd *R, const msx_obj *m, const char *key, msx_block *blk, uint32_t n)
{
    const msx_obj *l = get_list(R, m, key, n, 0);
    for (uint32_t i = 0; l && i < l->n && i < n; i++)
        blk[i].site = u32(R, &l->v.a[i], R->r->nsites, key);
}

void msx_ar_get_sites(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *m = msx_map_get(root, "sites");
    if (!m)
        return;
    const msx_obj *smp = msx_map_get(m, "sampling");
    if (smp && (smp->type != MSX_ARRAY || smp->n != 4)) {
        bad(R, "sampling");
        return;
    }
    if (smp) {
        r->sampling = u32(R, &smp->v.a[0], 2, "sampling mode");
        r->sample_bytes = tu(R, smp, 1);
        r->sample_rate = tu(R, smp, 2);
        r->sample_seed = tu(R, smp, 3);
    }
    const msx_obj *st = get_list(R, m, "strings", 0, 0);
    if (st && st->n && !(r->strings = calloc(st->n, sizeof *r->strings))) {
        oom(R);
        return;
    }
    for (uint32_t i = 0; st && i < st->n && !R->err; i++) {
        get_str(R, &r->strings[i], &st->v.a[i], "site string");
        r->nstrings++;
    }
    const msx_obj *l = get_list(R, m, "list", 0, 9);
    if (l && l->n && !(r->sites = calloc(l->n, sizeof *r->sites))) {
        oom(R);
        return;
    }
    for (uint32_t i = 0; l && i < l->n && !R->err; i++) {
        const msx_obj *t = &l->v.a[i], *fr = &t->v.a[5];
        msx_site_report *s = &r->sites[r->nsites++];
        s->id = u32(R, &t->v.a[0], l->n, "site id");
        s->runtime = tu(R, t, 2) != 0;
        s->suppressed = tu(R, t, 3) != 0;
        s->peak_blocks = tu(R, t, 4);
        if (fr->type != MSX_ARRAY) {
            bad(R, "site frames");
            return;
        }
        if (fr->n && !(s->frames = calloc(fr->n, sizeof *s->frames))) {
            oom(R);
            return;
        }
        for (uint32_t j = 0; j < fr->n && !R->err; j++)
            get_frame(R, &fr->v.a[j], &s->frames[s->nframes++]);
        s->frame = u32(R, &t->v.a[1], s->nframes ? s->nframes - 1 : 0, "site frame index");
        get_figs(R, t, 6, &s->f);
    }
    const msx_obj *fl = get_list(R, m, "functions", 0, 5);
    if (fl && fl->n && !(r->functions = calloc(fl->n, sizeof *r->functions))) {
        oom(R);
        return;
    }
    for (uint32_t i = 0; fl && i < fl->n && !R->err; i++) {
        const msx_obj *t = &fl->v.a[i], *ids = &t->v.a[4];
        msx_function_report *f = &r->functions[r->nfunctions++];
        get_frame(R, &t->v.a[0], &f->at);
        get_figs(R, t, 1, &f->f);
        if (ids->type != MSX_ARRAY) {
            bad(R, "function sites");
            return;
        }
        if (ids->n && !(f->sites = calloc(ids->n, sizeof *f->sites))) {
            oom(R);
            return;
        }
        for (uint32_t j = 0; j < ids->n; j++)
            f->sites[f->nsites++] = u32(R, &ids->v.a[j], r->nsites, "function site");
    }
    const msx_obj *ns = get_list(R, m, "nostack", 3, 0);
    if (ns && ns->n == 3)
        get_figs(R, ns, 0, &r->nostack);
    const msx_obj *lk = msx_map_get(m, "leaked");
    if (lk && (lk->type != MSX_ARRAY || lk->n != 6)) {
        bad(R, "leaked");
        return;
    }
    if (lk) {
        r->leaked_program_bytes = tu(R, lk, 0);
        r->leaked_program_blocks = tu(R, lk, 1);
        r->leaked_runtime_bytes = tu(R, lk, 2);
        r->leaked_runtime_blocks = tu(R, lk, 3);
        r->leaked_suppressed_bytes = tu(R, lk, 4);
        r->leaked_suppressed_blocks = tu(R, lk, 5);
    }
    const msx_obj *pk = get_list(R, m, "peak", MSX_MAX_PEAK_SITES, 3);
    for (uint32_t i = 0; pk && i < pk->n; i++) {
        const msx_obj *t = &pk->v.a[i];
        r->peak_sites[r->npeak_sites++] =
            (msx_peak_site){ u32(R, &t->v.a[0], r->nsites, "peak site"), tu(R, t, 1), tu(R, t, 2) };
    }
    get_block_sites(R, m, "leak_sites", r->leaks, r->nleaks);
    get_block_sites(R, m, "largest_sites", r->peak_largest, r->npeak_largest);
}
