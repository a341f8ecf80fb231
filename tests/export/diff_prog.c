/* A program for the diff's end-to-end test (test_diff.py): it grows a cache
 * in one function, in two phases 400 ms apart, and keeps it (the blocks are
 * live at the end):
 *
 *   msx_diff_prog N1 N2 [NAME [WAITFILE]]
 *
 * phase 1 (at start): grow_cache(N1) from main's first call, and a scratch buffer
 * freed at once, and a detached thread named NAME (default "grower") keeps
 * one block of 777 bytes; 400 ms later phase 2: grow_cache(N2) from its second; then
 * 400 ms more. Each cache block is CACHE_BLOCK bytes. With WAITFILE it then creates WAITFILE.ready and
 * waits (still running, its trace without END) until WAITFILE exists. Built
 * with -g and frame pointers; it makes no other heap calls after phase 1.
 * The test finds the lines by the markers in the comments of the calls. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { CACHE_BLOCK = 4096, MAX_BLOCKS = 10000 };

static void *cache[MAX_BLOCKS];
static int ncache;

__attribute__((noinline)) static void grow_cache(int n)
{
    for (int i = 0; i < n && ncache < MAX_BLOCKS; i++) {
        cache[ncache] = malloc(CACHE_BLOCK); /* GROW_LINE */
        memset(cache[ncache], 1, 16);
        ncache++;
    }
}

__attribute__((noinline)) static void scratch(void)
{
    char *volatile p = malloc(100000);
    p[0] = 1;
    free(p);
}

/* The named thread (it names itself): one block of 777 bytes, kept. */
static void *named_work(void *arg)
{
    pthread_setname_np(pthread_self(), arg); /* before its first heap call */
    static void *keep;
    keep = malloc(777);
    return keep;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int n1 = atoi(argv[1]), n2 = atoi(argv[2]);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED); /* no join's free later */
    pthread_create(&t, &at, named_work, argc > 3 ? argv[3] : "grower");
    grow_cache(n1); /* PHASE1_LINE */
    scratch();
    sleep_ms(400);
    grow_cache(n2); /* PHASE2_LINE */
    sleep_ms(400);
    if (argc > 4) {
        char ready[4096];
        snprintf(ready, sizeof ready, "%s.ready", argv[4]);
        close(open(ready, O_WRONLY | O_CREAT, 0644));
        while (access(argv[4], F_OK) != 0)
            sleep_ms(20);
    }
    return 0;
}
