/* The reader on damaged input (export/reader.c): empty, random, truncated
 * and corrupt files give a clear message naming the file, the offset and the
 * problem; damage inside a trace is reported and what comes before it used. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "export.h"
#include "fixture.h"
#include "format.h"


/* Analyses path expecting failure rc; checks the message names the file and
 * holds `what`. */
static void expect_error(const char *path, int rc, const char *what)
{
    msx_report *r = (msx_report *)1;
    char err[1024];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), rc);
    assert_null(r);
    assert_non_null(strstr(err, path));
    if (!strstr(err, what))
        fail_msg("message \"%s\" lacks \"%s\"", err, what);
}

/* A two-thread trace of GOOD_EVENTS events in 4 KiB chunks; returns its path. */
enum { GOOD_EVENTS = 24000 };
static char *good_trace(const char *name)
{
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "a", 1, 0);
    msf_thread(t, 2, 2, "b", 1, 0);
    for (int i = 0; i < GOOD_EVENTS / 2; i++) {
        uint32_t k = 1 + (uint32_t)(i & 1);
        if (i % 256 == 0)
            msf_time(t, k, (uint64_t)i * 10);
        msf_alloc(t, k, 0x1000 * k + (uint64_t)(i % 100) * 0x100000, 16);
        msf_free(t, k, 0x1000 * k + (uint64_t)(i % 100) * 0x100000);
    }
    msf_end(t, 1, 30000);
    msf_set_end_time(t, 30000);
    char *path = msf_path(msf_dir, name);
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    return path;
}

static void test_missing_and_directory(void **state)
{
    (void)state;
    char *path = msf_path(msf_dir, "nope.msgpack");
    expect_error(path, -ENOENT, "cannot open");
    free(path);
    expect_error(msf_dir, -EINVAL, "not a regular file");
}

/* A FIFO (no writer) is refused as not a regular file, not waited on: the
 * alarm fails the test if opening it blocks. */
static void test_fifo_refused(void **state)
{
    (void)state;
    char *path = msf_path(msf_dir, "fifo.msgpack");
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    assert_false(msx_is_archive(path));
    expect_error(path, -EINVAL, "not a regular file");
    msx_report *r = (msx_report *)1;
    char err[512];
    assert_int_equal(msx_read_archive(path, &r, err, sizeof err), -EINVAL);
    assert_null(r);
    assert_non_null(strstr(err, path));
    alarm(0);
    unlink(path);
    free(path);
}

static void test_empty(void **state)
{
    (void)state;
    char *path = msf_path(msf_dir, "empty.msgpack");
    assert_int_equal(msf_write_bytes(path, "", 0), 0);
    expect_error(path, -ENODATA, "empty file");
    free(path);
}

static void test_random_bytes(void **state)
{
    (void)state;
    char *path = msf_path(msf_dir, "random.msgpack");
    uint8_t buf[65536];
    uint64_t s = 7;
    for (size_t i = 0; i < sizeof buf; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(s >> 56);
    }
    assert_int_equal(msf_write_bytes(path, buf, sizeof buf), 0);
    expect_error(path, -EINVAL, "offset 0: not a memscope trace");
    free(path);
}

static void test_bad_header(void **state)
{
    (void)state;
    char *path = good_trace("hdr.msgpack");
    size_t len;
    char *data = msf_read_file(path, &len);
    assert_int_equal(msf_write_bytes(path, data, 100), 0);
    expect_error(path, -EINVAL, "file ends inside the file header");
    uint32_t v = 7;
    memcpy(data + MSF_H_VERSION, &v, 4);
    assert_int_equal(msf_write_bytes(path, data, len), 0);
    expect_error(path, -ENOTSUP, "offset 8: trace format version 7 is not supported");
    v = 1;
    memcpy(data + MSF_H_VERSION, &v, 4);
    v = 1000;  /* chunk size not a multiple of 4096 */
    memcpy(data + MSF_H_CHUNK_SIZE, &v, 4);
    assert_int_equal(msf_write_bytes(path, data, len), 0);
    expect_error(path, -EINVAL, "offset 16: bad chunk_size 1000");
    free(data);
    free(path);
}

/* A header-only trace is valid: no events, reported as incomplete. */
static void test_header_only(void **state)
{
    (void)state;
    char *path = good_trace("hdronly.msgpack");
    assert_int_equal(msf_truncate(path, MSF_FILE_HEADER_SIZE), 0);
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r->events, 0);
    assert_int_equal(r->nthreads, 0);
    msx_report_free(r);
    free(path);
}

/* Cut inside a chunk: the events before the cut are counted, the problem
 * names the file and the offset of the end. */
