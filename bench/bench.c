/* memscope-bench: the overhead, scaling, trace-size and export-speed harness.
 *
 * It runs every workload of `workloads[]` under every mode of `modes[]`, in the
 * same run and on the same machine, and prints one row per (workload, mode):
 * time per op (median, min and max of interleaved repeats), the ratio to bare
 * jemalloc of the same run, CPU time per op, trace bytes per event and peak
 * RSS. An export section then times `memscope report` on the biggest memscope
 * trace, and a last section compares the run with the targets of issue 4.
 *
 * How a run happens: the driver spawns one process per measurement with
 * posix_spawn and waits for it with wait4, whose rusage gives the peak RSS.
 *   - worker workloads run bench-worker-<allocator> (workload.c), which times its
 *     own hot loop and prints "bench-result ns_per_op=..." on stdout;
 *   - program workloads (sqlite3 running bench/sqlite.sql) are timed from the
 *     spawn to the exit of the whole process, and the allocator is swapped in
 *     with LD_PRELOAD.
 * Repeats are interleaved: repeat r runs every mode once, starting from a mode
 * that moves by one each repeat, so slow drift of the machine hits all modes.
 * Each process writes its trace into a fresh directory under one temporary
 * directory, which is removed at the end.
 *
 * Paths of the programs come from meson (bench/meson.build) as BENCH_* macros;
 * an empty path means that part was not built, and the modes needing it are
 * reported as unavailable. */
#include "export.h" /* msx_analyze_trace: events and stream bytes of a trace */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_WORKER_GLIBC
#error "bench/meson.build defines the BENCH_* paths"
#endif

extern char **environ;

/* The allocators a mode can run on. */
typedef enum alloc_kind { ALLOC_GLIBC, ALLOC_JEMALLOC, ALLOC_MEMSCOPE, ALLOC_KINDS } alloc_kind_t;

/* How each allocator is put under a workload: the worker executable linked
 * with it, and the library to LD_PRELOAD into a program ("" = none needed).
 * An empty worker path means that worker is not built. */
typedef struct alloc_desc {
    const char *worker;
    const char *preload;
} alloc_desc_t;

static const alloc_desc_t allocs[ALLOC_KINDS] = {
    [ALLOC_GLIBC] = { BENCH_WORKER_GLIBC, "" },
    [ALLOC_JEMALLOC] = { BENCH_WORKER_JEMALLOC, BENCH_JEMALLOC_SO },
    [ALLOC_MEMSCOPE] = { BENCH_WORKER_MEMSCOPE, BENCH_MEMSCOPE_SO },
};

/* A mode: one way of running a workload. Adding a mode is one line in modes[]. */
typedef struct bench_mode {
    const char *name;
    alloc_kind_t alloc;   /* the allocator underneath */
    const char *env;      /* space-separated NAME=VALUE settings, or NULL */
    bool heaptrack;       /* run under `heaptrack -o` */
    unsigned divisor;     /* worker steps are divided by this (slow tools) */
} bench_mode_t;

static const bench_mode_t modes[] = {
    /* name         allocator        environment            heaptrack divisor */
    { "glibc",      ALLOC_GLIBC,     NULL,                  false,    1 },
    { "jemalloc",   ALLOC_JEMALLOC,  NULL,                  false,    1 },
    { "off",        ALLOC_MEMSCOPE,  "MEMSCOPE_MODE=off",   false,    1 },
    { "full",       ALLOC_MEMSCOPE,  "MEMSCOPE_MODE=full",  false,    1 },
    /* Slot: "full+stacks", "sampled" and "sampled+stacks" get one line each here
     * (ALLOC_MEMSCOPE with their MEMSCOPE_* settings) once the recorder has
     * stack capture and sampling. */
    { "heaptrack",  ALLOC_GLIBC,     NULL,                  true,     16 },
};

#define MODE_COUNT (sizeof modes / sizeof modes[0])
#define REFERENCE_MODE "jemalloc"   /* ratios are to this mode of the same run */

/* A workload. Worker workloads name a workload of workload.c and give their ops
 * per thread; program workloads give a command line and its stdin, and one op
 * is one run of the whole process. */
typedef struct bench_workload {
    const char *name;
    unsigned threads;
    uint64_t steps;        /* ops per thread, full run (worker workloads) */
    uint64_t quick_steps;  /* ... with --quick */
    const char *op;        /* what one op is, for the table's legend */
    const char *command;   /* program workloads: space-separated command line */
    const char *input;     /* program workloads: file given as stdin */
} bench_workload_t;

static const bench_workload_t workloads[] = {
    { "churn",    1, 2000000, 200000, "step: free a random block, malloc another", NULL, NULL },
    { "churn",    2, 2000000, 200000, "step: free a random block, malloc another", NULL, NULL },
    { "churn",    8,  500000,  50000, "step: free a random block, malloc another", NULL, NULL },
    { "prodcons", 2, 1000000, 100000, "block: malloc on one thread, free on another", NULL, NULL },
    { "realloc",  1, 2000000, 200000, "step: grow a buffer by realloc", NULL, NULL },
    /* Slot: "tasks" (many short tasks) gets a line here, and its body in
     * workload.c, once the recorder's task API exists. */
    { "sqlite",   1, 0, 0, "run of the whole sqlite3 process",
      "sqlite3 -bail :memory:", BENCH_SQLITE_SQL },
};

