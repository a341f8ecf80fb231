/* Collapsed stacks ("folded", as flamegraph.pl and speedscope read them):
 * one line per site, its frames outermost first joined by ';', a space and
 * the chosen figure. A frame is its function; without one, the module's file
 * name and the offset (libfoo.so+0x1234), or the bare pc without a module.
 * Inlined frames are entries of their own. ';' and line breaks in names
 * become '_'; events without a stack are one line "[no stack]". */
#include <string.h>

#include "buf.h"
#include "sites.h"

/* Appends a name with the folded format's separators replaced. */
static void put_name(msx_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ';' && s[i] != '\n' && s[i] != '\r' && s[i] != '\0')
            continue;
        msx_buf_put(b, s + run, i - run);
        msx_buf_putc(b, '_');
        run = i + 1;
    }
    msx_buf_put(b, s + run, n - run);
}

static void put_frame(msx_buf *b, const msx_report *r, const msx_site_frame *f)
{
    const msx_str *fn = msx_report_string(r, f->function), *m = msx_report_string(r, f->module);
    if (fn && fn->n) {
        put_name(b, fn->p, fn->n);
    } else if (m) {
        const char *base = m->p;
        for (uint32_t i = 0; i < m->n; i++)
            if (m->p[i] == '/')
                base = m->p + i + 1;
        put_name(b, base, (size_t)(m->p + m->n - base));
        msx_buf_printf(b, "+0x%llx", (unsigned long long)f->offset);
    } else {
        msx_buf_printf(b, "0x%llx", (unsigned long long)f->pc);
    }
}

int msx_render_folded(msx_buf *b, const msx_report *r, msx_site_fig value)
{
    for (uint32_t i = 0; i < r->nsites; i++) {
        const msx_site_report *s = &r->sites[i];
        uint64_t v = s->f.v[value];
        if (!v)
            continue;
        if (!s->nframes)
            msx_buf_puts(b, "[empty stack]");
        for (uint32_t j = s->nframes; j-- > 0;) {
            put_frame(b, r, &s->frames[j]);
            if (j)
                msx_buf_putc(b, ';');
        }
        msx_buf_putc(b, ' ');
        msx_buf_u64(b, v);
        msx_buf_putc(b, '\n');
    }
    if (r->nostack.v[value]) {
        msx_buf_puts(b, "[no stack] ");
        msx_buf_u64(b, r->nostack.v[value]);
        msx_buf_putc(b, '\n');
    }
    return b->err;
}
