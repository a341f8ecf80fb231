/* The binary archive (export/archive.c, docs/ARCHIVE.md): a report survives
 * the round trip unchanged, is much smaller than the trace, and damaged
 * archives are refused with a clear message. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "export.h"
#include "fixture.h"
#include "format.h"
#include "suite.h"

static char *tmpdir, *trace, *archive;
static size_t trace_len;

/* Builds a multi-thread trace with anomalies, leaks, odd strings. */
static int setup(void **state)
{
    (void)state;
    tmpdir = msf_tmpdir();
    trace = msf_path(tmpdir, "a.msgpack");
    archive = msf_path(tmpdir, "a.msbin");
    msf *t = msf_new(65536);
    for (uint32_t k = 1; k <= 4; k++)
        msf_thread(t, k, 100 + k, k == 2 ? "bad\xff<name>" : "w", k == 2 ? 10 : 1, 0);
    const char *argv[] = { "prog", "x" };
    const char *cfg[] = { "MEMSCOPE_OUTPUT", "/o" };
    msf_process(t, 1, 77, "/bin/prog", 2, argv, 1, cfg);
    msf_metric(t, 1, "rss", 12345);
    /* memscope's METRIC stream: samples with and without threads and keys */
    msf_thread(t, 5, 105, "memscope-prep", 13, 0);
    msf_thread_flags(t, 5, MSF_CF_INTERNAL);
    const char *mk[] = { MSF_M_RSS, MSF_M_MAPPED, MSF_M_MINFLT };
    const uint64_t mv[] = { 4096, 1 << 20, 17 }, tids[] = { 101, 102, 105 }, cpus[] = { 9, 0, 123456789 };
    msf_time(t, 5, 50000);
    msf_metrics(t, 5, 3, mk, mv, 3, tids, cpus);
    msf_time(t, 5, 9000000);
    msf_metrics(t, 5, 1, mk, mv, -1, NULL, NULL);
    msf_time(t, 5, 19000000);
    msf_metrics(t, 5, 0, NULL, NULL, 0, NULL, NULL);
    uint64_t time = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t k = 1 + (uint32_t)(i % 4);
        if (i % 1024 == 0)
            msf_time(t, k, time += 100000);
        uint64_t a = 0x100000 * k + (uint64_t)(i / 4 % 300) * 64;
        if ((i / 4) % 600 < 300)
            msf_alloc(t, k, a, 1 + (uint64_t)i % 5000);
        else
            msf_free(t, k, a);
    }
    msf_free(t, 1, 0xdead0);
    msf_end(t, 1, time + 5);
    msf_set_end_time(t, time + 5);
    assert_int_equal(msf_write(t, trace), 0);
    msf_destroy(t);
    free(msf_read_file(trace, &trace_len));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    msf_rm_rf(tmpdir);
    free(tmpdir);
    free(trace);
    free(archive);
    return 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    msx_report *r, *back;
    char err[512];
    assert_int_equal(msx_analyze_trace(trace, NULL, NULL, &r, err, sizeof err), 0);
    msx_buf b = { 0 };
    assert_int_equal(msx_render_archive(&b, r), 0);
    assert_int_equal(msx_write_file(archive, b.p, b.len, 0600), 0);
    /* far below 2 bytes per event: the archive holds the analysis, not the events */
    assert_true(b.len < r->events * 2);
    assert_true(b.len * 10 < trace_len);
    msx_buf_free(&b);
    assert_true(msx_is_archive(archive));
    assert_false(msx_is_archive(trace));
    assert_int_equal(msx_read_archive(archive, &back, err, sizeof err), 0);
    char *j1 = suite_json(r), *j2 = suite_json(back);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    msx_buf h1 = { 0 }, h2 = { 0 };
    assert_int_equal(msx_render_html(&h1, r), 0);
    assert_int_equal(msx_render_html(&h2, back), 0);
    assert_int_equal(h1.len, h2.len);
    assert_memory_equal(h1.p, h2.p, h1.len);
    msx_buf_free(&h1);
    msx_buf_free(&h2);
    msx_report_free(r);
    msx_report_free(back);
}

static void test_damaged_archives(void **state)
{
    (void)state;
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(trace, NULL, NULL, &r, err, sizeof err), 0);
    msx_buf b = { 0 };
    assert_int_equal(msx_render_archive(&b, r), 0);
    msx_report_free(r);
    char *path = msf_path(tmpdir, "bad.msbin");
    /* truncated at every length: refused or read, never a crash */
    for (size_t n = 0; n < b.len; n += 1 + n / 8) {
        assert_int_equal(msf_write_bytes(path, b.p, n), 0);
        r = NULL;
        int rc = msx_read_archive(path, &r, err, sizeof err);
        assert_true(rc == -EINVAL);
        assert_non_null(strstr(err, path));
    }
    /* a later version is refused by name */
    char *copy = malloc(b.len);
    memcpy(copy, b.p, b.len);
    copy[8] = 9;
    assert_int_equal(msf_write_bytes(path, copy, b.len), 0);
    assert_int_equal(msx_read_archive(path, &r, err, sizeof err), -ENOTSUP);
    assert_non_null(strstr(err, "archive version 9"));
    /* flipped bytes: an error or a report, never a crash */
    uint64_t s = 5;
    for (int round = 0; round < 2000; round++) {
        memcpy(copy, b.p, b.len);
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        copy[16 + (s >> 20) % (b.len - 16)] = (char)(s >> 56);
        assert_int_equal(msf_write_bytes(path, copy, b.len), 0);
        r = NULL;
        int rc = msx_read_archive(path, &r, err, sizeof err);
        assert_true(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
        msx_report_free(r);
    }
    free(copy);
    free(path);
    msx_buf_free(&b);
}

/* msx_write_file into something other than a regular file (a FIFO here, as
 * /dev/null or /dev/stdout would be) writes to it and leaves it in place,
 * never renaming a file over it. */
static void test_write_file_to_fifo(void **state)
{
    (void)state;
    char *path = msf_path(tmpdir, "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    int rd = open(path, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    assert_int_equal(msx_write_file(path, "abc", 3, 0600), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    char got[8];
    assert_int_equal(read(rd, got, sizeof got), 3);
    assert_memory_equal(got, "abc", 3);
    close(rd);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged_archives),
        cmocka_unit_test(test_write_file_to_fifo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
