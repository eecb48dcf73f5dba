/*
 * test_np_codec.c - the native protocol's frames, requests and responses: round trips,
 * every truncated prefix, trailing bytes, hostile lengths and counts, wrong magic, the
 * error table, and random bytes into every decoder.
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
#include "np.h"

#define S(lit) ((struct kc_slice){(const uint8_t *)(lit), (int32_t)(sizeof(lit) - 1)})
#define NUL    ((struct kc_slice){NULL, -1})

static bool slice_eq(struct kc_slice a, struct kc_slice b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* A body decoder of either direction, behind one signature, for the generic tests. */
typedef int (*decode_fn)(const uint8_t *body, size_t len, void *out);

#define WRAP(name, type)                                                                      \
    static int dec_##name(const uint8_t *b, size_t n, void *out)                              \
    {                                                                                         \
        return np_decode_##name(b, n, (type *)out);                                           \
    }
WRAP(create_topic, struct np_create_topic_req)
WRAP(produce, struct np_produce_req)
WRAP(consume, struct np_consume_req)
WRAP(commit, struct np_commit_req)
WRAP(fetch_offset, struct np_fetch_offset_req)
WRAP(produce_batch, struct np_produce_batch_req)
WRAP(consume_batch, struct np_consume_batch_req)
WRAP(metadata, struct np_metadata_req)
WRAP(ping, struct np_ping_req)
WRAP(create_topic_resp, struct np_create_topic_resp)
WRAP(produce_resp, struct np_produce_resp)
WRAP(consume_resp, struct np_consume_resp)
WRAP(fetch_offset_resp, struct np_fetch_offset_resp)
WRAP(produce_batch_resp, struct np_produce_batch_resp)
WRAP(consume_batch_resp, struct np_consume_batch_resp)
WRAP(metadata_resp, struct np_metadata_resp)
WRAP(ping_resp, struct np_ping_resp)
WRAP(info_resp, struct np_info_resp)
WRAP(sasl_handshake, struct np_sasl_handshake_req)
WRAP(sasl_authenticate, struct np_sasl_authenticate_req)
WRAP(sasl_handshake_resp, struct np_sasl_handshake_resp)
WRAP(sasl_authenticate_resp, struct np_sasl_authenticate_resp)
static int dec_info(const uint8_t *b, size_t n, void *out)
{
    (void)out;
    return np_decode_info(b, n);
}
static int dec_commit_resp(const uint8_t *b, size_t n, void *out)
{
    (void)out;
    return np_decode_commit_resp(b, n);
}
static int dec_error_consume(const uint8_t *b, size_t n, void *out)
{
    return np_decode_error_resp(b, n, NP_CONSUME, out);
}
static int dec_error_sasl(const uint8_t *b, size_t n, void *out)
{
    return np_decode_error_resp(b, n, NP_SASL_HANDSHAKE, out);
}

static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};

/* One sample of every message, encoded by the encoders under test. */
struct sample {
    const char *name;
    bool response;
    decode_fn decode;
    bool empty_ok; /* a body of 0 bytes is valid (no truncated prefix exists) */
};

static const uint8_t batch_bytes[] = "not-a-real-batch: the codec does not judge it";

