/* The per-variable view (export/view_vars.c) and its JSON: exact figures for
 * a labelled block that is resized in place, moved by a realloc and freed; a
 * label that names several blocks; a block labelled twice; a label of an
 * address that holds no block; names escaped. */
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

/* The listed variable named name, or fails. */
static const msx_var_report *var(const msx_report *r, const char *name)
{
    for (uint32_t i = 0; i < r->nvars; i++)
        if (!strcmp(r->vars[i].name.p, name))
            return &r->vars[i];
    fail_msg("variable %s is not listed", name);
    return NULL;
}

/* buf: labelled at 64 bytes, grown in place to 128, moved to 256, freed. */
static void test_resized_moved_freed(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_alloc(t, 1, 0x1000, 64);
    msf_var(t, 1, 0x1000, "buf", "char *", "app.c", 10, 0);
    msf_realloc(t, 1, 0x1000, 0x1000, 128);
    msf_realloc(t, 1, 0x1000, 0x5000, 256);
    msf_time(t, 1, 5000);
    msf_free(t, 1, 0x5000);
    msf_time(t, 1, 9000);
    msf_end(t, 1, 9000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nvars, 1);
    const msx_var_report *x = var(r, "buf");
    assert_string_equal(x->type.p, "char *");
    assert_string_equal(x->file.p, "app.c");
    assert_int_equal(x->line, 10);
    assert_int_equal(x->blocks, 1);
    assert_int_equal(x->bytes_labelled, 64);
    assert_int_equal(x->reallocs, 2);
    assert_int_equal(x->frees, 1);
    assert_int_equal(x->live_blocks, 0);
    assert_int_equal(x->live_bytes, 0);
    assert_int_equal(x->peak_live_bytes, 256);
    /* born in [1000, 5000), freed in [5000, 9000): the moving realloc kept
     * the allocation's birth */
    assert_true(x->lifetime_ns_total > 0 && x->lifetime_ns_total < 8000);
    assert_true(x->first_time_ns >= 1000 && x->first_time_ns < 5000);
    assert_true(x->last_time_ns >= 5000);
    msx_report_free(r);
}

/* One label (a loop's node) on two blocks; the other thread frees one, the
 * other leaks. A label of an address that holds no block names nothing. */
static void test_label_on_several_blocks(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_alloc(t, 1, 0x2000, 10);
    msf_var(t, 1, 0x2000, "node", "struct node *", "list.c", 42, 0);
    msf_alloc(t, 1, 0x3000, 20);
    msf_var(t, 1, 0x3000, "node", "struct node *", "list.c", 42, 0);
    msf_var(t, 1, 0x9000, "ghost", NULL, NULL, 0, 0);
    msf_time(t, 2, 3000);
    msf_free(t, 2, 0x2000);
    msf_time(t, 1, 6000);
    msf_time(t, 2, 6000);
    msf_end(t, 1, 6000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nvars, 1);
    const msx_var_report *x = var(r, "node");
    assert_int_equal(x->blocks, 2);
    assert_int_equal(x->bytes_labelled, 30);
    assert_int_equal(x->frees, 1);
    assert_int_equal(x->reallocs, 0);
    assert_int_equal(x->live_blocks, 1);
    assert_int_equal(x->live_bytes, 20);
    assert_int_equal(x->peak_live_bytes, 30);
    msx_report_free(r);
}

/* A block labelled twice belongs to its last label only; the same label
 * again changes nothing. The list is ordered by peak. */
