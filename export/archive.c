/* The binary archive (docs/ARCHIVE.md): a report kept as MessagePack, so that
 * `memscope report x.msbin` renders it again without the trace.
 *
 * Packing uses msgpack-c's header-only pack_template.h instantiated with an
 * msx_buf as its output (the same idea as the recorder's packers, in code of
 * our own); reading uses msx_mpk_decode. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "export.h"
#include "mpk.h"

/* -- packing -------------------------------------------------------------- */

#define ARCHIVE_MAGIC "MSBIN\0\0\0"
enum { ARCHIVE_VERSION = 1, ARCHIVE_HDR = 16 };

/* Packs a block as [addr, size, thread, time_ns]. */
static void pk_block(msx_buf *b, const msx_block *k)
{
    pk_tuple(b, 4, k->addr, k->size, (uint64_t)k->thread, k->time_ns);
}

/* Packs the non-empty classes of a histogram as [class, count, bytes]. */
static void pk_hist(msx_buf *b, const msx_bucket *h)
{
    size_t n = 0;
    for (unsigned k = 0; k < MSX_HIST_BUCKETS; k++)
        n += h[k].count != 0;
    msx_pk_array(b, n);
    for (unsigned k = 0; k < MSX_HIST_BUCKETS; k++)
        if (h[k].count)
            pk_tuple(b, 3, (uint64_t)k, h[k].count, h[k].bytes);
}

/* Packs the "tasks" map: `omitted` and `list`, each task a 16-tuple (ARCHIVE.md). */
static void pk_tasks(msx_buf *b, const msx_report *r)
{
    pk_key(b, "tasks");
    msx_pk_map(b, 2);
    pk_ku(b, "omitted", r->tasks_omitted);
    pk_key(b, "list");
    msx_pk_array(b, r->ntasklist);
    for (uint32_t i = 0; i < r->ntasklist; i++) {
        const msx_task_report *t = &r->tasklist[i];
        msx_pk_array(b, 16);
        msx_pk_uint64(b, t->id);
        msx_pk_uint64(b, t->parent);
        pk_mstr(b, &t->name);
        if (t->ended)
            msx_pk_true(b);
        else
            msx_pk_false(b);
        const uint64_t v[11] = {
            t->allocations, t->reallocs, t->bytes_allocated, t->live_bytes, t->peak_live_bytes, t->peak_time_ns,
            t->frees, t->cross_thread_frees, t->first_time_ns, t->last_time_ns, t->nthreads,
        };
        for (int k = 0; k < 11; k++)
            msx_pk_uint64(b, v[k]);
        msx_pk_array(b, t->nlisted);
        for (uint32_t j = 0; j < t->nlisted; j++)
            msx_pk_uint64(b, t->threads[j]);
    }
}

/* Packs the "metrics_timeline" map: `samples` and `points`, each point
 * [time_ns, have, [values of the bits of have], threads: nil or [[tid, cpu_ns], ...]]. */
static void pk_metrics_timeline(msx_buf *b, const msx_report *r)
{
    pk_key(b, "metrics_timeline");
    msx_pk_map(b, 2);
    pk_ku(b, "samples", r->metric_samples);
    pk_key(b, "points");
    msx_pk_array(b, r->nmpoints);
    for (uint32_t i = 0; i < r->nmpoints; i++) {
        const msx_metric_point *p = &r->mpoints[i];
        msx_pk_array(b, 4);
        msx_pk_uint64(b, p->time_ns);
        msx_pk_uint64(b, p->have);
        msx_pk_array(b, (size_t)__builtin_popcount(p->have));
        for (unsigned k = 0; k < MSX_METRIC_KEYS; k++)
            if (p->have & (1u << k))
                msx_pk_uint64(b, p->v[k]);
        if (!p->has_threads) {
            msx_pk_nil(b);
            continue;
        }
        msx_pk_array(b, p->nthreads);
        for (uint32_t j = 0; j < p->nthreads; j++)
            pk_tuple(b, 2, p->threads[j].tid, p->threads[j].cpu_ns);
    }
}

