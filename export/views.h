/* Views: the third layer of the analysis. The causal merge (merge.h) emits
 * three streams of events, and each view consumes them to fill one part of
 * the report:
 *
 *   op events      one per trace event (ALLOC*, FREE, REALLOC*), when it is
 *                  taken in merged order, whether or not its block fits: every
 *                  event counts once (counts, bytes allocated, size histogram)
 *   block events   a block's life: BORN (an allocation, a realloc's new block),
 *                  RESIZED (a realloc in place), FREED (a free, or a moving
 *                  realloc's old block: MSX_BEVF_REALLOC), SURVIVED (still
 *                  live at the end of the trace), LABELED (a VAR record named
 *                  it: keys.var, see msx_var_label), each with the block's keys
 *   control events a chunk opened, a control record, a thread finished, an
 *                  anomaly
 *
 * The views are a fixed list, called directly (no function pointer per
 * event) from the msx_views_* dispatch functions below. A new dimension (per
 * task, per site, per variable) is a new view file plus one line in each
 * dispatch function; the merge does not change.
 *
 *   view_totals.c   summary counts, bytes, chunks, anomalies, the timeline
 *   view_threads.c  per-thread figures (but temporaries and the peak snapshot)
 *   view_sizes.c    size and lifetime histograms, temporaries
 *   view_leaks.c    blocks live at the end
 *   view_peak.c     the peak and the exact snapshot of what was live then
 *   view_tasks.c    per-task figures, the distinct task ids
 *   view_vars.c     per-label figures of the variables
 *   view_var_rows.c each tracked variable: its block's life, thread, task, scope
 *   view_process.c  process, metrics, fork, end, dropped records
 *   view_hybrid.c   the thread x task matrix, task spans per thread,
 *                   labelled blocks by thread and by task
 *   view_stacks.c   STACK records: (thread, per-thread id) -> global stack,
 *                   deduplicated by pcs; MODULES generations
 *   view_sites.c    per-site figures (one site per global stack); sites.c
 *                   symbolizes, classifies and lists them at the finish
 *   view_cuts.c     only when cuts are asked (cuts.h): copies the others'
 *                   running figures at given times, before their event
 *   view_pprof.c    per (site, thread, task) figures of the pprof profiles
 *                   (pprof.h), when the analysis asks for them

 *   view_counters.c live bytes in total, per thread and per task over time,
 *                   for the Chrome trace (only when asked for) */
#ifndef MSX_VIEWS_H
#define MSX_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

#include "estimate.h"
#include "keys.h"
#include "livemap.h"
#include "mpk.h"
#include "reader.h"
#include "report.h"

/* -- events --------------------------------------------------------------- */

/* A trace event as recorded, taken in merged order. */
typedef struct msx_op_ev {
    unsigned kind;           /* MSF_K_ALLOC (ALLOC, ALLOC_EX), MSF_K_FREE, MSF_K_REALLOC (both kinds) */
    uint32_t actor;          /* index of its thread */
    uint64_t addr;           /* ALLOC: the block; FREE, REALLOC: the old address */
    uint64_t size;           /* ALLOC, REALLOC: requested bytes */
    uint64_t time;           /* its time */
    uint64_t stack;          /* ALLOC_EX, REALLOC_EX: the thread's stack id (0: none) */
    uint64_t weight;         /* ALLOC_EX, REALLOC_EX: sample weight (0: exact) */
} msx_op_ev;

/* A block as it stands: its address, size and keys. */
typedef struct msx_blk {
    uint64_t addr;
    uint64_t size;
    uint64_t birth;          /* time of the allocation that started it (a realloc keeps it) */
    uint64_t idx;            /* merged index of the event that made it live */
    uint32_t thread;         /* index of the thread that made it live */
    uint32_t serial;         /* that thread's memscope serial */
    msx_keys keys;           /* task, stack, weight, scope, variable (livemap.h) */
} msx_blk;

