/*
 * test_kp_edge.c - the corners of the wire format, on hand-built bytes.
 *
 * Each test names the rule it pins down: tagged fields (known, unknown, out of order,
 * sized wrong), compact null vs empty, varints too long or too wide, counts the bytes
 * left cannot hold, negative lengths, nullability per version, uuids, integer extremes,
 * Kafka's "non-default value in a version that cannot carry it", gaps for sendfile, the
 * arena limit, and the frame and header rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"
#include "kp_api.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* Decode bytes (an exact-size copy) with schema s at version v; returns the code. */
static int dec(const struct kp_schema *s, int16_t v, const uint8_t *p, size_t n,
               struct kp_arena *a, void *out, size_t *used)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    size_t u = 0;
    int rc = kp_decode(s, v, copy, n, a, out, &u);
    if (used)
        *used = u;
    free(copy); /* only safe because the tests below read no slices after this */
    return rc;
}

/* Encode and compare with want. */
static void enc_equals(const struct kp_schema *s, int16_t v, const void *obj,
                       const uint8_t *want, size_t n)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    int rc = kp_encode(s, v, obj, &w, NULL);
    if (rc)
        fail_msg("%s v%d: %s", s->name, v, kc_strerror(rc));
    assert_int_equal(kc_writer_len(&w), n);
    assert_memory_equal(kc_writer_data(&w), want, n);
    kc_writer_fini(&w);
}

/* ---- tagged fields -------------------------------------------------------------------- */

/* ApiVersionsResponse v3: error 0, one api key {18, 0..4}, throttle 0, then tags. */
#define AV3_HEAD 0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00, 0, 0, 0, 0

static void test_tags_known_are_decoded_unknown_skipped(void **state)
{
    (void)state;
    struct kp_arena a = {0};
    struct kp_api_versions_resp r;
    size_t used;
    /* 3 tags: 1 (epoch, int64 = 5), 3 (zk_migration_ready = true), 7 (unknown, 2 bytes) */
    static const uint8_t in[] = {AV3_HEAD, 0x03, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 5,
                                 0x03, 0x01, 0x01, 0x07, 0x02, 0xaa, 0xbb};
    assert_int_equal(dec(&kp_api_versions_resp_schema, 3, in, sizeof(in), &a, &r, &used), 0);
    assert_int_equal(used, sizeof(in));
    assert_int_equal(r.finalized_features_epoch, 5);
    assert_true(r.zk_migration_ready);
    assert_int_equal(r.supported_features.n, 0);
    assert_int_equal(r.api_keys.v[0].max_version, 4);
    /* Re-encoded: the two known tags, ascending; the unknown one is gone. */
    enc_equals(&kp_api_versions_resp_schema, 3, &r,
               B(AV3_HEAD, 0x02, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 5, 0x03, 0x01, 0x01));
    /* Defaults are not written at all: an empty tag block. */
    r.finalized_features_epoch = -1;
    r.zk_migration_ready = false;
    enc_equals(&kp_api_versions_resp_schema, 3, &r, B(AV3_HEAD, 0x00));
    kp_arena_fini(&a);
}

static void test_tags_out_of_order_are_accepted_like_kafka(void **state)
{
    (void)state;
    /* Kafka's generated readers loop over the tags with a switch and no order check
     * (its writers always ascend); so do we. */
    struct kp_arena a = {0};
    struct kp_api_versions_resp r;
    assert_int_equal(dec(&kp_api_versions_resp_schema, 3,
                         B(AV3_HEAD, 0x02, 0x03, 0x01, 0x01, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 9),
                         &a, &r, NULL),
                     0);
    assert_int_equal(r.finalized_features_epoch, 9);
    assert_true(r.zk_migration_ready);
    kp_arena_fini(&a);
}

static void test_tags_known_with_wrong_size_are_malformed(void **state)
{
    (void)state;
    struct kp_arena a = {0};
    struct kp_api_versions_resp r;
    /* int64 tag declared 4 bytes: the value would run past its size */
    assert_int_equal(dec(&kp_api_versions_resp_schema, 3,
                         B(AV3_HEAD, 0x01, 0x01, 0x04, 0, 0, 0, 5), &a, &r, NULL),
                     KC_EMALFORMED);
    /* int64 tag declared 9 bytes: a byte nobody reads */
    assert_int_equal(dec(&kp_api_versions_resp_schema, 3,
                         B(AV3_HEAD, 0x01, 0x01, 0x09, 0, 0, 0, 0, 0, 0, 0, 5, 0xee), &a, &r,
                         NULL),
                     KC_EMALFORMED);
    /* a tag whose size runs past the end: need more (malformed inside a whole frame) */
    assert_int_equal(dec(&kp_api_versions_resp_schema, 3, B(AV3_HEAD, 0x01, 0x07, 0x10, 0xaa),
                         &a, &r, NULL),
                     KC_ENEEDMORE);
    kp_arena_fini(&a);
}

