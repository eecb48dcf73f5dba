/*
 * test_produce.c - which Kafka error a Produce partition gets, for every way its records
 * can be wrong.
 *
 * The batches are real: kcat's plain, keyed and compressed (gzip, snappy, lz4, zstd)
 * RecordBatches captured for common/ (common/tests/fixtures). Each case damages one thing
 * and, where the damage lies under the CRC, recomputes the CRC so that the check under
 * test is the one that fires, not the checksum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "support/kpt.h"

#define BATCH(name) "common/tests/fixtures/" name

struct buf {
    uint8_t *p;
    size_t len;
};

static struct buf load(const char *rel)
{
    struct buf b;
    b.p = kc_test_load(rel, &b.len);
    return b;
}

static void recrc(struct buf *b)
{
    uint32_t crc = kc_crc32c(0, b->p + KC_BATCH_OFF_ATTRIBUTES, b->len - KC_BATCH_OFF_ATTRIBUTES);
    kc_store_be32(b->p + KC_BATCH_OFF_CRC, crc);
}

static struct kc_slice sl(const struct buf *b)
{
    return (struct kc_slice){b->p, (int32_t)b->len};
}

static int16_t check(const struct buf *b, int16_t acks, int16_t version)
{
    struct kp_produce_req req = {.transactional_id = {NULL, -1}, .acks = acks, .timeout_ms = 1};
    return kp_produce_check(&req, version, sl(b), NULL);
}

static void test_produce_real_batches_every_codec_accepted(void **state)
{
    (void)state;
    const char *names[] = {"kcat_plain.bin", "kcat_keyed_headers.bin", "kcat_gzip.bin",
                           "kcat_snappy.bin", "kcat_lz4.bin", "kcat_zstd.bin"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(names); i++) {
        char rel[128];
        snprintf(rel, sizeof(rel), BATCH("%s"), names[i]);
        struct buf b = load(rel);
        struct kp_produce_req req = {.transactional_id = {NULL, -1}, .acks = 1};
        struct kc_batch_header h;
        assert_int_equal(kp_produce_check(&req, 7, sl(&b), &h), KP_ERR_NONE);
        assert_true(h.records_count >= 1);
        for (int16_t acks = -1; acks <= 1; acks++)
            assert_int_equal(check(&b, acks, 7), KP_ERR_NONE);
        bool zstd = (h.attributes & KC_BATCH_ATTR_COMPRESSION) == KC_COMPRESS_ZSTD;
        /* zstd needs Produce v7 (Kafka: UNSUPPORTED_COMPRESSION_TYPE before it) */
        assert_int_equal(check(&b, 1, 6), zstd ? KP_ERR_UNSUPPORTED_COMPRESSION_TYPE : 0);
        free(b.p);
    }
}

static void test_produce_acks_outside_set_invalid_required_acks(void **state)
{
    (void)state;
    struct buf b = load(BATCH("kcat_plain.bin"));
    const int16_t bad[] = {2, -2, 3, 100, INT16_MIN};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        assert_int_equal(check(&b, bad[i], 7), KP_ERR_INVALID_REQUIRED_ACKS);
    free(b.p);
}

static void test_produce_framing_errors_invalid_record_or_corrupt(void **state)
{
    (void)state;
    struct buf b = load(BATCH("kcat_plain.bin"));
    struct kp_produce_req req = {.transactional_id = {NULL, -1}, .acks = 1};
    assert_int_equal(kp_produce_check(&req, 7, (struct kc_slice){NULL, -1}, NULL), 87);
    assert_int_equal(kp_produce_check(&req, 7, (struct kc_slice){b.p, 0}, NULL), 87);
    for (size_t n = 1; n < b.len; n++) /* every cut: no whole batch */
        assert_int_equal(kp_produce_check(&req, 7, (struct kc_slice){b.p, (int32_t)n}, NULL),
                         KP_ERR_INVALID_RECORD);

    struct buf two = {malloc(2 * b.len), 2 * b.len}; /* "more than one batch" */
    memcpy(two.p, b.p, b.len);
    memcpy(two.p + b.len, b.p, b.len);
    assert_int_equal(check(&two, 1, 7), KP_ERR_INVALID_RECORD);
    free(two.p);

    uint32_t real = kc_load_be32(b.p + KC_BATCH_OFF_LENGTH);
    kc_store_be32(b.p + KC_BATCH_OFF_LENGTH, 13); /* below even a legacy message */
    assert_int_equal(check(&b, 1, 7), KP_ERR_CORRUPT_MESSAGE);
    kc_store_be32(b.p + KC_BATCH_OFF_LENGTH, 30); /* a v2 batch shorter than its header */
    struct buf shortb = {b.p, 42};
    assert_int_equal(check(&shortb, 1, 7), KP_ERR_CORRUPT_MESSAGE);
    kc_store_be32(b.p + KC_BATCH_OFF_LENGTH, real);

    b.p[KC_BATCH_OFF_MAGIC] = 1; /* a legacy message set */
    assert_int_equal(check(&b, 1, 7), KP_ERR_INVALID_RECORD);
    free(b.p);
}

