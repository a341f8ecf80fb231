/* Internals of the symbolizer (symbolize.h), shared by its two files:
 *
 *   symbolize.c     the generations of the module map, the table of distinct
 *                   modules, the (module, pc) cache, the string pool, the API.
 *   symbolize_dw.c  one module's file: finding and checking it (sysroot,
 *                   build-id, debug files), and the lookup of one address in
 *                   it through libdwfl (function, file:line, inlined chain).
 *
 * Each distinct module (path, base, build-id) gets a Dwfl of its own in which
 * it is reported at bias 0: every lookup is by file address (pc - 1 - base),
 * so a hostile base never reaches libdwfl, and two generations that map
 * different files at one address never meet in one Dwfl. */
#ifndef MSX_SYMBOLIZE_INT_H
#define MSX_SYMBOLIZE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

/* Longest build-id taken from a trace (GNU build-ids are 8 to 64 bytes; ld
 * writes 20). A longer one makes the MODULES entry malformed. */
enum { MSX_SYM_BUILD_ID_MAX = 64 };
/* Most frames kept for one pc (the inlined chain of hostile DWARF can be
 * longer: the descent stops there, keeping the outermost ones). */
enum { MSX_SYM_MAX_FRAMES = 64 };

/* One opened module file (symbolize_dw.c). Allocated on its own so that
 * libdwfl's callback can hold a pointer to it. */
typedef struct msx_symfile msx_symfile;

/* Finds and opens module `path` (as recorded) under opts->sysroot. `bid`
 * (bid_len bytes) is the build-id the trace recorded; bid_len 0: the trace
 * recorded none (the file is then taken unchecked). Returns the open file, or
 * NULL with a message for msx_sym_problems in why[0..why_len) (a NUL-terminated
 * tail such as "not found"; empty when memory ran out). */
msx_symfile *msx_symfile_open(const msx_sym_opts *opts, const char *path, const uint8_t *bid, size_t bid_len,
                              char *why, size_t why_len);
/* Closes a file from msx_symfile_open. Safe on NULL. */
void msx_symfile_close(msx_symfile *f);

/* Looks up file address addr (pc - 1 - base) in f and fills out[0..max) with
 * function, file, line and inlined (pc, module and offset are the caller's):
 * the inlined calls innermost first, then the containing function. Strings
 * go through msx_sym_intern. Returns the number of frames, at least 1 when
 * max >= 1. */
size_t msx_symfile_lookup(msx_symfile *f, msx_sym *S, uint64_t addr, msx_frame *out, size_t max);

/* A copy of s (n bytes, NUL added) in S's pool, the same pointer for equal
 * strings; NULL when s is NULL or memory ran out. Lives until msx_sym_free. */
const char *msx_sym_intern(msx_sym *S, const char *s, size_t n);

/* The C++ ABI's demangler (libstdc++): a malloc'd demangled name, or NULL. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#endif /* MSX_SYMBOLIZE_INT_H */
