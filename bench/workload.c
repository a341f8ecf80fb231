/* bench-worker: runs one allocation workload and prints how long its hot loop took.
 *
 * This one source is compiled into one executable per allocator
 * (bench-worker-glibc, bench-worker-jemalloc, bench-worker-memscope); the
 * allocator is chosen at link time, never here. memscope-bench (bench.c) spawns
 * the workers and reads the result line they print:
 *
 *   bench-result ns_per_op=<core-ns per op> cpu_ns_per_op=<cpu-ns per op>
 *                ops=<ops timed> span_ns=<ns> cores=<n>
 *
 * Usage: bench-worker WORKLOAD THREADS STEPS
 *
 *   churn     every thread keeps a window of CHURN_WINDOW live blocks; a step
 *             frees a random block of the window and mallocs a replacement of
 *             8-512 B, or of up to 64 KiB on one step in 64. One op = one step.
 *   prodcons  threads form producer/consumer pairs joined by a ring; the producer
 *             mallocs a block, the consumer frees it, so every block is freed by
 *             another thread. One op = one block (its malloc and its free).
 *   realloc   every thread grows REALLOC_SLOTS buffers by small reallocs, like a
 *             string builder, and starts a buffer over once it passes
 *             REALLOC_LIMIT. One op = one realloc (or the free and malloc of a
 *             start-over).
 *   tasks     "many short tasks": the THREADS threads are a pool that takes
 *             jobs from one shared queue (an atomic job counter) until
 *             THREADS * STEPS jobs are done; a job is a task of its own
 *             (memscope_task_create, _enter, TASK_ALLOCS mallocs of 8-512 B
 *             and their frees, _leave, _end). One op = one job. Built without
 *             memscope's API (the glibc and jemalloc workers) a job makes no
 *             task call.
 *   tasks-notag  the same jobs without the task calls, in every worker: the
 *             cost of tagging is tasks / tasks-notag of the same mode.
 *   tasks-32, tasks-32-notag  the same with 32 mallocs and frees per job.
 *   snapshot  churn on every thread, and thread 0 takes a runtime snapshot
 *             (memscope_snapshot_take / _release) every SNAPSHOT_EVERY of its
 *             steps; ns_per_op and cpu_ns_per_op are those of the snapshot
 *             calls alone (one op = one snapshot). Only in a memscope worker
 *             built with the snapshot API (BENCH_HAVE_SNAPSHOT).
 *   idle      memory per thread: THREADS threads each make STEPS small
 *             allocations (so that each has its arena and, traced, its
 *             stream), keep one block, and wait; the main thread prints its
 *             RSS (/proc/self/statm) before starting them and once all wait:
 *             "bench-mem threads=N rss_before=B rss_after=B".
 *
 * Timing: every thread sets up, runs a warm-up of max(STEPS/8, WARMUP_MIN) ops,
 * waits on a barrier, and then times its STEPS ops with CLOCK_MONOTONIC. The
 * warm-up floor is there for heaptrack: its recorder stalls for ~0.2 s once
 * the pipe to heaptrack_interpret first fills (a few thousand events in), and
 * that start-up cost must not land in the timed loop. The span is from
 * the first thread's start to the last thread's end, and
 *
 *   ns_per_op = span * min(THREADS, cores) / (total ops of all threads)
 *
 * is core-nanoseconds per op: the time one op keeps one core busy. It equals the
 * per-thread cost of an op when the threads scale perfectly, also with more
 * threads than cores, so it stays flat with THREADS unless the allocator (or the
 * recorder) makes threads wait for each other.
 *
 *   cpu_ns_per_op = process CPU time (CLOCK_PROCESS_CPUTIME_ID) used during the
 *                   span / total ops
 *
 * counts every thread of the process, so it also shows work that the allocator
 * or the recorder moves to a background thread (which ns_per_op does not see
 * while a core is idle). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_MEMSCOPE_API
#include <memscope.h>
#endif

#define CHURN_WINDOW 1024          /* live blocks per thread; a power of two */
#define CHURN_BIG_EVERY 64         /* one step in 64 allocates a big block */
#define CHURN_SMALL_MIN 8
#define CHURN_SMALL_MAX 512
#define CHURN_BIG_MAX (64 * 1024)

