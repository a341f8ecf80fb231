/* The metrics timeline (export/view_process.c) and its JSON: METRIC samples
 * of memscope's own stream (chunk flag MSF_CF_INTERNAL) kept exactly as
 * recorded, absent keys absent, at most 512 points (the latest of each
 * interval), malformed values left out; that stream is no thread of the
 * report. */
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
#include "format.h"
#include "suite.h"

/* A v2 trace: thread 1 "main" allocates; thread 2 is memscope's own METRIC
 * stream, started at time 0. */
static msf *with_metric_stream(void)
{
    msf *t = msf_new(65536);
    msf_set_version(t, 2);
    msf_thread(t, 1, 101, "main", 4, 0);
    msf_thread(t, 2, 150, "memscope-prep", 13, 0);
    msf_thread_flags(t, 2, MSF_CF_INTERNAL);
    msf_alloc(t, 1, 0x1000, 100);
    return t;
}

static void test_series_exact(void **state)
{
    (void)state;
    msf *t = with_metric_stream();
    /* keys in any order, one unknown key (only in process.metrics) */
    const char *k1[] = { MSF_M_MAPPED, MSF_M_RSS, MSF_M_MINFLT, MSF_M_MAJFLT, MSF_M_READ_BYTES,
                         MSF_M_WRITE_BYTES, MSF_M_ALLOCATED, MSF_M_ACTIVE, MSF_M_RESIDENT,
                         MSF_M_RETAINED, "gpu" };
    const uint64_t v1[] = { 900, 4096, 10, 1, 20, 30, 100, 200, 300, 400, 5 };
    const uint64_t tid1[] = { 101, 150 }, cpu1[] = { 5000, 7 };
    msf_time(t, 2, 1000000);
    msf_metrics(t, 2, 11, k1, v1, 2, tid1, cpu1);
    /* no /proc/self/io, no threads */
    const char *k2[] = { MSF_M_RSS, MSF_M_ALLOCATED };
    const uint64_t v2[] = { 8192, 150 };
    msf_time(t, 2, 2000000);
    msf_metrics(t, 2, 2, k2, v2, -1, NULL, NULL);
    /* nothing measured but an empty thread list */
    msf_time(t, 2, 3000000);
    msf_metrics(t, 2, 0, NULL, NULL, 0, NULL, NULL);
    msf_free(t, 1, 0x1000);
    msf_end(t, 1, 4000000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nthreads, 1);
    assert_string_equal(r->threads[0].name.p, "main");
    assert_int_equal(r->metric_samples, 3);
    assert_int_equal(r->nmpoints, 3);
    char *j = suite_json(r);
    assert_non_null(strstr(j,
        "  \"metrics_timeline\": [\n"
        "    {\"time_ns\": 1000000, \"rss\": 4096, \"minflt\": 10, \"majflt\": 1, \"read_bytes\": 20, "
        "\"write_bytes\": 30, \"allocated\": 100, \"active\": 200, \"resident\": 300, \"retained\": 400, "
        "\"mapped\": 900, \"threads\": [{\"tid\": 101, \"cpu_ns\": 5000}, {\"tid\": 150, \"cpu_ns\": 7}], "
        "\"threads_omitted\": 0},\n"
        "    {\"time_ns\": 2000000, \"rss\": 8192, \"allocated\": 150},\n"
        "    {\"time_ns\": 3000000, \"threads\": [], \"threads_omitted\": 0}\n"
        "  ],\n"
        "  \"metrics_timeline_omitted\": 0,\n"));
    /* the thread list has no memscope-prep */
    assert_null(strstr(j, "memscope-prep"));
    assert_non_null(strstr(j, "\"threads\": 1,"));
    /* process.metrics still has every key's last and highest value */
    assert_non_null(strstr(j, "{\"name\": \"rss\", \"last\": 8192, \"max\": 8192}"));
    assert_non_null(strstr(j, "{\"name\": \"gpu\", \"last\": 5, \"max\": 5}"));
    free(j);
    /* the dashboard's copy cuts each sample's thread list like threads[] */
    msx_buf b = { 0 };
    msx_json_limits lim = { .max_sample_threads = 1 };
    assert_int_equal(msx_render_json(&b, r, &lim), 0);
    msx_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "\"threads\": [{\"tid\": 101, \"cpu_ns\": 5000}], \"threads_omitted\": 1}"));
    msx_buf_free(&b);
    msx_report_free(r);
}

/* No METRIC record: an empty timeline. */
static void test_no_metrics(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_alloc(t, 1, 0x1000, 10);
    msf_end(t, 1, 100);
    msx_report *r = suite_analyze(t);
    char *j = suite_json(r);
    assert_non_null(strstr(j, "  \"metrics_timeline\": [],\n  \"metrics_timeline_omitted\": 0,\n"));
    assert_int_equal(r->nthreads, 2);
    free(j);
    msx_report_free(r);
}

/* 3000 samples, 1 ms apart, over 3 s: at most 512 points, each one a
 * sample as recorded (rss = its time / 1000 + 7), in time order, the latest
 * of its interval; the last sample is the last point. */
