/* The analysis result: everything a report (JSON, HTML, archive, terminal
 * summary) shows. msx_analyze_trace fills it from a trace, msx_read_archive
 * from an archive; the renderers only read it. Its size is bounded by the
 * number of threads and the fixed limits below, never by the number of events. */
#ifndef MSX_REPORT_H
#define MSX_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSX_SCHEMA_VERSION 1

enum {
    MSX_HIST_BUCKETS = 65,   /* log2 classes: 0, [1,2), [2,4), ..., [2^63, 2^64) */
    MSX_TIMELINE_POINTS = 512,
    MSX_MAX_LEAKS = 100,     /* largest leaked blocks listed */
    MSX_MAX_PEAK_BLOCKS = 20,/* largest blocks listed in the peak snapshot */
    MSX_MAX_ANOMALIES = 100, /* anomalies listed (all are counted) */
    MSX_MAX_PROBLEMS = 64,   /* damage messages kept (all are counted) */
    MSX_MAX_METRICS = 16,    /* METRIC names kept */
    MSX_METRIC_POINTS = 512, /* METRIC samples kept in the metrics timeline */
    MSX_METRIC_KEYS = 10,    /* process-wide METRIC keys the timeline follows (msx_metric_key_names) */
    MSX_MAX_TASKS = 1000,    /* tasks listed, those with most bytes allocated (all are counted) */
    MSX_MAX_VARS = 1000,     /* variables listed, those with the highest peak (all are counted) */
    MSX_MAX_VAR_ROWS = 1000, /* tracked variables listed, the first labelled (all are counted) */
    MSX_MAX_SNAPS = 10000,   /* runtime snapshots reported, the first by id (all are counted) */
    MSX_MAX_SNAP_TASKS = 64, /* tasks listed per snapshot, those with most live bytes */
    MSX_TASK_THREADS = 32,   /* threads listed per task (all are counted) */
    MSX_HYBRID_THREADS = 32, /* hybrid matrix rows and lanes: the threads that allocated most (the rest: one row) */
    MSX_HYBRID_TASKS = 128,  /* hybrid matrix columns besides "no task": the tasks that allocated most (the rest: one) */
    MSX_HYBRID_SPANS = 256,  /* task spans kept per lane: the first ones (the rest are counted) */
    MSX_HYBRID_VAR_ROWS = 1000, /* rows of variables by thread, by task: the lowest ids (the rest are counted) */
    MSX_MAX_SITES = 1000,    /* sites listed besides the leaking ones: most bytes allocated (JSON) */
    MSX_MAX_FUNCTIONS = 1000,/* functions listed besides the leaking ones: most bytes allocated (JSON) */
    MSX_MAX_PEAK_SITES = 20, /* sites listed in the peak snapshot: most bytes held at the peak */
    MSX_MAX_FRAMES = 128,    /* pcs kept per STACK record (the rest are cut, and reported) */
    MSX_COUNTER_POINTS = 1024, /* intervals of the counter series (msx_counters) */
    MSX_COUNTER_SERIES = 32, /* thread and task counter series listed, each (the rest: one "other") */
};

/* A byte string copied from the trace: raw bytes, any content, NUL-terminated
 * for convenience (the terminator is not counted in n). */
typedef struct msx_str {
    char *p;
    uint32_t n;
} msx_str;

/* One log2 size or lifetime class. */
typedef struct msx_bucket {
    uint64_t count;
    uint64_t bytes;
} msx_bucket;

/* One timeline point, covering [time_ns, time_ns + timeline_bucket_ns). */
typedef struct msx_point {
    uint64_t time_ns;
    uint64_t live_bytes;      /* live bytes after the last event of the interval */
    uint64_t max_live_bytes;  /* highest live bytes within the interval */
    uint64_t allocations;     /* ALLOC, ALLOC_EX and REALLOC events in it */
    uint64_t frees;           /* FREE events in it */
} msx_point;

/* A heap block, as listed among leaks and the peak's largest blocks. */
typedef struct msx_block {
    uint64_t addr;
    uint64_t size;
    uint64_t time_ns;  /* when the block was allocated */
    uint32_t thread;   /* memscope thread id (serial) of the allocating thread */
    uint32_t site;     /* id of its call-stack site (msx_site_report), 0: no stack */
} msx_block;

