/* The reader of packed files (format/packfmt.h, docs/PACK.md), behind
 * msx_reader_open, _scan and _load: a packed file's chunk records give the
 * same index a raw trace's chunk headers give, and a chunk's payload is its
 * zstd frame decompressed (and its columns decoded), one chunk at a time. So
 * every report reads a packed file as it reads the trace. Memory: the index,
 * one frame and one column buffer of the largest chunk, never the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "pack.h"
#include "reader.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int msx_pack_open(msx_reader *R)
{
    uint8_t h[MSP_HEADER_SIZE] = { 0 };
    size_t got = msx_reader_read_at(R, h, sizeof h, 0);
    if (got < MSP_MAGIC_LEN || memcmp(h + MSP_H_MAGIC, MSP_MAGIC, MSP_MAGIC_LEN) != 0)
        return 0;  /* not packed: a raw trace, or no trace (read_header says) */
    R->packed = true;
    if (got < MSP_FIRST_RECORD && R->size < MSP_FIRST_RECORD)
        return msx_reader_fail(R, -EINVAL, R->size,
                               "packed trace: the file ends inside its headers (%llu of %u bytes): truncated",
                               (unsigned long long)R->size, MSP_FIRST_RECORD);
    uint32_t version = le32(h + MSP_H_VERSION);
    if (version != MSP_VERSION)
        return msx_reader_fail(R, -ENOTSUP, MSP_H_VERSION,
                               "packed trace version %u is not supported (this reader knows version %u)", version,
                               MSP_VERSION);
    R->pack_flags = le32(h + MSP_H_FLAGS);
    uint8_t head[MSP_FIRST_RECORD];
    if ((R->pack_flags & MSP_HF_COMPLETE) &&
        (msx_reader_read_at(R, head, sizeof head, 0) < sizeof head || le32(head + MSP_H_CHECK) != msp_head_check(head)))
        msx_reader_problem(R, 0, "packed trace: the file headers fail their check: the trace's header fields "
                                 "(pid, times, sampling, counts) may be wrong");
    R->pack_chunks = le64(h + MSP_H_CHUNKS);
    R->r->empty_slots = le64(h + MSP_H_EMPTY_SLOTS);
    return 0;
}

void msx_pack_close(msx_reader *R)
{
    ZSTD_freeDCtx(R->zstd);
    R->zstd = NULL;
    free(R->zbuf);
    free(R->xbuf);
    R->zbuf = R->xbuf = NULL;
    R->zcap = R->xcap = 0;
    if (R->codec)
        msx_pack_codec_free(R->codec);
    free(R->codec);
    R->codec = NULL;
}

/* Checks a chunk record header; NULL if it is sound, else what is wrong. */
static const char *rec_bad(const msx_reader *R, const uint8_t *h)
{
    if (le32(h + MSP_R_MAGIC) != MSP_REC_MAGIC)
        return "no chunk record here (bad magic)";
    if (le32(h + MSP_R_CHECK) != msp_rec_check(h))
        return "the chunk record header fails its check";
    const uint8_t *c = h + MSP_R_CHUNK;
    uint32_t mode = le32(h + MSP_R_MODE), raw = le32(h + MSP_R_RAW_LEN), size = le32(c + MSF_C_SIZE);
    uint32_t frame = le32(h + MSP_R_FRAME_LEN), xform = le32(h + MSP_R_XFORM_LEN);
    if (mode > MSP_MODE_COLUMNS || frame > MSP_FRAME_MAX || xform > MSP_FRAME_MAX ||
        (mode == MSP_MODE_RAW && xform != raw))
        return "the chunk record header holds impossible lengths";
    if (le32(c + MSF_C_MAGIC) != MSF_CHUNK_MAGIC || le32(c + MSF_C_THREAD) == 0 || size < MSF_CHUNK_MIN ||
        size % MSF_CHUNK_ALIGN || size > R->chunk_size || raw > size - MSF_CHUNK_HEADER_SIZE ||
        raw > le32(c + MSF_C_COMMITTED))
        return "the chunk header it holds is not a valid one";
    return NULL;
}

