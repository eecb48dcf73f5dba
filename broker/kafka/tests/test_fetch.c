/*
 * test_fetch.c - the Fetch response written in pieces, as the server will send it.
 *
 * The server sends a partition's records straight from the segment file (sendfile), so
 * kp_encode_fetch writes everything else and returns gaps: "len bytes of records go at
 * writer offset at". These tests fill the gaps with real batches, decode the assembled
 * frame with the client-side decoder, and check what a consumer depends on: the size
 * prefix counts the gaps, empty record sets are length 0 (never -1), high watermark and
 * last stable offset are always there, and order follows the request.
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
#include "support/kpt.h"

/* Lay the memory parts and the records out as they would go on the wire. */
static uint8_t *assemble(const struct kc_writer *w, const struct kp_fetch_gap *gaps, size_t ng,
                         const uint8_t *const *records, size_t frame_len)
{
    uint8_t *out = malloc(frame_len), *o = out;
    size_t from = 0;
    for (size_t i = 0; i < ng; i++) {
        memcpy(o, kc_writer_data(w) + from, gaps[i].at - from);
        o += gaps[i].at - from;
        memcpy(o, records[i], (size_t)gaps[i].len);
        o += gaps[i].len;
        from = gaps[i].at;
    }
    memcpy(o, kc_writer_data(w) + from, kc_writer_len(w) - from);
    o += kc_writer_len(w) - from;
    assert_int_equal((size_t)(o - out), frame_len);
    return out;
}

/* kafkajs's real fetch request (v11, topic js, partitions 0 and 1), answered in pieces. */
static void test_fetch_pieces_with_real_batches_decode_back(void **state)
{
    (void)state;
    size_t len, blen, klen;
    uint8_t *frame = kpt_fixture("kafkajs/Fetch_v11_1.req", &len);
    uint8_t *batch = kc_test_load("common/tests/fixtures/kcat_gzip.bin", &blen);
    uint8_t *batch2 = kc_test_load("common/tests/fixtures/kcat_keyed_headers.bin", &klen);
    struct kp_request req;
    kpt_decode_request(frame, len, &req);
    struct kp_fetch_req *f = &req.u.fetch;
    assert_int_equal(f->nparts_total, 2);
    struct kp_fetch_part *p0 = &f->topics[0].parts[0], *p1 = &f->topics[0].parts[1];
    p0->error = 0;
    p0->high_watermark = p0->last_stable_offset = 10;
    p0->log_start_offset = 0;
    p0->records_len = (int32_t)blen; /* from the file: a gap */
    p1->error = 0;
    p1->high_watermark = p1->last_stable_offset = 4;
    p1->log_start_offset = 0;
    p1->records_len = (int32_t)klen;

    for (int inline_second = 0; inline_second <= 1; inline_second++) {
        p1->records = inline_second ? batch2 : NULL; /* or copied, when it is in memory */
        struct kc_writer w;
        kc_writer_init(&w, 0);
        struct kp_fetch_gap gaps[2];
        size_t ng = 0, flen = 0;
        assert_int_equal(kp_encode_fetch(&w, &req.hdr, f, gaps, 2, &ng, &flen), 0);
        assert_int_equal(ng, inline_second ? 1 : 2);
        assert_ptr_equal(gaps[0].part, p0);
        assert_int_equal(gaps[0].len, (int32_t)blen);
        assert_int_equal(flen, kc_writer_len(&w) + blen + (inline_second ? 0 : klen));
        assert_int_equal(kc_load_be32(kc_writer_data(&w)), flen - 4); /* size counts gaps */

        const uint8_t *recs[2] = {batch, batch2};
        uint8_t *wire = assemble(&w, gaps, ng, recs, flen);
        struct kp__chunk *mem = NULL;
        struct kp_fetch_req back;
        assert_int_equal(kpt_resp_fetch(wire, flen, 11, &mem, &back), 0);
        assert_int_equal(back.session_id, 0);
        assert_int_equal(back.isolation_level, f->isolation_level);
        assert_int_equal(back.topics[0].parts[0].high_watermark, 10);
        assert_int_equal(back.topics[0].parts[0].records_len, (int32_t)blen);
        assert_memory_equal(back.topics[0].parts[0].records, batch, blen);
        assert_int_equal(back.topics[0].parts[1].last_stable_offset, 4);
        assert_memory_equal(back.topics[0].parts[1].records, batch2, klen);
        assert_true(kc_batch_validate(back.topics[0].parts[0].records, blen, NULL) > 0);
        kpt_free(&mem);
        free(wire);
        kc_writer_fini(&w);
    }
    kp_request_fini(&req);
    free(frame);
    free(batch);
    free(batch2);
}