typedef enum msx_anomaly_kind {
    MSX_ANOM_UNKNOWN_FREE,     /* FREE of an address that holds no block */
    MSX_ANOM_DOUBLE_FREE,      /* FREE of an address whose block was already freed */
    MSX_ANOM_UNKNOWN_REALLOC,  /* REALLOC of an address that holds no block */
    MSX_ANOM_LIVE_ALLOC,       /* allocation at an address that holds a live block */
    MSX_ANOM_KINDS
} msx_anomaly_kind;

/* One listed anomaly. */
typedef struct msx_anomaly {
    msx_anomaly_kind kind;
    uint32_t thread;     /* memscope thread id of the event */
    uint64_t time_ns;
    uint64_t addr;
    uint64_t event;      /* the thread's event number (FORMAT.md) */
} msx_anomaly;

/* In a sampled trace (view_estimates.c), the 95% intervals of the figures
 * that summary, threads[] and tasks[] then give as estimates. */
enum {
    MSX_EST_ALLOCATIONS,
    MSX_EST_BYTES_ALLOCATED,
    MSX_EST_LIVE_BYTES,      /* at the end (summary: leaked_bytes) */
    MSX_EST_LEAKED_BLOCKS,   /* blocks live at the end */
    MSX_EST_PEAK_LIVE_BYTES, /* the highest estimated live bytes, and its interval then */
    MSX_EST_FIGS
};
extern const char *const msx_est_names[MSX_EST_FIGS]; /* their JSON names (summary: see json.c) */
typedef struct msx_est_ci {
    double lo[MSX_EST_FIGS], hi[MSX_EST_FIGS];
} msx_est_ci;

/* Per-thread results. */
typedef struct msx_thread_report {
    uint32_t id;                 /* memscope serial, 1, 2, ... */
    uint64_t tid;                /* kernel thread id */
    msx_str name;                /* last name seen (THREAD_EXIT wins) */
    bool exited;                 /* a chunk flag or THREAD_EXIT said it ended */
    uint64_t events;
    uint64_t allocations;
    uint64_t frees;
    uint64_t reallocs;
    uint64_t bytes_allocated;    /* ALLOC sizes plus REALLOC new sizes */
    uint64_t bytes_freed;        /* sizes of the blocks it freed (known blocks) */
    uint64_t live_bytes;         /* bytes of blocks it allocated, live at the end */
    uint64_t leaked_blocks;      /* blocks it allocated, live at the end */
    uint64_t peak_live_bytes;    /* highest live bytes of blocks it allocated */
    uint64_t peak_time_ns;
    uint64_t cross_thread_frees; /* FREEs of blocks another thread allocated */
    uint64_t temporary;          /* temporary allocations (see docs/JSON.md) */
    uint64_t dropped_events;     /* from its DROPPED records */
    uint64_t first_time_ns;
    uint64_t last_time_ns;
    msx_est_ci est;              /* sampled traces: the intervals of its estimates */
    uint64_t peak_snapshot_blocks;  /* its blocks live at the process peak */
    uint64_t peak_snapshot_bytes;
} msx_thread_report;

/* Per-task results (view_tasks.c). A task's blocks are those born while it
 * was current on their thread, whichever thread frees them. */
typedef struct msx_task_report {
    uint64_t id;                 /* > 0 */
    uint64_t parent;             /* TASK_CREATE's parent (0: none, or no TASK_CREATE) */
    msx_str name;                /* TASK_CREATE's name (empty without one) */
    bool ended;                  /* a TASK_END was seen */
    uint64_t allocations;        /* ALLOC events while it was current */
    uint64_t reallocs;           /* REALLOC events while it was current */
    uint64_t bytes_allocated;    /* ALLOC sizes plus REALLOC new sizes */
    uint64_t frees;              /* FREEs of its blocks (any thread, any task) */
    uint64_t cross_thread_frees; /* of those, by a thread other than the allocating one */
    uint64_t live_bytes;         /* bytes of its blocks live at the end */
    uint64_t peak_live_bytes;    /* highest live bytes of its blocks */
    uint64_t peak_time_ns;
    uint64_t first_time_ns;      /* creation, first entry or first event, the earliest */
    uint64_t last_time_ns;       /* end, last leave or last event, the latest */
    uint32_t nthreads;           /* threads it was current on */
    uint32_t nlisted;            /* threads[] used: min(nthreads, MSX_TASK_THREADS) */
    uint32_t threads[MSX_TASK_THREADS]; /* their serials, ascending (the first seen) */
    msx_est_ci est;              /* sampled traces: the intervals of its estimates */
} msx_task_report;

