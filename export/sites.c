/* The sites' finish (view_sites.c gathers their figures): each global stack
 * is symbolized (symbolize.h) into r->sites with its frames, its own frame
 * chosen, classified runtime or not, matched against the suppressions; the
 * functions are their sites summed by own frame; the peak's top sites and
 * the leak totals by kind follow. docs/JSON.md states the rules. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sites.h"
#include "symbolize.h"
#include "views.h"

const char *const msx_site_fig_names[MSX_SITE_FIGS] = {
    "allocations", "bytes_allocated", "live_bytes", "peak_live_bytes",
    "peak_bytes", "leaked_bytes", "leaked_blocks", "temporary",
};

/* -- strings -------------------------------------------------------------- */

/* Interned strings of r->strings: open addressing by hash, index + 1. */
typedef struct strtab {
    msx_report *r;
    uint32_t *slot;
    uint64_t cap;
    uint32_t cap_strings;
} strtab;

static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint32_t *str_slot(const strtab *t, uint32_t *slot, uint64_t cap, const char *s, size_t n)
{
    for (uint64_t i = str_hash(s, n) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!slot[i])
            return &slot[i];
        const msx_str *x = &t->r->strings[slot[i] - 1];
        if (x->n == n && !memcmp(x->p, s, n))
            return &slot[i];
    }
}

/* The index + 1 of string s (NULL: 0), added if new; 0 when out of memory
 * (*oom is set then). */
static uint32_t str_intern(strtab *t, const char *s, bool *oom)
{
    if (!s)
        return 0;
    msx_report *r = t->r;
    size_t n = strlen(s);
    if (2 * ((uint64_t)r->nstrings + 1) > t->cap) {
        uint64_t cap = t->cap ? 2 * t->cap : 1024;
        uint32_t *slot = calloc(cap, sizeof *slot);
        if (!slot)
            goto oom;
        for (uint32_t i = 0; i < r->nstrings; i++)
            *str_slot(t, slot, cap, r->strings[i].p, r->strings[i].n) = i + 1;
        free(t->slot);
        t->slot = slot;
        t->cap = cap;
    }
    uint32_t *sl = str_slot(t, t->slot, t->cap, s, n);
    uint32_t found = *sl;
    if (found)
        return found;
    if (r->nstrings == t->cap_strings) {
        uint32_t cap = t->cap_strings ? 2 * t->cap_strings : 256;
        msx_str *p = realloc(r->strings, cap * sizeof *p);
        if (!p)
            goto oom;
        r->strings = p;
        t->cap_strings = cap;
    }
    r->strings[r->nstrings] = (msx_str){ 0 };
    if (msx_str_set(&r->strings[r->nstrings], s, n) < 0)
        goto oom;
    *sl = ++r->nstrings;
    return *sl;
oom:
    *oom = true;
    return 0;
}

/* -- runtime -------------------------------------------------------------- */

/* The file name of a path (after the last '/'). */
static const char *base_name(const msx_str *s, size_t *n)
{
    const char *p = s->p, *e = s->p + s->n;
    for (const char *q = p; q < e; q++)
        if (*q == '/')
            p = q + 1;
    *n = (size_t)(e - p);
    return p;
}

static bool has_prefix(const char *s, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    return n >= k && !memcmp(s, pre, k);
}

bool msx_module_is_memscope(const msx_str *module)
{
    size_t n;
    const char *b = base_name(module, &n);
    return has_prefix(b, n, "libmemscope_alloc");
}

bool msx_module_is_runtime(const msx_str *module)
{
    static const char *const pre[] = {
        "libc.so", "libc-", "ld-linux", "ld-", "ld64.so", "libstdc++.so", "libgcc_s", "libm.so", "libm-",
        "libpthread", "libdl.so", "libdl-", "libmemscope_alloc",
    };
    size_t n;
    const char *b = base_name(module, &n);
    for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
        if (has_prefix(b, n, pre[i]))
            return true;
    return false;
}

