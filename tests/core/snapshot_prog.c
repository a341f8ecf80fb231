/* The program of test_snapshot.c: takes runtime snapshots while its threads
 * allocate, and prints each snapshot's figures, one line per snapshot:
 *   snap id=N live=N active=N task1=N task2=N ...
 * Modes:
 *   handoff  task A allocates on one thread, task B's thread frees half of
 *            them (and allocates in B), snapshots in between
 *   churn N  N threads churn blocks in tasks (16 tasks per thread, blocks
 *            freed on other threads, addresses handed on between threads);
 *            the main thread takes 40 snapshots while they run
 *   args     bad arguments: prints "null_ok=1" if the queries take NULL, and
 *            "grown=N": what a second snapshot right after a first sees more
 *            live (0: the first one's own memory is not the program's)
 *   exited   2000 short threads, a snapshot after every 100; prints the
 *            number of mappings of the process at the end ("maps=N") */
#include <memscope.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXT 64
static uint64_t tasks[MAXT * 64];
static size_t ntasks;

static void print(memscope_snapshot_t *s)
{
    printf("snap id=%llu live=%llu active=%zu", (unsigned long long)memscope_snapshot_id(s),
           (unsigned long long)memscope_snapshot_live_bytes(s), memscope_snapshot_active_tasks(s));
    for (size_t i = 0; i < ntasks; i++)
        printf(" task%llu=%llu", (unsigned long long)tasks[i],
               (unsigned long long)memscope_snapshot_task_live_bytes(s, tasks[i]));
    printf("\n");
}

/* Takes, prints (after the snapshot, so that stdio's buffer is in it from
 * the second snapshot on) and releases a snapshot. */
static void snap(void)
{
    memscope_snapshot_t *s = memscope_snapshot_take();
    if (!s) {
        printf("snapshot failed: %s\n", strerror(errno));
        exit(1);
    }
    print(s);
    memscope_snapshot_release(s);
}

static void *volatile blocks[200];
static void *volatile keep;

static void *in_a(void *arg)
{
    memscope_task_enter(*(uint64_t *)arg);
    for (int i = 0; i < 200; i++)
        blocks[i] = malloc(100 + (size_t)i);
    memscope_task_leave();
    return NULL;
}

static void *in_b(void *arg)
{
    memscope_task_enter(*(uint64_t *)arg);
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    keep = malloc(5000);
    blocks[0] = realloc(blocks[150], 7000); /* a block of A reallocated in B: now B's */
    blocks[150] = NULL;
    memscope_task_leave();
    return NULL;
}

static int handoff(void)
{
    uint64_t a = memscope_task_create("A", 0), b = memscope_task_create("B", a);
    tasks[ntasks++] = a;
    tasks[ntasks++] = b;
    snap();
    pthread_t t;
    pthread_create(&t, NULL, in_a, &a);
    pthread_join(t, NULL);
    snap();
    pthread_create(&t, NULL, in_b, &b);
    pthread_join(t, NULL);
    memscope_task_end(b);
    snap();
    return 0;
}

/* churn: blocks pass between threads through a shared array of slots */
#define SLOTS 4096
static _Atomic(void *) slot[SLOTS];
static atomic_bool stop;
static atomic_uint started;

static void *churn(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg, seed = id * 2654435761u + 1;
    for (unsigned round = 0; !atomic_load(&stop); round++) {
        uint64_t task = tasks[id * 16 + round % 16];
        memscope_task_enter(task);
        for (int i = 0; i < 64; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned k = (seed >> 8) % SLOTS;
            void *nb = malloc(16 + (seed >> 20) % 512);
            void *old = atomic_exchange(&slot[k], nb);
            free(old); /* often another thread's block, of another task */
        }
        memscope_task_leave();
        if (round == 0)
            atomic_fetch_add(&started, 1);
        /* a program's pace, not a benchmark's: one thread decoding the trace
         * keeps up (a snapshot costs the events since the one before) */
        nanosleep(&(struct timespec){ 0, 20000 }, NULL);
    }
    return NULL;
}

