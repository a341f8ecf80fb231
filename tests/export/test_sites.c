/* Call-stack sites (export/view_stacks.c, view_sites.c, sites.c,
 * json_sites.c): exact per-site figures from synthetic traces with STACK and
 * ALLOC_EX records (deduplicated across threads, peak_bytes, leaks by site,
 * temporaries), hostile STACK records, functions summing their sites, the
 * JSON lists' bounds, sampled estimates, the runtime rule, suppressions. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "buf.h"
#include "export.h"
#include "fixture.h"
#include "format.h"
#include "sites.h"
#include "suite.h"

static const uint64_t pcs_a[] = { 0x401000, 0x402000 };
static const uint64_t pcs_b[] = { 0x405000, 0x402000 };
static const uint64_t pcs_c[] = { 0x401000, 0x403000 };  /* A's innermost pc, another caller */

/* The site whose innermost pc is pc0 and next pc1, or fails. */
static const msx_site_report *site(const msx_report *r, uint64_t pc0, uint64_t pc1)
{
    for (uint32_t i = 0; i < r->nsites; i++)
        if (r->sites[i].nframes == 2 && r->sites[i].frames[0].pc == pc0 && r->sites[i].frames[1].pc == pc1)
            return &r->sites[i];
    fail_msg("no site 0x%llx 0x%llx", (unsigned long long)pc0, (unsigned long long)pc1);
    return NULL;
}

static void check_figs(const msx_site_figs *f, uint64_t alloc, uint64_t bytes, uint64_t live, uint64_t peak_live,
                       uint64_t peak, uint64_t leaked, uint64_t leaked_blocks, uint64_t temp)
{
    assert_int_equal(f->v[MSX_SF_ALLOCATIONS], alloc);
    assert_int_equal(f->v[MSX_SF_BYTES_ALLOCATED], bytes);
    assert_int_equal(f->v[MSX_SF_LIVE_BYTES], live);
    assert_int_equal(f->v[MSX_SF_PEAK_LIVE_BYTES], peak_live);
    assert_int_equal(f->v[MSX_SF_PEAK_BYTES], peak);
    assert_int_equal(f->v[MSX_SF_LEAKED_BYTES], leaked);
    assert_int_equal(f->v[MSX_SF_LEAKED_BLOCKS], leaked_blocks);
    assert_int_equal(f->v[MSX_SF_TEMPORARY], temp);
}

/* Two threads define the same stack A under their own id 1: one site.
 *   t1: A 100 @0x1000, A 200 @0x2000, free 0x1000 (not its latest: no temporary)
 *   t2: A 50 @0x3000 freed at once (temporary), B 300 @0x4000 realloc'd to 400
 *       @0x5000 (moving), C 10 @0x6000 freed by t1 later
 * Live: 100 300 200 250 200 500 200 600 610 (the peak: A's 200, B's 400, C's 10) 600. */
static msx_report *three_sites(void)
{
    msf *t = suite_two_threads();
    msf_set_time_bound(t, 10);  /* each thread's events at their TIME */
    msf_set_stack_depth(t, 16);
    msf_time(t, 1, 1000);
    msf_stack(t, 1, 1, pcs_a, 2);
    msf_alloc_ex(t, 1, 0x1000, 100, 1);
    msf_alloc_ex(t, 1, 0x2000, 200, 1);
    msf_free(t, 1, 0x1000);
    msf_time(t, 2, 2000);
    msf_stack(t, 2, 1, pcs_a, 2);
    msf_stack(t, 2, 2, pcs_b, 2);
    msf_stack(t, 2, 3, pcs_c, 2);
    msf_alloc_ex(t, 2, 0x3000, 50, 1);
    msf_free(t, 2, 0x3000);
    msf_alloc_ex(t, 2, 0x4000, 300, 2);
    msf_realloc_ex(t, 2, 0x4000, 0x5000, 400, 2, 0);
    msf_alloc_ex(t, 2, 0x6000, 10, 3);
    msf_time(t, 1, 3000);
    msf_free(t, 1, 0x6000);
    msf_end(t, 1, 4000);
    msf_set_end_time(t, 4000);
    return suite_analyze(t);
}