static void test_tags_long_values_get_a_multibyte_size(void **state)
{
    (void)state;
    /* 40 supported features of 4-byte names: the tagged array is over 127 bytes, so its
     * size takes two varint bytes and the encoder moves the value up once. */
    struct kp_arena a = {0};
    struct kp_api_versions_resp r, back;
    kp_init(&kp_api_versions_resp_schema, &r);
    struct kp_api_versions_resp_supported_feature_key feats[40];
    for (int i = 0; i < 40; i++)
        feats[i] = (struct kp_api_versions_resp_supported_feature_key){
            {(const uint8_t *)"feat", 4}, (int16_t)i, (int16_t)(i + 1)};
    r.supported_features.n = 40;
    r.supported_features.v = feats;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(kp_encode(&kp_api_versions_resp_schema, 3, &r, &w, NULL), 0);
    const uint8_t *p = kc_writer_data(&w);
    /* error(2) api_keys(1: empty) throttle(4), then tags: count 1, tag 0, size 2 bytes */
    assert_int_equal(p[7], 1);
    assert_int_equal(p[8], 0);
    size_t size = (size_t)(p[9] & 0x7f) | (size_t)p[10] << 7;
    assert_true(p[9] & 0x80);
    assert_int_equal(size, kc_writer_len(&w) - 11);
    size_t used;
    assert_int_equal(kp_decode(&kp_api_versions_resp_schema, 3, p, kc_writer_len(&w), &a, &back,
                               &used), 0);
    assert_int_equal(used, kc_writer_len(&w));
    assert_int_equal(back.supported_features.n, 40);
    assert_int_equal(back.supported_features.v[39].max_version, 40);
    kc_writer_fini(&w);
    kp_arena_fini(&a);
}

/* ---- compact and classic lengths ------------------------------------------------------ */

static void test_compact_null_and_empty_are_different(void **state)
{
    (void)state;
    struct kp_arena a = {0};
    struct kp_metadata_req r;
    /* Metadata v9 (flexible): topics compact array 00 = null (all topics), 01 = empty;
     * then three bools and the tag block */
    assert_int_equal(dec(&kp_metadata_req_schema, 9, B(0x00, 1, 0, 0, 0), &a, &r, NULL), 0);
    assert_int_equal(r.topics.n, -1);
    enc_equals(&kp_metadata_req_schema, 9, &r, B(0x00, 1, 0, 0, 0));
    assert_int_equal(dec(&kp_metadata_req_schema, 9, B(0x01, 1, 0, 0, 0), &a, &r, NULL), 0);
    assert_int_equal(r.topics.n, 0);
    enc_equals(&kp_metadata_req_schema, 9, &r, B(0x01, 1, 0, 0, 0));
    /* the same in v4 (classic): ffffffff = null, 00000000 = empty */
    assert_int_equal(dec(&kp_metadata_req_schema, 4, B(0xff, 0xff, 0xff, 0xff, 0x01), &a, &r,
                         NULL), 0);
    assert_int_equal(r.topics.n, -1);
    enc_equals(&kp_metadata_req_schema, 4, &r, B(0xff, 0xff, 0xff, 0xff, 0x01));
    /* FindCoordinator v3's key is not nullable: a compact 00 is malformed */
    struct kp_find_coordinator_req fc;
    assert_int_equal(dec(&kp_find_coordinator_req_schema, 3, B(0x00, 0x00, 0x00), &a, &fc, NULL),
                     KC_EMALFORMED);
    assert_int_equal(dec(&kp_find_coordinator_req_schema, 3, B(0x01, 0x00, 0x00), &a, &fc, NULL),
                     0);
    assert_int_equal(fc.key.len, 0);
    kp_arena_fini(&a);
}