static void test_truncated_inside_chunk(void **state)
{
    (void)state;
    char *path = good_trace("cut.msgpack");
    msx_report *full;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &full, err, sizeof err), 0);
    size_t len;
    free(msf_read_file(path, &len));
    uint64_t cut = len - 4096 + 1000;  /* 1000 bytes into the last slot */
    assert_int_equal(msf_truncate(path, cut), 0);
    msx_report *r;
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_true(r->events < full->events);
    assert_true(r->events > full->events / 2);
    assert_true(r->problems_total >= 1);
    char where[64];
    snprintf(where, sizeof where, "offset %llu", (unsigned long long)cut);
    bool found = false;
    for (uint32_t i = 0; i < r->nproblems; i++)
        found |= strstr(r->problems[i].p, where) && strstr(r->problems[i].p, "truncated") && strstr(r->problems[i].p, path);
    assert_true(found);
    /* and cut inside a chunk header */
    assert_int_equal(msf_truncate(path, len - 4096 + 30), 0);
    msx_report_free(r);
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_true(r->damaged_chunks >= 1);
    msx_report_free(r);
    msx_report_free(full);
    free(path);
}

/* A chunk cut short by the end of the file, even inside a record, is one
 * damaged chunk: the cut record does not count it a second time. */
static void test_cut_chunk_counted_once(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "a", 1, 0);
    for (int i = 0; i < 200; i++)          /* 8-byte records: 3-byte head, 5-byte size */
        msf_alloc(t, 1, 0x100000 + (uint64_t)i * 0x100, 70000);
    msf_end(t, 1, 1);
    char *path = msf_path(msf_dir, "cutrec.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    size_t len;
    char *data = msf_read_file(path, &len);
    bool mid_record = false;
    for (size_t k = 0; k < 8; k++) {
        assert_int_equal(msf_write_bytes(path, data, MSF_FILE_HEADER_SIZE + MSF_CHUNK_HEADER_SIZE + 500 + k), 0);
        msx_report *r;
        char err[512];
        assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
        assert_int_equal(r->damaged_chunks, 1);
        for (uint32_t i = 0; i < r->nproblems; i++)
            mid_record |= strstr(r->problems[i].p, "is skipped") != NULL;
        msx_report_free(r);
    }
    assert_true(mid_record);
    free(data);
    free(path);
}

/* A chunk with a bad magic is skipped; the other chunks are used and the
 * thread's next chunk tells how many events were lost. */
static void test_bad_chunk_magic(void **state)
{
    (void)state;
    char *path = good_trace("magic.msgpack");
    size_t len;
    char *data = msf_read_file(path, &len);
    uint64_t slots = (len - MSF_FILE_HEADER_SIZE) / 4096;
    assert_true(slots > 4);
    uint64_t off = MSF_FILE_HEADER_SIZE + 4096 * 2;
    memcpy(data + off, "XXXX", 4);
    assert_int_equal(msf_write_bytes(path, data, len), 0);
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r->damaged_chunks, 1);
    assert_true(r->lost_events > 0);
    assert_int_equal(r->events + r->lost_events, GOOD_EVENTS);
    char where[64];
    snprintf(where, sizeof where, "offset %llu: chunk 2: bad magic", (unsigned long long)off);
    assert_non_null(strstr(r->problems[0].p, where));
    free(data);
    msx_report_free(r);
    free(path);
}

/* A reserved record kind stops the chunk; later chunks still count. */
static void test_reserved_kind(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "a", 1, 0);
    msf_alloc(t, 1, 0x10, 1);
    msf_raw(t, 1, msf_head(0, 5), NULL, 0); /* kind 5: reserved */
    msf_alloc(t, 1, 0x20, 1);              /* lost with the rest of the chunk */
    for (int i = 0; i < 1000; i++)         /* fills this chunk and the next ones */
        msf_alloc(t, 1, 0x1000 + (uint64_t)i * 16, 1);
    msf_end(t, 1, 1);
    char *path = msf_path(msf_dir, "kind.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r->events + r->lost_events, 1002);
    assert_true(r->events > 1);
    assert_non_null(strstr(r->problems[0].p, "reserved record kind"));
    assert_non_null(strstr(r->problems[0].p, "offset "));
    msx_report_free(r);
    free(path);
}

/* Unknown control record types are skipped; a broken object stops the chunk. */
static void test_control_records(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "a", 1, 0);
    const uint8_t unknown[] = { 0x82, 0xa1, 'x', 0x01, 0xa1, 'y', 0x92, 0x01, 0x02 };
    msf_raw(t, 1, msf_head(30, MSF_K_RECORD), unknown, sizeof unknown); /* type 30: unknown */
    msf_alloc(t, 1, 0x10, 1);
    const uint8_t broken[] = { 0xc1 };
    msf_raw(t, 1, msf_head(MSF_R_METRIC, MSF_K_RECORD), broken, sizeof broken);
    msf_alloc(t, 1, 0x20, 1);
    char *path = msf_path(msf_dir, "ctl.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r->events, 1);
    assert_non_null(strstr(r->problems[0].p, "not valid MessagePack"));
    assert_false(r->complete);
    msx_report_free(r);
    free(path);
}

