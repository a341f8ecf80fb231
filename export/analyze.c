/* Reading and analysing a trace (docs/FORMAT.md) in one pass.
 *
 * 1. The file is mapped read-only and its chunk headers are scanned and
 *    checked; the valid chunks are sorted by (thread, seq). Only this index
 *    (a few words per chunk) is kept for the whole run.
 * 2. Each thread has a cursor that decodes its chunks in seq order. Each
 *    event gets a time interpolated between the TIME records around it
 *    (start_window). A merge loop always runs the thread whose next event is
 *    earliest, until it passes the next thread's (FORMAT.md "Merging
 *    threads"). An event that would break causality (allocating an address
 *    that is still live, freeing or reallocating one that is not) blocks its
 *    thread until another thread makes it valid, or until every other thread
 *    is past the time by which the event certainly happened (its window end:
 *    the thread's next TIME), or until every thread is blocked; then it is
 *    taken as an anomaly.
 * 3. Every event updates the live-block map (livemap.h) and running totals;
 *    there is no per-event allocation. Chunks already decoded are dropped
 *    from memory (MADV_DONTNEED), so memory follows the live set.
 *
 * The peak snapshot is exact without a second pass: the map remembers the
 * merged index of the event that made each block. A block was live at the
 * peak (event P) iff it was made at or before P and freed after it. Blocks
 * freed after P are added to "freed since the peak" cells as they go; a new
 * peak invalidates those cells in O(1) by bumping an epoch. At the end, the
 * blocks still live and made at or before P are added. */
#include "export.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "livemap.h"
#include "mpk.h"

enum {
    FILE_HDR_USED = 128,
    CHUNK_HDR = 64,
    CHUNK_MAGIC = 0x4b43534d,
    FORMAT_VERSION = 1,
    MAX_HEADER_SIZE = 1 << 20,
    MAX_CHUNK_SIZE = 1 << 30,
};

/* Record kinds and control record types (FORMAT.md "Records"). */
enum { K_ALLOC = 0, K_FREE = 1, K_REALLOC = 2, K_ALLOC_EX = 3, K_RECORD = 7 };
enum {
    R_TIME = 1, R_THREAD, R_THREAD_EXIT, R_PROCESS, R_MODULES, R_TASK,
    R_DROPPED, R_STACK, R_METRIC, R_FORK, R_END,
};

/* A valid chunk found by the scan. */
typedef struct chunk {
    uint64_t off;          /* file offset of its header */
    uint64_t slot;         /* ordinal of the chunk in the file */
    uint32_t thread;       /* memscope thread serial */
    uint32_t seq;
    uint32_t present;      /* payload bytes present: committed, cut at the end of the file */
    uint32_t flags;
    bool cut;              /* the file ends inside its payload (counted damaged already) */
    uint64_t tid;
    uint64_t time_ns;
    uint64_t first_event;
    uint64_t task;
} chunk;

typedef enum { TS_RUN, TS_BLOCKED, TS_DONE } tstate_kind;

/* A thread's decoding cursor and running state. */
typedef struct tstate {
    msx_thread_report *rep;
    uint32_t index;            /* in the threads array (the slot's thread field) */
    uint32_t ck, ck_end;       /* next chunk to open, end of its chunks in the sorted array */
    const chunk *cur;          /* chunk being decoded, NULL before the first */
    const uint8_t *p, *end;    /* payload cursor; p == end: the chunk is done */
    uint64_t addr, task;       /* decoding state (FORMAT.md "Records") */
    uint64_t time;             /* (estimated) time of its next event */
    uint64_t now;              /* time of the event being applied */
    uint64_t t0;               /* TIME of the current window (see start_window) */
    uint64_t off, step;        /* offset of the last event from t0, and the step between
                                * events, in ns with 16 fraction bits */
    uint64_t win_end;          /* the window's end: next TIME, UINT64_MAX if unknown */
    uint64_t evno;             /* the thread's event number of its next event */
    tstate_kind st;
    uint64_t wait_addr;        /* blocked: waiting until wait_addr is live (wait_live) or not */
    bool wait_live;
    bool force;                /* take the next event even if it breaks causality */
    bool has_last;             /* last_alloc holds its latest allocation (temporaries) */
    uint64_t last_alloc;
    uint64_t live;             /* bytes of the blocks it allocated, live now */
    uint64_t snap_epoch;       /* rep->peak_snapshot_* hold "freed since the peak" iff == epoch */
} tstate;

/* One timeline bucket while analysing. */
typedef struct tl_bucket {
    uint64_t last, max, allocs, frees;
    bool touched;
} tl_bucket;

/* A "freed since the peak" cell of the size classes. */
typedef struct snap_cell {
    uint64_t epoch, count, bytes;
} snap_cell;

/* Bounded min-heap of blocks by size: keeps the n largest pushed. */
typedef struct topn {
    uint32_t n, cap;
    msx_block *b;
} topn;

/* Small open-addressing set of task ids (key 0 never stored). */
typedef struct idset {
    uint64_t *k;
    uint64_t cap, n;
} idset;

/* An address whose events the merge could not place when they came
 * (FORMAT.md "Merging threads"): frees that met no live block wait for the
 * allocation they belong to, allocations that met a live block wait for its
 * free. Only ties of TIME between threads put anything here; what is still
 * here at the end is reported as anomalies. */
typedef struct pend {
    uint64_t addr;             /* any value, 0 included (a corrupt trace may free 0) */
    bool used;                 /* false: empty entry */
    uint32_t frees;            /* departures (FREE, REALLOC's old side) waiting */
    uint32_t allocs;           /* allocations waiting for the live block to go */
    uint32_t free_thread;      /* thread index of the newest waiting departure */
    uint32_t alloc_thread;     /* thread index of the newest waiting allocation */
    uint8_t free_kind;         /* anomaly kind of that departure if never paired */
    uint64_t free_time, free_event; /* its time and its thread's event number */
    uint64_t size, born;       /* of the newest waiting allocation ... */
    uint64_t alloc_event;      /* ... and its thread's event number */
} pend;

typedef struct an {
    const char *path;
    msx_report *r;
    const uint8_t *base;       /* the mapping */
    size_t size;
    uint32_t header_size, chunk_size;
    uint64_t header_end_time;
    uint64_t time_bound;       /* v2: bound of the time error; events spread no further */

    chunk *chunks;
    uint64_t nchunks;
    tstate *ts;
    uint32_t nts;
    uint32_t nblocked;

    msx_livemap map;
    pend *pend;                /* open addressing, linear probing; cap a power of 2 */
    uint64_t pend_cap, pend_n;
    msx_arena arena;           /* control record objects, reset per record */
    idset tasks;

    uint64_t idx;              /* merged index of the current event (first is 1) */
    uint64_t live_bytes;
    uint64_t peak_idx;
    uint64_t epoch;
    snap_cell snap_size[MSX_HIST_BUCKETS];
    msx_block peak_top_store[MSX_MAX_PEAK_BLOCKS];
    topn peak_top;
    uint64_t peak_top_epoch;
    uint64_t max_time;         /* highest time seen */
    uint64_t end_time;         /* from an END record */

    tl_bucket tl[MSX_TIMELINE_POINTS];
    unsigned tl_shift;         /* bucket width is 1 << tl_shift ns */
    uint64_t tl_used;          /* highest bucket index entered */
    tl_bucket *bk;             /* bucket of the current time */
    uint64_t bk_idx;           /* its index at the current resolution */

    msx_progress_fn progress;
    void *progress_ctx;
    uint64_t work_done, work_total;

    int err;                   /* fatal error (negative errno) */
    char *errbuf;
    size_t errlen;
} an;