/* Per-variable results (view_vars.c): the blocks a VAR record labelled with
 * this name, type, file and line, and what became of them. A realloc keeps a
 * block's label; a later label of a labelled block moves it to the new one. */
typedef struct msx_var_report {
    msx_str name, type, file;    /* empty if the record lacked them */
    uint64_t line;
    uint64_t blocks;             /* blocks labelled */
    uint64_t bytes_labelled;     /* their sizes when labelled */
    uint64_t reallocs;           /* reallocs of its blocks, in place or moving */
    uint64_t frees;              /* its blocks freed */
    uint64_t lifetime_ns_total;  /* birth (the allocation) to free, summed over those */
    uint64_t live_blocks;        /* its blocks live at the end */
    uint64_t live_bytes;
    uint64_t peak_live_bytes;    /* highest live bytes of its blocks */
    uint64_t peak_time_ns;
    uint64_t first_time_ns;      /* first labelled */
    uint64_t last_time_ns;       /* its last event */
} msx_var_report;

/* A runtime snapshot (SNAPSHOT record, view_snaps.c): what was live at its
 * cut, computed from the trace as memscope_snapshot_take computed it in the
 * program. */
typedef struct msx_snap_task {
    uint64_t id, live_bytes;
} msx_snap_task;

typedef struct msx_snap_report {
    uint64_t id, time_ns;
    uint64_t live_bytes;         /* blocks allocated in the cut and not freed in it */
    uint64_t active_tasks;       /* created in the cut and not ended in it */
    uint32_t ntasks;             /* tasks with live bytes (the MSX_MAX_SNAP_TASKS most), by id */
    msx_snap_task *tasks;
    uint64_t tasks_omitted;
} msx_snap_report;
/* The hybrid view (view_hybrid.c): threads, tasks and variables joined.
 * One cell of the thread x task matrix: what a thread did while a task was
 * current on it (task 0: none). */
typedef struct msx_hybrid_cell {
    uint64_t allocations;        /* ALLOC and REALLOC events */
    uint64_t bytes;              /* their sizes (new sizes for reallocs) */
    uint64_t live_bytes;         /* of the blocks born there, live at the end */
} msx_hybrid_cell;

/* A task current on a thread over [start_ns, end_ns). */
typedef struct msx_hybrid_span {
    uint64_t task, start_ns, end_ns;
} msx_hybrid_span;

/* One thread's task spans, in time order. */
typedef struct msx_hybrid_lane {
    uint32_t thread;             /* serial */
    uint32_t nspans;             /* at most MSX_HYBRID_SPANS: the first ones */
    uint64_t spans_omitted;      /* its later spans */
    msx_hybrid_span *spans;
} msx_hybrid_lane;

/* Labelled blocks of one thread (by allocating thread) or one task (the
 * task their block was born in; 0: none). */
typedef struct msx_hybrid_vars {
    uint64_t id;                 /* thread serial, or task id */
    uint64_t variables;          /* distinct labels its blocks carried */
    uint64_t blocks;             /* labellings (as variables[].blocks counts them) */
    uint64_t bytes_labelled;
    uint64_t live_blocks;        /* its labelled blocks live at the end */
    uint64_t live_bytes;
} msx_hybrid_vars;

