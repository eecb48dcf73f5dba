/*
 * test_0002_errors.c - every error the native protocol defines, provoked against a real
 * broker: each gets its code and a message that says what was wrong, and the connection
 * stays usable afterwards (a ping still works), unlike the original, which closed it.
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

#define S(s) np_str(s)

/* rc must be the broker error `code`, with msg in its message; the connection lives on. */
static void expect_err(struct np_client *c, int rc, int code, const char *msg)
{
    if (rc != NP_ERR(code))
        fail_msg("want %s, got %s (%d): %s", np_error_name(code),
                 np_is_err(rc) ? np_error_name(np_err_code(rc)) : np_strerror(rc), rc, c->errmsg);
    if (msg && !strstr(c->errmsg, msg))
        fail_msg("%s: message '%s' lacks '%s'", np_error_name(code), c->errmsg, msg);
    assert_int_equal(np_client_ping(c, "alive", 5), 0);
}

static void setup_topics(struct np_client *c)
{
    struct np_create_topic_resp r;
    struct np_produce_resp pr;
    assert_int_equal(np_client_create_topic(c, "t", 2, &r), 0);
    struct np_produce_req req = {S("t"), 0, 1, -1, {NULL, -1}, S("v")};
    for (int i = 0; i < 3; i++)
        assert_int_equal(np_client_produce(c, &req, &pr), 0);
}

static void test_0002_create_errors(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_create_topic_resp r;
    char long_name[251];
    kb_client(b, &c);
    setup_topics(&c);
    expect_err(&c, np_client_create_topic(&c, "t", 2, &r), NP_E_TOPIC_EXISTS, "'t' already exists");
    expect_err(&c, np_client_create_topic(&c, "__consumer_offsets", 1, &r), NP_E_TOPIC_EXISTS, NULL);
    const char *bad[] = {"../etc", "a/b", "", ".", "..", "sp ace", "caf\xc3\xa9"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        expect_err(&c, np_client_create_topic(&c, bad[i], 1, &r), NP_E_INVALID_TOPIC,
                   "not a valid topic name");
    memset(long_name, 'x', 250);
    long_name[250] = '\0';
    expect_err(&c, np_client_create_topic(&c, long_name, 1, &r), NP_E_INVALID_TOPIC, NULL);
    long_name[249] = '\0'; /* 249 is the longest allowed */
    assert_int_equal(np_client_create_topic(&c, long_name, 1, &r), 0);
    expect_err(&c, np_client_create_topic(&c, "zero", 0, &r), NP_E_INVALID_PARTITIONS, "0 partitions");
    expect_err(&c, np_client_create_topic(&c, "neg", -2, &r), NP_E_INVALID_PARTITIONS, NULL);
    expect_err(&c, np_client_create_topic(&c, "huge", 100001, &r), NP_E_INVALID_PARTITIONS, "1 to 100000");
    assert_int_equal(np_client_create_topic(&c, "dflt", -1, &r), 0); /* -1: num.partitions */
    assert_int_equal(r.partitions, 1);
    np_client_close(&c);
}

/* The unknown-topic errors of produce need a broker that does not auto-create. */
static int setup_no_autocreate(void **state)
{
    kb_setup(state);
    kb_start(*state, (const char *const[]){"--override", "auto.create.topics.enable=false",
                                           NULL});
    return 0;
}

/* By default a produce to a missing topic creates it with num.partitions, as in Kafka;
 * reading a missing topic never does. */
static void test_0002_produce_auto_creates_reading_does_not(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_produce_resp r;
    struct np_consume_resp cr;
    struct np_metadata_resp md;
    kb_client(b, &c);
    struct np_consume_req q = {S("unread"), 0, 0};
    expect_err(&c, np_client_consume(&c, &q, &cr), NP_E_UNKNOWN_TOPIC, NULL);
    struct np_produce_req req = {S("fresh"), -1, 1, -1, {NULL, -1}, S("v")};
    assert_int_equal(np_client_produce(&c, &req, &r), 0);
    assert_int_equal(r.offset, 0);
    assert_int_equal(np_client_metadata(&c, "fresh", &md), 0);
    assert_int_equal(md.ntopics, 1);
    struct np_metadata_iter it;
    struct np_topic_meta tm;
    np_metadata_iter_init(&it, &md);
    assert_int_equal(np_metadata_next(&it, &tm), 1);
    assert_int_equal(tm.npartitions, 3); /* num.partitions, set by the setup */
    req.topic = S("__consumer_offsetz/..");
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_INVALID_TOPIC, NULL);
    np_client_close(&c);
}