int msx_render_archive(msx_buf *b, const msx_report *r)
{
    uint8_t hdr[ARCHIVE_HDR] = { 0 };
    memcpy(hdr, ARCHIVE_MAGIC, 8);
    hdr[8] = ARCHIVE_VERSION;  /* u32 little-endian version, then u32 flags = 0 */
    msx_buf_put(b, hdr, sizeof hdr);

    msx_pk_map(b, 19); /* "variables" and "tracked_variables": archive_vars.c; "snapshots": archive_snaps.c;
                        * "sites": archive_sites.c; "estimates": archive_est.c */
    pk_ku(b, "schema_version", MSX_SCHEMA_VERSION);

    pk_key(b, "source");
    msx_pk_map(b, 11);
    pk_key(b, "file");
    pk_mstr(b, &r->file);
    pk_ku(b, "format_version", r->format_version);
    pk_ku(b, "chunk_size", r->chunk_size);
    pk_ku(b, "chunks", r->chunks);
    pk_ku(b, "empty_slots", r->empty_slots);
    pk_ku(b, "damaged_chunks", r->damaged_chunks);
    pk_ku(b, "lost_events", r->lost_events);
    pk_key(b, "complete");
    if (r->complete)
        msx_pk_true(b);
    else
        msx_pk_false(b);
    pk_ku(b, "end_how", r->end_how);
    pk_ku(b, "problems_total", r->problems_total);
    pk_key(b, "problems");
    msx_pk_array(b, r->nproblems);
    for (uint32_t i = 0; i < r->nproblems; i++)
        pk_mstr(b, &r->problems[i]);

    pk_key(b, "summary");
    msx_pk_map(b, 18);
    pk_ku(b, "events", r->events);
    pk_ku(b, "stream_bytes", r->stream_bytes);
    pk_ku(b, "allocations", r->allocations);
    pk_ku(b, "frees", r->frees);
    pk_ku(b, "reallocs", r->reallocs);
    pk_ku(b, "bytes_allocated", r->bytes_allocated);
    pk_ku(b, "bytes_freed", r->bytes_freed);
    pk_ku(b, "peak_live_bytes", r->peak_live_bytes);
    pk_ku(b, "peak_time_ns", r->peak_time_ns);
    pk_ku(b, "leaked_bytes", r->leaked_bytes);
    pk_ku(b, "leaked_blocks", r->leaked_blocks);
    pk_ku(b, "temporary", r->temporary);
    pk_ku(b, "tasks", r->tasks);
    pk_ku(b, "dropped_events", r->dropped_events);
    pk_ku(b, "dropped_header", r->dropped_header);
    pk_ku(b, "dropped_records", r->dropped_records);
    pk_ku(b, "lost_control_records", r->lost_control_records);
    pk_ku(b, "duration_ns", r->duration_ns);

    pk_key(b, "process");
    msx_pk_map(b, 9);
    pk_ku(b, "pid", r->pid);
    pk_ku(b, "ppid", r->ppid);
    pk_ku(b, "start_realtime_ns", r->start_realtime_ns);
    pk_key(b, "forked");
    if (r->forked)
        msx_pk_true(b);
    else
        msx_pk_false(b);
    pk_ku(b, "parent_pid", r->parent_pid);
    pk_key(b, "exe");
    pk_mstr(b, &r->exe);
    pk_key(b, "argv");
    msx_pk_array(b, r->nargv);
    for (uint32_t i = 0; i < r->nargv; i++)
        pk_mstr(b, &r->argv[i]);
    pk_key(b, "config");
    msx_pk_array(b, r->nconfig);
    for (uint32_t i = 0; i < r->nconfig; i++) {
        msx_pk_array(b, 2);
        pk_mstr(b, &r->config[2 * i]);
        pk_mstr(b, &r->config[2 * i + 1]);
    }
    pk_key(b, "metrics");
    msx_pk_array(b, r->nmetrics);
    for (uint32_t i = 0; i < r->nmetrics; i++) {
        msx_pk_array(b, 3);
        pk_mstr(b, &r->metrics[i].name);
        msx_pk_uint64(b, r->metrics[i].last);
        msx_pk_uint64(b, r->metrics[i].max);
    }

    pk_key(b, "threads");
    msx_pk_array(b, r->nthreads);
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const msx_thread_report *t = &r->threads[i];
        msx_pk_array(b, 21);
        msx_pk_uint64(b, t->id);
        msx_pk_uint64(b, t->tid);
        pk_mstr(b, &t->name);
        if (t->exited)
            msx_pk_true(b);
        else
            msx_pk_false(b);
        const uint64_t v[17] = {
            t->events, t->allocations, t->frees, t->reallocs, t->bytes_allocated, t->bytes_freed,
            t->live_bytes, t->leaked_blocks, t->peak_live_bytes, t->peak_time_ns, t->cross_thread_frees,
            t->temporary, t->dropped_events, t->first_time_ns, t->last_time_ns, t->peak_snapshot_blocks,
            t->peak_snapshot_bytes,
        };
        for (int k = 0; k < 17; k++)
            msx_pk_uint64(b, v[k]);
    }

    pk_tasks(b, r);
    msx_ar_pk_vars(b, r);
    msx_ar_pk_snaps(b, r);
    msx_archive_pack_hybrid(b, r);
    msx_ar_pk_sites(b, r);
    msx_ar_pk_est(b, r);

    pk_key(b, "timeline");
    msx_pk_array(b, 2);
    msx_pk_uint64(b, r->timeline_bucket_ns);
    msx_pk_array(b, r->npoints);
    for (uint32_t i = 0; i < r->npoints; i++) {
        const msx_point *p = &r->timeline[i];
        pk_tuple(b, 4, p->live_bytes, p->max_live_bytes, p->allocations, p->frees);
    }

    pk_metrics_timeline(b, r);

    pk_key(b, "size_histogram");
    pk_hist(b, r->size_hist);
    pk_key(b, "lifetime_histogram");
    pk_hist(b, r->lifetime_hist);

    pk_key(b, "leaks");
    msx_pk_array(b, r->nleaks);
    for (uint32_t i = 0; i < r->nleaks; i++)
        pk_block(b, &r->leaks[i]);

    pk_key(b, "peak_snapshot");
    msx_pk_map(b, 3);
    pk_ku(b, "blocks", r->peak_blocks);
    pk_key(b, "by_size");
    pk_hist(b, r->peak_by_size);
    pk_key(b, "largest");
    msx_pk_array(b, r->npeak_largest);
    for (uint32_t i = 0; i < r->npeak_largest; i++)
        pk_block(b, &r->peak_largest[i]);

    pk_key(b, "anomalies");
    msx_pk_map(b, 5);
    pk_key(b, "counts");
    msx_pk_array(b, MSX_ANOM_KINDS);
    for (unsigned k = 0; k < MSX_ANOM_KINDS; k++)
        msx_pk_uint64(b, r->anomaly_counts[k]);
    pk_ku(b, "inherited_frees", r->inherited_frees);
    pk_ku(b, "inherited_reallocs", r->inherited_reallocs);
    pk_ku(b, "forced_merges", r->forced_merges);
    pk_key(b, "list");
    msx_pk_array(b, r->nanomalies);
    for (uint32_t i = 0; i < r->nanomalies; i++) {
        const msx_anomaly *a = &r->anomalies[i];
        pk_tuple(b, 5, (uint64_t)a->kind, (uint64_t)a->thread, a->time_ns, a->addr, a->event);
    }
    return b->err;
}

