/* tracecount: counts events and stream bytes of a memscope trace (see tracecount.h).
 *
 * The file is a 4096-byte header followed by chunk slots of chunk_size bytes;
 * each written slot starts with a 64-byte chunk header whose `committed` field
 * tells how many payload bytes hold whole records. Records are a MessagePack
 * head H (kind = H & 7) followed by kind-specific MessagePack objects. Only the
 * heads are decoded; every other object is skipped by its encoded length. */
#include "tracecount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAGIC "MEMSCOPE"
#define FILE_VERSION 1
#define FILE_HEADER_MIN 128
#define CHUNK_MAGIC 0x4b43534du
#define CHUNK_HEADER 64

/* Reads a little-endian u32 at p. */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads an n-byte big-endian unsigned integer at p (MessagePack's byte order). */
static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Decodes a non-negative MessagePack integer at *pp into *v and advances *pp.
 * Returns false if the bytes before end do not hold one. */
static bool mp_uint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return false;
    uint8_t b = *p++;
    unsigned n;
    bool is_signed = false;
    if (b <= 0x7f) {
        *v = b;
        *pp = p;
        return true;
    }
    if (b >= 0xcc && b <= 0xcf) {
        n = 1u << (b - 0xcc);
    } else if (b >= 0xd0 && b <= 0xd3) {
        n = 1u << (b - 0xd0);
        is_signed = true;
    } else {
        return false;
    }
    if ((size_t)(end - p) < n)
        return false;
    *v = be(p, n);
    if (is_signed && (*v >> (8 * n - 1)) != 0)
        return false;  /* a negative value cannot be a head */
    *pp = p + n;
    return true;
}

/* Skips `count` whole MessagePack objects at *pp and advances *pp past them.
 * Returns false if they do not fit before end or the bytes are not MessagePack. */
static bool mp_skip(const uint8_t **pp, const uint8_t *end, uint64_t count)
{
    const uint8_t *p = *pp;
    while (count > 0) {
        /* Every object takes at least one byte: an impossible count is an error
         * and also keeps `count` far from overflowing. */
        if (count > (uint64_t)(end - p))
            return false;
        count--;
        uint8_t b = *p++;
        uint64_t skip = 0;    /* payload bytes after the type byte and length */
        unsigned len = 0;     /* width of a big-endian length field */
        uint64_t children = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool: the type byte is all */
        } else if (b <= 0x8f) {
            children = 2u * (b & 0x0f);
        } else if (b <= 0x9f) {
            children = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else if (b >= 0xc4 && b <= 0xc6) {          /* bin 8/16/32 */
            len = 1u << (b - 0xc4);
        } else if (b >= 0xc7 && b <= 0xc9) {          /* ext 8/16/32: length, type */
            len = 1u << (b - 0xc7);
            skip = 1;
        } else if (b == 0xca || b == 0xcb) {          /* float 32/64 */
            skip = b == 0xca ? 4 : 8;
        } else if (b >= 0xcc && b <= 0xd3) {          /* uint/int 8..64 */
            skip = 1u << ((b - 0xcc) & 3);
        } else if (b >= 0xd4 && b <= 0xd8) {          /* fixext 1..16: type, data */
            skip = 1 + (1u << (b - 0xd4));
        } else if (b >= 0xd9 && b <= 0xdb) {          /* str 8/16/32 */
            len = 1u << (b - 0xd9);
        } else if (b == 0xdc || b == 0xdd) {          /* array 16/32 */
            len = b == 0xdc ? 2 : 4;
        } else if (b == 0xde || b == 0xdf) {          /* map 16/32 */
            len = b == 0xde ? 2 : 4;
        } else {
            return false;                             /* 0xc1: never used */
        }
        if (len > 0) {
            if ((size_t)(end - p) < len)
                return false;
            uint64_t n = be(p, len);
            p += len;
            if (b >= 0xdc && b <= 0xdd)
                children = n;
            else if (b >= 0xde)
                children = 2 * n;
            else
                skip += n;
        }
        if (skip > (uint64_t)(end - p))
            return false;
        p += skip;
        count += children;
    }
    *pp = p;
    return true;
}

/* Counts the events of one chunk payload. Returns false if decoding stopped
 * before the end (reserved kind or bytes that are not MessagePack). */
static bool count_payload(const uint8_t *p, const uint8_t *end, uint64_t *events)
{
    /* Objects that follow the head of kinds 0..3 (ALLOC, FREE, REALLOC, ALLOC_EX). */
    static const unsigned event_objects[4] = { 1, 0, 2, 3 };
    while (p < end) {
        uint64_t head;
        if (!mp_uint(&p, end, &head))
            return false;
        unsigned kind = (unsigned)(head & 7);
        if (kind < 4) {
            if (!mp_skip(&p, end, event_objects[kind]))
                return false;
            ++*events;
        } else if (kind == 7) {
            if (!mp_skip(&p, end, 1))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* Writes a message naming path into err. */
static void fail(char *err, size_t errlen, const char *path, const char *what)
{
    snprintf(err, errlen, "%s: %s", path, what);
}

int trace_count_file(const char *path, trace_count_t *count, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(err, errlen, path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < FILE_HEADER_MIN) {
        close(fd);
        fail(err, errlen, path, "not a memscope trace (too short)");
        return -1;
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        fail(err, errlen, path, strerror(errno));
        return -1;
    }
    int rc = -1;
    uint32_t version = le32(map + 8), header = le32(map + 12), chunk = le32(map + 16);
    if (memcmp(map, FILE_MAGIC, 8) != 0) {
        fail(err, errlen, path, "not a memscope trace (bad magic)");
    } else if (version != FILE_VERSION) {
        snprintf(err, errlen, "%s: trace format version %u, this bench reads version %u",
                 path, version, FILE_VERSION);
    } else if (header < FILE_HEADER_MIN || chunk <= CHUNK_HEADER) {
        fail(err, errlen, path, "bad header_size or chunk_size");
    } else {
        count->stream_bytes += header;
        for (size_t off = header; off <= size && size - off >= CHUNK_HEADER; off += chunk) {
            const uint8_t *c = map + off;
            if (le32(c) != CHUNK_MAGIC)
                continue;  /* a slot reserved but never written */
            size_t committed = le32(c + 4);
            size_t room = size - off - CHUNK_HEADER;
            if (committed > chunk - CHUNK_HEADER || committed > room) {
                count->bad_chunks++;
                committed = committed > room ? room : committed;
            }
            count->stream_bytes += CHUNK_HEADER + committed;
            const uint8_t *payload = c + CHUNK_HEADER;
            if (!count_payload(payload, payload + committed, &count->events))
                count->bad_chunks++;
        }
        rc = 0;
    }
    munmap((void *)map, size);
    return rc;
}