#define WORKLOAD_COUNT (sizeof workloads / sizeof workloads[0])
#define MAX_REPEATS 101
#define MAX_ARGS 32
#define MAX_ENV 512
#define PATH_LEN 4096

/* What one process run measured. */
typedef struct run_result {
    bool ok;
    double ns_per_op;
    double cpu_ns_per_op;     /* CPU time of the process per op */
    long peak_rss_kb;
    double bytes_per_event;   /* < 0: no trace, or a damaged one */
    bool damaged;             /* a trace had undecodable chunks or dropped events */
} run_result_t;

/* The aggregate of one (workload, mode) row. */
typedef struct row {
    bool available;           /* the mode could run this workload */
    const char *why_not;      /* ... and if not, why */
    unsigned runs, failures;
    unsigned damaged;         /* runs whose trace had undecodable chunks or drops */
    double ns[MAX_REPEATS];   /* ns_per_op of each successful run */
    double cpu[MAX_REPEATS];  /* cpu_ns_per_op of each successful run */
    double bpe[MAX_REPEATS];  /* bytes per event of each successful run, if any */
    long rss[MAX_REPEATS];
    unsigned bpe_runs;
    double median, min, max, ratio, cpu_median, bytes_per_event;
    long peak_rss_kb;
} row_t;

/* The export measurement. */
typedef struct export_result {
    bool done;
    uint64_t events;          /* events of the report's JSON (summary.events or events) */
    uint64_t counted_events;  /* what the bench's own analysis found in the same trace */
    double seconds;           /* median wall time of `memscope report` */
    long peak_rss_kb;         /* median peak RSS of `memscope report` */
    long long json_bytes, html_bytes, bin_bytes;
} export_result_t;

/* Command-line settings. */
typedef struct settings {
    bool quick;
    unsigned repeats;
    unsigned export_repeats;
    const char *json_path;
    const char *only_workloads;   /* comma-separated names, or NULL for all */
    const char *only_modes;
} settings_t;

static char tmp_root[] = "/tmp/memscope-bench.XXXXXX";
static bool tmp_made;
static volatile sig_atomic_t interrupted;
static volatile pid_t running_child;
static unsigned run_serial;

/* Keeps the biggest memscope trace for the export section. */
static char export_trace[PATH_LEN];
static uint64_t export_trace_events;

/* Prints a message on stderr prefixed with the program name. */
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("memscope-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Signal handler: remembers the interruption and passes it to the running child. */
static void on_signal(int sig)
{
    interrupted = 1;
    if (running_child > 0)
        kill(running_child, sig);
}

/* nftw callback that removes one entry of a tree being deleted. */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes a directory tree; errors are ignored (best effort cleanup). */
static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes the temporary directory if it was made. Registered with atexit. */
static void cleanup_tmp(void)
{
    if (tmp_made)
        remove_tree(tmp_root);
}

/* Writes "dir/name" into out (len bytes). Returns false if it did not fit. */
static bool path_join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < len;
}

/* Returns CLOCK_MONOTONIC in nanoseconds. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns true if `name` is one of the comma-separated words of `list`
 * (a NULL list holds every name). */
static bool selected(const char *list, const char *name)
{
    if (list == NULL)
        return true;
    size_t n = strlen(name);
    for (const char *s = list; *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == n && memcmp(s, name, n) == 0)
            return true;
        s += len + (e != NULL);
    }
    return false;
}

/* Returns true if `name` is an executable found on PATH. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[4096];
    for (const char *s = path ? path : "/usr/bin:/bin"; *s;) {
        const char *e = strchr(s, ':');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len > 0 && snprintf(buf, sizeof buf, "%.*s/%s", (int)len, s, name) < (int)sizeof buf &&
            access(buf, X_OK) == 0)
            return true;
        s += len + (e != NULL);
    }
    return false;
}

/* Returns NULL if mode m can run workload w, or a short reason why not. */
static const char *unavailable(const bench_workload_t *w, const bench_mode_t *m)
{
    const alloc_desc_t *a = &allocs[m->alloc];
    if (m->heaptrack && !on_path("heaptrack"))
        return "heaptrack not installed";
    if (w->command == NULL) {
        if (a->worker[0] == '\0')
            return "worker not built for this allocator";
        return access(a->worker, X_OK) == 0 ? NULL : "worker executable missing";
    }
    char prog[256];
    snprintf(prog, sizeof prog, "%.*s", (int)strcspn(w->command, " "), w->command);
    if (!on_path(prog))
        return "program not installed";
    if (a->preload[0] == '\0' && m->alloc != ALLOC_GLIBC)
        return "library to preload not built";
    if (a->preload[0] != '\0' && access(a->preload, R_OK) != 0)
        return "library to preload missing";
    return NULL;
}

/* Splits a space-separated string into out[] (copies in `store`); returns the count. */
static size_t split_words(const char *s, char *store, size_t store_len, char **out, size_t max)
{
    size_t n = 0;
    snprintf(store, store_len, "%s", s);
    for (char *save = NULL, *t = strtok_r(store, " ", &save); t && n < max;
         t = strtok_r(NULL, " ", &save))
        out[n++] = t;
    return n;
}

/* Returns true for inherited variables that would change what is measured:
 * the recorder's settings, a preload, and glibc's malloc debugging. */
static bool scrubbed(const char *var)
{
    return strncmp(var, "MEMSCOPE_", 9) == 0 || strncmp(var, "LD_PRELOAD=", 11) == 0 ||
           strncmp(var, "MALLOC_PERTURB_=", 16) == 0 || strncmp(var, "MALLOC_CHECK_=", 14) == 0;
}