static size_t encode_sample(struct kc_writer *w, int i, struct sample *s)
{
    static const struct sample tab[] = {
        {"create-topic", false, dec_create_topic, false},
        {"produce", false, dec_produce, false},
        {"consume", false, dec_consume, false},
        {"commit", false, dec_commit, false},
        {"fetch-offset", false, dec_fetch_offset, false},
        {"produce-batch", false, dec_produce_batch, false},
        {"consume-batch", false, dec_consume_batch, false},
        {"metadata", false, dec_metadata, false},
        {"ping", false, dec_ping, false},
        {"info", false, dec_info, true},
        {"create-topic resp", true, dec_create_topic_resp, false},
        {"produce resp", true, dec_produce_resp, false},
        {"consume resp", true, dec_consume_resp, false},
        {"commit resp", true, dec_commit_resp, true},
        {"fetch-offset resp", true, dec_fetch_offset_resp, false},
        {"produce-batch resp", true, dec_produce_batch_resp, false},
        {"consume-batch resp", true, dec_consume_batch_resp, false},
        {"metadata resp", true, dec_metadata_resp, false},
        {"ping resp", true, dec_ping_resp, false},
        {"info resp", true, dec_info_resp, false},
        {"error resp", true, dec_error_consume, false},
        {"sasl-handshake", false, dec_sasl_handshake, false},
        {"sasl-authenticate", false, dec_sasl_authenticate, false},
        {"sasl-handshake resp", true, dec_sasl_handshake_resp, false},
        {"sasl-authenticate resp", true, dec_sasl_authenticate_resp, false},
        {"sasl-handshake error resp", true, dec_error_sasl, false},
    };
    if (i >= (int)KC_ARRAY_SIZE(tab))
        return 0;
    *s = tab[i];
    uint32_t corr = 1000u + (uint32_t)i;
    struct kc_slice batch = {batch_bytes, sizeof(batch_bytes)};
    switch (i) {
    case 0: np_encode_create_topic(w, corr, &(struct np_create_topic_req){S("payments"), 3}); break;
    case 1:
        np_encode_produce(w, corr, &(struct np_produce_req){S("t"), -1, -1, 1700000000000,
                                                          S("k"), S("Hello World")});
        break;
    case 2: np_encode_consume(w, corr, &(struct np_consume_req){S("t"), 2, 77}); break;
    case 3:
        np_encode_commit(w, corr, &(struct np_commit_req){S("groupA"), S("t"), 0, 15, NUL});
        break;
    case 4:
        np_encode_fetch_offset(w, corr, &(struct np_fetch_offset_req){S("g"), S("t"), 1});
        break;
    case 5:
        np_encode_produce_batch(w, corr, &(struct np_produce_batch_req){S("logs"), -1, 1, batch});
        break;
    case 6:
        np_encode_consume_batch(w, corr,
                                &(struct np_consume_batch_req){S("logs"), 0, 5, 100, 4096, 250});
        break;
    case 7: np_encode_metadata(w, corr, &(struct np_metadata_req){NUL}); break;
    case 8: np_encode_ping(w, corr, &(struct np_ping_req){S("ping!")}); break;
    case 9: np_encode_info(w, corr); break;
    case 10: np_encode_create_topic_resp(w, corr, &(struct np_create_topic_resp){3}); break;
    case 11: np_encode_produce_resp(w, corr, &(struct np_produce_resp){2, 41}); break;
    case 12:
        np_encode_consume_resp(w, corr,
                               &(struct np_consume_resp){0, 9, 4, 1700000000123, NUL, S("v")});
        break;
    case 13: np_encode_commit_resp(w, corr); break;
    case 14:
        np_encode_fetch_offset_resp(w, corr, &(struct np_fetch_offset_resp){-1, S("meta")});
        break;
    case 15:
        np_encode_produce_batch_resp(w, corr, &(struct np_produce_batch_resp){1, 100, 3});
        break;
    case 16:
        np_encode_consume_batch_resp(w, corr, &(struct np_consume_batch_resp){0, 10, batch});
        break;
    case 17: {
        size_t at = np_encode_metadata_begin(w, corr, 2);
        np_encode_metadata_topic(w, "a", 1);
        np_encode_metadata_part(w, &(struct np_partition_meta){0, 0, 5});
        np_encode_metadata_topic(w, "bb", 2);
        np_encode_metadata_part(w, &(struct np_partition_meta){0, 1, 2});
        np_encode_metadata_part(w, &(struct np_partition_meta){1, 3, 4});
        np_end_frame(w, at, 0);
        break;
    }
    case 18: np_encode_ping_resp(w, corr, &(struct np_ping_resp){S("pong")}); break;
    case 19:
        np_encode_info_resp(w, corr, &(struct np_info_resp){S("kafka_broker 0.1"), 1 << 20,
                                                            1048588, 1, 2});
        break;
    case 20:
        np_encode_error_resp(w, NP_CONSUME, corr, NP_E_END_OF_LOG, "no record at 5", 0, 5);
        break;
    case 21:
        np_encode_sasl_handshake(w, corr, &(struct np_sasl_handshake_req){S("SCRAM-SHA-256")});
        break;
    case 22:
        np_encode_sasl_authenticate(w, corr,
                                    &(struct np_sasl_authenticate_req){S("n,,n=alice,r=abc")});
        break;
    case 23: np_encode_sasl_handshake_resp(w, corr, NP_E_NONE, NULL, mechs, 3); break;
    case 24:
        np_encode_sasl_authenticate_resp(w, corr,
                                         &(struct np_sasl_authenticate_resp){S("r=abcdef,s=c2FsdA==,i=4096")});
        break;
    case 25:
        np_encode_sasl_handshake_resp(w, corr, NP_E_UNSUPPORTED_SASL_MECHANISM,
                                      "GSSAPI is not enabled", mechs, 2);
        break;
    }
    return 1;
}

