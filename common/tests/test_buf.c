/* test_buf.c - the big-endian reader/writer: values, nulls, truncation, hostile lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"

/* One message with every field type, written and then read back. */
static void write_everything(struct kc_writer *w)
{
    kc_write_i8(w, -5);
    kc_write_i16(w, -2);
    kc_write_i32(w, 0x12345678);
    kc_write_i64(w, INT64_MIN);
    kc_write_u16(w, 0xcafe);
    kc_write_varint(w, -300);
    kc_write_varlong(w, 1LL << 40);
    kc_write_uvarint(w, 1000);
    kc_write_cstr(w, "topic");
    kc_write_str(w, NULL, -1);
    kc_write_bytes(w, "\x00\x01", 2);
    kc_write_bytes(w, NULL, -1);
    kc_write_compact_str(w, "ab", 2);
    kc_write_compact_str(w, NULL, -1);
    kc_write_uvarint(w, 1); /* a tagged-field block with one field: tag 7, 2 bytes */
    kc_write_uvarint(w, 7);
    kc_write_uvarint(w, 2);
    kc_write_raw(w, "zz", 2);
}

static int read_everything(const uint8_t *p, size_t len)
{
    struct kc_reader r;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint16_t u16;
    uint32_t u32;
    struct kc_slice s;
    int rc;
    kc_reader_init(&r, p, len);
#define TRY(x)                                                                                \
    if ((rc = (x)) != 0)                                                                      \
        return rc;
    TRY(kc_read_i8(&r, &i8));
    assert_int_equal(i8, -5);
    TRY(kc_read_i16(&r, &i16));
    assert_int_equal(i16, -2);
    TRY(kc_read_i32(&r, &i32));
    assert_int_equal(i32, 0x12345678);
    TRY(kc_read_i64(&r, &i64));
    assert_true(i64 == INT64_MIN);
    TRY(kc_read_u16(&r, &u16));
    assert_int_equal(u16, 0xcafe);
    TRY(kc_read_varint(&r, &i32));
    assert_int_equal(i32, -300);
    TRY(kc_read_varlong(&r, &i64));
    assert_int_equal(i64, 1LL << 40);
    TRY(kc_read_uvarint(&r, &u32));
    assert_int_equal(u32, 1000);
    TRY(kc_read_str(&r, &s));
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.p, "topic", 5);
    TRY(kc_read_str(&r, &s));
    assert_int_equal(s.len, -1);
    assert_null(s.p);
    TRY(kc_read_bytes(&r, &s));
    assert_int_equal(s.len, 2);
    TRY(kc_read_bytes(&r, &s));
    assert_int_equal(s.len, -1);
    TRY(kc_read_compact_str(&r, &s));
    assert_int_equal(s.len, 2);
    TRY(kc_read_compact_str(&r, &s));
    assert_int_equal(s.len, -1);
    TRY(kc_read_skip_tags(&r));
#undef TRY
    assert_int_equal(kc_reader_left(&r), 0);
    return 0;
}

static void test_buf_roundtrip_every_type(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    write_everything(&w);
    assert_int_equal(kc_writer_error(&w), 0);
    assert_int_equal(read_everything(kc_writer_data(&w), kc_writer_len(&w)), 0);
    kc_writer_fini(&w);
}

static void test_buf_every_truncated_prefix_needs_more(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    write_everything(&w);
    size_t len;
    uint8_t *all = kc_writer_take(&w, &len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *prefix = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        memcpy(prefix, all, n);
        assert_int_equal(read_everything(prefix, n), KC_ENEEDMORE);
        free(prefix);
    }
    free(all);
}

static void test_buf_failed_read_consumes_nothing(void **state)
{
    (void)state;
    const uint8_t str[] = {0x00, 0x05, 'a', 'b'}; /* says 5, holds 2 */
    struct kc_reader r;
    struct kc_slice s = {(const uint8_t *)"untouched", 9};
    kc_reader_init(&r, str, sizeof(str));
    assert_int_equal(kc_read_str(&r, &s), KC_ENEEDMORE);
    assert_int_equal(r.pos, 0);
    assert_int_equal(s.len, 9);
}

