/* The counters view (export/view_counters.c) behind `report --chrome`: exact
 * series of live bytes in total, per thread and per task through reallocs in
 * place and moving, frees by another thread; the halving of the intervals
 * when a trace outgrows its first resolution, against a replay of the
 * events; off unless asked for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "export.h"
#include "fixture.h"
#include "suite.h"

/* Writes t and analyses it with (or without) the counters. */
static msx_report *analyze(msf *t, bool counters)
{
    char *path = msf_path(msf_dir, "c.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r = NULL;
    char err[512];
    msx_analyze_opts o = { .counters = counters };
    if (msx_analyze_trace_opts(path, &o, NULL, NULL, &r, err, sizeof err))
        fail_msg("analysis failed: %s", err);
    free(path);
    return r;
}

/* The fixtures' traces bound the time error to 1 ns: an event is at its
 * TIME or 1 ns later (the merge spreads a window's events, FORMAT.md). */
static void point_is(const msx_cpoint *p, uint64_t idx, uint64_t t_max, uint64_t max, uint64_t t_last, uint64_t last)
{
    assert_int_equal(p->idx, idx);
    assert_in_range(p->t_max, t_max, t_max + 1);
    assert_int_equal(p->max, max);
    assert_in_range(p->t_last, t_last, t_last + 1);
    assert_int_equal(p->last, last);
}

static msf *exact_trace(void)
{
    msf *t = suite_two_threads();
    msf_set_time_bound(t, 1);
    msf_time(t, 1, 1000);
    msf_task_create(t, 1, 7, "A", 0);
    msf_task(t, 1, 7);
    msf_alloc(t, 1, 0x1000, 100);
    msf_alloc(t, 1, 0x2000, 50);
    msf_time(t, 1, 2000);
    msf_realloc(t, 1, 0x2000, 0x2000, 80);  /* in place */
    msf_time(t, 1, 3000);
    msf_realloc(t, 1, 0x1000, 0x3000, 200); /* moving: 80 live between */
    msf_time(t, 1, 4000);
    msf_task(t, 1, 0);
    msf_time(t, 2, 5000);
    msf_free(t, 2, 0x2000);                 /* thread 1's and task 7's block */
    msf_time(t, 2, 6000);
    msf_alloc(t, 2, 0x9000, 7);
    msf_end(t, 1, 6000);
    msf_set_end_time(t, 6000);
    return t;
}

static void test_exact(void **state)
{
    (void)state;
    msx_report *r = analyze(exact_trace(), true);
    assert_int_equal(r->problems_total, 0);
    const msx_counters *c = r->counters;
    assert_non_null(c);
    assert_int_equal(c->interval_ns, 1024);
    assert_int_equal(c->total.n, 5);
    point_is(&c->total.p[0], 0, 1000, 150, 1000, 150);
    point_is(&c->total.p[1], 1, 2000, 180, 2000, 180);
    point_is(&c->total.p[2], 2, 3000, 280, 3000, 280);
    point_is(&c->total.p[3], 4, 5000, 200, 5000, 200);
    point_is(&c->total.p[4], 5, 6000, 207, 6000, 207);
    assert_int_equal(c->total.peak, r->peak_live_bytes);
    assert_int_equal(c->total.live, r->leaked_bytes);
    assert_int_equal(c->nthreads, 2);
    assert_int_equal(c->threads_folded, 0);
    assert_int_equal(c->threads[0].key, 1);
    assert_int_equal(c->threads[0].n, 4);
    point_is(&c->threads[0].p[3], 4, 5000, 200, 5000, 200);
    assert_int_equal(c->threads[1].key, 2);
    assert_int_equal(c->threads[1].n, 1);
    point_is(&c->threads[1].p[0], 5, 6000, 7, 6000, 7);
    for (uint32_t i = 0; i < 2; i++) {
        assert_int_equal(c->threads[i].peak, r->threads[i].peak_live_bytes);
        assert_int_equal(c->threads[i].live, r->threads[i].live_bytes);
    }
    assert_int_equal(c->ntasks, 1);
    assert_int_equal(c->tasks_folded, 0);
    assert_int_equal(c->tasks[0].key, 7);
    assert_int_equal(c->tasks[0].peak, 280);
    assert_int_equal(c->tasks[0].live, 200);
    assert_int_equal(c->tasks[0].peak, r->tasklist[0].peak_live_bytes);
    assert_int_equal(c->tasks[0].live, r->tasklist[0].live_bytes);
    /* the moving realloc's 80 is inside interval 2, below its max */
    point_is(&c->tasks[0].p[2], 2, 3000, 280, 3000, 280);
    msx_report_free(r);
}

static void test_off_by_default(void **state)
{
    (void)state;
    msx_report *r = analyze(exact_trace(), false);
    assert_null(r->counters);
    msx_report_free(r);
}

enum { N = 3000 };

/* One chunk whose times run far past its header's: the intervals halve many
 * times; each point must be the replayed interval's highest and last value. */
static void test_halving(void **state)
{
    (void)state;
    msf *t = msf_new(1 << 20);
    msf_set_version(t, 2);
    msf_set_time_bound(t, 1);
    msf_thread(t, 1, 101, "one", 3, 0);
    uint64_t live = 0, peak = 0, sizes[N];
    uint64_t *tm = calloc(2 * N, sizeof *tm), *val = calloc(2 * N, sizeof *val);  /* an alloc and a free per step */
    assert_non_null(tm);
    assert_non_null(val);
    uint32_t nv = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint64_t time = (uint64_t)i * 1000003 + (i % 5) * 77;
        time -= time % 1024 > 1000 ? 30 : 0;  /* time and time + 1 in one interval */
        msf_time(t, 1, time);
        sizes[i] = (i * 7919) % 997 + 1;
        msf_alloc(t, 1, 0x10000 + 0x1000 * (uint64_t)i, sizes[i]);
        live += sizes[i];
        peak = live > peak ? live : peak;
        tm[nv] = time;
        val[nv++] = live;
        if (i % 3 && i > 1) {
            msf_free(t, 1, 0x10000 + 0x1000 * (uint64_t)(i - 2));
            live -= sizes[i - 2];
            tm[nv] = time;
            val[nv++] = live;
        }
    }
    msf_end(t, 1, (uint64_t)N * 1000003);
    msx_report *r = analyze(t, true);
    const msx_counters *c = r->counters;
    assert_non_null(c);
    assert_true(c->interval_ns > (uint64_t)N * 1000003 / MSX_COUNTER_POINTS);
    assert_true(c->total.n <= MSX_COUNTER_POINTS);
    assert_int_equal(c->total.peak, peak);
    assert_int_equal(r->peak_live_bytes, peak);
    assert_int_equal(c->total.live, live);
    /* replay with the final interval */
    uint32_t k = 0, j = 0;
    while (j < nv) {
        uint64_t idx = tm[j] / c->interval_ns, mx = 0, tmx = 0;
        uint32_t last = j;
        for (; j < nv && tm[j] / c->interval_ns == idx; j++) {
            if (val[j] > mx) {
                mx = val[j];
                tmx = tm[j];
            }
            last = j;
        }
        assert_true(k < c->total.n);
        point_is(&c->total.p[k++], idx, tmx, mx, tm[last], val[last]);
    }
    assert_int_equal(k, c->total.n);
    free(tm);
    free(val);
    msx_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_off_by_default),
        cmocka_unit_test(test_halving),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
