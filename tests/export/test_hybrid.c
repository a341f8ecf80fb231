/* The hybrid view (export/view_hybrid.c) and its output: the thread x task
 * matrix with a task hopping between threads and blocks freed on other
 * threads, its sums against threads[] and tasks[], its bounds; task spans
 * per thread (chunk headers, nesting, thread end, the cap); labelled blocks
 * by thread and by task; the JSON, the archive round trip, names escaped in
 * the page. */
#include <errno.h>
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

/* The matrix cell of row i, column j. */
static const msx_hybrid_cell *cell(const msx_report *r, uint32_t i, uint32_t j)
{
    const msx_hybrid_report *h = &r->hybrid;
    assert_true(i < msx_hybrid_nrows(h) && j < msx_hybrid_ncols(h));
    return &h->cells[(size_t)i * msx_hybrid_ncols(h) + j];
}

/* Checks a cell's three figures. */
static void expect_cell(const msx_report *r, uint32_t i, uint32_t j, uint64_t allocs, uint64_t bytes, uint64_t live)
{
    const msx_hybrid_cell *c = cell(r, i, j);
    if (c->allocations != allocs || c->bytes != bytes || c->live_bytes != live)
        fail_msg("cell [%u][%u]: %llu allocations, %llu bytes, %llu live; expected %llu, %llu, %llu", i, j,
                 (unsigned long long)c->allocations, (unsigned long long)c->bytes,
                 (unsigned long long)c->live_bytes, (unsigned long long)allocs, (unsigned long long)bytes,
                 (unsigned long long)live);
}

/* Every listed row adds up to its thread's figures, every listed column to
 * its task's, the whole matrix to the summary. */
static void expect_sums(const msx_report *r)
{
    const msx_hybrid_report *h = &r->hybrid;
    uint32_t nr = msx_hybrid_nrows(h), nc = msx_hybrid_ncols(h);
    uint64_t all = 0, all_live = 0;
    for (uint32_t i = 0; i < nr; i++)
        for (uint32_t j = 0; j < nc; j++) {
            all += cell(r, i, j)->bytes;
            all_live += cell(r, i, j)->live_bytes;
        }
    assert_int_equal(all, r->bytes_allocated);
    assert_int_equal(all_live, r->leaked_bytes);
    for (uint32_t i = 0; i < h->nrows; i++) {
        const msx_thread_report *t = NULL;
        for (uint32_t k = 0; k < r->nthreads; k++)
            if (r->threads[k].id == h->rows[i])
                t = &r->threads[k];
        assert_non_null(t);
        uint64_t a = 0, b = 0, l = 0;
        for (uint32_t j = 0; j < nc; j++) {
            a += cell(r, i, j)->allocations;
            b += cell(r, i, j)->bytes;
            l += cell(r, i, j)->live_bytes;
        }
        assert_int_equal(a, t->allocations + t->reallocs);
        assert_int_equal(b, t->bytes_allocated);
        assert_int_equal(l, t->live_bytes);
    }
    for (uint32_t j = 1; j < h->ncols; j++) {
        const msx_task_report *t = NULL;
        for (uint32_t k = 0; k < r->ntasklist; k++)
            if (r->tasklist[k].id == h->cols[j])
                t = &r->tasklist[k];
        assert_non_null(t);
        uint64_t a = 0, b = 0, l = 0;
        for (uint32_t i = 0; i < nr; i++) {
            a += cell(r, i, j)->allocations;
            b += cell(r, i, j)->bytes;
            l += cell(r, i, j)->live_bytes;
        }
        assert_int_equal(a, t->allocations + t->reallocs);
        assert_int_equal(b, t->bytes_allocated);
        assert_int_equal(l, t->live_bytes);
    }
}