static void test_exact_figures(void **state)
{
    (void)state;
    msx_report *r = three_sites();
    assert_int_equal(r->problems_total, 0);
    assert_int_equal(r->nsites, 3);  /* A once for both threads */
    assert_int_equal(r->peak_live_bytes, 610);
    const msx_site_report *a = site(r, 0x401000, 0x402000), *b = site(r, 0x405000, 0x402000),
                          *c = site(r, 0x401000, 0x403000);
    check_figs(&a->f, 3, 350, 200, 300, 200, 200, 1, 1);
    check_figs(&b->f, 2, 700, 400, 400, 400, 400, 1, 0);
    check_figs(&c->f, 1, 10, 0, 10, 10, 0, 0, 0);  /* t1 freed it: no temporary */
    assert_int_equal(a->id, 1);
    /* sites by bytes allocated */
    assert_int_equal(r->sites[0].id, b->id);
    /* the leaks name their sites */
    assert_int_equal(r->nleaks, 2);
    assert_int_equal(r->leaks[0].size, 400);
    assert_int_equal(r->leaks[0].site, b->id);
    assert_int_equal(r->leaks[1].site, a->id);
    /* the peak's sites, most first */
    assert_int_equal(r->npeak_sites, 3);
    assert_int_equal(r->peak_sites[0].site, b->id);
    assert_int_equal(r->peak_sites[0].bytes, 400);
    assert_int_equal(r->peak_sites[1].bytes, 200);
    assert_int_equal(r->peak_sites[2].site, c->id);
    assert_int_equal(r->peak_sites[2].bytes, 10);
    /* no symbols (no MODULES): program leaks */
    assert_int_equal(r->leaked_program_bytes, 600);
    assert_int_equal(r->leaked_program_blocks, 2);
    assert_int_equal(r->leaked_runtime_bytes + r->leaked_suppressed_bytes, 0);
    /* functions: A and C share their innermost frame */
    assert_int_equal(r->nfunctions, 2);
    const msx_function_report *f = &r->functions[1];
    assert_int_equal(f->at.pc, 0x401000);
    assert_int_equal(f->nsites, 2);
    assert_int_equal(f->sites[0], a->id);
    assert_int_equal(f->sites[1], c->id);
    check_figs(&f->f, 4, 360, 200, 310, 210, 200, 1, 1);
    msx_report_free(r);
}

static void test_json(void **state)
{
    (void)state;
    msx_report *r = three_sites();
    char *j = suite_json(r);
    const char *need[] = {
        "\"sampling\": {\"mode\": \"exact\", \"sample_bytes\": 0, \"sample_rate\": 0, \"seed\": 0},",
        "{\"id\": 2, \"function\": null, \"file\": null, \"line\": null, \"module\": null, \"offset\": null, "
        "\"runtime\": false, \"suppressed\": false, \"stack\": [{\"function\": null, \"file\": null, \"line\": null, "
        "\"module\": null, \"offset\": null, \"inlined\": false}, {\"function\": null, \"file\": null, \"line\": null, "
        "\"module\": null, \"offset\": null, \"inlined\": false}], \"allocations\": 2, \"bytes_allocated\": 700, "
        "\"live_bytes\": 400, \"peak_live_bytes\": 400, \"peak_bytes\": 400, \"leaked_bytes\": 400, "
        "\"leaked_blocks\": 1, \"temporary\": 0}",
        "\"sites_omitted\": 0,",
        "\"bytes_allocated\": 360, \"live_bytes\": 200, \"peak_live_bytes\": 310, \"peak_bytes\": 210, "
        "\"leaked_bytes\": 200, \"leaked_blocks\": 1, \"temporary\": 1, \"sites\": [1, 3]}",
        "\"functions_omitted\": 0,",
        "\"leaked_program_bytes\": 600, \"leaked_program_blocks\": 2,",
        "\"by_site\": [{\"site\": 2, \"blocks\": 1, \"bytes\": 400}, {\"site\": 1, \"blocks\": 1, \"bytes\": 200}, "
        "{\"site\": 3, \"blocks\": 1, \"bytes\": 10}]",
        "{\"address\": \"0x5000\", \"size\": 400, \"thread\": 2, \"time_ns\": ",
        ", \"site\": 2},\n    {\"address\": \"0x2000\", \"size\": 200, \"thread\": 1, \"time_ns\": ",
    };
    for (size_t i = 0; i < sizeof need / sizeof *need; i++)
        if (!strstr(j, need[i]))
            fail_msg("missing %s", need[i]);
    assert_null(strstr(j, "\"estimate\""));
    free(j);
    msx_report_free(r);
}

