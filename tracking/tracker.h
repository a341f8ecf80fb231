/* Per-thread recording state and the hot-path event encoders.
 *
 * The allocator calls ms_ev_alloc / ms_ev_free / ms_ev_realloc around every
 * heap operation. The fast path is inline: three compares (room in the chunk,
 * the event countdown, the published clock against the thread's last TIME),
 * two or three MessagePack integers appended to the thread's own chunk, one
 * release store of the chunk's committed length. No lock, no system call, no
 * stdio, no call, and no write to memory another thread writes.
 *
 * Everything else (first use of a thread, a full chunk, the clock moved, the
 * countdown ran out, the recursion guard) falls into ms_ev_slow(); a thread
 * that does not record (MEMSCOPE_MODE=off, or stopped) calls it only when the
 * clock moved since it last looked, which is how memscope_trace_all starts
 * it. ms_ev_slow() is where a thread starts: a new thread's state is all
 * zero, so cur == limit == NULL and its first event goes to the slow path,
 * which initialises it (the pattern of mimalloc's empty heap). */
#ifndef MS_TRACKER_H
#define MS_TRACKER_H

#include "alloc_iface.h"
#include "clock.h"
#include "pack.h"
#include "stacks.h"
#include "stream.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_LIKELY(x) __builtin_expect(!!(x), 1)
#define MS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Largest hot-path event: a REALLOC_EX (5 * 9 bytes), plus a TIME record
 * (1 + 9) that the slow path may add before it. */
#define MS_EVENT_MAX 64u
/* Tasks a thread can have entered and not left (memscope_task_enter nests). */
#define MS_TASK_DEPTH 32u
/* Scopes a thread can have entered and not left (memscope_scope_enter). */
#define MS_SCOPE_DEPTH 32u
/* Events between two calls of the slow path's countdown refill: it counts
 * events for MEMSCOPE_MAX_EVENTS and, when no helper publishes the clock,
 * reads the clock itself (FORMAT.md "Time"). */
#define MS_TICK_EVENTS 256u

typedef enum ms_thread_state {
    MS_T_NEW = 0,     /* never seen: the zero state of fresh TLS */
    MS_T_ACTIVE,      /* has a chunk and records */
    MS_T_OFF,         /* MEMSCOPE_MODE=off or no trace: counts nothing */
    MS_T_CAPPED,      /* reached MEMSCOPE_MAX_EVENTS or lost its chunk: counts drops */
    MS_T_GONE,        /* past its last key destructor: events go to the late stream */
} ms_thread_state_t;

/* One thread's recorder. Lives in TLS; only its thread touches it, except the
 * shared "late" instance in tracker.c, which is used under a spin lock.
 *
 * Invariant while ACTIVE: payload <= cur <= end, limit = end - MS_EVENT_MAX
 * (a control record may fill the chunk past limit; the next event then takes
 * the slow path), and *committed == cur - payload after every record. When the
 * fast path must not run, limit is NULL (and cur >= limit always holds).
 *
 * The first 64 bytes are one cache line (the struct is aligned to 64) and hold
 * everything the fast path reads or writes. */
