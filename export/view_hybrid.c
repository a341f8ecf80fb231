/* View: the hybrid report (report.h, msx_hybrid_report), joining threads,
 * tasks and variables (see views.h).
 *
 * - The thread x task matrix: each event counts in the cell of its thread
 *   and of the task current on that thread, as threads[] and tasks[] count
 *   it; a block's live bytes count in the cell of the thread and task it was
 *   born in, wherever it is freed. Only cells of a non-zero task are followed
 *   here: a thread's "no task" cell is what its threads[] figures leave over,
 *   so that each row adds up to its thread's figures, each column to its
 *   task's, exactly.
 * - Task spans: a thread's current task changes at its chunk headers, TASK
 *   records and its end (FORMAT.md); each change closes the span of the task
 *   it leaves, [since, now).
 * - Variables by thread and by task: the block events that carry a label
 *   (keys.var), counted in the cell of the block's thread and task, as
 *   view_vars.c counts them per label.
 *
 * The view is called only from the tasks and variables branches of the
 * dispatch (views.h), and allocates nothing before a task or a label. */
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Home slot of (task, thread) in an index of cap slots. */
static inline uint64_t cell_home(uint64_t task, uint32_t thread, uint64_t cap)
{
    return ((task * UINT64_C(0x9E3779B97F4A7C15)) ^ ((uint64_t)thread * UINT64_C(0xC2B2AE3D27D4EB4F))) & (cap - 1);
}

/* Doubles the cell index. Returns 0 or -ENOMEM. */
static int grow_index(msx_view_hybrid *v)
{
    uint64_t cap = v->slot_cap ? v->slot_cap * 2 : 256;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -ENOMEM;
    for (uint32_t i = 0; i < v->n; i++) {
        uint64_t j = cell_home(v->c[i].task, v->c[i].thread, cap);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = i + 1;
    }
    free(v->slot);
    v->slot = slot;
    v->slot_cap = cap;
    return 0;
}

/* The cell of (task, thread index), made if new: its index + 1, 0 when out
 * of memory. */
static uint32_t cell_get(msx_view_hybrid *v, uint64_t task, uint32_t thread)
{
    if (v->slot_cap) {
        for (uint64_t j = cell_home(task, thread, v->slot_cap);; j = (j + 1) & (v->slot_cap - 1)) {
            uint32_t s = v->slot[j];
            if (!s)
                break;
            if (v->c[s - 1].task == task && v->c[s - 1].thread == thread)
                return s;
        }
    }
    if (v->n == UINT32_MAX - 1)
        return 0;
    if (((uint64_t)v->n + 1) * 2 > v->slot_cap && grow_index(v) < 0)
        return 0;
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? (v->cap > UINT32_MAX / 2 ? UINT32_MAX - 1 : v->cap * 2) : 64;
        msx_hy_cell *c = realloc(v->c, (size_t)cap * sizeof *c);
        if (!c)
            return 0;
        v->c = c;
        v->cap = cap;
    }
    v->c[v->n] = (msx_hy_cell){ .task = task, .thread = thread };
    uint64_t j = cell_home(task, thread, v->slot_cap);
    while (v->slot[j])
        j = (j + 1) & (v->slot_cap - 1);
    v->slot[j] = ++v->n;
    return v->n;
}

/* The cell of a block: its task and thread (the current cell of that thread
 * when it matches). NULL when out of memory. */
static inline msx_hy_cell *cell_of(msx_view_hybrid *v, const msx_blk *b)
{
    if (v->th) {
        const msx_hy_thread *t = &v->th[b->thread];
        if (t->cell && t->task == b->keys.task)
            return &v->c[t->cell - 1];
    }
    uint32_t s = cell_get(v, b->keys.task, b->thread);
    return s ? &v->c[s - 1] : NULL;
}

/* Allocates the per-thread state. Returns 0 or -ENOMEM. */
static int need_threads(msx_view_hybrid *v)
{
    if (!v->th && !(v->th = calloc(v->nthreads ? v->nthreads : 1, sizeof *v->th)))
        return -ENOMEM;
    return 0;
}

void msx_view_hybrid_init(msx_view_hybrid *v, msx_report *r, const msx_reader *R)
{
    *v = (msx_view_hybrid){ .r = r, .nthreads = R->nthreads };
}

/* Counts an event in the cell of its thread's current task (the caller
 * checked that there is one). */
