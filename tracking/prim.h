/* Platform contract for the recorder: clocks, files, mappings, /proc.
 *
 * Everything that touches the operating system goes through here, so that the
 * rest of tracking/ is plain C. None of these functions allocates memory, uses
 * stdio, or changes errno as seen by the caller's caller: callers in the
 * allocator save and restore errno around the slow path. */
#ifndef MS_PRIM_H
#define MS_PRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* prim.c */
uint64_t ms_prim_now_ns(void);        /* CLOCK_MONOTONIC, ns */
uint64_t ms_prim_realtime_ns(void);   /* CLOCK_REALTIME, ns since the epoch */
uint64_t ms_prim_gettid(void);        /* kernel thread id */
/* Creates `dir` and its parents (mode 0755). Returns 0 or a negative errno. */
int ms_prim_mkdirs(const char *dir);
/* Creates `path` exclusively (never through a symlink), mode 0600, close-on-exec.
 * Returns the fd or a negative errno. */
int ms_prim_create(const char *path);
/* Moves fd to a descriptor number >= 1000 when one is free (close-on-exec kept).
 * Returns the descriptor to use, the old one if the move failed. */
int ms_prim_move_fd_high(int fd);
/* The largest file this process may write (RLIMIT_FSIZE), UINT64_MAX if
 * unlimited: writing past it raises SIGXFSZ. */
uint64_t ms_prim_file_size_limit(void);
/* Device and inode of the file behind fd. Returns 0 or a negative errno. */
int ms_prim_file_id(int fd, uint64_t *dev, uint64_t *ino);
/* Reserves disk blocks for [off, off+len) by writing `head` (head_len bytes,
 * at most 4096) and then zeros, so that later writes through a mapping cannot
 * fail with SIGBUS on a full disk (on file systems that reserve at write time:
 * ext4, xfs, tmpfs). Returns 0 or a negative errno. */
int ms_prim_reserve(int fd, uint64_t off, size_t len, const void *head, size_t head_len);
/* Maps [off, off+len) of `fd` shared and writable and pre-faults it for
 * writing. Returns the address or NULL. */
void *ms_prim_map(int fd, uint64_t off, size_t len);
void ms_prim_unmap(void *p, size_t len);
/* Maps len bytes of private zeroed memory (memscope's own tables, never
 * malloc). Returns the address or NULL. */
void *ms_prim_map_anon(size_t len);
/* Reads up to len-1 bytes of a small file (/proc) into buf, NUL-terminates.
 * Returns the byte count or a negative errno. */
ssize_t ms_prim_read_file(const char *path, char *buf, size_t len);
/* Writes a whole message to stderr, ignoring errors. */
void ms_prim_stderr(const char *msg);
/* Resident set size in bytes from /proc/self/statm, 0 if unknown. */
uint64_t ms_prim_rss_bytes(void);
/* Writes v in decimal into buf (at least 21 bytes), NUL-terminated. */
void ms_fmt_u64(char *buf, uint64_t v);
/* Unmaps every mapping of the file (dev, ino), or named `path` (absolute;
 * NULL: by identity only), in this process, as listed in /proc/self/maps. For
 * a fork child: the parent's trace chunks of every thread are mapped in it.
 * Returns how many were unmapped, or a negative errno. */
int ms_prim_unmap_file(uint64_t dev, uint64_t ino, const char *path);
/* Closes fd, ignoring errors. */
void ms_prim_close(int fd);
/* True when the calling thread is the only one of the process still running:
 * the main thread has exited (pthread_exit; it stays a zombie while the process
 * lives) and /proc/self/stat counts two threads, it and the caller. False when
 * unknown (no /proc). */
bool ms_prim_only_thread_left(void);
/* Lists the kernel thread ids of this process (/proc/self/task, read with
 * getdents64 into a static buffer: no allocation) into tids, at most max.
 * Returns how many, or a negative errno. One caller at a time. */
int ms_prim_list_threads(uint64_t *tids, int max);
/* CPU time (user plus system, ns) of thread `tid` of this process: the
 * kernel's per-thread CPU clock, as pthread_getcpuclockid builds it from the
 * tid. Returns false if it cannot be read (the thread has ended). */
bool ms_prim_thread_cpu_ns(uint64_t tid, uint64_t *ns);

#endif /* MS_PRIM_H */
