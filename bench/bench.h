/* Private header of memscope-bench (bench/): the tables of modes and
 * workloads, what a run measures, and the functions the three files share.
 * Internal names start with bench_; each is listed under the file that
 * defines it:
 *   bench.c    the driver: command line, temporary directory, signals, helpers
 *   launch.c   the modes and workloads, and running one measurement in a process
 *   results.c  aggregating runs into rows, the export timing, the table, the
 *              targets and the JSON output */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

/* The allocators a mode can run on. */
typedef enum alloc_kind { ALLOC_GLIBC, ALLOC_JEMALLOC, ALLOC_MEMSCOPE, ALLOC_KINDS } alloc_kind_t;

/* How each allocator is put under a workload: the worker executable linked
 * with it, and the library to LD_PRELOAD into a program ("" = none needed).
 * An empty worker path means that worker is not built. */
typedef struct alloc_desc {
    const char *worker;
    const char *preload;
} alloc_desc_t;

/* A mode: one way of running a workload. Adding a mode is one line in
 * bench_modes[] (launch.c) and one more in MODE_COUNT. */
typedef struct bench_mode {
    const char *name;
    alloc_kind_t alloc;   /* the allocator underneath */
    const char *env;      /* space-separated NAME=VALUE settings, or NULL */
    bool heaptrack;       /* run under `heaptrack -o` */
    unsigned divisor;     /* worker steps are divided by this (slow tools) */
} bench_mode_t;

/* The number of entries of bench_modes[] (launch.c checks it at compile time). */
#define MODE_COUNT 8
#define REFERENCE_MODE "jemalloc"   /* ratios are to this mode of the same run */

/* A workload. Worker workloads name a workload of workload.c and give their ops
 * per thread; program workloads give a command line and its stdin, and one op
 * is one run of the whole process. */
typedef struct bench_workload {
    const char *name;
    unsigned threads;
    uint64_t steps;        /* ops per thread, full run (worker workloads) */
    uint64_t quick_steps;  /* ... with --quick */
    const char *op;        /* what one op is, for the table's legend */
    const char *command;   /* program workloads: space-separated command line */
    const char *input;     /* program workloads: file given as stdin */
    bool snapshot;         /* needs memscope's runtime snapshot (memscope_snapshot_take) */
} bench_workload_t;

/* The number of entries of bench_workloads[] (checked like MODE_COUNT). */
#define WORKLOAD_COUNT 11
#define MAX_REPEATS 101
#define MAX_ARGS 32
#define MAX_ENV 512
#define PATH_LEN 4096

/* What one process run measured. */
typedef struct run_result {
    bool ok;
    double ns_per_op;
    double cpu_ns_per_op;     /* CPU time of the process per op */
    long peak_rss_kb;
    double bytes_per_event;   /* < 0: no trace, or a damaged one */
    bool damaged;             /* a trace had undecodable chunks or dropped events */
} run_result_t;

/* The aggregate of one (workload, mode) row. */
typedef struct row {
    bool available;           /* the mode could run this workload */
    const char *why_not;      /* ... and if not, why */
    unsigned runs, failures;
    unsigned damaged;         /* runs whose trace had undecodable chunks or drops */
    double ns[MAX_REPEATS];   /* ns_per_op of each successful run */
    double cpu[MAX_REPEATS];  /* cpu_ns_per_op of each successful run */
    double bpe[MAX_REPEATS];  /* bytes per event of each successful run, if any */
    long rss[MAX_REPEATS];
    unsigned bpe_runs;
    double median, min, max, ratio, cpu_median, bytes_per_event;
    long peak_rss_kb;
} row_t;

/* The export measurement. */
typedef struct export_result {
    bool done;
    uint64_t events;          /* events of the report's JSON (summary.events or events) */
    uint64_t counted_events;  /* what the bench's own analysis found in the same trace */
    double seconds;           /* median wall time of `memscope report` */
    long peak_rss_kb;         /* median peak RSS of `memscope report` */
    long long json_bytes, html_bytes, bin_bytes;
    /* memscope pack of the same trace (in this process, msx_pack_file) */
    bool pack_done;
    uint64_t pack_events;     /* events in the packed chunks */
    double raw_bpe;           /* the trace's stream bytes / event */
    double packed_bpe;        /* the packed file's bytes / event */
    double pack_seconds;      /* the packing, fsync left out */
    uint64_t pack_raw_bytes;  /* the trace's stream bytes packed (MB/s counts these) */
} export_result_t;

/* Command-line settings. */
typedef struct settings {
    bool quick;
    unsigned repeats;
    unsigned export_repeats;
    const char *json_path;
    const char *only_workloads;   /* comma-separated names, or NULL for all */
    const char *only_modes;
} settings_t;

/* launch.c: the tables, and running measurements */

