/* Analysis of traces with known answers (export/merge.c, views): exact counts,
 * peak, peak snapshot, leaks, lifetimes, threads, the causal merge of
 * threads, anomalies, forks, dropped events. The traces are built with the
 * test fixture writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export.h"
#include "fixture.h"
#include "suite.h"
#include "format.h"


/* Finds a thread of the report by id. */
static const msx_thread_report *thread(const msx_report *r, uint32_t id)
{
    for (uint32_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].id == id)
            return &r->threads[i];
    fail_msg("no thread %u", id);
    return NULL;
}

/* Sum of anomaly counts. */
static uint64_t anomalies(const msx_report *r)
{
    uint64_t n = 0;
    for (unsigned k = 0; k < MSX_ANOM_KINDS; k++)
        n += r->anomaly_counts[k];
    return n;
}

static void test_single_thread_known(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 100, "main", 4, 10);
    msf_alloc(t, 1, 0x1000, 100);
    msf_alloc(t, 1, 0x2000, 200);
    msf_time(t, 1, 20);
    msf_free(t, 1, 0x1000);
    msf_alloc(t, 1, 0x3000, 50);
    msf_time(t, 1, 30);
    msf_realloc(t, 1, 0x3000, 0x4000, 500);   /* live: 200 + 500 = 700, the peak */
    msf_time(t, 1, 40);
    msf_free(t, 1, 0x2000);
    msf_realloc(t, 1, 0x4000, 0x4000, 400);   /* in place */
    msf_time(t, 1, 50);
    msf_end(t, 1, 50);
    msf_set_end_time(t, 50);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->events, 7);
    assert_int_equal(r->allocations, 3);
    assert_int_equal(r->frees, 2);
    assert_int_equal(r->reallocs, 2);
    assert_int_equal(r->bytes_allocated, 100 + 200 + 50 + 500 + 400);
    assert_int_equal(r->bytes_freed, 100 + 200 + 50 + 500);
    assert_int_equal(r->peak_live_bytes, 700);
    assert_true(r->peak_time_ns >= 30 && r->peak_time_ns <= 40);
    assert_int_equal(r->leaked_bytes, 400);
    assert_int_equal(r->leaked_blocks, 1);
    assert_int_equal(r->nleaks, 1);
    assert_int_equal(r->leaks[0].addr, 0x4000);
    assert_int_equal(r->leaks[0].size, 400);
    assert_int_equal(r->peak_blocks, 2);
    assert_int_equal(r->peak_by_size[msx_log2_class(200)].bytes, 200);
    assert_int_equal(r->peak_by_size[msx_log2_class(500)].bytes, 500);
    assert_int_equal(r->npeak_largest, 2);
    assert_int_equal(r->peak_largest[0].addr, 0x4000);
    assert_int_equal(r->peak_largest[1].addr, 0x2000);
    assert_int_equal(r->size_hist[msx_log2_class(100)].count, 1);
    assert_int_equal(r->size_hist[msx_log2_class(400)].count, 2);  /* 400 and 500 */
    assert_int_equal(r->lifetime_hist[0].count + r->lifetime_hist[1].count + r->lifetime_hist[2].count +
                     r->lifetime_hist[3].count + r->lifetime_hist[4].count + r->lifetime_hist[5].count, 2);
    assert_int_equal(anomalies(r), 0);
    assert_true(r->complete);
    assert_int_equal(r->duration_ns, 50);
    assert_int_equal(r->nproblems, 0);
    assert_int_equal(r->nthreads, 1);
    const msx_thread_report *th = thread(r, 1);
    assert_int_equal(th->tid, 100);
    assert_string_equal(th->name.p, "main");
    assert_int_equal(th->peak_live_bytes, 700);
    assert_int_equal(th->live_bytes, 400);
    assert_int_equal(th->peak_snapshot_bytes, 700);
    msx_report_free(r);
}

