/* Per-thread recording: thread start and exit, chunk switching, the TIME tick,
 * control records. The hot path is in tracker.h; the process's end is in
 * end.c.
 *
 * Threads never share a chunk. The one exception is the "late" stream: events
 * of a thread after its last key destructor ran (glibc frees some per-thread
 * buffers after that point) go to a shared pseudo-thread under a spin lock,
 * since the thread's own chunk is gone by then. That happens a few times per
 * thread exit and never on the common path. */
#include "tracker.h"

#include "alloc_iface.h"
#include "metrics.h"
#include "options.h"
#include "prim.h"
#include "process.h"
#include "records.h"

#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* used: allocator/alloc.c's assembly reads it, which LTO does not see */
_Thread_local ms_tls_t ms_tls __attribute__((tls_model("initial-exec"), used));


static ms_process_t proc = { .late_lock = ATOMIC_FLAG_INIT };

ms_process_t *ms_process_state(void)
{
    return &proc;
}


static void thread_dtor(void *arg);

/* ---- small helpers ---------------------------------------------------- */

/* Events the thread has recorded so far. */
static uint64_t events_so_far(const ms_tls_t *t)
{
    return t->ev_base - t->tick;
}

ms_tls_t *ms_guard_enter(void)
{
    ms_tls_t *t = &ms_tls;
    ms_guard_up(t);
    return t;
}

void ms_guard_leave(ms_tls_t *t)
{
    ms_guard_down(t);
}

/* Publishes the bytes written so far in the chunk (release: bytes first). */
static void commit(ms_tls_t *t)
{
    atomic_store_explicit(t->committed, (uint32_t)(t->cur - t->payload), memory_order_release);
}

/* This thread's time for what it records next: its own CLOCK_MONOTONIC
 * reading, never below its last TIME (readings are monotonic; the max only
 * guards a clock that stands still). */
static uint64_t time_now(const ms_tls_t *t)
{
    uint64_t now = ms_stream_now();
    return now > t->last_time ? now : t->last_time;
}

/* Takes the published clock's value as the one this thread has seen, and
 * keeps the helper publishing. A value that says the helper stopped (bit 0)
 * wakes it, once per such value; and until the helper publishes again this
 * thread does not take the value as seen, so that each of its events comes
 * back here and is stamped with its own reading (clock_moved): a helper that
 * is slow to run (a loaded machine, or one just started) must not leave the
 * events with the time of the thread's last reading. Returns true while the
 * clock is stopped that way. Without a helper at all the value is taken as
 * seen: the countdown refills bound the times then. */
static bool clock_take(ms_tls_t *t)
{
    /* acquire: a thread that takes the value of a stop's clock move sees the
     * stop (stop_late below) */
    uint64_t c = atomic_load_explicit(&ms_clock.now, memory_order_acquire);
    if (!(c & 1)) {
        t->seen = c;
        ms_clock_note_demand();
        return false;
    }
    if (!ms_stream_helper_running()) {
        t->seen = c;
        return false;
    }
    if (t->stopped_seen != c) {
        t->stopped_seen = c;
        ms_stream_wake_helper();
    }
    t->seen = c - 1; /* even: the next event differs from the clock again */
    return true;
}

/* ---- chunks ----------------------------------------------------------- */

/* Gives up the current chunk, if any. Its content stays in the file. */
static void chunk_drop(ms_tls_t *t, uint32_t flags)
{
    if (!t->chunk)
        return;
    t->chunk->flags |= flags;
    ms_stream_release_chunk(t->chunk);
    t->chunk = NULL;
    t->cur = t->payload = t->end = NULL;
}

/* Switches the thread to a fresh chunk. Returns true on error (no chunk: the
 * thread can no longer record). */
static bool chunk_next(ms_tls_t *t)
{
    chunk_drop(t, 0);
    uint32_t max = ms_stream_chunk_size(); /* at most 1 GiB: the doubling ends by seq 18 */
    uint32_t size = max;
    if (t->seq < 18 && ((uint64_t)MSF_CHUNK_MIN << t->seq) < max)
        size = MSF_CHUNK_MIN << t->seq;
    ms_chunk_header_t *c = ms_stream_take_chunk(size);
    if (!c)
        return true;
    c->thread = t->serial;
    c->seq = t->seq++;
    c->tid = t->tid;
    /* A reading taken now, before the chunk's first event: a lower bound of
     * its events' times (FORMAT.md "Time"). */
    clock_take(t);
    c->time_ns = t->last_time = time_now(t);
    c->first_event = events_so_far(t);
    c->task = t->task;
    c->flags = t->chunk_flags;
    atomic_store_explicit(&c->magic, MSF_CHUNK_MAGIC, memory_order_release);
    t->chunk = c;
    t->committed = &c->committed;
    t->payload = t->cur = (uint8_t *)c + MSF_CHUNK_HEADER_SIZE;
    t->end = (uint8_t *)c + c->size;
    t->prev = 0;
    return false;
}

