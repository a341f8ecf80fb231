/* Test workload, linked statically with libmemscope_alloc.a. The core tests run
 * it in a child process with the MEMSCOPE_* environment of each test and then
 * decode its trace.
 *
 * Every allocation the workload makes itself has a "tagged" size (size % 1000
 * == 777) so that the tests can count its events exactly among the program's
 * other allocations (stdio, pthread). It prints what it did as
 * "allocs=N frees=N reallocs=N" on stdout.
 *
 * usage: workload stress THREADS ROUNDS | fork | loop | names | dlopen | lifecycle
 *                 | closefds FILE | arenas | small | mainexit | forkfds FILE | forkerrno
 *                 | paced N MS BUSY [LATE] | threads TOTAL ALIVE | signals N | fdexhaust
 *                 | metrics TAIL_MS | tasks THREADS JOBS
 *
 * Every run also makes 50 tagged allocations in a constructor and 50 in a
 * destructor (see run_lifecycle). */
#include <dlfcn.h>
#include <memscope.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t n_alloc, n_free, n_realloc;

static size_t tagged(uint64_t r)
{
    return 777 + (size_t)(r % 9) * 1000;
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void *t_alloc(uint64_t *x)
{
    void *p = malloc(tagged(rnd(x)));
    memset(p, 1, 16);
    atomic_fetch_add(&n_alloc, 1);
    return p;
}

static void t_free(void *p)
{
    free(p);
    atomic_fetch_add(&n_free, 1);
}

/* ---- stress: cross-thread frees through a ring of mailboxes ---------------- */

#define SLOTS 64

typedef struct mailbox {
    pthread_mutex_t lock;
    void *slot[SLOTS];
    int n;
} mailbox_t;

static mailbox_t *boxes;
static int nthreads, rounds;

/* Each thread allocates, keeps a window of blocks, hands half of them to the
 * next thread and frees what the previous thread handed it. Blocks freed by one
 * thread are reused by jemalloc for another thread's allocations. */
static void *stress_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)(id + 1);
    void *mine[32] = { 0 };
    for (int r = 0; r < rounds; r++) {
        int i = (int)(rnd(&x) % 32);
        if (mine[i]) {
            if (rnd(&x) & 1) {
                mailbox_t *b = &boxes[(id + 1) % nthreads];
                pthread_mutex_lock(&b->lock);
                if (b->n < SLOTS) {
                    b->slot[b->n++] = mine[i];
                    mine[i] = NULL;
                }
                pthread_mutex_unlock(&b->lock);
            }
            if (mine[i])
                t_free(mine[i]);
        }
        mine[i] = t_alloc(&x);
        if (r % 7 == 0) {
            void *q = realloc(mine[i], tagged(rnd(&x)));
            if (q) {
                mine[i] = q;
                atomic_fetch_add(&n_realloc, 1);
            }
        }
        mailbox_t *b = &boxes[id];
        pthread_mutex_lock(&b->lock);
        while (b->n > 0)
            t_free(b->slot[--b->n]);
        pthread_mutex_unlock(&b->lock);
    }
    for (int i = 0; i < 32; i++)
        if (mine[i])
            t_free(mine[i]);
    return NULL;
}

static int run_stress(int threads, int n)
{
    nthreads = threads;
    rounds = n;
    boxes = calloc((size_t)threads, sizeof *boxes);
    for (int i = 0; i < threads; i++)
        pthread_mutex_init(&boxes[i].lock, NULL);
    pthread_t th[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, stress_thread, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < threads; i++)
        while (boxes[i].n > 0)
            t_free(boxes[i].slot[--boxes[i].n]);
    free(boxes);
    return 0;
}

/* ---- fork while other threads allocate ------------------------------------ */

static atomic_bool stop;

static void *spin_thread(void *arg)
{
    uint64_t x = (uint64_t)(intptr_t)arg + 12345;
    while (!atomic_load(&stop))
        t_free(t_alloc(&x));
    return NULL;
}

static int run_fork(void)
{
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, spin_thread, (void *)(intptr_t)i);
    usleep(20000);
    char trace[4096];
    int tn = memscope_trace_path(trace, sizeof trace);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t x = 99;
        for (int i = 0; i < 1000; i++)
            t_free(t_alloc(&x));
        /* mappings of the parent's trace left in the child */
        int maps = 0;
        FILE *f = fopen("/proc/self/maps", "r");
        char line[4600];
        while (tn > 0 && f && fgets(line, sizeof line, f))
            maps += strstr(line, trace) != NULL;
        if (f)
            fclose(f);
        printf("child=%d allocs=%llu frees=%llu parent_maps=%d\n", (int)getpid(),
               (unsigned long long)n_alloc, (unsigned long long)n_free, maps);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    printf("parent=%d child_status=%d\n", (int)getpid(), st);
    return 0;
}

