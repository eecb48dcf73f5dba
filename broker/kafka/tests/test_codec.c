/*
 * test_codec.c - frames, headers, versions and hostile input.
 *
 * The fixtures cover what real clients send; these tests cover what they do not: every
 * other version the decoders accept (built by hand), the paths that must close a
 * connection (unknown key, version outside the table, advertised but unimplemented,
 * garbage), hostile counts and lengths that must be refused before anything is
 * allocated, flexible headers with tags, and a seeded mutation run over the fixtures.
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

#include "kc_common.h"
#include "kc_test.h"
#include "support/kpt.h"

/* ---- building requests by hand ---------------------------------------------------------- */

static void req_begin(struct kc_writer *w, int16_t key, int16_t version, int32_t corr)
{
    const struct kp_api *api = kp_api_find(key);
    struct kp_header h = {key, version, corr, kp_slice_str("test"),
                          api && version >= api->flex_min};
    kc_writer_init(w, 0);
    kc_write_i32(w, 0);
    kp_header_encode(w, &h);
}

/* Patch the size; return the decode result of the frame (req filled on 0). */
static int req_decode(struct kc_writer *w, struct kp_request *req)
{
    kc_writer_patch_i32(w, 0, (int32_t)(kc_writer_len(w) - 4));
    assert_int_equal(kc_writer_error(w), 0);
    return kp_request_decode(kc_writer_data(w) + 4, kc_writer_len(w) - 4, req);
}

/* ---- framing and headers -------------------------------------------------------------- */

static void test_frame_check_sizes_need_more_malformed_too_large(void **state)
{
    (void)state;
    uint8_t b[32] = {0, 0, 0, 12};
    size_t flen = 0;
    assert_int_equal(kp_frame_check(b, 3, 100, &flen), KC_ENEEDMORE);
    assert_int_equal(kp_frame_check(b, 4, 100, &flen), KC_ENEEDMORE);
    assert_int_equal(kp_frame_check(b, 15, 100, &flen), KC_ENEEDMORE);
    assert_int_equal(kp_frame_check(b, 16, 100, &flen), 0);
    assert_int_equal(flen, 16);
    assert_int_equal(kp_frame_check(b, 32, 100, &flen), 0); /* the next frame's bytes */
    assert_int_equal(kp_frame_check(b, 32, 11, &flen), KC_ETOOLARGE);
    kc_store_be32(b, 9); /* below the smallest header */
    assert_int_equal(kp_frame_check(b, 32, 100, &flen), KC_EMALFORMED);
    kc_store_be32(b, 0xffffffffu); /* -1 */
    assert_int_equal(kp_frame_check(b, 32, 100, &flen), KC_EMALFORMED);
    kc_store_be32(b, 0x7fffffffu);
    assert_int_equal(kp_frame_check(b, 32, KP_FRAME_MAX_DEFAULT, &flen), KC_ETOOLARGE);
}

static void test_header_flexible_tags_skipped_bad_tags_malformed(void **state)
{
    (void)state;
    /* ApiVersions v3 (header v2) whose tag block carries two tagged fields. */
    static const uint8_t body[] = {0, 18, 0, 3, 0, 0, 0, 9, 0, 2, 'c', 'l',
                                   2,                         /* two tags: */
                                   0, 3, 'a', 'b', 'c',       /* tag 0, 3 bytes */
                                   5, 0,                      /* tag 5, empty */
                                   3, 'x', 1, 0};             /* body (not parsed) */
    struct kp_header h;
    assert_int_equal(kp_header_decode(body, sizeof(body), &h), 20);
    assert_true(h.flexible);
    assert_int_equal(h.correlation_id, 9);
    assert_true(kp_slice_eq(h.client_id, "cl"));
    struct kp_request req;
    assert_int_equal(kp_request_decode(body, sizeof(body), &req), 0);
    assert_true(req.u.api_versions.fallback);
    kp_request_fini(&req);

    uint8_t bad[sizeof(body)];
    memcpy(bad, body, sizeof(bad));
    bad[14] = 30; /* tag 0 claims 30 bytes */
    assert_int_equal(kp_header_decode(bad, sizeof(bad), &h), KC_EMALFORMED);
    assert_int_equal(kp_request_decode(bad, sizeof(bad), &req), KC_EMALFORMED);

    /* Non-flexible header, null client id. */
    static const uint8_t v1[] = {0, 3, 0, 4, 0, 0, 0, 1, 0xff, 0xff};
    assert_int_equal(kp_header_decode(v1, sizeof(v1), &h), 10);
    assert_false(h.flexible);
    assert_int_equal(h.client_id.len, -1);
    for (size_t k = 0; k < sizeof(v1); k++)
        assert_int_equal(kp_header_decode(v1, k, &h), KC_EMALFORMED);
}

