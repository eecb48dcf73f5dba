/*
 * test_0001_commands.c - every native command against a real broker, the happy paths:
 * create, produce (round-robin, keyed, explicit, acks 0/1/all), consume, commit and fetch
 * offsets, produce-batch, consume-batch (trimming, max_bytes, whole batches), metadata,
 * ping, info, and a pipeline of acks=all produces answered in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "kc_common.h"
#include "kc_test.h"
#include "part.h"

#define S(s) np_str(s)

static void create(struct np_client *c, const char *topic, int32_t parts)
{
    struct np_create_topic_resp r;
    int rc = np_client_create_topic(c, topic, parts, &r);
    if (rc)
        fail_msg("create %s: %s %s", topic, np_strerror(rc), c->errmsg);
    assert_int_equal(r.partitions, parts);
}

static struct np_produce_resp produce(struct np_client *c, const char *topic, int32_t part,
                                      const char *key, const char *value, int16_t acks)
{
    struct np_produce_resp r = {-7, -7};
    struct np_produce_req req = {S(topic), part, acks, -1, S(key), S(value)};
    int rc = np_client_produce(c, &req, &r);
    if (rc)
        fail_msg("produce: %s %s", np_strerror(rc), c->errmsg);
    return r;
}

static void expect_record(struct np_client *c, const char *topic, int32_t part, int64_t off,
                          const char *key, const char *value)
{
    struct np_consume_resp r;
    int rc = np_client_consume(c, &(struct np_consume_req){S(topic), part, off}, &r);
    if (rc)
        fail_msg("consume %s-%d@%lld: %s %s", topic, part, (long long)off, np_strerror(rc),
                 c->errmsg);
    assert_int_equal(r.offset, off);
    assert_true(r.timestamp > 1600000000000LL);
    assert_int_equal(r.value.len, (int32_t)strlen(value));
    assert_memory_equal(r.value.p, value, strlen(value));
    if (key) {
        assert_int_equal(r.key.len, (int32_t)strlen(key));
        assert_memory_equal(r.key.p, key, strlen(key));
    } else {
        assert_int_equal(r.key.len, -1);
    }
}

static void test_0001_produce_consume_roundtrip_every_partitioner(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    kb_client(b, &c);
    create(&c, "payments", 3);
    /* keyless: round-robin over the partitions */
    struct np_produce_resp r0 = produce(&c, "payments", -1, NULL, "Hello World", 1);
    struct np_produce_resp r1 = produce(&c, "payments", -1, NULL, "second", 1);
    struct np_produce_resp r2 = produce(&c, "payments", -1, NULL, "third", 1);
    assert_int_not_equal(r0.partition, r1.partition);
    assert_int_not_equal(r1.partition, r2.partition);
    assert_int_equal(r0.offset, 0);
    expect_record(&c, "payments", r0.partition, 0, NULL, "Hello World");
    /* keyed: where Kafka's default partitioner puts it, every time */
    int32_t want = part_for_key("user-42", 7, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(produce(&c, "payments", -1, "user-42", "k", 1).partition, want);
    /* explicit partition, acks=all, a known timestamp */
    struct np_produce_req req = {S("payments"), 2, NP_ACKS_ALL, 1700000000123LL, S("k2"), S("v2")};
    struct np_produce_resp r;
    assert_int_equal(np_client_produce(&c, &req, &r), 0);
    assert_int_equal(r.partition, 2);
    struct np_consume_resp cr;
    assert_int_equal(np_client_consume(&c, &(struct np_consume_req){S("payments"), 2, r.offset}, &cr),
                     0);
    assert_int_equal(cr.timestamp, 1700000000123LL);
    assert_int_equal(cr.log_end, r.offset + 1);
    expect_record(&c, "payments", 2, r.offset, "k2", "v2");
    /* acks=0: no answer; a ping afterwards proves it was processed */
    produce(&c, "payments", 1, NULL, "fire-and-forget", 0);
    assert_int_equal(np_client_ping(&c, "x", 1), 0);
    assert_int_equal(c.async_err, 0);
    struct np_metadata_resp md;
    assert_int_equal(np_client_metadata(&c, "payments", &md), 0);
    np_client_close(&c);
}