typedef enum msx_bev_kind {
    MSX_BEV_BORN,            /* blk became live */
    MSX_BEV_RESIZED,         /* prev was resized in place by a realloc: blk is the block now */
    MSX_BEV_FREED,           /* blk ended */
    MSX_BEV_SURVIVED,        /* blk is live at the end of the trace (emitted by msx_merge_finish) */
    MSX_BEV_LABELED,         /* a VAR record labelled the live block: blk has keys.var, prev had not */
} msx_bev_kind;

enum {
    MSX_BEVF_REALLOC = 1u << 0, /* FREED: the old block of a moving realloc (no lifetime) */
};

/* A block event. live: bytes of all live blocks after it. */
typedef struct msx_block_ev {
    msx_bev_kind kind;
    uint32_t flags;          /* MSX_BEVF_* */
    uint32_t actor;          /* index of the thread whose event this is (the freeing one) */
    uint64_t time;           /* time of the event (BORN: the time the block became live) */
    uint64_t live;
    msx_blk blk;
    msx_blk prev;            /* RESIZED, LABELED: the block before; undefined for other kinds */
} msx_block_ev;

typedef enum msx_ctl_kind {
    MSX_CTL_CHUNK,           /* a thread opened its next chunk (chunk) */
    MSX_CTL_RECORD,          /* a control record other than TIME (type, obj) */
    MSX_CTL_THREAD_DONE,     /* a thread's last chunk is decoded; time: its last time */
    MSX_CTL_ANOMALY,         /* the merge found no partner for an event (anomaly) */
} msx_ctl_kind;

/* A control event. obj's shape is checked by the merge for the types it
 * knows: TASK and DROPPED hold a uint, METRIC a map, TASK_CREATE and TASK_END
 * a map with a non-zero uint id. */
typedef struct msx_ctl_ev {
    msx_ctl_kind kind;
    uint32_t actor;          /* index of the thread */
    uint64_t time;           /* the thread's current time */
    uint64_t type;           /* RECORD: MSF_R_* */
    const msx_obj *obj;      /* RECORD: its object */
    const msx_chunk *chunk;  /* CHUNK */
    const msx_anomaly *anomaly; /* ANOMALY (its thread field is the serial) */
    uint64_t task, scope;    /* RECORD: the thread's task and innermost open scope once
                              * the merge applied the record (0: none) */
} msx_ctl_ev;

/* -- shared helpers (views.c) --------------------------------------------- */

/* Bounded min-heap of blocks by size: keeps the n largest pushed (ties: the
 * lower address). */
typedef struct msx_topn {
    uint32_t n, cap;
    msx_block *b;
} msx_topn;

/* Pushes a block into the heap. */
void msx_topn_push(msx_topn *h, const msx_block *blk);
/* Sorts n blocks largest first, then by address. */
void msx_blocks_sort(msx_block *b, uint32_t n);
/* Copies a STR or BIN object into s (NULL and other types leave s alone).
 * Returns 0 or -ENOMEM. */
int msx_str_take(msx_str *s, const msx_obj *o);

/* -- view states ---------------------------------------------------------- */

/* One timeline bucket while analysing. */
typedef struct msx_tl_bucket {
    uint64_t last, max, allocs, frees;
    bool touched;
} msx_tl_bucket;

/* view_totals.c. The timeline has MSX_TIMELINE_POINTS buckets of 2^tl_shift
 * ns; when time passes the last one, the resolution halves (tl_double). */
typedef struct msx_view_totals {
    msx_report *r;
    uint64_t live;             /* live bytes after the last block event */
    msx_tl_bucket tl[MSX_TIMELINE_POINTS];
    unsigned tl_shift;
    uint64_t tl_used;          /* highest bucket index entered */
    msx_tl_bucket *bk;         /* bucket of the current time */
    uint64_t bk_idx;           /* its index at the current resolution */
} msx_view_totals;

/* view_threads.c. Running figures live in r->threads[i] (live_bytes is the
 * running live size of the thread's blocks). */
typedef struct msx_view_threads {
    msx_report *r;
    msx_thread_report *th;     /* r->threads, indexed by thread index */
    bool *internal;            /* per thread index: its chunks are memscope's own
                                * (MSF_CF_INTERNAL); NULL if none is */
} msx_view_threads;

