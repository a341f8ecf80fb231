/* The per-task view (export/view_tasks.c) and its output: exact figures per
 * task when blocks cross threads and tasks hop between threads, parents,
 * version-1 traces with TASK records only, the list's bounds, names escaped
 * in JSON and HTML, and the archive round trip. */
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
#include "format.h"

/* The listed task of id, or fails. */
static const msx_task_report *task(const msx_report *r, uint64_t id)
{
    for (uint32_t i = 0; i < r->ntasklist; i++)
        if (r->tasklist[i].id == id)
            return &r->tasklist[i];
    fail_msg("task %llu is not listed", (unsigned long long)id);
    return NULL;
}

/* Task A allocates on thread 1; thread 2, in no task, frees one block: the
 * free is A's, and a cross-thread one; the other block stays A's. */
static void test_freed_by_another_thread(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_task_create(t, 1, 1, "A", 0);
    msf_task(t, 1, 1);
    msf_alloc(t, 1, 0x1000, 100);
    msf_alloc(t, 1, 0x2000, 50);
    msf_time(t, 1, 2000);
    msf_task(t, 1, 0);
    msf_time(t, 2, 5000);
    msf_free(t, 2, 0x1000);
    msf_alloc(t, 2, 0x9000, 7);  /* task 0: no row */
    msf_end(t, 1, 6000);
    msf_set_end_time(t, 6000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->problems_total, 0);
    assert_int_equal(r->tasks, 1);
    assert_int_equal(r->ntasklist, 1);
    assert_int_equal(r->tasks_omitted, 0);
    const msx_task_report *a = task(r, 1);
    assert_string_equal(a->name.p, "A");
    assert_int_equal(a->parent, 0);
    assert_int_equal(a->allocations, 2);
    assert_int_equal(a->reallocs, 0);
    assert_int_equal(a->bytes_allocated, 150);
    assert_int_equal(a->frees, 1);
    assert_int_equal(a->cross_thread_frees, 1);
    assert_int_equal(a->live_bytes, 50);
    assert_int_equal(a->peak_live_bytes, 150);
    assert_true(a->peak_time_ns >= 1000 && a->peak_time_ns <= 2000);
    assert_int_equal(a->first_time_ns, 1000);
    assert_int_equal(a->last_time_ns, 2000);  /* left at TIME 2000; the free is not its event */
    assert_int_equal(a->nthreads, 1);
    assert_int_equal(a->nlisted, 1);
    assert_int_equal(a->threads[0], 1);
    assert_false(a->ended);
    msx_report_free(r);
}

/* A task entered on thread 1, then on thread 2, allocating on both: counts
 * add up, both threads listed, a realloc moves a block within it. */
static void test_task_hops_threads(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 100);
    msf_task_create(t, 1, 5, "hop", 0);
    msf_task(t, 1, 5);
    msf_alloc(t, 1, 0x1000, 10);
    msf_time(t, 1, 200);
    msf_task(t, 1, 0);
    msf_time(t, 2, 300);
    msf_task(t, 2, 5);
    msf_alloc(t, 2, 0x2000, 20);
    msf_realloc(t, 2, 0x2000, 0x3000, 30);
    msf_free(t, 2, 0x1000);
    msf_time(t, 2, 400);
    msf_task_end(t, 2, 5);
    msf_task(t, 2, 0);
    msf_end(t, 1, 500);
    msf_set_end_time(t, 500);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->problems_total, 0);
    const msx_task_report *h = task(r, 5);
    assert_int_equal(h->allocations, 2);
    assert_int_equal(h->reallocs, 1);
    assert_int_equal(h->bytes_allocated, 10 + 20 + 30);
    assert_int_equal(h->frees, 1);               /* the realloc's old block is no free */
    assert_int_equal(h->cross_thread_frees, 1);  /* 0x1000, made on 1, freed on 2 */
    assert_int_equal(h->live_bytes, 30);
    assert_int_equal(h->peak_live_bytes, 10 + 30);  /* after the realloc, before the free */
    assert_int_equal(h->nthreads, 2);
    assert_int_equal(h->nlisted, 2);
    assert_int_equal(h->threads[0], 1);
    assert_int_equal(h->threads[1], 2);
    assert_true(h->ended);
    assert_int_equal(h->first_time_ns, 100);
    assert_int_equal(h->last_time_ns, 400);
    msx_report_free(r);
}

