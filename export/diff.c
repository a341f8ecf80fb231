/* The diff's sides and their matching (diff.h); diff_render.c writes it. */
#include "diff.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

const char *const msx_diff_fig_names[MSX_DF_FIGS] = {
    "allocations", "bytes_allocated", "live_bytes", "peak_live_bytes", "leaked_bytes",
};
const char *const msx_diff_dim_names[MSX_DD_DIMS] = { "total", "site", "thread", "task" };

/* -- building a side ------------------------------------------------------ */

/* A copy of what b holds, NUL-terminated (b is freed), or NULL. */
static char *buf_take(msx_buf *b)
{
    msx_buf_putc(b, '\0');
    if (b->err) {
        msx_buf_free(b);
        return NULL;
    }
    return b->p;
}

/* Appends a row (key and label: taken, freed on failure). Returns the row or NULL. */
static msx_dside_row *add_row(msx_diff_side *s, msx_diff_dim dim, char *key, char *label)
{
    if (!key || !label)
        goto fail;
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        msx_dside_row *r = realloc(s->rows, (size_t)cap * sizeof *r);
        if (!r)
            goto fail;
        s->rows = r;
        s->cap = cap;
    }
    msx_dside_row *r = &s->rows[s->n++];
    *r = (msx_dside_row){ .dim = dim, .key = key, .label = label };
    return r;
fail:
    free(key);
    free(label);
    return NULL;
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0)
        p = NULL;
    va_end(ap);
    return p;
}

/* Sets a row's figure k, with its interval (sampled: lo, hi; else exact). */
static void fig(msx_dside_row *r, int k, uint64_t v, bool sampled, double lo, double hi)
{
    r->v[k] = v;
    r->lo[k] = sampled ? lo : (double)v;
    r->hi[k] = sampled ? hi : (double)v;
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p ? p : "?";
}

/* The key and label of a site (diff.h). */
static int site_key(const msx_report *r, const msx_site_report *s, char **key, char **label)
{
    msx_buf k = { 0 }, l = { 0 };
    for (uint32_t i = s->frame; i < s->nframes; i++) {
        const msx_site_frame *f = &s->frames[i];
        const msx_str *fn = msx_report_string(r, f->function), *file = msx_report_string(r, f->file);
        const msx_str *mod = msx_report_string(r, f->module);
        if (i > s->frame)
            msx_buf_putc(&k, '\n');
        if (fn) {
            msx_buf_put(&k, fn->p, fn->n);
            msx_buf_putc(&k, '\t');
            if (file)
                msx_buf_put(&k, file->p, file->n);
            msx_buf_printf(&k, "\t%" PRIu32, f->line);
        } else if (mod) {
            msx_buf_printf(&k, "%s+0x%" PRIx64, base_name(mod->p), f->offset);
        } else {
            msx_buf_puts(&k, "?");
        }
        if (i > s->frame + 1)
            continue;
        if (i > s->frame)
            msx_buf_puts(&l, " < ");
        if (fn)
            msx_buf_put(&l, fn->p, fn->n);
        else if (mod)
            msx_buf_printf(&l, "%s+0x%" PRIx64, base_name(mod->p), f->offset);
        else
            msx_buf_printf(&l, "0x%" PRIx64, f->pc);
        if (file && f->line)
            msx_buf_printf(&l, " (%s:%" PRIu32 ")", base_name(file->p), f->line);
    }
    if (s->frame >= s->nframes) {
        msx_buf_puts(&k, "?");
        msx_buf_puts(&l, "?");
    }
    *key = buf_take(&k);
    *label = buf_take(&l);
    return *key && *label ? 0 : -ENOMEM;
}

/* One named entry to rank: its name, its number (serial or id), its index. */
typedef struct rank_ent {
    const msx_str *name;
    uint64_t num;
    uint32_t idx;
} rank_ent;

static int rank_cmp(const void *x, const void *y)
{
    const rank_ent *a = x, *b = y;
    uint32_t n = a->name->n < b->name->n ? a->name->n : b->name->n;
    int c = n ? memcmp(a->name->p, b->name->p, n) : 0;
    if (c || a->name->n != b->name->n)
        return c ? c : a->name->n < b->name->n ? -1 : 1;
    return a->num < b->num ? -1 : a->num > b->num;
}