/* view_sizes.c. last[i]: thread i's latest block made live, while valid. */
typedef struct msx_last_alloc {
    uint64_t addr;
    bool valid;
} msx_last_alloc;

typedef struct msx_view_sizes {
    msx_report *r;
    msx_last_alloc *last;      /* one per thread */
    bool was_temporary;        /* the last FREED event was a temporary (for view_sites) */
} msx_view_sizes;

struct msx_view_stacks;

/* view_leaks.c */
typedef struct msx_view_leaks {
    msx_report *r;
    struct msx_view_stacks *stacks;  /* for each leak's site */
    msx_block store[MSX_MAX_LEAKS];
    msx_topn top;
} msx_view_leaks;

/* A "freed since the peak" cell: valid iff epoch == the view's epoch. */
typedef struct msx_snap_cell {
    uint64_t epoch, count, bytes;
} msx_snap_cell;

/* view_peak.c. A block was live at the peak (event peak_idx) iff it was made
 * at or before it and ended after it. Blocks that end after the peak are added
 * to the cells of the current epoch as they go (and those live at the end, as
 * SURVIVED); a new peak makes every cell stale in O(1) by bumping the epoch. */
typedef struct msx_view_peak {
    msx_report *r;
    struct msx_view_stacks *stacks;  /* for the largest blocks' sites */
    uint64_t peak_idx;
    uint64_t epoch;
    msx_snap_cell size[MSX_HIST_BUCKETS];
    uint64_t *thread_epoch;    /* r->threads[i].peak_snapshot_* valid iff == epoch */
    msx_block top_store[MSX_MAX_PEAK_BLOCKS];
    msx_topn top;
    uint64_t top_epoch;        /* top holds this epoch's blocks iff == epoch */
} msx_view_peak;

/* Small open-addressing set of non-zero uint64 keys (views.c). */
typedef struct msx_idset {
    uint64_t *k;
    uint64_t cap, n;
} msx_idset;

/* Adds key (non-zero) to the set. Returns 1 if it was added, 0 if it was
 * there already, -ENOMEM. */
int msx_idset_add(msx_idset *s, uint64_t key);

/* One task while analysing: its report figures but for the thread list. */
typedef struct msx_task_state {
    uint64_t id, parent;
    msx_str name;
    uint64_t allocations, reallocs, bytes_allocated, frees, cross_thread_frees;
    uint64_t live, peak, peak_time;
    uint64_t first, last;      /* earliest and latest time seen (first starts at UINT64_MAX) */
    uint32_t nthreads;         /* distinct threads it was current on */
    uint32_t thread0;          /* index of the first of them */
    uint32_t *more;            /* NULL, or room for the next MSX_TASK_THREADS - 1 thread indices */
    bool ended;
} msx_task_state;

/* view_tasks.c. Tasks sit in t[0..n) in order of first sight; slot[] is an
 * open-addressing index by id (Fibonacci hash, linear probing, at most half
 * full) holding index + 1, 0 for empty. Memory follows the number of distinct
 * task ids, each of which costs the file at least one record. cur[] is NULL
 * until a non-zero task is seen: the dispatch below tests it, so a trace
 * without tasks pays one predictable branch per event. A task on more than
 * MSX_TASK_THREADS threads counts the others through the pair set `over`. */
typedef struct msx_view_tasks {
    msx_report *r;
    uint32_t nthreads;
    uint32_t *cur;             /* per thread index: index + 1 of its current task, 0: none */
    msx_task_state *t;
    uint32_t n, cap;
    uint32_t *slot;
    uint64_t slot_cap;         /* power of two (0 before the first task) */
    msx_idset over;            /* (task index << MSX_THREAD_BITS | thread index) + 1 */
    uint64_t last_id;          /* lookup cache: id of t[last_idx], 0 if none */
    uint32_t last_idx;
} msx_view_tasks;

/* view_process.c. The metrics timeline has MSX_METRIC_POINTS slots of
 * 2^mshift ns, each holding the latest METRIC sample of its interval; when a
 * sample passes the last slot, the resolution halves (each pair keeps its
 * later sample), as the live-bytes timeline does. Slots are allocated at the
 * first METRIC record. */
