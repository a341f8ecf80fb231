/* The diff's renderers (diff.h): text for a terminal, JSON (docs/JSON.md
 * "memscope diff"), a self-contained HTML page. Every name comes from the
 * traces and is escaped: control bytes in text (\xNN), JSON strings by
 * msx_json_str, HTML by entities. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "diff.h"

static int64_t delta(const msx_diff_row *r, int k)
{
    return (int64_t)(r->b[k] - r->a[k]);
}

static bool changed(const msx_diff_row *r)
{
    for (int k = 0; k < MSX_DF_FIGS; k++)
        if (r->a[k] != r->b[k])
            return true;
    return false;
}

/* Figures shown: no leaked bytes between moments. */
static bool shown(const msx_diff *d, int k)
{
    return !(d->moments && k == MSX_DF_LEAKED_BYTES);
}

/* A side's title: its file, and the moment. */
static void side_title(msx_buf *b, const msx_diff_side *s, void (*esc)(msx_buf *, const char *))
{
    esc(b, s->name);
    if (s->moment)
        msx_buf_printf(b, " at %.3f ms", (double)s->time_ns / 1e6);
}

/* -- text ----------------------------------------------------------------- */

static void text_esc(msx_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            msx_buf_printf(b, "\\x%02x", *p);
        else
            msx_buf_putc(b, (char)*p);
    }
}

static void text_fig(msx_buf *b, const msx_diff *d, const msx_diff_row *r, int k)
{
    msx_buf_printf(b, "  %s %+" PRId64 " (%" PRIu64 " -> %" PRIu64, msx_diff_fig_names[k], delta(r, k), r->a[k],
                   r->b[k]);
    if (d->sampled && r->alo[k] != r->ahi[k])
        msx_buf_printf(b, ", A in [%.0f, %.0f]", r->alo[k], r->ahi[k]);
    if (d->sampled && r->blo[k] != r->bhi[k])
        msx_buf_printf(b, ", B in [%.0f, %.0f]", r->blo[k], r->bhi[k]);
    msx_buf_putc(b, ')');
}

int msx_diff_render_text(msx_buf *b, const msx_diff *d, uint32_t top)
{
    msx_buf_puts(b, "memscope diff\n  A: ");
    side_title(b, d->a, text_esc);
    msx_buf_puts(b, "\n  B: ");
    side_title(b, d->b, text_esc);
    msx_buf_putc(b, '\n');
    if (d->sampled)
        msx_buf_puts(b, "A trace is sampled: its figures are estimates, with their 95% intervals.\n");
    static const char *const heads[MSX_DD_DIMS] = { "Total", "Sites", "Threads", "Tasks" };
    for (int dim = 0; dim < MSX_DD_DIMS; dim++) {
        uint32_t listed = 0, more = 0;
        bool head = false;
        for (uint32_t i = 0; i < d->n; i++) {
            const msx_diff_row *r = &d->rows[i];
            if ((int)r->dim != dim || (dim != MSX_DD_TOTAL && !changed(r)))
                continue;
            if (top && listed >= top) {
                more++;
                continue;
            }
            if (!head) {
                msx_buf_printf(b, "\n%s%s\n", heads[dim], dim ? " (by growth of live bytes)" : "");
                head = true;
            }
            listed++;
            msx_buf_puts(b, dim ? "  " : "  total");
            if (dim) {
                text_esc(b, r->label);
                if (!r->in_a)
                    msx_buf_puts(b, " [new in B]");
                else if (!r->in_b)
                    msx_buf_puts(b, " [gone in B]");
            }
            msx_buf_putc(b, '\n');
            for (int k = 0; k < MSX_DF_FIGS; k++) {
                if (!shown(d, k))
                    continue;
                msx_buf_puts(b, "  ");
                text_fig(b, d, r, k);
                msx_buf_putc(b, '\n');
            }
        }
        if (more)
            msx_buf_printf(b, "  ... and %" PRIu32 " more (--top, or --json for all)\n", more);
    }
    return b->err;
}

/* -- JSON ----------------------------------------------------------------- */

static void json_esc(msx_buf *b, const char *s)
{
    msx_json_str(b, s, strlen(s));
}

static void json_side(msx_buf *b, const char *key, const msx_diff_side *s)
{
    msx_buf_printf(b, "  \"%s\": {\"file\": ", key);
    json_esc(b, s->name);
    if (s->moment)
        msx_buf_printf(b, ", \"time_ns\": %" PRIu64 ", \"cut_at_ns\": %" PRIu64, s->time_ns, s->at_ns);
    msx_buf_printf(b, ", \"sampled\": %s},\n", s->sampled ? "true" : "false");
}

/* A number, or null if not finite. */
static void json_num(msx_buf *b, double v)
{
    if (isfinite(v))
        msx_buf_printf(b, "%.17g", v);
    else
        msx_buf_puts(b, "null");
}