static void test_temporary(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "t", 1, 0);
    msf_alloc(t, 1, 0x10, 8);
    msf_free(t, 1, 0x10);       /* temporary: nothing allocated in between */
    msf_alloc(t, 1, 0x20, 8);
    msf_alloc(t, 1, 0x30, 8);
    msf_free(t, 1, 0x20);       /* not: 0x30 came in between */
    msf_free(t, 1, 0x30);       /* temporary */
    msf_end(t, 1, 100);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->temporary, 2);
    assert_int_equal(thread(r, 1)->temporary, 2);
    uint64_t lifetimes = 0;
    for (unsigned k = 0; k < MSX_HIST_BUCKETS; k++)
        lifetimes += r->lifetime_hist[k].count;
    assert_int_equal(lifetimes, 3);
    msx_report_free(r);
}

/* An address freed on one thread and allocated again on another whose TIME is
 * older: the merge must take the free first. */
static void test_reuse_across_threads(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 11, "a", 1, 100);
    msf_thread(t, 2, 12, "b", 1, 150);
    msf_thread(t, 3, 13, "c", 1, 120);
    msf_alloc(t, 1, 0xa000, 64);      /* T1 allocates X */
    msf_time(t, 1, 110);
    msf_free(t, 2, 0xa000);           /* T2 frees it (a block of another thread) */
    msf_time(t, 2, 200);
    msf_alloc(t, 3, 0xa000, 32);      /* T3 gets X again: its TIME is older than T2's free */
    msf_time(t, 3, 400);
    msf_end(t, 1, 500);
    msf_set_end_time(t, 500);
    msx_report *r = suite_analyze(t);
    assert_int_equal(anomalies(r), 0);
    assert_int_equal(r->forced_merges, 0);
    assert_int_equal(r->allocations, 2);
    assert_int_equal(r->frees, 1);
    assert_int_equal(r->leaked_blocks, 1);
    assert_int_equal(r->leaked_bytes, 32);
    assert_int_equal(r->leaks[0].thread, 3);
    assert_int_equal(thread(r, 2)->cross_thread_frees, 1);
    assert_int_equal(thread(r, 1)->live_bytes, 0);
    assert_int_equal(thread(r, 3)->live_bytes, 32);
    assert_int_equal(r->peak_live_bytes, 64);
    msx_report_free(r);
}

/* A free whose TIME is older than the allocation it frees (on another thread)
 * waits for it. */
static void test_free_waits_for_alloc(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 21, "freer", 5, 100);
    msf_thread(t, 2, 22, "maker", 5, 150);
    msf_free(t, 1, 0xb000);
    msf_time(t, 1, 180);
    msf_alloc(t, 2, 0xb000, 10);
    msf_time(t, 2, 160);
    msf_end(t, 2, 200);
    msx_report *r = suite_analyze(t);
    assert_int_equal(anomalies(r), 0);
    assert_int_equal(r->leaked_blocks, 0);
    assert_int_equal(thread(r, 1)->cross_thread_frees, 1);
    msx_report_free(r);
}

static void test_anomalies_counted(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "m", 1, 0);
    msf_alloc(t, 1, 0x100, 10);
    msf_free(t, 1, 0x100);
    msf_free(t, 1, 0x100);                 /* double free */
    msf_free(t, 1, 0x999);                 /* unknown */
    msf_realloc(t, 1, 0x777, 0x800, 5);    /* unknown realloc: taken as an allocation */
    msf_alloc(t, 1, 0x900, 1);
    msf_alloc(t, 1, 0x900, 2);             /* allocation at a live address: it waits for
                                            * a free of 0x900 that never comes */
    for (int i = 0; i < 150; i++)
        msf_free(t, 1, 0x100000 + (uint64_t)i * 16);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->anomaly_counts[MSX_ANOM_DOUBLE_FREE], 1);
    assert_int_equal(r->anomaly_counts[MSX_ANOM_UNKNOWN_FREE], 151);
    assert_int_equal(r->anomaly_counts[MSX_ANOM_UNKNOWN_REALLOC], 1);
    assert_int_equal(r->anomaly_counts[MSX_ANOM_LIVE_ALLOC], 1);
    assert_int_equal(r->nanomalies, MSX_MAX_ANOMALIES);
    assert_int_equal(r->anomalies[0].kind, MSX_ANOM_DOUBLE_FREE);
    assert_int_equal(r->anomalies[0].addr, 0x100);
    assert_int_equal(r->anomalies[0].event, 2);
    assert_int_equal(r->events, 7 + 150);
    assert_int_equal(r->frees, 3 + 150);
    assert_int_equal(r->reallocs, 1);
    assert_int_equal(r->allocations, 3);
    assert_int_equal(r->leaked_blocks, 2);   /* 0x800 and the first 0x900 */
    assert_int_equal(r->leaked_bytes, 5 + 1);
    msx_report_free(r);
}