typedef struct msx_view_process {
    msx_report *r;
    uint64_t end_time;         /* from an END record, 0 if none */
    uint32_t end_how;          /* MSF_END_* of the last END record (exit if it says nothing) */
    msx_metric_point *mslot;   /* NULL until the first METRIC */
    bool *mused;               /* mslot[i] holds a sample */
    unsigned mshift;
} msx_view_process;

/* view_vars.c: per-variable figures, by label id (keys.var, dense from 1).
 * `labels` is the merge's table (set once the merge exists), read at the
 * finish for the names. A trace without VAR records pays one predictable
 * branch per block event. */
typedef struct msx_view_vars {
    msx_report *r;
    const msx_labels *labels;
    msx_var_report *v;         /* v[id - 1]; strings filled at the finish */
    uint64_t n;                /* ids seen (0: no VAR record took effect) */
} msx_view_vars;

/* view_hybrid.c: one cell per (task, thread index) pair seen with a
 * non-zero task, or holding a labelled block (task 0 too). */
typedef struct msx_hy_cell {
    uint64_t task;
    uint32_t thread;           /* thread index */
    uint64_t allocations, bytes, live;          /* task != 0 only (task 0's are derived at the finish) */
    uint64_t vblocks, vbytes, vlive_blocks, vlive;  /* labelled blocks */
} msx_hy_cell;

/* A thread's current task and its spans so far. */
typedef struct msx_hy_thread {
    uint64_t task;             /* current task (0: none) */
    uint64_t since;            /* when it became current */
    uint32_t cell;             /* index + 1 of the cell (task, thread), 0 if task is 0 */
    uint32_t nspans, cap;
    msx_hybrid_span *spans;    /* the first MSX_HYBRID_SPANS */
    uint64_t omitted;          /* spans after those */
} msx_hy_thread;

/* A (label, cell index) pair: a label named a block of that cell. */
typedef struct msx_hy_pair {
    uint64_t label;            /* 0: empty slot */
    uint64_t cell;
} msx_hy_pair;

/* view_hybrid.c. Cells sit in c[0..n), indexed by slot[] (open addressing
 * on (task, thread), holding index + 1). th[] is allocated with the first
 * task or label seen: the dispatch calls this view only from the tasks and
 * variables branches, so a trace with neither pays nothing. */
typedef struct msx_view_hybrid {
    msx_report *r;
    uint32_t nthreads;
    msx_hy_thread *th;
    msx_hy_cell *c;
    uint32_t n, cap;
    uint32_t *slot;
    uint64_t slot_cap;         /* power of two (0 before the first cell) */
    msx_hy_pair *pairs;        /* open addressing, at most half full */
    uint64_t npairs, pairs_cap;
    const bool *internal;      /* the threads view's: thread index i is memscope's own stream */
} msx_view_hybrid;
/* A uint64 -> uint64 map with non-zero keys (view_var_rows.c): open
 * addressing, linear probing, at most half full; deletions by backward shift. */
typedef struct msx_u64map {
    uint64_t *k, *v;
    uint64_t cap, n;           /* cap: a power of two, 0 before the first put */
} msx_u64map;

/* view_var_rows.c: one row per VAR record that took effect (report.h,
 * msx_var_row), kept in a growing array; `live` maps the address of each
 * live labelled block to its row index + 1, `scopes` each (thread index,
 * scope id) seen in a SCOPE_ENTER to its name's id in `scope_names`. A trace
 * without VAR records pays what view_vars pays: one branch per block event. */
typedef struct msx_view_var_rows {
    msx_report *r;
    const msx_labels *labels;  /* the merge's variable labels (set once it exists): heap rows' */
    msx_var_row *row;          /* strings empty until the finish; name etc. from label[] */
    uint64_t *label;           /* label id of each row */
    uint64_t *scope_name;      /* scope_names id of each row, 0: none */
    uint64_t n, cap;
    msx_u64map live;
    msx_u64map scopes;
    msx_labels scope_names;
    msx_labels value_names;    /* labels of the named values (VAR without addr) */
    uint64_t moving;           /* row index + 1 of a labelled block whose moving realloc's FREED came */
} msx_view_var_rows;

