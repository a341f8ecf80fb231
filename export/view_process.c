/* View: the process (PROCESS, FORK, END records), its METRIC values and
 * their timeline, dropped records (see views.h); task ids are view_tasks.c's. */
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const msx_metric_key_names[MSX_METRIC_KEYS] = {
    MSF_M_RSS, MSF_M_MINFLT, MSF_M_MAJFLT, MSF_M_READ_BYTES, MSF_M_WRITE_BYTES,
    MSF_M_ALLOCATED, MSF_M_ACTIVE, MSF_M_RESIDENT, MSF_M_RETAINED, MSF_M_MAPPED,
};

/* Sets up the view; the metrics timeline starts at the resolution the
 * live-bytes timeline starts at. */
void msx_view_process_init(msx_view_process *v, msx_report *r, const msx_reader *R)
{
    v->r = r;
    uint64_t span = R->max_time > R->end_time ? R->max_time : R->end_time;
    v->mshift = 10;
    while ((span >> v->mshift) >= MSX_METRIC_POINTS)
        v->mshift++;
}

/* Halves the metrics timeline's resolution: slot i keeps the later sample of
 * slots 2i and 2i+1. */
static void metric_double(msx_view_process *v)
{
    for (unsigned i = 0; i < MSX_METRIC_POINTS / 2; i++) {
        unsigned a = 2 * i, b = 2 * i + 1;
        unsigned keep = v->mused[b] ? b : a;
        bool used = v->mused[a] || v->mused[b];
        if (v->mused[a] && keep != a)
            free(v->mslot[a].threads);
        v->mslot[i] = v->mslot[keep];
        v->mused[i] = used;
    }
    memset(&v->mslot[MSX_METRIC_POINTS / 2], 0, sizeof *v->mslot * (MSX_METRIC_POINTS / 2));
    memset(&v->mused[MSX_METRIC_POINTS / 2], 0, sizeof *v->mused * (MSX_METRIC_POINTS / 2));
    v->mshift++;
}

/* Reads a METRIC record's values into p (threads allocated). Malformed
 * values are left out. Returns 0 or -ENOMEM. */
static int metric_point(msx_metric_point *p, const msx_obj *o, uint64_t time)
{
    memset(p, 0, sizeof *p);
    p->time_ns = time;
    for (uint32_t i = 0; i < o->n; i++) {
        const msx_obj *k = &o->v.a[2 * i], *val = &o->v.a[2 * i + 1];
        if (k->type != MSX_STR)
            continue;
        if (k->n == sizeof MSF_KEY_THREADS - 1 && !memcmp(k->v.s, MSF_KEY_THREADS, k->n)) {
            if (val->type != MSX_ARRAY || p->has_threads)
                continue;
            p->has_threads = true;
            p->threads = malloc((val->n ? val->n : 1) * sizeof *p->threads);
            if (!p->threads)
                return -ENOMEM;
            for (uint32_t j = 0; j < val->n; j++) {
                const msx_obj *e = &val->v.a[j];
                if (e->type == MSX_ARRAY && e->n == 2 && e->v.a[0].type == MSX_UINT &&
                    e->v.a[1].type == MSX_UINT)
                    p->threads[p->nthreads++] = (msx_cpu){ e->v.a[0].v.u, e->v.a[1].v.u };
            }
            continue;
        }
        if (val->type != MSX_UINT)
            continue;
        for (unsigned m = 0; m < MSX_METRIC_KEYS; m++) {
            if (strlen(msx_metric_key_names[m]) == k->n && !memcmp(k->v.s, msx_metric_key_names[m], k->n)) {
                p->v[m] = val->v.u;
                p->have |= 1u << m;
            }
        }
    }
    return 0;
}

/* Puts a METRIC sample into its slot of the timeline: the latest sample of
 * an interval stays (on equal times, the one merged last). Returns 0 or
 * -ENOMEM. */
static int note_sample(msx_view_process *v, const msx_obj *o, uint64_t time)
{
    v->r->metric_samples++;
    if (!v->mslot) {
        v->mslot = calloc(MSX_METRIC_POINTS, sizeof *v->mslot);
        v->mused = calloc(MSX_METRIC_POINTS, sizeof *v->mused);
        if (!v->mslot || !v->mused)
            return -ENOMEM;
    }
    while ((time >> v->mshift) >= MSX_METRIC_POINTS)
        metric_double(v);
    uint64_t i = time >> v->mshift;
    if (v->mused[i] && v->mslot[i].time_ns > time)
        return 0;
    msx_metric_point p;
    int rc = metric_point(&p, o, time);
    if (rc < 0) {
        free(p.threads);
        return rc;
    }
    if (v->mused[i])
        free(v->mslot[i].threads);
    v->mslot[i] = p;
    v->mused[i] = true;
    return 0;
}

/* Updates a METRIC series. Returns 0 or -ENOMEM. */
static int note_metric(msx_report *r, const msx_obj *k, uint64_t val)
{
    for (uint32_t i = 0; i < r->nmetrics; i++) {
        msx_metric *m = &r->metrics[i];
        if (m->name.n == k->n && memcmp(m->name.p, k->v.s, k->n) == 0) {
            m->last = val;
            if (val > m->max)
                m->max = val;
            return 0;
        }
    }
    if (r->nmetrics == MSX_MAX_METRICS)
        return 0;
    msx_metric *m = &r->metrics[r->nmetrics];
    if (msx_str_set(&m->name, k->v.s, k->n) < 0)
        return -ENOMEM;
    m->last = m->max = val;
    r->nmetrics++;
    return 0;
}

