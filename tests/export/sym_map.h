/* Helpers of tests/export/test_symbolize.c: this process's module map read
 * with dl_iterate_phdr (the build-id notes from memory), packed as a MODULES
 * record with msgpack-c and given to a symbolizer. */
#ifndef SYM_MAP_H
#define SYM_MAP_H

#include <limits.h>
#include <stdint.h>

#include <msgpack.h>

#include "symbolize.h"

typedef struct mod {
    char path[PATH_MAX];
    uint64_t base;
    uint64_t seg[16][3];
    int nseg;
    uint8_t bid[64];
    int bidlen;         /* 0: none (no build_id key written) */
} mod;

typedef struct map {
    mod m[256];
    int n;
} map;

/* The program's path (set by real_map). */
extern char sym_exe[PATH_MAX];

/* This process's map; *self is set to the program's entry. Fails the test
 * when the program is not in it. */
void real_map(map *mp, mod **self);
/* Packs the map as a MODULES record, hands it to S and frees the record;
 * returns msx_sym_modules's generation. */
uint32_t give(msx_sym *S, const map *mp);
/* Packs s as a MessagePack string. */
void pack_str(msgpack_packer *pk, const char *s);

#endif /* SYM_MAP_H */
