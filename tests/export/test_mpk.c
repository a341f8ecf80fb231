/* MessagePack decoding (export/mpk.h): the hot integer decoders and the
 * template-based object decoder, on good, cut and hostile input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "format.h"
#include "mpk.h"

/* Packs v with msgpack-c and decodes it with msx_rd_uint. */
static void check_uint(uint64_t v)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_uint64(&pk, v);
    const uint8_t *p = (const uint8_t *)sb.data, *end = p + sb.size;
    uint64_t got = 0;
    assert_true(msx_rd_uint(&p, end, &got));
    assert_int_equal(got, v);
    assert_ptr_equal(p, end);
    /* every cut of it is refused and leaves the cursor alone */
    for (size_t n = 0; n < sb.size; n++) {
        const uint8_t *q = (const uint8_t *)sb.data;
        assert_false(msx_rd_uint(&q, q + n, &got));
        assert_ptr_equal(q, (const uint8_t *)sb.data);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_uint_all_widths(void **state)
{
    (void)state;
    const uint64_t vals[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffu, 0x100000000ull, UINT64_MAX };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        check_uint(vals[i]);
}

static void test_uint_signed_formats(void **state)
{
    (void)state;
    const uint8_t ok[] = { 0xd1, 0x01, 0x00 };           /* int16 256 */
    const uint8_t neg[] = { 0xd0, 0xff };                 /* int8 -1 */
    const uint8_t str[] = { 0xa1, 'x' };
    const uint8_t *p = ok;
    uint64_t v;
    assert_true(msx_rd_uint(&p, ok + sizeof ok, &v));
    assert_int_equal(v, 256);
    p = neg;
    assert_false(msx_rd_uint(&p, neg + sizeof neg, &v));
    assert_ptr_equal(p, neg);
    p = str;
    assert_false(msx_rd_uint(&p, str + sizeof str, &v));
}

static void test_int(void **state)
{
    (void)state;
    const int64_t vals[] = { 0, -1, -32, -33, 127, -128, -129, 32767, -32769, INT32_MIN, (int64_t)INT32_MIN - 1,
                             INT64_MIN, INT64_MAX };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_int64(&pk, vals[i]);
        const uint8_t *p = (const uint8_t *)sb.data;
        int64_t got;
        assert_true(msx_rd_int(&p, p + sb.size, &got));
        assert_int_equal(got, vals[i]);
        msgpack_sbuffer_destroy(&sb);
    }
    const uint8_t big[] = { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0 };  /* 2^63 does not fit */
    const uint8_t *p = big;
    int64_t got;
    assert_false(msx_rd_int(&p, big + sizeof big, &got));
    assert_ptr_equal(p, big);
}

static void test_zigzag(void **state)
{
    (void)state;
    /* format.h's coding of address deltas, as the merge decodes them */
    assert_int_equal(msf_zz_dec(0), 0);
    assert_int_equal((int64_t)msf_zz_dec(1), -1);
    assert_int_equal(msf_zz_dec(2), 1);
    assert_int_equal((int64_t)msf_zz_dec(3), -2);
    assert_int_equal((int64_t)msf_zz_dec(UINT64_MAX), INT64_MIN);
    const int64_t d[] = { 0, 1, -1, 4096, -4096, INT64_MAX, INT64_MIN };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        assert_int_equal((int64_t)msf_zz_dec(msf_zz_enc((uint64_t)d[i])), d[i]);
}

/* Packs a THREAD-like map and decodes it. */
static void test_decode_map(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "tid", 3);
    msgpack_pack_uint64(&pk, 77);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "a\0b", 3);
    msgpack_pack_str_with_body(&pk, "argv", 4);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_int64(&pk, -5);
    msgpack_pack_str_with_body(&pk, "f", 1);
    msgpack_pack_double(&pk, 1.5);
    msx_arena arena = { 0 };
    msx_obj o;
    long n = msx_mpk_decode(&arena, (const uint8_t *)sb.data, sb.size, &o);
    assert_int_equal(n, (long)sb.size);
    assert_int_equal(o.type, MSX_MAP);
    assert_int_equal(o.n, 4);
    assert_int_equal(msx_map_uint(&o, "tid", 0), 77);
    assert_int_equal(msx_map_uint(&o, "missing", 9), 9);
    const msx_obj *name = msx_map_get(&o, "name");
    assert_non_null(name);
    assert_int_equal(name->type, MSX_STR);
    assert_int_equal(name->n, 3);
    assert_memory_equal(name->v.s, "a\0b", 3);
    const msx_obj *argv = msx_map_get(&o, "argv");
    assert_int_equal(argv->type, MSX_ARRAY);
    assert_int_equal(argv->n, 2);
    assert_int_equal(argv->v.a[1].type, MSX_INT);
    assert_int_equal(argv->v.a[1].v.i, -5);
    assert_true(msx_map_get(&o, "f")->v.f == 1.5);
    /* a cut object is "not yet": 0 */
    for (size_t cut = 1; cut < sb.size; cut++)
        assert_int_equal(msx_mpk_decode(&arena, (const uint8_t *)sb.data, cut, &o), 0);
    msx_arena_free(&arena);
    msgpack_sbuffer_destroy(&sb);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    msx_arena arena = { 0 };
    msx_obj o;
    const uint8_t never[] = { 0xc1 };
    assert_int_equal(msx_mpk_decode(&arena, never, sizeof never, &o), -EINVAL);
    /* an array claiming 4 billion items in 6 bytes: these bytes cannot hold it */
    const uint8_t huge[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
    assert_int_equal(msx_mpk_decode(&arena, huge, sizeof huge, &o), 0);
    assert_null(arena.head);  /* and nothing was reserved for it */
    /* nested deeper than the template's stack */
    uint8_t deep[64];
    memset(deep, 0x91, sizeof deep);
    deep[63] = 0x01;
    assert_int_equal(msx_mpk_decode(&arena, deep, sizeof deep, &o), -EINVAL);
    assert_int_equal(msx_mpk_decode(&arena, deep, 0, &o), 0);
    msx_arena_free(&arena);
}

/* Random bytes never crash the decoder and results stay in bounds. */
static void test_decode_random(void **state)
{
    (void)state;
    msx_arena arena = { 0 };
    uint64_t seed = 12345;
    uint8_t buf[256];
    for (int round = 0; round < 20000; round++) {
        size_t len = 1 + (size_t)(seed % sizeof buf);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = (uint8_t)(seed >> 56);
        }
        msx_obj o;
        long n = msx_mpk_decode(&arena, buf, len, &o);
        assert_true(n == -EINVAL || (n >= 0 && n <= (long)len));
        msx_arena_reset(&arena);
    }
    msx_arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint_all_widths),
        cmocka_unit_test(test_uint_signed_formats),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_zigzag),
        cmocka_unit_test(test_decode_map),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