typedef struct ms_tls {
    /* -- hot: the fast path touches only this cache line -- */
    _Alignas(64) uint8_t *cur;    /* next payload byte to write */
    uint8_t *limit;               /* fast path runs while cur < limit */
    uintptr_t prev;               /* address base of the delta encoding */
    _Atomic uint32_t *committed;  /* &chunk->committed */
    uint8_t *payload;             /* first payload byte of the chunk */
    uint64_t seen;                /* ms_clock value when it last moved for this thread */
    int *errno_ptr;               /* &errno of this thread, NULL until known (the slow paths keep errno) */
    uint32_t tick;                /* events left before the countdown refill */
    uint32_t alloc_floor;         /* allocations take the slow path while tick <= this:
                                   * 1 as every event, UINT32_MAX with stacks (each
                                   * allocation unwinds there; frees stay fast) */
    /* -- cold -- */
    uint32_t serial;              /* memscope thread number, 1-based */
    uint64_t ev_base;             /* events recorded once this tick window is used up;
                                   * events so far = ev_base - tick */
    uint64_t last_time;           /* the TIME in force (ns since start) */
    uint64_t stopped_seen;        /* the stopped clock value this thread woke the helper for */
    uint32_t state;               /* ms_thread_state_t */
    uint64_t task;                /* current task id, 0 = none (written as TASK records) */
    uint32_t task_depth;          /* tasks entered and not left, up to MS_TASK_DEPTH */
    uint32_t task_overflow;       /* enters past MS_TASK_DEPTH, ignored with their leaves */
    uint64_t task_stack[MS_TASK_DEPTH]; /* the task current before each enter */
    char name[64];                /* the name given to memscope_thread_name, "" if none */
    ms_chunk_header_t *chunk;     /* current chunk, NULL if none */
    uint8_t *end;                 /* one past the chunk's last byte */
    uint64_t dropped;             /* drops not yet written as a DROPPED record */
    uint64_t tid;                 /* kernel thread id */
    uint32_t seq;                 /* chunks taken so far */
    uint32_t guard;               /* > 0 while memscope itself runs on this thread */
    uint32_t own;                 /* > 0 in a guarded section where libc allocates for
                                   * memscope: such events are memscope's, not drops */
    uint32_t dtor_rounds;         /* key destructor calls so far */
    int arena;                    /* bound jemalloc arena + 1; 0 = none */
    uint32_t chunk_flags;         /* MSF_CF_* set in each chunk it takes (the METRIC stream's) */
    ms_stk_t *stk;                /* the stacks it defined (stacks.h), NULL until the first */
    /* sampled mode (MEMSCOPE_MODE=sampled): every allocation of n bytes
     * counts sample_left down by n while it stays above n (ms_sample_count);
     * the fast path stays closed (limit NULL). With MEMSCOPE_SAMPLE_RATE
     * sample_left is 0, so that every allocation leaves alloc.c's assembly,
     * and rate_left counts allocations down instead; 0 otherwise. */
    bool sampling;
    _Alignas(64) int64_t sample_left; /* its own line: read by every sampled-mode entry */
    int64_t rate_left;
    uint64_t rng;                 /* the sampler's random state */
} ms_tls_t;

_Static_assert(offsetof(ms_tls_t, alloc_floor) + sizeof(uint32_t) == 64, "hot fields fill one line");
/* The offset of the countdown, for the assembly of allocator/alloc.c. */
#define MS_TLS_SAMPLE_LEFT 512
_Static_assert(offsetof(ms_tls_t, sample_left) == MS_TLS_SAMPLE_LEFT,
               "the countdown where alloc.c's assembly reads it");
_Static_assert(_Alignof(ms_tls_t) == 64, "ms_tls_t is line-aligned");

extern _Thread_local ms_tls_t ms_tls __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* tracker.c */
/* Records an event that the fast path could not take. kind is MSF_K_ALLOC,
 * MSF_K_FREE or MSF_K_REALLOC; a/b/n as for ms_ev_put; ra is the return
 * address of the malloc-family entry (the call site in the program, frame 0
 * of its stack). Preserves errno. */
void ms_ev_slow(int kind, uintptr_t a, uintptr_t b, size_t n, uintptr_t ra);
/* Sampled mode (slow paths). ms_sample_take: the countdown ran out on an
 * allocation of n bytes at p; moves it into the sampled range (align, zero as
 * the entry asked), records it with its weight, and returns the block to give
 * the program (p when it cannot be sampled). ms_sample_free: records the free
 * of sampled block p and frees it. ms_sample_realloc: the whole realloc of a
 * sampling thread (p != NULL, n > 0). */
uintptr_t ms_sample_take(uintptr_t p, size_t n, size_t align, bool zero, uintptr_t ra);
/* ms_sample_new: the countdown of a sampling thread ran out on a malloc of n
 * bytes not made yet. Returns the block of the sampled range the program
 * gets, recorded with its weight, or NULL: not sampled (memscope's own, not
 * recording, the range used up), and the caller allocates as usual; *lost
 * then says whether a sample was lost (the range could not serve it), which
 * the caller counts with ms_sample_lost once its own allocation succeeded
 * (a malloc that fails anyway loses nothing). */
void *ms_sample_new(size_t n, uintptr_t ra, bool *lost);
void ms_sample_lost(void);
void ms_sample_free(uintptr_t p, uintptr_t ra);
bool ms_sample_realloc(void *p, size_t n, uintptr_t ra, void **out);
/* Sets the fast-path limit from the state: open only when ACTIVE with a
 * chunk, no guard and not sampling. */