/* Random damage anywhere in a valid trace never crashes the reader. */
static void test_random_damage(void **state)
{
    (void)state;
    char *path = good_trace("fuzz.msgpack");
    size_t len;
    char *orig = msf_read_file(path, &len);
    char *data = malloc(len);
    uint64_t s = 3;
    for (int round = 0; round < 300; round++) {
        memcpy(data, orig, len);
        for (int k = 0; k < 1 + round % 20; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = 128 + (size_t)(s >> 20) % (len - 128);
            data[at] = (char)(s >> 56);
        }
        size_t n = round % 3 ? len : MSF_FILE_HEADER_SIZE + (size_t)(s >> 30) % (len - MSF_FILE_HEADER_SIZE);
        assert_int_equal(msf_write_bytes(path, data, n), 0);
        msx_report *r = NULL;
        char err[512];
        int rc = msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err);
        assert_true(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
        if (rc == 0)
            assert_true(r->events <= len);  /* damage may split records, never invent bytes */
        msx_report_free(r);
    }
    free(data);
    free(orig);
    free(path);
}

/* Chunks reserved but never used (size written, magic 0) are skipped without
 * a complaint. */
static void test_unwritten_slots(void **state)
{
    (void)state;
    char *path = good_trace("zero.msgpack");
    size_t len;
    char *data = msf_read_file(path, &len);
    char *big = calloc(1, len + 3 * 4096);
    memcpy(big, data, len);
    for (int i = 0; i < 3; i++) {
        uint32_t size = 4096;
        memcpy(big + len + (size_t)i * 4096 + MSF_C_SIZE, &size, 4);
    }
    assert_int_equal(msf_write_bytes(path, big, len + 3 * 4096), 0);
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r->empty_slots, 3);
    assert_int_equal(r->problems_total, 0);
    assert_int_equal(r->events, GOOD_EVENTS);
    free(big);
    free(data);
    msx_report_free(r);
    free(path);
}

/* A process that ended while a thread was reserving a chunk leaves the file
 * shorter than the header's space_taken, ending inside that unused slot:
 * nothing is lost, so it is no problem. */
static void test_unreserved_tail_is_no_damage(void **state)
{
    (void)state;
    char *path = good_trace("tail.msgpack");
    size_t len;
    char *data = msf_read_file(path, &len);
    char *big = calloc(1, len + 4096);
    memcpy(big, data, len);
    uint64_t taken;
    memcpy(&taken, big + MSF_H_SPACE_TAKEN, 8);
    taken += 4096;
    memcpy(big + MSF_H_SPACE_TAKEN, &taken, 8);
    uint32_t size = 4096;
    memcpy(big + len + MSF_C_SIZE, &size, 4);      /* a slot being reserved: size, magic 0 */
    assert_int_equal(msf_write_bytes(path, big, len + 1000), 0);  /* ... 1000 bytes written */
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r->problems_total, 0);
    assert_int_equal(r->events, GOOD_EVENTS);
    assert_int_equal(r->empty_slots, 1);
    msx_report_free(r);
    free(big);
    free(data);
    free(path);
}

/* A slot taken and never reserved because the image ended in between (a
 * thread taking a chunk as another one called _exit) is a hole in the file,
 * followed by the next chunk: nothing was ever in it, so it is no problem.
 * The same 4 KiB written as zeros (not a hole) is still reported: that
 * cannot be told from a chunk whose header was lost. */
static void test_unreserved_hole_is_no_damage(void **state)
{
    (void)state;
    for (int written = 0; written < 2; written++) {
        char *path = good_trace(written ? "zeros.msgpack" : "hole.msgpack");
        size_t len;
        char *data = msf_read_file(path, &len);
        uint64_t taken;
        memcpy(&taken, data + MSF_H_SPACE_TAKEN, 8);
        taken += 4096;
        memcpy(data + MSF_H_SPACE_TAKEN, &taken, 8);
        int fd = open(path, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, data, MSF_FILE_HEADER_SIZE, 0), MSF_FILE_HEADER_SIZE);
        if (written) {
            char zero[4096] = { 0 };
            assert_int_equal(pwrite(fd, zero, sizeof zero, MSF_FILE_HEADER_SIZE), (ssize_t)sizeof zero);
        }
        size_t rest = len - MSF_FILE_HEADER_SIZE;
        assert_int_equal(pwrite(fd, data + MSF_FILE_HEADER_SIZE, rest, MSF_FILE_HEADER_SIZE + 4096), (ssize_t)rest);
        close(fd);
        msx_report *r;
        char err[512];
        assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
        assert_int_equal(r->events, GOOD_EVENTS);
        if (written) {
            assert_int_equal(r->problems_total, 1);
            assert_non_null(strstr(r->problems[0].p, "no chunk header here"));
        } else {
            assert_int_equal(r->problems_total, 0);
            assert_int_equal(r->empty_slots, 1);
        }
        msx_report_free(r);
        free(data);
        free(path);
    }
}

