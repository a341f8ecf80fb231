/* The program (test_sites_e2e.c): grow_cache allocates 12.8 MB
 * (100 blocks of 128,000 bytes, half freed) and load_table 50 MiB (800
 * blocks of 64 KiB, kept); the rest of the program allocates little. Built
 * with -g and frame pointers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static void *cache[100];
static void *table[800];

NOINLINE static void grow_cache(void)
{
    for (int i = 0; i < 100; i++) {
        cache[i] = malloc(128000);
        memset(cache[i], 1, 64);
    }
    for (int i = 0; i < 100; i += 2)
        free(cache[i]);
}

NOINLINE static void load_table(void)
{
    for (int i = 0; i < 800; i++) {
        table[i] = malloc(65536);
        memset(table[i], 2, 64);
    }
}

int main(void)
{
    grow_cache();
    load_table();
    printf("grow_cache=%d load_table=%d\n", 12800000, 50 << 20);
    return 0;
}
