/*
 * test_0103_kafka_wire.c - the Kafka APIs byte by byte, on raw sockets: what real clients
 * depend on (reference: shared/reference/kafka-protocol.md) and what they never send.
 *
 *   ApiVersions   the table (v0-2, and v3 as librdkafka sends it); the v0-format
 *                 UNSUPPORTED_VERSION answer to a version above ours
 *   Metadata      this broker at its real address; auto-creation with num.partitions;
 *                 3 without auto-creation; 17 for names Kafka refuses; __consumer_offsets
 *                 internal and never re-created
 *   Produce       base offsets; 2 / 87 / 43 / 3 / 17 / 21 per partition; an idempotent
 *                 batch written once, its retry answered with its offset, a gap 45; acks=0 answers
 *                 nothing, and a failed acks=0 produce closes the connection
 *   Fetch         empty records as length 0 with HWM = LSO filled; OFFSET_OUT_OF_RANGE;
 *                 the whole batch holding fetch_offset; the first batch even when larger
 *                 than the limit; long-poll: max_wait_ms, a produce wakes it, min_bytes
 *   ListOffsets   earliest, latest, by timestamp to the exact record
 *   FindCoordinator, OffsetCommit, OffsetFetch (standalone commits, kafka_cli sees them)
 *   APIs and versions not advertised: the connection is closed, unanswered, and the log
 *                 says which API it was, by name
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <sys/socket.h>

#include "kafka/kt.h"

static int setup(void **state)
{
    kb_setup(state);
    const char *args[] = {"--override", "num.partitions=2", NULL};
    kb_start(*state, args);
    return 0;
}

static uint8_t buf[1 << 20];

/* Create topic with n partitions through the native CLI. */
static void create(const struct kb_broker *b, const char *topic, const char *n)
{
    char *out, *err;
    const char *args[] = {"0", topic, n, NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, args), 0);
    free(out);
    free(err);
}

/* A batch of n records "v<i>" with timestamps ts0 + i; producer id pid (-1: plain). */
static uint8_t *batch(int n, int64_t ts0, int64_t pid, size_t *len)
{
    struct kc_batch_builder bb;
    struct kc_batch_opts o;
    uint8_t *p, *copy;
    char v[32];
    kc_batch_opts_default(&o);
    o.producer_id = pid;
    o.producer_epoch = pid >= 0 ? 0 : -1;
    o.base_sequence = pid >= 0 ? 0 : -1;
    kc_batch_builder_init(&bb, &o, 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(kc_batch_builder_add(&bb, ts0 + i, NULL, -1, v,
                                              snprintf(v, sizeof(v), "v%d", i), NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&bb, &p, len), 0);
    copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&bb);
    return copy;
}

/* The same n records compressed with codec (KC_COMPRESS_*); with no_max, the batch's max
 * timestamp is -1, as some producers leave it (the CRC computed again over it). */
static uint8_t *batch_codec(int n, int64_t ts0, int codec, bool no_max, size_t *len)
{
    struct kc_batch_builder bb;
    struct kc_batch_rebuild rb = {.codec = codec};
    uint8_t *p, *copy;
    char v[32];
    kc_batch_builder_init(&bb, NULL, 0);
    kc_batch_builder_set_rebuild(&bb, &rb);
    for (int i = 0; i < n; i++)
        assert_int_equal(kc_batch_builder_add(&bb, ts0 + i, NULL, -1, v,
                                              snprintf(v, sizeof(v), "v%d", i), NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish_codec(&bb, &p, len), 0);
    copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&bb);
    if (no_max) {
        kc_store_be64(copy + KC_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)-1);
        kc_store_be32(copy + KC_BATCH_OFF_CRC, kc_crc32c(0, copy + KC_BATCH_OFF_ATTRIBUTES,
                                                         *len - KC_BATCH_OFF_ATTRIBUTES));
    }
    return copy;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void produce_req(struct kc_writer *w, int32_t corr, const char *txn, int16_t acks,
                        const char *topic, int32_t part, const void *records, int32_t len)
{
    size_t at = kt_req_begin(w, KP_API_PRODUCE, 7, corr);
    kc_write_cstr(w, txn);
    kc_write_i16(w, acks);
    kc_write_i32(w, 5000);
    kc_write_i32(w, 1);
    kc_write_cstr(w, topic);
    kc_write_i32(w, 1);
    kc_write_i32(w, part);
    kc_write_bytes(w, records, len);
    kt_req_end(w, at);
}