/* A global stack (view_stacks.c): its pcs, innermost first, at pc[off..off+n). */
typedef struct msx_gstack {
    uint64_t hash;
    uint64_t off;
    uint32_t n;
    uint32_t gen;              /* MODULES generation in force when first defined (0: none yet) */
} msx_gstack;

/* (thread index, per-thread id) -> global id: open addressing, at most half full. */
typedef struct msx_stack_key {
    uint64_t id;               /* per-thread id; 0: empty slot */
    uint32_t thread;
    uint32_t global;
} msx_stack_key;

struct msx_sym;

/* view_stacks.c. Global stacks s[0..n) have ids 1..n. A trace without STACK
 * records pays one branch per event (stack id 0). */
typedef struct msx_view_stacks {
    msx_reader *R;             /* problems go here (set once the reader exists) */
    struct msx_sym *sym;       /* told each MODULES record; NULL: none */
    uint32_t gen;              /* MODULES records taken so far */
    msx_gstack *s;
    uint32_t n, cap;
    uint64_t *pc;
    uint64_t npc, pc_cap;
    uint32_t *dedup;           /* by pcs hash: global id, 0: empty; at most half full */
    uint64_t dedup_cap;
    msx_stack_key *keys;
    uint64_t keys_n, keys_cap;
    uint64_t undefined;        /* events naming an id their thread never defined (so far) */
} msx_view_stacks;

/* Running figures of one site (view_sites.c). */
typedef struct msx_site_state {
    uint64_t alloc, bytes, live, peak_live, leaked_bytes, leaked_blocks, temporary;
    uint64_t snap_epoch, snap_bytes, snap_blocks;  /* live at the peak: valid iff snap_epoch == the peak's epoch */
} msx_site_state;

/* Its estimates, in a sampled trace (estimate.h). */
typedef struct msx_site_est {
    msx_est alloc, bytes, live, peak_live, leaked_bytes, leaked_blocks, temporary, snap;
} msx_site_est;

/* view_sites.c: s[0] is "no stack", s[g] global stack g. */
typedef struct msx_view_sites {
    msx_report *r;
    msx_view_stacks *stacks;
    const msx_view_peak *peak;   /* its epoch and peak index (this view runs before it) */
    const msx_view_sizes *sizes; /* was_temporary (this view runs after it) */
    bool on;                     /* the header asks for stacks, or a STACK record came */
    msx_sampling how;
    const struct msx_supp *supp; /* suppressions (NULL: none) */
    msx_site_state *s;
    msx_site_est *e;             /* NULL unless the trace is sampled */
    uint32_t cap;                /* entries of s (and e) */
} msx_view_sites;

/* view_estimates.c: sampled traces only. */
typedef struct msx_est_cell {
    msx_est allocs, bytes;      /* born: counts and bytes */
    msx_est live, blocks;       /* born less freed: bytes and blocks */
    msx_est peak;               /* the live estimate when it was highest */
    uint64_t peak_time;
} msx_est_cell;

typedef struct msx_est_task {
    uint64_t id;                /* 0: empty slot */
    msx_est_cell c;
} msx_est_task;

typedef struct msx_view_est {
    msx_report *r;
    msx_sampling how;           /* MSX_EXACT: the view does nothing */
    bool oom;
    msx_est_cell total;
    msx_est_cell *threads;      /* by thread index */
    uint32_t nthreads;
    msx_est_task *tasks;        /* open addressing by id */
    uint32_t ntasks, task_cap;
} msx_view_est;

/* view_pprof.c: one cell per (global stack, thread index, task). */
typedef struct msx_pp_state {
    uint32_t g, thread;
    uint64_t task;
    uint64_t alloc, bytes, live, live_blocks;
    uint64_t snap_epoch, snap_bytes, snap_blocks;  /* live at the peak: valid iff snap_epoch == the peak's epoch */
} msx_pp_state;