static void test_relabelled(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_alloc(t, 1, 0x1000, 100);
    msf_var(t, 1, 0x1000, "first", NULL, NULL, 0, 0);
    msf_var(t, 1, 0x1000, "second", NULL, NULL, 0, 0);
    msf_var(t, 1, 0x1000, "second", NULL, NULL, 0, 0);
    msf_alloc(t, 1, 0x2000, 300);
    msf_var(t, 1, 0x2000, "big", NULL, NULL, 0, 0);
    msf_free(t, 1, 0x1000);
    msf_time(t, 1, 2000);
    msf_end(t, 1, 2000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nvars, 3);
    assert_string_equal(r->vars[0].name.p, "big");
    const msx_var_report *a = var(r, "first"), *b = var(r, "second");
    assert_int_equal(a->blocks, 1);
    assert_int_equal(a->live_blocks, 0);
    assert_int_equal(a->live_bytes, 0);
    assert_int_equal(a->frees, 0);
    assert_int_equal(b->blocks, 1);
    assert_int_equal(b->frees, 1);
    assert_int_equal(b->live_bytes, 0);
    assert_int_equal(b->peak_live_bytes, 100);
    msx_report_free(r);
}

/* One labelled block whose name has every character HTML and JSON escape. */
static msx_report *hostile(void)
{
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_alloc(t, 1, 0x1000, 64);
    msf_var(t, 1, 0x1000, "<b>\"q\"&'</b>", "T", "f.c", 7, 0);
    msf_time(t, 1, 2000);
    msf_end(t, 1, 2000);
    msx_report *r = suite_analyze(t);
    return r;
}

/* The JSON: members as documented, the name escaped. */
static void test_json(void **state)
{
    (void)state;
    msx_report *r = hostile();
    msx_buf b = { 0 };
    assert_int_equal(msx_render_json(&b, r, NULL), 0);
    msx_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "\"variables\": [\n    {\"name\": \"\\u003cb\\u003e\\\"q\\\"\\u0026'\\u003c/b\\u003e\", "
                                "\"type\": \"T\", \"file\": \"f.c\", \"line\": 7, \"blocks\": 1, "
                                "\"bytes_labelled\": 64, \"reallocs\": 0, \"frees\": 0, \"mean_lifetime_ns\": 0, "
                                "\"live_blocks\": 1, \"live_bytes\": 64, \"peak_live_bytes\": 64, "));
    assert_non_null(strstr(b.p, "\"variables_omitted\": 0,\n"));
    assert_null(strstr(b.p, "<b>"));
    msx_buf_free(&b);
    msx_report_free(r);
}

/* The dashboard: the name reaches the page escaped only, and the page has a
 * Variables section. */
static void test_html(void **state)
{
    (void)state;
    msx_report *r = hostile();
    msx_buf b = { 0 };
    assert_int_equal(msx_render_html(&b, r), 0);
    msx_buf_putc(&b, '\0');
    assert_null(strstr(b.p, "<b>"));
    assert_null(strstr(b.p, "\"q\"&"));
    assert_non_null(strstr(b.p, "\"variables\": [\n    {\"name\": \"\\u003cb\\u003e\\\"q\\\"\\u0026'\\u003c/b\\u003e\""));
    assert_non_null(strstr(b.p, "section(\"Variables\""));
    msx_buf_free(&b);
    msx_report_free(r);
}

/* The archive keeps the variables: the same JSON comes back. */
static void test_archive_round_trip(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    msf_alloc(t, 1, 0x1000, 64);
    msf_var(t, 1, 0x1000, "one", "int *", "a.c", 3, 0);
    msf_alloc(t, 1, 0x2000, 640);
    msf_var(t, 1, 0x2000, "two", NULL, NULL, 0, 0);
    msf_realloc(t, 1, 0x2000, 0x3000, 900);
    msf_free(t, 1, 0x1000);
    msf_time(t, 1, 2000);
    msf_end(t, 1, 2000);
    msx_report *r = suite_analyze(t), *back;
    msx_buf b = { 0 };
    assert_int_equal(msx_render_archive(&b, r), 0);
    char *path = msf_path(msf_dir, "vars.msbin");
    assert_int_equal(msx_write_file(path, b.p, b.len, 0600), 0);
    msx_buf_free(&b);
    char err[512];
    assert_int_equal(msx_read_archive(path, &back, err, sizeof err), 0);
    assert_int_equal(back->nvars, 2);
    char *j1 = suite_json(r), *j2 = suite_json(back);
    assert_non_null(strstr(j1, "\"name\": \"two\", \"type\": \"\", \"file\": \"\", \"line\": 0, \"blocks\": 1, "
                               "\"bytes_labelled\": 640, \"reallocs\": 1, "));
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    msx_report_free(back);
    msx_report_free(r);
    free(path);
}

