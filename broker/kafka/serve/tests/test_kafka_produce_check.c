/*
 * test_kafka_produce_check.c - which Kafka error a Produce partition gets, for every way its
 * records can be wrong: the door's check (brk__kafka_produce_check), then the store's
 * (brk_produce validates the batch, CRC and records, as it appends it), as the door maps
 * the store's refusal (brk__kafka_produce_error).
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

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"
#include "kc_test.h"

#define BATCH(name) "common/tests/fixtures/" name

static const struct kc_slice no_txn = {NULL, -1};

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

/* The door's check alone. */
static int16_t precheck(const struct buf *b, int16_t acks, int16_t version)
{
    return brk__kafka_produce_check(acks, no_txn, version, sl(b));
}

/* What the broker answers for the partition: the door's check, then the store's (the
 * checks brk_produce makes before it appends: core/src/produce.c). */
static int16_t check(const struct buf *b, int16_t acks, int16_t version)
{
    struct kc_batch_header h;
    int16_t err = precheck(b, acks, version);
    if (err)
        return err;
    int size = kc_batch_validate(b->p, b->len, &h);
    int rc = size == KC_ENEEDMORE || (size > 0 && (size_t)size != b->len) ? KC_EMALFORMED
             : size < 0                                                 ? size
             : (h.attributes & KC_BATCH_ATTR_CONTROL)                    ? KC_EUNSUPPORTED
                                                                         : 0;
    return rc ? brk__kafka_produce_error(rc) : KP_ERR_NONE;
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
        struct kc_batch_header h;
        assert_int_equal(kc_batch_header_decode(b.p, b.len, &h), 0);
        assert_true(h.records_count >= 1);
        for (int16_t acks = -1; acks <= 1; acks++)
            for (int16_t v = 7; v <= 11; v++) /* the flexible versions too */
                assert_int_equal(check(&b, acks, v), KP_ERR_NONE);
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
    assert_int_equal(brk__kafka_produce_check(1, no_txn, 7, (struct kc_slice){NULL, -1}), 87);
    assert_int_equal(brk__kafka_produce_check(1, no_txn, 7, (struct kc_slice){b.p, 0}), 87);
    for (size_t n = 1; n < b.len; n++) /* every cut: no whole batch */
        assert_int_equal(check(&(struct buf){b.p, n}, 1, 7), KP_ERR_INVALID_RECORD);

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

    b.p[KC_BATCH_OFF_MAGIC] = 1; /* a legacy message set: the formats Kafka 4.0 dropped */
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

/* An idempotent batch passes the door (the log checks its sequence, atomically with the
 * append); a transactional one, or a transactional request, is 43. */
static void test_produce_idempotent_passes_transactional_refused_43(void **state)
{
    (void)state;
    struct buf b = load(BATCH("kcat_plain.bin"));
    kc_store_be64(b.p + KC_BATCH_OFF_PRODUCER_ID, 1000); /* an idempotent producer */
    kc_store_be16(b.p + KC_BATCH_OFF_PRODUCER_EPOCH, 0);
    kc_store_be32(b.p + KC_BATCH_OFF_BASE_SEQUENCE, 0);
    recrc(&b);
    assert_int_equal(check(&b, -1, 7), KP_ERR_NONE);
    kc_store_be16(b.p + KC_BATCH_OFF_ATTRIBUTES, KC_BATCH_ATTR_TRANSACTIONAL);
    recrc(&b);
    assert_int_equal(check(&b, -1, 7), KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    free(b.p);

    b = load(BATCH("kcat_plain.bin")); /* a plain batch, but a transactional request */
    assert_int_equal(brk__kafka_produce_check(-1, kp_slice_str("tx-1"), 7, sl(&b)),
                     KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    free(b.p);
}

/* The door's check agrees with the whole verdict on everything but the CRC and the
 * records, which it leaves to the store (brk_produce validates the batch as it appends it). */
static void test_produce_precheck_leaves_crc_and_records_to_store(void **state)
{
    (void)state;
    const char *names[] = {"kcat_plain.bin", "kcat_keyed_headers.bin", "kcat_gzip.bin",
                           "kcat_snappy.bin", "kcat_lz4.bin", "kcat_zstd.bin"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(names); i++) {
        char rel[128];
        snprintf(rel, sizeof(rel), BATCH("%s"), names[i]);
        struct buf b = load(rel);
        for (int16_t v = 3; v <= 11; v++)
            assert_int_equal(precheck(&b, 1, v), check(&b, 1, v));
        assert_int_equal(precheck(&b, 2, 7), KP_ERR_INVALID_REQUIRED_ACKS);
        for (size_t n = 0; n < b.len; n++) /* every cut: as the whole verdict says */
            assert_int_equal(precheck(&(struct buf){b.p, n}, 1, 7),
                             check(&(struct buf){b.p, n}, 1, 7));
        b.p[b.len - 1] ^= 0x20; /* under the CRC: not the door's business */
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
    kc_store_be64(b.p + KC_BATCH_OFF_PRODUCER_ID, 1000); /* idempotence: the log's to judge */
    assert_int_equal(precheck(&b, 1, 7), KP_ERR_NONE);
    free(b.p);
}

/* The store's refusals as Kafka's codes (what a produce answers when brk_produce says no). */
static void test_produce_store_errors_map_to_kafka_codes(void **state)
{
    (void)state;
    assert_int_equal(brk__kafka_produce_error(KC_ETOOLARGE), KP_ERR_MESSAGE_TOO_LARGE);
    assert_int_equal(brk__kafka_produce_error(KC_ECRC), KP_ERR_CORRUPT_MESSAGE);
    assert_int_equal(brk__kafka_produce_error(KC_EMALFORMED), KP_ERR_INVALID_RECORD);
    assert_int_equal(brk__kafka_produce_error(KC_EUNSUPPORTED), KP_ERR_INVALID_RECORD);
    assert_int_equal(brk__kafka_produce_error(KC_ENOPARTITION),
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(brk__kafka_produce_error(KC_ESEQUENCE), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(brk__kafka_produce_error(KC_EFENCED), KP_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(brk__kafka_produce_error(-EIO), KP_ERR_KAFKA_STORAGE_ERROR);
    assert_int_equal(brk__kafka_produce_error(-ENOSPC), KP_ERR_KAFKA_STORAGE_ERROR);
}

/* Two (topic, partition) pairs equal: both marked, whatever their places. */
static void test_dups_marks_every_occurrence_and_only_those(void **state)
{
    (void)state;
    struct brk_kafka_tp tp[] = {
        {(const uint8_t *)"a", 1, 0, 0}, {(const uint8_t *)"b", 1, 0, 1},
        {(const uint8_t *)"a", 1, 1, 2}, {(const uint8_t *)"ab", 2, 0, 3},
        {(const uint8_t *)"a", 1, 0, 4}, {(const uint8_t *)"b", 1, 0, 5},
        {(const uint8_t *)"a", 1, 0, 6},
    };
    bool dup[7] = {0};
    assert_int_equal(brk__kafka_dups(tp, 7, dup), 5);
    const bool want[7] = {true, true, false, false, true, true, true};
    for (int i = 0; i < 7; i++)
        assert_int_equal(dup[i], want[i]);
    bool one[1] = {0};
    assert_int_equal(brk__kafka_dups(tp, 1, one), 0);
}

/* Distinct pairs are never marked, whichever way they are found: the one-pass look for the
 * usual request, or the sort for the rest (partitions out of order, a topic named in two
 * places, many topics). */
static void test_dups_distinct_pairs_in_any_order_are_not_marked(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    struct brk_kafka_tp tp[10];
    bool dup[10] = {0};
    for (int i = 0; i < 4; i++) /* one topic, partitions ascending */
        tp[i] = (struct brk_kafka_tp){(const uint8_t *)"t", 1, i, i};
    assert_int_equal(brk__kafka_dups(tp, 4, dup), 0);
    for (int i = 0; i < 4; i++) /* descending */
        tp[i] = (struct brk_kafka_tp){(const uint8_t *)"t", 1, 3 - i, i};
    assert_int_equal(brk__kafka_dups(tp, 4, dup), 0);
    tp[0] = (struct brk_kafka_tp){(const uint8_t *)"a", 1, 0, 0}; /* "a" in two places */
    tp[1] = (struct brk_kafka_tp){(const uint8_t *)"b", 1, 0, 1};
    tp[2] = (struct brk_kafka_tp){(const uint8_t *)"a", 1, 1, 2};
    assert_int_equal(brk__kafka_dups(tp, 3, dup), 0);
    for (int i = 0; i < 10; i++) /* more topics than the one-pass look compares */
        tp[i] = (struct brk_kafka_tp){(const uint8_t *)names[i], 1, 0, i};
    assert_int_equal(brk__kafka_dups(tp, 10, dup), 0);
    for (int i = 0; i < 10; i++)
        assert_false(dup[i]);
    for (int i = 0; i < 10; i++) /* ... and a repeat among them is still found */
        tp[i] = (struct brk_kafka_tp){(const uint8_t *)names[i % 9], 1, 0, i};
    assert_int_equal(brk__kafka_dups(tp, 10, dup), 2);
    assert_true(dup[0] && dup[9]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_real_batches_every_codec_accepted),
        cmocka_unit_test(test_produce_acks_outside_set_invalid_required_acks),
        cmocka_unit_test(test_produce_framing_errors_invalid_record_or_corrupt),
        cmocka_unit_test(test_produce_crc_and_content_errors),
        cmocka_unit_test(test_produce_idempotent_passes_transactional_refused_43),
        cmocka_unit_test(test_produce_precheck_leaves_crc_and_records_to_store),
        cmocka_unit_test(test_produce_store_errors_map_to_kafka_codes),
        cmocka_unit_test(test_dups_marks_every_occurrence_and_only_those),
        cmocka_unit_test(test_dups_distinct_pairs_in_any_order_are_not_marked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
