/* The trace file: header, chunk slots, and the on-disk layouts of docs/FORMAT.md.
 *
 * One file per process. Threads take chunk slots with one atomic increment and
 * then write them without any lock; only chunk taking makes system calls. */
#ifndef MS_STREAM_H
#define MS_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

/* The file and chunk headers are format.h's: the writer maps them as these
 * structs. */
typedef msf_file_header_t ms_file_header_t;
typedef msf_chunk_header_t ms_chunk_header_t;

/* stream.c */
/* Creates the trace file for this process from the options in force and maps
 * its header. Returns 0 or a negative errno (the caller reports it once). */
int ms_stream_open(void);
/* True once ms_stream_open succeeded (and until a fork child resets it). */
bool ms_stream_ready(void);
/* A thread's first chunk is MSF_CHUNK_MIN bytes. Each next chunk of a thread
 * is twice as big, up to ms_stream_chunk_size(), so that a short-lived thread
 * costs 4 KiB of trace and a busy one switches chunks rarely. */

/* Takes a fresh chunk of `size` bytes (a power-of-two multiple of
 * MSF_CHUNK_MIN, at most ms_stream_chunk_size()), reserves its disk blocks and
 * maps it; its header holds only `size`. Returns NULL when it cannot be had
 * (disk full, mapping failed). */
ms_chunk_header_t *ms_stream_take_chunk(uint32_t size);
/* Unmaps a chunk. Its content stays in the file. */
void ms_stream_release_chunk(ms_chunk_header_t *c);
/* The largest chunk size (MEMSCOPE_BUFFER_SIZE). */
uint32_t ms_stream_chunk_size(void);
uint64_t ms_stream_start_ns(void);              /* CLOCK_MONOTONIC base */
uint64_t ms_stream_now(void);                   /* ns since that base */
void ms_stream_add_dropped(uint64_t n);
void ms_stream_set_end(uint64_t time_ns);
const char *ms_stream_path(void);               /* "" before open */
int ms_stream_fd(void);                         /* the trace's descriptor; -1 before open, or when the
                                                 * program closed it (checked by identity: a system call) */
/* ---- the chunk preparer (run by the helper thread, helper.c) ----
 * Writers take prepared chunks and retire used ones through lock-free slots;
 * the helper refills and unmaps them. */
/* One round of the preparer's work: unmaps retired chunks, prepares at most
 * one ready chunk. Returns true if it prepared one (there may be more to do).
 * Called by the helper thread only. */
bool ms_stream_prep_round(void);
/* The futex word writers bump when they want the helper; the helper waits on
 * it (ms_stream_prep_wait). */
uint32_t ms_stream_prep_seq(void);
/* Waits until the futex word moved from `seen` or `timeout_ns` passed.
 * Returns true if it timed out. Called by the helper thread only. */
bool ms_stream_prep_wait(uint32_t seen, uint64_t timeout_ns);
/* Wakes the helper if it sleeps (a futex wake only then). Any thread. */
void ms_stream_wake_helper(void);
/* The helper thread exists (set by helper.c; cleared in a fork child). */
void ms_stream_set_helper(bool running);
bool ms_stream_helper_running(void);
/* Records in the file header how events are recorded: flags (MSF_HF_*),
 * the sampling (mean bytes, or rate as a fraction of 2^32; the seed) and
 * the stack depth. */
void ms_stream_set_recording(uint32_t flags, uint64_t sample_bytes, uint64_t sample_rate, uint64_t seed,
                             uint32_t stack_depth);
/* Records in the file header the bound of the time error that the helper's
 * published clock gives (FORMAT.md "Time"). */
void ms_stream_set_time_bound(uint64_t ns);
/* Counts a control record that could not be written. */
void ms_stream_add_dropped_record(void);
/* Records how the process ended (MSF_END_*) in the file header. */
void ms_stream_set_end_how(uint32_t how);
/* The image ends (exec, _exit) or the exit flush is done: waits, 50 ms at
 * most, until no thread is between taking a chunk's space and reserving it (a
 * slot taken and never reserved reads as a truncated trace). */
void ms_stream_settle(void);
/* on: the image is about to end (_exit, exec): no chunk is taken from now
 * on (a take that began waits in ms_stream_settle). off: an exec failed, the
 * process goes on. */
void ms_stream_final(bool on);
/* In a forked child: forgets the parent's file without touching it. */
void ms_stream_forget(void);

#endif /* MS_STREAM_H */
