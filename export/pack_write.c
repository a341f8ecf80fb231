/* The packer (docs/PACK.md): reads a trace through the reader, chunk by
 * chunk, and writes each payload as one zstd frame of its columns (or of its
 * bytes, when the columns cannot hold it byte for byte), after decoding the
 * frame back and comparing. Memory: the reader's index and one chunk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "export.h"
#include "pack.h"
#include "reader.h"
#include "unpack.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int write_at(int fd, const void *p, size_t n, uint64_t off)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = pwrite(fd, (const uint8_t *)p + done, n - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        done += (size_t)k;
    }
    return 0;
}

/* The events among the records of a payload (up to the first it cannot decode). */
static uint64_t count_events(const uint8_t *p, size_t n, uint32_t version)
{
    const uint8_t *end = p + n;
    uint64_t ev = 0;
    while (p < end) {
        msx_rec r;
        const char *bad;
        msx_rec_result rr = msx_rec_decode(&p, end, version, &r, &bad);
        if (rr == MSX_REC_BAD)
            break;
        if (rr == MSX_REC_EVENT)
            ev++;
        if (rr == MSX_REC_CONTROL) {
            ms_up_obj o;
            long on = ms_up_decode(p, (size_t)(end - p), &o);
            if (on <= 0)
                break;
            p += on;
        }
    }
    return ev;
}

typedef struct packer {
    msx_reader *R;
    ZSTD_CCtx *cc;
    ZSTD_DCtx *dc;
    msx_pack_codec enc, dec;
    uint8_t *blob, *frame, *back, *payload;
    size_t blobcap, framecap, backcap, paycap;
} packer;

static int grow(uint8_t **b, size_t *cap, size_t n)
{
    if (*b && *cap >= n)
        return 0;
    uint8_t *m = realloc(*b, n ? n : 1);
    if (!m)
        return -ENOMEM;
    *b = m;
    *cap = n;
    return 0;
}

/* Compresses the MSP_NCOLS parts of blob (lengths len[]) into one frame,
 * each part ending its zstd block (so each block codes one column). Returns
 * the frame's size, or 0 on an error. */
