/* The trace reader (docs/FORMAT.md): the first layer of the analysis.
 *
 * It opens a trace, checks its file header (versions MSF_VERSION_MIN ..
 * MSF_VERSION), scans the chunk headers into an index sorted by (thread,
 * seq), reads a chunk's payload into a caller's buffer when a thread's cursor
 * opens it, decodes records, spreads the events of a TIME window over time,
 * and reports damage (msx_reader_problem) and fatal errors (msx_reader_fail).
 *
 * The file is never mapped: everything is read with pread. Reading a hole of
 * a trace on a full tmpfs through a mapping raises SIGBUS (the kernel must
 * allocate a page to fault it in), which crashed `memscope summary` in 1 run
 * of 6; pread returns the bytes or an error, and a short read is damage.
 * Memory: the chunk index (one msx_chunk per chunk) and the buffers of the
 * chunks open, never the file. */
#ifndef MSX_READER_H
#define MSX_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "mpk.h"
#include "report.h"

/* A valid chunk found by the scan. */
typedef struct msx_chunk {
    uint64_t off;          /* file offset of its header */
    uint64_t slot;         /* ordinal of the chunk in the file */
    uint32_t thread;       /* memscope thread serial */
    uint32_t seq;
    uint32_t present;      /* payload bytes present: committed, cut at the end of the file */
    uint32_t flags;        /* MSF_CF_* */
    bool cut;              /* the payload is cut short (counted damaged already) */
    uint64_t tid;
    uint64_t time_ns;
    uint64_t first_event;
    uint64_t task;
    /* a packed file's chunk (reader_pack.c): off is its chunk record's offset */
    uint32_t frame_len;    /* bytes of its zstd frame */
    uint32_t xform_len;    /* bytes the frame decompresses to */
    uint32_t mode;         /* MSP_MODE_* */
} msx_chunk;

/* An open trace. Fields below `chunks` are set by msx_reader_scan. */
typedef struct msx_reader {
    const char *path;
    int fd;                    /* -1 once closed */
    uint64_t size;             /* file size when opened; nothing past it is read */
    msx_report *r;             /* problems, damage counters and header fields go here */
    uint32_t version, header_size, chunk_size;
    uint64_t end_time;         /* header end_time (0: no exit flush) */
    uint32_t end_how;          /* header end_how, MSF_END_* (version 2; 0 otherwise) */
    uint64_t time_bound;       /* header time bound, ns; 0 for version 1 (unbounded) */
    uint32_t stack_depth;      /* header stack_depth (version 2; 0 otherwise: no stacks) */

    msx_chunk *chunks;         /* sorted by (thread, seq), duplicates dropped */
    uint64_t nchunks;
    uint32_t nthreads;         /* distinct thread serials among the chunks */
    msx_chunk *snapchunks;     /* the snapshot log's chunks (v3), by seq: not a thread */
    uint64_t nsnapchunks;
    uint64_t max_time;         /* highest chunk time */
    uint64_t work_total;       /* chunk bytes to decode (progress) */

    /* a packed file (format/packfmt.h): the chunks come from its records */
    bool packed;
    uint32_t pack_flags;       /* MSP_HF_* */
    uint64_t pack_chunks;      /* chunk records the pack header announces */
    void *zstd;                /* ZSTD_DCtx, made at the first load */
    uint8_t *zbuf, *xbuf;      /* a frame read, and its columns decompressed */
    size_t zcap, xcap;
    struct msx_pack_codec *codec;

    int err;                   /* first fatal error (negative errno), 0 if none */
    char *errbuf;
    size_t errlen;
} msx_reader;

/* Opens path and checks its file header; fills r's header fields. Returns 0,
 * or a negative errno with a message in errbuf naming the file (the reader is
 * then closed already). */
int msx_reader_open(msx_reader *R, const char *path, msx_report *r, char *errbuf, size_t errlen);
/* Walks and checks every chunk header, builds the sorted index, counts the
 * threads. Returns 0 or a fatal error. Call once after msx_reader_open. */