static void test_versions_unknown_key_bad_version_notimpl_close(void **state)
{
    (void)state;
    static const struct {
        int16_t key, version;
        int want;
    } cases[] = {
        {19, 0, KC_ENOAPI},              /* CreateTopics: not ours */
        {22, 0, KC_ENOAPI},              /* InitProducerId: idempotence */
        {99, 0, KC_ENOAPI}, {-1, 0, KC_ENOAPI},
        {KP_API_METADATA, 9, KC_EBADVERSION},  /* flexible, above our max */
        {KP_API_METADATA, -1, KC_EBADVERSION},
        {KP_API_FETCH, 12, KC_EBADVERSION},   {KP_API_OFFSET_FETCH, 6, KC_EBADVERSION},
        {KP_API_PRODUCE, 2, KC_ENOTIMPL},      /* advertised for librdkafka, message set v1 */
        {KP_API_FETCH, 3, KC_ENOTIMPL},       {KP_API_LIST_OFFSETS, 0, KC_ENOTIMPL},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct kc_writer w;
        struct kp_request req;
        req_begin(&w, cases[i].key, cases[i].version, 7);
        kc_write_i32(&w, 0);
        assert_int_equal(req_decode(&w, &req), cases[i].want);
        assert_null(req.mem);
        kc_writer_fini(&w);
    }
    assert_string_equal(kc_strerror(KC_ENOTIMPL), "API version advertised but not implemented");
    assert_string_equal(kc_strerror(KC_EMALFORMED), "malformed data");
}

static void test_api_table_ranges_reference_rules(void **state)
{
    (void)state;
    size_t n;
    const struct kp_api *t = kp_api_table(&n);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].min, 0);            /* librdkafka <= 2.11 range checks */
        assert_true(t[i].max < t[i].flex_min);    /* never a flexible version */
        assert_true(t[i].impl_min <= t[i].max);
        assert_true(i == 0 || t[i - 1].key < t[i].key);
    }
    assert_int_equal(kp_api_find(KP_API_PRODUCE)->max, 7);      /* zstd: Produce 7 ... */
    assert_true(kp_api_find(KP_API_FETCH)->max >= 10);           /* ... and Fetch 10 */
    assert_int_equal(kp_api_find(KP_API_OFFSET_FETCH)->max, 4);  /* librdkafka would pick 6 */
    assert_null(kp_api_find(22));
}

static void test_apiversions_v0_v1_v2_encode_decode_back(void **state)
{
    (void)state;
    for (int16_t v = 0; v <= 2; v++) {
        struct kc_writer w;
        struct kp_request req;
        req_begin(&w, KP_API_API_VERSIONS, v, 100 + v);
        assert_int_equal(req_decode(&w, &req), 0);
        assert_false(req.u.api_versions.fallback);
        kc_writer_reset(&w);
        assert_int_equal(kp_encode_api_versions(&w, &req.hdr, &req.u.api_versions), 0);
        int16_t err;
        int32_t nkeys;
        struct kp_api keys[32];
        assert_int_equal(kpt_resp_api_versions(kc_writer_data(&w), kc_writer_len(&w), v, &err,
                                               &nkeys, keys, 32), 0);
        assert_int_equal(kpt_resp_corr(kc_writer_data(&w)), 100 + v);
        assert_int_equal(err, 0);
        assert_int_equal(nkeys, 12);
        assert_int_equal(keys[11].key, 18);
        assert_int_equal(keys[11].max, 2);
        kp_request_fini(&req);
        kc_writer_fini(&w);
    }
}

/* ---- hand-built requests for the versions no fixture holds ------------------------------- */

