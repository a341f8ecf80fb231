/* The column transform of a chunk's payload (docs/PACK.md "Columns").
 *
 * Why columns: in a raw payload a FREE names its block by the address delta
 * from the previous event, a random number of 3 to 5 bytes that zstd cannot
 * predict. Here a FREE names the allocation of the same chunk that made the
 * block (its distance in allocations, about log2(live blocks) bits), and an
 * ALLOC whose address is one of the last MSP_MTF_LEN freed (the allocator's
 * LIFO caches hand those out again) names its place in that list. Sizes,
 * references and the rest go to columns of their own so that each zstd
 * block codes one kind of byte. Every chunk starts from an empty state, so a
 * chunk decodes on its own, as in the raw format. */
#include "pack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"
#include "unpack.h"

/* -- buffers ---------------------------------------------------------------- */

static int col_grow(msx_pack_codec *C, int c, size_t more)
{
    if (C->len[c] + more <= C->cap[c])
        return 0;
    size_t want = C->cap[c] ? C->cap[c] : 4096;
    while (want < C->len[c] + more)
        want *= 2;
    uint8_t *b = realloc(C->col[c], want);
    if (!b)
        return -ENOMEM;
    C->col[c] = b;
    C->cap[c] = want;
    return 0;
}

static int put_byte(msx_pack_codec *C, int c, uint8_t v)
{
    if (col_grow(C, c, 1) < 0)
        return -ENOMEM;
    C->col[c][C->len[c]++] = v;
    return 0;
}

static int put_var(msx_pack_codec *C, uint64_t v)
{
    if (col_grow(C, MSP_COL_EXTRA, 10) < 0)
        return -ENOMEM;
    uint8_t *p = C->col[MSP_COL_EXTRA] + C->len[MSP_COL_EXTRA];
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    C->len[MSP_COL_EXTRA] += n;
    return 0;
}

void msx_pack_codec_free(msx_pack_codec *C)
{
    for (int c = 0; c < MSP_NCOLS; c++)
        free(C->col[c]);
    free(C->keys);
    free(C->vals);
    free(C->allocs);
    *C = (msx_pack_codec){ 0 };
}

/* -- the encoder's live map: address -> 1 + ordinal of its allocation ------ */

#define FREED UINT64_MAX

static size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 29;
    key *= UINT64_C(0xbf58476d1ce4e5b9);
    key ^= key >> 32;
    return (size_t)key & (cap - 1);
}

/* The slot that holds key, or the empty one where it would go. */
static size_t map_find(const msx_pack_codec *C, uint64_t key)
{
    size_t i = slot_of(key, C->mapcap);
    while (C->vals[i] && C->keys[i] != key)
        i = (i + 1) & (C->mapcap - 1);
    return i;
}

static int map_reset(msx_pack_codec *C, size_t want)
{
    if (C->mapcap < want) {
        size_t cap = C->mapcap ? C->mapcap : 1024;
        while (cap < want)
            cap *= 2;
        uint64_t *k = malloc(cap * sizeof *k), *v = calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return -ENOMEM;
        }
        free(C->keys);
        free(C->vals);
        C->keys = k;
        C->vals = v;
        C->mapcap = cap;
    } else {
        memset(C->vals, 0, C->mapcap * sizeof *C->vals);
    }
    C->mapused = 0;
    return 0;
}

/* Sets key's value (a freed key keeps its slot: tombstones, the map is sized
 * for every allocation of the chunk). */
static void map_set(msx_pack_codec *C, uint64_t key, uint64_t val)
{
    size_t i = map_find(C, key);
    if (!C->vals[i]) {
        C->keys[i] = key;
        C->mapused++;
    }
    C->vals[i] = val;
}

/* -- the recent-frees list --------------------------------------------------- */

typedef struct mtf {
    uint64_t a[MSP_MTF_LEN];
    unsigned n;
} mtf;

static void mtf_push(mtf *m, uint64_t addr)
{
    unsigned n = m->n < MSP_MTF_LEN ? m->n : MSP_MTF_LEN - 1;
    memmove(m->a + 1, m->a, n * sizeof m->a[0]);
    m->a[0] = addr;
    m->n = n + 1;
}

static void mtf_take(mtf *m, unsigned j)
{
    memmove(m->a + j, m->a + j + 1, (m->n - j - 1) * sizeof m->a[0]);
    m->n--;
}

