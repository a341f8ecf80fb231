/* A library that dl_prog opens, calls and closes (test_sites_e2e.c). */
#include <stdlib.h>

__attribute__((noinline, visibility("default"))) void *dl_alloc(size_t n);

void *dl_alloc(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