static int setup_three_partitions(void **state)
{
    kb_setup(state);
    kb_start(*state, (const char *const[]){"--override", "num.partitions=3", NULL});
    return 0;
}

static void test_0002_produce_errors(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_produce_resp r;
    kb_client(b, &c);
    setup_topics(&c);
    struct np_produce_req req = {S("nope"), -1, 1, -1, {NULL, -1}, S("v")};
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_UNKNOWN_TOPIC, "'nope' does not exist");
    req.topic = S("../x");
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_INVALID_TOPIC, NULL);
    req.topic = S("t");
    req.partition = 2;
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_UNKNOWN_PARTITION, "partitions 0 to 1, not 2");
    req.partition = -5;
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_UNKNOWN_PARTITION, NULL);
    req.partition = 0;
    req.acks = 2;
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_INVALID_ACKS, "acks 2");
    req.acks = 1;
    req.timestamp = -5;
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_INVALID_REQUEST, "timestamp");
    req.timestamp = -1;
    req.topic = S("__consumer_offsets");
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_INTERNAL_TOPIC, "belongs to the broker");
    req.topic = S("t");
    static char big[1100000];
    memset(big, 'b', sizeof(big));
    req.value = (struct kc_slice){(const uint8_t *)big, (int32_t)sizeof(big)};
    expect_err(&c, np_client_produce(&c, &req, &r), NP_E_RECORD_TOO_LARGE, NULL);
    /* acks=0 errors are answered too (a success would not be) */
    req.value = S("v");
    req.acks = 0;
    req.topic = S("nope");
    assert_int_equal(np_client_produce(&c, &req, &r), 0);
    assert_int_equal(np_client_ping(&c, "barrier", 7), 0);
    assert_int_equal(c.async_err, NP_ERR(NP_E_UNKNOWN_TOPIC));
    np_client_close(&c);
}

/* Set a batch's attributes and make its CRC right again. */
static void set_attributes(uint8_t *batch, size_t len, uint16_t attr)
{
    kc_store_be16(batch + KC_BATCH_OFF_ATTRIBUTES, attr);
    kc_store_be32(batch + KC_BATCH_OFF_CRC,
                  kc_crc32c(0, batch + KC_BATCH_OFF_ATTRIBUTES, len - KC_BATCH_OFF_ATTRIBUTES));
}

static int send_batch(struct np_client *c, const uint8_t *p, size_t len)
{
    struct np_produce_batch_resp r;
    struct np_produce_batch_req req = {S("t"), 0, 1, {p, (int32_t)len}};
    return np_client_produce_batch(c, &req, &r);
}

