/* The memscope trace format (docs/FORMAT.md), defined once.
 *
 * Every constant of the format lives here: the writer (tracking/), the
 * readers (export/, the tests' own decoder) and the test fixtures include this
 * header and nothing else for them. It holds no code beyond small inline
 * helpers of the head encoding, and includes only <stdint.h>, <stddef.h> and
 * <stdatomic.h>.
 *
 * Layout of a trace file:
 *
 *   offset 0            file header (MSF_FILE_HEADER_SIZE bytes; 128 used)
 *   header_size         chunk 0: 64-byte chunk header, then payload
 *   header_size + s0    chunk 1 (s0 = chunk 0's size field)
 *   ...
 *
 * A payload is a sequence of records; each starts with a MessagePack uint
 * head H: kind = H & 7, arg = H >> 3. */
#ifndef MSF_FORMAT_H
#define MSF_FORMAT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Versions: the writer writes MSF_VERSION; readers read 1 .. MSF_VERSION. */
#define MSF_VERSION 3u
#define MSF_VERSION_MIN 1u

#define MSF_MAGIC "MEMSCOPE"            /* file header, 8 bytes, no NUL */
#define MSF_MAGIC_LEN 8u
#define MSF_FILE_HEADER_SIZE 4096u      /* header_size the writer uses */
#define MSF_FILE_HEADER_USED 128u       /* bytes of the header that hold fields */
#define MSF_CHUNK_HEADER_SIZE 64u
#define MSF_CHUNK_MAGIC 0x4b43534du     /* "MSCK" little-endian */
#define MSF_CHUNK_ALIGN 4096u           /* chunk sizes are multiples of this */
#define MSF_CHUNK_MIN 4096u             /* a thread's first chunk */
#define MSF_CHUNK_MAX (1u << 30)        /* largest chunk_size a reader accepts */
#define MSF_HEADER_SIZE_MAX (1u << 20)  /* largest header_size a reader accepts */

/* File header field offsets (all little-endian). */
enum {
    MSF_H_MAGIC = 0,              /* char[8] */
    MSF_H_VERSION = 8,            /* u32 */
    MSF_H_HEADER_SIZE = 12,       /* u32 */
    MSF_H_CHUNK_SIZE = 16,        /* u32: largest chunk, header included */
    MSF_H_FLAGS = 20,             /* u32: MSF_HF_* */
    MSF_H_PID = 24,               /* u64 */
    MSF_H_START_REALTIME = 32,    /* u64: CLOCK_REALTIME at start, ns */
    MSF_H_START_MONOTONIC = 40,   /* u64: time base of the trace */
    MSF_H_SPACE_TAKEN = 48,       /* u64 (atomic) */
    MSF_H_DROPPED_EVENTS = 56,    /* u64 (atomic) */
    MSF_H_SAMPLE_BYTES = 64,      /* u64: mean bytes between samples (0: not byte-sampled) */
    MSF_H_END_TIME = 72,          /* u64 (atomic): exit flush time, 0 before */
    /* version 2 */
    MSF_H_TIME_BOUND = 80,        /* u64: bound of the time error, ns (0: unbounded, v1) */
    MSF_H_SAMPLE_SEED = 88,       /* u64: seed of the sampler */
    MSF_H_SAMPLE_RATE = 96,       /* u64: rate sampling, fraction * 2^32 (0: off) */
    MSF_H_DROPPED_RECORDS = 104,  /* u64 (atomic): control records not written */
    MSF_H_STACK_DEPTH = 112,      /* u32: frames per stack at most (0: no stacks) */
    MSF_H_END_HOW = 116,          /* u32 (atomic): MSF_END_*, how the process ended */
    /* 120..127 reserved, zero */
};

/* File header flags. */
enum {
    MSF_HF_SAMPLED = 1u << 0,     /* events are samples carrying a weight */
};

/* How the process ended (MSF_H_END_HOW, END record "how"). */
enum {
    MSF_END_NONE = 0,             /* not (yet) ended: killed, or still running */
    MSF_END_EXIT = 1,             /* exit() or return from main */
    MSF_END__EXIT = 2,            /* _exit() / _Exit(): no exit handlers ran */
    MSF_END_EXEC = 3,             /* the process image was replaced by exec */
};

/* The END record's "how", as text. */
#define MSF_HOW_EXIT "exit"
#define MSF_HOW__EXIT "_exit"
#define MSF_HOW_EXEC "exec"

