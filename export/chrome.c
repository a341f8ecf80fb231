/* The Chrome trace-event JSON ("Trace Event Format", as chrome://tracing and
 * the Perfetto UI import it) of a report: {"traceEvents": [...],
 * "displayTimeUnit": "ns", "otherData": {...}} (otherData's values are
 * strings, as the format has them). Times are microseconds since
 * the trace started, printed exactly (ns / 1000 with three decimals).
 *
 *   "M" process_name (the executable) and thread_name (tid: the memscope
 *       thread serial, as threads[].id of the JSON report)
 *   "C" counters on the process: "live heap" (all blocks), "live bytes:
 *       thread N NAME", "live bytes: task N NAME", "live bytes: other
 *       threads" / "other tasks" (r->counters, view_counters.c), and the
 *       METRIC samples "rss", "jemalloc active", "jemalloc resident" when
 *       they were recorded (r->mpoints)
 *   "X" task spans on the thread they ran on (r->hybrid.lanes), name the
 *       task's name (or "task N"), args task and parent ids
 *
 * Every string goes through msx_json_str (escaped, invalid UTF-8 replaced).
 * Without r->counters (a report read from an archive) the live heap comes
 * from the 512-point timeline and there are no thread or task counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct ctx {
    msx_buf *b;
    uint64_t pid;
    bool first;
} ctx;

/* Starts an event object with its phase, pid, tid and ts. */
static void ev_begin(ctx *c, char ph, uint64_t tid, uint64_t ns)
{
    msx_buf *b = c->b;
    msx_buf_puts(b, c->first ? "\n" : ",\n");
    c->first = false;
    msx_buf_printf(b, "{\"ph\":\"%c\",\"pid\":%llu,\"tid\":%llu,\"ts\":%llu.%03u", ph, (unsigned long long)c->pid,
                   (unsigned long long)tid, (unsigned long long)(ns / 1000), (unsigned)(ns % 1000));
}

/* Appends the name member `"name":` and prefix (plain ASCII), a space and
 * the raw bytes s (if any), as one JSON string. */
static void put_name(msx_buf *b, const char *prefix, const msx_str *s)
{
    msx_buf n = { 0 };
    msx_buf_puts(&n, prefix);
    if (s && s->n) {
        msx_buf_putc(&n, ' ');
        msx_buf_put(&n, s->p, s->n);
    }
    msx_buf_puts(b, "\"name\":");
    if (n.err)
        b->err = n.err;
    else
        msx_json_str(b, n.p, n.len);
    msx_buf_free(&n);
}

static void counter(ctx *c, const char *prefix, const msx_str *s, uint64_t ns, uint64_t v)
{
    ev_begin(c, 'C', 0, ns);
    msx_buf_putc(c->b, ',');
    put_name(c->b, prefix, s);
    msx_buf_puts(c->b, ",\"args\":{\"bytes\":");
    msx_buf_u64(c->b, v);
    msx_buf_puts(c->b, "}}");
}

/* A series: each interval's highest value at its time, then its last value
 * if it differs. */
static void series(ctx *c, const char *prefix, const msx_str *s, const msx_cseries *cs)
{
    for (uint32_t i = 0; i < cs->n; i++) {
        const msx_cpoint *p = &cs->p[i];
        counter(c, prefix, s, p->t_max, p->max);
        if (p->t_last != p->t_max || p->last != p->max)
            counter(c, prefix, s, p->t_last, p->last);
    }
}

static const msx_thread_report *thread_of(const msx_report *r, uint64_t serial)
{
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].id == serial)
            return &r->threads[i];
    return NULL;
}

static int task_cmp(const void *k, const void *e)
{
    uint64_t id = *(const uint64_t *)k, t = ((const msx_task_report *)e)->id;
    return id < t ? -1 : id > t;
}

/* The listed task of id (tasklist is by id), or NULL. */
static const msx_task_report *task_of(const msx_report *r, uint64_t id)
{
    return r->ntasklist ? bsearch(&id, r->tasklist, r->ntasklist, sizeof *r->tasklist, task_cmp) : NULL;
}

static void live_counters(ctx *c, const msx_report *r)
{
    const msx_counters *k = r->counters;
    char pre[64];
    if (!k) {  /* from an archive: the timeline */
        for (uint32_t i = 0; i < r->npoints; i++) {
            const msx_point *p = &r->timeline[i];
            counter(c, "live heap", NULL, p->time_ns, p->max_live_bytes);
            if (p->live_bytes != p->max_live_bytes) {
                uint64_t end = p->time_ns + r->timeline_bucket_ns;
                counter(c, "live heap", NULL, end < r->duration_ns ? end : r->duration_ns, p->live_bytes);
            }
        }
        return;
    }
    series(c, "live heap", NULL, &k->total);
    for (uint32_t i = 0; i < k->nthreads; i++) {
        const msx_thread_report *t = thread_of(r, k->threads[i].key);
        snprintf(pre, sizeof pre, "live bytes: thread %llu", (unsigned long long)k->threads[i].key);
        series(c, pre, t ? &t->name : NULL, &k->threads[i]);
    }
    if (k->threads_folded) {
        snprintf(pre, sizeof pre, "live bytes: %u other threads", k->threads_folded);
        series(c, pre, NULL, &k->thread_other);
    }
    for (uint32_t i = 0; i < k->ntasks; i++) {
        const msx_task_report *t = task_of(r, k->tasks[i].key);
        snprintf(pre, sizeof pre, "live bytes: task %llu", (unsigned long long)k->tasks[i].key);
        series(c, pre, t ? &t->name : NULL, &k->tasks[i]);
    }
    if (k->tasks_folded) {
        snprintf(pre, sizeof pre, "live bytes: %llu other tasks", (unsigned long long)k->tasks_folded);
        series(c, pre, NULL, &k->task_other);
    }
}