/* A file cut exactly where a chunk that holds events ends is still reported
 * as truncated: the header's space_taken says more. */
static void test_cut_at_chunk_end_is_truncation(void **state)
{
    (void)state;
    char *path = good_trace("cutend.msgpack");
    size_t len;
    free(msf_read_file(path, &len));
    assert_int_equal(msf_truncate(path, len - 4096), 0);
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_true(r->events < GOOD_EVENTS);
    assert_int_equal(r->problems_total, 1);
    assert_non_null(strstr(r->problems[0].p, "bytes of chunks were taken but the file holds"));
    msx_report_free(r);
    free(path);
}

/* A chunk whose header lost its size (space taken by a process killed before
 * it reserved it) breaks the walk from chunk to chunk: the reader says where,
 * finds the next chunk header on a later page, and reads on. */
static void test_walk_resumes_after_a_gap(void **state)
{
    (void)state;
    char *path = good_trace("gap.msgpack");
    size_t len;
    char *data = msf_read_file(path, &len);
    assert_true((len - MSF_FILE_HEADER_SIZE) / 4096 > 4);
    uint64_t off = MSF_FILE_HEADER_SIZE + 4096 * 1;
    memset(data + off, 0, 64); /* chunk 1: no header at all */
    assert_int_equal(msf_write_bytes(path, data, len), 0);
    msx_report *r;
    char err[512];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    assert_true(r->lost_events > 0);
    assert_int_equal(r->events + r->lost_events, GOOD_EVENTS);
    char where[64];
    snprintf(where, sizeof where, "offset %llu: no chunk header here", (unsigned long long)off);
    assert_non_null(strstr(r->problems[0].p, where));
    free(data);
    msx_report_free(r);
    free(path);
}

/* Progress callback that cuts the trace short once the first chunk is done,
 * as a file shrinking under the reader (or a read failing) would. */
static bool cut_done;
static void cut_after_first_chunk(void *ctx, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    if (!cut_done)  /* called first when chunk 0 is decoded */
        assert_int_equal(msf_truncate(ctx, MSF_FILE_HEADER_SIZE + 4096 + 100), 0);
    cut_done = true;
}

/* The reader reads chunk payloads with pread when a thread opens them: a
 * read that comes back short is damage, reported with the chunk and the
 * offset, never a crash (a mapping would raise SIGBUS there). */
static void test_short_read_is_damage(void **state)
{
    (void)state;
    msf *t = msf_new(4096);
    msf_thread(t, 1, 1, "a", 1, 0);
    for (int i = 0; i < 3000; i++)
        msf_alloc(t, 1, 0x1000 + (uint64_t)i * 16, 8);
    msf_end(t, 1, 10);
    msf_set_end_time(t, 10);
    char *path = msf_path(msf_dir, "shrinks.msgpack");
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r;
    char err[512];
    cut_done = false;
    assert_int_equal(msx_analyze_trace(path, cut_after_first_chunk, path, &r, err, sizeof err), 0);
    assert_true(r->events > 0 && r->events < 3000);
    assert_true(r->damaged_chunks >= 2);
    bool found = false;
    char where[160];
    snprintf(where, sizeof where, "offset %u: chunk 1 (thread 1, seq 1): reading its payload stopped after 36 of",
             MSF_FILE_HEADER_SIZE + 4096 + 100);
    for (uint32_t i = 0; i < r->nproblems; i++)
        found |= strstr(r->problems[i].p, where) != NULL;
    if (!found)
        fail_msg("no problem names the short read (first: %s)", r->nproblems ? r->problems[0].p : "none");
    msx_report_free(r);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_and_directory),
        cmocka_unit_test(test_fifo_refused),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_truncated_inside_chunk),
        cmocka_unit_test(test_cut_chunk_counted_once),
        cmocka_unit_test(test_bad_chunk_magic),
        cmocka_unit_test(test_walk_resumes_after_a_gap),
        cmocka_unit_test(test_reserved_kind),
        cmocka_unit_test(test_control_records),
        cmocka_unit_test(test_random_damage),
        cmocka_unit_test(test_unwritten_slots),
        cmocka_unit_test(test_unreserved_tail_is_no_damage),
        cmocka_unit_test(test_unreserved_hole_is_no_damage),
        cmocka_unit_test(test_cut_at_chunk_end_is_truncation),
        cmocka_unit_test(test_short_read_is_damage),
    };
    return cmocka_run_group_tests(tests, msf_group_setup, msf_group_teardown);
}