static void test_0002_batch_errors(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    size_t len;
    kb_client(b, &c);
    setup_topics(&c);
    uint8_t *batch = kb_batch("rec", 5, &len);
    uint8_t *two = malloc(2 * len);
    memcpy(two, batch, len);
    memcpy(two + len, batch, len);
    expect_err(&c, send_batch(&c, two, 2 * len), NP_E_CORRUPT_BATCH, NULL); /* two batches */
    expect_err(&c, send_batch(&c, batch, len - 1), NP_E_CORRUPT_BATCH, NULL); /* cut short */
    expect_err(&c, send_batch(&c, batch, 0), NP_E_CORRUPT_BATCH, NULL);
    expect_err(&c, send_batch(&c, (const uint8_t *)"garbage, not a batch at all", 27),
               NP_E_CORRUPT_BATCH, NULL);
    batch[len - 1] ^= 1;
    expect_err(&c, send_batch(&c, batch, len), NP_E_CORRUPT_BATCH, "CRC"); /* bad CRC */
    batch[len - 1] ^= 1;
    kc_store_be32(batch + KC_BATCH_OFF_RECORDS_COUNT, 6); /* a count that lies */
    set_attributes(batch, len, 0);
    expect_err(&c, send_batch(&c, batch, len), NP_E_CORRUPT_BATCH, NULL);
    kc_store_be32(batch + KC_BATCH_OFF_RECORDS_COUNT, 5);
    set_attributes(batch, len, KC_BATCH_ATTR_CONTROL | KC_BATCH_ATTR_TRANSACTIONAL);
    expect_err(&c, send_batch(&c, batch, len), NP_E_CORRUPT_BATCH, NULL); /* control batch */
    set_attributes(batch, len, 0);
    assert_int_equal(send_batch(&c, batch, len), 0); /* and the repaired batch goes in */
    struct np_produce_batch_req req = {S("t"), 0, 5, {batch, (int32_t)len}};
    struct np_produce_batch_resp r;
    expect_err(&c, np_client_produce_batch(&c, &req, &r), NP_E_INVALID_ACKS, NULL);
    free(two);
    free(batch);
    np_client_close(&c);
}

static void test_0002_consume_errors(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_consume_resp r;
    struct np_consume_batch_resp br;
    size_t len;
    kb_client(b, &c);
    setup_topics(&c); /* t-0 holds offsets 0..2 */
    struct np_consume_req q = {S("t"), 0, 3};
    int rc = np_client_consume(&c, &q, &r);
    assert_int_equal(c.err_log_end, 3); /* the error body says where the log ends */
    expect_err(&c, rc, NP_E_END_OF_LOG, "offset 3 is the end of t-0");
    q.offset = 4;
    rc = np_client_consume(&c, &q, &r);
    assert_int_equal(c.err_log_start, 0);
    assert_int_equal(c.err_log_end, 3);
    expect_err(&c, rc, NP_E_OFFSET_OUT_OF_RANGE, "holds offsets 0 to 2");
    q.offset = -1;
    expect_err(&c, np_client_consume(&c, &q, &r), NP_E_OFFSET_OUT_OF_RANGE, NULL);
    q = (struct np_consume_req){S("nope"), 0, 0};
    expect_err(&c, np_client_consume(&c, &q, &r), NP_E_UNKNOWN_TOPIC, NULL);
    q = (struct np_consume_req){S("t"), 9, 0};
    expect_err(&c, np_client_consume(&c, &q, &r), NP_E_UNKNOWN_PARTITION, NULL);
    /* a compressed batch is stored as it came; one record of it cannot be served alone */
    uint8_t *batch = kb_batch("z", 3, &len);
    set_attributes(batch, len, KC_COMPRESS_GZIP);
    assert_int_equal(send_batch(&c, batch, len), 0);
    q = (struct np_consume_req){S("t"), 0, 4};
    expect_err(&c, np_client_consume(&c, &q, &r), NP_E_COMPRESSED, "compressed batch");
    struct np_consume_batch_req bq = {S("t"), 0, 4, 10, 1 << 20, 0};
    assert_int_equal(np_client_consume_batch(&c, &bq, &br), 0); /* whole, as stored */
    assert_int_equal(br.records.len, (int32_t)len);
    /* byte for byte, but for the two fields the log rewrites: base offset and leader epoch */
    assert_memory_equal(br.records.p + 16, batch + 16, len - 16);
    bq.offset = 99;
    rc = np_client_consume_batch(&c, &bq, &br);
    assert_int_equal(c.err_log_end, 6);
    expect_err(&c, rc, NP_E_OFFSET_OUT_OF_RANGE, NULL);
    bq.offset = 0;
    int32_t *fields[] = {&bq.max_records, &bq.max_bytes, &bq.max_wait_ms, &bq.max_wait_ms};
    int32_t values[] = {0, 0, -1, NP_MAX_WAIT_MS_MAX + 1};
    for (size_t i = 0; i < KC_ARRAY_SIZE(fields); i++) {
        struct np_consume_batch_req save = bq;
        *fields[i] = values[i];
        expect_err(&c, np_client_consume_batch(&c, &bq, &br), NP_E_INVALID_REQUEST, NULL);
        bq = save;
    }
    free(batch);
    np_client_close(&c);
}