static void test_metadata_v0_empty_means_all_v1_null_means_all(void **state)
{
    (void)state;
    struct kc_writer w;
    struct kp_request req;
    req_begin(&w, KP_API_METADATA, 0, 1);
    kc_write_i32(&w, 0);
    assert_int_equal(req_decode(&w, &req), 0);
    assert_int_equal(req.u.metadata.ntopics, -1);
    assert_true(req.u.metadata.allow_auto_create);
    kp_request_fini(&req);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_METADATA, 0, 1);
    kc_write_i32(&w, -1); /* null was not allowed in v0 */
    assert_int_equal(req_decode(&w, &req), KC_EMALFORMED);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_METADATA, 1, 1);
    kc_write_i32(&w, -1);
    assert_int_equal(req_decode(&w, &req), 0);
    assert_int_equal(req.u.metadata.ntopics, -1);
    kp_request_fini(&req);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_METADATA, 4, 1);
    kc_write_i32(&w, 2);
    kc_write_cstr(&w, "a");
    kc_write_cstr(&w, "b.c");
    kc_write_i8(&w, 0);
    assert_int_equal(req_decode(&w, &req), 0);
    assert_int_equal(req.u.metadata.ntopics, 2);
    assert_true(kp_slice_eq(req.u.metadata.topics[1], "b.c"));
    assert_false(req.u.metadata.allow_auto_create);
    kp_request_fini(&req);
    kc_writer_fini(&w);
}

static void test_join_v0_rebalance_timeout_is_session_timeout(void **state)
{
    (void)state;
    struct kc_writer w;
    struct kp_request req;
    req_begin(&w, KP_API_JOIN_GROUP, 0, 1);
    kc_write_cstr(&w, "g");
    kc_write_i32(&w, 10000);
    kc_write_cstr(&w, "");
    kc_write_cstr(&w, "consumer");
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "range");
    kc_write_bytes(&w, "m", 1);
    assert_int_equal(req_decode(&w, &req), 0);
    assert_int_equal(req.u.join_group.rebalance_timeout_ms, 10000);
    assert_int_equal(req.u.join_group.group_instance_id.len, -1);
    kp_request_fini(&req);
    kc_writer_fini(&w);
}

/* The oldest implemented version of the APIs no fixture holds at that version. */
static void test_oldest_versions_decode_whole_body(void **state)
{
    (void)state;
    struct kc_writer w;
    struct kp_request req;

    req_begin(&w, KP_API_LIST_OFFSETS, 1, 1); /* v1: no isolation level */
    kc_write_i32(&w, -1);
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "t");
    kc_write_i32(&w, 1);
    kc_write_i32(&w, 2);
    kc_write_i64(&w, 1700000000000);
    assert_int_equal(req_decode(&w, &req), 0);
    assert_int_equal(req.u.list_offsets.isolation_level, 0);
    assert_int_equal(req.u.list_offsets.topics[0].parts[0].timestamp, 1700000000000);
    assert_int_equal(req.body_used, kc_writer_len(&w) - 4);
    kp_request_fini(&req);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_FIND_COORDINATOR, 0, 1); /* v0: key only */
    kc_write_cstr(&w, "grp");
    assert_int_equal(req_decode(&w, &req), 0);
    assert_true(kp_slice_eq(req.u.find_coordinator.key, "grp"));
    assert_int_equal(req.u.find_coordinator.key_type, 0);
    kp_request_fini(&req);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_SYNC_GROUP, 0, 1); /* v0: no group_instance_id */
    kc_write_cstr(&w, "g");
    kc_write_i32(&w, 3);
    kc_write_cstr(&w, "m");
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "m");
    kc_write_bytes(&w, "\0\1", 2);
    assert_int_equal(req_decode(&w, &req), 0);
    assert_int_equal(req.u.sync_group.group_instance_id.len, -1);
    assert_int_equal(req.u.sync_group.assignments[0].assignment.len, 2);
    kp_request_fini(&req);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_HEARTBEAT, 0, 1);
    kc_write_cstr(&w, "g");
    kc_write_i32(&w, 3);
    kc_write_cstr(&w, "m");
    assert_int_equal(req_decode(&w, &req), 0);
    assert_int_equal(req.u.heartbeat.generation_id, 3);
    assert_int_equal(req.body_used, kc_writer_len(&w) - 4);
    kp_request_fini(&req);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_LEAVE_GROUP, 0, 1);
    kc_write_cstr(&w, "g");
    kc_write_cstr(&w, "m");
    assert_int_equal(req_decode(&w, &req), 0);
    assert_true(kp_slice_eq(req.u.leave_group.member_id, "m"));
    kp_request_fini(&req);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_OFFSET_FETCH, 0, 1);
    kc_write_cstr(&w, "g");
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "t");
    kc_write_i32(&w, 2);
    kc_write_i32(&w, 0);
    kc_write_i32(&w, 5);
    assert_int_equal(req_decode(&w, &req), 0);
    assert_int_equal(req.u.offset_fetch.topics[0].parts[1], 5);
    assert_int_equal(req.body_used, kc_writer_len(&w) - 4);
    kp_request_fini(&req);
    kc_writer_fini(&w);
}

