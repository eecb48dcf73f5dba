/*
 * test_kg_record.c - the group-metadata record's value (kg_record.h): the bytes Kafka's
 * schema (GroupMetadataValue, group-coordinator module) prescribes, written out here by
 * hand field by field, against what the encoder produces; every older version decoded;
 * every truncated prefix, a byte too many, nulls where the schema has none, hostile counts
 * and unknown versions refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "kg_record.h"
#include "kp_codec.h"

/* Kafka's schema, field by field, for one record (the test's own encoder: it shares no
 * code with record.c). version 0-3; instance NULL writes null (v3). */
static void schema_bytes(struct kc_writer *w, int16_t v, const char *instance)
{
    kc_write_i16(w, v);
    kc_write_cstr(w, "consumer");          /* protocolType */
    kc_write_i32(w, 7);                    /* generation */
    kc_write_cstr(w, "range");             /* protocol, nullable */
    kc_write_cstr(w, "c-1");               /* leader, nullable */
    if (v >= 2)
        kc_write_i64(w, 1700000000123LL);  /* currentStateTimestamp */
    kc_write_i32(w, 2);                    /* members */
    for (int i = 0; i < 2; i++) {
        kc_write_cstr(w, i ? "c-2" : "c-1"); /* memberId */
        if (v >= 3)
            kc_write_cstr(w, i ? NULL : instance); /* groupInstanceId, nullable */
        kc_write_cstr(w, "client");        /* clientId */
        kc_write_cstr(w, "/127.0.0.1");    /* clientHost */
        if (v >= 1)
            kc_write_i32(w, 300000);       /* rebalanceTimeout */
        kc_write_i32(w, 10000);            /* sessionTimeout */
        kc_write_bytes(w, i ? "sub2" : "sub1", 4); /* subscription */
        kc_write_bytes(w, i ? "" : "asg1", i ? 0 : 4); /* assignment */
    }
    assert_int_equal(kc_writer_error(w), 0);
}

static void fill(struct kg_record *rec, struct kg_record_member *m, const char *instance)
{
    m[0] = (struct kg_record_member){kp_slice_str("c-1"), kp_slice_str(instance),
                                     kp_slice_str("client"), kp_slice_str("/127.0.0.1"),
                                     300000, 10000, kp_slice_str("sub1"), kp_slice_str("asg1")};
    m[1] = (struct kg_record_member){kp_slice_str("c-2"), {NULL, -1}, kp_slice_str("client"),
                                     kp_slice_str("/127.0.0.1"), 300000, 10000,
                                     kp_slice_str("sub2"), kp_slice_str("")};
    *rec = (struct kg_record){3, kp_slice_str("consumer"), 7, kp_slice_str("range"),
                              kp_slice_str("c-1"), 1700000000123LL, 2, m};
}

static void test_record_encode_matches_kafka_schema_byte_for_byte(void **state)
{
    (void)state;
    struct kg_record rec;
    struct kg_record_member m[2];
    struct kc_writer want, got;
    kc_writer_init(&want, 0);
    kc_writer_init(&got, 0);
    schema_bytes(&want, 3, "app-1");
    fill(&rec, m, "app-1");
    assert_int_equal(kg_record_encode(&got, &rec), 0);
    assert_int_equal(kc_writer_len(&got), kc_writer_len(&want));
    assert_memory_equal(kc_writer_data(&got), kc_writer_data(&want), kc_writer_len(&want));
    kc_writer_fini(&want);
    kc_writer_fini(&got);
}

static void expect_decoded(const struct kg_record *r, int16_t v, const char *instance)
{
    assert_int_equal(r->version, v);
    assert_true(kp_slice_eq(r->protocol_type, "consumer"));
    assert_int_equal(r->generation, 7);
    assert_true(kp_slice_eq(r->protocol, "range"));
    assert_true(kp_slice_eq(r->leader, "c-1"));
    assert_int_equal(r->current_state_timestamp, v >= 2 ? 1700000000123LL : -1);
    assert_int_equal(r->nmembers, 2);
    assert_true(kp_slice_eq(r->members[0].member_id, "c-1"));
    if (v >= 3 && instance)
        assert_true(kp_slice_eq(r->members[0].group_instance_id, instance));
    else
        assert_int_equal(r->members[0].group_instance_id.len, -1);
    assert_int_equal(r->members[1].group_instance_id.len, -1);
    assert_true(kp_slice_eq(r->members[0].client_host, "/127.0.0.1"));
    /* v0 has no rebalance timeout: Kafka's loader takes the session timeout */
    assert_int_equal(r->members[0].rebalance_timeout_ms, v >= 1 ? 300000 : 10000);
    assert_int_equal(r->members[0].session_timeout_ms, 10000);
    assert_true(kp_slice_eq(r->members[0].subscription, "sub1"));
    assert_true(kp_slice_eq(r->members[0].assignment, "asg1"));
    assert_int_equal(r->members[1].assignment.len, 0);
}

static void test_record_every_version_decodes(void **state)
{
    (void)state;
    for (int16_t v = 0; v <= 3; v++) {
        struct kc_writer w;
        struct kg_record rec;
        kc_writer_init(&w, 0);
        schema_bytes(&w, v, "app-1");
        assert_int_equal(kg_record_decode(kc_writer_data(&w), kc_writer_len(&w), &rec), 0);
        expect_decoded(&rec, v, "app-1");
        kg_record_fini(&rec);
        kc_writer_fini(&w);
    }
}

