/* The slow paths of events with call stacks (stacks.h): the stack of an
 * event and its STACK record, the common case of an allocation whose stack
 * the thread has seen (stack_event_quick), and ms_ev_slow, the entry of
 * every slow path, which tries that case first. tracker.c records the rest
 * (ms_ev_record). And the module map that stacks resolve against, written
 * outside malloc (ms_record_modules). */
#include "process.h"

#include "records.h"
#include "stacks.h"
#include "tracker.h"

#include <stdatomic.h>

/* The id of the stack of the event whose entry returns to ra, writing its
 * STACK record first if this thread has not defined it. 0: no stack (the
 * record could not be written). Caller holds the guard; the thread is ACTIVE. */
uint64_t ms_stack_of(ms_tls_t *t, uintptr_t ra, uintptr_t fp)
{
    /* the first use maps the table and asks glibc for the stack's bounds,
     * and libunwind may allocate while it reads unwind tables: memscope's */
    t->own++;
    ms_stack_t s;
    ms_stack_capture(&t->stk, ra, fp, &s);
    uint64_t id = ms_stack_find(&t->stk, &s);
    if (id == 0) {
        /* a new stack: a library loaded since the last module map (its code
         * may be in it) goes into the map first, so that the stack resolves
         * even if the library is closed before the next chunk switch */
        ms_modules_check(t);
        id = ms_stack_next_id(&t->stk);
        ms_rec_stack_t rs = { id, s.pc, s.n };
        if (id != 0 && !ms_put_record(t, MSF_R_STACK, ms_rec_fill_stack, &rs))
            id = ms_stack_add(&t->stk, &s);
        else
            id = 0;
    }
    t->own--;
    return id;
}

/* The common case of an allocation with stacks: what the fast path would
 * take (an active thread, room in the chunk, the clock as seen, the tick not
 * run out), with a stack the frame-pointer walk finds whole and this thread
 * defined already. Returns false, having written nothing, otherwise. No
 * errno to save: nothing here can set it. */
static inline bool stack_event_quick(ms_tls_t *t, int kind, uintptr_t a, uintptr_t b, size_t n,
                                     uintptr_t ra, uintptr_t fp)
{
    if (t->state != MS_T_ACTIVE || t->guard || t->stk == NULL || t->cur + MS_EVENT_MAX > t->end ||
        t->tick <= 1 || t->seen != atomic_load_explicit(&ms_clock.now, memory_order_relaxed))
        return false;
    ms_guard_enter();
    ms_stack_t s;
    uint64_t id = ms_stack_quick(t->stk, ra, fp, &s);
    if (id) {
        t->tick--;
        ms_ev_put_ex(t, kind, a, b, n, id, 0);
    }
    ms_guard_leave(t);
    return id != 0;
}

/* Small on purpose: the common case with stacks runs without the general
 * path's saved registers and errno. */
void ms_ev_slow(int kind, uintptr_t a, uintptr_t b, size_t n, uintptr_t ra)
{
    /* the caller's frame pointer as the malloc-family entry left it: the
     * program's frame, since the entries keep %rbp (stacks.h) */
    uintptr_t fp = *(const uintptr_t *)__builtin_frame_address(0);
    if (kind != MSF_K_FREE && ms_stack_depth && stack_event_quick(&ms_tls, kind, a, b, n, ra, fp))
        return;
    ms_ev_record(kind, a, b, n, ra, fp, 0);
}


void ms_record_modules(void)
{
    /* The walk of the module list happens in the record's packer: no fork
     * may start meanwhile (records.h). */
    if (!ms_rec_walk_begin())
        return;
    ms_thread_record(&ms_tls, MSF_R_MODULES, ms_rec_fill_modules, NULL);
    ms_rec_walk_end();
}

/* Writes the module map again if a module was loaded or unloaded since the
 * last MODULES record. Called on chunk switches: dlopen is not wrapped, since
 * glibc resolves a dlopen's $ORIGIN and RUNPATH from its caller's address. */
void ms_modules_check(ms_tls_t *t)
{
    if (!ms_rec_walk_begin())
        return;
    if (ms_rec_modules_changed()) {
        ms_put_time(t);
        ms_put_record(t, MSF_R_MODULES, ms_rec_fill_modules, NULL);
    }
    ms_rec_walk_end();
}