/* Checks a span. */
static void expect_span(const msx_hybrid_lane *l, uint32_t k, uint64_t task, uint64_t start, uint64_t end)
{
    assert_true(k < l->nspans);
    if (l->spans[k].task != task || l->spans[k].start_ns != start || l->spans[k].end_ns != end)
        fail_msg("thread %u span %u: task %llu [%llu, %llu); expected task %llu [%llu, %llu)", l->thread, k,
                 (unsigned long long)l->spans[k].task, (unsigned long long)l->spans[k].start_ns,
                 (unsigned long long)l->spans[k].end_ns, (unsigned long long)task, (unsigned long long)start,
                 (unsigned long long)end);
}

/* Task A runs on thread 1, then hops to thread 2, which also runs B; thread
 * 2 frees A's blocks made on thread 1 (one in A, one in B), and reallocs in
 * A; each thread allocates outside any task too. */
static msx_report *hopping(const char *name_a)
{
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_task_create(t, 1, 1, name_a, 0);
    msf_task_create(t, 1, 2, "B", 1);
    msf_task(t, 1, 1);
    msf_alloc(t, 1, 0x1000, 100);
    msf_alloc(t, 1, 0x2000, 50);
    msf_time(t, 1, 2000);
    msf_task(t, 1, 0);
    msf_alloc(t, 1, 0x3000, 7);
    msf_time(t, 2, 3000);
    msf_task(t, 2, 1);
    msf_alloc(t, 2, 0x4000, 30);
    msf_realloc(t, 2, 0x4000, 0x5000, 60);
    msf_free(t, 2, 0x1000);
    msf_time(t, 2, 4000);
    msf_task(t, 2, 2);
    msf_alloc(t, 2, 0x6000, 11);
    msf_free(t, 2, 0x2000);
    msf_time(t, 2, 5000);
    msf_task(t, 2, 0);
    msf_alloc(t, 2, 0x7000, 5);
    msf_time(t, 2, 6000);
    msf_time(t, 1, 6000);
    msf_end(t, 1, 6000);
    msf_set_end_time(t, 6000);
    return suite_analyze(t);
}

static void test_matrix_task_hops_threads(void **state)
{
    (void)state;
    msx_report *r = hopping("A");
    assert_int_equal(r->problems_total, 0);
    const msx_hybrid_report *h = &r->hybrid;
    assert_int_equal(h->nrows, 2);
    assert_int_equal(h->rows[0], 1);
    assert_int_equal(h->rows[1], 2);
    assert_int_equal(h->rows_other, 0);
    assert_int_equal(h->ncols, 3);
    assert_int_equal(h->cols[0], 0);
    assert_int_equal(h->cols[1], 1);
    assert_int_equal(h->cols[2], 2);
    assert_int_equal(h->cols_other, 0);
    expect_cell(r, 0, 0, 1, 7, 7);      /* thread 1, no task: 0x3000 lives */
    expect_cell(r, 0, 1, 2, 150, 0);    /* thread 1 in A: both freed by thread 2 */
    expect_cell(r, 0, 2, 0, 0, 0);
    expect_cell(r, 1, 0, 1, 5, 5);
    expect_cell(r, 1, 1, 2, 90, 60);    /* thread 2 in A: 30, then realloc'ed to 60 */
    expect_cell(r, 1, 2, 1, 11, 11);
    expect_sums(r);
    assert_int_equal(h->nlanes, 2);
    assert_int_equal(h->lanes[0].thread, 1);
    assert_int_equal(h->lanes[0].nspans, 1);
    expect_span(&h->lanes[0], 0, 1, 1000, 2000);
    assert_int_equal(h->lanes[1].thread, 2);
    assert_int_equal(h->lanes[1].nspans, 2);
    expect_span(&h->lanes[1], 0, 1, 3000, 4000);
    expect_span(&h->lanes[1], 1, 2, 4000, 5000);
    assert_int_equal(h->lanes_omitted, 0);
    assert_int_equal(h->nby_thread, 0);  /* nothing labelled */
    assert_int_equal(h->nby_task, 0);
    msx_report_free(r);
}

/* A realloc in place by another thread in another task: the block moves to
 * that thread's and task's cell, its old cell keeps nothing live. */