static void test_np_frames_every_sample_roundtrips(void **state)
{
    (void)state;
    struct sample s;
    for (int i = 0;; i++) {
        struct kc_writer w;
        kc_writer_init(&w, 0);
        if (!encode_sample(&w, i, &s)) {
            kc_writer_fini(&w);
            break;
        }
        assert_int_equal(kc_writer_error(&w), 0);
        struct np_header h;
        size_t flen = 0;
        assert_int_equal(np_frame_peek(w.p, w.len, 1 << 20, s.response, &h, &flen), 0);
        assert_int_equal(flen, w.len);
        assert_int_equal(h.magic, NP_MAGIC);
        assert_int_equal(h.version, NP_VERSION);
        assert_int_equal(h.corr, 1000u + (uint32_t)i);
        assert_true(np_is_native(w.p, w.len));
        size_t hs = s.response ? NP_RESP_HEADER_SIZE : NP_REQ_HEADER_SIZE;
        union {
            struct np_produce_req p;
            struct np_consume_resp c;
            struct np_info_resp in;
            struct np_error_resp e;
            char pad[256];
        } out;
        assert_int_equal(s.decode(w.p + hs, w.len - hs, &out), 0);
        kc_writer_fini(&w);
    }
}

static void test_np_frames_every_truncated_prefix_needs_more(void **state)
{
    (void)state;
    struct sample s;
    for (int i = 0;; i++) {
        struct kc_writer w;
        kc_writer_init(&w, 0);
        if (!encode_sample(&w, i, &s)) {
            kc_writer_fini(&w);
            break;
        }
        for (size_t n = 0; n < w.len; n++) {
            struct np_header h;
            size_t flen = 12345;
            /* an exact-size copy, so ASan catches any read past the prefix */
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, w.p, n);
            assert_int_equal(np_frame_peek(copy, n, 1 << 20, s.response, &h, &flen), KC_ENEEDMORE);
            assert_int_equal(flen, 12345); /* untouched */
            free(copy);
        }
        kc_writer_fini(&w);
    }
}

static void test_np_bodies_truncated_or_trailing_are_malformed(void **state)
{
    (void)state;
    struct sample s;
    for (int i = 0;; i++) {
        struct kc_writer w;
        kc_writer_init(&w, 0);
        if (!encode_sample(&w, i, &s)) {
            kc_writer_fini(&w);
            break;
        }
        size_t hs = s.response ? NP_RESP_HEADER_SIZE : NP_REQ_HEADER_SIZE;
        size_t blen = w.len - hs;
        char out[256];
        for (size_t n = 0; n < blen; n++) {
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, w.p + hs, n);
            memset(out, 0x5a, sizeof(out));
            int rc = s.decode(copy, n, out);
            if (rc != KC_EMALFORMED)
                fail_msg("%s: prefix %zu of %zu decoded (%d)", s.name, n, blen, rc);
            assert_int_equal((unsigned char)out[0], 0x5a); /* nothing written on failure */
            free(copy);
        }
        uint8_t *longer = malloc(blen + 1);
        memcpy(longer, w.p + hs, blen);
        longer[blen] = 0;
        if (s.decode(longer, blen + 1, out) != KC_EMALFORMED)
            fail_msg("%s: trailing byte accepted", s.name);
        free(longer);
        kc_writer_fini(&w);
    }
}

