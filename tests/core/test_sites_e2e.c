/* The end-to-end check of sites: sites_prog's grow_cache (12.8 MB)
 * and load_table (50 MiB) are found by function and source line, exactly in
 * full mode and within 15% in sampled mode at MEMSCOPE_SAMPLE_BYTES=16384,
 * with the truth inside the reported 95% interval, from a trace the recorder
 * wrote (MEMSCOPE_STACK_DEPTH=16) and the export symbolized. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* from meson; cppcheck checks the file without them */
#ifndef MS_SOURCE_DIR
#define MS_SOURCE_DIR ""
#endif
#ifndef MS_DL_LIB
#define MS_DL_LIB ""
#endif
#ifndef MS_TOOL
#define MS_TOOL ""
#endif

#include "export.h"
#include "helpers.h"
#include "report.h"
#include "trace_reader.h"

static msx_report *run_argv(char *const argv[], const char *prefix, char *const extra[])
{
    char *dir = th_tmpdir();
    char out_env[512];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", dir);
    char *envv[8] = { out_env, "MEMSCOPE_STACK_DEPTH=16" };
    int k = 2;
    for (int i = 0; extra[i] && k < 7; i++)
        envv[k++] = extra[i];
    envv[k] = NULL;
    static run_result_t run;
    assert_int_equal(th_run(argv, envv, NULL, 120000, &run), 0);
    assert_int_equal(run.status, 0);
    char path[4096];
    assert_int_equal(tr_find(dir, prefix, path, sizeof path), 0);
    msx_report *rep = NULL;
    char err[512];
    if (msx_analyze_trace(path, NULL, NULL, &rep, err, sizeof err) != 0)
        fail_msg("%s", err);
    th_rmtree(dir);
    return rep;
}

static msx_report *run_prog(char *const extra[])
{
    char *argv[] = { (char *)th_build_path("sites_prog"), NULL };
    return run_argv(argv, "sites_prog.", extra);
}

static const char *str(const msx_report *r, uint32_t i)
{
    const msx_str *s = msx_report_string(r, i);
    return s ? s->p : NULL;
}

/* The entry of functions[] named fn (exactly one). */
static const msx_function_report *function(const msx_report *r, const char *fn)
{
    const msx_function_report *found = NULL;
    for (uint32_t i = 0; i < r->nfunctions; i++) {
        const char *name = str(r, r->functions[i].at.function);
        if (name && strcmp(name, fn) == 0) {
            assert_null(found);
            found = &r->functions[i];
        }
    }
    if (!found)
        fail_msg("no function %s among %u", fn, r->nfunctions);
    const char *file = str(r, found->at.file);
    assert_non_null(file);
    const char *want = strcmp(fn, "dl_alloc") == 0 ? "dl_lib.c" : strchr(fn, '(') ? "leaks_prog.cc" : "sites_prog.c";
    if (!strstr(file, want))
        fail_msg("%s: file %s", fn, file);
    return found;
}

/* The line of `marker` in tests/core/<file>. */
static uint32_t marker_line(const char *file, const char *marker)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/core/%s", MS_SOURCE_DIR, file);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    uint32_t n = 0, at = 0;
    while (!at && fgets(line, sizeof line, f)) {
        n++;
        if (strstr(line, marker))
            at = n;
    }
    fclose(f);
    assert_int_not_equal(at, 0);
    return at;
}

/* The line of the malloc call inside fn, from the source file. */
static uint32_t malloc_line(const char *fn)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/core/sites_prog.c", MS_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    uint32_t n = 0, in = 0, at = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        if (strstr(line, fn) && strstr(line, "NOINLINE"))
            in = 1;
        if (in && strstr(line, "malloc(")) {
            at = n;
            break;
        }
    }
    fclose(f);
    assert_int_not_equal(at, 0);
    return at;
}

