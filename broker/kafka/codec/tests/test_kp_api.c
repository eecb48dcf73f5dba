/*
 * test_kp_api.c - the API table, and every message at every version it claims.
 *
 *  - the table holds the 38 APIs of the brief, ascending, each with request and response
 *    schemas that cover every version in [min, max], and the Kafka 3.9 / 4.0 columns of
 *    kp_versions.h;
 *  - for every API, version, and both directions, a message with *every* field of that
 *    version set (arrays of two, distinct string lengths, tagged fields away from their
 *    defaults) encodes, decodes, and encodes again to the same bytes, as a frame too;
 *  - the encoding's length is what the format rules predict, computed here independently:
 *    below the API's first flexible version every string has an i16 length, every bytes
 *    and array an i32 one, and no struct has a tag block; from it on, every length is a
 *    uvarint of len + 1 and every struct ends with its tag block. So versions below the
 *    flexible boundary never produce a compact encoding, and flexible ones always do.
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
#include "kc_varint.h"
#include "kp_int.h"
#include "kp_versions.h"
#include "support/kpc.h"

static void test_api_table_is_the_declared_list_with_kafka_versions(void **state)
{
    (void)state;
    static const struct {
        int16_t key, max39, min40;
    } want[] = {
#define KPV(key, max39, min40) {key, max39, min40},
        KP_KAFKA_VERSIONS(KPV)
#undef KPV
    };
    size_t n;
    const struct kp_api *t = kp_api_table(&n);
    assert_int_equal(n, 38);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].key, want[i].key);
        assert_true(i == 0 || t[i - 1].key < t[i].key);
        assert_ptr_equal(kp_api_find(t[i].key), &t[i]);
        assert_int_equal(t[i].kafka39_max, want[i].max39);
        assert_int_equal(t[i].kafka40_min, want[i].min40);
        /* The codec implements at least what 3.9 serves and everything 4.0 serves. */
        assert_true(t[i].min <= t[i].kafka40_min && t[i].kafka40_min <= t[i].kafka39_max);
        assert_true(t[i].kafka39_max <= t[i].max);
    }
    assert_null(kp_api_find(4));  /* LeaderAndIsr: not ours */
    assert_null(kp_api_find(-1));
    assert_null(kp_api_find(1000));
}

static void test_api_every_version_has_request_and_response_schemas(void **state)
{
    (void)state;
    size_t n;
    const struct kp_api *t = kp_api_table(&n);
    int versions = 0;
    for (size_t i = 0; i < n; i++) {
        const struct kp_api *api = &t[i];
        assert_non_null(api->req);
        assert_non_null(api->resp);
        assert_int_equal(api->req->flex_min, api->flex_min);
        assert_int_equal(api->resp->flex_min, api->flex_min);
        for (int16_t v = api->min; v <= api->max; v++, versions++) {
            assert_true(kp_vin(api->req->versions, v));
            assert_true(kp_vin(api->resp->versions, v));
            bool flex = v >= api->flex_min;
            assert_int_equal(kp_request_header_version(api, v), flex ? 2 : 1);
            assert_int_equal(kp_response_header_version(api, v),
                             flex && api->key != KP_API_API_VERSIONS ? 1 : 0);
        }
        assert_false(kp_vin(api->req->versions, (int16_t)(api->max + 1)));
    }
    printf("# %zu APIs, %d versions\n", n, versions);
}

/* ---- the format rules, restated: the size an encoding must have --------------------- */

static size_t uv(uint64_t v)
{
    return kc_uvarint_size(v);
}

static size_t struct_size(const struct kp_schema *s, int16_t v, bool flex, const uint8_t *obj);

static size_t value_size(const struct kp_field *f, uint8_t type, int16_t v, bool flex,
                         const uint8_t *at)
{
    bool compact = flex && !(f->flags & KP_F_NO_FLEX);
    switch (type) {
    case KP_T_BOOL:
    case KP_T_INT8:
        return 1;
    case KP_T_INT16:
    case KP_T_UINT16:
        return 2;
    case KP_T_INT32:
    case KP_T_UINT32:
        return 4;
    case KP_T_INT64:
    case KP_T_FLOAT64:
        return 8;
    case KP_T_UUID:
        return 16;
    case KP_T_STRUCT:
        return struct_size(f->nested, v, flex, at);
    case KP_T_ARRAY: {
        struct kp__array a;
        memcpy(&a, at, sizeof(a));
        size_t n = compact ? uv((uint64_t)(a.n + 1)) : 4;
        for (int32_t i = 0; i < a.n; i++)
            n += value_size(f, f->elem, v, flex, (const uint8_t *)a.v + (size_t)i * f->elem_size);
        return n;
    }
    default: { /* string, bytes, records */
        const struct kc_slice *s = (const void *)at;
        size_t body = s->len > 0 ? (size_t)s->len : 0;
        if (compact)
            return uv((uint64_t)(s->len + 1)) + body;
        return (type == KP_T_STRING ? 2 : 4) + body;
    }
    }
}

static size_t struct_size(const struct kp_schema *s, int16_t v, bool flex, const uint8_t *obj)
{
    size_t n = 0, ntags = 0, tags = 0;
    for (uint16_t i = 0; i < s->nfields; i++) {
        const struct kp_field *f = &s->fields[i];
        if (!kp_vin(f->ver, v))
            continue;
        size_t sz = value_size(f, f->type, v, flex, obj + f->offset);
        if (i < s->npositional) {
            n += sz;
        } else if (!kp_field_is_default(f, obj)) {
            ntags++;
            tags += uv(f->tag) + uv(sz) + sz;
        }
    }
    return flex ? n + uv(ntags) + tags : n;
}