static void test_np_produce_roundtrip_keeps_every_field(void **state)
{
    (void)state;
    struct kc_writer w;
    struct np_header h;
    size_t flen;
    struct np_produce_req in = {S("payments"), 7, NP_ACKS_ALL, 42, NUL, S("Hello World")}, out;
    kc_writer_init(&w, 0);
    np_encode_produce(&w, 99, &in);
    assert_int_equal(np_frame_peek(w.p, w.len, w.len, false, &h, &flen), 0);
    assert_int_equal(h.cmd, NP_PRODUCE);
    assert_int_equal(np_decode_produce(w.p + 12, w.len - 12, &out), 0);
    assert_true(slice_eq(out.topic, in.topic));
    assert_int_equal(out.partition, 7);
    assert_int_equal(out.acks, -1);
    assert_int_equal(out.timestamp, 42);
    assert_int_equal(out.key.len, -1);
    assert_true(slice_eq(out.value, in.value));
    kc_writer_fini(&w);
}

static void test_np_consume_batch_head_counts_the_sendfile_tail(void **state)
{
    (void)state;
    struct kc_writer w;
    struct np_header h;
    size_t flen;
    struct np_consume_batch_resp r;
    kc_writer_init(&w, 0);
    np_encode_consume_batch_head(&w, 5, 3, 9, 6);
    kc_write_raw(&w, "abcdef", 6); /* what sendfile would add */
    assert_int_equal(np_frame_peek(w.p, w.len, w.len, true, &h, &flen), 0);
    assert_int_equal(flen, w.len);
    assert_int_equal(np_decode_consume_batch_resp(w.p + 14, w.len - 14, &r), 0);
    assert_int_equal(r.log_start, 3);
    assert_int_equal(r.log_end, 9);
    assert_int_equal(r.records.len, 6);
    assert_memory_equal(r.records.p, "abcdef", 6);
    kc_writer_fini(&w);
}

static void test_np_metadata_iter_walks_every_partition(void **state)
{
    (void)state;
    struct kc_writer w;
    struct sample s;
    struct np_metadata_resp m;
    struct np_metadata_iter it;
    struct np_topic_meta tm;
    struct np_partition_meta pm;
    kc_writer_init(&w, 0);
    encode_sample(&w, 17, &s);
    assert_int_equal(np_decode_metadata_resp(w.p + 14, w.len - 14, &m), 0);
    assert_int_equal(m.ntopics, 2);
    np_metadata_iter_init(&it, &m);
    assert_int_equal(np_metadata_next(&it, &tm), 1);
    assert_true(slice_eq(tm.name, S("a")));
    assert_int_equal(tm.npartitions, 1);
    np_metadata_part(&tm, 0, &pm);
    assert_int_equal(pm.log_end, 5);
    assert_int_equal(np_metadata_next(&it, &tm), 1);
    assert_int_equal(tm.npartitions, 2);
    np_metadata_part(&tm, 1, &pm);
    assert_int_equal(pm.partition, 1);
    assert_int_equal(pm.log_start, 3);
    assert_int_equal(pm.log_end, 4);
    assert_int_equal(np_metadata_next(&it, &tm), 0);
    kc_writer_fini(&w);
}

