/* The export side of memscope: reads trace files (docs/FORMAT.md), analyses
 * them, and writes reports (docs/JSON.md), dashboards and archives
 * (docs/ARCHIVE.md). Everything here is internal to memscope (prefix msx_);
 * it depends on libc only and never calls into the allocator. */
#ifndef MSX_EXPORT_H
#define MSX_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* Progress callback: `done` of `total` units of work are finished. */
typedef void (*msx_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Analyses the trace file at path. On success stores a new report in *out and
 * returns 0; damage found in the file (a truncated or corrupt chunk, missing
 * events) does not fail the analysis: it is listed in (*out)->problems and
 * everything before it is used. Returns a negative errno if the file cannot
 * be used at all (not a trace, unknown version, unreadable, out of memory),
 * with a message naming the file, the offset and the problem in err.
 * `progress` may be NULL. */
int msx_analyze_trace(const char *path, msx_progress_fn progress, void *progress_ctx,
                      msx_report **out, char *err, size_t errlen);

/* Options of the analysis: where modules and their debug information are
 * found (symbolize.h), and the suppressions the sites are matched against
 * (sites.h). A NULL options pointer or NULL fields: the defaults. */
struct msx_supp;
struct msx_cuts;
typedef struct msx_analyze_opts {
    const char *sysroot;                     /* prefix of the recorded module paths */
    const char *debug_dir;                   /* searched first for debug files by build-id */
    const struct msx_supp *suppressions;     /* leak suppressions */
    struct msx_cuts *cuts;                   /* figures at given moments to fill (cuts.h), NULL: none */
    bool pprof;                              /* gather the figures of pprof profiles (pprof.h) */
    bool counters;                           /* follow the counter series (report.h msx_counters) */
} msx_analyze_opts;

/* msx_analyze_trace with options. */
int msx_analyze_trace_opts(const char *path, const msx_analyze_opts *opts, msx_progress_fn progress,
                           void *progress_ctx, msx_report **out, char *err, size_t errlen);

/* What a trace holds so far, from its header and chunk headers alone (no
 * payload is read): two probes that are equal in everything but
 * internal_bytes saw the same program events and records. */
typedef struct msx_probe {
    uint64_t chunks;           /* chunks of the program's threads */
    uint64_t bytes;            /* their committed payload bytes */
    uint64_t exited;           /* of them, flagged as their thread's last */
    uint64_t internal_bytes;   /* memscope's own stream and the snapshot log */
    uint64_t end_time;         /* header: the exit flush (0: not yet) */
    uint32_t end_how;
    uint64_t dropped;          /* header: dropped events and control records */
    uint64_t problems;         /* damage the scan found */
} msx_probe;

/* Probes the trace at path. Returns 0, or a negative errno with a message
 * naming the file in err (as msx_analyze_trace). */
int msx_trace_probe(const char *path, msx_probe *out, char *err, size_t errlen);

/* Limits for msx_render_json: lists longer than these are cut (and the cut
 * counted in a "*_omitted" field), strings longer than max_str bytes are
 * truncated. Zero means no limit. */
typedef struct msx_json_limits {
    uint32_t max_threads;  /* keeps the threads with the most bytes allocated */
    uint32_t max_str;
    uint32_t max_list;     /* argv entries and config pairs */
    uint32_t max_sample_threads; /* per-thread CPU entries per metrics_timeline sample */
} msx_json_limits;

/* A growable byte buffer that renderers write into. */
typedef struct msx_buf {
    char *p;
    size_t len;
    size_t cap;
    int err;  /* 0, or -ENOMEM once a write failed (later writes do nothing) */
} msx_buf;

/* Appends the JSON report (docs/JSON.md) to b. The JSON is also safe inside
 * an HTML <script> element: '<', '>', '&', U+2028 and U+2029 are escaped.
 * Returns 0 or -ENOMEM. */
int msx_render_json(msx_buf *b, const msx_report *r, const msx_json_limits *lim);
/* Appends the report's "sampling", "sites", "sites_omitted", "functions",
 * "functions_omitted" members (json_sites.c; called by msx_render_json),
 * each line ending with a comma and a newline. */
void msx_json_sites(msx_buf *b, const msx_report *r, const msx_json_limits *lim);
/* Appends s[0..n) as a JSON string literal (json.c: escaped as described
 * there). */
void msx_json_str(msx_buf *b, const char *s, size_t n);
/* Appends the report's "hybrid" member (json_hybrid.c; called by
 * msx_render_json), ending with a comma and a newline. */
void msx_json_hybrid(msx_buf *b, const msx_report *r);
/* Appends the Chrome trace-event JSON of r (chrome.c; docs/CLI.md) to b:
 * counters of live bytes, metrics, task spans. Returns 0 or -ENOMEM. */
int msx_render_chrome(msx_buf *b, const msx_report *r);
/* Appends the self-contained HTML dashboard to b. Returns 0 or -ENOMEM. */
int msx_render_html(msx_buf *b, const msx_report *r);
/* Appends the binary archive (docs/ARCHIVE.md) to b. Returns 0 or -ENOMEM. */
int msx_render_archive(msx_buf *b, const msx_report *r);

/* The archive's "hybrid" member (archive_hybrid.c, called by archive.c):
 * packs key and value; reads it from the body map into r (absent: none).
 * The reader returns 0, -ENOMEM, or -EINVAL with the bad field in *bad. */
struct msx_obj;
void msx_archive_pack_hybrid(msx_buf *b, const msx_report *r);
int msx_archive_get_hybrid(const struct msx_obj *root, msx_report *r, const char **bad);

/* True if the file at path starts with the archive magic. */
int msx_is_archive(const char *path);
/* Reads an archive written by msx_render_archive. Returns 0 and a new report
 * in *out, or a negative errno with a message naming the file in err. */
int msx_read_archive(const char *path, msx_report **out, char *err, size_t errlen);

/* Writes len bytes to path through a temporary file renamed over it, created
 * with `mode` (before the umask); a path that names something other than a
 * regular file (a device such as /dev/null, a FIFO) is written to directly.
 * Returns 0 or a negative errno. */
int msx_write_file(const char *path, const void *data, size_t len, unsigned mode);

/* Releases a buffer's memory. */
void msx_buf_free(msx_buf *b);

#endif /* MSX_EXPORT_H */