typedef struct msx_hybrid_report {
    uint32_t nrows;              /* listed threads, by id */
    uint32_t rows[MSX_HYBRID_THREADS];
    uint64_t rows_other;         /* threads folded into one more row (0: no such row) */
    uint32_t ncols;              /* listed tasks, by id; cols[0] is 0, "no task" */
    uint64_t cols[MSX_HYBRID_TASKS + 1];
    uint64_t cols_other;         /* tasks folded into one more column (0: no such column) */
    msx_hybrid_cell *cells;      /* row-major, (nrows + (rows_other > 0)) x (ncols + (cols_other > 0)) */
    uint32_t nlanes;             /* the listed threads that ran a task, by id */
    msx_hybrid_lane lanes[MSX_HYBRID_THREADS];
    uint64_t lanes_omitted;      /* threads that ran a task and have no lane */
    uint64_t lane_spans_omitted; /* their spans */
    uint32_t nby_thread, nby_task;
    msx_hybrid_vars *by_thread;  /* threads with labelled blocks, by serial */
    msx_hybrid_vars *by_task;    /* tasks with labelled blocks, by id */
    uint64_t by_thread_omitted, by_task_omitted;
} msx_hybrid_report;

/* Rows and columns of the hybrid matrix. */
static inline uint32_t msx_hybrid_nrows(const msx_hybrid_report *h) { return h->nrows + (h->rows_other > 0); }
static inline uint32_t msx_hybrid_ncols(const msx_hybrid_report *h) { return h->ncols + (h->cols_other > 0); }
/* One tracked variable (view_var_rows.c): a VAR record that took effect,
 * followed to its end. With `heap`, the record labelled a live heap block
 * and the row follows that block (a realloc keeps it) until it is freed,
 * labelled again, or still live at the end (leaked); without, a named value
 * of `size` bytes that lives on no heap block. */
typedef struct msx_var_row {
    msx_str name, type, file;    /* the label's; empty if the record lacked them */
    uint64_t line;
    msx_str scope;               /* name of the scope (SCOPE_ENTER) it was born in, "" if none */
    uint64_t scope_id;           /* that scope's id on its thread, 0 if none */
    bool heap;
    uint64_t addr;               /* heap: the block's address when labelled */
    uint64_t size;               /* heap: the block's size at its end; else the value's size */
    uint32_t thread;             /* serial of the thread that allocated the block (value: recorded it) */
    uint64_t task;               /* the block's task (value: its thread's task then), 0: none */
    uint64_t alloc_time_ns;      /* heap: the allocation that started the block; else the record's time */
    uint64_t label_time_ns;      /* the VAR record's time */
    uint64_t reallocs;           /* reallocs of its block while labelled */
    bool freed;                  /* heap: freed; free_time_ns is then the free's time */
    uint64_t free_time_ns;
    bool relabelled;             /* heap: labelled again (end_time_ns: then); the new label has a row */
    uint64_t end_time_ns;        /* relabelled: the time of the new label */
    bool leaked;                 /* heap: live at the end of the trace */
} msx_var_row;

/* Call-stack sites (view_stacks.c, view_sites.c, sites.c). A site is one
 * distinct call stack (its pcs, deduplicated across threads); its figures
 * count the events and blocks whose ALLOC_EX / REALLOC_EX named it. */
typedef enum msx_site_fig {
    MSX_SF_ALLOCATIONS,      /* ALLOC and REALLOC events */
    MSX_SF_BYTES_ALLOCATED,  /* ALLOC sizes plus REALLOC new sizes */
    MSX_SF_LIVE_BYTES,       /* bytes of its blocks live at the end */
    MSX_SF_PEAK_LIVE_BYTES,  /* highest live bytes of its own blocks */
    MSX_SF_PEAK_BYTES,       /* bytes of its blocks live at the process peak */
    MSX_SF_LEAKED_BYTES,     /* = live_bytes: live at the end */
    MSX_SF_LEAKED_BLOCKS,
    MSX_SF_TEMPORARY,        /* temporary allocations (docs/JSON.md) */
    MSX_SITE_FIGS
} msx_site_fig;

/* Names of the figures as written in JSON, in msx_site_fig order. */
extern const char *const msx_site_fig_names[MSX_SITE_FIGS];

/* One frame of a symbolized stack. Strings are indices + 1 into
 * r->strings (0: unknown, null in JSON). */
