/* View: call stacks (see views.h, msx_view_stacks). Each thread's STACK
 * records ([id, [pc, ...]], FORMAT.md) define per-thread ids; this view maps
 * each (thread, id) to a global stack, one per distinct pc array across all
 * threads, and notes the MODULES generation in force when a stack was first
 * defined (the symbolizer resolves its pcs against that module map).
 *
 * Hostile input is reported and skipped, never trusted: a record that is not
 * [uint, array], an id of 0, a pc that is not a uint, a redefinition of an id
 * (the first definition stays: blocks already made with it keep their
 * site). More than MSX_MAX_FRAMES pcs are cut to that many, and reported. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize.h"
#include "views.h"

void msx_view_stacks_init(msx_view_stacks *v)
{
    memset(v, 0, sizeof *v);
}

/* FNV-1a over the pcs. Never 0 (0 marks nothing here, but keeps it simple). */
static uint64_t pcs_hash(const uint64_t *pc, uint32_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (uint32_t i = 0; i < n; i++) {
        h ^= pc[i];
        h *= UINT64_C(0x100000001b3);
        h ^= h >> 29;
    }
    return (h | 1) ^ (uint64_t)n << 60;
}

static uint64_t key_home(uint32_t thread, uint64_t id, uint64_t cap)
{
    return ((id ^ (uint64_t)thread << 40) * UINT64_C(0x9E3779B97F4A7C15)) >> 20 & (cap - 1);
}

/* The slot of (thread, id): its own, or the empty one where it would go. */
static msx_stack_key *key_slot(msx_stack_key *k, uint64_t cap, uint32_t thread, uint64_t id)
{
    for (uint64_t i = key_home(thread, id, cap);; i = (i + 1) & (cap - 1))
        if (!k[i].id || (k[i].id == id && k[i].thread == thread))
            return &k[i];
}

uint32_t msx_view_stacks_lookup(msx_view_stacks *v, uint32_t thread, uint64_t id)
{
    if (!id)
        return 0;
    if (v->keys_cap) {
        msx_stack_key *s = key_slot(v->keys, v->keys_cap, thread, id);
        if (s->id)
            return s->global;
    }
    return 0;
}

const uint64_t *msx_view_stacks_pcs(const msx_view_stacks *v, uint32_t g, uint32_t *n, uint32_t *gen)
{
    if (!g || g > v->n) {
        *n = 0;
        *gen = 0;
        return NULL;
    }
    const msx_gstack *s = &v->s[g - 1];
    *n = s->n;
    *gen = s->gen;
    return v->pc + s->off;
}

/* Grows the (thread, id) table to keep it at most half full. */
static int keys_grow(msx_view_stacks *v)
{
    if (2 * (v->keys_n + 1) <= v->keys_cap)
        return 0;
    uint64_t cap = v->keys_cap ? 2 * v->keys_cap : 256;
    msx_stack_key *k = calloc(cap, sizeof *k);
    if (!k)
        return -ENOMEM;
    for (uint64_t i = 0; i < v->keys_cap; i++)
        if (v->keys[i].id)
            *key_slot(k, cap, v->keys[i].thread, v->keys[i].id) = v->keys[i];
    free(v->keys);
    v->keys = k;
    v->keys_cap = cap;
    return 0;
}

/* The dedup slot of pcs: one holding an equal stack, or an empty one. */
static uint32_t *dedup_slot(const msx_view_stacks *v, uint32_t *d, uint64_t cap, uint64_t h, const uint64_t *pc,
                            uint32_t n)
{
    for (uint64_t i = h >> 7 & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!d[i])
            return &d[i];
        const msx_gstack *s = &v->s[d[i] - 1];
        if (s->hash == h && s->n == n && (n == 0 || !memcmp(v->pc + s->off, pc, n * sizeof *pc)))
            return &d[i];
    }
}

static int dedup_grow(msx_view_stacks *v)
{
    if (2 * ((uint64_t)v->n + 1) <= v->dedup_cap)
        return 0;
    uint64_t cap = v->dedup_cap ? 2 * v->dedup_cap : 256;
    uint32_t *d = calloc(cap, sizeof *d);
    if (!d)
        return -ENOMEM;
    for (uint32_t g = 1; g <= v->n; g++) {
        const msx_gstack *s = &v->s[g - 1];
        *dedup_slot(v, d, cap, s->hash, v->pc + s->off, s->n) = g;
    }
    free(v->dedup);
    v->dedup = d;
    v->dedup_cap = cap;
    return 0;
}

