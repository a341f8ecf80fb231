/* The HTML dashboard (export/html.c, dashboard.html): self-contained (no
 * URL, no request), thread names and other strings escaped, bounded size;
 * the sites embedded as the JSON report has them, hostile symbols (a
 * demangled "hostile<script>" of this program, a file name with quotes and a
 * script tag: html_sym.cpp) escaped. */
#include <limits.h>
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

/* Renders a trace with hostile strings and returns the page (NUL-terminated). */
static char *render_hostile(uint32_t nthreads, size_t *len)
{
    char *dir = msf_tmpdir();
    char *path = msf_path(dir, "h.msgpack");
    msf *t = msf_new(65536);
    static const char evil[] = "<script>alert(1)</script>";
    char longname[4000];
    memset(longname, 0xff, sizeof longname);
    for (uint32_t k = 1; k <= nthreads; k++) {
        if (k == 1)
            msf_thread(t, k, k, evil, strlen(evil), 0);
        else
            msf_thread(t, k, k, longname, sizeof longname, 0);
        msf_alloc(t, k, 0x1000 * k, k);
    }
    const char *argv[] = { "</script><script>alert(2)</script>", "\xe2\x80\xa8" };
    const char *cfg[] = { "MEMSCOPE_NAME", "<!--" };
    msf_process(t, 1, 1, "/bin/<x>&\"", 2, argv, 1, cfg);
    msf_end(t, 1, 10);
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r;
    char err[256];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    msx_buf b = { 0 };
    assert_int_equal(msx_render_html(&b, r), 0);
    msx_buf_putc(&b, '\0');
    msx_report_free(r);
    msf_rm_rf(dir);
    free(dir);
    free(path);
    *len = b.len - 1;
    return b.p;
}