typedef struct msx_site_frame {
    uint64_t pc;                 /* the recorded return address */
    uint64_t offset;             /* pc - 1 in the module's file addresses (module known) */
    uint32_t function, file, module;
    uint32_t line;               /* 0: unknown */
    bool inlined;                /* an inlined call inside the next frame */
} msx_site_frame;

/* Figures with, in a sampled trace, the 95% interval of each. */
typedef struct msx_site_figs {
    uint64_t v[MSX_SITE_FIGS];   /* exact, or the estimate rounded (sampled) */
    double lo[MSX_SITE_FIGS], hi[MSX_SITE_FIGS]; /* sampled traces only */
} msx_site_figs;

typedef struct msx_site_report {
    uint32_t id;                 /* 1, 2, ... in order of first definition */
    uint32_t nframes;            /* innermost first, inlined frames expanded */
    msx_site_frame *frames;
    uint32_t frame;              /* index of the site's own frame (the innermost not of the runtime) */
    bool runtime;                /* an allocation of the C/C++ runtime itself (docs/JSON.md) */
    bool suppressed;             /* matched by the suppressions */
    msx_site_figs f;
    uint64_t peak_blocks;        /* its blocks live at the process peak */
} msx_site_report;

/* All sites whose own frame is the same function, file, line and module. */
typedef struct msx_function_report {
    msx_site_frame at;           /* that frame (pc, inlined: of the first site) */
    msx_site_figs f;             /* its sites' figures summed (intervals: variances summed) */
    uint32_t nsites;
    uint32_t *sites;             /* their ids, ascending */
} msx_function_report;

/* A site in the peak snapshot. */
typedef struct msx_peak_site {
    uint32_t site;
    uint64_t bytes, blocks;
} msx_peak_site;

/* A METRIC value: the last one seen and the highest. */
typedef struct msx_metric {
    msx_str name;
    uint64_t last;
    uint64_t max;
} msx_metric;

/* One thread's CPU time in a METRIC sample. */
typedef struct msx_cpu {
    uint64_t tid;              /* kernel thread id */
    uint64_t cpu_ns;           /* user plus system CPU time so far */
} msx_cpu;

/* One METRIC sample of the metrics timeline: the values as recorded. */
typedef struct msx_metric_point {
    uint64_t time_ns;          /* the record's time */
    uint32_t have;             /* bit k: v[k] was in the record (msx_metric_key_names[k]) */
    uint64_t v[MSX_METRIC_KEYS];
    bool has_threads;          /* the record held "threads" */
    uint32_t nthreads;
    msx_cpu *threads;          /* nthreads entries, owned */
} msx_metric_point;

/* The METRIC keys of msx_metric_point.v, in order: rss, minflt, majflt,
 * read_bytes, write_bytes, allocated, active, resident, retained, mapped. */
extern const char *const msx_metric_key_names[MSX_METRIC_KEYS];

/* Counter series of live bytes (view_counters.c, only when the analysis is
 * asked for them: msx_analyze_opts.counters). Time is cut into intervals of
 * interval_ns (at most MSX_COUNTER_POINTS, doubled as the trace grows, as the
 * timeline's); each interval in which the series changed keeps its highest
 * value and its last one, with their times, so the series' highest value and
 * its value at the end are exact. */
typedef struct msx_cpoint {
    uint64_t idx;                /* interval index at interval_ns */
    uint64_t t_max, max;         /* highest value in the interval, and when (the first time) */
    uint64_t t_last, last;       /* value after its last change in the interval, and when */
} msx_cpoint;

typedef struct msx_cseries {
    uint64_t key;                /* thread serial or task id (0: the total or the "other" series) */
    uint64_t peak, peak_time_ns; /* highest value */
    uint64_t live;               /* value at the end */
    uint32_t n, cap;
    msx_cpoint *p;               /* intervals with a change, in time order */
} msx_cseries;