static void test_resize_in_another_task(void **state)
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
    expect_cell(r, 0, 1, 1, 100, 0);  /* thread 1 in task 20 */
    expect_cell(r, 1, 2, 1, 40, 40);  /* thread 2 in task 21 */
    expect_cell(r, 0, 0, 0, 0, 0);
    expect_cell(r, 1, 0, 0, 0, 0);
    expect_sums(r);
    msx_report_free(r);
}

/* No task at all: one column, the threads' own figures; no lanes. */
static void test_no_tasks(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_alloc(t, 1, 0x1000, 10);
    msf_alloc(t, 2, 0x2000, 20);
    msf_realloc(t, 2, 0x2000, 0x2000, 25);
    msf_free(t, 2, 0x1000);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    const msx_hybrid_report *h = &r->hybrid;
    assert_int_equal(h->nrows, 2);
    assert_int_equal(h->ncols, 1);
    assert_int_equal(h->cols_other, 0);
    expect_cell(r, 0, 0, 1, 10, 0);
    expect_cell(r, 1, 0, 2, 45, 25);
    expect_sums(r);
    assert_int_equal(h->nlanes, 0);
    msx_report_free(r);
}

/* Spans: a task kept across chunks (their headers name it) is one span;
 * a nested task splits its parent's; a thread that ends inside a task
 * closes its span at its last time. */
static void test_spans(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 100);
    msf_task(t, 1, 7);
    for (uint64_t i = 0; i < 3000; i++)  /* several 4 KiB chunks */
        msf_alloc(t, 1, 0x100000 + i * 64, 1);
    msf_time(t, 1, 900);
    msf_task(t, 1, 8);
    msf_alloc(t, 1, 0x9000, 2);
    msf_time(t, 1, 950);
    msf_task(t, 1, 7);
    msf_time(t, 1, 990);
    msf_time(t, 2, 500);
    msf_task(t, 2, 8);
    msf_time(t, 2, 700);
    msf_end(t, 2, 1000);
    msx_report *r = suite_analyze(t);
    assert_true(r->chunks > 3);
    const msx_hybrid_report *h = &r->hybrid;
    assert_int_equal(h->nlanes, 2);
    const msx_hybrid_lane *a = &h->lanes[0], *b = &h->lanes[1];
    assert_int_equal(a->nspans, 3);
    expect_span(a, 0, 7, 100, 900);
    expect_span(a, 1, 8, 900, 950);
    expect_span(a, 2, 7, 950, 990);
    assert_int_equal(b->nspans, 1);
    expect_span(b, 0, 8, 500, 700);   /* its last TIME */
    expect_cell(r, 0, 1, 3000, 3000, 3000);
    expect_cell(r, 0, 2, 1, 2, 2);
    expect_sums(r);
    msx_report_free(r);
}

/* The bounds: 40 threads and 150 tasks give 32 rows and an "other" row,
 * 128 task columns (those that allocated most), "no task" and an "other"
 * column, with every sum exact; a lane keeps 256 spans and counts the
 * rest; threads outside the rows have no lane and are counted. */