/* Copies PROCESS fields. Returns 0 or -ENOMEM. */
static int take_process(msx_report *r, const msx_obj *o)
{
    r->pid = msx_map_uint(o, MSF_KEY_PID, r->pid);
    r->ppid = msx_map_uint(o, MSF_KEY_PPID, r->ppid);
    if (msx_str_take(&r->exe, msx_map_get(o, MSF_KEY_EXE)) < 0)
        return -ENOMEM;
    const msx_obj *argv = msx_map_get(o, MSF_KEY_ARGV);
    if (argv && argv->type == MSX_ARRAY && !r->argv) {
        r->argv = calloc(argv->n ? argv->n : 1, sizeof *r->argv);
        if (!r->argv)
            return -ENOMEM;
        for (uint32_t i = 0; i < argv->n; i++) {
            const msx_obj *a = &argv->v.a[i];
            if (a->type != MSX_STR && a->type != MSX_BIN)
                continue;
            if (msx_str_take(&r->argv[r->nargv], a) < 0)
                return -ENOMEM;
            r->nargv++;
        }
    }
    const msx_obj *cfg = msx_map_get(o, MSF_KEY_CONFIG);
    if (cfg && cfg->type == MSX_MAP && !r->config) {
        r->config = calloc(cfg->n ? 2 * (size_t)cfg->n : 1, sizeof *r->config);
        if (!r->config)
            return -ENOMEM;
        for (uint32_t i = 0; i < cfg->n; i++) {
            const msx_obj *k = &cfg->v.a[2 * i], *val = &cfg->v.a[2 * i + 1];
            if (k->type != MSX_STR || (val->type != MSX_STR && val->type != MSX_BIN))
                continue;
            msx_str *kv = &r->config[2 * r->nconfig];
            if (msx_str_take(&kv[0], k) < 0 || msx_str_take(&kv[1], val) < 0) {
                free(kv[0].p);
                kv[0].p = NULL;
                return -ENOMEM;
            }
            r->nconfig++;
        }
    }
    return 0;
}

/* Applies the records this view follows. */
int msx_view_process_control(msx_view_process *v, const msx_ctl_ev *e)
{
    msx_report *r = v->r;
    if (e->kind != MSX_CTL_RECORD)
        return 0;
    const msx_obj *o = e->obj;
    switch (e->type) {
    case MSF_R_PROCESS:
        return take_process(r, o);
    case MSF_R_DROPPED:
        r->dropped_records += o->v.u;
        return 0;
    case MSF_R_METRIC:
        for (uint32_t i = 0; i < o->n; i++) {
            const msx_obj *k = &o->v.a[2 * i], *val = &o->v.a[2 * i + 1];
            if (k->type == MSX_STR && val->type == MSX_UINT && note_metric(r, k, val->v.u) < 0)
                return -ENOMEM;
        }
        return note_sample(v, o, e->time);
    case MSF_R_FORK:
        r->forked = true;
        r->parent_pid = msx_map_uint(o, MSF_KEY_PARENT_PID, 0);
        return 0;
    case MSF_R_END: {
        r->complete = true;
        v->end_time = msx_map_uint(o, MSF_KEY_TIME, e->time);
        const msx_obj *how = msx_map_get(o, MSF_KEY_HOW);
        v->end_how = MSF_END_EXIT; /* version 1, or no "how": an exit flush */
        if (how && how->type == MSX_STR) {
            if (how->n == sizeof MSF_HOW__EXIT - 1 && !memcmp(how->v.s, MSF_HOW__EXIT, how->n))
                v->end_how = MSF_END__EXIT;
            else if (how->n == sizeof MSF_HOW_EXEC - 1 && !memcmp(how->v.s, MSF_HOW_EXEC, how->n))
                v->end_how = MSF_END_EXEC;
        }
        return 0;
    }
    default:  /* MODULES, STACK, TASK, the version-2 records (other views) and unknown types */
        return 0;
    }
}

/* Writes the dropped-events figure and hands the metrics timeline's samples
 * to the report, in time order. */
void msx_view_process_finish(msx_view_process *v)
{
    msx_report *r = v->r;
    r->dropped_events = r->dropped_header > r->dropped_records ? r->dropped_header : r->dropped_records;
    for (unsigned i = 0; v->mslot && i < MSX_METRIC_POINTS; i++) {
        if (!v->mused[i])
            continue;
        r->mpoints[r->nmpoints++] = v->mslot[i];
        v->mused[i] = false;
    }
}

/* Frees the view's memory (samples not handed to the report). */
void msx_view_process_free(msx_view_process *v)
{
    for (unsigned i = 0; v->mslot && i < MSX_METRIC_POINTS; i++)
        if (v->mused[i])
            free(v->mslot[i].threads);
    free(v->mslot);
    free(v->mused);
    v->mslot = NULL;
    v->mused = NULL;
}