/* Produce one records field; the partition's error, *base its base offset. */
static int16_t produce(int fd, const char *txn, int16_t acks, const char *topic, int32_t part,
                       const void *records, int32_t len, int64_t *base)
{
    struct kc_writer w;
    struct kc_reader r;
    kc_writer_init(&w, 0);
    produce_req(&w, 11, txn, acks, topic, part, records, len);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kc_writer_fini(&w);
    assert_true(n > 0);
    assert_int_equal(kc_load_be32(buf + 4), 11);
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 1);
    (void)kt_str(&r);
    assert_int_equal(kt_i32(&r), 1);
    assert_int_equal(kt_i32(&r), part);
    int16_t err = kt_i16(&r);
    int64_t b = kt_i64(&r);
    assert_int_equal(kt_i64(&r), -1); /* log append time: CreateTime */
    int64_t start = kt_i64(&r);
    assert_int_equal(kt_i32(&r), 0);  /* throttle, last */
    assert_int_equal(r.pos, r.len);
    if (err == 0)
        assert_int_equal(start, 0);
    if (base)
        *base = b;
    return err;
}

static void fetch(int fd, int32_t max_wait, int32_t min_bytes, const char *topic, int32_t part,
                  int64_t offset, int32_t part_max, struct kt_fetch_part *p)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    kt_fetch_req(&w, 21, max_wait, min_bytes, 1 << 20, topic, part, offset, part_max);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kc_writer_fini(&w);
    assert_true(n > 0);
    assert_int_equal(kc_load_be32(buf + 4), 21);
    kt_fetch_resp(buf, n, p);
}

static int16_t list_offsets(int fd, const char *topic, int32_t part, int64_t ts, int64_t *found,
                            int64_t *offset)
{
    struct kc_writer w;
    struct kc_reader r;
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_LIST_OFFSETS, 2, 31);
    kc_write_i32(&w, -1);
    kc_write_i8(&w, 1);
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, topic);
    kc_write_i32(&w, 1);
    kc_write_i32(&w, part);
    kc_write_i64(&w, ts);
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kc_writer_fini(&w);
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 0); /* throttle, first from v2 */
    assert_int_equal(kt_i32(&r), 1);
    (void)kt_str(&r);
    assert_int_equal(kt_i32(&r), 1);
    assert_int_equal(kt_i32(&r), part);
    int16_t err = kt_i16(&r);
    *found = kt_i64(&r);
    *offset = kt_i64(&r);
    return err;
}

/* Metadata v4 for one topic (NULL: all topics); the topic's error and partition count. */
struct md_topic {
    int16_t error;
    bool internal;
    int32_t nparts;
};

static void metadata(int fd, const char *topic, bool allow_auto, struct md_topic *mt,
                     const struct kb_broker *b)
{
    struct kc_writer w;
    struct kc_reader r;
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_METADATA, 4, 41);
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, topic);
    kc_write_i8(&w, allow_auto);
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kc_writer_fini(&w);
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 0);
    assert_int_equal(kt_i32(&r), 1); /* one broker: this one, where clients reach it */
    assert_int_equal(kt_i32(&r), 0);
    struct kc_slice host = kt_str(&r);
    assert_true(host.len == 9 && memcmp(host.p, "127.0.0.1", 9) == 0);
    assert_int_equal(kt_i32(&r), b->port);
    assert_int_equal(kt_str(&r).len, -1); /* rack */
    assert_true(kt_str(&r).len > 0);      /* cluster id */
    assert_int_equal(kt_i32(&r), 0);      /* controller: the same node */
    assert_int_equal(kt_i32(&r), 1);
    mt->error = kt_i16(&r);
    struct kc_slice name = kt_str(&r);
    assert_true((size_t)name.len == strlen(topic) && memcmp(name.p, topic, strlen(topic)) == 0);
    mt->internal = kt_i8(&r);
    mt->nparts = kt_i32(&r);
    for (int32_t i = 0; i < mt->nparts; i++) {
        assert_int_equal(kt_i16(&r), 0);
        assert_int_equal(kt_i32(&r), i);
        assert_int_equal(kt_i32(&r), 0); /* leader */
        assert_int_equal(kt_i32(&r), 1);
        assert_int_equal(kt_i32(&r), 0); /* replicas [0] */
        assert_int_equal(kt_i32(&r), 1);
        assert_int_equal(kt_i32(&r), 0); /* isr [0] */
    }
    assert_int_equal(r.pos, r.len);
}

/* ---- ApiVersions, Metadata, FindCoordinator ------------------------------------------------- */