/* A FREE of address 0 (only a corrupt trace has one) is an unknown free like
 * any other: counted and listed, not lost. */
static void test_free_of_address_zero(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "m", 1, 0);
    msf_free(t, 1, 0x1000);
    msf_free(t, 1, 0);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->anomaly_counts[MSX_ANOM_UNKNOWN_FREE], 2);
    assert_int_equal(r->nanomalies, 2);
    assert_int_equal(r->anomalies[0].addr, 0x1000);
    assert_int_equal(r->anomalies[1].addr, 0);
    assert_int_equal(r->frees, 2);
    msx_report_free(r);
}

/* A FREE of address 0 waiting for its allocation, which then comes, leaves
 * the waiting events' bookkeeping intact (it once lost count of them, and the
 * report's list of unpaired events then overran its buffer). */
static void test_address_zero_paired(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "m", 1, 0);
    msf_free(t, 1, 0x1000);
    msf_free(t, 1, 0);
    msf_alloc(t, 1, 0, 8);      /* the free of 0 takes this block */
    msf_free(t, 1, 0x3000);
    msf_free(t, 1, 0x5000);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->anomaly_counts[MSX_ANOM_UNKNOWN_FREE], 3);
    assert_int_equal(anomalies(r), 3);
    assert_int_equal(r->nanomalies, 3);
    assert_int_equal(r->anomalies[0].addr, 0x1000);
    assert_int_equal(r->anomalies[1].addr, 0x3000);
    assert_int_equal(r->anomalies[2].addr, 0x5000);
    assert_int_equal(r->allocations, 1);
    assert_int_equal(r->frees, 4);
    assert_int_equal(r->leaked_blocks, 0);
    msx_report_free(r);
}

/* An allocation at a live address that never finds the free it waits for
 * still counts in bytes_allocated, the size histogram and the timeline, as
 * every allocation does (docs/JSON.md). */
static void test_unpaired_allocation_counted(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "m", 1, 0);
    msf_alloc(t, 1, 0x900, 1);
    msf_alloc(t, 1, 0x900, 100);            /* waits for a free of 0x900: none comes */
    msf_realloc(t, 1, 0x900, 0x900, 7);     /* in place: the first block, now 7 bytes */
    msf_alloc(t, 1, 0xa00, 3000);
    msf_realloc(t, 1, 0xa00, 0x900, 20);    /* onto a live address: waits, never paired */
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->anomaly_counts[MSX_ANOM_LIVE_ALLOC], 2);
    assert_int_equal(r->allocations, 3);
    assert_int_equal(r->reallocs, 2);
    assert_int_equal(r->bytes_allocated, 1 + 100 + 7 + 3000 + 20);
    assert_int_equal(thread(r, 1)->bytes_allocated, 1 + 100 + 7 + 3000 + 20);
    assert_int_equal(r->size_hist[msx_log2_class(100)].count, 1);
    assert_int_equal(r->size_hist[msx_log2_class(20)].count, 1);
    uint64_t n = 0, bytes = 0, allocs = 0;
    for (unsigned k = 0; k < MSX_HIST_BUCKETS; k++) {
        n += r->size_hist[k].count;
        bytes += r->size_hist[k].bytes;
    }
    assert_int_equal(n, 5);
    assert_int_equal(bytes, 1 + 100 + 7 + 3000 + 20);
    for (uint32_t i = 0; i < r->npoints; i++)
        allocs += r->timeline[i].allocations;
    assert_int_equal(allocs, 5);
    msx_report_free(r);
}

static void test_fork_inherited(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "child", 5, 0);
    msf_fork(t, 1, 999);
    msf_free(t, 1, 0x5000);
    msf_realloc(t, 1, 0x6000, 0x7000, 3);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    assert_true(r->forked);
    assert_int_equal(r->parent_pid, 999);
    assert_int_equal(anomalies(r), 0);
    assert_int_equal(r->inherited_frees, 1);
    assert_int_equal(r->inherited_reallocs, 1);
    assert_int_equal(r->frees, 1);
    assert_int_equal(r->leaked_bytes, 3);
    msx_report_free(r);
}