/* -- reading -------------------------------------------------------------- */

/* Reads a [class, count, bytes] histogram. */
static void get_hist(rd *R, msx_bucket *h, const msx_obj *map, const char *key)
{
    const msx_obj *l = get_list(R, map, key, MSX_HIST_BUCKETS, 3);
    for (uint32_t i = 0; l && i < l->n; i++) {
        uint64_t k = tu(R, &l->v.a[i], 0);
        if (k >= MSX_HIST_BUCKETS) {
            bad(R, key);
            return;
        }
        h[k].count = tu(R, &l->v.a[i], 1);
        h[k].bytes = tu(R, &l->v.a[i], 2);
    }
}

/* Reads a list of [addr, size, thread, time_ns] blocks. */
static uint32_t get_blocks(rd *R, msx_block *out, uint32_t max, const msx_obj *map, const char *key)
{
    const msx_obj *l = get_list(R, map, key, max, 4);
    for (uint32_t i = 0; l && i < l->n; i++) {
        const msx_obj *t = &l->v.a[i];
        out[i] = (msx_block){ .addr = tu(R, t, 0), .size = tu(R, t, 1), .thread = (uint32_t)tu(R, t, 2),
                              .time_ns = tu(R, t, 3) };
    }
    return l ? l->n : 0;
}

