/* A real multithreaded program for the LD_PRELOAD test: its worker threads
 * make a known number of heap calls, so the report's per-thread counts can be
 * checked exactly (the main thread also sees the C library's own calls).
 *
 *   msx_preload_prog WORKERS ROUNDS
 *   msx_preload_prog _exit           (allocates, then ends with _exit(0))
 *
 * Each worker (named "worker-N"): ROUNDS times malloc(24 + r % 200), frees
 * every block but one in eight, reallocs one in sixteen of the kept ones to
 * twice its size; hands HANDOFF blocks to the next worker, which frees them
 * (frees of blocks another thread allocated); leaks the rest. It prints the
 * expected figures per worker as JSON on stdout. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_WORKERS = 16, HANDOFF = 64 };

/* A worker's expected figures and its handoff slots. */
typedef struct worker {
    int id;
    int rounds;
    uint64_t allocations, frees, reallocs, bytes, leaked_blocks, leaked_bytes, cross_frees;
    void *handoff[HANDOFF];       /* blocks for the next worker to free */
    uint64_t handoff_size[HANDOFF];
    pthread_barrier_t *barrier;
    struct worker *prev;          /* whose handoff blocks this one frees */
} worker;

/* The body of a worker thread. */
static void *work(void *arg)
{
    worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", w->id);
    pthread_setname_np(pthread_self(), name);
    void **kept = calloc((size_t)w->rounds, sizeof *kept);
    uint64_t *kept_size = calloc((size_t)w->rounds, sizeof *kept_size);
    int nkept = 0;
    for (int r = 0; r < w->rounds; r++) {
        size_t size = 24 + (size_t)(r % 200);
        char *p = malloc(size);
        memset(p, r, size);
        w->allocations++;
        w->bytes += size;
        if (r % 8) {
            free(p);
            w->frees++;
            continue;
        }
        if (r % 16 == 0) {
            char *q = realloc(p, size * 2);
            if (!q)
                abort();
            p = q;
            w->reallocs++;
            w->bytes += size * 2;
            size *= 2;
        }
        kept[nkept] = p;
        kept_size[nkept++] = size;
    }
    /* hand the first HANDOFF kept blocks over, leak the rest */
    for (int i = 0; i < nkept; i++) {
        if (i < HANDOFF) {
            w->handoff[i] = kept[i];
            w->handoff_size[i] = kept_size[i];
        } else {
            w->leaked_blocks++;
            w->leaked_bytes += kept_size[i];
        }
    }
    pthread_barrier_wait(w->barrier);
    for (int i = 0; i < HANDOFF && i < (w->prev->rounds + 7) / 8; i++) {
        free(w->prev->handoff[i]);
        w->frees++;
        w->cross_frees++;
    }
    /* kept[] and kept_size[] themselves are this thread's too */
    free(kept);
    free(kept_size);
    w->allocations += 2;
    w->bytes += (uint64_t)w->rounds * (sizeof *kept + sizeof *kept_size);
    w->frees += 2;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "_exit") == 0) { /* ends without exit handlers */
        void *volatile p = malloc(100);
        (void)p;
        _exit(0);
    }
    int n = argc > 1 ? atoi(argv[1]) : 4;
    int rounds = argc > 2 ? atoi(argv[2]) : 10000;
    if (n < 1 || n > MAX_WORKERS || rounds < 8 * HANDOFF) {
        fprintf(stderr, "usage: msx_preload_prog WORKERS(1-%d) ROUNDS(>=%d)\n", MAX_WORKERS, 8 * HANDOFF);
        return 2;
    }
    static worker w[MAX_WORKERS];
    static pthread_t th[MAX_WORKERS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        w[i].id = i + 1;
        w[i].rounds = rounds;
        w[i].barrier = &barrier;
        w[i].prev = &w[(i + n - 1) % n];
    }
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, work, &w[i]);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    printf("{\"workers\": [");
    for (int i = 0; i < n; i++)
        printf("%s{\"name\": \"worker-%d\", \"allocations\": %llu, \"frees\": %llu, \"reallocs\": %llu, "
               "\"bytes_allocated\": %llu, \"leaked_blocks\": %llu, \"leaked_bytes\": %llu, \"cross_thread_frees\": %llu}",
               i ? ", " : "", w[i].id, (unsigned long long)w[i].allocations, (unsigned long long)w[i].frees,
               (unsigned long long)w[i].reallocs, (unsigned long long)w[i].bytes,
               (unsigned long long)w[i].leaked_blocks, (unsigned long long)w[i].leaked_bytes,
               (unsigned long long)w[i].cross_frees);
    printf("]}\n");
    return 0;
}
