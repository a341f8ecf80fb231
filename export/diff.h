/* What grew between two reports, or two moments of one trace (`memscope
 * diff`, docs/CLI.md): each side is a list of keyed rows (the total, sites,
 * threads, tasks) with their figures; the diff matches the rows by key and
 * gives each figure of both sides, its delta and ratio, sorted by growth.
 *
 * Keys (so that two runs of a program match, whatever ASLR did):
 *   site    its frames from its own frame outwards, each "function, file,
 *           line" when symbolized, else "module+offset" (the offset in the
 *           module's file, the same in every run); sites with the same key
 *           (the same lines reached through other pcs) are summed
 *   thread  its name and its rank among the threads of that name by serial;
 *           an unnamed thread by its serial
 *   task    its name and its rank among the tasks of that name by id; an
 *           unnamed task by its id
 * In a sampled trace the figures are estimates with 95% intervals (the
 * intervals of summed rows are summed: wider than needed). */
#ifndef MSX_DIFF_H
#define MSX_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "cuts.h"
#include "export.h"
#include "report.h"

enum {
    MSX_DF_ALLOCATIONS,      /* ALLOC and REALLOC events */
    MSX_DF_BYTES_ALLOCATED,  /* ALLOC sizes plus REALLOC new sizes */
    MSX_DF_LIVE_BYTES,       /* live at the end, or at the moment */
    MSX_DF_PEAK_LIVE_BYTES,  /* highest live bytes (up to the moment) */
    MSX_DF_LEAKED_BYTES,     /* live at the end of the trace (not for moments) */
    MSX_DF_FIGS
};
extern const char *const msx_diff_fig_names[MSX_DF_FIGS]; /* as in JSON */

typedef enum msx_diff_dim { MSX_DD_TOTAL, MSX_DD_SITE, MSX_DD_THREAD, MSX_DD_TASK, MSX_DD_DIMS } msx_diff_dim;
extern const char *const msx_diff_dim_names[MSX_DD_DIMS]; /* "total", "site", "thread", "task" */

/* One row of a side. */
typedef struct msx_dside_row {
    msx_diff_dim dim;
    char *key, *label;         /* key: what matches; label: what is shown */
    uint64_t v[MSX_DF_FIGS];
    double lo[MSX_DF_FIGS], hi[MSX_DF_FIGS];  /* sampled: the 95% interval */
} msx_dside_row;

typedef struct msx_diff_side {
    char *name;                /* the file it comes from */
    bool sampled, moment;      /* moment: figures at time_ns (no leaked bytes) */
    uint64_t time_ns, at_ns;   /* moment: asked, and where the cut fell */
    msx_dside_row *rows;
    uint32_t n, cap;
} msx_diff_side;

/* One matched row. */
typedef struct msx_diff_row {
    msx_diff_dim dim;
    char *key, *label;
    bool in_a, in_b;
    uint64_t a[MSX_DF_FIGS], b[MSX_DF_FIGS];
    double alo[MSX_DF_FIGS], ahi[MSX_DF_FIGS], blo[MSX_DF_FIGS], bhi[MSX_DF_FIGS];
} msx_diff_row;

typedef struct msx_diff {
    const msx_diff_side *a, *b;
    bool sampled, moments;
    msx_diff_row *rows;        /* total first, then sites, threads, tasks; each by growth */
    uint32_t n;
} msx_diff;

/* The side of report r at its end. Returns 0 or -ENOMEM. */
int msx_diff_side_report(msx_diff_side *s, const msx_report *r, const char *name);
/* The side of report r at cut c (taken by the analysis that made r). */
int msx_diff_side_cut(msx_diff_side *s, const msx_report *r, const msx_cut *c, const char *name);
void msx_diff_side_free(msx_diff_side *s);

/* Matches a and b (they must outlive d). Returns 0 or -ENOMEM. */
int msx_diff_compute(msx_diff *d, const msx_diff_side *a, const msx_diff_side *b);
void msx_diff_free(msx_diff *d);

/* The growth of the total's live bytes, B less A (may be negative). */
int64_t msx_diff_live_growth(const msx_diff *d);

/* Renderers (diff_render.c): text lists at most `top` changed rows per
 * dimension (0: all); JSON and HTML list every row. Return 0 or -ENOMEM. */
int msx_diff_render_text(msx_buf *b, const msx_diff *d, uint32_t top);
int msx_diff_render_json(msx_buf *b, const msx_diff *d);
int msx_diff_render_html(msx_buf *b, const msx_diff *d);

#endif /* MSX_DIFF_H */