static void test_np_frame_hostile_lengths_and_magic_are_refused(void **state)
{
    (void)state;
    struct np_header h;
    size_t flen;
    uint8_t f[16] = {0, 0, 0, 8, 0xCA, 0xFE, 1, 7, 0, 0, 0, 9};
    /* the smallest request: a header and nothing else */
    assert_int_equal(np_frame_peek(f, 12, 64, false, &h, &flen), 0);
    assert_int_equal(h.cmd, 7);
    assert_int_equal(flen, 12);
    /* a length that cannot hold the header */
    f[3] = 7;
    assert_int_equal(np_frame_peek(f, 4, 64, false, &h, &flen), KC_EMALFORMED);
    f[3] = 9; /* too short for a response header (needs 10) */
    assert_int_equal(np_frame_peek(f, 14, 64, true, &h, &flen), KC_EMALFORMED);
    /* "negative" (>= 2^31) and plain huge lengths: too large, once the header is there */
    f[0] = 0xFF;
    f[3] = 0xFF;
    assert_int_equal(np_frame_peek(f, 11, 64, false, &h, &flen), KC_ENEEDMORE);
    memset(&h, 0, sizeof(h));
    assert_int_equal(np_frame_peek(f, 12, 64, false, &h, &flen), KC_ETOOLARGE);
    assert_int_equal(h.corr, 9); /* so the broker can answer this request */
    f[0] = 0;
    f[3] = 60; /* 64 bytes with the prefix: exactly the limit */
    assert_int_equal(np_frame_peek(f, 12, 64, false, &h, &flen), KC_ENEEDMORE);
    f[3] = 61;
    assert_int_equal(np_frame_peek(f, 12, 64, false, &h, &flen), KC_ETOOLARGE);
    /* wrong magic, caught at its first byte */
    f[3] = 8;
    f[4] = 0x00;
    assert_int_equal(np_frame_peek(f, 5, 64, false, &h, &flen), KC_EMALFORMED);
    f[4] = 0xCA;
    f[5] = 0xFF;
    assert_int_equal(np_frame_peek(f, 6, 64, false, &h, &flen), KC_EMALFORMED);
    assert_false(np_is_native((const uint8_t *)"\0\0\0\x10\0\x12", 6)); /* Kafka ApiVersions */
}

static void test_np_frame_unknown_version_and_command_pass_to_the_broker(void **state)
{
    (void)state;
    struct np_header h;
    size_t flen;
    uint8_t f[12] = {0, 0, 0, 8, 0xCA, 0xFE, 9, 200, 0, 0, 1, 0};
    assert_int_equal(np_frame_peek(f, 12, 64, false, &h, &flen), 0);
    assert_int_equal(h.version, 9);
    assert_int_equal(h.cmd, 200);
    assert_int_equal(h.corr, 256);
    assert_string_equal(np_cmd_name(200), "unknown");
    assert_string_equal(np_cmd_name(NP_CONSUME_BATCH), "consume-batch");
}

static void put16(uint8_t *p, int16_t v)
{
    kc_store_be16(p, (uint16_t)v);
}

static void test_np_bodies_hostile_field_lengths_are_malformed(void **state)
{
    (void)state;
    struct np_create_topic_req ct;
    struct np_produce_batch_req pb;
    struct np_metadata_resp mr;
    struct np_consume_batch_resp cb;
    uint8_t b[64] = {0};
    /* a topic string claiming 32767 bytes in a 6-byte body */
    put16(b, INT16_MAX);
    assert_int_equal(np_decode_create_topic(b, 6, &ct), KC_EMALFORMED);
    /* a length below -1, and a null topic */
    put16(b, -5);
    assert_int_equal(np_decode_create_topic(b, 6, &ct), KC_EMALFORMED);
    put16(b, -1);
    assert_int_equal(np_decode_create_topic(b, 6, &ct), KC_EMALFORMED);
    /* produce-batch: topic "t", partition, acks, then a null batch */
    memcpy(b, "\x00\x01t\xff\xff\xff\xff\x00\x01\xff\xff\xff\xff", 13);
    assert_int_equal(np_decode_produce_batch(b, 13, &pb), KC_EMALFORMED);
    /* ... and a batch claiming 2^31-1 bytes */
    memcpy(b + 9, "\x7f\xff\xff\xff", 4);
    assert_int_equal(np_decode_produce_batch(b, 13, &pb), KC_EMALFORMED);
    /* metadata: a topic count far beyond what the bytes could hold, and a negative one */
    memcpy(b, "\x7f\xff\xff\xff", 4);
    assert_int_equal(np_decode_metadata_resp(b, 10, &mr), KC_EMALFORMED);
    memcpy(b, "\xff\xff\xff\xfe", 4);
    assert_int_equal(np_decode_metadata_resp(b, 4, &mr), KC_EMALFORMED);
    /* metadata: one topic with a hostile partition count */
    memcpy(b, "\x00\x00\x00\x01\x00\x01x\x10\x00\x00\x00", 11);
    assert_int_equal(np_decode_metadata_resp(b, 11, &mr), KC_EMALFORMED);
    /* consume-batch response with null records */
    memset(b, 0, 16);
    memcpy(b + 16, "\xff\xff\xff\xff", 4);
    assert_int_equal(np_decode_consume_batch_resp(b, 20, &cb), KC_EMALFORMED);
}

