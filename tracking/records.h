/* The content of control records, and the module walk (records.c). Called by
 * tracker.c's put_record under the guard; nothing here writes the trace. */
#ifndef MS_RECORDS_H
#define MS_RECORDS_H

#include "pack.h"

#include <stdbool.h>
#include <stdint.h>

/* Packs the object of a control record of some type from `arg`. */
typedef void (*ms_fill_fn)(ms_cbuf_t *b, const void *arg);

/* The THREAD record's subject. */
typedef struct ms_rec_thread {
    uint64_t tid;
    bool late;          /* the shared stream of exited threads */
    const char *name;   /* a name set with memscope_thread_name, or NULL */
} ms_rec_thread_t;

/* A STACK record's content. */
typedef struct ms_rec_stack {
    uint64_t id;
    const uintptr_t *pc;
    uint32_t n;
} ms_rec_stack_t;

/* A TASK_CREATE record's content. */
typedef struct ms_rec_task {
    uint64_t id, parent;
    const char *name;   /* NULL: unnamed */
} ms_rec_task_t;

/* A VAR record's content: a heap block's label (addr), or a named value of
 * `size` bytes on no heap block (addr 0: the record has no addr). */
typedef struct ms_rec_var {
    uint64_t addr, line;
    const char *name, *type, *file;  /* type, file: NULL if not given */
    uint64_t size;                   /* addr 0 only */
} ms_rec_var_t;

/* A SCOPE_ENTER record's content. */
typedef struct ms_rec_scope {
    uint64_t id, line;
    const char *name, *file;         /* file: NULL if not given */
} ms_rec_scope_t;

/* The END record's content. */
typedef struct ms_rec_end {
    uint64_t time;
    unsigned how; /* MSF_END_* */
} ms_rec_end_t;

/* records.c: packers; arg as named, NULL where none. */
void ms_rec_fill_stack(ms_cbuf_t *b, const void *arg);      /* ms_rec_stack_t: STACK */
void ms_rec_fill_u64(ms_cbuf_t *b, const void *arg);        /* uint64_t: TIME, DROPPED, TASK */
void ms_rec_fill_thread(ms_cbuf_t *b, const void *arg);      /* ms_rec_thread_t */
void ms_rec_fill_thread_exit(ms_cbuf_t *b, const void *arg); /* const char *: a name set
                                                              * with memscope_thread_name, or NULL */
void ms_rec_fill_task_create(ms_cbuf_t *b, const void *arg); /* ms_rec_task_t */
void ms_rec_fill_task_end(ms_cbuf_t *b, const void *arg);    /* uint64_t id */
void ms_rec_fill_var(ms_cbuf_t *b, const void *arg);         /* ms_rec_var_t */
void ms_rec_fill_scope_enter(ms_cbuf_t *b, const void *arg); /* ms_rec_scope_t */
void ms_rec_fill_scope_leave(ms_cbuf_t *b, const void *arg); /* uint64_t id */
void ms_rec_fill_process(ms_cbuf_t *b, const void *arg);     /* once per process */
void ms_rec_fill_fork(ms_cbuf_t *b, const void *arg);        /* uint64_t parent pid */
void ms_rec_fill_end(ms_cbuf_t *b, const void *arg);         /* ms_rec_end_t */
/* MODULES: every loaded module; notes the generation it describes. Call
 * between ms_rec_walk_begin and ms_rec_walk_end. */
void ms_rec_fill_modules(ms_cbuf_t *b, const void *arg);

/* The loader's module generation: changes whenever a module is loaded or
 * unloaded (dlopen, dlclose). */
uint64_t ms_rec_modules_generation(void);
/* True if a module came or went since the last MODULES record. */
bool ms_rec_modules_changed(void);

/* A walk of the module list (dl_iterate_phdr) must not be under way when the
 * process forks: glibc does not reset the loader's list lock in the child.
 * Returns false, entering nothing, while a fork is under way (the caller skips
 * the walk; the next chunk switch tries again). */
bool ms_rec_walk_begin(void);
void ms_rec_walk_end(void);
/* Before fork: waits for the walks under way, keeps new ones out. */
void ms_rec_fork_begin(void);
/* After fork, in the parent. */
void ms_rec_fork_end(void);
/* After fork, in the child: no walk, no fork under way, no module map yet. */
void ms_rec_fork_child(void);

#endif /* MS_RECORDS_H */
