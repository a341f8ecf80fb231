/* The core tests' own decoder of docs/FORMAT.md. See trace_reader.h. */
#include "trace_reader.h"

#include "format.h"

#include <dirent.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static tr_thread_t *thread_get(tr_trace_t *t, uint32_t serial)
{
    for (int i = 0; i < t->nthreads; i++)
        if (t->threads[i].serial == serial)
            return &t->threads[i];
    if (t->nthreads == TR_MAX_THREADS)
        return NULL;
    tr_thread_t *th = &t->threads[t->nthreads++];
    memset(th, 0, sizeof *th);
    th->serial = serial;
    return th;
}

const tr_thread_t *tr_thread(const tr_trace_t *t, uint32_t serial)
{
    for (int i = 0; i < t->nthreads; i++)
        if (t->threads[i].serial == serial)
            return &t->threads[i];
    return NULL;
}

static void push(tr_trace_t *t, tr_event_t e)
{
    e.next_time = UINT64_MAX;
    if (t->nev == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4096;
        t->ev = realloc(t->ev, t->cap * sizeof *t->ev);
    }
    t->ev[t->nev++] = e;
}

static int64_t zz(uint64_t v) { return (int64_t)msf_zz_dec(v); }

static const msgpack_object *map_get(const msgpack_object *o, const char *key)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

static void copy_str(char *dst, size_t len, const msgpack_object *o)
{
    dst[0] = '\0';
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return;
    size_t n = o->via.str.size < len - 1 ? o->via.str.size : len - 1;
    memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
}

/* A TIME (or a chunk's time) after events of th: their window ends there. */
static void close_window(tr_trace_t *t, tr_thread_t *th, uint64_t time)
{
    for (size_t k = th->open_from; k < t->nev; k++)
        if (t->ev[k].thread == th->serial)
            t->ev[k].next_time = time;
    th->open_from = t->nev;
}

/* Adds the module paths of a MODULES record to the trace's list of every
 * path any MODULES record named. */
static void copy_modules(tr_trace_t *t, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return;
    for (uint32_t i = 0; i < o->via.array.size && t->nmodule_paths < TR_MAX_MODULES; i++) {
        char path[256];
        copy_str(path, sizeof path, map_get(&o->via.array.ptr[i], MSF_KEY_PATH));
        bool known = false;
        for (int k = 0; k < t->nmodule_paths && !known; k++)
            known = strcmp(t->module_paths[k], path) == 0;
        if (!known)
            strcpy(t->module_paths[t->nmodule_paths++], path);
    }
}

/* Copies a METRIC record's map. */
static void copy_metric(tr_metric_t *m, const msgpack_object *o, uint64_t time, bool internal)
{
    static const char *const keys[TR_M_KEYS] = {
        MSF_M_RSS, MSF_M_MINFLT, MSF_M_MAJFLT, MSF_M_READ_BYTES, MSF_M_WRITE_BYTES,
        MSF_M_ALLOCATED, MSF_M_ACTIVE, MSF_M_RESIDENT, MSF_M_RETAINED, MSF_M_MAPPED,
    };
    memset(m, 0, sizeof *m);
    m->time = time;
    m->internal = internal;
    for (int k = 0; k < TR_M_KEYS; k++) {
        const msgpack_object *v = map_get(o, keys[k]);
        if (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            m->have |= 1u << k;
            m->v[k] = v->via.u64;
        }
    }
    const msgpack_object *th = map_get(o, MSF_KEY_THREADS);
    if (th && th->type == MSGPACK_OBJECT_ARRAY) {
        m->has_threads = true;
        for (uint32_t i = 0; i < th->via.array.size && m->nthreads < TR_METRIC_THREADS; i++) {
            const msgpack_object *e = &th->via.array.ptr[i];
            if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2)
                continue;
            m->tid[m->nthreads] = e->via.array.ptr[0].via.u64;
            m->cpu[m->nthreads++] = e->via.array.ptr[1].via.u64;
        }
    }
}

/* Decodes one chunk payload. Returns false if it did not decode cleanly. */