/* -- encoding ---------------------------------------------------------------- */

int msx_pack_encode(msx_pack_codec *C, const uint8_t *p, size_t n, uint32_t version)
{
    for (int c = 0; c < MSP_NCOLS; c++)
        C->len[c] = 0;
    /* at most n / 2 allocations (2 bytes each at least), load at most 1/2 */
    if (map_reset(C, n + 2) < 0)
        return -ENOMEM;
    const uint8_t *end = p + n;
    uint64_t addr = 0, nalloc = 0;
    mtf m = { .n = 0 };
    while (p < end) {
        const uint8_t *rec = p;
        msx_rec r;
        const char *bad;
        msx_rec_result rr = msx_rec_decode(&p, end, version, &r, &bad);
        if (rr == MSX_REC_BAD)
            return 1;
        int rc = 0;
        if (rr == MSX_REC_TIME || rr == MSX_REC_CONTROL) {
            if (rr == MSX_REC_CONTROL) {
                ms_up_obj o;
                long on = ms_up_decode(p, (size_t)(end - p), &o);
                if (on <= 0)
                    return 1;
                p += on;
            }
            rc = put_byte(C, MSP_COL_KIND, MSF_K_RECORD);
            rc |= put_var(C, (uint64_t)(p - rec));
            rc |= col_grow(C, MSP_COL_RECORDS, (size_t)(p - rec));
            if (rc < 0)
                return -ENOMEM;
            memcpy(C->col[MSP_COL_RECORDS] + C->len[MSP_COL_RECORDS], rec, (size_t)(p - rec));
            C->len[MSP_COL_RECORDS] += (size_t)(p - rec);
            continue;
        }
        rc = put_byte(C, MSP_COL_KIND, (uint8_t)r.kind);
        switch (r.kind) {
        case MSF_K_ALLOC:
        case MSF_K_ALLOC_EX: {
            uint64_t a = addr + msf_zz_dec(r.arg);
            if (r.size < (MSP_SIZE_ESC << 8)) {
                rc |= put_byte(C, MSP_COL_SIZE_LO, (uint8_t)r.size);
                rc |= put_byte(C, MSP_COL_SIZE_HI, (uint8_t)(r.size >> 8));
            } else {
                rc |= put_byte(C, MSP_COL_SIZE_LO, 0);
                rc |= put_byte(C, MSP_COL_SIZE_HI, MSP_SIZE_ESC);
                rc |= put_var(C, r.size);
            }
            unsigned j = 0;
            while (j < m.n && m.a[j] != a)
                j++;
            if (j < m.n) {
                rc |= put_byte(C, MSP_COL_AREF, (uint8_t)(j + 1));
                mtf_take(&m, j);
            } else {
                rc |= put_byte(C, MSP_COL_AREF, 0);
                rc |= put_var(C, r.arg);
            }
            if (r.kind == MSF_K_ALLOC_EX) {
                rc |= put_var(C, r.stack);
                rc |= put_var(C, r.weight);
            }
            map_set(C, a, ++nalloc);
            addr = a;
            break;
        }
        case MSF_K_FREE: {
            uint64_t a = addr + msf_zz_dec(r.arg);
            size_t i = map_find(C, a);
            uint64_t v = C->vals[i];
            uint64_t d = v && v != FREED ? nalloc + 1 - v : 0;
            if (d && d <= MSP_FREF_MAX) {
                rc |= put_byte(C, MSP_COL_FREF_LO, (uint8_t)d);
                rc |= put_byte(C, MSP_COL_FREF_HI, (uint8_t)(d >> 8));
            } else {
                rc |= put_byte(C, MSP_COL_FREF_LO, 0);
                rc |= put_byte(C, MSP_COL_FREF_HI, 0);
                rc |= put_var(C, r.arg);
            }
            if (v)
                C->vals[i] = FREED;
            mtf_push(&m, a);
            addr = a;
            break;
        }
        default: /* REALLOC, REALLOC_EX */
            rc |= put_var(C, r.arg);
            rc |= put_var(C, msf_zz_enc((uint64_t)r.delta));
            rc |= put_var(C, r.size);
            if (r.kind == MSF_K_REALLOC_EX) {
                rc |= put_var(C, r.stack);
                rc |= put_var(C, r.weight);
            }
            {
                uint64_t old = addr + msf_zz_dec(r.arg);
                size_t i = map_find(C, old);
                if (C->vals[i])
                    C->vals[i] = FREED;
                addr = old + (uint64_t)r.delta;
                map_set(C, addr, ++nalloc);
            }
            break;
        }
        if (rc < 0)
            return -ENOMEM;
    }
    return 0;
}

