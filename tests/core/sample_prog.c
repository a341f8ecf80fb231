/* A traced program for the sampled mode (test_sampling.c). It checks itself
 * that the blocks it gets behave (calloc zeroes, realloc keeps the content,
 * alignments hold), whichever of them the sampler moved, and exits 1 if not.
 *
 *   sample_prog known     20000 x malloc(1000), all live, then all freed;
 *                         5000 calloc(1, 300); 3000 realloc chains of
 *                         64 -> 5000 -> 20 bytes; 2000 posix_memalign(4096, 700),
 *                         2000 aligned_alloc(64, 128)
 *   sample_prog leak      as known, but 1000 of the malloc(1000) blocks stay */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 20000

static void *blocks[N];

int main(int argc, char **argv)
{
    int leak = argc > 1 && strcmp(argv[1], "leak") == 0;
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(1000);
        if (!blocks[i])
            return 1;
        memset(blocks[i], i & 0xff, 1000);
    }
    for (int i = 0; i < N; i++) {
        const unsigned char *b = blocks[i];
        if (b[0] != (i & 0xff) || b[999] != (i & 0xff))
            return 1;
        if (!leak || i >= 1000)
            free(blocks[i]);
    }
    for (int i = 0; i < 5000; i++) {
        unsigned char *p = calloc(1, 300);
        if (!p)
            return 1;
        for (int k = 0; k < 300; k++)
            if (p[k])
                return 1;
        free(p);
    }
    for (int i = 0; i < 3000; i++) {
        char *p = malloc(64);
        if (!p)
            return 1;
        memset(p, 'a' + i % 26, 64);
        char *q = realloc(p, 5000);
        if (!q) {
            free(p);
            return 1;
        }
        p = q;
        if ( p[0] != 'a' + i % 26 || p[63] != 'a' + i % 26)
            return 1;
        memset(p, 'z', 5000);
        q = realloc(p, 20);
        if (!q) {
            free(p);
            return 1;
        }
        p = q;
        if ( p[0] != 'z' || p[19] != 'z')
            return 1;
        free(p);
    }
    for (int i = 0; i < 2000; i++) {
        void *p = NULL, *q;
        if (posix_memalign(&p, 4096, 700) != 0 || ((uintptr_t)p & 4095))
            return 1;
        q = aligned_alloc(64, 128);
        if (!q || ((uintptr_t)q & 63))
            return 1;
        free(p);
        free(q);
    }
    printf("done\n");
    return 0;
}