/* Reads a whole small file into buf (NUL-terminated, cut at len-1 bytes).
 * Returns the bytes read, or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Returns the size of the file at path, or -1. */
static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Prints the last lines of a run's stderr file, to explain a failure. */
static void show_stderr_tail(const char *path)
{
    char buf[65536];
    ssize_t n = read_small_file(path, buf, sizeof buf);
    if (n <= 0)
        return;
    const char *tail = n > 1500 ? buf + n - 1500 : buf;
    fprintf(stderr, "---- stderr of the failed run (end) ----\n%s\n----\n", tail);
}

/* Finds "key" followed by a number in text and stores the number. Returns true if found. */
static bool find_number(const char *text, const char *key, double *out)
{
    const char *p = strstr(text, key);
    if (p == NULL)
        return false;
    p += strlen(key);
    while (*p == ' ' || *p == '\t' || *p == ':' || *p == '"')
        p++;
    char *end;
    double v = strtod(p, &end);
    if (end == p)
        return false;
    *out = v;
    return true;
}

/* Computes heaptrack's event count (allocations, plus frees = allocations not
 * leaked) from the statistics heaptrack prints on stderr. Returns 0 if absent. */
static uint64_t heaptrack_events(const char *stderr_path)
{
    char buf[65536];
    if (read_small_file(stderr_path, buf, sizeof buf) < 0)
        return 0;
    const char *stats = strstr(buf, "heaptrack stats:");
    double allocations, leaked;
    if (stats == NULL || !find_number(stats, "\tallocations:", &allocations) ||
        !find_number(stats, "leaked allocations:", &leaked) || allocations < leaked)
        return 0;
    return (uint64_t)(2 * allocations - leaked);
}

/* What the trace files of one run directory hold. */
typedef struct dir_count {
    bool ok;
    uint64_t events, stream_bytes;
    uint64_t bad_chunks;         /* problems the analysis found (damaged chunks, lost or
                                  * dropped events) */
    long long other_bytes;       /* sizes of the files that are not memscope traces */
    uint64_t biggest_events;     /* the memscope trace with the most events ... */
    char biggest[PATH_LEN];      /* ... and its path */
} dir_count_t;

/* Counts the files of dir into *c: memscope traces (*.msgpack) by analysing
 * them with export/, every other file by its size. */
static void count_dir(const char *dir, dir_count_t *c)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    char path[PATH_LEN];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || !path_join(path, sizeof path, dir, e->d_name))
            continue;
        if (len < 8 || strcmp(e->d_name + len - 8, ".msgpack") != 0) {
            long long n = file_size(path);
            c->other_bytes += n > 0 ? n : 0;
            continue;
        }
        msx_report *one = NULL;
        char err[512];
        if (msx_analyze_trace(path, NULL, NULL, &one, err, sizeof err) != 0) {
            note("%s", err);
            continue;
        }
        /* A trace that dropped events is as unusable for the figure as a
         * damaged one: its bytes do not cover the run's events. */
        c->bad_chunks += one->problems_total + one->dropped_events;
        c->events += one->events;
        c->stream_bytes += one->stream_bytes;
        if (one->events > c->biggest_events) {
            c->biggest_events = one->events;
            memcpy(c->biggest, path, sizeof c->biggest);
        }
        msx_report_free(one);
    }
    closedir(d);
    c->ok = true;
}

/* Runs count_dir in a forked child and returns its result through a pipe.
 * Why a child: the analysis maps whole traces, and Linux hands the high-water RSS
 * of the spawning process to every child it spawns later (exec keeps the old
 * mm's peak in the child's ru_maxrss), so the driver must stay small for the
 * peak-RSS column to be the workload's own. */
static void count_dir_isolated(const char *dir, dir_count_t *c)
{
    *c = (dir_count_t){ .ok = false };
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        note("pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        count_dir(dir, c);
        const char *p = (const char *)c;
        for (size_t done = 0; done < sizeof *c;) {
            ssize_t n = write(fds[1], p + done, sizeof *c - done);
            if (n <= 0)
                _exit(1);
            done += (size_t)n;
        }
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    if (pid > 0) {
        char *p = (char *)c;
        for (ssize_t n; got < sizeof *c && (n = read(fds[0], p + got, sizeof *c - got)) != 0;)
            if (n > 0)
                got += (size_t)n;
            else if (errno != EINTR)
                break;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    } else {
        note("fork: %s", strerror(errno));
    }
    close(fds[0]);
    if (got != sizeof *c)
        *c = (dir_count_t){ .ok = false };
}

/* Measures the traces a run left in dir and returns bytes per event, or -1 if
 * there is none. Memscope traces count their stream bytes (FORMAT.md: header +
 * 64 + committed per chunk) against their events; heaptrack's output counts
 * its file size against the events heaptrack reports. A memscope trace with
 * chunks that do not decode, or that dropped events, sets *damaged and gives
 * no figure (its events cannot all be counted). The biggest sound memscope trace seen so far is
 * moved aside for the export section. */
static double measure_traces(const char *dir, bool heaptrack, const char *stderr_path,
                             bool *damaged)
{
    dir_count_t c;
    count_dir_isolated(dir, &c);
    *damaged = c.ok && c.bad_chunks > 0;
    if (!c.ok || *damaged)
        return -1;
    if (heaptrack) {
        uint64_t events = heaptrack_events(stderr_path);
        return events > 0 && c.other_bytes > 0 ? (double)c.other_bytes / (double)events : -1;
    }
    if (c.biggest_events > export_trace_events) {
        char kept[PATH_LEN];
        if (path_join(kept, sizeof kept, tmp_root, "export.msgpack") &&
            rename(c.biggest, kept) == 0) {
            memcpy(export_trace, kept, sizeof export_trace);
            export_trace_events = c.biggest_events;
        }
    }
    return c.events > 0 ? (double)c.stream_bytes / (double)c.events : -1;
}

/* Spawns argv with env, stdin from in_path, stdout and stderr to the given
 * files, and waits for it. Stores its rusage and wall time. Returns true if it
 * exited with status 0. */
static bool spawn_wait(char **argv, char **env, const char *in_path, const char *out_path,
                       const char *err_path, struct rusage *ru, uint64_t *wall_ns)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in_path, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    uint64_t t0 = now_ns();
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        note("cannot run %s: %s", argv[0], strerror(rc));
        return false;
    }
    running_child = pid;
    int status = 0;
    while (wait4(pid, &status, 0, ru) < 0 && errno == EINTR)
        ;
    *wall_ns = now_ns() - t0;
    running_child = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFSIGNALED(status))
        note("%s killed by signal %d", argv[0], WTERMSIG(status));
    else
        note("%s exited with status %d", argv[0], WEXITSTATUS(status));
    return false;
}