/* Walk a mechanism list to its end, into "A,B,C". */
static void mechs_text(const struct np_sasl_mechanisms *m, char *buf, size_t cap)
{
    size_t pos = 0, at = 0;
    struct kc_slice name;
    buf[0] = '\0';
    while (np_sasl_mechanisms_next(m, &pos, &name) == 1)
        at += (size_t)snprintf(buf + at, cap - at, "%s%.*s", at ? "," : "", (int)name.len, name.p);
}

static void test_np_sasl_frames_carry_mechanisms_and_bytes(void **state)
{
    (void)state;
    struct kc_writer w;
    struct sample s;
    struct np_sasl_handshake_resp hr;
    struct np_error_resp er;
    struct np_sasl_authenticate_req ar;
    char text[128];
    kc_writer_init(&w, 0);
    encode_sample(&w, 23, &s); /* success: the three names */
    assert_int_equal(np_decode_sasl_handshake_resp(w.p + 14, w.len - 14, &hr), 0);
    assert_int_equal(hr.mechanisms.count, 3);
    mechs_text(&hr.mechanisms, text, sizeof(text));
    assert_string_equal(text, "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512");
    kc_writer_reset(&w);
    encode_sample(&w, 25, &s); /* refused: the message, and still the list */
    assert_int_equal(kc_load_be16(w.p + 12), NP_E_UNSUPPORTED_SASL_MECHANISM);
    assert_int_equal(np_decode_error_resp(w.p + 14, w.len - 14, NP_SASL_HANDSHAKE, &er), 0);
    assert_true(slice_eq(er.message, S("GSSAPI is not enabled")));
    mechs_text(&er.mechanisms, text, sizeof(text));
    assert_string_equal(text, "PLAIN,SCRAM-SHA-256");
    /* any other error of command 10 (the generic encoder) carries an empty list */
    kc_writer_reset(&w);
    np_encode_error_resp(&w, NP_SASL_HANDSHAKE, 3, NP_E_ILLEGAL_SASL_STATE, "twice", -1, -1);
    assert_int_equal(np_decode_error_resp(w.p + 14, w.len - 14, NP_SASL_HANDSHAKE, &er), 0);
    assert_int_equal(er.mechanisms.count, 0);
    /* an empty message is a valid step (a SCRAM client-final is never empty; PLAIN's may
     * be judged by the mechanism, not the codec); a null one is not */
    kc_writer_reset(&w);
    np_encode_sasl_authenticate(&w, 4, &(struct np_sasl_authenticate_req){{(const uint8_t *)"", 0}});
    assert_int_equal(np_decode_sasl_authenticate(w.p + 12, w.len - 12, &ar), 0);
    assert_int_equal(ar.auth_bytes.len, 0);
    assert_int_equal(np_decode_sasl_authenticate((const uint8_t *)"\xff\xff\xff\xff", 4, &ar),
                     KC_EMALFORMED);
    assert_string_equal(np_cmd_name(NP_SASL_HANDSHAKE), "sasl-handshake");
    assert_string_equal(np_cmd_name(NP_SASL_AUTHENTICATE), "sasl-authenticate");
    kc_writer_fini(&w);
}