#define RING_SIZE 1024             /* blocks in flight per producer/consumer pair */

#define REALLOC_SLOTS 64           /* buffers per thread; a power of two */
#define REALLOC_START 16           /* size of a buffer that starts over */
#define REALLOC_GROW_MAX 128       /* each realloc grows by 1..128 bytes */
#define REALLOC_LIMIT (16 * 1024)  /* a buffer this big starts over */

#define TASK_ALLOCS 4              /* mallocs (and frees) per job of tasks, tasks-notag */
#define TASK_ALLOCS_MAX 32         /* ... of tasks-32, tasks-32-notag */
#define SNAPSHOT_EVERY 1000        /* thread 0's churn steps between two snapshots */

#define WARMUP_MIN 50000           /* fewest warm-up ops per thread */
#define MAX_THREADS 256

/* A single-producer single-consumer ring of blocks. head is written only by the
 * producer and tail only by the consumer, each on its own cache line. */
typedef struct ring {
    _Alignas(64) atomic_size_t head;  /* blocks pushed so far */
    _Alignas(64) atomic_size_t tail;  /* blocks popped so far */
    _Alignas(64) void *slot[RING_SIZE];
} ring_t;

/* What one thread does and what it measured. */
typedef struct worker {
    pthread_t thread;
    unsigned index;           /* 0 .. threads-1 */
    uint64_t steps;           /* timed ops of this thread */
    uint64_t rng;             /* splitmix64 state, seeded from index */
    ring_t *ring;             /* prodcons: the pair's ring */
    uint64_t start_ns;        /* CLOCK_MONOTONIC when the timed loop began */
    uint64_t end_ns;          /* ... and when it ended */
    uint64_t start_cpu_ns;    /* CLOCK_PROCESS_CPUTIME_ID at the same two points */
    uint64_t end_cpu_ns;
} worker_t;

static pthread_barrier_t start_barrier;

/* Returns the time of the given clock in nanoseconds. */
static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns the next number of the thread's deterministic splitmix64 sequence. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Allocates size bytes and writes into the block, or exits if the allocator failed. */
static void *checked_malloc(size_t size)
{
    char *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "bench-worker: malloc(%zu) failed\n", size);
        exit(1);
    }
    p[0] = (char)size;
    return p;
}

/* Returns the number of warm-up ops before a timed loop of `steps` ops. */
static uint64_t warmup_ops(uint64_t steps)
{
    return steps / 8 > WARMUP_MIN ? steps / 8 : WARMUP_MIN;
}

/* Waits on the start barrier, then records the start of the timed loop. */
static void start_timing(worker_t *w)
{
    pthread_barrier_wait(&start_barrier);
    w->start_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    w->start_ns = clock_ns(CLOCK_MONOTONIC);
}