static void test_0002_group_errors(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_fetch_offset_resp fr;
    static char meta[5000];
    kb_client(b, &c);
    setup_topics(&c);
    struct np_commit_req cm = {S(""), S("t"), 0, 1, {NULL, -1}};
    expect_err(&c, np_client_commit(&c, &cm), NP_E_INVALID_GROUP, NULL);
    cm.group = S("tab\there");
    expect_err(&c, np_client_commit(&c, &cm), NP_E_INVALID_GROUP, NULL);
    cm.group = S("g");
    cm.topic = S("nope");
    expect_err(&c, np_client_commit(&c, &cm), NP_E_UNKNOWN_TOPIC, NULL);
    cm.topic = S("t");
    cm.partition = 7;
    expect_err(&c, np_client_commit(&c, &cm), NP_E_UNKNOWN_PARTITION, NULL);
    cm.partition = 0;
    cm.offset = -1;
    expect_err(&c, np_client_commit(&c, &cm), NP_E_INVALID_REQUEST, ">= 0");
    cm.offset = 1;
    memset(meta, 'm', sizeof(meta));
    cm.metadata = (struct kc_slice){(const uint8_t *)meta, (int32_t)sizeof(meta)};
    expect_err(&c, np_client_commit(&c, &cm), NP_E_INVALID_REQUEST, "metadata");
    struct np_fetch_offset_req q = {S(""), S("t"), 0};
    expect_err(&c, np_client_fetch_offset(&c, &q, &fr), NP_E_INVALID_GROUP, NULL);
    q = (struct np_fetch_offset_req){S("g"), S("nope"), 0};
    expect_err(&c, np_client_fetch_offset(&c, &q, &fr), NP_E_UNKNOWN_TOPIC, NULL);
    struct np_metadata_resp md;
    expect_err(&c, np_client_metadata(&c, "nope", &md), NP_E_UNKNOWN_TOPIC, NULL);
    expect_err(&c, np_client_metadata(&c, "../..", &md), NP_E_INVALID_TOPIC, NULL);
    np_client_close(&c);
}

/* Frames the client library would never send: each answered, the stream kept. */
static void test_0002_bad_frames_answered_connection_kept(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_frame f;
    kb_client(b, &c);
    struct kc_writer *w = np_client_out(&c);
    size_t at = np_begin_request(w, NP_PRODUCE, 901); /* a produce body cut short */
    kc_write_cstr(w, "t");
    np_end_frame(w, at, 0);
    at = np_begin_request(w, 99, 902); /* no such command */
    np_end_frame(w, at, 0);
    at = np_begin_request(w, NP_PING, 903); /* a future version */
    kc_write_bytes(w, "x", 1);
    np_end_frame(w, at, 0);
    w->p[at + 6] = 2;
    at = np_begin_request(w, NP_INFO, 904); /* info with a body it does not take */
    kc_write_i32(w, 0);
    np_end_frame(w, at, 0);
    assert_int_equal(np_client_flush(&c), 0);
    const int want[] = {NP_E_MALFORMED, NP_E_UNKNOWN_COMMAND, NP_E_UNSUPPORTED_VERSION,
                        NP_E_MALFORMED};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(np_client_recv(&c, &f), 0);
        assert_int_equal(f.h.corr, 901u + (uint32_t)i);
        assert_int_equal(f.h.version, NP_VERSION); /* answered in the version it speaks */
        assert_int_equal(np_client_check(&c, &f), NP_ERR(want[i]));
    }
    assert_non_null(strstr(c.errmsg, "info takes no body"));
    assert_int_equal(np_client_ping(&c, "still here", 10), 0);
    np_client_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0002_create_errors, kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0002_produce_errors, setup_no_autocreate,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0002_produce_auto_creates_reading_does_not,
                                        setup_three_partitions, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0002_batch_errors, kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0002_consume_errors, kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0002_group_errors, kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0002_bad_frames_answered_connection_kept,
                                        kb_setup_started, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
