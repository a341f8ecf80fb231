/* Tasks, thread names, variable labels and scopes: the calls behind
 * memscope_task_*, memscope_thread_name, memscope_track_* and memscope_scope_*
 * (api.c). Task ids are unique in the process (blocks per thread); the
 * records go to the calling thread's stream (ms_thread_record). Not for use
 * inside malloc. */
#include "records.h"
#include "tracker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

/* Task ids: each thread takes a block of TASK_BLOCK ids from `reserved` and
 * hands them out itself, so that creating a task writes no cache line that
 * other threads write (the ended bits of a block, below, are one line too).
 * Ids are unique in the process, > 0, and grow on each thread. */
#define TASK_BLOCK 512u
static _Atomic uint64_t reserved; /* ids in blocks taken so far: [0, reserved) */
static _Thread_local uint64_t task_next, task_end __attribute__((tls_model("initial-exec")));

/* Makes `task` the thread's current task and records it (a TASK record,
 * after a TIME of its own: an anchor of the merge). */
static void task_switch(ms_tls_t *t, uint64_t task)
{
    t->task = task;
    ms_rec_fast_t r;
    if (ms_rec_fast_begin(t, &r, MSF_R_TASK, true)) {
        ms_pk_uint64(&r.w, task);
        ms_rec_fast_end(t, &r);
        return;
    }
    ms_thread_record(t, MSF_R_TASK, ms_rec_fill_u64, &task);
}

/* What the fast paths below pack, at most: TASK a uint64 after a TIME;
 * TASK_END {id}; TASK_CREATE {id, name, parent} with a name of at most
 * CREATE_FAST_NAME bytes (a fixstr), no TIME. */
#define CREATE_FAST_NAME 27u
_Static_assert(MS_REC_TIME_MAX + MS_REC_HEAD_MAX + 9u <= MS_EVENT_MAX, "TASK fits");
_Static_assert(MS_REC_HEAD_MAX + 1u + 3u + 9u <= MS_EVENT_MAX, "TASK_END fits");
_Static_assert(MS_REC_HEAD_MAX + 1u + 3u + 9u + 5u + 1u + CREATE_FAST_NAME + 7u + 9u <= MS_EVENT_MAX,
               "TASK_CREATE fits");

/* A key of a record's map, as ms_pc_cstr packs it. */
static inline void pk_key(uint8_t **w, const char *k, size_t n)
{
    ms_pk_str(w, n);
    ms_pk_str_body(w, k, n);
}


/* A fresh id from the calling thread's block. */
static uint64_t task_id(void)
{
    if (task_next == task_end) {
        uint64_t base = atomic_fetch_add_explicit(&reserved, TASK_BLOCK, memory_order_relaxed);
        task_next = base ? base : 1; /* 0 is no task */
        task_end = base + TASK_BLOCK;
    }
    return task_next++;
}

/* Two bitmaps of task ids, one bit per id, in pages mapped on first use (no
 * malloc: any thread may create or end a task): the created tasks, and the
 * ended ones. Ids past BITMAP_PAGES * PAGE_BITS are not kept (their creation
 * and end are then not checked). A block of TASK_BLOCK ids is one cache line
 * of each bitmap. */
#define PAGE_WORDS 4096u
#define PAGE_BITS (PAGE_WORDS * 64u)
#define BITMAP_PAGES 1024u
typedef _Atomic(_Atomic uint64_t *) bitmap_t[BITMAP_PAGES];
static bitmap_t created_pages, ended_pages;

/* The word of bitmap m holding task's bit, NULL if not kept (or, with
 * !make, no page yet). */