/* Keeps a STACK record [id, [pc...]]; checks the ids run 1, 2, ... per thread. */
static void add_stack(tr_trace_t *t, const tr_thread_t *th, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
        o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        o->via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY ||
        o->via.array.ptr[1].via.array.size > TR_STACK_MAX) {
        t->bad_stacks++;
        return;
    }
    if (t->nstacks == t->stacks_cap) {
        size_t cap = t->stacks_cap ? t->stacks_cap * 2 : 64;
        tr_stack_t *n = realloc(t->stacks, cap * sizeof *n);
        if (!n) {
            t->bad_stacks++;
            return;
        }
        t->stacks = n;
        t->stacks_cap = cap;
    }
    tr_stack_t *s = &t->stacks[t->nstacks];
    s->thread = th->serial;
    s->id = o->via.array.ptr[0].via.u64;
    uint64_t last = 0;
    for (size_t i = t->nstacks; i-- > 0;)
        if (t->stacks[i].thread == th->serial) {
            last = t->stacks[i].id;
            break;
        }
    if (s->id != last + 1)
        t->bad_stacks++;
    s->n = o->via.array.ptr[1].via.array.size;
    for (uint32_t i = 0; i < s->n; i++) {
        const msgpack_object *pc = &o->via.array.ptr[1].via.array.ptr[i];
        if (pc->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            t->bad_stacks++;
        s->pc[i] = pc->via.u64;
    }
    t->nstacks++;
}

static bool decode_chunk(tr_trace_t *t, tr_thread_t *th, const uint8_t *p, size_t len,
                         uint64_t time0, uint64_t task0)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    uint64_t addr = 0, time = time0, task = task0;

    bool ok = true;
#define NEXT_UINT(dst)                                                              \
    do {                                                                            \
        if (msgpack_unpack_next(&u, (const char *)p, len, &off) != MSGPACK_UNPACK_SUCCESS) \
            { ok = false; goto out; }                                               \
        if (u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER) (dst) = u.data.via.u64; \
        else if (u.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) (dst) = (uint64_t)u.data.via.i64; \
        else { ok = false; goto out; }                                              \
    } while (0)
    while (off < len) {
        uint64_t h;
        NEXT_UINT(h);
        unsigned kind = h & MSF_KIND_MASK;
        uint64_t arg = h >> MSF_KIND_BITS;
        tr_event_t e = { .kind = (uint8_t)kind, .thread = th->serial, .time = time, .task = task };
        switch (kind) {
        case MSF_K_ALLOC:
            addr += (uint64_t)zz(arg);
            e.addr = addr;
            NEXT_UINT(e.size);
            push(t, e);
            th->events++;
            break;
        case MSF_K_FREE:
            addr += (uint64_t)zz(arg);
            e.addr = addr;
            push(t, e);
            th->events++;
            break;
        case MSF_K_REALLOC:
        case MSF_K_REALLOC_EX: {
            uint64_t d;
            e.addr = addr + (uint64_t)zz(arg);
            NEXT_UINT(d);
            e.addr2 = e.addr + d;
            NEXT_UINT(e.size);
            if (kind == MSF_K_REALLOC_EX) {
                NEXT_UINT(e.stack);
                NEXT_UINT(e.weight);
                e.kind = MSF_K_REALLOC;
            }
            addr = e.addr2;
            push(t, e);
            th->events++;
            break;
        }
        case MSF_K_ALLOC_EX: {
            addr += (uint64_t)zz(arg);
            e.addr = addr;
            NEXT_UINT(e.size);
            NEXT_UINT(e.stack);
            NEXT_UINT(e.weight);
            push(t, e);
            th->events++;
            break;
        }
        case MSF_K_RECORD:
            if (msgpack_unpack_next(&u, (const char *)p, len, &off) != MSGPACK_UNPACK_SUCCESS) {
                ok = false;
                goto out;
            }
            switch (arg) {
            case MSF_R_TIME:
                time = u.data.via.u64;
                close_window(t, th, time);
                break;
            case MSF_R_THREAD:
                th->has_thread_record = true;
                copy_str(th->name, sizeof th->name, map_get(&u.data, MSF_KEY_NAME));
                if (map_get(&u.data, MSF_KEY_TID))
                    th->tid = map_get(&u.data, MSF_KEY_TID)->via.u64;
                break;
            case MSF_R_THREAD_EXIT:
                th->exited = true;
                copy_str(th->name, sizeof th->name, map_get(&u.data, MSF_KEY_NAME));
                break;
            case MSF_R_PROCESS:
                t->n_process++;
                copy_str(t->exe, sizeof t->exe, map_get(&u.data, MSF_KEY_EXE));
                break;
            case MSF_R_MODULES:
                t->n_modules++;
                t->modules_last = u.data.type == MSGPACK_OBJECT_ARRAY ? u.data.via.array.size : 0;
                copy_modules(t, &u.data);
                break;
            case MSF_R_TASK: task = u.data.via.u64; break;
            case MSF_R_TASK_CREATE:
                if (t->ntasks < TR_MAX_TASKS) {
                    tr_task_t *k = &t->tasks[t->ntasks++];
                    const msgpack_object *id = map_get(&u.data, MSF_KEY_ID);
                    const msgpack_object *parent = map_get(&u.data, MSF_KEY_PARENT);
                    k->id = id ? id->via.u64 : 0;
                    k->parent = parent ? parent->via.u64 : 0;
                    copy_str(k->name, sizeof k->name, map_get(&u.data, MSF_KEY_NAME));
                }
                break;
            case MSF_R_TASK_END: t->n_task_end++; break;
            case MSF_R_DROPPED: th->dropped += u.data.via.u64; break;
            case MSF_R_METRIC:
                t->n_metric++;
                if (t->nmetrics < TR_MAX_METRICS)
                    copy_metric(&t->metrics[t->nmetrics++], &u.data, time, th == &t->internal);
                break;
            case MSF_R_FORK:
                t->n_fork++;
                if (map_get(&u.data, MSF_KEY_PARENT_PID))
                    t->fork_parent = map_get(&u.data, MSF_KEY_PARENT_PID)->via.u64;
                break;
            case MSF_R_END: t->n_end++; break;
            case MSF_R_STACK: add_stack(t, th, &u.data); break;
            default: break;
            }
            break;
        default:
            ok = false;
            goto out;
        }
    }
