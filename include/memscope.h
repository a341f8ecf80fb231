/* memscope: a memory-tracking allocator. This is the whole public API.
 *
 * Linking the library (statically, or with LD_PRELOAD) is all it takes to trace
 * a program: the malloc family and C++ new/delete are replaced and every heap
 * event goes to $MEMSCOPE_OUTPUT/<name>.<pid>.msgpack (docs/FORMAT.md). The
 * functions below are optional controls for programs that link memscope.
 *
 * Functions returning int give 0 or a negative errno; memscope_strerror()
 * turns one into text. */
#ifndef MEMSCOPE_H
#define MEMSCOPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMSCOPE_VERSION_MAJOR 0
#define MEMSCOPE_VERSION_MINOR 1
#define MEMSCOPE_VERSION_PATCH 0
/* The trace format version this library writes (docs/FORMAT.md). */
#define MEMSCOPE_FORMAT_VERSION 1

/* "MAJOR.MINOR.PATCH" of the library actually linked. */
const char *memscope_version(void);

/* Text for a negative errno returned by a memscope function. Never NULL. */
const char *memscope_strerror(int err);

/* Copies the path of this process's trace into buf (NUL-terminated).
 * Returns the path length, -ENOENT when there is no trace (MEMSCOPE_MODE=off or
 * the file could not be created), or -ERANGE when len is too small. */
int memscope_trace_path(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MEMSCOPE_H */
