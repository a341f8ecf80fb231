/* pprof profiles (profile.proto, gzipped) of a report: view_pprof.c gathers
 * the figures per (site, thread, task) while the trace is analysed (only when
 * msx_analyze_opts.pprof asks for it), pprof.c encodes them.
 *
 *   allocation profile  alloc_objects/count, alloc_space/bytes (every
 *                       allocation, a realloc's new size as an allocation, as
 *                       sites[] count them), inuse_objects/count,
 *                       inuse_space/bytes (live at the end of the trace)
 *   peak profile        inuse_objects, inuse_space of the blocks live at the
 *                       process peak (as peak_snapshot finds them)
 *
 * In a sampled trace the values are the estimates (weights applied), each
 * (site, figure)'s cells rounded so that they add up to the site's figure in
 * the JSON report. Each sample carries labels: thread (name, else the serial),
 * thread_id (serial), tid (kernel), task_id and task (name) when a task was
 * current. Its locations are the site's frames from its own frame outwards
 * (docs/CLI.md). */
#ifndef MSX_PPROF_H
#define MSX_PPROF_H

#include <stdbool.h>
#include <stdint.h>

#include "export.h"
#include "report.h"

enum {
    MSX_PP_ALLOC_OBJECTS, MSX_PP_ALLOC_SPACE, MSX_PP_INUSE_OBJECTS, MSX_PP_INUSE_SPACE,
    MSX_PP_PEAK_OBJECTS, MSX_PP_PEAK_SPACE, MSX_PP_FIGS,
};

/* One (site, thread, task) with anything to show. */
typedef struct msx_pprof_cell {
    uint32_t site;             /* id of r->sites (0: the events without a stack) */
    uint32_t thread;           /* serial of the thread (allocating thread, or the op's) */
    uint64_t task;             /* 0: none */
    int64_t v[MSX_PP_FIGS];
} msx_pprof_cell;

/* A module as the trace's MODULES records give it. */
typedef struct msx_pprof_module {
    msx_str path;
    uint64_t base, start, limit;
    msx_str build_id;          /* raw bytes (empty: none) */
} msx_pprof_module;

typedef struct msx_pprof_task {
    uint64_t id;
    msx_str name;              /* empty: unnamed */
} msx_pprof_task;

typedef struct msx_pprof_report {
    uint32_t ncells;
    msx_pprof_cell *cells;     /* by site, thread, task */
    uint32_t nmodules;
    msx_pprof_module *modules;
    uint32_t ntasks;
    msx_pprof_task *tasks;     /* the tasks of the cells, by id */
} msx_pprof_report;

void msx_pprof_report_free(msx_pprof_report *p);

/* Appends the gzipped profile of r (peak: the peak profile) to b. Returns 0,
 * -ENOMEM, or -ENODATA when r has no pprof figures (an archive, or the
 * analysis did not ask for them). */
int msx_render_pprof(msx_buf *b, const msx_report *r, bool peak);

#endif /* MSX_PPROF_H */
