/* The JSON report (docs/JSON.md, docs/report.schema.json).
 *
 * Strings from the trace are raw bytes: they are written as JSON strings with
 * every invalid UTF-8 byte replaced by U+FFFD, control characters escaped, and
 * '<', '>', '&', U+2028, U+2029 escaped too so that the same text is safe
 * inside an HTML <script> element. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "buf.h"
#include "export.h"

/* Length of the valid UTF-8 sequence at s[0..n) (n > 0, s[0] >= 0x80), or 0
 * if it is invalid (overlong, surrogate, above U+10FFFF, or cut short). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Appends s[0..n) as a JSON string literal (see the top of this file). */
static void json_str(msx_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    msx_buf_putc(b, '"');
    size_t run = 0;  /* bytes before i that are copied as they are */
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c >= 0x80) {
            size_t len = utf8_len(s + i, n - i);
            bool sep = len == 3 && c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9);
            if (len && !sep) {
                i += len;
                continue;
            }
            msx_buf_put(b, s + run, i - run);
            if (sep) {
                msx_buf_puts(b, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
                i += 3;
            } else {
                msx_buf_puts(b, "\\ufffd");
                i++;
            }
            run = i;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c != 0x7f) {
            i++;
            continue;
        }
        msx_buf_put(b, s + run, i - run);
        switch (c) {
        case '"': msx_buf_puts(b, "\\\""); break;
        case '\\': msx_buf_puts(b, "\\\\"); break;
        case '\n': msx_buf_puts(b, "\\n"); break;
        case '\r': msx_buf_puts(b, "\\r"); break;
        case '\t': msx_buf_puts(b, "\\t"); break;
        default: {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            msx_buf_put(b, esc, sizeof esc);
        }
        }
        i++;
        run = i;
    }
    msx_buf_put(b, s + run, n - run);
    msx_buf_putc(b, '"');
}

void msx_json_str(msx_buf *b, const char *s, size_t n)
{
    json_str(b, s, n);
}

/* Appends a report string, cut to max bytes (0: no limit). */
static void json_mstr(msx_buf *b, const msx_str *s, uint32_t max)
{
    json_str(b, s->p ? s->p : "", max && s->n > max ? max : s->n);
}

/* Appends `"key": value` members. */
static void kv_u64(msx_buf *b, const char *key, uint64_t v, bool last)
{
    msx_buf_printf(b, "\"%s\": ", key);
    msx_buf_u64(b, v);
    if (!last)
        msx_buf_puts(b, ", ");
}

static void kv_bool(msx_buf *b, const char *key, bool v, bool last)
{
    msx_buf_printf(b, "\"%s\": %s%s", key, v ? "true" : "false", last ? "" : ", ");
}

static void kv_addr(msx_buf *b, const char *key, uint64_t v, bool last)
{
    msx_buf_printf(b, "\"%s\": \"0x%llx\"%s", key, (unsigned long long)v, last ? "" : ", ");
}

/* Appends a block object. */
static void json_block(msx_buf *b, const msx_block *k)
{
    msx_buf_puts(b, "{");
    kv_addr(b, "address", k->addr, false);
    kv_u64(b, "size", k->size, false);
    kv_u64(b, "thread", k->thread, false);
    kv_u64(b, "time_ns", k->time_ns, !k->site);
    if (k->site)
        kv_u64(b, "site", k->site, true);
    msx_buf_puts(b, "}");
}

/* Appends the "source" object. */
static void json_source(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    msx_buf_puts(b, "  \"source\": {\"file\": ");
    json_mstr(b, &r->file, lim->max_str);
    msx_buf_puts(b, ", ");
    kv_u64(b, "format_version", r->format_version, false);
    kv_u64(b, "chunk_size", r->chunk_size, false);
    kv_u64(b, "chunks", r->chunks, false);
    kv_u64(b, "empty_slots", r->empty_slots, false);
    kv_u64(b, "damaged_chunks", r->damaged_chunks, false);
    kv_u64(b, "lost_events", r->lost_events, false);
    kv_bool(b, "complete", r->complete, false);
    const char *ending = msx_ending_name(r->end_how);
    msx_buf_printf(b, "\"ending\": %s%s%s, ", ending ? "\"" : "", ending ? ending : "null",
                   ending ? "\"" : "");
    kv_u64(b, "problems_total", r->problems_total, false);
    msx_buf_puts(b, "\"problems\": [");
    for (uint32_t i = 0; i < r->nproblems; i++) {
        if (i)
            msx_buf_puts(b, ", ");
        json_mstr(b, &r->problems[i], lim->max_str);
    }
    msx_buf_puts(b, "]},\n");
}

