/* The process-wide recording state, shared by tracker.c (threads, fork,
 * exit) and control.c (memscope_trace_all, memscope_stop_tracing,
 * memscope_export). Nothing else includes it. */
#ifndef MS_PROCESS_H
#define MS_PROCESS_H

#include "records.h"
#include "tracker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum { PROC_NONE = 0, PROC_BUSY = 1, PROC_READY = 2 };

typedef struct ms_process {
    _Atomic int state;              /* PROC_* */
    _Atomic bool recording;         /* mode full (or memscope_trace_all) and the trace is open */
    _Atomic bool started;           /* memscope_trace_all opened the trace: threads that
                                     * were off start at their next slow path */
    bool user_stopped;              /* memscope_stop_tracing ran (under control.c's lock) */
    pthread_key_t key;              /* its destructor ends a thread's stream */
    _Atomic uint32_t next_serial;   /* thread serials handed out */
    _Atomic bool process_pending;   /* PROCESS record not yet written */
    _Atomic bool stopped;           /* recording stopped on every thread (exit export,
                                     * memscope_stop_tracing) */
    _Atomic bool ended;             /* the END record is written */
    uint64_t pid;                   /* the process that opened the trace */
    uint64_t fork_parent;           /* parent pid until the child's FORK record is out */
    bool forked;                    /* this process is a fork child */
    bool sampled;                   /* MEMSCOPE_MODE=sampled, its arena made */
    atomic_flag late_lock;          /* guards `late` */
    ms_tls_t late;                  /* the shared stream of exited threads */
    ms_tls_t metrics;               /* the helper's METRIC stream (ms_metrics_record) */
} ms_process_t;

/* tracker.c */
/* Opens the trace of this process (options read, file created, PROCESS
 * record pending). */
void ms_process_open(void);
/* control.c: in a fork child, the control calls' lock starts free. */
void ms_control_fork_child(void);
/* fork.c: the pthread_atfork handlers. */
void ms_atfork_prepare(void);
void ms_atfork_parent(void);
void ms_atfork_child(void);
ms_process_t *ms_process_state(void);
/* True in the process that opened the trace; false in a vfork child, which
 * shares the parent's memory but must not end the parent's trace (fork
 * handlers do not run for vfork). */
bool ms_own_process(void);
/* Recording stopped: the thread gives up its chunk (its content stays in the
 * file) and records nothing more. Caller holds the guard. */
void ms_thread_stop(ms_tls_t *t);

/* tracker.c: records one event (ms_ev_slow's general path) with a sample
 * weight (0: exact). fp: the program's frame pointer (stacks). */
void ms_ev_record(int kind, uintptr_t a, uintptr_t b, size_t n, uintptr_t ra, uintptr_t fp, uint64_t weight);

/* tracker.c: put_record and a TIME record read now, for the slow paths
 * elsewhere; evstack.c: the module-map check of a chunk switch (caller holds
 * the guard). */
bool ms_put_record(ms_tls_t *t, unsigned type, ms_fill_fn fill, const void *arg);
void ms_put_time(ms_tls_t *t);
/* tracker.c, for end.c: a METRIC record into stream t (helper: the helper
 * thread's periodic one); the late stream, its lock taken (the caller clears
 * proc.late_lock). Caller holds the guard. */
void ms_put_metric(ms_tls_t *t, bool helper);
ms_tls_t *ms_late_lock(void);
void ms_modules_check(ms_tls_t *t);

/* evstack.c: the id of the stack of the event whose entry returns to ra
 * (writing its STACK record first if new), 0 for none. */
uint64_t ms_stack_of(ms_tls_t *t, uintptr_t ra, uintptr_t fp);

/* sampler.c */
/* Sets the sampler from the options (sampled: the mode is sampled) and
 * writes the trace header's sampling fields. Trace open. */
void ms_sample_configure(bool sampled);
/* Starts a thread's countdown (thread_init, sampled mode). */
void ms_sample_thread_init(ms_tls_t *t);

/* control.c */
/* The base name of the reports: MEMSCOPE_NAME or the program's, ".<pid>"
 * added in a fork child (which must not overwrite its parent's reports). */
void ms_report_base(char base[512]);

#endif /* MS_PROCESS_H */
