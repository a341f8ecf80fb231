/* The symbolizer (symbolize.h): generations of the module map, the distinct
 * modules, the (module, pc) cache and the strings. The files themselves and
 * the DWARF lookups are in symbolize_dw.c.
 *
 * Data layout:
 *   mods[]        every distinct module (path, base, build-id), in order of
 *                 first appearance; its file is opened on the first pc that
 *                 falls in it, once, whatever the number of generations.
 *   gens[g - 1]   generation g: the intervals [start, end) of the PT_LOAD
 *                 segments of its modules, sorted by start, each naming its
 *                 module. A pc belongs to the interval with the greatest
 *                 start <= pc - 1, if it ends after it.
 *   cache         open addressing on (module, pc) -> frames[first .. first +
 *                 count) (function, file, line, inlined: the rest is the
 *                 slot's): one entry per distinct pc resolved, so memory is
 *                 proportional to the distinct pcs, not to the calls.
 *   pool          interned strings (names, files, paths, problems), each
 *                 preceded by a flag byte (bit 0: already a problem), in
 *                 blocks that never move. */
#include "symbolize_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

/* Most messages about malformed MODULES entries; one more says the rest were
 * left out. */
enum { MALFORMED_MAX = 32 };
enum { POOL_BLOCK = 64 * 1024 };

typedef struct sym_mod {
    const char *path;         /* interned, as recorded */
    uint64_t base;
    uint64_t hash;
    uint8_t bid[MSX_SYM_BUILD_ID_MAX];
    uint8_t bid_len;          /* 0: the trace recorded none */
    uint8_t state;            /* MOD_* */
    msx_symfile *file;        /* MOD_OPEN only */
} sym_mod;

enum { MOD_UNTRIED, MOD_OPEN, MOD_UNUSABLE };

typedef struct sym_iv {
    uint64_t start, end;      /* [start, end) of a segment, in the process */
    uint32_t mod;             /* index in mods */
} sym_iv;

typedef struct sym_gen {
    sym_iv *iv;
    uint32_t n;
} sym_gen;

typedef struct sym_slot {
    uint64_t pc;
    uint32_t mod;             /* UINT32_MAX: empty */
    uint32_t count;
    size_t first;             /* index in frames */
} sym_slot;

/* A cached frame: what differs between the frames of one pc (the pc, module
 * and offset come from the cache slot). */
typedef struct sym_cframe {
    const char *function;
    const char *file;
    uint32_t line;
    bool inlined;
} sym_cframe;

typedef struct pool_block {
    struct pool_block *next;
    size_t used, size;
    char data[];
} pool_block;

typedef struct str_slot {
    const char *s;            /* NULL: empty */
    size_t n;
    uint64_t hash;
} str_slot;

struct msx_sym {
    msx_sym_opts opts;        /* own copies of the strings */
    sym_mod *mods;
    uint32_t nmods, capmods;
    uint32_t *modidx;         /* open addressing: index + 1, 0 empty */
    uint32_t capidx;
    sym_gen *gens;
    uint32_t ngens, capgens;
    sym_slot *cache;
    size_t ncache, capcache;
    sym_cframe *frames;
    size_t nframes, capframes;
    pool_block *pool;
    str_slot *strs;
    size_t nstrs, capstrs;
    const char **problems;
    size_t nproblems, capproblems;
    uint32_t malformed;       /* malformed entries reported */
    msx_sym_stats st;
    size_t pool_bytes;
};

/* -- helpers ---------------------------------------------------------------- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* Grows *p (elements of size sz, capacity *cap) to hold need. Returns false
 * without memory (nothing changes then). */
static bool grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / sz)
            return false;
        c *= 2;
    }
    void *q = realloc(*p, c * sz);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static bool grow32(void **p, uint32_t *cap, size_t need, size_t sz)
{
    size_t c = *cap;
    if (need > UINT32_MAX / 2 || !grow(p, &c, need, sz))
        return false;
    *cap = (uint32_t)c;
    return true;
}

/* -- strings ---------------------------------------------------------------- */

/* Room for n bytes in the pool, or NULL. */
static char *pool_alloc(msx_sym *S, size_t n)
{
    pool_block *b = S->pool;
    if (!b || b->size - b->used < n) {
        size_t size = n > POOL_BLOCK ? n : POOL_BLOCK;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        /* a large string gets a block of its own behind the current one, so
         * that the current one keeps filling */
        if (S->pool && n > POOL_BLOCK) {
            b->next = S->pool->next;
            S->pool->next = b;
        } else {
            b->next = S->pool;
            S->pool = b;
        }
        S->pool_bytes += sizeof *b + size;
    }
    char *r = b->data + b->used;
    b->used += n;
    return r;
}

