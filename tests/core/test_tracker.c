/* Races of the recorder that a program hits only by bad luck, made to happen
 * on purpose: the writer (tracking/ on its own, as in test_writer) is linked
 * with dl_iterate_phdr and clock_gettime wrapped (-Wl,--wrap), so that a test
 * can stop a thread inside a walk of the module list or right after it read
 * the clock, and let another thread act in that window.
 *
 * All tests share one trace (the process's) and tell their events apart by
 * the fake addresses they record. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "options.h"
#include "stream.h"
#include "trace_reader.h"
#include "tracker.h"

/* ---- wrapped clock_gettime: an action right after this thread's next read -- */

int __real_clock_gettime(clockid_t clk, struct timespec *ts);
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts);

static _Thread_local void (*after_clock)(void); /* run once, after the next read */

int __wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
    int r = __real_clock_gettime(clk, ts);
    if (after_clock && clk == CLOCK_MONOTONIC) {
        void (*fn)(void) = after_clock;
        after_clock = NULL;
        fn();
    }
    return r;
}

/* ---- wrapped dl_iterate_phdr: a slow walk, or a list that changes ---------- */

int __real_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *arg);
int __wrap_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *arg);

static _Thread_local bool slow_walks;    /* this thread's walks pause in the list */
static _Thread_local bool growing_list;  /* every other walk sees one more module */
static _Thread_local unsigned walks;
static _Atomic bool in_walk;             /* a slow walk holds the loader's list now */

typedef struct shim {
    int (*cb)(struct dl_phdr_info *, size_t, void *);
    void *arg;
    bool paused;
    struct dl_phdr_info first;
} shim_t;

/* Passes each module on to the real callback; pauses at the first one of a
 * slow walk, and remembers the first one for a growing list. */
static int shim_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    shim_t *s = arg;
    if (slow_walks && !s->paused) {
        s->paused = true;
        atomic_store(&in_walk, true);
        usleep(300000);
        atomic_store(&in_walk, false);
    }
    if (s->first.dlpi_phdr == NULL)
        s->first = *info;
    return s->cb(info, size, s->arg);
}

int __wrap_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *arg)
{
    if (!slow_walks && !growing_list)
        return __real_dl_iterate_phdr(cb, arg);
    shim_t s = { cb, arg, false, { 0 } };
    int r = __real_dl_iterate_phdr(shim_cb, &s);
    /* A module loaded since the last walk: shown at the end of every other
     * walk (a copy of the first one is as good as any). */
    if (growing_list && (walks++ & 1) && r == 0 && s.first.dlpi_phdr)
        r = cb(&s.first, sizeof s.first, arg);
    return r;
}

/* ---- the shared trace -------------------------------------------------------- */

static char *trace_dir;