/* Runs workload w once under mode m and stores what it measured in *r. */
static void run_one(const bench_workload_t *w, const bench_mode_t *m, const settings_t *s,
                    run_result_t *r)
{
    *r = (run_result_t){ .ok = false, .bytes_per_event = -1 };
    char name[32], dir[PATH_LEN], out_dir[PATH_LEN], stdout_path[PATH_LEN];
    char stderr_path[PATH_LEN], ht_out[PATH_LEN];
    snprintf(name, sizeof name, "run-%u", ++run_serial);
    if (!path_join(dir, sizeof dir, tmp_root, name) ||
        !path_join(out_dir, sizeof out_dir, dir, "out") ||
        !path_join(stdout_path, sizeof stdout_path, dir, "stdout") ||
        !path_join(stderr_path, sizeof stderr_path, dir, "stderr") ||
        !path_join(ht_out, sizeof ht_out, out_dir, "heaptrack") ||
        mkdir(dir, 0700) != 0 || mkdir(out_dir, 0700) != 0) {
        note("cannot create %s: %s", out_dir, strerror(errno));
        return;
    }

    /* argv: [heaptrack -o FILE] program args... */
    char *argv[MAX_ARGS];
    size_t argc = 0;
    char threads[16], steps[32], command[1024];
    if (m->heaptrack) {
        argv[argc++] = "heaptrack";
        argv[argc++] = "-o";
        argv[argc++] = ht_out;
    }
    if (w->command == NULL) {
        uint64_t n = (s->quick ? w->quick_steps : w->steps) / m->divisor;
        snprintf(threads, sizeof threads, "%u", w->threads);
        snprintf(steps, sizeof steps, "%llu", (unsigned long long)(n > 0 ? n : 1));
        argv[argc++] = (char *)allocs[m->alloc].worker;
        argv[argc++] = (char *)w->name;
        argv[argc++] = threads;
        argv[argc++] = steps;
    } else {
        argc += split_words(w->command, command, sizeof command, argv + argc,
                            MAX_ARGS - 1 - argc);
    }
    argv[argc] = NULL;

    /* env: the inherited environment without scrubbed variables, then the
     * mode's settings, the trace directory and the preload. */
    static char *env[MAX_ENV];
    size_t envc = 0;
    char mode_env[1024], output[PATH_LEN + 16], preload[PATH_LEN + 16];
    for (char **e = environ; *e && envc < MAX_ENV - 40; e++)
        if (!scrubbed(*e))
            env[envc++] = *e;
    if (m->env)
        envc += split_words(m->env, mode_env, sizeof mode_env, env + envc, 32);
    snprintf(output, sizeof output, "MEMSCOPE_OUTPUT=%s", out_dir);
    env[envc++] = output;
    if (w->command != NULL && allocs[m->alloc].preload[0] != '\0' && !m->heaptrack) {
        snprintf(preload, sizeof preload, "LD_PRELOAD=%s", allocs[m->alloc].preload);
        env[envc++] = preload;
    }
    env[envc] = NULL;

    struct rusage ru;
    uint64_t wall;
    bool ok = spawn_wait(argv, env, w->command ? w->input : "/dev/null",
                         w->command ? "/dev/null" : stdout_path, stderr_path, &ru, &wall);
    if (ok && w->command == NULL) {
        char buf[65536];
        const char *line;
        ok = read_small_file(stdout_path, buf, sizeof buf) > 0 &&
             (line = strstr(buf, "bench-result ")) != NULL &&
             find_number(line, " ns_per_op=", &r->ns_per_op) &&
             find_number(line, "cpu_ns_per_op=", &r->cpu_ns_per_op);
        if (!ok)
            note("%s printed no bench-result line", argv[0]);
    } else if (ok) {
        r->ns_per_op = (double)wall;
        r->cpu_ns_per_op = 1e9 * (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                           1e3 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    }
    if (ok) {
        r->ok = true;
        r->peak_rss_kb = ru.ru_maxrss;
        r->bytes_per_event = measure_traces(out_dir, m->heaptrack, stderr_path, &r->damaged);
    } else {
        show_stderr_tail(stderr_path);
    }
    remove_tree(dir);
}

/* qsort comparator for doubles. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* qsort comparator for longs. */
static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Returns the median of n doubles (sorts a copy). */
static double median_double(const double *v, unsigned n)
{
    double tmp[MAX_REPEATS];
    memcpy(tmp, v, n * sizeof *v);
    qsort(tmp, n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Returns the median of n longs (sorts a copy; the lower middle one if n is even). */
static long median_long(const long *v, unsigned n)
{
    long tmp[MAX_REPEATS];
    memcpy(tmp, v, n * sizeof *v);
    qsort(tmp, n, sizeof *tmp, cmp_long);
    return tmp[(n - 1) / 2];
}

/* Formats a duration in ns with a unit that keeps 3-4 significant digits. */
static const char *fmt_time(double ns, char *buf, size_t len)
{
    if (ns < 1e4)
        snprintf(buf, len, "%.1f ns", ns);
    else if (ns < 1e7)
        snprintf(buf, len, "%.1f us", ns / 1e3);
    else if (ns < 1e10)
        snprintf(buf, len, "%.1f ms", ns / 1e6);
    else
        snprintf(buf, len, "%.2f s", ns / 1e9);
    return buf;
}

/* Prints the column headings of the results table. */
static void print_table_head(void)
{
    printf("%-9s %3s %-10s %10s %10s %10s %7s %10s %7s %9s\n", "workload", "thr", "mode",
           "time/op", "min", "max", "x jemal", "cpu/op", "B/event", "peak RSS");
}

/* Prints one row of the results table. */
static void print_row(const bench_workload_t *w, const bench_mode_t *m, const row_t *row)
{
    printf("%-9s %3u %-10s ", w->name, w->threads, m->name);
    if (!row->available) {
        printf("(%s)\n", row->why_not);
        return;
    }
    if (row->runs == 0) {
        printf("(all %u runs failed)\n", row->failures);
        return;
    }
    char a[32], b[32], c[32], cpu[32], ratio[16] = "-", bpe[16] = "-";
    if (row->ratio > 0)
        snprintf(ratio, sizeof ratio, "%.2f", row->ratio);
    if (row->bytes_per_event > 0)
        snprintf(bpe, sizeof bpe, "%.2f", row->bytes_per_event);
    printf("%10s %10s %10s %7s %10s %7s %5.1f MiB", fmt_time(row->median, a, sizeof a),
           fmt_time(row->min, b, sizeof b), fmt_time(row->max, c, sizeof c), ratio,
           fmt_time(row->cpu_median, cpu, sizeof cpu), bpe, (double)row->peak_rss_kb / 1024.0);
    if (row->failures)
        printf("  (%u failed)", row->failures);
    if (row->damaged)
        printf("  (%u damaged or incomplete traces)", row->damaged);
    putchar('\n');
}

/* Runs every selected mode on workload w, interleaved, and fills rows[]. */
static void run_workload(const bench_workload_t *w, const settings_t *s, row_t rows[MODE_COUNT])
{
    size_t order[MODE_COUNT], n = 0;
    for (size_t i = 0; i < MODE_COUNT; i++) {
        rows[i] = (row_t){ .ratio = -1, .bytes_per_event = -1 };
        if (!selected(s->only_modes, modes[i].name)) {
            rows[i].why_not = "not selected";
            continue;
        }
        rows[i].why_not = unavailable(w, &modes[i]);
        rows[i].available = rows[i].why_not == NULL;
        if (rows[i].available)
            order[n++] = i;
    }
    for (unsigned rep = 0; rep < s->repeats && !interrupted; rep++) {
        for (size_t k = 0; k < n && !interrupted; k++) {
            size_t i = order[(k + rep) % n];
            row_t *row = &rows[i];
            run_result_t r;
            run_one(w, &modes[i], s, &r);
            if (!r.ok) {
                row->failures++;
                continue;
            }
            row->ns[row->runs] = r.ns_per_op;
            row->cpu[row->runs] = r.cpu_ns_per_op;
            row->rss[row->runs] = r.peak_rss_kb;
            row->runs++;
            row->damaged += r.damaged;
            if (r.bytes_per_event > 0)
                row->bpe[row->bpe_runs++] = r.bytes_per_event;
        }
    }
    for (size_t i = 0; i < MODE_COUNT; i++) {
        row_t *row = &rows[i];
        if (row->runs == 0)
            continue;
        row->median = median_double(row->ns, row->runs);
        row->cpu_median = median_double(row->cpu, row->runs);
        row->min = row->max = row->ns[0];
        for (unsigned j = 1; j < row->runs; j++) {
            row->min = row->ns[j] < row->min ? row->ns[j] : row->min;
            row->max = row->ns[j] > row->max ? row->ns[j] : row->max;
        }
        row->peak_rss_kb = median_long(row->rss, row->runs);
        if (row->bpe_runs)
            row->bytes_per_event = median_double(row->bpe, row->bpe_runs);
    }
    for (size_t i = 0; i < MODE_COUNT; i++)
        if (strcmp(modes[i].name, REFERENCE_MODE) == 0 && rows[i].runs > 0)
            for (size_t j = 0; j < MODE_COUNT; j++)
                if (rows[j].runs > 0)
                    rows[j].ratio = rows[j].median / rows[i].median;
}

/* Skips JSON white space. */
static const char *json_space(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* Returns the value of member `key` of the JSON object that starts at obj, or
 * NULL (also for a NULL obj). Strings and nested values are stepped over, so
 * only the object's own members match. */
static const char *json_member(const char *obj, const char *key)
{
    if (obj == NULL || *obj != '{')
        return NULL;
    size_t klen = strlen(key);
    int depth = 0;
    for (const char *p = obj; *p; p++) {
        if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (--depth == 0)
                return NULL;
        } else if (*p == '"') {
            const char *start = ++p;
            for (; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p == '\0')
                return NULL;
            const char *after = json_space(p + 1);
            if (depth == 1 && *after == ':' && (size_t)(p - start) == klen &&
                memcmp(start, key, klen) == 0)
                return json_space(after + 1);
        }
    }
    return NULL;
}

/* Times `memscope report` on the kept trace and fills *e. */
static void run_export(const settings_t *s, export_result_t *e)
{
    *e = (export_result_t){ .done = false };
    if (BENCH_MEMSCOPE_EXE[0] == '\0' || access(BENCH_MEMSCOPE_EXE, X_OK) != 0) {
        note("export section skipped: the memscope tool is not built");
        return;
    }
    if (export_trace[0] == '\0') {
        note("export section skipped: no memscope trace was recorded");
        return;
    }
    char json[PATH_LEN], html[PATH_LEN], bin[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
    path_join(json, sizeof json, tmp_root, "report.json");
    path_join(html, sizeof html, tmp_root, "report.html");
    path_join(bin, sizeof bin, tmp_root, "report.bin");
    path_join(out, sizeof out, tmp_root, "report.stdout");
    path_join(err, sizeof err, tmp_root, "report.stderr");
    char *argv[] = { BENCH_MEMSCOPE_EXE, "report", export_trace, "--json", json,
                     "--html", html, "--bin", bin, NULL };
    double secs[MAX_REPEATS];
    long rss[MAX_REPEATS];
    unsigned n = 0;
    for (unsigned i = 0; i < s->export_repeats && !interrupted; i++) {
        struct rusage ru;
        uint64_t wall;
        if (!spawn_wait(argv, environ, "/dev/null", out, err, &ru, &wall)) {
            show_stderr_tail(err);
            return;
        }
        rss[n] = ru.ru_maxrss;
        secs[n++] = (double)wall / 1e9;
    }
    if (n == 0)
        return;
    static char text[1 << 20];
    const char *v = NULL;
    char *end = NULL;
    double events = 0;
    if (read_small_file(json, text, sizeof text) > 0) {
        v = json_member(json_member(text, "summary"), "events");
        if (v == NULL)
            v = json_member(text, "events");
    }
    if (v != NULL)
        events = strtod(v, &end);
    if (v == NULL || end == v) {
        note("export section: no summary.events nor events in %s", json);
        return;
    }
    e->done = true;
    e->events = (uint64_t)events;
    e->counted_events = export_trace_events;
    e->seconds = median_double(secs, n);
    e->peak_rss_kb = median_long(rss, n);
    e->json_bytes = file_size(json);
    e->html_bytes = file_size(html);
    e->bin_bytes = file_size(bin);
    if (e->events != e->counted_events)
        note("export: the report says %llu events, the trace holds %llu",
             (unsigned long long)e->events, (unsigned long long)e->counted_events);
}

/* Prints the export section on the terminal. */
static void print_export(const export_result_t *e)
{
    if (!e->done)
        return;
    printf("\nexport: memscope report --json --html --bin on the biggest trace\n");
    printf("  events %llu, %.3f s (median), %.1f M events/s, peak RSS %.1f MiB\n",
           (unsigned long long)e->events, e->seconds, (double)e->events / e->seconds / 1e6,
           (double)e->peak_rss_kb / 1024.0);
    printf("  json %lld B, html %lld B, bin %lld B (%.3g B/event)\n", e->json_bytes,
           e->html_bytes, e->bin_bytes,
           e->events ? (double)e->bin_bytes / (double)e->events : 0.0);
}

/* A goal of issue 4, evaluated on the rows of this run. */
typedef enum target_metric {
    TARGET_RATIO,        /* x jemalloc of full churn at `threads` */
    TARGET_GROWTH,       /* x jemalloc of full churn at `threads` / at 1 thread */
    TARGET_STREAM_BPE,   /* worst bytes/event of the full-mode rows */
    TARGET_BIN_BPE,      /* binary archive bytes / events of the export */
    TARGET_EXPORT_RATE,  /* analysis speed, millions of events per second */
} target_metric_t;

typedef struct target {
    const char *what;
    target_metric_t metric;
    unsigned threads;
    double limit;
    bool at_most;        /* met when value <= limit, else when value >= limit */
} target_t;

static const target_t targets[] = {
    { "full churn 1 thread, x jemalloc", TARGET_RATIO, 1, 1.3, true },
    { "full churn 2 threads, x jemalloc", TARGET_RATIO, 2, 1.3, true },
    { "full churn, x jemalloc at 2 threads / at 1", TARGET_GROWTH, 2, 1.0, true },
    { "full churn, x jemalloc at 8 threads / at 1", TARGET_GROWTH, 8, 1.0, true },
    { "full raw stream, bytes/event (worst row)", TARGET_STREAM_BPE, 0, 8.0, true },
    { "binary archive, bytes/event", TARGET_BIN_BPE, 0, 2.0, true },
    { "analysis, M events/s", TARGET_EXPORT_RATE, 0, 20.0, false },
};

#define TARGET_COUNT (sizeof targets / sizeof targets[0])

/* Returns the ratio to jemalloc of full-mode churn at `threads`, or -1. */
static double full_churn_ratio(row_t rows[WORKLOAD_COUNT][MODE_COUNT], unsigned threads)
{
    for (size_t i = 0; i < WORKLOAD_COUNT; i++)
        for (size_t j = 0; j < MODE_COUNT; j++)
            if (strcmp(workloads[i].name, "churn") == 0 && workloads[i].threads == threads &&
                strcmp(modes[j].name, "full") == 0 && rows[i][j].runs > 0)
                return rows[i][j].ratio;
    return -1;
}

/* Returns the value of target t in this run, or -1 if the run did not measure it. */
static double target_value(const target_t *t, row_t rows[WORKLOAD_COUNT][MODE_COUNT],
                           const export_result_t *e)
{
    double worst = -1, one, many;
    switch (t->metric) {
    case TARGET_RATIO:
        return full_churn_ratio(rows, t->threads);
    case TARGET_GROWTH:
        one = full_churn_ratio(rows, 1);
        many = full_churn_ratio(rows, t->threads);
        return one > 0 && many > 0 ? many / one : -1;
    case TARGET_STREAM_BPE:
        for (size_t i = 0; i < WORKLOAD_COUNT; i++)
            for (size_t j = 0; j < MODE_COUNT; j++)
                if (strcmp(modes[j].name, "full") == 0 && rows[i][j].runs > 0 &&
                    rows[i][j].bytes_per_event > worst)
                    worst = rows[i][j].bytes_per_event;
        return worst;
    case TARGET_BIN_BPE:
        return e->done && e->events > 0 && e->bin_bytes >= 0
                   ? (double)e->bin_bytes / (double)e->events : -1;
    case TARGET_EXPORT_RATE:
        return e->done && e->seconds > 0 ? (double)e->events / e->seconds / 1e6 : -1;
    }
    return -1;
}

/* Returns how far value misses target t, as a fraction of the limit (<= 0: met). */
static double target_miss(const target_t *t, double value)
{
    return t->at_most ? value / t->limit - 1 : 1 - value / t->limit;
}

/* Prints every target with this run's value and whether, or by how much, it is missed. */
static void print_targets(row_t rows[WORKLOAD_COUNT][MODE_COUNT], const export_result_t *e)
{
    printf("\ntargets (issue 4)\n");
    for (size_t i = 0; i < TARGET_COUNT; i++) {
        const target_t *t = &targets[i];
        double v = target_value(t, rows, e);
        printf("  %-46s %s %5.2f  ", t->what, t->at_most ? "<=" : ">=", t->limit);
        if (v < 0)
            printf("  not measured\n");
        else if (target_miss(t, v) <= 0)
            printf("%7.3g  met\n", v);
        else
            printf("%7.3g  missed by %.0f%%\n", v, 100 * target_miss(t, v));
    }
}

/* Writes a JSON number, or null for a missing (negative) value. */
static void json_num(FILE *f, const char *key, double v, const char *sep)
{
    if (v < 0)
        fprintf(f, "\"%s\": null%s", key, sep);
    else
        fprintf(f, "\"%s\": %.3f%s", key, v, sep);
}

/* Writes a JSON string value with quotes and backslashes escaped and control
 * characters dropped (it only carries machine strings and our own names). */
static void json_str(FILE *f, const char *key, const char *v, const char *sep)
{
    fprintf(f, "\"%s\": \"", key);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        if ((unsigned char)*p >= 0x20)
            fputc(*p, f);
    }
    fprintf(f, "\"%s", sep);
}

/* Reads the CPU model name from /proc/cpuinfo into buf. */
static void cpu_model(char *buf, size_t len)
{
    static char info[1 << 16];
    snprintf(buf, len, "unknown");
    if (read_small_file("/proc/cpuinfo", info, sizeof info) <= 0)
        return;
    const char *p = strstr(info, "model name");
    if (p == NULL || (p = strchr(p, ':')) == NULL)
        return;
    p += 2;
    snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Writes the whole result as JSON to path. Returns true on success. */
static bool write_json(const char *path, const settings_t *s,
                       row_t rows[WORKLOAD_COUNT][MODE_COUNT], const export_result_t *e)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        note("cannot write %s: %s", path, strerror(errno));
        return false;
    }
    struct utsname u;
    char model[256], date[64];
    time_t now = time(NULL);
    uname(&u);
    cpu_model(model, sizeof model);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(f, "{\n  \"machine\": {");
    json_str(f, "cpu", model, ", ");
    fprintf(f, "\"cores\": %ld, ", sysconf(_SC_NPROCESSORS_ONLN));
    json_str(f, "kernel", u.release, ", ");
    json_str(f, "date", date, "},\n");
    fprintf(f, "  \"quick\": %s,\n  \"repeats\": %u,\n  \"results\": [",
            s->quick ? "true" : "false", s->repeats);
    const char *sep = "\n";
    for (size_t i = 0; i < WORKLOAD_COUNT; i++) {
        for (size_t j = 0; j < MODE_COUNT; j++) {
            const row_t *row = &rows[i][j];
            if (!row->available || row->runs == 0)
                continue;
            const bench_workload_t *w = &workloads[i];
            fprintf(f, "%s    {", sep);
            json_str(f, "workload", w->name, ", ");
            fprintf(f, "\"threads\": %u, ", w->threads);
            json_str(f, "mode", modes[j].name, ", ");
            json_str(f, "op", w->op, ", ");
            json_num(f, "ns_per_op", row->median, ", ");
            json_num(f, "ns_min", row->min, ", ");
            json_num(f, "ns_max", row->max, ", ");
            json_num(f, "ratio_vs_jemalloc", row->ratio, ", ");
            json_num(f, "cpu_ns_per_op", row->cpu_median, ", ");
            json_num(f, "bytes_per_event", row->bytes_per_event, ", ");
            fprintf(f, "\"peak_rss_kb\": %ld, \"runs\": %u, \"failures\": %u, "
                       "\"damaged_traces\": %u}",
                    row->peak_rss_kb, row->runs, row->failures, row->damaged);
            sep = ",\n";
        }
    }
    fprintf(f, "\n  ],\n  \"export\": ");
    if (e->done)
        fprintf(f, "{\"events\": %llu, \"seconds\": %.4f, \"events_per_sec\": %.0f, "
                   "\"json_bytes\": %lld, \"html_bytes\": %lld, \"bin_bytes\": %lld, "
                   "\"peak_rss_kb\": %ld},\n",
                (unsigned long long)e->events, e->seconds, (double)e->events / e->seconds,
                e->json_bytes, e->html_bytes, e->bin_bytes, e->peak_rss_kb);
    else
        fprintf(f, "null,\n");
    fprintf(f, "  \"targets\": [");
    for (size_t i = 0; i < TARGET_COUNT; i++) {
        const target_t *t = &targets[i];
        double v = target_value(t, rows, e);
        fprintf(f, "%s\n    {", i ? "," : "");
        json_str(f, "target", t->what, ", ");
        fprintf(f, "\"limit\": %.2f, \"at_most\": %s, ", t->limit, t->at_most ? "true" : "false");
        json_num(f, "value", v, ", ");
        fprintf(f, "\"met\": %s}", v < 0 ? "null" : target_miss(t, v) <= 0 ? "true" : "false");
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) == 0;
}

/* Prints the usage text. */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: memscope-bench [--quick] [--json FILE] [--repeats N]\n"
            "                      [--workload W[,W...]] [--mode M[,M...]]\n"
            "  --quick      fewer steps and repeats (under a minute on 2 cores)\n"
            "  --json FILE  also write the results as JSON\n"
            "  --repeats N  interleaved runs per mode (default 7, quick 3)\n"
            "  --workload   only these workloads (churn, prodcons, realloc, sqlite)\n"
            "  --mode       only these modes (glibc, jemalloc, off, full, heaptrack)\n");
}