/* The tracked variable named name (exactly one), or fails. */
static const msx_var_row *var_row(const msx_report *r, const char *name)
{
    const msx_var_row *x = NULL;
    for (uint32_t i = 0; i < r->nvar_rows; i++)
        if (!strcmp(r->var_rows[i].name.p, name)) {
            assert_null(x);
            x = &r->var_rows[i];
        }
    if (!x)
        fail_msg("variable %s has no row", name);
    return x;
}

/* A VAR record without addr: the named value "<v&\"q'>" of 12 bytes. */
static void value_record(msf *t, uint32_t serial)
{
    static const uint8_t map[] = { 0x82, 0xa4, 's', 'i', 'z', 'e', 0x0c, 0xa4, 'n', 'a', 'm', 'e',
                                   0xa7, '<', 'v', '&', '"', 'q', '\'', '>' };
    msf_raw(t, serial, msf_head(MSF_R_VAR, MSF_K_RECORD), map, sizeof map);
}

/* Rows follow their blocks: a move keeps the row (and the allocating
 * thread, whoever frees it), a new label ends it, the end marks the live
 * ones leaked; each gets the scope it was born in (scope ids are per thread:
 * the same id names another scope on thread 2), a value its thread's scope
 * then. Names reach JSON and HTML escaped; the archive keeps the rows. */