/* One entry of the ApiVersions table: every version from Kafka 4.0's floor (or lower)
 * to Kafka 3.9's top, and the single versions librdkafka <= 2.11 checks lie inside. */
static void check_range(int16_t key, int16_t min, int16_t max, int *seen)
{
    const struct kp_api *api = kp_api_find(key);
    assert_non_null(api);
    assert_true(min <= api->kafka40_min);
    assert_int_equal(max, api->kafka39_max);
    static const int16_t needed[][2] = {
        {KP_API_API_VERSIONS, 0}, {KP_API_PRODUCE, 0}, /* gzip/snappy/lz4 (KAFKA-18659) */
        {KP_API_PRODUCE, 3},      {KP_API_FETCH, 4},   /* the v2 message format */
        {KP_API_PRODUCE, 7},      {KP_API_FETCH, 10},  /* zstd */
        {KP_API_FIND_COORDINATOR, 0}, {KP_API_JOIN_GROUP, 0}, /* groups, lz4 */
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(needed); i++)
        if (needed[i][0] == key && min <= needed[i][1] && needed[i][1] <= max)
            (*seen)++;
}

static void test_0103_api_versions_table_and_fallback(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    struct kc_reader r;
    int fd = kb_connect(b);
    kc_writer_init(&w, 0);
    for (int16_t v = 0; v <= 2; v++) {
        kc_writer_reset(&w);
        kt_req_end(&w, kt_req_begin(&w, KP_API_API_VERSIONS, v, v));
        ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
        kt_body(&r, buf, n);
        assert_int_equal(kt_i16(&r), 0);
        assert_int_equal(kt_i32(&r), KT_SERVED_APIS);
        int seen = 0;
        for (int i = 0; i < KT_SERVED_APIS; i++) {
            int16_t key = kt_i16(&r), min = kt_i16(&r), max = kt_i16(&r);
            check_range(key, min, max, &seen);
        }
        assert_int_equal(seen, 8); /* librdkafka <= 2.11 needs the old versions inside */
        if (v >= 1)
            assert_int_equal(kt_i32(&r), 0);
        assert_int_equal(r.pos, r.len);
    }
    /* librdkafka's first request, captured: ApiVersions v3 with a flexible header. Served
     * now, in v3's own layout (compact array, tag blocks) under a v0 header (KIP-511). */
    static const uint8_t v3[] = {0, 0, 0, 0x24, 0, 0x12, 0, 3, 0, 0, 0, 1, 0, 7, 'r', 'd', 'k',
                                 'a', 'f', 'k', 'a', 0, 0x0b, 'l', 'i', 'b', 'r', 'd', 'k', 'a',
                                 'f', 'k', 'a', 6, '2', '.', '0', '.', '2', 0};
    kb_send(fd, v3, sizeof(v3));
    ssize_t n = kb_recv_frame(fd, buf, sizeof(buf));
    uint32_t count;
    int seen = 0;
    kt_body(&r, buf, n); /* no tag byte after the correlation id: header v0 */
    assert_int_equal(kt_i16(&r), 0);
    assert_int_equal(kc_read_uvarint(&r, &count), 0);
    assert_int_equal(count, KT_SERVED_APIS + 1);
    for (uint32_t i = 0; i < KT_SERVED_APIS; i++) {
        int16_t key = kt_i16(&r), min = kt_i16(&r), max = kt_i16(&r);
        check_range(key, min, max, &seen);
        assert_int_equal(kt_i8(&r), 0); /* the entry's tag block */
    }
    assert_int_equal(seen, 8);
    assert_int_equal(kt_i32(&r), 0); /* throttle */
    assert_int_equal(kt_i8(&r), 0);  /* the body's tag block: no features, no epoch */
    assert_int_equal(r.pos, r.len);
    /* Above our maximum (v4): Kafka's v0-format answer, naming our ApiVersions range. */
    kc_writer_reset(&w);
    kt_req_end(&w, kt_req_begin(&w, KP_API_API_VERSIONS, 5, 1));
    n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    static const uint8_t fallback[] = {0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0x23, 0, 0, 0, 1,
                                       0, 0x12, 0, 0, 0, 4};
    assert_int_equal(n, sizeof(fallback));
    assert_memory_equal(buf, fallback, sizeof(fallback)); /* Kafka's v0-format answer */
    kt_assert_serving(b);
    kc_writer_fini(&w);
    close(fd);
}