extern const alloc_desc_t bench_allocs[ALLOC_KINDS];
extern const bench_mode_t bench_modes[MODE_COUNT];
extern const bench_workload_t bench_workloads[WORKLOAD_COUNT];

/* The biggest sound memscope trace recorded so far, kept (moved into
 * bench_tmp_root) for the export section, and its event count; "" if none. */
extern char bench_export_trace[PATH_LEN];
extern uint64_t bench_export_trace_events;

/* Spawns argv with env, stdin from in_path, stdout and stderr to the given
 * files, and waits for it. Stores its rusage and wall time. Returns true if it
 * exited with status 0. */
bool bench_spawn_wait(char **argv, char **env, const char *in_path, const char *out_path,
                      const char *err_path, struct rusage *ru, uint64_t *wall_ns);
/* True for inherited variables that would change what is measured: the
 * recorder's settings, a preload, and glibc's malloc debugging. */
bool bench_scrubbed(const char *var);
/* Runs every selected mode on workload w, interleaved, and fills rows[]. */
void bench_run_workload(const bench_workload_t *w, const settings_t *s, row_t rows[MODE_COUNT]);

/* results.c: aggregation, the export section, the table, targets and JSON */

/* Returns the median of n doubles (sorts a copy). */
double bench_median_double(const double *v, unsigned n);
/* Returns the median of n longs (sorts a copy; the lower middle one if n is even). */
long bench_median_long(const long *v, unsigned n);
/* Computes the median, min, max, CPU, RSS and bytes/event of each row of one
 * workload from its runs, and the ratios to REFERENCE_MODE. */
void bench_rows_finish(row_t rows[MODE_COUNT]);
/* Prints the column headings of the results table. */
void bench_print_table_head(void);
/* Prints one row of the results table. */
void bench_print_row(const bench_workload_t *w, const bench_mode_t *m, const row_t *row);
/* Times `memscope report` on the kept trace and fills *e. */
void bench_run_export(const settings_t *s, export_result_t *e);
/* Prints the export section on the terminal. */
void bench_print_export(const export_result_t *e);
/* memory.c: memscope's memory per thread */

/* RSS per thread of the idle workload, per mode that ran it. */
typedef struct thread_memory {
    bool done;
    unsigned threads;             /* threads started per run */
    unsigned runs[MODE_COUNT];    /* successful runs of each mode (0: not run) */
    double bytes_per_thread[MODE_COUNT]; /* median (RSS after - before) / threads */
} thread_memory_t;

/* Runs the idle workload under the jemalloc, off and full modes (those
 * selected) and fills *m. */
void bench_run_thread_memory(const settings_t *s, thread_memory_t *m);
/* Prints the memory-per-thread section. */
void bench_print_thread_memory(const thread_memory_t *m);
/* Writes the "thread_memory" member (without a trailing comma) to f. */
void bench_json_thread_memory(FILE *f, const thread_memory_t *m);

/* Prints every target with this run's value and whether, or by how much, it is missed. */
void bench_print_targets(row_t rows[WORKLOAD_COUNT][MODE_COUNT], const export_result_t *e);
/* Writes the whole result as JSON to path. Returns true on success. */
bool bench_write_json(const char *path, const settings_t *s,
                      row_t rows[WORKLOAD_COUNT][MODE_COUNT], const export_result_t *e,
                      const thread_memory_t *tm);

/* bench.c: the driver and small helpers */

/* The temporary directory of this run (made by main, removed at exit). */
extern char bench_tmp_root[];
/* Set by SIGINT, SIGTERM or SIGHUP: stop starting runs. */
extern volatile sig_atomic_t bench_interrupted;
/* The process being measured, while one runs (0 otherwise): where those
 * signals are passed on. */
extern volatile pid_t bench_running_child;

/* Prints a message on stderr prefixed with the program name. */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Removes a directory tree; errors are ignored (best effort cleanup). */
void bench_remove_tree(const char *path);
/* Writes "dir/name" into out (len bytes). Returns false if it did not fit. */
bool bench_path_join(char *out, size_t len, const char *dir, const char *name);
/* Returns CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);
/* Returns true if `name` is one of the comma-separated words of `list`
 * (a NULL list holds every name). */
bool bench_selected(const char *list, const char *name);
/* Reads a whole small file into buf (NUL-terminated, cut at len-1 bytes).
 * Returns the bytes read, or -1. */
ssize_t bench_read_small_file(const char *path, char *buf, size_t len);
/* Returns the size of the file at path, or -1. */
long long bench_file_size(const char *path);
/* Prints the last lines of a run's stderr file, to explain a failure. */
void bench_show_stderr_tail(const char *path);
/* Finds "key" followed by a number in text and stores the number. Returns true if found. */
bool bench_find_number(const char *text, const char *key, double *out);

#endif