static inline void ms_limit_update(ms_tls_t *t)
{
    t->limit = (t->state == MS_T_ACTIVE && t->chunk && t->guard == 0 && !t->sampling)
                   ? t->end - MS_EVENT_MAX : NULL;
}

/* The guard of ms_guard_enter / ms_guard_leave, in line: up, a signal
 * handler on this thread sees the guard before anything that follows
 * touches the chunk (and the compiler may not load cur early); down, the
 * limit is recomputed. */
static inline void ms_guard_up(ms_tls_t *t)
{
    t->guard++;
    t->limit = NULL;
    atomic_signal_fence(memory_order_seq_cst);
}

static inline void ms_guard_down(ms_tls_t *t)
{
    atomic_signal_fence(memory_order_seq_cst);
    t->guard--;
    ms_limit_update(t);
}

/* Enters / leaves a section where memscope's own allocations are not traced.
 * Nests. Returns the thread state for convenience. */
ms_tls_t *ms_guard_enter(void);
void ms_guard_leave(ms_tls_t *t);
/* Makes sure the process-wide state is initialised (options read, trace
 * opened). Safe to call from any thread, before main, and more than once. */
void ms_process_init(void);
/* Called once from the library's constructor, outside malloc: initialises the
 * process and, with MEMSCOPE_CHILDREN=0, takes the library out of LD_PRELOAD
 * so that children and exec'd images are not traced. */
void ms_process_started(void);
/* Writes the loaded-module map (MODULES record). Chunk switches and the exit
 * flush write it again when modules were loaded or unloaded since. */
void ms_record_modules(void);
/* Flushes at the end of the process (end.c): END record saying `how` (MSF_END_EXIT,
 * MSF_END__EXIT, MSF_END_EXEC), header end time, drop totals; then, unless
 * the image is replaced by exec, stops recording on every thread and has the
 * memscope tool render the reports of MEMSCOPE_AUTO_EXPORT (autoexport.c).
 * Only the first call of a process writes. */
void ms_process_end(unsigned how);
/* An exec after ms_process_end(MSF_END_EXEC) failed: the process goes on. */
void ms_process_exec_failed(void);
/* memscope_trace_all: opens the trace in dir (NULL: MEMSCOPE_OUTPUT's) of a
 * process that does not trace, and starts every thread. Returns 0,
 * -EALREADY, -EINVAL (stopped before) or the error of creating the trace. */
int ms_trace_start(const char *dir);
/* memscope_stop_tracing: no thread records from now on. Returns 0, -EINVAL
 * (no trace) or -EALREADY. */
int ms_trace_stop(void);
/* memscope_export: the memscope tool renders the trace as it stands into
 * MEMSCOPE_OUTPUT. Returns 0, -ENOENT (no trace) or ms_autoexport's error. */
int ms_export_now(const char *formats);
/* memscope_auto_export: MEMSCOPE_AUTO_EXPORT from now on (a checked list).
 * Returns 0 or -EINVAL. */
int ms_auto_export_set(const char *formats);
/* Writes one control record (type, packed by fill from arg, records.h) into
 * the calling thread's stream, after a TIME, starting the thread's stream if
 * it has none yet. Outside malloc only. */
void ms_thread_record(ms_tls_t *t, unsigned type, void (*fill)(ms_cbuf_t *b, const void *arg),
                      const void *arg);
/* The fast path of a short control record (ms_thread_record's own, with the
 * body packed in line): under the guard (ms_guard_up), when the thread
 * records, its chunk has room for an event (MS_EVENT_MAX bytes) and the
 * published clock has not moved since it last looked, ms_rec_fast_begin
 * writes the TIME (if anchor) and the record's head and returns true; the
 * caller packs the body at r->w with the unchecked ms_pk_* packers and calls
 * ms_rec_fast_end, which drops it. The whole must fit MS_EVENT_MAX
 * bytes: a TIME takes at most MS_REC_TIME_MAX, a head MS_REC_HEAD_MAX. The
 * room is checked after the guard is up, since a signal handler's event
 * before that moves cur (and a handler's memscope_stop_tracing ends the
 * chunk). False: nothing written, no guard; the caller takes
 * ms_thread_record, which writes the same bytes. */
