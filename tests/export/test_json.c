/* The JSON report (export/json.c): string escaping of any bytes, the
 * required members, and the limits used for the dashboard. Validation
 * against docs/report.schema.json is in test_cli.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "export.h"

/* A report with one thread named `name` (n bytes). */
static msx_report *report_named(const char *name, size_t n)
{
    msx_report *r = calloc(1, sizeof *r);
    assert_int_equal(msx_str_set(&r->file, "f.msgpack", 9), 0);
    r->threads = calloc(1, sizeof *r->threads);
    r->nthreads = 1;
    r->threads[0].id = 1;
    assert_int_equal(msx_str_set(&r->threads[0].name, name, n), 0);
    return r;
}

/* Renders r and returns the JSON text of thread 0's name value. */
static char *name_json(const char *name, size_t n)
{
    msx_report *r = report_named(name, n);
    msx_buf b = { 0 };
    assert_int_equal(msx_render_json(&b, r, NULL), 0);
    char *json = malloc(b.len + 1);
    memcpy(json, b.p, b.len);
    json[b.len] = '\0';
    msx_buf_free(&b);
    msx_report_free(r);
    char *at = strstr(json, "\"name\": \"");
    assert_non_null(at);
    at += 8;
    char *end = strstr(at, ", \"exited\"");
    assert_non_null(end);
    char *out = strndup(at, (size_t)(end - at));
    free(json);
    return out;
}

/* Checks that `name` renders as the JSON string `want`. */
static void check(const char *name, size_t n, const char *want)
{
    char *got = name_json(name, n);
    if (strcmp(got, want))
        fail_msg("rendered %s, want %s", got, want);
    free(got);
}

static void test_escapes(void **state)
{
    (void)state;
    check("plain", 5, "\"plain\"");
    check("q\"b\\", 4, "\"q\\\"b\\\\\"");
    check("\n\r\t\x01\x1f\x7f", 6, "\"\\n\\r\\t\\u0001\\u001f\\u007f\"");
    check("<script>alert(1)</script>", 25, "\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\"");
    check("a&b", 3, "\"a\\u0026b\"");
    check("\xe2\x80\xa8\xe2\x80\xa9", 6, "\"\\u2028\\u2029\"");
    check("nul\0x", 5, "\"nul\\u0000x\"");
}

static void test_utf8(void **state)
{
    (void)state;
    check("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", 14, "\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\"");
    check("\xff", 1, "\"\\ufffd\"");
    check("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");           /* overlong */
    check("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");  /* surrogate */
    check("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  /* above U+10FFFF */
    check("ab\xe6\x97", 4, "\"ab\\ufffd\\ufffd\"");        /* cut sequence */
}

/* Every byte value, alone, gives JSON with no raw control or markup byte. */
static void test_all_bytes(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        char s[1] = { (char)c };
        char *got = name_json(s, 1);
        for (const unsigned char *p = (const unsigned char *)got; *p; p++)
            assert_true(*p >= 0x20 && *p != '<' && *p != '>' && *p != '&' && *p != 0x7f && *p < 0x80);
        free(got);
    }
}

static void test_members_and_limits(void **state)
{
    (void)state;
    msx_report *r = calloc(1, sizeof *r);
    r->nthreads = 5;
    r->threads = calloc(5, sizeof *r->threads);
    for (uint32_t i = 0; i < 5; i++) {
        r->threads[i].id = i + 1;
        r->threads[i].bytes_allocated = (i == 3) ? 1000 : i;
        assert_int_equal(msx_str_set(&r->threads[i].name, "0123456789", 10), 0);
    }
    r->nargv = 3;
    r->argv = calloc(3, sizeof *r->argv);
    for (int i = 0; i < 3; i++)
        assert_int_equal(msx_str_set(&r->argv[i], "arg", 3), 0);
    r->events = 12;
    r->stream_bytes = 34;
    msx_buf b = { 0 };
    msx_json_limits lim = { .max_threads = 2, .max_str = 4, .max_list = 1 };
    assert_int_equal(msx_render_json(&b, r, &lim), 0);
    msx_buf_putc(&b, '\0');
    const char *j = b.p;
    const char *need[] = { "\"schema_version\": 1", "\"events\": 12", "\"stream_bytes\": 34", "\"summary\": {",
                           "\"threads\": [", "\"timeline\": [", "\"size_histogram\": [", "\"lifetime_histogram\": [",
                           "\"leaks\": [", "\"peak_snapshot\": {", "\"anomalies\": {", "\"process\": {",
                           "\"threads_omitted\": 3", "\"argv_omitted\": 2", "\"name\": \"0123\"", "\"id\": 4," };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!strstr(j, need[i]))
            fail_msg("missing %s", need[i]);
    assert_null(strstr(j, "\"id\": 1,"));  /* only the two busiest threads */
    msx_buf_free(&b);
    msx_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_all_bytes),
        cmocka_unit_test(test_members_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
