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
 * memscope_task_create returns a new id > 0, a child of `parent` (0: none;
 * NULL name: unnamed), or 0 if `parent` is not an id this process created.
 * memscope_task_enter makes `task` current on the calling thread; enters nest
 * (up to 32 deep: a deeper enter is not recorded, and its leave neither), and
 * memscope_task_leave goes back to the task current before the matching enter.
 * memscope_task_end records that a task is over; its blocks keep it. Each
 * returns 0, or -EINVAL (unknown task id, a leave without an enter). */
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
 * traced (MEMSCOPE_MODE=off, or no trace could be made), or ENOMEM. The
 * queries take NULL (they return 0). Release each snapshot once. */
typedef struct memscope_snapshot memscope_snapshot_t;
memscope_snapshot_t *memscope_snapshot_take(void);
uint64_t memscope_snapshot_live_bytes(const memscope_snapshot_t *s);       /* all live blocks */
uint64_t memscope_snapshot_task_live_bytes(const memscope_snapshot_t *s, uint64_t task); /* blocks born in task */
size_t memscope_snapshot_active_tasks(const memscope_snapshot_t *s);      /* created, not ended */
uint64_t memscope_snapshot_id(const memscope_snapshot_t *s);              /* 1, 2, ... in the process */
uint64_t memscope_snapshot_time_ns(const memscope_snapshot_t *s);         /* ns since the trace started */
void memscope_snapshot_release(memscope_snapshot_t *s);

#ifdef __cplusplus
}
#endif

#endif /* MEMSCOPE_H */