#define MS_REC_TIME_MAX 11u /* its head (below 128) and a uint64 */
#define MS_REC_HEAD_MAX 2u
typedef struct ms_rec_fast {
    uint8_t *w;  /* next byte of the record */
    uint64_t tm; /* the record's time: the TIME written, or the one in force */
} ms_rec_fast_t;

static inline bool ms_rec_fast_begin(ms_tls_t *t, ms_rec_fast_t *r, unsigned type, bool anchor)
{
    if (t->limit == NULL) /* not recording, a chunk, no guard, not sampling: the slow path */
        return false;
    ms_guard_up(t); /* from here a handler's events are dropped, not packed in */
    if (!(t->guard == 1 && t->state == MS_T_ACTIVE && t->chunk && !t->sampling &&
          (size_t)(t->end - t->cur) > MS_EVENT_MAX &&
          atomic_load_explicit(&ms_clock.now, memory_order_relaxed) == t->seen)) {
        ms_guard_down(t);
        return false;
    }
    r->tm = t->last_time;
    if (anchor) {
        uint64_t now = ms_stream_now();
        r->tm = now > r->tm ? now : r->tm;
    }
    r->w = t->cur;
    if (anchor) {
        ms_pk_uint64(&r->w, msf_head(MSF_R_TIME, MSF_K_RECORD));
        ms_pk_uint64(&r->w, r->tm);
    }
    ms_pk_uint64(&r->w, msf_head(type, MSF_K_RECORD));
    return true;
}

static inline void ms_rec_fast_end(ms_tls_t *t, ms_rec_fast_t *r)
{
    t->cur = r->w;
    t->last_time = r->tm;
    atomic_store_explicit(t->committed, (uint32_t)(t->cur - t->payload), memory_order_release);
    ms_guard_down(t);
}

/* tasks.c. Tasks (memscope_task_*): ids are unique in the process (each thread
 * hands them out from blocks); the records go to the calling thread's stream. Not for use inside
 * malloc. */
uint64_t ms_task_create(const char *name, uint64_t parent); /* 0: bad parent */
bool ms_task_enter(uint64_t task);  /* false: unknown id */
bool ms_task_leave(void);           /* false: no task entered */
bool ms_task_end(uint64_t task);    /* false: unknown id */
/* Names the calling thread (memscope_thread_name). */
void ms_thread_set_name(const char *name);
/* Labels the block at addr (a VAR record on the calling thread's stream). */
void ms_track_var(uint64_t addr, const char *name, const char *type, const char *file, uint64_t line);
/* Takes a METRIC sample (metrics.h) and writes it into memscope's own
 * stream, whose chunks are flagged MSF_CF_INTERNAL (FORMAT.md). For the
 * helper thread only, its one writer; nothing once recording stopped or the
 * process ended. */
void ms_metrics_record(void);
/* Records a named value of `size` bytes (a VAR record without addr). */
void ms_track_value(uint64_t size, const char *name, const char *type, const char *file, uint64_t line);
/* Scopes (memscope_scope_*): enter returns the new id, 0 past MS_SCOPE_DEPTH;
 * leave returns false when id is not open on this thread. */
uint64_t ms_scope_enter(const char *name, const char *file, uint64_t line);
bool ms_scope_leave(uint64_t id);
/* Marks the calling thread as memscope's own (its allocations are not
 * traced). For the helper thread. */
void ms_thread_is_internal(void);
/* The helper is about to run exit() in place of the program's last thread,
 * which has exited: from now on its events are recorded as that thread's would
 * have been, in the late stream. */
void ms_thread_runs_exit(void);

/* Zig-zag encoding of a wrapping address difference. */
static inline uint64_t ms_zz(uintptr_t to, uintptr_t from)
{
    return msf_zz_enc((uint64_t)(to - from));
}

/* Appends one event at t->cur (room for MS_EVENT_MAX bytes is guaranteed by the
 * caller; the tick was already counted down for it) and commits it.
 * kind/a/b/n: ALLOC a n; FREE a; REALLOC a(old) b(new) n. */
static inline __attribute__((always_inline)) void
ms_ev_put(ms_tls_t *t, int kind, uintptr_t a, uintptr_t b, size_t n)
{
    uint8_t *w = t->cur;
    ms_pk_uint64(&w, msf_head(ms_zz(a, t->prev), (unsigned)kind));
    if (kind == MSF_K_ALLOC) {
        ms_pk_uint64(&w, n);
        t->prev = a;
    } else if (kind == MSF_K_FREE) {
        t->prev = a;
    } else {
        ms_pk_int64(&w, (int64_t)(b - a));
        ms_pk_uint64(&w, n);
        t->prev = b;
    }
    t->cur = w;
    atomic_store_explicit(t->committed, (uint32_t)(w - t->payload), memory_order_release);
}

