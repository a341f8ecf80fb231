/* Platform metrics (FORMAT.md METRIC, tracking/metrics.c): the helper's
 * samples of the `workload metrics` program, which touches 32 MiB of fresh
 * pages while one thread spins for 200 ms of CPU and another sleeps. Checked
 * with the tests' own decoder (trace_reader.c) and against the export's
 * metrics timeline of the same trace. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "helpers.h"
#include "trace_reader.h"

/* The threads of `workload metrics` that allocate: main, spinner, idler;
 * over a sanitizer's heap its runtime may add threads of its own. */
#ifdef MS_SANITIZER_HEAP
#define PROGRAM_THREADS(t) ((t).nthreads >= 3 ? (t).nthreads : 3)
#else
#define PROGRAM_THREADS(t) 3
#endif

/* Runs `workload metrics TAIL_MS` with MEMSCOPE_METRICS_INTERVAL=interval
 * ("" = the default) into a fresh dir and loads its trace into t. */
static void run_metrics(const char *interval, int tail_ms, const char *dir, run_result_t *r,
                        tr_trace_t *t)
{
    char tail[16], out_env[512], iv_env[64];
    snprintf(tail, sizeof tail, "%d", tail_ms);
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    snprintf(iv_env, sizeof iv_env, "MEMSCOPE_METRICS_INTERVAL=%s", interval);
    char *argv[] = { (char *)th_build_path("workload"), "metrics", tail, NULL };
    char *env[] = { out_env, iv_env, NULL };
    assert_int_equal(th_run(argv, env, NULL, 60000, r), 0);
    assert_int_equal(r->status, 0);
    char path[4096];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    assert_int_equal(tr_load(path, t), 0);
    assert_int_equal(t->bad, 0);
}

/* The helper's samples (in memscope's own stream), in time order. */
static int internal_samples(const tr_trace_t *t, const tr_metric_t **out, int max)
{
    int n = 0;
    for (int i = 0; i < t->nmetrics && n < max; i++)
        if (t->metrics[i].internal)
            out[n++] = &t->metrics[i];
    return n;
}

/* Highest CPU time any sample gives thread tid (0 if never listed). */
static uint64_t cpu_of(const tr_metric_t *const *s, int n, uint64_t tid, int *listed)
{
    uint64_t best = 0;
    *listed = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < s[i]->nthreads; k++)
            if (s[i]->tid[k] == tid) {
                (*listed)++;
                best = s[i]->cpu[k] > best ? s[i]->cpu[k] : best;
            }
    return best;
}

