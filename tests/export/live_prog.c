/* The traced program of test_live.py: allocates in phases, so that its live
 * heap changes while `memscope live` follows its trace, and after each phase
 * writes what it has live to a status file, then holds still.
 *
 *   live_prog STATUS HOLD_SECONDS [FROM_PHASE]
 *
 * Phases: 0 nothing of its own; 1 a thread named "live-worker", in the task
 * "phase-task", allocates 64 blocks of 64 KiB (grow_worker) and ends; 2 the
 * main thread adds 1000 blocks of 1000 bytes (grow_main); 3 the worker's
 * blocks are freed; 4 the rest are freed. After phase k it appends the line
 * "phase K snapshot S own O" to STATUS: S is memscope_snapshot_live_bytes
 * (what the process has live, computed in the process from its own trace),
 * O the bytes of its own blocks. Then it sleeps HOLD_SECONDS (the phases
 * before FROM_PHASE, 0 by default: 50 ms), allocating nothing. Linked with libmemscope_alloc.a; its output dir is MEMSCOPE_OUTPUT. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memscope.h"

enum { WORKER_BLOCKS = 64, WORKER_SIZE = 64 << 10, MAIN_BLOCKS = 1000, MAIN_SIZE = 1000 };

static void *worker_blocks[WORKER_BLOCKS];
static void *main_blocks[MAIN_BLOCKS];
static uint64_t own;

__attribute__((noinline)) static void grow_worker(void)
{
    for (int i = 0; i < WORKER_BLOCKS; i++) {
        worker_blocks[i] = malloc(WORKER_SIZE);
        memset(worker_blocks[i], 1, WORKER_SIZE);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    memscope_thread_name("live-worker");
    uint64_t task = memscope_task_create("phase-task", 0);
    memscope_task_enter(task);
    grow_worker();
    memscope_task_leave();
    return NULL;
}

__attribute__((noinline)) static void grow_main(void)
{
    for (int i = 0; i < MAIN_BLOCKS; i++)
        main_blocks[i] = malloc(MAIN_SIZE);
}

/* Appends "phase K snapshot S own O" to the status file (no allocation:
 * the line is formatted on the stack, written with write). */
static void report(const char *status, int phase)
{
    memscope_snapshot_t *s = memscope_snapshot_take();
    if (!s) {
        perror("memscope_snapshot_take");
        exit(1);
    }
    char line[128];
    int n = snprintf(line, sizeof line, "phase %d snapshot %llu own %llu\n", phase,
                     (unsigned long long)memscope_snapshot_live_bytes(s), (unsigned long long)own);
    memscope_snapshot_release(s);
    int fd = open(status, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n) {
        perror(status);
        exit(1);
    }
    close(fd);
}

static double hold_s;
static int hold_from;

static void hold(int phase)
{
    double seconds = phase >= hold_from ? hold_s : 0.05;
    struct timespec ts = { .tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: live_prog STATUS HOLD_SECONDS [FROM_PHASE]\n");
        return 2;
    }
    const char *status = argv[1];
    hold_s = atof(argv[2]);
    hold_from = argc == 4 ? atoi(argv[3]) : 0;
    report(status, 0);
    hold(0);

    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 1;
    own += (uint64_t)WORKER_BLOCKS * WORKER_SIZE;
    report(status, 1);
    hold(1);

    grow_main();
    own += (uint64_t)MAIN_BLOCKS * MAIN_SIZE;
    report(status, 2);
    hold(2);

    for (int i = 0; i < WORKER_BLOCKS; i++)
        free(worker_blocks[i]);
    own -= (uint64_t)WORKER_BLOCKS * WORKER_SIZE;
    report(status, 3);
    hold(3);

    for (int i = 0; i < MAIN_BLOCKS; i++)
        free(main_blocks[i]);
    own = 0;
    report(status, 4);
    hold(4);
    return 0;
}