/* A function of the runtime that allocates for the runtime itself: stdio
 * buffers, the loader's TLS and link maps, locale data, libstdc++'s
 * emergency exception pool. */
static bool runtime_function(const msx_str *f, const msx_str *file)
{
    static const char *const pre[] = {
        "_IO_", "_dl_", "__libc_setup_tls", "__libc_early_init", "_nl_", "__gconv", "__tzfile", "__tzset",
        "__cxa_get_globals", "__cxa_thread_atexit", "_GLOBAL__sub_I_eh_alloc",
    };
    if (f) {
        for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
            if (has_prefix(f->p, f->n, pre[i]))
                return true;
        static const char pool[] = "pool::pool";
        if (f->n >= sizeof pool - 1 && memmem(f->p, f->n, pool, sizeof pool - 1))
            return true;
    }
    static const char eh[] = "eh_alloc.cc";
    return file && file->n >= sizeof eh - 1 && !memcmp(file->p + file->n - (sizeof eh - 1), eh, sizeof eh - 1);
}

/* A frame's module, function, file as strings (NULL: unknown). */
#define FSTR(r, fr, field) msx_report_string((r), (fr)->field)

void msx_site_classify(const msx_report *r, msx_site_report *s)
{
    s->frame = 0;
    s->runtime = false;
    if (!s->nframes)
        return;
    /* its own frame: the innermost not of the runtime; if none, the innermost */
    uint32_t own = s->nframes;
    for (uint32_t i = 0; i < s->nframes; i++) {
        const msx_str *m = FSTR(r, &s->frames[i], module);
        if (!m || !msx_module_is_runtime(m)) {
            own = i;
            break;
        }
    }
    s->frame = own < s->nframes ? own : 0;
    /* a frame of the program's module compiled from a system header (an
     * inlined or instantiated std::string or std::vector member) is the
     * runtime's too, when a frame of the program's own sources follows */
    for (uint32_t i = own; i < s->nframes; i++) {
        const msx_site_frame *fr = &s->frames[i];
        const msx_str *m = FSTR(r, fr, module), *file = FSTR(r, fr, file);
        if (m && msx_module_is_runtime(m))
            continue;
        if (!(file && (has_prefix(file->p, file->n, "/usr/include/") ||
                       has_prefix(file->p, file->n, "/usr/lib/gcc/")))) {
            s->frame = i;
            break;
        }
    }
    /* runtime: every frame in a runtime module, or the run of runtime frames
     * at the inside holds one of the runtime's own allocating functions */
    if (own == s->nframes) {
        s->runtime = true;
        for (uint32_t i = 0; i < s->nframes; i++)
            if (!FSTR(r, &s->frames[i], module))
                s->runtime = false;
        return;
    }
    for (uint32_t i = 0; i < own; i++) {
        const msx_site_frame *fr = &s->frames[i];
        if (runtime_function(FSTR(r, fr, function), FSTR(r, fr, file))) {
            s->runtime = true;
            return;
        }
    }
}

/* -- suppressions --------------------------------------------------------- */

struct msx_supp {
    uint32_t n;
    msx_str *pat;
};

int msx_supp_parse(msx_supp **out, const char *text, size_t len, msx_str *problems, uint32_t maxp, uint32_t *np)
{
    *out = NULL;
    *np = 0;
    msx_supp *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    uint32_t cap = 0, lineno = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        const char *a = text + i, *b = text + j;
        i = j + 1;
        lineno++;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
            b--;
        if (a == b || *a == '#')
            continue;
        if ((size_t)(b - a) < 5 || memcmp(a, "leak:", 5) != 0 || b - a == 5) {
            if (*np < maxp) {
                char msg[96];
                int k = snprintf(msg, sizeof msg, "suppressions line %u: not `leak:PATTERN`: ignored", lineno);
                if (msx_str_set(&problems[*np], msg, (size_t)k) == 0)
                    (*np)++;
            }
            continue;
        }
        if (s->n == cap) {
            cap = cap ? 2 * cap : 16;
            msx_str *p = realloc(s->pat, cap * sizeof *p);
            if (!p)
                goto oom;
            s->pat = p;
        }
        s->pat[s->n] = (msx_str){ 0 };
        if (msx_str_set(&s->pat[s->n], a + 5, (size_t)(b - a - 5)) < 0)
            goto oom;
        s->n++;
    }
    *out = s;
    return 0;
