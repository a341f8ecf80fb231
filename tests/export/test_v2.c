/* Format version 2 and the block events of the merge (export/reader.c,
 * export/merge.c): version-1 traces still read as before, version-2 records
 * (REALLOC_EX, the new control records) read, a version-2 time bound limits
 * how far events of a TIME window are spread, and block events carry the
 * keys of their block (task, stack, weight, scope, variable). Block events are observed with
 * the merge's tap (msx_analyze_trace_tapped). */
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
#include "format.h"
#include "merge.h"

/* The block events a tap saw. */
enum { MAX_SEEN = 4096 };
typedef struct seen {
    uint32_t n;
    msx_block_ev ev[MAX_SEEN];
} seen;

/* Tap: copies every block event. */
static void record_event(void *ctx, const msx_block_ev *e)
{
    seen *s = ctx;
    assert_true(s->n < MAX_SEEN);
    s->ev[s->n++] = *e;
}

/* Writes the trace, destroys the builder, analyses it with a tap into s. */
static msx_report *analyze(msf *t, seen *s)
{
    char *path = msf_path(msf_dir, "v2.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r = NULL;
    char err[512];
    s->n = 0;
    int rc = msx_analyze_trace_tapped(path, NULL, NULL, record_event, s, &r, err, sizeof err);
    if (rc)
        fail_msg("analysis failed: %s", err);
    free(path);
    return r;
}

/* The i-th event of kind k at addr (i from 0), or fails. */
static const msx_block_ev *find(const seen *s, msx_bev_kind k, uint64_t addr, int i)
{
    for (uint32_t j = 0; j < s->n; j++)
        if (s->ev[j].kind == k && s->ev[j].blk.addr == addr && i-- == 0)
            return &s->ev[j];
    fail_msg("no event %d of kind %d at 0x%llx", i, (int)k, (unsigned long long)addr);
    return NULL;
}

/* Two allocations between TIME 0 and TIME 20 ms, freed after TIME 20 ms. */
static msf *two_in_a_window(uint32_t version, uint64_t bound)
{
    msf *t = msf_new(4096);
    msf_set_version(t, version);
    msf_set_time_bound(t, bound);
    msf_thread(t, 1, 100, "main", 4, 0);
    msf_alloc(t, 1, 0x1000, 10);
    msf_alloc(t, 1, 0x2000, 20);
    msf_time(t, 1, 20000000);
    msf_free(t, 1, 0x1000);
    msf_free(t, 1, 0x2000);
    msf_end(t, 1, 20000001);
    msf_set_end_time(t, 20000001);
    return t;
}

/* Version 1: the events of a window are spread over the whole window. */
static void test_v1_spreads_over_the_window(void **state)
{
    (void)state;
    static seen s;
    msx_report *r = analyze(two_in_a_window(1, 1000000), &s);  /* the bound is not read in v1 */
    assert_int_equal(r->format_version, 1);
    assert_int_equal(r->events, 4);
    assert_int_equal(r->problems_total, 0);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x1000, 0)->time, 20000000 / 3);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x2000, 0)->time, 2 * 20000000 / 3);
    assert_int_equal(find(&s, MSX_BEV_FREED, 0x2000, 0)->time, 20000000); /* last window: at its TIME */
    msx_report_free(r);
}

/* Version 2 with a bound of 1 ms: the same window's events get times within
 * [0, 1 ms], evenly spread; the frees after TIME 20 ms, in the thread's last
 * window (no known end), within [20 ms, 21 ms]. */
static void test_v2_bounded_spread(void **state)
{
    (void)state;
    static seen s;
    msx_report *r = analyze(two_in_a_window(2, 1000000), &s);
    assert_int_equal(r->format_version, 2);
    assert_int_equal(r->events, 4);
    assert_int_equal(r->problems_total, 0);
    const msx_block_ev *a = find(&s, MSX_BEV_BORN, 0x1000, 0), *b = find(&s, MSX_BEV_BORN, 0x2000, 0);
    assert_true(a->time > 0 && a->time < b->time && b->time <= 1000000);
    assert_int_equal(a->time, 1000000 / 3);
    assert_int_equal(b->time, 2 * 1000000 / 3);
    assert_int_equal(find(&s, MSX_BEV_FREED, 0x1000, 0)->time, 20000000 + 1000000 / 3);
    assert_int_equal(find(&s, MSX_BEV_FREED, 0x2000, 0)->time, 20000000 + 2 * 1000000 / 3);
    assert_int_equal(r->peak_time_ns, 2 * 1000000 / 3);
    msx_report_free(r);
}