static bool strs_rehash(msx_sym *S, size_t cap)
{
    str_slot *t = calloc(cap, sizeof *t);
    if (!t)
        return false;
    for (size_t i = 0; i < S->capstrs; i++) {
        if (!S->strs[i].s)
            continue;
        size_t j = S->strs[i].hash & (cap - 1);
        while (t[j].s)
            j = (j + 1) & (cap - 1);
        t[j] = S->strs[i];
    }
    free(S->strs);
    S->strs = t;
    S->capstrs = cap;
    return true;
}

const char *msx_sym_intern(msx_sym *S, const char *s, size_t n)
{
    if (!s || n > SIZE_MAX - 2)
        return NULL;
    if ((S->nstrs + 1) * 2 > S->capstrs && !strs_rehash(S, S->capstrs ? S->capstrs * 2 : 256))
        return NULL;
    uint64_t h = hash_bytes(0xcbf29ce484222325ull, s, n);
    size_t j = h & (S->capstrs - 1);
    for (; S->strs[j].s; j = (j + 1) & (S->capstrs - 1))
        if (S->strs[j].hash == h && S->strs[j].n == n && memcmp(S->strs[j].s, s, n) == 0)
            return S->strs[j].s;
    char *p = pool_alloc(S, n + 2);
    if (!p)
        return NULL;
    p[0] = 0; /* flags */
    memcpy(p + 1, s, n);
    p[n + 1] = '\0';
    S->strs[j] = (str_slot){ p + 1, n, h };
    S->nstrs++;
    return p + 1;
}

/* Adds message s to the problems unless it is there already. */
static void problem(msx_sym *S, const char *s)
{
    const char *p = msx_sym_intern(S, s, strlen(s));
    if (!p || (((const unsigned char *)p)[-1] & 1))
        return;
    if (!grow((void **)&S->problems, &S->capproblems, S->nproblems + 1, sizeof *S->problems))
        return;
    ((char *)p)[-1] |= 1;
    S->problems[S->nproblems++] = p;
}

/* -- modules ---------------------------------------------------------------- */

/* The index of module (path, base, bid), added if new; UINT32_MAX without
 * memory. path is interned. */
static uint32_t module_index(msx_sym *S, const char *path, uint64_t base, const uint8_t *bid, size_t bid_len)
{
    uint64_t h = hash_bytes(0xcbf29ce484222325ull, path, strlen(path) + 1);
    h = hash_bytes(h, &base, sizeof base);
    h = hash_bytes(h, bid, bid_len);
    if (S->capidx) {
        for (uint32_t j = (uint32_t)h & (S->capidx - 1); S->modidx[j]; j = (j + 1) & (S->capidx - 1)) {
            const sym_mod *m = &S->mods[S->modidx[j] - 1];
            if (m->hash == h && m->path == path && m->base == base && m->bid_len == bid_len &&
                (bid_len == 0 || memcmp(m->bid, bid, bid_len) == 0))
                return S->modidx[j] - 1;
        }
    }
    if (!grow32((void **)&S->mods, &S->capmods, (size_t)S->nmods + 1, sizeof *S->mods))
        return UINT32_MAX;
    if (((size_t)S->nmods + 1) * 2 > S->capidx) {
        uint32_t cap = S->capidx ? S->capidx * 2 : 64;
        uint32_t *t = cap < UINT32_MAX / 2 ? calloc(cap, sizeof *t) : NULL;
        if (!t)
            return UINT32_MAX;
        for (uint32_t i = 0; i < S->nmods; i++) {
            uint32_t j = (uint32_t)S->mods[i].hash & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = i + 1;
        }
        free(S->modidx);
        S->modidx = t;
        S->capidx = cap;
    }
    sym_mod *m = &S->mods[S->nmods];
    *m = (sym_mod){ .path = path, .base = base, .hash = h, .bid_len = (uint8_t)bid_len, .state = MOD_UNTRIED };
    if (bid_len)
        memcpy(m->bid, bid, bid_len); /* bid may be NULL without a build-id */
    uint32_t j = (uint32_t)h & (S->capidx - 1);
    while (S->modidx[j])
        j = (j + 1) & (S->capidx - 1);
    S->modidx[j] = S->nmods + 1;
    return S->nmods++;
}

