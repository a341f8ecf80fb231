/* Generic MessagePack decoding: msgpack-c's unpack_template.h instantiated
 * with callbacks that build msx_obj trees in an msx_arena (the same way
 * msgpack-c's own src/unpack.c instantiates it with a msgpack_zone). Only the
 * header-only template is used; libmsgpackc is not linked. */
#include "mpk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack/unpack.h>  /* the template's return codes; no function of it is used */
#include <msgpack/unpack_define.h>

/* An arena block: header followed by `cap` bytes of storage. */
struct msx_arena_block {
    msx_arena_block *next;  /* older block */
    size_t cap;             /* bytes of storage after the header */
    size_t used;            /* bytes handed out */
    max_align_t data[];
};

enum {
    ARENA_BLOCK = 64 * 1024,       /* default block size */
    ARENA_LIMIT = 256 << 20,       /* most bytes one decode may hold */
};

/* Returns `size` bytes from the arena (aligned for msx_obj), or NULL. */
static void *arena_alloc(msx_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    msx_arena_block *b = a->head;
    if (b && b->cap - b->used >= size) {
        void *p = (char *)b->data + b->used;
        b->used += size;
        return p;
    }
    size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
    if (a->total + cap > ARENA_LIMIT)
        return NULL;
    b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    b->next = a->head;
    b->cap = cap;
    b->used = size;
    a->head = b;
    a->total += cap;
    return b->data;
}

void msx_arena_reset(msx_arena *a)
{
    msx_arena_block *b = a->head;
    while (b && b->next) {
        msx_arena_block *next = b->next;
        a->total -= b->cap;
        free(b);
        b = next;
    }
    a->head = b;
    if (b)
        b->used = 0;
}

void msx_arena_free(msx_arena *a)
{
    msx_arena_reset(a);
    free(a->head);
    a->head = NULL;
    a->total = 0;
}

/* State the template hands to every callback. `budget` is how many container
 * items may still be declared: every item takes at least one byte, so a
 * well-formed object never declares more items in total than it has bytes.
 * Checking it keeps corrupt counts from reserving huge arrays. */
typedef struct unpack_user {
    msx_arena *arena;
    size_t budget;
    bool oom;    /* the arena could not grow (as opposed to bad data) */
    bool short_; /* a container declared more items than the bytes can hold */
} unpack_user;

#define msgpack_unpack_struct(name) struct msx_tpl##name
#define msgpack_unpack_func(ret, name) static ret msx_tpl##name
#define msgpack_unpack_callback(name) msx_cb##name
#define msgpack_unpack_object msx_obj
#define msgpack_unpack_user unpack_user

/* The template's callbacks: each fills *o and returns 0, or < 0 to fail. */
static inline msx_obj msx_cb_root(unpack_user *u)
{
    (void)u;
    msx_obj o = { .type = MSX_NIL };
    return o;
}

/* Stores an unsigned integer. */
static inline int cb_unsigned(uint64_t d, msx_obj *o)
{
    o->type = MSX_UINT;
    o->n = 0;
    o->v.u = d;
    return 0;
}

/* Stores a signed integer; non-negative values become MSX_UINT. */
static inline int cb_signed(int64_t d, msx_obj *o)
{
    if (d >= 0)
        return cb_unsigned((uint64_t)d, o);
    o->type = MSX_INT;
    o->n = 0;
    o->v.i = d;
    return 0;
}

static inline int msx_cb_uint8(unpack_user *u, uint8_t d, msx_obj *o) { (void)u; return cb_unsigned(d, o); }
static inline int msx_cb_uint16(unpack_user *u, uint16_t d, msx_obj *o) { (void)u; return cb_unsigned(d, o); }
static inline int msx_cb_uint32(unpack_user *u, uint32_t d, msx_obj *o) { (void)u; return cb_unsigned(d, o); }
static inline int msx_cb_uint64(unpack_user *u, uint64_t d, msx_obj *o) { (void)u; return cb_unsigned(d, o); }
static inline int msx_cb_int8(unpack_user *u, int8_t d, msx_obj *o) { (void)u; return cb_signed(d, o); }
static inline int msx_cb_int16(unpack_user *u, int16_t d, msx_obj *o) { (void)u; return cb_signed(d, o); }
static inline int msx_cb_int32(unpack_user *u, int32_t d, msx_obj *o) { (void)u; return cb_signed(d, o); }
static inline int msx_cb_int64(unpack_user *u, int64_t d, msx_obj *o) { (void)u; return cb_signed(d, o); }

