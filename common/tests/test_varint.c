/* test_varint.c - zigzag and unsigned varints: known vectors, round trips, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kc_common.h"
#include "kc_test.h"

/* Zigzag varint vectors, as in Kafka's ByteUtilsTest and the protobuf spec. */
static const struct {
    int64_t v;
    uint8_t enc[10];
    size_t len;
} vectors[] = {
    {0, {0x00}, 1},
    {-1, {0x01}, 1},
    {1, {0x02}, 1},
    {-2, {0x03}, 1},
    {63, {0x7e}, 1},
    {-64, {0x7f}, 1},
    {64, {0x80, 0x01}, 2},
    {300, {0xd8, 0x04}, 2},
    {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
    {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
};

static void test_varint_known_vectors_encode_and_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < KC_ARRAY_SIZE(vectors); i++) {
        uint8_t buf[KC_VARINT_MAX];
        int32_t v;
        size_t n = kc_varint_encode(buf, (int32_t)vectors[i].v);
        assert_int_equal(n, vectors[i].len);
        assert_memory_equal(buf, vectors[i].enc, n);
        assert_int_equal(kc_varint_size((int32_t)vectors[i].v), n);
        assert_int_equal(kc_varint_decode(vectors[i].enc, vectors[i].len, &v), (int)n);
        assert_int_equal(v, vectors[i].v);
    }
}

static void test_varlong_extremes_roundtrip(void **state)
{
    (void)state;
    const int64_t vals[] = {INT64_MIN, INT64_MIN + 1, -4294967296LL, 4294967296LL,
                            INT64_MAX, 0, -1};
    for (size_t i = 0; i < KC_ARRAY_SIZE(vals); i++) {
        uint8_t buf[KC_VARLONG_MAX];
        int64_t v;
        size_t n = kc_varlong_encode(buf, vals[i]);
        assert_int_equal(kc_varlong_size(vals[i]), n);
        assert_int_equal(kc_varlong_decode(buf, n, &v), (int)n);
        assert_int_equal(v, vals[i]);
    }
    uint8_t buf[KC_VARLONG_MAX];
    assert_int_equal(kc_varlong_encode(buf, INT64_MIN), 10);
}

static void test_varint_random_roundtrip(void **state)
{
    (void)state;
    uint64_t s = kc_test_seed();
    for (int i = 0; i < 100000; i++) {
        uint64_t r = kc_test_rand(&s);
        int64_t v = (int64_t)(r >> (r & 63)); /* spread over all magnitudes */
        if (r & 64)
            v = -v;
        uint8_t buf[KC_VARLONG_MAX];
        int64_t back;
        size_t n = kc_varlong_encode(buf, v);
        assert_int_equal(kc_varlong_decode(buf, n, &back), (int)n);
        assert_int_equal(back, v);
        int32_t v32 = (int32_t)v, back32;
        n = kc_varint_encode(buf, v32);
        assert_int_equal(kc_varint_decode(buf, n, &back32), (int)n);
        assert_int_equal(back32, v32);
    }
}

static void test_varint_every_truncated_prefix_needs_more(void **state)
{
    (void)state;
    uint8_t buf[KC_VARLONG_MAX];
    size_t n = kc_varlong_encode(buf, INT64_MIN);
    for (size_t len = 0; len < n; len++) {
        int64_t v;
        assert_int_equal(kc_varlong_decode(buf, len, &v), KC_ENEEDMORE);
    }
    n = kc_varint_encode(buf, INT32_MIN);
    for (size_t len = 0; len < n; len++) {
        int32_t v;
        assert_int_equal(kc_varint_decode(buf, len, &v), KC_ENEEDMORE);
    }
}

static void test_varint_overlong_and_overflow_are_malformed(void **state)
{
    (void)state;
    int32_t v;
    int64_t vl;
    uint64_t u;
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(kc_varint_decode(six, sizeof(six), &v), KC_EMALFORMED);
    const uint8_t wide[] = {0xff, 0xff, 0xff, 0xff, 0x1f}; /* a 33rd bit */
    assert_int_equal(kc_varint_decode(wide, sizeof(wide), &v), KC_EMALFORMED);
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(kc_varlong_decode(eleven, sizeof(eleven), &vl), KC_EMALFORMED);
    const uint8_t wide64[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(kc_varlong_decode(wide64, sizeof(wide64), &vl), KC_EMALFORMED);
    const uint8_t max64[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(kc_uvarint_decode(max64, sizeof(max64), KC_VARLONG_MAX, &u), 10);
    assert_true(u == UINT64_MAX);
}

static void test_uvarint_compact_lengths(void **state)
{
    (void)state;
    uint8_t buf[KC_VARINT_MAX];
    uint64_t u;
    assert_int_equal(kc_uvarint_encode(buf, 0), 1); /* compact null */
    assert_int_equal(buf[0], 0);
    assert_int_equal(kc_uvarint_encode(buf, 128), 2);
    assert_int_equal(buf[0], 0x80);
    assert_int_equal(buf[1], 0x01);
    assert_int_equal(kc_uvarint_decode(buf, 2, KC_VARINT_MAX, &u), 2);
    assert_int_equal(u, 128);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_known_vectors_encode_and_decode),
        cmocka_unit_test(test_varlong_extremes_roundtrip),
        cmocka_unit_test(test_varint_random_roundtrip),
        cmocka_unit_test(test_varint_every_truncated_prefix_needs_more),
        cmocka_unit_test(test_varint_overlong_and_overflow_are_malformed),
        cmocka_unit_test(test_uvarint_compact_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
