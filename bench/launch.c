/* memscope-bench: the modes and workloads, and how one measurement runs:
 * the process is spawned with the mode's environment (and preload, or under
 * heaptrack), waited for with wait4 (rusage: peak RSS), and the traces it
 * left are measured in a forked child (see count_dir_isolated). */
#include "export.h" /* msx_analyze_trace: events and stream bytes of a trace */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#ifndef BENCH_WORKER_GLIBC
#error "bench/meson.build defines the BENCH_* paths"
#endif

extern char **environ;

/* Each allocator's worker and preload library (paths from bench/meson.build). */
const alloc_desc_t bench_allocs[ALLOC_KINDS] = {
    [ALLOC_GLIBC] = { BENCH_WORKER_GLIBC, "" },
    [ALLOC_JEMALLOC] = { BENCH_WORKER_JEMALLOC, BENCH_JEMALLOC_SO },
    [ALLOC_MEMSCOPE] = { BENCH_WORKER_MEMSCOPE, BENCH_MEMSCOPE_SO },
};

/* The modes. Adding one: a line here and MODE_COUNT (bench.h) one more. */
const bench_mode_t bench_modes[MODE_COUNT] = {
    /* name         allocator        environment            heaptrack divisor */
    { "glibc",      ALLOC_GLIBC,     NULL,                  false,    1 },
    { "jemalloc",   ALLOC_JEMALLOC,  NULL,                  false,    1 },
    { "off",        ALLOC_MEMSCOPE,  "MEMSCOPE_MODE=off",   false,    1 },
    { "full",       ALLOC_MEMSCOPE,  "MEMSCOPE_MODE=full",  false,    1 },
    { "full+stacks", ALLOC_MEMSCOPE, "MEMSCOPE_MODE=full MEMSCOPE_STACK_DEPTH=16", false, 1 },
    { "sampled",    ALLOC_MEMSCOPE,  "MEMSCOPE_MODE=sampled", false, 1 },
    { "sampled+stacks", ALLOC_MEMSCOPE, "MEMSCOPE_MODE=sampled MEMSCOPE_STACK_DEPTH=16", false, 1 },
    { "heaptrack",  ALLOC_GLIBC,     NULL,                  true,     16 },
};

/* The workloads. Adding one: a line here and WORKLOAD_COUNT (bench.h) one more. */
const bench_workload_t bench_workloads[WORKLOAD_COUNT] = {
    { "churn",    1, 2000000, 200000, "step: free a random block, malloc another", NULL, NULL, false },
    { "churn",    2, 2000000, 200000, "step: free a random block, malloc another", NULL, NULL, false },
    { "churn",    8,  500000,  50000, "step: free a random block, malloc another", NULL, NULL, false },
    { "prodcons", 2, 1000000, 100000, "block: malloc on one thread, free on another", NULL, NULL, false },
    { "realloc",  1, 2000000, 200000, "step: grow a buffer by realloc", NULL, NULL, false },
    { "tasks",    4,  500000,  50000, "job: a task (create, enter, 4 mallocs and frees, leave, end) "
      "on a pool thread", NULL, NULL, false },
    { "tasks-notag", 4, 500000, 50000, "job: the same 4 mallocs and frees, no task call", NULL, NULL, false },
    { "tasks-32", 4, 100000, 10000, "job: a task (create, enter, 32 mallocs and frees, leave, end) "
      "on a pool thread", NULL, NULL, false },
    { "tasks-32-notag", 4, 100000, 10000, "job: the same 32 mallocs and frees, no task call", NULL, NULL, false },
    { "snapshot", 2,  400000,  40000, "snapshot: memscope_snapshot_take + _release, after 1000 "
      "churn steps of its thread", NULL, NULL, true },
    { "sqlite",   1, 0, 0, "run of the whole sqlite3 process",
      "sqlite3 -bail :memory:", BENCH_SQLITE_SQL, false },
};

_Static_assert(sizeof bench_modes / sizeof bench_modes[0] == MODE_COUNT, "MODE_COUNT");
_Static_assert(sizeof bench_workloads / sizeof bench_workloads[0] == WORKLOAD_COUNT, "WORKLOAD_COUNT");

char bench_export_trace[PATH_LEN];
uint64_t bench_export_trace_events;
static unsigned run_serial;   /* numbers the run directories */

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
    const alloc_desc_t *a = &bench_allocs[m->alloc];
    if (w->snapshot && m->alloc != ALLOC_MEMSCOPE)
        return "memscope's snapshot only";
#ifndef BENCH_HAVE_SNAPSHOT
    if (w->snapshot)
        return "memscope.h has no memscope_snapshot_take yet";
#endif
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
bool bench_scrubbed(const char *var)
{
    return strncmp(var, "MEMSCOPE_", 9) == 0 || strncmp(var, "LD_PRELOAD=", 11) == 0 ||
           strncmp(var, "MALLOC_PERTURB_=", 16) == 0 || strncmp(var, "MALLOC_CHECK_=", 14) == 0;
}
/* Computes heaptrack's event count (allocations, plus frees = allocations not
 * leaked) from the statistics heaptrack prints on stderr. Returns 0 if absent. */
