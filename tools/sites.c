/* The analysis options report and summary share (--sysroot, --debug-dir,
 * --suppressions or MEMSCOPE_SUPPRESSIONS), and the collapsed-stacks output
 * of report (--folded, --folded-value). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sites.h"
#include "tool.h"

static msx_analyze_opts opts;
static msx_supp *supp;

const char *mst_suppressions_path(const char *given)
{
    if (given)
        return given;
    const char *e = getenv("MEMSCOPE_SUPPRESSIONS");
    return e && *e ? e : NULL;
}

int mst_analysis_set(const char *sysroot, const char *debug_dir, const char *suppressions)
{
    opts = (msx_analyze_opts){ .sysroot = sysroot, .debug_dir = debug_dir };
    if (!suppressions)
        return 0;
    if (!mst_input_readable(suppressions))
        return -1;
    FILE *f = fopen(suppressions, "rb");
    if (!f) {
        mst_errorf("%s: %s", suppressions, strerror(errno));
        return -1;
    }
    msx_buf b = { 0 };
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        msx_buf_put(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad || b.err) {
        mst_errorf("%s: cannot read the suppressions", suppressions);
        msx_buf_free(&b);
        return -1;
    }
    msx_str prob[8] = { 0 };
    uint32_t np = 0;
    int rc = msx_supp_parse(&supp, b.p ? b.p : "", b.len, prob, 8, &np);
    msx_buf_free(&b);
    for (uint32_t i = 0; i < np; i++) {
        mst_errorf("%s: %s", suppressions, prob[i].p);
        free(prob[i].p);
    }
    if (rc < 0) {
        mst_errorf("%s: out of memory", suppressions);
        return -1;
    }
    opts.suppressions = supp;
    return 0;
}

void mst_analysis_cuts(struct msx_cuts *cuts)
{
    opts.cuts = cuts;
}

void mst_analysis_counters(bool on)
{
    opts.counters = on;
}

const msx_analyze_opts *mst_analysis_opts(void)
{
    return &opts;
}

void mst_analysis_want_pprof(void)
{
    opts.pprof = true;
}

void mst_analysis_apply(msx_report *r)
{
    if (supp)
        msx_sites_suppress(r, supp);
}

void mst_analysis_end(void)
{
    msx_supp_free(supp);
    supp = NULL;
    opts = (msx_analyze_opts){ 0 };
}

int mst_folded_value(const char *s)
{
    static const char *const names[] = { "allocated", "live", "peak", "leaked" };
    static const int figs[] = { MSX_SF_BYTES_ALLOCATED, MSX_SF_LIVE_BYTES, MSX_SF_PEAK_BYTES, MSX_SF_LEAKED_BYTES };
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]))
            return figs[i];
    mst_errorf("report: --folded-value takes allocated, live, peak or leaked, not '%s'", s);
    return -1;
}

int mst_write_folded(const msx_report *r, const char *path, int value, bool quiet)
{
    msx_buf b = { 0 };
    int rc = msx_render_folded(&b, r, (msx_site_fig)value);
    return mst_write_rendered(path, &b, rc, quiet);
}