/* Writes one control record of `type` whose object `fill` packs. Takes a new
 * chunk if the record does not fit (each next chunk of a thread is bigger);
 * drops a record that does not fit an empty chunk of the largest size.
 * Returns true if the record was not written. */
bool ms_put_record(ms_tls_t *t, unsigned type, ms_fill_fn fill, const void *arg)
{
    for (int attempt = 0; attempt < 32; attempt++) {
        if (!t->chunk && chunk_next(t))
            break;
        ms_cbuf_t b = { t->cur, t->end, false };
        ms_pc_uint64(&b, msf_head(type, MSF_K_RECORD));
        fill(&b, arg);
        if (!b.overflow) {
            t->cur = b.cur;
            commit(t);
            return false;
        }
        if ((t->cur == t->payload && t->chunk->size >= ms_stream_chunk_size()) || chunk_next(t))
            break;
    }
    ms_stream_add_dropped_record(); /* counted in the file header (FORMAT.md) */
    return true;
}


/* Takes the next chunk first if a TIME record would not fit: a TIME read
 * before the switch would be older than its new chunk. */
static void time_room(ms_tls_t *t)
{
    if (t->chunk && t->end - t->cur < 10) /* head 1 byte, uint64 9 */
        chunk_next(t);                    /* on failure, ms_put_record counts the drop */
}

/* Writes a TIME record: this thread's own clock reading, taken before the
 * events that follow. Invariant: a thread's TIME records never go backwards,
 * nor below their chunk's time; t->last_time is the TIME in force. */
void ms_put_time(ms_tls_t *t)
{
    time_room(t);
    uint64_t tm = time_now(t);
    ms_put_record(t, MSF_R_TIME, ms_rec_fill_u64, &tm);
    t->last_time = tm;
}

/* The published clock moved since this thread last looked (clock.h): takes
 * the new value as seen, keeps the helper publishing (or wakes it when it
 * stopped), and stamps the next events with a fresh TIME. */
static void clock_moved(ms_tls_t *t)
{
    /* while the clock is stopped, a TIME at most every period suffices */
    if (!clock_take(t) || ms_stream_now() >= t->last_time + MS_CLOCK_PERIOD_NS)
        ms_put_time(t);
}

/* A sampling thread records a few events in a thousand: rather than keep
 * the helper publishing the clock for them, it reads the clock itself and
 * writes a TIME when its last is a period old (FORMAT.md "Time"). */
static void sampled_time(ms_tls_t *t)
{
    if (ms_stream_now() >= t->last_time + MS_CLOCK_PERIOD_NS)
        ms_put_time(t);
}

/* True once the process flushed its end or the exit export stopped
 * recording: the helper writes no METRIC then. */
static bool metrics_over(void)
{
    return atomic_load_explicit(&proc.stopped, memory_order_acquire) ||
           atomic_load_explicit(&proc.ended, memory_order_acquire);
}

/* Takes a METRIC sample and writes it into stream t after a TIME read before
 * it; skipped while another thread samples, and for the helper once over. */
void ms_put_metric(ms_tls_t *t, bool helper)
{
    time_room(t);
    uint64_t tm = time_now(t);
    const ms_metric_sample_t *s = ms_metrics_take();
    if (!s)
        return;
    if (!helper || !metrics_over()) {
        ms_put_record(t, MSF_R_TIME, ms_rec_fill_u64, &tm);
        t->last_time = tm;
        ms_put_record(t, MSF_R_METRIC, ms_rec_fill_metric, s);
    }
    ms_metrics_release();
}

