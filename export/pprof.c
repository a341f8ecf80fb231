/* pprof profiles (pprof.h): the report's pprof cells, sites and modules
 * become a Profile message (profile.proto), encoded by protobuf-c and gzipped
 * by zlib.
 *
 *   Function   one per (name, file) of the sites' frames; an unnamed frame is
 *              named as the folded output names it (libfoo.so+0x1234, or the
 *              bare pc without a module)
 *   Location   one per (pc, module, frames of that pc left out inside the
 *              site's own frame): its Lines are the pc's frames, inlined
 *              calls first, the caller last
 *   Mapping    one per module of the trace's MODULES records: the extent of
 *              its PT_LOAD segments, file offset 0 (the first PT_LOAD starts
 *              the file), its path and its build-id in hex
 *   Sample     one per cell with a value: the site's locations from its own
 *              frame outwards (the allocator's frames inside it are left
 *              out, as sites[] leave them out of the function), the values,
 *              the labels thread, thread_id, tid, task_id, task
 *
 * Strings are the trace's bytes, except that what is not UTF-8 becomes
 * U+FFFD (readers such as Pyroscope's decoders refuse invalid UTF-8). */
#include "pprof.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "profile.pb-c.h"

void msx_pprof_report_free(msx_pprof_report *p)
{
    if (!p)
        return;
    free(p->cells);
    for (uint32_t i = 0; i < p->nmodules; i++) {
        free(p->modules[i].path.p);
        free(p->modules[i].build_id.p);
    }
    free(p->modules);
    for (uint32_t i = 0; i < p->ntasks; i++)
        free(p->tasks[i].name.p);
    free(p->tasks);
    free(p);
}

/* -- a small map of (a, b, c) -> index + 1 ---------------------------------- */

typedef struct key3 {
    uint64_t a, b, c;
} key3;

typedef struct map3 {
    key3 *k;
    uint32_t *v;               /* index + 1, 0: empty */
    uint64_t cap, n;
} map3;

static uint64_t key3_hash(const key3 *k)
{
    uint64_t h = k->a * UINT64_C(0x9E3779B97F4A7C15) ^ k->b * UINT64_C(0xC2B2AE3D27D4EB4F) ^
                 k->c * UINT64_C(0x165667B19E3779F9);
    return h ^ h >> 31;
}

/* The slot of k: its own, or the empty one where it goes. */
static uint64_t map3_slot(const map3 *m, const key3 *k)
{
    uint64_t i = key3_hash(k) & (m->cap - 1);
    while (m->v[i] && (m->k[i].a != k->a || m->k[i].b != k->b || m->k[i].c != k->c))
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* The value of k, 0 if none. */
static uint32_t map3_get(const map3 *m, key3 k)
{
    return m->cap ? m->v[map3_slot(m, &k)] : 0;
}

/* Puts k -> v (v > 0, k not there). Returns 0 or -ENOMEM. */
static int map3_put(map3 *m, key3 k, uint32_t v)
{
    if (2 * (m->n + 1) > m->cap) {
        map3 g = { .cap = m->cap ? 2 * m->cap : 256 };
        g.k = malloc(g.cap * sizeof *g.k);
        g.v = calloc(g.cap, sizeof *g.v);
        if (!g.k || !g.v) {
            free(g.k);
            free(g.v);
            return -ENOMEM;
        }
        for (uint64_t i = 0; i < m->cap; i++)
            if (m->v[i]) {
                uint64_t j = map3_slot(&g, &m->k[i]);
                g.k[j] = m->k[i];
                g.v[j] = m->v[i];
            }
        g.n = m->n;
        free(m->k);
        free(m->v);
        *m = g;
    }
    uint64_t j = map3_slot(m, &k);
    m->k[j] = k;
    m->v[j] = v;
    m->n++;
    return 0;
}

static void map3_free(map3 *m)
{
    free(m->k);
    free(m->v);
}

/* -- what the profile holds, in plain arrays until it is encoded ------------ */

typedef struct pline {
    uint64_t function;         /* id */
    int64_t line;
} pline;

typedef struct ploc {
    uint64_t mapping, address;
    uint32_t first, n;         /* lines[first .. first + n) */
} ploc;

typedef struct pfunc {
    int64_t name, file;
} pfunc;

typedef struct pb {
    const msx_report *r;
    ProtobufCBinaryData *str;  /* string_table */
    size_t nstr, capstr;
    map3 strs;                 /* (hash, length, 0) chains: see str_id */
    pfunc *fn;
    size_t nfn, capfn;
    map3 fns;                  /* (name, file, 0) -> id */
    ploc *loc;
    size_t nloc, caploc;
    map3 locs;                 /* (pc, mapping, skipped) -> id */
    pline *line;
    size_t nline, capline;
    uint64_t **site_locs;      /* by site id: its location ids, [0] their count */
    uint32_t nsite_ids;
    bool oom;
} pb;

/* Grows array *p of *cap elements of size sz to hold need. */
static bool grow(void *p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? 2 * *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*(void **)p, c * sz);
    if (!q)
        return false;
    *(void **)p = q;
    *cap = c;
    return true;
}

