/* The runtime snapshot (tracking/snapshot.c, memscope_snapshot_*): in full
 * mode, every figure a snapshot gives in the program equals what the export
 * computes for the same snapshot from the trace (export/view_snaps.c), with
 * tasks whose blocks are freed on other threads, reallocated in another task,
 * and threads that churn while the snapshots are taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export.h"
#include "helpers.h"
#include "report.h"
#include "trace_reader.h"

/* Runs snapshot_prog with args in a fresh directory; analyses its trace. */
static msx_report *run_prog(char *const args[], run_result_t *r)
{
    char *dir = th_tmpdir();
    char *argv[8] = { (char *)th_build_path("snapshot_prog") };
    for (int i = 0; args[i]; i++)
        argv[i + 1] = args[i];
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *envv[] = { out_env, NULL };
    assert_int_equal(th_run(argv, envv, NULL, 120000, r), 0);
    assert_int_equal(r->status, 0);
    char path[4096];
    assert_int_equal(tr_find(dir, "snapshot_prog.", path, sizeof path), 0);
    msx_report *rep = NULL;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err), 0);
    /* the snapshots' own allocations are memscope's: neither events nor drops */
    assert_int_equal(rep->dropped_events, 0);
    th_rmtree(dir);
    return rep;
}

/* Checks every "snap" line of the program's output against the report's
 * snapshot of the same id. Returns the number of lines checked. */
static unsigned check_all(const char *out, const msx_report *rep)
{
    unsigned n = 0;
    for (const char *l = strstr(out, "snap id="); l; l = strstr(l + 1, "snap id=")) {
        unsigned long long id, live;
        size_t active;
        int used = 0;
        assert_int_equal(sscanf(l, "snap id=%llu live=%llu active=%zu%n", &id, &live, &active, &used), 3);
        const msx_snap_report *s = NULL;
        for (uint32_t i = 0; i < rep->nsnaps; i++)
            if (rep->snaps[i].id == id)
                s = &rep->snaps[i];
        assert_non_null(s);
        if (s->live_bytes != live)
            fail_msg("snapshot %llu: live bytes %llu in the program, %llu in the export", id, live,
                     (unsigned long long)s->live_bytes);
        assert_int_equal(s->active_tasks, active);
        assert_int_equal(s->tasks_omitted, 0);
        /* every task's live bytes, listed or (0) not */
        const char *p = l + used;
        unsigned long long task, bytes;
        int k;
        while (sscanf(p, " task%llu=%llu%n", &task, &bytes, &k) == 2) {
            uint64_t got = 0;
            for (uint32_t i = 0; i < s->ntasks; i++)
                if (s->tasks[i].id == task)
                    got = s->tasks[i].live_bytes;
            if (got != bytes)
                fail_msg("snapshot %llu, task %llu: %llu live bytes in the program, %llu in the export", id, task,
                         bytes, (unsigned long long)got);
            p += k;
        }
        n++;
    }
    return n;
}

/* Task A allocates on one thread; task B's thread frees half and moves one
 * of A's blocks into B by a realloc. */