static void test_bounded(void **state)
{
    (void)state;
    msf *t = with_metric_stream();
    const char *k[] = { MSF_M_RSS };
    for (uint64_t i = 1; i <= 3000; i++) {
        uint64_t tm = i * 1000000, v = tm / 1000 + 7;
        msf_time(t, 2, tm);
        msf_metrics(t, 2, 1, k, &v, -1, NULL, NULL);
    }
    msf_end(t, 1, 3000000001u);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->metric_samples, 3000);
    assert_true(r->nmpoints <= 512);
    assert_true(r->nmpoints >= 256);
    for (uint32_t i = 0; i < r->nmpoints; i++) {
        const msx_metric_point *p = &r->mpoints[i];
        assert_int_equal(p->have, 1u);
        assert_int_equal(p->v[0], p->time_ns / 1000 + 7);
        assert_int_equal(p->time_ns % 1000000, 0);
        if (i)
            assert_true(p->time_ns > r->mpoints[i - 1].time_ns);
    }
    assert_int_equal(r->mpoints[r->nmpoints - 1].time_ns, 3000000000u);
    /* evenly spread: no gap wider than two intervals of the final width */
    uint64_t width = 1;
    while ((3000000001u / width) >= 512)
        width *= 2;
    for (uint32_t i = 1; i < r->nmpoints; i++) {
        const msx_metric_point *a = &r->mpoints[i - 1], *b = &r->mpoints[i];
        assert_true(b->time_ns - a->time_ns <= 2 * width);
        assert_true(a->time_ns / width != b->time_ns / width); /* one per interval */
        assert_true(a->time_ns + 1000000 > (a->time_ns / width + 1) * width); /* the interval's latest */
    }
    char *j = suite_json(r);
    char want[64];
    snprintf(want, sizeof want, "\"metrics_timeline_omitted\": %u,", 3000 - r->nmpoints);
    assert_non_null(strstr(j, want));
    free(j);
    msx_report_free(r);
}

/* Malformed values are left out, never fatal: a thread entry that is no
 * [uint, uint] pair, a value that is no uint, a "threads" that is no array. */
static void test_malformed(void **state)
{
    (void)state;
    msf *t = with_metric_stream();
    msf_time(t, 2, 1000);
    /* {"rss": "big", "minflt": 3, "threads": [[1, 2], 5, [3], [4, -1], [6, 7]]} */
    static const uint8_t m1[] = { 0x83, 0xa3, 'r', 's', 's', 0xa3, 'b', 'i', 'g',
                                  0xa6, 'm', 'i', 'n', 'f', 'l', 't', 0x03,
                                  0xa7, 't', 'h', 'r', 'e', 'a', 'd', 's', 0x95,
                                  0x92, 0x01, 0x02, 0x05, 0x91, 0x03, 0x92, 0x04, 0xff, 0x92, 0x06, 0x07 };
    msf_raw(t, 2, msf_head(MSF_R_METRIC, MSF_K_RECORD), m1, sizeof m1);
    msf_time(t, 2, 2000);
    /* {"threads": 9, "rss": 5} */
    static const uint8_t m2[] = { 0x82, 0xa7, 't', 'h', 'r', 'e', 'a', 'd', 's', 0x09,
                                  0xa3, 'r', 's', 's', 0x05 };
    msf_raw(t, 2, msf_head(MSF_R_METRIC, MSF_K_RECORD), m2, sizeof m2);
    msf_end(t, 1, 3000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nmpoints, 2);
    char *j = suite_json(r);
    assert_non_null(strstr(j,
        "    {\"time_ns\": 1000, \"minflt\": 3, \"threads\": [{\"tid\": 1, \"cpu_ns\": 2}, "
        "{\"tid\": 6, \"cpu_ns\": 7}], \"threads_omitted\": 0},\n"
        "    {\"time_ns\": 2000, \"rss\": 5}\n"));
    free(j);
    msx_report_free(r);
}

/* A stream flagged as memscope's that holds events is listed (a damaged or
 * foreign trace): what the report counts stays visible. */
static void test_internal_with_events_listed(void **state)
{
    (void)state;
    msf *t = with_metric_stream();
    msf_alloc(t, 2, 0x9000, 5);
    msf_end(t, 1, 100);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nthreads, 2);
    assert_int_equal(r->threads[1].allocations, 1);
    msx_report_free(r);
}

/* The dashboard's chart reads the page's copy of the JSON: it holds the
 * samples as the report has them, each cut to 32 threads (the page stays
 * bounded with 512 samples of thousands of threads). */
static void test_dashboard_copy(void **state)
{
    (void)state;
    msf *t = with_metric_stream();
    const char *k[] = { MSF_M_RSS, MSF_M_ALLOCATED, MSF_M_RESIDENT };
    const uint64_t v[] = { 7340032, 1048576, 3145728 };
    uint64_t tids[40], cpus[40];
    for (int i = 0; i < 40; i++) {
        tids[i] = 1000 + (uint64_t)i;
        cpus[i] = 5 * (uint64_t)i;
    }
    msf_time(t, 2, 5000);
    msf_metrics(t, 2, 3, k, v, 40, tids, cpus);
    msf_end(t, 1, 9000);
    msx_report *r = suite_analyze(t);
    msx_buf b = { 0 };
    assert_int_equal(msx_render_html(&b, r), 0);
    msx_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "{\"time_ns\": 5000, \"rss\": 7340032, \"allocated\": 1048576, \"resident\": 3145728, "
                                "\"threads\": [{\"tid\": 1000, \"cpu_ns\": 0}, "));
    assert_non_null(strstr(b.p, "{\"tid\": 1031, \"cpu_ns\": 155}], \"threads_omitted\": 8}"));
    assert_null(strstr(b.p, "\"tid\": 1032"));
    /* the chart draws those members */
    assert_non_null(strstr(b.p, "D.metrics_timeline"));
    assert_non_null(strstr(b.p, "m.resident - m.allocated"));
    msx_buf_free(&b);
    msx_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_exact),
        cmocka_unit_test(test_no_metrics),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_internal_with_events_listed),
        cmocka_unit_test(test_dashboard_copy),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
