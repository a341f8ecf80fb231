/* Symbolization at export (never while recording): program counters of the
 * recorded STACK records become functions, files and lines, through elfutils
 * libdw, from the modules of the trace's MODULES records.
 *
 * A trace's MODULES records describe the process's module map over time: the
 * newest one before an event describes its process. The symbolizer is told
 * each MODULES record in merge order (msx_sym_modules); each call opens a new
 * generation. A pc is resolved against the generation in force when its stack
 * was defined, so that a library dlclose'd later (or replaced at the same
 * address) still resolves.
 *
 * Modules are found on disk by their recorded path, under --sysroot when
 * given; debug information through the build-id (--debug-dir, then the
 * system's /usr/lib/debug/.build-id), then the file itself. A file whose
 * build-id differs from the recorded one is not used: its pcs show as
 * module+offset, and the mismatch is reported once per module
 * (msx_sym_problems). A stripped module without debug information gives
 * module+offset and, where the ELF symbol table has one, the function.
 * C++ names are demangled.
 *
 * As implemented (symbolize.c, symbolize_dw.c):
 * - A module's file is looked for on the first pc that falls in it, once
 *   for all the generations that hold it (same path, base and build-id), so
 *   problems name only modules some pc fell in. Only absolute paths of
 *   regular files are opened (never blocking: FIFOs and devices are refused
 *   before open). A trace without a build-id for a module takes the file
 *   unchecked; a trace with one refuses a file with another or none.
 * - Debug files: DIR/.build-id/xx/rest.debug, DIR/PATH.debug, DIR/PATH for
 *   the debug directory, then the same under SYSROOT/usr/lib/debug; each
 *   must carry the module's build-id (or none when the module has none).
 *   libdwfl reads a file's own DWARF before asking for a debug file, so the
 *   debug file is used for modules without DWARF (stripped ones).
 * - The function of the outermost frame is the symbol table's (.symtab or
 *   .dynsym; so "f.constprop.0" when the compiler cloned f), else DWARF's;
 *   inlined frames are named from DWARF (linkage name, else name).
 * - Strings (paths, names, files, problems) are the bytes found, unescaped:
 *   a renderer escapes them.
 * - One thread at a time: a symbolizer has no lock. */
#ifndef MSX_SYMBOLIZE_H
#define MSX_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpk.h"

typedef struct msx_sym msx_sym;

typedef struct msx_sym_opts {
    const char *sysroot;    /* prefix for module paths (NULL: none) */
    const char *debug_dir;  /* extra debug directory, searched first by build-id (NULL: none) */
} msx_sym_opts;

/* One resolved frame. A pc can give several: inlined calls first (innermost
 * first), then the function that contains them. Strings are owned by the
 * symbolizer and live until msx_sym_free. */
typedef struct msx_frame {
    uint64_t pc;            /* the recorded return address */
    const char *function;   /* demangled name; NULL when unknown */
    const char *file;       /* source file; NULL when unknown */
    uint32_t line;          /* 0 when unknown */
    bool inlined;           /* an inlined call inside the next frame of the same pc */
    const char *module;     /* path of the module as recorded; NULL when no module holds pc */
    uint64_t offset;        /* pc - 1 relative to the module's load bias (file address); 0 when module is NULL */
} msx_frame;

/* Creates a symbolizer (opts may be NULL). Returns NULL without memory. */
msx_sym *msx_sym_new(const msx_sym_opts *opts);
/* Takes a MODULES record (the array object of the record), starting a new
 * generation. Returns the generation number (1, 2, ...), or 0 if the object
 * is not an array, or memory ran out (nothing changes then). Malformed
 * entries are skipped and reported (32 messages at most, then one that says
 * more were left out). Everything needed is copied: the object and its
 * buffer may go once this returns. */
uint32_t msx_sym_modules(msx_sym *S, const msx_obj *modules);
/* Resolves pc in generation gen (0: the newest). Fills up to max frames into
 * out and returns how many it filled (at least 1 when max >= 1: a pc no module
 * holds gives one frame with module NULL). Never fails: what cannot be
 * resolved stays NULL/0. Results are cached per (generation's module, pc).
 * A generation not given yet, pc 0, and a NULL S hold no module; with more
 * frames than max, the innermost max are given. */
size_t msx_sym_resolve(msx_sym *S, uint32_t gen, uint64_t pc, msx_frame *out, size_t max);
/* Messages about modules that could not be used (missing file, build-id
 * mismatch), one per module, in the order found. *n receives the count. */
const char *const *msx_sym_problems(const msx_sym *S, size_t *n);

/* One distinct module (path, base, build-id) of any generation, for the
 * mappings of a profile (pprof.c). start and limit: the lowest start and the
 * highest end of its PT_LOAD segments in the process, over all generations
 * that hold it (start > limit: none had a segment). */
typedef struct msx_sym_module {
    const char *path;       /* as recorded, owned by the symbolizer */
    uint64_t base;          /* load bias */
    uint64_t start, limit;
    const uint8_t *build_id;
    size_t build_id_len;    /* 0: the trace recorded none */
} msx_sym_module;

/* The number of distinct modules (0 for NULL). */
uint32_t msx_sym_module_count(const msx_sym *S);
/* Fills *m with module i (< msx_sym_module_count). */
void msx_sym_module_get(const msx_sym *S, uint32_t i, msx_sym_module *m);

/* What a symbolizer holds and did, for tests and measurements. */
typedef struct msx_sym_stats {
    uint32_t generations;   /* msx_sym_modules calls that took an array */
    uint32_t modules;       /* distinct modules (path, base, build-id) over all generations */
    uint32_t files_tried;   /* modules whose file was looked for (once each, on first resolve) */
    uint32_t files_used;    /* of those, the files opened and used */
    uint64_t lookups;       /* pcs looked up in a file (cache misses) */
    uint64_t hits;          /* resolves answered from the cache */
    size_t cache_entries;   /* distinct (module, pc) cached */
    size_t bytes;           /* memory of the tables, the cache and the strings (not libdw's) */
} msx_sym_stats;

/* Fills *st. */
void msx_sym_stats_get(const msx_sym *S, msx_sym_stats *st);
/* Frees everything. Safe on NULL. */
void msx_sym_free(msx_sym *S);

#endif /* MSX_SYMBOLIZE_H */