static void test_varints_too_long_or_too_wide_are_malformed(void **state)
{
    (void)state;
    struct kp_arena a = {0};
    struct kp_find_coordinator_req fc;
    /* six bytes: longer than any 32-bit varint */
    assert_int_equal(dec(&kp_find_coordinator_req_schema, 3,
                         B(0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0), &a, &fc, NULL),
                     KC_EMALFORMED);
    /* five bytes whose last carries bits 35..: wider than 32 bits */
    assert_int_equal(dec(&kp_find_coordinator_req_schema, 3,
                         B(0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0), &a, &fc, NULL),
                     KC_EMALFORMED);
    /* a compact string length of 32768 + 1: Kafka's limit for strings is 32767 */
    assert_int_equal(dec(&kp_find_coordinator_req_schema, 3, B(0x81, 0x80, 0x02, 'x'), &a, &fc,
                         NULL),
                     KC_EMALFORMED);
    /* a varint cut short is "need more" */
    assert_int_equal(dec(&kp_find_coordinator_req_schema, 3, B(0x81), &a, &fc, NULL),
                     KC_ENEEDMORE);
    kp_arena_fini(&a);
}

static void test_counts_beyond_the_bytes_left_allocate_nothing(void **state)
{
    (void)state;
    struct kp_arena a = {0};
    struct kp_metadata_req r;
    /* v4: 2^31-1 topics in 5 bytes */
    assert_int_equal(dec(&kp_metadata_req_schema, 4, B(0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 1),
                         &a, &r, NULL),
                     KC_EMALFORMED);
    /* v9: a compact count of 2^28 */
    assert_int_equal(dec(&kp_metadata_req_schema, 9, B(0x81, 0x80, 0x80, 0x80, 0x01, 0, 0),
                         &a, &r, NULL),
                     KC_EMALFORMED);
    /* the floor is the element's smallest encoding: 4 topics of >= 2 bytes in 6 bytes */
    assert_int_equal(dec(&kp_metadata_req_schema, 4, B(0, 0, 0, 4, 0, 0, 0, 0, 0, 1), &a, &r,
                         NULL),
                     KC_EMALFORMED);
    assert_int_equal(a.total, 0);
    kp_arena_fini(&a);
}