/* -- decoding ---------------------------------------------------------------- */

/* A column being read. */
typedef struct rcol {
    const uint8_t *p, *end;
} rcol;

static bool get_byte(rcol *c, uint8_t *v)
{
    if (c->p >= c->end)
        return false;
    *v = *c->p++;
    return true;
}

static bool get_var(rcol *c, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned s = 0; s < 64 && c->p < c->end; s += 7) {
        uint8_t b = *c->p++;
        x |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* The output, bounded. */
typedef struct wout {
    uint8_t *p, *end;
} wout;

static bool out_uint(wout *o, uint64_t v)
{
    uint8_t b[9];
    size_t n;
    if (v < 0x80) {
        b[0] = (uint8_t)v;
        n = 1;
    } else {
        unsigned w = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;
        b[0] = w == 1 ? 0xcc : w == 2 ? 0xcd : w == 4 ? 0xce : 0xcf;
        for (unsigned i = 0; i < w; i++)
            b[1 + i] = (uint8_t)(v >> (8 * (w - 1 - i)));
        n = 1 + w;
    }
    if ((size_t)(o->end - o->p) < n)
        return false;
    memcpy(o->p, b, n);
    o->p += n;
    return true;
}

/* A signed integer in msgpack-c's form: the smallest, non-negative values as
 * unsigned. */
static bool out_int(wout *o, int64_t v)
{
    if (v >= -32) {
        if (v >= 0)
            return out_uint(o, (uint64_t)v);
        if ((size_t)(o->end - o->p) < 1)
            return false;
        *o->p++ = (uint8_t)v;
        return true;
    }
    unsigned w = v >= -128 ? 1 : v >= -32768 ? 2 : v >= INT32_MIN ? 4 : 8;
    if ((size_t)(o->end - o->p) < 1 + w)
        return false;
    *o->p++ = w == 1 ? 0xd0 : w == 2 ? 0xd1 : w == 4 ? 0xd2 : 0xd3;
    for (unsigned i = 0; i < w; i++)
        *o->p++ = (uint8_t)((uint64_t)v >> (8 * (w - 1 - i)));
    return true;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int msx_pack_decode(msx_pack_codec *C, const uint8_t *x, size_t xn, uint8_t *out, size_t raw_len,
                    const char **bad)
{
    rcol c[MSP_NCOLS];
    size_t at = 4 * MSP_NCOLS;
    *bad = "the column lengths do not add up to the frame's";
    if (xn < at)
        return -EINVAL;
    for (int i = 0; i < MSP_NCOLS; i++) {
        uint32_t len = rd32(x + 4 * i);
        if (len > xn - at)
            return -EINVAL;
        c[i].p = x + at;
        c[i].end = x + at + len;
        at += len;
    }
    if (at != xn)
        return -EINVAL;
    /* the allocations the chunk makes, for the FREE references */
    size_t nallocs = 0;
    for (const uint8_t *k = c[MSP_COL_KIND].p; k < c[MSP_COL_KIND].end; k++)
        nallocs += *k == MSF_K_ALLOC || *k == MSF_K_ALLOC_EX || *k == MSF_K_REALLOC || *k == MSF_K_REALLOC_EX;
    if (nallocs > C->allocs_cap) {
        uint64_t *a = realloc(C->allocs, nallocs * sizeof *a);
        if (!a)
            return -ENOMEM;
        C->allocs = a;
        C->allocs_cap = nallocs;
    }
    wout o = { out, out + raw_len };
    uint64_t addr = 0, na = 0;
    mtf m = { .n = 0 };
    uint8_t kind;
    while (get_byte(&c[MSP_COL_KIND], &kind)) {
        uint64_t arg = 0, size = 0, v = 0, stack = 0, weight = 0;
        uint8_t lo, hi, ref;
        switch (kind) {
        case MSF_K_RECORD:
            *bad = "a control record runs past its column";
            if (!get_var(&c[MSP_COL_EXTRA], &v) || v > (uint64_t)(c[MSP_COL_RECORDS].end - c[MSP_COL_RECORDS].p) ||
                v > (uint64_t)(o.end - o.p))
                return -EINVAL;
            memcpy(o.p, c[MSP_COL_RECORDS].p, (size_t)v);
            o.p += v;
            c[MSP_COL_RECORDS].p += v;
            continue;
        case MSF_K_ALLOC:
        case MSF_K_ALLOC_EX:
            *bad = "an ALLOC runs past its columns";
            if (!get_byte(&c[MSP_COL_SIZE_LO], &lo) || !get_byte(&c[MSP_COL_SIZE_HI], &hi) ||
                !get_byte(&c[MSP_COL_AREF], &ref))
                return -EINVAL;
            if (hi == MSP_SIZE_ESC) {
                if (!get_var(&c[MSP_COL_EXTRA], &size))
                    return -EINVAL;
            } else {
                size = (uint64_t)hi << 8 | lo;
            }
            if (ref) {
                *bad = "an ALLOC names a recent free that is not there";
                if (ref > m.n)
                    return -EINVAL;
                uint64_t a = m.a[ref - 1];
                mtf_take(&m, ref - 1u);
                arg = msf_zz_enc(a - addr);
                addr = a;
            } else {
                if (!get_var(&c[MSP_COL_EXTRA], &arg))
                    return -EINVAL;
                addr += msf_zz_dec(arg);
            }
            if (kind == MSF_K_ALLOC_EX && (!get_var(&c[MSP_COL_EXTRA], &stack) || !get_var(&c[MSP_COL_EXTRA], &weight)))
                return -EINVAL;
            *bad = "the records are longer than the chunk";
            if (!out_uint(&o, msf_head(arg, kind)) || !out_uint(&o, size) ||
                (kind == MSF_K_ALLOC_EX && (!out_uint(&o, stack) || !out_uint(&o, weight))))
                return -EINVAL;
            C->allocs[na++] = addr;
            continue;
        case MSF_K_FREE: {
            *bad = "a FREE runs past its columns";
            if (!get_byte(&c[MSP_COL_FREF_LO], &lo) || !get_byte(&c[MSP_COL_FREF_HI], &hi))
                return -EINVAL;
            uint64_t d = (uint64_t)hi << 8 | lo;
            if (d) {
                *bad = "a FREE names an allocation before the chunk";
                if (d > na)
                    return -EINVAL;
                uint64_t a = C->allocs[na - d];
                arg = msf_zz_enc(a - addr);
                addr = a;
            } else {
                if (!get_var(&c[MSP_COL_EXTRA], &arg))
                    return -EINVAL;
                addr += msf_zz_dec(arg);
            }
            mtf_push(&m, addr);
            *bad = "the records are longer than the chunk";
            if (!out_uint(&o, msf_head(arg, kind)))
                return -EINVAL;
            continue;
        }
        case MSF_K_REALLOC:
        case MSF_K_REALLOC_EX:
            *bad = "a REALLOC runs past its columns";
            if (!get_var(&c[MSP_COL_EXTRA], &arg) || !get_var(&c[MSP_COL_EXTRA], &v) ||
                !get_var(&c[MSP_COL_EXTRA], &size))
                return -EINVAL;
            if (kind == MSF_K_REALLOC_EX && (!get_var(&c[MSP_COL_EXTRA], &stack) || !get_var(&c[MSP_COL_EXTRA], &weight)))
                return -EINVAL;
            *bad = "the records are longer than the chunk";
            if (!out_uint(&o, msf_head(arg, kind)) || !out_int(&o, (int64_t)msf_zz_dec(v)) || !out_uint(&o, size) ||
                (kind == MSF_K_REALLOC_EX && (!out_uint(&o, stack) || !out_uint(&o, weight))))
                return -EINVAL;
            addr += msf_zz_dec(arg) + msf_zz_dec(v);
            C->allocs[na++] = addr;
            continue;
        default:
            *bad = "an unknown record kind in the kind column";
            return -EINVAL;
        }
    }
    *bad = "the columns hold bytes no record uses";
    for (int i = 0; i < MSP_NCOLS; i++)
        if (c[i].p != c[i].end)
            return -EINVAL;
    *bad = "the records are shorter than the chunk";
    if (o.p != o.end)
        return -EINVAL;
    return 0;
}
