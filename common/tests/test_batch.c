/*
 * test_batch.c - RecordBatch v2 against bytes a real Kafka client produced.
 *
 * The fixtures in fixtures/ are the `records` field of Produce requests that kcat 1.7.1
 * (librdkafka 2.0.2) sent on loopback, captured by scripts/capture-kcat-batch.py. Reading
 * them proves the decoder speaks Kafka; rebuilding them byte for byte proves the encoder
 * does. Testing only against our own encoder would prove nothing.
 */
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

#define FIX(name) "common/tests/fixtures/" name

struct want_record {
    const char *key; /* NULL = null key */
    const char *value;
};

static void assert_slice(const uint8_t *p, int32_t len, const char *want)
{
    if (!want) {
        assert_null(p);
        assert_int_equal(len, -1);
        return;
    }
    assert_int_equal(len, (int32_t)strlen(want));
    assert_memory_equal(p, want, (size_t)len);
}

/* Rebuild the batch from its decoded records; the bytes must match exactly. */
static void assert_reencodes(const uint8_t *batch, size_t len)
{
    struct kc_batch_header h;
    assert_int_equal(kc_batch_validate(batch, len, &h), (int)len);
    struct kc_batch_opts o = {h.base_offset,    h.leader_epoch,   h.attributes,
                              h.producer_id,    h.producer_epoch, h.base_sequence};
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, &o, 0);

    struct kc_record_iter it;
    struct kc_record rec;
    assert_int_equal(kc_record_iter_init(&it, batch, len), 0);
    while (kc_record_iter_next(&it, &rec) == 1) {
        struct kc_header hdrs[8];
        struct kc_header_iter hi;
        int n = 0;
        kc_header_iter_init(&hi, &rec);
        while (n < 8 && kc_header_iter_next(&hi, &hdrs[n]) == 1)
            n++;
        assert_int_equal(n, rec.header_count);
        assert_int_equal(kc_batch_builder_add(&b, rec.timestamp, rec.key, rec.key_len, rec.value,
                                              rec.value_len, hdrs, n),
                         0);
    }
    uint8_t *out;
    size_t out_len;
    assert_int_equal(kc_batch_builder_finish(&b, &out, &out_len), 0);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, batch, len);
    kc_batch_builder_fini(&b);
}

static void test_batch_kcat_keyed_headers_decodes_and_reencodes(void **state)
{
    (void)state;
    static const struct want_record want[] = {
        {"key1", "value1"},
        {"key2", ""},
        {"", "value3-no-key"},
        {"key4", "a somewhat longer value with spaces and ~ punctuation!"},
    };
    size_t len;
    uint8_t *batch = kc_test_load(FIX("kcat_keyed_headers.bin"), &len);
    struct kc_batch_header h;
    assert_int_equal(kc_batch_validate(batch, len, &h), (int)len);
    assert_int_equal(h.records_count, 4);
    assert_int_equal(h.last_offset_delta, 3);
    assert_int_equal(h.producer_id, -1);
    assert_int_equal(h.attributes, 0);

    struct kc_record_iter it;
    struct kc_record rec;
    assert_int_equal(kc_record_iter_init(&it, batch, len), 0);
    for (size_t i = 0; i < KC_ARRAY_SIZE(want); i++) {
        assert_int_equal(kc_record_iter_next(&it, &rec), 1);
        assert_int_equal(rec.offset, (int64_t)i);
        assert_int_equal(rec.timestamp, h.base_timestamp);
        assert_slice(rec.key, rec.key_len, want[i].key);
        assert_slice(rec.value, rec.value_len, want[i].value);
        /* kcat -H hk=hv -H h2= : the empty header value is empty, not null */
        struct kc_header_iter hi;
        struct kc_header hdr;
        kc_header_iter_init(&hi, &rec);
        assert_int_equal(kc_header_iter_next(&hi, &hdr), 1);
        assert_slice(hdr.key, hdr.key_len, "hk");
        assert_slice(hdr.value, hdr.value_len, "hv");
        assert_int_equal(kc_header_iter_next(&hi, &hdr), 1);
        assert_slice(hdr.key, hdr.key_len, "h2");
        assert_slice(hdr.value, hdr.value_len, "");
        assert_int_equal(kc_header_iter_next(&hi, &hdr), 0);
    }
    assert_int_equal(kc_record_iter_next(&it, &rec), 0);
    assert_reencodes(batch, len);
    free(batch);
}