/* A realloc in place that makes the new peak: the old block's bytes are
 * not the new peak's (the site view sees the event before the peak view). */
static void test_peak_resize(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_set_stack_depth(t, 16);
    msf_time(t, 1, 1000);
    msf_stack(t, 1, 1, pcs_a, 2);
    msf_stack(t, 1, 2, pcs_b, 2);
    msf_alloc_ex(t, 1, 0x1000, 100, 1);
    msf_alloc_ex(t, 1, 0x2000, 50, 2);
    msf_realloc_ex(t, 1, 0x1000, 0x1000, 500, 1, 0);
    msf_free(t, 1, 0x1000);
    msf_end(t, 1, 2000);
    msf_set_end_time(t, 2000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->peak_live_bytes, 550);
    const msx_site_report *a = site(r, 0x401000, 0x402000), *b = site(r, 0x405000, 0x402000);
    check_figs(&a->f, 2, 600, 0, 500, 500, 0, 0, 1);  /* its thread's latest block, freed */
    check_figs(&b->f, 1, 50, 50, 50, 50, 50, 1, 0);
    assert_int_equal(a->peak_blocks, 1);
    msx_report_free(r);
}

/* STACK records that lie: not [id, [pc...]], id 0, a redefinition, 200
 * frames, a pc that is a string; an event naming an undefined id. */
static void test_hostile_stacks(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_time(t, 1, 1000);
    const uint64_t head = msf_head(MSF_R_STACK, MSF_K_RECORD);
    msf_raw(t, 1, head, "\x05", 1);                              /* not an array */
    msf_raw(t, 1, head, "\x92\x00\x91\x10", 4);                  /* id 0 */
    msf_raw(t, 1, head, "\x92\x07\x93\x11\xa1x\x12", 7);         /* [7, [0x11, "x", 0x12]] */
    msf_raw(t, 1, head, "\x92\xa1y\x90", 4);                     /* id a string */
    uint64_t many[200];
    for (int i = 0; i < 200; i++)
        many[i] = 0x500000 + (uint64_t)i;
    msf_stack(t, 1, 1, pcs_a, 2);
    msf_stack(t, 1, 1, pcs_b, 2);                                /* redefined: the first stays */
    msf_stack(t, 1, 2, many, 200);
    msf_alloc_ex(t, 1, 0x1000, 100, 1);
    msf_alloc_ex(t, 1, 0x2000, 30, 2);
    msf_alloc_ex(t, 1, 0x3000, 7, 7);
    msf_alloc_ex(t, 1, 0x4000, 9, 99);                           /* never defined */
    msf_alloc(t, 1, 0x5000, 1);
    msf_end(t, 1, 2000);
    msf_set_end_time(t, 2000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nsites, 3);
    const msx_site_report *a = site(r, 0x401000, 0x402000);
    check_figs(&a->f, 1, 100, 100, 100, 100, 100, 1, 0);
    bool cut = false, seven = false;
    for (uint32_t i = 0; i < r->nsites; i++) {
        if (r->sites[i].nframes == MSX_MAX_FRAMES) {
            cut = true;
            assert_int_equal(r->sites[i].frames[0].pc, 0x500000);
            assert_int_equal(r->sites[i].f.v[MSX_SF_BYTES_ALLOCATED], 30);
        }
        if (r->sites[i].nframes == 1) {
            seven = true;
            assert_int_equal(r->sites[i].frames[0].pc, 0x11);
        }
    }
    assert_true(cut);
    assert_true(seven);
    assert_int_equal(r->nostack.v[MSX_SF_BYTES_ALLOCATED], 10);  /* id 99 and the plain ALLOC */
    assert_int_equal(r->nostack.v[MSX_SF_LEAKED_BLOCKS], 2);
    const char *want[] = { "not [id, [pc, ...]]", "defines id 0", "frame 1 is not an address", "defined again",
                           "cut to the innermost 128", "1 events name a stack id" };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        bool found = false;
        for (uint32_t i = 0; i < r->nproblems; i++)
            found |= strstr(r->problems[i].p, want[k]) != NULL;
        if (!found)
            fail_msg("no problem says \"%s\"", want[k]);
    }
    char *j = suite_json(r);
    free(j);
    msx_report_free(r);
}