static void test_0001_empty_and_null_values_roundtrip(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_produce_resp r;
    struct np_consume_resp cr;
    kb_client(b, &c);
    create(&c, "odd", 1);
    struct np_produce_req req = {S("odd"), 0, 1, -1, {NULL, -1}, {NULL, -1}};
    assert_int_equal(np_client_produce(&c, &req, &r), 0);
    assert_int_equal(np_client_consume(&c, &(struct np_consume_req){S("odd"), 0, r.offset}, &cr), 0);
    assert_int_equal(cr.value.len, -1);
    assert_int_equal(cr.key.len, -1);
    req.value = (struct kc_slice){(const uint8_t *)"", 0};
    assert_int_equal(np_client_produce(&c, &req, &r), 0);
    assert_int_equal(np_client_consume(&c, &(struct np_consume_req){S("odd"), 0, r.offset}, &cr), 0);
    assert_int_equal(cr.value.len, 0);
    np_client_close(&c);
}

static void test_0001_commit_and_fetch_offsets(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_fetch_offset_resp fr;
    kb_client(b, &c);
    create(&c, "payments", 2);
    struct np_fetch_offset_req q = {S("groupA"), S("payments"), 0};
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, -1); /* nothing committed yet */
    struct np_commit_req cm = {S("groupA"), S("payments"), 0, 15, S("note")};
    assert_int_equal(np_client_commit(&c, &cm), 0);
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, 15);
    assert_int_equal(fr.metadata.len, 4);
    assert_memory_equal(fr.metadata.p, "note", 4);
    cm.offset = 3; /* may go backwards, as in Kafka */
    cm.metadata = (struct kc_slice){NULL, -1};
    assert_int_equal(np_client_commit(&c, &cm), 0);
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, 3);
    /* other groups and partitions are separate */
    q.partition = 1;
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, -1);
    q = (struct np_fetch_offset_req){S("groupB"), S("payments"), 0};
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, -1);
    np_client_close(&c);
}

/* Consume-batch answers with whole stored batches from the one holding the offset. */
static void test_0001_batch_produce_and_consume_whole_batches(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_produce_batch_resp pr;
    struct np_consume_batch_resp cr;
    size_t len;
    kb_client(b, &c);
    create(&c, "logs", 1);
    for (int k = 0; k < 3; k++) {
        uint8_t *batch = kb_batch("error", 10, &len);
        struct np_produce_batch_req req = {S("logs"), -1, 1, {batch, (int32_t)len}};
        assert_int_equal(np_client_produce_batch(&c, &req, &pr), 0);
        assert_int_equal(pr.partition, 0);
        assert_int_equal(pr.base_offset, 10 * k);
        assert_int_equal(pr.count, 10);
        free(batch);
    }
    /* offset 15 lies in the second batch: it comes whole, starting at 10 */
    struct np_consume_batch_req q = {S("logs"), 0, 15, 5, 1, 0};
    assert_int_equal(np_client_consume_batch(&c, &q, &cr), 0);
    assert_int_equal(cr.log_start, 0);
    assert_int_equal(cr.log_end, 30);
    int size = kc_batch_validate(cr.records.p, (size_t)cr.records.len, NULL);
    assert_int_equal(size, cr.records.len); /* max_bytes 1: exactly one batch */
    assert_int_equal(kc_batch_base_offset(cr.records.p), 10);
    /* a large max_bytes: every batch from there on */
    q.max_bytes = 1 << 20;
    assert_int_equal(np_client_consume_batch(&c, &q, &cr), 0);
    int batches = 0;
    for (size_t off = 0; off < (size_t)cr.records.len; batches++) {
        size = kc_batch_validate(cr.records.p + off, (size_t)cr.records.len - off, NULL);
        assert_true(size > 0);
        off += (size_t)size;
    }
    assert_int_equal(batches, 2);
    /* at the end with no wait: an empty answer, not an error */
    q.offset = 30;
    assert_int_equal(np_client_consume_batch(&c, &q, &cr), 0);
    assert_int_equal(cr.records.len, 0);
    assert_int_equal(cr.log_end, 30);
    /* each record of a batch is also readable alone */
    expect_record(&c, "logs", 0, 27, NULL, "error7");
    np_client_close(&c);
}