/* rank[e[i].idx]: e[i]'s rank among the entries of its name, by number.
 * Sorts e. */
static void ranks(rank_ent *e, uint32_t n, uint32_t *rank)
{
    qsort(e, n, sizeof *e, rank_cmp);
    for (uint32_t i = 0, k = 0; i < n; i++) {
        k = i && e[i - 1].name->n == e[i].name->n && !memcmp(e[i - 1].name->p, e[i].name->p, e[i].name->n) ? k + 1 : 0;
        rank[e[i].idx] = k;
    }
}

/* Ranks of the report's threads (by serial) and listed tasks (by id): two
 * arrays in one allocation, or NULL. */
static uint32_t *report_ranks(const msx_report *r)
{
    uint32_t n = r->nthreads + r->ntasklist;
    uint32_t *rank = malloc(((size_t)n + 1) * sizeof *rank);
    rank_ent *e = malloc(((size_t)n + 1) * sizeof *e);
    if (!rank || !e) {
        free(rank);
        free(e);
        return NULL;
    }
    for (uint32_t i = 0; i < r->nthreads; i++)
        e[i] = (rank_ent){ &r->threads[i].name, r->threads[i].id, i };
    ranks(e, r->nthreads, rank);
    for (uint32_t i = 0; i < r->ntasklist; i++)
        e[i] = (rank_ent){ &r->tasklist[i].name, r->tasklist[i].id, i };
    ranks(e, r->ntasklist, rank + r->nthreads);
    free(e);
    return rank;
}

/* A thread's or task's key and label: by name and rank, else by number. */
static int named_key(const char *what, const msx_str *name, uint32_t rank, uint64_t num, char **key, char **label)
{
    if (name->n) {
        msx_buf k = { 0 };
        msx_buf_put(&k, name->p, name->n);
        msx_buf_printf(&k, "\t#%" PRIu32, rank);
        *key = buf_take(&k);
        msx_buf l = { 0 };
        msx_buf_put(&l, name->p, name->n);
        if (rank)
            msx_buf_printf(&l, " #%" PRIu32, rank + 1);
        *label = buf_take(&l);
    } else {
        *key = dupf("\t%" PRIu64, num);
        *label = dupf("%s %" PRIu64, what, num);
    }
    return *key && *label ? 0 : -ENOMEM;
}

/* The figures of a thread's or a task's row, with their intervals in a
 * sampled trace (the leaked bytes are the live ones at the end). */
static void owner_figs(msx_dside_row *x, bool sm, uint64_t allocations, uint64_t bytes, uint64_t live, uint64_t peak,
                       const msx_est_ci *c)
{
    fig(x, MSX_DF_ALLOCATIONS, allocations, sm, c->lo[MSX_EST_ALLOCATIONS], c->hi[MSX_EST_ALLOCATIONS]);
    fig(x, MSX_DF_BYTES_ALLOCATED, bytes, sm, c->lo[MSX_EST_BYTES_ALLOCATED], c->hi[MSX_EST_BYTES_ALLOCATED]);
    fig(x, MSX_DF_LIVE_BYTES, live, sm, c->lo[MSX_EST_LIVE_BYTES], c->hi[MSX_EST_LIVE_BYTES]);
    fig(x, MSX_DF_PEAK_LIVE_BYTES, peak, sm, c->lo[MSX_EST_PEAK_LIVE_BYTES], c->hi[MSX_EST_PEAK_LIVE_BYTES]);
    fig(x, MSX_DF_LEAKED_BYTES, live, sm, c->lo[MSX_EST_LIVE_BYTES], c->hi[MSX_EST_LIVE_BYTES]);
}