/* Nested tasks: parents as TASK_CREATE gives them, each block counted in
 * the innermost task current when it was born, not its parents. */
static void test_nested_tasks(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_task_create(t, 1, 10, "request", 0);
    msf_task_create(t, 1, 11, "parse", 10);
    msf_task_create(t, 1, 12, "lex", 11);
    msf_task(t, 1, 10);
    msf_alloc(t, 1, 0x1000, 1);
    msf_task(t, 1, 11);
    msf_alloc(t, 1, 0x2000, 2);
    msf_task(t, 1, 12);
    msf_alloc(t, 1, 0x3000, 4);
    msf_alloc(t, 1, 0x4000, 8);
    msf_task_end(t, 1, 12);
    msf_task(t, 1, 11);
    msf_free(t, 1, 0x3000);                   /* 12's block, freed in 11 */
    msf_task_end(t, 1, 11);
    msf_task(t, 1, 10);
    msf_end(t, 1, 50);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->tasks, 3);
    const msx_task_report *a = task(r, 10), *b = task(r, 11), *c = task(r, 12);
    assert_int_equal(a->parent, 0);
    assert_int_equal(b->parent, 10);
    assert_int_equal(c->parent, 11);
    assert_string_equal(c->name.p, "lex");
    assert_int_equal(a->allocations, 1);
    assert_int_equal(b->allocations, 1);
    assert_int_equal(c->allocations, 2);
    assert_int_equal(c->bytes_allocated, 12);
    assert_int_equal(c->frees, 1);
    assert_int_equal(c->cross_thread_frees, 0);
    assert_int_equal(c->live_bytes, 8);
    assert_int_equal(c->peak_live_bytes, 12);
    assert_int_equal(b->frees, 0);
    assert_int_equal(b->live_bytes, 2);
    assert_false(a->ended);
    assert_true(b->ended);
    assert_true(c->ended);
    msx_report_free(r);
}

/* A realloc in place by a thread in another task moves the block to that
 * task; a thread that ends inside a task leaves it at its last time. */
static void test_resize_in_other_task(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_task(t, 1, 20);
    msf_alloc(t, 1, 0x5000, 100);
    msf_task(t, 1, 0);
    msf_time(t, 2, 300);
    msf_task(t, 2, 21);
    msf_realloc(t, 2, 0x5000, 0x5000, 40);
    msf_time(t, 2, 900);
    msf_time(t, 1, 1000);
    msf_end(t, 1, 1000);
    msx_report *r = suite_analyze(t);
    const msx_task_report *a = task(r, 20), *b = task(r, 21);
    assert_int_equal(a->allocations, 1);
    assert_int_equal(a->live_bytes, 0);
    assert_int_equal(a->peak_live_bytes, 100);
    assert_int_equal(b->allocations, 0);
    assert_int_equal(b->reallocs, 1);
    assert_int_equal(b->bytes_allocated, 40);
    assert_int_equal(b->live_bytes, 40);
    assert_int_equal(b->frees, 0);
    assert_int_equal(b->first_time_ns, 300);
    assert_int_equal(b->last_time_ns, 900);  /* thread 2 ended in it */
    msx_report_free(r);
}

/* Version 1: TASK records only, no TASK_CREATE: rows without names, the
 * task carried over chunk headers (8000 allocations fill several 4 KiB
 * chunks); task 0 is no row; summary.tasks counts the ids. */