static void test_bounds(void **state)
{
    (void)state;
    msf *t = msf_new(65536);
    msf_set_version(t, 2);
    for (uint32_t k = 1; k <= 40; k++)
        msf_thread(t, k, 100 + k, "w", 1, 0);
    for (uint64_t id = 1; id <= 150; id++) {
        uint32_t k = (uint32_t)((id - 1) % 40) + 1;
        msf_task(t, k, id);
        msf_alloc(t, k, 0x100000 + id * 0x1000, id);
        msf_task(t, k, 0);
    }
    for (uint32_t i = 0; i < 300; i++)  /* thread 1: 300 spans of tasks 1 and 41 */
        msf_task(t, 1, i % 2 ? 41 : 1);
    msf_task(t, 1, 0);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t);
    const msx_hybrid_report *h = &r->hybrid;
    /* thread k's bytes: k + (k+40) + (k+80) (+ k+120 for k <= 30): threads
     * 1..30 allocated most, then 40 and 39 */
    assert_int_equal(h->nrows, 32);
    assert_int_equal(h->rows_other, 8);
    for (uint32_t i = 0; i < 30; i++)
        assert_int_equal(h->rows[i], i + 1);
    assert_int_equal(h->rows[30], 39);
    assert_int_equal(h->rows[31], 40);
    assert_int_equal(h->ncols, 129);
    assert_int_equal(h->cols_other, 22);
    for (uint32_t j = 1; j < 129; j++)
        assert_int_equal(h->cols[j], j + 22);  /* tasks 23..150 */
    expect_sums(r);
    /* the other row: threads 31..38, each k + (k+40) + (k+80) bytes */
    uint64_t other_row = 0, other_col = 0;
    for (uint32_t j = 0; j < 130; j++)
        other_row += cell(r, 32, j)->bytes;
    uint64_t want = 0;
    for (uint64_t k = 31; k <= 38; k++)
        want += 3 * k + 120;
    assert_int_equal(other_row, want);
    for (uint32_t i = 0; i < 33; i++)
        other_col += cell(r, i, 129)->bytes;
    assert_int_equal(other_col, 22 * 23 / 2);  /* tasks 1..22 */
    expect_cell(r, 32, 129, 0, 0, 0);           /* tasks 1..22 ran on threads 1..22 */
    assert_int_equal(h->lanes[0].thread, 1);
    assert_int_equal(h->lanes[0].nspans, 256);
    assert_int_equal(h->lanes[0].spans_omitted, 4 + 300 - 256);  /* 1, 41, 81, 121, then 300 */
    assert_int_equal(h->nlanes, 32);
    assert_int_equal(h->lanes_omitted, 8);
    assert_int_equal(h->lane_spans_omitted, 8 * 3);
    char *j = suite_json(r);
    assert_non_null(strstr(j, "\"threads_other\": 8,"));
    assert_non_null(strstr(j, "\"tasks_other\": 22,"));
    assert_non_null(strstr(j, "\"spans_omitted\": 48}"));
    assert_non_null(strstr(j, "\"lanes_omitted\": 8,\n    \"lane_spans_omitted\": 24,"));
    free(j);
    msx_report_free(r);
}

/* Labelled blocks by thread and by task: two labels in task A on thread
 * 1, one outside any task; thread 2, in task B, frees one of A's labelled
 * blocks, moves another (its label goes with it, to thread 2 and B), and
 * relabels a third, which stays thread 1's and A's. */