static void test_np_sasl_hostile_mechanism_lists_are_malformed(void **state)
{
    (void)state;
    struct np_sasl_handshake_resp hr;
    struct np_sasl_handshake_req hq;
    /* a count the bytes cannot hold, a negative one, a null name, a name running off */
    assert_int_equal(np_decode_sasl_handshake_resp((const uint8_t *)"\x7f\xff\xff\xff", 4, &hr),
                     KC_EMALFORMED);
    assert_int_equal(np_decode_sasl_handshake_resp((const uint8_t *)"\xff\xff\xff\xff", 4, &hr),
                     KC_EMALFORMED);
    assert_int_equal(np_decode_sasl_handshake_resp((const uint8_t *)"\0\0\0\1\xff\xff", 6, &hr),
                     KC_EMALFORMED);
    assert_int_equal(np_decode_sasl_handshake_resp((const uint8_t *)"\0\0\0\1\0\x09PLAIN", 11, &hr),
                     KC_EMALFORMED);
    /* no mechanisms at all is a valid (if useless) answer */
    assert_int_equal(np_decode_sasl_handshake_resp((const uint8_t *)"\0\0\0\0", 4, &hr), 0);
    assert_int_equal(hr.mechanisms.count, 0);
    /* the request: a null mechanism is malformed */
    assert_int_equal(np_decode_sasl_handshake((const uint8_t *)"\xff\xff", 2, &hq), KC_EMALFORMED);
}

static void test_np_errors_table_names_and_maps(void **state)
{
    (void)state;
    assert_string_equal(np_error_name(NP_E_OFFSET_OUT_OF_RANGE), "OFFSET_OUT_OF_RANGE");
    assert_string_equal(np_error_name(NP_E_UNKNOWN), "UNKNOWN");
    assert_string_equal(np_error_name(4242), "UNRECOGNISED");
    assert_int_equal(np_err_code(NP_ERR(NP_E_END_OF_LOG)), NP_E_END_OF_LOG);
    assert_int_equal(np_err_code(NP_ERR(NP_E_UNKNOWN)), NP_E_UNKNOWN);
    assert_true(np_is_err(NP_ERR(NP_E_INTERNAL_TOPIC)));
    assert_true(np_is_err(NP_ERR(NP_E_SASL_AUTHENTICATION_FAILED)));
    assert_string_equal(np_error_name(NP_E_TOPIC_AUTHORIZATION_FAILED), "TOPIC_AUTHORIZATION_FAILED");
    assert_int_equal(NP_E_SASL_AUTHENTICATION_FAILED, 58); /* Kafka's numbers */
    assert_int_equal(NP_E_ILLEGAL_SASL_STATE, 34);
    assert_false(np_is_err(KC_EMALFORMED));
    assert_false(np_is_err(-ENOENT));
    assert_string_equal(np_strerror(NP_ERR(NP_E_UNKNOWN_TOPIC)), "no such topic");
    assert_string_equal(np_strerror(-ENOENT), kc_strerror(-ENOENT));
    assert_int_equal(np_error_from_kc(0, NP_PRODUCE), NP_E_NONE);
    assert_int_equal(np_error_from_kc(KC_EOFFSET, NP_CONSUME), NP_E_OFFSET_OUT_OF_RANGE);
    assert_int_equal(np_error_from_kc(KC_EEMPTY, NP_CONSUME), NP_E_END_OF_LOG);
    assert_int_equal(np_error_from_kc(-EEXIST, NP_CREATE_TOPIC), NP_E_TOPIC_EXISTS);
    assert_int_equal(np_error_from_kc(KC_EBADNAME, NP_CREATE_TOPIC), NP_E_INVALID_TOPIC);
    assert_int_equal(np_error_from_kc(KC_ETOOLARGE, NP_CREATE_TOPIC), NP_E_INVALID_PARTITIONS);
    assert_int_equal(np_error_from_kc(KC_ETOOLARGE, NP_PRODUCE_BATCH), NP_E_RECORD_TOO_LARGE);
    assert_int_equal(np_error_from_kc(KC_ECRC, NP_PRODUCE_BATCH), NP_E_CORRUPT_BATCH);
    assert_int_equal(np_error_from_kc(KC_EUNSUPPORTED, NP_CONSUME), NP_E_COMPRESSED);
    assert_int_equal(np_error_from_kc(-ENOSPC, NP_PRODUCE), NP_E_STORAGE);
    assert_int_equal(np_error_from_kc(KC_ECLOSED, NP_PRODUCE), NP_E_SHUTTING_DOWN);
    assert_int_equal(np_error_from_kc(-ENOMEM, NP_PRODUCE), NP_E_UNKNOWN);
    assert_int_equal(np_error_from_kc(NP_ERR(NP_E_INVALID_ACKS), NP_PRODUCE), NP_E_INVALID_ACKS);
}