int msx_reader_scan(msx_reader *R);
/* Reads chunk c's payload into *buf (grown as needed, *cap its size) and
 * returns the bytes read. A read that comes back short (the file shrank, an
 * I/O error) is damage: reported, c->present and the return value cut to
 * what was read. Returns -ENOMEM (and a fatal error) if the buffer cannot grow. */
long msx_reader_load(msx_reader *R, msx_chunk *c, uint8_t **buf, size_t *cap);
/* The runtime snapshots of the trace (view_snaps.c): reads the snapshot log
 * and runs the snapshot fold (format/fold.h) up to each SNAPSHOT record's
 * cut, into r->snaps. Returns 0 or -ENOMEM (damage is reported). */
int msx_snaps_analyze(msx_reader *R, msx_report *r);
/* Sorts the chunks found by a scan into the index: drops repeated (thread,
 * seq) pairs, moves the snapshot log apart, counts the threads. */
int msx_reader_index(msx_reader *R);
/* reader_pack.c: the header, scan, load and close of a packed file. */
int msx_pack_open(msx_reader *R);
int msx_pack_scan(msx_reader *R);
long msx_pack_load(msx_reader *R, msx_chunk *c, uint8_t **buf, size_t *cap);
void msx_pack_close(msx_reader *R);
/* Reads up to n bytes at off (short at the end of the file or on an error). */
size_t msx_reader_read_at(const msx_reader *R, void *buf, size_t n, uint64_t off);

/* Closes the file and frees the index. Safe to call twice. */
void msx_reader_close(msx_reader *R);

/* Records a fatal error: rc, with a message naming the file and offset.
 * Returns the first fatal error recorded (rc if it is the first). */