static void test_samples_at_interval(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    static tr_trace_t t;
    run_metrics("50", 300, dir, &r, &t);
    const tr_metric_t *s[TR_MAX_METRICS];
    int n = internal_samples(&t, s, TR_MAX_METRICS);
    /* memscope's stream is no thread of the program: main, spinner, idler
     * (and over a sanitizer's heap, the runtime's own threads that allocate) */
    assert_int_equal(t.nthreads, PROGRAM_THREADS(t));
    assert_true(t.internal_chunks >= 1);
    assert_null(tr_thread(&t, t.internal.serial));
    assert_true(n >= 2);
    uint64_t first = s[0]->time, last = s[n - 1]->time;
    uint64_t span = last - first, iv = 50000000u;
    /* The program ran for at least 320 ms of touching plus 300 ms. */
    assert_true(t.end_time >= 600000000u);
    /* A sample every 50 ms: never more than the schedule allows (the k-th
     * is due k intervals after the first), and not much fewer either (the
     * helper may be kept off a CPU of this shared machine now and then). */
    assert_true((uint64_t)(n - 1) <= span / iv + 1);
    assert_true((uint64_t)(n - 1) * 3 >= span / iv * 2);
    assert_true(span + 2 * iv >= t.end_time - first - iv); /* sampled until near the end */
    for (int i = 0; i < n; i++)
        assert_true(s[i]->time >= first + (uint64_t)i * iv - iv / 10 || i == 0);
    /* Every key measured on this machine (/proc/self/io included); over a
     * sanitizer's heap the allocator statistics are the runtime's
     * (allocator/sanitizer_backend.c). */
    const uint32_t want = (1u << TR_M_KEYS) - 1;
    for (int i = 0; i < n; i++) {
        assert_int_equal(s[i]->have, want);
        assert_true(s[i]->has_threads);
        assert_true(s[i]->v[TR_M_RSS] > 0);
        assert_true(s[i]->v[TR_M_ALLOCATED] <= s[i]->v[TR_M_ACTIVE]);
        assert_true(s[i]->v[TR_M_ACTIVE] <= s[i]->v[TR_M_MAPPED]);
        if (i) { /* counters only grow */
            assert_true(s[i]->v[TR_M_MINFLT] >= s[i - 1]->v[TR_M_MINFLT]);
            assert_true(s[i]->v[TR_M_WRITE] >= s[i - 1]->v[TR_M_WRITE]);
        }
    }
    /* 32 MiB touched: RSS grew by most of it, and the faults with it (one
     * per page, or per huge page at least) */
    uint64_t rss_max = 0;
    for (int i = 0; i < n; i++)
        rss_max = s[i]->v[TR_M_RSS] > rss_max ? s[i]->v[TR_M_RSS] : rss_max;
    assert_true(rss_max >= s[0]->v[TR_M_RSS] + (24u << 20));
    assert_true(s[n - 1]->v[TR_M_MINFLT] >= s[0]->v[TR_M_MINFLT] + 16);
#ifndef MS_SANITIZER_HEAP
    uint64_t alloc_max = 0;
    for (int i = 0; i < n; i++)
        alloc_max = s[i]->v[TR_M_ALLOCATED] > alloc_max ? s[i]->v[TR_M_ALLOCATED] : alloc_max;
    assert_true(alloc_max >= (32u << 20));
#endif
    /* Per-thread CPU: the spinner used 200 ms, the sleeper almost nothing */
    long long spin = th_field(r.out, "spin_tid"), idle = th_field(r.out, "idle_tid");
    assert_true(spin > 0 && idle > 0);
    int listed;
    assert_true(cpu_of(s, n, (uint64_t)spin, &listed) >= 200000000u);
    assert_true(listed >= 2);
    uint64_t idle_cpu = cpu_of(s, n, (uint64_t)idle, &listed);
    assert_true(listed >= 2);
    assert_true(idle_cpu < 20000000u);

    /* The export's metrics timeline holds the same samples, and its threads
     * do not list memscope's stream either. It keeps the latest sample of
     * each of its slots, at most 512 of them over the trace's span, so a
     * sample is left out only when a later one follows within a slot's width
     * (a helper kept off the CPU catches up with samples close together). */
    char path[4096], err[512];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    msx_report *rep = NULL;
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err), 0);
    assert_int_equal(rep->nthreads, (uint32_t)t.nthreads);
    assert_int_equal(rep->metric_samples, (uint64_t)t.n_metric);
    assert_true(rep->nmpoints <= (uint32_t)t.n_metric);
    uint64_t width = t.end_time / 256u + 1u;
    int k = 0, left_out = 0;
    for (uint32_t i = 0; i < rep->nmpoints; i++) {
        const msx_metric_point *p = &rep->mpoints[i];
        if (i)
            assert_true(p->time_ns > rep->mpoints[i - 1].time_ns);
        for (; k < n && s[k]->time < p->time_ns; k++, left_out++)
            assert_true(k + 1 < n && s[k + 1]->time - s[k]->time < width);
        if (k < n && p->time_ns == s[k]->time) {
            assert_int_equal(p->v[0], s[k]->v[TR_M_RSS]);
            assert_int_equal(p->v[1], s[k]->v[TR_M_MINFLT]);
            assert_int_equal(p->nthreads, (uint32_t)s[k]->nthreads);
            k++;
        }
    }
    assert_int_equal(k, n);
    assert_true((uint64_t)left_out <= t.n_metric - rep->nmpoints);
    msx_report_free(rep);
    tr_free(&t);
    th_rmtree(dir);
}

/* The default is 100 ms. */
static void test_default_interval(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    static tr_trace_t t;
    run_metrics("", 300, dir, &r, &t);
    const tr_metric_t *s[TR_MAX_METRICS];
    int n = internal_samples(&t, s, TR_MAX_METRICS);
    assert_true(n >= 2);
    uint64_t span = s[n - 1]->time - s[0]->time;
    assert_true((uint64_t)(n - 1) <= span / 100000000u + 1);
    assert_true((uint64_t)(n - 1) * 3 >= span / 100000000u * 2);
    assert_true(span >= 300000000u);
    tr_free(&t);
    th_rmtree(dir);
}

/* MEMSCOPE_METRICS_INTERVAL=0: no METRIC record at all, no stream of
 * memscope's own. */
static void test_interval_zero(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    static tr_trace_t t;
    run_metrics("0", 100, dir, &r, &t);
    assert_int_equal(t.n_metric, 0);
    assert_int_equal(t.internal_chunks, 0);
    assert_int_equal(t.nthreads, PROGRAM_THREADS(t));
    assert_int_equal(t.n_end, 1);
    tr_free(&t);
    th_rmtree(dir);
}

/* Many control records (four per task) fill chunks: the TIME that a record
 * needs is read after the chunk it lands in was taken, never before (a TIME
 * older than its chunk's time is a problem the reader reports). Here beside
 * the metrics: the helper's stream is one more writer of TIME records. */
static void test_times_across_chunk_switches(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *argv[] = { (char *)th_build_path("workload"), "tasks", "2", "200000", NULL };
    char *env[] = { out_env, "MEMSCOPE_BUFFER_SIZE=64K", "MEMSCOPE_METRICS_INTERVAL=1", NULL };
    run_result_t r;
    assert_int_equal(th_run(argv, env, NULL, 60000, &r), 0);
    assert_int_equal(r.status, 0);
    char path[4096], err[512];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    msx_report *rep = NULL;
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err), 0);
    for (uint32_t i = 0; i < rep->nproblems; i++)
        fprintf(stderr, "problem: %s\n", rep->problems[i].p);
    assert_int_equal(rep->problems_total, 0);
    assert_int_equal(rep->tasks, 400000);
    assert_true(rep->chunks > 20);
    assert_true(rep->metric_samples > 2);
    msx_report_free(rep);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_at_interval),
        cmocka_unit_test(test_default_interval),
        cmocka_unit_test(test_interval_zero),
        cmocka_unit_test(test_times_across_chunk_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
