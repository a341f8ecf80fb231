/* A program for the sites' end-to-end test (test_sites.py): grow_cache
 * allocates 100 blocks of 128,000 bytes (12.8 MB) and load_table one of
 * 50 MiB; everything is freed. Built with -g; the test reads the lines of
 * the two malloc calls from the markers below. */
#include <stdlib.h>
#include <string.h>

static void *keep[100];
static void *table;

__attribute__((noinline)) static void grow_cache(void)
{
    for (int i = 0; i < 100; i++) {
        keep[i] = malloc(128000); /* GROW_LINE */
        memset(keep[i], 1, 16);
    }
}

__attribute__((noinline)) static void load_table(void)
{
    table = malloc(50u << 20); /* LOAD_LINE */
    memset(table, 1, 16);
}

int main(void)
{
    grow_cache();
    load_table();
    for (int i = 0; i < 100; i++)
        free(keep[i]);
    free(table);
    return 0;
}
