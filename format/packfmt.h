/* The packed trace format (docs/PACK.md), defined once: `memscope pack`
 * writes it (export/pack_write.c), the reader reads it (export/reader_pack.c),
 * the tests include it. A packed file holds the chunks of one trace, each
 * payload compressed as one zstd frame of its own, so the reader decompresses
 * one chunk when a thread's cursor opens it, as it preads one of a raw trace.
 *
 * Layout (all fixed-width integers little-endian):
 *
 *   offset 0                 pack header (MSP_HEADER_SIZE bytes)
 *   MSP_HEADER_SIZE          the trace's file header (MSF_FILE_HEADER_USED bytes, verbatim)
 *   MSP_FIRST_RECORD         chunk record 0: MSP_REC_SIZE bytes, then frame_len bytes
 *   ...                      chunk record i+1 starts where record i's frame ends
 *
 * A chunk record's payload is mode MSP_MODE_RAW (the frame decompresses to the
 * payload) or MSP_MODE_COLUMNS (the frame decompresses to columns, below,
 * which decode to the payload). */
#ifndef MSP_PACKFMT_H
#define MSP_PACKFMT_H

#include <stdint.h>

#include "format.h"

#define MSP_VERSION 1u
#define MSP_MAGIC "MSPACK\r\n"          /* 8 bytes, no NUL */
#define MSP_MAGIC_LEN 8u
#define MSP_HEADER_SIZE 64u
#define MSP_FIRST_RECORD (MSP_HEADER_SIZE + MSF_FILE_HEADER_USED)
#define MSP_REC_MAGIC 0x4b50534du       /* "MSPK" little-endian */
#define MSP_REC_SIZE (32u + MSF_CHUNK_HEADER_SIZE)
#define MSP_FRAME_MAX (MSF_CHUNK_MAX + (1u << 20)) /* largest frame_len / xform_len a reader accepts */

/* Pack header field offsets. */
enum {
    MSP_H_MAGIC = 0,          /* char[8]: MSP_MAGIC */
    MSP_H_VERSION = 8,        /* u32: MSP_VERSION */
    MSP_H_FLAGS = 12,         /* u32: MSP_HF_* */
    MSP_H_CHUNKS = 16,        /* u64: chunk records written (set when the pack is complete) */
    MSP_H_EVENTS = 24,        /* u64: events in the chunk records (set when complete) */
    MSP_H_EMPTY_SLOTS = 32,   /* u64: the trace's reserved, unused chunk slots */
    MSP_H_RAW_BYTES = 40,     /* u64: the trace's header_size + chunk headers + payloads packed */
    MSP_H_CHECK = 48,         /* u32: msp_head_check of both headers (set when complete) */
    /* 52..63 reserved, zero */
};

/* Pack header flags. */
enum {
    MSP_HF_COMPLETE = 1u << 0, /* every chunk record is written; CHUNKS and EVENTS hold */
};

/* Chunk record header field offsets. */
enum {
    MSP_R_MAGIC = 0,          /* u32: MSP_REC_MAGIC */
    MSP_R_MODE = 4,           /* u32: MSP_MODE_* */
    MSP_R_RAW_LEN = 8,        /* u32: payload bytes (the chunk's bytes present in the trace) */
    MSP_R_FRAME_LEN = 12,     /* u32: bytes of the zstd frame after this header */
    MSP_R_XFORM_LEN = 16,     /* u32: bytes the frame decompresses to */
    MSP_R_CHECK = 20,         /* u32: msp_check of the other 92 bytes of this header */
    MSP_R_SLOT = 24,          /* u64: the chunk's ordinal in the trace */
    MSP_R_CHUNK = 32,         /* 64 bytes: the trace's chunk header, verbatim */
};

/* Payload modes. */
enum {
    MSP_MODE_RAW = 0,         /* the frame holds the payload itself */
    MSP_MODE_COLUMNS = 1,     /* the frame holds the payload's columns */
};

/* Columns of MSP_MODE_COLUMNS, in this order. The frame's bytes are
 * MSP_NCOLS u32 lengths, then the columns one after the other. Each record
 * of the payload is one byte of KIND; the other columns hold what its kind
 * says (docs/PACK.md "Columns"). */
enum {
    MSP_COL_KIND = 0,         /* per record: MSF_K_* of an event, MSF_K_RECORD for a control record */
    MSP_COL_SIZE_LO = 1,      /* ALLOC*: size & 0xff, or 0 when escaped */
    MSP_COL_SIZE_HI = 2,      /* ALLOC*: size >> 8, or MSP_SIZE_ESC (size in EXTRA) */
    MSP_COL_AREF = 3,         /* ALLOC*: 1 + index in the recent-frees list, or 0 (arg in EXTRA) */
    MSP_COL_FREF_LO = 4,      /* FREE: distance to the allocation & 0xff */
    MSP_COL_FREF_HI = 5,      /* FREE: distance >> 8; distance 0: escaped (arg in EXTRA) */
    MSP_COL_EXTRA = 6,        /* LEB128 varints: escapes, REALLOC fields, stacks, weights, record lengths */
    MSP_COL_RECORDS = 7,      /* control records, verbatim */
    MSP_NCOLS = 8,
};

#define MSP_SIZE_ESC 0xffu      /* SIZE_HI of a size >= MSP_SIZE_ESC << 8 */
#define MSP_MTF_LEN 254u         /* length of the recent-frees list */
#define MSP_FREF_MAX 0xffffu    /* largest FREE distance in FREF */

/* FNV-1a (32 bits) of n bytes: the record header's check. */
static inline uint32_t msp_check(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The check of a record header: over its bytes except the check itself. */
static inline uint32_t msp_rec_check(const uint8_t rec[MSP_REC_SIZE])
{
    uint32_t a = msp_check(rec, MSP_R_CHECK);
    uint32_t h = a;
    for (uint32_t i = MSP_R_CHECK + 4; i < MSP_REC_SIZE; i++)
        h = (h ^ rec[i]) * 16777619u;
    return h;
}

/* The check of the headers (the MSP_FIRST_RECORD bytes at offset 0): FNV-1a
 * of all of them but the check field itself. */
static inline uint32_t msp_head_check(const uint8_t head[MSP_FIRST_RECORD])
{
    uint32_t h = msp_check(head, MSP_H_CHECK);
    for (uint32_t i = MSP_H_CHECK + 4; i < MSP_FIRST_RECORD; i++)
        h = (h ^ head[i]) * 16777619u;
    return h;
}

#endif /* MSP_PACKFMT_H */