int msx_diff_render_json(msx_buf *b, const msx_diff *d)
{
    msx_buf_printf(b, "{\n  \"memscope_diff\": %d,\n", MSX_SCHEMA_VERSION);
    json_side(b, "a", d->a);
    json_side(b, "b", d->b);
    msx_buf_printf(b, "  \"moments\": %s,\n  \"estimates\": %s,\n", d->moments ? "true" : "false",
                   d->sampled ? "true" : "false");
    msx_buf_printf(b, "  \"live_growth\": %" PRId64 ",\n  \"rows\": [", msx_diff_live_growth(d));
    for (uint32_t i = 0; i < d->n; i++) {
        const msx_diff_row *r = &d->rows[i];
        msx_buf_printf(b, "%s\n    {\"kind\": \"%s\", \"key\": ", i ? "," : "", msx_diff_dim_names[r->dim]);
        json_esc(b, r->key);
        msx_buf_puts(b, ", \"label\": ");
        json_esc(b, r->label);
        msx_buf_printf(b, ", \"in_a\": %s, \"in_b\": %s", r->in_a ? "true" : "false", r->in_b ? "true" : "false");
        for (int k = 0; k < MSX_DF_FIGS; k++) {
            if (!shown(d, k))
                continue;
            msx_buf_printf(b, ",\n     \"%s\": {\"a\": %" PRIu64 ", \"b\": %" PRIu64 ", \"delta\": %" PRId64 ", \"ratio\": ",
                           msx_diff_fig_names[k], r->a[k], r->b[k], delta(r, k));
            if (r->a[k])
                json_num(b, (double)r->b[k] / (double)r->a[k]);
            else
                msx_buf_puts(b, "null");
            if (d->sampled) {
                msx_buf_puts(b, ", \"a_ci95\": [");
                json_num(b, r->alo[k]);
                msx_buf_puts(b, ", ");
                json_num(b, r->ahi[k]);
                msx_buf_puts(b, "], \"b_ci95\": [");
                json_num(b, r->blo[k]);
                msx_buf_puts(b, ", ");
                json_num(b, r->bhi[k]);
                msx_buf_putc(b, ']');
            }
            msx_buf_putc(b, '}');
        }
        msx_buf_putc(b, '}');
    }
    msx_buf_puts(b, "\n  ]\n}\n");
    return b->err;
}

/* -- HTML ----------------------------------------------------------------- */

static void html_esc(msx_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': msx_buf_puts(b, "&amp;"); break;
        case '<': msx_buf_puts(b, "&lt;"); break;
        case '>': msx_buf_puts(b, "&gt;"); break;
        case '"': msx_buf_puts(b, "&quot;"); break;
        case '\'': msx_buf_puts(b, "&#39;"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                msx_buf_puts(b, "&#xFFFD;");
            else
                msx_buf_putc(b, (char)*p);
        }
    }
}

int msx_diff_render_html(msx_buf *b, const msx_diff *d)
{
    msx_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
                    "<title>memscope diff</title>\n<style>\n"
                    "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}\n"
                    "table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:2px 6px}\n"
                    "td.n{text-align:right;font-variant-numeric:tabular-nums}.up{color:#b00}.down{color:#070}\n"
                    "</style></head><body>\n<h1>memscope diff</h1>\n<p>A: ");
    side_title(b, d->a, html_esc);
    msx_buf_puts(b, "<br>B: ");
    side_title(b, d->b, html_esc);
    msx_buf_puts(b, "</p>\n");
    if (d->sampled)
        msx_buf_puts(b, "<p><strong>A trace is sampled: its figures are estimates</strong> (95% intervals in the JSON and "
                        "the text output).</p>\n");
    static const char *const heads[MSX_DD_DIMS] = { "Total", "Sites", "Threads", "Tasks" };
    for (int dim = 0; dim < MSX_DD_DIMS; dim++) {
        bool head = false;
        for (uint32_t i = 0; i < d->n; i++) {
            const msx_diff_row *r = &d->rows[i];
            if ((int)r->dim != dim)
                continue;
            if (!head) {
                msx_buf_printf(b, "<h2>%s</h2>\n<table><tr><th>%s</th>", heads[dim], dim ? "name" : "");
                for (int k = 0; k < MSX_DF_FIGS; k++)
                    if (shown(d, k))
                        msx_buf_printf(b, "<th>%s A</th><th>B</th><th>delta</th><th>ratio</th>", msx_diff_fig_names[k]);
                msx_buf_puts(b, "</tr>\n");
                head = true;
            }
            msx_buf_puts(b, "<tr><td>");
            html_esc(b, r->label);
            msx_buf_puts(b, "</td>");
            for (int k = 0; k < MSX_DF_FIGS; k++) {
                if (!shown(d, k))
                    continue;
                int64_t dv = delta(r, k);
                msx_buf_printf(b, "<td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64 "</td>"
                                  "<td class=\"n %s\">%+" PRId64 "</td><td class=\"n\">",
                               r->a[k], r->b[k], dv > 0 ? "up" : dv < 0 ? "down" : "", dv);
                if (r->a[k])
                    msx_buf_printf(b, "%.3g", (double)r->b[k] / (double)r->a[k]);
                else
                    msx_buf_puts(b, r->b[k] ? "new" : "");
                msx_buf_puts(b, "</td>");
            }
            msx_buf_puts(b, "</tr>\n");
        }
        if (head)
            msx_buf_puts(b, "</table>\n");
    }
    msx_buf_puts(b, "</body></html>\n");
    return b->err;
}