static void test_offset_commit_v1_timestamp_v2_retention(void **state)
{
    (void)state;
    for (int16_t v = 0; v <= 5; v++) {
        struct kc_writer w;
        struct kp_request req;
        req_begin(&w, KP_API_OFFSET_COMMIT, v, 1);
        kc_write_cstr(&w, "g");
        if (v >= 1) {
            kc_write_i32(&w, 4);
            kc_write_cstr(&w, "m-1");
        }
        if (v >= 2 && v <= 4)
            kc_write_i64(&w, 86400000);
        kc_write_i32(&w, 1);
        kc_write_cstr(&w, "t");
        kc_write_i32(&w, 1);
        kc_write_i32(&w, 3);
        kc_write_i64(&w, 42);
        if (v == 1)
            kc_write_i64(&w, 1700000000000);
        kc_write_str(&w, NULL, -1); /* null metadata */
        assert_int_equal(req_decode(&w, &req), 0);
        const struct kp_offset_commit_req *c = &req.u.offset_commit;
        assert_int_equal(c->generation_id, v >= 1 ? 4 : -1);
        assert_true(kp_slice_eq(c->member_id, v >= 1 ? "m-1" : ""));
        assert_int_equal(c->retention_ms, v >= 2 && v <= 4 ? 86400000 : -1);
        assert_int_equal(c->topics[0].parts[0].offset, 42);
        assert_int_equal(c->topics[0].parts[0].commit_timestamp, v == 1 ? 1700000000000 : -1);
        assert_int_equal(c->topics[0].parts[0].metadata.len, -1);
        assert_int_equal(req.body_used, kc_writer_len(&w) - 4);

        /* and the response, through the client-side decoder */
        req.u.offset_commit.topics[0].parts[0].error = KP_ERR_ILLEGAL_GENERATION;
        struct kc_writer out;
        kc_writer_init(&out, 0);
        assert_int_equal(kp_encode_offset_commit(&out, &req.hdr, c), 0);
        struct kp__chunk *mem = NULL;
        struct kp_offset_commit_req back;
        assert_int_equal(kpt_resp_offset_commit(kc_writer_data(&out), kc_writer_len(&out), v,
                                                &mem, &back), 0);
        assert_int_equal(back.topics[0].parts[0].error, KP_ERR_ILLEGAL_GENERATION);
        kpt_free(&mem);
        kc_writer_fini(&out);
        kp_request_fini(&req);
        kc_writer_fini(&w);
    }
}

static void test_offset_fetch_v1_null_refused_v2_null_means_all(void **state)
{
    (void)state;
    for (int16_t v = 1; v <= 2; v++) {
        struct kc_writer w;
        struct kp_request req;
        req_begin(&w, KP_API_OFFSET_FETCH, v, 1);
        kc_write_cstr(&w, "g");
        kc_write_i32(&w, -1);
        int rc = req_decode(&w, &req);
        assert_int_equal(rc, v == 1 ? KC_EMALFORMED : 0);
        if (rc == 0) {
            assert_int_equal(req.u.offset_fetch.ntopics, -1);
            kp_request_fini(&req);
        }
        kc_writer_fini(&w);
    }
}

/* ---- response layouts per version, decoded back ---------------------------------------- */