/* Chunk header field offsets. */
enum {
    MSF_C_MAGIC = 0,              /* u32: MSF_CHUNK_MAGIC, 0 = reserved, unused */
    MSF_C_COMMITTED = 4,          /* u32: payload bytes holding whole records */
    MSF_C_THREAD = 8,             /* u32: thread serial, 1-based */
    MSF_C_SEQ = 12,               /* u32: chunk index within the thread */
    MSF_C_TID = 16,               /* u64: kernel thread id */
    MSF_C_TIME = 24,              /* u64: time when the chunk was taken */
    MSF_C_FIRST_EVENT = 32,       /* u64: thread's events before this chunk */
    MSF_C_TASK = 40,              /* u64: task current at chunk start */
    MSF_C_FLAGS = 48,             /* u32: MSF_CF_* */
    MSF_C_SIZE = 52,              /* u32: bytes of the chunk, header included */
    /* 56..63 reserved, zero */
};

/* Chunk flags. */
enum {
    MSF_CF_THREAD_EXITED = 1u << 0, /* the thread exited after this chunk */
    MSF_CF_SNAPSHOTS = 1u << 2,     /* v3: a chunk of the snapshot log (thread MSF_SNAPSHOT_THREAD) */
    MSF_CF_INTERNAL = 1u << 1,      /* v2: memscope's own stream (the helper's METRIC
                                     * records), no thread of the program */
};

/* v3: the thread serial of the snapshot log's chunks: SNAPSHOT records only,
 * written by memscope_snapshot_take, not a thread of the program. */
#define MSF_SNAPSHOT_THREAD 0xffffffffu

/* Record kinds: the low 3 bits of a record head. */
enum {
    MSF_K_ALLOC = 0,       /* size */
    MSF_K_FREE = 1,        /* - */
    MSF_K_REALLOC = 2,     /* delta (int), size */
    MSF_K_ALLOC_EX = 3,    /* size, stack, weight */
    MSF_K_REALLOC_EX = 4,  /* delta (int), size, stack, weight (version 2) */
    MSF_K_RECORD = 7,      /* one MessagePack object: a control record of type arg */
};
#define MSF_KIND_BITS 3u
#define MSF_KIND_MASK 7u

/* Control record types (kind 7, arg). */
enum {
    MSF_R_TIME = 1,         /* uint: time for the events that follow */
    MSF_R_THREAD = 2,       /* map {tid, name, parent} */
    MSF_R_THREAD_EXIT = 3,  /* map {name} */
    MSF_R_PROCESS = 4,      /* map {pid, ppid, exe, argv, config} */
    MSF_R_MODULES = 5,      /* array of map {path, base, segments, build_id} */
    MSF_R_TASK = 6,         /* uint: task current for the events that follow */
    MSF_R_DROPPED = 7,      /* uint: events this thread dropped since the last */
    MSF_R_STACK = 8,        /* array [id, [pc, ...]] */
    MSF_R_METRIC = 9,       /* map: process measurements (MSF_M_*), "threads" */
    MSF_R_FORK = 10,        /* map {parent_pid} */
    MSF_R_END = 11,         /* map {time, how} */
    /* version 2 */
    MSF_R_TASK_CREATE = 12, /* map {id, name, parent} */
    MSF_R_TASK_END = 13,    /* map {id} */
    MSF_R_VAR = 14,         /* map {addr, name, type, file, line, size, value} */
    MSF_R_SCOPE_ENTER = 15, /* map {id, name, file, line} */
    MSF_R_SCOPE_LEAVE = 16, /* map {id} */
    /* version 3 */
    MSF_R_SNAPSHOT = 17,    /* map {id, time, cut}: cut is an array of [thread, pos] */
};

/* A position in a thread's stream (SNAPSHOT cuts): chunk seq << 32 | payload
 * bytes up to the end of a record. A record is in a cut [thread, pos] when
 * the position of its end is at most pos. */
static inline uint64_t msf_pos(uint32_t seq, uint32_t end)
{
    return (uint64_t)seq << 32 | end;
}

/* Map keys of control records. */
#define MSF_KEY_TID "tid"
#define MSF_KEY_NAME "name"
#define MSF_KEY_PARENT "parent"
#define MSF_KEY_PID "pid"
#define MSF_KEY_PPID "ppid"
#define MSF_KEY_EXE "exe"
#define MSF_KEY_ARGV "argv"
#define MSF_KEY_CONFIG "config"
#define MSF_KEY_PATH "path"
#define MSF_KEY_BASE "base"
#define MSF_KEY_SEGMENTS "segments"
#define MSF_KEY_BUILD_ID "build_id"
#define MSF_KEY_PARENT_PID "parent_pid"
#define MSF_KEY_TIME "time"
#define MSF_KEY_HOW "how"
#define MSF_KEY_ID "id"
#define MSF_KEY_ADDR "addr"
#define MSF_KEY_TYPE "type"
#define MSF_KEY_FILE "file"
#define MSF_KEY_LINE "line"
#define MSF_KEY_SIZE "size"
#define MSF_KEY_VALUE "value"
#define MSF_KEY_THREADS "threads"
#define MSF_KEY_CUT "cut"