/* Fetch requests v4 to v11, built by hand: each version's fields land where they should. */
static void test_fetch_request_every_version_decodes(void **state)
{
    (void)state;
    for (int16_t v = 4; v <= 11; v++) {
        struct kc_writer w;
        struct kp_header h = {KP_API_FETCH, v, 1, kp_slice_str("t"), false};
        kc_writer_init(&w, 0);
        kc_write_i32(&w, 0);
        kp_header_encode(&w, &h);
        kc_write_i32(&w, -1);      /* replica */
        kc_write_i32(&w, 500);     /* max wait */
        kc_write_i32(&w, 1);       /* min bytes */
        kc_write_i32(&w, 1 << 20); /* max bytes */
        kc_write_i8(&w, 1);
        if (v >= 7) {
            kc_write_i32(&w, 0);
            kc_write_i32(&w, -1);
        }
        kc_write_i32(&w, 1);
        kc_write_cstr(&w, "t");
        kc_write_i32(&w, 1);
        kc_write_i32(&w, 3);
        if (v >= 9)
            kc_write_i32(&w, 7); /* current leader epoch */
        kc_write_i64(&w, 42);
        if (v >= 5)
            kc_write_i64(&w, -1);
        kc_write_i32(&w, 65536);
        if (v >= 7) { /* one forgotten topic with two partitions */
            kc_write_i32(&w, 1);
            kc_write_cstr(&w, "old");
            kc_write_i32(&w, 2);
            kc_write_i32(&w, 0);
            kc_write_i32(&w, 1);
        }
        if (v >= 11)
            kc_write_cstr(&w, "rack-a");
        kc_writer_patch_i32(&w, 0, (int32_t)(kc_writer_len(&w) - 4));
        struct kp_request req;
        kpt_decode_request(kc_writer_data(&w), kc_writer_len(&w), &req);
        const struct kp_fetch_part *p = &req.u.fetch.topics[0].parts[0];
        assert_int_equal(req.body_used, kc_writer_len(&w) - 4);
        assert_int_equal(p->index, 3);
        assert_int_equal(p->fetch_offset, 42);
        assert_int_equal(p->max_bytes, 65536);
        assert_int_equal(p->current_leader_epoch, v >= 9 ? 7 : -1);
        assert_int_equal(req.u.fetch.isolation_level, 1);
        assert_int_equal(req.u.fetch.rack_id.len, v >= 11 ? 6 : -1);
        kp_request_fini(&req);
        kc_writer_fini(&w);
    }
}