static void test_v1_task_records_only(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 101, "one", 3, 0);
    msf_thread(t, 2, 102, "two", 3, 0);
    msf_task(t, 1, 7);
    for (uint64_t i = 0; i < 8000; i++)
        msf_alloc(t, 1, 0x100000 + i * 64, 3);
    msf_task(t, 2, 8);
    msf_alloc(t, 2, 0x9000, 5);
    msf_task(t, 2, 0);
    msf_alloc(t, 2, 0xa000, 5);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->format_version, 1);
    assert_true(r->chunks > 3);
    assert_int_equal(r->tasks, 2);
    assert_int_equal(r->ntasklist, 2);
    assert_int_equal(r->tasklist[0].id, 7);  /* by id */
    assert_int_equal(r->tasklist[1].id, 8);
    const msx_task_report *a = task(r, 7), *b = task(r, 8);
    assert_int_equal(a->name.n, 0);
    assert_int_equal(a->parent, 0);
    assert_int_equal(a->allocations, 8000);
    assert_int_equal(a->bytes_allocated, 24000);
    assert_int_equal(a->live_bytes, 24000);
    assert_int_equal(a->nthreads, 1);
    assert_int_equal(b->allocations, 1);
    assert_int_equal(b->threads[0], 2);
    assert_false(a->ended);
    msx_report_free(r);
}

/* A task known from chunk headers only: the TASK record is lost in a
 * damaged first chunk, the later chunks' headers name the task, and every
 * allocation decoded counts in it. */
static void test_chunk_header_task(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 101, "one", 3, 0);
    const uint8_t broken[] = { 0xc1 };
    msf_raw(t, 1, msf_head(MSF_R_METRIC, MSF_K_RECORD), broken, sizeof broken);
    msf_task(t, 1, 7);  /* skipped with the rest of the damaged chunk */
    for (uint64_t i = 0; i < 8000; i++)
        msf_alloc(t, 1, 0x100000 + i * 64, 3);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->damaged_chunks, 1);
    assert_int_equal(r->tasks, 1);
    const msx_task_report *a = task(r, 7);
    assert_true(a->allocations > 0 && a->allocations < 8000);
    assert_int_equal(a->allocations, r->allocations);
    assert_int_equal(a->live_bytes, 3 * r->allocations);
    assert_int_equal(a->threads[0], 1);
    msx_report_free(r);
}

/* The list keeps the 1000 tasks with most bytes allocated (by id) and counts
 * the rest; a task on 40 threads lists 32 and counts 8. */
static void test_bounds(void **state)
{
    (void)state;
    msf *t = msf_new(65536);
    msf_set_version(t, 2);
    for (uint32_t k = 1; k <= 40; k++) {
        msf_thread(t, k, 100 + k, "w", 1, 0);
        msf_task(t, k, 5000);
        msf_task(t, k, 0);
    }
    for (uint64_t id = 1; id <= 1500; id++) {
        msf_task(t, 1, id);
        msf_alloc(t, 1, 0x100000 + id * 0x1000, id);
    }
    msf_task(t, 1, 0);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->tasks, 1501);
    assert_int_equal(r->ntasklist, 1000);
    assert_int_equal(r->tasks_omitted, 501);
    assert_int_equal(r->tasklist[0].id, 501);    /* 501..1500 allocated most */
    assert_int_equal(r->tasklist[999].id, 1500);
    for (uint32_t i = 1; i < r->ntasklist; i++)
        assert_true(r->tasklist[i - 1].id < r->tasklist[i].id);
    msx_report_free(r);

    t = msf_new(65536);
    msf_set_version(t, 2);
    for (uint32_t k = 1; k <= 40; k++) {
        msf_thread(t, k, 100 + k, "w", 1, 0);
        msf_task(t, k, 9);
        msf_alloc(t, k, 0x1000 * k, 1);
        msf_task(t, k, 0);
        msf_task(t, k, 9);  /* entered again: counted once */
    }
    msf_end(t, 1, 10);
    r = suite_analyze(t);
    const msx_task_report *w = task(r, 9);
    assert_int_equal(w->nthreads, 40);
    assert_int_equal(w->nlisted, 32);
    for (uint32_t j = 0; j < 32; j++)
        assert_int_equal(w->threads[j], j + 1);
    assert_int_equal(w->allocations, 40);
    char *j = suite_json(r);
    assert_non_null(strstr(j, "\"threads\": [1, 2, 3, "));
    assert_non_null(strstr(j, "31, 32], \"threads_omitted\": 8}"));
    free(j);
    msx_report_free(r);
}