/* More than MSX_MAX_SITES sites: the leaking ones all listed, the others
 * the ones with most bytes; the rest counted. */
static void test_list_bounds(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_set_stack_depth(t, 16);
    msf_time(t, 1, 1000);
    enum { N = MSX_MAX_SITES + 50 };
    for (uint64_t i = 1; i <= N; i++) {
        uint64_t pc = 0x100000 + i;
        msf_stack(t, 1, i, &pc, 1);
        msf_alloc_ex(t, 1, 0x10000 + 16 * i, 1000 + i, i);
        if (i > 3)
            msf_free(t, 1, 0x10000 + 16 * i);  /* sites 1..3 leak, with the fewest bytes */
    }
    msf_end(t, 1, 2000);
    msf_set_end_time(t, 2000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->nsites, N);
    char *j = suite_json(r);
    char want[64];
    /* site N, the largest, is the peak's: listed beside the MSX_MAX_SITES others */
    snprintf(want, sizeof want, "\"sites_omitted\": %d,", N - 3 - MSX_MAX_SITES - 1);
    assert_non_null(strstr(j, want));
    snprintf(want, sizeof want, "\"functions_omitted\": %d,", N - 3 - MSX_MAX_FUNCTIONS);
    assert_non_null(strstr(j, want));
    for (int i = 1; i <= 3; i++) {
        snprintf(want, sizeof want, "{\"id\": %d, ", i);
        assert_non_null(strstr(j, want));
    }
    snprintf(want, sizeof want, "{\"id\": %d, ", N - MSX_MAX_SITES - 1);  /* the largest omitted */
    assert_null(strstr(j, want));
    snprintf(want, sizeof want, "{\"id\": %d, ", N - MSX_MAX_SITES);  /* the smallest listed */
    assert_non_null(strstr(j, want));
    free(j);
    msx_report_free(r);
}

/* Byte sampling: each figure is the Horvitz-Thompson estimate, with its
 * interval (estimate.h). */
static void test_sampled(void **state)
{
    (void)state;
    msf *t = suite_two_threads();
    msf_set_stack_depth(t, 16);
    msf_set_sampling(t, 1000, 0, 77);
    msf_time(t, 1, 1000);
    msf_stack(t, 1, 1, pcs_a, 2);
    msf_alloc_w(t, 1, 0x1000, 100, 1, 1000);   /* stands for 1000 bytes, 10 blocks */
    msf_alloc_w(t, 1, 0x2000, 4000, 1, 4000);  /* certain (p ~ 1): no variance */
    msf_free(t, 1, 0x2000);
    msf_end(t, 1, 2000);
    msf_set_end_time(t, 2000);
    msx_report *r = suite_analyze(t);
    assert_int_equal(r->sampling, 1);
    assert_int_equal(r->sample_bytes, 1000);
    assert_int_equal(r->sample_seed, 77);
    const msx_site_report *a = site(r, 0x401000, 0x402000);
    assert_int_equal(a->f.v[MSX_SF_BYTES_ALLOCATED], 5000);
    assert_int_equal(a->f.v[MSX_SF_ALLOCATIONS], 11);
    assert_int_equal(a->f.v[MSX_SF_LEAKED_BYTES], 1000);
    assert_int_equal(a->f.v[MSX_SF_LEAKED_BLOCKS], 10);
    assert_int_equal(a->f.v[MSX_SF_TEMPORARY], 1);
    double h = 1.959963984540054 * sqrt(1000.0 * 900.0);
    assert_true(fabs(a->f.lo[MSX_SF_BYTES_ALLOCATED] - (5000 - h)) < 1e-6);
    assert_true(fabs(a->f.hi[MSX_SF_BYTES_ALLOCATED] - (5000 + h)) < 1e-6);
    assert_true(fabs(a->f.hi[MSX_SF_LEAKED_BYTES] - (1000 + h)) < 1e-6);
    assert_true(a->f.lo[MSX_SF_LEAKED_BLOCKS] == 0);  /* 10 - 1.96 * sqrt(90) < 0: clipped */
    char *j = suite_json(r);
    assert_non_null(strstr(j, "\"sampling\": {\"mode\": \"bytes\", \"sample_bytes\": 1000, \"sample_rate\": 0, "
                              "\"seed\": 77},"));
    char want[128];
    snprintf(want, sizeof want, "\"estimate\": {\"allocations\": [");
    assert_non_null(strstr(j, want));
    snprintf(want, sizeof want, "\"bytes_allocated\": [%.0f, %.0f]", floor(5000 - h), ceil(5000 + h));
    assert_non_null(strstr(j, want));
    free(j);
    msx_report_free(r);
}

