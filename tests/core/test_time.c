/* Event times (FORMAT.md "Time"): a thread that allocates rarely gets times
 * within the stated bound, in the trace and in the JSON report, with and
 * without a busy thread beside it. Runs the `workload` program's `paced` mode,
 * which prints the CLOCK_MONOTONIC time of each of its allocations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "format.h"
#include "helpers.h"
#include "trace_reader.h"

#define BLOCK_SIZE(i) (1000u + (unsigned)(i))
#define TOLERANCE_NS 2000000LL /* the bar: every time within 2 ms */

/* Finds the time_ns of the leak of `size` bytes in the JSON text's "leaks"
 * list. Returns -1 if absent. */
static long long json_leak_time(const char *json, unsigned size)
{
    const char *p = strstr(json, "\"leaks\": [");
    const char *end = p ? strstr(p, "\"leaks_omitted\"") : NULL;
    char want[48];
    snprintf(want, sizeof want, "\"size\": %u,", size);
    while (p && end && (p = strchr(p + 1, '{')) && p < end) {
        const char *close = strchr(p, '}');
        const char *s = strstr(p, want), *t = strstr(p, "\"time_ns\": ");
        if (close && s && s < close && t && t < close)
            return atoll(t + strlen("\"time_ns\": "));
    }
    return -1;
}

/* Runs `paced n ms busy`, then checks every block's time in the trace (the
 * TIME in force, never after the allocation and at most the header's bound
 * before it) and in the JSON report (within TOLERANCE_NS). The workload reads
 * the clock on both sides of each malloc; the allocation lies in between. */
static void check_paced(int n, int ms, bool busy, bool late)
{
    char *dir = th_tmpdir();
    char nb[16], msb[16];
    snprintf(nb, sizeof nb, "%d", n);
    snprintf(msb, sizeof msb, "%d", ms);
    char *argv[] = { (char *)th_build_path("workload"), "paced", nb, msb, busy ? "1" : "0",
                     late ? "1" : "0", NULL };
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    static run_result_t r;
    assert_int_equal(th_run(argv, (char *[]){ out_env, NULL }, NULL, 60000, &r), 0);
    assert_int_equal(r.status, 0);

    char path[4096];
    assert_int_equal(tr_find(dir, "workload.", path, sizeof path), 0);
    tr_trace_t t;
    assert_int_equal(tr_load(path, &t), 0);
    assert_int_equal(t.version, MSF_VERSION);
    assert_true(t.time_bound > 0 && t.time_bound <= 1000000);

    msx_report *rep = NULL;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err), 0);
    msx_buf b = { 0 };
    assert_int_equal(msx_render_json(&b, rep, NULL), 0);
    assert_non_null(b.p);

    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "before%d", i);
        assert_true(th_field(r.out, key) > 0);
        long long before = th_field(r.out, key) - (long long)t.start_monotonic;
        snprintf(key, sizeof key, "at%d", i);
        assert_true(th_field(r.out, key) > 0);
        long long at = th_field(r.out, key) - (long long)t.start_monotonic;
        assert_true(before <= at);
        const tr_event_t *e = NULL;
        for (size_t k = 0; k < t.nev && !e; k++)
            if (t.ev[k].kind == MSF_K_ALLOC && t.ev[k].size == BLOCK_SIZE(i))
                e = &t.ev[k];
        assert_non_null(e);
        long long tm = (long long)e->time;
        /* the TIME in force is never after the allocation, and the bound
         * (plus 1 ms of slack) reaches the allocation's interval */
        if (tm > at || before - tm > (long long)t.time_bound + 1000000)
            fail_msg("block %d: TIME %lld ns, allocated in [%lld, %lld] ns (bound %llu)", i, tm, before, at,
                     (unsigned long long)t.time_bound);
        long long js = json_leak_time(b.p, BLOCK_SIZE(i));
        assert_true(js >= 0);
        if (js - at > TOLERANCE_NS || before - js > TOLERANCE_NS)
            fail_msg("block %d: JSON time_ns %lld, allocated in [%lld, %lld] ns", i, js, before, at);
    }
    msx_buf_free(&b);
    msx_report_free(rep);
    tr_free(&t);
    th_rmtree(dir);
}

/* One block every 20 ms: the helper publishes the clock in between. */
static void test_quiet_thread_times(void **state)
{
    (void)state;
    check_paced(10, 20, false, false);
}

/* The same with a thread beside it that allocates all the time. */
static void test_quiet_thread_times_beside_busy_one(void **state)
{
    (void)state;
    check_paced(10, 20, true, false);
}

/* Gaps long enough for the helper to stop publishing: the thread reads the
 * clock itself and wakes it. */
static void test_times_after_idle_spells(void **state)
{
    (void)state;
    check_paced(5, 60, false, false);
}

/* A thread created after an idle spell (the helper stopped publishing): its
 * first chunk meets the stopped clock and must wake the helper. */
static void test_thread_started_after_idle_spell(void **state)
{
    (void)state;
    check_paced(15, 20, false, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_thread_times),
        cmocka_unit_test(test_quiet_thread_times_beside_busy_one),
        cmocka_unit_test(test_times_after_idle_spells),
        cmocka_unit_test(test_thread_started_after_idle_spell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