/* In a sampled trace: `"estimate": {...}, ` with the 95% interval of each
 * estimated figure (names: msx_est_names; the summary's live bytes at the
 * end are its leaked_bytes). n: how many of the figures (tasks: no blocks). */
static void json_est(msx_buf *b, const msx_report *r, const msx_est_ci *c, bool summary, int n)
{
    if (!r->sampling)
        return;
    msx_buf_puts(b, "\"estimate\": {");
    bool first = true;
    for (int k = 0; k < MSX_EST_FIGS; k++) {
        if (k == MSX_EST_LEAKED_BLOCKS && n < MSX_EST_FIGS)
            continue;
        const char *name = summary && k == MSX_EST_LIVE_BYTES ? "leaked_bytes" : msx_est_names[k];
        msx_buf_printf(b, "%s\"%s\": [%.0f, %.0f]", first ? "" : ", ", name, floor(c->lo[k]), ceil(c->hi[k]));
        first = false;
    }
    msx_buf_puts(b, "}, ");
}

/* Appends the "summary" object. */
static void json_summary(msx_buf *b, const msx_report *r)
{
    msx_buf_puts(b, "  \"summary\": {");
    kv_u64(b, "allocations", r->allocations, false);
    kv_u64(b, "frees", r->frees, false);
    kv_u64(b, "reallocs", r->reallocs, false);
    kv_u64(b, "bytes_allocated", r->bytes_allocated, false);
    kv_u64(b, "bytes_freed", r->bytes_freed, false);
    kv_u64(b, "peak_live_bytes", r->peak_live_bytes, false);
    kv_u64(b, "peak_time_ns", r->peak_time_ns, false);
    kv_u64(b, "leaked_bytes", r->leaked_bytes, false);
    kv_u64(b, "leaked_blocks", r->leaked_blocks, false);
    kv_u64(b, "leaked_program_bytes", r->leaked_program_bytes, false);
    kv_u64(b, "leaked_program_blocks", r->leaked_program_blocks, false);
    kv_u64(b, "leaked_runtime_bytes", r->leaked_runtime_bytes, false);
    kv_u64(b, "leaked_runtime_blocks", r->leaked_runtime_blocks, false);
    kv_u64(b, "leaked_suppressed_bytes", r->leaked_suppressed_bytes, false);
    kv_u64(b, "leaked_suppressed_blocks", r->leaked_suppressed_blocks, false);
    kv_u64(b, "temporary_allocations", r->temporary, false);
    kv_u64(b, "threads", r->nthreads, false);
    kv_u64(b, "tasks", r->tasks, false);
    kv_u64(b, "dropped_events", r->dropped_events, false);
    kv_u64(b, "dropped_events_header", r->dropped_header, false);
    kv_u64(b, "dropped_events_records", r->dropped_records, false);
    kv_u64(b, "lost_control_records", r->lost_control_records, false);
    json_est(b, r, &r->est, true, MSX_EST_FIGS);
    kv_u64(b, "duration_ns", r->duration_ns, true);
    msx_buf_puts(b, "},\n");
}

