/* Fork: the handlers tracker.c registers with pthread_atfork. The child
 * forgets the parent's trace and, unless told not to, opens its own. */
#include "tracker.h"

#include "alloc_iface.h"
#include "metrics.h"
#include "options.h"
#include "prim.h"
#include "process.h"
#include "records.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

/* Before fork: no recording on this thread until the fork is over, no walk of
 * the module list under way (records.c, ms_rec_walk_begin), and the late stream's lock held,
 * so that the child does not inherit it locked. */
void ms_atfork_prepare(void)
{
    ms_process_t *p = ms_process_state();
    ms_guard_enter();
    ms_rec_fork_begin();
    while (atomic_flag_test_and_set_explicit(&p->late_lock, memory_order_acquire))
        sched_yield();
}

/* After fork, in the parent: undoes atfork_prepare. */
void ms_atfork_parent(void)
{
    ms_process_t *p = ms_process_state();
    atomic_flag_clear_explicit(&p->late_lock, memory_order_release);
    ms_rec_fork_end();
    ms_guard_leave(&ms_tls);
}

/* The child has one thread and the parent's mappings. It must not write the
 * parent's file: it forgets it, unmaps this thread's chunk, and opens a trace
 * of its own, which starts with a FORK record. */
void ms_atfork_child(void)
{
    ms_process_t *p = ms_process_state();
    ms_tls_t *t = &ms_tls;
    int saved_errno = errno; /* fork leaves errno alone in the child */
    uint64_t parent = (uint64_t)getppid();
    ms_control_fork_child();
    if (t->chunk)
        ms_prim_unmap(t->chunk, t->chunk->size);
    ms_stack_release(&t->stk); /* the parent's ids: the child's trace defines its own */
    int arena = t->arena;
    uint32_t guard = t->guard;
    memset(t, 0, sizeof *t);
    t->arena = arena;
    t->guard = guard;
    memset(&p->late, 0, sizeof p->late);
    memset(&p->metrics, 0, sizeof p->metrics); /* its chunk is the parent's: unmapped below */
    ms_metrics_fork_child();
    atomic_flag_clear_explicit(&p->late_lock, memory_order_release);
    atomic_store_explicit(&p->next_serial, 0, memory_order_relaxed);
    atomic_store_explicit(&p->stopped, false, memory_order_relaxed);
    atomic_store_explicit(&p->ended, false, memory_order_relaxed);
    ms_clock_reset(); /* a new time base; the child's helper publishes it */
    ms_rec_fork_child();
    ms_arena_forget();
    if (p->recording) {
        ms_stream_forget();
        if (ms_option_u64(MS_OPT_CHILDREN) != 0 && !p->user_stopped) {
            /* the child reads its options again, but keeps what the parent
             * set at run time (memscope_auto_export) */
            char formats[1024];
            const char *f = ms_option_str(MS_OPT_AUTO_EXPORT);
            bool keep = strlen(f) < sizeof formats;
            if (keep)
                strcpy(formats, f);
            ms_process_open();
            if (keep)
                (void)ms_option_set(MS_OPT_AUTO_EXPORT, formats);
            p->fork_parent = parent;
        } else {
            /* MEMSCOPE_CHILDREN=0, or the parent called memscope_stop_tracing:
             * the child is not traced */
            p->recording = false;
        }
    }
    p->forked = true;
    /* Leave NEW so that the next event opens the child's stream; the arena
     * binding (t->arena) survives the fork. */
    t->state = MS_T_NEW;
    ms_guard_leave(t);
    errno = saved_errno;
}