/* The length of the valid UTF-8 sequence at s[0..n), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!k || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;  /* overlong, a surrogate, past U+10FFFF */
    return k;
}

static uint64_t bytes_hash(const unsigned char *s, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* The string-table index of s[0..n) made valid UTF-8, added if new. */
static int64_t str_id(pb *P, const char *s0, size_t n)
{
    if (!n)
        return 0;
    const unsigned char *s = (const unsigned char *)s0;
    unsigned char *u = malloc(3 * n);
    if (!u) {
        P->oom = true;
        return 0;
    }
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(s + i, n - i);
        if (k) {
            memcpy(u + m, s + i, k);
            m += k;
            i += k;
        } else {
            memcpy(u + m, "\xEF\xBF\xBD", 3);
            m += 3;
            i++;
        }
    }
    /* equal strings share an index: (hash, length, k) for the k-th string of
     * that hash and length, probed until a match or a gap */
    uint64_t h = bytes_hash(u, m);
    for (uint64_t k = 0;; k++) {
        uint32_t id = map3_get(&P->strs, (key3){ h, m, k });
        if (!id) {
            if (!grow(&P->str, &P->capstr, P->nstr + 1, sizeof *P->str) ||
                map3_put(&P->strs, (key3){ h, m, k }, (uint32_t)P->nstr + 1) < 0) {
                P->oom = true;
                free(u);
                return 0;
            }
            P->str[P->nstr] = (ProtobufCBinaryData){ .len = m, .data = u };
            return (int64_t)P->nstr++;
        }
        const ProtobufCBinaryData *x = &P->str[id - 1];
        if (x->len == m && !memcmp(x->data, u, m)) {
            free(u);
            return (int64_t)(id - 1);
        }
    }
}

static int64_t cstr_id(pb *P, const char *s)
{
    return str_id(P, s, strlen(s));
}

static int64_t rstr_id(pb *P, uint32_t i)
{
    const msx_str *s = msx_report_string(P->r, i);
    return s ? str_id(P, s->p, s->n) : 0;
}

/* The id of Function (name, file), made if new. */
static uint64_t func_id(pb *P, int64_t name, int64_t file)
{
    key3 k = { (uint64_t)name, (uint64_t)file, 0 };
    uint32_t id = map3_get(&P->fns, k);
    if (id)
        return id;
    if (!grow(&P->fn, &P->capfn, P->nfn + 1, sizeof *P->fn) || map3_put(&P->fns, k, (uint32_t)P->nfn + 1) < 0) {
        P->oom = true;
        return 0;
    }
    P->fn[P->nfn++] = (pfunc){ name, file };
    return P->nfn;
}

/* A frame's function name as a string index: its own, else module+offset or
 * the pc (folded.c's names). */
static int64_t frame_name(pb *P, const msx_site_frame *f)
{
    const msx_str *fn = msx_report_string(P->r, f->function), *m = msx_report_string(P->r, f->module);
    if (fn && fn->n)
        return str_id(P, fn->p, fn->n);
    char tmp[48];
    if (!m) {
        snprintf(tmp, sizeof tmp, "0x%llx", (unsigned long long)f->pc);
        return cstr_id(P, tmp);
    }
    const char *base = m->p;
    for (uint32_t i = 0; i < m->n; i++)
        if (m->p[i] == '/')
            base = m->p + i + 1;
    size_t bn = (size_t)(m->p + m->n - base);
    int k = snprintf(tmp, sizeof tmp, "+0x%llx", (unsigned long long)f->offset);
    char *s = malloc(bn + (size_t)k + 1);
    if (!s) {
        P->oom = true;
        return 0;
    }
    memcpy(s, base, bn);
    memcpy(s + bn, tmp, (size_t)k + 1);
    int64_t id = str_id(P, s, bn + (size_t)k);
    free(s);
    return id;
}

