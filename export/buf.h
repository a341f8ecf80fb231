/* Appending to an msx_buf (declared in export.h). A failed allocation sets
 * b->err and turns every later append into a no-op, so renderers check once
 * at the end. */
#ifndef MSX_BUF_H
#define MSX_BUF_H

#include <stdint.h>
#include <string.h>

#include "export.h"

/* Makes room for n more bytes. Returns 0, or -ENOMEM (and sets b->err). */
int msx_buf_grow(msx_buf *b, size_t n);
/* Appends printf-style text. */
void msx_buf_printf(msx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a decimal unsigned integer. */
void msx_buf_u64(msx_buf *b, uint64_t v);

/* Appends n bytes. */
static inline void msx_buf_put(msx_buf *b, const void *p, size_t n)
{
    if (b->err || (b->cap - b->len < n && msx_buf_grow(b, n) < 0))
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Appends a NUL-terminated string. */
static inline void msx_buf_puts(msx_buf *b, const char *s)
{
    msx_buf_put(b, s, strlen(s));
}

/* Appends one byte. */
static inline void msx_buf_putc(msx_buf *b, char c)
{
    msx_buf_put(b, &c, 1);
}

#endif /* MSX_BUF_H */
