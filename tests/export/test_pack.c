/* Packed traces (docs/PACK.md): a packed file reads as its trace (the JSON
 * byte for byte, the file name aside), every record kind survives the column
 * transform, damage (truncation, flipped bits) gives named problems and
 * never a crash, and the packer refuses a packed input. */
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

#include "pack.h"
#include "suite.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A trace with every record kind: two threads of churn over a window of
 * blocks (sizes small, large and escaped), reallocs that move both ways,
 * frees of blocks from earlier chunks and of unknown addresses, stacks,
 * tasks, variables, metrics, many 4 KiB chunks. */
static msf *rich_trace(void)
{
    msf *t = suite_two_threads();
    const char *argv[] = { "prog", "a\"b" };
    msf_process(t, 1, 4242, "/bin/prog", 2, argv, 0, NULL);
    uint64_t pcs[] = { 0x401000, 0x402000 };
    msf_stack(t, 1, 1, pcs, 2);
    msf_stack(t, 2, 1, pcs, 2);
    msf_task_create(t, 2, 7, "job", 0);
    msf_task(t, 2, 7);
    uint64_t win[2][64] = { { 0 } };
    uint64_t time = 10;
    for (int i = 0; i < 20000; i++) {
        uint32_t th = 1 + (uint32_t)(next_rand() & 1);
        uint64_t *w = win[th - 1];
        unsigned slot = (unsigned)(next_rand() % 64);
        uint64_t r = next_rand();
        if (i % 97 == 0)
            msf_time(t, th, time += 1000);
        if (w[slot] && r % 7 == 0) {
            uint64_t to = r % 3 ? w[slot] + 4096 : w[slot] - 8192;
            msf_realloc(t, th, w[slot], to, r % 5000);
            w[slot] = to;
            continue;
        }
        if (w[slot])
            msf_free(t, th, w[slot]);
        else if (r % 11 == 0)
            msf_free(t, th, 0x7f0000000000ull + (r & 0xfff0));  /* never allocated here */
        uint64_t addr = 0x10000000ull * th + (next_rand() % 100000) * 16;
        uint64_t size = r % 64 == 0 ? 70000 + r % 100000 : r % 520;
        if (r % 13 == 0)
            msf_alloc_ex(t, th, addr, size, 1);
        else
            msf_alloc(t, th, addr, size);
        w[slot] = addr;
        if (i % 1000 == 0)
            msf_metric(t, 1, MSF_M_RSS, 1000000 + (uint64_t)i);
        if (i == 5000)
            msf_var(t, th, addr, "v", "int *", "a.c", 3, 0);
    }
    msf_task_end(t, 2, 7);
    msf_end(t, 1, time + 10);
    msf_set_end_time(t, time + 10);
    return t;
}

static char *json_of(const char *path, const char *as_file, msx_report **keep)
{
    msx_report *r = NULL;
    char err[512];
    if (msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err))
        fail_msg("analysis of %s failed: %s", path, err);
    if (as_file)
        assert_int_equal(msx_str_set(&r->file, as_file, strlen(as_file)), 0);
    char *j = suite_json(r);
    if (keep)
        *keep = r;
    else
        msx_report_free(r);
    return j;
}

/* Packs in to out (which must not exist). */
static int pack(const char *in, const char *out, msx_pack_stats *st, char *err, size_t errlen)
{
    unlink(out);
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    int rc = msx_pack_file(in, fd, out, 0, st, err, errlen);
    close(fd);
    return rc;
}

static char *raw_path, *packed_path, *raw_json;
static size_t packed_len;
static uint8_t *packed_bytes;

static int setup(void **state)
{
    if (msf_group_setup(state))
        return -1;
    raw_path = msf_path(msf_dir, "t.msgpack");
    packed_path = msf_path(msf_dir, "t.mspack");
    msf *t = rich_trace();
    if (msf_write(t, raw_path))
        return -1;
    msf_destroy(t);
    return 0;
}

static int teardown(void **state)
{
    free(raw_path);
    free(packed_path);
    free(raw_json);
    free(packed_bytes);
    return msf_group_teardown(state);
}

/* The packed file's JSON is the trace's, byte for byte (the file name set
 * to the trace's); the columns held every chunk. */
static void test_equal_json(void **state)
{
    (void)state;
    msx_pack_stats st;
    char err[512];
    assert_int_equal(pack(raw_path, packed_path, &st, err, sizeof err), 0);
    msx_report *r = NULL;
    raw_json = json_of(raw_path, NULL, &r);
    char *pj = json_of(packed_path, raw_path, NULL);
    assert_string_equal(pj, raw_json);
    assert_true(r->events > 30000);
    assert_int_equal(st.events, r->events);
    assert_true(st.chunks > 50);
    assert_int_equal(st.columns_chunks, st.chunks);
    assert_int_equal(r->problems_total, 0);
    assert_int_equal(msx_pack_verify(packed_path, r->events, err, sizeof err), 0);
    assert_int_not_equal(msx_pack_verify(packed_path, r->events + 1, err, sizeof err), 0);
    msx_report_free(r);
    free(pj);
    packed_bytes = (uint8_t *)msf_read_file(packed_path, &packed_len);
    assert_non_null(packed_bytes);
}

/* The analysis of a damaged copy: no crash; it fails with a message naming
 * the file, or reads as the original, or names its problems. */