/* LeakSanitizer's pattern syntax. */
static void test_match(void **state)
{
    (void)state;
#define M(p, s) msx_supp_match(p, strlen(p), s, strlen(s))
    assert_true(M("foo", "xfoox"));
    assert_true(M("^foo", "foobar"));
    assert_false(M("^foo", "xfoo"));
    assert_true(M("bar$", "foobar"));
    assert_false(M("bar$", "barx"));
    assert_true(M("^foobar$", "foobar"));
    assert_false(M("^foobar$", "foobarx"));
    assert_true(M("a*c", "xxabbbcxx"));
    assert_false(M("a*c", "cxa"));
    assert_true(M("^make_*(int)$", "make_node(int)"));
    assert_false(M("^make_*(int)$", "make_node(int) const"));
    assert_true(M("*", "x"));
    assert_false(M("x", ""));
    assert_true(M("^a*b*c$", "abc"));
    assert_false(M("^ab*bc$", "abc"));  /* the pieces may not overlap */
#undef M
}

/* Builds a report with one site of frames (function, module) given. */
static uint32_t add_str(msx_report *r, const char *s)
{
    if (!s)
        return 0;
    r->strings = realloc(r->strings, (r->nstrings + 1) * sizeof *r->strings);
    r->strings[r->nstrings] = (msx_str){ 0 };
    assert_int_equal(msx_str_set(&r->strings[r->nstrings], s, strlen(s)), 0);
    return ++r->nstrings;
}

static msx_site_report *add_site(msx_report *r, int n, const char *const *fm, uint64_t leaked)
{
    r->sites = realloc(r->sites, (r->nsites + 1) * sizeof *r->sites);
    msx_site_report *s = &r->sites[r->nsites];
    *s = (msx_site_report){ .id = ++r->nsites, .nframes = (uint32_t)n };
    s->frames = calloc((size_t)n, sizeof *s->frames);
    for (int i = 0; i < n; i++) {
        s->frames[i].function = add_str(r, fm[2 * i]);
        s->frames[i].module = add_str(r, fm[2 * i + 1]);
        s->frames[i].pc = 0x1000 + (uint64_t)i;
    }
    s->f.v[MSX_SF_LEAKED_BYTES] = leaked;
    s->f.v[MSX_SF_LEAKED_BLOCKS] = 1;
    return s;
}

static const char LIBC[] = "/lib/x86_64-linux-gnu/libc.so.6", PROG[] = "/usr/bin/prog",
                  LD[] = "/lib64/ld-linux-x86-64.so.2", CXX[] = "/lib/x86_64-linux-gnu/libstdc++.so.6";

static void test_runtime_rule(void **state)
{
    (void)state;
    msx_report *r = calloc(1, sizeof *r);
    const char *stdio[] = { "_IO_file_doallocate", LIBC, "_IO_doallocbuf", LIBC, "printf", LIBC, "main", PROG };
    const char *strdup_[] = { "strdup", LIBC, "main", PROG };
    const char *tls[] = { "_dl_allocate_tls", LD, "pthread_create", LIBC, "main", PROG };
    const char *loader[] = { "malloc", LD, "_dl_new_object", LD, "_dl_map_object", LD };
    const char *pool[] = { "(anonymous namespace)::pool::pool()", CXX, "call_init", LD, "_dl_init", LD };
    const char *unknown[] = { NULL, NULL, "main", PROG };
    const char *prog[] = { "make_node(int)", PROG, "main", PROG };
    const char *const *all[] = { stdio, strdup_, tls, loader, pool, unknown, prog };
    const int n[] = { 4, 2, 3, 3, 3, 2, 2 };
    const bool runtime[] = { true, false, true, true, true, false, false };
    const uint32_t own[] = { 3, 1, 2, 0, 0, 0, 0 };
    for (int i = 0; i < 7; i++) {
        msx_site_report *s = add_site(r, n[i], all[i], 10);
        msx_site_classify(r, s);
        if (s->runtime != runtime[i] || s->frame != own[i])
            fail_msg("site %d: runtime %d frame %u", i, s->runtime, s->frame);
    }
    msx_report_free(r);
}