void msx_view_hybrid_op(msx_view_hybrid *v, const msx_op_ev *e)
{
    uint32_t s = v->th ? v->th[e->actor].cell : 0;
    if (!s || e->kind == MSF_K_FREE)
        return;
    v->c[s - 1].allocations++;
    v->c[s - 1].bytes += e->size;
}

/* Follows the live bytes of the blocks of each non-zero task by thread. */
void msx_view_hybrid_task_block(msx_view_hybrid *v, const msx_block_ev *e)
{
    msx_hy_cell *c;
    switch (e->kind) {
    case MSX_BEV_RESIZED:
        if (e->prev.keys.task && (c = cell_of(v, &e->prev)))
            c->live -= e->prev.size;
        __attribute__((fallthrough)); /* the block now */
    case MSX_BEV_BORN:
        if (e->blk.keys.task && (c = cell_of(v, &e->blk)))
            c->live += e->blk.size;
        break;
    case MSX_BEV_FREED:
        if (e->blk.keys.task && (c = cell_of(v, &e->blk)))
            c->live -= e->blk.size;
        break;
    default:
        break;
    }
}

/* Notes that label named a block of cell index ci (for the distinct
 * counts). Out of memory: the pair is not counted. */
static void pair_add(msx_view_hybrid *v, uint64_t label, uint64_t ci)
{
    if ((v->npairs + 1) * 2 > v->pairs_cap) {
        uint64_t cap = v->pairs_cap ? v->pairs_cap * 2 : 256;
        msx_hy_pair *p = calloc(cap, sizeof *p);
        if (!p)
            return;
        for (uint64_t i = 0; i < v->pairs_cap; i++) {
            if (!v->pairs[i].label)
                continue;
            uint64_t j = cell_home(v->pairs[i].label, (uint32_t)v->pairs[i].cell, cap);
            while (p[j].label)
                j = (j + 1) & (cap - 1);
            p[j] = v->pairs[i];
        }
        free(v->pairs);
        v->pairs = p;
        v->pairs_cap = cap;
    }
    uint64_t j = cell_home(label, (uint32_t)ci, v->pairs_cap);
    for (; v->pairs[j].label; j = (j + 1) & (v->pairs_cap - 1))
        if (v->pairs[j].label == label && v->pairs[j].cell == ci)
            return;
    v->pairs[j] = (msx_hy_pair){ label, ci };
    v->npairs++;
}

/* Follows labelled blocks by cell, as view_vars.c follows them by label: a
 * labelling counts once in blocks and bytes (a relabel too: it leaves the
 * block where it is), the live figures follow the block, and a cell's
 * labels are those its blocks carried at any time (a realloc by another
 * thread or task carries the block and its label there). */
void msx_view_hybrid_var_block(msx_view_hybrid *v, const msx_block_ev *e)
{
    msx_hy_cell *c;
    switch (e->kind) {
    case MSX_BEV_LABELED:
        if (e->prev.keys.var == e->blk.keys.var || !e->blk.keys.var || !(c = cell_of(v, &e->blk)))
            return;
        c->vblocks++;
        c->vbytes += e->blk.size;
        if (!e->prev.keys.var) {
            c->vlive_blocks++;
            c->vlive += e->blk.size;
        }
        pair_add(v, e->blk.keys.var, (uint64_t)(c - v->c));
        break;
    case MSX_BEV_RESIZED:
        if (!e->blk.keys.var)
            return;
        if ((c = cell_of(v, &e->prev))) {
            c->vlive_blocks--;
            c->vlive -= e->prev.size;
        }
        if ((c = cell_of(v, &e->blk))) {
            c->vlive_blocks++;
            c->vlive += e->blk.size;
            pair_add(v, e->blk.keys.var, (uint64_t)(c - v->c));
        }
        break;
    case MSX_BEV_BORN:  /* a labelled block moved by a realloc */
        if (e->blk.keys.var && (c = cell_of(v, &e->blk))) {
            c->vlive_blocks++;
            c->vlive += e->blk.size;
            pair_add(v, e->blk.keys.var, (uint64_t)(c - v->c));
        }
        break;
    case MSX_BEV_FREED:
        if (e->blk.keys.var && (c = cell_of(v, &e->blk))) {
            c->vlive_blocks--;
            c->vlive -= e->blk.size;
        }
        break;
    default:
        break;
    }
}