static void test_escapes_thread_name(void **state)
{
    (void)state;
    size_t len;
    char *html = render_hostile(2, &len);
    assert_null(strstr(html, "<script>alert"));
    assert_null(strstr(html, "alert(1)</script>"));
    assert_non_null(strstr(html, "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
    assert_null(strstr(html, "<!--\""));
    assert_null(strstr(html, "\xe2\x80\xa8"));
    /* exactly the page's own two script elements */
    int scripts = 0;
    for (const char *p = html; (p = strstr(p, "<script")); p++)
        scripts++;
    assert_int_equal(scripts, 2);
    int ends = 0;
    for (const char *p = html; (p = strstr(p, "</script")); p++)
        ends++;
    assert_int_equal(ends, 2);
    free(html);
}

static void test_no_external_reference(void **state)
{
    (void)state;
    size_t len;
    char *html = render_hostile(1, &len);
    const char *banned[] = { "://", "src=", "href=", "url(", "@import", "<link", "<iframe", "<img", "fetch(",
                             "XMLHttpRequest", "WebSocket", "EventSource", "sendBeacon", "Math.random" };
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        if (strstr(html, banned[i]))
            fail_msg("the page holds \"%s\"", banned[i]);
    assert_non_null(strstr(html, "Content-Security-Policy\" content=\"default-src 'none'"));
    free(html);
}

static void test_size_bounded(void **state)
{
    (void)state;
    size_t len;
    char *html = render_hostile(3000, &len);  /* 3000 threads with 4000-byte invalid names */
    assert_true(len < 5u * 1024 * 1024);
    assert_non_null(strstr(html, "\"threads_omitted\": 2000"));
    free(html);
}

/* -- sites with hostile symbols of this program's own module --------------- */

uint64_t html_sym_hostile(void);
uint64_t html_sym_here(void);

static char self_path[PATH_MAX];

/* A trace of two sites of this module: [hostile<script>, here] 3 x 1000
 * bytes (one leaks), [here] 500 bytes. Its report as HTML and as JSON. */
static void render_sites(char **html, char **json, uint32_t *nsites)
{
    char *dir = msf_tmpdir();
    char *path = msf_path(dir, "s.msgpack");
    msf *t = msf_new(65536);
    msf_set_stack_depth(t, 16);
    msf_thread(t, 1, 1, "main", 4, 0);
    msf_time(t, 1, 1000);
    assert_int_equal(msf_self_module(t, 1, self_path, sizeof self_path), 0);
    uint64_t caller = html_sym_here();
    uint64_t a[2] = { html_sym_hostile(), caller }, b1[1] = { caller };
    msf_stack(t, 1, 1, a, 2);
    msf_stack(t, 1, 2, b1, 1);
    for (uint64_t i = 0; i < 3; i++)
        msf_alloc_ex(t, 1, 0x10000 + i * 0x1000, 1000, 1);
    msf_free(t, 1, 0x10000);
    msf_free(t, 1, 0x11000);
    msf_alloc_ex(t, 1, 0x20000, 500, 2);
    msf_free(t, 1, 0x20000);
    msf_end(t, 1, 2000);
    msf_set_end_time(t, 2000);
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r;
    char err[256];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    *nsites = r->nsites;
    msx_buf h = { 0 }, j = { 0 };
    assert_int_equal(msx_render_html(&h, r), 0);
    assert_int_equal(msx_render_json(&j, r, NULL), 0);
    msx_buf_putc(&h, '\0');
    msx_buf_putc(&j, '\0');
    msx_report_free(r);
    msf_rm_rf(dir);
    free(dir);
    free(path);
    *html = h.p;
    *json = j.p;
}

/* The text from "\"sites\": [" to the end of the "functions_omitted" line. */
static char *sites_part(const char *s)
{
    const char *a = strstr(s, "\"sites\": [");
    const char *z = a ? strstr(a, "\"functions_omitted\": ") : NULL;
    if (!a || !z)
        return NULL;
    z = strchr(z, '\n');
    return z ? strndup(a, (size_t)(z - a)) : NULL;
}

static void test_sites_embedded(void **state)
{
    (void)state;
    char *html, *json;
    uint32_t nsites;
    render_sites(&html, &json, &nsites);
    assert_int_equal(nsites, 2);
    char *hs = sites_part(html), *js = sites_part(json);
    assert_non_null(hs);
    assert_non_null(js);
    assert_string_equal(hs, js);  /* sites[], sites_omitted, functions[], functions_omitted as the JSON has them */
    int ids = 0;
    for (const char *p = hs; (p = strstr(p, "{\"id\": ")); p++)
        ids++;
    assert_int_equal(ids, 2);
    assert_non_null(strstr(hs, "\"bytes_allocated\": 3000"));
    assert_non_null(strstr(hs, "\"leaked_bytes\": 1000"));
    /* the dashboard's sites part is in the page, and draws from the data */
    assert_non_null(strstr(html, "function sitesSection()"));
    assert_non_null(strstr(html, "function flameTree(fig, total)"));
    assert_null(strstr(html, "MEMSCOPE-INCLUDE"));
    free(hs);
    free(js);
    free(html);
    free(json);
}

static void test_escapes_symbols(void **state)
{
    (void)state;
    char *html, *json;
    uint32_t nsites;
    render_sites(&html, &json, &nsites);
    /* the symbolizer read them: the demangled template and the #line file */
    assert_non_null(strstr(json, "hostile\\u003cscript\\u003e"));
    assert_non_null(strstr(html, "hostile\\u003cscript\\u003e"));
    assert_non_null(strstr(html, "\"\\u003c/script\\u003e\\u003cscript\\u003ealert(\\\"x\\\")\\u003c/script\\u003e.cpp\""));
    assert_null(strstr(html, "hostile<script>"));
    assert_null(strstr(html, "alert(\"x\")"));
    assert_null(strstr(html, "<script>alert"));
    int scripts = 0, ends = 0;
    for (const char *p = html; (p = strstr(p, "<script")); p++)
        scripts++;
    for (const char *p = html; (p = strstr(p, "</script")); p++)
        ends++;
    assert_int_equal(scripts, 2);
    assert_int_equal(ends, 2);
    /* the page writes every string as text: no markup made from strings */
    const char *banned[] = { ".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function" };
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        if (strstr(html, banned[i]))
            fail_msg("the page uses %s", banned[i]);
    free(html);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_thread_name),
        cmocka_unit_test(test_no_external_reference),
        cmocka_unit_test(test_size_bounded),
        cmocka_unit_test(test_sites_embedded),
        cmocka_unit_test(test_escapes_symbols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