static void test_produce_crc_and_content_errors(void **state)
{
    (void)state;
    struct buf b = load(BATCH("kcat_keyed_headers.bin"));
    b.p[b.len - 3] ^= 0x20; /* a bit in a header value: the CRC catches it */
    assert_int_equal(check(&b, 1, 7), KP_ERR_CORRUPT_MESSAGE);
    free(b.p);

    b = load(BATCH("kcat_plain.bin"));
    kc_store_be32(b.p + KC_BATCH_OFF_LAST_OFFSET_DELTA, 7); /* count disagrees */
    recrc(&b);
    assert_int_equal(check(&b, 1, 7), KP_ERR_INVALID_RECORD);
    free(b.p);

    b = load(BATCH("kcat_plain.bin"));
    b.p[KC_BATCH_HEADER_SIZE] = 0x7f; /* first record's length varint: nonsense */
    recrc(&b);
    assert_int_equal(check(&b, 1, 7), KP_ERR_INVALID_RECORD);
    free(b.p);

    b = load(BATCH("kcat_plain.bin"));
    kc_store_be16(b.p + KC_BATCH_OFF_ATTRIBUTES, 5); /* codec 5 does not exist */
    recrc(&b);
    assert_int_equal(check(&b, 1, 7), KP_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    kc_store_be16(b.p + KC_BATCH_OFF_ATTRIBUTES, KC_BATCH_ATTR_CONTROL);
    recrc(&b);
    assert_int_equal(check(&b, 1, 7), KP_ERR_INVALID_RECORD); /* clients write no control */
    free(b.p);
}

static void test_produce_idempotent_transactional_refused_43(void **state)
{
    (void)state;
    struct buf b = load(BATCH("kcat_plain.bin"));
    kc_store_be64(b.p + KC_BATCH_OFF_PRODUCER_ID, 1000); /* an idempotent producer */
    kc_store_be16(b.p + KC_BATCH_OFF_PRODUCER_EPOCH, 0);
    kc_store_be32(b.p + KC_BATCH_OFF_BASE_SEQUENCE, 0);
    recrc(&b);
    assert_int_equal(check(&b, -1, 7), KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    kc_store_be16(b.p + KC_BATCH_OFF_ATTRIBUTES, KC_BATCH_ATTR_TRANSACTIONAL);
    recrc(&b);
    assert_int_equal(check(&b, -1, 7), KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    free(b.p);

    b = load(BATCH("kcat_plain.bin")); /* a plain batch, but a transactional request */
    struct kp_produce_req req = {.transactional_id = kp_slice_str("tx-1"), .acks = -1};
    assert_int_equal(kp_produce_check(&req, 7, sl(&b), NULL),
                     KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    free(b.p);
}

static int16_t precheck(const struct buf *b, int16_t acks, int16_t version)
{
    struct kp_produce_req req = {.transactional_id = {NULL, -1}, .acks = acks, .timeout_ms = 1};
    return kp_produce_precheck(&req, version, sl(b), NULL);
}

/* The precheck agrees with the full check on everything but the CRC and the records,
 * which it leaves to the store (brk_produce validates the batch as it appends it). */
static void test_produce_precheck_leaves_crc_and_records_to_store(void **state)
{
    (void)state;
    const char *names[] = {"kcat_plain.bin", "kcat_keyed_headers.bin", "kcat_gzip.bin",
                           "kcat_snappy.bin", "kcat_lz4.bin", "kcat_zstd.bin"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(names); i++) {
        char rel[128];
        snprintf(rel, sizeof(rel), BATCH("%s"), names[i]);
        struct buf b = load(rel);
        for (int16_t v = 3; v <= 7; v++)
            assert_int_equal(precheck(&b, 1, v), check(&b, 1, v));
        assert_int_equal(precheck(&b, 2, 7), KP_ERR_INVALID_REQUIRED_ACKS);
        for (size_t n = 0; n < b.len; n++) /* every cut: as the full check says */
            assert_int_equal(precheck(&(struct buf){b.p, n}, 1, 7),
                             check(&(struct buf){b.p, n}, 1, 7));
        b.p[b.len - 1] ^= 0x20; /* under the CRC: not the precheck's business */
        assert_int_equal(check(&b, 1, 7), KP_ERR_CORRUPT_MESSAGE);
        assert_int_equal(precheck(&b, 1, 7), KP_ERR_NONE);
        free(b.p);
    }
    struct buf b = load(BATCH("kcat_plain.bin"));
    b.p[KC_BATCH_HEADER_SIZE] = 0x7f; /* a record that does not parse: the store's too */
    recrc(&b);
    assert_int_equal(precheck(&b, 1, 7), KP_ERR_NONE);
    kc_store_be32(b.p + KC_BATCH_OFF_LAST_OFFSET_DELTA, 7); /* header counts: judged here */
    assert_int_equal(precheck(&b, 1, 7), KP_ERR_INVALID_RECORD);
    free(b.p);
    b = load(BATCH("kcat_plain.bin"));
    const int16_t attrs[] = {5, KC_BATCH_ATTR_CONTROL, KC_BATCH_ATTR_TRANSACTIONAL};
    const int16_t want[] = {KP_ERR_UNSUPPORTED_COMPRESSION_TYPE, KP_ERR_INVALID_RECORD,
                            KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT};
    for (size_t i = 0; i < KC_ARRAY_SIZE(attrs); i++) {
        kc_store_be16(b.p + KC_BATCH_OFF_ATTRIBUTES, (uint16_t)attrs[i]);
        assert_int_equal(precheck(&b, 1, 7), want[i]);
    }
    kc_store_be16(b.p + KC_BATCH_OFF_ATTRIBUTES, 0);
    kc_store_be64(b.p + KC_BATCH_OFF_PRODUCER_ID, 1000);
    assert_int_equal(precheck(&b, 1, 7), KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    free(b.p);
}

static void test_produce_response_v3_to_v7_layouts(void **state)
{
    (void)state;
    struct kp_produce_part parts[2] = {
        {.index = 0, .error = 0, .base_offset = 100, .log_append_time = -1, .log_start_offset = 0},
        {.index = 3, .error = KP_ERR_CORRUPT_MESSAGE, .base_offset = -1, .log_append_time = -1,
         .log_start_offset = -1}};
    struct kp_produce_topic topic = {kp_slice_str("t"), 2, parts};
    struct kp_produce_req req = {.transactional_id = {NULL, -1}, .acks = 1, .ntopics = 1,
                                 .topics = &topic};
    for (int16_t v = 3; v <= 7; v++) {
        struct kp_header h = {KP_API_PRODUCE, v, 9, {NULL, -1}, false};
        struct kc_writer w;
        kc_writer_init(&w, 0);
        assert_int_equal(kp_encode_produce(&w, &h, &req), 0);
        struct kp__chunk *mem = NULL;
        struct kp_produce_req back;
        assert_int_equal(kpt_resp_produce(kc_writer_data(&w), kc_writer_len(&w), v, &mem, &back),
                         0);
        assert_int_equal(back.topics[0].parts[0].base_offset, 100);
        assert_int_equal(back.topics[0].parts[1].index, 3);
        assert_int_equal(back.topics[0].parts[1].error, KP_ERR_CORRUPT_MESSAGE);
        /* throttle_time_ms is the last 4 bytes */
        assert_int_equal(kc_load_be32(kc_writer_data(&w) + kc_writer_len(&w) - 4), 0);
        kpt_free(&mem);
        kc_writer_fini(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_real_batches_every_codec_accepted),
        cmocka_unit_test(test_produce_acks_outside_set_invalid_required_acks),
        cmocka_unit_test(test_produce_framing_errors_invalid_record_or_corrupt),
        cmocka_unit_test(test_produce_crc_and_content_errors),
        cmocka_unit_test(test_produce_idempotent_transactional_refused_43),
        cmocka_unit_test(test_produce_precheck_leaves_crc_and_records_to_store),
        cmocka_unit_test(test_produce_response_v3_to_v7_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
