/* The API of variables, scopes, tracing control and export from inside the
 * program (memscope.h), on the traced programs api_prog and api_cxx: the
 * tracked variables each kind of call leaves in the report, scope
 * attribution, names escaped in JSON and HTML, memscope_trace_all and
 * memscope_stop_tracing around a region, memscope_export, and bad arguments
 * to every call. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "export.h"
#include "helpers.h"
#include "merge.h"
#include "trace_reader.h"

/* Runs build/tests/core/<prog> with args and env into dir. */
static void run_prog(const char *prog, char *const args[], char *const env[], const char *dir, run_result_t *r)
{
    char *argv[8] = { (char *)th_build_path(prog) };
    for (int i = 0; args && args[i]; i++)
        argv[i + 1] = args[i];
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *envv[16] = { out_env };
    for (int i = 0; env && env[i]; i++)
        envv[i + 1] = env[i];
    assert_int_equal(th_run(argv, envv, NULL, 60000, r), 0);
}

/* Analyses the one trace of prog in dir. */
static msx_report *analyse(const char *dir, const char *prog)
{
    char path[4096], prefix[64];
    snprintf(prefix, sizeof prefix, "%s.", prog);
    assert_int_equal(tr_find(dir, prefix, path, sizeof path), 0);
    msx_report *rep = NULL;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err), 0);
    return rep;
}

/* The tracked variable named name (exactly one). */
static const msx_var_row *row(const msx_report *r, const char *name)
{
    const msx_var_row *x = NULL;
    for (uint32_t i = 0; i < r->nvar_rows; i++)
        if (strcmp(r->var_rows[i].name.p, name) == 0) {
            assert_null(x);
            x = &r->var_rows[i];
        }
    if (!x)
        fail_msg("no tracked variable %s", name);
    return x;
}

/* A heap row's end: freed (with its lifetime) or leaked, nothing else. */
static void assert_freed(const msx_var_row *x)
{
    assert_true(x->heap);
    assert_true(x->freed);
    assert_false(x->leaked);
    assert_false(x->relabelled);
    assert_true(x->alloc_time_ns <= x->label_time_ns);
    assert_true(x->free_time_ns >= x->label_time_ns);
}

static void test_variables_and_scopes(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_prog("api_prog", (char *[]){ "vars", NULL }, NULL, dir, &r);
    assert_int_equal(r.status, 0);
    const char *keys[] = { "smart_ptr", "smart_value", "smart_array", "smart_int", "hostile", "hostile_value",
                           "leave" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(th_field(r.out, keys[i]), 0);
    msx_report *rep = analyse(dir, "api_prog");
    assert_int_equal(rep->nvar_rows, 9);

    /* SMART on a pointer: the block, by reference */
    const msx_var_row *o = row(rep, "in_outer");
    assert_freed(o);
    assert_int_equal(o->size, 1001);
    assert_string_equal(o->scope.p, "outer");
    assert_string_equal(o->type.p, "");
    assert_non_null(strstr(o->file.p, "api_prog.c"));
    assert_true(o->line > 0);
    assert_int_equal(o->thread, 1);
    assert_int_equal(o->task, 0);
    /* nesting: the inner scope, then the outer one again */
    const msx_var_row *in = row(rep, "in_inner");
    assert_freed(in);
    assert_int_equal(in->size, 1002);
    assert_string_equal(in->scope.p, "inner");
    assert_true(in->scope_id > o->scope_id);
    /* OWNED: labelled at its declaration, freed at the end of its block */
    const msx_var_row *w = row(rep, "owned");
    assert_freed(w);
    assert_int_equal(w->size, 1003);
    assert_string_equal(w->type.p, "char *");
    assert_string_equal(w->scope.p, "inner");
    const msx_var_row *a = row(rep, "after_inner");
    assert_true(a->heap);
    assert_string_equal(a->scope.p, "outer");
    assert_int_equal(a->scope_id, o->scope_id);
    assert_true(a->leaked);
    assert_false(a->freed);
    assert_true(w->free_time_ns <= a->alloc_time_ns); /* freed before the next allocation */
    assert_true(o->free_time_ns >= a->label_time_ns);
    /* SMART on values: their sizes, no block */
    const msx_var_row *pt = row(rep, "pt");
    assert_false(pt->heap);
    assert_int_equal(pt->size, 12);
    assert_string_equal(pt->scope.p, "");
    assert_false(pt->freed || pt->leaked);
    assert_int_equal(row(rep, "arr")->size, 8);
    assert_false(row(rep, "arr")->heap);
    assert_int_equal(row(rep, "count")->size, sizeof(int));
    assert_false(row(rep, "count")->heap);
    const msx_var_row *h = row(rep, "<b&\"q'>"), *hv = row(rep, "<v&\"q'>");
    assert_string_equal(h->scope.p, "<s&\"q'>");
    assert_string_equal(hv->scope.p, "<s&\"q'>");
    assert_int_equal(hv->size, 12);
    assert_freed(h);

    /* JSON and HTML escape the names; the JSON has the rows' figures */
    msx_buf b = { 0 };
    msx_json_limits lim = { 0 };
    assert_int_equal(msx_render_json(&b, rep, &lim), 0);
    msx_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "\"name\": \"\\u003cb\\u0026\\\"q'\\u003e\""));
    assert_non_null(strstr(b.p, "\"scope\": \"\\u003cs\\u0026\\\"q'\\u003e\""));
    assert_non_null(strstr(b.p, "\"name\": \"owned\", \"type\": \"char *\""));
    assert_null(strstr(b.p, "<b&"));
    assert_null(strstr(b.p, "<s&"));
    msx_buf_free(&b);
    b = (msx_buf){ 0 };
    assert_int_equal(msx_render_html(&b, rep), 0);
    msx_buf_putc(&b, '\0');
    assert_null(strstr(b.p, "<b&"));
    assert_null(strstr(b.p, "<s&"));
    assert_null(strstr(b.p, "<v&"));
    msx_buf_free(&b);
    msx_report_free(rep);
    th_rmtree(dir);
}