/* Reads the "source" and "summary" maps. */
static void get_source_summary(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *s = msx_map_get(root, "source");
    get_str(R, &r->file, msx_map_get(s, "file"), "file");
    r->format_version = (uint32_t)get_ku(R, s, "format_version");
    r->chunk_size = (uint32_t)get_ku(R, s, "chunk_size");
    r->chunks = get_ku(R, s, "chunks");
    r->empty_slots = get_ku(R, s, "empty_slots");
    r->damaged_chunks = get_ku(R, s, "damaged_chunks");
    r->lost_events = get_ku(R, s, "lost_events");
    r->complete = get_kb(R, s, "complete");
    r->end_how = (uint32_t)get_ku(R, s, "end_how"); /* absent in older archives: unknown */
    r->problems_total = get_ku(R, s, "problems_total");
    const msx_obj *l = get_list(R, s, "problems", MSX_MAX_PROBLEMS, 0);
    for (uint32_t i = 0; l && i < l->n && !R->err; i++)
        get_str(R, &r->problems[r->nproblems++], &l->v.a[i], "problem");

    const msx_obj *m = msx_map_get(root, "summary");
    r->events = get_ku(R, m, "events");
    r->stream_bytes = get_ku(R, m, "stream_bytes");
    r->allocations = get_ku(R, m, "allocations");
    r->frees = get_ku(R, m, "frees");
    r->reallocs = get_ku(R, m, "reallocs");
    r->bytes_allocated = get_ku(R, m, "bytes_allocated");
    r->bytes_freed = get_ku(R, m, "bytes_freed");
    r->peak_live_bytes = get_ku(R, m, "peak_live_bytes");
    r->peak_time_ns = get_ku(R, m, "peak_time_ns");
    r->leaked_bytes = get_ku(R, m, "leaked_bytes");
    r->leaked_blocks = get_ku(R, m, "leaked_blocks");
    r->temporary = get_ku(R, m, "temporary");
    r->tasks = get_ku(R, m, "tasks");
    r->dropped_events = get_ku(R, m, "dropped_events");
    r->dropped_header = get_ku(R, m, "dropped_header");
    r->dropped_records = get_ku(R, m, "dropped_records");
    r->lost_control_records = get_ku(R, m, "lost_control_records"); /* absent before: 0 */
    r->duration_ns = get_ku(R, m, "duration_ns");
}

/* Reads the "process" map. */
static void get_process(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *m = msx_map_get(root, "process");
    r->pid = get_ku(R, m, "pid");
    r->ppid = get_ku(R, m, "ppid");
    r->start_realtime_ns = get_ku(R, m, "start_realtime_ns");
    r->forked = get_kb(R, m, "forked");
    r->parent_pid = get_ku(R, m, "parent_pid");
    get_str(R, &r->exe, msx_map_get(m, "exe"), "exe");
    const msx_obj *l = get_list(R, m, "argv", 0, 0);
    if (l && l->n) {
        r->argv = calloc(l->n, sizeof *r->argv);
        if (!r->argv) {
            oom(R);
            return;
        }
        for (uint32_t i = 0; i < l->n && !R->err; i++)
            get_str(R, &r->argv[r->nargv++], &l->v.a[i], "argv");
    }
    l = get_list(R, m, "config", 0, 2);
    if (l && l->n) {
        r->config = calloc(2 * (size_t)l->n, sizeof *r->config);
        if (!r->config) {
            oom(R);
            return;
        }
        for (uint32_t i = 0; i < l->n && !R->err; i++) {
            get_str(R, &r->config[2 * i], &l->v.a[i].v.a[0], "config");
            get_str(R, &r->config[2 * i + 1], &l->v.a[i].v.a[1], "config");
            r->nconfig++;
        }
    }
    l = get_list(R, m, "metrics", MSX_MAX_METRICS, 3);
    for (uint32_t i = 0; l && i < l->n && !R->err; i++) {
        msx_metric *x = &r->metrics[r->nmetrics++];
        get_str(R, &x->name, &l->v.a[i].v.a[0], "metric");
        x->last = tu(R, &l->v.a[i], 1);
        x->max = tu(R, &l->v.a[i], 2);
    }
}