/* Reports MODULES entry i of generation g as malformed (why), up to
 * MALFORMED_MAX messages. */
static void malformed(msx_sym *S, uint32_t g, uint32_t i, const char *why)
{
    char msg[160];
    if (S->malformed < MALFORMED_MAX)
        snprintf(msg, sizeof msg, "MODULES record %u, entry %u: %s (skipped)", g, i, why);
    else if (S->malformed == MALFORMED_MAX)
        snprintf(msg, sizeof msg, "more malformed MODULES entries (skipped, not listed)");
    else
        return;
    S->malformed++;
    problem(S, msg);
}

/* Checks a MODULES entry: NULL if usable, else why not. Fills the path, base
 * and build-id. */
static const char *entry_check(const msx_obj *e, const msx_obj **path, uint64_t *base, const msx_obj **segs,
                               const uint8_t **bid, size_t *bid_len)
{
    if (e->type != MSX_MAP)
        return "not a map";
    *path = msx_map_get(e, MSF_KEY_PATH);
    if (!*path || (*path)->type != MSX_STR)
        return "no path";
    if (memchr((*path)->v.s, '\0', (*path)->n))
        return "path holds a NUL byte";
    const msx_obj *b = msx_map_get(e, MSF_KEY_BASE);
    if (!b || b->type != MSX_UINT)
        return "no base";
    *base = b->v.u;
    *segs = msx_map_get(e, MSF_KEY_SEGMENTS);
    if (!*segs || (*segs)->type != MSX_ARRAY)
        return "no segments";
    for (uint32_t k = 0; k < (*segs)->n; k++) {
        const msx_obj *s = &(*segs)->v.a[k];
        if (s->type != MSX_ARRAY || s->n < 2 || s->v.a[0].type != MSX_UINT || s->v.a[1].type != MSX_UINT)
            return "malformed segment";
    }
    const msx_obj *id = msx_map_get(e, MSF_KEY_BUILD_ID);
    *bid = NULL;
    *bid_len = 0;
    if (id && id->type != MSX_NIL) {
        if ((id->type != MSX_BIN && id->type != MSX_STR) || id->n == 0 || id->n > MSX_SYM_BUILD_ID_MAX)
            return "malformed build_id";
        *bid = (const uint8_t *)id->v.s;
        *bid_len = id->n;
    }
    return NULL;
}

static int iv_cmp(const void *a, const void *b)
{
    const sym_iv *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->mod < y->mod ? -1 : x->mod > y->mod;
}

uint32_t msx_sym_modules(msx_sym *S, const msx_obj *modules)
{
    if (!S || !modules || modules->type != MSX_ARRAY || S->ngens == UINT32_MAX - 1)
        return 0;
    if (!grow32((void **)&S->gens, &S->capgens, (size_t)S->ngens + 1, sizeof *S->gens))
        return 0;
    uint32_t g = S->ngens + 1;
    sym_gen gen = { NULL, 0 };
    size_t cap = 0;
    for (uint32_t i = 0; i < modules->n; i++) {
        const msx_obj *e = &modules->v.a[i], *pathobj = NULL, *segs = NULL;
        uint64_t base = 0;
        const uint8_t *bid = NULL;
        size_t bid_len = 0;
        const char *why = entry_check(e, &pathobj, &base, &segs, &bid, &bid_len);
        if (why) {
            malformed(S, g, i, why);
            continue;
        }
        const char *path = msx_sym_intern(S, pathobj->v.s, pathobj->n);
        uint32_t m = path ? module_index(S, path, base, bid, bid_len) : UINT32_MAX;
        if (m == UINT32_MAX)
            continue;
        for (uint32_t k = 0; k < segs->n; k++) {
            uint64_t vaddr = segs->v.a[k].v.a[0].v.u, memsz = segs->v.a[k].v.a[1].v.u;
            if (memsz == 0)
                continue;
            if (!grow((void **)&gen.iv, &cap, (size_t)gen.n + 1, sizeof *gen.iv))
                break;
            /* the process's addresses wrap as its loader computes them; an
             * interval that would pass the end of the space stops there */
            uint64_t start = base + vaddr;
            uint64_t end = start + memsz < start ? UINT64_MAX : start + memsz;
            gen.iv[gen.n++] = (sym_iv){ start, end, m };
        }
    }
    if (gen.n)
        qsort(gen.iv, gen.n, sizeof *gen.iv, iv_cmp);
    S->gens[S->ngens++] = gen;
    S->st.generations = S->ngens;
    return g;
}

