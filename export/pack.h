/* The packed trace (format/packfmt.h, docs/PACK.md): the column transform of a
 * chunk's payload (pack_codec.c) and the packer (pack_write.c). The reader
 * of packed files is reader_pack.c, behind msx_reader_open. */
#ifndef MSX_PACK_H
#define MSX_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "packfmt.h"

/* Scratch of the column transform, reused from chunk to chunk (zero it
 * before first use, msx_pack_codec_free after). Its size follows the largest
 * chunk seen, never the file. */
typedef struct msx_pack_codec {
    uint8_t *col[MSP_NCOLS];
    size_t len[MSP_NCOLS], cap[MSP_NCOLS];
    uint64_t *keys;          /* encoder: live map of the chunk, address -> ... */
    uint64_t *vals;          /* ... 1 + alloc ordinal (0: empty, UINT64_MAX: freed) */
    size_t mapcap, mapused;
    uint64_t *allocs;        /* decoder: address of each allocation of the chunk by ordinal */
    size_t allocs_cap;
} msx_pack_codec;

/* Splits payload p (n bytes, of a trace of format version `version`) into
 * columns C->col / C->len. Returns 0, 1 if the payload has a record the
 * columns cannot hold byte for byte (the caller then stores it raw), or
 * -ENOMEM. */
int msx_pack_encode(msx_pack_codec *C, const uint8_t *p, size_t n, uint32_t version);

/* Decodes the columns blob x (xn bytes: MSP_NCOLS u32 lengths, then the
 * columns) into out, which must receive exactly raw_len bytes. Returns 0, or
 * -EINVAL with *bad saying what is wrong, or -ENOMEM. Never reads or writes
 * out of bounds, whatever x holds. */
int msx_pack_decode(msx_pack_codec *C, const uint8_t *x, size_t xn, uint8_t *out, size_t raw_len,
                    const char **bad);

void msx_pack_codec_free(msx_pack_codec *C);

/* What msx_pack_file did. */
typedef struct msx_pack_stats {
    uint64_t chunks, events;      /* chunk records written, events in them */
    uint64_t raw_bytes;           /* the trace's stream bytes (header_size + 64 + payload per chunk) */
    uint64_t packed_bytes;        /* the packed file's size */
    uint64_t columns_chunks;      /* chunks in MSP_MODE_COLUMNS (the others are raw) */
    uint64_t problems;            /* damage the reader found in the trace (kept out of the pack) */
    uint64_t ns;                  /* time the packing took (CLOCK_MONOTONIC) */
} msx_pack_stats;

/* Packs the trace at `in` into the open, empty file out_fd (named out_name in
 * messages) with zstd level `level` (0: MSX_PACK_LEVEL). Every chunk is
 * decoded back and compared before it is written. Returns 0, or a negative
 * errno with a message naming the file in err. */
#define MSX_PACK_LEVEL 1
int msx_pack_file(const char *in, int out_fd, const char *out_name, int level, msx_pack_stats *st, char *err,
                  size_t errlen);

/* Verifies a packed file: reads every chunk (the whole analysis) and checks
 * the events equal `events`, with no problem. Returns 0, or -EINVAL with the
 * reason in err. */
int msx_pack_verify(const char *packed, uint64_t events, char *err, size_t errlen);

#endif /* MSX_PACK_H */
