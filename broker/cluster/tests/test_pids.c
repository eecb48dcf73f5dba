/* test_pids.c - producer id blocks without ZooKeeper (clu_pids.h): the body of
 * /latest_producer_id_block as Kafka writes it, every truncated prefix, bad input
 * (negative, overflowing, end before start, numbers where Kafka writes strings), the block
 * after a block, and the slot: ids in order, the 90% prefetch point, the spare, and the
 * refusal of any block that would hand out an id twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clu_pids.h"
#include "kc_common.h"
#include "kc_test.h"

/* As Kafka's ProducerIdBlockZNode writes it. */
static const char kafka_body[] =
    "{\"version\":1,\"broker\":2,\"block_start\":\"3000\",\"block_end\":\"3999\"}";

static void test_pids_block_decode_kafka_body_read(void **state)
{
    (void)state;
    struct clu_pids_block b;
    assert_int_equal(clu_pids_block_decode(kafka_body, strlen(kafka_body), &b), 0);
    assert_int_equal(b.broker, 2);
    assert_int_equal(b.start, 3000);
    assert_int_equal(b.end, 3999);
    /* members in another order, whitespace, an unknown member: still read */
    const char *other = " { \"block_end\" : \"0\", \"x\":[1], \"block_start\":\"0\", "
                        "\"broker\":0, \"version\":1 } ";
    assert_int_equal(clu_pids_block_decode(other, strlen(other), &b), 0);
    assert_int_equal(b.start, 0);
    assert_int_equal(b.end, 0);
}

static void test_pids_block_encode_exact_roundtrip(void **state)
{
    (void)state;
    char buf[CLU_PIDS_BODY_MAX];
    struct clu_pids_block b = {2, 3000, 3999}, back;
    int n = clu_pids_block_encode(&b, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(kafka_body));
    assert_string_equal(buf, kafka_body);
    struct clu_pids_block big = {INT32_MAX, INT64_MAX - 1, INT64_MAX};
    n = clu_pids_block_encode(&big, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(clu_pids_block_decode(buf, (size_t)n, &back), 0);
    assert_int_equal(back.broker, big.broker);
    assert_true(back.start == big.start && back.end == big.end);
    assert_int_equal(clu_pids_block_encode(&b, buf, 20), -ENOSPC);
    struct clu_pids_block bad[] = {{-1, 0, 1}, {0, -1, 5}, {0, 10, 9}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(clu_pids_block_encode(&bad[i], buf, sizeof(buf)), -EINVAL);
}

static void test_pids_block_decode_every_prefix_malformed(void **state)
{
    (void)state;
    struct clu_pids_block b;
    size_t n = strlen(kafka_body);
    for (size_t len = 0; len < n; len++) {
        int rc = clu_pids_block_decode(kafka_body, len, &b);
        if (rc != KC_EMALFORMED)
            fail_msg("prefix of %zu bytes: %d", len, rc);
    }
}

static void test_pids_block_decode_bad_input_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "null",
        "{}",
        /* version */
        "{\"version\":2,\"broker\":1,\"block_start\":\"0\",\"block_end\":\"999\"}",
        "{\"broker\":1,\"block_start\":\"0\",\"block_end\":\"999\"}",
        "{\"version\":\"1\",\"broker\":1,\"block_start\":\"0\",\"block_end\":\"999\"}",
        /* broker */
        "{\"version\":1,\"block_start\":\"0\",\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":-1,\"block_start\":\"0\",\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":2147483648,\"block_start\":\"0\",\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":1.5,\"block_start\":\"0\",\"block_end\":\"999\"}",
        /* the ids: missing, negative, overflowing, not decimal, numbers, end < start */
        "{\"version\":1,\"broker\":1,\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"0\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"-1\",\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"0\",\"block_end\":\"-999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"0\",\"block_end\":\"9223372036854775808\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"0\","
        "\"block_end\":\"99999999999999999999999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"+1\",\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\" 1\",\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"01\",\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"1e3\",\"block_end\":\"9999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"\",\"block_end\":\"999\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":0,\"block_end\":999}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"1000\",\"block_end\":\"999\"}",
        /* a key twice, trailing garbage */
        "{\"version\":1,\"broker\":1,\"block_start\":\"0\",\"block_start\":\"5\","
        "\"block_end\":\"9\"}",
        "{\"version\":1,\"broker\":1,\"block_start\":\"0\",\"block_end\":\"999\"}x",
    };
    struct clu_pids_block b;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = clu_pids_block_decode(bad[i], strlen(bad[i]), &b);
        if (rc != KC_EMALFORMED)
            fail_msg("accepted (%d): %s", rc, bad[i]);
    }
}