static void test_suppressions(void **state)
{
    (void)state;
    msx_report *r = calloc(1, sizeof *r);
    const char *a[] = { "make_node(int)", PROG, "main", PROG };
    const char *b[] = { "grow(int)", "/usr/lib/libfoo.so.1", "main", PROG };
    const char *c[] = { "keep_me", PROG, "main", PROG };
    const char *d[] = { "_IO_file_doallocate", LIBC, "main", PROG };
    add_site(r, 2, a, 100);
    add_site(r, 2, b, 20);
    add_site(r, 2, c, 3);
    add_site(r, 2, d, 1000);
    for (uint32_t i = 0; i < r->nsites; i++)
        msx_site_classify(r, &r->sites[i]);
    static const char text[] = "# comment\n\n  leak:^make_node\nleak:^libfoo.so*$\r\nbogus line\nleak:\n";
    msx_supp *S;
    msx_str prob[4] = { 0 };
    uint32_t np;
    assert_int_equal(msx_supp_parse(&S, text, sizeof text - 1, prob, 4, &np), 0);
    assert_int_equal(msx_supp_count(S), 2);
    assert_int_equal(np, 2);
    assert_non_null(strstr(prob[0].p, "line 5"));
    assert_non_null(strstr(prob[1].p, "line 6"));
    msx_sites_suppress(r, S);
    assert_true(r->sites[0].suppressed);
    assert_true(r->sites[1].suppressed);   /* by the module's file name */
    assert_false(r->sites[2].suppressed);
    assert_int_equal(r->leaked_program_bytes, 3);
    assert_int_equal(r->leaked_suppressed_bytes, 120);
    assert_int_equal(r->leaked_suppressed_blocks, 2);
    assert_int_equal(r->leaked_runtime_bytes, 1000);
    msx_sites_suppress(r, NULL);
    assert_int_equal(r->leaked_program_bytes, 123);
    msx_supp_free(S);
    free(prob[0].p);
    free(prob[1].p);
    msx_report_free(r);
}

/* Names from the symbols are untrusted: escaped in the JSON. */
static void test_escaped(void **state)
{
    (void)state;
    msx_report *r = calloc(1, sizeof *r);
    const char *a[] = { "evil\"</script><b>\n\x01\xff", "/tmp/a\\b.so" };
    add_site(r, 1, a, 5);
    r->sites[0].frames[0].file = add_str(r, "x&y.c");
    r->sites[0].frames[0].line = 3;
    msx_buf b = { 0 };
    assert_int_equal(msx_render_json(&b, r, NULL), 0);
    msx_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "\"function\": \"evil\\\"\\u003c/script\\u003e\\u003cb\\u003e\\n\\u0001\\ufffd\", "
                                "\"file\": \"x\\u0026y.c\", \"line\": 3, \"module\": \"/tmp/a\\\\b.so\""));
    assert_null(strstr(b.p, "</script>"));
    msx_buf_free(&b);
    msx_report_free(r);
}

/* -- real symbols: this program's own module and return addresses -------- */

static __attribute__((noipa)) uint64_t here(void)
{
    uint64_t pc = (uint64_t)__builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return pc;
}

static __attribute__((noipa)) uint64_t grow_cache(int *line)
{
    uint64_t pc = here(); *line = __LINE__;
    __asm__ volatile("" ::: "memory");
    return pc;
}

static __attribute__((noipa)) uint64_t load_table(int *line)
{
    uint64_t pc = here(); *line = __LINE__;
    __asm__ volatile("" ::: "memory");
    return pc;
}