/* The mapping id of a frame: the module of its path whose base puts the pc
 * at the frame's offset (0: none). */
static uint64_t mapping_of(const pb *P, const msx_site_frame *f)
{
    const msx_str *m = msx_report_string(P->r, f->module);
    const msx_pprof_report *pp = P->r->pprof;
    if (!m || !f->pc)
        return 0;
    uint64_t base = f->pc - 1 - f->offset;
    for (uint32_t i = 0; i < pp->nmodules; i++) {
        const msx_pprof_module *x = &pp->modules[i];
        if (x->base == base && x->path.n == m->n && !memcmp(x->path.p, m->p, m->n))
            return i + 1;
    }
    return 0;
}

/* The id of the location of frames fr[0..n) (one pc; skipped: frames of that
 * pc left out before them), made if new. */
static uint64_t loc_id(pb *P, const msx_site_frame *fr, uint32_t n, uint32_t skipped)
{
    uint64_t mapping = mapping_of(P, &fr[0]);
    key3 k = { fr[0].pc, mapping, skipped };
    uint32_t id = map3_get(&P->locs, k);
    if (id)
        return id;
    if (!grow(&P->loc, &P->caploc, P->nloc + 1, sizeof *P->loc) ||
        !grow(&P->line, &P->capline, P->nline + n, sizeof *P->line)) {
        P->oom = true;
        return 0;
    }
    ploc *l = &P->loc[P->nloc];
    *l = (ploc){ .mapping = mapping, .address = fr[0].pc, .first = (uint32_t)P->nline, .n = n };
    for (uint32_t i = 0; i < n; i++) {
        int64_t name = frame_name(P, &fr[i]), file = rstr_id(P, fr[i].file);
        P->line[P->nline++] = (pline){ func_id(P, name, file), fr[i].line };
    }
    if (map3_put(&P->locs, k, (uint32_t)P->nloc + 1) < 0) {
        P->oom = true;
        return 0;
    }
    return ++P->nloc;
}

/* A location of one line of function `name` and no address ([no stack]). */
static uint64_t named_loc(pb *P, const char *name)
{
    int64_t s = cstr_id(P, name);
    key3 k = { 0, 0, UINT64_MAX - (uint64_t)s };
    uint32_t id = map3_get(&P->locs, k);
    if (id)
        return id;
    if (!grow(&P->loc, &P->caploc, P->nloc + 1, sizeof *P->loc) ||
        !grow(&P->line, &P->capline, P->nline + 1, sizeof *P->line) || map3_put(&P->locs, k, (uint32_t)P->nloc + 1) < 0) {
        P->oom = true;
        return 0;
    }
    P->loc[P->nloc] = (ploc){ .first = (uint32_t)P->nline, .n = 1 };
    P->line[P->nline++] = (pline){ func_id(P, s, 0), 0 };
    return ++P->nloc;
}

/* The location ids of site s, innermost first: [0] holds their count. */
static uint64_t *site_locations(pb *P, const msx_site_report *s)
{
    uint64_t *ids = calloc((size_t)s->nframes + 2, sizeof *ids);
    if (!ids) {
        P->oom = true;
        return NULL;
    }
    if (!s->nframes) {
        ids[++ids[0]] = named_loc(P, "[empty stack]");
        return ids;
    }
    uint32_t j = s->frame < s->nframes ? s->frame : 0;
    /* frames of the own frame's pc inside it */
    uint32_t skipped = 0;
    while (skipped < j && s->frames[j - skipped - 1].pc == s->frames[j].pc && s->frames[j - skipped - 1].inlined)
        skipped++;
    while (j < s->nframes) {
        uint32_t k = j;
        while (k + 1 < s->nframes && s->frames[k].inlined && s->frames[k + 1].pc == s->frames[j].pc)
            k++;
        ids[++ids[0]] = loc_id(P, &s->frames[j], k - j + 1, skipped);
        skipped = 0;
        j = k + 1;
    }
    return ids;
}

