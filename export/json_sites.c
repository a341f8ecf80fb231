/* The report's sampling, sites and functions (docs/JSON.md "Sites"). Every
 * leaking site is listed, and the MSX_MAX_SITES others with most bytes
 * allocated (and any the peak snapshot names); functions alike. */
#include <math.h>
#include <stdlib.h>

#include "buf.h"
#include "export.h"

/* Appends a report string of r->strings (index + 1), null for 0. */
static void str_or_null(msx_buf *b, const msx_report *r, uint32_t i, uint32_t max)
{
    const msx_str *s = msx_report_string(r, i);
    if (!s) {
        msx_buf_puts(b, "null");
        return;
    }
    msx_json_str(b, s->p, max && s->n > max ? max : s->n);
}

/* Appends the members function, file, line, module, offset of a frame. */
static void frame_members(msx_buf *b, const msx_report *r, const msx_site_frame *f, uint32_t max)
{
    msx_buf_puts(b, "\"function\": ");
    str_or_null(b, r, f->function, max);
    msx_buf_puts(b, ", \"file\": ");
    str_or_null(b, r, f->file, max);
    msx_buf_puts(b, ", \"line\": ");
    if (f->line)
        msx_buf_u64(b, f->line);
    else
        msx_buf_puts(b, "null");
    msx_buf_puts(b, ", \"module\": ");
    str_or_null(b, r, f->module, max);
    msx_buf_puts(b, ", \"offset\": ");
    if (f->module)
        msx_buf_printf(b, "\"0x%llx\"", (unsigned long long)f->offset);
    else
        msx_buf_puts(b, "null");
}

/* Appends the figures, and their intervals in a sampled trace. */
static void figures(msx_buf *b, const msx_report *r, const msx_site_figs *f)
{
    for (int k = 0; k < MSX_SITE_FIGS; k++) {
        msx_buf_printf(b, ", \"%s\": ", msx_site_fig_names[k]);
        msx_buf_u64(b, f->v[k]);
    }
    if (!r->sampling)
        return;
    msx_buf_puts(b, ", \"estimate\": {");
    for (int k = 0; k < MSX_SITE_FIGS; k++)
        msx_buf_printf(b, "%s\"%s\": [%.0f, %.0f]", k ? ", " : "", msx_site_fig_names[k], floor(f->lo[k]),
                       ceil(f->hi[k]));
    msx_buf_puts(b, "}");
}

/* Whether site s is named by the peak snapshot. */
static bool at_peak(const msx_report *r, uint32_t id)
{
    for (uint32_t i = 0; i < r->npeak_sites; i++)
        if (r->peak_sites[i].site == id)
            return true;
    return false;
}

void msx_json_sites(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    static const char *const mode[] = { "exact", "bytes", "rate" };
    msx_buf_printf(b, "  \"sampling\": {\"mode\": \"%s\", ", mode[r->sampling < 3 ? r->sampling : 0]);
    msx_buf_printf(b, "\"sample_bytes\": %llu, \"sample_rate\": %llu, \"seed\": %llu},\n",
                   (unsigned long long)r->sample_bytes, (unsigned long long)r->sample_rate,
                   (unsigned long long)r->sample_seed);
    msx_buf_puts(b, "  \"sites\": [");
    uint32_t others = 0, listed = 0;
    for (uint32_t i = 0; i < r->nsites; i++) {
        const msx_site_report *s = &r->sites[i];
        if (!s->f.v[MSX_SF_LEAKED_BLOCKS] && !at_peak(r, s->id) && others++ >= MSX_MAX_SITES)
            continue;
        msx_buf_puts(b, listed++ ? ",\n    {" : "\n    {");
        msx_buf_printf(b, "\"id\": %u, ", s->id);
        static const msx_site_frame none;
        frame_members(b, r, s->nframes ? &s->frames[s->frame] : &none, lim->max_str);
        msx_buf_printf(b, ", \"runtime\": %s, \"suppressed\": %s, \"stack\": [", s->runtime ? "true" : "false",
                       s->suppressed ? "true" : "false");
        for (uint32_t j = 0; j < s->nframes; j++) {
            msx_buf_puts(b, j ? ", {" : "{");
            frame_members(b, r, &s->frames[j], lim->max_str);
            msx_buf_printf(b, ", \"inlined\": %s}", s->frames[j].inlined ? "true" : "false");
        }
        msx_buf_puts(b, "]");
        figures(b, r, &s->f);
        msx_buf_puts(b, "}");
    }
    msx_buf_printf(b, "%s  \"sites_omitted\": %u,\n", listed ? "\n  ],\n" : "],\n", r->nsites - listed);
    msx_buf_puts(b, "  \"functions\": [");
    others = listed = 0;
    for (uint32_t i = 0; i < r->nfunctions; i++) {
        const msx_function_report *f = &r->functions[i];
        if (!f->f.v[MSX_SF_LEAKED_BLOCKS] && others++ >= MSX_MAX_FUNCTIONS)
            continue;
        msx_buf_puts(b, listed++ ? ",\n    {" : "\n    {");
        frame_members(b, r, &f->at, lim->max_str);
        figures(b, r, &f->f);
        msx_buf_puts(b, ", \"sites\": [");
        for (uint32_t j = 0; j < f->nsites; j++)
            msx_buf_printf(b, "%s%u", j ? ", " : "", f->sites[j]);
        msx_buf_puts(b, "]}");
    }
    msx_buf_printf(b, "%s  \"functions_omitted\": %u,\n", listed ? "\n  ],\n" : "],\n", r->nfunctions - listed);
}