static size_t compress_parts(packer *P, const uint8_t *blob, const size_t *len, int nparts)
{
    size_t total = 0;
    for (int i = 0; i < nparts; i++)
        total += len[i];
    if (grow(&P->frame, &P->framecap, ZSTD_compressBound(total) + 1024) < 0)
        return 0;
    ZSTD_CCtx_reset(P->cc, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(P->cc, total);
    ZSTD_outBuffer out = { P->frame, P->framecap, 0 };
    size_t at = 0;
    for (int i = 0; i < nparts; i++) {
        ZSTD_inBuffer in = { blob + at, len[i], 0 };
        ZSTD_EndDirective how = i == nparts - 1 ? ZSTD_e_end : ZSTD_e_flush;
        size_t left;
        do {
            left = ZSTD_compressStream2(P->cc, &out, &in, how);
            if (ZSTD_isError(left))
                return 0;
        } while (left != 0 || in.pos < in.size);
        at += len[i];
    }
    return out.pos;
}

/* Packs one payload: fills the record header h (but its check) and leaves the
 * frame in P->frame. Returns the frame's length, or a negative errno. */
static long pack_chunk(packer *P, const uint8_t *p, uint32_t n, uint8_t *h, bool *columns)
{
    int rc = msx_pack_encode(&P->enc, p, n, P->R->version);
    if (rc < 0)
        return rc;
    *columns = rc == 0;
    size_t frame = 0, xlen = n;
    if (*columns) {
        size_t lens[1 + MSP_NCOLS];
        lens[0] = 4 * MSP_NCOLS;
        xlen = lens[0];
        for (int i = 0; i < MSP_NCOLS; i++)
            xlen += lens[1 + i] = P->enc.len[i];
        if (xlen > MSP_FRAME_MAX || grow(&P->blob, &P->blobcap, xlen) < 0 || grow(&P->back, &P->backcap, xlen) < 0)
            return -ENOMEM;
        size_t at = lens[0];
        for (int i = 0; i < MSP_NCOLS; i++) {
            put32(P->blob + 4 * i, (uint32_t)P->enc.len[i]);
            if (P->enc.len[i])
                memcpy(P->blob + at, P->enc.col[i], P->enc.len[i]);
            at += P->enc.len[i];
        }
        /* the lengths and the kind column in one block, the others one each */
        lens[1] += lens[0];
        frame = compress_parts(P, P->blob, lens + 1, MSP_NCOLS);
        /* the check: the frame decodes back to the payload, byte for byte */
        const char *bad;
        if (frame && ZSTD_decompressDCtx(P->dc, P->back, xlen, P->frame, frame) == xlen &&
            grow(&P->payload, &P->paycap, n) == 0 &&
            msx_pack_decode(&P->dec, P->back, xlen, P->payload, n, &bad) == 0 && memcmp(P->payload, p, n) == 0) {
            put32(h + MSP_R_MODE, MSP_MODE_COLUMNS);
        } else {
            *columns = false;
        }
    }
    if (!*columns) {
        size_t len = n;
        xlen = n;
        frame = compress_parts(P, p, &len, 1);
        if (!frame || grow(&P->back, &P->backcap, n) < 0 ||
            ZSTD_decompressDCtx(P->dc, P->back, n, P->frame, frame) != n || memcmp(P->back, p, n) != 0)
            return -EIO;
        put32(h + MSP_R_MODE, MSP_MODE_RAW);
    }
    put32(h + MSP_R_RAW_LEN, n);
    put32(h + MSP_R_FRAME_LEN, (uint32_t)frame);
    put32(h + MSP_R_XFORM_LEN, (uint32_t)xlen);
    return (long)frame;
}

int msx_pack_file(const char *in, int out_fd, const char *out_name, int level, msx_pack_stats *st, char *err,
                  size_t errlen)
{
    *st = (msx_pack_stats){ 0 };
    uint64_t t0 = now_ns(), t1 = 0;
    if (errlen)
        err[0] = '\0';
    msx_report *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", in);
        return -ENOMEM;
    }
    msx_reader R;
    int rc = msx_reader_open(&R, in, r, err, errlen);
    if (rc < 0) {
        msx_report_free(r);
        return rc;
    }
    packer P = { .R = &R };
    uint8_t *buf = NULL;
    size_t cap = 0;
    if (R.packed) {
        rc = msx_reader_fail(&R, -EINVAL, 0, "packed already");
        goto done;
    }
    if (msx_reader_scan(&R) < 0)
        goto done;
    P.cc = ZSTD_createCCtx();
    P.dc = ZSTD_createDCtx();
    if (!P.cc || !P.dc) {
        msx_reader_fail(&R, -ENOMEM, 0, "out of memory for zstd");
        goto done;
    }
    ZSTD_CCtx_setParameter(P.cc, ZSTD_c_compressionLevel, level ? level : MSX_PACK_LEVEL);
    ZSTD_CCtx_setParameter(P.cc, ZSTD_c_checksumFlag, 1);
    /* the headers: the pack's (completed at the end) and the trace's verbatim */
    uint8_t head[MSP_FIRST_RECORD] = { 0 };
    if (msx_reader_read_at(&R, head + MSP_HEADER_SIZE, MSF_FILE_HEADER_USED, 0) < MSF_FILE_HEADER_USED) {
        msx_reader_fail(&R, -EIO, 0, "cannot read the file header again");
        goto done;
    }
    memcpy(head + MSP_H_MAGIC, MSP_MAGIC, MSP_MAGIC_LEN);
    put32(head + MSP_H_VERSION, MSP_VERSION);
    put64(head + MSP_H_EMPTY_SLOTS, r->empty_slots);
    uint64_t off = 0;
    if ((rc = write_at(out_fd, head, sizeof head, off)) < 0) {
        msx_reader_fail(&R, rc, 0, "%s: cannot write: %s", out_name, strerror(-rc));
        goto done;
    }
    off += sizeof head;
    st->raw_bytes = R.header_size;
    for (int part = 0; part < 2; part++) {
        msx_chunk *cs = part ? R.snapchunks : R.chunks;
        uint64_t nc = part ? R.nsnapchunks : R.nchunks;
        for (uint64_t i = 0; i < nc; i++) {
            msx_chunk *c = &cs[i];
            long got = msx_reader_load(&R, c, &buf, &cap);
            if (got < 0)
                goto done;
            uint8_t h[MSP_REC_SIZE] = { 0 };
            if (msx_reader_read_at(&R, h + MSP_R_CHUNK, MSF_CHUNK_HEADER_SIZE, c->off) < MSF_CHUNK_HEADER_SIZE) {
                msx_reader_fail(&R, -EIO, c->off, "cannot read a chunk header again");
                goto done;
            }
            put32(h + MSP_R_MAGIC, MSP_REC_MAGIC);
            put64(h + MSP_R_SLOT, c->slot);
            bool columns;
            long frame = pack_chunk(&P, buf, (uint32_t)got, h, &columns);
            if (frame < 0) {
                msx_reader_fail(&R, (int)frame, c->off, "chunk %llu: %s", (unsigned long long)c->slot,
                                frame == -ENOMEM ? "out of memory" : "zstd does not give the payload back");
                goto done;
            }
            put32(h + MSP_R_CHECK, msp_rec_check(h));
            if ((rc = write_at(out_fd, h, sizeof h, off)) < 0 ||
                (rc = write_at(out_fd, P.frame, (size_t)frame, off + sizeof h)) < 0) {
                msx_reader_fail(&R, rc, 0, "%s: cannot write: %s", out_name, strerror(-rc));
                goto done;
            }
            off += sizeof h + (uint64_t)frame;
            st->chunks++;
            st->columns_chunks += columns;
            if (!(c->flags & MSF_CF_SNAPSHOTS) || R.version < 3)
                st->events += count_events(buf, (size_t)got, R.version);
            st->raw_bytes += MSF_CHUNK_HEADER_SIZE + (uint64_t)got;
        }
    }
    t1 = now_ns();  /* the packing, without the fsync below */
    /* complete: the counts, then the flag, on disk */
    put32(head + MSP_H_FLAGS, MSP_HF_COMPLETE);
    put64(head + MSP_H_CHUNKS, st->chunks);
    put64(head + MSP_H_EVENTS, st->events);
    put64(head + MSP_H_RAW_BYTES, st->raw_bytes);
    put32(head + MSP_H_CHECK, msp_head_check(head));
    if ((rc = write_at(out_fd, head, MSP_HEADER_SIZE, 0)) < 0 || (fsync(out_fd) < 0 && (rc = -errno) < 0)) {
        msx_reader_fail(&R, rc, 0, "%s: cannot write: %s", out_name, strerror(-rc));
        goto done;
    }
    st->packed_bytes = off;
    st->problems = r->problems_total;
done:
    free(buf);
    ZSTD_freeCCtx(P.cc);
    ZSTD_freeDCtx(P.dc);
    msx_pack_codec_free(&P.enc);
    msx_pack_codec_free(&P.dec);
    free(P.blob);
    free(P.frame);
    free(P.back);
    free(P.payload);
    rc = R.err;
    msx_reader_close(&R);
    msx_report_free(r);
    st->ns = (t1 ? t1 : now_ns()) - t0;
    return rc;
}

int msx_pack_verify(const char *packed, uint64_t events, char *err, size_t errlen)
{
    msx_report *r = NULL;
    int rc = msx_analyze_trace(packed, NULL, NULL, &r, err, errlen);
    if (rc < 0)
        return rc;
    rc = 0;
    if (r->damaged_chunks || r->events != events) {
        snprintf(err, errlen, "%s: the packed trace reads back %llu events (%llu expected), %llu damaged chunks%s%.*s",
                 packed, (unsigned long long)r->events, (unsigned long long)events,
                 (unsigned long long)r->damaged_chunks, r->nproblems ? ": " : "",
                 r->nproblems ? (int)r->problems[0].n : 0, r->nproblems ? r->problems[0].p : "");
        rc = -EINVAL;
    }
    msx_report_free(r);
    return rc;
}