/* METRIC keys: process-wide measurements, bytes or counts. */
#define MSF_M_RSS "rss"                 /* resident set, bytes (/proc/self/statm) */
#define MSF_M_MINFLT "minflt"           /* minor page faults since start */
#define MSF_M_MAJFLT "majflt"           /* major page faults since start */
#define MSF_M_READ_BYTES "read_bytes"   /* /proc/self/io rchar */
#define MSF_M_WRITE_BYTES "write_bytes" /* /proc/self/io wchar */
#define MSF_M_ALLOCATED "allocated"     /* jemalloc stats.allocated */
#define MSF_M_ACTIVE "active"           /* jemalloc stats.active */
#define MSF_M_RESIDENT "resident"       /* jemalloc stats.resident */
#define MSF_M_RETAINED "retained"       /* jemalloc stats.retained */
#define MSF_M_MAPPED "mapped"           /* jemalloc stats.mapped */
/* "threads": array of [tid, cpu_ns], per-thread CPU time (user + system). */

/* Segment flags in MODULES' [vaddr, memsz, flags]. */
enum { MSF_SEG_X = 1, MSF_SEG_W = 2, MSF_SEG_R = 4 };

/* Zig-zag coding of address deltas (the head's arg of an event). */
static inline uint64_t msf_zz_enc(uint64_t d)
{
    return (d << 1) ^ (0 - (d >> 63)); /* all ones when d is negative */
}

static inline uint64_t msf_zz_dec(uint64_t v)
{
    return (v >> 1) ^ (0 - (v & 1));
}

/* A record head from a kind (or control type) and its arg. */
static inline uint64_t msf_head(uint64_t arg, unsigned kind)
{
    return (arg << MSF_KIND_BITS) | kind;
}

/* The file header as the writer maps it. Readers read the offsets above from
 * bytes (little-endian), not through this struct. */
typedef struct msf_file_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint32_t chunk_size;
    uint32_t flags;
    uint64_t pid;
    uint64_t start_realtime_ns;
    uint64_t start_monotonic_ns;
    _Atomic uint64_t space_taken;
    _Atomic uint64_t dropped_events;
    uint64_t sample_bytes;
    _Atomic uint64_t end_time_ns;
    uint64_t time_bound_ns;
    uint64_t sample_seed;
    uint64_t sample_rate;
    _Atomic uint64_t dropped_records;
    uint32_t stack_depth;
    _Atomic uint32_t end_how;
    uint64_t reserved;
} msf_file_header_t;

/* The chunk header as the writer maps it. Invariant: payload bytes
 * [0, committed) hold whole records; the writer release-stores committed after
 * the bytes, and stores magic last of the header fields. */
typedef struct msf_chunk_header {
    _Atomic uint32_t magic;
    _Atomic uint32_t committed;
    uint32_t thread;
    uint32_t seq;
    uint64_t tid;
    uint64_t time_ns;
    uint64_t first_event;
    uint64_t task;
    uint32_t flags;
    uint32_t size;
    uint32_t reserved[2];
} msf_chunk_header_t;

_Static_assert(sizeof(msf_file_header_t) == MSF_FILE_HEADER_USED, "file header layout");
_Static_assert(offsetof(msf_file_header_t, version) == MSF_H_VERSION, "version");
_Static_assert(offsetof(msf_file_header_t, space_taken) == MSF_H_SPACE_TAKEN, "space_taken");
_Static_assert(offsetof(msf_file_header_t, end_time_ns) == MSF_H_END_TIME, "end_time");
_Static_assert(offsetof(msf_file_header_t, time_bound_ns) == MSF_H_TIME_BOUND, "time_bound");
_Static_assert(offsetof(msf_file_header_t, dropped_records) == MSF_H_DROPPED_RECORDS, "dropped_records");
_Static_assert(offsetof(msf_file_header_t, stack_depth) == MSF_H_STACK_DEPTH, "stack_depth");
_Static_assert(offsetof(msf_file_header_t, end_how) == MSF_H_END_HOW, "end_how");
_Static_assert(sizeof(msf_chunk_header_t) == MSF_CHUNK_HEADER_SIZE, "chunk header layout");
_Static_assert(offsetof(msf_chunk_header_t, task) == MSF_C_TASK, "chunk task");
_Static_assert(offsetof(msf_chunk_header_t, size) == MSF_C_SIZE, "chunk size");

#endif /* MSF_FORMAT_H */