static void test_cxx_variables(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_prog("api_cxx", NULL, NULL, dir, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "smart_ptr"), 0);
    assert_int_equal(th_field(r.out, "smart_value"), 0);
    assert_int_equal(th_field(r.out, "smart_array"), 0);
    msx_report *rep = analyse(dir, "api_cxx");
    assert_int_equal(rep->nvar_rows, 4);
    const msx_var_row *p = row(rep, "p");
    assert_freed(p);
    assert_int_equal(p->size, 2001);
    assert_string_equal(p->scope.p, "cxx");
    assert_false(row(rep, "v")->heap);
    assert_int_equal(row(rep, "v")->size, 2 * sizeof(long));
    assert_false(row(rep, "arr")->heap);
    assert_int_equal(row(rep, "arr")->size, 8);
    const msx_var_row *w = row(rep, "owned");
    assert_freed(w);
    assert_int_equal(w->size, 2002);
    assert_string_equal(w->scope.p, "cxx");
    msx_report_free(rep);
    th_rmtree(dir);
}

/* Blocks born, by size, as the views see them. */
typedef struct born_count {
    uint64_t size[8];
    uint64_t n[8];
} born_count;

static void count_born(void *ctx, const msx_block_ev *e)
{
    born_count *c = ctx;
    if (e->kind != MSX_BEV_BORN)
        return;
    for (int i = 0; i < 8; i++)
        if (c->size[i] == e->blk.size)
            c->n[i]++;
}

static void test_trace_all_around_a_region(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/late", dir);
    run_result_t r;
    run_prog("api_prog", (char *[]){ "traceall", sub, NULL }, (char *[]){ "MEMSCOPE_MODE=off", NULL }, dir, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "stop_before"), -EINVAL);
    assert_int_equal(th_field(r.out, "export_off"), -ENOENT);
    assert_int_equal(th_field(r.out, "start"), 0);
    assert_int_equal(th_field(r.out, "start_again"), -EALREADY);
    assert_int_equal(th_field(r.out, "stop"), 0);
    assert_int_equal(th_field(r.out, "stop_again"), -EALREADY);
    assert_int_equal(th_field(r.out, "start_after_stop"), -EINVAL);
    char path[4096];
    assert_int_not_equal(tr_find(dir, "api_prog.", path, sizeof path), 0); /* nothing before the call */
    assert_int_equal(tr_find(sub, "api_prog.", path, sizeof path), 0);
    born_count c = { .size = { 1111, 2222, 3333, 4111, 4222, 4333, 4224 } };
    msx_report *rep = NULL;
    char err[512];
    assert_int_equal(msx_analyze_trace_tapped(path, NULL, NULL, count_born, &c, &rep, err, sizeof err), 0);
    assert_int_equal(c.n[0], 0); /* before trace_all */
    assert_int_equal(c.n[1], 5); /* between, on main */
    assert_int_equal(c.n[2], 0); /* after stop_tracing */
    assert_int_equal(c.n[3], 0);
    assert_int_equal(c.n[4], 4); /* between, on the thread that existed before */
    assert_int_equal(c.n[5], 0); /* its first events after the stop */
    assert_true(c.n[6] >= 100);  /* it was busy until then */
    assert_true(rep->nthreads >= 2);
    assert_true(rep->complete); /* the exit still wrote END */
    msx_report_free(rep);
    th_rmtree(dir);
}

