/* The HTML dashboard (export/html.c, dashboard.html): self-contained (no
 * URL, no request), thread names and other strings escaped, bounded size. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_thread_name),
        cmocka_unit_test(test_no_external_reference),
        cmocka_unit_test(test_size_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
