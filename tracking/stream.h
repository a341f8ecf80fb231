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

#define MS_FORMAT_VERSION 1u
#define MS_FILE_HEADER_SIZE 4096u
#define MS_CHUNK_HEADER_SIZE 64u
#define MS_CHUNK_MAGIC 0x4b43534du /* "MSCK" little-endian */

/* Record kinds: the low 3 bits of a record's head (FORMAT.md "Records"). */
enum {
    MS_K_ALLOC = 0,
    MS_K_FREE = 1,
    MS_K_REALLOC = 2,
    MS_K_ALLOC_EX = 3,
    MS_K_RECORD = 7,
};

/* Control record types (kind 7). */
enum {
    MS_R_TIME = 1,
    MS_R_THREAD = 2,
    MS_R_THREAD_EXIT = 3,
    MS_R_PROCESS = 4,
    MS_R_MODULES = 5,
    MS_R_TASK = 6,
    MS_R_DROPPED = 7,
    MS_R_STACK = 8,
    MS_R_METRIC = 9,
    MS_R_FORK = 10,
    MS_R_END = 11,
};

/* File header, offset 0 (FORMAT.md "File header"). 128 bytes, little-endian. */
typedef struct ms_file_header {
    char magic[8];                       /* "MEMSCOPE" */
    uint32_t version;                    /* MS_FORMAT_VERSION */
    uint32_t header_size;                /* MS_FILE_HEADER_SIZE */
    uint32_t chunk_size;                 /* largest chunk, header included */
    uint32_t flags;                      /* bit 0: sampled (reserved) */
    uint64_t pid;
    uint64_t start_realtime_ns;
    uint64_t start_monotonic_ns;         /* time base of the whole trace */
    _Atomic uint64_t space_taken;        /* bytes handed out to chunks after the header */
    _Atomic uint64_t dropped_events;     /* events that could not be recorded */
    uint64_t sample_interval;            /* reserved */
    _Atomic uint64_t end_time_ns;        /* exit flush time, 0 before */
    uint64_t reserved[6];
} ms_file_header_t;

/* Chunk header, at the start of every slot (FORMAT.md "Chunk header").
 * Invariant: payload bytes [0, committed) hold whole records; the writer
 * release-stores committed after the bytes, and stores magic last of all the
 * header fields, so a reader that sees the magic sees the other fields. */
typedef struct ms_chunk_header {
    _Atomic uint32_t magic;      /* MS_CHUNK_MAGIC once the header is valid */
    _Atomic uint32_t committed;  /* payload bytes holding whole records */
    uint32_t thread;             /* thread serial, 1-based */
    uint32_t seq;                /* chunk index within the thread */
    uint64_t tid;                /* kernel thread id */
    uint64_t time_ns;            /* when the chunk was taken */
    uint64_t first_event;        /* thread's events before this chunk */
    uint64_t task;               /* current task at chunk start */
    uint32_t flags;              /* bit 0: thread exited after this chunk */
    uint32_t size;               /* bytes of this chunk, header included; written
                                  * when the space is reserved, before magic */
    uint32_t reserved[2];
} ms_chunk_header_t;

_Static_assert(sizeof(ms_file_header_t) == 128, "file header layout");
_Static_assert(sizeof(ms_chunk_header_t) == MS_CHUNK_HEADER_SIZE, "chunk header layout");

#define MS_CHUNK_THREAD_EXITED 1u

/* stream.c */
/* Creates the trace file for this process from the options in force and maps
 * its header. Returns 0 or a negative errno (the caller reports it once). */
int ms_stream_open(void);
/* True once ms_stream_open succeeded (and until a fork child resets it). */
bool ms_stream_ready(void);
/* Smallest chunk: a thread's first chunk. Each next chunk of a thread is twice
 * as big, up to ms_stream_chunk_size(), so that a short-lived thread costs
 * 4 KiB of trace and a busy one switches chunks rarely. */
#define MS_CHUNK_MIN 4096u

/* Takes a fresh chunk of `size` bytes (a power-of-two multiple of
 * MS_CHUNK_MIN, at most ms_stream_chunk_size()), reserves its disk blocks and
 * maps it; its header holds only `size`. Returns NULL when it cannot be had
 * (disk full, mapping failed). */
ms_chunk_header_t *ms_stream_take_chunk(uint32_t size);
/* Unmaps a chunk. Its content stays in the file. */
void ms_stream_release_chunk(ms_chunk_header_t *c);
/* The largest chunk size (MEMSCOPE_BUFFER_SIZE). */
uint32_t ms_stream_chunk_size(void);
uint64_t ms_stream_start_ns(void);              /* CLOCK_MONOTONIC base */
void ms_stream_add_dropped(uint64_t n);
void ms_stream_set_end(uint64_t time_ns);
const char *ms_stream_path(void);               /* "" before open */
/* Starts the helper thread that prepares chunks ahead of the writers. Call
 * outside malloc (a constructor): it creates a thread. Idempotent. */
void ms_stream_start_helper(void);
/* Marks the calling thread as memscope's own (its allocations are not traced).
 * Defined in tracker.c. */
void ms_stream_thread_is_internal(void);
/* The helper is about to run exit() in place of the program's last thread,
 * which has exited: from now on its events are recorded as that thread's would
 * have been, in the late stream. Defined in tracker.c. */
void ms_stream_thread_runs_exit(void);
/* In a forked child: forgets the parent's file without touching it. */
void ms_stream_forget(void);

#endif /* MS_STREAM_H */