typedef struct msx_counters {
    uint64_t interval_ns;
    msx_cseries total;           /* live bytes of all blocks */
    uint32_t nthreads;           /* the MSX_COUNTER_SERIES threads with the highest peak, by serial */
    msx_cseries *threads;
    uint32_t threads_folded;     /* threads not listed (their sum: thread_other, last values only) */
    msx_cseries thread_other;
    uint32_t ntasks;             /* the MSX_COUNTER_SERIES tasks with the highest peak, by id */
    msx_cseries *tasks;
    uint64_t tasks_folded;       /* tasks with blocks not listed (their sum: task_other, last values only) */
    msx_cseries task_other;
} msx_counters;

typedef struct msx_report {
    /* -- source -- */
    msx_str file;              /* path of the trace (or archive) read */
    uint32_t format_version;   /* trace format version */
    uint32_t chunk_size;
    uint64_t chunks;           /* chunks decoded */
    uint64_t empty_slots;      /* slots reserved but never written */
    uint64_t damaged_chunks;   /* chunks skipped or cut short by damage */
    uint64_t lost_events;      /* events known missing from first_event gaps */
    bool complete;             /* the process reached its exit flush */
    uint32_t end_how;          /* how it ended: MSF_END_* (0: unknown, killed or running) */
    uint64_t problems_total;
    uint32_t nproblems;
    msx_str problems[MSX_MAX_PROBLEMS];

    /* -- summary -- */
    uint64_t events;
    uint64_t stream_bytes;     /* file header + chunk headers + committed payload used */
    uint64_t allocations;
    uint64_t frees;
    uint64_t reallocs;
    uint64_t bytes_allocated;
    uint64_t bytes_freed;
    uint64_t peak_live_bytes;
    uint64_t peak_time_ns;
    uint64_t leaked_bytes;
    uint64_t leaked_blocks;
    uint64_t tasks;            /* distinct non-zero task ids */
    uint64_t dropped_events;   /* max(header count, sum of DROPPED records) */
    uint64_t dropped_header;
    uint64_t dropped_records;
    uint64_t lost_control_records; /* control records the writer could not write (v2 header) */
    uint64_t duration_ns;
    uint64_t temporary;
    msx_est_ci est;            /* sampled traces: the summary's intervals */

    /* -- process -- */
    uint64_t pid;
    uint64_t ppid;
    uint64_t start_realtime_ns;
    bool forked;               /* a FORK record: this file is a forked child's */
    uint64_t parent_pid;
    msx_str exe;
    uint32_t nargv;
    msx_str *argv;
    uint32_t nconfig;
    msx_str *config;           /* 2 * nconfig: name, value, name, value, ... */
    uint32_t nmetrics;
    msx_metric metrics[MSX_MAX_METRICS];
    /* -- metrics timeline: at most one sample (the latest) per interval of
     *    metrics_bucket_ns, in time order (view_process.c) -- */
    uint64_t metric_samples;   /* METRIC records seen */
    uint32_t nmpoints;
    msx_metric_point mpoints[MSX_METRIC_POINTS];

    /* -- threads, ordered by id -- */
    uint32_t nthreads;
    msx_thread_report *threads;

    /* -- tasks, ordered by id (the MSX_MAX_TASKS with most bytes allocated) -- */
    uint32_t ntasklist;
    msx_task_report *tasklist;
    uint64_t tasks_omitted;    /* tasks - ntasklist */

    /* -- variables, highest peak first (the MSX_MAX_VARS highest) -- */
    uint32_t nvars;
    msx_var_report *vars;
    uint64_t vars_omitted;
    /* -- tracked variables, in the order they were labelled (the first MSX_MAX_VAR_ROWS) -- */
    uint32_t nvar_rows;
    msx_var_row *var_rows;
    uint64_t var_rows_omitted;

    /* -- runtime snapshots, by id (the first MSX_MAX_SNAPS) -- */
    uint32_t nsnaps;
    msx_snap_report *snaps;
    uint64_t snaps_omitted;

    /* -- timeline -- */
    uint64_t timeline_bucket_ns;
    uint32_t npoints;
    msx_point timeline[MSX_TIMELINE_POINTS];

    /* -- histograms: index 0 is size/lifetime 0, index k >= 1 is [2^(k-1), 2^k) -- */
    msx_bucket size_hist[MSX_HIST_BUCKETS];
    msx_bucket lifetime_hist[MSX_HIST_BUCKETS];  /* freed blocks; bytes = their sizes */

    /* -- leaks: blocks live at the end, largest first -- */
    uint32_t nleaks;
    msx_block leaks[MSX_MAX_LEAKS];

    /* -- peak snapshot: what was live at peak_time_ns -- */
    uint64_t peak_blocks;
    msx_bucket peak_by_size[MSX_HIST_BUCKETS];
    uint32_t npeak_largest;
    msx_block peak_largest[MSX_MAX_PEAK_BLOCKS];

    /* -- anomalies -- */
    uint64_t anomaly_counts[MSX_ANOM_KINDS];
    uint64_t inherited_frees;     /* unknown FREEs in a forked child */
    uint64_t inherited_reallocs;  /* unknown REALLOCs in a forked child */
    uint64_t forced_merges;       /* times every thread waited and the earliest was forced on */
    uint32_t nanomalies;
    msx_anomaly anomalies[MSX_MAX_ANOMALIES];

    /* -- hybrid: threads x tasks, task spans, variables by thread and task -- */
    msx_hybrid_report hybrid;

    /* -- sampling, from the file header -- */
    uint32_t sampling;           /* msx_sampling (estimate.h): 0 exact, 1 bytes, 2 rate */
    uint64_t sample_bytes, sample_rate, sample_seed;

    /* -- call-stack sites: every site, most bytes allocated first (then by
     *    id); functions likewise. The JSON lists the leaking ones and the
     *    MSX_MAX_SITES / MSX_MAX_FUNCTIONS others with most bytes. -- */
    uint32_t nsites;
    msx_site_report *sites;
    uint32_t nfunctions;
    msx_function_report *functions;
    uint32_t nstrings;
    msx_str *strings;            /* function, file and module names of the frames */
    msx_site_figs nostack;       /* figures of the events without a stack */
    uint64_t leaked_program_bytes, leaked_program_blocks;       /* sites neither runtime nor suppressed */
    uint64_t leaked_runtime_bytes, leaked_runtime_blocks;       /* runtime sites */
    uint64_t leaked_suppressed_bytes, leaked_suppressed_blocks; /* suppressed sites not runtime */
    uint32_t npeak_sites;        /* sites holding most bytes at the peak, most first */
    msx_peak_site peak_sites[MSX_MAX_PEAK_SITES];

    /* -- pprof figures per (site, thread, task) (pprof.h); NULL unless the
     *    analysis asked for them (msx_analyze_opts.pprof) -- */
    struct msx_pprof_report *pprof;
    /* -- counter series for the Chrome trace (NULL: not asked for, or an archive) -- */
    msx_counters *counters;
} msx_report;

