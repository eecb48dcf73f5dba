/*
 * test_offsets_record.c - the __consumer_offsets record codec: the exact bytes of a key and
 * a value, every older value version Kafka wrote, group-metadata keys told apart, null
 * metadata kept null, and every truncated or padded record refused as malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "brk_offsets_record.h"
#include "kc_common.h"
#include "kc_test.h"

#define S(s) ((struct kc_slice){(const uint8_t *)(s), (int32_t)strlen(s)})

static bool slice_is(struct kc_slice s, const char *str)
{
    return s.len == (int32_t)strlen(str) && memcmp(s.p, str, (size_t)s.len) == 0;
}

static void test_offsets_record_key_exact_bytes_and_truncation(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    struct brk_offset_key k = {BRK_OREC_OFFSET, S("cg"), S("grp"), 1};
    assert_int_equal(brk_offset_key_encode(&w, &k), 0);
    static const uint8_t want[] = {0, 1, 0, 2, 'c', 'g', 0, 3, 'g', 'r', 'p', 0, 0, 0, 1};
    assert_int_equal(kc_writer_len(&w), sizeof(want));
    assert_memory_equal(kc_writer_data(&w), want, sizeof(want));
    struct brk_offset_key kb;
    assert_int_equal(brk_offset_key_decode(want, sizeof(want), &kb), 0);
    assert_int_equal(kb.kind, BRK_OREC_OFFSET);
    assert_true(slice_is(kb.group, "cg") && slice_is(kb.topic, "grp"));
    assert_int_equal(kb.partition, 1);
    for (size_t n = 0; n < sizeof(want); n++)
        assert_int_equal(brk_offset_key_decode(want, n, &kb), KC_EMALFORMED);
    uint8_t padded[sizeof(want) + 1];
    memcpy(padded, want, sizeof(want));
    padded[sizeof(want)] = 0;
    assert_int_equal(brk_offset_key_decode(padded, sizeof(padded), &kb), KC_EMALFORMED);
    struct brk_offset_key null_topic = {BRK_OREC_OFFSET, S("cg"), {NULL, -1}, 0};
    assert_int_equal(brk_offset_key_encode(&w, &null_topic), -EINVAL);
    kc_writer_fini(&w);
}

static void test_offsets_record_group_metadata_key_told_apart(void **state)
{
    (void)state;
    static const uint8_t group_meta[] = {0, 2, 0, 2, 'c', 'g'};
    struct brk_offset_key kb;
    assert_int_equal(brk_offset_key_decode(group_meta, sizeof(group_meta), &kb), 0);
    assert_int_equal(kb.kind, BRK_OREC_GROUP);
    assert_true(slice_is(kb.group, "cg"));
    static const uint8_t v3_key[] = {0, 3, 0, 2, 'c', 'g'};
    assert_int_equal(brk_offset_key_decode(v3_key, sizeof(v3_key), &kb), KC_EUNSUPPORTED);
    static const uint8_t negative[] = {0xff, 0xfe, 0, 2, 'c', 'g'};
    assert_int_equal(brk_offset_key_decode(negative, sizeof(negative), &kb), KC_EUNSUPPORTED);

    /* the encoder writes the same bytes for a group's key; every prefix and a byte more
     * are refused */
    struct kc_writer w;
    struct brk_offset_key k = {BRK_OREC_GROUP, S("cg"), {NULL, -1}, 0};
    kc_writer_init(&w, 0);
    assert_int_equal(brk_offset_key_encode(&w, &k), 0);
    assert_int_equal(kc_writer_len(&w), sizeof(group_meta));
    assert_memory_equal(kc_writer_data(&w), group_meta, sizeof(group_meta));
    for (size_t cut = 0; cut < sizeof(group_meta); cut++)
        assert_int_equal(brk_offset_key_decode(group_meta, cut, &kb), KC_EMALFORMED);
    kc_write_i8(&w, 0);
    assert_int_equal(brk_offset_key_decode(kc_writer_data(&w), kc_writer_len(&w), &kb),
                     KC_EMALFORMED);
    kc_writer_fini(&w);
}

static void test_offsets_record_value_null_empty_bytes_kept(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    struct brk_offset_value v = {42, -1, {NULL, -1}, 1700000000123, -1};
    assert_int_equal(brk_offset_value_encode(&w, &v), 0);
    static const uint8_t want[] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 42, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0, 0, 1, 0x8b, 0xcf, 0xe5, 0x68, 0x7b};
    assert_int_equal(kc_writer_len(&w), sizeof(want));
    assert_memory_equal(kc_writer_data(&w), want, sizeof(want));
    struct brk_offset_value vb;
    assert_int_equal(brk_offset_value_decode(want, sizeof(want), &vb), 0);
    assert_int_equal(vb.offset, 42);
    assert_int_equal(vb.metadata.len, -1); /* null stays null */
    assert_int_equal(vb.commit_timestamp, 1700000000123);
    for (size_t n = 0; n < sizeof(want); n++)
        assert_int_equal(brk_offset_value_decode(want, n, &vb), KC_EMALFORMED);
    const char *metas[] = {"", "hello"};
    for (int i = 0; i < 2; i++) {
        kc_writer_reset(&w);
        v.metadata = S(metas[i]);
        assert_int_equal(brk_offset_value_encode(&w, &v), 0);
        assert_int_equal(brk_offset_value_decode(kc_writer_data(&w), kc_writer_len(&w), &vb), 0);
        assert_true(slice_is(vb.metadata, metas[i]));
    }
    kc_writer_fini(&w);
}

static void test_offsets_record_old_value_versions_read_as_kafka(void **state)
{
    (void)state;
    struct brk_offset_value vb;
    /* v1: offset 7, metadata "m", commit ts 5, expire ts 9 */
    static const uint8_t v1[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 'm',
                                 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9};
    assert_int_equal(brk_offset_value_decode(v1, sizeof(v1), &vb), 0);
    assert_int_equal(vb.offset, 7);
    assert_int_equal(vb.leader_epoch, -1);
    assert_int_equal(vb.expire_timestamp, 9);
    /* v0 and v2 share a layout: offset, metadata, commit ts */
    static const uint8_t v0[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
    assert_int_equal(brk_offset_value_decode(v0, sizeof(v0), &vb), 0);
    uint8_t v2[sizeof(v0)];
    memcpy(v2, v0, sizeof(v0));
    v2[1] = 2;
    assert_int_equal(brk_offset_value_decode(v2, sizeof(v2), &vb), 0);
    assert_int_equal(vb.commit_timestamp, 5);
    v2[1] = 4; /* flexible v4: not ours */
    assert_int_equal(brk_offset_value_decode(v2, sizeof(v2), &vb), KC_EUNSUPPORTED);
    v2[0] = 0xff; /* negative */
    assert_int_equal(brk_offset_value_decode(v2, sizeof(v2), &vb), KC_EUNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_record_key_exact_bytes_and_truncation),
        cmocka_unit_test(test_offsets_record_group_metadata_key_told_apart),
        cmocka_unit_test(test_offsets_record_value_null_empty_bytes_kept),
        cmocka_unit_test(test_offsets_record_old_value_versions_read_as_kafka),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