static void test_variables_by_thread_and_task(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_task(t, 1, 1);
    msf_alloc(t, 1, 0x1000, 64);
    msf_var(t, 1, 0x1000, "buf", "char *", "a.c", 1, 0);
    msf_alloc(t, 1, 0x2000, 32);
    msf_var(t, 1, 0x2000, "buf", "char *", "a.c", 1, 0);
    msf_alloc(t, 1, 0x3000, 16);
    msf_var(t, 1, 0x3000, "tmp", "int *", "a.c", 2, 0);
    msf_task(t, 1, 0);
    msf_alloc(t, 1, 0x4000, 8);
    msf_var(t, 1, 0x4000, "cfg", NULL, NULL, 0, 0);
    msf_time(t, 1, 2000);
    msf_time(t, 2, 3000);
    msf_task(t, 2, 2);
    msf_free(t, 2, 0x2000);
    msf_realloc(t, 2, 0x1000, 0x5000, 128);
    msf_var(t, 2, 0x3000, "tmp2", "int *", "a.c", 3, 0);
    msf_alloc(t, 2, 0x6000, 4);
    msf_var(t, 2, 0x6000, "x", NULL, NULL, 0, 0);
    msf_time(t, 2, 4000);
    msf_task(t, 2, 0);
    msf_end(t, 1, 5000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->problems_total, 0);
    const msx_hybrid_report *h = &r->hybrid;
    assert_int_equal(h->nby_thread, 2);
    const msx_hybrid_vars *a = &h->by_thread[0], *b = &h->by_thread[1];
    assert_int_equal(a->id, 1);
    assert_int_equal(a->variables, 4);       /* buf, tmp, tmp2, cfg */
    assert_int_equal(a->blocks, 5);          /* four labellings in A, one outside */
    assert_int_equal(a->bytes_labelled, 64 + 32 + 16 + 16 + 8);
    assert_int_equal(a->live_blocks, 2);     /* tmp2's and cfg's */
    assert_int_equal(a->live_bytes, 16 + 8);
    assert_int_equal(b->id, 2);
    assert_int_equal(b->variables, 2);       /* buf (moved here), x */
    assert_int_equal(b->blocks, 1);
    assert_int_equal(b->bytes_labelled, 4);
    assert_int_equal(b->live_blocks, 2);
    assert_int_equal(b->live_bytes, 128 + 4);
    assert_int_equal(h->nby_task, 3);
    const msx_hybrid_vars *n = &h->by_task[0], *ta = &h->by_task[1], *tb = &h->by_task[2];
    assert_int_equal(n->id, 0);
    assert_int_equal(n->variables, 1);
    assert_int_equal(n->blocks, 1);
    assert_int_equal(n->live_bytes, 8);
    assert_int_equal(ta->id, 1);
    assert_int_equal(ta->variables, 3);      /* buf, tmp, tmp2 */
    assert_int_equal(ta->blocks, 4);
    assert_int_equal(ta->bytes_labelled, 128);
    assert_int_equal(ta->live_blocks, 1);
    assert_int_equal(ta->live_bytes, 16);
    assert_int_equal(tb->id, 2);
    assert_int_equal(tb->variables, 2);
    assert_int_equal(tb->blocks, 1);
    assert_int_equal(tb->live_blocks, 2);
    assert_int_equal(tb->live_bytes, 132);
    /* the same labellings as variables[] counts them */
    uint64_t blocks = 0, bytes = 0, live = 0;
    for (uint32_t i = 0; i < r->nvars; i++) {
        blocks += r->vars[i].blocks;
        bytes += r->vars[i].bytes_labelled;
        live += r->vars[i].live_bytes;
    }
    assert_int_equal(blocks, a->blocks + b->blocks);
    assert_int_equal(bytes, a->bytes_labelled + b->bytes_labelled);
    assert_int_equal(live, a->live_bytes + b->live_bytes);
    assert_int_equal(live, n->live_bytes + ta->live_bytes + tb->live_bytes);
    msx_report_free(r);
}

/* The JSON: the member as documented, ids only. */
static void test_json(void **state)
{
    (void)state;
    msx_report *r = hopping("A");
    char *j = suite_json(r);
    assert_non_null(strstr(j, "  \"hybrid\": {\n    \"threads\": [1, 2],\n    \"threads_other\": 0,\n"
                              "    \"tasks\": [0, 1, 2],\n    \"tasks_other\": 0,\n"
                              "    \"allocations\": [\n      [1, 2, 0],\n      [1, 2, 1]\n    ],\n"
                              "    \"bytes\": [\n      [7, 150, 0],\n      [5, 90, 11]\n    ],\n"
                              "    \"live_bytes\": [\n      [7, 0, 0],\n      [5, 60, 11]\n    ],\n"
                              "    \"lanes\": [\n"
                              "      {\"thread\": 1, \"spans\": [{\"task\": 1, \"start_ns\": 1000, \"end_ns\": 2000}], "
                              "\"spans_omitted\": 0},\n"
                              "      {\"thread\": 2, \"spans\": [{\"task\": 1, \"start_ns\": 3000, \"end_ns\": 4000}, "
                              "{\"task\": 2, \"start_ns\": 4000, \"end_ns\": 5000}], \"spans_omitted\": 0}\n    ],\n"
                              "    \"lanes_omitted\": 0,\n    \"lane_spans_omitted\": 0,\n"
                              "    \"variables_by_thread\": [],\n    \"variables_by_thread_omitted\": 0,\n"
                              "    \"variables_by_task\": [],\n    \"variables_by_task_omitted\": 0\n  },\n"
                              "  \"timeline_bucket_ns\": "));
    free(j);
    msx_report_free(r);
}