/* Records the end of the timed loop. */
static void stop_timing(worker_t *w)
{
    w->end_ns = clock_ns(CLOCK_MONOTONIC);
    w->end_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* Returns the size of the churn block allocated at step i, drawn from r. */
static size_t churn_size(uint64_t i, uint64_t r)
{
    if (i % CHURN_BIG_EVERY == CHURN_BIG_EVERY - 1)
        return CHURN_SMALL_MAX + 1 + r % (CHURN_BIG_MAX - CHURN_SMALL_MAX);
    return CHURN_SMALL_MIN + r % (CHURN_SMALL_MAX - CHURN_SMALL_MIN + 1);
}

/* Runs `count` churn steps numbered from `first` on the thread's window. */
static void churn_steps(worker_t *w, void **window, uint64_t first, uint64_t count)
{
    for (uint64_t i = first; i < first + count; i++) {
        uint64_t r = rng_next(&w->rng);
        size_t slot = r % CHURN_WINDOW;
        free(window[slot]);
        window[slot] = checked_malloc(churn_size(i, r >> 10));
    }
}

/* Thread body of the churn workload. */
static void *churn_thread(void *arg)
{
    worker_t *w = arg;
    void *window[CHURN_WINDOW];
    for (size_t i = 0; i < CHURN_WINDOW; i++)
        window[i] = checked_malloc(churn_size(i, rng_next(&w->rng)));
    uint64_t warm = warmup_ops(w->steps);
    churn_steps(w, window, 0, warm);
    start_timing(w);
    churn_steps(w, window, warm, w->steps);
    stop_timing(w);
    for (size_t i = 0; i < CHURN_WINDOW; i++)
        free(window[i]);
    return NULL;
}

/* Waits a little while a ring is full or empty: spins briefly, then yields the
 * core so that an oversubscribed machine lets the other side run. */
static void ring_wait(unsigned *spins)
{
    if (++*spins < 64)
        return;
    *spins = 0;
    sched_yield();
}

/* Producer side of prodcons: pushes `count` new blocks into the ring. */
static void produce(worker_t *w, uint64_t count)
{
    ring_t *ring = w->ring;
    size_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    for (uint64_t i = 0; i < count; i++) {
        unsigned spins = 0;
        while (head - tail == RING_SIZE) {
            ring_wait(&spins);
            tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
        }
        uint64_t r = rng_next(&w->rng);
        ring->slot[head % RING_SIZE] =
            checked_malloc(CHURN_SMALL_MIN + r % (CHURN_SMALL_MAX - CHURN_SMALL_MIN + 1));
        head++;
        atomic_store_explicit(&ring->head, head, memory_order_release);
    }
}

/* Consumer side of prodcons: pops and frees `count` blocks from the ring. */
static void consume(worker_t *w, uint64_t count)
{
    ring_t *ring = w->ring;
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    for (uint64_t i = 0; i < count; i++) {
        unsigned spins = 0;
        while (head == tail) {
            ring_wait(&spins);
            head = atomic_load_explicit(&ring->head, memory_order_acquire);
        }
        free(ring->slot[tail % RING_SIZE]);
        tail++;
        atomic_store_explicit(&ring->tail, tail, memory_order_release);
    }
}

/* Thread body of prodcons: even-numbered threads produce, odd ones consume.
 * Both sides of a pair move the same number of blocks, so after the warm-up the
 * ring is empty when the timed loop starts. */
static void *prodcons_thread(void *arg)
{
    worker_t *w = arg;
    void (*move)(worker_t *, uint64_t) = w->index % 2 == 0 ? produce : consume;
    move(w, warmup_ops(w->steps));
    start_timing(w);
    move(w, w->steps);
    stop_timing(w);
    return NULL;
}

/* Runs `count` realloc-growth steps on the thread's buffers. */
static void realloc_steps(worker_t *w, char **buf, size_t *size, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t r = rng_next(&w->rng);
        size_t slot = r % REALLOC_SLOTS;
        if (size[slot] >= REALLOC_LIMIT) {
            free(buf[slot]);
            buf[slot] = checked_malloc(REALLOC_START);
            size[slot] = REALLOC_START;
            continue;
        }
        size_t grown = size[slot] + 1 + (r >> 8) % REALLOC_GROW_MAX;
        char *p = realloc(buf[slot], grown);
        if (p == NULL) {
            fprintf(stderr, "bench-worker: realloc(%zu) failed\n", grown);
            exit(1);
        }
        p[grown - 1] = (char)i;
        buf[slot] = p;
        size[slot] = grown;
    }
}