/* Reads the "threads" list. */
static void get_threads(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *l = get_list(R, root, "threads", 0, 21);
    if (!l || !l->n)
        return;
    r->threads = calloc(l->n, sizeof *r->threads);
    if (!r->threads) {
        oom(R);
        return;
    }
    for (uint32_t i = 0; i < l->n && !R->err; i++) {
        const msx_obj *t = &l->v.a[i];
        msx_thread_report *x = &r->threads[r->nthreads++];
        x->id = (uint32_t)tu(R, t, 0);
        x->tid = tu(R, t, 1);
        get_str(R, &x->name, &t->v.a[2], "thread name");
        if (t->v.a[3].type != MSX_BOOL) {
            bad(R, "thread exited flag");
            return;
        }
        x->exited = t->v.a[3].v.b;
        uint64_t *v[17] = {
            &x->events, &x->allocations, &x->frees, &x->reallocs, &x->bytes_allocated, &x->bytes_freed,
            &x->live_bytes, &x->leaked_blocks, &x->peak_live_bytes, &x->peak_time_ns, &x->cross_thread_frees,
            &x->temporary, &x->dropped_events, &x->first_time_ns, &x->last_time_ns, &x->peak_snapshot_blocks,
            &x->peak_snapshot_bytes,
        };
        for (uint32_t k = 0; k < 17; k++)
            *v[k] = tu(R, t, 4 + k);
    }
}

/* Reads the "tasks" map (absent in older archives: no tasks). */
static void get_tasks(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *m = msx_map_get(root, "tasks");
    r->tasks_omitted = get_ku(R, m, "omitted");
    const msx_obj *l = get_list(R, m, "list", MSX_MAX_TASKS, 16);
    if (!l || !l->n)
        return;
    r->tasklist = calloc(l->n, sizeof *r->tasklist);
    if (!r->tasklist) {
        oom(R);
        return;
    }
    for (uint32_t i = 0; i < l->n && !R->err; i++) {
        const msx_obj *t = &l->v.a[i];
        msx_task_report *x = &r->tasklist[r->ntasklist++];
        x->id = tu(R, t, 0);
        x->parent = tu(R, t, 1);
        get_str(R, &x->name, &t->v.a[2], "task name");
        const msx_obj *th = &t->v.a[15];
        if (t->v.a[3].type != MSX_BOOL || th->type != MSX_ARRAY || th->n > MSX_TASK_THREADS) {
            bad(R, "task");
            return;
        }
        x->ended = t->v.a[3].v.b;
        uint64_t *v[10] = {
            &x->allocations, &x->reallocs, &x->bytes_allocated, &x->live_bytes, &x->peak_live_bytes,
            &x->peak_time_ns, &x->frees, &x->cross_thread_frees, &x->first_time_ns, &x->last_time_ns,
        };
        for (uint32_t k = 0; k < 10; k++)
            *v[k] = tu(R, t, 4 + k);
        uint64_t nthreads = tu(R, t, 14);
        if (nthreads < th->n || nthreads > UINT32_MAX) {
            bad(R, "task threads");
            return;
        }
        x->nthreads = (uint32_t)nthreads;
        x->nlisted = th->n;
        for (uint32_t j = 0; j < th->n; j++)
            x->threads[j] = (uint32_t)get_u(R, &th->v.a[j], "task thread");
    }
}