static void test_negative_lengths_other_than_null_are_malformed(void **state)
{
    (void)state;
    struct kp_arena a = {0};
    struct kp_produce_req p;
    /* Produce v3: transactional_id length -2 */
    assert_int_equal(dec(&kp_produce_req_schema, 3, B(0xff, 0xfe, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                         &a, &p, NULL),
                     KC_EMALFORMED);
    /* topics count -2 */
    assert_int_equal(dec(&kp_produce_req_schema, 3,
                         B(0xff, 0xff, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe), &a, &p, NULL),
                     KC_EMALFORMED);
    /* records length -3 */
    assert_int_equal(dec(&kp_produce_req_schema, 3,
                         B(0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'x', 0, 0, 0, 1, 0, 0,
                           0, 0, 0xff, 0xff, 0xff, 0xfd),
                         &a, &p, NULL),
                     KC_EMALFORMED);
    kp_arena_fini(&a);
}

static void test_null_only_where_the_version_allows_it(void **state)
{
    (void)state;
    struct kp_arena a = {0};
    struct kp_produce_req p;
    /* transactional_id null, one topic whose name is null: names are never nullable */
    assert_int_equal(dec(&kp_produce_req_schema, 7,
                         B(0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 0),
                         &a, &p, NULL),
                     KC_EMALFORMED);
    assert_int_equal(dec(&kp_produce_req_schema, 7,
                         B(0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0), &a,
                         &p, NULL),
                     0);
    assert_int_equal(p.transactional_id.len, -1);
    /* encoding a null name is the caller's bug */
    p.topic_data.v[0].name = (struct kc_slice){NULL, -1};
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(kp_encode(&kp_produce_req_schema, 7, &p, &w, NULL), -EINVAL);
    kc_writer_fini(&w);
    /* Metadata topics: nullable from v1 only */
    struct kp_metadata_req m;
    kp_init(&kp_metadata_req_schema, &m);
    assert_int_equal(m.topics.n, 0);
    m.topics.n = -1;
    kc_writer_init(&w, 0);
    assert_int_equal(kp_encode(&kp_metadata_req_schema, 0, &m, &w, NULL), -EINVAL);
    kc_writer_reset(&w);
    assert_int_equal(kp_encode(&kp_metadata_req_schema, 1, &m, &w, NULL), 0);
    kc_writer_fini(&w);
    kp_arena_fini(&a);
}

static void test_uuid_and_integer_extremes_round_trip(void **state)
{
    (void)state;
    struct kp_arena a = {0};
    /* ListOffsets v4: timestamps INT64_MIN and INT64_MAX, epoch INT32_MIN */
    struct kp_list_offsets_req_partition parts[2] = {{0, INT32_MIN, INT64_MIN, 1},
                                                     {INT32_MAX, -1, INT64_MAX, 1}};
    struct kp_list_offsets_req_topic topic = {{(const uint8_t *)"t", 1}, {2, parts}};
    struct kp_list_offsets_req r = {INT32_MIN, 1, {1, &topic}, 0};
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(kp_encode(&kp_list_offsets_req_schema, 4, &r, &w, NULL), 0);
    struct kp_list_offsets_req back;
    assert_int_equal(kp_decode(&kp_list_offsets_req_schema, 4, kc_writer_data(&w),
                               kc_writer_len(&w), &a, &back, NULL), 0);
    assert_int_equal(back.replica_id, INT32_MIN);
    assert_int_equal(back.topics.v[0].partitions.v[0].timestamp, INT64_MIN);
    assert_int_equal(back.topics.v[0].partitions.v[0].current_leader_epoch, INT32_MIN);
    assert_int_equal(back.topics.v[0].partitions.v[1].timestamp, INT64_MAX);
    assert_int_equal(back.topics.v[0].partitions.v[1].partition_index, INT32_MAX);
    kc_writer_fini(&w);

    /* Fetch v13 names topics by uuid: 16 bytes, as they are */
    struct kp_fetch_req f;
    kp_init(&kp_fetch_req_schema, &f);
    struct kp_fetch_req_topic ft;
    kp_init(&kp_fetch_req_topic_schema, &ft);
    for (int i = 0; i < 16; i++)
        ft.topic_id.b[i] = (uint8_t)(0xf0 + i);
    KP_SET(f.topics, 1, &ft);
    kc_writer_init(&w, 0);
    assert_int_equal(kp_encode(&kp_fetch_req_schema, 13, &f, &w, NULL), 0);
    struct kp_fetch_req fb;
    assert_int_equal(kp_decode(&kp_fetch_req_schema, 13, kc_writer_data(&w), kc_writer_len(&w),
                               &a, &fb, NULL), 0);
    assert_memory_equal(fb.topics.v[0].topic_id.b, ft.topic_id.b, 16);
    kc_writer_fini(&w);
    kp_arena_fini(&a);
}

/* ---- Kafka's writer rule for fields a version does not carry ------------------------- */

static void test_nondefault_field_absent_from_version_is_refused(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    /* AllowAutoTopicCreation exists from v4, defaults to true, is not ignorable */
    struct kp_metadata_req m;
    kp_init(&kp_metadata_req_schema, &m);
    assert_true(m.allow_auto_topic_creation);
    assert_int_equal(kp_encode(&kp_metadata_req_schema, 3, &m, &w, NULL), 0);
    m.allow_auto_topic_creation = false;
    kc_writer_reset(&w);
    assert_int_equal(kp_encode(&kp_metadata_req_schema, 3, &m, &w, NULL), KC_ENONDEFAULT);
    kc_writer_reset(&w);
    assert_int_equal(kp_encode(&kp_metadata_req_schema, 4, &m, &w, NULL), 0);
    /* ThrottleTimeMs (v1+) is ignorable: silently dropped in v0 */
    struct kp_produce_resp pr;
    kp_init(&kp_produce_resp_schema, &pr);
    pr.throttle_time_ms = 100;
    kc_writer_reset(&w);
    assert_int_equal(kp_encode(&kp_produce_resp_schema, 0, &pr, &w, NULL), 0);
    assert_int_equal(kc_writer_len(&w), 4); /* an empty responses array, nothing else */
    kc_writer_fini(&w);
}

/* ---- gaps: records the caller sends itself ------------------------------------------- */

static void gap_response(int16_t v)
{
    static const uint8_t mem[] = "in-memory records";
    static const uint8_t file[] = "records from a segment file";
    struct kp_fetch_resp_partition_data parts[3];
    for (int i = 0; i < 3; i++) {
        kp_init(&kp_fetch_resp_partition_data_schema, &parts[i]);
        parts[i].partition_index = i;
        parts[i].high_watermark = 10 + i;
    }
    parts[0].records = (struct kc_slice){mem, (int32_t)sizeof(mem)};
    parts[1].records = (struct kc_slice){NULL, (int32_t)sizeof(file)}; /* a gap */
    parts[2].records = (struct kc_slice){NULL, 0};                     /* empty, no gap */
    struct kp_fetch_resp_fetchable_topic_response topic;
    kp_init(&kp_fetch_resp_fetchable_topic_response_schema, &topic);
    topic.topic = (struct kc_slice){(const uint8_t *)"fx", 2};
    KP_SET(topic.partitions, 3, parts);
    struct kp_fetch_resp resp;
    kp_init(&kp_fetch_resp_schema, &resp);
    KP_SET(resp.responses, 1, &topic);

    struct kp_gap gapv[1];
    struct kp_gaps gaps = {gapv, 0, 1, 0};
    struct kc_writer w;
    kc_writer_init(&w, 0);
    size_t frame_len;
    assert_int_equal(kp_response_encode(&w, KP_API_FETCH, v, 9, &resp, &gaps, &frame_len), 0);
    assert_int_equal(gaps.n, 1);
    assert_int_equal(gaps.v[0].len, sizeof(file));
    assert_ptr_equal(gaps.v[0].owner, &parts[1]);
    assert_int_equal(frame_len, kc_writer_len(&w) + sizeof(file));
    assert_int_equal(kc_load_be32(kc_writer_data(&w)), frame_len - 4);
    /* What the wire carries: memory up to the gap, the file bytes, the rest. */
    size_t at = gaps.v[0].at;
    uint8_t *wire = malloc(frame_len);
    memcpy(wire, kc_writer_data(&w), at);
    memcpy(wire + at, file, sizeof(file));
    memcpy(wire + at + sizeof(file), kc_writer_data(&w) + at, kc_writer_len(&w) - at);
    struct kp_response back;
    assert_int_equal(kp_response_decode(wire + 4, frame_len - 4, KP_API_FETCH, v, 0, &back), 0);
    assert_int_equal(back.body_used, frame_len - 4);
    const struct kp_fetch_resp *fr = back.msg;
    const struct kp_fetch_resp_partition_data *bp = fr->responses.v[0].partitions.v;
    assert_int_equal(bp[0].records.len, sizeof(mem));
    assert_memory_equal(bp[0].records.p, mem, sizeof(mem));
    assert_int_equal(bp[1].records.len, sizeof(file));
    assert_memory_equal(bp[1].records.p, file, sizeof(file));
    assert_int_equal(bp[2].records.len, 0); /* empty is length 0, never null */
    assert_int_equal(bp[2].high_watermark, 12);
    kp_response_fini(&back);
    free(wire);
    /* No room for the gap, or no gap list at all. */
    struct kp_gaps none = {gapv, 0, 0, 0};
    kc_writer_reset(&w);
    assert_int_equal(kp_response_encode(&w, KP_API_FETCH, v, 9, &resp, &none, NULL), -E2BIG);
    kc_writer_reset(&w);
    assert_int_equal(kp_response_encode(&w, KP_API_FETCH, v, 9, &resp, NULL, NULL), -EINVAL);
    kc_writer_fini(&w);
}

static void test_gaps_leave_room_for_sendfile_in_v11_and_v12(void **state)
{
    (void)state;
    gap_response(4);
    gap_response(11); /* i32 records length */
    gap_response(12); /* flexible: uvarint length + 1, header v1 */
}

/* ---- frames, headers, limits ---------------------------------------------------------- */

static void test_frames_and_headers_follow_kafka(void **state)
{
    (void)state;
    size_t flen;
    assert_int_equal(kp_frame_check(B(0, 0, 0), 10, 100, &flen), KC_ENEEDMORE);
    assert_int_equal(kp_frame_check(B(0, 0, 0, 9), 10, 100, &flen), KC_EMALFORMED);
    assert_int_equal(kp_frame_check(B(0x80, 0, 0, 10), 10, 100, &flen), KC_EMALFORMED);
    assert_int_equal(kp_frame_check(B(0, 0, 0, 101), 10, 100, &flen), KC_ETOOLARGE);
    assert_int_equal(kp_frame_check(B(0, 0, 0, 10, 1, 2, 3), 10, 100, &flen), KC_ENEEDMORE);
    assert_int_equal(kp_frame_check(B(0, 0, 0, 1, 9, 9), 1, 100, &flen), 0);
    assert_int_equal(flen, 5);

    struct kp_request req;
    /* key 4 (LeaderAndIsr) is not ours; Produce v12 is beyond the JSON */
    assert_int_equal(kp_request_decode(B(0, 4, 0, 0, 0, 0, 0, 1, 0xff, 0xff), 0, &req),
                     KC_ENOAPI);
    assert_int_equal(kp_request_decode(B(0, 0, 0, 12, 0, 0, 0, 1, 0xff, 0xff), 0, &req),
                     KC_EBADVERSION);
    /* ApiVersions v9 from a future client: header only, .fallback, and Kafka's answer */
    assert_int_equal(kp_request_decode(B(0, 18, 0, 9, 0, 0, 0, 7, 0, 1, 'c', 0, 0x42), 0, &req),
                     0);
    assert_true(req.fallback);
    assert_null(req.msg);
    assert_int_equal(req.hdr.correlation_id, 7);
    assert_int_equal(req.body_used, 12);
    kp_request_fini(&req);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(kp_api_versions_fallback(&w, 7, 0, 4), 0);
    static const uint8_t want[] = {0, 0, 0, 16, 0, 0, 0, 7, 0, 35, 0, 0, 0, 1,
                                   0, 18, 0, 0, 0, 4};
    assert_int_equal(kc_writer_len(&w), sizeof(want));
    assert_memory_equal(kc_writer_data(&w), want, sizeof(want));
    /* and a client asking v3 reads it through the v0 retry */
    struct kp_response resp;
    assert_int_equal(kp_response_decode(kc_writer_data(&w) + 4, kc_writer_len(&w) - 4,
                                        KP_API_API_VERSIONS, 3, 0, &resp), 0);
    assert_int_equal(resp.version, 0);
    assert_int_equal(((struct kp_api_versions_resp *)resp.msg)->error_code, 35);
    kp_response_fini(&resp);
    kc_writer_fini(&w);
    /* header v2 (flexible) keeps client_id as an i16 string, then a tag block */
    assert_int_equal(kp_request_decode(B(0, 18, 0, 3, 0, 0, 0, 1, 0, 1, 'c', 0, 1, 1, 0), 0,
                                       &req), 0);
    assert_int_equal(req.hdr.client_id.len, 1);
    assert_int_equal(req.body_used, 15);
    kp_request_fini(&req);
    /* a body cut short inside a whole frame is malformed, not "need more" */
    assert_int_equal(kp_request_decode(B(0, 18, 0, 3, 0, 0, 0, 1, 0, 1, 'c', 0, 1, 1), 0, &req),
                     KC_EMALFORMED);
}

static void test_arena_limit_refuses_big_decodes(void **state)
{
    (void)state;
    /* Metadata v4 with 100 topics of empty names: 100 slices = 1600 bytes of arena */
    uint8_t body[10 + 4 + 100 * 2 + 1] = {0, 3, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 100};
    struct kp_request req;
    size_t len = sizeof(body);
    assert_int_equal(kp_request_decode(body, len, 1024, &req), KC_ETOOLARGE);
    assert_int_equal(kp_request_decode(body, len, 4096, &req), 0);
    assert_int_equal(((struct kp_metadata_req *)req.msg)->topics.n, 100);
    kp_request_fini(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_known_are_decoded_unknown_skipped),
        cmocka_unit_test(test_tags_out_of_order_are_accepted_like_kafka),
        cmocka_unit_test(test_tags_known_with_wrong_size_are_malformed),
        cmocka_unit_test(test_tags_long_values_get_a_multibyte_size),
        cmocka_unit_test(test_compact_null_and_empty_are_different),
        cmocka_unit_test(test_varints_too_long_or_too_wide_are_malformed),
        cmocka_unit_test(test_counts_beyond_the_bytes_left_allocate_nothing),
        cmocka_unit_test(test_negative_lengths_other_than_null_are_malformed),
        cmocka_unit_test(test_null_only_where_the_version_allows_it),
        cmocka_unit_test(test_uuid_and_integer_extremes_round_trip),
        cmocka_unit_test(test_nondefault_field_absent_from_version_is_refused),
        cmocka_unit_test(test_gaps_leave_room_for_sendfile_in_v11_and_v12),
        cmocka_unit_test(test_frames_and_headers_follow_kafka),
        cmocka_unit_test(test_arena_limit_refuses_big_decodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