/* The interval of generation gen that holds address a, or NULL. */
static const sym_iv *find_iv(const sym_gen *gen, uint64_t a)
{
    uint32_t lo = 0, hi = gen->n;   /* first interval with start > a */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (gen->iv[mid].start <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* overlapping intervals (hostile records): the nearest few that start
     * before a are looked at */
    for (uint32_t k = lo, seen = 0; k > 0 && seen < 8; k--, seen++)
        if (a < gen->iv[k - 1].end)
            return &gen->iv[k - 1];
    return NULL;
}

/* -- the cache -------------------------------------------------------------- */

static size_t slot_of(const msx_sym *S, uint32_t mod, uint64_t pc)
{
    return (size_t)mix64(pc ^ ((uint64_t)mod << 40) ^ mod) & (S->capcache - 1);
}

static const sym_slot *cache_get(const msx_sym *S, uint32_t mod, uint64_t pc)
{
    if (!S->capcache)
        return NULL;
    for (size_t j = slot_of(S, mod, pc); S->cache[j].mod != UINT32_MAX; j = (j + 1) & (S->capcache - 1))
        if (S->cache[j].mod == mod && S->cache[j].pc == pc)
            return &S->cache[j];
    return NULL;
}

/* Caches frames f[0..n) for (mod, pc). Without memory nothing is cached. */
static void cache_put(msx_sym *S, uint32_t mod, uint64_t pc, const msx_frame *f, size_t n)
{
    if ((S->ncache + 1) * 2 > S->capcache) {
        size_t cap = S->capcache ? S->capcache * 2 : 1024;
        sym_slot *t = cap < SIZE_MAX / sizeof *t ? malloc(cap * sizeof *t) : NULL;
        if (!t)
            return;
        for (size_t i = 0; i < cap; i++)
            t[i].mod = UINT32_MAX;
        sym_slot *old = S->cache;
        size_t oldcap = S->capcache;
        S->cache = t;
        S->capcache = cap;
        for (size_t i = 0; i < oldcap; i++) {
            if (old[i].mod == UINT32_MAX)
                continue;
            size_t j = slot_of(S, old[i].mod, old[i].pc);
            while (t[j].mod != UINT32_MAX)
                j = (j + 1) & (cap - 1);
            t[j] = old[i];
        }
        free(old);
    }
    if (!grow((void **)&S->frames, &S->capframes, S->nframes + n, sizeof *S->frames))
        return;
    for (size_t i = 0; i < n; i++)
        S->frames[S->nframes + i] = (sym_cframe){ f[i].function, f[i].file, f[i].line, f[i].inlined };
    size_t j = slot_of(S, mod, pc);
    while (S->cache[j].mod != UINT32_MAX)
        j = (j + 1) & (S->capcache - 1);
    S->cache[j] = (sym_slot){ .pc = pc, .mod = mod, .count = (uint32_t)n, .first = S->nframes };
    S->nframes += n;
    S->ncache++;
}

/* -- the API ---------------------------------------------------------------- */

msx_sym *msx_sym_new(const msx_sym_opts *opts)
{
    msx_sym *S = calloc(1, sizeof *S);
    if (!S)
        return NULL;
    if (opts && opts->sysroot && opts->sysroot[0] && !(S->opts.sysroot = strdup(opts->sysroot)))
        goto fail;
    if (opts && opts->debug_dir && opts->debug_dir[0] && !(S->opts.debug_dir = strdup(opts->debug_dir)))
        goto fail;
    return S;
fail:
    msx_sym_free(S);
    return NULL;
}

/* Opens module m's file, once; reports why when it cannot be used. */
static void module_open(msx_sym *S, sym_mod *m)
{
    char why[256];
    S->st.files_tried++;
    m->file = msx_symfile_open(&S->opts, m->path, m->bid, m->bid_len, why, sizeof why);
    if (m->file) {
        m->state = MOD_OPEN;
        S->st.files_used++;
        return;
    }
    m->state = MOD_UNUSABLE;
    if (!why[0])
        return; /* out of memory: nothing to say that would be true of the file */
    size_t len = strlen(m->path) + strlen(why) + 3;
    char *msg = malloc(len);
    if (msg) {
        snprintf(msg, len, "%s: %s", m->path, why);
        problem(S, msg);
        free(msg);
    }
}

size_t msx_sym_resolve(msx_sym *S, uint32_t gen, uint64_t pc, msx_frame *out, size_t max)
{
    if (max == 0)
        return 0;
    out[0] = (msx_frame){ .pc = pc };
    if (!S)
        return 1;
    uint32_t g = gen ? gen : S->ngens;
    if (g == 0 || g > S->ngens || pc == 0)
        return 1;
    uint64_t a = pc - 1;
    const sym_iv *iv = find_iv(&S->gens[g - 1], a);
    if (!iv)
        return 1;
    sym_mod *m = &S->mods[iv->mod];
    out[0].module = m->path;
    out[0].offset = a - m->base;
    const sym_slot *c = cache_get(S, iv->mod, pc);
    if (c) {
        S->st.hits++;
        size_t n = c->count < max ? c->count : max;
        for (size_t i = 0; i < n; i++) {
            const sym_cframe *cf = &S->frames[c->first + i];
            out[i] = (msx_frame){ .pc = pc, .function = cf->function, .file = cf->file, .line = cf->line,
                                  .inlined = cf->inlined, .module = m->path, .offset = out[0].offset };
        }
        return n;
    }
    if (m->state == MOD_UNTRIED)
        module_open(S, m);
    if (m->state != MOD_OPEN)
        return 1;
    msx_frame f[MSX_SYM_MAX_FRAMES];
    size_t n = msx_symfile_lookup(m->file, S, out[0].offset, f, MSX_SYM_MAX_FRAMES);
    for (size_t i = 0; i < n; i++) {
        f[i].pc = pc;
        f[i].module = m->path;
        f[i].offset = out[0].offset;
    }
    S->st.lookups++;
    cache_put(S, iv->mod, pc, f, n);
    n = n < max ? n : max;
    memcpy(out, f, n * sizeof *out);
    return n;
}

const char *const *msx_sym_problems(const msx_sym *S, size_t *n)
{
    *n = S ? S->nproblems : 0;
    return S ? S->problems : NULL;
}

uint32_t msx_sym_module_count(const msx_sym *S)
{
    return S ? S->nmods : 0;
}

void msx_sym_module_get(const msx_sym *S, uint32_t i, msx_sym_module *m)
{
    const sym_mod *d = &S->mods[i];
    *m = (msx_sym_module){ .path = d->path, .base = d->base, .start = UINT64_MAX, .limit = 0,
                           .build_id = d->bid, .build_id_len = d->bid_len };
    for (uint32_t g = 0; g < S->ngens; g++)
        for (uint32_t k = 0; k < S->gens[g].n; k++) {
            const sym_iv *iv = &S->gens[g].iv[k];
            if (iv->mod != i)
                continue;
            if (iv->start < m->start)
                m->start = iv->start;
            if (iv->end > m->limit)
                m->limit = iv->end;
        }
}

void msx_sym_stats_get(const msx_sym *S, msx_sym_stats *st)
{
    *st = S->st;
    st->modules = S->nmods;
    st->cache_entries = S->ncache;
    size_t b = sizeof *S + S->capmods * sizeof *S->mods + S->capidx * sizeof *S->modidx +
               S->capgens * sizeof *S->gens + S->capcache * sizeof *S->cache + S->capframes * sizeof *S->frames +
               S->capstrs * sizeof *S->strs + S->capproblems * sizeof *S->problems + S->pool_bytes;
    for (uint32_t g = 0; g < S->ngens; g++)
        b += S->gens[g].n * sizeof *S->gens[g].iv;
    st->bytes = b;
}

void msx_sym_free(msx_sym *S)
{
    if (!S)
        return;
    for (uint32_t i = 0; i < S->nmods; i++)
        msx_symfile_close(S->mods[i].file);
    for (uint32_t g = 0; g < S->ngens; g++)
        free(S->gens[g].iv);
    for (pool_block *b = S->pool, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(S->mods);
    free(S->modidx);
    free(S->gens);
    free(S->cache);
    free(S->frames);
    free(S->strs);
    free(S->problems);
    free((char *)S->opts.sysroot);
    free((char *)S->opts.debug_dir);
    free(S);
}