static void test_batch_kcat_plain_null_keys_reencode(void **state)
{
    (void)state;
    static const char *const values[] = {"one", "two", "three"};
    size_t len;
    uint8_t *batch = kc_test_load(FIX("kcat_plain.bin"), &len);
    struct kc_record_iter it;
    struct kc_record rec;
    assert_int_equal(kc_record_iter_init(&it, batch, len), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kc_record_iter_next(&it, &rec), 1);
        assert_slice(rec.key, rec.key_len, NULL);
        assert_slice(rec.value, rec.value_len, values[i]);
        assert_int_equal(rec.header_count, 0);
    }
    assert_int_equal(kc_record_iter_next(&it, &rec), 0);
    assert_reencodes(batch, len);
    free(batch);
}

static void test_batch_kcat_compressed_validate_iter_unsupported(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int codec;
    } fx[] = {{FIX("kcat_gzip.bin"), KC_COMPRESS_GZIP},
              {FIX("kcat_snappy.bin"), KC_COMPRESS_SNAPPY},
              {FIX("kcat_lz4.bin"), KC_COMPRESS_LZ4},
              {FIX("kcat_zstd.bin"), KC_COMPRESS_ZSTD}};
    for (size_t i = 0; i < KC_ARRAY_SIZE(fx); i++) {
        size_t len;
        uint8_t *batch = kc_test_load(fx[i].file, &len);
        struct kc_batch_header h;
        assert_int_equal(kc_batch_validate(batch, len, &h), (int)len);
        assert_int_equal(h.attributes & KC_BATCH_ATTR_COMPRESSION, fx[i].codec);
        assert_int_equal(h.records_count, 200);
        struct kc_record_iter it;
        assert_int_equal(kc_record_iter_init(&it, batch, len), KC_EUNSUPPORTED);
        /* The stored bytes stay valid after the broker assigns an offset. */
        kc_batch_set_base_offset(batch, 1234567);
        kc_batch_set_leader_epoch(batch, 0);
        assert_int_equal(kc_batch_validate(batch, len, &h), (int)len);
        assert_int_equal(kc_batch_last_offset(batch), 1234567 + 199);
        free(batch);
    }
}

static void test_batch_every_truncated_prefix_needs_more(void **state)
{
    (void)state;
    size_t len;
    uint8_t *batch = kc_test_load(FIX("kcat_keyed_headers.bin"), &len);
    for (size_t n = 0; n < len; n++) {
        /* A copy of exactly n bytes, so that ASan catches any read past the prefix. */
        uint8_t *prefix = malloc(n ? n : 1);
        memcpy(prefix, batch, n);
        assert_int_equal(kc_batch_validate(prefix, n, NULL), KC_ENEEDMORE);
        free(prefix);
    }
    free(batch);
}

static void test_batch_every_bit_flip_is_caught(void **state)
{
    (void)state;
    size_t len;
    uint8_t *batch = kc_test_load(FIX("kcat_keyed_headers.bin"), &len);
    for (size_t byte = 0; byte < len; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            batch[byte] ^= (uint8_t)(1u << bit);
            int rc = kc_batch_validate(batch, len, NULL);
            if (byte < KC_BATCH_OFF_LENGTH ||
                (byte >= KC_BATCH_OFF_LEADER_EPOCH && byte < KC_BATCH_OFF_MAGIC)) {
                /* baseOffset and leader epoch sit outside the CRC, by design: the broker
                 * rewrites them. The log checks offsets for itself on recovery. */
                assert_int_equal(rc, (int)len);
            } else if (byte >= KC_BATCH_OFF_CRC) {
                assert_int_equal(rc, KC_ECRC);
            } else {
                assert_true(rc < 0); /* length or magic: never accepted */
            }
            batch[byte] ^= (uint8_t)(1u << bit);
        }
    }
    free(batch);
}