/* Random bytes into every decoder: they may fail, they may not crash or over-read. */
static void test_np_decoders_survive_random_bytes(void **state)
{
    (void)state;
    uint64_t seed = kc_test_seed(), rnd = seed | 1;
    static const decode_fn fns[] = {
        dec_create_topic, dec_produce, dec_consume, dec_commit, dec_fetch_offset,
        dec_produce_batch, dec_consume_batch, dec_metadata, dec_ping, dec_info,
        dec_create_topic_resp, dec_produce_resp, dec_consume_resp, dec_commit_resp,
        dec_fetch_offset_resp, dec_produce_batch_resp, dec_consume_batch_resp,
        dec_metadata_resp, dec_ping_resp, dec_info_resp, dec_error_consume,
        dec_sasl_handshake, dec_sasl_authenticate, dec_sasl_handshake_resp,
        dec_sasl_authenticate_resp, dec_error_sasl,
    };
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = kc_test_rand(&rnd) % 48;
        uint8_t *b = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) /* small values make plausible lengths likely */
            b[i] = (uint8_t)(kc_test_rand(&rnd) % 4 == 0 ? 0xff : kc_test_rand(&rnd) % 6);
        char out[256];
        int rc = fns[iter % KC_ARRAY_SIZE(fns)](b, n, out);
        assert_true(rc == 0 || rc == KC_EMALFORMED);
        struct np_header h;
        size_t flen;
        rc = np_frame_peek(b, n, 1 << 16, iter & 1, &h, &flen);
        assert_true(rc == 0 || rc == KC_ENEEDMORE || rc == KC_EMALFORMED || rc == KC_ETOOLARGE);
        if (rc == 0)
            assert_true(flen <= n);
        free(b);
    }
}

/* PROTOCOL.md's error table is the same table as NP_ERRORS, row for row. */
static void test_np_errors_table_matches_protocol_md(void **state)
{
    (void)state;
    size_t len;
    char *doc = (char *)kc_test_load("broker/PROTOCOL.md", &len);
    char *text = malloc(len + 1);
    memcpy(text, doc, len);
    text[len] = '\0';
    char row[512];
#define NP_ERR_ROW(name, code, msg)                                                           \
    snprintf(row, sizeof(row), "| %d | %s | %s |", code, &(#name)[5], msg); /* no NP_E_ */   \
    if (!strstr(text, row))                                                                   \
        fail_msg("PROTOCOL.md lacks the row: %s", row);
    NP_ERRORS(NP_ERR_ROW)
#undef NP_ERR_ROW
    free(text);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_np_frames_every_sample_roundtrips),
        cmocka_unit_test(test_np_frames_every_truncated_prefix_needs_more),
        cmocka_unit_test(test_np_bodies_truncated_or_trailing_are_malformed),
        cmocka_unit_test(test_np_produce_roundtrip_keeps_every_field),
        cmocka_unit_test(test_np_consume_batch_head_counts_the_sendfile_tail),
        cmocka_unit_test(test_np_metadata_iter_walks_every_partition),
        cmocka_unit_test(test_np_frame_hostile_lengths_and_magic_are_refused),
        cmocka_unit_test(test_np_frame_unknown_version_and_command_pass_to_the_broker),
        cmocka_unit_test(test_np_bodies_hostile_field_lengths_are_malformed),
        cmocka_unit_test(test_np_sasl_frames_carry_mechanisms_and_bytes),
        cmocka_unit_test(test_np_sasl_hostile_mechanism_lists_are_malformed),
        cmocka_unit_test(test_np_errors_table_names_and_maps),
        cmocka_unit_test(test_np_errors_table_matches_protocol_md),
        cmocka_unit_test(test_np_decoders_survive_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
