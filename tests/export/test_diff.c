/* memscope diff's computation (export/diff.c, view_cuts.c, diff_render.c) on
 * fixture traces with known answers: threads matched by name then rank
 * (whatever their serials), tasks by name then rank (whatever their ids),
 * unnamed ones by number; the cuts' figures exactly at given times, through
 * a free, a realloc and two threads; sampled traces said to be estimates,
 * with intervals; hostile names escaped in text, JSON and HTML. The real
 * program's end-to-end test is test_diff.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "cuts.h"
#include "diff.h"
#include "export.h"
#include "fixture.h"
#include "suite.h"

/* The diff row of kind dim labelled label, or fails. */
static const msx_diff_row *row(const msx_diff *d, msx_diff_dim dim, const char *label)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (d->rows[i].dim == dim && !strcmp(d->rows[i].label, label))
            return &d->rows[i];
    fail_msg("no %s row \"%s\"", msx_diff_dim_names[dim], label);
    return NULL;
}

/* A trace of three threads named n1, n2, n3 (serials 1..3) and two tasks
 * named "job" (ids j1 < j2) and an unnamed one (id 7); thread k allocates
 * k * unit bytes (kept), task j1 `ja` bytes, j2 `jb` bytes (kept). */
static msx_report *named_trace(const char *n1, const char *n2, const char *n3, uint64_t unit, uint64_t j1, uint64_t j2,
                               uint64_t ja, uint64_t jb)
{
    msf *t = msf_new(4096);
    msf_set_version(t, 2);
    const char *names[3] = { n1, n2, n3 };
    for (uint32_t s = 1; s <= 3; s++)
        msf_thread(t, s, 100 + s, names[s - 1], strlen(names[s - 1]), 0);
    for (uint32_t s = 1; s <= 3; s++) {
        msf_time(t, s, 1000 * s);
        msf_alloc(t, s, 0x10000 * s, s * unit);
    }
    msf_time(t, 1, 5000);
    msf_task_create(t, 1, j1, "job", 0);
    msf_task_create(t, 1, j2, "job", 0);
    msf_task_create(t, 1, 7, NULL, 0);
    msf_task(t, 1, j1);
    msf_alloc(t, 1, 0x100000, ja);
    msf_task(t, 1, j2);
    msf_alloc(t, 1, 0x200000, jb);
    msf_task(t, 1, 7);
    msf_alloc(t, 1, 0x300000, 3);
    msf_task(t, 1, 0);
    msf_end(t, 1, 9000);
    msf_set_end_time(t, 9000);
    return suite_analyze(t);
}