/* The string of index + 1 `i` of r->strings, NULL for 0 or out of range. */
static inline const msx_str *msx_report_string(const msx_report *r, uint32_t i)
{
    return i && i <= r->nstrings ? &r->strings[i - 1] : NULL;
}

/* Frees counter series (view_counters.c). NULL is fine. */
void msx_counters_free(msx_counters *c);

/* Frees everything a report owns, including the report itself. NULL is fine. */
void msx_report_free(msx_report *r);

/* Name of an ending as written in reports ("exit", "_exit", "exec"), or NULL
 * for an unknown one. */
const char *msx_ending_name(uint32_t how);

/* Name of an anomaly kind as written in JSON ("unknown_free", ...). */
const char *msx_anomaly_name(msx_anomaly_kind k);

/* Copies n bytes into a fresh NUL-terminated msx_str. Returns 0 or -ENOMEM. */
int msx_str_set(msx_str *s, const void *p, size_t n);

/* Index of the log2 class of v: 0 for 0, else 64 - clz(v). */
static inline unsigned msx_log2_class(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}

/* Smallest and largest value of log2 class k. */
static inline uint64_t msx_class_min(unsigned k)
{
    return k ? (uint64_t)1 << (k - 1) : 0;
}

static inline uint64_t msx_class_max(unsigned k)
{
    return k == 0 ? 0 : k == 64 ? UINT64_MAX : ((uint64_t)1 << k) - 1;
}

#endif /* MSX_REPORT_H */