/* Reads the "metrics_timeline" map (absent in older archives: no samples). */
static void get_metrics_timeline(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *m = msx_map_get(root, "metrics_timeline");
    r->metric_samples = get_ku(R, m, "samples");
    const msx_obj *l = get_list(R, m, "points", MSX_METRIC_POINTS, 4);
    for (uint32_t i = 0; l && i < l->n && !R->err; i++) {
        const msx_obj *t = &l->v.a[i], *vals = &t->v.a[2], *th = &t->v.a[3];
        msx_metric_point *p = &r->mpoints[r->nmpoints++];
        p->time_ns = tu(R, t, 0);
        uint64_t have = tu(R, t, 1);
        if (have >> MSX_METRIC_KEYS || vals->type != MSX_ARRAY ||
            vals->n != (uint32_t)__builtin_popcountll(have) || (th->type != MSX_NIL && th->type != MSX_ARRAY)) {
            bad(R, "metrics point");
            return;
        }
        p->have = (uint32_t)have;
        for (unsigned k = 0, j = 0; k < MSX_METRIC_KEYS; k++)
            if (have & (1u << k))
                p->v[k] = get_u(R, &vals->v.a[j++], "metric value");
        if (th->type == MSX_NIL)
            continue;
        p->has_threads = true;
        if (!(p->threads = malloc((th->n ? th->n : 1) * sizeof *p->threads))) {
            oom(R);
            return;
        }
        for (uint32_t j = 0; j < th->n; j++) {
            const msx_obj *e = &th->v.a[j];
            if (e->type != MSX_ARRAY || e->n != 2) {
                bad(R, "metrics thread");
                return;
            }
            p->threads[p->nthreads++] = (msx_cpu){ tu(R, e, 0), tu(R, e, 1) };
        }
    }
}

/* Reads timeline, histograms, leaks, peak snapshot and anomalies. */
static void get_rest(rd *R, const msx_obj *root)
{
    msx_report *r = R->r;
    const msx_obj *tl = msx_map_get(root, "timeline");
    if (tl) {
        if (tl->type != MSX_ARRAY || tl->n != 2 || tl->v.a[1].type != MSX_ARRAY
            || tl->v.a[1].n > MSX_TIMELINE_POINTS) {
            bad(R, "timeline");
            return;
        }
        r->timeline_bucket_ns = get_u(R, &tl->v.a[0], "timeline");
        const msx_obj *pts = &tl->v.a[1];
        for (uint32_t i = 0; i < pts->n; i++) {
            const msx_obj *p = &pts->v.a[i];
            if (p->type != MSX_ARRAY || p->n != 4) {
                bad(R, "timeline point");
                return;
            }
            r->timeline[i] = (msx_point){ .time_ns = i * r->timeline_bucket_ns, .live_bytes = tu(R, p, 0),
                                          .max_live_bytes = tu(R, p, 1), .allocations = tu(R, p, 2),
                                          .frees = tu(R, p, 3) };
        }
        r->npoints = pts->n;
    }
    get_hist(R, r->size_hist, root, "size_histogram");
    get_hist(R, r->lifetime_hist, root, "lifetime_histogram");
    r->nleaks = get_blocks(R, r->leaks, MSX_MAX_LEAKS, root, "leaks");

    const msx_obj *pk = msx_map_get(root, "peak_snapshot");
    r->peak_blocks = get_ku(R, pk, "blocks");
    get_hist(R, r->peak_by_size, pk, "by_size");
    r->npeak_largest = get_blocks(R, r->peak_largest, MSX_MAX_PEAK_BLOCKS, pk, "largest");

    const msx_obj *an = msx_map_get(root, "anomalies");
    const msx_obj *c = get_list(R, an, "counts", MSX_ANOM_KINDS, 0);
    for (uint32_t k = 0; c && k < c->n; k++)
        r->anomaly_counts[k] = get_u(R, &c->v.a[k], "anomaly count");
    r->inherited_frees = get_ku(R, an, "inherited_frees");
    r->inherited_reallocs = get_ku(R, an, "inherited_reallocs");
    r->forced_merges = get_ku(R, an, "forced_merges");
    const msx_obj *l = get_list(R, an, "list", MSX_MAX_ANOMALIES, 5);
    for (uint32_t i = 0; l && i < l->n; i++) {
        const msx_obj *t = &l->v.a[i];
        uint64_t kind = tu(R, t, 0);
        if (kind >= MSX_ANOM_KINDS) {
            bad(R, "anomaly kind");
            return;
        }
        r->anomalies[i] = (msx_anomaly){ .kind = (msx_anomaly_kind)kind, .thread = (uint32_t)tu(R, t, 1),
                                         .time_ns = tu(R, t, 2), .addr = tu(R, t, 3), .event = tu(R, t, 4) };
    }
    r->nanomalies = l ? l->n : 0;
}