/* Appends the "process" object. */
static void json_process(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    msx_buf_puts(b, "  \"process\": {");
    kv_u64(b, "pid", r->pid, false);
    kv_u64(b, "ppid", r->ppid, false);
    kv_u64(b, "start_realtime_ns", r->start_realtime_ns, false);
    kv_bool(b, "forked", r->forked, false);
    kv_u64(b, "parent_pid", r->parent_pid, false);
    msx_buf_puts(b, "\"exe\": ");
    json_mstr(b, &r->exe, lim->max_str);
    uint32_t nargv = lim->max_list && r->nargv > lim->max_list ? lim->max_list : r->nargv;
    msx_buf_puts(b, ", \"argv\": [");
    for (uint32_t i = 0; i < nargv; i++) {
        if (i)
            msx_buf_puts(b, ", ");
        json_mstr(b, &r->argv[i], lim->max_str);
    }
    msx_buf_puts(b, "], ");
    kv_u64(b, "argv_omitted", r->nargv - nargv, false);
    uint32_t ncfg = lim->max_list && r->nconfig > lim->max_list ? lim->max_list : r->nconfig;
    msx_buf_puts(b, "\"config\": {");
    for (uint32_t i = 0; i < ncfg; i++) {
        if (i)
            msx_buf_puts(b, ", ");
        json_mstr(b, &r->config[2 * i], lim->max_str);
        msx_buf_puts(b, ": ");
        json_mstr(b, &r->config[2 * i + 1], lim->max_str);
    }
    msx_buf_puts(b, "}, ");
    kv_u64(b, "config_omitted", r->nconfig - ncfg, false);
    msx_buf_puts(b, "\"metrics\": [");
    for (uint32_t i = 0; i < r->nmetrics; i++) {
        msx_buf_puts(b, i ? ", {\"name\": " : "{\"name\": ");
        json_mstr(b, &r->metrics[i].name, lim->max_str);
        msx_buf_puts(b, ", ");
        kv_u64(b, "last", r->metrics[i].last, false);
        kv_u64(b, "max", r->metrics[i].max, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, "]},\n");
}

/* Appends the metrics timeline: each sample's time, the values it holds,
 * and its threads' CPU times (cut to lim->max_sample_threads in the
 * dashboard's copy, the cut counted in threads_omitted). */
static void json_metrics_timeline(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    msx_buf_puts(b, "  \"metrics_timeline\": [");
    for (uint32_t i = 0; i < r->nmpoints; i++) {
        const msx_metric_point *p = &r->mpoints[i];
        msx_buf_puts(b, i ? ",\n    {" : "\n    {");
        kv_u64(b, "time_ns", p->time_ns, !p->have && !p->has_threads);
        for (unsigned k = 0; k < MSX_METRIC_KEYS; k++)
            if (p->have & (1u << k))
                kv_u64(b, msx_metric_key_names[k], p->v[k], !p->has_threads && !(p->have >> (k + 1)));
        if (p->has_threads) {
            uint32_t n = lim->max_sample_threads && p->nthreads > lim->max_sample_threads
                             ? lim->max_sample_threads : p->nthreads;
            msx_buf_puts(b, "\"threads\": [");
            for (uint32_t j = 0; j < n; j++) {
                msx_buf_puts(b, j ? ", {" : "{");
                kv_u64(b, "tid", p->threads[j].tid, false);
                kv_u64(b, "cpu_ns", p->threads[j].cpu_ns, true);
                msx_buf_puts(b, "}");
            }
            msx_buf_puts(b, "], ");
            kv_u64(b, "threads_omitted", p->nthreads - n, true);
        }
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, r->nmpoints ? "\n  ],\n  " : "],\n  ");
    kv_u64(b, "metrics_timeline_omitted", r->metric_samples - r->nmpoints, true);
    msx_buf_puts(b, ",\n");
}

/* Orders thread indices by bytes allocated, most first, then by id
 * (qsort_r; ctx is the report). */
static int thread_by_bytes(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_thread_report *x = &r->threads[*(const uint32_t *)a];
    const msx_thread_report *y = &r->threads[*(const uint32_t *)b];
    if (x->bytes_allocated != y->bytes_allocated)
        return x->bytes_allocated > y->bytes_allocated ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Orders thread indices by index (which is id order). */
static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Appends the "threads" array (cut to the busiest lim->max_threads). */
static void json_threads(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    uint32_t n = r->nthreads;
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) {
        b->err = -ENOMEM;
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    if (lim->max_threads && n > lim->max_threads) {
        qsort_r(order, n, sizeof *order, thread_by_bytes, (void *)r);
        n = lim->max_threads;
        qsort(order, n, sizeof *order, u32_cmp);
    }
    msx_buf_puts(b, "  \"threads\": [");
    for (uint32_t k = 0; k < n; k++) {
        const msx_thread_report *t = &r->threads[order[k]];
        msx_buf_puts(b, k ? ",\n    {" : "\n    {");
        kv_u64(b, "id", t->id, false);
        kv_u64(b, "tid", t->tid, false);
        msx_buf_puts(b, "\"name\": ");
        json_mstr(b, &t->name, lim->max_str);
        msx_buf_puts(b, ", ");
        kv_bool(b, "exited", t->exited, false);
        kv_u64(b, "events", t->events, false);
        kv_u64(b, "allocations", t->allocations, false);
        kv_u64(b, "frees", t->frees, false);
        kv_u64(b, "reallocs", t->reallocs, false);
        kv_u64(b, "bytes_allocated", t->bytes_allocated, false);
        kv_u64(b, "bytes_freed", t->bytes_freed, false);
        kv_u64(b, "peak_live_bytes", t->peak_live_bytes, false);
        kv_u64(b, "peak_time_ns", t->peak_time_ns, false);
        kv_u64(b, "live_bytes", t->live_bytes, false);
        kv_u64(b, "leaked_blocks", t->leaked_blocks, false);
        kv_u64(b, "cross_thread_frees", t->cross_thread_frees, false);
        kv_u64(b, "temporary_allocations", t->temporary, false);
        kv_u64(b, "dropped_events", t->dropped_events, false);
        json_est(b, r, &t->est, false, MSX_EST_FIGS);
        kv_u64(b, "first_time_ns", t->first_time_ns, false);
        kv_u64(b, "last_time_ns", t->last_time_ns, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, "\n  ],\n");
    msx_buf_printf(b, "  \"threads_omitted\": %u,\n", r->nthreads - n);
    free(order);
}

/* Appends the "tasks" array (the report's list, by id) and "tasks_omitted". */
static void json_tasks(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    msx_buf_puts(b, "  \"tasks\": [");
    for (uint32_t k = 0; k < r->ntasklist; k++) {
        const msx_task_report *t = &r->tasklist[k];
        msx_buf_puts(b, k ? ",\n    {" : "\n    {");
        kv_u64(b, "id", t->id, false);
        msx_buf_puts(b, "\"name\": ");
        json_mstr(b, &t->name, lim->max_str);
        msx_buf_puts(b, ", ");
        kv_u64(b, "parent", t->parent, false);
        kv_bool(b, "ended", t->ended, false);
        kv_u64(b, "allocations", t->allocations, false);
        kv_u64(b, "reallocs", t->reallocs, false);
        kv_u64(b, "bytes_allocated", t->bytes_allocated, false);
        kv_u64(b, "live_bytes", t->live_bytes, false);
        kv_u64(b, "peak_live_bytes", t->peak_live_bytes, false);
        kv_u64(b, "peak_time_ns", t->peak_time_ns, false);
        kv_u64(b, "frees", t->frees, false);
        kv_u64(b, "cross_thread_frees", t->cross_thread_frees, false);
        kv_u64(b, "first_time_ns", t->first_time_ns, false);
        kv_u64(b, "last_time_ns", t->last_time_ns, false);
        json_est(b, r, &t->est, false, MSX_EST_FIGS - 1);
        msx_buf_puts(b, "\"threads\": [");
        for (uint32_t j = 0; j < t->nlisted; j++)
            msx_buf_printf(b, j ? ", %u" : "%u", t->threads[j]);
        msx_buf_puts(b, "], ");
        kv_u64(b, "threads_omitted", t->nthreads - t->nlisted, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, r->ntasklist ? "\n  ],\n" : "],\n");
    msx_buf_printf(b, "  \"tasks_omitted\": %llu,\n", (unsigned long long)r->tasks_omitted);
}

/* Appends a variable's label: `"name": ..., "type": ..., "file": ...,
 * "line": N, ` (variables[] and tracked_variables[] both start so). */
static void json_var_label(msx_buf *b, const msx_str *name, const msx_str *type, const msx_str *file, uint64_t line,
                           const msx_json_limits *lim)
{
    msx_buf_puts(b, "\"name\": ");
    json_mstr(b, name, lim->max_str);
    msx_buf_puts(b, ", \"type\": ");
    json_mstr(b, type, lim->max_str);
    msx_buf_puts(b, ", \"file\": ");
    json_mstr(b, file, lim->max_str);
    msx_buf_puts(b, ", ");
    kv_u64(b, "line", line, false);
}

/* Appends the "variables" array (highest peak first) and "variables_omitted". */
static void json_vars(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    msx_buf_puts(b, "  \"variables\": [");
    for (uint32_t k = 0; k < r->nvars; k++) {
        const msx_var_report *x = &r->vars[k];
        msx_buf_puts(b, k ? ",\n    {" : "\n    {");
        json_var_label(b, &x->name, &x->type, &x->file, x->line, lim);
        kv_u64(b, "blocks", x->blocks, false);
        kv_u64(b, "bytes_labelled", x->bytes_labelled, false);
        kv_u64(b, "reallocs", x->reallocs, false);
        kv_u64(b, "frees", x->frees, false);
        kv_u64(b, "mean_lifetime_ns", x->frees ? x->lifetime_ns_total / x->frees : 0, false);
        kv_u64(b, "live_blocks", x->live_blocks, false);
        kv_u64(b, "live_bytes", x->live_bytes, false);
        kv_u64(b, "peak_live_bytes", x->peak_live_bytes, false);
        kv_u64(b, "peak_time_ns", x->peak_time_ns, false);
        kv_u64(b, "first_time_ns", x->first_time_ns, false);
        kv_u64(b, "last_time_ns", x->last_time_ns, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, r->nvars ? "\n  ],\n" : "],\n");
    msx_buf_printf(b, "  \"variables_omitted\": %llu,\n", (unsigned long long)r->vars_omitted);
}

/* Appends the "snapshots" array (by id) and "snapshots_omitted"; the
 * dashboard's limits keep the first max_list. */
static void json_snaps(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    uint32_t n = r->nsnaps;
    uint64_t omitted = r->snaps_omitted;
    if (lim->max_list && n > lim->max_list) {
        omitted += n - lim->max_list;
        n = lim->max_list;
    }
    msx_buf_puts(b, "  \"snapshots\": [");
    for (uint32_t k = 0; k < n; k++) {
        const msx_snap_report *x = &r->snaps[k];
        msx_buf_puts(b, k ? ",\n    {" : "\n    {");
        kv_u64(b, "id", x->id, false);
        kv_u64(b, "time_ns", x->time_ns, false);
        kv_u64(b, "live_bytes", x->live_bytes, false);
        kv_u64(b, "active_tasks", x->active_tasks, false);
        msx_buf_puts(b, "\"tasks\": [");
        for (uint32_t i = 0; i < x->ntasks; i++)
            msx_buf_printf(b, "%s{\"id\": %llu, \"live_bytes\": %llu}", i ? ", " : "",
                           (unsigned long long)x->tasks[i].id, (unsigned long long)x->tasks[i].live_bytes);
        msx_buf_puts(b, "], ");
        kv_u64(b, "tasks_omitted", x->tasks_omitted, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, n ? "\n  ],\n" : "],\n");
    msx_buf_printf(b, "  \"snapshots_omitted\": %llu,\n", (unsigned long long)omitted);
}

/* Appends `"key": v` or `"key": null`. */
static void kv_u64_or_null(msx_buf *b, const char *key, bool have, uint64_t v, bool last)
{
    if (have)
        kv_u64(b, key, v, last);
    else
        msx_buf_printf(b, "\"%s\": null%s", key, last ? "" : ", ");
}

/* Appends the "tracked_variables" array (in labelling order) and
 * "tracked_variables_omitted". */
static void json_var_rows(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    msx_buf_puts(b, "  \"tracked_variables\": [");
    for (uint32_t k = 0; k < r->nvar_rows; k++) {
        const msx_var_row *x = &r->var_rows[k];
        msx_buf_puts(b, k ? ",\n    {" : "\n    {");
        json_var_label(b, &x->name, &x->type, &x->file, x->line, lim);
        msx_buf_puts(b, x->heap ? "\"kind\": \"heap\", " : "\"kind\": \"value\", ");
        if (x->heap)
            kv_addr(b, "addr", x->addr, false);
        else
            msx_buf_puts(b, "\"addr\": null, ");
        kv_u64(b, "size", x->size, false);
        kv_u64(b, "thread", x->thread, false);
        kv_u64(b, "task", x->task, false);
        msx_buf_puts(b, "\"scope\": ");
        json_mstr(b, &x->scope, lim->max_str);
        msx_buf_puts(b, ", ");
        kv_u64(b, "scope_id", x->scope_id, false);
        kv_u64(b, "alloc_time_ns", x->alloc_time_ns, false);
        kv_u64(b, "label_time_ns", x->label_time_ns, false);
        kv_u64_or_null(b, "free_time_ns", x->freed, x->free_time_ns, false);
        kv_u64_or_null(b, "lifetime_ns", x->freed, x->free_time_ns > x->alloc_time_ns ? x->free_time_ns - x->alloc_time_ns : 0,
                       false);
        kv_u64(b, "reallocs", x->reallocs, false);
        kv_bool(b, "leaked", x->leaked, false);
        kv_bool(b, "relabelled", x->relabelled, false);
        kv_u64_or_null(b, "relabel_time_ns", x->relabelled, x->end_time_ns, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, r->nvar_rows ? "\n  ],\n" : "],\n");
    msx_buf_printf(b, "  \"tracked_variables_omitted\": %llu,\n", (unsigned long long)r->var_rows_omitted);
}

/* Appends a histogram array (non-empty classes only). */
static void json_hist(msx_buf *b, const char *name, const char *unit, const char *count, const msx_bucket *h)
{
    msx_buf_printf(b, "\"%s\": [", name);
    bool first = true;
    for (unsigned k = 0; k < MSX_HIST_BUCKETS; k++) {
        if (!h[k].count)
            continue;
        msx_buf_puts(b, first ? "\n    {" : ",\n    {");
        first = false;
        msx_buf_printf(b, "\"min_%s\": ", unit);
        msx_buf_u64(b, msx_class_min(k));
        msx_buf_printf(b, ", \"max_%s\": ", unit);
        msx_buf_u64(b, msx_class_max(k));
        msx_buf_puts(b, ", ");
        kv_u64(b, count, h[k].count, false);
        kv_u64(b, "bytes", h[k].bytes, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, first ? "]" : "\n  ]");
}

/* Appends the "peak_snapshot" object. */
static void json_peak(msx_buf *b, const msx_report *r)
{
    msx_buf_puts(b, "  \"peak_snapshot\": {");
    kv_u64(b, "time_ns", r->peak_time_ns, false);
    kv_u64(b, "live_bytes", r->peak_live_bytes, false);
    kv_u64(b, "blocks", r->peak_blocks, false);
    json_hist(b, "by_size", "bytes", "blocks", r->peak_by_size);
    msx_buf_puts(b, ",\n    \"by_thread\": [");
    bool first = true;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const msx_thread_report *t = &r->threads[i];
        if (!t->peak_snapshot_blocks)
            continue;
        msx_buf_puts(b, first ? "{" : ", {");
        first = false;
        kv_u64(b, "thread", t->id, false);
        kv_u64(b, "blocks", t->peak_snapshot_blocks, false);
        kv_u64(b, "bytes", t->peak_snapshot_bytes, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, "],\n    \"by_site\": [");
    for (uint32_t i = 0; i < r->npeak_sites; i++) {
        msx_buf_puts(b, i ? ", {" : "{");
        kv_u64(b, "site", r->peak_sites[i].site, false);
        kv_u64(b, "blocks", r->peak_sites[i].blocks, false);
        kv_u64(b, "bytes", r->peak_sites[i].bytes, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, "],\n    \"largest\": [");
    for (uint32_t i = 0; i < r->npeak_largest; i++) {
        if (i)
            msx_buf_puts(b, ", ");
        json_block(b, &r->peak_largest[i]);
    }
    msx_buf_puts(b, "]},\n");
}

/* Appends the "anomalies" object. */
static void json_anomalies(msx_buf *b, const msx_report *r)
{
    uint64_t total = 0;
    for (unsigned k = 0; k < MSX_ANOM_KINDS; k++)
        total += r->anomaly_counts[k];
    msx_buf_puts(b, "  \"anomalies\": {");
    kv_u64(b, "total", total, false);
    for (unsigned k = 0; k < MSX_ANOM_KINDS; k++)
        kv_u64(b, msx_anomaly_name((msx_anomaly_kind)k), r->anomaly_counts[k], false);
    kv_u64(b, "inherited_frees", r->inherited_frees, false);
    kv_u64(b, "inherited_reallocs", r->inherited_reallocs, false);
    kv_u64(b, "forced_merges", r->forced_merges, false);
    msx_buf_puts(b, "\"list\": [");
    for (uint32_t i = 0; i < r->nanomalies; i++) {
        const msx_anomaly *a = &r->anomalies[i];
        msx_buf_printf(b, "%s{\"kind\": \"%s\", ", i ? ",\n    " : "\n    ", msx_anomaly_name(a->kind));
        kv_u64(b, "thread", a->thread, false);
        kv_u64(b, "time_ns", a->time_ns, false);
        kv_addr(b, "address", a->addr, false);
        kv_u64(b, "event", a->event, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, r->nanomalies ? "\n  ]}\n" : "]}\n");
}

int msx_render_json(msx_buf *b, const msx_report *r, const msx_json_limits *lim)
{
    static const msx_json_limits none;
    if (!lim)
        lim = &none;
    msx_buf_printf(b, "{\n  \"schema_version\": %d,\n  \"generator\": \"memscope\",\n", MSX_SCHEMA_VERSION);
    msx_buf_puts(b, "  ");
    kv_u64(b, "events", r->events, false);
    kv_u64(b, "stream_bytes", r->stream_bytes, true);
    msx_buf_puts(b, ",\n");
    json_source(b, r, lim);
    json_summary(b, r);
    json_process(b, r, lim);
    json_threads(b, r, lim);
    json_tasks(b, r, lim);
    json_vars(b, r, lim);
    json_var_rows(b, r, lim);
    json_snaps(b, r, lim);
    msx_json_hybrid(b, r);

    msx_buf_puts(b, "  ");
    kv_u64(b, "timeline_bucket_ns", r->timeline_bucket_ns, true);
    msx_buf_puts(b, ",\n  \"timeline\": [");
    for (uint32_t i = 0; i < r->npoints; i++) {
        const msx_point *p = &r->timeline[i];
        msx_buf_puts(b, i ? ",\n    {" : "\n    {");
        kv_u64(b, "time_ns", p->time_ns, false);
        kv_u64(b, "live_bytes", p->live_bytes, false);
        kv_u64(b, "max_live_bytes", p->max_live_bytes, false);
        kv_u64(b, "allocations", p->allocations, false);
        kv_u64(b, "frees", p->frees, true);
        msx_buf_puts(b, "}");
    }
    msx_buf_puts(b, r->npoints ? "\n  ],\n" : "],\n");
    json_metrics_timeline(b, r, lim);
    msx_buf_puts(b, "  ");
    json_hist(b, "size_histogram", "bytes", "count", r->size_hist);
    msx_buf_puts(b, ",\n  ");
    json_hist(b, "lifetime_histogram", "ns", "count", r->lifetime_hist);
    msx_buf_puts(b, ",\n  \"leaks\": [");
    for (uint32_t i = 0; i < r->nleaks; i++) {
        msx_buf_puts(b, i ? ",\n    " : "\n    ");
        json_block(b, &r->leaks[i]);
    }
    msx_buf_puts(b, r->nleaks ? "\n  ],\n" : "],\n");
    msx_buf_printf(b, "  \"leaks_omitted\": %llu,\n",
                   (unsigned long long)(r->leaked_blocks - r->nleaks));
    msx_json_sites(b, r, lim);
    json_peak(b, r);
    json_anomalies(b, r);
    msx_buf_puts(b, "}\n");
    return b->err;
}
