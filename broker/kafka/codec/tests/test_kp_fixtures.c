/*
 * test_kp_fixtures.c - libbrk_kp against the bytes real clients sent and got.
 *
 * Every fixture under broker/kafka/tests/fixtures/ (kcat 1.7.1 / librdkafka 2.0.2,
 * kafkajs 2.2.4, confluent-kafka, kafka-python: see each scenario's INDEX) is:
 *  1. decoded (request with kp_request_decode, response with kp_response_decode at the
 *     request's version), reading the whole frame, and encoded again into exactly the
 *     same bytes: the schema tables and the interpreter agree with the clients and with
 *     the brokers that answered them, field by field, version by version;
 *  2. cut at every length: the frame check says "need more" for every prefix, and the
 *     body decoder refuses every shortened body (malformed), never reading past the end
 *     (each prefix is an exact-size heap copy, so ASan would see it).
 *
 * One captured frame is not valid Kafka and is checked as such: librdkafka 2.0.2's mock
 * broker answers ApiVersions v3 with a compact array count one short (it writes N where
 * KIP-482 says N + 1; broker/kafka/README.md §2). Read as v3 it is an empty api_keys
 * array followed by bytes that belong to nothing, so it cannot round-trip; librdkafka
 * itself fails to parse it and retries with v0, which is what the kcat scenarios show.
 *
 * One client request carries a byte too many: librdkafka 2.0.2's ListGroups v4 (its admin
 * API's ListConsumerGroups, scenario rdkafka_groups) writes the request's empty tag block
 * twice - once itself, once when the buffer is finalised (librdkafka later dropped the
 * first, confluentinc/librdkafka#4777's review). Kafka reads a request's fields and
 * ignores what follows, and so does the broker; the test checks that exactly that one
 * 0x00 follows, and that the rest round-trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"
#include "kc_test.h"
#include "support/kpc.h"

struct tally {
    int requests, responses, flexible, bytes, mock_bugs, client_bugs;
};

/* librdkafka 2.0.2's ListGroups v4+: one empty tag block too many (see above). */
static bool extra_tag_block(const struct kpc_fixture *fx)
{
    return fx->key == KP_API_LIST_GROUPS && fx->version >= 4 &&
           strncmp(fx->name, "rdkafka_", 8) == 0;
}

static void assert_same_bytes(const char *what, const uint8_t *want, size_t want_len,
                              const uint8_t *got, size_t got_len)
{
    if (got_len != want_len)
        fail_msg("%s: re-encoded %zu bytes, captured %zu", what, got_len, want_len);
    for (size_t i = 0; i < want_len; i++)
        if (got[i] != want[i])
            fail_msg("%s: byte %zu is %02x, captured %02x", what, i, got[i], want[i]);
}

static void round_trip_request(const struct kpc_fixture *fx, struct tally *t)
{
    struct kp_request req;
    int rc = kp_request_decode(fx->req + 4, fx->req_len - 4, 0, &req);
    if (rc)
        fail_msg("%s.req: %s", fx->name, kc_strerror(rc));
    if (req.fallback) {
        /* ApiVersions above our max: the header only, by Kafka's rule. */
        assert_true(fx->key == KP_API_API_VERSIONS && fx->version > req.api->max);
    } else {
        size_t extra = extra_tag_block(fx) ? 1 : 0;
        if (req.body_used != fx->req_len - 4 - extra)
            fail_msg("%s.req: read %zu of %zu body bytes", fx->name, req.body_used,
                     fx->req_len - 4);
        if (extra) { /* the extra byte is an empty tag block, and nothing else */
            assert_int_equal(fx->req[fx->req_len - 1], 0);
            t->client_bugs++;
        }
        struct kc_writer w;
        kc_writer_init(&w, 0);
        rc = kp_request_encode(&w, &req.hdr, req.msg);
        if (rc)
            fail_msg("%s.req: encode: %s", fx->name, kc_strerror(rc));
        if (extra) /* compare with the frame as it should have been */
            kc_store_be32(kc_writer_data(&w), (uint32_t)(fx->req_len - 4));
        assert_same_bytes(fx->name, fx->req, fx->req_len - extra, kc_writer_data(&w),
                          kc_writer_len(&w));
        kc_writer_fini(&w);
        t->flexible += kp_api_flexible(req.api, fx->version);
    }
    kp_request_fini(&req);
    t->requests++;
    t->bytes += (int)fx->req_len;
}

/* The librdkafka mock's ApiVersions v3 answer (see the header comment). */
static bool mock_short_count(const struct kpc_fixture *fx)
{
    return fx->key == KP_API_API_VERSIONS && fx->version == 3 && strncmp(fx->name, "kcat_", 5) == 0;
}

