/* A traced program (linked with libmemscope_alloc.a) for test_chrome.py:
 * NTHREADS worker threads, each named with quotes, a script tag and invalid
 * UTF-8, run TASKS tasks one after the other (named likewise); each task is
 * entered and left once on its thread, allocates, frees some and keeps one
 * block (grown by a realloc) live to the end. The main thread sleeps between phases so that the
 * metrics sampler records some samples. Prints one JSON line: the task ids
 * per worker (by worker number) and the bytes each kept.
 *
 * usage: chrome_prog NTHREADS TASKS */
#include <memscope.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_THREADS = 64, MAX_TASKS = 16 };

typedef struct worker {
    int n, ntasks;
    uint64_t ids[MAX_TASKS];
    uint64_t kept;
    void *keep[MAX_TASKS];
} worker;

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void *run(void *arg)
{
    worker *w = arg;
    char name[64];
    snprintf(name, sizeof name, "w%d\"<script>\xff\xfe", w->n);
    memscope_thread_name(name);
    for (int t = 0; t < w->ntasks; t++) {
        snprintf(name, sizeof name, "task %d.%d \"</script>\\\xc3(", w->n, t);
        uint64_t id = memscope_task_create(name, 0);
        w->ids[t] = id;
        memscope_task_enter(id);
        void *tmp[8];
        for (int i = 0; i < 8; i++) {
            tmp[i] = malloc((size_t)(1000 + 100 * w->n + 10 * t + i));
            if (tmp[i])
                memset(tmp[i], 1, 16);
        }
        size_t kept = (size_t)(5000 + 100 * w->n + t);
        w->keep[t] = malloc(kept);
        if (w->keep[t])
            memset(w->keep[t], 2, 16);
        void *grown = realloc(w->keep[t], kept + 3000); /* in place or moving */
        if (grown) {
            w->keep[t] = grown;
            kept += 3000;
        }
        w->kept += kept;
        for (int i = 0; i < 8; i++)
            free(tmp[i]);
        memscope_task_leave();
        memscope_task_end(id);
        nap_ms(2);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 4, ntasks = argc > 2 ? atoi(argv[2]) : 3;
    if (nthreads < 1 || nthreads > MAX_THREADS || ntasks < 1 || ntasks > MAX_TASKS)
        return 2;
    static worker w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    nap_ms(30);
    for (int i = 0; i < nthreads; i++) {
        w[i] = (worker){ .n = i, .ntasks = ntasks };
        if (pthread_create(&th[i], NULL, run, &w[i]))
            return 1;
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    nap_ms(30);
    printf("{\"workers\": [");
    for (int i = 0; i < nthreads; i++) {
        printf("%s{\"n\": %d, \"kept\": %llu, \"tasks\": [", i ? ", " : "", i, (unsigned long long)w[i].kept);
        for (int t = 0; t < ntasks; t++)
            printf("%s%llu", t ? ", " : "", (unsigned long long)w[i].ids[t]);
        printf("]}");
    }
    printf("]}\n");
    return 0;
}