/* The global id of pcs, made if new. Returns 0 when out of memory. */
static uint32_t intern(msx_view_stacks *v, const uint64_t *pc, uint32_t n)
{
    if (dedup_grow(v) < 0)
        return 0;
    uint64_t h = pcs_hash(pc, n);
    uint32_t *slot = dedup_slot(v, v->dedup, v->dedup_cap, h, pc, n);
    uint32_t found = *slot;
    if (found)
        return found;
    if (v->n == UINT32_MAX - 1)
        return 0;
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? 2 * v->cap : 64;
        msx_gstack *s = realloc(v->s, cap * sizeof *s);
        if (!s)
            return 0;
        v->s = s;
        v->cap = cap;
    }
    if (v->npc + n > v->pc_cap) {
        uint64_t cap = v->pc_cap ? 2 * v->pc_cap : 1024;
        while (cap < v->npc + n)
            cap *= 2;
        uint64_t *p = realloc(v->pc, cap * sizeof *p);
        if (!p)
            return 0;
        v->pc = p;
        v->pc_cap = cap;
    }
    memcpy(v->pc + v->npc, pc, n * sizeof *pc);
    v->s[v->n] = (msx_gstack){ .hash = h, .off = v->npc, .n = n, .gen = v->gen };
    v->npc += n;
    *slot = ++v->n;
    return *slot;
}

/* Takes a STACK record of thread index `thread` (serial for messages).
 * Returns 0 or -ENOMEM. */
static int define(msx_view_stacks *v, uint32_t thread, uint32_t serial, const msx_obj *o)
{
    if (o->type != MSX_ARRAY || o->n < 2 || o->v.a[0].type != MSX_UINT || o->v.a[1].type != MSX_ARRAY) {
        msx_reader_problem(v->R, 0, "thread %u: a STACK record is not [id, [pc, ...]]: ignored", serial);
        return 0;
    }
    uint64_t id = o->v.a[0].v.u;
    const msx_obj *pcs = &o->v.a[1];
    if (!id) {
        msx_reader_problem(v->R, 0, "thread %u: a STACK record defines id 0: ignored", serial);
        return 0;
    }
    if (v->keys_cap && key_slot(v->keys, v->keys_cap, thread, id)->id) {
        msx_reader_problem(v->R, 0, "thread %u: STACK %llu defined again: the first definition is kept", serial,
                           (unsigned long long)id);
        return 0;
    }
    uint32_t n = pcs->n;
    if (n > MSX_MAX_FRAMES) {
        msx_reader_problem(v->R, 0, "thread %u: STACK %llu has %u frames: cut to the innermost %d", serial,
                           (unsigned long long)id, n, MSX_MAX_FRAMES);
        n = MSX_MAX_FRAMES;
    }
    uint64_t pc[MSX_MAX_FRAMES];
    for (uint32_t i = 0; i < n; i++) {
        if (pcs->v.a[i].type != MSX_UINT) {
            msx_reader_problem(v->R, 0, "thread %u: STACK %llu: frame %u is not an address: the stack ends before it",
                               serial, (unsigned long long)id, i);
            n = i;
            break;
        }
        pc[i] = pcs->v.a[i].v.u;
    }
    uint32_t g = intern(v, pc, n);
    if (!g || keys_grow(v) < 0)
        return -ENOMEM;
    *key_slot(v->keys, v->keys_cap, thread, id) = (msx_stack_key){ .id = id, .thread = thread, .global = g };
    v->keys_n++;
    return 0;
}

int msx_view_stacks_control(msx_view_stacks *v, const msx_ctl_ev *e)
{
    if (e->kind != MSX_CTL_RECORD)
        return 0;
    if (e->type == MSF_R_MODULES) {
        if (e->obj->type != MSX_ARRAY)
            return 0;
        v->gen++;
        if (v->sym)
            (void)msx_sym_modules(v->sym, e->obj);
        return 0;
    }
    if (e->type != MSF_R_STACK)
        return 0;
    uint32_t serial = v->R && v->R->r && e->actor < v->R->r->nthreads ? v->R->r->threads[e->actor].id : e->actor + 1;
    return define(v, e->actor, serial, e->obj);
}

void msx_view_stacks_finish(msx_view_stacks *v)
{
    if (v->undefined)
        msx_reader_problem(v->R, 0, "%llu events name a stack id their thread never defined: counted without a stack",
                           (unsigned long long)v->undefined);
}

void msx_view_stacks_free(msx_view_stacks *v)
{
    free(v->s);
    free(v->pc);
    free(v->dedup);
    free(v->keys);
    msx_sym_free(v->sym);
    msx_view_stacks_init(v);
}