static int churn_mode(unsigned n)
{
    if (n > MAXT)
        n = MAXT;
    for (unsigned i = 0; i < n * 16; i++)
        tasks[ntasks++] = memscope_task_create("job", 0);
    pthread_t t[MAXT];
    for (unsigned i = 0; i < n; i++)
        pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)i);
    while (atomic_load(&started) < n)
        ;
    for (int i = 0; i < 40; i++) {
        nanosleep(&(struct timespec){ 0, 2000000 }, NULL); /* the threads churn meanwhile */
        snap(); /* while the threads go on */
        if (i % 8 == 7)
            memscope_task_end(tasks[i]);
    }
    atomic_store(&stop, true);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    for (unsigned k = 0; k < SLOTS; k++)
        free(atomic_exchange(&slot[k], NULL));
    snap();
    return 0;
}

static int args(void)
{
    int ok = memscope_snapshot_live_bytes(NULL) == 0 && memscope_snapshot_task_live_bytes(NULL, 1) == 0 &&
             memscope_snapshot_active_tasks(NULL) == 0 && memscope_snapshot_id(NULL) == 0 &&
             memscope_snapshot_time_ns(NULL) == 0;
    memscope_snapshot_release(NULL);
    memscope_snapshot_t *s = memscope_snapshot_take();
    /* a task id never handed out, and 0 (no task) */
    ok = ok && s && memscope_snapshot_task_live_bytes(s, 999999) == 0 && memscope_snapshot_task_live_bytes(s, 0) == 0;
    memscope_snapshot_release(s);
    /* two snapshots with nothing in between: what the first one allocates
     * for itself (its result, its tables) is no block of the program's, so
     * the second sees no growth ("grown", checked by test_snapshot.c) */
    memscope_snapshot_t *s1 = memscope_snapshot_take(), *s2 = memscope_snapshot_take();
    long long grown = s1 && s2 ? (long long)memscope_snapshot_live_bytes(s2) - (long long)memscope_snapshot_live_bytes(s1)
                               : 1LL << 40;
    int stable = grown == 0;
    memscope_snapshot_release(s1);
    memscope_snapshot_release(s2);
    /* task ids never handed out are refused, though in a thread's block */
    uint64_t t1 = memscope_task_create("x", 0);
    int ids = t1 && memscope_task_enter(t1 + 5) == -EINVAL && memscope_task_end(t1 + 7) == -EINVAL &&
              memscope_task_create("y", t1 + 9) == 0;
    uint64_t t8 = 0;
    for (int i = 0; i < 7; i++)
        t8 = memscope_task_create("z", 0);
    /* the refused end of t1 + 7 left no trace: that task, made now, enters */
    ids = ids && t8 == t1 + 7 && memscope_task_enter(t8) == 0 && memscope_task_leave() == 0;
    printf("null_ok=%d grown=%lld ids_ok=%d\n", ok, grown, ids);
    (void)stable;
    return 0;
}

/* exited: 2000 threads one after the other, each leaving a block of 100
 * bytes, a snapshot after every 100; then the mappings this process has. */
static void *leave_one(void *arg)
{
    (void)arg;
    keep = malloc(100); /* each overwrites the last: all of them stay live */
    return NULL;
}

static int exited(void)
{
    for (int i = 0; i < 2000; i++) {
        pthread_t t;
        pthread_create(&t, NULL, leave_one, NULL);
        pthread_join(t, NULL);
        if (i % 100 == 99)
            snap();
    }
    FILE *f = fopen("/proc/self/maps", "r");
    int lines = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        lines += c == '\n';
    if (f)
        fclose(f);
    printf("maps=%d\n", lines);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "handoff"))
        return handoff();
    if (argc >= 3 && !strcmp(argv[1], "churn"))
        return churn_mode((unsigned)atoi(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "args"))
        return args();
    if (argc >= 2 && !strcmp(argv[1], "exited"))
        return exited();
    if (argc >= 2 && !strcmp(argv[1], "off")) {
        memscope_snapshot_t *s = memscope_snapshot_take();
        printf("off_null=%d errno_enoent=%d\n", s == NULL, errno == ENOENT);
        return 0;
    }
    fprintf(stderr, "usage: snapshot_prog handoff|churn N|args|off\n");
    return 2;
}
