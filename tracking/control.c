/* Tracing control from inside the program: memscope_trace_all,
 * memscope_stop_tracing, memscope_export and memscope_auto_export
 * (memscope.h), and the reports' base name that the exit export uses too.
 *
 * Starting and stopping touch no other thread's state: each thread notices at
 * its next event. Both store their flag (process.h: started, stopped) and then
 * move the published clock with release order; every thread compares the
 * clock on each event (tracker.h), so its next event goes to the slow path,
 * which reads the flag with acquire order and starts (a thread that did not
 * record) or stops. The malloc path gains no check of its own. */
#include "process.h"

#include "autoexport.h"
#include "clock.h"
#include "helper.h"
#include "options.h"
#include "prim.h"
#include "records.h"
#include "stream.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char *program_invocation_short_name; /* glibc */

/* Serialises the three calls. */
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;

void ms_control_fork_child(void)
{
    /* another thread of the parent may have held it (memscope_export holds
     * it while the tool runs): the child's one thread starts with it free */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    ctl_lock = fresh;
}

void ms_report_base(char base[512])
{
    const char *name = ms_option_str(MS_OPT_NAME);
    if (!name[0])
        name = program_invocation_short_name;
    char pid[24];
    strncpy(base, name, 400);
    base[400] = '\0';
    if (ms_process_state()->forked) {
        ms_fmt_u64(pid, (uint64_t)getpid());
        strcat(base, ".");
        strcat(base, pid);
    }
}

/* Moves the clock with release order to an odd value (no helper publishes
 * it: a thread that meets it wakes the helper) past now: every thread's next
 * event goes to the slow path, and one that reads the new value (acquire)
 * sees what was stored before it. */
static void clock_kick(void)
{
    uint64_t v = (ms_stream_now() + 2) | 1;
    uint64_t e = atomic_load_explicit(&ms_clock.now, memory_order_relaxed);
    while (e < v && !atomic_compare_exchange_weak_explicit(&ms_clock.now, &e, v, memory_order_release,
                                                           memory_order_relaxed))
        ;
    if (e >= v) /* the helper published a later time: move it on all the same */
        atomic_fetch_add_explicit(&ms_clock.now, 2, memory_order_release);
}

/* Opens the trace for memscope_trace_all. Caller holds ctl_lock. */
static int trace_open_late(const char *dir)
{
    ms_process_t *P = ms_process_state();
    int saved_errno = errno;
    ms_tls_t *t = ms_guard_enter();
    t->own++; /* mkdir, the mapping: memscope's */
    static char old_out[1024];
    strcpy(old_out, ms_option_str(MS_OPT_OUTPUT));
    int r = 0;
    if (dir && ms_option_set(MS_OPT_OUTPUT, dir) < 0)
        r = -EINVAL;
    if (r == 0 && (r = ms_stream_open()) < 0)
        (void)ms_option_set(MS_OPT_OUTPUT, old_out);
    if (r == 0) {
        (void)ms_option_set(MS_OPT_MODE, "full"); /* what the PROCESS record says */
        P->pid = (uint64_t)syscall(SYS_getpid);
        atomic_store(&P->process_pending, true);
        atomic_store(&P->recording, true); /* thread_init reads it */
        atomic_store(&P->started, true);   /* threads that do not record read it */
    }
    t->own--;
    ms_guard_leave(t);
    errno = saved_errno;
    if (r < 0)
        return r;
    clock_kick();
    ms_helper_start();
    ms_record_modules(); /* starts the caller's stream: THREAD, PROCESS, MODULES */
    return 0;
}

int ms_trace_start(const char *dir)
{
    ms_process_init();
    ms_process_t *P = ms_process_state();
    pthread_mutex_lock(&ctl_lock);
    int r;
    if (P->user_stopped)
        r = -EINVAL;
    else if (atomic_load(&P->recording) || atomic_load(&P->ended))
        r = -EALREADY;
    else
        r = trace_open_late(dir);
    pthread_mutex_unlock(&ctl_lock);
    return r;
}

int ms_trace_stop(void)
{
    ms_process_init();
    ms_process_t *P = ms_process_state();
    pthread_mutex_lock(&ctl_lock);
    int r = 0;
    if (P->user_stopped)
        r = -EALREADY;
    else if (!atomic_load(&P->recording) || !ms_own_process())
        r = -EINVAL;
    if (r == 0) {
        P->user_stopped = true;
        ms_tls_t *t = &ms_tls;
        if (t->dropped) { /* the caller's drops, while it still records */
            uint64_t d = t->dropped;
            t->dropped = 0;
            ms_thread_record(t, MSF_R_DROPPED, ms_rec_fill_u64, &d);
        }
        atomic_store(&P->stopped, true);
        int saved_errno = errno;
        ms_guard_enter();
        ms_thread_stop(t);
        ms_guard_leave(t);
        errno = saved_errno;
        clock_kick(); /* the others stop at their next event */
    }
    pthread_mutex_unlock(&ctl_lock);
    return r;
}

int ms_export_now(const char *formats)
{
    ms_process_init();
    ms_process_t *P = ms_process_state();
    if (!atomic_load(&P->recording) || !ms_stream_ready() || !ms_own_process())
        return -ENOENT;
    pthread_mutex_lock(&ctl_lock);
    char base[512];
    ms_report_base(base);
    int saved_errno = errno;
    ms_tls_t *t = ms_guard_enter();
    t->own++; /* the tool's arguments and environment: memscope's */
    int r = ms_autoexport(ms_stream_path(), ms_option_str(MS_OPT_OUTPUT), base, formats);
    t->own--;
    ms_guard_leave(t);
    errno = saved_errno;
    pthread_mutex_unlock(&ctl_lock);
    return r;
}

int ms_auto_export_set(const char *formats)
{
    ms_process_init(); /* options loaded: a later load must not undo this */
    pthread_mutex_lock(&ctl_lock);
    int r = ms_option_set(MS_OPT_AUTO_EXPORT, formats) < 0 ? -EINVAL : 0;
    pthread_mutex_unlock(&ctl_lock);
    return r;
}
