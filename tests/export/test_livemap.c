/* The live-block map (export/livemap.h): states, double-free memory, and
 * rebuilding with many blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "livemap.h"

/* Allocates addr in the map as the merge (export/merge.c) does. */
static msx_slot *put(msx_livemap *m, uint64_t addr, uint64_t size)
{
    msx_slot *s = msx_livemap_slot(m, addr);
    assert_non_null(s);
    assert_int_not_equal(msx_slot_state(s), MSX_SLOT_LIVE);
    msx_livemap_set_live(m, s, size, 7, msx_slot_meta(42, 3));
    return s;
}

static void test_states(void **state)
{
    (void)state;
    msx_livemap m;
    assert_int_equal(msx_livemap_init(&m), 0);
    assert_null(msx_livemap_find(&m, 0x1000));
    msx_slot *s = put(&m, 0x1000, 24);
    assert_int_equal(msx_slot_state(s), MSX_SLOT_LIVE);
    assert_int_equal(msx_slot_thread(s), 3);
    assert_int_equal(msx_slot_idx(s), 42);
    assert_int_equal(m.live, 1);
    msx_livemap_set_freed(&m, s);
    s = msx_livemap_find(&m, 0x1000);
    assert_non_null(s);  /* remembered: a second free is a double free */
    assert_int_equal(msx_slot_state(s), MSX_SLOT_FREED);
    assert_int_equal(m.live, 0);
    put(&m, 0x1000, 48);  /* reuse of the address */
    assert_int_equal(msx_livemap_find(&m, 0x1000)->size, 48);
    /* address 0 and the top address are ordinary keys */
    put(&m, 0, 1);
    put(&m, UINT64_MAX, 2);
    assert_int_equal(msx_livemap_find(&m, 0)->size, 1);
    assert_int_equal(msx_livemap_find(&m, UINT64_MAX)->size, 2);
    msx_livemap_free(&m);
}

static void test_many_blocks(void **state)
{
    (void)state;
    msx_livemap m;
    assert_int_equal(msx_livemap_init(&m), 0);
    enum { N = 200000 };
    for (uint64_t i = 0; i < N; i++)
        put(&m, 0x7f0000000000ull + i * 16, i);
    assert_int_equal(m.live, N);
    for (uint64_t i = 0; i < N; i += 2)
        msx_livemap_set_freed(&m, msx_livemap_find(&m, 0x7f0000000000ull + i * 16));
    for (uint64_t i = 0; i < N; i++) {
        msx_slot *s = msx_livemap_find(&m, 0x7f0000000000ull + i * 16);
        if (i % 2) {
            assert_non_null(s);
            assert_int_equal(msx_slot_state(s), MSX_SLOT_LIVE);
            assert_int_equal(s->size, i);
        }
    }
    /* churn: the table stays bounded by the live set, not by the events */
    uint64_t cap = m.cap;
    for (uint64_t round = 0; round < 2000000; round++) {
        uint64_t a = 0x100000000000ull + (round % 1000) * 64;
        msx_slot *s = msx_livemap_slot(&m, a);
        if (msx_slot_state(s) == MSX_SLOT_LIVE)
            msx_livemap_set_freed(&m, s);
        else
            msx_livemap_set_live(&m, s, 8, 0, msx_slot_meta(round, 0));
    }
    assert_true(m.cap <= cap * 2);
    assert_true(m.used * 8 <= m.cap * 5);
    msx_livemap_free(&m);
}

/* Keys live in a side table made when the first non-zero key is stored; they
 * follow their slot through rebuilds. */
static void test_keys(void **state)
{
    (void)state;
    msx_livemap m;
    assert_int_equal(msx_livemap_init(&m), 0);
    msx_keys zero = { 0 };
    msx_slot *s = put(&m, 0x10, 1);
    assert_int_equal(msx_livemap_set_keys(&m, s, &zero), 0);
    assert_null(m.keys);  /* all-zero keys cost nothing */
    assert_int_equal(msx_livemap_keys(&m, s).task, 0);
    enum { N = 5000 };
    for (uint64_t i = 1; i <= N; i++) {
        msx_keys k = { .task = i, .stack = 2 * i, .weight = 3 * i, .scope = 4 * i, .var = 5 * i };
        s = put(&m, 0x100000 + i * 32, i);
        assert_int_equal(msx_livemap_set_keys(&m, s, &k), 0);
    }
    assert_non_null(m.keys);
    assert_true(m.cap > 1024);  /* rebuilt on the way */
    for (uint64_t i = 1; i <= N; i++) {
        msx_keys k = msx_livemap_keys(&m, msx_livemap_find(&m, 0x100000 + i * 32));
        assert_int_equal(k.task, i);
        assert_int_equal(k.stack, 2 * i);
        assert_int_equal(k.weight, 3 * i);
        assert_int_equal(k.scope, 4 * i);
        assert_int_equal(k.var, 5 * i);
    }
    assert_int_equal(msx_livemap_keys(&m, msx_livemap_find(&m, 0x10)).task, 0);
    msx_livemap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_many_blocks),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