out:
    msgpack_unpacked_destroy(&u);
    return ok;
#undef NEXT_UINT
}

typedef struct chunk_ref { uint32_t thread, seq; size_t off; uint32_t size; } chunk_ref_t;

static int chunk_cmp(const void *a, const void *b)
{
    const chunk_ref_t *x = a, *y = b;
    if (x->thread != y->thread) return x->thread < y->thread ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads the whole file into memory with read(): a mapping of a file with holes
 * on a full tmpfs raises SIGBUS when a hole is read, read() returns zeros. */
static uint8_t *read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return NULL; }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *m = malloc(n ? n : 1);
    while (m && got < n) {
        ssize_t r = pread(fd, m + got, n - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    return m;
}

/* Gives every event an estimate of its time: the events of one TIME window of
 * a thread spread evenly over [TIME, next TIME], at most over the header's time
 * bound (FORMAT.md "Time"). A window without a known end, and every window of a
 * version 1 trace (no bound), keeps its TIME. */
static void estimate_times(tr_trace_t *t)
{
    for (size_t i = 0; i < t->nev;) {
        size_t j = i;
        while (j < t->nev && t->ev[j].thread == t->ev[i].thread && t->ev[j].time == t->ev[i].time)
            j++;
        uint64_t t0 = t->ev[i].time, t1 = t->ev[j - 1].next_time;
        uint64_t span = t1 != UINT64_MAX && t1 > t0 ? t1 - t0 : 0;
        if (span > t->time_bound)
            span = t->time_bound;
        for (size_t k = i; k < j; k++)
            t->ev[k].est = t0 + span * (k - i + 1) / (j - i + 1);
        i = j;
    }
}

int tr_load(const char *path, tr_trace_t *t)
{
    memset(t, 0, sizeof *t);
    t->first_event_ok = true;
    size_t size;
    uint8_t *m = read_all(path, &size);
    if (!m)
        return -1;
    if (size < MSF_FILE_HEADER_USED || memcmp(m, MSF_MAGIC, MSF_MAGIC_LEN) != 0 ||
        rd32(m + MSF_H_VERSION) < MSF_VERSION_MIN || rd32(m + MSF_H_VERSION) > MSF_VERSION) {
        fprintf(stderr, "%s: bad header\n", path);
        free(m);
        return -1;
    }
    t->version = rd32(m + MSF_H_VERSION);
    uint32_t hsize = rd32(m + MSF_H_HEADER_SIZE);
    t->chunk_size = rd32(m + MSF_H_CHUNK_SIZE);
    t->pid = rd64(m + MSF_H_PID);
    t->start_monotonic = rd64(m + MSF_H_START_MONOTONIC);
    t->header_dropped = rd64(m + MSF_H_DROPPED_EVENTS);
    t->end_time = rd64(m + MSF_H_END_TIME);
    if (t->version >= 2) {
        t->time_bound = rd64(m + MSF_H_TIME_BOUND);
        t->dropped_records = rd64(m + MSF_H_DROPPED_RECORDS);
        t->end_how = rd32(m + MSF_H_END_HOW);
        t->sample_rate = rd64(m + MSF_H_SAMPLE_RATE);
        t->sample_seed = rd64(m + MSF_H_SAMPLE_SEED);
        t->stack_depth = rd32(m + MSF_H_STACK_DEPTH);
    }
    t->sampled = (rd32(m + MSF_H_FLAGS) & MSF_HF_SAMPLED) != 0;
    t->sample_bytes = rd64(m + MSF_H_SAMPLE_BYTES);
    /* Walk the chunks: each header's size leads to the next (FORMAT.md). */
    size_t cap = 64, nref = 0;
    chunk_ref_t *refs = calloc(cap, sizeof *refs);
    for (size_t off = hsize; off + MSF_CHUNK_HEADER_SIZE <= size;) {
        const uint8_t *c = m + off;
        uint32_t csize = rd32(c + MSF_C_SIZE);
        if (csize < MSF_CHUNK_MIN || csize % MSF_CHUNK_ALIGN || csize > t->chunk_size) {
            t->gaps++; /* space taken but never reserved: look on the next page */
            off += MSF_CHUNK_ALIGN;
            continue;
        }
        if (rd32(c + MSF_C_MAGIC) == MSF_CHUNK_MAGIC && off + csize <= size) {
            if (nref == cap)
                refs = realloc(refs, (cap *= 2) * sizeof *refs);
            refs[nref++] = (chunk_ref_t){ rd32(c + MSF_C_THREAD), rd32(c + MSF_C_SEQ), off, csize };
        }
        off += csize;
    }
    qsort(refs, nref, sizeof *refs, chunk_cmp);
    for (size_t i = 0; i < nref; i++) {
        const uint8_t *c = m + refs[i].off;
        bool internal = rd32(c + MSF_C_FLAGS) & MSF_CF_INTERNAL;
        t->internal_chunks += internal;
        if (internal)
            t->internal.serial = refs[i].thread;
        tr_thread_t *th = internal ? &t->internal : thread_get(t, refs[i].thread);
        if (!th)
            continue;
        if (rd64(c + MSF_C_FIRST_EVENT) != th->events)
            t->first_event_ok = false;
        uint32_t committed = rd32(c + MSF_C_COMMITTED);
        if (committed > refs[i].size - MSF_CHUNK_HEADER_SIZE) { t->bad++; continue; }
        if (th->events)
            close_window(t, th, rd64(c + MSF_C_TIME));
        else
            th->open_from = t->nev;
        if (!decode_chunk(t, th, c + MSF_CHUNK_HEADER_SIZE, committed, rd64(c + MSF_C_TIME),
                          rd64(c + MSF_C_TASK)))
            t->bad++;
    }
    free(refs);
    free(m);
    estimate_times(t);
    return 0;
}

void tr_free(tr_trace_t *t)
{
    free(t->ev);
    t->ev = NULL;
    free(t->stacks);
    t->stacks = NULL;
}

const tr_stack_t *tr_stack(const tr_trace_t *t, uint32_t thread, uint64_t id)
{
    for (size_t i = 0; i < t->nstacks; i++)
        if (t->stacks[i].thread == thread && t->stacks[i].id == id)
            return &t->stacks[i];
    return NULL;
}

uint64_t tr_count(const tr_trace_t *t, int kind)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->nev; i++)
        n += t->ev[i].kind == kind;
    return n;
}