static char self_path[PATH_MAX];

static int grow_line, load_line;

/* grow_cache allocates 100 x 128,000 bytes (12.8 MB) and frees 50;
 * load_table 50 MiB, never freed. Stacks: [pc in the function, pc here]. */
static msx_report *real_trace(const msx_analyze_opts *o)
{
    msf *t = suite_two_threads();
    msf_set_stack_depth(t, 16);
    msf_time(t, 1, 1000);
    assert_int_equal(msf_self_module(t, 1, self_path, sizeof self_path), 0);
    uint64_t caller = here();
    uint64_t grow[2] = { grow_cache(&grow_line), caller }, load[2] = { load_table(&load_line), caller };
    msf_stack(t, 1, 1, grow, 2);
    msf_stack(t, 1, 2, load, 2);
    for (uint64_t i = 0; i < 100; i++)
        msf_alloc_ex(t, 1, 0x100000 + i * 0x40000, 128000, 1);
    for (uint64_t i = 0; i < 50; i++)
        msf_free(t, 1, 0x100000 + i * 0x40000);
    msf_alloc_ex(t, 1, 0x10000000, 50u << 20, 2);
    msf_end(t, 1, 2000);
    msf_set_end_time(t, 2000);
    char *path = msf_path(msf_dir, "real.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r = NULL;
    char err[512];
    if (msx_analyze_trace_opts(path, o, NULL, NULL, &r, err, sizeof err))
        fail_msg("analysis failed: %s", err);
    free(path);
    return r;
}

static const msx_function_report *function(const msx_report *r, const char *name)
{
    for (uint32_t i = 0; i < r->nfunctions; i++) {
        const msx_str *f = msx_report_string(r, r->functions[i].at.function);
        if (f && !strcmp(f->p, name))
            return &r->functions[i];
    }
    fail_msg("no function %s", name);
    return NULL;
}

static void test_real_symbols(void **state)
{
    (void)state;
    msx_report *r = real_trace(NULL);
    const msx_function_report *g = function(r, "grow_cache"), *l = function(r, "load_table");
    assert_int_equal(g->f.v[MSX_SF_BYTES_ALLOCATED], 12800000);
    assert_int_equal(g->f.v[MSX_SF_ALLOCATIONS], 100);
    assert_int_equal(g->f.v[MSX_SF_LEAKED_BYTES], 6400000);
    assert_int_equal(g->f.v[MSX_SF_LEAKED_BLOCKS], 50);
    assert_int_equal(l->f.v[MSX_SF_BYTES_ALLOCATED], 50u << 20);
    assert_int_equal(g->at.line, grow_line);
    assert_int_equal(l->at.line, load_line);
    const msx_str *file = msx_report_string(r, g->at.file), *mod = msx_report_string(r, g->at.module);
    assert_non_null(file);
    assert_non_null(strstr(file->p, "test_sites.c"));
    assert_string_equal(mod->p, self_path);
    /* the caller's frame is this file's too, and not the runtime */
    const msx_site_report *s = &r->sites[0];
    assert_int_equal(s->frame, 0);
    assert_false(s->runtime);
    assert_string_equal(msx_report_string(r, s->frames[s->nframes - 1].function)->p, "real_trace");
    assert_int_equal(r->leaked_program_bytes, 6400000 + (50u << 20));
    /* collapsed stacks: outermost first, and they sum to bytes_allocated */
    msx_buf b = { 0 };
    assert_int_equal(msx_render_folded(&b, r, MSX_SF_BYTES_ALLOCATED), 0);
    msx_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "real_trace;grow_cache 12800000\n"));
    assert_non_null(strstr(b.p, "real_trace;load_table 52428800\n"));
    uint64_t sum = 0;
    for (const char *p = b.p; *p;) {
        const char *nl = strchr(p, '\n'), *sp = nl;
        while (sp > p && sp[-1] != ' ')
            sp--;
        sum += strtoull(sp, NULL, 10);
        p = nl + 1;
    }
    assert_int_equal(sum, r->bytes_allocated);
    msx_buf_free(&b);
    b = (msx_buf){ 0 };
    assert_int_equal(msx_render_folded(&b, r, MSX_SF_LEAKED_BYTES), 0);
    msx_buf_putc(&b, '\0');
    assert_non_null(strstr(b.p, "real_trace;grow_cache 6400000\n"));
    msx_buf_free(&b);
    char *j = suite_json(r);
    assert_non_null(strstr(j, "\"function\": \"grow_cache\", \"file\": \""));
    free(j);
    msx_report_free(r);
}