oom:
    msx_supp_free(s);
    return -ENOMEM;
}

void msx_supp_free(msx_supp *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++)
        free(s->pat[i].p);
    free(s->pat);
    free(s);
}

uint32_t msx_supp_count(const msx_supp *s)
{
    return s ? s->n : 0;
}

/* The first occurrence of p[0..pn) in s[0..sn), or NULL. */
static const char *find(const char *s, size_t sn, const char *p, size_t pn)
{
    if (!pn)
        return s;
    return pn <= sn ? memmem(s, sn, p, pn) : NULL;
}

bool msx_supp_match(const char *pat, size_t pn, const char *s, size_t sn)
{
    if (!sn)
        return false;
    bool start = pn && pat[0] == '^';
    if (start)
        pat++, pn--;
    bool end = pn && pat[pn - 1] == '$';
    if (end)
        pn--;
    const char *se = s + sn;
    bool first = true;
    while (true) {
        const char *star = memchr(pat, '*', pn);
        size_t k = star ? (size_t)(star - pat) : pn;
        if (!star && end) {
            /* the last piece sits at the end, after what matched so far */
            if (k > (size_t)(se - s) || (first && start && (size_t)(se - s) != k))
                return false;
            return !memcmp(se - k, pat, k);
        }
        const char *at = find(s, (size_t)(se - s), pat, k);
        if (!at || (first && start && at != s))
            return false;
        s = at + k;
        if (!star)
            return true;
        pat += k + 1;
        pn -= k + 1;
        first = false;
    }
}

/* Whether string x matches any pattern (a module also by its file name). */
static bool supp_str(const msx_supp *S, const msx_str *x, bool module)
{
    if (!x)
        return false;
    size_t bn;
    const char *b = module ? base_name(x, &bn) : NULL;
    for (uint32_t i = 0; i < S->n; i++)
        if (msx_supp_match(S->pat[i].p, S->pat[i].n, x->p, x->n) ||
            (b && msx_supp_match(S->pat[i].p, S->pat[i].n, b, bn)))
            return true;
    return false;
}

/* Leak totals by kind, from the sites. */
static void leak_totals(msx_report *r)
{
    r->leaked_program_bytes = r->leaked_program_blocks = 0;
    r->leaked_runtime_bytes = r->leaked_runtime_blocks = 0;
    r->leaked_suppressed_bytes = r->leaked_suppressed_blocks = 0;
    for (uint32_t i = 0; i < r->nsites; i++) {
        const msx_site_report *s = &r->sites[i];
        uint64_t by = s->f.v[MSX_SF_LEAKED_BYTES], bl = s->f.v[MSX_SF_LEAKED_BLOCKS];
        if (s->runtime) {
            r->leaked_runtime_bytes += by;
            r->leaked_runtime_blocks += bl;
        } else if (s->suppressed) {
            r->leaked_suppressed_bytes += by;
            r->leaked_suppressed_blocks += bl;
        } else {
            r->leaked_program_bytes += by;
            r->leaked_program_blocks += bl;
        }
    }
}