/* Version 2 without a bound (0) spreads as version 1 does. */
static void test_v2_without_bound(void **state)
{
    (void)state;
    static seen s;
    msx_report *r = analyze(two_in_a_window(2, 0), &s);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x2000, 0)->time, 2 * 20000000 / 3);
    msx_report_free(r);
}

/* A version-2 trace with ALLOC_EX, REALLOC_EX (in place and moving) and the
 * new control records: counts as usual, block events carry stack and weight. */
static void test_v2_records(void **state)
{
    (void)state;
    static seen s;
    msf *t = msf_new(4096);
    msf_set_version(t, 2);
    msf_set_time_bound(t, 1000000);
    msf_set_end_how(t, MSF_END_EXIT);
    msf_thread(t, 1, 100, "main", 4, 0);
    msf_task_create(t, 1, 3, "job", 0);
    msf_scope_enter(t, 1, 1, "parse", "a.c", 10);
    msf_alloc_w(t, 1, 0x1000, 100, 7, 0);
    msf_var(t, 1, 0x1000, "buf", "char[]", "a.c", 11, 100);
    msf_realloc_ex(t, 1, 0x1000, 0x1000, 150, 9, 0);      /* in place */
    msf_realloc_ex(t, 1, 0x1000, 0x3000, 300, 11, 4096);  /* moves */
    msf_alloc(t, 1, 0x5000, 5);
    msf_scope_leave(t, 1, 1);
    msf_free(t, 1, 0x3000);
    msf_task_end(t, 1, 3);
    msf_end_how(t, 1, 50, MSF_END_EXIT);
    msf_set_end_time(t, 50);
    msx_report *r = analyze(t, &s);
    assert_int_equal(r->problems_total, 0);
    assert_true(r->complete);
    assert_int_equal(r->events, 5);
    assert_int_equal(r->allocations, 2);
    assert_int_equal(r->reallocs, 2);
    assert_int_equal(r->frees, 1);
    assert_int_equal(r->bytes_allocated, 100 + 150 + 300 + 5);
    assert_int_equal(r->bytes_freed, 100 + 150 + 300);  /* the reallocs' old blocks and the free */
    assert_int_equal(r->leaked_blocks, 1);
    assert_int_equal(r->leaks[0].addr, 0x5000);

    assert_int_equal(find(&s, MSX_BEV_BORN, 0x1000, 0)->blk.keys.stack, 7);
    const msx_block_ev *rs = find(&s, MSX_BEV_RESIZED, 0x1000, 0);
    assert_int_equal(rs->prev.size, 100);
    assert_int_equal(rs->prev.keys.stack, 7);
    assert_int_equal(rs->blk.size, 150);
    assert_int_equal(rs->blk.keys.stack, 9);
    const msx_block_ev *mv = find(&s, MSX_BEV_FREED, 0x1000, 0);
    assert_true(mv->flags & MSX_BEVF_REALLOC);
    assert_int_equal(mv->blk.keys.stack, 9);
    const msx_block_ev *nb = find(&s, MSX_BEV_BORN, 0x3000, 0);
    assert_int_equal(nb->blk.keys.stack, 11);
    assert_int_equal(nb->blk.keys.weight, 4096);
    assert_int_equal(nb->blk.birth, find(&s, MSX_BEV_BORN, 0x1000, 0)->blk.birth); /* a realloc keeps the birth */
    const msx_block_ev *fr = find(&s, MSX_BEV_FREED, 0x3000, 0);
    assert_false(fr->flags & MSX_BEVF_REALLOC);
    assert_int_equal(fr->blk.keys.stack, 11);
    assert_int_equal(fr->blk.keys.weight, 4096);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x5000, 0)->blk.keys.stack, 0);
    assert_int_equal(find(&s, MSX_BEV_SURVIVED, 0x5000, 0)->blk.size, 5);
    msx_report_free(r);
}

/* The header's ending and lost control records reach the report and its
 * JSON; the header has the last word over END records (a failed exec). */