/* Parses the command line into *s. Returns false (after a message) on a bad one. */
static bool parse_args(int argc, char **argv, settings_t *s)
{
    long repeats = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            s->quick = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (next && strcmp(a, "--json") == 0) {
            s->json_path = argv[++i];
        } else if (next && strcmp(a, "--workload") == 0) {
            s->only_workloads = argv[++i];
        } else if (next && strcmp(a, "--mode") == 0) {
            s->only_modes = argv[++i];
        } else if (next && strcmp(a, "--repeats") == 0) {
            char *end;
            repeats = strtol(argv[++i], &end, 10);
            if (*end != '\0' || repeats < 1 || repeats > MAX_REPEATS) {
                note("--repeats takes 1..%d", MAX_REPEATS);
                return false;
            }
        } else {
            usage(stderr);
            return false;
        }
    }
    s->repeats = repeats ? (unsigned)repeats : s->quick ? 3 : 7;
    s->export_repeats = s->quick ? 1 : 3;
    return true;
}

/* Entry point: runs the selected workloads and modes, prints and writes results. */
int main(int argc, char **argv)
{
    settings_t s = { 0 };
    if (!parse_args(argc, argv, &s))
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (mkdtemp(tmp_root) == NULL) {
        note("cannot create a temporary directory: %s", strerror(errno));
        return 1;
    }
    tmp_made = true;
    atexit(cleanup_tmp);

    printf("memscope-bench%s: %u interleaved runs per mode; time/op is the median, "
           "ratio is to bare jemalloc\n", s.quick ? " --quick" : "", s.repeats);
    for (size_t i = 0; i < WORKLOAD_COUNT; i++)
        if (selected(s.only_workloads, workloads[i].name) &&
            (i == 0 || strcmp(workloads[i].name, workloads[i - 1].name) != 0))
            printf("  %-9s op = %s\n", workloads[i].name, workloads[i].op);
    putchar('\n');
    print_table_head();

    static row_t rows[WORKLOAD_COUNT][MODE_COUNT];
    bool failed = false;
    for (size_t i = 0; i < WORKLOAD_COUNT && !interrupted; i++) {
        if (!selected(s.only_workloads, workloads[i].name))
            continue;
        run_workload(&workloads[i], &s, rows[i]);
        for (size_t j = 0; j < MODE_COUNT; j++) {
            if (rows[i][j].available || strcmp(rows[i][j].why_not, "not selected") != 0)
                print_row(&workloads[i], &modes[j], &rows[i][j]);
            failed |= rows[i][j].failures > 0;
        }
    }
    if (interrupted) {
        note("interrupted");
        return 130;
    }

    export_result_t e;
    run_export(&s, &e);
    print_export(&e);
    print_targets(rows, &e);
    if (s.json_path && !write_json(s.json_path, &s, rows, &e))
        failed = true;
    return failed ? 1 : 0;
}