/* A trace with a hostile task name, and a second task under it; task 3's
 * blocks are freed once on their thread, once on another. */
static msx_report *hostile(void)
{
    msf *t = suite_two_threads();
    msf_task_create(t, 1, 3, "<b>\"q\"&'</b>", 0);
    msf_task_create(t, 1, 4, "child", 3);
    msf_task(t, 1, 3);
    msf_alloc(t, 1, 0x1000, 64);
    msf_alloc(t, 1, 0x3000, 16);
    msf_free(t, 1, 0x3000);
    msf_task(t, 2, 4);
    msf_alloc(t, 2, 0x2000, 32);
    msf_free(t, 2, 0x1000);
    msf_task_end(t, 2, 4);
    msf_end(t, 1, 10);
    return suite_analyze(t);
}

/* The JSON: members as documented, the name escaped. */
static void test_json(void **state)
{
    (void)state;
    msx_report *r = hostile();
    char *j = suite_json(r);
    assert_non_null(strstr(j, "\"tasks\": [\n    {\"id\": 3, \"name\": "
                              "\"\\u003cb\\u003e\\\"q\\\"\\u0026'\\u003c/b\\u003e\", \"parent\": 0, \"ended\": false, "
                              "\"allocations\": 2, \"reallocs\": 0, \"bytes_allocated\": 80, \"live_bytes\": 0, "
                              "\"peak_live_bytes\": 80, "));
    assert_non_null(strstr(j, "\"frees\": 2, \"cross_thread_frees\": 1, "));
    assert_non_null(strstr(j, "\"threads\": [1], \"threads_omitted\": 0},\n    {\"id\": 4, \"name\": \"child\", "
                              "\"parent\": 3, \"ended\": true, "));
    assert_non_null(strstr(j, "\"tasks_omitted\": 0,\n"));
    assert_non_null(strstr(j, "\"tasks\": 2, "));  /* summary */
    assert_null(strstr(j, "<b>"));
    free(j);
    msx_report_free(r);
}

/* The dashboard: the name reaches the page escaped only, and the page
 * builds its Tasks section with text nodes (no innerHTML anywhere). */
static void test_html(void **state)
{
    (void)state;
    msx_report *r = hostile();
    msx_buf b = { 0 };
    assert_int_equal(msx_render_html(&b, r), 0);
    msx_buf_putc(&b, '\0');
    assert_null(strstr(b.p, "<b>"));
    assert_null(strstr(b.p, "\"q\"&"));
    assert_non_null(strstr(b.p, "\\u003cb\\u003e\\\"q\\\"\\u0026'\\u003c/b\\u003e"));
    assert_non_null(strstr(b.p, "section(\"Tasks\""));
    assert_null(strstr(b.p, ".innerHTML"));
    assert_null(strstr(b.p, ".outerHTML"));
    assert_null(strstr(b.p, "document.write"));
    assert_null(strstr(b.p, "insertAdjacentHTML"));
    msx_buf_free(&b);
    msx_report_free(r);
}

/* The archive keeps the task list: the same JSON comes back. */
static void test_archive_round_trip(void **state)
{
    (void)state;
    msx_report *r = hostile(), *back;
    msx_buf b = { 0 };
    assert_int_equal(msx_render_archive(&b, r), 0);
    char *path = msf_path(msf_dir, "tasks.msbin");
    assert_int_equal(msx_write_file(path, b.p, b.len, 0600), 0);
    msx_buf_free(&b);
    char err[512];
    assert_int_equal(msx_read_archive(path, &back, err, sizeof err), 0);
    assert_int_equal(back->ntasklist, 2);
    char *j1 = suite_json(r), *j2 = suite_json(back);
    assert_non_null(strstr(j1, "\"name\": \"child\""));
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    msx_report_free(back);
    msx_report_free(r);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freed_by_another_thread),
        cmocka_unit_test(test_task_hops_threads),
        cmocka_unit_test(test_nested_tasks),
        cmocka_unit_test(test_resize_in_other_task),
        cmocka_unit_test(test_v1_task_records_only),
        cmocka_unit_test(test_chunk_header_task),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_archive_round_trip),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