/* Reads a whole file into memory. Returns 0 or a negative errno. */
static int slurp(const char *path, uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);  /* a FIFO is refused, not waited on */
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    uint8_t *p = malloc((size_t)st.st_size + 1);
    if (!p) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *data = p;
    *len = got;
    return 0;
}

int msx_is_archive(const char *path)
{
    char magic[8];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);  /* a FIFO is not waited on */
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    return n == (ssize_t)sizeof magic && memcmp(magic, ARCHIVE_MAGIC, 8) == 0;
}

int msx_read_archive(const char *path, msx_report **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = slurp(path, &data, &len);
    if (rc < 0) {
        if (errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
        return rc;
    }
    rd R = { .path = path, .errbuf = err, .errlen = errlen };
    msx_arena arena = { 0 };
    msx_obj root;
    if (len < ARCHIVE_HDR || memcmp(data, ARCHIVE_MAGIC, 8) != 0) {
        R.err = -EINVAL;
        if (errlen)
            snprintf(err, errlen, "%s: offset 0: not a memscope archive", path);
    } else if (data[8] != ARCHIVE_VERSION || data[9] || data[10] || data[11]) {
        R.err = -ENOTSUP;
        if (errlen)
            snprintf(err, errlen, "%s: offset 8: archive version %u is not supported (this reader knows version %d)",
                     path, (unsigned)data[8] | (unsigned)data[9] << 8 | (unsigned)data[10] << 16 | (unsigned)data[11] << 24,
                     ARCHIVE_VERSION);
    } else {
        long n = msx_mpk_decode(&arena, data + ARCHIVE_HDR, len - ARCHIVE_HDR, &root);
        if (n == -ENOMEM) {
            oom(&R);
        } else if (n <= 0 || root.type != MSX_MAP) {
            R.err = -EINVAL;
            if (errlen)
                snprintf(err, errlen, "%s: offset %d: corrupt archive: %s", path, ARCHIVE_HDR,
                         n == 0 ? "truncated (a length runs past the end of the file)" : "not a MessagePack map");
        } else if (get_ku(&R, &root, "schema_version") != MSX_SCHEMA_VERSION) {
            R.err = -ENOTSUP;
            if (errlen)
                snprintf(err, errlen, "%s: archive holds report schema %llu, this reader knows %d", path,
                         (unsigned long long)msx_map_uint(&root, "schema_version", 0), MSX_SCHEMA_VERSION);
        } else if (!(R.r = calloc(1, sizeof *R.r))) {
            oom(&R);
        } else {
            get_source_summary(&R, &root);
            if (!R.err)
                get_process(&R, &root);
            if (!R.err)
                get_threads(&R, &root);
            if (!R.err)
                get_tasks(&R, &root);
            if (!R.err)
                msx_ar_get_vars(&R, &root);
            if (!R.err)
                msx_ar_get_snaps(&R, &root);
            if (!R.err) {
                const char *what = NULL;
                int hrc = msx_archive_get_hybrid(&root, R.r, &what);
                if (hrc == -ENOMEM)
                    oom(&R);
                else if (hrc < 0)
                    bad(&R, what);
            }
            if (!R.err)
                get_metrics_timeline(&R, &root);
            if (!R.err)
                get_rest(&R, &root);
            if (!R.err)
                msx_ar_get_sites(&R, &root);
            if (!R.err)
                msx_ar_get_est(&R, &root); /* after the sampling mode and the lists */
        }
    }
    msx_arena_free(&arena);
    free(data);
    if (R.err) {
        msx_report_free(R.r);
        return R.err;
    }
    *out = R.r;
    return 0;
}