static void test_record_round_trip_empty_group_and_nulls(void **state)
{
    (void)state;
    struct kg_record rec = {3, kp_slice_str("consumer"), 12, {NULL, -1}, {NULL, -1}, -1, 0, NULL},
                     back;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(kg_record_encode(&w, &rec), 0);
    /* 2 + 10 + 4 + 2 + 2 + 8 + 4 bytes: an Empty group is 32 bytes */
    assert_int_equal(kc_writer_len(&w), 32);
    assert_int_equal(kg_record_decode(kc_writer_data(&w), kc_writer_len(&w), &back), 0);
    assert_int_equal(back.generation, 12);
    assert_int_equal(back.protocol.len, -1);
    assert_int_equal(back.leader.len, -1);
    assert_int_equal(back.nmembers, 0);
    assert_null(back.members);
    kg_record_fini(&back);
    kc_writer_fini(&w);
}

/* Every prefix of every version's bytes, and one byte more, are refused; nothing leaks. */
static void test_record_every_truncated_prefix_refused(void **state)
{
    (void)state;
    for (int16_t v = 0; v <= 3; v++) {
        struct kc_writer w;
        struct kg_record rec;
        kc_writer_init(&w, 0);
        schema_bytes(&w, v, v == 3 ? "app-1" : NULL);
        size_t n = kc_writer_len(&w);
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *copy = malloc(cut + 1); /* exactly cut bytes readable (ASan) */
            memcpy(copy, kc_writer_data(&w), cut);
            assert_int_equal(kg_record_decode(copy, cut, &rec), KC_EMALFORMED);
            free(copy);
        }
        kc_write_i8(&w, 0);
        assert_int_equal(kg_record_decode(kc_writer_data(&w), n + 1, &rec), KC_EMALFORMED);
        kc_writer_fini(&w);
    }
}

static void test_record_bad_versions_nulls_and_counts_refused(void **state)
{
    (void)state;
    struct kg_record rec;
    uint8_t v4[] = {0, 4}, neg[] = {0xff, 0xff};
    assert_int_equal(kg_record_decode(v4, sizeof(v4), &rec), KC_EUNSUPPORTED);
    assert_int_equal(kg_record_decode(neg, sizeof(neg), &rec), KC_EUNSUPPORTED);

    struct kc_writer w; /* a null protocol type: malformed */
    kc_writer_init(&w, 0);
    kc_write_i16(&w, 3);
    kc_write_str(&w, NULL, -1);
    kc_write_i32(&w, 1);
    kc_write_str(&w, NULL, -1);
    kc_write_str(&w, NULL, -1);
    kc_write_i64(&w, -1);
    kc_write_i32(&w, 0);
    assert_int_equal(kg_record_decode(kc_writer_data(&w), kc_writer_len(&w), &rec), KC_EMALFORMED);

    kc_writer_reset(&w); /* a member count no buffer could hold: refused before allocating */
    kc_write_i16(&w, 3);
    kc_write_cstr(&w, "consumer");
    kc_write_i32(&w, 1);
    kc_write_str(&w, NULL, -1);
    kc_write_str(&w, NULL, -1);
    kc_write_i64(&w, -1);
    size_t at = kc_writer_len(&w);
    kc_write_i32(&w, INT32_MAX);
    assert_int_equal(kg_record_decode(kc_writer_data(&w), kc_writer_len(&w), &rec), KC_EMALFORMED);
    kc_writer_patch_i32(&w, at, -1); /* a null array: the schema has none */
    assert_int_equal(kg_record_decode(kc_writer_data(&w), kc_writer_len(&w), &rec), KC_EMALFORMED);

    kc_writer_reset(&w); /* a member with a null subscription */
    schema_bytes(&w, 3, NULL);
    struct kg_record ok;
    assert_int_equal(kg_record_decode(kc_writer_data(&w), kc_writer_len(&w), &ok), 0);
    size_t sub_at = (size_t)(ok.members[1].subscription.p - kc_writer_data(&w)) - 4;
    kg_record_fini(&ok);
    kc_writer_patch_i32(&w, sub_at, -1);
    assert_int_equal(kg_record_decode(kc_writer_data(&w), kc_writer_len(&w), &rec), KC_EMALFORMED);
    kc_writer_fini(&w);

    struct kg_record_member m[2];
    fill(&rec, m, NULL);
    m[1].client_id = (struct kc_slice){NULL, -1}; /* the encoder refuses what it cannot write */
    kc_writer_init(&w, 0);
    assert_int_equal(kg_record_encode(&w, &rec), -EINVAL);
    rec.nmembers = -1;
    assert_int_equal(kg_record_encode(&w, &rec), -EINVAL);
    kc_writer_fini(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_encode_matches_kafka_schema_byte_for_byte),
        cmocka_unit_test(test_record_every_version_decodes),
        cmocka_unit_test(test_record_round_trip_empty_group_and_nulls),
        cmocka_unit_test(test_record_every_truncated_prefix_refused),
        cmocka_unit_test(test_record_bad_versions_nulls_and_counts_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
