/* Opens the library argv[1], has its dl_alloc allocate 7777 bytes (kept:
 * a leak), and closes it before exit (test_sites_e2e.c). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    free(malloc(16)); /* links the malloc family of the program (memscope's) */
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    void *(*fn)(size_t) = (void *(*)(size_t))dlsym(h, "dl_alloc");
    if (!fn)
        return 1;
    void *volatile kept = fn(7777);
    (void)kept;
    dlclose(h);
    return 0;
}