/* Thread th's current task becomes task at time: the span of the task it
 * leaves ends. Returns 0 or -ENOMEM. */
static int switch_task(msx_view_hybrid *v, uint32_t th, uint64_t task, uint64_t time)
{
    if (!v->th) {
        if (!task)
            return 0;
        if (need_threads(v) < 0)
            return -ENOMEM;
    }
    msx_hy_thread *t = &v->th[th];
    if (t->task == task)
        return 0;
    if (t->task) {
        if (t->nspans == MSX_HYBRID_SPANS) {
            t->omitted++;
        } else {
            if (t->nspans == t->cap) {
                uint32_t cap = t->cap ? t->cap * 2 : 8;
                msx_hybrid_span *s = realloc(t->spans, cap * sizeof *s);
                if (!s)
                    return -ENOMEM;
                t->spans = s;
                t->cap = cap;
            }
            t->spans[t->nspans++] = (msx_hybrid_span){ t->task, t->since, time > t->since ? time : t->since };
        }
    }
    t->task = task;
    t->since = time;
    t->cell = 0;
    if (task && !(t->cell = cell_get(v, task, th)))
        return -ENOMEM;
    return 0;
}

int msx_view_hybrid_control(msx_view_hybrid *v, const msx_ctl_ev *e)
{
    switch (e->kind) {
    case MSX_CTL_CHUNK:
        return switch_task(v, e->actor, e->chunk->task, e->time);
    case MSX_CTL_THREAD_DONE:
        return switch_task(v, e->actor, 0, e->time);
    case MSX_CTL_RECORD:
        return e->type == MSF_R_TASK ? switch_task(v, e->actor, e->obj->v.u, e->time) : 0;
    default:
        return 0;
    }
}

/* -- finishing ------------------------------------------------------------ */

/* Orders thread indices by bytes allocated, most first, then by id
 * (qsort_r; ctx is the report), as the JSON's thread cut does. */
