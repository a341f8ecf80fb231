/* The private jemalloc copy's API: Debian's jemalloc with its public names
 * renamed to msjem_* by privatize-jemalloc.sh. Same semantics as jemalloc(3). */
#ifndef MS_JEMALLOC_PRIVATE_H
#define MS_JEMALLOC_PRIVATE_H

#include <stddef.h>

void *msjem_malloc(size_t size);
void *msjem_calloc(size_t n, size_t size);
void *msjem_realloc(void *p, size_t size);
void msjem_free(void *p);
int msjem_posix_memalign(void **out, size_t align, size_t size);
void *msjem_aligned_alloc(size_t align, size_t size);
void *msjem_memalign(size_t align, size_t size);
void *msjem_valloc(size_t size);
size_t msjem_malloc_usable_size(const void *p);
void *msjem_mallocx(size_t size, int flags);
size_t msjem_xallocx(void *p, size_t size, size_t extra, int flags);
void msjem_sdallocx(void *p, size_t size, int flags);
void msjem_dallocx(void *p, int flags);
int msjem_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

/* jemalloc's MALLOCX_ALIGN(a) for a power-of-two a. */
#define MS_MALLOCX_ALIGN(a) ((int)(__builtin_ctzl((unsigned long)(a))))

#endif /* MS_JEMALLOC_PRIVATE_H */