/* The METRIC keys drawn, and their counter names. */
static const struct {
    const char *key, *name;
} metric_tracks[] = { { "rss", "rss" }, { "active", "jemalloc active" }, { "resident", "jemalloc resident" } };

static void metric_counters(ctx *c, const msx_report *r)
{
    for (size_t m = 0; m < sizeof metric_tracks / sizeof metric_tracks[0]; m++) {
        unsigned k = 0;
        while (k < MSX_METRIC_KEYS && strcmp(msx_metric_key_names[k], metric_tracks[m].key))
            k++;
        if (k == MSX_METRIC_KEYS)
            continue;
        for (uint32_t i = 0; i < r->nmpoints; i++)
            if (r->mpoints[i].have & (1u << k))
                counter(c, metric_tracks[m].name, NULL, r->mpoints[i].time_ns, r->mpoints[i].v[k]);
    }
}

static void spans(ctx *c, const msx_report *r)
{
    char pre[48];
    for (uint32_t l = 0; l < r->hybrid.nlanes; l++) {
        const msx_hybrid_lane *ln = &r->hybrid.lanes[l];
        for (uint32_t i = 0; i < ln->nspans; i++) {
            const msx_hybrid_span *s = &ln->spans[i];
            const msx_task_report *t = task_of(r, s->task);
            uint64_t dur = s->end_ns - s->start_ns;
            ev_begin(c, 'X', ln->thread, s->start_ns);
            msx_buf_printf(c->b, ",\"dur\":%llu.%03u,\"cat\":\"task\"", (unsigned long long)(dur / 1000),
                           (unsigned)(dur % 1000));
            if (t && t->name.n) {
                msx_buf_puts(c->b, ",\"name\":");
                msx_json_str(c->b, t->name.p, t->name.n);
            } else {
                snprintf(pre, sizeof pre, "task %llu", (unsigned long long)s->task);
                msx_buf_putc(c->b, ',');
                put_name(c->b, pre, NULL);
            }
            msx_buf_printf(c->b, ",\"args\":{\"task\":%llu,\"parent\":%llu}}", (unsigned long long)s->task,
                           (unsigned long long)(t ? t->parent : 0));
        }
    }
}

static void metadata(ctx *c, const msx_report *r)
{
    msx_buf *b = c->b;
    ev_begin(c, 'M', 0, 0);
    msx_buf_puts(b, ",\"name\":\"process_name\",\"args\":{\"name\":");
    const msx_str *exe = r->exe.n ? &r->exe : &r->file;
    msx_json_str(b, exe->p ? exe->p : "", exe->n);
    msx_buf_puts(b, "}}");
    for (uint32_t i = 0; i < r->nthreads; i++) {
        const msx_thread_report *t = &r->threads[i];
        char pre[32];
        ev_begin(c, 'M', t->id, 0);
        msx_buf_puts(b, ",\"name\":\"thread_name\",\"args\":{");
        if (t->name.n) {
            msx_buf_puts(b, "\"name\":");
            msx_json_str(b, t->name.p, t->name.n);
        } else {
            snprintf(pre, sizeof pre, "thread %u", t->id);
            put_name(b, pre, NULL);
        }
        msx_buf_puts(b, "}}");
    }
}

int msx_render_chrome(msx_buf *b, const msx_report *r)
{
    ctx c = { .b = b, .pid = r->pid, .first = true };
    msx_buf_puts(b, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"memscope\",\"trace\":");
    msx_json_str(b, r->file.p ? r->file.p : "", r->file.n);
    const msx_counters *k = r->counters;
    msx_buf_printf(b, ",\"counter_interval_ns\":\"%llu\",\"threads_folded\":\"%u\",\"tasks_folded\":\"%llu\"",
                   (unsigned long long)(k ? k->interval_ns : r->timeline_bucket_ns), k ? k->threads_folded : 0,
                   (unsigned long long)(k ? k->tasks_folded : 0));
    msx_buf_printf(b, ",\"lanes_omitted\":\"%llu\",\"lanes_omitted_spans\":\"%llu\"",
                   (unsigned long long)r->hybrid.lanes_omitted, (unsigned long long)r->hybrid.lane_spans_omitted);
    uint64_t so = 0;
    for (uint32_t l = 0; l < r->hybrid.nlanes; l++)
        so += r->hybrid.lanes[l].spans_omitted;
    msx_buf_printf(b, ",\"spans_omitted\":\"%llu\"},\n\"traceEvents\":[", (unsigned long long)so);
    metadata(&c, r);
    live_counters(&c, r);
    metric_counters(&c, r);
    spans(&c, r);
    msx_buf_puts(b, "\n]}\n");
    return b->err;
}
