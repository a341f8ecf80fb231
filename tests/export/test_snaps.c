/* The runtime snapshots of a report (export/view_snaps.c): the snapshot log
 * of a synthetic trace read up to its cuts with the snapshot fold
 * (format/fold.c), exact figures; and logs whose cuts name what the trace
 * does not hold, which the report survives (problems, no crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export.h"
#include "format.h"
#include "fixture.h"
#include "report.h"

/* MessagePack of one SNAPSHOT map {id, time, cut: [[serial, pos], ...]}. */
static size_t snap_obj(uint8_t *o, uint64_t id, uint32_t ncut, const uint64_t (*cut)[2])
{
    size_t n = 0;
    o[n++] = 0x83;
    o[n++] = 0xa2, o[n++] = 'i', o[n++] = 'd';
    o[n++] = 0xcf;
    for (int k = 7; k >= 0; k--)
        o[n++] = (uint8_t)(id >> (8 * k));
    o[n++] = 0xa4, memcpy(o + n, "time", 4), n += 4;
    o[n++] = 0;
    o[n++] = 0xa3, memcpy(o + n, "cut", 3), n += 3;
    o[n++] = (uint8_t)(0x90 | ncut);
    for (uint32_t i = 0; i < ncut; i++) {
        o[n++] = 0x92;
        for (int j = 0; j < 2; j++) {
            o[n++] = 0xcf;
            for (int k = 7; k >= 0; k--)
                o[n++] = (uint8_t)(cut[i][j] >> (8 * k));
        }
    }
    return n;
}

/* Thread 1: task 7 allocates 100 and 200 bytes, thread 2 frees the first;
 * then (after `stop1` records of thread 1) thread 1 allocates 300 in no task. */
static void program(msf *t)
{
    msf_set_version(t, 3);
    msf_thread(t, 1, 11, "a", 1, 0);
    msf_thread(t, 2, 12, "b", 1, 0);
    msf_task_create(t, 1, 7, "job", 0);
    msf_time(t, 1, 1000);
    msf_task(t, 1, 7);
    msf_alloc(t, 1, 0x1000, 100);
    msf_alloc(t, 1, 0x2000, 200);
    msf_task(t, 1, 0);
    msf_time(t, 2, 2000);
    msf_free(t, 2, 0x1000);
    msf_time(t, 1, 3000);
    msf_alloc(t, 1, 0x3000, 300);
    msf_task_end(t, 1, 7);
}

/* The committed payload bytes of thread serial's chunk 0 in the file. */
static uint32_t committed(const char *path, const msf *t, uint32_t serial)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t b[4];
    assert_int_equal(fseek(f, (long)msf_chunk_offset(t, serial, 0) + MSF_C_COMMITTED, SEEK_SET), 0);
    assert_int_equal(fread(b, 1, 4, f), 4);
    fclose(f);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Writes the program with a log of n snapshots (cuts as given) and
 * analyses it. */
static msx_report *analyse(const char *path, uint32_t n, const uint32_t *ncut, const uint64_t (*const *cuts)[2])
{
    msf *t = msf_new(65536);
    program(t);
    msf_thread(t, 3, 13, "", 0, 0);
    msf_thread_flags(t, 3, MSF_CF_SNAPSHOTS); /* the writer gives the log serial 0xffffffff; the flag is what counts */
    for (uint32_t i = 0; i < n; i++) {
        uint8_t o[512];
        size_t len = snap_obj(o, i + 1, ncut[i], cuts[i]);
        msf_raw(t, 3, msf_head(MSF_R_SNAPSHOT, MSF_K_RECORD), o, len);
    }
    msf_end(t, 1, 5000);
    assert_int_equal(msf_write(t, path), 0);
    msf_destroy(t);
    msx_report *r = NULL;
    char err[256];
    assert_int_equal(msx_analyze_trace(path, NULL, NULL, &r, err, sizeof err), 0);
    return r;
}

static uint64_t task_live(const msx_snap_report *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->ntasks; i++)
        if (s->tasks[i].id == id)
            return s->tasks[i].live_bytes;
    return 0;
}

/* Snapshot 1: nothing of thread 2; snapshot 2: all of both threads. */
static void test_exact(void **state)
{
    (void)state;
    char *dir = msf_tmpdir(), *path = msf_path(dir, "s.msgpack");
    /* the same program without a log tells the committed lengths */
    msf *t = msf_new(65536);
    program(t);
    msf_end(t, 1, 5000);
    assert_int_equal(msf_write(t, path), 0);
    uint32_t c1 = committed(path, t, 1), c2 = committed(path, t, 2);
    msf_destroy(t);
    /* the END record comes after: it is in neither cut, and changes nothing */
    const uint64_t cut1[1][2] = { { 1, msf_pos(0, c1) } };
    const uint64_t cut2[2][2] = { { 1, msf_pos(0, c1) }, { 2, msf_pos(0, c2) } };
    const uint64_t (*const cuts[2])[2] = { cut1, cut2 };
    const uint32_t ncut[2] = { 1, 2 };
    msx_report *r = analyse(path, 2, ncut, cuts);
    assert_int_equal(r->nsnaps, 2);
    assert_int_equal(r->snaps[0].id, 1);
    assert_int_equal(r->snaps[0].live_bytes, 600);
    assert_int_equal(task_live(&r->snaps[0], 7), 300);
    assert_int_equal(r->snaps[0].active_tasks, 0); /* created and ended in the cut */
    assert_int_equal(r->snaps[1].live_bytes, 500);  /* the free of thread 2 */
    assert_int_equal(task_live(&r->snaps[1], 7), 200);
    assert_int_equal(r->problems_total, 0);
    msx_report_free(r);
    free(path);
    free(dir);
}

/* Cuts naming chunks the trace does not have (seq 2^32 - 1 and - 2, whose
 * counts overflowed once), bytes past a chunk's, unknown threads: the report
 * is made, the problem said, and the snapshots go as far as the trace. */
static void test_hostile_cuts(void **state)
{
    (void)state;
    char *dir = msf_tmpdir(), *path = msf_path(dir, "h.msgpack");
    const uint64_t a[1][2] = { { 1, 0xffffffff00000001ull } };
    const uint64_t b[1][2] = { { 1, 0xfffffffe00000001ull } };
    const uint64_t c[2][2] = { { 1, msf_pos(0, 0xffffffffu) }, { 99, 5 } };
    const uint64_t d[1][2] = { { 0xffffffffull, 7 } };
    const uint64_t (*const cuts[4])[2] = { a, b, c, d };
    const uint32_t ncut[4] = { 1, 1, 2, 1 };
    for (int k = 0; k < 4; k++) {
        msx_report *r = analyse(path, 1, &ncut[k], &cuts[k]);
        assert_int_equal(r->nsnaps, 1);
        assert_true(r->problems_total >= 1);
        assert_int_equal(r->snaps[0].live_bytes, k == 3 ? 0 : 600); /* thread 1 whole, or nothing */
        msx_report_free(r);
    }
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_hostile_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
