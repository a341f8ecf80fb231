/* memscope-bench: memscope's memory per thread, measured.
 *
 * The idle workload (workload.c) starts THREADS threads that each make a few
 * small allocations (so that each has its allocator arena and, traced, its
 * stream: the first trace chunk, its state, the arena's metadata) and then
 * wait; the worker reads its own RSS (/proc/self/statm) before starting them
 * and once all of them wait. (after - before) / THREADS is what one such
 * thread costs in resident memory, its stack's touched pages included. Run
 * under bare jemalloc, memscope off and memscope full, the difference
 * full - jemalloc is what memscope adds per thread, to compare with
 * memscope-rs's stated ~64 KB to 1 MB per thread. Each mode runs
 * settings->repeats times, interleaved; the figure is the median. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

enum { IDLE_THREADS = 64, IDLE_THREADS_QUICK = 32, IDLE_ALLOCS = 256 };

/* Runs the idle workload once under mode m. Returns bytes per thread, or a
 * negative value on failure. */
static double run_idle(const bench_mode_t *m, unsigned threads, unsigned serial)
{
    char dir[PATH_LEN], out_dir[PATH_LEN], out[PATH_LEN], err[PATH_LEN], name[32];
    snprintf(name, sizeof name, "mem-%u", serial);
    if (!bench_path_join(dir, sizeof dir, bench_tmp_root, name) ||
        !bench_path_join(out_dir, sizeof out_dir, dir, "out") ||
        !bench_path_join(out, sizeof out, dir, "stdout") ||
        !bench_path_join(err, sizeof err, dir, "stderr") || mkdir(dir, 0700) != 0 ||
        mkdir(out_dir, 0700) != 0) {
        bench_note("cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    static char *env[MAX_ENV];
    size_t envc = 0;
    char mode_env[1024], output[PATH_LEN + 16], nthreads[16], allocs[16];
    for (char **e = environ; *e && envc < MAX_ENV - 40; e++)
        if (!bench_scrubbed(*e))
            env[envc++] = *e;
    if (m->env) {
        snprintf(mode_env, sizeof mode_env, "%s", m->env);
        for (char *save = NULL, *t = strtok_r(mode_env, " ", &save); t && envc < MAX_ENV - 2;
             t = strtok_r(NULL, " ", &save))
            env[envc++] = t;
    }
    snprintf(output, sizeof output, "MEMSCOPE_OUTPUT=%s", out_dir);
    env[envc++] = output;
    env[envc] = NULL;
    snprintf(nthreads, sizeof nthreads, "%u", threads);
    snprintf(allocs, sizeof allocs, "%d", IDLE_ALLOCS);
    char *argv[] = { (char *)bench_allocs[m->alloc].worker, "idle", nthreads, allocs, NULL };
    struct rusage ru;
    uint64_t wall;
    double per = -1;
    if (bench_spawn_wait(argv, env, "/dev/null", out, err, &ru, &wall)) {
        char buf[4096];
        double before, after;
        if (bench_read_small_file(out, buf, sizeof buf) > 0 && bench_find_number(buf, "rss_before=", &before) &&
            bench_find_number(buf, "rss_after=", &after))
            per = (after - before) / threads;
        else
            bench_note("%s printed no bench-mem line", argv[0]);
    } else {
        bench_show_stderr_tail(err);
    }
    bench_remove_tree(dir);
    return per;
}

void bench_run_thread_memory(const settings_t *s, thread_memory_t *m)
{
    *m = (thread_memory_t){ .threads = s->quick ? IDLE_THREADS_QUICK : IDLE_THREADS };
    static const char *const wanted[] = { "jemalloc", "off", "full" };
    size_t order[MODE_COUNT], n = 0;
    for (size_t i = 0; i < MODE_COUNT; i++) {
        const bench_mode_t *md = &bench_modes[i];
        bool want = false;
        for (size_t k = 0; k < sizeof wanted / sizeof wanted[0]; k++)
            want |= strcmp(md->name, wanted[k]) == 0;
        const char *worker = bench_allocs[md->alloc].worker;
        if (want && bench_selected(s->only_modes, md->name) && worker[0] && access(worker, X_OK) == 0)
            order[n++] = i;
    }
    double v[MODE_COUNT][MAX_REPEATS];
    unsigned serial = 0;
    for (unsigned rep = 0; rep < s->repeats && !bench_interrupted; rep++)
        for (size_t k = 0; k < n && !bench_interrupted; k++) {
            size_t i = order[(k + rep) % n];
            double per = run_idle(&bench_modes[i], m->threads, ++serial);
            if (per >= 0)
                v[i][m->runs[i]++] = per;
        }
    for (size_t i = 0; i < MODE_COUNT; i++)
        if (m->runs[i]) {
            m->bytes_per_thread[i] = bench_median_double(v[i], m->runs[i]);
            m->done = true;
        }
}

/* Index of mode `name` if it ran, else -1. */
static int mode_ran(const thread_memory_t *m, const char *name)
{
    for (size_t i = 0; i < MODE_COUNT; i++)
        if (m->runs[i] && strcmp(bench_modes[i].name, name) == 0)
            return (int)i;
    return -1;
}

void bench_print_thread_memory(const thread_memory_t *m)
{
    if (!m->done)
        return;
    printf("\nmemory per thread: RSS of %u threads that each made %d small allocations and wait,"
           " minus RSS before them, / %u (median)\n", m->threads, IDLE_ALLOCS, m->threads);
    for (size_t i = 0; i < MODE_COUNT; i++)
        if (m->runs[i])
            printf("  %-9s %8.1f KiB per thread (%u runs)\n", bench_modes[i].name,
                   m->bytes_per_thread[i] / 1024, m->runs[i]);
    int j = mode_ran(m, "jemalloc"), f = mode_ran(m, "full");
    if (j >= 0 && f >= 0)
        printf("  memscope full adds %.1f KiB per thread (full - jemalloc: its trace chunk, state and arena);"
               " memscope-rs states ~64 KiB to 1 MiB\n",
               (m->bytes_per_thread[f] - m->bytes_per_thread[j]) / 1024);
}

void bench_json_thread_memory(FILE *f, const thread_memory_t *m)
{
    fprintf(f, "  \"thread_memory\": ");
    if (!m->done) {
        fprintf(f, "null");
        return;
    }
    fprintf(f, "{\"threads\": %u, \"allocations_per_thread\": %d, \"method\": \"(RSS once all threads wait - RSS "
               "before them) / threads, median\", \"modes\": [", m->threads, IDLE_ALLOCS);
    const char *sep = "";
    for (size_t i = 0; i < MODE_COUNT; i++)
        if (m->runs[i]) {
            fprintf(f, "%s{\"mode\": \"%s\", \"bytes_per_thread\": %.0f, \"runs\": %u}", sep, bench_modes[i].name,
                    m->bytes_per_thread[i], m->runs[i]);
            sep = ", ";
        }
    int j = mode_ran(m, "jemalloc"), fu = mode_ran(m, "full");
    fprintf(f, "], \"memscope_bytes_per_thread\": ");
    if (j >= 0 && fu >= 0)
        fprintf(f, "%.0f", m->bytes_per_thread[fu] - m->bytes_per_thread[j]);
    else
        fprintf(f, "null");
    fprintf(f, ", \"memscope_rs_stated\": \"~64 KB to 1 MB per thread\"}");
}