static void test_0103_metadata_creates_refuses_and_describes(void **state)
{
    struct kb_broker *b = *state;
    struct md_topic mt;
    int fd = kb_connect(b);
    metadata(fd, "fresh", false, &mt, b);
    assert_int_equal(mt.error, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(mt.nparts, 0);
    metadata(fd, "fresh", true, &mt, b);
    assert_int_equal(mt.error, 0);
    assert_int_equal(mt.nparts, 2); /* num.partitions */
    metadata(fd, "fresh", false, &mt, b);
    assert_int_equal(mt.nparts, 2);
    const char *bad[] = {"bad/name", "..", "sp ace", ""};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        metadata(fd, bad[i], true, &mt, b);
        assert_int_equal(mt.error, KP_ERR_INVALID_TOPIC_EXCEPTION);
    }
    metadata(fd, "__consumer_offsets", true, &mt, b);
    assert_int_equal(mt.error, 0);
    assert_true(mt.internal);
    assert_int_equal(mt.nparts, 1);
    close(fd);
}

static void test_0103_find_coordinator_is_this_broker(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    struct kc_reader r;
    int fd = kb_connect(b);
    kc_writer_init(&w, 0);
    for (int8_t type = 0; type <= 1; type++) {
        kc_writer_reset(&w);
        size_t at = kt_req_begin(&w, KP_API_FIND_COORDINATOR, 2, 50 + type);
        kc_write_cstr(&w, "my-group");
        kc_write_i8(&w, type);
        kt_req_end(&w, at);
        ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
        kt_body(&r, buf, n);
        assert_int_equal(kt_i32(&r), 0);
        int16_t err = kt_i16(&r);
        (void)kt_str(&r);
        int32_t node = kt_i32(&r);
        struct kc_slice host = kt_str(&r);
        int32_t port = kt_i32(&r);
        if (type == 0) {
            assert_int_equal(err, 0);
            assert_int_equal(node, 0);
            assert_true(host.len == 9 && memcmp(host.p, "127.0.0.1", 9) == 0);
            assert_int_equal(port, b->port);
        } else {
            assert_int_equal(err, KP_ERR_INVALID_REQUEST); /* no transaction coordinator */
        }
    }
    kc_writer_fini(&w);
    close(fd);
}

/* ---- Produce ----------------------------------------------------------------------------------- */