/* Its estimates, in a sampled trace. */
typedef struct msx_pp_est {
    msx_est alloc, bytes, live, live_blocks, snap, snap_blocks;
} msx_pp_est;

/* view_pprof.c. Cells c[0..n), indexed by slot[] (open addressing on the
 * triple, index + 1, at most half full); last: the cell of the previous event. */
typedef struct msx_view_pprof {
    bool on;                     /* the analysis asks for it */
    bool oom;                    /* a cell could not be made: no profile */
    msx_report *r;
    msx_view_stacks *stacks;
    const msx_view_peak *peak;   /* its epoch and peak index (this view runs before it) */
    const msx_view_tasks *tasks; /* the task current on an op's thread */
    msx_sampling how;
    msx_pp_state *c;
    msx_pp_est *e;               /* NULL unless the trace is sampled */
    uint32_t n, cap, last;
    uint32_t *slot;
    uint64_t slot_cap;
} msx_view_pprof;

/* view_counters.c: off unless the analysis is asked for counters. Series of
 * threads by thread index (key: serial, set at the first change), of tasks
 * in order of first sight (slot[]: open addressing by id, index + 1). */
typedef struct msx_view_counters {
    msx_report *r;
    bool on;
    unsigned shift;            /* intervals of 2^shift ns */
    uint64_t now;              /* latest time seen (the series stay in time order) */
    msx_cseries total, all_tasks;
    uint32_t nthreads;
    msx_cseries *th;           /* NULL until the first block event */
    msx_cseries *tk;
    uint32_t ntk, tk_cap;
    uint32_t *slot;
    uint64_t slot_cap;         /* power of two, 0 before the first task */
    int err;                   /* -ENOMEM once an allocation failed */
} msx_view_counters;

/* All views. */
typedef struct msx_views {
    msx_view_totals totals;
    msx_view_threads threads;
    msx_view_sizes sizes;
    msx_view_leaks leaks;
    msx_view_peak peak;
    msx_view_process process;
    msx_view_tasks tasks;
    msx_view_vars vars;
    msx_view_hybrid hybrid;
    msx_view_var_rows var_rows;
    msx_view_stacks stacks;
    msx_view_sites sites;
    msx_view_est est;
    struct msx_cuts *cuts;     /* NULL unless the analysis was asked for cuts (cuts.h) */
    msx_view_pprof pprof;
    msx_view_counters counters;
} msx_views;

/* -- the views' entry points (one file each) ------------------------------ */

int msx_view_totals_init(msx_view_totals *v, msx_report *r, const msx_reader *R);
void msx_view_totals_op(msx_view_totals *v, const msx_op_ev *e);
void msx_view_totals_block(msx_view_totals *v, const msx_block_ev *e);
int msx_view_totals_control(msx_view_totals *v, const msx_ctl_ev *e);
void msx_view_totals_finish(msx_view_totals *v, uint64_t end);

int msx_view_threads_init(msx_view_threads *v, msx_report *r, const msx_reader *R);
void msx_view_threads_op(msx_view_threads *v, const msx_op_ev *e);
void msx_view_threads_block(msx_view_threads *v, const msx_block_ev *e);
int msx_view_threads_control(msx_view_threads *v, const msx_ctl_ev *e);
void msx_view_threads_finish(msx_view_threads *v);
void msx_view_threads_free(msx_view_threads *v);

int msx_view_sizes_init(msx_view_sizes *v, msx_report *r);
void msx_view_sizes_op(msx_view_sizes *v, const msx_op_ev *e);
void msx_view_sizes_block(msx_view_sizes *v, const msx_block_ev *e);
void msx_view_sizes_free(msx_view_sizes *v);

void msx_view_leaks_init(msx_view_leaks *v, msx_report *r);
void msx_view_leaks_block(msx_view_leaks *v, const msx_block_ev *e);
void msx_view_leaks_finish(msx_view_leaks *v);