/* The page: a hostile task name reaches it escaped only, and the page has
 * its Hybrid section, built with text nodes. */
static void test_html_hostile_name(void **state)
{
    (void)state;
    msx_report *r = hopping("<b>\"q\"&'</b>");
    msx_buf b = { 0 };
    assert_int_equal(msx_render_html(&b, r), 0);
    msx_buf_putc(&b, '\0');
    assert_null(strstr(b.p, "<b>"));
    assert_non_null(strstr(b.p, "\\u003cb\\u003e\\\"q\\\"\\u0026'\\u003c/b\\u003e"));
    assert_non_null(strstr(b.p, "\"bytes\": [\n      [7, 150, 0],"));
    assert_non_null(strstr(b.p, "section(\"Hybrid"));
    assert_null(strstr(b.p, ".innerHTML"));
    assert_null(strstr(b.p, "insertAdjacentHTML"));
    msx_buf_free(&b);
    msx_report_free(r);
}

/* The archive keeps the hybrid member: the same JSON comes back. */
static void test_archive_round_trip(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_task(t, 1, 3);
    msf_alloc(t, 1, 0x1000, 5);
    msf_var(t, 1, 0x1000, "v", NULL, NULL, 0, 0);
    msf_task(t, 2, 4);
    msf_alloc(t, 2, 0x2000, 6);
    msf_end(t, 1, 10);
    msx_report *r = suite_analyze(t), *back;
    msx_buf b = { 0 };
    assert_int_equal(msx_render_archive(&b, r), 0);
    char *path = msf_path(msf_dir, "hybrid.msbin");
    assert_int_equal(msx_write_file(path, b.p, b.len, 0600), 0);
    msx_buf_free(&b);
    char err[512];
    if (msx_read_archive(path, &back, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(back->hybrid.nlanes, 2);
    assert_int_equal(back->hybrid.nby_task, 1);
    char *j1 = suite_json(r), *j2 = suite_json(back);
    assert_non_null(strstr(j1, "\"variables_by_task\": [\n      {\"task\": 3, \"variables\": 1, \"blocks\": 1, "
                               "\"bytes_labelled\": 5, \"live_blocks\": 1, \"live_bytes\": 5}\n    ],"));
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    msx_report_free(back);
    msx_report_free(r);
    free(path);
}

/* An archive whose matrix lacks its cells is refused, not read past. */
static void test_archive_without_cells(void **state)
{
    (void)state;
    msx_report *r = hopping("A"), *back = NULL;
    free(r->hybrid.cells);
    r->hybrid.cells = NULL;  /* packs "cells": [] beside two rows, no listed column and an "other" one */
    r->hybrid.ncols = 0;
    r->hybrid.cols_other = 3;
    msx_buf b = { 0 };
    assert_int_equal(msx_render_archive(&b, r), 0);
    char *path = msf_path(msf_dir, "nocells.msbin");
    assert_int_equal(msx_write_file(path, b.p, b.len, 0600), 0);
    msx_buf_free(&b);
    char err[512];
    assert_int_equal(msx_read_archive(path, &back, err, sizeof err), -EINVAL);
    assert_null(back);
    assert_non_null(strstr(err, "bad \"cells\""));
    msx_report_free(r);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_task_hops_threads),
        cmocka_unit_test(test_resize_in_another_task),
        cmocka_unit_test(test_no_tasks),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_variables_by_thread_and_task),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_html_hostile_name),
        cmocka_unit_test(test_archive_round_trip),
        cmocka_unit_test(test_archive_without_cells),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