static void test_metadata_response_every_version_round_trips(void **state)
{
    (void)state;
    static const int32_t nodes[] = {1};
    static const struct kp_metadata_part parts[] = {{0, 0, 1, 1, nodes, 1, nodes},
                                                    {0, 1, 1, 1, nodes, 1, nodes}};
    const struct kp_metadata_topic topics[] = {
        {0, kp_slice_str("orders"), false, 2, parts},
        {KP_ERR_INVALID_TOPIC_EXCEPTION, kp_slice_str("bad/name"), false, 0, NULL}};
    const struct kp_metadata_broker broker = {1, kp_slice_str("127.0.0.1"), 9092, {NULL, -1}};
    const struct kp_metadata_resp resp = {1, &broker, kp_slice_str("kc"), 1, 2, topics};
    for (int16_t v = 0; v <= 4; v++) {
        struct kp_header h = {KP_API_METADATA, v, 77, {NULL, -1}, false};
        struct kc_writer w;
        kc_writer_init(&w, 0);
        assert_int_equal(kp_encode_metadata(&w, &h, &resp), 0);
        struct kp__chunk *mem = NULL;
        struct kp_metadata_resp back;
        assert_int_equal(kpt_resp_metadata(kc_writer_data(&w), kc_writer_len(&w), v, &mem,
                                           &back), 0);
        assert_int_equal(back.nbrokers, 1);
        assert_int_equal(back.brokers[0].port, 9092);
        assert_int_equal(back.ntopics, 2);
        assert_int_equal(back.topics[0].parts[1].index, 1);
        assert_int_equal(back.topics[1].error, KP_ERR_INVALID_TOPIC_EXCEPTION);
        assert_int_equal(back.controller_id, v >= 1 ? 1 : -1);
        assert_int_equal(back.cluster_id.len, v >= 2 ? 2 : -1);
        kpt_free(&mem);
        kc_writer_fini(&w);
    }
    struct kp_header h5 = {KP_API_METADATA, 5, 1, {NULL, -1}, false};
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(kp_encode_metadata(&w, &h5, &resp), -EINVAL);
    kc_writer_fini(&w);
}

static void test_group_responses_every_version_round_trip(void **state)
{
    (void)state;
    const struct kp_join_member members[] = {{kp_slice_str("a-1"), {NULL, -1}, {(const uint8_t *)"xy", 2}},
                                             {kp_slice_str("b-2"), {NULL, -1}, {(const uint8_t *)"", 0}}};
    const struct kp_join_group_resp join = {0, 3, kp_slice_str("range"), kp_slice_str("a-1"),
                                            kp_slice_str("a-1"), 2, members};
    for (int16_t v = 0; v <= 5; v++) {
        struct kp_header h = {KP_API_JOIN_GROUP, v, 5, {NULL, -1}, false};
        struct kc_writer w;
        kc_writer_init(&w, 0);
        assert_int_equal(kp_encode_join_group(&w, &h, &join), 0);
        struct kp__chunk *mem = NULL;
        struct kp_join_group_resp back;
        assert_int_equal(kpt_resp_join_group(kc_writer_data(&w), kc_writer_len(&w), v, &mem,
                                             &back), 0);
        assert_int_equal(back.generation_id, 3);
        assert_int_equal(back.nmembers, 2);
        assert_true(kp_slice_eq(back.members[1].member_id, "b-2"));
        assert_int_equal(back.members[0].metadata.len, 2);
        kpt_free(&mem);
        kc_writer_fini(&w);
    }
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_header h = {KP_API_SYNC_GROUP, v, 5, {NULL, -1}, false};
        struct kc_writer w;
        kc_writer_init(&w, 0);
        struct kp_sync_group_resp sync = {KP_ERR_REBALANCE_IN_PROGRESS, {NULL, -1}};
        assert_int_equal(kp_encode_sync_group(&w, &h, &sync), 0);
        struct kp_sync_group_resp back;
        assert_int_equal(kpt_resp_sync_group(kc_writer_data(&w), kc_writer_len(&w), v, &back), 0);
        assert_int_equal(back.error, KP_ERR_REBALANCE_IN_PROGRESS);
        assert_int_equal(back.assignment.len, 0); /* empty, never null */
        kc_writer_reset(&w);
        h.api_key = KP_API_HEARTBEAT;
        assert_int_equal(kp_encode_heartbeat(&w, &h, KP_ERR_ILLEGAL_GENERATION), 0);
        int16_t err;
        assert_int_equal(kpt_resp_error_only(kc_writer_data(&w), kc_writer_len(&w), v, &err), 0);
        assert_int_equal(err, KP_ERR_ILLEGAL_GENERATION);
        kc_writer_fini(&w);
    }
    for (int16_t v = 0; v <= 2; v++) {
        struct kp_header h = {KP_API_FIND_COORDINATOR, v, 5, {NULL, -1}, false};
        const struct kp_find_coordinator_resp fc = {0, {NULL, -1}, 1, kp_slice_str("127.0.0.1"),
                                                    9092};
        struct kc_writer w;
        kc_writer_init(&w, 0);
        assert_int_equal(kp_encode_find_coordinator(&w, &h, &fc), 0);
        struct kp_find_coordinator_resp back;
        assert_int_equal(kpt_resp_find_coordinator(kc_writer_data(&w), kc_writer_len(&w), v,
                                                   &back), 0);
        assert_int_equal(back.port, 9092);
        assert_true(kp_slice_eq(back.host, "127.0.0.1"));
        kc_writer_fini(&w);
    }
}

