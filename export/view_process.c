/* View: the process (PROCESS, FORK, END records), its METRIC series, dropped
 * records (see views.h); task ids are view_tasks.c's. */
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Sets up the view. */
void msx_view_process_init(msx_view_process *v, msx_report *r)
{
    v->r = r;
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
        return 0;
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

/* Writes the dropped-events figure. */
void msx_view_process_finish(msx_view_process *v)
{
    msx_report *r = v->r;
    r->dropped_events = r->dropped_header > r->dropped_records ? r->dropped_header : r->dropped_records;
}

/* Frees the view's memory. */
void msx_view_process_free(msx_view_process *v)
{
    (void)v;
}