/* Appends an ALLOC_EX (kind MSF_K_ALLOC) or REALLOC_EX (MSF_K_REALLOC) event
 * with a stack id and a weight, as ms_ev_put does the plain kinds. */
static inline void ms_ev_put_ex(ms_tls_t *t, int kind, uintptr_t a, uintptr_t b, size_t n,
                                uint64_t stack, uint64_t weight)
{
    uint8_t *w = t->cur;
    if (kind == MSF_K_ALLOC) {
        ms_pk_uint64(&w, msf_head(ms_zz(a, t->prev), MSF_K_ALLOC_EX));
        t->prev = a;
    } else {
        ms_pk_uint64(&w, msf_head(ms_zz(a, t->prev), MSF_K_REALLOC_EX));
        ms_pk_int64(&w, (int64_t)(b - a));
        t->prev = b;
    }
    ms_pk_uint64(&w, n);
    ms_pk_uint64(&w, stack);
    ms_pk_uint64(&w, weight);
    t->cur = w;
    atomic_store_explicit(t->committed, (uint32_t)(w - t->payload), memory_order_release);
}

/* Counts an allocation of n bytes down on thread t: true while the count
 * does not run out. By bytes, sample_left goes down by n (unsigned, as
 * alloc.c's assembly: a size of 2^63 or more, a malloc that fails, runs the
 * count out rather than winding it back); by rate, sample_left is 0 and
 * rate_left goes down by one (0 by bytes: never taken). */
static inline __attribute__((always_inline)) bool ms_sample_count(ms_tls_t *t, size_t n)
{
    if (MS_LIKELY((uint64_t)t->sample_left > n)) {
        t->sample_left -= (int64_t)n;
        return true;
    }
    if (MS_UNLIKELY(t->rate_left > 1)) {
        t->rate_left--;
        return true;
    }
    return false;
}

/* The sampled mode's hot path (t->sampling): an allocation counts down the
 * bytes (or allocations) to the next sample and, when the count runs out,
 * is moved into the sampled range and recorded (ms_sample_take); a free
 * records only a block of the sampled range (one compare), and frees it
 * itself. Returns as ms_ev does. */
static inline __attribute__((always_inline)) uintptr_t
ms_ev_sampled(ms_tls_t *t, int kind, uintptr_t a, size_t n, size_t align, bool zero, uintptr_t ra)
{
    if (kind == MSF_K_FREE) {
        if (MS_UNLIKELY(a - ms_sample_base < ms_sample_size)) {
            ms_sample_free(a, ra);
            return 1;
        }
        return 0;
    }
    if (kind != MSF_K_ALLOC)
        return a; /* a realloc in sampled mode is recorded by ms_sample_realloc */
    if (MS_LIKELY(ms_sample_count(t, n)))
        return a;
    return ms_sample_take(a, n, align, zero, ra);
}

/* Sampled mode's common case, tested by the entries before anything else
 * while ms_sample_size != 0 (a process that samples): an allocation of n
 * bytes (or one allocation, with MEMSCOPE_SAMPLE_RATE) that the thread's
 * countdown does not reach. Counts it down and returns true: the allocation is
 * not sampled and nothing is recorded, so the entry only calls jemalloc.
 * False, having changed nothing: the count runs out here, or the thread has
 * none yet (sample_left starts at 0), or it stopped sampling; the entry then
 * takes its ordinary path (ms_ev), which samples, starts the thread, or lets
 * the allocation go unrecorded. The fields read are one cache line of their
 * own, written by this thread only. */
static inline __attribute__((always_inline)) bool ms_sample_pass(size_t n)
{
    return ms_sample_count(&ms_tls, n);
}

/* The allocation of n bytes at p in a sampling process that ms_sample_pass
 * did not let through (ra: the entry's return address). A thread that does
 * not sample yet starts here (ms_ev_slow), and its allocation is then counted
 * down like any other. Returns as ms_ev does. */