static void test_0103_produce_offsets_and_every_refusal(void **state)
{
    struct kb_broker *b = *state;
    size_t len;
    int64_t base;
    int fd = kb_connect(b);
    create(b, "p", "2");
    uint8_t *ok = batch(10, kc_wall_ms(), -1, &len);
    assert_int_equal(produce(fd, NULL, 1, "p", 1, ok, (int32_t)len, &base), 0);
    assert_int_equal(base, 0);
    assert_int_equal(produce(fd, NULL, -1, "p", 1, ok, (int32_t)len, &base), 0);
    assert_int_equal(base, 10);

    uint8_t *bad = malloc(2 * len);
    memcpy(bad, ok, len);
    bad[len - 1] ^= 0x40; /* a record byte: the CRC no longer matches */
    assert_int_equal(produce(fd, NULL, 1, "p", 0, bad, (int32_t)len, NULL),
                     KP_ERR_CORRUPT_MESSAGE);
    memcpy(bad, ok, len);
    memcpy(bad + len, ok, len);
    assert_int_equal(produce(fd, NULL, 1, "p", 0, bad, (int32_t)(2 * len), NULL),
                     KP_ERR_INVALID_RECORD); /* two batches in one records field */
    assert_int_equal(produce(fd, NULL, 1, "p", 0, ok, (int32_t)len - 3, NULL),
                     KP_ERR_INVALID_RECORD); /* cut short */
    assert_int_equal(produce(fd, NULL, 1, "p", 0, NULL, -1, NULL), KP_ERR_INVALID_RECORD);
    /* An idempotent producer's batch (id 4711, sequences 0-2): written once; the same
     * batch again (a retry) is answered with its first offset; a gap in the sequences is
     * 45, an older epoch 47 (the log's producer state, alog_producer.h). */
    size_t ilen;
    int64_t first, again;
    uint8_t *idem = batch(3, kc_wall_ms(), 4711, &ilen);
    uint8_t *keep = malloc(ilen);
    assert_non_null(keep);
    memcpy(keep, idem, ilen); /* the broker rewrites the base offset in place: resend a copy */
    assert_int_equal(produce(fd, NULL, 1, "p", 0, idem, (int32_t)ilen, &first), KP_ERR_NONE);
    memcpy(idem, keep, ilen);
    assert_int_equal(produce(fd, NULL, 1, "p", 0, idem, (int32_t)ilen, &again), KP_ERR_NONE);
    assert_int_equal(again, first);
    memcpy(idem, keep, ilen);
    kc_store_be32(idem + KC_BATCH_OFF_BASE_SEQUENCE, 10); /* 3 is next */
    kc_store_be32(idem + KC_BATCH_OFF_CRC, kc_crc32c(0, idem + KC_BATCH_OFF_ATTRIBUTES,
                                                     ilen - KC_BATCH_OFF_ATTRIBUTES));
    assert_int_equal(produce(fd, NULL, 1, "p", 0, idem, (int32_t)ilen, NULL),
                     KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    free(keep);
    assert_int_equal(produce(fd, "txn-1", 1, "p", 0, ok, (int32_t)len, NULL),
                     KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    assert_int_equal(produce(fd, NULL, 1, "nope", 0, ok, (int32_t)len, NULL),
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION); /* Produce never auto-creates */
    assert_int_equal(produce(fd, NULL, 1, "p", 2, ok, (int32_t)len, NULL),
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(produce(fd, NULL, 1, "__consumer_offsets", 0, ok, (int32_t)len, NULL),
                     KP_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(produce(fd, NULL, 2, "p", 0, ok, (int32_t)len, NULL),
                     KP_ERR_INVALID_REQUIRED_ACKS);
    /* Nothing refused reached the log: only the idempotent batch, once. */
    struct kt_fetch_part fp;
    fetch(fd, 0, 1, "p", 0, 0, 1 << 20, &fp);
    assert_int_equal(fp.high_watermark, first + 3);
    free(ok);
    free(bad);
    free(idem);
    close(fd);
}

static void test_0103_acks_zero_answers_nothing_and_closes_on_failure(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    size_t len;
    int fd = kb_connect(b);
    create(b, "a0", "1");
    uint8_t *ok = batch(5, kc_wall_ms(), -1, &len);
    kc_writer_init(&w, 0);
    produce_req(&w, 1, NULL, 0, "a0", 0, ok, (int32_t)len);
    kt_req_end(&w, kt_req_begin(&w, KP_API_API_VERSIONS, 2, 2));
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(kc_load_be32(buf + 4), 2); /* the first answer is the second request's */
    struct kt_fetch_part fp;
    fetch(fd, 0, 1, "a0", 0, 0, 1 << 20, &fp);
    assert_int_equal(fp.high_watermark, 5);
    kc_writer_reset(&w);
    ok[len - 1] ^= 1; /* bad CRC, and nobody to tell: Kafka closes the connection */
    produce_req(&w, 3, NULL, 0, "a0", 0, ok, (int32_t)len);
    kb_send(fd, kc_writer_data(&w), kc_writer_len(&w));
    assert_true(kb_closed(fd, 10000));
    kt_assert_serving(b);
    kc_writer_fini(&w);
    free(ok);
    close(fd);
}

/* ---- Fetch --------------------------------------------------------------------------------------- */

static void test_0103_fetch_empty_out_of_range_and_whole_batches(void **state)
{
    struct kb_broker *b = *state;
    struct kt_fetch_part fp;
    size_t len;
    int fd = kb_connect(b);
    create(b, "f", "1");
    fetch(fd, 0, 1, "f", 0, 0, 1 << 20, &fp);
    assert_int_equal(fp.error, 0);
    assert_int_equal(fp.records.len, 0); /* empty: length 0, never -1 */
    assert_int_equal(fp.high_watermark, 0);
    assert_int_equal(fp.last_stable_offset, 0);
    assert_int_equal(fp.aborted, 0); /* read_committed: an empty array */
    uint8_t *ten = batch(10, kc_wall_ms(), -1, &len);
    assert_int_equal(produce(fd, NULL, 1, "f", 0, ten, (int32_t)len, NULL), 0);
    assert_int_equal(produce(fd, NULL, 1, "f", 0, ten, (int32_t)len, NULL), 0);
    fetch(fd, 0, 1, "f", 0, 5, 1, &fp); /* inside the first batch, a 1-byte limit */
    assert_int_equal(fp.error, 0);
    assert_int_equal(fp.high_watermark, 20);
    assert_int_equal(fp.last_stable_offset, 20);
    assert_int_equal(fp.records.len, (int32_t)len); /* the whole batch holding offset 5 */
    assert_int_equal(kc_batch_base_offset(fp.records.p), 0);
    fetch(fd, 0, 1, "f", 0, 12, 1 << 20, &fp);
    assert_int_equal(kc_batch_base_offset(fp.records.p), 10);
    fetch(fd, 0, 1, "f", 0, 21, 1 << 20, &fp);
    assert_int_equal(fp.error, KP_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(fp.high_watermark, 20); /* still filled in */
    assert_int_equal(fp.records.len, 0);
    fetch(fd, 0, 1, "f", 7, 0, 1 << 20, &fp);
    assert_int_equal(fp.error, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    free(ten);
    close(fd);
}

static void test_0103_fetch_long_poll_waits_wakes_and_counts_min_bytes(void **state)
{
    struct kb_broker *b = *state;
    struct kt_fetch_part fp;
    struct kc_writer w;
    size_t len;
    int fd = kb_connect(b), pfd = kb_connect(b);
    create(b, "lp", "1");
    int64_t t0 = kc_mono_ms();
    fetch(fd, 800, 1, "lp", 0, 0, 1 << 20, &fp); /* nothing comes: max_wait_ms */
    int64_t took = kc_mono_ms() - t0;
    printf("# empty long-poll of 800 ms answered after %lld ms\n", (long long)took);
    assert_true(took >= 750 && took < 10000);
    assert_int_equal(fp.records.len, 0);

    /* Parked for 20 s; a produce on another connection wakes it at once. */
    kc_writer_init(&w, 0);
    kt_fetch_req(&w, 21, 20000, 1, 1 << 20, "lp", 0, 0, 1 << 20);
    kb_send(fd, kc_writer_data(&w), kc_writer_len(&w));
    kc_sleep_ms(200);
    uint8_t *one = batch(1, kc_wall_ms(), -1, &len);
    t0 = kc_mono_ms();
    assert_int_equal(produce(pfd, NULL, 1, "lp", 0, one, (int32_t)len, NULL), 0);
    ssize_t n = kb_recv_frame(fd, buf, sizeof(buf));
    took = kc_mono_ms() - t0;
    kt_fetch_resp(buf, n, &fp);
    assert_int_equal(fp.records.len, (int32_t)len);
    printf("# a parked fetch answered %lld ms after the produce that woke it\n",
           (long long)took);
    assert_true(took < 5000);

    /* min_bytes above what arrives: the fetch waits its whole time, then takes what is
     * there. */
    kc_writer_reset(&w);
    kt_fetch_req(&w, 21, 1000, 1 << 20, 1 << 20, "lp", 0, 1, 1 << 20);
    t0 = kc_mono_ms();
    kb_send(fd, kc_writer_data(&w), kc_writer_len(&w));
    kc_sleep_ms(200);
    assert_int_equal(produce(pfd, NULL, 1, "lp", 0, one, (int32_t)len, NULL), 0);
    n = kb_recv_frame(fd, buf, sizeof(buf));
    took = kc_mono_ms() - t0;
    kt_fetch_resp(buf, n, &fp);
    assert_int_equal(fp.records.len, (int32_t)len);
    assert_int_equal(fp.high_watermark, 2);
    assert_true(took >= 950 && took < 10000);
    kc_writer_fini(&w);
    free(one);
    close(fd);
    close(pfd);
}

/* ---- ListOffsets, OffsetCommit, OffsetFetch ---------------------------------------------------- */

static void test_0103_list_offsets_earliest_latest_and_by_time(void **state)
{
    struct kb_broker *b = *state;
    size_t len;
    int64_t ts, off, t0 = kc_wall_ms() - 60000;
    int fd = kb_connect(b);
    create(b, "lo", "1");
    uint8_t *b1 = batch(10, t0, -1, &len); /* offsets 0-9 at t0 .. t0+9 */
    assert_int_equal(produce(fd, NULL, 1, "lo", 0, b1, (int32_t)len, NULL), 0);
    free(b1);
    b1 = batch(10, t0 + 5000, -1, &len);   /* offsets 10-19 at t0+5000 .. */
    assert_int_equal(produce(fd, NULL, 1, "lo", 0, b1, (int32_t)len, NULL), 0);
    free(b1);
    assert_int_equal(list_offsets(fd, "lo", 0, -2, &ts, &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(ts, -1);
    assert_int_equal(list_offsets(fd, "lo", 0, -1, &ts, &off), 0);
    assert_int_equal(off, 20);
    assert_int_equal(list_offsets(fd, "lo", 0, t0 + 5, &ts, &off), 0);
    assert_int_equal(off, 5); /* the record, not just its batch */
    assert_int_equal(ts, t0 + 5);
    assert_int_equal(list_offsets(fd, "lo", 0, t0 + 100, &ts, &off), 0);
    assert_int_equal(off, 10);
    assert_int_equal(ts, t0 + 5000);
    assert_int_equal(list_offsets(fd, "lo", 0, t0 + 999999, &ts, &off), 0);
    assert_int_equal(off, -1);
    assert_int_equal(list_offsets(fd, "lo", 3, -1, &ts, &off), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    close(fd);
}

/* Inside a compressed batch the lookup finds the record, not the batch's first offset; a
 * batch whose producer left max_timestamp at -1 is fixed on append (as Kafka's LogValidator
 * does), so the time index and the lookup find it. */
static void test_0103_list_offsets_by_time_inside_compressed_and_unstamped(void **state)
{
    struct kb_broker *b = *state;
    size_t len;
    int64_t ts, off, t0 = kc_wall_ms() - 60000;
    int fd = kb_connect(b);
    create(b, "lz", "1");
    uint8_t *b1 = batch_codec(10, t0, KC_COMPRESS_GZIP, false, &len); /* offsets 0-9 */
    assert_int_equal(produce(fd, NULL, 1, "lz", 0, b1, (int32_t)len, NULL), 0);
    free(b1);
    b1 = batch_codec(10, t0 + 1000, KC_COMPRESS_NONE, true, &len);    /* 10-19, max -1 */
    assert_int_equal(produce(fd, NULL, 1, "lz", 0, b1, (int32_t)len, NULL), 0);
    free(b1);
    b1 = batch_codec(10, t0 + 2000, KC_COMPRESS_ZSTD, true, &len);    /* 20-29, max -1 */
    assert_int_equal(produce(fd, NULL, 1, "lz", 0, b1, (int32_t)len, NULL), 0);
    free(b1);
    assert_int_equal(list_offsets(fd, "lz", 0, t0 + 7, &ts, &off), 0);
    assert_int_equal(off, 7); /* inside the gzip batch */
    assert_int_equal(ts, t0 + 7);
    assert_int_equal(list_offsets(fd, "lz", 0, t0 + 1003, &ts, &off), 0);
    assert_int_equal(off, 13); /* found although its producer said max -1 */
    assert_int_equal(ts, t0 + 1003);
    assert_int_equal(list_offsets(fd, "lz", 0, t0 + 2009, &ts, &off), 0);
    assert_int_equal(off, 29);
    assert_int_equal(ts, t0 + 2009);
    close(fd);
}

static int16_t commit(int fd, const char *group, int32_t gen, const char *topic, int32_t part,
                      int64_t offset, const char *meta)
{
    struct kc_writer w;
    struct kc_reader r;
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_OFFSET_COMMIT, 5, 61);
    kc_write_cstr(&w, group);
    kc_write_i32(&w, gen);
    kc_write_cstr(&w, "");
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, topic);
    kc_write_i32(&w, 1);
    kc_write_i32(&w, part);
    kc_write_i64(&w, offset);
    kc_write_cstr(&w, meta);
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kc_writer_fini(&w);
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 0);
    assert_int_equal(kt_i32(&r), 1);
    (void)kt_str(&r);
    assert_int_equal(kt_i32(&r), 1);
    assert_int_equal(kt_i32(&r), part);
    int16_t err = kt_i16(&r);
    assert_int_equal(r.pos, r.len);
    return err;
}

static void test_0103_standalone_commits_one_store_for_both_protocols(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    struct kc_reader r;
    char *out, *err;
    int fd = kb_connect(b);
    create(b, "oc", "2");
    assert_int_equal(commit(fd, "solo", -1, "oc", 1, 42, "note"), 0);
    assert_int_equal(commit(fd, "solo", -1, "oc", 5, 1, NULL), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(commit(fd, "solo", 3, "oc", 0, 1, NULL), KP_ERR_ILLEGAL_GENERATION);
    const char *args[] = {"4", "solo", "oc", "1", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, args), 0);
    assert_string_equal(out, "42\n");
    free(out);
    free(err);
    const char *native[] = {"3", "solo", "oc", "0", "7", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, native), 0);
    free(out);
    free(err);
    /* OffsetFetch v4, topics null: everything the group committed, either protocol. */
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_OFFSET_FETCH, 4, 71);
    kc_write_cstr(&w, "solo");
    kc_write_i32(&w, -1);
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 0);
    assert_int_equal(kt_i32(&r), 1);
    struct kc_slice t = kt_str(&r);
    assert_true(t.len == 2 && memcmp(t.p, "oc", 2) == 0);
    assert_int_equal(kt_i32(&r), 2);
    assert_int_equal(kt_i32(&r), 0);
    assert_int_equal(kt_i64(&r), 7);
    (void)kt_str(&r);
    assert_int_equal(kt_i16(&r), 0);
    assert_int_equal(kt_i32(&r), 1);
    assert_int_equal(kt_i64(&r), 42);
    struct kc_slice meta = kt_str(&r);
    assert_true(meta.len == 4 && memcmp(meta.p, "note", 4) == 0);
    assert_int_equal(kt_i16(&r), 0);
    assert_int_equal(kt_i16(&r), 0); /* top-level error */
    assert_int_equal(r.pos, r.len);
    /* A partition with nothing committed: -1, "", no error. */
    kc_writer_reset(&w);
    at = kt_req_begin(&w, KP_API_OFFSET_FETCH, 4, 72);
    kc_write_cstr(&w, "other");
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "oc");
    kc_write_i32(&w, 1);
    kc_write_i32(&w, 0);
    kt_req_end(&w, at);
    n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 0);
    assert_int_equal(kt_i32(&r), 1);
    (void)kt_str(&r);
    assert_int_equal(kt_i32(&r), 1);
    assert_int_equal(kt_i32(&r), 0);
    assert_int_equal(kt_i64(&r), -1);
    assert_int_equal(kt_str(&r).len, 0);
    assert_int_equal(kt_i16(&r), 0);
    kc_writer_fini(&w);
    close(fd);
}

/* ---- what Kafka closes the connection for ----------------------------------------------------- */

static void test_0103_unknown_api_or_version_closes_unanswered(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    const int16_t cases[][2] = {
        {KP_API_ALTER_PARTITION_REASSIGNMENTS, 0}, /* not advertised: not built */
        {KP_API_METADATA, 13},        /* above our maximum (Kafka 3.9's, 12) */
        {KP_API_LIST_OFFSETS, 10},    /* Kafka 4.0's, not 3.9's: the codec knows it */
        {KP_API_FETCH, 3},            /* the v0/v1 message formats: gone in Kafka 4.0 */
        {KP_API_OFFSET_COMMIT, 1},    /* below Kafka 4.0's floor, and no client needs it */
        {KP_API_DELETE_GROUPS, 0},    /* the same (KIP-896) */
        {KP_API_FETCH, 18},
        {1000, 0},                    /* no such API */
    };
    kc_writer_init(&w, 0);
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        int fd = kb_connect(b);
        kc_writer_reset(&w);
        size_t at = kt_req_begin(&w, cases[i][0], cases[i][1], 1);
        kc_write_i32(&w, 0);
        kt_req_end(&w, at);
        kb_send(fd, kc_writer_data(&w), kc_writer_len(&w));
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 10000), 1);
        assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0); /* EOF, not an answer */
        close(fd);
    }
    /* Refused for what they are, not for their (empty) bodies; named by name. */
    assert_true(kb_log_has(b, "AlterPartitionReassignments v0 (api_key 45): not served by this"));
    assert_true(kb_log_has(b, "Metadata v13 (api_key 3): a version this broker does not"));
    assert_true(kb_log_has(b, "ListOffsets v10 (api_key 2): a version this broker does not"));
    assert_true(kb_log_has(b, "Fetch v3 (api_key 1): a version this broker does not"));
    assert_true(kb_log_has(b, "api_key 1000 v0 is no Kafka API"));
    kt_assert_serving(b);
    kc_writer_fini(&w);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, kb_teardown)
    const struct CMUnitTest tests[] = {
        T(test_0103_api_versions_table_and_fallback),
        T(test_0103_metadata_creates_refuses_and_describes),
        T(test_0103_find_coordinator_is_this_broker),
        T(test_0103_produce_offsets_and_every_refusal),
        T(test_0103_acks_zero_answers_nothing_and_closes_on_failure),
        T(test_0103_fetch_empty_out_of_range_and_whole_batches),
        T(test_0103_fetch_long_poll_waits_wakes_and_counts_min_bytes),
        T(test_0103_list_offsets_earliest_latest_and_by_time),
        T(test_0103_list_offsets_by_time_inside_compressed_and_unstamped),
        T(test_0103_standalone_commits_one_store_for_both_protocols),
        T(test_0103_unknown_api_or_version_closes_unanswered),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
