/* memscope: a memory-tracking allocator. This is the whole public API.
 *
 * Linking the library (statically, or with LD_PRELOAD) is all it takes to trace
 * a program: the malloc family and C++ new/delete are replaced and every heap
 * event goes to $MEMSCOPE_OUTPUT/<name>.<pid>.msgpack (docs/FORMAT.md). The
 * functions below are optional controls for programs that link memscope.
 *
 * Functions returning int give 0 or a negative errno; memscope_strerror()
 * turns one into text. */
#ifndef MEMSCOPE_H
#define MEMSCOPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMSCOPE_VERSION_MAJOR 0
#define MEMSCOPE_VERSION_MINOR 1
#define MEMSCOPE_VERSION_PATCH 0
/* The trace format version this library writes (docs/FORMAT.md). */
#define MEMSCOPE_FORMAT_VERSION 3

/* "MAJOR.MINOR.PATCH" of the library actually linked. */
const char *memscope_version(void);

/* Text for a negative errno returned by a memscope function. Never NULL. */
const char *memscope_strerror(int err);

/* Copies the path of this process's trace into buf (NUL-terminated).
 * Returns the path length, -ENOENT when there is no trace (MEMSCOPE_MODE=off or
 * the file could not be created), or -ERANGE when len is too small. */
int memscope_trace_path(char *buf, size_t len);

/* Threads. Names the calling thread in the trace (the kernel keeps only the
 * first 15 bytes; memscope keeps up to 63). Returns 0, -EINVAL for NULL, or
 * -ENAMETOOLONG for a name of 64 bytes or more (nothing changes). */
int memscope_thread_name(const char *name);

/* Tasks: units of work that may run on several threads (an event-loop
 * callback, a thread-pool job, a request). Every block allocated while a
 * task is current on its thread belongs to that task, whichever thread later
 * frees it; reports give per-task figures.
 *
 * memscope_task_create returns a new id > 0 (unique in the process, not
 * consecutive: each thread hands out ids from blocks), a child of `parent` (0: none;
 * NULL name: unnamed), or 0 if `parent` is not an id this process created.
 * memscope_task_enter makes `task` current on the calling thread; enters nest
 * (up to 32 deep: a deeper enter is not recorded, and its leave neither), and
 * memscope_task_leave goes back to the task current before the matching enter.
 * memscope_task_end records that a task is over; its blocks keep it, and it
 * can be entered no more (a thread inside it leaves it as usual; an ended
 * task may still be a new task's parent). Each returns 0, or -EINVAL
 * (unknown task id, an ended task entered or ended again, a leave without an
 * enter). */
uint64_t memscope_task_create(const char *name, uint64_t parent);
int memscope_task_enter(uint64_t task);
int memscope_task_leave(void);
int memscope_task_end(uint64_t task);

/* Variables: names a heap block, so that reports give its size, lifetime and
 * fate under that name. `addr` is the block's start, as malloc (or new)
 * returned it; a realloc that moves the block keeps the name, a block the
 * address does not start is not labelled. `type` is the type as written
 * (may be NULL), `file` and `line` where it was labelled. Returns 0, -EINVAL
 * for a NULL addr or name, or -ENAMETOOLONG for a name or type of 256 bytes
 * or more, or a file of 1024 or more (nothing is recorded).
 *
 *   char *buf = malloc(n);
 *   MEMSCOPE_TRACK(buf);                    // "buf" at this file and line
 *   struct node *t = malloc(sizeof *t);
 *   MEMSCOPE_TRACK_TYPED(t, struct node *); // with its type
 */
int memscope_track_var(const void *addr, const char *name, const char *type, const char *file, int line);
#define MEMSCOPE_TRACK(var) memscope_track_var((var), #var, NULL, __FILE__, __LINE__)
#define MEMSCOPE_TRACK_TYPED(var, type) memscope_track_var((var), #var, #type, __FILE__, __LINE__)

/* Runtime snapshot: what is live now, computed in the program from its own
 * trace (full mode), incrementally: a snapshot costs time in proportion to
 * the events recorded since the previous one. Each snapshot is also written
 * to the trace, so that the report's snapshots[] gives the same figures for
 * the same moment (docs/FORMAT.md "Snapshots").
 *
 * memscope_snapshot_take returns NULL with errno ENOENT when nothing is
 * traced (MEMSCOPE_MODE=off, no trace could be made, the program closed the
 * trace's descriptor, or tracing stopped: memscope_stop_tracing, the exit
 * flush), or ENOMEM when its tables could not grow (its figures would be
 * short: every later snapshot of the process fails too). The queries take
 * NULL (they return 0). Release each snapshot once. */
