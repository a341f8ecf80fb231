/* msx_analyze_trace: one pass over a trace, in three layers.
 *
 *   reader.c   opens the file, checks the header, scans the chunk headers,
 *              reads payloads with pread, decodes records, times events
 *   merge.c    the causal merge of threads (FORMAT.md "Merging threads"),
 *              emitting op, block and control events
 *   view_*.c   each view fills one part of the report from those events
 *   view_snaps.c  the runtime snapshots: the program's own fold
 *              (format/fold.h), run again up to each SNAPSHOT record's cut
 *
 * This file wires them together and derives what needs all of them (the
 * trace's duration, completeness). */
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuts.h"
#include "merge.h"
#include "reader.h"
#include "symbolize.h"
#include "views.h"

/* The trace's duration: the latest time any part of it knows. Sets
 * r->complete if the header says the exit flush ran. */
static uint64_t trace_end(const msx_reader *R, const msx_views *V, msx_report *r)
{
    uint64_t end = R->max_time;
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].last_time_ns > end)
            end = r->threads[i].last_time_ns;
    if (V->process.end_time > end)
        end = V->process.end_time;
    if (R->end_time) {
        r->complete = true;
        if (R->end_time > end)
            end = R->end_time;
    }
    /* How it ended: the header has the last word (a failed exec's END stays
     * in the stream, the header is reset), else the last END record. */
    r->end_how = R->end_how ? R->end_how : r->complete ? (V->process.end_how ? V->process.end_how : MSF_END_EXIT) : MSF_END_NONE;
    return end;
}

static int analyze(const char *path, const msx_analyze_opts *opts, msx_progress_fn progress, void *progress_ctx,
                   msx_merge_tap_fn tap, void *tap_ctx, msx_report **out, char *err, size_t errlen);

int msx_analyze_trace(const char *path, msx_progress_fn progress, void *progress_ctx,
                      msx_report **out, char *err, size_t errlen)
{
    return analyze(path, NULL, progress, progress_ctx, NULL, NULL, out, err, errlen);
}

int msx_analyze_trace_opts(const char *path, const msx_analyze_opts *opts, msx_progress_fn progress,
                           void *progress_ctx, msx_report **out, char *err, size_t errlen)
{
    return analyze(path, opts, progress, progress_ctx, NULL, NULL, out, err, errlen);
}

int msx_analyze_trace_tapped(const char *path, msx_progress_fn progress, void *progress_ctx, msx_merge_tap_fn tap,
                             void *tap_ctx, msx_report **out, char *err, size_t errlen)
{
    return analyze(path, NULL, progress, progress_ctx, tap, tap_ctx, out, err, errlen);
}

/* Sets up the symbolizer of the views' stacks (NULL if built without one). */
static int sym_setup(msx_views *V, const msx_analyze_opts *opts)
{
    msx_sym_opts so = { .sysroot = opts ? opts->sysroot : NULL, .debug_dir = opts ? opts->debug_dir : NULL };
    V->stacks.sym = msx_sym_new(&so);
    return V->stacks.sym ? 0 : -ENOMEM;
}

/* Copies the symbolizer's problems into the report. */
static void sym_problems(msx_reader *R, const msx_views *V)
{
    size_t n = 0;
    const char *const *p = V->stacks.sym ? msx_sym_problems(V->stacks.sym, &n) : NULL;
    for (size_t i = 0; i < n; i++)
        msx_reader_problem(R, 0, "symbols: %s", p[i]);
}

static int analyze(const char *path, const msx_analyze_opts *opts, msx_progress_fn progress, void *progress_ctx,
                   msx_merge_tap_fn tap, void *tap_ctx, msx_report **out, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    *out = NULL;
    msx_report *r = calloc(1, sizeof *r);
    if (!r || msx_str_set(&r->file, path, strlen(path)) < 0) {
        msx_report_free(r);
        if (errlen)
            snprintf(err, errlen, "%s: offset 0: out of memory", path);
        return -ENOMEM;
    }
    msx_reader R;
    int rc = msx_reader_open(&R, path, r, err, errlen);
    if (rc < 0) {
        msx_report_free(r);
        return rc;
    }
    msx_views V;
    msx_merge M = { 0 };
    bool views_set = false;
    if (msx_reader_scan(&R) < 0)
        goto done;
    if (R.nthreads >= (1u << MSX_THREAD_BITS)) {
        msx_reader_fail(&R, -E2BIG, 0, "%u threads: more than this reader handles", R.nthreads);
        goto done;
    }
    views_set = true;
    if (msx_views_init(&V, r, &R) < 0) {
        msx_reader_fail(&R, -ENOMEM, 0, "out of memory for %u threads", R.nthreads);
        goto done;
    }
    V.sites.supp = opts ? opts->suppressions : NULL;
    V.cuts = opts && opts->cuts && opts->cuts->n ? opts->cuts : NULL;
    V.pprof.on = opts && opts->pprof;
    V.counters.on = opts && opts->counters;
    if (sym_setup(&V, opts) < 0) {
        msx_reader_fail(&R, -ENOMEM, 0, "out of memory for the symbolizer");
        goto done;
    }
    if (msx_merge_init(&M, &R, &V) < 0)
        goto done;
    V.vars.labels = &M.labels;
    V.var_rows.labels = &M.labels;
    M.progress = progress;
    M.progress_ctx = progress_ctx;
    M.tap = tap;
    M.tap_ctx = tap_ctx;
    if (msx_merge_run(&M) < 0 || msx_merge_finish(&M) < 0)
        goto done;
    r->lost_events = M.lost_events;
    r->forced_merges = M.forced_merges;
    r->inherited_frees = M.inherited_frees;
    r->inherited_reallocs = M.inherited_reallocs;
    uint64_t end = trace_end(&R, &V, r);
    r->duration_ns = end;
    if (!r->complete)
        msx_reader_problem(&R, R.size,
                           "the process never reached its exit flush (no END record): it was killed or is still running; "
                           "blocks live at the end of the trace are reported as leaks");
    if (msx_views_finish(&V, end) < 0)
        msx_reader_fail(&R, -ENOMEM, 0, "out of memory for the task, variable or site list (or the cuts)");
    else if (msx_snaps_analyze(&R, r) < 0)
        msx_reader_fail(&R, -ENOMEM, 0, "out of memory for the runtime snapshots");

    sym_problems(&R, &V);

done:
    msx_merge_free(&M);
    if (views_set)
        msx_views_free(&V);
    rc = R.err;
    msx_reader_close(&R);
    if (rc < 0) {
        msx_report_free(r);
        return rc;
    }
    *out = r;
    return 0;
}