int msx_diff_side_report(msx_diff_side *s, const msx_report *r, const char *name)
{
    memset(s, 0, sizeof *s);
    bool sm = s->sampled = r->sampling != 0;
    if (!(s->name = strdup(name)))
        return -ENOMEM;
    msx_dside_row *x = add_row(s, MSX_DD_TOTAL, strdup(""), strdup("total"));
    if (!x)
        return -ENOMEM;
    const msx_est_ci *e = &r->est;
    fig(x, MSX_DF_ALLOCATIONS, r->allocations + r->reallocs, sm, e->lo[MSX_EST_ALLOCATIONS], e->hi[MSX_EST_ALLOCATIONS]);
    fig(x, MSX_DF_BYTES_ALLOCATED, r->bytes_allocated, sm, e->lo[MSX_EST_BYTES_ALLOCATED], e->hi[MSX_EST_BYTES_ALLOCATED]);
    fig(x, MSX_DF_LIVE_BYTES, r->leaked_bytes, sm, e->lo[MSX_EST_LIVE_BYTES], e->hi[MSX_EST_LIVE_BYTES]);
    fig(x, MSX_DF_PEAK_LIVE_BYTES, r->peak_live_bytes, sm, e->lo[MSX_EST_PEAK_LIVE_BYTES], e->hi[MSX_EST_PEAK_LIVE_BYTES]);
    fig(x, MSX_DF_LEAKED_BYTES, r->leaked_bytes, sm, e->lo[MSX_EST_LIVE_BYTES], e->hi[MSX_EST_LIVE_BYTES]);

    static const int sf[MSX_DF_FIGS] = { MSX_SF_ALLOCATIONS, MSX_SF_BYTES_ALLOCATED, MSX_SF_LIVE_BYTES,
                                         MSX_SF_PEAK_LIVE_BYTES, MSX_SF_LEAKED_BYTES };
    const msx_site_figs *ns = &r->nostack;
    if (ns->v[MSX_SF_ALLOCATIONS] || ns->v[MSX_SF_LIVE_BYTES]) {
        if (!(x = add_row(s, MSX_DD_SITE, strdup("(no stack)"), strdup("(no stack)"))))
            return -ENOMEM;
        for (int k = 0; k < MSX_DF_FIGS; k++)
            fig(x, k, ns->v[sf[k]], sm, ns->lo[sf[k]], ns->hi[sf[k]]);
    }
    for (uint32_t i = 0; i < r->nsites; i++) {
        const msx_site_report *st = &r->sites[i];
        char *key, *label;
        if (site_key(r, st, &key, &label) < 0 || !(x = add_row(s, MSX_DD_SITE, key, label)))
            return -ENOMEM;
        for (int k = 0; k < MSX_DF_FIGS; k++)
            fig(x, k, st->f.v[sf[k]], sm, st->f.lo[sf[k]], st->f.hi[sf[k]]);
    }
    uint32_t *rank = report_ranks(r);
    if (!rank)
        return -ENOMEM;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const msx_thread_report *t = &r->threads[i];
        char *key, *label;
        if (named_key("thread", &t->name, rank[i], t->id, &key, &label) < 0 ||
            !(x = add_row(s, MSX_DD_THREAD, key, label))) {
            free(rank);
            return -ENOMEM;
        }
        owner_figs(x, sm, t->allocations + t->reallocs, t->bytes_allocated, t->live_bytes, t->peak_live_bytes, &t->est);
    }
    for (uint32_t i = 0; i < r->ntasklist; i++) {
        const msx_task_report *t = &r->tasklist[i];
        char *key, *label;
        if (named_key("task", &t->name, rank[r->nthreads + i], t->id, &key, &label) < 0 ||
            !(x = add_row(s, MSX_DD_TASK, key, label))) {
            free(rank);
            return -ENOMEM;
        }
        owner_figs(x, sm, t->allocations + t->reallocs, t->bytes_allocated, t->live_bytes, t->peak_live_bytes, &t->est);
    }
    free(rank);
    return 0;
}

/* Sets a row's figures from a cut's (no leaked bytes at a moment). */
static void cut_figs(msx_dside_row *x, const msx_cut_fig *f, bool sm)
{
    double lo, hi;
    msx_est_ci95(&f->e_allocations, &lo, &hi);
    fig(x, MSX_DF_ALLOCATIONS, f->allocations, sm, lo, hi);
    msx_est_ci95(&f->e_bytes, &lo, &hi);
    fig(x, MSX_DF_BYTES_ALLOCATED, f->bytes_allocated, sm, lo, hi);
    msx_est_ci95(&f->e_live, &lo, &hi);
    fig(x, MSX_DF_LIVE_BYTES, f->live_bytes, sm, lo, hi);
    if (sm) {  /* the estimates' values, as the report gives them */
        x->v[MSX_DF_ALLOCATIONS] = f->e_allocations.value > 0 ? (uint64_t)(f->e_allocations.value + 0.5) : 0;
        x->v[MSX_DF_BYTES_ALLOCATED] = f->e_bytes.value > 0 ? (uint64_t)(f->e_bytes.value + 0.5) : 0;
        x->v[MSX_DF_LIVE_BYTES] = f->e_live.value > 0 ? (uint64_t)(f->e_live.value + 0.5) : 0;
    }
    /* the peak so far is the sample's (no interval kept at a moment) */
    fig(x, MSX_DF_PEAK_LIVE_BYTES, f->peak_live_bytes, false, 0, 0);
    fig(x, MSX_DF_LEAKED_BYTES, 0, false, 0, 0);
}