static void test_pids_block_after_next_thousand(void **state)
{
    (void)state;
    struct clu_pids_block prev = {1, 3000, 3999}, next;
    assert_int_equal(clu_pids_block_after(&prev, 3, &next), 0);
    assert_int_equal(next.broker, 3);
    assert_int_equal(next.start, 4000);
    assert_int_equal(next.end, 4999);
    prev.end = INT64_MAX - CLU_PIDS_BLOCK_SIZE;
    assert_int_equal(clu_pids_block_after(&prev, 3, &next), 0);
    assert_int_equal(next.end, INT64_MAX);
    prev.end = INT64_MAX - CLU_PIDS_BLOCK_SIZE + 1;
    assert_int_equal(clu_pids_block_after(&prev, 3, &next), -EOVERFLOW);
}

static void test_pids_slot_empty_wants_and_refuses(void **state)
{
    (void)state;
    struct clu_pids_slot s;
    int64_t id;
    clu_pids_slot_init(&s);
    assert_true(clu_pids_slot_wants(&s));
    assert_int_equal(clu_pids_slot_take(&s, &id), -EAGAIN);
}

static void test_pids_slot_prefetch_at_ninety_percent(void **state)
{
    (void)state;
    struct clu_pids_slot s;
    int64_t id;
    clu_pids_slot_init(&s);
    struct clu_pids_block a = {1, 0, 999}, b = {1, 3000, 3999};
    assert_int_equal(clu_pids_slot_offer(&s, &a), 0);
    for (int i = 0; i < 900; i++) {
        assert_false(clu_pids_slot_wants(&s));
        assert_int_equal(clu_pids_slot_take(&s, &id), 0);
        assert_int_equal(id, i);
    }
    assert_true(clu_pids_slot_wants(&s)); /* 900 of 1000 used */
    assert_int_equal(clu_pids_slot_offer(&s, &b), 0);
    assert_false(clu_pids_slot_wants(&s)); /* a spare is there */
    for (int i = 900; i < 1000; i++) {
        assert_int_equal(clu_pids_slot_take(&s, &id), 0);
        assert_int_equal(id, i);
    }
    assert_int_equal(clu_pids_slot_take(&s, &id), 0); /* the spare becomes current */
    assert_int_equal(id, 3000);
    assert_false(clu_pids_slot_wants(&s));
    for (int i = 3001; i < 4000; i++) {
        assert_int_equal(clu_pids_slot_take(&s, &id), 0);
        assert_int_equal(id, i);
    }
    assert_true(clu_pids_slot_wants(&s));
    assert_int_equal(clu_pids_slot_take(&s, &id), -EAGAIN); /* spent, nothing ready */
}

static void test_pids_slot_offer_reuse_refused(void **state)
{
    (void)state;
    struct clu_pids_slot s;
    int64_t id;
    clu_pids_slot_init(&s);
    struct clu_pids_block a = {1, 1000, 1999}, older = {1, 0, 999}, overlap = {1, 1500, 2499},
                          empty = {1, 5000, 4999}, c = {1, 2000, 2999}, d = {1, 3000, 3999};
    assert_int_equal(clu_pids_slot_offer(&s, &a), 0);
    assert_int_equal(clu_pids_slot_offer(&s, &older), -EINVAL);
    assert_int_equal(clu_pids_slot_offer(&s, &a), -EINVAL); /* the same block twice */
    assert_int_equal(clu_pids_slot_offer(&s, &overlap), -EINVAL);
    assert_int_equal(clu_pids_slot_offer(&s, &empty), -EINVAL);
    assert_int_equal(clu_pids_slot_offer(&s, &c), 0);      /* the spare */
    assert_int_equal(clu_pids_slot_offer(&s, &d), -EBUSY); /* one spare at most */
    assert_int_equal(clu_pids_slot_take(&s, &id), 0);
    assert_int_equal(id, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pids_block_decode_kafka_body_read),
        cmocka_unit_test(test_pids_block_encode_exact_roundtrip),
        cmocka_unit_test(test_pids_block_decode_every_prefix_malformed),
        cmocka_unit_test(test_pids_block_decode_bad_input_malformed),
        cmocka_unit_test(test_pids_block_after_next_thousand),
        cmocka_unit_test(test_pids_slot_empty_wants_and_refuses),
        cmocka_unit_test(test_pids_slot_prefetch_at_ninety_percent),
        cmocka_unit_test(test_pids_slot_offer_reuse_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