/* Stores a floating-point value. */
static inline int msx_cb_double(unpack_user *u, double d, msx_obj *o)
{
    (void)u;
    o->type = MSX_FLOAT;
    o->n = 0;
    o->v.f = d;
    return 0;
}

static inline int msx_cb_float(unpack_user *u, float d, msx_obj *o) { return msx_cb_double(u, d, o); }

/* Stores nil. */
static inline int msx_cb_nil(unpack_user *u, msx_obj *o)
{
    (void)u;
    o->type = MSX_NIL;
    o->n = 0;
    return 0;
}

/* Stores a boolean. */
static inline int cb_bool(bool b, msx_obj *o)
{
    o->type = MSX_BOOL;
    o->n = 0;
    o->v.b = b;
    return 0;
}

static inline int msx_cb_true(unpack_user *u, msx_obj *o) { (void)u; return cb_bool(true, o); }
static inline int msx_cb_false(unpack_user *u, msx_obj *o) { (void)u; return cb_bool(false, o); }

/* Starts a container of `items` objects; n counts the ones stored so far. */
static inline int cb_container(unpack_user *u, msx_type type, unsigned int count, size_t items, msx_obj *o)
{
    if (count > u->budget) {
        u->short_ = true;
        return -1;
    }
    u->budget -= count;
    o->type = type;
    o->n = 0;
    o->v.a = NULL;
    if (items) {
        o->v.a = arena_alloc(u->arena, items * sizeof(msx_obj));
        if (!o->v.a) {
            u->oom = true;
            return -1;
        }
    }
    return 0;
}

static inline int msx_cb_array(unpack_user *u, unsigned int n, msx_obj *o)
{
    return cb_container(u, MSX_ARRAY, n, n, o);
}

static inline int msx_cb_map(unpack_user *u, unsigned int n, msx_obj *o)
{
    return cb_container(u, MSX_MAP, n, (size_t)n * 2, o);
}

/* Appends one array item. */
static inline int msx_cb_array_item(unpack_user *u, msx_obj *c, msx_obj o)
{
    (void)u;
    c->v.a[c->n++] = o;
    return 0;
}

/* Appends one map pair. */
static inline int msx_cb_map_item(unpack_user *u, msx_obj *c, msx_obj k, msx_obj v)
{
    (void)u;
    c->v.a[2 * c->n] = k;
    c->v.a[2 * c->n + 1] = v;
    c->n++;
    return 0;
}

/* Stores a byte string of `type` pointing into the input. */
static inline int cb_bytes(msx_type type, const char *p, unsigned int l, msx_obj *o)
{
    o->type = type;
    o->n = l;
    o->v.s = p;
    return 0;
}

static inline int msx_cb_str(unpack_user *u, const char *b, const char *p, unsigned int l, msx_obj *o)
{
    (void)u;
    (void)b;
    return cb_bytes(MSX_STR, p, l, o);
}

static inline int msx_cb_bin(unpack_user *u, const char *b, const char *p, unsigned int l, msx_obj *o)
{
    (void)u;
    (void)b;
    return cb_bytes(MSX_BIN, p, l, o);
}

static inline int msx_cb_ext(unpack_user *u, const char *b, const char *p, unsigned int l, msx_obj *o)
{
    (void)u;
    (void)b;
    return cb_bytes(MSX_EXT, p, l, o);
}

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <msgpack/unpack_template.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

long msx_mpk_decode(msx_arena *arena, const uint8_t *data, size_t len, msx_obj *out)
{
    struct msx_tpl_context ctx;
    size_t off = 0;
    if (len == 0)
        return 0;
    msx_tpl_init(&ctx);
    ctx.user.arena = arena;
    ctx.user.budget = len;
    ctx.user.oom = false;
    ctx.user.short_ = false;
    int r = msx_tpl_execute(&ctx, (const char *)data, len, &off);
    if (r < 0)  /* no memory, too many items, bad byte, or nested deeper than the stack */
        return ctx.user.oom ? -ENOMEM : ctx.user.short_ ? 0 : -EINVAL;
    if (r == 0)
        return 0;
    *out = msx_tpl_data(&ctx);
    return (long)off;
}

const msx_obj *msx_map_get(const msx_obj *map, const char *key)
{
    if (!map || map->type != MSX_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->n; i++) {
        const msx_obj *k = &map->v.a[2 * i];
        if (k->type == MSX_STR && k->n == klen && memcmp(k->v.s, key, klen) == 0)
            return &map->v.a[2 * i + 1];
    }
    return NULL;
}

uint64_t msx_map_uint(const msx_obj *map, const char *key, uint64_t def)
{
    const msx_obj *v = msx_map_get(map, key);
    return v && v->type == MSX_UINT ? v->v.u : def;
}