static int thread_by_bytes(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_thread_report *x = &r->threads[*(const uint32_t *)a], *y = &r->threads[*(const uint32_t *)b];
    if (x->bytes_allocated != y->bytes_allocated)
        return x->bytes_allocated > y->bytes_allocated ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Orders task list indices the same way (ctx is the report). */
static int task_by_bytes(const void *a, const void *b, void *ctx)
{
    const msx_report *r = ctx;
    const msx_task_report *x = &r->tasklist[*(const uint32_t *)a], *y = &r->tasklist[*(const uint32_t *)b];
    if (x->bytes_allocated != y->bytes_allocated)
        return x->bytes_allocated > y->bytes_allocated ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Orders rows of variables by id. */
static int vars_cmp(const void *a, const void *b)
{
    return u64_cmp(&((const msx_hybrid_vars *)a)->id, &((const msx_hybrid_vars *)b)->id);
}

/* Orders pairs by their two fields. */
static int pair_cmp(const void *a, const void *b)
{
    const msx_hy_pair *x = a, *y = b;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    return x->cell < y->cell ? -1 : x->cell > y->cell;
}

/* Column of task id in the sorted listed columns, or the "other" one. */
static uint32_t column_of(const msx_hybrid_report *h, uint64_t task)
{
    const uint64_t *p = bsearch(&task, h->cols, h->ncols, sizeof *h->cols, u64_cmp);
    return p ? (uint32_t)(p - h->cols) : h->ncols;
}

/* Picks the rows (threads) and columns (tasks), and fills the matrix.
 * rowof[i]: the row of thread index i. Returns 0 or -ENOMEM. */
static int fill_matrix(msx_view_hybrid *v, uint32_t *rowof)
{
    msx_report *r = v->r;
    msx_hybrid_report *h = &r->hybrid;
    uint32_t nt = r->nthreads;
    uint32_t most = nt > r->ntasklist ? nt : r->ntasklist;
    uint32_t *order = malloc((size_t)(most ? most : 1) * sizeof *order);
    if (!order)
        return -ENOMEM;
    /* memscope's own streams (no events) are no threads of the program */
    uint32_t m = 0;
    for (uint32_t i = 0; i < nt; i++)
        if (!(v->internal && v->internal[i] && r->threads[i].events == 0))
            order[m++] = i;
    qsort_r(order, m, sizeof *order, thread_by_bytes, r);
    h->nrows = m < MSX_HYBRID_THREADS ? m : MSX_HYBRID_THREADS;
    h->rows_other = m - h->nrows;
    qsort(order, h->nrows, sizeof *order, u32_cmp);  /* index order is id order */
    for (uint32_t i = 0; i < nt; i++)  /* memscope's own streams: no row (they hold no event) */
        rowof[i] = v->internal && v->internal[i] && r->threads[i].events == 0 ? UINT32_MAX : h->nrows;
    for (uint32_t k = 0; k < h->nrows; k++) {
        rowof[order[k]] = k;
        h->rows[k] = r->threads[order[k]].id;
    }
    /* the task list holds the MSX_MAX_TASKS that allocated most, so its
     * first MSX_HYBRID_TASKS by the same order are the trace's */
    for (uint32_t i = 0; i < r->ntasklist; i++)
        order[i] = i;
    qsort_r(order, r->ntasklist, sizeof *order, task_by_bytes, r);
    uint32_t ntk = r->ntasklist < MSX_HYBRID_TASKS ? r->ntasklist : MSX_HYBRID_TASKS;
    h->cols[0] = 0;
    for (uint32_t k = 0; k < ntk; k++)
        h->cols[k + 1] = r->tasklist[order[k]].id;
    h->ncols = ntk + 1;
    qsort(h->cols + 1, ntk, sizeof *h->cols, u64_cmp);
    h->cols_other = r->tasks - ntk;
    free(order);

    uint32_t nr = msx_hybrid_nrows(h), nc = msx_hybrid_ncols(h);
    if (!(h->cells = calloc((size_t)nr * nc, sizeof *h->cells)))
        return -ENOMEM;
    /* what each thread did in some task, to leave its "no task" cell */
    uint64_t *in_task = calloc((size_t)nt * 3 + 1, sizeof *in_task);
    if (!in_task)
        return -ENOMEM;
    for (uint32_t i = 0; i < v->n; i++) {
        const msx_hy_cell *c = &v->c[i];
        if (!c->task || rowof[c->thread] == UINT32_MAX)
            continue;
        msx_hybrid_cell *o = &h->cells[(size_t)rowof[c->thread] * nc + column_of(h, c->task)];
        o->allocations += c->allocations;
        o->bytes += c->bytes;
        o->live_bytes += c->live;
        in_task[3 * c->thread] += c->allocations;
        in_task[3 * c->thread + 1] += c->bytes;
        in_task[3 * c->thread + 2] += c->live;
    }
    for (uint32_t i = 0; i < nt; i++) {
        const msx_thread_report *t = &r->threads[i];
        if (rowof[i] == UINT32_MAX)
            continue;
        msx_hybrid_cell *o = &h->cells[(size_t)rowof[i] * nc];
        uint64_t events = t->allocations + t->reallocs;
        /* the cells can only hold less: each event and block counted there is one of the thread's */
        o->allocations += events > in_task[3 * i] ? events - in_task[3 * i] : 0;
        o->bytes += t->bytes_allocated > in_task[3 * i + 1] ? t->bytes_allocated - in_task[3 * i + 1] : 0;
        o->live_bytes += t->live_bytes > in_task[3 * i + 2] ? t->live_bytes - in_task[3 * i + 2] : 0;
    }
    free(in_task);
    return 0;
}

/* The lanes: the spans of the listed threads that ran a task. */
static int fill_lanes(msx_view_hybrid *v, const uint32_t *rowof)
{
    msx_hybrid_report *h = &v->r->hybrid;
    if (!v->th)
        return 0;
    for (uint32_t i = 0; i < v->nthreads; i++) {
        msx_hy_thread *t = &v->th[i];
        if (!t->nspans || rowof[i] == UINT32_MAX)
            continue;
        if (rowof[i] == h->nrows) {
            h->lanes_omitted++;
            h->lane_spans_omitted += t->nspans + t->omitted;
            continue;
        }
        msx_hybrid_lane *l = &h->lanes[h->nlanes++];  /* thread index order is id order */
        *l = (msx_hybrid_lane){ .thread = v->r->threads[i].id, .nspans = t->nspans, .spans_omitted = t->omitted,
                                .spans = t->spans };
        t->spans = NULL;  /* the report owns them now */
    }
    return 0;
}

/* Variables by thread and by task, from the cells and the label pairs. */
static int fill_vars(msx_view_hybrid *v)
{
    msx_report *r = v->r;
    msx_hybrid_report *h = &r->hybrid;
    msx_hybrid_vars *th = NULL, *tk = NULL;
    uint32_t *cell_task = NULL;  /* cell index -> its row in tk */
    uint32_t nth = 0, ntk = 0;
    int rc = -ENOMEM;
    if (!v->n)
        return 0;
    if (!(th = calloc(v->nthreads ? v->nthreads : 1, sizeof *th)) || !(tk = calloc(v->n, sizeof *tk)) ||
        !(cell_task = malloc((size_t)v->n * sizeof *cell_task)))
        goto out;
    uint64_t *ids = malloc((size_t)v->n * sizeof *ids);
    if (!ids)
        goto out;
    for (uint32_t i = 0; i < v->n; i++)
        ids[i] = v->c[i].task;
    qsort(ids, v->n, sizeof *ids, u64_cmp);
    for (uint32_t i = 0; i < v->n; i++)
        if (!i || ids[i] != ids[i - 1])
            tk[ntk++].id = ids[i];
    free(ids);
    for (uint32_t i = 0; i < v->n; i++) {
        const msx_hy_cell *c = &v->c[i];
        msx_hybrid_vars key = { .id = c->task };
        msx_hybrid_vars *k = bsearch(&key, tk, ntk, sizeof *tk, vars_cmp);
        cell_task[i] = (uint32_t)(k - tk);
        msx_hybrid_vars *rows[2] = { &th[c->thread], k };
        for (int j = 0; j < 2; j++) {
            rows[j]->blocks += c->vblocks;
            rows[j]->bytes_labelled += c->vbytes;
            rows[j]->live_blocks += c->vlive_blocks;
            rows[j]->live_bytes += c->vlive;
        }
    }
    /* distinct labels: sort the (thread, label) and (task row, label) pairs */
    msx_hy_pair *p = malloc((v->npairs ? v->npairs : 1) * sizeof *p);
    if (!p)
        goto out;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t np = 0;
        for (uint64_t i = 0; i < v->pairs_cap; i++) {
            const msx_hy_pair *q = &v->pairs[i];
            if (q->label)  /* here: .label is the group, .cell the label */
                p[np++] = (msx_hy_pair){ pass ? cell_task[q->cell] : v->c[q->cell].thread, q->label };
        }
        qsort(p, np, sizeof *p, pair_cmp);
        for (uint64_t i = 0; i < np; i++)
            if (!i || p[i].label != p[i - 1].label || p[i].cell != p[i - 1].cell)
                (pass ? tk : th)[p[i].label].variables++;
    }
    free(p);
    /* keep the rows that labelled something, by id, at most MSX_HYBRID_VAR_ROWS */
    for (uint32_t i = 0; i < v->nthreads; i++)
        if (th[i].blocks) {
            th[i].id = r->threads[i].id;
            th[nth++] = th[i];
        }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < ntk; i++)
        if (tk[i].blocks)
            tk[kept++] = tk[i];
    ntk = kept;
    h->nby_thread = nth < MSX_HYBRID_VAR_ROWS ? nth : MSX_HYBRID_VAR_ROWS;
    h->by_thread_omitted = nth - h->nby_thread;
    h->nby_task = ntk < MSX_HYBRID_VAR_ROWS ? ntk : MSX_HYBRID_VAR_ROWS;
    h->by_task_omitted = ntk - h->nby_task;
    if (h->nby_thread) {
        h->by_thread = th;
        th = NULL;
    }
    if (h->nby_task) {
        h->by_task = tk;
        tk = NULL;
    }
    rc = 0;
out:
    free(th);
    free(tk);
    free(cell_task);
    return rc;
}

int msx_view_hybrid_finish(msx_view_hybrid *v)
{
    uint32_t *rowof = malloc(((size_t)v->r->nthreads + 1) * sizeof *rowof);
    int rc = !rowof ? -ENOMEM : fill_matrix(v, rowof);
    if (rc == 0)
        rc = fill_lanes(v, rowof);
    if (rc == 0)
        rc = fill_vars(v);
    free(rowof);
    return rc;
}

void msx_view_hybrid_free(msx_view_hybrid *v)
{
    for (uint32_t i = 0; v->th && i < v->nthreads; i++)
        free(v->th[i].spans);
    free(v->th);
    free(v->c);
    free(v->slot);
    free(v->pairs);
    *v = (msx_view_hybrid){ 0 };
}