void ms_metrics_record(void)
{
    ms_tls_t *m = &proc.metrics;
    if (!proc.recording || metrics_over() || m->state == MS_T_CAPPED)
        return;
    if (m->state == MS_T_NEW) {
        /* memscope's own stream: its chunks say so, and hold no event */
        m->serial = atomic_fetch_add_explicit(&proc.next_serial, 1, memory_order_relaxed) + 1;
        m->tid = ms_prim_gettid();
        m->chunk_flags = MSF_CF_INTERNAL;
        m->state = chunk_next(m) ? MS_T_CAPPED : MS_T_ACTIVE;
        if (m->state != MS_T_ACTIVE)
            return;
        ms_put_record(m, MSF_R_THREAD, ms_rec_fill_thread, &(ms_rec_thread_t){ m->tid, false, "memscope-prep" });
    }
    ms_put_metric(m, true);
}

/* ---- process ---------------------------------------------------------- */

/* Opens the trace and reports a failure once. Caller holds PROC_BUSY. */
void ms_process_open(void)
{
    ms_sampled_start(false); /* until ms_sample_configure says otherwise */
    ms_options_load();
    ms_stacks_configure();
    proc.recording = false;
    proc.sampled = false;
    if (ms_option_u64(MS_OPT_MODE) == MS_MODE_OFF)
        return;
    if (ms_option_u64(MS_OPT_MODE) == MS_MODE_SAMPLED) {
        if (!ms_sampled_init()) {
            ms_prim_stderr("memscope: sampled mode needs an arena of its own (not available here); "
                           "the program runs on untraced\n");
            return;
        }
        proc.sampled = true;
    }
    int r = ms_stream_open();
    if (r < 0) {
        char msg[1400];
        char num[24];
        strcpy(msg, "memscope: cannot create a trace in '");
        strncat(msg, ms_option_str(MS_OPT_OUTPUT), 1024);
        strcat(msg, "': ");
        strcat(msg, strerror(-r));
        strcat(msg, " (errno ");
        ms_fmt_u64(num, (uint64_t)-r);
        strcat(msg, num);
        strcat(msg, "); the program runs on untraced\n");
        ms_prim_stderr(msg);
        return;
    }
    ms_sample_configure(proc.sampled);
    proc.recording = true;
    proc.pid = (uint64_t)syscall(SYS_getpid);
    atomic_store_explicit(&proc.process_pending, true, memory_order_relaxed);
}

void ms_process_init(void)
{
    int s = atomic_load_explicit(&proc.state, memory_order_acquire);
    if (MS_LIKELY(s == PROC_READY))
        return;
    int saved_errno = errno; /* mkdir, open: errno is the program's */
    ms_tls_t *t = ms_guard_enter();
    int expected = PROC_NONE;
    if (atomic_compare_exchange_strong_explicit(&proc.state, &expected, PROC_BUSY,
                                                memory_order_acquire, memory_order_acquire)) {
        t->own++; /* libc allocates for the key and the fork handlers: memscope's */
        ms_process_open();
        pthread_key_create(&proc.key, thread_dtor);
        pthread_atfork(ms_atfork_prepare, ms_atfork_parent, ms_atfork_child);
        t->own--;
        atomic_store_explicit(&proc.state, PROC_READY, memory_order_release);
    } else {
        /* Another thread is opening the trace: a few system calls long. */
        while (atomic_load_explicit(&proc.state, memory_order_acquire) != PROC_READY)
            sched_yield();
    }
    ms_guard_leave(t);
    errno = saved_errno;
}

void ms_process_started(void)
{
    ms_process_init();
    if (ms_option_u64(MS_OPT_CHILDREN) != 0)
        return;
    int saved_errno = errno;
    ms_tls_t *t = ms_guard_enter();
    t->own++; /* setenv allocates for memscope */
    ms_options_drop_preload();
    t->own--;
    ms_guard_leave(t);
    errno = saved_errno;
}

/* ---- threads ---------------------------------------------------------- */