static void test_tracked_rows(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 2, 500);
    msf_scope_enter(t, 2, 1, "two", "b.c", 9); /* before thread 1's scope 1 */
    msf_alloc(t, 2, 0x7000, 1);                /* (an event: thread 2 runs first) */
    msf_free(t, 2, 0x7000);
    msf_time(t, 1, 1000);
    msf_scope_enter(t, 1, 1, "outer", "a.c", 1);
    msf_alloc(t, 1, 0x1000, 64);
    msf_var(t, 1, 0x1000, "buf", "char *", "a.c", 3, 0);
    msf_scope_enter(t, 1, 2, "in<&>", "a.c", 4);
    msf_alloc(t, 1, 0x2000, 8);
    msf_scope_leave(t, 1, 2);
    msf_var(t, 1, 0x2000, "late", NULL, NULL, 0, 0); /* labelled after its scope ended */
    msf_realloc(t, 1, 0x1000, 0x5000, 256);
    msf_time(t, 1, 2000);
    msf_var(t, 1, 0x2000, "late2", NULL, NULL, 0, 0);
    msf_time(t, 2, 3000);
    msf_free(t, 2, 0x5000);
    msf_alloc(t, 2, 0x3000, 30);
    msf_var(t, 2, 0x3000, "t2", NULL, NULL, 0, 0);
    value_record(t, 2);
    msf_time(t, 1, 5000);
    msf_alloc(t, 1, 0x8000, 16); /* thread 1 still in its scope 1 */
    msf_var(t, 1, 0x8000, "last", NULL, NULL, 0, 0);
    msf_free(t, 1, 0x8000);
    msf_time(t, 2, 5000);
    msf_time(t, 1, 6000);
    msf_end(t, 1, 6000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nvar_rows, 6);
    assert_string_equal(var_row(r, "last")->scope.p, "outer");
    assert_string_equal(var_row(r, "t2")->scope.p, "two");
    const msx_var_row *b = var_row(r, "buf");
    assert_true(b->heap && b->freed && !b->leaked && !b->relabelled);
    assert_int_equal(b->size, 256);
    assert_int_equal(b->reallocs, 1);
    assert_int_equal(b->thread, 1);
    assert_string_equal(b->scope.p, "outer");
    assert_string_equal(b->type.p, "char *");
    assert_int_equal(b->line, 3);
    assert_true(b->alloc_time_ns >= 1000 && b->free_time_ns >= 3000 && b->free_time_ns > b->alloc_time_ns);
    const msx_var_row *l = var_row(r, "late"), *l2 = var_row(r, "late2");
    assert_true(l->relabelled && !l->freed && !l->leaked);
    assert_string_equal(l->scope.p, "in<&>");
    assert_int_equal(l->scope_id, 2);
    assert_true(l->end_time_ns >= l->label_time_ns && l->end_time_ns >= 1000);
    assert_true(l2->leaked && !l2->freed);
    assert_string_equal(l2->scope.p, "in<&>");
    assert_int_equal(l2->size, 8);
    const msx_var_row *t2 = var_row(r, "t2");
    assert_int_equal(t2->thread, 2);
    assert_string_equal(t2->scope.p, "two");
    assert_int_equal(t2->scope_id, 1);
    assert_true(t2->leaked);
    const msx_var_row *v = var_row(r, "<v&\"q'>");
    assert_false(v->heap || v->freed || v->leaked);
    assert_int_equal(v->size, 12);
    assert_int_equal(v->thread, 2);
    assert_string_equal(v->scope.p, "two");
    assert_true(v->label_time_ns >= 3000);

    char *j1 = suite_json(r);
    assert_non_null(strstr(j1, "\"tracked_variables\": [\n    {\"name\": \"buf\", \"type\": \"char *\", \"file\": "
                               "\"a.c\", \"line\": 3, \"kind\": \"heap\", \"addr\": \"0x1000\", \"size\": 256, "
                               "\"thread\": 1, \"task\": 0, \"scope\": \"outer\", \"scope_id\": 1, "));
    assert_non_null(strstr(j1, "\"scope\": \"in\\u003c\\u0026\\u003e\""));
    assert_non_null(strstr(j1, "{\"name\": \"\\u003cv\\u0026\\\"q'\\u003e\", \"type\": \"\", \"file\": \"\", "
                               "\"line\": 0, \"kind\": \"value\", \"addr\": null, \"size\": 12, "));
    assert_non_null(strstr(j1, "\"free_time_ns\": null, \"lifetime_ns\": null, \"reallocs\": 0, \"leaked\": true"));
    assert_non_null(strstr(j1, "\"tracked_variables_omitted\": 0,\n"));
    assert_null(strstr(j1, "in<&>"));
    msx_buf b2 = { 0 };
    assert_int_equal(msx_render_html(&b2, r), 0);
    msx_buf_putc(&b2, '\0');
    assert_null(strstr(b2.p, "in<&>"));
    assert_null(strstr(b2.p, "<v&"));
    assert_non_null(strstr(b2.p, "\"scope\": \"in\\u003c\\u0026\\u003e\""));
    assert_non_null(strstr(b2.p, "section(\"Tracked variables\""));
    msx_buf_free(&b2);

    msx_buf b3 = { 0 };
    assert_int_equal(msx_render_archive(&b3, r), 0);
    char *path = msf_path(msf_dir, "rows.msbin");
    assert_int_equal(msx_write_file(path, b3.p, b3.len, 0600), 0);
    msx_buf_free(&b3);
    msx_report *back;
    char err[512];
    assert_int_equal(msx_read_archive(path, &back, err, sizeof err), 0);
    assert_int_equal(back->nvar_rows, 6);
    char *j2 = suite_json(back);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    free(path);
    msx_report_free(back);
    msx_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resized_moved_freed),
        cmocka_unit_test(test_label_on_several_blocks),
        cmocka_unit_test(test_relabelled),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_archive_round_trip),
        cmocka_unit_test(test_tracked_rows),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