void msx_sites_suppress(msx_report *r, const msx_supp *S)
{
    for (uint32_t i = 0; i < r->nsites; i++) {
        msx_site_report *s = &r->sites[i];
        s->suppressed = false;
        for (uint32_t j = 0; S && S->n && j < s->nframes && !s->suppressed; j++) {
            const msx_site_frame *fr = &s->frames[j];
            s->suppressed = supp_str(S, FSTR(r, fr, function), false) || supp_str(S, FSTR(r, fr, file), false) ||
                            supp_str(S, FSTR(r, fr, module), true);
        }
    }
    leak_totals(r);
}

/* -- the finish ----------------------------------------------------------- */

/* Symbolizes global stack g into s. Returns 0 or -ENOMEM. */
static int symbolize(msx_view_sites *v, strtab *T, uint32_t g, msx_site_report *s)
{
    uint32_t npc, gen;
    const uint64_t *pc = msx_view_stacks_pcs(v->stacks, g, &npc, &gen);
    /* a stack defined before the first MODULES record (a library's
     * constructor, before the recorder wrote it) takes the first map */
    if (!gen && v->stacks->gen)
        gen = 1;
    enum { PER_PC = 16 };
    msx_frame fr[PER_PC];
    uint32_t cap = npc ? npc : 1;
    s->frames = calloc(cap, sizeof *s->frames);
    if (!s->frames)
        return -ENOMEM;
    bool oom = false;
    for (uint32_t i = 0; i < npc; i++) {
        size_t k = 1;
        if (v->stacks->sym && gen)
            k = msx_sym_resolve(v->stacks->sym, gen, pc[i], fr, PER_PC);
        /* a stack defined before the module map that holds its code (an
         * allocation before the library's constructor wrote the first map,
         * or right after a dlopen): the newest map */
        if (v->stacks->sym && (!gen || k == 0 || fr[0].module == NULL))
            k = msx_sym_resolve(v->stacks->sym, 0, pc[i], fr, PER_PC);
        if (!v->stacks->sym || k == 0) {
            k = 1;
            fr[0] = (msx_frame){ .pc = pc[i] };
        }
        if (s->nframes + k > cap) {
            while (s->nframes + k > cap)
                cap *= 2;
            msx_site_frame *p = realloc(s->frames, cap * sizeof *p);
            if (!p)
                return -ENOMEM;
            s->frames = p;
        }
        for (size_t j = 0; j < k; j++) {
            msx_site_frame *o = &s->frames[s->nframes++];
            *o = (msx_site_frame){ .pc = pc[i], .offset = fr[j].module ? fr[j].offset : 0, .line = fr[j].line,
                                   .inlined = fr[j].inlined };
            o->function = str_intern(T, fr[j].function, &oom);
            o->file = str_intern(T, fr[j].file, &oom);
            o->module = str_intern(T, fr[j].module, &oom);
        }
    }
    return oom ? -ENOMEM : 0;
}

/* An estimate's figure and interval. */
static void est_fig(msx_site_figs *f, int k, const msx_est *e)
{
    f->v[k] = e->value > 0 ? (uint64_t)llround(e->value) : 0;
    double lo, hi;
    msx_est_ci95(e, &lo, &hi);
    f->lo[k] = lo;
    f->hi[k] = hi;
}