static void test_full_exact(void **state)
{
    (void)state;
    char *extra[] = { NULL };
    msx_report *r = run_prog(extra);
    const msx_function_report *g = function(r, "grow_cache"), *l = function(r, "load_table");
    assert_int_equal(g->f.v[MSX_SF_BYTES_ALLOCATED], 12800000);
    assert_int_equal(g->f.v[MSX_SF_ALLOCATIONS], 100);
    assert_int_equal(g->f.v[MSX_SF_LEAKED_BYTES], 50 * 128000);
    assert_int_equal(l->f.v[MSX_SF_BYTES_ALLOCATED], 50u << 20);
    assert_int_equal(l->f.v[MSX_SF_LEAKED_BLOCKS], 800);
    assert_int_equal(g->at.line, malloc_line("grow_cache"));
    assert_int_equal(l->at.line, malloc_line("load_table"));
    msx_report_free(r);
}

static void check_estimate(const msx_function_report *f, uint64_t truth, const char *name)
{
    double v = (double)f->f.v[MSX_SF_BYTES_ALLOCATED];
    double lo = f->f.lo[MSX_SF_BYTES_ALLOCATED], hi = f->f.hi[MSX_SF_BYTES_ALLOCATED];
    if (fabs(v - (double)truth) > 0.15 * (double)truth)
        fail_msg("%s: estimate %.0f, truth %llu: off by more than 15%%", name, v, (unsigned long long)truth);
    if (!(lo <= (double)truth && (double)truth <= hi))
        fail_msg("%s: truth %llu outside the 95%% interval [%.0f, %.0f]", name, (unsigned long long)truth, lo, hi);
}

static void test_sampled_within_15(void **state)
{
    (void)state;
    /* fixed seeds: repeatable; each is checked against the truth */
    const char *seeds[] = { "MEMSCOPE_SAMPLE_SEED=1", "MEMSCOPE_SAMPLE_SEED=2", "MEMSCOPE_SAMPLE_SEED=3" };
    for (int s = 0; s < 3; s++) {
        char *extra[] = { "MEMSCOPE_MODE=sampled", "MEMSCOPE_SAMPLE_BYTES=16384", (char *)seeds[s], NULL };
        msx_report *r = run_prog(extra);
        assert_int_equal(r->sampling, 1);
        check_estimate(function(r, "grow_cache"), 12800000, "grow_cache");
        check_estimate(function(r, "load_table"), 50u << 20, "load_table");
        msx_report_free(r);
    }
}

/* A library opened, used and closed: its frame resolves at export (the
 * module map is written when a new stack has code of a library loaded
 * since the last map). */
static void test_dlclosed_library(void **state)
{
    (void)state;
    char *argv[] = { (char *)th_build_path("dl_prog"), MS_DL_LIB, NULL };
    char *extra[] = { NULL };
    msx_report *r = run_argv(argv, "dl_prog.", extra);
    const msx_function_report *f = function(r, "dl_alloc");
    assert_int_equal(f->f.v[MSX_SF_LEAKED_BYTES], 7777);
    assert_int_equal(f->f.v[MSX_SF_LEAKED_BLOCKS], 1);
    msx_report_free(r);
}

/* A stripped copy of sites_prog: no crash, and its sites show the module
 * and an offset, with no function or line. */
static void test_stripped(void **state)
{
    (void)state;
    char dir[4096], bin[4200], cmd[8600];
    snprintf(dir, sizeof dir, "%s", th_tmpdir()); /* run_argv makes another */
    snprintf(bin, sizeof bin, "%s/sites_prog_stripped", dir);
    snprintf(cmd, sizeof cmd, "objcopy --strip-all '%s' '%s'", th_build_path("sites_prog"), bin);
    assert_int_equal(system(cmd), 0);
    char *argv[] = { bin, NULL };
    char *extra[] = { NULL };
    msx_report *r = run_argv(argv, "sites_prog_stripped.", extra);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < r->nsites; i++) {
        const msx_site_report *st = &r->sites[i];
        const msx_site_frame *f = &st->frames[st->frame];
        const char *module = str(r, f->module);
        if (!module || !strstr(module, "sites_prog_stripped"))
            continue;
        assert_null(str(r, f->file)); /* no debug information */
        assert_int_equal(f->line, 0);
        assert_true(f->offset != 0);
        bytes += st->f.v[MSX_SF_BYTES_ALLOCATED];
    }
    /* everything the two functions allocated, by module and offset */
    assert_true(bytes >= 12800000u + (50u << 20));
    msx_report_free(r);
    th_rmtree(dir);
}