/* -- the profile ------------------------------------------------------------- */

static int thread_cmp(const void *key, const void *elem)
{
    uint32_t id = *(const uint32_t *)key, e = ((const msx_thread_report *)elem)->id;
    return id < e ? -1 : id > e;
}

static int task_cmp(const void *key, const void *elem)
{
    uint64_t id = *(const uint64_t *)key, e = ((const msx_pprof_task *)elem)->id;
    return id < e ? -1 : id > e;
}

/* Gzips in[0..n) onto b. Returns 0 or -ENOMEM. */
static int gzip_to(msx_buf *b, const uint8_t *in, size_t n)
{
    z_stream z = { 0 };
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    uLong bound = deflateBound(&z, (uLong)n) + 32;
    if (msx_buf_grow(b, bound) < 0) {
        deflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)b->p + b->len;
    z.avail_out = (uInt)(b->cap - b->len);
    int zr = deflate(&z, Z_FINISH);
    b->len += z.total_out;
    deflateEnd(&z);
    return zr == Z_STREAM_END ? 0 : -ENOMEM;
}

/* Labels of cell c into lab[0..5) (their storage st); returns their count. */
static size_t cell_labels(pb *P, const msx_pprof_cell *c, MsxPprof__Label *st, MsxPprof__Label **lab)
{
    const msx_report *r = P->r;
    const msx_thread_report *th = r->nthreads ? bsearch(&c->thread, r->threads, r->nthreads, sizeof *r->threads,
                                                        thread_cmp) : NULL;
    size_t n = 0;
    for (int i = 0; i < 5; i++)
        st[i] = (MsxPprof__Label)MSX_PPROF__LABEL__INIT;
    char num[24];
    st[n].key = cstr_id(P, "thread");
    if (th && th->name.n) {
        st[n].str = str_id(P, th->name.p, th->name.n);
    } else {
        snprintf(num, sizeof num, "%u", c->thread);
        st[n].str = cstr_id(P, num);
    }
    n++;
    st[n].key = cstr_id(P, "thread_id");
    st[n++].num = c->thread;
    if (th && th->tid) {
        st[n].key = cstr_id(P, "tid");
        st[n++].num = (int64_t)th->tid;
    }
    if (c->task) {
        st[n].key = cstr_id(P, "task_id");
        st[n++].num = (int64_t)c->task;
        const msx_pprof_report *pp = r->pprof;
        const msx_pprof_task *t = pp->ntasks ? bsearch(&c->task, pp->tasks, pp->ntasks, sizeof *pp->tasks, task_cmp)
                                             : NULL;
        if (t && t->name.n) {
            st[n].key = cstr_id(P, "task");
            st[n++].str = str_id(P, t->name.p, t->name.n);
        }
    }
    for (size_t i = 0; i < n; i++)
        lab[i] = &st[i];
    return n;
}

static void pb_free(pb *P)
{
    for (size_t i = 0; i < P->nstr; i++)
        free(P->str[i].data);
    free(P->str);
    map3_free(&P->strs);
    free(P->fn);
    map3_free(&P->fns);
    free(P->loc);
    map3_free(&P->locs);
    free(P->line);
    for (uint32_t i = 0; P->site_locs && i < P->nsite_ids; i++)
        free(P->site_locs[i]);
    free(P->site_locs);
}

