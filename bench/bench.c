/* memscope-bench: the overhead, scaling, trace-size and export-speed harness.
 * This file is the driver (command line, temporary directory, signals, the
 * table loop) and the small helpers; launch.c runs measurements, results.c
 * aggregates and prints them (bench.h lists who defines what).
 *
 * It runs every workload of `bench_workloads[]` under every mode of `bench_modes[]`, in the
 * same run and on the same machine, and prints one row per (workload, mode):
 * time per op (median, min and max of interleaved repeats), the ratio to bare
 * jemalloc of the same run, CPU time per op, trace bytes per event and peak
 * RSS. An export section then times `memscope report` on the biggest memscope
 * trace, a memory section measures memscope's memory per thread (memory.c),
 * and a last section compares the run with the targets of issues 4 and 8
 * (among them the cost of task tagging: full `tasks` / full `tasks-notag`).
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
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

char bench_tmp_root[] = "/tmp/memscope-bench.XXXXXX";
static bool tmp_made;   /* bench_tmp_root exists */
volatile sig_atomic_t bench_interrupted;
volatile pid_t bench_running_child;

/* Prints a message on stderr prefixed with the program name. */
void bench_note(const char *fmt, ...)
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
    bench_interrupted = 1;
    if (bench_running_child > 0)
        kill(bench_running_child, sig);
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
void bench_remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes the temporary directory if it was made. Registered with atexit. */
static void cleanup_tmp(void)
{
    if (tmp_made)
        bench_remove_tree(bench_tmp_root);
}

/* Writes "dir/name" into out (len bytes). Returns false if it did not fit. */
bool bench_path_join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < len;
}

/* Returns CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns true if `name` is one of the comma-separated words of `list`
 * (a NULL list holds every name). */
bool bench_selected(const char *list, const char *name)
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
/* Reads a whole small file into buf (NUL-terminated, cut at len-1 bytes).
 * Returns the bytes read, or -1. */
ssize_t bench_read_small_file(const char *path, char *buf, size_t len)
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
long long bench_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Prints the last lines of a run's stderr file, to explain a failure. */
void bench_show_stderr_tail(const char *path)
{
    char buf[65536];
    ssize_t n = bench_read_small_file(path, buf, sizeof buf);
    if (n <= 0)
        return;
    const char *tail = n > 1500 ? buf + n - 1500 : buf;
    fprintf(stderr, "---- stderr of the failed run (end) ----\n%s\n----\n", tail);
}

/* Finds "key" followed by a number in text and stores the number. Returns true if found. */
bool bench_find_number(const char *text, const char *key, double *out)
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
/* Prints the usage text. */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: memscope-bench [--quick] [--json FILE] [--repeats N]\n"
            "                      [--workload W[,W...]] [--mode M[,M...]]\n"
            "  --quick      fewer steps and repeats (under a minute on 2 cores)\n"
            "  --json FILE  also write the results as JSON\n"
            "  --repeats N  interleaved runs per mode (default 7, quick 3)\n"
            "  --workload   only these workloads (churn, prodcons, realloc, tasks,\n"
            "               tasks-notag, tasks-32, tasks-32-notag, snapshot, sqlite;\n"
            "               idle: memory per thread)\n"
            "  --mode       only these modes (glibc, jemalloc, off, full, full+stacks,\n"
            "               sampled, sampled+stacks, heaptrack)\n");
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
                bench_note("--repeats takes 1..%d", MAX_REPEATS);
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
    if (mkdtemp(bench_tmp_root) == NULL) {
        bench_note("cannot create a temporary directory: %s", strerror(errno));
        return 1;
    }
    tmp_made = true;
    atexit(cleanup_tmp);

    printf("memscope-bench%s: %u interleaved runs per mode; time/op is the median, "
           "ratio is to bare jemalloc\n", s.quick ? " --quick" : "", s.repeats);
    for (size_t i = 0; i < WORKLOAD_COUNT; i++)
        if (bench_selected(s.only_workloads, bench_workloads[i].name) &&
            (i == 0 || strcmp(bench_workloads[i].name, bench_workloads[i - 1].name) != 0))
            printf("  %-9s op = %s\n", bench_workloads[i].name, bench_workloads[i].op);
    putchar('\n');
    bench_print_table_head();

    static row_t rows[WORKLOAD_COUNT][MODE_COUNT];
    bool failed = false;
    for (size_t i = 0; i < WORKLOAD_COUNT && !bench_interrupted; i++) {
        if (!bench_selected(s.only_workloads, bench_workloads[i].name))
            continue;
        bench_run_workload(&bench_workloads[i], &s, rows[i]);
        for (size_t j = 0; j < MODE_COUNT; j++) {
            if (rows[i][j].available || strcmp(rows[i][j].why_not, "not selected") != 0)
                bench_print_row(&bench_workloads[i], &bench_modes[j], &rows[i][j]);
            failed |= rows[i][j].failures > 0;
        }
    }
    if (bench_interrupted) {
        bench_note("interrupted");
        return 130;
    }

    export_result_t e;
    bench_run_export(&s, &e);
    bench_print_export(&e);
    thread_memory_t tm;
    if (bench_selected(s.only_workloads, "idle"))
        bench_run_thread_memory(&s, &tm);
    else
        tm = (thread_memory_t){ .done = false };
    bench_print_thread_memory(&tm);
    bench_print_targets(rows, &e);
    if (s.json_path && !bench_write_json(s.json_path, &s, rows, &e, &tm))
        failed = true;
    return failed ? 1 : 0;
}
