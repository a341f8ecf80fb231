/* The causal merge of threads (docs/FORMAT.md "Merging threads"): the
 * second layer of the analysis. It turns the reader's per-thread chunks into
 * one causal order of events and hands them to the views (views.h) as op,
 * block and control events; it fills no part of the report itself.
 *
 * Each thread has a cursor that decodes its chunks in seq order; each event
 * gets a time from its TIME window (reader.h, msx_window). The loop always
 * runs the thread whose next event is earliest, until it passes the next
 * thread's. An event that would break causality (allocating an address that
 * is still live, freeing or reallocating one that is not) blocks its thread
 * until another thread makes it valid, or until every other thread is past
 * the time by which the event certainly happened (its window's end: the
 * thread's next TIME), or until every thread is blocked; then it is taken,
 * and what still does not fit waits in the pending table for its partner
 * (pending.h). What never finds one is an anomaly (msx_merge_finish).
 *
 * Memory: the live-block map (livemap.h, follows the live set), the variable
 * labels (one per distinct label), the pending
 * table (only ties of TIME put anything there), one payload buffer per open
 * chunk (pooled and reused), and one arena for the control record being
 * applied. No allocation per event. */
#ifndef MSX_MERGE_H
#define MSX_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "export.h"
#include "keys.h"
#include "livemap.h"
#include "mpk.h"
#include "pending.h"
#include "reader.h"
#include "views.h"

typedef enum msx_cursor_state { MSX_TS_RUN, MSX_TS_BLOCKED, MSX_TS_DONE } msx_cursor_state;

/* A thread's decoding cursor. */
typedef struct msx_cursor {
    uint32_t index;            /* thread index (order of serials) */
    uint32_t serial;           /* memscope thread serial */
    uint32_t ck, ck_end;       /* next chunk to open, end of its chunks in the reader's index */
    msx_chunk *cur;            /* chunk being decoded, NULL before the first */
    uint8_t *buf;              /* cur's payload, read by msx_reader_load */
    size_t cap;                /* buf's size */
    const uint8_t *p, *end;    /* payload cursor in buf; p == end: the chunk is done */
    uint64_t addr;             /* delta base (FORMAT.md "Records") */
    uint64_t task;             /* task in force (chunk header, TASK records) */
    msx_scopes scopes;         /* open scopes (SCOPE_ENTER ids) */
    msx_window win;            /* TIME window; win.next: time of its next event */
    uint64_t now;              /* time of the event being applied */
    uint64_t evno;             /* the thread's event number of its next event */
    msx_cursor_state st;
    uint64_t wait_addr;        /* blocked: waiting until wait_addr is live (wait_live) or not */
    bool wait_live;
    bool force;                /* take the next event even if it breaks causality */
} msx_cursor;

/* A free payload buffer kept for the next chunk opened. */
typedef struct msx_pooled {
    uint8_t *buf;
    size_t cap;
} msx_pooled;

/* Observer of every block event, for tests (NULL in production: one branch). */
typedef void (*msx_merge_tap_fn)(void *ctx, const msx_block_ev *e);

typedef struct msx_merge {
    msx_reader *R;             /* errors go to R->err */
    msx_views *V;
    msx_cursor *ts;
    uint32_t nts;
    uint32_t nblocked;
    uint32_t ndone;            /* cursors whose thread is done */
    msx_livemap map;
    msx_pending pend;          /* events waiting for their partner */
    msx_arena arena;           /* control record objects, reset per record */
    msx_pooled *pool;          /* buffers of threads that are done */
    uint32_t npool;
    msx_labels labels;         /* variable labels (VAR records) */
    uint64_t idx;              /* merged index of the current event (first is 1) */
    uint64_t live_bytes;       /* bytes of all live blocks */
    bool forked;               /* a FORK record was seen: unknown frees are inherited */

    /* what the merge counts itself (msx_analyze_trace copies it to the report) */
    uint64_t lost_events;      /* events known missing from first_event gaps */
    uint64_t forced_merges;
    uint64_t inherited_frees;
    uint64_t inherited_reallocs;

    msx_progress_fn progress;
    void *progress_ctx;
    uint64_t work_done;

    msx_merge_tap_fn tap;
    void *tap_ctx;
} msx_merge;

/* Sets up a cursor per thread of the scanned reader R, feeding views V.
 * Returns 0 or a fatal error (in R). */
int msx_merge_init(msx_merge *M, msx_reader *R, msx_views *V);
/* Runs the merge to the end of every thread. Returns 0 or a fatal error. */
int msx_merge_run(msx_merge *M);
/* After the run: reports what still waits as anomalies (in the order they
 * happened) and every block still live as SURVIVED. Returns 0 or a fatal
 * error. */
int msx_merge_finish(msx_merge *M);
/* Frees the merge's memory. */
void msx_merge_free(msx_merge *M);
/* The variable label of id (keys.var), NULL for 0 or an unknown id. Valid
 * until msx_merge_free. */
const msx_var_label *msx_merge_var(const msx_merge *M, uint64_t id);

/* msx_analyze_trace (analyze.c) with a tap that sees every block event as
 * the views do, for tests; tap may be NULL. */
int msx_analyze_trace_tapped(const char *path, msx_progress_fn progress, void *progress_ctx, msx_merge_tap_fn tap,
                             void *tap_ctx, msx_report **out, char *err, size_t errlen);

#endif /* MSX_MERGE_H */
