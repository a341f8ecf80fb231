/* The trace reader (see reader.h): file header, chunk scan, payload reads
 * with pread, time windows, damage messages. */
#include "reader.h"

#include "packfmt.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* -- messages ------------------------------------------------------------- */

int msx_reader_fail(msx_reader *R, int rc, uint64_t off, const char *fmt, ...)
{
    if (R->err)
        return R->err;
    R->err = rc;
    if (R->errlen) {
        int n = snprintf(R->errbuf, R->errlen, "%s: offset %llu: ", R->path, (unsigned long long)off);
        if (n >= 0 && (size_t)n < R->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(R->errbuf + n, R->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

void msx_reader_problem(msx_reader *R, uint64_t off, const char *fmt, ...)
{
    msx_report *r = R->r;
    r->problems_total++;
    if (r->nproblems >= MSX_MAX_PROBLEMS)
        return;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: offset %llu: ", R->path, (unsigned long long)off);
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (msx_str_set(&r->problems[r->nproblems], msg, strlen(msg)) == 0)
        r->nproblems++;
}

/* -- reading -------------------------------------------------------------- */

/* Little-endian loads from a buffer. */
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

/* Reads up to n bytes at file offset off into buf, retrying short reads and
 * EINTR. Returns the bytes read (< n at the end of the file or on an error). */
size_t msx_reader_read_at(const msx_reader *R, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(R->fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

/* Checks the file header. Returns 0 or a fatal error. */
static int read_header(msx_reader *R)
{
    uint8_t h[MSF_FILE_HEADER_USED] = { 0 };
    /* a packed file holds the trace's header after its own (format/packfmt.h) */
    uint64_t base = R->packed ? MSP_HEADER_SIZE : 0;
    uint64_t avail = R->size > base ? R->size - base : 0;
    size_t n = avail < sizeof h ? (size_t)avail : sizeof h;
    if (R->size == 0)
        return msx_reader_fail(R, -ENODATA, 0, "empty file: not a memscope trace");
    if (msx_reader_read_at(R, h, n, base) < n)
        return msx_reader_fail(R, -EIO, 0, "cannot read the file header: %s", errno ? strerror(errno) : "short read");
    if (n < MSF_MAGIC_LEN || memcmp(h + MSF_H_MAGIC, MSF_MAGIC, MSF_MAGIC_LEN) != 0)
        return msx_reader_fail(R, -EINVAL, 0, "not a memscope trace (no MEMSCOPE magic)");
    if (n < MSF_FILE_HEADER_USED)
        return msx_reader_fail(R, -EINVAL, R->size,
                               "file ends inside the file header (%zu of %u bytes): truncated trace", n,
                               MSF_FILE_HEADER_USED);
    uint32_t version = le32(h + MSF_H_VERSION);
    if (version < MSF_VERSION_MIN || version > MSF_VERSION) {
        if (MSF_VERSION_MIN == MSF_VERSION)
            return msx_reader_fail(R, -ENOTSUP, MSF_H_VERSION,
                                   "trace format version %u is not supported (this reader knows version %u)",
                                   version, MSF_VERSION);
        return msx_reader_fail(R, -ENOTSUP, MSF_H_VERSION,
                               "trace format version %u is not supported (this reader knows versions %u to %u)",
                               version, MSF_VERSION_MIN, MSF_VERSION);
    }
    R->version = version;
    R->header_size = le32(h + MSF_H_HEADER_SIZE);
    R->chunk_size = le32(h + MSF_H_CHUNK_SIZE);
    if (R->header_size < MSF_FILE_HEADER_USED || R->header_size > MSF_HEADER_SIZE_MAX)
        return msx_reader_fail(R, -EINVAL, MSF_H_HEADER_SIZE, "bad header_size %u", R->header_size);
    if (R->chunk_size < MSF_CHUNK_MIN || R->chunk_size % MSF_CHUNK_ALIGN || R->chunk_size > MSF_CHUNK_MAX)
        return msx_reader_fail(R, -EINVAL, MSF_H_CHUNK_SIZE,
                               "bad chunk_size %u (the largest chunk: a multiple of 4096 up to 1 GiB)",
                               R->chunk_size);
    msx_report *r = R->r;
    r->format_version = version;
    r->chunk_size = R->chunk_size;
    r->pid = le64(h + MSF_H_PID);
    r->start_realtime_ns = le64(h + MSF_H_START_REALTIME);
    r->dropped_header = le64(h + MSF_H_DROPPED_EVENTS);
    r->lost_control_records = version >= 2 ? le64(h + MSF_H_DROPPED_RECORDS) : 0;
    R->end_time = le64(h + MSF_H_END_TIME);
    R->end_how = version >= 2 ? le32(h + MSF_H_END_HOW) : 0;
    /* version 1 wrote zeros at 80..127; the bound means something from 2 on */
    R->time_bound = version >= 2 ? le64(h + MSF_H_TIME_BOUND) : 0;
    R->stack_depth = version >= 2 ? le32(h + MSF_H_STACK_DEPTH) : 0;
    /* sampling: the flag, then which kind (FORMAT.md "Sampling") */
    if (le32(h + MSF_H_FLAGS) & MSF_HF_SAMPLED) {
        r->sample_bytes = le64(h + MSF_H_SAMPLE_BYTES);
        r->sample_rate = version >= 2 ? le64(h + MSF_H_SAMPLE_RATE) : 0;
        r->sample_seed = version >= 2 ? le64(h + MSF_H_SAMPLE_SEED) : 0;
        r->sampling = r->sample_bytes ? 1 : r->sample_rate ? 2 : 0;
    }
    if (R->packed) {
        r->stream_bytes = R->header_size;  /* as the trace it was packed from */
        return 0;
    }
    r->stream_bytes = R->size < R->header_size ? R->size : R->header_size;
    if (R->size < R->header_size)
        msx_reader_problem(R, R->size, "file ends inside the file header (%llu of %u bytes): truncated trace, no chunks",
                           (unsigned long long)R->size, R->header_size);
    return 0;
}

int msx_reader_open(msx_reader *R, const char *path, msx_report *r, char *errbuf, size_t errlen)
{
    *R = (msx_reader){ .path = path, .fd = -1, .r = r, .errbuf = errbuf, .errlen = errlen };
    /* O_NONBLOCK: a FIFO without a writer is refused below, not waited on */
    R->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (R->fd < 0 || fstat(R->fd, &st) < 0) {
        int e = errno;
        msx_reader_fail(R, -e, 0, "cannot open: %s", strerror(e));
        msx_reader_close(R);
        return R->err;
    }
    if (!S_ISREG(st.st_mode)) {
        msx_reader_fail(R, -EINVAL, 0, "not a regular file");
        msx_reader_close(R);
        return R->err;
    }
    R->size = (uint64_t)st.st_size;
    errno = 0;
    if (msx_pack_open(R) < 0 || read_header(R) < 0) {
        msx_reader_close(R);
        return R->err;
    }
    return 0;
}

void msx_reader_close(msx_reader *R)
{
    if (R->fd >= 0)
        close(R->fd);
    R->fd = -1;
    msx_pack_close(R);
    free(R->chunks);
    free(R->snapchunks);
    R->snapchunks = NULL;
    R->nsnapchunks = 0;
    R->chunks = NULL;
    R->nchunks = 0;
}

/* -- the scan ------------------------------------------------------------- */

/* True if n bytes at p are all zero. */
static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* True if a chunk header declares a usable size (FORMAT.md). */
static bool size_ok(const msx_reader *R, uint32_t size)
{
    return size >= MSF_CHUNK_MIN && size % MSF_CHUNK_ALIGN == 0 && size <= R->chunk_size;
}

/* The first 4 KiB boundary at or after off where the file may hold data, for
 * the walk over space without a chunk header: a hole reads as zeros and so
 * holds no chunk header, and a sparse file of a terabyte (hostile, or a
 * trace whose space was taken but never written) would otherwise cost a
 * pread per 4 KiB (48 minutes a TiB). Returns `end` when only holes are
 * left, off itself when the file system cannot say (SEEK_DATA unsupported). */
static uint64_t next_data(const msx_reader *R, uint64_t off, uint64_t end)
{
    off_t d = lseek(R->fd, (off_t)off, SEEK_DATA);
    if (d < 0)
        return errno == ENXIO ? end : off;
    uint64_t at = (uint64_t)d & ~(uint64_t)(MSF_CHUNK_ALIGN - 1);
    return at > off ? at : off;
}

/* A slot that a thread took but never reserved, because the image ended in
 * between (FORMAT.md: a process that exits or execs while another thread is
 * taking a chunk, once the wait for it ran out): the file has a hole there,
 * never written, of at most one chunk's size, and the next data is a chunk
 * header or the end of the file.
 * Nothing was ever written into it, so nothing is lost; *past gets where the
 * walk goes on. False when that cannot be told (no hole at off, or no chunk
 * header where the data starts again): the walk then says what it skips. */
static bool unreserved_slot(const msx_reader *R, uint64_t off, uint64_t end, uint64_t *past)
{
    uint64_t d = next_data(R, off, end);
    if (d <= off || d - off > R->chunk_size)
        return false; /* no hole, or more than one slot could span */
    if (d < end) {
        uint8_t c[MSF_CHUNK_HEADER_SIZE];
        if (msx_reader_read_at(R, c, sizeof c, d) < sizeof c)
            return false;
        uint32_t magic = le32(c + MSF_C_MAGIC); /* a chunk, or a reserved, unused one */
        if ((magic != MSF_CHUNK_MAGIC && magic != 0) || !size_ok(R, le32(c + MSF_C_SIZE)))
            return false;
    }
    *past = d;
    return true;
}

int msx_reader_chunk_add(msx_reader *R, uint64_t *cap, msx_chunk **out)
{
    if (R->nchunks == *cap) {
        msx_chunk *m = realloc(R->chunks, 2 * *cap * sizeof *R->chunks);
        if (!m)
            return msx_reader_fail(R, -ENOMEM, 0, "out of memory for %llu chunks", (unsigned long long)(2 * *cap));
        R->chunks = m;
        *cap *= 2;
    }
    *out = &R->chunks[R->nchunks++];
    return 0;
}

/* Orders chunks by thread, seq, then file position. */
static int chunk_cmp(const void *a, const void *b)
{
    const msx_chunk *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Walks the chunks from the end of the file header, each one's `size` leading
 * to the next, and keeps the valid ones. Space that was taken but never
 * reserved (a process killed in between) has no size: the walk then looks for
 * the next chunk header on the following 4 KiB boundaries that may hold data
 * (holes are skipped: next_data). Each header is one
 * pread of 64 bytes; a header the read cannot complete ends the walk as if
 * the file ended there. */
int msx_reader_scan(msx_reader *R)
{
    if (R->packed)
        return msx_pack_scan(R);
    uint64_t cap = 64;
    R->chunks = calloc(cap, sizeof *R->chunks);
    if (!R->chunks)
        return msx_reader_fail(R, -ENOMEM, 0, "out of memory for chunks");
    msx_report *r = R->r;
    uint64_t ordinal = 0;
    bool lost = false;       /* walking over space without a chunk header */
    uint64_t off = R->header_size;
    bool empty_last = false; /* the last slot walked is a reserved, unused one */
    uint64_t size_seen = R->size;
    while (off < size_seen) {
        uint8_t c[MSF_CHUNK_HEADER_SIZE];
        uint64_t left = size_seen - off;
        size_t want = left < sizeof c ? (size_t)left : sizeof c;
        size_t avail = msx_reader_read_at(R, c, want, off);
        if (avail < want)
            size_seen = off + avail;  /* the file ends here for us */
        if (avail < MSF_CHUNK_HEADER_SIZE) {
            if (!all_zero(c, avail)) {
                r->damaged_chunks++;
                msx_reader_problem(R, off, "the file ends inside a chunk header (%zu of %u bytes): truncated trace",
                                   avail, MSF_CHUNK_HEADER_SIZE);
            }
            break;
        }
        uint32_t magic = le32(c + MSF_C_MAGIC), size = le32(c + MSF_C_SIZE);
        uint64_t past;
        if (!lost && all_zero(c, MSF_CHUNK_HEADER_SIZE) && unreserved_slot(R, off, size_seen, &past)) {
            r->empty_slots++; /* taken, never reserved: it never held an event */
            off = past;
            continue;
        }
        if (!size_ok(R, size) || (lost && magic != MSF_CHUNK_MAGIC)) {
            if (!lost && !all_zero(c, MSF_CHUNK_HEADER_SIZE))
                r->damaged_chunks++;
            if (!lost)
                msx_reader_problem(R, off, "no chunk header here (size %u): skipping to the next chunk", size);
            lost = true;
            off = next_data(R, off + MSF_CHUNK_ALIGN, size_seen);
            continue;
        }
        lost = false;
        uint64_t i = ordinal++;
        uint64_t here = off;
        off += size;
        empty_last = magic == 0;
        if (magic == 0) {
            r->empty_slots++;
            continue;
        }
        if (magic != MSF_CHUNK_MAGIC) {
            r->damaged_chunks++;
            msx_reader_problem(R, here, "chunk %llu: bad magic 0x%08x: chunk skipped", (unsigned long long)i, magic);
            continue;
        }
        uint32_t committed = le32(c + MSF_C_COMMITTED), thread = le32(c + MSF_C_THREAD);
        if (committed > size - MSF_CHUNK_HEADER_SIZE || thread == 0) {
            r->damaged_chunks++;
            msx_reader_problem(R, here, "chunk %llu: corrupt header (committed %u, thread %u): chunk skipped",
                               (unsigned long long)i, committed, thread);
            continue;
        }
        msx_chunk *k = NULL; /* set unless it fails (-O3 cannot tell) */
        int grown = msx_reader_chunk_add(R, &cap, &k);
        if (grown < 0)
            return grown;
        k->off = here;
        k->slot = i;
        k->thread = thread;
        k->seq = le32(c + MSF_C_SEQ);
        k->tid = le64(c + MSF_C_TID);
        k->time_ns = le64(c + MSF_C_TIME);
        k->first_event = le64(c + MSF_C_FIRST_EVENT);
        k->task = le64(c + MSF_C_TASK);
        k->flags = le32(c + MSF_C_FLAGS);
        k->present = committed;
        k->cut = false;
        uint64_t payload_avail = size_seen - here - MSF_CHUNK_HEADER_SIZE;
        if (payload_avail < committed) {
            k->present = (uint32_t)payload_avail;
            k->cut = true;
            r->damaged_chunks++;
            msx_reader_problem(R, size_seen,
                               "chunk %llu (thread %u, seq %u): the file ends after %u of its %u committed bytes: truncated trace",
                               (unsigned long long)i, thread, k->seq, k->present, committed);
        }
        R->work_total += MSF_CHUNK_HEADER_SIZE + (uint64_t)k->present;
        if (k->time_ns > R->max_time)
            R->max_time = k->time_ns;
    }
    /* A process that ended while a thread was reserving a chunk (writing it
     * whole) leaves a file that ends inside that slot, shorter than the
     * header's space_taken (FORMAT.md): nothing is lost when the slot is an
     * unused one (magic 0) and the last taken, so that is no damage. */
    uint8_t tb[8] = { 0 };
    msx_reader_read_at(R, tb, sizeof tb, MSF_H_SPACE_TAKEN);
    uint64_t taken = le64(tb);
    /* Compared as sizes after the header: header_size + taken can wrap for
     * a hostile taken (UINT64_MAX read as "all there"); off >= header_size. */
    uint64_t held = size_seen > R->header_size ? size_seen - R->header_size : 0;
    bool unused_tail = !lost && empty_last && off > size_seen && off - R->header_size >= taken;
    if (taken > held && !unused_tail)
        msx_reader_problem(R, size_seen,
                           "the header says %llu bytes of chunks were taken but the file holds %llu: truncated trace",
                           (unsigned long long)taken, (unsigned long long)held);
    return msx_reader_index(R);
}

int msx_reader_index(msx_reader *R)
{
    msx_report *r = R->r;
    qsort(R->chunks, R->nchunks, sizeof *R->chunks, chunk_cmp);

    /* Drop duplicate (thread, seq) pairs, keeping the first in the file. */
    uint64_t w = 0;
    for (uint64_t i = 0; i < R->nchunks; i++) {
        msx_chunk *k = &R->chunks[i];
        if (w && R->chunks[w - 1].thread == k->thread && R->chunks[w - 1].seq == k->seq) {
            if (!k->cut)  /* else counted already */
                r->damaged_chunks++;
            msx_reader_problem(R, k->off, "chunk %llu repeats seq %u of thread %u: chunk skipped",
                               (unsigned long long)k->slot, k->seq, k->thread);
            R->work_total -= MSF_CHUNK_HEADER_SIZE + (uint64_t)k->present;
            continue;
        }
        if ((k->flags & MSF_CF_SNAPSHOTS) && R->version >= 3) {
            /* the snapshot log (sorted last, by seq): read apart from the threads */
            msx_chunk *m = realloc(R->snapchunks, (R->nsnapchunks + 1) * sizeof *m);
            if (!m)
                return msx_reader_fail(R, -ENOMEM, 0, "out of memory for the snapshot log");
            R->snapchunks = m;
            R->snapchunks[R->nsnapchunks++] = *k;
            R->work_total -= MSF_CHUNK_HEADER_SIZE + (uint64_t)k->present;
            continue;
        }
        R->chunks[w++] = *k;
    }
    R->nchunks = w;
    uint32_t nts = 0;
    for (uint64_t i = 0; i < R->nchunks; i++)
        if (i == 0 || R->chunks[i].thread != R->chunks[i - 1].thread)
            nts++;
    R->nthreads = nts;
    return 0;
}

long msx_reader_load(msx_reader *R, msx_chunk *c, uint8_t **buf, size_t *cap)
{
    if (R->packed)
        return msx_pack_load(R, c, buf, cap);
    if (*cap < c->present || !*buf) {
        size_t want = c->present > 256 ? c->present : 256;
        uint8_t *b = realloc(*buf, want);
        if (!b)
            return msx_reader_fail(R, -ENOMEM, c->off, "out of memory for a chunk of %u bytes", c->present);
        *buf = b;
        *cap = want;
    }
    errno = 0;
    size_t got = msx_reader_read_at(R, *buf, c->present, c->off + MSF_CHUNK_HEADER_SIZE);
    if (got < c->present) {
        if (!c->cut)
            R->r->damaged_chunks++;
        msx_reader_problem(R, c->off + MSF_CHUNK_HEADER_SIZE + got,
                           "chunk %llu (thread %u, seq %u): reading its payload stopped after %zu of %u bytes (%s): the rest is skipped",
                           (unsigned long long)c->slot, c->thread, c->seq, got, c->present,
                           errno ? strerror(errno) : "the file got shorter");
        c->cut = true;
        c->present = (uint32_t)got;
    }
    return (long)got;
}

/* -- time windows --------------------------------------------------------- */

/* Skips one record at *pp without applying it. Returns 1 with *time set if it
 * was a TIME record, 2 for an event, 0 for any other record, -1 if it cannot
 * be decoded. */
static int skip_record(const msx_reader *R, msx_arena *arena, const uint8_t **pp, const uint8_t *end,
                       uint64_t *time)
{
    msx_rec rec;
    const char *bad;
    switch (msx_rec_decode(pp, end, R->version, &rec, &bad)) {
    case MSX_REC_EVENT:
        return 2;
    case MSX_REC_TIME:
        *time = rec.time;
        return 1;
    case MSX_REC_CONTROL:
        break;
    default:
        return -1;
    }
    msx_obj o;
    long n = msx_mpk_decode(arena, *pp, (size_t)(end - *pp), &o);
    msx_arena_reset(arena);
    if (n <= 0)
        return -1;
    *pp += n;
    return 0;
}

void msx_window_start(const msx_reader *R, msx_arena *arena, msx_window *w, uint64_t t0, const uint8_t *p,
                      const uint8_t *end, uint64_t next_chunk_time)
{
    uint64_t n = 0, t1 = UINT64_MAX, v;
    for (;;) {
        if (p >= end) {
            t1 = next_chunk_time;
            break;
        }
        /* the common events skipped by their lengths alone; anything else,
         * or anything cut short, through skip_record */
        size_t h = msx_uint_len(*p);
        if (h && (size_t)(end - p) > h) {
            unsigned kind = p[h - 1] & MSF_KIND_MASK;
            size_t sz = msx_uint_len(p[h]);
            if (kind == MSF_K_FREE) {
                p += h;
                n++;
                continue;
            }
            if (kind == MSF_K_ALLOC && sz && (size_t)(end - p) >= h + sz) {
                p += h + sz;
                n++;
                continue;
            }
        }
        int rc = skip_record(R, arena, &p, end, &v);
        if (rc < 0)
            break;
        if (rc == 1) {
            t1 = v;
            break;
        }
        n += rc == 2;
    }
    uint64_t dt = t1 != UINT64_MAX && t1 > t0 ? t1 - t0 : 0;
    if (R->time_bound && (dt > R->time_bound || t1 == UINT64_MAX))
        dt = R->time_bound;  /* see msx_window; an unknown end is no later than t0 + bound */
    w->t0 = t0;
    w->off = 0;
    w->step = dt < (UINT64_C(1) << 47) ? (dt << 16) / (n + 1) : (dt / (n + 1)) << 16;
    w->end = t1;
    w->next = t0 + (w->step >> 16);
}
