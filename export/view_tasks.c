/* View: per-task figures and the distinct task ids (see views.h).
 *
 * A thread's current task comes from its chunk headers and TASK records
 * (the merge applies them to its cursor and hands them here in the same
 * order). Events are counted on the task current on their thread, as the
 * threads view counts them on their thread; a block belongs to the task in
 * its keys (the one current when it was born), so its free counts there,
 * whichever thread and task free it. Names and parents come from TASK_CREATE,
 * `ended` from TASK_END. */
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Home slot of id in the index. */
static inline uint64_t home(const msx_view_tasks *v, uint64_t id)
{
    return (id * UINT64_C(0x9E3779B97F4A7C15)) & (v->slot_cap - 1);
}

/* Index of task id in t[], or -1 if unknown. */
static inline int64_t find(const msx_view_tasks *v, uint64_t id)
{
    if (!v->slot_cap)
        return -1;
    for (uint64_t j = home(v, id);; j = (j + 1) & (v->slot_cap - 1)) {
        uint32_t s = v->slot[j];
        if (!s)
            return -1;
        if (v->t[s - 1].id == id)
            return s - 1;
    }
}

/* Doubles the index (or makes the first one). Returns 0 or -ENOMEM. */
static int grow_index(msx_view_tasks *v)
{
    uint64_t cap = v->slot_cap ? v->slot_cap * 2 : 256;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -ENOMEM;
    uint32_t *old = v->slot;
    v->slot = slot;
    v->slot_cap = cap;
    for (uint32_t i = 0; i < v->n; i++) {
        uint64_t j = home(v, v->t[i].id);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = i + 1;
    }
    free(old);
    return 0;
}

/* Index of task id (non-zero) in t[], made if new. Returns -ENOMEM when out
 * of memory (or of 32-bit indices). */
static int64_t get(msx_view_tasks *v, uint64_t id)
{
    int64_t i = find(v, id);
    if (i >= 0)
        return i;
    if (v->n == UINT32_MAX - 1)
        return -ENOMEM;
    if (((uint64_t)v->n + 1) * 2 > v->slot_cap && grow_index(v) < 0)
        return -ENOMEM;
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? (v->cap > UINT32_MAX / 2 ? UINT32_MAX - 1 : v->cap * 2) : 64;
        msx_task_state *t = realloc(v->t, (size_t)cap * sizeof *t);
        if (!t)
            return -ENOMEM;
        v->t = t;
        v->cap = cap;
    }
    msx_task_state *st = &v->t[v->n];
    memset(st, 0, sizeof *st);
    st->id = id;
    st->first = UINT64_MAX;
    uint64_t j = home(v, id);
    while (v->slot[j])
        j = (j + 1) & (v->slot_cap - 1);
    v->slot[j] = v->n + 1;
    return v->n++;
}

/* Widens a task's time span to include time. */
static inline void note_time(msx_task_state *st, uint64_t time)
{
    if (time < st->first)
        st->first = time;
    if (time > st->last)
        st->last = time;
}

/* Notes that task i was current on thread th. Returns 0 or -ENOMEM. */
static int add_thread(msx_view_tasks *v, uint32_t i, uint32_t th)
{
    msx_task_state *st = &v->t[i];
    if (st->nthreads == 0) {
        st->thread0 = th;
        st->nthreads = 1;
        return 0;
    }
    if (st->thread0 == th)
        return 0;
    uint32_t listed = st->nthreads < MSX_TASK_THREADS ? st->nthreads : MSX_TASK_THREADS;
    for (uint32_t k = 0; k + 1 < listed; k++)
        if (st->more[k] == th)
            return 0;
    if (st->nthreads >= MSX_TASK_THREADS) {
        int rc = msx_idset_add(&v->over, ((uint64_t)i << MSX_THREAD_BITS | th) + 1);
        if (rc > 0)
            st->nthreads++;
        return rc < 0 ? rc : 0;
    }
    if (!st->more && !(st->more = malloc((MSX_TASK_THREADS - 1) * sizeof *st->more)))
        return -ENOMEM;
    st->more[st->nthreads - 1] = th;
    st->nthreads++;
    return 0;
}

/* Thread th's current task becomes id (0: none) at time: the task it leaves
 * and the one it enters see the time. Returns 0 or -ENOMEM. */
