/* tracecount: counts the events and stream bytes of a memscope trace file
 * (docs/FORMAT.md, version 1), for the bytes-per-event column of memscope-bench.
 * It decodes just enough of each chunk to count records; the full reader is
 * export/'s. Defined in tracecount.c. */
#ifndef BENCH_TRACECOUNT_H
#define BENCH_TRACECOUNT_H

#include <stddef.h>
#include <stdint.h>

typedef struct trace_count {
    uint64_t events;        /* ALLOC, FREE, REALLOC and ALLOC_EX records */
    uint64_t stream_bytes;  /* header_size + sum over written chunks of (64 + committed) */
    uint64_t bad_chunks;    /* chunks whose decoding stopped early (reserved kind, bad bytes) */
} trace_count_t;

/* Adds the counts of the trace at `path` to *count. Returns 0 on success, or -1
 * after writing a message naming the file into err (errlen bytes). */
int trace_count_file(const char *path, trace_count_t *count, char *err, size_t errlen);

#endif /* BENCH_TRACECOUNT_H */
