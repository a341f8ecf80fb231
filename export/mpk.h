/* MessagePack decoding for the export side.
 *
 * Two decoders, both bounds-checked against an end pointer:
 *
 *   msx_rd_uint / msx_rd_int   inline decoders of one MessagePack integer, for
 *                              the hot event records (heads, sizes, deltas).
 *   msx_mpk_decode             any MessagePack object, through msgpack-c's
 *                              header-only unpack_template.h instantiated in
 *                              mpk.c with callbacks that build msx_obj trees in
 *                              an msx_arena. Control records and archives use it.
 *
 * Nothing here links libmsgpackc. */
#ifndef MSX_MPK_H
#define MSX_MPK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Big-endian loads of the integer bodies. */
static inline uint16_t msx_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t msx_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t msx_be64(const uint8_t *p)
{
    return (uint64_t)msx_be32(p) << 32 | msx_be32(p + 4);
}

/* Decodes a non-negative MessagePack integer at *pp (any width, signed formats
 * included when the value is >= 0) into *v and advances *pp. Returns false,
 * leaving *pp alone, if the bytes before `end` do not hold one. */
__attribute__((always_inline)) static inline bool msx_rd_uint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return false;
    uint8_t b = *p;
    if (b < 0x80) {
        *v = b;
        *pp = p + 1;
        return true;
    }
    size_t avail = (size_t)(end - p) - 1;
    int64_t s;
    switch (b) {
    case 0xcc: if (avail < 1) return false; *v = p[1];             *pp = p + 2; return true;
    case 0xcd: if (avail < 2) return false; *v = msx_be16(p + 1);  *pp = p + 3; return true;
    case 0xce: if (avail < 4) return false; *v = msx_be32(p + 1);  *pp = p + 5; return true;
    case 0xcf: if (avail < 8) return false; *v = msx_be64(p + 1);  *pp = p + 9; return true;
    case 0xd0: if (avail < 1) return false; s = (int8_t)p[1];              *pp = p + 2; break;
    case 0xd1: if (avail < 2) return false; s = (int16_t)msx_be16(p + 1);  *pp = p + 3; break;
    case 0xd2: if (avail < 4) return false; s = (int32_t)msx_be32(p + 1);  *pp = p + 5; break;
    case 0xd3: if (avail < 8) return false; s = (int64_t)msx_be64(p + 1);  *pp = p + 9; break;
    default: return false;
    }
    if (s < 0) {
        *pp = p;
        return false;
    }
    *v = (uint64_t)s;
    return true;
}

/* The length of the non-negative MessagePack integer whose first byte is b,
 * for the forms a writer uses (positive fixint, uint 8 to 64); 0 for any
 * other byte, which the callers then hand to msx_rd_uint. */
static inline size_t msx_uint_len(uint8_t b)
{
    if (b < 0x80)
        return 1;
    return b >= 0xcc && b <= 0xcf ? 1 + ((size_t)1 << (b - 0xcc)) : 0;
}

/* Decodes any MessagePack integer at *pp as a signed 64-bit value (unsigned
 * values above INT64_MAX are refused) and advances *pp. Returns false, leaving
 * *pp alone, on anything else. */
__attribute__((always_inline)) static inline bool msx_rd_int(const uint8_t **pp, const uint8_t *end, int64_t *v)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return false;
    uint8_t b = *p;
    if (b >= 0xe0) {
        *v = (int8_t)b;
        *pp = p + 1;
        return true;
    }
    uint64_t u;
    if (b >= 0xd0 && b <= 0xd3) {
        size_t avail = (size_t)(end - p) - 1;
        switch (b) {
        case 0xd0: if (avail < 1) return false; *v = (int8_t)p[1];              *pp = p + 2; return true;
        case 0xd1: if (avail < 2) return false; *v = (int16_t)msx_be16(p + 1);  *pp = p + 3; return true;
        case 0xd2: if (avail < 4) return false; *v = (int32_t)msx_be32(p + 1);  *pp = p + 5; return true;
        default:   if (avail < 8) return false; *v = (int64_t)msx_be64(p + 1);  *pp = p + 9; return true;
        }
    }
    if (!msx_rd_uint(pp, end, &u))
        return false;
    if (u > (uint64_t)INT64_MAX) {
        *pp = p;
        return false;
    }
    *v = (int64_t)u;
    return true;
}


/* -- generic objects ------------------------------------------------------ */

typedef enum msx_type {
    MSX_NIL,
    MSX_BOOL,
    MSX_UINT,   /* v.u; every non-negative integer decodes as UINT */
    MSX_INT,    /* v.i < 0 */
    MSX_FLOAT,  /* v.f */
    MSX_STR,    /* v.s, n bytes, not NUL-terminated, pointing into the input */
    MSX_BIN,    /* v.s, n bytes */
    MSX_EXT,    /* v.s, n bytes: the type byte then the data */
    MSX_ARRAY,  /* v.a[0..n) */
    MSX_MAP,    /* v.a[0..2n): key 0, value 0, key 1, value 1, ... */
} msx_type;

/* One decoded object. Strings point into the decoded buffer; arrays and maps
 * point into the arena. Both must outlive the object. */
typedef struct msx_obj {
    msx_type type;
    uint32_t n;
    union {
        uint64_t u;
        int64_t i;
        double f;
        bool b;
        const char *s;
        struct msx_obj *a;
    } v;
} msx_obj;

/* Bump allocator for object trees: a list of blocks that never move, so
 * pointers stay valid while a tree is built. msx_arena_reset keeps the first
 * block for reuse and frees the others. */
typedef struct msx_arena_block msx_arena_block;
typedef struct msx_arena {
    msx_arena_block *head;  /* newest block first */
    size_t total;           /* bytes held by all blocks */
} msx_arena;

/* Frees every block but the oldest and makes the arena empty. */
void msx_arena_reset(msx_arena *a);
/* Frees every block. */
void msx_arena_free(msx_arena *a);

/* Decodes one object from data[0..len) into *out; its containers go to
 * `arena`. On success returns the bytes consumed (> 0). Returns 0 if the data
 * ends inside the object (or its containers declare more items than the bytes
 * left could hold: the same thing to a reader), -EINVAL if it is not
 * MessagePack or nests deeper than 32, -ENOMEM if the arena cannot grow. */
long msx_mpk_decode(msx_arena *arena, const uint8_t *data, size_t len, msx_obj *out);

/* Looks up a string key in a map object; NULL if `map` is no map or lacks it. */
const msx_obj *msx_map_get(const msx_obj *map, const char *key);
/* The unsigned value of a map key, or `def` if it is missing or not a uint. */
uint64_t msx_map_uint(const msx_obj *map, const char *key, uint64_t def);

#endif /* MSX_MPK_H */