typedef struct memscope_snapshot memscope_snapshot_t;
memscope_snapshot_t *memscope_snapshot_take(void);
uint64_t memscope_snapshot_live_bytes(const memscope_snapshot_t *s);       /* all live blocks */
uint64_t memscope_snapshot_task_live_bytes(const memscope_snapshot_t *s, uint64_t task); /* blocks born in task */
size_t memscope_snapshot_active_tasks(const memscope_snapshot_t *s);      /* created, not ended */
uint64_t memscope_snapshot_id(const memscope_snapshot_t *s);              /* 1, 2, ... in the process */
uint64_t memscope_snapshot_time_ns(const memscope_snapshot_t *s);         /* ns since the trace started */
void memscope_snapshot_release(memscope_snapshot_t *s);
/* ---- variables, scopes, tracing control, export (issue 8) ---------------- */

/* A named value that lives on no heap block (a local, a global, a struct held
 * by value): the report lists it with its size, thread, task, scope and
 * file:line. Returns 0, -EINVAL for a NULL name, or -ENAMETOOLONG as
 * memscope_track_var. */
int memscope_track_value(const char *name, const char *type, size_t size, const char *file, int line);

/* What MEMSCOPE_TRACK_SMART expands to: `addr` is the variable's own address
 * and `size` its size; when `is_pointer`, the variable holds a pointer and
 * the heap block it points to is labelled (as MEMSCOPE_TRACK), else the
 * variable is a named value of `size` bytes. Returns as memscope_track_var
 * (-EINVAL also for a NULL addr, or a pointer variable holding NULL). */
int memscope_track_smart(const void *addr, size_t size, int is_pointer, const char *name, const char *type,
                         const char *file, int line);

/* Any variable: a pointer is tracked by reference (the block it points to is
 * labelled), anything else (an int, a struct, an array) is recorded as a
 * named value of its size. `var` must be an lvalue.
 *
 *   char *buf = malloc(64);  MEMSCOPE_TRACK_SMART(buf);    // labels the block
 *   struct point p = {0};    MEMSCOPE_TRACK_SMART(p);      // a value of sizeof p
 */
#ifndef __cplusplus
/* a pointer, and not an array (an array decays in the conditional, a pointer
 * keeps its type) */
#define MEMSCOPE__IS_POINTER(var)                                                                   \
    (__builtin_classify_type(var) == 5 &&                                                          \
     __builtin_types_compatible_p(__typeof__(var), __typeof__(0 ? (var) : (var))))