/* The offset of the next sound chunk record header after off, or `end`. */
static uint64_t resync(const msx_reader *R, uint64_t off, uint64_t end)
{
    enum { WIN = 1 << 16 };
    uint8_t *w = malloc(WIN + MSP_REC_SIZE);
    if (!w)
        return end;
    for (uint64_t at = off + 1; at < end;) {
        size_t n = msx_reader_read_at(R, w, WIN + MSP_REC_SIZE, at);
        if (n < MSP_REC_SIZE)
            break;
        for (size_t i = 0; i + MSP_REC_SIZE <= n; i++)
            if (w[i] == (MSP_REC_MAGIC & 0xff) && !rec_bad(R, w + i)) {
                free(w);
                return at + i;
            }
        at += n - MSP_REC_SIZE + 1;
    }
    free(w);
    return end;
}

int msx_pack_scan(msx_reader *R)
{
    msx_report *r = R->r;
    uint64_t cap = 64, nrec = 0;
    R->chunks = calloc(cap, sizeof *R->chunks);
    if (!R->chunks)
        return msx_reader_fail(R, -ENOMEM, 0, "out of memory for chunks");
    uint64_t off = MSP_FIRST_RECORD, end = R->size;
    while (off < end) {
        uint8_t h[MSP_REC_SIZE];
        size_t got = msx_reader_read_at(R, h, sizeof h, off);
        if (got < sizeof h) {
            r->damaged_chunks++;
            msx_reader_problem(R, off, "packed trace: the file ends inside a chunk record header (%zu of %u bytes): truncated",
                               got, MSP_REC_SIZE);
            break;
        }
        const char *bad = rec_bad(R, h);
        if (bad) {
            r->damaged_chunks++;
            uint64_t next = resync(R, off, end);
            msx_reader_problem(R, off, "packed trace: %s: %llu bytes skipped to the next chunk record", bad,
                               (unsigned long long)(next - off));
            off = next;
            continue;
        }
        const uint8_t *c = h + MSP_R_CHUNK;
        uint32_t frame = le32(h + MSP_R_FRAME_LEN), raw = le32(h + MSP_R_RAW_LEN);
        uint32_t thread = le32(c + MSF_C_THREAD), seq = le32(c + MSF_C_SEQ), committed = le32(c + MSF_C_COMMITTED);
        uint64_t slot = le64(h + MSP_R_SLOT);
        nrec++;
        if (end - off - MSP_REC_SIZE < frame) {
            r->damaged_chunks++;
            msx_reader_problem(R, off,
                               "packed trace: chunk %llu (thread %u, seq %u): the file ends inside its frame (%llu of %u bytes): truncated",
                               (unsigned long long)slot, thread, seq, (unsigned long long)(end - off - MSP_REC_SIZE), frame);
            break;
        }
        msx_chunk *k = NULL; /* set unless it fails (-O3 cannot tell) */
        int grown = msx_reader_chunk_add(R, &cap, &k);
        if (grown < 0)
            return grown;
        *k = (msx_chunk){
            .off = off, .slot = slot, .thread = thread, .seq = seq, .present = raw,
            .flags = le32(c + MSF_C_FLAGS), .tid = le64(c + MSF_C_TID), .time_ns = le64(c + MSF_C_TIME),
            .first_event = le64(c + MSF_C_FIRST_EVENT), .task = le64(c + MSF_C_TASK),
            .frame_len = frame, .xform_len = le32(h + MSP_R_XFORM_LEN), .mode = le32(h + MSP_R_MODE),
        };
        if (raw < committed) {
            /* the trace it was packed from ended inside this chunk */
            k->cut = true;
            r->damaged_chunks++;
            msx_reader_problem(R, off,
                               "chunk %llu (thread %u, seq %u): the trace ended after %u of its %u committed bytes: truncated trace",
                               (unsigned long long)slot, thread, seq, raw, committed);
        }
        R->work_total += MSF_CHUNK_HEADER_SIZE + (uint64_t)raw;
        if (k->time_ns > R->max_time)
            R->max_time = k->time_ns;
        off += MSP_REC_SIZE + frame;
    }
    if (!(R->pack_flags & MSP_HF_COMPLETE))
        msx_reader_problem(R, R->size, "packed trace: the packer did not finish this file (%llu chunk records found)",
                           (unsigned long long)nrec);
    else if (nrec != R->pack_chunks)
        msx_reader_problem(R, R->size, "packed trace: the header says %llu chunk records, the file holds %llu",
                           (unsigned long long)R->pack_chunks, (unsigned long long)nrec);
    return msx_reader_index(R);
}