static void test_v2_header_ending_and_lost_records(void **state)
{
    (void)state;
    static seen s;
    msf *t = msf_new(4096);
    msf_set_version(t, 2);
    msf_set_time_bound(t, 1000000);
    msf_thread(t, 1, 100, "main", 4, 0);
    msf_alloc(t, 1, 0x1000, 10);
    msf_end_how(t, 1, 40, MSF_END_EXEC); /* an exec that failed ... */
    msf_end_how(t, 1, 50, MSF_END__EXIT); /* ... then _exit */
    msf_set_end_time(t, 50);
    msf_set_end_how(t, MSF_END__EXIT);
    msf_set_lost_records(t, 3);
    msx_report *r = analyze(t, &s);
    assert_true(r->complete);
    assert_int_equal(r->end_how, MSF_END__EXIT);
    assert_int_equal(r->lost_control_records, 3);
    msx_buf b = { 0 };
    assert_int_equal(msx_render_json(&b, r, NULL), 0);
    assert_non_null(strstr(b.p, "\"ending\": \"_exit\""));
    assert_non_null(strstr(b.p, "\"lost_control_records\": 3"));
    msx_buf_free(&b);
    msx_report_free(r);
}

/* In a version-1 trace, kind 4 (REALLOC_EX in version 2) is still reserved. */
static void test_v1_kind_4_reserved(void **state)
{
    (void)state;
    static seen s;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 100, "main", 4, 0);
    msf_alloc(t, 1, 0x1000, 100);
    msf_realloc_ex(t, 1, 0x1000, 0x2000, 200, 1, 0);
    msf_end(t, 1, 10);
    msx_report *r = analyze(t, &s);
    assert_int_equal(r->events, 1);
    assert_int_equal(r->reallocs, 0);
    assert_true(r->problems_total >= 1);
    assert_non_null(strstr(r->problems[0].p, "reserved record kind"));
    msx_report_free(r);
}

/* Block events carry the task in force on the block's thread when it was
 * born: from TASK records, kept by the freeing event (another thread with
 * another task), and kept across the thread's chunks. */
static void test_block_events_carry_task(void **state)
{
    (void)state;
    static seen s;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 100, "main", 4, 0);
    msf_thread(t, 2, 101, "worker", 6, 0);
    msf_alloc(t, 1, 0x100, 1);                 /* before any TASK: task 0 */
    msf_task(t, 1, 5);
    msf_alloc(t, 1, 0x1000, 10);
    msf_task(t, 1, 7);
    msf_alloc(t, 1, 0x2000, 20);
    for (int i = 0; i < 1500; i++)             /* fills chunk 0: the rest go to chunk 1 */
        msf_alloc(t, 1, 0x100000 + (uint64_t)i * 64, 8);
    msf_task(t, 2, 9);
    msf_time(t, 2, 100);
    msf_free(t, 2, 0x1000);
    msf_end(t, 1, 200);
    msf_set_end_time(t, 200);
    msx_report *r = analyze(t, &s);
    assert_int_equal(r->problems_total, 0);
    assert_true(r->chunks >= 3);
    assert_int_equal(r->tasks, 3);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x100, 0)->blk.keys.task, 0);
    const msx_block_ev *a = find(&s, MSX_BEV_BORN, 0x1000, 0);
    assert_int_equal(a->blk.keys.task, 5);
    assert_int_equal(a->blk.thread, 0);
    assert_int_equal(a->blk.serial, 1);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x2000, 0)->blk.keys.task, 7);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x100000 + 1499 * 64, 0)->blk.keys.task, 7);
    const msx_block_ev *f = find(&s, MSX_BEV_FREED, 0x1000, 0);
    assert_int_equal(f->actor, 1);
    assert_int_equal(f->blk.thread, 0);
    assert_int_equal(f->blk.keys.task, 5);
    assert_int_equal(find(&s, MSX_BEV_SURVIVED, 0x2000, 0)->blk.keys.task, 7);
    msx_report_free(r);
}

/* Block events carry the innermost scope open on their thread when the block
 * was born (SCOPE_ENTER / SCOPE_LEAVE); a leave closes the scopes left open
 * inside it; the freeing thread's scopes do not matter. */
static void test_block_events_carry_scope(void **state)
{
    (void)state;
    static seen s;
    msf *t = msf_new(4096);
    msf_set_version(t, 2);
    msf_thread(t, 1, 100, "main", 4, 0);
    msf_thread(t, 2, 101, "worker", 6, 0);
    msf_alloc(t, 1, 0x100, 1);                 /* no scope */
    msf_scope_enter(t, 1, 1, "outer", "a.c", 1);
    msf_alloc(t, 1, 0x1000, 10);
    msf_scope_enter(t, 1, 2, "inner", "a.c", 2);
    msf_alloc(t, 1, 0x2000, 20);
    msf_scope_leave(t, 1, 2);
    msf_alloc(t, 1, 0x3000, 30);
    msf_scope_enter(t, 1, 3, "skipped", "a.c", 3);
    msf_scope_leave(t, 1, 1);                  /* closes 3 too */
    msf_alloc(t, 1, 0x4000, 40);
    msf_scope_enter(t, 2, 8, "other", "b.c", 1);
    msf_time(t, 2, 100);
    msf_free(t, 2, 0x2000);
    msf_end(t, 1, 200);
    msf_set_end_time(t, 200);
    msx_report *r = analyze(t, &s);
    assert_int_equal(r->problems_total, 0);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x100, 0)->blk.keys.scope, 0);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x1000, 0)->blk.keys.scope, 1);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x2000, 0)->blk.keys.scope, 2);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x3000, 0)->blk.keys.scope, 1);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x4000, 0)->blk.keys.scope, 0);
    assert_int_equal(find(&s, MSX_BEV_FREED, 0x2000, 0)->blk.keys.scope, 2);
    assert_int_equal(find(&s, MSX_BEV_SURVIVED, 0x3000, 0)->blk.keys.scope, 1);
    msx_report_free(r);
}

