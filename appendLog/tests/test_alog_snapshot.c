/*
 * test_alog_snapshot.c - the producer snapshot codec against Kafka's layout: a file built
 * field by field here (an independent encoder, software CRC) decodes to its entries and
 * the log's encoder writes the same bytes; every truncated prefix is "need more"; every
 * flipped byte after the version is a CRC mismatch; other versions, a negative count and
 * trailing bytes are refused; a count that would overflow a size never reads past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alog_producer.h"
#include "kc_buf.h"
#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_test.h"

static const struct alog_snapshot_entry entries[] = {
    {1000, 0, 4, 17, 4, 1700000000123LL, -1, -1},
    {1001, 3, INT32_MAX, 9000000000LL, 0, 1700000000999LL, -1, -1},
    {7, -1, -1, -1, 0, -1, -1, -1}, /* a producer with no batch (Kafka: epoch only) */
};
#define NENT 3

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }

/* Kafka's PID_SNAPSHOT_MAP_SCHEMA, written field by field. */
static size_t reference(uint8_t *out, const struct alog_snapshot_entry *e, int n)
{
    put16(out, 1);
    put32(out + 6, (uint32_t)n);
    uint8_t *q = out + 10;
    for (int i = 0; i < n; i++, q += 46) {
        put64(q, (uint64_t)e[i].producer_id);
        put16(q + 8, (uint16_t)e[i].epoch);
        put32(q + 10, (uint32_t)e[i].last_sequence);
        put64(q + 14, (uint64_t)e[i].last_offset);
        put32(q + 22, (uint32_t)e[i].offset_delta);
        put64(q + 26, (uint64_t)e[i].timestamp);
        put32(q + 34, (uint32_t)e[i].coordinator_epoch);
        put64(q + 38, (uint64_t)e[i].txn_first_offset);
    }
    size_t len = (size_t)(q - out);
    put32(out + 2, kc_crc32c_sw(0, out + 6, len - 6));
    return len;
}

static void test_snapshot_encode_matches_kafka_layout(void **state)
{
    (void)state;
    uint8_t want[10 + 46 * NENT];
    size_t n = reference(want, entries, NENT);
    assert_int_equal(n, sizeof(want));
    struct kc_writer w;
    kc_writer_init(&w, 0);
    kc_write_raw(&w, "xyz", 3); /* the encoder appends to what the writer holds */
    assert_int_equal(alog_snapshot_encode(&w, entries, NENT), 0);
    assert_int_equal(kc_writer_len(&w), 3 + n);
    assert_memory_equal(kc_writer_data(&w) + 3, want, n);
    kc_writer_fini(&w);
}

static void same_entry(const struct alog_snapshot_entry *a, const struct alog_snapshot_entry *b)
{
    assert_int_equal(a->producer_id, b->producer_id);
    assert_int_equal(a->epoch, b->epoch);
    assert_int_equal(a->last_sequence, b->last_sequence);
    assert_int_equal(a->last_offset, b->last_offset);
    assert_int_equal(a->offset_delta, b->offset_delta);
    assert_int_equal(a->timestamp, b->timestamp);
    assert_int_equal(a->coordinator_epoch, b->coordinator_epoch);
    assert_int_equal(a->txn_first_offset, b->txn_first_offset);
}

static void test_snapshot_decode_reads_each_entry(void **state)
{
    (void)state;
    uint8_t buf[10 + 46 * NENT];
    size_t n = reference(buf, entries, NENT);
    int32_t count = -5;
    assert_int_equal(alog_snapshot_decode(buf, n, &count), 0);
    assert_int_equal(count, NENT);
    for (int i = 0; i < NENT; i++) {
        struct alog_snapshot_entry e;
        alog_snapshot_entry_at(buf, i, &e);
        same_entry(&e, &entries[i]);
    }
    uint8_t empty[10];
    assert_int_equal(reference(empty, NULL, 0), 10);
    assert_int_equal(alog_snapshot_decode(empty, 10, &count), 0);
    assert_int_equal(count, 0);
}

static void test_snapshot_every_prefix_needs_more(void **state)
{
    (void)state;
    uint8_t buf[10 + 46 * NENT];
    size_t n = reference(buf, entries, NENT);
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, buf, len);
        int32_t count = -5;
        assert_int_equal(alog_snapshot_decode(copy, len, &count), KC_ENEEDMORE);
        assert_int_equal(count, -5); /* out-parameters only on success */
        free(copy);
    }
}

static void test_snapshot_flipped_byte_is_crc_mismatch(void **state)
{
    (void)state;
    uint8_t buf[10 + 46 * NENT];
    size_t n = reference(buf, entries, NENT);
    int32_t count;
    for (size_t i = 2; i < n; i++) {
        if (i >= 6 && i < 10)
            continue; /* the count: below */
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(alog_snapshot_decode(buf, n, &count), KC_ECRC);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* A count that still fits the bytes cannot be told by its length: the CRC tells. */
    uint8_t two[10 + 46 * 2];
    size_t m = reference(two, entries, 2);
    put32(two + 6, 1); /* claims one entry of two-entry bytes: trailing bytes */
    assert_int_equal(alog_snapshot_decode(two, m, &count), KC_EMALFORMED);
    assert_int_equal(alog_snapshot_decode(two, 10 + 46, &count), KC_ECRC);
}

static void test_snapshot_versions_counts_trailing_refused(void **state)
{
    (void)state;
    uint8_t buf[10 + 46 * NENT + 1];
    size_t n = reference(buf, entries, NENT);
    int32_t count;
    for (int v = -1; v <= 3; v++) {
        put16(buf, (uint16_t)v);
        assert_int_equal(alog_snapshot_decode(buf, n, &count), v == 1 ? 0 : KC_EUNSUPPORTED);
    }
    put16(buf, 1);
    buf[n] = 0;
    assert_int_equal(alog_snapshot_decode(buf, n + 1, &count), KC_EMALFORMED); /* trailing */
    put32(buf + 6, 0xffffffffu);
    assert_int_equal(alog_snapshot_decode(buf, n, &count), KC_EMALFORMED); /* count -1 */
    put32(buf + 6, 0x80000000u);
    assert_int_equal(alog_snapshot_decode(buf, n, &count), KC_EMALFORMED);
    put32(buf + 6, 0x7fffffffu); /* 98 GB of entries claimed: need more, no overflow */
    assert_int_equal(alog_snapshot_decode(buf, n, &count), KC_ENEEDMORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_encode_matches_kafka_layout),
        cmocka_unit_test(test_snapshot_decode_reads_each_entry),
        cmocka_unit_test(test_snapshot_every_prefix_needs_more),
        cmocka_unit_test(test_snapshot_flipped_byte_is_crc_mismatch),
        cmocka_unit_test(test_snapshot_versions_counts_trailing_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
