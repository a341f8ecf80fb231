/* Test-only trace writer: builds files in the format of docs/FORMAT.md from
 * events given one by one, so that analyses have known answers. It is a
 * fixture, not the recorder: it packs with libmsgpackc and keeps the whole
 * trace in memory.
 *
 * Each thread's records go to its own chunks; a chunk takes the next file
 * slot when it is started (as the recorder's atomic counter does), begins with
 * a TIME record, and is cut when the next record would not fit. */
#ifndef MSF_FIXTURE_H
#define MSF_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct msf msf;

/* A new trace with chunk slots of chunk_size bytes (a multiple of 4096). */
msf *msf_new(uint32_t chunk_size);
/* Frees the trace. */
void msf_destroy(msf *t);

/* Header fields (defaults: pid 4242, end_time 0, dropped 0). */
void msf_set_pid(msf *t, uint64_t pid);
void msf_set_end_time(msf *t, uint64_t end_time_ns);
void msf_set_dropped(msf *t, uint64_t dropped);
/* Overrides the header's version field (default 1: the tests of version 2
 * set 2). */
void msf_set_version(msf *t, uint32_t version);
/* Version 2 header fields: the bound of the time error (ns; default 0, no
 * bound) and how the process ended (MSF_END_*). Written as set whatever the
 * version, so that a test can check that version 1 ignores them. */
void msf_set_time_bound(msf *t, uint64_t bound_ns);
void msf_set_end_how(msf *t, uint32_t how);
void msf_set_lost_records(msf *t, uint64_t n);   /* header dropped_records (v2) */
void msf_set_stack_depth(msf *t, uint32_t depth); /* header stack_depth (v2) */
/* Sets the sampled flag and the sampling fields of the header. */
void msf_set_sampling(msf *t, uint64_t sample_bytes, uint64_t sample_rate, uint64_t seed);

/* Starts thread `serial` (1, 2, ...) with kernel id tid at time t: writes its
 * THREAD record (name may be NULL: no name key; name_len bytes, any content). */
void msf_thread(msf *t, uint32_t serial, uint64_t tid, const char *name, size_t name_len, uint64_t time);
/* Sets the thread's time: a TIME record. */
void msf_time(msf *t, uint32_t serial, uint64_t time);
/* Events. */
void msf_alloc(msf *t, uint32_t serial, uint64_t addr, uint64_t size);
void msf_alloc_ex(msf *t, uint32_t serial, uint64_t addr, uint64_t size, uint64_t stack);     /* weight 0 */
void msf_alloc_w(msf *t, uint32_t serial, uint64_t addr, uint64_t size, uint64_t stack, uint64_t weight);
void msf_free(msf *t, uint32_t serial, uint64_t addr);
void msf_realloc(msf *t, uint32_t serial, uint64_t old_addr, uint64_t new_addr, uint64_t size);
/* REALLOC_EX (version 2): delta, size, stack, weight. */
void msf_realloc_ex(msf *t, uint32_t serial, uint64_t old_addr, uint64_t new_addr, uint64_t size, uint64_t stack,
                    uint64_t weight);
/* Control records. */
void msf_thread_exit(msf *t, uint32_t serial, const char *name);
void msf_process(msf *t, uint32_t serial, uint64_t pid, const char *exe, int argc, const char *const *argv,
                 int nconfig, const char *const *config /* name, value, ... */);
void msf_dropped(msf *t, uint32_t serial, uint64_t n);
void msf_task(msf *t, uint32_t serial, uint64_t task);
void msf_fork(msf *t, uint32_t serial, uint64_t parent_pid);
void msf_end(msf *t, uint32_t serial, uint64_t time);
void msf_metric(msf *t, uint32_t serial, const char *name, uint64_t value);
/* A METRIC record of n values (keys[i]: vals[i]) and, when nthreads >= 0, a
 * "threads" array of nthreads [tids[i], cpus[i]] pairs. */
void msf_metrics(msf *t, uint32_t serial, int n, const char *const *keys, const uint64_t *vals,
                 int nthreads, const uint64_t *tids, const uint64_t *cpus);
/* Sets chunk flags (MSF_CF_*) on every chunk of thread serial, present and to come. */
void msf_thread_flags(msf *t, uint32_t serial, uint32_t flags);
/* Version-2 control records (format.h MSF_R_TASK_CREATE ... MSF_R_SCOPE_LEAVE,
 * END with "how"). */
void msf_end_how(msf *t, uint32_t serial, uint64_t time, uint32_t how);
void msf_task_create(msf *t, uint32_t serial, uint64_t id, const char *name, uint64_t parent);
void msf_task_end(msf *t, uint32_t serial, uint64_t id);
void msf_var(msf *t, uint32_t serial, uint64_t addr, const char *name, const char *type, const char *file,
             uint64_t line, uint64_t size);
void msf_scope_enter(msf *t, uint32_t serial, uint64_t id, const char *name, const char *file, uint64_t line);
void msf_scope_leave(msf *t, uint32_t serial, uint64_t id);
/* A STACK record: thread serial's stack id, pcs innermost first. */
void msf_stack(msf *t, uint32_t serial, uint64_t id, const uint64_t *pcs, size_t n);
/* A MODULES record of n modules (path, load bias, one R+X segment [0, size)). */
void msf_modules(msf *t, uint32_t serial, int n, const char *const *paths, const uint64_t *bases,
                 const uint64_t *sizes);
/* A MODULES record of this program's own module, as the recorder writes it
 * (path, load bias, PT_LOAD segments, build-id), on thread serial; its path
 * (/proc/self/exe) goes to path[len]. Returns 0, or -1 if it is not found. */
int msf_self_module(msf *t, uint32_t serial, char *path, size_t len);
/* The GNU build-id note among a loaded module's PT_NOTE segments in memory
 * (its length to *len), NULL if it has none. */
struct dl_phdr_info;
const uint8_t *msf_build_id(const struct dl_phdr_info *info, uint32_t *len);
/* A raw record: the head H and then `len` bytes as they are. */
void msf_raw(msf *t, uint32_t serial, uint64_t head, const void *bytes, size_t len);
/* Marks the thread's current chunk as its last (exit flag). */
void msf_exit_flag(msf *t, uint32_t serial);

/* Events written so far (all threads). */
uint64_t msf_events(const msf *t);
/* Writes the file; returns 0 or -1. Its size is header + slots * chunk_size. */
int msf_write(const msf *t, const char *path);
/* File offset of the given thread's chunk seq (its header). */
uint64_t msf_chunk_offset(const msf *t, uint32_t serial, uint32_t seq);

/* Helpers for tests: a path in a fresh temporary directory, and file utilities. */
char *msf_tmpdir(void);                        /* mkdtemp; caller frees */
char *msf_path(const char *dir, const char *name); /* dir/name; caller frees */
int msf_truncate(const char *path, uint64_t size);
int msf_write_bytes(const char *path, const void *data, size_t len);
char *msf_read_file(const char *path, size_t *len); /* NUL-terminated; caller frees */
void msf_rm_rf(const char *dir);

/* A temporary directory for a whole CMocka group: msf_group_setup makes it
 * (msf_dir), msf_group_teardown removes it. */
extern char *msf_dir;
int msf_group_setup(void **state);
int msf_group_teardown(void **state);

#endif /* MSF_FIXTURE_H */
