/* msgpack-c's unpack_template.h instantiated for the snapshot fold (unpack.h).
 * The callbacks build no tree: a container keeps only its map's "id". */
#include "unpack.h"

#include <string.h>

#include <msgpack/unpack.h>  /* the template's return codes; no function of it is used */
#include <msgpack/unpack_define.h>

typedef struct up_user {
    int unused;
} up_user;

#define msgpack_unpack_struct(name) struct ms_up_tpl##name
#define msgpack_unpack_func(ret, name) static ret ms_up_tpl##name
#define msgpack_unpack_callback(name) ms_up_cb##name
#define msgpack_unpack_object ms_up_obj
#define msgpack_unpack_user up_user

static inline ms_up_obj ms_up_cb_root(up_user *u)
{
    (void)u;
    return (ms_up_obj){ 0 };
}

static inline int up_unsigned(uint64_t d, ms_up_obj *o)
{
    *o = (ms_up_obj){ .is_uint = true, .u = d };
    return 0;
}

static inline int up_signed(int64_t d, ms_up_obj *o)
{
    if (d >= 0)
        return up_unsigned((uint64_t)d, o);
    *o = (ms_up_obj){ 0 };
    return 0;
}

static inline int up_other(ms_up_obj *o)
{
    *o = (ms_up_obj){ 0 };
    return 0;
}

static inline int ms_up_cb_uint8(up_user *u, uint8_t d, ms_up_obj *o) { (void)u; return up_unsigned(d, o); }
static inline int ms_up_cb_uint16(up_user *u, uint16_t d, ms_up_obj *o) { (void)u; return up_unsigned(d, o); }
static inline int ms_up_cb_uint32(up_user *u, uint32_t d, ms_up_obj *o) { (void)u; return up_unsigned(d, o); }
static inline int ms_up_cb_uint64(up_user *u, uint64_t d, ms_up_obj *o) { (void)u; return up_unsigned(d, o); }
static inline int ms_up_cb_int8(up_user *u, int8_t d, ms_up_obj *o) { (void)u; return up_signed(d, o); }
static inline int ms_up_cb_int16(up_user *u, int16_t d, ms_up_obj *o) { (void)u; return up_signed(d, o); }
static inline int ms_up_cb_int32(up_user *u, int32_t d, ms_up_obj *o) { (void)u; return up_signed(d, o); }
static inline int ms_up_cb_int64(up_user *u, int64_t d, ms_up_obj *o) { (void)u; return up_signed(d, o); }
static inline int ms_up_cb_double(up_user *u, double d, ms_up_obj *o) { (void)u; (void)d; return up_other(o); }
static inline int ms_up_cb_float(up_user *u, float d, ms_up_obj *o) { (void)u; (void)d; return up_other(o); }
static inline int ms_up_cb_nil(up_user *u, ms_up_obj *o) { (void)u; return up_other(o); }
static inline int ms_up_cb_true(up_user *u, ms_up_obj *o) { (void)u; return up_other(o); }
static inline int ms_up_cb_false(up_user *u, ms_up_obj *o) { (void)u; return up_other(o); }
static inline int ms_up_cb_array(up_user *u, unsigned int n, ms_up_obj *o) { (void)u; (void)n; return up_other(o); }
static inline int ms_up_cb_map(up_user *u, unsigned int n, ms_up_obj *o) { (void)u; (void)n; return up_other(o); }
static inline int ms_up_cb_array_item(up_user *u, ms_up_obj *c, ms_up_obj o)
{
    (void)u;
    (void)c;
    (void)o;
    return 0;
}

/* Keeps the value of key "id" when it is a non-negative integer. */
static inline int ms_up_cb_map_item(up_user *u, ms_up_obj *c, ms_up_obj k, ms_up_obj v)
{
    (void)u;
    if (k.is_str && k.n == 2 && memcmp(k.s, "id", 2) == 0 && v.is_uint)
        c->id = v.u;
    return 0;
}

static inline int up_bytes(const char *p, unsigned int l, ms_up_obj *o)
{
    *o = (ms_up_obj){ .is_str = true, .s = p, .n = l };
    return 0;
}

static inline int ms_up_cb_str(up_user *u, const char *b, const char *p, unsigned int l, ms_up_obj *o)
{
    (void)u;
    (void)b;
    return up_bytes(p, l, o);
}

static inline int ms_up_cb_bin(up_user *u, const char *b, const char *p, unsigned int l, ms_up_obj *o)
{
    (void)u;
    (void)b;
    (void)p;
    (void)l;
    return up_other(o);
}

static inline int ms_up_cb_ext(up_user *u, const char *b, const char *p, unsigned int l, ms_up_obj *o)
{
    return ms_up_cb_bin(u, b, p, l, o);
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

long ms_up_decode(const uint8_t *data, size_t len, ms_up_obj *o)
{
    struct ms_up_tpl_context ctx;
    size_t off = 0;
    if (len == 0)
        return 0;
    ms_up_tpl_init(&ctx);
    if (ms_up_tpl_execute(&ctx, (const char *)data, len, &off) <= 0)
        return 0;
    *o = ms_up_tpl_data(&ctx);
    return (long)off;
}
