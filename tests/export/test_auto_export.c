/* msx_auto_export (export/auto.c): the files it writes for each format, and
 * its errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "export.h"
#include "fixture.h"

static char *tmpdir, *trace;

static int setup(void **state)
{
    (void)state;
    tmpdir = msf_tmpdir();
    trace = msf_path(tmpdir, "p.123.msgpack");
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "main", 4, 0);
    msf_alloc(t, 1, 0x10, 5);
    msf_end(t, 1, 9);
    assert_int_equal(msf_write(t, trace), 0);
    msf_destroy(t);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    msf_rm_rf(tmpdir);
    free(tmpdir);
    free(trace);
    return 0;
}

/* True if dir/name exists with mode 0600. */
static int exists_private(const char *name)
{
    char *p = msf_path(tmpdir, name);
    struct stat st;
    int ok = stat(p, &st) == 0 && (st.st_mode & 0777) == 0600;
    free(p);
    return ok;
}

static void test_all_formats(void **state)
{
    (void)state;
    assert_int_equal(msx_auto_export(trace, tmpdir, "prog", "json,html,bin"), 0);
    assert_true(exists_private("prog.json"));
    assert_true(exists_private("prog.html"));
    assert_true(exists_private("prog.msbin"));
    char *p = msf_path(tmpdir, "prog.json");
    char *json = msf_read_file(p, NULL);
    assert_non_null(strstr(json, "\"leaked_bytes\": 5"));
    free(json);
    free(p);
}

static void test_one_format(void **state)
{
    (void)state;
    assert_int_equal(msx_auto_export(trace, tmpdir, "only", " html "), 0);
    assert_true(exists_private("only.html"));
    assert_false(exists_private("only.json"));
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(msx_auto_export(trace, tmpdir, "x", "json,pdf"), -EINVAL);
    assert_false(exists_private("x.json"));
    char *missing = msf_path(tmpdir, "missing.msgpack");
    assert_int_equal(msx_auto_export(missing, tmpdir, "y", "json"), -ENOENT);
    free(missing);
    char *nodir = msf_path(tmpdir, "no/such/dir");
    assert_int_equal(msx_auto_export(trace, nodir, "z", "json"), -ENOENT);
    free(nodir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_formats),
        cmocka_unit_test(test_one_format),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