static void test_dropped(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "m", 1, 0);
    msf_thread(t, 2, 2, "n", 1, 0);
    msf_dropped(t, 1, 3);
    msf_dropped(t, 2, 2);
    msf_set_dropped(t, 5);
    msf_end(t, 1, 1);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->dropped_events, 5);
    assert_int_equal(r->dropped_header, 5);
    assert_int_equal(r->dropped_records, 5);
    assert_int_equal(thread(r, 1)->dropped_events, 3);
    msx_report_free(r);

    t = msf_new(4096);
    msf_thread(t, 1, 1, "m", 1, 0);
    msf_dropped(t, 1, 3);
    msf_set_dropped(t, 10);   /* the header counts drops no record could hold */
    msf_end(t, 1, 1);
    r = suite_analyze(t);
    assert_int_equal(r->dropped_events, 10);
    msx_report_free(r);
}

/* Many chunks per thread: counts are exact and stream_bytes adds up. */
static void test_many_chunks(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    for (uint32_t k = 1; k <= 3; k++)
        msf_thread(t, k, k, "w", 1, 0);
    uint64_t time = 0;
    for (int i = 0; i < 30000; i++) {
        uint32_t k = 1 + (uint32_t)(i % 3);
        if (i % 256 == 0)
            msf_time(t, k, time += 1000);
        msf_alloc(t, k, 0x10000 * k + (uint64_t)(i % 500) * 16, (uint64_t)(i % 700));
        msf_free(t, k, 0x10000 * k + (uint64_t)(i % 500) * 16);
    }
    msf_end(t, 1, time + 1);
    char *path = msf_path(msf_dir, "chunks.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    size_t len;
    char *file = msf_read_file(path, &len);
    uint64_t expect = MSF_FILE_HEADER_SIZE, chunks = 0;
    for (size_t off = MSF_FILE_HEADER_SIZE; off + MSF_CHUNK_HEADER_SIZE <= len; off += 4096) {
        uint32_t committed;
        memcpy(&committed, file + off + MSF_C_COMMITTED, 4);
        expect += MSF_CHUNK_HEADER_SIZE + committed;
        chunks++;
    }
    free(file);
    msx_report *r;
    char err[256];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    free(path);
    assert_true(chunks > 10);
    assert_int_equal(r->chunks, chunks);
    assert_int_equal(r->stream_bytes, expect);
    assert_int_equal(r->events, 60000);
    assert_int_equal(r->allocations, 30000);
    assert_int_equal(r->frees, 30000);
    assert_int_equal(r->leaked_blocks, 0);
    assert_int_equal(anomalies(r), 0);
    assert_int_equal(r->nproblems, 0);
    assert_int_equal(r->temporary, 30000);
    msx_report_free(r);
}

/* A random single-thread workload: the peak, its snapshot and the leaks
 * match a model computed here in program order. */
static void test_peak_snapshot_exact(void **state)
{
    (void)state;
    enum { SLOTS = 3000, STEPS = 200000 };
    uint64_t *size = calloc(SLOTS, sizeof *size);
    uint64_t *snap = calloc(SLOTS, sizeof *snap);
    msf *t = msf_new(65536);
    msf_thread(t, 1, 1, "m", 1, 0);
    uint64_t seed = 99, live = 0, peak = 0, time = 0, nalloc = 0;
    for (int i = 0; i < STEPS; i++) {
        if (i % 256 == 0)
            msf_time(t, 1, time += 5000);
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t k = (seed >> 33) % SLOTS, a = 0x4000000 + k * 4096;
        if (size[k]) {
            msf_free(t, 1, a);
            live -= size[k];
            size[k] = 0;
        } else {
            size[k] = 1 + (seed >> 20) % 3000;
            msf_alloc(t, 1, a, size[k]);
            nalloc++;
            live += size[k];
            if (live > peak) {
                peak = live;
                memcpy(snap, size, SLOTS * sizeof *size);
            }
        }
    }
    msf_end(t, 1, time + 1);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->peak_live_bytes, peak);
    msx_bucket by[MSX_HIST_BUCKETS] = { { 0 } };
    uint64_t blocks = 0, largest = 0, leaked = 0, nleaked = 0;
    for (uint64_t k = 0; k < SLOTS; k++) {
        if (snap[k]) {
            by[msx_log2_class(snap[k])].count++;
            by[msx_log2_class(snap[k])].bytes += snap[k];
            blocks++;
            if (snap[k] > largest)
                largest = snap[k];
        }
        leaked += size[k];
        nleaked += size[k] != 0;
    }
    assert_int_equal(r->peak_blocks, blocks);
    for (unsigned c = 0; c < MSX_HIST_BUCKETS; c++) {
        assert_int_equal(r->peak_by_size[c].count, by[c].count);
        assert_int_equal(r->peak_by_size[c].bytes, by[c].bytes);
    }
    assert_int_equal(r->peak_largest[0].size, largest);
    assert_int_equal(r->leaked_bytes, leaked);
    assert_int_equal(r->leaked_blocks, nleaked);
    assert_int_equal(r->allocations, nalloc);
    assert_int_equal(thread(r, 1)->peak_snapshot_bytes, peak);
    /* the timeline is bounded, its highest point is the peak, it ends at the leaks */
    assert_true(r->npoints >= 1 && r->npoints <= MSX_TIMELINE_POINTS);
    uint64_t tmax = 0, allocs = 0;
    for (uint32_t i = 0; i < r->npoints; i++) {
        if (r->timeline[i].max_live_bytes > tmax)
            tmax = r->timeline[i].max_live_bytes;
        allocs += r->timeline[i].allocations;
    }
    assert_int_equal(tmax, peak);
    assert_int_equal(allocs, nalloc);
    assert_int_equal(r->timeline[r->npoints - 1].live_bytes, leaked);
    free(size);
    free(snap);
    msx_report_free(r);
}