int msx_diff_side_cut(msx_diff_side *s, const msx_report *r, const msx_cut *c, const char *name)
{
    memset(s, 0, sizeof *s);
    bool sm = s->sampled = r->sampling != 0;
    s->moment = true;
    s->time_ns = c->time_ns;
    s->at_ns = c->at_ns;
    if (!(s->name = strdup(name)))
        return -ENOMEM;
    msx_dside_row *x = add_row(s, MSX_DD_TOTAL, strdup(""), strdup("total"));
    if (!x)
        return -ENOMEM;
    cut_figs(x, &c->total, sm);
    if (c->nsites && (c->sites[0].allocations || c->sites[0].live_bytes)) {
        if (!(x = add_row(s, MSX_DD_SITE, strdup("(no stack)"), strdup("(no stack)"))))
            return -ENOMEM;
        cut_figs(x, &c->sites[0], sm);
    }
    for (uint32_t i = 0; i < r->nsites; i++) {
        const msx_site_report *st = &r->sites[i];
        if (st->id == 0 || st->id >= c->nsites || (!c->sites[st->id].allocations && !c->sites[st->id].live_bytes))
            continue;  /* nothing yet at the cut (defined after it, or unused) */
        char *key, *label;
        if (site_key(r, st, &key, &label) < 0 || !(x = add_row(s, MSX_DD_SITE, key, label)))
            return -ENOMEM;
        cut_figs(x, &c->sites[st->id], sm);
    }
    /* threads: the report's names and ranks (its threads are by serial) */
    uint32_t *rank = report_ranks(r);
    uint32_t nt = c->ntasks;
    rank_ent *e = malloc(((size_t)nt + 1) * sizeof *e);
    uint32_t *trank = malloc(((size_t)nt + 1) * sizeof *trank);
    int rc = rank && e && trank ? 0 : -ENOMEM;
    for (uint32_t i = 0; i < c->nthreads && !rc; i++) {
        const msx_cut_thread *t = &c->threads[i];
        uint32_t lo = 0, hi = r->nthreads;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (r->threads[mid].id < t->serial)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == r->nthreads || r->threads[lo].id != t->serial)
            continue;  /* memscope's own stream */
        const msx_thread_report *tr = &r->threads[lo];
        char *key, *label;
        if (named_key("thread", &tr->name, rank[lo], tr->id, &key, &label) < 0 ||
            !(x = add_row(s, MSX_DD_THREAD, key, label)))
            rc = -ENOMEM;
        else
            cut_figs(x, &t->f, sm);
    }
    /* tasks: named by the report where it lists them (by id), else as at
     * the cut; ranked among the cut's tasks of that name by id */
    for (uint32_t i = 0; i < nt && !rc; i++) {
        const msx_cut_task *t = &c->tasks[i];
        const msx_str *nm = &t->name;
        uint32_t lo = 0, hi = r->ntasklist;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (r->tasklist[mid].id < t->id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < r->ntasklist && r->tasklist[lo].id == t->id && r->tasklist[lo].name.n)
            nm = &r->tasklist[lo].name;
        e[i] = (rank_ent){ nm, t->id, i };
    }
    if (!rc)
        ranks(e, nt, trank);
    for (uint32_t i = 0; i < nt && !rc; i++) {
        const msx_cut_task *t = &c->tasks[e[i].idx];
        char *key, *label;
        if (named_key("task", e[i].name, trank[e[i].idx], t->id, &key, &label) < 0 ||
            !(x = add_row(s, MSX_DD_TASK, key, label)))
            rc = -ENOMEM;
        else
            cut_figs(x, &t->f, sm);
    }
    free(rank);
    free(e);
    free(trank);
    return rc;
}

void msx_diff_side_free(msx_diff_side *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        free(s->rows[i].key);
        free(s->rows[i].label);
    }
    free(s->rows);
    free(s->name);
    memset(s, 0, sizeof *s);
}