static _Atomic uint64_t *bit_word(bitmap_t m, uint64_t task, bool make)
{
    uint64_t page = task / PAGE_BITS;
    if (page >= BITMAP_PAGES)
        return NULL;
    _Atomic uint64_t *w = atomic_load_explicit(&m[page], memory_order_acquire);
    if (!w && make) {
        void *p = mmap(NULL, PAGE_WORDS * 8u, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        _Atomic uint64_t *none = NULL;
        if (atomic_compare_exchange_strong_explicit(&m[page], &none, (_Atomic uint64_t *)p, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            w = p;
        } else {
            munmap(p, PAGE_WORDS * 8u);
            w = none;
        }
    }
    return w ? &w[task % PAGE_BITS / 64u] : NULL;
}

/* Bit task of bitmap m. */
static bool bit_get(bitmap_t m, uint64_t task)
{
    _Atomic uint64_t *w = bit_word(m, task, false);
    return w && (atomic_load_explicit(w, memory_order_relaxed) >> (task % 64u) & 1u);
}

/* Sets bit task of bitmap m; returns whether it was set already (false
 * also when it is not kept). */
static bool bit_set(bitmap_t m, uint64_t task)
{
    _Atomic uint64_t *w = bit_word(m, task, true);
    return w && (atomic_fetch_or_explicit(w, UINT64_C(1) << (task % 64u), memory_order_relaxed) >> (task % 64u) & 1u);
}

/* Sets bit task of bitmap m where only the calling thread writes that word
 * (the created bits of the ids of its own blocks): no atomic read-modify-
 * write needed (a lock'd one cost a job of the bench's "tasks" ~8 ns). A
 * signal handler that creates a task between the load and the store could
 * lose its bit: that task would then be refused as unknown, never
 * mistaken for another. */
static void bit_own_set(bitmap_t m, uint64_t task)
{
    _Atomic uint64_t *w = bit_word(m, task, true);
    if (w)
        atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) | UINT64_C(1) << (task % 64u),
                              memory_order_relaxed);
}

/* True if task was handed out by memscope_task_create (for ids too high to
 * be kept: if it is in a block some thread took). */
static bool task_known(uint64_t task)
{
    if (!task || task >= atomic_load_explicit(&reserved, memory_order_relaxed))
        return false;
    return task / PAGE_BITS >= BITMAP_PAGES || bit_get(created_pages, task);
}

/* True if task ended (memscope_task_end). */
static bool task_ended(uint64_t task)
{
    return bit_get(ended_pages, task);
}

uint64_t ms_task_create(const char *name, uint64_t parent)
{
    ms_process_init();
    if (parent && !task_known(parent))
        return 0;
    uint64_t id = task_id();
    bit_own_set(created_pages, id);
    /* TASK_CREATE {id, name, parent} (records.c's ms_rec_fill_task_create),
     * in the window of the TIME in force; a long name takes the path that
     * packs any length */
    size_t n = name ? strlen(name) : 0;
    ms_tls_t *t = &ms_tls;
    ms_rec_fast_t r;
    if (n <= CREATE_FAST_NAME && ms_rec_fast_begin(t, &r, MSF_R_TASK_CREATE, false)) {
        ms_pk_map(&r.w, 3);
        pk_key(&r.w, MSF_KEY_ID, sizeof MSF_KEY_ID - 1);
        ms_pk_uint64(&r.w, id);
        pk_key(&r.w, MSF_KEY_NAME, sizeof MSF_KEY_NAME - 1);
        pk_key(&r.w, name ? name : "", n);
        pk_key(&r.w, MSF_KEY_PARENT, sizeof MSF_KEY_PARENT - 1);
        ms_pk_uint64(&r.w, parent);
        ms_rec_fast_end(t, &r);
        return id;
    }
    ms_rec_task_t k = { id, parent, name };
    ms_thread_record(t, MSF_R_TASK_CREATE, ms_rec_fill_task_create, &k);
    return id;
}

bool ms_task_enter(uint64_t task)
{
    ms_tls_t *t = &ms_tls;
    if (!task_known(task) || task_ended(task))
        return false;
    if (t->task_depth == MS_TASK_DEPTH) {
        t->task_overflow++; /* not recorded; balanced by its leave */
        return true;
    }
    t->task_stack[t->task_depth++] = t->task;
    task_switch(t, task);
    return true;
}