static void test_offset_fetch_response_trailing_error_v2_throttle_v3(void **state)
{
    (void)state;
    const struct kp_offset_fetch_part parts[] = {{0, 42, kp_slice_str(""), 0},
                                                 {1, -1, {NULL, -1}, 0}};
    const struct kp_offset_fetch_resp_topic topic = {kp_slice_str("t"), 2, parts};
    const struct kp_offset_fetch_resp resp = {1, &topic, KP_ERR_NONE};
    size_t len[5];
    for (int16_t v = 0; v <= 4; v++) {
        struct kp_header h = {KP_API_OFFSET_FETCH, v, 5, {NULL, -1}, false};
        struct kc_writer w;
        kc_writer_init(&w, 0);
        assert_int_equal(kp_encode_offset_fetch(&w, &h, &resp), 0);
        struct kp__chunk *mem = NULL;
        struct kp_offset_fetch_resp back;
        assert_int_equal(kpt_resp_offset_fetch(kc_writer_data(&w), kc_writer_len(&w), v, &mem,
                                               &back), 0);
        assert_int_equal(back.topics[0].parts[0].offset, 42);
        assert_int_equal(back.topics[0].parts[1].offset, -1);
        len[v] = kc_writer_len(&w);
        kpt_free(&mem);
        kc_writer_fini(&w);
    }
    assert_int_equal(len[1], len[0]);
    assert_int_equal(len[2], len[1] + 2); /* the trailing error */
    assert_int_equal(len[3], len[2] + 4); /* the leading throttle */
    assert_int_equal(len[4], len[3]);
}

/* ---- hostile input --------------------------------------------------------------------- */

static void test_hostile_counts_and_lengths_refused_without_allocating(void **state)
{
    (void)state;
    struct kc_writer w;
    struct kp_request req;

    req_begin(&w, KP_API_PRODUCE, 7, 1); /* 2^31-1 topics in a few bytes */
    kc_write_str(&w, NULL, -1);
    kc_write_i16(&w, -1);
    kc_write_i32(&w, 1000);
    kc_write_i32(&w, INT32_MAX);
    assert_int_equal(req_decode(&w, &req), KC_EMALFORMED);
    assert_null(req.mem);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_PRODUCE, 7, 1); /* records longer than the frame */
    kc_write_str(&w, NULL, -1);
    kc_write_i16(&w, -1);
    kc_write_i32(&w, 1000);
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "t");
    kc_write_i32(&w, 1);
    kc_write_i32(&w, 0);
    kc_write_i32(&w, 1 << 30);
    kc_write_raw(&w, "xxxx", 4);
    assert_int_equal(req_decode(&w, &req), KC_EMALFORMED);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_FETCH, 11, 1); /* a topic name of length -2 */
    kc_write_i32(&w, -1);
    kc_write_i32(&w, 500);
    kc_write_i32(&w, 1);
    kc_write_i32(&w, 1 << 20);
    kc_write_i8(&w, 0);
    kc_write_i32(&w, 0);
    kc_write_i32(&w, -1);
    kc_write_i32(&w, 1);
    kc_write_i16(&w, -2);
    assert_int_equal(req_decode(&w, &req), KC_EMALFORMED);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_JOIN_GROUP, 5, 1); /* a null group id (not nullable) */
    kc_write_str(&w, NULL, -1);
    assert_int_equal(req_decode(&w, &req), KC_EMALFORMED);
    kc_writer_fini(&w);

    req_begin(&w, KP_API_FETCH, 11, 1); /* a negative array count other than -1 */
    for (int i = 0; i < 4; i++)
        kc_write_i32(&w, 0);
    kc_write_i8(&w, 0);
    kc_write_i32(&w, 0);
    kc_write_i32(&w, -1);
    kc_write_i32(&w, -7);
    assert_int_equal(req_decode(&w, &req), KC_EMALFORMED);
    kc_writer_fini(&w);
}