/* -- matching ------------------------------------------------------------- */

static int key_cmp(msx_diff_dim da, const char *ka, msx_diff_dim db, const char *kb)
{
    if (da != db)
        return da < db ? -1 : 1;
    return strcmp(ka, kb);
}

static int side_row_cmp(const void *x, const void *y)
{
    const msx_dside_row *a = *(const msx_dside_row *const *)x, *b = *(const msx_dside_row *const *)y;
    return key_cmp(a->dim, a->key, b->dim, b->key);
}

/* The rows of s sorted by key, or NULL (n == 0 is fine: a non-NULL empty array). */
static const msx_dside_row **sorted(const msx_diff_side *s)
{
    const msx_dside_row **v = malloc(((size_t)s->n + 1) * sizeof *v);
    if (!v)
        return NULL;
    for (uint32_t i = 0; i < s->n; i++)
        v[i] = &s->rows[i];
    qsort(v, s->n, sizeof *v, side_row_cmp);
    return v;
}

/* Adds side row x into diff row d (side b if `b`), summing same keys. */
static void put(msx_diff_row *d, const msx_dside_row *x, bool b)
{
    for (int k = 0; k < MSX_DF_FIGS; k++) {
        if (b) {
            d->b[k] += x->v[k];
            d->blo[k] += x->lo[k];
            d->bhi[k] += x->hi[k];
        } else {
            d->a[k] += x->v[k];
            d->alo[k] += x->lo[k];
            d->ahi[k] += x->hi[k];
        }
    }
    if (b)
        d->in_b = true;
    else
        d->in_a = true;
}

static int64_t delta(const msx_diff_row *r, int k)
{
    return (int64_t)(r->b[k] - r->a[k]);
}

/* Total first, then by dimension; within one, most grown live bytes first,
 * then bytes allocated, then the key. */
static int growth_cmp(const void *x, const void *y)
{
    const msx_diff_row *a = x, *b = y;
    if (a->dim != b->dim)
        return a->dim < b->dim ? -1 : 1;
    for (int k = MSX_DF_LIVE_BYTES;; k = MSX_DF_BYTES_ALLOCATED) {
        int64_t da = delta(a, k), db = delta(b, k);
        if (da != db)
            return da > db ? -1 : 1;
        if (k == MSX_DF_BYTES_ALLOCATED)
            break;
    }
    return strcmp(a->key, b->key);
}

int msx_diff_compute(msx_diff *d, const msx_diff_side *a, const msx_diff_side *b)
{
    memset(d, 0, sizeof *d);
    d->a = a;
    d->b = b;
    d->sampled = a->sampled || b->sampled;
    d->moments = a->moment || b->moment;
    const msx_dside_row **va = sorted(a), **vb = sorted(b);
    d->rows = calloc((size_t)a->n + b->n + 1, sizeof *d->rows);
    if (!va || !vb || !d->rows) {
        free(va);
        free(vb);
        free(d->rows);
        d->rows = NULL;
        return -ENOMEM;
    }
    uint32_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        const msx_dside_row *x = i < a->n ? va[i] : NULL, *y = j < b->n ? vb[j] : NULL;
        int c = !x ? 1 : !y ? -1 : key_cmp(x->dim, x->key, y->dim, y->key);
        const msx_dside_row *first = c <= 0 ? x : y;
        msx_diff_row *r = &d->rows[d->n++];
        r->dim = first->dim;
        r->key = first->key;
        r->label = first->label;
        /* every row of either side with this key */
        while (i < a->n && !key_cmp(va[i]->dim, va[i]->key, r->dim, r->key))
            put(r, va[i++], false);
        while (j < b->n && !key_cmp(vb[j]->dim, vb[j]->key, r->dim, r->key))
            put(r, vb[j++], true);
    }
    free(va);
    free(vb);
    qsort(d->rows, d->n, sizeof *d->rows, growth_cmp);
    return 0;
}

void msx_diff_free(msx_diff *d)
{
    free(d->rows);
    memset(d, 0, sizeof *d);
}

int64_t msx_diff_live_growth(const msx_diff *d)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (d->rows[i].dim == MSX_DD_TOTAL)
            return delta(&d->rows[i], MSX_DF_LIVE_BYTES);
    return 0;
}