/* Starts recording on this thread. Runs under the guard. */
static void thread_init(ms_tls_t *t)
{
    ms_process_init();
    if (t->arena == 0)
        t->arena = ms_arena_bind() + 1; /* a fork child keeps its parent's binding */
    t->tid = ms_prim_gettid();
    /* Every thread gets the destructor: it ends the stream, and it hands the
     * arena back for reuse also when nothing is recorded. */
    t->own++; /* glibc may allocate the key's second-level array */
    pthread_setspecific(proc.key, t);
    t->own--;
    /* the clock before the check, acquire: memscope_trace_all sets recording
     * before it moves the clock, so a thread that misses the one sees the
     * other move and comes back (off_wakes) */
    uint64_t clk = atomic_load_explicit(&ms_clock.now, memory_order_acquire);
    if (!proc.recording) {
        t->state = MS_T_OFF;
        t->seen = clk;
        return;
    }
    t->serial = atomic_fetch_add_explicit(&proc.next_serial, 1, memory_order_relaxed) + 1;
    uint64_t max = ms_option_u64(MS_OPT_MAX_EVENTS);
    t->tick = (uint32_t)(max && max < MS_TICK_EVENTS ? max : MS_TICK_EVENTS);
    t->ev_base = t->tick;
    t->alloc_floor = ms_stack_depth ? UINT32_MAX : 1u;
    if (proc.sampled)
        ms_sample_thread_init(t);
    if (chunk_next(t)) {
        t->state = MS_T_CAPPED;
        return;
    }
    t->state = MS_T_ACTIVE;
    if (proc.fork_parent) {
        uint64_t parent = proc.fork_parent;
        proc.fork_parent = 0;
        ms_put_record(t, MSF_R_FORK, ms_rec_fill_fork, &parent);
    }
    ms_rec_thread_t rt = { t->tid, false, t->name };
    ms_put_record(t, MSF_R_THREAD, ms_rec_fill_thread, &rt);
    bool pending = true;
    if (atomic_compare_exchange_strong_explicit(&proc.process_pending, &pending, false,
                                                memory_order_relaxed, memory_order_relaxed))
        ms_put_record(t, MSF_R_PROCESS, ms_rec_fill_process, NULL);
}

/* Called when the tick window ran out: writes a TIME record and opens the
 * next window, or caps the thread at MEMSCOPE_MAX_EVENTS. */
static void tick_refill(ms_tls_t *t)
{
    uint64_t max = ms_option_u64(MS_OPT_MAX_EVENTS);
    if (max && t->ev_base >= max) {
        t->state = MS_T_CAPPED;
        return;
    }
    uint64_t left = max ? max - t->ev_base : MS_TICK_EVENTS;
    t->tick = (uint32_t)(left < MS_TICK_EVENTS ? left : MS_TICK_EVENTS);
    t->ev_base += t->tick;
    ms_put_time(t);
}

/* Counts an event that could not be recorded. */
static void drop(ms_tls_t *t)
{
    t->dropped++;
    ms_stream_add_dropped(1);
}

/* Takes the late stream's lock and starts the stream on its first use.
 * Returns the stream. Caller holds the guard. */
ms_tls_t *ms_late_lock(void)
{
    while (atomic_flag_test_and_set_explicit(&proc.late_lock, memory_order_acquire))
        sched_yield();
    ms_tls_t *l = &proc.late;
    if (l->state == MS_T_NEW) {
        l->serial = atomic_fetch_add_explicit(&proc.next_serial, 1, memory_order_relaxed) + 1;
        l->tick = MS_TICK_EVENTS;
        l->ev_base = MS_TICK_EVENTS;
        l->state = chunk_next(l) ? MS_T_CAPPED : MS_T_ACTIVE;
        if (l->state == MS_T_ACTIVE)
            ms_put_record(l, MSF_R_THREAD, ms_rec_fill_thread, &(ms_rec_thread_t){ l->tid, true, NULL });
    }
    return l;
}

/* Records into the shared late stream. Caller holds the guard. */
static void late_event(int kind, uintptr_t a, uintptr_t b, size_t n)
{
    if (!proc.recording)
        return;
    ms_tls_t *l = ms_late_lock();
    if (l->state == MS_T_ACTIVE && (l->cur + 2 * MS_EVENT_MAX > l->end) && chunk_next(l))
        l->state = MS_T_CAPPED;
    if (l->state == MS_T_ACTIVE) {
        ms_put_time(l); /* these are rare: a fresh time for each */
        if (l->cur + MS_EVENT_MAX <= l->end) {
            l->tick--;
            ms_ev_put(l, kind, a, b, n);
            if (l->tick == 0) {
                l->tick = MS_TICK_EVENTS;
                l->ev_base += MS_TICK_EVENTS;
            }
        } else {
            drop(l);
        }
    } else {
        drop(l);
    }
    atomic_flag_clear_explicit(&proc.late_lock, memory_order_release);
}