int msx_reader_fail(msx_reader *R, int rc, uint64_t off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The next entry of R->chunks, whose room is *cap (doubled when full): 0, or
 * msx_reader_fail's result (out of memory). For the scans of reader.c and
 * reader_pack.c. */
int msx_reader_chunk_add(msx_reader *R, uint64_t *cap, msx_chunk **out);
/* Records damage that the analysis survives: counted in r->problems_total,
 * the first MSX_MAX_PROBLEMS messages kept. */
void msx_reader_problem(msx_reader *R, uint64_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* -- records -------------------------------------------------------------- */

/* One decoded record (FORMAT.md "Records"). */
typedef struct msx_rec {
    unsigned kind;         /* MSF_K_*; MSF_K_ALLOC_EX and MSF_K_REALLOC_EX are kept apart */
    uint64_t arg;          /* head >> 3: zig-zag address delta (events), type (records) */
    uint64_t size;         /* ALLOC*, REALLOC*: requested bytes */
    int64_t delta;         /* REALLOC*: new address - old address */
    uint64_t stack;        /* *_EX: stack id (0 otherwise) */
    uint64_t weight;       /* *_EX: sample weight (0 otherwise: exact) */
    uint64_t time;         /* a TIME record's value */
} msx_rec;

/* What msx_rec_decode found. */
typedef enum msx_rec_result {
    MSX_REC_BAD,           /* undecodable: *bad says what; *pp unchanged past the head */
    MSX_REC_EVENT,         /* ALLOC, FREE, REALLOC, ALLOC_EX, REALLOC_EX */
    MSX_REC_TIME,          /* a TIME record (rec->time) */
    MSX_REC_CONTROL,       /* another control record: its object starts at *pp */
} msx_rec_result;

/* Decodes the record at *pp (up to end) into *rec and moves *pp past what it
 * decoded: the whole record, except for a control record other than TIME,
 * whose object is left at *pp for the caller. REALLOC_EX is a record kind of
 * version 2 only; in a version-1 trace kind 4 is reserved, as kinds 5 and 6. */
static inline msx_rec_result msx_rec_decode(const uint8_t **pp, const uint8_t *end, uint32_t version,
                                            msx_rec *rec, const char **bad)
{
    uint64_t h;
    if (!msx_rd_uint(pp, end, &h)) {
        *bad = "undecodable record head";
        return MSX_REC_BAD;
    }
    rec->kind = (unsigned)(h & MSF_KIND_MASK);
    rec->arg = h >> MSF_KIND_BITS;
    rec->size = rec->stack = rec->weight = 0;
    rec->delta = 0;
    switch (rec->kind) {
    case MSF_K_ALLOC:
        *bad = "undecodable ALLOC";
        return msx_rd_uint(pp, end, &rec->size) ? MSX_REC_EVENT : MSX_REC_BAD;
    case MSF_K_ALLOC_EX:
        *bad = "undecodable ALLOC";
        return msx_rd_uint(pp, end, &rec->size) && msx_rd_uint(pp, end, &rec->stack) &&
               msx_rd_uint(pp, end, &rec->weight) ? MSX_REC_EVENT : MSX_REC_BAD;
    case MSF_K_FREE:
        return MSX_REC_EVENT;
    case MSF_K_REALLOC:
        *bad = "undecodable REALLOC";
        return msx_rd_int(pp, end, &rec->delta) && msx_rd_uint(pp, end, &rec->size) ? MSX_REC_EVENT
                                                                                      : MSX_REC_BAD;
    case MSF_K_REALLOC_EX:
        if (version < 2)
            break;
        *bad = "undecodable REALLOC";
        return msx_rd_int(pp, end, &rec->delta) && msx_rd_uint(pp, end, &rec->size) &&
               msx_rd_uint(pp, end, &rec->stack) && msx_rd_uint(pp, end, &rec->weight) ? MSX_REC_EVENT
                                                                                        : MSX_REC_BAD;
    case MSF_K_RECORD:
        if (rec->arg != MSF_R_TIME)
            return MSX_REC_CONTROL;
        *bad = "undecodable TIME";
        return msx_rd_uint(pp, end, &rec->time) ? MSX_REC_TIME : MSX_REC_BAD;
    default:
        break;
    }
    *bad = "reserved record kind";
    return MSX_REC_BAD;
}

/* The kind of the record at p (before end) from its head alone, without
 * decoding the rest; -1 if the head is not in a writer's form (the caller
 * then decodes it with msx_rec_decode, which says what is wrong). */
static inline int msx_rec_peek_kind(const uint8_t *p, const uint8_t *end)
{
    size_t n = p < end ? msx_uint_len(*p) : 0;
    if (n == 0 || (size_t)(end - p) < n)
        return -1;
    return (int)(p[n - 1] & MSF_KIND_MASK);  /* the head's low bits: its last byte's */
}

/* -- time windows --------------------------------------------------------- */

/* A thread's TIME window: the events after a TIME record t0 up to the next
 * one. Their times are spread evenly over [t0, t0 + span], span = t1 - t0
 * (t1: the next TIME, else the next chunk's time), or for a version-2 trace
 * with a time bound b, span = min(t1 - t0, b): the writer publishes its clock
 * at least every b ns, so an event is never later than t0 + b; spreading over
 * the whole window would put the events of a thread that allocates rarely far
 * from their real time. Without a known end (a thread's last window) the span
 * is b in version 2 with a bound, else 0 (all events at t0). Offsets are in ns
 * with 16 fraction bits.
 * Invariant: the k-th event (k >= 1) of the window gets t0 + ((k * step) >> 16). */
typedef struct msx_window {
    uint64_t t0;           /* the TIME in force */
    uint64_t off;          /* offset of the last event taken from t0 */
    uint64_t step;         /* step between events */
    uint64_t end;          /* the window's real end: next TIME (or next chunk's time),
                            * UINT64_MAX if unknown; the merge's forcing rule uses it */
    uint64_t next;         /* time of the window's next event */
} msx_window;

/* Starts a window at t0 whose records begin at p (up to end, the chunk's
 * payload end); next_chunk_time: the time of the thread's next chunk, or
 * UINT64_MAX if it has none. Scans ahead to count the events and find the
 * end; control records are skipped through arena (reset after each). */
void msx_window_start(const msx_reader *R, msx_arena *arena, msx_window *w, uint64_t t0, const uint8_t *p,
                      const uint8_t *end, uint64_t next_chunk_time);

/* Takes the window's next event: returns its time and moves w->next on. */
static inline uint64_t msx_window_take(msx_window *w)
{
    uint64_t now = w->next;
    w->off += w->step;
    w->next = w->t0 + ((w->off + w->step) >> 16);
    return now;
}

#endif /* MSX_READER_H */