/* The figures of site state st (and estimate x, sampled). */
static void figures(const msx_view_sites *v, const msx_site_state *st, const msx_site_est *x, msx_site_figs *f,
                    uint64_t *peak_blocks)
{
    bool at_peak = st->snap_epoch == v->peak->epoch;
    memset(f, 0, sizeof *f);
    f->v[MSX_SF_ALLOCATIONS] = st->alloc;
    f->v[MSX_SF_BYTES_ALLOCATED] = st->bytes;
    f->v[MSX_SF_LIVE_BYTES] = st->live;
    f->v[MSX_SF_PEAK_LIVE_BYTES] = st->peak_live;
    f->v[MSX_SF_PEAK_BYTES] = at_peak ? st->snap_bytes : 0;
    f->v[MSX_SF_LEAKED_BYTES] = st->leaked_bytes;
    f->v[MSX_SF_LEAKED_BLOCKS] = st->leaked_blocks;
    f->v[MSX_SF_TEMPORARY] = st->temporary;
    *peak_blocks = at_peak ? st->snap_blocks : 0;
    if (!x)
        return;
    msx_est snap = at_peak ? x->snap : (msx_est){ 0 };
    est_fig(f, MSX_SF_ALLOCATIONS, &x->alloc);
    est_fig(f, MSX_SF_BYTES_ALLOCATED, &x->bytes);
    est_fig(f, MSX_SF_LIVE_BYTES, &x->live);
    est_fig(f, MSX_SF_PEAK_LIVE_BYTES, &x->peak_live);
    est_fig(f, MSX_SF_PEAK_BYTES, &snap);
    est_fig(f, MSX_SF_LEAKED_BYTES, &x->leaked_bytes);
    est_fig(f, MSX_SF_LEAKED_BLOCKS, &x->leaked_blocks);
    est_fig(f, MSX_SF_TEMPORARY, &x->temporary);
}

static int site_cmp(const void *a, const void *b)
{
    const msx_site_report *x = a, *y = b;
    if (x->f.v[MSX_SF_BYTES_ALLOCATED] != y->f.v[MSX_SF_BYTES_ALLOCATED])
        return x->f.v[MSX_SF_BYTES_ALLOCATED] > y->f.v[MSX_SF_BYTES_ALLOCATED] ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int func_cmp(const void *a, const void *b)
{
    const msx_function_report *x = a, *y = b;
    if (x->f.v[MSX_SF_BYTES_ALLOCATED] != y->f.v[MSX_SF_BYTES_ALLOCATED])
        return x->f.v[MSX_SF_BYTES_ALLOCATED] > y->f.v[MSX_SF_BYTES_ALLOCATED] ? -1 : 1;
    return x->sites[0] < y->sites[0] ? -1 : x->sites[0] > y->sites[0];
}

/* Whether two own frames are the same function (and place); an unnamed
 * one is its module offset, or its pc without a module. */
static bool same_at(const msx_site_frame *a, const msx_site_frame *b)
{
    return a->function == b->function && a->file == b->file && a->line == b->line && a->module == b->module &&
           (a->function || (a->module ? a->offset == b->offset : a->pc == b->pc));
}

static uint64_t at_hash(const msx_site_frame *a)
{
    uint64_t h = (uint64_t)a->function * 0x9E3779B97F4A7C15u ^ (uint64_t)a->file * 0xC2B2AE3D27D4EB4Fu ^
                 (uint64_t)a->line * 0x165667B19E3779F9u ^ (uint64_t)a->module * 0x27D4EB2F165667C5u;
    if (!a->function)
        h ^= (a->module ? a->offset : a->pc) * 0x94D049BB133111EBu;
    return h ^ h >> 31;
}

/* Sums the sites into functions (r->sites sorted; ids ascending within). */
static int build_functions(msx_report *r, msx_sampling how)
{
    uint64_t cap = 64;
    while (cap < 2 * (uint64_t)r->nsites)
        cap *= 2;
    uint32_t *slot = calloc(cap, sizeof *slot);
    r->functions = calloc(r->nsites ? r->nsites : 1, sizeof *r->functions);
    double (*var)[MSX_SITE_FIGS] = how ? calloc(r->nsites ? r->nsites : 1, sizeof *var) : NULL;
    if (!slot || !r->functions || (how && !var)) {
        free(slot);
        free(var);
        return -ENOMEM;
    }
    int rc = 0;
    /* by site id, so that each function's ids come ascending */
    uint32_t *order = malloc((r->nsites ? r->nsites : 1) * sizeof *order);
    if (!order) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < r->nsites; i++)
        order[r->sites[i].id - 1 < r->nsites ? r->sites[i].id - 1 : 0] = i;
    for (uint32_t oi = 0; oi < r->nsites; oi++) {
        const msx_site_report *s = &r->sites[order[oi]];
        msx_site_frame at = s->nframes ? s->frames[s->frame] : (msx_site_frame){ 0 };
        uint64_t i = at_hash(&at) & (cap - 1);
        while (slot[i] && !same_at(&r->functions[slot[i] - 1].at, &at))
            i = (i + 1) & (cap - 1);
        if (!slot[i]) {
            slot[i] = ++r->nfunctions;
            r->functions[slot[i] - 1].at = at;
        }
        msx_function_report *f = &r->functions[slot[i] - 1];
        uint32_t *ids = realloc(f->sites, (f->nsites + 1) * sizeof *ids);
        if (!ids) {
            rc = -ENOMEM;
            goto out;
        }
        f->sites = ids;
        f->sites[f->nsites++] = s->id;
        for (int k = 0; k < MSX_SITE_FIGS; k++) {
            f->f.v[k] += s->f.v[k];
            if (var) {
                /* the interval's half width gives back the variance */
                double h = (s->f.hi[k] - s->f.v[k]) / 1.959963984540054;
                var[slot[i] - 1][k] += h * h;
            }
        }
    }
    for (uint32_t j = 0; var && j < r->nfunctions; j++)
        for (int k = 0; k < MSX_SITE_FIGS; k++) {
            msx_est e = { .value = (double)r->functions[j].f.v[k], .var = var[j][k] };
            msx_est_ci95(&e, &r->functions[j].f.lo[k], &r->functions[j].f.hi[k]);
        }
    qsort(r->functions, r->nfunctions, sizeof *r->functions, func_cmp);
out:
    free(order);
    free(slot);
    free(var);
    return rc;
}