static int setup(void **state)
{
    (void)state;
    trace_dir = th_tmpdir();
    setenv("MEMSCOPE_OUTPUT", trace_dir, 1);
    ms_process_init();
    ms_ev_alloc((void *)0x1000, 1); /* the main thread takes the PROCESS record */
    ms_ev_free((void *)0x1000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_rmtree(trace_dir);
    return 0;
}

/* The event of `kind` at `addr` (0 ALLOC, 1 FREE), or NULL. */
static const tr_event_t *find_event(const tr_trace_t *t, int kind, uint64_t addr)
{
    for (size_t i = 0; i < t->nev; i++)
        if (t->ev[i].kind == kind && t->ev[i].addr == addr)
            return &t->ev[i];
    return NULL;
}

/* ---- a fork while memscope walks the module list ------------------------------ */

static void *walking_thread(void *arg)
{
    (void)arg;
    slow_walks = true;
    ms_record_modules(); /* walks the list, pausing in it */
    slow_walks = false;
    return NULL;
}

/* A fork taken while another thread's MODULES record walks the loader's list:
 * the child must not hang at its own walk (its exit flush makes one). */
static void test_fork_during_module_walk(void **state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    /* TSan keeps the parent's other threads' accesses in the child's shadow
     * memory and reports the child's writes as races with them (it does not
     * model fork in a multithreaded process): this test runs in the other
     * builds, and is counted as skipped here. */
    fprintf(stderr, "fork in a multithreaded process: not under TSan; skipped\n");
    skip();
#endif
    pthread_t th;
    pthread_create(&th, NULL, walking_thread, NULL);
    while (!atomic_load(&in_walk))
        usleep(1000);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(5); /* a hang ends here */
        ms_ev_alloc((void *)0x2000, 16);
        ms_process_end(MSF_END_EXIT); /* walks the list for a last MODULES record */
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    pthread_join(th, NULL);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- the module list changes between two walks ------------------------------- */

static void *growing_thread(void *arg)
{
    (void)arg;
    growing_list = true;
    ms_record_modules();
    growing_list = false;
    for (uintptr_t i = 0; i < 10; i++)
        ms_ev_alloc((void *)(0x30000 + 64 * i), 30 + i);
    return NULL;
}

/* A module loaded while a MODULES record is written: the record stays
 * well-formed and the events after it decode. */
static void test_module_map_while_list_changes(void **state)
{
    (void)state;
    pthread_t th;
    pthread_create(&th, NULL, growing_thread, NULL);
    pthread_join(th, NULL);
    tr_trace_t t;
    assert_int_equal(tr_load(ms_stream_path(), &t), 0);
    assert_int_equal(t.bad, 0);
    for (uintptr_t i = 0; i < 10; i++) {
        const tr_event_t *e = find_event(&t, 0, 0x30000 + 64 * i);
        assert_non_null(e);
        assert_int_equal(e->size, 30 + i);
    }
    tr_free(&t);
}

/* ---- another thread's event between a clock read and its use ------------------ */

#define SHARED_ADDR_CHUNK 0x40000u
#define SHARED_ADDR_TICK 0x50000u

static uintptr_t shared_addr;

/* The other thread: frees the shared block (its first event, so its chunk is
 * taken and its time published now) and ends. */
static void *freeing_thread(void *arg)
{
    (void)arg;
    ms_ev_free((void *)shared_addr);
    return NULL;
}

/* Runs the other thread to its end, inside this thread's clock read. */
static void free_elsewhere_now(void)
{
    pthread_t th;
    pthread_create(&th, NULL, freeing_thread, NULL);
    pthread_join(th, NULL);
}

/* Thread A of the chunk test: its first event reads the clock for its first
 * chunk; the other thread frees the block right then; A then gets the block. */
static void *chunk_time_thread(void *arg)
{
    (void)arg;
    after_clock = free_elsewhere_now;
    ms_ev_alloc((void *)0x41000, 8); /* first event: thread start, first chunk */
    ms_ev_alloc((void *)SHARED_ADDR_CHUNK, 8);
    return NULL;
}

/* Asserts that the times of the shared block's free and of its allocation
 * after it, on another thread, allow that order (FORMAT.md "Time"): the free's
 * TIME (taken before it) is not later than the end of the allocation's window
 * (a reading taken after it), and each event lies in its own window. */
static void assert_free_not_after_alloc(uintptr_t addr)
{
    tr_trace_t t;
    assert_int_equal(tr_load(ms_stream_path(), &t), 0);
    const tr_event_t *f = find_event(&t, 1, addr), *a = find_event(&t, 0, addr);
    assert_non_null(f);
    assert_non_null(a);
    assert_true(f->thread != a->thread);
    assert_true(a->next_time != UINT64_MAX);
    assert_true(f->time <= a->next_time);
    assert_true(a->time <= a->next_time && f->time <= f->next_time);
    tr_free(&t);
}

/* A thread's first chunk: its time is read, another thread frees a block (a
 * newer TIME), the first thread gets the block. */
static void test_chunk_time_bounds_a_racing_free(void **state)
{
    (void)state;
    shared_addr = SHARED_ADDR_CHUNK;
    pthread_t th;
    pthread_create(&th, NULL, chunk_time_thread, NULL);
    pthread_join(th, NULL);
    assert_free_not_after_alloc(SHARED_ADDR_CHUNK);
}

/* Thread A of the tick test: after its first event, the 256th reads the clock
 * for its TIME record; the other thread frees the block right then. */
static void *tick_time_thread(void *arg)
{
    (void)arg;
    ms_ev_alloc((void *)0x51000, 8); /* thread start */
    after_clock = free_elsewhere_now;
    for (uintptr_t i = 1; i < MS_TICK_EVENTS; i++)
        ms_ev_alloc((void *)(0x52000 + 16 * i), 8); /* the last one writes TIME */
    assert_null(after_clock); /* the TIME record read the clock */
    ms_ev_alloc((void *)SHARED_ADDR_TICK, 8);
    return NULL;
}

/* The TIME record of a thread's countdown refill: its clock is read, another
 * thread frees a block (a newer TIME), the first thread gets the block. */
static void test_tick_time_bounds_a_racing_free(void **state)
{
    (void)state;
    shared_addr = SHARED_ADDR_TICK;
    pthread_t th;
    pthread_create(&th, NULL, tick_time_thread, NULL);
    pthread_join(th, NULL);
    assert_free_not_after_alloc(SHARED_ADDR_TICK);
}

/* ---- an allocation in a signal handler that interrupted the recorder -------- */

#define REENTRANT_ADDR 0x61000u

/* What a signal handler would do inside the recorder's slow path. */
static void reentrant_alloc(void)
{
    ms_ev_alloc((void *)REENTRANT_ADDR, 8);
}

static uint64_t dropped_before;

/* Runs a countdown refill whose clock read is "interrupted" by an allocation. */
static void *reentry_thread(void *arg)
{
    (void)arg;
    ms_ev_alloc((void *)0x60000, 8); /* thread start */
    tr_trace_t t;
    assert_int_equal(tr_load(ms_stream_path(), &t), 0);
    dropped_before = t.header_dropped;
    tr_free(&t);
    after_clock = reentrant_alloc;
    for (uintptr_t i = 1; i < MS_TICK_EVENTS; i++)
        ms_ev_alloc((void *)(0x62000 + 16 * i), 8); /* the last one reads the clock */
    assert_null(after_clock);
    return NULL;
}

/* The event cannot be written (the thread's chunk is in use), so it is
 * counted as dropped, never lost silently. */
static void test_reentrant_event_counted_dropped(void **state)
{
    (void)state;
    pthread_t th;
    pthread_create(&th, NULL, reentry_thread, NULL);
    pthread_join(th, NULL);
    tr_trace_t t;
    assert_int_equal(tr_load(ms_stream_path(), &t), 0);
    assert_int_equal(t.header_dropped, dropped_before + 1);
    assert_null(find_event(&t, 0, REENTRANT_ADDR));
    tr_free(&t);
}

/* ---- a stopped clock and a helper that does not run (yet) -------------------- */

#define STOPPED_ADDR 0x70000u
static uint64_t stopped_before[3];

/* Three events 5 ms apart, each time noted just before it. */
static void *stopped_clock_thread(void *arg)
{
    (void)arg;
    for (uintptr_t i = 0; i < 3; i++) {
        struct timespec d = { 0, 5000000 };
        nanosleep(&d, NULL);
        stopped_before[i] = ms_stream_now();
        ms_ev_alloc((void *)(STOPPED_ADDR + 64 * i), 8);
    }
    return NULL;
}

/* The helper is said to run but never publishes (as on a loaded machine, or
 * right after it started): a thread meeting the stopped clock stamps its
 * events with its own readings, not with the time of its first one. */
static void test_stopped_clock_events_stamped(void **state)
{
    (void)state;
    bool was = ms_stream_helper_running();
    ms_stream_set_helper(true);
    ms_clock_raise(ms_stream_now() | 1);
    pthread_t th;
    pthread_create(&th, NULL, stopped_clock_thread, NULL);
    pthread_join(th, NULL);
    ms_stream_set_helper(was);
    tr_trace_t t;
    assert_int_equal(tr_load(ms_stream_path(), &t), 0);
    for (uintptr_t i = 0; i < 3; i++) {
        const tr_event_t *e = find_event(&t, 0, STOPPED_ADDR + 64 * i);
        assert_non_null(e);
        if (e->time < stopped_before[i])
            fail_msg("event %u: TIME %llu before %llu", (unsigned)i, (unsigned long long)e->time,
                     (unsigned long long)stopped_before[i]);
    }
    tr_free(&t);
}

/* ---- the size parser at the edges of uint64 (found by fuzz_options) ---------- */

static void test_parse_size_edges(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_false(ms_parse_size("18446744073709551615", &v));
    assert_true(v == UINT64_MAX);
    assert_false(ms_parse_size("18446744073709551610", &v));
    assert_true(v == UINT64_MAX - 5);
    assert_true(ms_parse_size("18446744073709551616", &v)); /* one past */
    assert_true(ms_parse_size("99999999999999999999", &v));
    assert_false(ms_parse_size("16G", &v));
    assert_true(v == (16ull << 30));
    assert_true(ms_parse_size("17179869184G", &v)); /* 2^34 G overflows */
    assert_true(ms_parse_size("", &v));
    assert_true(ms_parse_size("12Q", &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_during_module_walk),
        cmocka_unit_test(test_module_map_while_list_changes),
        cmocka_unit_test(test_chunk_time_bounds_a_racing_free),
        cmocka_unit_test(test_tick_time_bounds_a_racing_free),
        cmocka_unit_test(test_reentrant_event_counted_dropped),
        cmocka_unit_test(test_parse_size_edges),
        cmocka_unit_test(test_stopped_clock_events_stamped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