/* Build a batch from raw record bytes with a correct header and CRC (to test the record
 * checks behind the CRC). */
static size_t forge(uint8_t *out, const uint8_t *records, size_t rlen, int32_t count)
{
    memset(out, 0, KC_BATCH_HEADER_SIZE);
    kc_store_be32(out + KC_BATCH_OFF_LENGTH, (uint32_t)(KC_BATCH_HEADER_SIZE - 12 + rlen));
    out[KC_BATCH_OFF_MAGIC] = 2;
    kc_store_be32(out + KC_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    kc_store_be32(out + KC_BATCH_OFF_RECORDS_COUNT, (uint32_t)count);
    memcpy(out + KC_BATCH_HEADER_SIZE, records, rlen);
    size_t len = KC_BATCH_HEADER_SIZE + rlen;
    kc_store_be32(out + KC_BATCH_OFF_CRC,
                  kc_crc32c(0, out + KC_BATCH_OFF_ATTRIBUTES, len - KC_BATCH_OFF_ATTRIBUTES));
    return len;
}

static void test_batch_hostile_records_are_malformed(void **state)
{
    (void)state;
    /* length 7: attrs 0, tsDelta 0, offsetDelta 0, key null(01), value "a", 0 headers */
    static const uint8_t good[] = {0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 'a', 0x00};
    static const struct {
        const char *what;
        uint8_t rec[16];
        size_t len;
        int32_t count;
    } bad[] = {
        {"record length past the batch", {0x7e, 0x00, 0x00, 0x00, 0x01, 0x02, 'a', 0x00}, 8, 1},
        {"record shorter than its fields", {0x06, 0x00, 0x00, 0x00, 0x01, 0x02, 'a', 0x00}, 8, 1},
        {"negative record length", {0x01, 0x00}, 2, 1},
        {"key length below -1", {0x0e, 0x00, 0x00, 0x00, 0x03, 0x02, 'a', 0x00}, 8, 1},
        {"offset delta gap", {0x0e, 0x00, 0x00, 0x02, 0x01, 0x02, 'a', 0x00}, 8, 1},
        {"header count beyond bytes", {0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 'a', 0x10}, 8, 1},
        {"trailing garbage", {0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 'a', 0x00, 0xff}, 9, 1},
        {"count says two, one present", {0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 'a', 0x00}, 8, 2},
        {"overlong varint", {0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 6, 1},
    };
    uint8_t buf[128];
    size_t len = forge(buf, good, sizeof(good), 1);
    assert_int_equal(kc_batch_validate(buf, len, NULL), (int)len);
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        len = forge(buf, bad[i].rec, bad[i].len, bad[i].count);
        int rc = kc_batch_validate(buf, len, NULL);
        if (rc != KC_EMALFORMED)
            fail_msg("%s: got %s", bad[i].what, kc_errname(rc));
    }
    /* Header-level lies. */
    len = forge(buf, good, sizeof(good), 1);
    kc_store_be32(buf + KC_BATCH_OFF_LENGTH, 10); /* below the header size */
    assert_int_equal(kc_batch_validate(buf, len, NULL), KC_EMALFORMED);
    len = forge(buf, good, sizeof(good), 0);
    assert_int_equal(kc_batch_validate(buf, len, NULL), KC_EMALFORMED);
    len = forge(buf, good, sizeof(good), 1);
    buf[KC_BATCH_OFF_MAGIC] = 1;
    assert_int_equal(kc_batch_validate(buf, len, NULL), KC_EUNSUPPORTED);
}

static void test_batch_builder_roundtrips_nulls_headers_timestamps(void **state)
{
    (void)state;
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    struct kc_header hdrs[] = {{(const uint8_t *)"k", 1, NULL, -1},
                               {(const uint8_t *)"trace", 5, (const uint8_t *)"abc", 3}};
    assert_int_equal(kc_batch_builder_add(&b, 1000, NULL, -1, "v0", 2, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_add(&b, 990, "key", 3, NULL, 0, hdrs, 2), 0);
    assert_int_equal(kc_batch_builder_add(&b, 2000, "", 0, "", 0, NULL, 0), 0);
    uint8_t *p;
    size_t len;
    assert_int_equal(kc_batch_builder_finish(&b, &p, &len), 0);

    struct kc_batch_header h;
    assert_int_equal(kc_batch_validate(p, len, &h), (int)len);
    assert_int_equal(h.base_timestamp, 1000);
    assert_int_equal(h.max_timestamp, 2000);
    assert_int_equal(h.leader_epoch, -1);
    struct kc_record_iter it;
    struct kc_record r;
    assert_int_equal(kc_record_iter_init(&it, p, len), 0);
    assert_int_equal(kc_record_iter_next(&it, &r), 1);
    assert_slice(r.key, r.key_len, NULL);
    assert_slice(r.value, r.value_len, "v0");
    assert_int_equal(kc_record_iter_next(&it, &r), 1);
    assert_int_equal(r.timestamp, 990); /* a negative delta survives */
    assert_slice(r.key, r.key_len, "key");
    assert_slice(r.value, r.value_len, NULL);
    struct kc_header_iter hi;
    struct kc_header hd;
    kc_header_iter_init(&hi, &r);
    assert_int_equal(kc_header_iter_next(&hi, &hd), 1);
    assert_slice(hd.value, hd.value_len, NULL);
    assert_int_equal(kc_header_iter_next(&hi, &hd), 1);
    assert_slice(hd.value, hd.value_len, "abc");
    assert_int_equal(kc_record_iter_next(&it, &r), 1);
    assert_slice(r.key, r.key_len, "");
    assert_slice(r.value, r.value_len, "");
    assert_int_equal(kc_record_iter_next(&it, &r), 0);

    kc_batch_builder_reset(&b);
    assert_int_equal(kc_batch_builder_finish(&b, &p, &len), -EINVAL);
    kc_batch_builder_fini(&b);
}

static void test_batch_builder_limit_rejects_without_damage(void **state)
{
    (void)state;
    struct kc_batch_builder b;
    char value[100];
    memset(value, 'x', sizeof(value));
    kc_batch_builder_init(&b, NULL, 400);
    int added = 0;
    while (kc_batch_builder_add(&b, 5, NULL, -1, value, sizeof(value), NULL, 0) == 0)
        added++;
    assert_int_equal(added, 3); /* 61 + 3 * ~108 fits 400, a fourth does not */
    assert_int_equal(kc_batch_builder_add(&b, 5, NULL, -1, "x", -2, NULL, 0), -EINVAL);
    uint8_t *p;
    size_t len;
    assert_int_equal(kc_batch_builder_finish(&b, &p, &len), 0);
    assert_true(len <= 400);
    assert_int_equal(kc_batch_validate(p, len, NULL), (int)len);
    kc_batch_builder_fini(&b);
}

static void test_batch_builder_invalid_first_add_leaves_no_header(void **state)
{
    (void)state;
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    struct kc_header nullkey = {NULL, -1, NULL, -1};
    assert_int_equal(kc_batch_builder_add(&b, 1, NULL, -1, "v", 1, &nullkey, 1), -EINVAL);
    assert_int_equal(kc_batch_builder_add(&b, 1, NULL, -1, "v", 1, NULL, 0), 0);
    uint8_t *p;
    size_t len;
    assert_int_equal(kc_batch_builder_finish(&b, &p, &len), 0);
    assert_int_equal(kc_batch_validate(p, len, NULL), (int)len);
    kc_batch_builder_fini(&b);
}

/* Found by fuzz_batch: base offset INT64_MIN with a negative delta overflowed (UB). */
static void test_batch_extreme_base_offset_and_timestamp_do_not_overflow(void **state)
{
    (void)state;
    size_t len;
    uint8_t *batch = kc_test_load(FIX("kcat_plain.bin"), &len);
    kc_batch_set_base_offset(batch, INT64_MAX);
    assert_int_equal(kc_batch_validate(batch, len, NULL), (int)len); /* wraps, no UB */
    kc_batch_set_base_offset(batch, INT64_MIN);
    struct kc_record_iter it;
    struct kc_record rec;
    assert_int_equal(kc_record_iter_init(&it, batch, len), 0);
    assert_int_equal(kc_record_iter_next(&it, &rec), 1);
    assert_true(rec.offset == INT64_MIN);
    free(batch);
}

/* What a compacted log may hold decodes as stored (only a producer's as a producer's);
 * what no batch can be, neither. */
static void test_batch_header_decode_accepts_compacted_refuses_impossible(void **state)
{
    (void)state;
    static const struct {
        int32_t last_delta, count;
        int want;
    } cases[] = {{9, 10, 0}, {9, 3, 0}, {41, 0, 0}, {0, 0, 0}, {9, 11, KC_EMALFORMED},
                 {-1, 0, KC_EMALFORMED}, {5, -1, KC_EMALFORMED}};
    uint8_t buf[KC_BATCH_HEADER_SIZE];
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        memset(buf, 0, sizeof(buf));
        kc_store_be32(buf + KC_BATCH_OFF_LENGTH, KC_BATCH_HEADER_SIZE - 12);
        buf[KC_BATCH_OFF_MAGIC] = 2;
        kc_store_be32(buf + KC_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)cases[i].last_delta);
        kc_store_be32(buf + KC_BATCH_OFF_RECORDS_COUNT, (uint32_t)cases[i].count);
        struct kc_batch_header h;
        assert_int_equal(kc_batch_header_decode_stored(buf, sizeof(buf), &h), cases[i].want);
        bool producer = cases[i].count >= 1 && cases[i].count == cases[i].last_delta + 1;
        assert_int_equal(kc_batch_header_decode(buf, sizeof(buf), &h),
                         producer ? 0 : KC_EMALFORMED);
        /* the producers' gate stays strict: count must be lastOffsetDelta + 1, >= 1 */
        kc_store_be32(buf + KC_BATCH_OFF_CRC, kc_crc32c(0, buf + KC_BATCH_OFF_ATTRIBUTES,
                                                        sizeof(buf) - KC_BATCH_OFF_ATTRIBUTES));
        assert_true(kc_batch_validate(buf, sizeof(buf), NULL) < 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_kcat_keyed_headers_decodes_and_reencodes),
        cmocka_unit_test(test_batch_kcat_plain_null_keys_reencode),
        cmocka_unit_test(test_batch_kcat_compressed_validate_iter_unsupported),
        cmocka_unit_test(test_batch_every_truncated_prefix_needs_more),
        cmocka_unit_test(test_batch_every_bit_flip_is_caught),
        cmocka_unit_test(test_batch_hostile_records_are_malformed),
        cmocka_unit_test(test_batch_builder_roundtrips_nulls_headers_timestamps),
        cmocka_unit_test(test_batch_builder_limit_rejects_without_damage),
        cmocka_unit_test(test_batch_builder_invalid_first_add_leaves_no_header),
        cmocka_unit_test(test_batch_extreme_base_offset_and_timestamp_do_not_overflow),
        cmocka_unit_test(test_batch_header_decode_accepts_compacted_refuses_impossible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