int msx_render_pprof(msx_buf *b, const msx_report *r, bool peak)
{
    const msx_pprof_report *pp = r->pprof;
    if (!pp)
        return -ENODATA;
    pb P = { .r = r };
    if (!grow(&P.str, &P.capstr, 1, sizeof *P.str))
        return -ENOMEM;
    P.str[P.nstr++] = (ProtobufCBinaryData){ .len = 0, .data = NULL };  /* index 0: "" */
    /* values: which figures, under which names */
    static const int alloc_figs[] = { MSX_PP_ALLOC_OBJECTS, MSX_PP_ALLOC_SPACE, MSX_PP_INUSE_OBJECTS,
                                      MSX_PP_INUSE_SPACE };
    static const int peak_figs[] = { MSX_PP_PEAK_OBJECTS, MSX_PP_PEAK_SPACE };
    static const char *const alloc_names[] = { "alloc_objects", "alloc_space", "inuse_objects", "inuse_space" };
    static const char *const peak_names[] = { "inuse_objects", "inuse_space" };
    const int *figs = peak ? peak_figs : alloc_figs;
    const char *const *names = peak ? peak_names : alloc_names;
    size_t nv = peak ? 2 : 4;
    MsxPprof__ValueType vt[4], *vtp[4], period_type = MSX_PPROF__VALUE_TYPE__INIT;
    for (size_t i = 0; i < nv; i++) {
        vt[i] = (MsxPprof__ValueType)MSX_PPROF__VALUE_TYPE__INIT;
        vt[i].type = cstr_id(&P, names[i]);
        vt[i].unit = cstr_id(&P, i % 2 ? "bytes" : "count");
        vtp[i] = &vt[i];
    }
    /* the sites' locations, by site id */
    uint32_t max_id = 0;
    for (uint32_t i = 0; i < r->nsites; i++)
        if (r->sites[i].id > max_id)
            max_id = r->sites[i].id;
    P.nsite_ids = max_id + 1;
    P.site_locs = calloc(P.nsite_ids, sizeof *P.site_locs);
    MsxPprof__Sample *smp = calloc((size_t)pp->ncells + 1, sizeof *smp);
    MsxPprof__Sample **smpp = calloc((size_t)pp->ncells + 1, sizeof *smpp);
    MsxPprof__Label *lst = calloc(5 * ((size_t)pp->ncells + 1), sizeof *lst);
    MsxPprof__Label **lab = calloc(5 * ((size_t)pp->ncells + 1), sizeof *lab);
    int64_t *vals = calloc(nv * ((size_t)pp->ncells + 1), sizeof *vals);
    uint64_t nostack = 0;
    size_t ns = 0;
    if (!P.site_locs || !smp || !smpp || !lst || !lab || !vals)
        P.oom = true;
    for (uint32_t i = 0; !P.oom && i < r->nsites; i++)
        P.site_locs[r->sites[i].id] = site_locations(&P, &r->sites[i]);
    for (uint32_t i = 0; !P.oom && i < pp->ncells; i++) {
        const msx_pprof_cell *c = &pp->cells[i];
        bool any = false;
        for (size_t k = 0; k < nv; k++)
            any |= (vals[ns * nv + k] = c->v[figs[k]]) != 0;
        if (!any)
            continue;
        MsxPprof__Sample *s = &smp[ns];
        *s = (MsxPprof__Sample)MSX_PPROF__SAMPLE__INIT;
        s->n_value = nv;
        s->value = &vals[ns * nv];
        const uint64_t *ids = c->site && c->site < P.nsite_ids ? P.site_locs[c->site] : NULL;
        if (ids) {
            s->n_location_id = ids[0];
            s->location_id = (uint64_t *)ids + 1;
        } else {
            if (!nostack)
                nostack = named_loc(&P, "[no stack]");
            s->n_location_id = 1;
            s->location_id = &nostack;
        }
        s->n_label = cell_labels(&P, c, &lst[5 * ns], &lab[5 * ns]);
        s->label = &lab[5 * ns];
        smpp[ns] = s;
        ns++;
    }
    /* mappings, locations, functions */
    uint32_t nm = pp->nmodules;
    MsxPprof__Mapping *map = calloc((size_t)nm + 1, sizeof *map), **mapp = calloc((size_t)nm + 1, sizeof *mapp);
    MsxPprof__Location *loc = calloc(P.nloc + 1, sizeof *loc), **locp = calloc(P.nloc + 1, sizeof *locp);
    MsxPprof__Line *line = calloc(P.nline + 1, sizeof *line), **linep = calloc(P.nline + 1, sizeof *linep);
    MsxPprof__Function *fn = calloc(P.nfn + 1, sizeof *fn), **fnp = calloc(P.nfn + 1, sizeof *fnp);
    if (!map || !mapp || !loc || !locp || !line || !linep || !fn || !fnp)
        P.oom = true;
    for (uint32_t i = 0; !P.oom && i < nm; i++) {
        const msx_pprof_module *m = &pp->modules[i];
        map[i] = (MsxPprof__Mapping)MSX_PPROF__MAPPING__INIT;
        map[i].id = i + 1;
        map[i].memory_start = m->start <= m->limit ? m->start : m->base;
        map[i].memory_limit = m->start <= m->limit ? m->limit : m->base;
        map[i].filename = str_id(&P, m->path.p, m->path.n);
        char hex[2 * 64 + 1];
        size_t hn = 0;
        for (uint32_t k = 0; k < m->build_id.n && k < 64; k++)
            hn += (size_t)snprintf(hex + hn, sizeof hex - hn, "%02x", (unsigned char)m->build_id.p[k]);
        map[i].build_id = str_id(&P, hex, hn);
        map[i].has_functions = map[i].has_filenames = map[i].has_line_numbers = map[i].has_inline_frames = true;
        mapp[i] = &map[i];
    }
    for (size_t i = 0; !P.oom && i < P.nline; i++) {
        line[i] = (MsxPprof__Line)MSX_PPROF__LINE__INIT;
        line[i].function_id = P.line[i].function;
        line[i].line = P.line[i].line;
        linep[i] = &line[i];
    }
    for (size_t i = 0; !P.oom && i < P.nloc; i++) {
        loc[i] = (MsxPprof__Location)MSX_PPROF__LOCATION__INIT;
        loc[i].id = i + 1;
        loc[i].mapping_id = P.loc[i].mapping;
        loc[i].address = P.loc[i].address;
        loc[i].n_line = P.loc[i].n;
        loc[i].line = &linep[P.loc[i].first];
        locp[i] = &loc[i];
    }
    for (size_t i = 0; !P.oom && i < P.nfn; i++) {
        fn[i] = (MsxPprof__Function)MSX_PPROF__FUNCTION__INIT;
        fn[i].id = i + 1;
        fn[i].name = fn[i].system_name = P.fn[i].name;
        fn[i].filename = P.fn[i].file;
        fnp[i] = &fn[i];
    }
    MsxPprof__Profile prof = MSX_PPROF__PROFILE__INIT;
    int64_t comment = 0;
    if (!P.oom) {
        prof.n_sample_type = nv;
        prof.sample_type = vtp;
        prof.n_sample = ns;
        prof.sample = smpp;
        prof.n_mapping = nm;
        prof.mapping = mapp;
        prof.n_location = P.nloc;
        prof.location = locp;
        prof.n_function = P.nfn;
        prof.function = fnp;
        prof.time_nanos = (int64_t)(r->start_realtime_ns + (peak ? r->peak_time_ns : 0));
        prof.duration_nanos = (int64_t)r->duration_ns;
        prof.default_sample_type = cstr_id(&P, peak ? "inuse_space" : "alloc_space");
        if (r->sampling == 1 && r->sample_bytes) {
            period_type.type = cstr_id(&P, "space");
            period_type.unit = cstr_id(&P, "bytes");
            prof.period = (int64_t)r->sample_bytes;
            prof.period_type = &period_type;
        } else if (r->sampling == 2 && r->sample_rate) {
            period_type.type = cstr_id(&P, "objects");
            period_type.unit = cstr_id(&P, "count");
            prof.period = (int64_t)llround(4294967296.0 / (double)r->sample_rate);  /* 1 in k: sample_rate = 2^32 / k rounded */
            prof.period_type = &period_type;
        }
        comment = peak ? cstr_id(&P, "memscope: blocks live at the process peak")
                       : cstr_id(&P, "memscope: allocations, and blocks live at the end of the trace");
        prof.n_comment = 1;
        prof.comment = &comment;
        prof.n_string_table = P.nstr;
        prof.string_table = P.str;
    }
    int rc = P.oom ? -ENOMEM : 0;
    if (rc == 0) {
        size_t len = msx_pprof__profile__get_packed_size(&prof);
        uint8_t *out = malloc(len ? len : 1);
        if (!out) {
            rc = -ENOMEM;
        } else {
            msx_pprof__profile__pack(&prof, out);
            rc = gzip_to(b, out, len);
            free(out);
        }
    }
    free(smp);
    free(smpp);
    free(lst);
    free(lab);
    free(vals);
    free(map);
    free(mapp);
    free(loc);
    free(locp);
    free(line);
    free(linep);
    free(fn);
    free(fnp);
    pb_free(&P);
    return rc;
}