/* The C++ check: under `memscope run` with MEMSCOPE_STACK_DEPTH=16,
 * the leaks of leaks_prog are listed by function and line, exact bytes. */
static void test_cxx_leaks_under_run(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", th_tmpdir());
    char *argv[] = { MS_TOOL, "run", "-o", dir, "--", (char *)th_build_path("leaks_prog"), NULL };
    char *envv[] = { "MEMSCOPE_STACK_DEPTH=16", NULL };
    static run_result_t run;
    assert_int_equal(th_run(argv, envv, NULL, 120000, &run), 0);
    if (run.status != 0)
        fail_msg("memscope run: status %d\n%s", run.status, run.err);
    unsigned long node = 0, vec = 0;
    const char *p = strstr(run.out, "node=");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "node=%lu vector=%lu", &node, &vec), 2);
    char path[4096];
    assert_int_equal(tr_find(dir, "leaks_prog.", path, sizeof path), 0);
    msx_report *r = NULL;
    char err[512];
    if (msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    const msx_function_report *n = function(r, "make_node(int)"), *t = function(r, "make_table(int)");
    assert_int_equal(n->f.v[MSX_SF_LEAKED_BLOCKS], 500);
    assert_int_equal(n->f.v[MSX_SF_LEAKED_BYTES], 500 * node);
    assert_int_equal(n->f.v[MSX_SF_ALLOCATIONS], 1500);
    assert_int_equal(n->at.line, marker_line("leaks_prog.cc", "LEAK-NODE"));
    /* the vector object and its buffer: two stacks, one function and line
     * (std::vector's frames come from a system header) */
    assert_int_equal(t->f.v[MSX_SF_LEAKED_BLOCKS], 400);
    assert_int_equal(t->f.v[MSX_SF_LEAKED_BYTES], 200 * (vec + 250 * sizeof(int)));
    assert_int_equal(t->at.line, marker_line("leaks_prog.cc", "LEAK-TABLE"));
    /* the program's leaks are these two functions' */
    assert_int_equal(r->leaked_program_bytes, 500 * node + 200 * (vec + 250 * sizeof(int)));
    msx_report_free(r);
    th_rmtree(dir);
}

/* The trace keeps each module's build-id: a binary replaced after the run
 * is reported and not used (no guessed names). */
static void test_build_id_mismatch(void **state)
{
    (void)state;
    char dir[4096], bin[4200], cmd[8600];
    snprintf(dir, sizeof dir, "%s", th_tmpdir());
    snprintf(bin, sizeof bin, "%s/sites_prog_copy", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", th_build_path("sites_prog"), bin);
    assert_int_equal(system(cmd), 0);
    char *tdir = th_tmpdir(), out_env[4200];
    snprintf(out_env, sizeof out_env, "MEMSCOPE_OUTPUT=%s", tdir);
    char *argv[] = { bin, NULL };
    char *envv[] = { out_env, "MEMSCOPE_STACK_DEPTH=16", NULL };
    static run_result_t run;
    assert_int_equal(th_run(argv, envv, NULL, 120000, &run), 0);
    assert_int_equal(run.status, 0);
    /* another program where the traced one was */
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", th_build_path("dl_prog"), bin);
    assert_int_equal(system(cmd), 0);
    char path[4096];
    assert_int_equal(tr_find(tdir, "sites_prog_copy.", path, sizeof path), 0);
    msx_report *r = NULL;
    char err[512];
    if (msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    bool said = false;
    for (uint32_t i = 0; i < r->nproblems; i++)
        said |= strstr(r->problems[i].p, "sites_prog_copy") && strstr(r->problems[i].p, "build-id mismatch");
    if (!said)
        fail_msg("no build-id mismatch among %u problems", r->nproblems);
    for (uint32_t i = 0; i < r->nfunctions; i++) {
        const char *name = str(r, r->functions[i].at.function);
        assert_true(!name || (strcmp(name, "grow_cache") && strcmp(name, "load_table")));
    }
    msx_report_free(r);
    th_rmtree(tdir);
    th_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_exact),
        cmocka_unit_test(test_sampled_within_15),
        cmocka_unit_test(test_dlclosed_library),
        cmocka_unit_test(test_stripped),
        cmocka_unit_test(test_cxx_leaks_under_run),
        cmocka_unit_test(test_build_id_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