static int enter(msx_view_tasks *v, uint32_t th, uint64_t id, uint64_t time)
{
    if (!v->cur) {
        if (!id)
            return 0;
        if (!(v->cur = calloc(v->nthreads ? v->nthreads : 1, sizeof *v->cur)))
            return -ENOMEM;
    }
    uint32_t old = v->cur[th];
    if (old) {
        if (v->t[old - 1].id == id)
            return 0;
        note_time(&v->t[old - 1], time);
    }
    v->cur[th] = 0;
    if (!id)
        return 0;
    int64_t i = get(v, id);
    if (i < 0)
        return -ENOMEM;
    v->cur[th] = (uint32_t)i + 1;
    note_time(&v->t[i], time);
    return add_thread(v, (uint32_t)i, th);
}

/* Sets up the view for the reader's threads; nothing is allocated until a
 * task is seen. */
int msx_view_tasks_init(msx_view_tasks *v, msx_report *r, const msx_reader *R)
{
    memset(v, 0, sizeof *v);
    v->r = r;
    v->nthreads = R->nthreads;
    return 0;
}

/* Counts an event on the task current on its thread (the caller checked
 * that there is one). */
void msx_view_tasks_op(msx_view_tasks *v, const msx_op_ev *e)
{
    msx_task_state *st = &v->t[v->cur[e->actor] - 1];
    switch (e->kind) {
    case MSF_K_ALLOC:
        st->allocations++;
        st->bytes_allocated += e->size;
        break;
    case MSF_K_REALLOC:
        st->reallocs++;
        st->bytes_allocated += e->size;
        break;
    default:
        break;
    }
    note_time(st, e->time);
}

/* The state of task id (the key of a block of thread th), NULL for 0. */
static inline msx_task_state *task_of(msx_view_tasks *v, uint64_t id, uint32_t th)
{
    if (!id)
        return NULL;
    uint32_t c = v->cur[th];
    if (c && v->t[c - 1].id == id)
        return &v->t[c - 1];
    if (id == v->last_id)
        return &v->t[v->last_idx];
    int64_t i = find(v, id);  /* always known: the id came from a control event */
    if (i < 0)
        return NULL;
    v->last_id = id;
    v->last_idx = (uint32_t)i;
    return &v->t[i];
}

/* Adds a block to its task's live bytes and peak. */
static inline void task_gains(msx_task_state *st, uint64_t size, uint64_t time)
{
    if (!st)
        return;
    st->live += size;
    if (st->live > st->peak) {
        st->peak = st->live;
        st->peak_time = time;
    }
}

/* Follows the live bytes of each task's blocks and the frees of them. */
void msx_view_tasks_block(msx_view_tasks *v, const msx_block_ev *e)
{
    msx_task_state *st;
    switch (e->kind) {
    case MSX_BEV_BORN:
        task_gains(task_of(v, e->blk.keys.task, e->blk.thread), e->blk.size, e->time);
        break;
    case MSX_BEV_RESIZED:
        if ((st = task_of(v, e->prev.keys.task, e->prev.thread)))
            st->live -= e->prev.size;
        task_gains(task_of(v, e->blk.keys.task, e->blk.thread), e->blk.size, e->time);
        break;
    case MSX_BEV_FREED:
        if (!(st = task_of(v, e->blk.keys.task, e->blk.thread)))
            break;
        st->live -= e->blk.size;
        if (!(e->flags & MSX_BEVF_REALLOC)) {
            st->frees++;
            if (e->actor != e->blk.thread)
                st->cross_thread_frees++;
        }
        break;
    case MSX_BEV_SURVIVED:
    case MSX_BEV_LABELED:
        break;
    }
}

/* Current tasks (chunk headers, TASK), TASK_CREATE, TASK_END, and a thread's
 * end, which leaves its task. Returns 0 or -ENOMEM. */
int msx_view_tasks_control(msx_view_tasks *v, const msx_ctl_ev *e)
{
    switch (e->kind) {
    case MSX_CTL_CHUNK:
        return enter(v, e->actor, e->chunk->task, e->time);
    case MSX_CTL_THREAD_DONE:
        return enter(v, e->actor, 0, e->time);
    case MSX_CTL_RECORD:
        break;
    default:
        return 0;
    }
    if (e->type == MSF_R_TASK)
        return enter(v, e->actor, e->obj->v.u, e->time);
    if (e->type != MSF_R_TASK_CREATE && e->type != MSF_R_TASK_END)
        return 0;
    int64_t i = get(v, msx_map_uint(e->obj, MSF_KEY_ID, 0));  /* the merge checked: a non-zero uint */
    if (i < 0)
        return -ENOMEM;
    msx_task_state *st = &v->t[i];
    note_time(st, e->time);
    if (e->type == MSF_R_TASK_END) {
        st->ended = true;
        return 0;
    }
    st->parent = msx_map_uint(e->obj, MSF_KEY_PARENT, 0);
    return msx_str_take(&st->name, msx_map_get(e->obj, MSF_KEY_NAME));
}