/* A small open-addressing map of live addresses to sizes. */
typedef struct live_set { uint64_t *k, *v; size_t cap, n; } live_set_t;

static size_t ls_slot(const live_set_t *s, uint64_t a)
{
    size_t i = (size_t)((a * 0x9e3779b97f4a7c15ull) >> 20) & (s->cap - 1);
    while (s->k[i] && s->k[i] != a)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static bool ls_has(const live_set_t *s, uint64_t a) { return s->k[ls_slot(s, a)] == a; }

static void ls_add(live_set_t *s, uint64_t a, uint64_t v)
{
    if (2 * (s->n + 1) > s->cap) {
        live_set_t b = { calloc(s->cap * 2, 8), calloc(s->cap * 2, 8), s->cap * 2, 0 };
        for (size_t i = 0; i < s->cap; i++)
            if (s->k[i]) ls_add(&b, s->k[i], s->v[i]);
        free(s->k);
        free(s->v);
        *s = b;
    }
    size_t i = ls_slot(s, a);
    if (!s->k[i]) s->n++;
    s->k[i] = a;
    s->v[i] = v;
}

/* Removes a and returns its size (0 if absent). */
static uint64_t ls_del(live_set_t *s, uint64_t a)
{
    size_t i = ls_slot(s, a);
    if (!s->k[i])
        return 0;
    uint64_t v = s->v[i];
    s->k[i] = 0;
    s->n--;
    for (size_t j = (i + 1) & (s->cap - 1); s->k[j]; j = (j + 1) & (s->cap - 1)) {
        uint64_t k = s->k[j], w = s->v[j];
        s->k[j] = 0;
        s->n--;
        ls_add(s, k, w);
    }
    return v;
}

static bool admissible(const live_set_t *s, const tr_event_t *e)
{
    switch (e->kind) {
    case 0: case 3: return !ls_has(s, e->addr);
    case 1: return ls_has(s, e->addr);
    default: return ls_has(s, e->addr) && (e->addr2 == e->addr || !ls_has(s, e->addr2));
    }
}

typedef struct merge {
    live_set_t live;      /* address -> size of live blocks */
    live_set_t pfree;     /* address -> frees met before their block's allocation */
    live_set_t palloc;    /* address -> allocations met while the address was live */
    live_set_t palloc_sz; /* address -> size of the newest of those */
} merge_t;

/* Pending departures of an address are counted in one value: FREEs in the
 * low 32 bits, REALLOC departures in the high 32 bits. */
#define PEND_FREE 1ull
#define PEND_REALLOC (1ull << 32)

/* Starts a block at a. A departure waiting for it (same TIME on another thread)
 * ends it at once, and is counted now that its block's size is known; if the
 * address is live, the block waits for that block's departure. */
static void born(merge_t *m, uint64_t a, uint64_t size, tr_tagged_fn tagged, tr_counts_t *c)
{
    uint64_t p = ls_del(&m->pfree, a);
    if (p) {
        uint64_t take = (p & 0xffffffffu) ? PEND_FREE : PEND_REALLOC;
        if (p - take)
            ls_add(&m->pfree, a, p - take);
        if (tagged && tagged(size)) {
            if (take == PEND_FREE) c->frees++;
            else c->reallocs_from++;
        }
        return;
    }
    if (ls_has(&m->live, a)) {
        uint64_t q = ls_del(&m->palloc, a);
        ls_add(&m->palloc, a, q + 1);
        ls_add(&m->palloc_sz, a, size);
        return;
    }
    ls_add(&m->live, a, size);
}

/* Ends the block at a and returns its size; a block waiting for the address
 * becomes live. A departure (`how`) that meets no block waits for one, and
 * returns 0. */
static uint64_t died(merge_t *m, uint64_t a, uint64_t how)
{
    if (!ls_has(&m->live, a)) {
        uint64_t p = ls_del(&m->pfree, a);
        ls_add(&m->pfree, a, p + how);
        return 0;
    }
    uint64_t size = ls_del(&m->live, a);
    uint64_t q = ls_del(&m->palloc, a);
    if (q) {
        if (q > 1)
            ls_add(&m->palloc, a, q - 1);
        ls_add(&m->live, a, ls_has(&m->palloc_sz, a) ? ls_del(&m->palloc_sz, a) : 0);
    }
    return size;
}

static void apply(merge_t *m, const tr_event_t *e, tr_tagged_fn tagged, tr_counts_t *c)
{
    uint64_t old;
    switch (e->kind) {
    case 0: case 3:
        if (tagged && tagged(e->size)) c->allocs++;
        born(m, e->addr, e->size, tagged, c);
        break;
    case 1:
        old = died(m, e->addr, PEND_FREE);
        if (tagged && tagged(old)) c->frees++;
        break;
    default:
        if (e->addr2 == e->addr && ls_has(&m->live, e->addr)) {
            old = ls_del(&m->live, e->addr);
            ls_add(&m->live, e->addr, e->size);
        } else {
            old = died(m, e->addr, PEND_REALLOC);
            born(m, e->addr2, e->size, tagged, c);
        }
        if (tagged && tagged(old)) c->reallocs_from++;
        break;
    }
}

static void ls_init(live_set_t *s)
{
    s->k = calloc(1024, 8);
    s->v = calloc(1024, 8);
    s->cap = 1024;
    s->n = 0;
}

static uint64_t ls_total(const live_set_t *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->k[i])
            n += s->v[i];
    return n;
}