static void test_topic_name_rules(void **state)
{
    (void)state;
    char longname[251];
    memset(longname, 'a', 250);
    longname[250] = 0;
    assert_int_equal(kp_topic_name_check(kp_slice_str("orders.v2_x-1")), KP_ERR_NONE);
    assert_int_equal(kp_topic_name_check(kp_slice_str(longname + 1)), KP_ERR_NONE); /* 249 */
    assert_int_equal(kp_topic_name_check(kp_slice_str(longname)), 17);              /* 250 */
    const char *bad[] = {"", ".", "..", "a/b", "../x", "a b", "é"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        assert_int_equal(kp_topic_name_check(kp_slice_str(bad[i])), KP_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(kp_topic_name_check((struct kc_slice){NULL, -1}), 17);
    assert_string_equal(kp_error_name(17), "INVALID_TOPIC_EXCEPTION");
    assert_string_equal(kp_error_name(-1), "UNKNOWN_SERVER_ERROR");
    assert_string_equal(kp_error_name(9999), "UNKNOWN");
}

/* Flip, truncate and overwrite fixture bytes at random: decode must never misbehave, and
 * whatever decodes must encode (ASan/UBSan watch both). */
struct mut {
    uint64_t rng;
    int decoded, refused;
};

static void mutate_one(const char *rel, void *arg)
{
    struct mut *mu = arg;
    size_t len;
    uint8_t *frame = kpt_fixture(rel, &len);
    for (int round = 0; round < 300; round++) {
        size_t n = len - 4;
        uint8_t *body = malloc(n);
        memcpy(body, frame + 4, n);
        int flips = 1 + (int)(kc_test_rand(&mu->rng) % 4);
        for (int i = 0; i < flips; i++) {
            size_t at = kc_test_rand(&mu->rng) % n;
            uint64_t r = kc_test_rand(&mu->rng);
            body[at] = (r & 1) ? (uint8_t)(r >> 8) : (r & 2) ? 0xff : 0x7f;
        }
        if (kc_test_rand(&mu->rng) % 4 == 0)
            n = kc_test_rand(&mu->rng) % n;
        struct kp_request req;
        int rc = kp_request_decode(body, n, &req);
        if (rc == 0) {
            mu->decoded++;
            kp_request_fini(&req);
        } else {
            mu->refused++;
        }
        free(body);
    }
    free(frame);
}

static void test_mutated_fixtures_never_crash(void **state)
{
    (void)state;
    struct mut mu = {kc_test_seed() | 1, 0, 0};
    kpt_each_request(mutate_one, &mu);
    printf("# mutated requests: %d decoded, %d refused\n", mu.decoded, mu.refused);
    assert_true(mu.decoded > 0 && mu.refused > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_check_sizes_need_more_malformed_too_large),
        cmocka_unit_test(test_header_flexible_tags_skipped_bad_tags_malformed),
        cmocka_unit_test(test_versions_unknown_key_bad_version_notimpl_close),
        cmocka_unit_test(test_api_table_ranges_reference_rules),
        cmocka_unit_test(test_apiversions_v0_v1_v2_encode_decode_back),
        cmocka_unit_test(test_metadata_v0_empty_means_all_v1_null_means_all),
        cmocka_unit_test(test_join_v0_rebalance_timeout_is_session_timeout),
        cmocka_unit_test(test_oldest_versions_decode_whole_body),
        cmocka_unit_test(test_offset_commit_v1_timestamp_v2_retention),
        cmocka_unit_test(test_offset_fetch_v1_null_refused_v2_null_means_all),
        cmocka_unit_test(test_metadata_response_every_version_round_trips),
        cmocka_unit_test(test_group_responses_every_version_round_trip),
        cmocka_unit_test(test_offset_fetch_response_trailing_error_v2_throttle_v3),
        cmocka_unit_test(test_hostile_counts_and_lengths_refused_without_allocating),
        cmocka_unit_test(test_topic_name_rules),
        cmocka_unit_test(test_mutated_fixtures_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