/* A thread that does not record met a moved clock: notes the clock as seen
 * and returns true if memscope_trace_all started tracing since (the thread is
 * then NEW, or GONE past its key destructor). */
static bool off_wakes(ms_tls_t *t)
{
    t->seen = atomic_load_explicit(&ms_clock.now, memory_order_acquire);
    if (!atomic_load_explicit(&proc.started, memory_order_acquire) ||
        atomic_load_explicit(&proc.stopped, memory_order_acquire))
        return false;
    t->state = t->dtor_rounds ? MS_T_GONE : MS_T_NEW;
    return true;
}

void ms_thread_stop(ms_tls_t *t)
{
    t->sampling = false;
    t->sample_left = INT64_MAX; /* the sampled-mode entries pass it for good */
    t->rate_left = 0;
    chunk_drop(t, 0);
    t->state = MS_T_OFF;
    t->seen = atomic_load_explicit(&ms_clock.now, memory_order_acquire);
}

/* A stop that came while this thread was past its check of `stopped` and
 * then took the stop's clock value as seen (clock_take) would leave its fast
 * path open: after recording, the thread looks again. Caller holds the guard. */
static void stop_late(ms_tls_t *t)
{
    if (MS_UNLIKELY(atomic_load_explicit(&proc.stopped, memory_order_acquire)) &&
        (t->state == MS_T_ACTIVE || t->state == MS_T_CAPPED))
        ms_thread_stop(t);
}

__attribute__((noinline)) void ms_ev_record(int kind, uintptr_t a, uintptr_t b, size_t n, uintptr_t ra,
                                            uintptr_t fp, uint64_t weight)
{
    ms_tls_t *t = &ms_tls;
    if (t->guard) {
        /* Inside memscope on this thread: memscope's own allocation, or, with
         * no own-allocation section open, a signal handler that interrupted
         * the recorder. That event cannot be written (the chunk is in use):
         * it is counted as dropped (an atomic add, safe in a handler). */
        if (!t->own && (t->state == MS_T_ACTIVE || t->state == MS_T_CAPPED))
            ms_stream_add_dropped(1);
        return;
    }
    if (t->state == MS_T_OFF && !off_wakes(t))
        return; /* nothing to record */
    int saved_errno = errno;
    ms_guard_enter();
    if (MS_UNLIKELY(atomic_load_explicit(&proc.stopped, memory_order_acquire))) {
        /* the exit export or memscope_stop_tracing stopped recording: nothing
         * more; the chunk's content stays in the file */
        ms_thread_stop(t);
        ms_guard_leave(t);
        errno = saved_errno;
        return;
    }

    if (t->state == MS_T_NEW) {
        thread_init(t);
        if (t->sampling && kind != MSF_K_FREE) {
            /* the thread's first allocation: the caller samples it (ms_ev);
             * a free here is of a sampled block (ms_sample_free): recorded */
            ms_guard_leave(t);
            errno = saved_errno;
            return;
        }
    }
    switch (t->state) {
    case MS_T_ACTIVE: {
        uint64_t sid = 0;
        if (ms_stack_depth && kind != MSF_K_FREE)
            sid = ms_stack_of(t, ra, fp); /* before the TIME: the unwind takes time */
        if (t->cur + MS_EVENT_MAX > t->end) {
            if (chunk_next(t)) {
                t->state = MS_T_CAPPED;
                drop(t);
                break;
            }
            ms_modules_check(t);
        }
        if (t->sampling)
            sampled_time(t);
        else if (t->seen != atomic_load_explicit(&ms_clock.now, memory_order_relaxed))
            clock_moved(t);
        if (t->cur + MS_EVENT_MAX > t->end && chunk_next(t)) { /* the TIME filled it */
            t->state = MS_T_CAPPED;
            drop(t);
            break;
        }
        t->tick--;
        if ((ms_stack_depth || weight) && kind != MSF_K_FREE)
            ms_ev_put_ex(t, kind, a, b, n, sid, weight);
        else
            ms_ev_put(t, kind, a, b, n);
        if (t->tick == 0)
            tick_refill(t);
        break;
    }
    case MS_T_CAPPED:
        drop(t);
        break;
    case MS_T_GONE:
        if (proc.sampled && kind != MSF_K_FREE) { /* no sample after the end: a failed */
            t->sample_left = INT64_MAX;            /* malloc of ~2^63 ran its count out */
            break;
        }
        late_event(kind, a, b, n);
        break;
    default: /* MS_T_OFF */
        break;
    }
    stop_late(t);
    ms_guard_leave(t);
    errno = saved_errno;
}