static void ls_destroy(live_set_t *s)
{
    free(s->k);
    free(s->v);
}

/* Replays the events in stream order (one thread, or threads that never
 * share a block); keeps for each live address the index of its event + 1. */
static int replay(const tr_trace_t *t, live_set_t *s)
{
    ls_init(s);
    int unknown = 0;
    for (size_t i = 0; i < t->nev; i++) {
        const tr_event_t *e = &t->ev[i];
        if (e->kind == MSF_K_ALLOC || e->kind == MSF_K_ALLOC_EX) {
            ls_add(s, e->addr, i + 1);
        } else if (e->kind == MSF_K_FREE) {
            unknown += ls_del(s, e->addr) == 0;
        } else if (e->kind == MSF_K_REALLOC) {
            unknown += ls_del(s, e->addr) == 0;
            ls_add(s, e->addr2, i + 1);
        }
    }
    return unknown;
}

int tr_live_check(const tr_trace_t *t, uint64_t *live, uint64_t size)
{
    live_set_t s;
    int unknown = replay(t, &s);
    *live = 0;
    for (size_t i = 0; i < s.cap; i++)
        if (s.k[i] && t->ev[s.v[i] - 1].size == size)
            (*live)++;
    ls_destroy(&s);
    return unknown;
}

bool tr_is_live(const tr_trace_t *t, size_t i)
{
    live_set_t s;
    (void)replay(t, &s);
    bool live = ls_has(&s, t->ev[i].addr) && s.v[ls_slot(&s, t->ev[i].addr)] == i + 1;
    ls_destroy(&s);
    return live;
}

