/* The helper thread, memscope-prep: prepares trace chunks ahead of the
 * writers (stream.c), publishes the clock (clock.h), and samples the
 * platform metrics (metrics.c) every MEMSCOPE_METRICS_INTERVAL ms into a
 * stream of its own (ms_metrics_record), asleep or not.
 *
 * While threads record, it wakes every MS_CLOCK_PERIOD_NS, publishes the time
 * and does the chunk work that writers asked for. After MS_CLOCK_IDLE_PERIODS
 * periods in which no thread used a published value, it marks the clock as
 * unpublished (bit 0) and sleeps until a writer wakes it (a thread that meets
 * the unpublished clock, or one that takes a chunk), or a second passes. It
 * blocks every signal, and its own allocations are not traced. */
#include "helper.h"

#include "clock.h"
#include "metrics.h"
#include "prim.h"
#include "stream.h"
#include "tracker.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

static sigset_t start_mask;         /* signal mask of the thread that started it */
static _Atomic bool atfork_set;     /* helper_atfork_child is registered */

/* Called by the helper when it finds itself the only thread left: the main
 * thread called pthread_exit and every other thread has ended. Without the
 * helper glibc would now end the process with exit(0) on the last thread; the
 * helper does it in that thread's place, else the process would live on with
 * only the helper, which takes no signal (not even SIGTERM). */
static void end_process(void)
{
    ms_thread_runs_exit();
    pthread_sigmask(SIG_SETMASK, &start_mask, NULL);
    exit(0);
}

/* Takes a METRIC sample when the next one is due, and returns the ns until
 * the one after (UINT64_MAX: none). A sample takes tens of microseconds:
 * like a chunk, at most one between two publications of the clock. */
static uint64_t metrics_due(uint64_t *next)
{
    uint64_t interval = ms_metrics_interval_ns();
    if (interval == 0)
        return UINT64_MAX;
    uint64_t now = ms_stream_now();
    if (*next == 0 || now >= *next) {
        ms_metrics_record();
        /* the schedule starts at the first sample */
        *next = *next ? *next + interval : now + interval;
        if (*next <= now) /* kept off the CPU for more than an interval */
            *next = now + interval;
    }
    return *next - now;
}

/* The helper's loop. */
static void *helper_main(void *arg)
{
    (void)arg;
    ms_thread_is_internal();
    bool publishing = true;
    unsigned idle = 0;
    uint64_t next_metric = 0; /* the first sample at once */
    for (;;) {
        uint32_t seen = ms_stream_prep_seq();
        uint64_t metric_in = metrics_due(&next_metric);
        if (publishing) {
            /* The clock first, then at most one chunk: preparing one takes
             * a few hundred microseconds, so the clock never waits for more
             * than one. */
            uint64_t now = ms_stream_now();
            ms_clock_raise(now & ~(uint64_t)1);
            if (ms_stream_prep_round())
                continue;
            if (atomic_exchange_explicit(&ms_clock.demand, 0, memory_order_relaxed))
                idle = 0;
            else
                idle++;
            if (idle <= MS_CLOCK_IDLE_PERIODS) {
                ms_stream_prep_wait(seen, MS_CLOCK_PERIOD_NS);
                continue;
            }
            publishing = false;
            ms_clock_raise(ms_stream_now() | 1);
        }
        while (ms_stream_prep_round()) /* retired chunks and ready ones, asleep too */
            ;
        if (ms_stream_prep_wait(seen, metric_in < 1000000000u ? metric_in : 1000000000u)) {
            if (ms_prim_only_thread_left())
                end_process();
            continue;
        }
        publishing = true; /* a writer woke it: someone records */
        idle = 0;
    }
    return NULL;
}

/* In a fork child (after tracker.c's handler opened the child's trace): the
 * helper did not survive the fork; start the child's own. */
static void helper_atfork_child(void)
{
    ms_helper_start();
}

void ms_helper_start(void)
{
    if (!ms_stream_ready() || ms_stream_helper_running())
        return;
    ms_tls_t *t = ms_guard_enter(); /* the new thread's TLS is memscope's, not the program's */
    t->own++;
    if (!atomic_exchange(&atfork_set, true))
        pthread_atfork(NULL, NULL, helper_atfork_child);
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The default stack size, since the helper may run the program's exit
     * handlers (end_process); it costs address space until used. The helper
     * must never take the program's signals. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    start_mask = old;
    ms_stream_set_helper(true); /* before it runs: writers may wake it at once */
    pthread_t th;
    if (pthread_create(&th, &attr, helper_main, NULL) != 0) {
        ms_stream_set_helper(false);
    } else {
        pthread_setname_np(th, "memscope-prep");
        ms_stream_set_time_bound(MS_CLOCK_BOUND_NS);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    t->own--;
    ms_guard_leave(t);
}