/* ---- loop forever (killed by the test) ------------------------------------ */

static int run_loop(void)
{
    pthread_t th;
    pthread_create(&th, NULL, spin_thread, (void *)1);
    spin_thread((void *)2); /* never returns: stop is never set */
    return 0;
}

/* ---- named threads that exit ---------------------------------------------- */

static void *named_thread(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "worker-%d", (int)(intptr_t)arg);
    pthread_setname_np(pthread_self(), name);
    uint64_t x = 7;
    for (int i = 0; i < 100; i++)
        t_free(t_alloc(&x));
    return NULL;
}

static int run_names(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, named_thread, (void *)(intptr_t)i);
        pthread_join(th[i], NULL); /* one at a time: arenas are reused */
    }
    return 0;
}

/* Loads a library after start, then allocates enough to switch chunks: the
 * module map is written again. */
static int run_dlopen(void)
{
    void *h = dlopen("libz.so.1", RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    uint64_t x = 5;
    for (int i = 0; i < 100000; i++)
        t_free(t_alloc(&x));
    dlclose(h);
    return 0;
}

/* Allocations before main, in an atexit handler and in a late destructor: all
 * recorded (50 tagged allocations and frees each). */
static void churn50(void)
{
    uint64_t x = 3;
    for (int i = 0; i < 50; i++)
        t_free(t_alloc(&x));
}

__attribute__((constructor(101))) static void early_ctor(void)
{
    churn50();
}

__attribute__((destructor(101))) static void late_dtor(void)
{
    churn50();
}

static int run_lifecycle(void)
{
    atexit(churn50);
    churn50();
    return 0;
}

/* Closes every descriptor past stderr, as daemons do, then puts a file of its
 * own on fd 1000, where the trace's descriptor was, and allocates enough to
 * need new chunks. memscope must not write into that file. Prints its size. */
/* Allocates a little (so the trace is open), closes every descriptor past
 * stderr, and puts a file of its own, holding "hello", on fd 1000, where the
 * trace's descriptor was. Returns true on error. */
static bool take_over_fd1000(const char *path, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 100; i++)
        t_free(t_alloc(&x));
    for (int fd = 3; fd < 4096; fd++)
        close(fd);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    return fd < 0 || write(fd, "hello", 5) != 5 || dup2(fd, 1000) != 1000;
}

static int run_closefds(const char *path)
{
    uint64_t x = 11;
    if (take_over_fd1000(path, x))
        return 1;
    for (int i = 0; i < 200000; i++)
        t_free(t_alloc(&x));
    struct stat st;
    fstat(1000, &st);
    printf("size=%lld\n", (long long)st.st_size);
    return 0;
}

/* The private jemalloc's mallctl, exported by libmemscope_alloc.a under its
 * renamed name (allocator/privatize-jemalloc.sh). */
int msjem_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

static unsigned my_arena(void)
{
    unsigned a = 0;
    size_t len = sizeof a;
    msjem_mallctl("thread.arena", &a, &len, NULL, 0);
    return a;
}

static void *arena_thread(void *arg)
{
    uint64_t x = 13;
    t_free(t_alloc(&x)); /* the first allocation binds the thread */
    *(unsigned *)arg = my_arena();
    return NULL;
}

/* Two threads one after the other: each gets an arena of its own, and the
 * second gets the first one's, which it left when it exited. */
static int run_arenas(void)
{
    uint64_t x = 17;
    t_free(t_alloc(&x));
    unsigned a1 = 0, a2 = 0;
    pthread_t th;
    pthread_create(&th, NULL, arena_thread, &a1);
    pthread_join(th, NULL);
    pthread_create(&th, NULL, arena_thread, &a2);
    pthread_join(th, NULL);
    printf("main_arena=%u first=%u second=%u\n", my_arena(), a1, a2);
    return 0;
}

/* The main thread ends with pthread_exit while a worker still allocates: the
 * process must end (exit status 0) when the worker returns, as without
 * memscope, and its trace must still reach the exit flush. */
static void *mainexit_thread(void *arg)
{
    (void)arg;
    uint64_t x = 19;
    usleep(50000); /* main is gone by now */
    for (int i = 0; i < 100; i++)
        t_free(t_alloc(&x));
    return NULL;
}

static int run_mainexit(void)
{
    pthread_t th;
    pthread_create(&th, NULL, mainexit_thread, NULL);
    pthread_exit(NULL);
}