/* Other serials and ids, the same names: matched by name and rank. */
static void test_match_by_name(void **state)
{
    (void)state;
    msx_report *ra = named_trace("one", "two", "two", 10, 5, 9, 100, 200);
    msx_report *rb = named_trace("two", "one", "two", 1000, 30, 20, 250, 170);
    msx_diff_side a, b;
    assert_int_equal(msx_diff_side_report(&a, ra, "A"), 0);
    assert_int_equal(msx_diff_side_report(&b, rb, "B"), 0);
    msx_diff d;
    assert_int_equal(msx_diff_compute(&d, &a, &b), 0);
    /* threads: "one" is serial 1 in A (10 bytes), serial 2 in B (2000);
     * "two" #1 is A's serial 2 (20) and B's serial 1 (1000 + the tasks'
     * allocations: thread 1 runs them); "two" #2 both serial 3 */
    const msx_diff_row *one = row(&d, MSX_DD_THREAD, "one");
    assert_int_equal(one->a[MSX_DF_LIVE_BYTES], 10 + 100 + 200 + 3);
    assert_int_equal(one->b[MSX_DF_LIVE_BYTES], 2000);
    const msx_diff_row *two = row(&d, MSX_DD_THREAD, "two");
    assert_int_equal(two->a[MSX_DF_LIVE_BYTES], 20);
    assert_int_equal(two->b[MSX_DF_LIVE_BYTES], 1000 + 250 + 170 + 3);
    const msx_diff_row *two2 = row(&d, MSX_DD_THREAD, "two #2");
    assert_int_equal(two2->a[MSX_DF_LIVE_BYTES], 30);
    assert_int_equal(two2->b[MSX_DF_LIVE_BYTES], 3000);
    assert_true(two2->in_a && two2->in_b);
    /* tasks: "job" by rank of id: A's 5 with B's 20, A's 9 with B's 30 */
    const msx_diff_row *job = row(&d, MSX_DD_TASK, "job");
    assert_int_equal(job->a[MSX_DF_BYTES_ALLOCATED], 100);
    assert_int_equal(job->b[MSX_DF_BYTES_ALLOCATED], 170);
    const msx_diff_row *job2 = row(&d, MSX_DD_TASK, "job #2");
    assert_int_equal(job2->a[MSX_DF_LEAKED_BYTES], 200);
    assert_int_equal(job2->b[MSX_DF_LEAKED_BYTES], 250);
    const msx_diff_row *t7 = row(&d, MSX_DD_TASK, "task 7");  /* unnamed: by id */
    assert_true(t7->in_a && t7->in_b);
    assert_int_equal(t7->b[MSX_DF_LIVE_BYTES] - t7->a[MSX_DF_LIVE_BYTES], 0);
    /* the total, and sorted by growth within the threads: "two" (+1403) first */
    uint64_t la = 10 + 20 + 30 + 303, lb = 1000 + 2000 + 3000 + 423;
    assert_int_equal(msx_diff_live_growth(&d), (int64_t)(lb - la));
    uint32_t k = 0;
    while (d.rows[k].dim != MSX_DD_THREAD)
        k++;
    assert_string_equal(d.rows[k].label, "two #2");  /* +2970 */
    assert_string_equal(d.rows[k + 1].label, "one");  /* +1687 */
    msx_diff_free(&d);
    msx_diff_side_free(&a);
    msx_diff_side_free(&b);
    msx_report_free(ra);
    msx_report_free(rb);
}

/* Cuts at 1500 and 4500 ns of a two-thread trace: live, allocated and
 * allocations by thread and task exactly at those times. */