static void test_process_threads_tasks_metrics(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 501, "main", 4, 0);
    const char *argv[] = { "prog", "\xff\xfe" };
    const char *cfg[] = { "MEMSCOPE_OUTPUT", "/x", "MEMSCOPE_MODE", "full" };
    msf_process(t, 1, 501, "/bin/prog", 2, argv, 2, cfg);
    msf_thread(t, 2, 502, NULL, 0, 0);
    msf_task(t, 1, 7);
    msf_task(t, 2, 8);
    msf_task(t, 1, 7);
    msf_metric(t, 1, "rss", 1000);
    msf_metric(t, 1, "rss", 4000);
    msf_metric(t, 1, "rss", 2000);
    msf_thread_exit(t, 2, "renamed");
    msf_exit_flag(t, 2);
    msf_end(t, 1, 5);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->pid, 501);
    assert_string_equal(r->exe.p, "/bin/prog");
    assert_int_equal(r->nargv, 2);
    assert_memory_equal(r->argv[1].p, "\xff\xfe", 2);
    assert_int_equal(r->nconfig, 2);
    assert_string_equal(r->config[2].p, "MEMSCOPE_MODE");
    assert_string_equal(r->config[3].p, "full");
    assert_int_equal(r->tasks, 2);
    assert_int_equal(r->nmetrics, 1);
    assert_int_equal(r->metrics[0].last, 2000);
    assert_int_equal(r->metrics[0].max, 4000);
    assert_int_equal(r->nthreads, 2);
    assert_true(thread(r, 2)->exited);
    assert_string_equal(thread(r, 2)->name.p, "renamed");
    assert_false(thread(r, 1)->exited);
    msx_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread_known),
        cmocka_unit_test(test_temporary),
        cmocka_unit_test(test_reuse_across_threads),
        cmocka_unit_test(test_free_waits_for_alloc),
        cmocka_unit_test(test_anomalies_counted),
        cmocka_unit_test(test_free_of_address_zero),
        cmocka_unit_test(test_address_zero_paired),
        cmocka_unit_test(test_unpaired_allocation_counted),
        cmocka_unit_test(test_fork_inherited),
        cmocka_unit_test(test_dropped),
        cmocka_unit_test(test_many_chunks),
        cmocka_unit_test(test_peak_snapshot_exact),
        cmocka_unit_test(test_process_threads_tasks_metrics),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
