/* MessagePack packers for the stream writer.
 *
 * msgpack-c's pack_template.h is instantiated twice, with appends that are
 * inlined into the caller so that packing costs no call per field:
 *
 *   ms_pk_*   unchecked: appends to *(uint8_t **)user. Only for hot-path events,
 *             whose caller has already checked that MS_EVENT_MAX bytes are free.
 *   ms_pc_*   checked: appends to an ms_cbuf_t and sets `overflow` instead of
 *             writing past `end`. For control records of unknown size.
 *
 * Every ms_pk_* / ms_pc_* function returns 0 (the template wants an int). */
#ifndef MS_PACK_H
#define MS_PACK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <msgpack/pack_define.h>
#include <msgpack/timestamp.h>

typedef struct ms_cbuf {
    uint8_t *cur;   /* next byte to write */
    uint8_t *end;   /* one past the last writable byte */
    bool overflow;  /* set once a write did not fit; cur stops moving */
} ms_cbuf_t;

static inline int ms_pk_put(uint8_t **w, const void *buf, size_t len)
{
    memcpy(*w, buf, len);
    *w += len;
    return 0;
}

static inline int ms_pc_put(ms_cbuf_t *b, const void *buf, size_t len)
{
    if (b->overflow || (size_t)(b->end - b->cur) < len) {
        b->overflow = true;
        return 0;
    }
    memcpy(b->cur, buf, len);
    b->cur += len;
    return 0;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* -- unchecked instance -------------------------------------------------- */
#define msgpack_pack_inline_func(name) static inline int ms_pk##name
#define msgpack_pack_inline_func_cint(name) static inline int ms_pk##name
#define msgpack_pack_inline_func_fixint(name) static inline int ms_pk_fix##name
#define msgpack_pack_user uint8_t **
#define msgpack_pack_append_buffer(user, buf, len) return ms_pk_put(user, buf, len)
#define msgpack_pack_ext ms_pk_ext
#include <msgpack/pack_template.h>
#undef msgpack_pack_inline_func_cint
#undef msgpack_pack_inline_func_fixint
#undef msgpack_pack_ext

/* -- checked instance ---------------------------------------------------- */
#define msgpack_pack_inline_func(name) static inline int ms_pc##name
#define msgpack_pack_inline_func_cint(name) static inline int ms_pc##name
#define msgpack_pack_inline_func_fixint(name) static inline int ms_pc_fix##name
#define msgpack_pack_user ms_cbuf_t *
#define msgpack_pack_append_buffer(user, buf, len) return ms_pc_put(user, buf, len)
#define msgpack_pack_ext ms_pc_ext
#include <msgpack/pack_template.h>
#undef msgpack_pack_inline_func_cint
#undef msgpack_pack_inline_func_fixint
#undef msgpack_pack_ext

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Packs a NUL-terminated string (NULL packs as ""). */
static inline void ms_pc_cstr(ms_cbuf_t *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    ms_pc_str(b, n);
    ms_pc_str_body(b, s ? s : "", n);
}

#endif /* MS_PACK_H */