static uint64_t heaptrack_events(const char *stderr_path)
{
    char buf[65536];
    if (bench_read_small_file(stderr_path, buf, sizeof buf) < 0)
        return 0;
    const char *stats = strstr(buf, "heaptrack stats:");
    double allocations, leaked;
    if (stats == NULL || !bench_find_number(stats, "\tallocations:", &allocations) ||
        !bench_find_number(stats, "leaked allocations:", &leaked) || allocations < leaked)
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
        if (e->d_name[0] == '.' || !bench_path_join(path, sizeof path, dir, e->d_name))
            continue;
        if (len < 8 || strcmp(e->d_name + len - 8, ".msgpack") != 0) {
            long long n = bench_file_size(path);
            c->other_bytes += n > 0 ? n : 0;
            continue;
        }
        msx_report *one = NULL;
        char err[512];
        if (msx_analyze_trace(path, NULL, NULL, &one, err, sizeof err) != 0) {
            bench_note("%s", err);
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
        bench_note("pipe: %s", strerror(errno));
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
        bench_note("fork: %s", strerror(errno));
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
    if (c.biggest_events > bench_export_trace_events) {
        char kept[PATH_LEN];
        if (bench_path_join(kept, sizeof kept, bench_tmp_root, "export.msgpack") &&
            rename(c.biggest, kept) == 0) {
            memcpy(bench_export_trace, kept, sizeof bench_export_trace);
            bench_export_trace_events = c.biggest_events;
        }
    }
    return c.events > 0 ? (double)c.stream_bytes / (double)c.events : -1;
}

/* Spawns argv with env, stdin from in_path, stdout and stderr to the given
 * files, and waits for it. Stores its rusage and wall time. Returns true if it
 * exited with status 0. */
bool bench_spawn_wait(char **argv, char **env, const char *in_path, const char *out_path,
                       const char *err_path, struct rusage *ru, uint64_t *wall_ns)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in_path, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    uint64_t t0 = bench_now_ns();
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        bench_note("cannot run %s: %s", argv[0], strerror(rc));
        return false;
    }
    bench_running_child = pid;
    int status = 0;
    while (wait4(pid, &status, 0, ru) < 0 && errno == EINTR)
        ;
    *wall_ns = bench_now_ns() - t0;
    bench_running_child = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFSIGNALED(status))
        bench_note("%s killed by signal %d", argv[0], WTERMSIG(status));
    else
        bench_note("%s exited with status %d", argv[0], WEXITSTATUS(status));
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
    if (!bench_path_join(dir, sizeof dir, bench_tmp_root, name) ||
        !bench_path_join(out_dir, sizeof out_dir, dir, "out") ||
        !bench_path_join(stdout_path, sizeof stdout_path, dir, "stdout") ||
        !bench_path_join(stderr_path, sizeof stderr_path, dir, "stderr") ||
        !bench_path_join(ht_out, sizeof ht_out, out_dir, "heaptrack") ||
        mkdir(dir, 0700) != 0 || mkdir(out_dir, 0700) != 0) {
        bench_note("cannot create %s: %s", out_dir, strerror(errno));
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
        argv[argc++] = (char *)bench_allocs[m->alloc].worker;
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
        if (!bench_scrubbed(*e))
            env[envc++] = *e;
    if (m->env)
        envc += split_words(m->env, mode_env, sizeof mode_env, env + envc, 32);
    snprintf(output, sizeof output, "MEMSCOPE_OUTPUT=%s", out_dir);
    env[envc++] = output;
    if (w->command != NULL && bench_allocs[m->alloc].preload[0] != '\0' && !m->heaptrack) {
        snprintf(preload, sizeof preload, "LD_PRELOAD=%s", bench_allocs[m->alloc].preload);
        env[envc++] = preload;
    }
    env[envc] = NULL;

    struct rusage ru;
    uint64_t wall;
    bool ok = bench_spawn_wait(argv, env, w->command ? w->input : "/dev/null",
                         w->command ? "/dev/null" : stdout_path, stderr_path, &ru, &wall);
    if (ok && w->command == NULL) {
        char buf[65536];
        const char *line;
        ok = bench_read_small_file(stdout_path, buf, sizeof buf) > 0 &&
             (line = strstr(buf, "bench-result ")) != NULL &&
             bench_find_number(line, " ns_per_op=", &r->ns_per_op) &&
             bench_find_number(line, "cpu_ns_per_op=", &r->cpu_ns_per_op);
        if (!ok)
            bench_note("%s printed no bench-result line", argv[0]);
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
        bench_show_stderr_tail(stderr_path);
    }
    bench_remove_tree(dir);
}
/* Runs every selected mode on workload w, interleaved, and fills rows[]. */
void bench_run_workload(const bench_workload_t *w, const settings_t *s, row_t rows[MODE_COUNT])
{
    size_t order[MODE_COUNT], n = 0;
    for (size_t i = 0; i < MODE_COUNT; i++) {
        rows[i] = (row_t){ .ratio = -1, .bytes_per_event = -1 };
        if (!bench_selected(s->only_modes, bench_modes[i].name)) {
            rows[i].why_not = "not selected";
            continue;
        }
        rows[i].why_not = unavailable(w, &bench_modes[i]);
        rows[i].available = rows[i].why_not == NULL;
        if (rows[i].available)
            order[n++] = i;
    }
    for (unsigned rep = 0; rep < s->repeats && !bench_interrupted; rep++) {
        for (size_t k = 0; k < n && !bench_interrupted; k++) {
            size_t i = order[(k + rep) % n];
            row_t *row = &rows[i];
            run_result_t r;
            run_one(w, &bench_modes[i], s, &r);
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
    bench_rows_finish(rows);
}
