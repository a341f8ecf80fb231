/* A program for the pprof end-to-end test (test_pprof.py). In the main
 * thread grow_cache allocates 100 blocks of 128,000 bytes and load_table one
 * of 50 MiB, both live at the peak and freed after it; keep_some allocates
 * 10 blocks of 4,096 bytes that stay live to the end. Then two threads with
 * hostile names (a quote and a script tag; bytes that are not UTF-8) each run
 * a task with a hostile name, in which work_items allocates 20 blocks of
 * 1,000 bytes (through new_item, inlined into it) and frees 10. memscope's own functions are looked up at run
 * time (the program runs under `memscope run`, which preloads them). */

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[100];
static void *table;
static void *kept[10];
static void *items[2][20];

static int (*thread_name)(const char *);
static uint64_t (*task_create)(const char *, uint64_t);
static int (*task_enter)(uint64_t);
static int (*task_leave)(void);

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

__attribute__((noinline)) static void keep_some(void)
{
    for (int i = 0; i < 10; i++) {
        kept[i] = malloc(4096);
        memset(kept[i], 1, 16);
    }
}

/* Inlined into work_items: its frame is an inlined call of the same pc. */
static inline __attribute__((always_inline)) void *new_item(void)
{
    void *p = malloc(1000); /* ITEM_LINE */
    memset(p, 1, 16);
    return p;
}

__attribute__((noinline)) static void work_items(int w)
{
    for (int i = 0; i < 20; i++)
        items[w][i] = new_item();
    for (int i = 0; i < 10; i++)
        free(items[w][i]);
}

static void *worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    thread_name(w ? "bad\xff\xfe\xc0name" : "q\"<script>x");
    uint64_t t = task_create(w ? "job\xff" : "job \"</script>\"", 0);
    task_enter(t);
    work_items(w);
    task_leave();
    return NULL;
}

int main(void)
{
    thread_name = (int (*)(const char *))dlsym(RTLD_DEFAULT, "memscope_thread_name");
    task_create = (uint64_t(*)(const char *, uint64_t))dlsym(RTLD_DEFAULT, "memscope_task_create");
    task_enter = (int (*)(uint64_t))dlsym(RTLD_DEFAULT, "memscope_task_enter");
    task_leave = (int (*)(void))dlsym(RTLD_DEFAULT, "memscope_task_leave");
    if (!thread_name || !task_create || !task_enter || !task_leave) {
        fputs("pprof_prog: run it under memscope run\n", stderr);
        return 1;
    }
    grow_cache();
    load_table();
    for (int i = 0; i < 100; i++)
        free(keep[i]);
    free(table);
    keep_some();
    for (int w = 0; w < 2; w++) {
        pthread_t th;
        if (pthread_create(&th, NULL, worker, (void *)(intptr_t)w) != 0 || pthread_join(th, NULL) != 0)
            return 1;
    }
    return 0;
}
