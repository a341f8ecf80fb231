/* Test fixture: an independent decoder of docs/FORMAT.md for the core tests.
 *
 * It uses msgpack-c's object unpacker (not export/'s reader), so that the
 * recorder is checked against the format document by a second implementation.
 * It loads a whole trace into memory: fine for test-sized traces. */
#ifndef TRACE_READER_H
#define TRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tr_event {
    uint8_t kind;       /* MSF_K_ALLOC, FREE, REALLOC, ALLOC_EX (REALLOC_EX reads as REALLOC) */
    uint32_t thread;    /* serial */
    uint64_t addr;      /* ALLOC/FREE address, REALLOC old address */
    uint64_t addr2;     /* REALLOC new address */
    uint64_t size;
    uint64_t time;      /* TIME in force */
    uint64_t est;       /* estimated time: spread within its TIME window */
    uint64_t next_time; /* the thread's next TIME after it (UINT64_MAX: none) */
    uint64_t task;
    uint64_t stack;     /* ALLOC_EX, REALLOC_EX */
    uint64_t weight;
} tr_event_t;

typedef struct tr_thread {
    uint32_t serial;
    uint64_t tid;
    char name[64];
    bool exited;        /* THREAD_EXIT seen */
    bool has_thread_record;
    uint64_t events;
    uint64_t dropped;   /* DROPPED records */
    size_t open_from;   /* decoding: first of its events whose window is open */
} tr_thread_t;

#define TR_MAX_THREADS 4096
#define TR_MAX_TASKS 64

typedef struct tr_task {  /* a TASK_CREATE record */
    uint64_t id, parent;
    char name[64];
} tr_task_t;
#define TR_MAX_MODULES 256
#define TR_MAX_METRICS 256
#define TR_METRIC_THREADS 16

/* A METRIC record. Keys: TR_M_* bits of `have`. */
enum { TR_M_RSS, TR_M_MINFLT, TR_M_MAJFLT, TR_M_READ, TR_M_WRITE, TR_M_ALLOCATED, TR_M_ACTIVE,
       TR_M_RESIDENT, TR_M_RETAINED, TR_M_MAPPED, TR_M_KEYS };
typedef struct tr_metric {
    uint64_t time;          /* TIME in force */
    bool internal;          /* in memscope's own stream (chunk flag MSF_CF_INTERNAL) */
    uint32_t have;          /* bit k: v[k] present */
    uint64_t v[TR_M_KEYS];
    bool has_threads;
    int nthreads;           /* entries (at most TR_METRIC_THREADS kept) */
    uint64_t tid[TR_METRIC_THREADS], cpu[TR_METRIC_THREADS];
} tr_metric_t;

/* A STACK record. */
#define TR_STACK_MAX 128
typedef struct tr_stack {
    uint32_t thread;    /* serial of the thread that defined it */
    uint64_t id;
    uint32_t n;
    uint64_t pc[TR_STACK_MAX];
} tr_stack_t;

typedef struct tr_trace {
    tr_event_t *ev;     /* grouped by thread, each thread in record order */
    tr_stack_t *stacks; /* every STACK record, in stream order per thread */
    size_t nstacks, stacks_cap;
    int bad_stacks;     /* STACK records of the wrong shape, or ids not 1, 2, ... per thread */
    size_t nev, cap;
    tr_thread_t threads[TR_MAX_THREADS];
    int nthreads;
    uint64_t header_dropped;
    uint64_t end_time;
    uint32_t version;           /* format version of the file */
    uint32_t chunk_size;        /* the largest chunk */
    uint64_t time_bound;        /* header: bound of the time error, ns (v2) */
    uint64_t dropped_records;   /* header: control records not written (v2) */
    uint32_t end_how;           /* header: MSF_END_* (v2) */
    bool sampled;               /* header flag MSF_HF_SAMPLED */
    uint64_t sample_bytes, sample_rate, sample_seed;
    uint32_t stack_depth;       /* header (v2) */
    uint64_t pid;
    uint64_t start_monotonic;   /* header: CLOCK_MONOTONIC at start, the time base */
    int n_process, n_modules, n_fork, n_end, n_metric, n_task_end;
    tr_metric_t metrics[TR_MAX_METRICS];  /* the first TR_MAX_METRICS, in stream order */
    int nmetrics;
    int internal_chunks;        /* chunks flagged MSF_CF_INTERNAL: not in threads[] */
    tr_thread_t internal;       /* their stream (one writer: the helper) */
    tr_task_t tasks[TR_MAX_TASKS];
    int ntasks;
    uint64_t fork_parent;
    uint64_t modules_last;      /* module count in the last MODULES record */
    char module_paths[TR_MAX_MODULES][256]; /* every path any MODULES record named */
    int nmodule_paths;
    char exe[512];
    int bad;                    /* chunks whose payload did not decode cleanly */
    int gaps;                   /* 4 KiB pages walked over without a chunk header */
    bool first_event_ok;        /* every chunk's first_event matched */
} tr_trace_t;

/* Loads and decodes a trace. Returns 0, or -1 with a message on stderr. */
int tr_load(const char *path, tr_trace_t *t);
void tr_free(tr_trace_t *t);
/* Counts events of a kind. */
uint64_t tr_count(const tr_trace_t *t, int kind);
const tr_thread_t *tr_thread(const tr_trace_t *t, uint32_t serial);
/* Replays the events in stream order (single-threaded traces): counts in
 * *live the blocks of `size` bytes live at the end, and returns how many
 * frees named no live block. */
int tr_live_check(const tr_trace_t *t, uint64_t *live, uint64_t size);
/* True when the block that event i made is still live at the end. */
bool tr_is_live(const tr_trace_t *t, size_t i);
/* The STACK record of (thread serial, id), NULL if none. */
const tr_stack_t *tr_stack(const tr_trace_t *t, uint32_t thread, uint64_t id);
typedef bool (*tr_tagged_fn)(uint64_t size);
typedef struct tr_counts {
    uint64_t allocs;        /* ALLOC of a tagged size */
    uint64_t frees;         /* FREE of a block allocated with a tagged size */
    uint64_t reallocs_from; /* REALLOC of a block allocated with a tagged size */
} tr_counts_t;
/* Merges all threads causally as FORMAT.md "Merging threads" says (with the
 * pending rule for events of equal TIME) and counts what finds no partner: a
 * free of an address never allocated, an allocation of an address never freed.
 * Returns that count; *live_end (may be NULL) gets the blocks live
 * at the end; counts (may be NULL) gets the events on tagged sizes. */
uint64_t tr_check_causal(const tr_trace_t *t, uint64_t *live_end, tr_tagged_fn tagged,
                         tr_counts_t *counts);
/* Finds the newest trace file in dir whose name starts with prefix; writes its
 * path to out. Returns 0 or -1. */
int tr_find(const char *dir, const char *prefix, char *out, size_t len);

#endif