static inline __attribute__((always_inline)) uintptr_t ms_ev_sampling(void *p, size_t n, uintptr_t ra)
{
    ms_tls_t *t = &ms_tls;
    if (MS_UNLIKELY(!t->sampling)) {
        /* a thread that records nothing (a child not traced, the helper)
         * stops here, as in ms_ev: not even a call */
        if (t->state == MS_T_OFF && atomic_load_explicit(&ms_clock.now, memory_order_relaxed) == t->seen)
            return (uintptr_t)p;
        ms_ev_slow(MSF_K_ALLOC, (uintptr_t)p, 0, n, ra);
        if (!t->sampling)
            return (uintptr_t)p; /* not recording, or memscope's own */
    }
    return ms_ev_sampled(t, MSF_K_ALLOC, (uintptr_t)p, n, 0, false, ra);
}

/* The hot path of one event. Inlined into each malloc-family entry, so that
 * __builtin_return_address(0) is the entry's own return address. Returns,
 * for an allocation, the block the program gets (a, or in sampled mode its
 * replacement in the sampled range: align and zero say how to make it); for
 * a free, nonzero if memscope freed the block itself. */
static inline __attribute__((always_inline)) uintptr_t
ms_ev(int kind, uintptr_t a, uintptr_t b, size_t n, size_t align, bool zero)
{
    ms_tls_t *t = &ms_tls;
    uint64_t clk = atomic_load_explicit(&ms_clock.now, memory_order_relaxed);
    /* kind is a constant here: a free compares with 1, an allocation with
     * the thread's floor (the same instruction, a memory operand) */
    uint32_t floor = kind == MSF_K_FREE ? 1u : t->alloc_floor;
    if (MS_UNLIKELY((uintptr_t)t->cur >= (uintptr_t)t->limit || t->tick <= floor ||
                    clk != t->seen)) {
        if (t->sampling)
            return ms_ev_sampled(t, kind, a, n, align, zero, (uintptr_t)__builtin_return_address(0));
        /* off: not even a call, until the clock moves (memscope_trace_all
         * moves it to start the threads). `seen` is read again here (a
         * volatile load), so that the test above keeps its memory operand
         * and the fast path its instruction count. */
        if (t->state != MS_T_OFF || clk != *(volatile const uint64_t *)&t->seen) {
            ms_ev_slow(kind, a, b, n, (uintptr_t)__builtin_return_address(0));
            /* the first allocation of a thread that samples from now on */
            if (kind != MSF_K_FREE && MS_UNLIKELY(t->sampling))
                return ms_ev_sampled(t, kind, a, n, align, zero, (uintptr_t)__builtin_return_address(0));
        }
        return kind == MSF_K_FREE ? 0 : a;
    }
    t->tick--;
    ms_ev_put(t, kind, a, b, n);
    return kind == MSF_K_FREE ? 0 : a;
}

/* &errno without a call into libc (the sampled slow paths keep errno). */
static inline int *ms_errno_ptr(void)
{
    int *ep = ms_tls.errno_ptr;
    if (MS_UNLIKELY(ep == NULL))
        ep = ms_tls.errno_ptr = &errno;
    return ep;
}

/* Records that p now holds a block of n requested bytes (align: the
 * alignment asked, 0 for malloc's; zero: calloc). Returns the block to give
 * the program: p, or its replacement in sampled mode. */
static inline __attribute__((always_inline)) void *ms_ev_alloc_ex(void *p, size_t n, size_t align, bool zero)
{
    return (void *)ms_ev(MSF_K_ALLOC, (uintptr_t)p, 0, n, align, zero);
}

static inline __attribute__((always_inline)) void *ms_ev_alloc(void *p, size_t n)
{
    return (void *)ms_ev(MSF_K_ALLOC, (uintptr_t)p, 0, n, 0, false);
}

/* Records that the block at p is about to be freed. Returns true if memscope
 * freed it (a sampled block): the caller must not. */
static inline __attribute__((always_inline)) bool ms_ev_free(void *p)
{
    return ms_ev(MSF_K_FREE, (uintptr_t)p, 0, 0, 0, false) != 0;
}

/* Records that the block at old now lives at p (maybe old) with n bytes. */
static inline __attribute__((always_inline)) void ms_ev_realloc(void *old, void *p, size_t n)
{
    (void)ms_ev(MSF_K_REALLOC, (uintptr_t)old, (uintptr_t)p, n, 0, false);
}

#endif /* MS_TRACKER_H */