static void test_handoff_exact(void **state)
{
    (void)state;
    run_result_t r;
    msx_report *rep = run_prog((char *[]){ "handoff", NULL }, &r);
    assert_int_equal(rep->nsnaps, 3);
    assert_int_equal(check_all(r.out, rep), 3);
    /* the figures themselves: A's 200 blocks of 100..299 bytes, then 100 of
     * them freed by B's thread and one (250 bytes) moved into B */
    unsigned long long a1, a2, b2;
    const char *l2 = strstr(r.out, "snap id=2"), *l3 = strstr(r.out, "snap id=3");
    assert_non_null(l2);
    assert_non_null(l3);
    assert_int_equal(sscanf(strstr(l2, "task1="), "task1=%llu", &a1), 1);
    assert_int_equal(sscanf(strstr(l3, "task1="), "task1=%llu", &a2), 1);
    assert_int_equal(sscanf(strstr(l3, "task2="), "task2=%llu", &b2), 1);
    assert_int_equal(a1, 200 * 100 + 199 * 200 / 2);
    assert_int_equal(a2, a1 - (100 * 100 + 99 * 100 / 2) - 250);
    assert_int_equal(b2, 5000 + 7000);
    assert_non_null(strstr(r.out, "active=1")); /* B ended before the last one */
    /* the archive keeps the snapshots: its JSON is the trace's */
    char *dir = th_tmpdir(), ar[4200];
    snprintf(ar, sizeof ar, "%s/r.msbin", dir);
    msx_buf bb = { 0 }, j1 = { 0 }, j2 = { 0 };
    assert_int_equal(msx_render_archive(&bb, rep), 0);
    FILE *f = fopen(ar, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bb.p, 1, bb.len, f), bb.len);
    fclose(f);
    msx_report *back = NULL;
    char err[512];
    assert_int_equal(msx_read_archive(ar, &back, err, sizeof err), 0);
    assert_int_equal(back->nsnaps, 3);
    assert_int_equal(msx_render_json(&j1, rep, NULL), 0);
    assert_int_equal(msx_render_json(&j2, back, NULL), 0);
    const char *s1 = strstr(j1.p, "\"snapshots\""), *s2 = strstr(j2.p, "\"snapshots\"");
    assert_non_null(s1);
    assert_non_null(s2);
    assert_memory_equal(s1, s2, strstr(s1, "\"snapshots_omitted\"") - s1);
    msx_report_free(back);
    msx_buf_free(&bb);
    msx_buf_free(&j1);
    msx_buf_free(&j2);
    th_rmtree(dir);
    /* the report's tasks[] agrees at the end */
    for (uint32_t i = 0; i < rep->ntasklist; i++) {
        if (rep->tasklist[i].id == 1)
            assert_int_equal(rep->tasklist[i].live_bytes, a2);
        if (rep->tasklist[i].id == 2)
            assert_int_equal(rep->tasklist[i].live_bytes, b2);
    }
    msx_report_free(rep);
}

/* Two threads churn blocks through shared slots (frees of each other's
 * blocks, of other tasks) while the main thread takes 40 snapshots. */
static void test_churn_exact(void **state)
{
    (void)state;
    run_result_t r;
    msx_report *rep = run_prog((char *[]){ "churn", "2", NULL }, &r);
    assert_int_equal(rep->nsnaps, 41);
    assert_int_equal(rep->snaps_omitted, 0);
    assert_int_equal(check_all(r.out, rep), 41);
    msx_report_free(rep);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    run_result_t r;
    msx_report *rep = run_prog((char *[]){ "args", NULL }, &r);
    assert_int_equal(th_field(r.out, "null_ok"), 1);
#ifndef MS_SANITIZER_HEAP
    assert_int_equal(th_field(r.out, "grown"), 0);
#else
    /* over a sanitizer's heap, CI once saw a second snapshot grow a little
     * (not reproduced; its runtime's own threads are suspected): what this
     * checks there is that no snapshot's result or tables (48 bytes and more)
     * show in the next by the dozen */
    assert_true(th_field(r.out, "grown") >= 0 && th_field(r.out, "grown") < 4096);
#endif
    assert_int_equal(th_field(r.out, "ids_ok"), 1);
    msx_report_free(rep);
}

/* 2000 threads that exit: each snapshot equals the export, and the
 * snapshots let go of the exited threads' chunks (a mapping each, else). */
static void test_exited_threads(void **state)
{
    (void)state;
    run_result_t r;
    msx_report *rep = run_prog((char *[]){ "exited", NULL }, &r);
    assert_int_equal(rep->nsnaps, 20);
    assert_int_equal(check_all(r.out, rep), 20);
    long long maps = th_field(r.out, "maps");
    assert_true(maps > 0);
    assert_true(maps < 500);
    msx_report_free(rep);
}

/* MEMSCOPE_MODE=off: no trace, no snapshot (ENOENT). */
static void test_off_mode(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *envv[] = { out_env, "MEMSCOPE_MODE=off", NULL };
    run_result_t r;
    assert_int_equal(th_run((char *[]){ (char *)th_build_path("snapshot_prog"), "off", NULL }, envv, NULL, 60000, &r), 0);
    assert_int_equal(th_field(r.out, "off_null"), 1);
    assert_int_equal(th_field(r.out, "errno_enoent"), 1);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handoff_exact),
        cmocka_unit_test(test_churn_exact),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_exited_threads),
        cmocka_unit_test(test_off_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