#define MEMSCOPE_TRACK_SMART(var)                                                                   \
    memscope_track_smart(&(var), sizeof(var), MEMSCOPE__IS_POINTER(var), #var, NULL, __FILE__, __LINE__)
#endif

/* Declares `type name = init;`, where init gives a block of the malloc family
 * (malloc, calloc, realloc, strdup...; not new), labels that block as the
 * variable `name` of type `type`, and frees it when the variable goes out of
 * scope (the cleanup attribute of GCC and Clang): the report shows the whole
 * lifetime, from the label to the free at scope exit. A NULL init is allowed
 * (nothing is labelled, nothing freed). `type` must be a pointer type.
 *
 *   { MEMSCOPE_TRACK_OWNED(char *, line, malloc(80)); ... }   // freed here
 */
void memscope_owned_free(void *var_addr);
#define MEMSCOPE__CAT2(a, b) a##b
#define MEMSCOPE__CAT(a, b) MEMSCOPE__CAT2(a, b)
#define MEMSCOPE_TRACK_OWNED(type, name, init)                                                      \
    __attribute__((cleanup(memscope_owned_free))) type name = (init);                               \
    __attribute__((unused)) int MEMSCOPE__CAT(memscope__owned_, __LINE__) =                         \
        (name) ? memscope_track_var((name), #name, #type, __FILE__, __LINE__) : 0

/* Scopes: the blocks a thread allocates between memscope_scope_enter and the
 * matching memscope_scope_leave carry the scope's name in the report (scopes
 * nest: a block gets the innermost). memscope_scope_enter returns the scope's
 * id (> 0, per thread), or 0 when nothing was entered: a NULL name, a name of
 * 256 bytes or more, or scopes nested deeper than 32 on the thread.
 * memscope_scope_leave leaves scope `id` and every scope entered after it on
 * this thread (a skipped leave, e.g. after a longjmp); it returns 0, or
 * -EINVAL when `id` is no scope open on this thread. Scopes cost the malloc
 * path nothing: the analysis attributes blocks from the records.
 *
 * MEMSCOPE_SCOPE("name") names the enclosing C block until it ends (cleanup
 * attribute):
 *
 *   void parse(void) { MEMSCOPE_SCOPE("parse"); char *t = malloc(9); ... }
 */
uint64_t memscope_scope_enter(const char *name, const char *file, int line);
int memscope_scope_leave(uint64_t id);
void memscope_scope_cleanup(uint64_t *id); /* for MEMSCOPE_SCOPE: leaves *id unless 0 */
#define MEMSCOPE_SCOPE(name)                                                                        \
    __attribute__((cleanup(memscope_scope_cleanup), unused)) uint64_t MEMSCOPE__CAT(                \
        memscope__scope_, __LINE__) = memscope_scope_enter((name), __FILE__, __LINE__)

/* Tracing control, for a process started with MEMSCOPE_MODE=off (and
 * MEMSCOPE_OUTPUT, MEMSCOPE_NAME... as usual).
 *
 * memscope_trace_all starts tracing every thread into directory `dir` (made
 * if needed; NULL: MEMSCOPE_OUTPUT's), which from then on is also where the
 * reports go: allocations before the call are not in the trace, every one
 * after it is (on every thread, those that existed and the new ones). Returns
 * 0, -EALREADY when the process traces already (MEMSCOPE_MODE=full, or a
 * second call), -EINVAL for "" or after memscope_stop_tracing (a process
 * traces once), -ENAMETOOLONG for a dir of 1024 bytes or more, or the error
 * of creating the trace (e.g. -EACCES; the process then runs on untraced and
 * may call again).
 *
 * memscope_stop_tracing stops recording on every thread: every event before
 * the call is in the trace (each thread's events are in the file as they
 * happen), none after it (a block freed later looks live at the end of the
 * trace). The exit still writes the END record, and MEMSCOPE_AUTO_EXPORT
 * still renders the reports. A child forked after the stop is not traced
 * (nor one of a process that memscope_trace_all started: it reads
 * MEMSCOPE_MODE=off again). Returns 0, -EINVAL when the process does not
 * trace, or -EALREADY when it stopped already. */
int memscope_trace_all(const char *dir);
int memscope_stop_tracing(void);

/* Renders the reports of this process's trace now, as MEMSCOPE_AUTO_EXPORT
 * does at exit: <MEMSCOPE_OUTPUT>/<name>.json, .html, .msbin for the formats
 * in the comma list (json, html, bin), by running the memscope tool on the
 * trace as it stands (the report says it is not complete: the process still
 * runs) and waiting for it; the program links no analysis. <name> is
 * MEMSCOPE_NAME or the program's name (".<pid>" added in a fork child); a
 * later export, or the exit's, overwrites them. Returns 0, -EINVAL for NULL,
 * an unknown or no format, -ENOENT when there is no trace, -ENOPKG when the
 * memscope tool is not found (MEMSCOPE_TOOL, beside the library, PATH),
 * -EIO when it failed, or the error of starting it. */
int memscope_export(const char *formats);

/* Sets what the exit renders, as MEMSCOPE_AUTO_EXPORT would (memscope-rs's
 * enable_auto_export): a comma list of json, html, bin, or "" for nothing.
 * Returns 0, or -EINVAL for NULL or an unknown format (nothing changes). */
int memscope_auto_export(const char *formats);

#ifdef __cplusplus
}

#include <type_traits>

/* C++: std::is_pointer tells a pointer (tracked by reference) from any other
 * variable (a named value of its size). */
template <typename T>
inline int memscope__track_smart_cxx(const T &var, const char *name, const char *file, int line)
{
    return memscope_track_smart(&var, sizeof var, std::is_pointer<T>::value ? 1 : 0, name, nullptr, file,
                                line);
}
#define MEMSCOPE_TRACK_SMART(var) memscope__track_smart_cxx((var), #var, __FILE__, __LINE__)
#endif

#endif /* MEMSCOPE_H */