static void test_0001_metadata_ping_info(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_metadata_resp md;
    struct np_metadata_iter it;
    struct np_topic_meta tm;
    struct np_partition_meta pm;
    struct np_info_resp info;
    kb_client(b, &c);
    create(&c, "b-topic", 2);
    create(&c, "a-topic", 1);
    produce(&c, "b-topic", 1, NULL, "x", 1);
    assert_int_equal(np_client_metadata(&c, NULL, &md), 0);
    np_metadata_iter_init(&it, &md);
    const char *want[] = {"__consumer_offsets", "a-topic", "b-topic"}; /* sorted */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(np_metadata_next(&it, &tm), 1);
        assert_int_equal(tm.name.len, (int32_t)strlen(want[i]));
        assert_memory_equal(tm.name.p, want[i], strlen(want[i]));
    }
    assert_int_equal(tm.npartitions, 2);
    np_metadata_part(&tm, 1, &pm);
    assert_int_equal(pm.partition, 1);
    assert_int_equal(pm.log_end, 1);
    assert_int_equal(np_metadata_next(&it, &tm), 0);
    static uint8_t big[100000];
    memset(big, 'p', sizeof(big));
    assert_int_equal(np_client_ping(&c, big, sizeof(big)), 0);
    assert_int_equal(np_client_info(&c, &info), 0);
    assert_int_equal(info.default_partitions, 1);
    assert_int_equal(info.max_request_bytes, 104857600);
    assert_true(info.network_threads >= 1);
    np_client_close(&c);
}

/* Pipelined acks=all produces on one connection: all answered, in order, offsets in order
 * (they share fsyncs: the answers do not wait for one fsync each). */
static void test_0001_pipelined_acks_all_answered_in_order(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_frame f;
    struct np_produce_resp r;
    const int n = 500;
    kb_client(b, &c);
    create(&c, "durable", 1);
    uint32_t first = c.next_corr;
    for (int i = 0; i < n; i++) {
        struct np_produce_req req = {S("durable"), 0, NP_ACKS_ALL, -1, {NULL, -1}, S("d")};
        np_encode_produce(np_client_out(&c), np_client_next_corr(&c), &req);
        if (i == n / 2) /* an answered-at-once request in the middle must wait its turn */
            np_encode_ping(np_client_out(&c), np_client_next_corr(&c),
                           &(struct np_ping_req){S("mid")});
    }
    assert_int_equal(np_client_flush(&c), 0);
    int64_t expect_offset = 0;
    for (uint32_t corr = first; corr < first + (uint32_t)n + 1; corr++) {
        assert_int_equal(np_client_recv(&c, &f), 0);
        assert_int_equal(f.h.corr, corr);
        assert_int_equal(np_client_check(&c, &f), 0);
        if (f.h.cmd == NP_PING)
            continue;
        assert_int_equal(np_decode_produce_resp(f.body, f.body_len, &r), 0);
        assert_int_equal(r.offset, expect_offset++);
    }
    np_client_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0001_produce_consume_roundtrip_every_partitioner,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0001_empty_and_null_values_roundtrip,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0001_commit_and_fetch_offsets, kb_setup_started,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0001_batch_produce_and_consume_whole_batches,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0001_metadata_ping_info, kb_setup_started,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0001_pipelined_acks_all_answered_in_order,
                                        kb_setup_started, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