/* Thread body of the realloc-growth workload. */
static void *realloc_thread(void *arg)
{
    worker_t *w = arg;
    char *buf[REALLOC_SLOTS];
    size_t size[REALLOC_SLOTS];
    for (size_t i = 0; i < REALLOC_SLOTS; i++) {
        buf[i] = checked_malloc(REALLOC_START);
        size[i] = REALLOC_START;
    }
    realloc_steps(w, buf, size, warmup_ops(w->steps));
    start_timing(w);
    realloc_steps(w, buf, size, w->steps);
    stop_timing(w);
    for (size_t i = 0; i < REALLOC_SLOTS; i++)
        free(buf[i]);
    return NULL;
}

/* -- tasks: a pool of threads running short jobs -------------------------- */

static atomic_uint_fast64_t next_job;   /* the shared queue: jobs handed out so far */
static uint64_t jobs_total;             /* jobs of the timed phase */

/* Runs one job: a task (when `tag` and the API is there) doing TASK_ALLOCS
 * mallocs and their frees. */
static void run_job(worker_t *w, bool tag, int allocs)
{
#ifdef BENCH_MEMSCOPE_API
    uint64_t task = 0;
    if (tag) {
        task = memscope_task_create("job", 0);
        memscope_task_enter(task);
    }
#else
    (void)tag;
#endif
    void *b[TASK_ALLOCS_MAX];
    for (int i = 0; i < allocs; i++)
        b[i] = checked_malloc(CHURN_SMALL_MIN + rng_next(&w->rng) % (CHURN_SMALL_MAX - CHURN_SMALL_MIN + 1));
    for (int i = 0; i < allocs; i++)
        free(b[i]);
#ifdef BENCH_MEMSCOPE_API
    if (tag) {
        memscope_task_leave();
        memscope_task_end(task);
    }
#endif
}

/* Pool thread: its warm-up jobs, then jobs from the queue until none is left. */
static void pool_run(worker_t *w, bool tag, int allocs)
{
    for (uint64_t i = warmup_ops(w->steps); i > 0; i--)
        run_job(w, tag, allocs);
    start_timing(w);
    while (atomic_fetch_add_explicit(&next_job, 1, memory_order_relaxed) < jobs_total)
        run_job(w, tag, allocs);
    stop_timing(w);
}

static void *tasks_thread(void *arg)
{
    pool_run(arg, true, TASK_ALLOCS);
    return NULL;
}

static void *tasks_notag_thread(void *arg)
{
    pool_run(arg, false, TASK_ALLOCS);
    return NULL;
}

static void *tasks32_thread(void *arg)
{
    pool_run(arg, true, TASK_ALLOCS_MAX);
    return NULL;
}

static void *tasks32_notag_thread(void *arg)
{
    pool_run(arg, false, TASK_ALLOCS_MAX);
    return NULL;
}

/* -- snapshot: the runtime snapshot's cost -------------------------------- */

static uint64_t snapshot_ns, snapshot_cpu_ns, snapshots; /* thread 0's snapshot calls */

#ifdef BENCH_HAVE_SNAPSHOT
/* Returns the calling thread's CPU time in nanoseconds. */
static uint64_t thread_cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}
#endif

/* Thread body of the snapshot workload: churn, and on thread 0 a snapshot
 * every SNAPSHOT_EVERY steps, timed on its own. */