/* As closefds, then forks: the child writes to the program's fd 1000 (which
 * is not memscope's trace) and allocates. Prints the file's size afterwards:
 * 5 bytes of the parent and 6 of the child. */
static int run_forkfds(const char *path)
{
    uint64_t x = 23;
    if (take_over_fd1000(path, x))
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 100; i++)
            t_free(t_alloc(&x));
        _exit(pwrite(1000, " child", 6, 5) == 6 ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    struct stat sb;
    fstat(1000, &sb);
    printf("size=%lld child_status=%d\n", (long long)sb.st_size, st);
    return 0;
}

/* fork() succeeds in the child without touching errno, as glibc's does. */
static int run_forkerrno(void)
{
    errno = 0;
    pid_t pid = fork();
    if (pid == 0) {
        int e = errno;
        printf("child_errno=%d\n", e);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return 0;
}

static int run_small(void)
{
    uint64_t x = 1;
    void *keep = t_alloc(&x); /* one leak, on purpose */
    for (int i = 0; i < 1000; i++)
        t_free(t_alloc(&x));
    (void)keep;
    return 0;
}

static void paced_loop(int n, int ms);

/* N blocks of 1000 + i bytes, one every MS milliseconds, on the main thread,
 * never freed (so the report lists each as a leak with its time); with BUSY,
 * a second thread churns small blocks all along. Prints at<i>=<ns> with the
 * CLOCK_MONOTONIC time right after each allocation returned. */
static int run_paced(int n, int ms, bool busy)
{
    pthread_t th;
    if (busy)
        pthread_create(&th, NULL, spin_thread, (void *)(intptr_t)1);
    paced_loop(n, ms);
    if (busy) {
        atomic_store(&stop, true);
        pthread_join(th, NULL);
    }
    return 0;
}

/* Labelled blocks: buf grows by a realloc and is freed, keep leaks; the
 * calls' refusals are printed. */
static int run_vars(void)
{
    char long_name[300];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char *buf = malloc(100);
    printf("track=%d\n", MEMSCOPE_TRACK_TYPED(buf, char *));
    printf("null_einval=%d\n", memscope_track_var(NULL, "x", NULL, NULL, 0) == -EINVAL);
    printf("long_refused=%d\n", memscope_track_var(buf, long_name, NULL, NULL, 0) == -ENAMETOOLONG);
    char *grown = realloc(buf, 50000);
    if (!grown) {
        free(buf);
        return 1;
    }
    memset(grown, 1, 50000);
    free(grown);
    int *keep = malloc(64);
    MEMSCOPE_TRACK(keep);
    keep[0] = 1;
    return 0;
}

/* The arguments of a late paced thread. */
static int late_n, late_ms;

static void *late_thread(void *arg)
{
    (void)arg;
    struct timespec d = { 0, 80000000L };
    nanosleep(&d, NULL);
    paced_loop(late_n, late_ms);
    return NULL;
}

/* The same on a thread whose first allocation comes after 80 ms in which
 * nothing allocates (the helper stops publishing the clock): its first chunk
 * meets the stopped clock. */
static int run_paced_late(int n, int ms)
{
    late_n = n;
    late_ms = ms;
    pthread_t th;
    pthread_create(&th, NULL, late_thread, NULL);
    pthread_join(th, NULL);
    return 0;
}

/* N blocks, one every MS ms, each time printed (see run_paced). */
static void paced_loop(int n, int ms)
{
    char line[64];
    for (int i = 0; i < n; i++) {
        struct timespec d = { 0, (long)ms * 1000000L };
        nanosleep(&d, NULL);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        void *p = malloc(1000 + (size_t)i);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        memset(p, 1, 1000 + (size_t)i);
        /* the allocation happened somewhere in [before, at]: on a loaded
         * machine the thread can lose the CPU on either side of it */
        snprintf(line, sizeof line, "before%d=%llu\nat%d=%llu\n", i,
                 (unsigned long long)t0.tv_sec * 1000000000ull + (unsigned long long)t0.tv_nsec, i,
                 (unsigned long long)t1.tv_sec * 1000000000ull + (unsigned long long)t1.tv_nsec);
        fputs(line, stdout);
    }
}

/* ---- many threads ---------------------------------------------------------- */

static pthread_barrier_t wave;

/* A thread of a wave: waits until the whole wave is alive, then churns. */
static void *wave_thread(void *arg)
{
    uint64_t x = (uint64_t)(intptr_t)arg + 777;
    pthread_barrier_wait(&wave);
    for (int i = 0; i < 20; i++)
        t_free(t_alloc(&x));
    return NULL;
}

/* TOTAL threads, created and destroyed in waves of ALIVE that are all alive
 * at once. */
static int run_threads(int total, int alive)
{
    pthread_t *th = calloc((size_t)alive, sizeof *th);
    if (!th || alive < 1)
        return 1;
    for (int done = 0; done < total; done += alive) {
        int n = total - done < alive ? total - done : alive;
        pthread_barrier_init(&wave, NULL, (unsigned)n);
        for (int i = 0; i < n; i++)
            if (pthread_create(&th[i], NULL, wave_thread, (void *)(intptr_t)(done + i)) != 0)
                return 1;
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&wave);
    }
    free(th);
    printf("threads=%d\n", total);
    return 0;
}

