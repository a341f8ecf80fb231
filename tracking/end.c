/* The process's end: the exit flush (its drops, a last METRIC and MODULES,
 * the END record), the quick end of _exit and exec, and the auto-export.
 * The rest of the recorder is tracker.c. */
#include "tracker.h"

#include "autoexport.h"
#include "metrics.h"
#include "options.h"
#include "process.h"
#include "records.h"

#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- exit ------------------------------------------------------------- */

/* Writes the exit flush into stream t: its drops, a last METRIC and MODULES,
 * and the END record saying `how`; sets the header's end time and ending. */
static void exit_records(ms_tls_t *t, unsigned how)
{
    if (t->dropped) {
        ms_put_record(t, MSF_R_DROPPED, ms_rec_fill_u64, &t->dropped);
        t->dropped = 0;
    }
    if (ms_metrics_interval_ns()) /* MEMSCOPE_METRICS_INTERVAL=0: no METRIC at all */
        ms_put_metric(t, false);
    ms_modules_check(t);
    ms_put_time(t);
    ms_rec_end_t e = { t->last_time, how }; /* the TIME just written */
    ms_put_record(t, MSF_R_END, ms_rec_fill_end, &e);
    ms_stream_set_end_how(how);
    ms_stream_set_end(e.time);
}

bool ms_own_process(void)
{
    const ms_process_t *P = ms_process_state();
    return (uint64_t)syscall(SYS_getpid) == P->pid;
}

/* The end by _exit or exec, which may run in a signal handler: only what is
 * safe there. The END record is written when the thread is not inside the
 * recorder (else its chunk is mid-write); the header says how it ended in
 * any case. No METRIC, no module walk, no export. */
static void quick_end(unsigned how)
{
    ms_tls_t *t = &ms_tls;
    int saved_errno = errno;
    uint64_t tm = ms_stream_now();
    if (t->guard == 0 && t->state == MS_T_ACTIVE && t->chunk) {
        ms_guard_enter();
        ms_put_time(t);
        tm = t->last_time;
        ms_rec_end_t e = { tm, how };
        ms_put_record(t, MSF_R_END, ms_rec_fill_end, &e);
        ms_guard_leave(t);
    }
    ms_stream_set_end_how(how);
    ms_stream_set_end(tm);
    ms_stream_final(true); /* no new slot from here: the image ends now */
    ms_stream_settle();    /* and none left half taken */
    errno = saved_errno;
}

void ms_process_end(unsigned how)
{
    ms_process_t *P = ms_process_state();
    if (atomic_load_explicit(&P->state, memory_order_acquire) != PROC_READY || !P->recording ||
        !ms_own_process())
        return;
    if (atomic_exchange(&P->ended, true))
        return; /* e.g. exit() after _exit() ran in an atexit handler: the first one counts */
    if (how != MSF_END_EXIT) {
        quick_end(how);
        return;
    }
    ms_tls_t *t = &ms_tls;
    int saved_errno = errno;
    ms_guard_enter();
    if (t->state == MS_T_ACTIVE || t->state == MS_T_CAPPED) {
        exit_records(t, how);
    } else {
        /* exit() on a thread with no stream of its own: one past its key
         * destructor (the last thread of a program whose main thread called
         * pthread_exit, or the chunk helper standing in for it), or one that
         * never allocated. The flush goes to the late stream. */
        ms_tls_t *l = ms_late_lock();
        if (l->state == MS_T_ACTIVE)
            exit_records(l, how);
        atomic_flag_clear_explicit(&P->late_lock, memory_order_release);
    }
    ms_stream_settle(); /* the helper may be taking a slot: let it finish */
    const char *formats = ms_option_str(MS_OPT_AUTO_EXPORT);
    if (how != MSF_END_EXEC && formats[0] && ms_stream_ready()) {
        /* Never analyse a trace that threads still write: stop recording on
         * all of them first. Moving the clock sends every thread's next event
         * to the slow path, which sees the stop (an event already past its
         * checks lands whole, or not at all). */
        atomic_store_explicit(&P->stopped, true, memory_order_release);
        ms_clock_raise((ms_stream_now() + 2) | 1);
        char base[512];
        ms_report_base(base);
        t->own++;
        ms_autoexport(ms_stream_path(), ms_option_str(MS_OPT_OUTPUT), base, formats);
        t->own--;
    }
    ms_guard_leave(t);
    errno = saved_errno;
}

void ms_process_exec_failed(void)
{
    ms_process_t *P = ms_process_state();
    if (!P->recording || !ms_own_process())
        return;
    /* The END record stays in the stream; the header no longer says ended,
     * and the real end writes another END. */
    ms_stream_set_end_how(MSF_END_NONE);
    ms_stream_set_end(0);
    ms_stream_final(false);
    atomic_store(&P->ended, false);
}