/* -- messages ------------------------------------------------------------- */

/* Records a fatal error: rc, with a message naming the file and offset. */
static int fail(an *A, int rc, uint64_t off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(an *A, int rc, uint64_t off, const char *fmt, ...)
{
    if (A->err)
        return A->err;
    A->err = rc;
    if (A->errlen) {
        int n = snprintf(A->errbuf, A->errlen, "%s: offset %llu: ", A->path, (unsigned long long)off);
        if (n >= 0 && (size_t)n < A->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(A->errbuf + n, A->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

/* Records damage that the analysis survives: counted, and the first
 * MSX_MAX_PROBLEMS messages are kept. */
static void problem(an *A, uint64_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(an *A, uint64_t off, const char *fmt, ...)
{
    msx_report *r = A->r;
    r->problems_total++;
    if (r->nproblems >= MSX_MAX_PROBLEMS)
        return;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: offset %llu: ", A->path, (unsigned long long)off);
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (msx_str_set(&r->problems[r->nproblems], msg, strlen(msg)) == 0)
        r->nproblems++;
}

/* File offset of a pointer into the mapping. */
static uint64_t off_of(const an *A, const uint8_t *p)
{
    return (uint64_t)(p - A->base);
}

/* -- small containers ----------------------------------------------------- */

/* Pushes a block into a bounded min-heap by (size, then lower address kept). */
static void topn_push(topn *h, const msx_block *blk)
{
    msx_block *b = h->b;
    if (h->n == h->cap) {
        if (blk->size < b[0].size || (blk->size == b[0].size && blk->addr >= b[0].addr))
            return;
        b[0] = *blk;
        uint32_t i = 0;
        for (;;) {  /* sift down */
            uint32_t l = 2 * i + 1, m = i;
            if (l < h->n && (b[l].size < b[m].size || (b[l].size == b[m].size && b[l].addr > b[m].addr)))
                m = l;
            if (l + 1 < h->n && (b[l + 1].size < b[m].size || (b[l + 1].size == b[m].size && b[l + 1].addr > b[m].addr)))
                m = l + 1;
            if (m == i)
                return;
            msx_block t = b[i]; b[i] = b[m]; b[m] = t;
            i = m;
        }
    }
    uint32_t i = h->n++;
    b[i] = *blk;
    while (i) {  /* sift up */
        uint32_t p = (i - 1) / 2;
        if (b[p].size < b[i].size || (b[p].size == b[i].size && b[p].addr > b[i].addr))
            break;
        msx_block t = b[i]; b[i] = b[p]; b[p] = t;
        i = p;
    }
}

/* Orders blocks largest first, then by address. */
static int block_cmp(const void *a, const void *b)
{
    const msx_block *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Adds a task id to the set. Returns 0 or -ENOMEM. */
static int idset_add(idset *s, uint64_t id)
{
    if (id == 0)
        return 0;
    if ((s->n + 1) * 2 > s->cap) {
        uint64_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *k = calloc(cap, sizeof *k);
        if (!k)
            return -ENOMEM;
        for (uint64_t i = 0; i < s->cap; i++) {
            if (!s->k[i])
                continue;
            uint64_t j = (s->k[i] * UINT64_C(0x9E3779B97F4A7C15)) & (cap - 1);
            while (k[j])
                j = (j + 1) & (cap - 1);
            k[j] = s->k[i];
        }
        free(s->k);
        s->k = k;
        s->cap = cap;
    }
    uint64_t j = (id * UINT64_C(0x9E3779B97F4A7C15)) & (s->cap - 1);
    while (s->k[j]) {
        if (s->k[j] == id)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->k[j] = id;
    s->n++;
    return 0;
}

/* -- timeline ------------------------------------------------------------- */

/* Halves the timeline's resolution: bucket i becomes buckets 2i and 2i+1. */
static void tl_double(an *A)
{
    for (unsigned i = 0; i < MSX_TIMELINE_POINTS / 2; i++) {
        tl_bucket a = A->tl[2 * i], b = A->tl[2 * i + 1], m = { 0 };
        m.touched = a.touched || b.touched;
        m.allocs = a.allocs + b.allocs;
        m.frees = a.frees + b.frees;
        m.max = a.touched && b.touched ? (a.max > b.max ? a.max : b.max) : a.touched ? a.max : b.max;
        m.last = b.touched ? b.last : a.last;
        A->tl[i] = m;
    }
    memset(&A->tl[MSX_TIMELINE_POINTS / 2], 0, sizeof A->tl / 2);
    A->tl_used /= 2;
    A->tl_shift++;
    A->bk_idx = UINT64_MAX;  /* the caller enters its bucket again */
}

/* Makes the bucket of `time` current (creating resolution room if needed). */
static void tl_enter(an *A, uint64_t time)
{
    while ((time >> A->tl_shift) >= MSX_TIMELINE_POINTS)
        tl_double(A);
    uint64_t i = time >> A->tl_shift;
    tl_bucket *b = &A->tl[i];
    if (!b->touched) {
        b->touched = true;
        b->max = b->last = A->live_bytes;
    }
    if (i > A->tl_used)
        A->tl_used = i;
    A->bk = b;
    A->bk_idx = i;
}

/* -- the scan ------------------------------------------------------------- */

/* Little-endian loads from the mapping. */
static uint32_t le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return le32toh(v);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

/* Orders chunks by thread, seq, then file position. */
static int chunk_cmp(const void *a, const void *b)
{
    const chunk *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Checks the file header. Returns 0 or a fatal error. */
static int read_header(an *A)
{
    const uint8_t *h = A->base;
    if (A->size == 0)
        return fail(A, -ENODATA, 0, "empty file: not a memscope trace");
    if (A->size < 8 || memcmp(h, "MEMSCOPE", 8) != 0)
        return fail(A, -EINVAL, 0, "not a memscope trace (no MEMSCOPE magic)");
    if (A->size < FILE_HDR_USED)
        return fail(A, -EINVAL, A->size, "file ends inside the file header (%zu of %d bytes): truncated trace",
                    A->size, FILE_HDR_USED);
    uint32_t version = le32(h + 8);
    if (version < MSF_VERSION_MIN || version > MSF_VERSION)
        return fail(A, -ENOTSUP, 8, "trace format version %u is not supported (this reader knows versions %u to %u)",
                    version, MSF_VERSION_MIN, MSF_VERSION);
    A->header_size = le32(h + 12);
    A->chunk_size = le32(h + 16);
    if (A->header_size < FILE_HDR_USED || A->header_size > MAX_HEADER_SIZE)
        return fail(A, -EINVAL, 12, "bad header_size %u", A->header_size);
    if (A->chunk_size < 4096 || A->chunk_size % 4096 || A->chunk_size > MAX_CHUNK_SIZE)
        return fail(A, -EINVAL, 16, "bad chunk_size %u (the largest chunk: a multiple of 4096 up to 1 GiB)",
                    A->chunk_size);
    msx_report *r = A->r;
    r->format_version = version;
    r->chunk_size = A->chunk_size;
    r->pid = le64(h + 24);
    r->start_realtime_ns = le64(h + 32);
    r->dropped_header = le64(h + 56);
    A->header_end_time = le64(h + 72);
    A->time_bound = version >= 2 ? le64(h + MSF_H_TIME_BOUND) : 0;
    if (A->size < A->header_size)
        problem(A, A->size, "file ends inside the file header (%zu of %u bytes): truncated trace, no chunks",
                A->size, A->header_size);
    return 0;
}

/* True if n bytes at p are all zero. */
static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* True if a chunk header at c declares a usable size (FORMAT.md). */
static bool size_ok(const an *A, uint32_t size)
{
    return size >= 4096 && size % 4096 == 0 && size <= A->chunk_size;
}

/* Walks the chunks from the end of the file header, each one's `size` leading
 * to the next; keeps the valid chunks sorted by (thread, seq) and sets up one
 * cursor per thread. Space that was taken but never reserved (a process killed
 * in between) has no size: the walk then looks for the next chunk header on
 * the following 4 KiB boundaries. Returns 0 or a fatal error. */
static int scan_chunks(an *A)
{
    uint64_t cap = 64;
    A->chunks = calloc(cap, sizeof *A->chunks);
    if (!A->chunks)
        return fail(A, -ENOMEM, 0, "out of memory for chunks");
    msx_report *r = A->r;
    uint64_t dropped_to = A->header_size; /* headers read below this are unmapped */
    uint64_t ordinal = 0;
    bool lost = false; /* walking over space without a chunk header */
    uint64_t off = A->header_size;
    bool empty_last = false; /* the last slot walked is a reserved, unused one */
    while (off < A->size) {
        const uint8_t *c = A->base + off;
        size_t avail = A->size - off;
        /* Reading a header faults in the pages around it (the kernel's fault-
         * around, up to 64 KiB): give them back every 4 MiB, or the scan alone
         * would hold a quarter of a trace of 256 KiB chunks in memory. */
        if (off - dropped_to >= (4u << 20) && A->header_size % 4096 == 0) {
            madvise((void *)(A->base + dropped_to), off - dropped_to, MADV_DONTNEED);
            dropped_to = off;
        }
        if (avail < CHUNK_HDR) {
            if (!all_zero(c, avail)) {
                r->damaged_chunks++;
                problem(A, off, "the file ends inside a chunk header (%zu of %d bytes): truncated trace",
                        avail, CHUNK_HDR);
            }
            break;
        }
        uint32_t magic = le32(c), size = le32(c + 52);
        if (!size_ok(A, size) || (lost && magic != CHUNK_MAGIC)) {
            if (!lost && !all_zero(c, CHUNK_HDR))
                r->damaged_chunks++;
            if (!lost)
                problem(A, off, "no chunk header here (size %u): skipping to the next chunk", size);
            lost = true;
            off += 4096;
            continue;
        }
        lost = false;
        uint64_t i = ordinal++;
        off += size;
        empty_last = magic == 0;
        if (magic == 0) {
            r->empty_slots++;
            continue;
        }
        uint64_t here = off - size;
        if (magic != CHUNK_MAGIC) {
            r->damaged_chunks++;
            problem(A, here, "chunk %llu: bad magic 0x%08x: chunk skipped", (unsigned long long)i, magic);
            continue;
        }
        uint32_t committed = le32(c + 4), thread = le32(c + 8);
        if (committed > size - CHUNK_HDR || thread == 0) {
            r->damaged_chunks++;
            problem(A, here, "chunk %llu: corrupt header (committed %u, thread %u): chunk skipped",
                    (unsigned long long)i, committed, thread);
            continue;
        }
        if (A->nchunks == cap) {
            chunk *m = realloc(A->chunks, 2 * cap * sizeof *A->chunks);
            if (!m)
                return fail(A, -ENOMEM, 0, "out of memory for %llu chunks", (unsigned long long)(2 * cap));
            A->chunks = m;
            cap *= 2;
        }
        chunk *k = &A->chunks[A->nchunks++];
        k->off = here;
        k->slot = i;
        k->thread = thread;
        k->seq = le32(c + 12);
        k->tid = le64(c + 16);
        k->time_ns = le64(c + 24);
        k->first_event = le64(c + 32);
        k->task = le64(c + 40);
        k->flags = le32(c + 48);
        k->present = committed;
        k->cut = false;
        if (avail - CHUNK_HDR < committed) {
            k->present = (uint32_t)(avail - CHUNK_HDR);
            k->cut = true;
            r->damaged_chunks++;
            problem(A, A->size, "chunk %llu (thread %u, seq %u): the file ends after %u of its %u committed bytes: truncated trace",
                    (unsigned long long)i, thread, k->seq, k->present, committed);
        }
        A->work_total += CHUNK_HDR + (uint64_t)k->present;
        if (k->time_ns > A->max_time)
            A->max_time = k->time_ns;
    }
    if (A->size > dropped_to && A->header_size % 4096 == 0)
        madvise((void *)(A->base + dropped_to), A->size - dropped_to, MADV_DONTNEED);
    /* A process that ended while a thread was reserving a chunk (writing it
     * whole) leaves a file that ends inside that slot, shorter than the
     * header's space_taken (FORMAT.md): nothing is lost when the slot is an
     * unused one (magic 0) and the last taken, so that is no damage. */
    uint64_t taken = le64(A->base + 48);
    bool unused_tail = !lost && empty_last && off > A->size && off >= A->header_size + taken;
    if (A->header_size + taken > A->size && !unused_tail)
        problem(A, A->size, "the header says %llu bytes of chunks were taken but the file holds %llu: truncated trace",
                (unsigned long long)taken,
                (unsigned long long)(A->size > A->header_size ? A->size - A->header_size : 0));
    qsort(A->chunks, A->nchunks, sizeof *A->chunks, chunk_cmp);

    /* Drop duplicate (thread, seq) pairs, keeping the first in the file. */
    uint64_t w = 0;
    for (uint64_t i = 0; i < A->nchunks; i++) {
        if (w && A->chunks[w - 1].thread == A->chunks[i].thread && A->chunks[w - 1].seq == A->chunks[i].seq) {
            if (!A->chunks[i].cut)  /* else counted already */
                r->damaged_chunks++;
            problem(A, A->chunks[i].off, "chunk %llu repeats seq %u of thread %u: chunk skipped",
                    (unsigned long long)A->chunks[i].slot, A->chunks[i].seq, A->chunks[i].thread);
            A->work_total -= CHUNK_HDR + (uint64_t)A->chunks[i].present;
            continue;
        }
        A->chunks[w++] = A->chunks[i];
    }
    A->nchunks = w;

    uint32_t nts = 0;
    for (uint64_t i = 0; i < A->nchunks; i++)
        if (i == 0 || A->chunks[i].thread != A->chunks[i - 1].thread)
            nts++;
    if (nts >= (1u << MSX_THREAD_BITS))
        return fail(A, -E2BIG, 0, "%u threads: more than this reader handles", nts);
    A->ts = calloc(nts ? nts : 1, sizeof *A->ts);
    r->threads = calloc(nts ? nts : 1, sizeof *r->threads);
    if (!A->ts || !r->threads)
        return fail(A, -ENOMEM, 0, "out of memory for %u threads", nts);
    A->nts = r->nthreads = nts;
    uint32_t t = 0;
    for (uint64_t i = 0; i < A->nchunks; i++) {
        if (i && A->chunks[i].thread == A->chunks[i - 1].thread) {
            A->ts[t - 1].ck_end++;
            continue;
        }
        tstate *T = &A->ts[t];
        T->rep = &r->threads[t];
        T->index = t;
        T->ck = (uint32_t)i;
        T->ck_end = (uint32_t)i + 1;
        T->time = T->t0 = A->chunks[i].time_ns;
        T->st = TS_RUN;
        T->rep->id = A->chunks[i].thread;
        T->rep->tid = A->chunks[i].tid;
        T->rep->first_time_ns = A->chunks[i].time_ns;
        t++;
    }
    return 0;
}

/* -- decoding helpers ----------------------------------------------------- */

/* Copies a STR or BIN object into s (other types leave s alone). */
static int take_str(msx_str *s, const msx_obj *o)
{
    if (!o || (o->type != MSX_STR && o->type != MSX_BIN))
        return 0;
    return msx_str_set(s, o->v.s, o->n);
}

/* Skips one record at *pp without applying it. Returns 1 with *time set if it
 * was a TIME record, 2 for an event, 0 for any other record, -1 if it cannot
 * be decoded. */
static int skip_record(an *A, const uint8_t **pp, const uint8_t *end, uint64_t *time)
{
    uint64_t h, u;
    int64_t d;
    switch (msx_rd_uint(pp, end, &h) ? h & 7 : 4) {
    case K_ALLOC:
        return msx_rd_uint(pp, end, &u) ? 2 : -1;
    case K_FREE:
        return 2;
    case K_REALLOC:
        return msx_rd_int(pp, end, &d) && msx_rd_uint(pp, end, &u) ? 2 : -1;
    case K_ALLOC_EX:
        return msx_rd_uint(pp, end, &u) && msx_rd_uint(pp, end, &u) && msx_rd_uint(pp, end, &u) ? 2 : -1;
    case K_RECORD:
        if ((h >> 3) == R_TIME)
            return msx_rd_uint(pp, end, time) ? 1 : -1;
        break;
    default:
        return -1;
    }
    msx_obj o;
    long n = msx_mpk_decode(&A->arena, *pp, (size_t)(end - *pp), &o);
    msx_arena_reset(&A->arena);
    if (n <= 0)
        return -1;
    *pp += n;
    return 0;
}

/* Starts a TIME window of T at time t0, its records beginning at p. The
 * window is scanned ahead to count its events and find its end (the next TIME,
 * else the next chunk's time), and its events get times spread evenly between
 * the two (FORMAT.md "Time" allows the interpolation). The merge then orders
 * events of different threads by these times, much finer than the TIME
 * records alone. Without a known end, every event gets t0. */
static void start_window(an *A, tstate *T, uint64_t t0, const uint8_t *p)
{
    uint64_t n = 0, t1 = UINT64_MAX, v;
    for (;;) {
        if (p >= T->end) {
            if (T->ck < T->ck_end)
                t1 = A->chunks[T->ck].time_ns;
            break;
        }
        int rc = skip_record(A, &p, T->end, &v);
        if (rc < 0)
            break;
        if (rc == 1) {
            t1 = v;
            break;
        }
        n += rc == 2;
    }
    uint64_t dt = t1 != UINT64_MAX && t1 > t0 ? t1 - t0 : 0;
    if (A->time_bound && dt > A->time_bound)
        dt = A->time_bound;
    T->t0 = t0;
    T->off = 0;
    T->step = dt < (UINT64_C(1) << 47) ? (dt << 16) / (n + 1) : (dt / (n + 1)) << 16;
    T->win_end = t1;
    T->time = t0 + (T->step >> 16);
}

/* -- applying events ------------------------------------------------------ */

/* Counts and lists an anomaly of thread T's event number `event` at `time`. */
static void note_anomaly_at(an *A, tstate *T, msx_anomaly_kind kind, uint64_t addr, uint64_t time,
                            uint64_t event)
{
    msx_report *r = A->r;
    r->anomaly_counts[kind]++;
    if (r->nanomalies < MSX_MAX_ANOMALIES)
        r->anomalies[r->nanomalies++] = (msx_anomaly){
            .kind = kind, .thread = T->rep->id, .time_ns = time, .addr = addr, .event = event,
        };
}

/* A block made at or before the peak goes away after it: it was live at the
 * peak, so it joins the "freed since the peak" cells of the current epoch. */
static void snap_freed(an *A, const msx_slot *s)
{
    snap_cell *c = &A->snap_size[msx_log2_class(s->size)];
    if (c->epoch != A->epoch) {
        c->epoch = A->epoch;
        c->count = c->bytes = 0;
    }
    c->count++;
    c->bytes += s->size;
    tstate *O = &A->ts[msx_slot_thread(s)];
    if (O->snap_epoch != A->epoch) {
        O->snap_epoch = A->epoch;
        O->rep->peak_snapshot_blocks = O->rep->peak_snapshot_bytes = 0;
    }
    O->rep->peak_snapshot_blocks++;
    O->rep->peak_snapshot_bytes += s->size;
    if (A->peak_top_epoch != A->epoch) {
        A->peak_top_epoch = A->epoch;
        A->peak_top.n = 0;
    }
    msx_block b = { .addr = s->addr, .size = s->size, .time_ns = s->born, .thread = O->rep->id };
    topn_push(&A->peak_top, &b);
}

/* Removes the block in slot s from the live set (freed or replaced by the
 * thread T at the current time). Returns its owner thread. */
static inline tstate *unlive(an *A, msx_slot *s)
{
    tstate *O = &A->ts[msx_slot_thread(s)];
    if (msx_slot_idx(s) <= A->peak_idx)
        snap_freed(A, s);
    A->live_bytes -= s->size;
    O->live -= s->size;
    msx_livemap_set_freed(&A->map, s);
    return O;
}

/* Makes slot s a live block of `size` bytes allocated by T now (born: when
 * the block started, which a realloc carries over). The allocation's counts
 * (bytes allocated, size histogram, timeline) are arrive's. */
static inline void make_live(an *A, tstate *T, msx_slot *s, uint64_t size, uint64_t born)
{
    msx_report *r = A->r;
    msx_livemap_set_live(&A->map, s, size, born, msx_slot_meta(A->idx, T->index));
    A->live_bytes += size;
    T->live += size;
    if (T->live > T->rep->peak_live_bytes) {
        T->rep->peak_live_bytes = T->live;
        T->rep->peak_time_ns = T->now;
    }
    if (A->live_bytes > r->peak_live_bytes) {
        r->peak_live_bytes = A->live_bytes;
        r->peak_time_ns = T->now;
        A->peak_idx = A->idx;
        A->epoch++;
    }
    T->last_alloc = s->addr;
    T->has_last = true;
    tl_bucket *b = A->bk;
    b->last = A->live_bytes;
    if (A->live_bytes > b->max)
        b->max = A->live_bytes;
}

/* Takes T's next event: gives it the next merged index, its time (T->now),
 * and moves T->time on to the event after it. Returns false (with a fatal
 * error) if the index no longer fits the map's slots. */
static inline bool count_event(an *A, tstate *T)
{
    if (++A->idx >> MSX_IDX_BITS) {
        fail(A, -EFBIG, 0, "more than 2^%d events: more than this reader handles", MSX_IDX_BITS);
        return false;
    }
    A->r->events++;
    T->rep->events++;
    T->evno++;
    T->force = false;
    T->now = T->time;
    T->off += T->step;
    T->time = T->t0 + ((T->off + T->step) >> 16);
    if ((T->now >> A->tl_shift) != A->bk_idx)
        tl_enter(A, T->now);
    return true;
}

/* Blocks T on its current record until addr is live (want_live) or not. */
static void block(an *A, tstate *T, uint64_t addr, bool want_live)
{
    T->st = TS_BLOCKED;
    T->wait_addr = addr;
    T->wait_live = want_live;
    A->nblocked++;
}

/* -- events that wait for their partner (struct pend) -------------------- */

static uint64_t pend_hash(uint64_t a)
{
    return (a * 0x9e3779b97f4a7c15ull) >> 17;
}

/* The entry of addr, or NULL. */
static pend *pend_find(an *A, uint64_t addr)
{
    if (!A->pend_n)
        return NULL;
    for (uint64_t i = pend_hash(addr) & (A->pend_cap - 1);; i = (i + 1) & (A->pend_cap - 1)) {
        if (!A->pend[i].used)
            return NULL;
        if (A->pend[i].addr == addr)
            return &A->pend[i];
    }
}

/* The entry of addr, made empty if new; NULL (and a fatal error) when out of
 * memory. */
static pend *pend_get(an *A, uint64_t addr)
{
    pend *e = pend_find(A, addr);
    if (e)
        return e;
    if (2 * (A->pend_n + 1) > A->pend_cap) {
        uint64_t cap = A->pend_cap ? 2 * A->pend_cap : 64;
        pend *t = calloc(cap, sizeof *t);
        if (!t) {
            fail(A, -ENOMEM, 0, "out of memory");
            return NULL;
        }
        for (uint64_t i = 0; i < A->pend_cap; i++) {
            if (!A->pend[i].used)
                continue;
            uint64_t j = pend_hash(A->pend[i].addr) & (cap - 1);
            while (t[j].used)
                j = (j + 1) & (cap - 1);
            t[j] = A->pend[i];
        }
        free(A->pend);
        A->pend = t;
        A->pend_cap = cap;
    }
    uint64_t i = pend_hash(addr) & (A->pend_cap - 1);
    while (A->pend[i].used)
        i = (i + 1) & (A->pend_cap - 1);
    A->pend[i] = (pend){ .addr = addr, .used = true };
    A->pend_n++;
    return &A->pend[i];
}

/* Drops e if nothing waits in it any more (backward-shift deletion). */
static void pend_tidy(an *A, pend *e)
{
    if (e->frees || e->allocs)
        return;
    uint64_t i = (uint64_t)(e - A->pend), mask = A->pend_cap - 1;
    A->pend[i].used = false;
    A->pend_n--;
    for (uint64_t j = (i + 1) & mask; A->pend[j].used; j = (j + 1) & mask) {
        uint64_t home = pend_hash(A->pend[j].addr) & mask;
        /* move j back to the hole at i when its home is not in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            A->pend[i] = A->pend[j];
            A->pend[j].used = false;
            i = j;
        }
    }
}

static inline void settle_free(an *A, tstate *T, msx_slot *s);

/* Counts an allocation by T (ALLOC, ALLOC_EX, or a REALLOC's new block) and
 * makes slot s live for it, unless a departure of that address waits (same
 * TIME on another thread): then the block is born and gone at once; or the
 * address is live: then it waits for that block's free. Returns false on a
 * fatal error. */
static inline bool arrive(an *A, tstate *T, msx_slot *s, uint64_t addr, uint64_t size, uint64_t born)
{
    /* The event's own figures count now, whether its block lives now, later
     * (it waits) or never (an anomaly): each event counts once. */
    msx_report *r = A->r;
    msx_bucket *h = &r->size_hist[msx_log2_class(size)];
    h->count++;
    h->bytes += size;
    r->bytes_allocated += size;
    T->rep->bytes_allocated += size;
    A->bk->allocs++;
    pend *e = A->pend_n ? pend_find(A, addr) : NULL;
    if (__builtin_expect(e && e->frees, 0)) {
        make_live(A, T, s, size, born);
        e->frees--;
        settle_free(A, &A->ts[e->free_thread], s);
        pend_tidy(A, e);
        return true;
    }
    if (msx_slot_state(s) == MSX_SLOT_LIVE) {
        /* the live block's free is still to come on another thread */
        if (!(e = pend_get(A, addr)))
            return false;
        e->allocs++;
        e->alloc_thread = T->index;
        e->size = size;
        e->born = born;
        e->alloc_event = T->evno - 1;
        return true;
    }
    make_live(A, T, s, size, born);
    return true;
}

/* Records a departure of addr by T that met no live block: it waits for the
 * allocation it belongs to. kind: the anomaly it is if none comes. */
static void depart_early(an *A, tstate *T, uint64_t addr, msx_anomaly_kind kind)
{
    pend *e = pend_get(A, addr);
    if (!e)
        return;
    e->frees++;
    e->free_thread = T->index;
    e->free_kind = (uint8_t)kind;
    e->free_time = T->now;
    e->free_event = T->evno - 1;
}

/* Applies a FREE of addr by T whose block is in s (NULL: no slot). */
static inline void apply_free(an *A, tstate *T, msx_slot *s, uint64_t addr)
{
    msx_report *r = A->r;
    r->frees++;
    T->rep->frees++;
    A->bk->frees++;
    if (!s || msx_slot_state(s) != MSX_SLOT_LIVE) {
        if (r->forked)
            r->inherited_frees++;
        else
            depart_early(A, T, addr, s ? MSX_ANOM_DOUBLE_FREE : MSX_ANOM_UNKNOWN_FREE);
        return;
    }
    settle_free(A, T, s);
}

/* Ends the live block in slot s, freed by T now: bytes, lifetime, and the
 * per-thread figures. An allocation waiting for the address takes it. */
static inline void settle_free(an *A, tstate *T, msx_slot *s)
{
    msx_report *r = A->r;
    uint64_t addr = s->addr;
    uint64_t size = s->size, born = s->born;
    bool own = msx_slot_thread(s) == T->index;
    unlive(A, s);
    A->bk->last = A->live_bytes;
    r->bytes_freed += size;
    T->rep->bytes_freed += size;
    uint64_t life = T->now > born ? T->now - born : 0;
    msx_bucket *h = &r->lifetime_hist[msx_log2_class(life)];
    h->count++;
    h->bytes += size;
    if (!own) {
        T->rep->cross_thread_frees++;
    } else if (T->has_last && T->last_alloc == addr) {
        r->temporary++;
        T->rep->temporary++;
        T->has_last = false;
    }
    pend *e = A->pend_n ? pend_find(A, addr) : NULL;
    if (e && e->allocs) {
        e->allocs--;
        tstate *W = &A->ts[e->alloc_thread];
        make_live(A, W, s, e->size, e->born);
        pend_tidy(A, e);
    }
}

/* -- control records ------------------------------------------------------ */

/* Updates a METRIC series. */
static int note_metric(an *A, const msx_obj *k, uint64_t v)
{
    msx_report *r = A->r;
    for (uint32_t i = 0; i < r->nmetrics; i++) {
        msx_metric *m = &r->metrics[i];
        if (m->name.n == k->n && memcmp(m->name.p, k->v.s, k->n) == 0) {
            m->last = v;
            if (v > m->max)
                m->max = v;
            return 0;
        }
    }
    if (r->nmetrics == MSX_MAX_METRICS)
        return 0;
    msx_metric *m = &r->metrics[r->nmetrics];
    if (msx_str_set(&m->name, k->v.s, k->n) < 0)
        return -ENOMEM;
    m->last = m->max = v;
    r->nmetrics++;
    return 0;
}

/* Copies PROCESS fields. */
static int take_process(an *A, const msx_obj *o)
{
    msx_report *r = A->r;
    r->pid = msx_map_uint(o, "pid", r->pid);
    r->ppid = msx_map_uint(o, "ppid", r->ppid);
    if (take_str(&r->exe, msx_map_get(o, "exe")) < 0)
        return -ENOMEM;
    const msx_obj *argv = msx_map_get(o, "argv");
    if (argv && argv->type == MSX_ARRAY && !r->argv) {
        r->argv = calloc(argv->n ? argv->n : 1, sizeof *r->argv);
        if (!r->argv)
            return -ENOMEM;
        for (uint32_t i = 0; i < argv->n; i++) {
            const msx_obj *a = &argv->v.a[i];
            if (a->type != MSX_STR && a->type != MSX_BIN)
                continue;
            if (take_str(&r->argv[r->nargv], a) < 0)
                return -ENOMEM;
            r->nargv++;
        }
    }
    const msx_obj *cfg = msx_map_get(o, "config");
    if (cfg && cfg->type == MSX_MAP && !r->config) {
        r->config = calloc(cfg->n ? 2 * (size_t)cfg->n : 1, sizeof *r->config);
        if (!r->config)
            return -ENOMEM;
        for (uint32_t i = 0; i < cfg->n; i++) {
            const msx_obj *k = &cfg->v.a[2 * i], *v = &cfg->v.a[2 * i + 1];
            if (k->type != MSX_STR || (v->type != MSX_STR && v->type != MSX_BIN))
                continue;
            msx_str *kv = &r->config[2 * r->nconfig];
            if (take_str(&kv[0], k) < 0 || take_str(&kv[1], v) < 0) {
                free(kv[0].p);
                kv[0].p = NULL;
                return -ENOMEM;
            }
            r->nconfig++;
        }
    }
    return 0;
}

/* Applies a control record other than TIME, already decoded into o.
 * Returns 0, or -ENOMEM. Unknown types and keys are ignored. */
static int apply_record(an *A, tstate *T, uint64_t type, const msx_obj *o, uint64_t off)
{
    msx_report *r = A->r;
    switch (type) {
    case R_THREAD:
        T->rep->tid = msx_map_uint(o, "tid", T->rep->tid);
        return take_str(&T->rep->name, msx_map_get(o, "name"));
    case R_THREAD_EXIT:
        T->rep->exited = true;
        return take_str(&T->rep->name, msx_map_get(o, "name"));
    case R_PROCESS:
        return take_process(A, o);
    case R_TASK:
        if (o->type != MSX_UINT)
            break;
        T->task = o->v.u;
        return idset_add(&A->tasks, o->v.u);
    case R_DROPPED:
        if (o->type != MSX_UINT)
            break;
        r->dropped_records += o->v.u;
        T->rep->dropped_events += o->v.u;
        return 0;
    case R_METRIC:
        if (o->type != MSX_MAP)
            break;
        for (uint32_t i = 0; i < o->n; i++) {
            const msx_obj *k = &o->v.a[2 * i], *v = &o->v.a[2 * i + 1];
            if (k->type == MSX_STR && v->type == MSX_UINT && note_metric(A, k, v->v.u) < 0)
                return -ENOMEM;
        }
        return 0;
    case R_FORK:
        r->forked = true;
        r->parent_pid = msx_map_uint(o, "parent_pid", 0);
        return 0;
    case R_END:
        r->complete = true;
        A->end_time = msx_map_uint(o, "time", T->now);
        return 0;
    default:  /* MODULES, STACK (later issues) and unknown types */
        return 0;
    }
    problem(A, off, "thread %u: control record %llu holds the wrong type of object: ignored",
            T->rep->id, (unsigned long long)type);
    return 0;
}

/* -- the run loop --------------------------------------------------------- */

/* Result of decode_chunk. */
typedef enum { RUN_CHUNK_END, RUN_STOP } run_result;

/* Stops decoding T's chunk after damage at rec: reported, rest skipped. A
 * chunk the file cuts short is counted damaged once, by the scan. */
static void damage(an *A, tstate *T, const uint8_t *rec, const char *what)
{
    if (!T->cur->cut)
        A->r->damaged_chunks++;
    problem(A, off_of(A, rec), "chunk %llu (thread %u, seq %u): %s; the rest of the chunk (%llu bytes) is skipped",
            (unsigned long long)T->cur->slot, T->rep->id, T->cur->seq, what,
            (unsigned long long)(T->end - rec));
    T->p = T->end;
}

/* Decodes T's current chunk until it ends (RUN_CHUNK_END), or T must yield
 * (RUN_STOP): its time passed `limit`, it blocked, it woke a blocked thread,
 * or a fatal error happened. */
static run_result decode_chunk(an *A, tstate *T, uint64_t limit)
{
    const uint8_t *p = T->p;
    const uint8_t *const end = T->end;
    uint64_t addr = T->addr;
    msx_report *r = A->r;

#define SAVE() (T->p = p, T->addr = addr)
    while (p < end) {
        const uint8_t *rec = p;
        uint64_t h, size, a;
        const char *bad = "undecodable record head";
        if (!msx_rd_uint(&p, end, &h))
            goto bad;
        if ((h & 7) <= K_ALLOC_EX && T->time > limit)
            goto yield;  /* another thread's next event comes first */
        switch (h & 7) {
        case K_ALLOC:
        case K_ALLOC_EX: {
            bad = "undecodable ALLOC";
            if (!msx_rd_uint(&p, end, &size))
                goto bad;
            if ((h & 7) == K_ALLOC_EX) {
                uint64_t stack, weight;  /* used by later issues */
                if (!msx_rd_uint(&p, end, &stack) || !msx_rd_uint(&p, end, &weight))
                    goto bad;
            }
            a = addr + msx_zz(h >> 3);
            msx_slot *s = msx_livemap_slot(&A->map, a);
            if (!s)
                goto oom;
            bool taken = msx_slot_state(s) == MSX_SLOT_LIVE;
            if (taken && !T->force) {
                block(A, T, a, false);
                goto yield;
            }
            if (!count_event(A, T))
                return RUN_STOP;
            addr = a;
            r->allocations++;
            T->rep->allocations++;
            if (!arrive(A, T, s, a, size, T->now))
                return RUN_STOP;
            break;
        }
        case K_FREE: {
            a = addr + msx_zz(h >> 3);
            msx_slot *s = msx_livemap_find(&A->map, a);
            if ((!s || msx_slot_state(s) != MSX_SLOT_LIVE) && !T->force) {
                block(A, T, a, true);
                goto yield;
            }
            if (!count_event(A, T))
                return RUN_STOP;
            addr = a;
            apply_free(A, T, s, a);
            break;
        }
        case K_REALLOC: {
            int64_t delta;
            bad = "undecodable REALLOC";
            if (!msx_rd_int(&p, end, &delta) || !msx_rd_uint(&p, end, &size))
                goto bad;
            uint64_t old = addr + msx_zz(h >> 3), nu = old + (uint64_t)delta;
            msx_slot *so = msx_livemap_find(&A->map, old);
            bool old_live = so && msx_slot_state(so) == MSX_SLOT_LIVE;
            if (!T->force) {
                bool wait_old = !old_live;
                const msx_slot *sn = wait_old || nu == old ? NULL : msx_livemap_find(&A->map, nu);
                if (wait_old || (sn && msx_slot_state(sn) == MSX_SLOT_LIVE)) {
                    block(A, T, wait_old ? old : nu, wait_old);
                    goto yield;
                }
            }
            if (!count_event(A, T))
                return RUN_STOP;
            uint64_t born = T->now;
            if (old_live) {
                born = so->born;
                r->bytes_freed += so->size;
                T->rep->bytes_freed += so->size;
                unlive(A, so);
                pend *e = A->pend_n ? pend_find(A, old) : NULL;
                if (e && e->allocs && nu != old) {  /* a block waited for old */
                    e->allocs--;
                    make_live(A, &A->ts[e->alloc_thread], so, e->size, e->born);
                    pend_tidy(A, e);
                }
            } else if (r->forked) {
                r->inherited_reallocs++;
            } else {
                depart_early(A, T, old, MSX_ANOM_UNKNOWN_REALLOC);
                if (A->err)
                    return RUN_STOP;
            }
            msx_slot *sn = msx_livemap_slot(&A->map, nu);
            if (!sn)
                goto oom;
            addr = nu;
            r->reallocs++;
            T->rep->reallocs++;
            if (!arrive(A, T, sn, nu, size, born))
                return RUN_STOP;
            break;
        }
        case K_RECORD: {
            uint64_t type = h >> 3;
            if (type == R_TIME) {
                uint64_t t;
                bad = "undecodable TIME";
                if (!msx_rd_uint(&p, end, &t))
                    goto bad;
                if (t < T->t0) {
                    problem(A, off_of(A, rec), "thread %u: TIME goes backwards (%llu after %llu): kept at %llu",
                            T->rep->id, (unsigned long long)t, (unsigned long long)T->t0,
                            (unsigned long long)T->t0);
                    t = T->t0;
                }
                start_window(A, T, t, p);
                if (T->time > limit) {
                    SAVE();
                    return RUN_STOP;
                }
                break;
            }
            msx_obj o;
            long n = msx_mpk_decode(&A->arena, p, (size_t)(end - p), &o);
            if (n == -ENOMEM)
                goto oom;
            bad = n == 0 ? "control record cut short (or its item counts are corrupt)"
                         : "control record is not valid MessagePack";
            if (n <= 0) {
                msx_arena_reset(&A->arena);
                goto bad;
            }
            p += n;
            int rc = apply_record(A, T, type, &o, off_of(A, rec));
            msx_arena_reset(&A->arena);
            if (rc < 0)
                goto oom;
            break;
        }
        default:
            bad = "reserved record kind";
            goto bad;
        }
        continue;
yield:
        p = rec;
        SAVE();
        return RUN_STOP;
bad:
        SAVE();
        damage(A, T, rec, bad);
        return RUN_CHUNK_END;
oom:
        SAVE();
        fail(A, -ENOMEM, off_of(A, rec), "out of memory");
        return RUN_STOP;
    }
#undef SAVE
    T->p = p;
    T->addr = addr;
    return RUN_CHUNK_END;
}

/* Drops a decoded chunk's pages and reports progress. */
static void finish_chunk(an *A, const chunk *c)
{
    if (A->header_size % 4096 == 0)
        madvise((void *)(A->base + c->off), CHUNK_HDR + (size_t)c->present, MADV_DONTNEED);
    A->work_done += CHUNK_HDR + (uint64_t)c->present;
    if (A->progress)
        A->progress(A->progress_ctx, A->work_done, A->work_total);
}

/* Opens T's next chunk. Returns false if it has none. */
static bool open_chunk(an *A, tstate *T)
{
    if (T->ck == T->ck_end)
        return false;
    const chunk *c = &A->chunks[T->ck++];
    msx_report *r = A->r;
    T->cur = c;
    T->p = A->base + c->off + CHUNK_HDR;
    T->end = T->p + c->present;
    T->addr = 0;
    T->task = c->task;
    start_window(A, T, c->time_ns > T->t0 ? c->time_ns : T->t0, T->p);
    if (c->flags & 1)
        T->rep->exited = true;
    r->chunks++;
    r->stream_bytes += CHUNK_HDR + (uint64_t)c->present;
    if (idset_add(&A->tasks, c->task) < 0)
        fail(A, -ENOMEM, c->off, "out of memory");
    if (c->first_event > T->evno) {
        uint64_t lost = c->first_event - T->evno;
        r->lost_events += lost;
        problem(A, c->off, "thread %u: %llu events before seq %u are missing (a chunk was lost or cut short)",
                T->rep->id, (unsigned long long)lost, c->seq);
    } else if (c->first_event < T->evno) {
        problem(A, c->off, "thread %u: seq %u says %llu events came before it, %llu were read",
                T->rep->id, c->seq, (unsigned long long)c->first_event, (unsigned long long)T->evno);
    }
    T->evno = c->first_event;
    return true;
}

/* Runs T until its time passes limit, it blocks, wakes another, or ends. */
static void run_thread(an *A, tstate *T, uint64_t limit)
{
    for (;;) {
        if (T->cur && T->p < T->end) {
            if (decode_chunk(A, T, limit) == RUN_STOP || A->err)
                return;
            if (T->p < T->end)
                continue;
        }
        if (T->cur)
            finish_chunk(A, T->cur);
        if (!open_chunk(A, T)) {
            T->st = TS_DONE;
            T->cur = NULL;
            T->rep->last_time_ns = T->now > T->t0 ? T->now : T->t0;
            return;
        }
        if (T->time > limit)
            return;
    }
}

/* True if what T waits for has happened. */
static bool resolved(const an *A, const tstate *T)
{
    const msx_slot *s = msx_livemap_find(&A->map, T->wait_addr);
    bool live = s && msx_slot_state(s) == MSX_SLOT_LIVE;
    return live == T->wait_live;
}

/* Unblocks T; force: its event is taken even if still invalid. */
static void unblock(an *A, tstate *T, bool force)
{
    T->st = TS_RUN;
    T->force = force;
    A->nblocked--;
}

/* The merge loop (see the top of this file). */
static void merge(an *A)
{
    while (!A->err) {
        /* the two lowest window starts (TIME in force) of unfinished threads:
         * every event a thread has left happened at or after its t0 */
        uint64_t m1 = UINT64_MAX, m2 = UINT64_MAX;
        tstate *m1t = NULL;
        for (uint32_t i = 0; i < A->nts; i++) {
            tstate *T = &A->ts[i];
            if (T->st == TS_DONE)
                continue;
            if (!m1t || T->t0 < m1) {
                m2 = m1;
                m1 = T->t0;
                m1t = T;
            } else if (T->t0 < m2) {
                m2 = T->t0;
            }
        }
        if (!m1t)
            return;
        if (A->nblocked) {
            for (uint32_t i = 0; i < A->nts; i++) {
                tstate *T = &A->ts[i];
                if (T->st != TS_BLOCKED)
                    continue;
                if (resolved(A, T)) {
                    unblock(A, T, false);
                    continue;
                }
                uint64_t others = T == m1t ? m2 : m1;
                if (others == UINT64_MAX || others > T->win_end)
                    unblock(A, T, true);
            }
        }
        tstate *R = NULL;
        uint64_t limit = UINT64_MAX;
        for (uint32_t i = 0; i < A->nts; i++) {
            tstate *T = &A->ts[i];
            if (T->st != TS_RUN)
                continue;
            if (!R || T->time < R->time) {
                if (R && R->time < limit)
                    limit = R->time;
                R = T;
            } else if (T->time < limit) {
                limit = T->time;
            }
        }
        if (!R) {
            /* every unfinished thread is blocked: force the earliest on */
            tstate *B = NULL;
            for (uint32_t i = 0; i < A->nts; i++) {
                tstate *T = &A->ts[i];
                if (T->st == TS_BLOCKED && (!B || T->time < B->time))
                    B = T;
            }
            A->r->forced_merges++;
            unblock(A, B, true);
            continue;
        }
        run_thread(A, R, limit);
    }
}

/* -- finishing ------------------------------------------------------------ */

/* Orders waiting events by time, then by their thread's event number. */
static int pend_cmp(const void *x, const void *y)
{
    const pend *a = x, *b = y;
    uint64_t ta = a->frees ? a->free_time : a->born, tb = b->frees ? b->free_time : b->born;
    uint64_t ea = a->frees ? a->free_event : a->alloc_event;
    uint64_t eb = b->frees ? b->free_event : b->alloc_event;
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return ea < eb ? -1 : ea > eb;
}

/* Walks the live blocks left at the end: leaks, and the peak snapshot's
 * blocks that were never freed. Then fills the report's derived fields. */
static void finish(an *A)
{
    msx_report *r = A->r;
    /* What still waits found no partner: a free of an address never
     * allocated (or a block freed twice), an allocation of a live address. */
    pend *left = A->pend_n ? malloc(A->pend_n * sizeof *left) : NULL;
    uint64_t nleft = 0;
    for (uint64_t i = 0; left && i < A->pend_cap; i++)
        if (A->pend[i].used)
            left[nleft++] = A->pend[i];
    if (left)
        qsort(left, nleft, sizeof *left, pend_cmp); /* listed in the order they happened */
    for (uint64_t i = 0; i < nleft; i++) {
        pend *e = &left[i];
        for (uint32_t k = 0; k < e->frees; k++)
            note_anomaly_at(A, &A->ts[e->free_thread], (msx_anomaly_kind)e->free_kind, e->addr,
                            e->free_time, e->free_event);
        for (uint32_t k = 0; k < e->allocs; k++)
            note_anomaly_at(A, &A->ts[e->alloc_thread], MSX_ANOM_LIVE_ALLOC, e->addr, e->born,
                            e->alloc_event);
    }
    free(left);
    if (A->pend_n && !left)
        fail(A, -ENOMEM, 0, "out of memory");
    msx_block leak_store[MSX_MAX_LEAKS];
    topn leaks = { .cap = MSX_MAX_LEAKS, .b = leak_store };
    for (uint64_t i = 0; i < A->map.cap; i++) {
        msx_slot *s = &A->map.slots[i];
        if (msx_slot_state(s) != MSX_SLOT_LIVE)
            continue;
        tstate *O = &A->ts[msx_slot_thread(s)];
        msx_block b = { .addr = s->addr, .size = s->size, .time_ns = s->born, .thread = O->rep->id };
        r->leaked_blocks++;
        r->leaked_bytes += s->size;
        O->rep->leaked_blocks++;
        topn_push(&leaks, &b);
        if (msx_slot_idx(s) <= A->peak_idx)
            snap_freed(A, s);
    }
    for (uint32_t i = 0; i < A->nts; i++) {
        tstate *T = &A->ts[i];
        T->rep->live_bytes = T->live;
        if (T->snap_epoch != A->epoch)
            T->rep->peak_snapshot_blocks = T->rep->peak_snapshot_bytes = 0;
    }
    r->nleaks = leaks.n;
    memcpy(r->leaks, leak_store, leaks.n * sizeof *leak_store);
    qsort(r->leaks, r->nleaks, sizeof *r->leaks, block_cmp);
    if (A->peak_top_epoch != A->epoch)
        A->peak_top.n = 0;
    r->npeak_largest = A->peak_top.n;
    memcpy(r->peak_largest, A->peak_top.b, A->peak_top.n * sizeof *A->peak_top.b);
    qsort(r->peak_largest, r->npeak_largest, sizeof *r->peak_largest, block_cmp);
    for (unsigned k = 0; k < MSX_HIST_BUCKETS; k++) {
        if (A->snap_size[k].epoch != A->epoch)
            continue;
        r->peak_by_size[k].count = A->snap_size[k].count;
        r->peak_by_size[k].bytes = A->snap_size[k].bytes;
        r->peak_blocks += A->snap_size[k].count;
    }

    uint64_t end = A->max_time;
    for (uint32_t i = 0; i < A->nts; i++)
        if (A->ts[i].rep->last_time_ns > end)
            end = A->ts[i].rep->last_time_ns;
    if (A->end_time > end)
        end = A->end_time;
    if (A->header_end_time) {
        r->complete = true;
        if (A->header_end_time > end)
            end = A->header_end_time;
    }
    r->duration_ns = end;
    if (!r->complete)
        problem(A, A->size, "the process never reached its exit flush (no END record): it was killed or is still running; "
                "blocks live at the end of the trace are reported as leaks");
    r->dropped_events = r->dropped_header > r->dropped_records ? r->dropped_header : r->dropped_records;
    r->tasks = A->tasks.n;

    tl_enter(A, end);
    r->timeline_bucket_ns = (uint64_t)1 << A->tl_shift;
    r->npoints = (uint32_t)A->tl_used + 1;
    uint64_t carry = 0;
    for (uint32_t i = 0; i < r->npoints; i++) {
        const tl_bucket *b = &A->tl[i];
        msx_point *pt = &r->timeline[i];
        pt->time_ns = (uint64_t)i << A->tl_shift;
        pt->allocations = b->allocs;
        pt->frees = b->frees;
        pt->live_bytes = b->touched ? b->last : carry;
        pt->max_live_bytes = b->touched ? b->max : carry;
        carry = pt->live_bytes;
    }
}

/* Sets the timeline's first resolution from the trace's expected length. */
static void tl_init(an *A)
{
    uint64_t span = A->max_time > A->header_end_time ? A->max_time : A->header_end_time;
    A->tl_shift = 10;
    while ((span >> A->tl_shift) >= MSX_TIMELINE_POINTS)
        A->tl_shift++;
    A->bk = &A->tl[0];
    A->bk_idx = UINT64_MAX;  /* the first event enters its bucket */
}

int msx_analyze_trace(const char *path, msx_progress_fn progress, void *progress_ctx,
                      msx_report **out, char *err, size_t errlen)
{
    an A = { .path = path, .progress = progress, .progress_ctx = progress_ctx, .errbuf = err, .errlen = errlen };
    if (errlen)
        err[0] = '\0';
    *out = NULL;
    A.r = calloc(1, sizeof *A.r);
    if (!A.r || msx_str_set(&A.r->file, path, strlen(path)) < 0) {
        msx_report_free(A.r);
        A.r = NULL;
        return fail(&A, -ENOMEM, 0, "out of memory");
    }
    A.peak_top = (topn){ .cap = MSX_MAX_PEAK_BLOCKS, .b = A.peak_top_store };

    /* O_NONBLOCK: a FIFO without a writer is refused below, not waited on */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fail(&A, -errno, 0, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        msx_report_free(A.r);
        return A.err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        msx_report_free(A.r);
        return fail(&A, -EINVAL, 0, "not a regular file");
    }
    A.size = (size_t)st.st_size;
    if (A.size) {
        void *m = mmap(NULL, A.size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            fail(&A, -errno, 0, "cannot map: %s", strerror(errno));
            close(fd);
            msx_report_free(A.r);
            return A.err;
        }
        A.base = m;
    }
    close(fd);

    if (read_header(&A) == 0 && msx_livemap_init(&A.map) == 0) {
        A.r->stream_bytes = A.size < A.header_size ? A.size : A.header_size;
        if (scan_chunks(&A) == 0) {
            tl_init(&A);
            merge(&A);
            if (!A.err)
                finish(&A);
        }
    } else if (!A.err) {
        fail(&A, -ENOMEM, 0, "out of memory");
    }

    if (A.base)
        munmap((void *)A.base, A.size);
    msx_livemap_free(&A.map);
    free(A.pend);
    msx_arena_free(&A.arena);
    free(A.tasks.k);
    free(A.chunks);
    free(A.ts);
    if (A.err) {
        msx_report_free(A.r);
        return A.err;
    }
    *out = A.r;
    return 0;
}