static void test_buf_hostile_lengths_are_malformed(void **state)
{
    (void)state;
    struct kc_reader r;
    struct kc_slice s;
    int32_t n;
    const uint8_t neg_str[] = {0xff, 0xfe};              /* -2 */
    const uint8_t neg_bytes[] = {0x80, 0x00, 0x00, 0x00}; /* INT32_MIN */
    const uint8_t huge_array[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    const uint8_t neg_array[] = {0xff, 0xff, 0xff, 0xfe};
    const uint8_t null_array[] = {0xff, 0xff, 0xff, 0xff};
    kc_reader_init(&r, neg_str, sizeof(neg_str));
    assert_int_equal(kc_read_str(&r, &s), KC_EMALFORMED);
    kc_reader_init(&r, neg_bytes, sizeof(neg_bytes));
    assert_int_equal(kc_read_bytes(&r, &s), KC_EMALFORMED);
    kc_reader_init(&r, huge_array, sizeof(huge_array));
    assert_int_equal(kc_read_array_len(&r, 4, &n), KC_EMALFORMED);
    assert_int_equal(r.pos, 0);
    kc_reader_init(&r, neg_array, sizeof(neg_array));
    assert_int_equal(kc_read_array_len(&r, 4, &n), KC_EMALFORMED);
    kc_reader_init(&r, null_array, sizeof(null_array));
    assert_int_equal(kc_read_array_len(&r, 4, &n), 0);
    assert_int_equal(n, -1);
}

static void test_buf_writer_limits_are_sticky(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 10);
    kc_write_i64(&w, 1);
    assert_int_equal(kc_writer_error(&w), 0);
    kc_write_i32(&w, 2); /* 12 > 10 */
    assert_int_equal(kc_writer_error(&w), KC_ETOOLARGE);
    kc_write_i8(&w, 3); /* would fit, but the error is sticky */
    assert_int_equal(kc_writer_len(&w), 8);
    kc_writer_reset(&w);
    assert_int_equal(kc_writer_error(&w), 0);
    kc_writer_fini(&w);

    uint8_t fixed[6];
    kc_writer_init_fixed(&w, fixed, sizeof(fixed));
    kc_write_i32(&w, 0x01020304);
    kc_writer_patch_i32(&w, 0, 0x0a0b0c0d);
    assert_int_equal(fixed[0], 0x0a);
    kc_write_i32(&w, 5);
    assert_int_equal(kc_writer_error(&w), KC_ETOOLARGE);
    kc_writer_fini(&w); /* must not free the caller's array */

    kc_writer_init(&w, 0);
    char big[40000];
    memset(big, 'x', sizeof(big));
    kc_write_str(&w, big, sizeof(big)); /* longer than an i16 can say */
    assert_int_equal(kc_writer_error(&w), KC_ETOOLARGE);
    kc_writer_fini(&w);
}

static void test_buf_writer_grows_far(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    for (int i = 0; i < 100000; i++)
        kc_write_i32(&w, i);
    assert_int_equal(kc_writer_error(&w), 0);
    assert_int_equal(kc_writer_len(&w), 400000);
    assert_int_equal(kc_load_be32(kc_writer_data(&w) + 4 * 99999), 99999);
    kc_writer_fini(&w);
}

static void test_buf_null_means_negative_length_only(void **state)
{
    (void)state;
    struct kc_writer w;
    struct kc_reader r;
    struct kc_slice s;
    kc_writer_init(&w, 0);
    kc_write_str(&w, NULL, 0);   /* empty, not null */
    kc_write_bytes(&w, NULL, 0); /* empty, not null */
    kc_write_str(&w, "x", -1);   /* null */
    assert_int_equal(kc_writer_error(&w), 0);
    kc_reader_init(&r, kc_writer_data(&w), kc_writer_len(&w));
    assert_int_equal(kc_read_str(&r, &s), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(kc_read_bytes(&r, &s), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(kc_read_str(&r, &s), 0);
    assert_int_equal(s.len, -1);
    kc_write_bytes(&w, NULL, 3); /* bytes promised, none given */
    assert_int_equal(kc_writer_error(&w), -EINVAL);
    kc_writer_fini(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_roundtrip_every_type),
        cmocka_unit_test(test_buf_every_truncated_prefix_needs_more),
        cmocka_unit_test(test_buf_failed_read_consumes_nothing),
        cmocka_unit_test(test_buf_hostile_lengths_are_malformed),
        cmocka_unit_test(test_buf_writer_limits_are_sticky),
        cmocka_unit_test(test_buf_writer_grows_far),
        cmocka_unit_test(test_buf_null_means_negative_length_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
