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

/* Makes `task` the thread's current task and records it. */
static void task_switch(ms_tls_t *t, uint64_t task)
{
    t->task = task;
    ms_thread_record(t, MSF_R_TASK, ms_rec_fill_u64, &task);
}

/* True if `task` is an id of a block some thread took (every id this
 * process handed out; also one of a block not yet used up). */
static bool task_known(uint64_t task)
{
    return task && task < atomic_load_explicit(&reserved, memory_order_relaxed);
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

/* The ended tasks: one bit per id, in pages mapped on first use (no malloc:
 * any thread may end a task). Ids past ENDED_PAGES * ENDED_PAGE_BITS are
 * not kept (their end is not checked). */
#define ENDED_PAGE_WORDS 4096u
#define ENDED_PAGE_BITS (ENDED_PAGE_WORDS * 64u)
#define ENDED_PAGES 1024u
static _Atomic(_Atomic uint64_t *) ended_pages[ENDED_PAGES];

/* The word holding task's bit, NULL if not kept (or, with !make, no page yet). */
static _Atomic uint64_t *ended_word(uint64_t task, bool make)
{
    uint64_t page = task / ENDED_PAGE_BITS;
    if (page >= ENDED_PAGES)
        return NULL;
    _Atomic uint64_t *w = atomic_load_explicit(&ended_pages[page], memory_order_acquire);
    if (!w && make) {
        void *m = mmap(NULL, ENDED_PAGE_WORDS * 8u, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        _Atomic uint64_t *none = NULL;
        if (atomic_compare_exchange_strong_explicit(&ended_pages[page], &none, (_Atomic uint64_t *)m,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            w = m;
        } else {
            munmap(m, ENDED_PAGE_WORDS * 8u);
            w = none;
        }
    }
    return w ? &w[task % ENDED_PAGE_BITS / 64u] : NULL;
}

/* True if task ended (memscope_task_end). */
static bool task_ended(uint64_t task)
{
    _Atomic uint64_t *w = ended_word(task, false);
    return w && (atomic_load_explicit(w, memory_order_relaxed) >> (task % 64u) & 1u);
}

uint64_t ms_task_create(const char *name, uint64_t parent)
{
    ms_process_init();
    if (parent && !task_known(parent))
        return 0;
    uint64_t id = task_id();
    ms_rec_task_t k = { id, parent, name };
    ms_thread_record(&ms_tls, MSF_R_TASK_CREATE, ms_rec_fill_task_create, &k);
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
    _Atomic uint64_t *w = ended_word(task, true);
    if (w && (atomic_fetch_or_explicit(w, UINT64_C(1) << (task % 64u), memory_order_relaxed) >> (task % 64u) & 1u))
        return false; /* ended already */
    ms_thread_record(&ms_tls, MSF_R_TASK_END, ms_rec_fill_task_end, &task);
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