/* Grows *b to at least n bytes. */
static int grow(uint8_t **b, size_t *cap, size_t n)
{
    if (*b && *cap >= n)
        return 0;
    size_t want = n > 256 ? n : 256;
    uint8_t *m = realloc(*b, want);
    if (!m)
        return -ENOMEM;
    *b = m;
    *cap = want;
    return 0;
}

/* Reports chunk c as unreadable: its payload is left out. */
static long skip_chunk(msx_reader *R, msx_chunk *c, const char *why)
{
    if (!c->cut)
        R->r->damaged_chunks++;
    msx_reader_problem(R, c->off, "packed trace: chunk %llu (thread %u, seq %u): %s: the chunk is skipped",
                       (unsigned long long)c->slot, c->thread, c->seq, why);
    c->cut = true;
    c->present = 0;
    return 0;
}

long msx_pack_load(msx_reader *R, msx_chunk *c, uint8_t **buf, size_t *cap)
{
    if (grow(buf, cap, c->present) < 0 || grow(&R->zbuf, &R->zcap, c->frame_len) < 0 ||
        (c->mode == MSP_MODE_COLUMNS && grow(&R->xbuf, &R->xcap, c->xform_len) < 0))
        return msx_reader_fail(R, -ENOMEM, c->off, "out of memory for a chunk of %u bytes", c->present);
    if (!R->zstd && !(R->zstd = ZSTD_createDCtx()))
        return msx_reader_fail(R, -ENOMEM, c->off, "out of memory for the decompressor");
    if (!R->codec && !(R->codec = calloc(1, sizeof *R->codec)))
        return msx_reader_fail(R, -ENOMEM, c->off, "out of memory for the decoder");
    if (msx_reader_read_at(R, R->zbuf, c->frame_len, c->off + MSP_REC_SIZE) < c->frame_len)
        return skip_chunk(R, c, "reading its frame stopped short (the file got shorter or an I/O error)");
    uint8_t *dst = c->mode == MSP_MODE_COLUMNS ? R->xbuf : *buf;
    size_t want = c->mode == MSP_MODE_COLUMNS ? c->xform_len : c->present;
    size_t n = ZSTD_decompressDCtx(R->zstd, dst, want, R->zbuf, c->frame_len);
    if (ZSTD_isError(n)) {
        char why[160];
        snprintf(why, sizeof why, "its frame does not decompress (zstd: %s)", ZSTD_getErrorName(n));
        return skip_chunk(R, c, why);
    }
    if (n != want)
        return skip_chunk(R, c, "its frame decompresses to the wrong length");
    if (c->mode == MSP_MODE_COLUMNS) {
        const char *bad = "";
        int rc = msx_pack_decode(R->codec, R->xbuf, want, *buf, c->present, &bad);
        if (rc == -ENOMEM)
            return msx_reader_fail(R, -ENOMEM, c->off, "out of memory for a chunk's columns");
        if (rc < 0)
            return skip_chunk(R, c, bad);
    }
    return (long)c->present;
}