int msx_view_peak_init(msx_view_peak *v, msx_report *r);
void msx_view_peak_block(msx_view_peak *v, const msx_block_ev *e);
void msx_view_peak_finish(msx_view_peak *v);
void msx_view_peak_free(msx_view_peak *v);

int msx_view_tasks_init(msx_view_tasks *v, msx_report *r, const msx_reader *R);
void msx_view_tasks_op(msx_view_tasks *v, const msx_op_ev *e);
void msx_view_tasks_block(msx_view_tasks *v, const msx_block_ev *e);
int msx_view_tasks_control(msx_view_tasks *v, const msx_ctl_ev *e);
int msx_view_tasks_finish(msx_view_tasks *v);
void msx_view_tasks_free(msx_view_tasks *v);

void msx_view_vars_init(msx_view_vars *v, msx_report *r);
void msx_view_vars_block(msx_view_vars *v, const msx_block_ev *e);
int msx_view_vars_finish(msx_view_vars *v);
void msx_view_vars_free(msx_view_vars *v);

void msx_view_hybrid_init(msx_view_hybrid *v, msx_report *r, const msx_reader *R);
void msx_view_hybrid_op(msx_view_hybrid *v, const msx_op_ev *e);
void msx_view_hybrid_task_block(msx_view_hybrid *v, const msx_block_ev *e);
void msx_view_hybrid_var_block(msx_view_hybrid *v, const msx_block_ev *e);
int msx_view_hybrid_control(msx_view_hybrid *v, const msx_ctl_ev *e);
int msx_view_hybrid_finish(msx_view_hybrid *v);  /* after the threads and tasks are final */
void msx_view_hybrid_free(msx_view_hybrid *v);

void msx_view_process_init(msx_view_process *v, msx_report *r, const msx_reader *R);
void msx_view_var_rows_init(msx_view_var_rows *v, msx_report *r);
void msx_view_var_rows_block(msx_view_var_rows *v, const msx_block_ev *e);
int msx_view_var_rows_control(msx_view_var_rows *v, const msx_ctl_ev *e);
int msx_view_var_rows_finish(msx_view_var_rows *v);
void msx_view_var_rows_free(msx_view_var_rows *v);

int msx_view_process_control(msx_view_process *v, const msx_ctl_ev *e);
void msx_view_process_finish(msx_view_process *v);
void msx_view_process_free(msx_view_process *v);

int msx_view_est_init(msx_view_est *v, msx_report *r);
void msx_view_est_block(msx_view_est *v, const msx_block_ev *e);
/* Puts the estimates in place; after tasks' finish, before threads'. */
int msx_view_est_finish(msx_view_est *v);
void msx_view_est_free(msx_view_est *v);
/* The estimates of task id so far, NULL if none. */
const msx_est_cell *msx_view_est_task(const msx_view_est *v, uint64_t id);
void msx_view_counters_init(msx_view_counters *v, msx_report *r, const msx_reader *R);
void msx_view_counters_block(msx_view_counters *v, const msx_block_ev *e);
int msx_view_counters_finish(msx_view_counters *v);  /* moves the series to r->counters */
void msx_view_counters_free(msx_view_counters *v);
void msx_view_stacks_init(msx_view_stacks *v);
int msx_view_stacks_control(msx_view_stacks *v, const msx_ctl_ev *e);
void msx_view_stacks_finish(msx_view_stacks *v);
void msx_view_stacks_free(msx_view_stacks *v);
/* The global id of thread index `thread`'s stack id (0: none or undefined). */
uint32_t msx_view_stacks_lookup(msx_view_stacks *v, uint32_t thread, uint64_t id);
/* The pcs of global stack g (1..n); *n receives their count. */
const uint64_t *msx_view_stacks_pcs(const msx_view_stacks *v, uint32_t g, uint32_t *n, uint32_t *gen);

int msx_view_sites_init(msx_view_sites *v, msx_report *r);
/* Makes room for the global stacks defined so far. Returns 0 or -ENOMEM. */
int msx_view_sites_grow(msx_view_sites *v);
void msx_view_sites_op(msx_view_sites *v, const msx_op_ev *e);
void msx_view_sites_block(msx_view_sites *v, const msx_block_ev *e);
int msx_view_sites_finish(msx_view_sites *v);  /* after the peak's finish (sites.c) */
void msx_view_sites_free(msx_view_sites *v);