static void test_cuts_exact(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_task_create(t, 1, 3, "T", 0);
    msf_task(t, 1, 3);
    msf_alloc(t, 1, 0x1000, 100);
    msf_time(t, 1, 1100);            /* a TIME before each event: known times */
    msf_alloc(t, 1, 0x2000, 50);
    msf_time(t, 1, 1400);
    msf_time(t, 2, 1200);
    msf_alloc(t, 2, 0x5000, 7);
    msf_time(t, 2, 1300);
    msf_time(t, 1, 2000);
    msf_free(t, 1, 0x1000);          /* after the first cut */
    msf_time(t, 1, 2100);
    msf_realloc(t, 1, 0x2000, 0x3000, 80);
    msf_time(t, 1, 2200);
    msf_time(t, 2, 3000);
    msf_alloc(t, 2, 0x6000, 1000);
    msf_time(t, 2, 3100);
    msf_time(t, 2, 5000);
    msf_free(t, 2, 0x6000);          /* after the second */
    msf_end(t, 1, 6000);
    msf_set_end_time(t, 6000);
    char *path = msf_path(msf_dir, "cuts.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_cut c[2] = { { .time_ns = 1500 }, { .time_ns = 4500 } };
    msx_cuts cuts = { .c = c, .n = 2 };
    msx_analyze_opts o = { .cuts = &cuts };
    msx_report *r = NULL;
    char err[256];
    assert_int_equal(msx_analyze_trace_opts(path, &o, NULL, NULL, &r, err, sizeof err), 0);
    assert_true(c[0].taken && c[1].taken);
    assert_int_equal(c[0].total.live_bytes, 157);
    assert_int_equal(c[0].total.allocations, 3);
    assert_int_equal(c[1].total.live_bytes, 80 + 7 + 1000);
    assert_int_equal(c[1].total.allocations, 5);
    assert_int_equal(c[1].total.bytes_allocated, 157 + 80 + 1000);
    msx_diff_side a, b;
    assert_int_equal(msx_diff_side_cut(&a, r, &c[0], "T"), 0);
    assert_int_equal(msx_diff_side_cut(&b, r, &c[1], "T"), 0);
    msx_diff d;
    assert_int_equal(msx_diff_compute(&d, &a, &b), 0);
    assert_true(d.moments);
    assert_int_equal(msx_diff_live_growth(&d), 1087 - 157);
    const msx_diff_row *task = row(&d, MSX_DD_TASK, "T");
    assert_int_equal(task->a[MSX_DF_LIVE_BYTES], 150);
    assert_int_equal(task->b[MSX_DF_LIVE_BYTES], 80);
    assert_int_equal(task->b[MSX_DF_ALLOCATIONS], 3);  /* the realloc counts */
    const msx_diff_row *two = row(&d, MSX_DD_THREAD, "two");
    assert_int_equal(two->a[MSX_DF_LIVE_BYTES], 7);
    assert_int_equal(two->b[MSX_DF_LIVE_BYTES], 1007);
    assert_int_equal(two->b[MSX_DF_PEAK_LIVE_BYTES], 1007);
    /* the text shows no leaked bytes between moments; the JSON none either */
    msx_buf tb = { 0 }, jb = { 0 };
    assert_int_equal(msx_diff_render_text(&tb, &d, 0), 0);
    assert_int_equal(msx_diff_render_json(&jb, &d), 0);
    msx_buf_putc(&tb, '\0');
    msx_buf_putc(&jb, '\0');
    assert_null(strstr(tb.p, "leaked"));
    assert_null(strstr(jb.p, "leaked"));
    assert_non_null(strstr(tb.p, "    live_bytes +930 (157 -> 1087)"));
    assert_non_null(strstr(jb.p, "\"time_ns\": 4500"));
    msx_buf_free(&tb);
    msx_buf_free(&jb);
    msx_diff_free(&d);
    msx_diff_side_free(&a);
    msx_diff_side_free(&b);
    msx_cuts_clear(&cuts);
    msx_report_free(r);
    free(path);
}

/* A sampled trace: the output says the figures are estimates, with intervals. */
static void test_sampled(void **state)
{
    (void)state;
    msx_report *rs[2];
    for (int k = 0; k < 2; k++) {
        msf *t = suite_two_threads();
        msf_set_sampling(t, 1000, 0, 77);
        msf_time(t, 1, 1000);
        msf_alloc_w(t, 1, 0x1000, 100, 0, 1000);
        if (k)
            msf_alloc_w(t, 1, 0x2000, 100, 0, 1000);
        msf_end(t, 1, 2000);
        msf_set_end_time(t, 2000);
        rs[k] = suite_analyze(t);
    }
    msx_diff_side a, b;
    assert_int_equal(msx_diff_side_report(&a, rs[0], "A"), 0);
    assert_int_equal(msx_diff_side_report(&b, rs[1], "B"), 0);
    msx_diff d;
    assert_int_equal(msx_diff_compute(&d, &a, &b), 0);
    assert_true(d.sampled);
    assert_int_equal(msx_diff_live_growth(&d), 1000);  /* each sample stands for 1000 bytes */
    const msx_diff_row *tot = row(&d, MSX_DD_TOTAL, "total");
    assert_true(tot->blo[MSX_DF_LIVE_BYTES] < 2000 && tot->bhi[MSX_DF_LIVE_BYTES] > 2000);
    msx_buf tb = { 0 }, jb = { 0 }, hb = { 0 };
    assert_int_equal(msx_diff_render_text(&tb, &d, 0), 0);
    assert_int_equal(msx_diff_render_json(&jb, &d), 0);
    assert_int_equal(msx_diff_render_html(&hb, &d), 0);
    msx_buf_putc(&tb, '\0');
    msx_buf_putc(&jb, '\0');
    msx_buf_putc(&hb, '\0');
    assert_non_null(strstr(tb.p, "figures are estimates"));
    assert_non_null(strstr(tb.p, ", B in ["));
    assert_non_null(strstr(jb.p, "\"estimates\": true"));
    assert_non_null(strstr(jb.p, "\"b_ci95\": ["));
    assert_non_null(strstr(hb.p, "figures are estimates"));
    msx_buf_free(&tb);
    msx_buf_free(&jb);
    msx_buf_free(&hb);
    msx_diff_free(&d);
    msx_diff_side_free(&a);
    msx_diff_side_free(&b);
    /* between moments of the second (still in t.msgpack): estimates too */
    char *path = msf_path(msf_dir, "t.msgpack");
    msx_cut c[2] = { { .time_ns = 500 }, { .time_ns = 1500 } };
    msx_cuts cuts = { .c = c, .n = 2 };
    msx_analyze_opts o = { .cuts = &cuts };
    msx_report *r = NULL;
    char err[256];
    assert_int_equal(msx_analyze_trace_opts(path, &o, NULL, NULL, &r, err, sizeof err), 0);
    assert_int_equal(msx_diff_side_cut(&a, r, &c[0], "T"), 0);
    assert_int_equal(msx_diff_side_cut(&b, r, &c[1], "T"), 0);
    assert_int_equal(msx_diff_compute(&d, &a, &b), 0);
    assert_true(d.sampled && d.moments);
    tot = row(&d, MSX_DD_TOTAL, "total");
    assert_int_equal(tot->b[MSX_DF_LIVE_BYTES], 2000);       /* the estimate, not the 200 sampled bytes */
    assert_int_equal(tot->b[MSX_DF_BYTES_ALLOCATED], 2000);
    assert_true(tot->blo[MSX_DF_LIVE_BYTES] < 2000 && tot->bhi[MSX_DF_LIVE_BYTES] > 2000);
    assert_int_equal(msx_diff_live_growth(&d), 2000);
    msx_diff_free(&d);
    msx_diff_side_free(&a);
    msx_diff_side_free(&b);
    msx_cuts_clear(&cuts);
    msx_report_free(r);
    free(path);
    msx_report_free(rs[0]);
    msx_report_free(rs[1]);
}

/* Hostile task and thread names: escaped in every output. */
static void test_hostile_names(void **state)
{
    (void)state;
    static const char evil[] = "<img src=x onerror=alert(1)>\"'&\x1b[31m";
    msf *t = msf_new(4096);
    msf_set_version(t, 2);
    msf_thread(t, 1, 101, evil, strlen(evil), 0);
    msf_time(t, 1, 1000);
    msf_task_create(t, 1, 4, evil, 0);
    msf_task(t, 1, 4);
    msf_alloc(t, 1, 0x1000, 64);
    msf_end(t, 1, 2000);
    msf_set_end_time(t, 2000);
    msx_report *r = suite_analyze(t);
    msx_diff_side a = { 0 }, b;
    a.name = strdup("empty");
    assert_int_equal(msx_diff_side_report(&b, r, "</p><script>alert(2)</script>"), 0);
    msx_diff d;
    assert_int_equal(msx_diff_compute(&d, &a, &b), 0);
    assert_false(row(&d, MSX_DD_TASK, evil)->in_a);
    msx_buf tb = { 0 }, jb = { 0 }, hb = { 0 };
    assert_int_equal(msx_diff_render_text(&tb, &d, 0), 0);
    assert_int_equal(msx_diff_render_json(&jb, &d), 0);
    assert_int_equal(msx_diff_render_html(&hb, &d), 0);
    msx_buf_putc(&tb, '\0');
    msx_buf_putc(&jb, '\0');
    msx_buf_putc(&hb, '\0');
    assert_null(strchr(tb.p, '\x1b'));
    assert_non_null(strstr(tb.p, "\\x1b[31m"));
    assert_null(strchr(jb.p, '\x1b'));
    assert_null(strstr(jb.p, "<img"));
    assert_null(strstr(hb.p, "<img"));
    assert_null(strstr(hb.p, "<script"));
    assert_null(strchr(hb.p, '\x1b'));
    assert_non_null(strstr(hb.p, "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"));
    assert_non_null(strstr(hb.p, "&lt;/p&gt;&lt;script&gt;"));
    msx_buf_free(&tb);
    msx_buf_free(&jb);
    msx_buf_free(&hb);
    msx_diff_free(&d);
    msx_diff_side_free(&a);
    msx_diff_side_free(&b);
    msx_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_by_name),
        cmocka_unit_test(test_cuts_exact),
        cmocka_unit_test(test_sampled),
        cmocka_unit_test(test_hostile_names),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