static void round_trip_response(const struct kpc_fixture *fx, struct tally *t)
{
    struct kp_response resp;
    int rc = kp_response_decode(fx->resp + 4, fx->resp_len - 4, fx->key, fx->version, 0, &resp);
    if (rc)
        fail_msg("%s.resp: %s", fx->name, kc_strerror(rc));
    if (mock_short_count(fx)) {
        const struct kp_api_versions_resp *av = resp.msg;
        assert_int_equal(av->error_code, 35);
        assert_int_equal(av->api_keys.n, 0); /* "01": N + 1 = 1 */
        assert_true(resp.body_used < fx->resp_len - 4);
        kp_response_fini(&resp);
        t->mock_bugs++;
        return;
    }
    if (resp.body_used != fx->resp_len - 4)
        fail_msg("%s.resp: read %zu of %zu body bytes", fx->name, resp.body_used,
                 fx->resp_len - 4);
    assert_int_equal(resp.correlation_id, (int32_t)kc_load_be32(fx->req + 8));
    struct kc_writer w;
    kc_writer_init(&w, 0);
    size_t frame_len;
    rc = kp_response_encode(&w, fx->key, resp.version, resp.correlation_id, resp.msg, NULL,
                            &frame_len);
    if (rc)
        fail_msg("%s.resp: encode: %s", fx->name, kc_strerror(rc));
    assert_int_equal(frame_len, kc_writer_len(&w));
    assert_same_bytes(fx->name, fx->resp, fx->resp_len, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
    kp_response_fini(&resp);
    t->responses++;
    t->bytes += (int)fx->resp_len;
}

static void round_trip(const struct kpc_fixture *fx, void *arg)
{
    round_trip_request(fx, arg);
    if (fx->resp)
        round_trip_response(fx, arg);
}

static void test_fixtures_every_frame_round_trips_byte_for_byte(void **state)
{
    (void)state;
    struct tally t = {0};
    int n = kpc_each_fixture(round_trip, &t);
    printf("# %d fixtures: %d requests (%d flexible), %d responses, %d bytes, all byte-exact;"
           " %d mock answers with a short count and %d client requests with an extra tag "
           "block, as expected\n",
           n, t.requests, t.flexible, t.responses, t.bytes, t.mock_bugs, t.client_bugs);
    assert_true(n >= 68);
}

/* Every prefix of frame: "need more" at the frame level, refused at the body level. */
static void truncations(const char *name, const uint8_t *frame, size_t len, bool is_req,
                        int16_t key, int16_t version, size_t must_read)
{
    for (size_t k = 0; k < len; k++) {
        uint8_t *cut = kpc_dup(frame, k);
        size_t flen;
        if (kp_frame_check(cut, k, 4, KP_FRAME_MAX_DEFAULT, &flen) != KC_ENEEDMORE)
            fail_msg("%s: frame check of a %zu-byte prefix", name, k);
        if (k >= 4 && k - 4 < must_read) {
            int rc;
            if (is_req) {
                struct kp_request req;
                rc = kp_request_decode(cut + 4, k - 4, 0, &req);
                if (rc == 0)
                    kp_request_fini(&req);
            } else {
                struct kp_response resp;
                rc = kp_response_decode(cut + 4, k - 4, key, version, 0, &resp);
                /* ApiVersions cut where a v0 body ends parses as v0, the broker's fallback
                 * answer: Kafka's client reads it the same way. */
                bool v0 = rc == 0 && key == KP_API_API_VERSIONS && resp.version == 0 &&
                          version > 0;
                if (rc == 0)
                    kp_response_fini(&resp);
                if (v0)
                    rc = KC_EMALFORMED;
            }
            if (rc != KC_EMALFORMED)
                fail_msg("%s cut to %zu bytes: %s, not malformed", name, k, kc_strerror(rc));
        }
        free(cut);
    }
}

static void cut_everywhere(const struct kpc_fixture *fx, void *arg)
{
    int *cases = arg;
    struct kp_request req;
    assert_int_equal(kp_request_decode(fx->req + 4, fx->req_len - 4, 0, &req), 0);
    size_t must = req.body_used; /* a fallback reads the header only */
    kp_request_fini(&req);
    truncations(fx->name, fx->req, fx->req_len, true, fx->key, fx->version, must);
    *cases += (int)fx->req_len;
    if (fx->resp) {
        struct kp_response resp;
        assert_int_equal(kp_response_decode(fx->resp + 4, fx->resp_len - 4, fx->key,
                                             fx->version, 0, &resp), 0);
        must = resp.body_used;
        kp_response_fini(&resp);
        truncations(fx->name, fx->resp, fx->resp_len, false, fx->key, fx->version, must);
        *cases += (int)fx->resp_len;
    }
}

static void test_fixtures_every_truncation_is_refused(void **state)
{
    (void)state;
    int cases = 0;
    kpc_each_fixture(cut_everywhere, &cases);
    printf("# %d truncated prefixes refused\n", cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_every_frame_round_trips_byte_for_byte),
        cmocka_unit_test(test_fixtures_every_truncation_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