/* Key destructor: ends the thread's stream. glibc runs destructors in rounds
 * while values are set (PTHREAD_DESTRUCTOR_ITERATIONS); we re-arm so that frees
 * done by other keys' destructors are still recorded in the thread's own
 * stream. We stop one round before the last: the sanitizers' runtimes tear the
 * thread down in the last round, before our key's turn. */
static void thread_dtor(void *arg)
{
    ms_tls_t *t = &ms_tls;
    (void)arg;
    if (++t->dtor_rounds < PTHREAD_DESTRUCTOR_ITERATIONS - 1) {
        pthread_setspecific(proc.key, t);
        return;
    }
    int saved_errno = errno;
    ms_guard_enter();
    if (t->chunk && !atomic_load_explicit(&proc.stopped, memory_order_acquire)) {
        if (t->dropped) {
            ms_put_record(t, MSF_R_DROPPED, ms_rec_fill_u64, &t->dropped);
            t->dropped = 0;
        }
        ms_put_time(t);
        ms_put_record(t, MSF_R_THREAD_EXIT, ms_rec_fill_thread_exit, t->name);
        t->ev_base = events_so_far(t);
        t->tick = 0;
        chunk_drop(t, MSF_CF_THREAD_EXITED);
    }
    chunk_drop(t, 0); /* stopped: its chunk is given up as it is */
    ms_stack_release(&t->stk);
    ms_arena_release(t->arena - 1);
    t->arena = 0;
    ms_sampled_thread_end();
    t->sampling = false; /* a later destructor's realloc makes no tcache then */
    /* later destructors' allocations: never sampled, or recorded late as their frees */
    t->sample_left = proc.sampled ? INT64_MAX : 0;
    t->rate_left = 0;
    t->state = proc.recording ? MS_T_GONE : MS_T_OFF;
    ms_guard_leave(t);
    errno = saved_errno;
}

void ms_thread_is_internal(void)
{
    ms_guard_enter();
    ms_tls.state = MS_T_OFF;
}

void ms_thread_runs_exit(void)
{
    ms_tls_t *t = &ms_tls;
    t->guard = 0;
    t->state = proc.recording ? MS_T_GONE : MS_T_OFF;
    ms_limit_update(t);
}

/* ---- records outside malloc ------------------------------------------ */

/* Writes one control record into the calling thread's stream, after a TIME,
 * starting the thread's stream if it has none yet. Outside malloc only. */
void ms_thread_record(ms_tls_t *t, unsigned type, ms_fill_fn fill, const void *arg)
{
    /* The common case (ms_rec_fast_begin): the thread records, its chunk has
     * room for an event, and the published clock has not moved since it
     * last looked (so no stop came: a stop moves the clock). Then a TIME (a
     * fresh reading: control records are the merge's anchors, task switches
     * above all; a task's creation and end take the window of the TIME in
     * force, as an event does) and the record go in under the guard, with no
     * other call than the clock's and the packer's. What does not fit the
     * room left takes the path below, which writes nothing of it until it
     * fits. */
    ms_rec_fast_t r;
    if (ms_rec_fast_begin(t, &r, type, type != MSF_R_TASK_CREATE && type != MSF_R_TASK_END)) {
        ms_cbuf_t b = { r.w, t->end, false };
        fill(&b, arg);
        if (!b.overflow) {
            r.w = b.cur;
            ms_rec_fast_end(t, &r);
            return;
        }
        ms_guard_leave(t); /* nothing committed: cur has not moved */
    }
    if (t->guard)
        return;
    int saved_errno = errno;
    ms_guard_enter();
    if (t->state == MS_T_OFF)
        (void)off_wakes(t);
    if (t->state == MS_T_NEW)
        thread_init(t);
    if ((t->state == MS_T_ACTIVE || t->state == MS_T_CAPPED) &&
        atomic_load_explicit(&proc.stopped, memory_order_acquire))
        ms_thread_stop(t);
    if (t->state == MS_T_ACTIVE || t->state == MS_T_CAPPED) {
        ms_put_time(t);
        ms_put_record(t, type, fill, arg);
        stop_late(t);
    }
    ms_guard_leave(t);
    errno = saved_errno;
}