/* Files in dir (but . and ..). */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        files += e->d_name[0] != '.';
    closedir(d);
    return files;
}

/* The child of a process that stopped tracing writes no trace. */
static void test_stopped_process_forks(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_prog("api_prog", (char *[]){ "stopfork", NULL }, NULL, dir, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "stop"), 0);
    assert_int_equal(count_files(dir), 1);
    born_count c = { .size = { 5555 } };
    char path[4096];
    assert_int_equal(tr_find(dir, "api_prog.", path, sizeof path), 0);
    msx_report *rep = NULL;
    char err[512];
    assert_int_equal(msx_analyze_trace_tapped(path, NULL, NULL, count_born, &c, &rep, err, sizeof err), 0);
    assert_int_equal(c.n[0], 1); /* the one before the stop */
    msx_report_free(rep);
    th_rmtree(dir);
}

/* Reads a whole small file into buf; returns its length, -1 if absent. */
static long slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

static void test_export_from_inside(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_prog("api_prog", (char *[]){ "export", NULL }, (char *[]){ "MEMSCOPE_TOOL=" MS_TOOL, NULL }, dir, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "export"), 0);
    assert_int_equal(th_field(r.out, "export_null"), -EINVAL);
    assert_int_equal(th_field(r.out, "export_empty"), -EINVAL);
    assert_int_equal(th_field(r.out, "export_commas"), -EINVAL);
    assert_int_equal(th_field(r.out, "export_unknown"), -EINVAL);
    static char json[1 << 20];
    char path[4200];
    snprintf(path, sizeof path, "%s/api_prog.json", dir);
    assert_true(slurp(path, json, sizeof json) > 0);
    /* rendered while the program ran: not complete, its three blocks live */
    assert_non_null(strstr(json, "\"complete\": false"));
    const char *leaks = strstr(json, "\"leaks\": ["), *end = leaks ? strchr(leaks, ']') : NULL;
    assert_non_null(end);
    int n = 0;
    for (const char *p = leaks; (p = strstr(p, "\"size\": 6666, ")) != NULL && p < end; p++)
        n++;
    assert_int_equal(n, 3);
    snprintf(path, sizeof path, "%s/api_prog.html", dir);
    assert_int_equal(access(path, R_OK), 0);
    assert_int_equal(th_field(r.out, "auto_bad"), -EINVAL);
    assert_int_equal(th_field(r.out, "auto_null"), -EINVAL);
    assert_int_equal(th_field(r.out, "auto"), 0);
    /* memscope_auto_export("bin"): the exit wrote the archive, a complete report */
    snprintf(path, sizeof path, "%s/api_prog.msbin", dir);
    msx_report *back = NULL;
    char err[512];
    assert_int_equal(msx_read_archive(path, &back, err, sizeof err), 0);
    assert_true(back->complete);
    msx_report_free(back);
    /* and the forked child's (README: a forked child adds .<pid>) */
    assert_int_equal(th_field(r.out, "child_status"), 0);
    snprintf(path, sizeof path, "%s/api_prog.%lld.msbin", dir, th_field(r.out, "child"));
    assert_int_equal(msx_read_archive(path, &back, err, sizeof err), 0);
    assert_true(back->complete);
    msx_report_free(back);
    th_rmtree(dir);
}

static void test_without_a_trace(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_prog("api_prog", (char *[]){ "off", NULL }, (char *[]){ "MEMSCOPE_MODE=off", NULL }, dir, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "export"), -ENOENT);
    assert_int_equal(th_field(r.out, "stop"), -EINVAL);
    assert_int_equal(th_field(r.out, "path"), -ENOENT);
    assert_int_equal(th_field(r.out, "scope"), 1);
    char path[4096];
    assert_int_not_equal(tr_find(dir, "api_prog.", path, sizeof path), 0);
    th_rmtree(dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    run_result_t r;
    run_prog("api_prog", (char *[]){ "badargs", NULL }, NULL, dir, &r);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    assert_int_equal(r.status, 0);
    assert_int_equal(th_field(r.out, "failed"), 0);
    assert_int_equal(th_field(r.out, "checks"), 47);
    /* nothing it refused is in the trace: no variable */
    msx_report *rep = analyse(dir, "api_prog");
    assert_int_equal(rep->nvar_rows, 0);
    msx_report_free(rep);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variables_and_scopes),
        cmocka_unit_test(test_cxx_variables),
        cmocka_unit_test(test_trace_all_around_a_region),
        cmocka_unit_test(test_stopped_process_forks),
        cmocka_unit_test(test_export_from_inside),
        cmocka_unit_test(test_without_a_trace),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