static void *snapshot_thread(void *arg)
{
    worker_t *w = arg;
    void *window[CHURN_WINDOW];
    for (size_t i = 0; i < CHURN_WINDOW; i++)
        window[i] = checked_malloc(churn_size(i, rng_next(&w->rng)));
    uint64_t warm = warmup_ops(w->steps);
    churn_steps(w, window, 0, warm);
    start_timing(w);
    for (uint64_t done = 0; done < w->steps; done += SNAPSHOT_EVERY) {
        uint64_t n = w->steps - done < SNAPSHOT_EVERY ? w->steps - done : SNAPSHOT_EVERY;
        churn_steps(w, window, warm + done, n);
#ifdef BENCH_HAVE_SNAPSHOT
        if (w->index == 0) {
            uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = thread_cpu_ns();
            memscope_snapshot_t *snap = memscope_snapshot_take();
            memscope_snapshot_release(snap);
            snapshot_cpu_ns += thread_cpu_ns() - c0;
            snapshot_ns += clock_ns(CLOCK_MONOTONIC) - t0;
            snapshots++;
        }
#endif
    }
    stop_timing(w);
    for (size_t i = 0; i < CHURN_WINDOW; i++)
        free(window[i]);
    return NULL;
}

/* -- idle: memory per thread ----------------------------------------------- */

static pthread_barrier_t idle_ready, idle_done;

/* Resident set of the process in bytes (/proc/self/statm), 0 if unknown. */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Thread body of the idle workload: STEPS small allocations, one kept, then
 * waits until the main thread measured. */
static void *idle_thread(void *arg)
{
    worker_t *w = arg;
    void *keep = NULL;
    for (uint64_t i = 0; i < w->steps; i++) {
        free(keep);
        keep = checked_malloc(CHURN_SMALL_MIN + rng_next(&w->rng) % 128);
    }
    pthread_barrier_wait(&idle_ready);
    pthread_barrier_wait(&idle_done);
    free(keep);
    return NULL;
}