bool ms_task_leave(void)
{
    ms_tls_t *t = &ms_tls;
    if (t->task_overflow) {
        t->task_overflow--;
        return true;
    }
    if (t->task_depth == 0)
        return false;
    task_switch(t, t->task_stack[--t->task_depth]);
    return true;
}

bool ms_task_end(uint64_t task)
{
    if (!task_known(task))
        return false;
    if (bit_set(ended_pages, task))
        return false; /* ended already */
    ms_tls_t *t = &ms_tls;
    ms_rec_fast_t r;
    if (ms_rec_fast_begin(t, &r, MSF_R_TASK_END, false)) { /* TASK_END {id}, as records.c packs it */
        ms_pk_map(&r.w, 1);
        pk_key(&r.w, MSF_KEY_ID, sizeof MSF_KEY_ID - 1);
        ms_pk_uint64(&r.w, task);
        ms_rec_fast_end(t, &r);
        return true;
    }
    ms_thread_record(t, MSF_R_TASK_END, ms_rec_fill_task_end, &task);
    return true;
}

void ms_track_var(uint64_t addr, const char *name, const char *type, const char *file, uint64_t line)
{
    ms_process_init();
    ms_rec_var_t v = { addr, line, name, type, file, 0 };
    ms_thread_record(&ms_tls, MSF_R_VAR, ms_rec_fill_var, &v);
}

void ms_track_value(uint64_t size, const char *name, const char *type, const char *file, uint64_t line)
{
    ms_process_init();
    ms_rec_var_t v = { 0, line, name, type, file, size };
    ms_thread_record(&ms_tls, MSF_R_VAR, ms_rec_fill_var, &v);
}

/* A thread's open scopes (memscope_scope_*): ids handed out 1, 2, ... per
 * thread, the open ones innermost last. Apart from ms_tls: only these calls
 * touch it, never the malloc path. */
typedef struct ms_scopes {
    uint64_t last;                   /* ids handed out so far */
    uint32_t depth;
    uint64_t open[MS_SCOPE_DEPTH];
} ms_scopes_t;

static _Thread_local ms_scopes_t scopes __attribute__((tls_model("initial-exec")));

uint64_t ms_scope_enter(const char *name, const char *file, uint64_t line)
{
    ms_scopes_t *s = &scopes;
    if (s->depth == MS_SCOPE_DEPTH)
        return 0;
    ms_process_init();
    uint64_t id = ++s->last;
    s->open[s->depth++] = id;
    ms_rec_scope_t k = { id, line, name, file };
    ms_thread_record(&ms_tls, MSF_R_SCOPE_ENTER, ms_rec_fill_scope_enter, &k);
    return id;
}

bool ms_scope_leave(uint64_t id)
{
    ms_scopes_t *s = &scopes;
    for (uint32_t i = s->depth; id && i-- > 0;)
        if (s->open[i] == id) {
            s->depth = i; /* and every scope entered after it (FORMAT.md) */
            ms_thread_record(&ms_tls, MSF_R_SCOPE_LEAVE, ms_rec_fill_scope_leave, &id);
            return true;
        }
    return false;
}

void ms_thread_set_name(const char *name)
{
    ms_tls_t *t = &ms_tls;
    strncpy(t->name, name, sizeof t->name - 1);
    t->name[sizeof t->name - 1] = '\0';
    char kernel[16];
    strncpy(kernel, name, sizeof kernel - 1);
    kernel[sizeof kernel - 1] = '\0';
    pthread_setname_np(pthread_self(), kernel);
    ms_rec_thread_t rt = { t->tid, false, t->name };
    if (t->state != MS_T_NEW)
        ms_thread_record(t, MSF_R_THREAD, ms_rec_fill_thread, &rt);
}