/* Suppressions given to the analysis take a site out of the program's leaks. */
static void test_real_suppressed(void **state)
{
    (void)state;
    static const char text[] = "leak:^grow_cache$\n";
    msx_supp *S;
    msx_str prob[1];
    uint32_t np;
    assert_int_equal(msx_supp_parse(&S, text, sizeof text - 1, prob, 1, &np), 0);
    msx_analyze_opts o = { .suppressions = S };
    msx_report *r = real_trace(&o);
    assert_int_equal(r->leaked_program_bytes, 50u << 20);
    assert_int_equal(r->leaked_program_blocks, 1);
    assert_int_equal(r->leaked_suppressed_bytes, 6400000);
    assert_int_equal(r->leaked_suppressed_blocks, 50);
    assert_int_equal(r->leaked_bytes, 6400000 + (50u << 20));  /* all blocks still */
    msx_report_free(r);
    msx_supp_free(S);
}

/* A report of the archive equals the trace's: JSON and folded output. */
static void round_trip(msx_report *r)
{
    msx_buf b = { 0 };
    assert_int_equal(msx_render_archive(&b, r), 0);
    char *path = msf_path(msf_dir, "sites.msbin");
    assert_int_equal(msx_write_file(path, b.p, b.len, 0600), 0);
    msx_buf_free(&b);
    msx_report *back = NULL;
    char err[512];
    if (msx_read_archive(path, &back, err, sizeof err))
        fail_msg("%s", err);
    free(path);
    char *j1 = suite_json(r), *j2 = suite_json(back);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    for (int v = 0; v < MSX_SITE_FIGS; v++) {
        msx_buf f1 = { 0 }, f2 = { 0 };
        assert_int_equal(msx_render_folded(&f1, r, (msx_site_fig)v), 0);
        assert_int_equal(msx_render_folded(&f2, back, (msx_site_fig)v), 0);
        assert_int_equal(f1.len, f2.len);
        if (f1.len)
            assert_memory_equal(f1.p, f2.p, f1.len);
        msx_buf_free(&f1);
        msx_buf_free(&f2);
    }
    msx_report_free(back);
}

static void test_archive(void **state)
{
    (void)state;
    static const char text[] = "leak:grow_cache\n";
    msx_supp *S;
    msx_str prob[1];
    uint32_t np;
    assert_int_equal(msx_supp_parse(&S, text, sizeof text - 1, prob, 1, &np), 0);
    msx_analyze_opts o = { .suppressions = S };
    msx_report *r = real_trace(&o);
    assert_int_equal(r->leaked_suppressed_blocks, 50);
    round_trip(r);
    msx_report_free(r);
    msx_supp_free(S);
    r = three_sites();
    round_trip(r);
    msx_report_free(r);
    msf *t = suite_two_threads();
    msf_set_sampling(t, 0, 1u << 30, 5);  /* rate 1/4 */
    msf_time(t, 1, 1000);
    msf_stack(t, 1, 1, pcs_a, 2);
    msf_alloc_w(t, 1, 0x1000, 100, 1, 4);
    msf_end(t, 1, 2000);
    r = suite_analyze(t);
    assert_int_equal(r->sampling, 2);
    assert_int_equal(r->sites[0].f.v[MSX_SF_ALLOCATIONS], 4);
    assert_int_equal(r->sites[0].f.v[MSX_SF_BYTES_ALLOCATED], 400);
    round_trip(r);
    msx_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_figures),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_peak_resize),
        cmocka_unit_test(test_hostile_stacks),
        cmocka_unit_test(test_list_bounds),
        cmocka_unit_test(test_sampled),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_runtime_rule),
        cmocka_unit_test(test_suppressions),
        cmocka_unit_test(test_escaped),
        cmocka_unit_test(test_real_symbols),
        cmocka_unit_test(test_real_suppressed),
        cmocka_unit_test(test_archive),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