static void check_damaged(const char *path, const char *what, uint64_t at)
{
    msx_report *r = NULL;
    char err[512] = "";
    int rc = msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err);
    if (rc < 0) {
        if (!strstr(err, path))
            fail_msg("%s at %llu: the error does not name the file: %s", what, (unsigned long long)at, err);
        return;
    }
    assert_int_equal(msx_str_set(&r->file, raw_path, strlen(raw_path)), 0);
    char *j = suite_json(r);
    if (strcmp(j, raw_json) != 0) {
        if (r->problems_total == 0)
            fail_msg("%s at %llu: the report differs and names no problem", what, (unsigned long long)at);
        if (!strstr(r->problems[0].p, path))
            fail_msg("%s at %llu: the problem does not name the file: %s", what, (unsigned long long)at,
                     r->problems[0].p);
    }
    free(j);
    msx_report_free(r);
}

/* Under a sanitizer (ten times slower, and TSan more) the byte-by-byte
 * stretches at the start are shorter and fewer random blobs are decoded; the
 * positions spread over the whole file stay, and the fuzz targets read packed
 * files too. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
enum { EVERY_BYTE_CUT = 48, EVERY_BYTE_FLIP = 64, BLOBS = 2000 };
#else
enum { EVERY_BYTE_CUT = 400, EVERY_BYTE_FLIP = 600, BLOBS = 20000 };
#endif

static void test_truncated(void **state)
{
    (void)state;
    assert_non_null(packed_bytes);
    char *p = msf_path(msf_dir, "cut.mspack");
    size_t step = packed_len / 211 + 1;
    for (size_t n = 0; n < packed_len; n += (n < EVERY_BYTE_CUT ? 1 : step)) {
        assert_int_equal(msf_write_bytes(p, packed_bytes, n), 0);
        check_damaged(p, "truncated", n);
        msx_report *r = NULL;
        char err[512];
        if (msx_analyze_trace(p, NULL, NULL, &r, err, sizeof err) == 0) {
            if (r->problems_total == 0)
                fail_msg("cut at %zu of %zu: no problem named", n, packed_len);
            msx_report_free(r);
        }
    }
    free(p);
}

static void test_bitflips(void **state)
{
    (void)state;
    assert_non_null(packed_bytes);
    char *p = msf_path(msf_dir, "flip.mspack");
    uint8_t *copy = malloc(packed_len);
    assert_non_null(copy);
    size_t step = packed_len / 400 + 1;
    for (size_t at = 0; at < packed_len; at += (at < EVERY_BYTE_FLIP ? 1 : step)) {
        memcpy(copy, packed_bytes, packed_len);
        copy[at] ^= (uint8_t)(1u << (at % 8));
        assert_int_equal(msf_write_bytes(p, copy, packed_len), 0);
        check_damaged(p, "bit flip", at);
    }
    free(copy);
    free(p);
}

/* The packer refuses a packed input; a trace cut inside a chunk packs what
 * was readable, and reads as the cut trace does (its damage counted). */
static void test_refuse_and_cut_trace(void **state)
{
    (void)state;
    msx_pack_stats st;
    char err[512];
    char *again = msf_path(msf_dir, "again.mspack");
    assert_int_not_equal(pack(packed_path, again, &st, err, sizeof err), 0);
    assert_non_null(strstr(err, "packed already"));
    char *cut = msf_path(msf_dir, "cut.msgpack"), *cutp = msf_path(msf_dir, "cutp.mspack");
    size_t n;
    char *raw = msf_read_file(raw_path, &n);
    assert_int_equal(msf_write_bytes(cut, raw, n / 2 + 100), 0);
    assert_int_equal(pack(cut, cutp, &st, err, sizeof err), 0);
    assert_true(st.problems > 0);
    msx_report *a = NULL, *b = NULL;
    assert_int_equal(msx_analyze_trace(cut, NULL, NULL, &a, err, sizeof err), 0);
    assert_int_equal(msx_analyze_trace(cutp, NULL, NULL, &b, err, sizeof err), 0);
    assert_true(a->damaged_chunks > 0);
    assert_int_equal(b->damaged_chunks, a->damaged_chunks);
    assert_int_equal(b->events, a->events);
    assert_int_equal(b->peak_live_bytes, a->peak_live_bytes);
    msx_report_free(a);
    msx_report_free(b);
    free(raw);
    free(cut);
    free(cutp);
    free(again);
}

/* Column decoding of hostile blobs: never out of bounds, an error or bytes. */
static void test_decode_hostile(void **state)
{
    (void)state;
    msx_pack_codec C = { 0 };
    uint8_t blob[4 * MSP_NCOLS + 64], out[256];
    for (int k = 0; k < BLOBS; k++) {
        size_t n = 4 * MSP_NCOLS + next_rand() % 64;
        for (size_t i = 0; i < n; i++)
            blob[i] = (uint8_t)next_rand();
        /* lengths that add up, most of the time */
        size_t left = n - 4 * MSP_NCOLS;
        for (int c = 0; c < MSP_NCOLS; c++) {
            uint32_t l = c == MSP_NCOLS - 1 ? (uint32_t)left : (uint32_t)(next_rand() % (left + 1));
            left -= l;
            memcpy(blob + 4 * c, &l, 4);
        }
        const char *bad;
        (void)msx_pack_decode(&C, blob, n, out, next_rand() % sizeof out, &bad);
    }
    msx_pack_codec_free(&C);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_json),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bitflips),
        cmocka_unit_test(test_refuse_and_cut_trace),
        cmocka_unit_test(test_decode_hostile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
