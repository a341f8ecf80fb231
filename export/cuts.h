/* Cuts: what was live, by site, thread and task, at given moments of one
 * trace (view_cuts.c), for `memscope diff T --from --to` (diff.h).
 *
 * A cut at time T is taken in the merged order (merge.h) just before the
 * first op or block event whose time is after T: the figures are those of
 * every event up to there. The merge runs the thread whose next event is
 * earliest, so in a one-thread trace that is exactly "every event at or
 * before T"; across threads whose TIME windows overlap T, an event may fall
 * on the other side of it. A cut after the trace's last event is its end. */
#ifndef MSX_CUTS_H
#define MSX_CUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "estimate.h"
#include "report.h"

/* Running figures of one key at a cut; est: their estimates in a sampled
 * trace (value and variance), else zero. */
typedef struct msx_cut_fig {
    uint64_t allocations, bytes_allocated, live_bytes, peak_live_bytes;
    msx_est e_allocations, e_bytes, e_live;
} msx_cut_fig;

typedef struct msx_cut_thread {
    uint32_t serial;
    msx_cut_fig f;
} msx_cut_thread;

typedef struct msx_cut_task {
    uint64_t id;
    msx_str name;              /* as known at the cut ("" if none yet) */
    msx_cut_fig f;
} msx_cut_task;

/* One cut: set time, then msx_analyze_trace_opts fills the rest. */
typedef struct msx_cut {
    uint64_t time_ns;          /* from the trace's start */
    bool taken;
    uint64_t at_ns;            /* time of the first event after the cut (the end if none) */
    msx_cut_fig total;
    uint32_t nsites;           /* sites[g]: global stack g (report site id g), [0]: no stack */
    msx_cut_fig *sites;
    uint32_t nthreads;
    msx_cut_thread *threads;
    uint32_t ntasks;
    msx_cut_task *tasks;
} msx_cut;

/* The cuts asked of an analysis (msx_analyze_opts.cuts): c[0..n) in
 * ascending time order. */
typedef struct msx_cuts {
    msx_cut *c;
    uint32_t n;
    uint32_t next;             /* index of the next cut to take */
    bool oom;
} msx_cuts;

/* Frees what the analysis put in the cuts (not c itself). */
void msx_cuts_clear(msx_cuts *cs);

#endif /* MSX_CUTS_H */