/* Empty record sets are length 0, never -1 (librdkafka: "invalid MessageSetSize -1"). */
static void test_fetch_empty_partition_length_zero_and_offsets_filled(void **state)
{
    (void)state;
    struct kp_fetch_part part = {.index = 0, .fetch_offset = 5, .error = 0,
                                 .high_watermark = 5, .last_stable_offset = 5,
                                 .log_start_offset = 0, .records_len = 0};
    struct kp_fetch_topic topic = {kp_slice_str("t"), 1, &part};
    for (int16_t v = 4; v <= 11; v++) {
        for (int8_t iso = 0; iso <= 1; iso++) {
            struct kp_fetch_req req = {.isolation_level = iso, .ntopics = 1, .topics = &topic,
                                       .nparts_total = 1};
            struct kp_header h = {KP_API_FETCH, v, 3, {NULL, -1}, false};
            struct kc_writer w;
            kc_writer_init(&w, 0);
            size_t ng = 9, flen = 0;
            assert_int_equal(kp_encode_fetch(&w, &h, &req, NULL, 0, &ng, &flen), 0);
            assert_int_equal(ng, 0);
            assert_int_equal(flen, kc_writer_len(&w));
            /* the frame ends with the records length: 0 */
            assert_int_equal(kc_load_be32(kc_writer_data(&w) + flen - 4), 0);
            struct kp__chunk *mem = NULL;
            struct kp_fetch_req back;
            assert_int_equal(kpt_resp_fetch(kc_writer_data(&w), flen, v, &mem, &back), 0);
            assert_int_equal(back.isolation_level, iso); /* null vs empty aborted list */
            assert_int_equal(back.topics[0].parts[0].high_watermark, 5);
            assert_int_equal(back.topics[0].parts[0].last_stable_offset, 5);
            assert_int_equal(back.topics[0].parts[0].log_start_offset, v >= 5 ? 0 : -1);
            kpt_free(&mem);
            kc_writer_fini(&w);
        }
    }
}

static void test_fetch_encoder_refuses_bad_input(void **state)
{
    (void)state;
    uint8_t rec[8] = {0};
    struct kp_fetch_part parts[2] = {{.records_len = 8}, {.records_len = 8}};
    struct kp_fetch_topic topic = {kp_slice_str("t"), 2, parts};
    struct kp_fetch_req req = {.ntopics = 1, .topics = &topic, .nparts_total = 2};
    struct kp_header h = {KP_API_FETCH, 11, 3, {NULL, -1}, false};
    struct kp_fetch_gap gaps[2];
    size_t ng = 0, flen = 0;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(kp_encode_fetch(&w, &h, &req, gaps, 1, &ng, &flen), -E2BIG);
    kc_writer_reset(&w);
    parts[1].records_len = -1; /* a null record set must never be written */
    assert_int_equal(kp_encode_fetch(&w, &h, &req, gaps, 2, &ng, &flen), -EINVAL);
    kc_writer_reset(&w);
    parts[1].records_len = INT32_MAX; /* the frame would pass 2 GiB */
    assert_int_equal(kp_encode_fetch(&w, &h, &req, gaps, 2, &ng, &flen), KC_ETOOLARGE);
    kc_writer_reset(&w);
    parts[1].records_len = 8;
    parts[1].records = rec;
    h.api_version = 3;
    assert_int_equal(kp_encode_fetch(&w, &h, &req, gaps, 2, &ng, &flen), -EINVAL);
    kc_writer_fini(&w);
}

/* Two responses in one writer: gaps are writer offsets, the second frame starts after. */
static void test_fetch_appends_after_existing_output(void **state)
{
    (void)state;
    struct kp_fetch_part part = {.records_len = 4, .high_watermark = 1, .last_stable_offset = 1};
    struct kp_fetch_topic topic = {kp_slice_str("t"), 1, &part};
    struct kp_fetch_req req = {.ntopics = 1, .topics = &topic, .nparts_total = 1};
    struct kp_header h = {KP_API_FETCH, 4, 3, {NULL, -1}, false};
    struct kc_writer w;
    kc_writer_init(&w, 0);
    kc_write_raw(&w, "previous", 8);
    struct kp_fetch_gap gap;
    size_t ng, flen;
    assert_int_equal(kp_encode_fetch(&w, &h, &req, &gap, 1, &ng, &flen), 0);
    assert_int_equal(ng, 1);
    assert_int_equal(gap.at, kc_writer_len(&w)); /* records are the frame's last bytes */
    assert_int_equal(flen, kc_writer_len(&w) - 8 + 4);
    assert_int_equal(kc_load_be32(kc_writer_data(&w) + 8), flen - 4);
    kc_writer_fini(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_pieces_with_real_batches_decode_back),
        cmocka_unit_test(test_fetch_request_every_version_decodes),
        cmocka_unit_test(test_fetch_empty_partition_length_zero_and_offsets_filled),
        cmocka_unit_test(test_fetch_encoder_refuses_bad_input),
        cmocka_unit_test(test_fetch_appends_after_existing_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