/* Orders task indices by bytes allocated, most first, then by id (qsort_r;
 * ctx is the view). */
static int task_by_bytes(const void *a, const void *b, void *ctx)
{
    const msx_view_tasks *v = ctx;
    const msx_task_state *x = &v->t[*(const uint32_t *)a], *y = &v->t[*(const uint32_t *)b];
    if (x->bytes_allocated != y->bytes_allocated)
        return x->bytes_allocated > y->bytes_allocated ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Orders task indices by id (qsort_r; ctx is the view). */
static int task_by_id(const void *a, const void *b, void *ctx)
{
    const msx_view_tasks *v = ctx;
    uint64_t x = v->t[*(const uint32_t *)a].id, y = v->t[*(const uint32_t *)b].id;
    return x < y ? -1 : x > y;
}

/* Orders thread serials. */
static int serial_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Writes the task count and the list: the MSX_MAX_TASKS tasks with most
 * bytes allocated, by id; their names move to the report. Returns 0 or
 * -ENOMEM. */
int msx_view_tasks_finish(msx_view_tasks *v)
{
    msx_report *r = v->r;
    r->tasks = v->n;
    if (!v->n)
        return 0;
    uint32_t *order = malloc((size_t)v->n * sizeof *order);
    uint32_t n = v->n < MSX_MAX_TASKS ? v->n : MSX_MAX_TASKS;
    msx_task_report *out = calloc(n, sizeof *out);
    if (!order || !out) {
        free(order);
        free(out);
        return -ENOMEM;
    }
    if (v->n > n) {
        /* the n first by task_by_bytes: a heap whose root is the last of
         * them (n log n per task instead of sorting them all) */
        for (uint32_t i = 0; i < v->n; i++) {
            uint32_t k;
            if (i < n) {
                k = i; /* sift up */
                order[k] = i;
                while (k && task_by_bytes(&order[(k - 1) / 2], &order[k], v) < 0) {
                    uint32_t p = (k - 1) / 2, x = order[p];
                    order[p] = order[k];
                    order[k] = x;
                    k = p;
                }
                continue;
            }
            if (task_by_bytes(&i, &order[0], v) >= 0)
                continue; /* comes after the last kept one */
            order[0] = i;
            for (k = 0;;) { /* sift down */
                uint32_t l = 2 * k + 1, r2 = l + 1, m = k;
                if (l < n && task_by_bytes(&order[m], &order[l], v) < 0)
                    m = l;
                if (r2 < n && task_by_bytes(&order[m], &order[r2], v) < 0)
                    m = r2;
                if (m == k)
                    break;
                uint32_t x = order[m];
                order[m] = order[k];
                order[k] = x;
                k = m;
            }
        }
    } else {
        for (uint32_t i = 0; i < v->n; i++)
            order[i] = i;
    }
    qsort_r(order, n, sizeof *order, task_by_id, v);
    for (uint32_t k = 0; k < n; k++) {
        msx_task_state *st = &v->t[order[k]];
        msx_task_report *o = &out[k];
        *o = (msx_task_report){
            .id = st->id, .parent = st->parent, .name = st->name, .ended = st->ended,
            .allocations = st->allocations, .reallocs = st->reallocs, .bytes_allocated = st->bytes_allocated,
            .frees = st->frees, .cross_thread_frees = st->cross_thread_frees, .live_bytes = st->live,
            .peak_live_bytes = st->peak, .peak_time_ns = st->peak_time,
            .first_time_ns = st->first == UINT64_MAX ? 0 : st->first, .last_time_ns = st->last,
            .nthreads = st->nthreads,
        };
        st->name = (msx_str){ 0 };  /* the report owns it now */
        o->nlisted = st->nthreads < MSX_TASK_THREADS ? st->nthreads : MSX_TASK_THREADS;
        for (uint32_t j = 0; j < o->nlisted; j++)
            o->threads[j] = r->threads[j ? st->more[j - 1] : st->thread0].id;
        qsort(o->threads, o->nlisted, sizeof *o->threads, serial_cmp);
    }
    free(order);
    r->tasks = v->n;
    r->ntasklist = n;
    r->tasks_omitted = v->n - n;
    r->tasklist = out;
    return 0;
}

/* Frees the view's memory (not what moved to the report). */
void msx_view_tasks_free(msx_view_tasks *v)
{
    for (uint32_t i = 0; i < v->n; i++) {
        free(v->t[i].name.p);
        free(v->t[i].more);
    }
    free(v->t);
    free(v->slot);
    free(v->cur);
    free(v->over.k);
    memset(v, 0, sizeof *v);
}