/* Runs the idle workload and prints its bench-mem line. */
static int run_idle(uint64_t threads, uint64_t steps)
{
    static worker_t workers[MAX_THREADS];
    pthread_barrier_init(&idle_ready, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&idle_done, NULL, (unsigned)threads + 1);
    free(checked_malloc(64)); /* the main thread's own arena and stream first */
    uint64_t before = rss_bytes();
    for (unsigned i = 0; i < threads; i++) {
        workers[i] = (worker_t){ .index = i, .steps = steps, .rng = 0x1d1e0000u + i };
        int rc = pthread_create(&workers[i].thread, NULL, idle_thread, &workers[i]);
        if (rc != 0) {
            fprintf(stderr, "bench-worker: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    pthread_barrier_wait(&idle_ready);
    uint64_t after = rss_bytes();
    pthread_barrier_wait(&idle_done);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(workers[i].thread, NULL);
    printf("bench-mem threads=%llu rss_before=%llu rss_after=%llu\n", (unsigned long long)threads,
           (unsigned long long)before, (unsigned long long)after);
    return before && after ? 0 : 1;
}

/* A workload the worker can run: its name, thread body, and whether its threads
 * come in producer/consumer pairs. */
typedef struct workload {
    const char *name;
    void *(*body)(void *);
    bool pairs;               /* THREADS must be even, one ring per pair */
} workload_t;

static const workload_t workloads[] = {
    { "churn", churn_thread, false },
    { "prodcons", prodcons_thread, true },
    { "realloc", realloc_thread, false },
    { "tasks", tasks_thread, false },
    { "tasks-notag", tasks_notag_thread, false },
    { "tasks-32", tasks32_thread, false },
    { "tasks-32-notag", tasks32_notag_thread, false },
    { "snapshot", snapshot_thread, false },
    { "idle", idle_thread, false },
};

/* Parses a positive decimal number no greater than max; returns 0 on error. */
static uint64_t parse_count(const char *s, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || v > max)
        return 0;
    return v;
}

/* Returns the number of CPUs this process may run on. */
static unsigned usable_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? (unsigned)n : 1;
}

/* Entry point: parses WORKLOAD THREADS STEPS, runs the threads, prints the result. */
int main(int argc, char **argv)
{
    const workload_t *wl = NULL;
    for (size_t i = 0; argc == 4 && i < sizeof workloads / sizeof workloads[0]; i++)
        if (strcmp(argv[1], workloads[i].name) == 0)
            wl = &workloads[i];
    uint64_t threads = argc == 4 ? parse_count(argv[2], MAX_THREADS) : 0;
    uint64_t steps = argc == 4 ? parse_count(argv[3], UINT64_MAX / MAX_THREADS) : 0;
    if (wl == NULL || threads == 0 || steps == 0 || (wl->pairs && threads % 2 != 0)) {
        fprintf(stderr, "usage: %s churn|prodcons|realloc|tasks|tasks-notag|tasks-32|tasks-32-notag|snapshot|idle THREADS STEPS\n"
                        "(prodcons needs an even THREADS)\n", argv[0]);
        return 2;
    }
    if (wl->body == idle_thread)
        return run_idle(threads, steps);
#ifndef BENCH_HAVE_SNAPSHOT
    if (wl->body == snapshot_thread) {
        fprintf(stderr, "%s: built without memscope's snapshot API\n", argv[0]);
        return 3;
    }
#endif
    jobs_total = steps * threads;

    static worker_t workers[MAX_THREADS];
    ring_t *rings = NULL;
    if (wl->pairs) {
        rings = aligned_alloc(_Alignof(ring_t), sizeof(ring_t) * (threads / 2));
        if (rings == NULL) {
            fprintf(stderr, "bench-worker: no memory for the rings\n");
            return 1;
        }
        for (uint64_t i = 0; i < threads / 2; i++) {
            atomic_init(&rings[i].head, 0);
            atomic_init(&rings[i].tail, 0);
        }
    }
    pthread_barrier_init(&start_barrier, NULL, (unsigned)threads);
    for (unsigned i = 0; i < threads; i++) {
        workers[i] = (worker_t){ .index = i, .steps = steps,
                                 .rng = 0x5eed0000u + i,
                                 .ring = rings ? &rings[i / 2] : NULL };
        int rc = pthread_create(&workers[i].thread, NULL, wl->body, &workers[i]);
        if (rc != 0) {
            fprintf(stderr, "bench-worker: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    uint64_t first = UINT64_MAX, last = 0, first_cpu = UINT64_MAX, last_cpu = 0;
    for (unsigned i = 0; i < threads; i++) {
        const worker_t *w = &workers[i];
        pthread_join(w->thread, NULL);
        first = w->start_ns < first ? w->start_ns : first;
        last = w->end_ns > last ? w->end_ns : last;
        first_cpu = w->start_cpu_ns < first_cpu ? w->start_cpu_ns : first_cpu;
        last_cpu = w->end_cpu_ns > last_cpu ? w->end_cpu_ns : last_cpu;
    }
    pthread_barrier_destroy(&start_barrier);
    free(rings);

    /* A pair moves one block per op between its two threads. */
    uint64_t ops = wl->pairs ? steps * (threads / 2) : steps * threads;
    unsigned cores = usable_cores();
    uint64_t busy = threads < cores ? threads : cores;
    uint64_t span = last - first;
    if (wl->body == snapshot_thread) {
        /* the snapshot calls alone, on the thread that made them */
        if (snapshots == 0) {
            fprintf(stderr, "bench-worker: no snapshot taken (STEPS < %d)\n", SNAPSHOT_EVERY);
            return 1;
        }
        printf("bench-result ns_per_op=%.3f cpu_ns_per_op=%.3f ops=%llu span_ns=%llu cores=%u\n",
               (double)snapshot_ns / (double)snapshots, (double)snapshot_cpu_ns / (double)snapshots,
               (unsigned long long)snapshots, (unsigned long long)snapshot_ns, cores);
        return 0;
    }
    printf("bench-result ns_per_op=%.3f cpu_ns_per_op=%.3f ops=%llu span_ns=%llu cores=%u\n",
           (double)span * (double)busy / (double)ops,
           (double)(last_cpu - first_cpu) / (double)ops, (unsigned long long)ops,
           (unsigned long long)span, cores);
    return 0;
}