/* ---- signal handlers that allocate ------------------------------------------ */

static _Atomic uint64_t in_handler;

/* A handler that allocates (POSIX does not allow it; programs do it). */
static void alloc_handler(int sig)
{
    (void)sig;
    int saved = errno;
    void *volatile p = malloc(555);
    free(p);
    atomic_fetch_add(&in_handler, 1);
    errno = saved;
}

/* N tagged allocations and frees, each in a task of its own, while a 20 kHz
 * timer signal (SIGALRM) allocates in its handler. The signal is blocked
 * around each of the main loop's heap calls, so that a handler never
 * interrupts malloc: no allocator survives that (jemalloc's and glibc's are
 * not async-signal-safe). It may interrupt the task calls, which write the
 * thread's stream too. */
static int run_signals(int n)
{
    struct sigaction sa = { .sa_handler = alloc_handler };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    sigset_t alrm, old;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    struct itimerval it = { { 0, 50 }, { 0, 50 } };
    setitimer(ITIMER_REAL, &it, NULL);
    uint64_t x = 3;
    for (int i = 0; i < n; i++) {
        uint64_t task = memscope_task_create("signalled job", 0);
        memscope_task_enter(task);
        pthread_sigmask(SIG_BLOCK, &alrm, &old);
        t_free(t_alloc(&x));
        pthread_sigmask(SIG_SETMASK, &old, NULL); /* a pending signal is handled here */
        memscope_task_leave();
        memscope_task_end(task);
        for (volatile int k = 0; k < 200; k++)
            ;
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    printf("handled=%llu\n", (unsigned long long)in_handler);
    return 0;
}

/* Opens /dev/null until no descriptor is left, allocates 200,000 blocks
 * meanwhile (many chunk switches), then closes them again. */
static int run_fdexhaust(void)
{
    static int fds[1 << 16];
    int n = 0;
    while (n < (int)(sizeof fds / sizeof fds[0]) && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
        n++;
    uint64_t x = 11;
    for (int i = 0; i < 200000; i++)
        t_free(t_alloc(&x));
    for (int i = 0; i < n; i++)
        close(fds[i]);
    printf("exhausted=%d\n", n);
    return 0;
}

/* ---- metrics: page touching, a spinning and an idle thread ------------------ */

static _Atomic int metrics_phase; /* 1: the spinner spun its CPU budget; 2: the end */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins until it used 200 ms of CPU, then waits for the end. */
static void *metrics_spinner(void *arg)
{
    (void)arg;
    printf("spin_tid=%ld\n", (long)gettid());
    uint64_t seed = 5;
    t_free(t_alloc(&seed)); /* a stream of its own in the trace */
    volatile uint64_t x = 0;
    while (thread_cpu_ns() < 200000000u)
        for (int i = 0; i < 100000; i++)
            x += (uint64_t)i;
    atomic_store(&metrics_phase, 1);
    while (atomic_load(&metrics_phase) != 2)
        usleep(1000);
    return NULL;
}

/* Sleeps until the end. */
static void *metrics_idler(void *arg)
{
    (void)arg;
    printf("idle_tid=%ld\n", (long)gettid());
    uint64_t seed = 7;
    t_free(t_alloc(&seed));
    while (atomic_load(&metrics_phase) != 2)
        usleep(20000);
    return NULL;
}

/* Touches 32 MiB of fresh pages one MiB every 10 ms while a thread spins
 * and another sleeps, then lives on for `tail_ms` so that the helper samples
 * the end state. Prints the tids and "touched=BYTES". */
static int run_metrics(int tail_ms)
{
    pthread_t spin, idle;
    pthread_create(&spin, NULL, metrics_spinner, NULL);
    pthread_create(&idle, NULL, metrics_idler, NULL);
    fflush(stdout);
    size_t total = (size_t)32 << 20;
    char *p = malloc(total + 777);
    atomic_fetch_add(&n_alloc, 1);
    for (size_t off = 0; off < total; off += (size_t)1 << 20) {
        for (size_t b = off; b < off + ((size_t)1 << 20); b += 4096)
            p[b] = 1;
        usleep(10000);
    }
    while (atomic_load(&metrics_phase) != 1)
        usleep(1000);
    usleep((useconds_t)tail_ms * 1000);
    atomic_store(&metrics_phase, 2);
    pthread_join(spin, NULL);
    pthread_join(idle, NULL);
    printf("touched=%zu\n", total);
    t_free(p);
    return 0;
}

/* ---- tasks: many short tasks on a few threads ------------------------------- */

static int task_jobs;

/* Runs task_jobs jobs, each a task of its own around four tagged mallocs
 * and their frees. */
static void *tasks_thread(void *arg)
{
    uint64_t x = 0x7a5c ^ (uint64_t)(intptr_t)arg;
    for (int i = 0; i < task_jobs; i++) {
        uint64_t task = memscope_task_create("job", 0);
        memscope_task_enter(task);
        void *b[4];
        for (int k = 0; k < 4; k++)
            b[k] = t_alloc(&x);
        for (int k = 0; k < 4; k++)
            t_free(b[k]);
        memscope_task_leave();
        memscope_task_end(task);
    }
    return NULL;
}

/* THREADS threads each running JOBS jobs. Prints "tasks=N". */
static int run_tasks(int threads, int jobs)
{
    pthread_t th[64];
    task_jobs = jobs;
    for (int i = 0; i < threads && i < 64; i++)
        pthread_create(&th[i], NULL, tasks_thread, (void *)(intptr_t)i);
    for (int i = 0; i < threads && i < 64; i++)
        pthread_join(th[i], NULL);
    printf("tasks=%d\n", threads * jobs);
    return 0;
}

int main(int argc, char **argv)
{
    int r = 2;
    if (argc >= 4 && strcmp(argv[1], "stress") == 0)
        r = run_stress(atoi(argv[2]), atoi(argv[3]));
    else if (argc >= 2 && strcmp(argv[1], "fork") == 0)
        r = run_fork();
    else if (argc >= 2 && strcmp(argv[1], "loop") == 0)
        r = run_loop();
    else if (argc >= 2 && strcmp(argv[1], "names") == 0)
        r = run_names();
    else if (argc >= 3 && strcmp(argv[1], "closefds") == 0)
        r = run_closefds(argv[2]);
    else if (argc >= 2 && strcmp(argv[1], "arenas") == 0)
        r = run_arenas();
    else if (argc >= 2 && strcmp(argv[1], "lifecycle") == 0)
        r = run_lifecycle();
    else if (argc >= 2 && strcmp(argv[1], "dlopen") == 0)
        r = run_dlopen();
    else if (argc >= 2 && strcmp(argv[1], "small") == 0)
        r = run_small();
    else if (argc >= 2 && strcmp(argv[1], "mainexit") == 0)
        r = run_mainexit();
    else if (argc >= 3 && strcmp(argv[1], "forkfds") == 0)
        r = run_forkfds(argv[2]);
    else if (argc >= 2 && strcmp(argv[1], "forkerrno") == 0)
        r = run_forkerrno();
    else if (argc >= 4 && strcmp(argv[1], "threads") == 0)
        r = run_threads(atoi(argv[2]), atoi(argv[3]));
    else if (argc >= 2 && strcmp(argv[1], "fdexhaust") == 0)
        r = run_fdexhaust();
    else if (argc >= 3 && strcmp(argv[1], "signals") == 0)
        r = run_signals(atoi(argv[2]));
    else if (argc >= 6 && strcmp(argv[1], "paced") == 0 && atoi(argv[5]))
        r = run_paced_late(atoi(argv[2]), atoi(argv[3]));
    else if (argc >= 2 && strcmp(argv[1], "vars") == 0)
        r = run_vars();
    else if (argc >= 3 && strcmp(argv[1], "metrics") == 0)
        r = run_metrics(atoi(argv[2]));
    else if (argc >= 4 && strcmp(argv[1], "tasks") == 0)
        r = run_tasks(atoi(argv[2]), atoi(argv[3]));
    else if (argc >= 5 && strcmp(argv[1], "paced") == 0)
        r = run_paced(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]) != 0);

    else
        fprintf(stderr, "usage: workload stress T N | fork | loop | names | small\n");
    if (r == 0)
        printf("allocs=%llu frees=%llu reallocs=%llu\n", (unsigned long long)n_alloc,
               (unsigned long long)n_free, (unsigned long long)n_realloc);
    return r;
}