/* A VAR record labels the live block at its address (LABELED): the same
 * label gets the same id, another label another; the label follows its block
 * through reallocs to its free; a VAR of an address not live is ignored. */
static void test_block_events_carry_variable(void **state)
{
    (void)state;
    static seen s;
    msf *t = msf_new(4096);
    msf_set_version(t, 2);
    msf_thread(t, 1, 100, "main", 4, 0);
    msf_alloc(t, 1, 0x1000, 10);
    msf_alloc(t, 1, 0x2000, 20);
    msf_alloc(t, 1, 0x3000, 30);
    msf_var(t, 1, 0x1000, "buf", "char[]", "a.c", 11, 10);
    msf_var(t, 1, 0x2000, "buf", "char[]", "a.c", 11, 20);
    msf_var(t, 1, 0x3000, "tbl", "int[]", "a.c", 12, 30);
    msf_alloc(t, 1, 0x9000, 4);
    msf_free(t, 1, 0x9000);
    msf_var(t, 1, 0x9000, "gone", "int", "a.c", 13, 4);  /* freed: nothing live there */
    msf_var(t, 1, 0xa000, "never", "int", "a.c", 14, 4); /* never allocated */
    msf_realloc(t, 1, 0x1000, 0x1000, 15);                /* in place */
    msf_realloc(t, 1, 0x1000, 0x5000, 50);                /* moves */
    msf_free(t, 1, 0x5000);
    msf_end(t, 1, 200);
    msf_set_end_time(t, 200);
    msx_report *r = analyze(t, &s);
    assert_int_equal(r->problems_total, 0);
    const msx_block_ev *l1 = find(&s, MSX_BEV_LABELED, 0x1000, 0), *l2 = find(&s, MSX_BEV_LABELED, 0x2000, 0),
                       *l3 = find(&s, MSX_BEV_LABELED, 0x3000, 0);
    assert_int_equal(l1->prev.keys.var, 0);
    assert_int_not_equal(l1->blk.keys.var, 0);
    assert_int_equal(l1->blk.size, 10);
    assert_int_equal(l2->blk.keys.var, l1->blk.keys.var);
    assert_int_not_equal(l3->blk.keys.var, l1->blk.keys.var);
    assert_int_not_equal(l3->blk.keys.var, 0);
    uint32_t labeled = 0;
    for (uint32_t i = 0; i < s.n; i++)
        labeled += s.ev[i].kind == MSX_BEV_LABELED;
    assert_int_equal(labeled, 3);
    assert_int_equal(find(&s, MSX_BEV_RESIZED, 0x1000, 0)->blk.keys.var, l1->blk.keys.var);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x5000, 0)->blk.keys.var, l1->blk.keys.var);
    assert_int_equal(find(&s, MSX_BEV_FREED, 0x5000, 0)->blk.keys.var, l1->blk.keys.var);
    assert_int_equal(find(&s, MSX_BEV_SURVIVED, 0x3000, 0)->blk.keys.var, l3->blk.keys.var);
    assert_int_equal(find(&s, MSX_BEV_BORN, 0x2000, 0)->blk.keys.var, 0);
    msx_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_spreads_over_the_window),
        cmocka_unit_test(test_v2_bounded_spread),
        cmocka_unit_test(test_v2_without_bound),
        cmocka_unit_test(test_v2_records),
        cmocka_unit_test(test_v1_kind_4_reserved),
        cmocka_unit_test(test_v2_header_ending_and_lost_records),
        cmocka_unit_test(test_block_events_carry_task),
        cmocka_unit_test(test_block_events_carry_scope),
        cmocka_unit_test(test_block_events_carry_variable),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