/* Encode, check the size rule, decode, encode again: same bytes. */
static void full_message(const struct kp_api *api, const struct kp_schema *s, int16_t v,
                         uint32_t seed)
{
    struct kp_arena a = {0};
    void *obj = kp_arena_alloc(&a, s->size), *back = kp_arena_alloc(&a, s->size);
    kpc_fill(s, v, obj, &a, 2, seed);
    struct kc_writer w1, w2;
    kc_writer_init(&w1, 0);
    kc_writer_init(&w2, 0);
    int rc = kp_encode(s, v, obj, &w1, NULL);
    if (rc)
        fail_msg("%s v%d: encode: %s", s->name, v, kc_strerror(rc));
    bool flex = v >= api->flex_min;
    size_t want = struct_size(s, v, flex, obj);
    if (kc_writer_len(&w1) != want)
        fail_msg("%s v%d (%s): %zu bytes, the format rules say %zu", s->name, v,
                 flex ? "flexible" : "not flexible", kc_writer_len(&w1), want);
    size_t used;
    rc = kp_decode(s, v, kc_writer_data(&w1), kc_writer_len(&w1), &a, back, &used);
    if (rc || used != kc_writer_len(&w1))
        fail_msg("%s v%d: decode: %s, %zu of %zu", s->name, v, kc_strerror(rc), used,
                 kc_writer_len(&w1));
    assert_int_equal(kp_encode(s, v, back, &w2, NULL), 0);
    assert_int_equal(kc_writer_len(&w2), kc_writer_len(&w1));
    assert_memory_equal(kc_writer_data(&w2), kc_writer_data(&w1), kc_writer_len(&w1));
    kc_writer_fini(&w1);
    kc_writer_fini(&w2);
    kp_arena_fini(&a);
}

static void test_api_every_version_round_trips_a_full_message(void **state)
{
    (void)state;
    size_t n;
    const struct kp_api *t = kp_api_table(&n);
    int messages = 0;
    for (size_t i = 0; i < n; i++)
        for (int16_t v = t[i].min; v <= t[i].max; v++) {
            full_message(&t[i], t[i].req, v, (uint32_t)v);
            full_message(&t[i], t[i].resp, v, (uint32_t)v + 1000);
            messages += 2;
        }
    printf("# %d messages (every API, version and direction) round-trip, sizes as predicted\n",
           messages);
}

/* The same through whole frames: headers v1/v2 and v0/v1 chosen per (api, version). */
static void test_api_every_version_round_trips_as_frames(void **state)
{
    (void)state;
    size_t n;
    const struct kp_api *t = kp_api_table(&n);
    for (size_t i = 0; i < n; i++) {
        for (int16_t v = t[i].min; v <= t[i].max; v++) {
            struct kp_arena a = {0};
            void *msg = kp_arena_alloc(&a, t[i].req->size);
            kpc_fill(t[i].req, v, msg, &a, 1, 7);
            struct kp_request_header h = {t[i].key, v, 4242, {(const uint8_t *)"cli", 3}};
            struct kc_writer w;
            kc_writer_init(&w, 0);
            assert_int_equal(kp_request_encode(&w, &h, msg), 0);
            struct kp_request req;
            int rc = kp_request_decode(kc_writer_data(&w) + 4, kc_writer_len(&w) - 4, 0, &req);
            if (rc)
                fail_msg("%s v%d request frame: %s", t[i].name, v, kc_strerror(rc));
            assert_int_equal(req.hdr.correlation_id, 4242);
            assert_int_equal(req.body_used, kc_writer_len(&w) - 4);
            assert_int_equal(kc_load_be32(kc_writer_data(&w)), kc_writer_len(&w) - 4);
            kp_request_fini(&req);

            kc_writer_reset(&w);
            msg = kp_arena_alloc(&a, t[i].resp->size);
            kpc_fill(t[i].resp, v, msg, &a, 1, 9);
            assert_int_equal(kp_response_encode(&w, t[i].key, v, 77, msg, NULL, NULL), 0);
            struct kp_response resp;
            rc = kp_response_decode(kc_writer_data(&w) + 4, kc_writer_len(&w) - 4, t[i].key, v,
                                    0, &resp);
            if (rc)
                fail_msg("%s v%d response frame: %s", t[i].name, v, kc_strerror(rc));
            assert_int_equal(resp.correlation_id, 77);
            assert_int_equal(resp.version, v);
            assert_int_equal(resp.body_used, kc_writer_len(&w) - 4);
            /* header v1 (flexible, not ApiVersions) puts a tag byte after the id */
            size_t hdr = kp_response_header_version(&t[i], v) ? 5 : 4;
            struct kc_writer body;
            kc_writer_init(&body, 0);
            assert_int_equal(kp_encode(t[i].resp, v, resp.msg, &body, NULL), 0);
            assert_int_equal(kc_writer_len(&w), 4 + hdr + kc_writer_len(&body));
            kc_writer_fini(&body);
            kp_response_fini(&resp);
            kc_writer_fini(&w);
            kp_arena_fini(&a);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_table_is_the_declared_list_with_kafka_versions),
        cmocka_unit_test(test_api_every_version_has_request_and_response_schemas),
        cmocka_unit_test(test_api_every_version_round_trips_a_full_message),
        cmocka_unit_test(test_api_every_version_round_trips_as_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
