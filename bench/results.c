/* memscope-bench: what the runs add up to. Rows get their medians and
 * ratios, the export section times `memscope report` on the biggest trace (and packs it),
 * and the results go to the terminal table, the targets of issue 4 and the
 * JSON file of --json. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "pack.h" /* msx_pack_file: the pack measurement */

#ifndef BENCH_MEMSCOPE_EXE
#error "bench/meson.build defines the BENCH_* paths"
#endif

extern char **environ;

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
double bench_median_double(const double *v, unsigned n)
{
    double tmp[MAX_REPEATS];
    memcpy(tmp, v, n * sizeof *v);
    qsort(tmp, n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Returns the median of n longs (sorts a copy; the lower middle one if n is even). */
long bench_median_long(const long *v, unsigned n)
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
void bench_print_table_head(void)
{
    printf("%-11s %3s %-10s %10s %10s %10s %7s %10s %7s %9s\n", "workload", "thr", "mode",
           "time/op", "min", "max", "x jemal", "cpu/op", "B/event", "peak RSS");
}

/* Prints one row of the results table. */
void bench_print_row(const bench_workload_t *w, const bench_mode_t *m, const row_t *row)
{
    printf("%-11s %3u %-10s ", w->name, w->threads, m->name);
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
/* -- aggregation ---------------------------------------------------------- */

void bench_rows_finish(row_t rows[MODE_COUNT])
{
    for (size_t i = 0; i < MODE_COUNT; i++) {
        row_t *row = &rows[i];
        if (row->runs == 0)
            continue;
        row->median = bench_median_double(row->ns, row->runs);
        row->cpu_median = bench_median_double(row->cpu, row->runs);
        row->min = row->max = row->ns[0];
        for (unsigned j = 1; j < row->runs; j++) {
            row->min = row->ns[j] < row->min ? row->ns[j] : row->min;
            row->max = row->ns[j] > row->max ? row->ns[j] : row->max;
        }
        row->peak_rss_kb = bench_median_long(row->rss, row->runs);
        if (row->bpe_runs)
            row->bytes_per_event = bench_median_double(row->bpe, row->bpe_runs);
    }
    for (size_t i = 0; i < MODE_COUNT; i++)
        if (strcmp(bench_modes[i].name, REFERENCE_MODE) == 0 && rows[i].runs > 0)
            for (size_t j = 0; j < MODE_COUNT; j++)
                if (rows[j].runs > 0)
                    rows[j].ratio = rows[j].median / rows[i].median;
}

/* -- the export section ---------------------------------------------------- */

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

/* Packs the kept trace (memscope pack's msx_pack_file) and fills e's pack
 * fields: bytes per event raw and packed, the packing time. */
static void run_pack(export_result_t *e)
{
    char packed[PATH_LEN], err[1024];
    bench_path_join(packed, sizeof packed, bench_tmp_root, "export.mspack");
    unlink(packed);
    int fd = open(packed, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        bench_note("pack: cannot create %s: %s", packed, strerror(errno));
        return;
    }
    msx_pack_stats st;
    int rc = msx_pack_file(bench_export_trace, fd, packed, 0, &st, err, sizeof err);
    close(fd);
    if (rc < 0 || st.events == 0) {
        bench_note("pack: %s", rc < 0 ? err : "no events");
        unlink(packed);
        return;
    }
    e->pack_done = true;
    e->pack_events = st.events;
    e->raw_bpe = (double)st.raw_bytes / (double)st.events;
    e->packed_bpe = (double)st.packed_bytes / (double)st.events;
    e->pack_seconds = (double)st.ns / 1e9;
    e->pack_raw_bytes = st.raw_bytes;
    unlink(packed);
}

/* Times `memscope report` on the kept trace and fills *e. */
void bench_run_export(const settings_t *s, export_result_t *e)
{
    *e = (export_result_t){ .done = false };
    if (BENCH_MEMSCOPE_EXE[0] == '\0' || access(BENCH_MEMSCOPE_EXE, X_OK) != 0) {
        bench_note("export section skipped: the memscope tool is not built");
        return;
    }
    if (bench_export_trace[0] == '\0') {
        bench_note("export section skipped: no memscope trace was recorded");
        return;
    }
    char json[PATH_LEN], html[PATH_LEN], bin[PATH_LEN], out[PATH_LEN], err[PATH_LEN];
    bench_path_join(json, sizeof json, bench_tmp_root, "report.json");
    bench_path_join(html, sizeof html, bench_tmp_root, "report.html");
    bench_path_join(bin, sizeof bin, bench_tmp_root, "report.bin");
    bench_path_join(out, sizeof out, bench_tmp_root, "report.stdout");
    bench_path_join(err, sizeof err, bench_tmp_root, "report.stderr");
    char *argv[] = { BENCH_MEMSCOPE_EXE, "report", bench_export_trace, "--json", json,
                     "--html", html, "--bin", bin, NULL };
    double secs[MAX_REPEATS];
    long rss[MAX_REPEATS];
    unsigned n = 0;
    for (unsigned i = 0; i < s->export_repeats && !bench_interrupted; i++) {
        struct rusage ru;
        uint64_t wall;
        if (!bench_spawn_wait(argv, environ, "/dev/null", out, err, &ru, &wall)) {
            bench_show_stderr_tail(err);
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
    if (bench_read_small_file(json, text, sizeof text) > 0) {
        v = json_member(json_member(text, "summary"), "events");
        if (v == NULL)
            v = json_member(text, "events");
    }
    if (v != NULL)
        events = strtod(v, &end);
    if (v == NULL || end == v) {
        bench_note("export section: no summary.events nor events in %s", json);
        return;
    }
    e->done = true;
    e->events = (uint64_t)events;
    e->counted_events = bench_export_trace_events;
    e->seconds = bench_median_double(secs, n);
    e->peak_rss_kb = bench_median_long(rss, n);
    e->json_bytes = bench_file_size(json);
    e->html_bytes = bench_file_size(html);
    e->bin_bytes = bench_file_size(bin);
    run_pack(e);
    if (e->events != e->counted_events)
        bench_note("export: the report says %llu events, the trace holds %llu",
             (unsigned long long)e->events, (unsigned long long)e->counted_events);
}

/* Prints the export section on the terminal. */
void bench_print_export(const export_result_t *e)
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
    if (e->pack_done)
        printf("  memscope pack: %.3f B/event raw, %.3f B/event packed; %.3f s: %.1f MB/s, %.2f M events/s\n",
               e->raw_bpe, e->packed_bpe, e->pack_seconds, (double)e->pack_raw_bytes / e->pack_seconds / 1e6,
               (double)e->pack_events / e->pack_seconds / 1e6);
}

/* A goal of issue 4, evaluated on the rows of this run. */
typedef enum target_metric {
    TARGET_RATIO,        /* x jemalloc of full churn at `threads` */
    TARGET_GROWTH,       /* x jemalloc of full churn at `threads` / at 1 thread */
    TARGET_STREAM_BPE,   /* worst bytes/event of the full-mode rows */
    TARGET_BIN_BPE,      /* binary archive bytes / events of the export */
    TARGET_PACK_BPE,     /* packed trace bytes / events of the export's trace */
    TARGET_EXPORT_RATE,  /* analysis speed, millions of events per second */
    TARGET_TASK_TAGGING, /* full tasks / full tasks-notag (threads: 4 or 32 allocations per job) */
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
    { "packed trace (memscope pack), bytes/event", TARGET_PACK_BPE, 0, 2.0, true },
    { "analysis, M events/s", TARGET_EXPORT_RATE, 0, 20.0, false },
    { "task tagging, jobs of 4 allocations", TARGET_TASK_TAGGING, 4, 1.05, true },
    { "task tagging, jobs of 32 allocations", TARGET_TASK_TAGGING, 32, 1.05, true },
};

#define TARGET_COUNT (sizeof targets / sizeof targets[0])

/* Returns the ratio to jemalloc of full-mode churn at `threads`, or -1. */
static double full_churn_ratio(row_t rows[WORKLOAD_COUNT][MODE_COUNT], unsigned threads)
{
    for (size_t i = 0; i < WORKLOAD_COUNT; i++)
        for (size_t j = 0; j < MODE_COUNT; j++)
            if (strcmp(bench_workloads[i].name, "churn") == 0 && bench_workloads[i].threads == threads &&
                strcmp(bench_modes[j].name, "full") == 0 && rows[i][j].runs > 0)
                return rows[i][j].ratio;
    return -1;
}

/* Returns the median time per op of `mode` on `workload`, or -1. */
static double row_median(row_t rows[WORKLOAD_COUNT][MODE_COUNT], const char *workload, const char *mode)
{
    for (size_t i = 0; i < WORKLOAD_COUNT; i++)
        for (size_t j = 0; j < MODE_COUNT; j++)
            if (strcmp(bench_workloads[i].name, workload) == 0 && strcmp(bench_modes[j].name, mode) == 0 &&
                rows[i][j].runs > 0)
                return rows[i][j].median;
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
                if (strcmp(bench_modes[j].name, "full") == 0 && rows[i][j].runs > 0 &&
                    rows[i][j].bytes_per_event > worst)
                    worst = rows[i][j].bytes_per_event;
        return worst;
    case TARGET_BIN_BPE:
        return e->done && e->events > 0 && e->bin_bytes >= 0
                   ? (double)e->bin_bytes / (double)e->events : -1;
    case TARGET_PACK_BPE:
        return e->pack_done ? e->packed_bpe : -1;
    case TARGET_EXPORT_RATE:
        return e->done && e->seconds > 0 ? (double)e->events / e->seconds / 1e6 : -1;
    case TARGET_TASK_TAGGING:
        one = row_median(rows, t->threads == 32 ? "tasks-32" : "tasks", "full");
        many = row_median(rows, t->threads == 32 ? "tasks-32-notag" : "tasks-notag", "full");
        return one > 0 && many > 0 ? one / many : -1;
    }
    return -1;
}

/* Returns how far value misses target t, as a fraction of the limit (<= 0: met). */
static double target_miss(const target_t *t, double value)
{
    return t->at_most ? value / t->limit - 1 : 1 - value / t->limit;
}

/* Prints every target with this run's value and whether, or by how much, it is missed. */
void bench_print_targets(row_t rows[WORKLOAD_COUNT][MODE_COUNT], const export_result_t *e)
{
    printf("\ntargets (issues 4 and 8)\n");
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
    if (bench_read_small_file("/proc/cpuinfo", info, sizeof info) <= 0)
        return;
    const char *p = strstr(info, "model name");
    if (p == NULL || (p = strchr(p, ':')) == NULL)
        return;
    p += 2;
    snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Writes the whole result as JSON to path. Returns true on success. */
bool bench_write_json(const char *path, const settings_t *s,
                       row_t rows[WORKLOAD_COUNT][MODE_COUNT], const export_result_t *e,
                       const thread_memory_t *tm)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        bench_note("cannot write %s: %s", path, strerror(errno));
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
            const bench_workload_t *w = &bench_workloads[i];
            fprintf(f, "%s    {", sep);
            json_str(f, "workload", w->name, ", ");
            fprintf(f, "\"threads\": %u, ", w->threads);
            json_str(f, "mode", bench_modes[j].name, ", ");
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
                   "\"peak_rss_kb\": %ld, ",
                (unsigned long long)e->events, e->seconds, (double)e->events / e->seconds,
                e->json_bytes, e->html_bytes, e->bin_bytes, e->peak_rss_kb);
    if (e->done && e->pack_done)
        fprintf(f, "\"pack\": {\"events\": %llu, \"raw_bytes_per_event\": %.3f, \"packed_bytes_per_event\": %.3f, "
                   "\"seconds\": %.4f, \"mb_per_sec\": %.1f, \"events_per_sec\": %.0f}},\n",
                (unsigned long long)e->pack_events, e->raw_bpe, e->packed_bpe, e->pack_seconds,
                (double)e->pack_raw_bytes / e->pack_seconds / 1e6, (double)e->pack_events / e->pack_seconds);
    else if (e->done)
        fprintf(f, "\"pack\": null},\n");
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
    fprintf(f, "\n  ],\n");
    bench_json_thread_memory(f, tm);
    fprintf(f, "\n}\n");
    return fclose(f) == 0;
}