uint64_t tr_check_causal(const tr_trace_t *t, uint64_t *live_end, tr_tagged_fn tagged,
                         tr_counts_t *counts)
{
    size_t pos[TR_MAX_THREADS], end[TR_MAX_THREADS];
    int nt = 0;
    tr_counts_t dummy;
    if (!counts)
        counts = &dummy;
    memset(counts, 0, sizeof *counts);
    for (size_t i = 0; i < t->nev; i++) {
        if (i == 0 || t->ev[i].thread != t->ev[i - 1].thread) {
            if (nt) end[nt - 1] = i;
            pos[nt++] = i;
        }
    }
    if (nt) end[nt - 1] = t->nev;
    merge_t m;
    ls_init(&m.live);
    ls_init(&m.pfree);
    ls_init(&m.palloc);
    ls_init(&m.palloc_sz);
    for (;;) {
        /* The earliest event by estimated time (its TIME window spread, as
         * export/ does); among equal estimates, one that fits the live set. */
        int best = -1;
        bool best_fits = false;
        for (int i = 0; i < nt; i++) {
            if (pos[i] == end[i]) continue;
            const tr_event_t *e = &t->ev[pos[i]], *b = best < 0 ? NULL : &t->ev[pos[best]];
            bool fits = admissible(&m.live, e);
            if (!b || e->est < b->est || (e->est == b->est && fits && !best_fits)) {
                best = i;
                best_fits = fits;
            }
        }
        if (best < 0) break;
        apply(&m, &t->ev[pos[best]++], tagged, counts);
    }
    /* What still waits at the end had no partner at all. */
    uint64_t pf = 0;
    for (size_t i = 0; i < m.pfree.cap; i++)
        if (m.pfree.k[i])
            pf += (m.pfree.v[i] & 0xffffffffu) + (m.pfree.v[i] >> 32);
    uint64_t bad = pf + ls_total(&m.palloc);
    if (bad && getenv("TR_DEBUG"))
        fprintf(stderr, "  unmatched: %llu frees, %llu allocations\n",
                (unsigned long long)pf, (unsigned long long)ls_total(&m.palloc));
    if (live_end)
        *live_end = m.live.n;
    ls_destroy(&m.live);
    ls_destroy(&m.pfree);
    ls_destroy(&m.palloc);
    ls_destroy(&m.palloc_sz);
    return bad;
}

int tr_find(const char *dir, const char *prefix, char *out, size_t len)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *de;
    time_t best = 0;
    int found = -1;
    while ((de = readdir(d))) {
        size_t pl = strlen(prefix), nl = strlen(de->d_name);
        if (strncmp(de->d_name, prefix, pl) != 0 || nl < 8 || strcmp(de->d_name + nl - 8, ".msgpack") != 0)
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && (found < 0 || st.st_mtime >= best)) {
            best = st.st_mtime;
            snprintf(out, len, "%s", p);
            found = 0;
        }
    }
    closedir(d);
    return found;
}