/* view_cuts.c: takes the cuts whose time is before `time` (from the
 * dispatch, before any view sees the event); at the finish, the rest. */
void msx_view_cuts_take(msx_views *V, uint64_t time);
int msx_view_cuts_finish(msx_views *V, uint64_t end);
int msx_view_pprof_init(msx_view_pprof *v, msx_report *r);
void msx_view_pprof_op(msx_view_pprof *v, const msx_op_ev *e);
void msx_view_pprof_block(msx_view_pprof *v, const msx_block_ev *e);
int msx_view_pprof_finish(msx_view_pprof *v);  /* after the sites' finish, before the tasks' */
void msx_view_pprof_free(msx_view_pprof *v);

/* -- dispatch (views.c, and inline for the hot events) -------------------- */

/* Sets up every view for the threads and times of an open, scanned reader;
 * r->threads is allocated here. Returns 0 or -ENOMEM. */
int msx_views_init(msx_views *V, msx_report *r, const msx_reader *R);
/* Hands a control event to every view. Returns 0 or -ENOMEM. */
int msx_views_control(msx_views *V, const msx_ctl_ev *e);
/* Completes every view's part of the report; end: the trace's duration.
 * Returns 0 or -ENOMEM. */
int msx_views_finish(msx_views *V, uint64_t end);
/* Frees the views' own memory (not the report). */
void msx_views_free(msx_views *V);

/* Hands an op event to the views that count events. */
static inline void msx_views_op(msx_views *V, const msx_op_ev *e)
{
    if (__builtin_expect(V->cuts != NULL, 0))
        msx_view_cuts_take(V, e->time);
    msx_view_totals_op(&V->totals, e);
    msx_view_threads_op(&V->threads, e);
    msx_view_sizes_op(&V->sizes, e);
    if (__builtin_expect(V->sites.on, 0))
        msx_view_sites_op(&V->sites, e);
    if (__builtin_expect(V->pprof.on, 0))
        msx_view_pprof_op(&V->pprof, e);
    if (__builtin_expect(V->tasks.cur != NULL, 0) && V->tasks.cur[e->actor]) {
        msx_view_tasks_op(&V->tasks, e);
        msx_view_hybrid_op(&V->hybrid, e);
    }
}

/* Hands a block event to every view that follows blocks. */
static inline void msx_views_block(msx_views *V, const msx_block_ev *e)
{
    if (__builtin_expect(V->cuts != NULL, 0))
        msx_view_cuts_take(V, e->time);
    msx_view_totals_block(&V->totals, e);
    msx_view_threads_block(&V->threads, e);
    msx_view_sizes_block(&V->sizes, e);
    if (__builtin_expect(V->sites.on, 0))
        msx_view_sites_block(&V->sites, e);  /* before the peak: a resize's old block is the old peak's */
    if (__builtin_expect(V->pprof.on, 0))
        msx_view_pprof_block(&V->pprof, e);  /* before the peak too */
    msx_view_peak_block(&V->peak, e);
    if (__builtin_expect(V->tasks.cur != NULL, 0)) {
        msx_view_tasks_block(&V->tasks, e);
        msx_view_hybrid_task_block(&V->hybrid, e);
    }
    if (e->kind == MSX_BEV_SURVIVED)
        msx_view_leaks_block(&V->leaks, e);
    if (__builtin_expect(V->est.how != MSX_EXACT, 0))
        msx_view_est_block(&V->est, e);
    if (__builtin_expect(V->vars.n != 0 || e->kind == MSX_BEV_LABELED, 0)) {
        msx_view_vars_block(&V->vars, e);
        msx_view_hybrid_var_block(&V->hybrid, e);
        msx_view_var_rows_block(&V->var_rows, e);
    }
    if (__builtin_expect(V->counters.on, 0))
        msx_view_counters_block(&V->counters, e);
}

#endif /* MSX_VIEWS_H */
