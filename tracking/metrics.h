/* Platform metrics (metrics.c): one sample of the process's RSS, page faults,
 * I/O bytes, the allocator's statistics and every thread's CPU time, packed
 * as a METRIC record (FORMAT.md). The helper thread takes one every
 * MEMSCOPE_METRICS_INTERVAL milliseconds (helper.c); the exit flush takes a
 * last one (tracker.c). */
#ifndef MS_METRICS_H
#define MS_METRICS_H

#include "pack.h"

#include <stdbool.h>
#include <stdint.h>

/* Threads listed in one sample, at most (the first ones /proc/self/task
 * lists): a record of this many fits the smallest largest chunk (64 KiB). */
#define MS_METRIC_THREADS 2048

/* The process-wide values, in the order they are packed. */
typedef enum ms_metric_key {
    MS_MET_RSS, MS_MET_MINFLT, MS_MET_MAJFLT, MS_MET_READ, MS_MET_WRITE,
    MS_MET_ALLOCATED, MS_MET_ACTIVE, MS_MET_RESIDENT, MS_MET_RETAINED, MS_MET_MAPPED,
    MS_MET_COUNT
} ms_metric_key_t;

/* One sample. A value is measured iff its bit is set in `have`; the threads
 * list is measured iff have_threads. */
typedef struct ms_metric_sample {
    uint32_t have;                  /* bit k: v[k] was measured */
    uint64_t v[MS_MET_COUNT];
    bool have_threads;
    uint32_t nthreads;
    uint64_t tid[MS_METRIC_THREADS];
    uint64_t cpu_ns[MS_METRIC_THREADS];
} ms_metric_sample_t;

/* The interval of MEMSCOPE_METRICS_INTERVAL in ns; 0: no metrics. */
uint64_t ms_metrics_interval_ns(void);
/* Takes a sample into the one static sample, which the caller owns until
 * ms_metrics_release. Returns NULL when another thread holds it (the caller
 * skips this sample). Reads /proc and the allocator's statistics; no
 * allocation through the program's heap, no lock the program takes but
 * jemalloc's own (its statistics refresh). Outside the malloc fast path. */
const ms_metric_sample_t *ms_metrics_take(void);
void ms_metrics_release(void);
/* In a fork child: the sample is free (the parent's helper may have held it
 * at the fork; it did not survive). */
void ms_metrics_fork_child(void);
/* Packs a METRIC record's map from a sample (arg: const ms_metric_sample_t *). */
void ms_rec_fill_metric(ms_cbuf_t *b, const void *arg);

#endif /* MS_METRICS_H */
