/* MessagePack decoding for the snapshot fold (fold.h), which the traced
 * program and the export both run: integers inline, control records through
 * msgpack-c's header-only unpack template (unpack.c), with callbacks that
 * keep only what the fold needs: a top-level unsigned integer, or a map's
 * "id". Nothing here allocates or links libmsgpackc. */
#ifndef MS_UNPACK_H
#define MS_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What ms_up_decode keeps of one object. */
typedef struct ms_up_obj {
    bool is_uint;  /* a non-negative integer: u */
    bool is_str;   /* a string: s, n */
    uint64_t u;
    const char *s;
    uint32_t n;
    uint64_t id;   /* a map's "id" when it is a non-negative integer, else 0 */
} ms_up_obj;

/* Decodes the object at data (len bytes) into *o. Returns its length, or 0
 * if it is cut short or malformed. */
long ms_up_decode(const uint8_t *data, size_t len, ms_up_obj *o);

/* One non-negative MessagePack integer at *pp (any width) into *v; false,
 * leaving *pp alone, if the bytes before end hold none. */
static inline bool ms_up_uint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
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
    size_t n;
    switch (b) {
    case 0xcc: n = 1; break;
    case 0xcd: n = 2; break;
    case 0xce: n = 4; break;
    case 0xcf: n = 8; break;
    default: return false;
    }
    if ((size_t)(end - p) < n + 1)
        return false;
    uint64_t x = 0;
    for (size_t i = 1; i <= n; i++)
        x = x << 8 | p[i];
    *v = x;
    *pp = p + 1 + n;
    return true;
}

/* One MessagePack integer (signed or not) at *pp into *v. */
static inline bool ms_up_int(const uint8_t **pp, const uint8_t *end, int64_t *v)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return false;
    uint8_t b = *p;
    if (b >= 0xe0) { /* negative fixint */
        *v = (int8_t)b;
        *pp = p + 1;
        return true;
    }
    size_t n;
    switch (b) {
    case 0xd0: n = 1; break;
    case 0xd1: n = 2; break;
    case 0xd2: n = 4; break;
    case 0xd3: n = 8; break;
    default: {
        uint64_t u;
        if (!ms_up_uint(pp, end, &u) || u > INT64_MAX)
            return false;
        *v = (int64_t)u;
        return true;
    }
    }
    if ((size_t)(end - p) < n + 1)
        return false;
    uint64_t x = 0;
    for (size_t i = 1; i <= n; i++)
        x = x << 8 | p[i];
    /* sign-extend from n bytes */
    unsigned shift = (unsigned)(64 - 8 * n);
    *v = (int64_t)(x << shift) >> shift;
    *pp = p + 1 + n;
    return true;
}

#endif /* MS_UNPACK_H */