/* The sites holding most at the peak. */
static void peak_sites(msx_report *r)
{
    r->npeak_sites = 0;
    for (uint32_t i = 0; i < r->nsites; i++) {
        const msx_site_report *s = &r->sites[i];
        uint64_t b = s->f.v[MSX_SF_PEAK_BYTES];
        if (!b && !s->peak_blocks)
            continue;
        msx_peak_site p = { .site = s->id, .bytes = b, .blocks = s->peak_blocks };
        uint32_t k = r->npeak_sites;
        if (k == MSX_MAX_PEAK_SITES) {
            const msx_peak_site *l = &r->peak_sites[k - 1];
            if (l->bytes > b || (l->bytes == b && l->site < p.site))
                continue;
            k--;
        } else {
            r->npeak_sites++;
        }
        while (k > 0 && (r->peak_sites[k - 1].bytes < b || (r->peak_sites[k - 1].bytes == b && r->peak_sites[k - 1].site > p.site))) {
            r->peak_sites[k] = r->peak_sites[k - 1];
            k--;
        }
        r->peak_sites[k] = p;
    }
}

int msx_view_sites_finish(msx_view_sites *v)
{
    msx_report *r = v->r;
    uint64_t pb;
    figures(v, &v->s[0], v->e ? &v->e[0] : NULL, &r->nostack, &pb);
    uint32_t n = v->stacks ? v->stacks->n : 0;
    if (!n)
        return 0;
    r->sites = calloc(n, sizeof *r->sites);
    if (!r->sites)
        return -ENOMEM;
    strtab T = { .r = r };
    int rc = 0;
    for (uint32_t g = 1; g <= n; g++) {
        msx_site_report *s = &r->sites[r->nsites++];
        s->id = g;
        if ((rc = symbolize(v, &T, g, s)) < 0)
            break;
        msx_site_classify(r, s);
        figures(v, &v->s[g], v->e ? &v->e[g] : NULL, &s->f, &s->peak_blocks);
    }
    free(T.slot);
    if (rc < 0)
        return rc;
    msx_sites_suppress(r, v->supp);
    peak_sites(r);
    qsort(r->sites, r->nsites, sizeof *r->sites, site_cmp);
    return build_functions(r, v->how);
}
