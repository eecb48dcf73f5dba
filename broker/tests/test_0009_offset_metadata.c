/*
 * test_0009_offset_metadata.c - a committed offset's metadata comes back exactly as it was
 * committed: null as null, "" as "", bytes as the same bytes, through both protocols, in
 * either direction, and after a clean stop and a kill -9.
 *
 * The regression it guards: a null metadata (kafkajs always commits null) was fetched as
 * 4096 bytes of the broker's own stack, because a length of -1 was read as "longer than the
 * buffer". Every answer here is checked byte for byte, so a stale or uninitialised byte in
 * the metadata fails the test, whatever it holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kt.h"

#define S(s) np_str(s)

/* Partition p of topic "m" gets metadata META[p] (len -1: null). */
static const struct {
    const char *p;
    int32_t len;
} META[] = {{NULL, -1}, {"", 0}, {"hello, metadata", 15}};
#define NPARTS 3

static struct kc_slice meta_slice(int p)
{
    return (struct kc_slice){(const uint8_t *)META[p].p, META[p].len};
}

static void assert_meta(struct kc_slice got, int p)
{
    assert_int_equal(got.len, META[p].len);
    if (got.len > 0)
        assert_memory_equal(got.p, META[p].p, (size_t)got.len);
}

/* ---- native: command 3 commit, command 4 fetch-offset ------------------------------------- */

static void native_commit_all(const struct kb_broker *b, const char *group, int64_t base)
{
    struct np_client c;
    kb_client(b, &c);
    for (int p = 0; p < NPARTS; p++) {
        struct np_commit_req req = {S(group), S("m"), p, base + p, meta_slice(p)};
        assert_int_equal(np_client_commit(&c, &req), 0);
    }
    np_client_close(&c);
}

static void native_check_all(const struct kb_broker *b, const char *group, int64_t base)
{
    struct np_client c;
    struct np_fetch_offset_resp resp;
    kb_client(b, &c);
    for (int p = 0; p < NPARTS; p++) {
        struct np_fetch_offset_req req = {S(group), S("m"), p};
        assert_int_equal(np_client_fetch_offset(&c, &req, &resp), 0);
        assert_int_equal(resp.offset, base + p);
        assert_meta(resp.metadata, p);
    }
    np_client_close(&c);
}

/* ---- Kafka: OffsetCommit v2 (standalone: generation -1), OffsetFetch v1 ------------------- */

static void kafka_commit_all(const struct kb_broker *b, const char *group, int64_t base)
{
    struct kc_writer w;
    struct kc_reader r;
    uint8_t buf[4096];
    int fd = kb_connect(b);
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_OFFSET_COMMIT, 2, 7);
    kc_write_cstr(&w, group);
    kc_write_i32(&w, -1);  /* generation: a standalone commit */
    kc_write_cstr(&w, ""); /* member id */
    kc_write_i64(&w, -1);  /* retention: the broker's */
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "m");
    kc_write_i32(&w, NPARTS);
    for (int p = 0; p < NPARTS; p++) {
        kc_write_i32(&w, p);
        kc_write_i64(&w, base + p);
        kc_write_str(&w, META[p].p, META[p].len);
    }
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 1);
    assert_true(kp_slice_eq(kt_str(&r), "m"));
    assert_int_equal(kt_i32(&r), NPARTS);
    for (int p = 0; p < NPARTS; p++) {
        assert_int_equal(kt_i32(&r), p);
        assert_int_equal(kt_i16(&r), KP_ERR_NONE);
    }
    assert_int_equal(kc_reader_left(&r), 0);
    kc_writer_fini(&w);
    close(fd);
}

static void kafka_check_all(const struct kb_broker *b, const char *group, int64_t base)
{
    struct kc_writer w;
    struct kc_reader r;
    uint8_t buf[16384];
    int fd = kb_connect(b);
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_OFFSET_FETCH, 1, 8);
    kc_write_cstr(&w, group);
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "m");
    kc_write_i32(&w, NPARTS + 1); /* and one partition nothing was committed to */
    for (int p = 0; p <= NPARTS; p++)
        kc_write_i32(&w, p);
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 1);
    assert_true(kp_slice_eq(kt_str(&r), "m"));
    assert_int_equal(kt_i32(&r), NPARTS + 1);
    for (int p = 0; p < NPARTS; p++) {
        assert_int_equal(kt_i32(&r), p);
        assert_int_equal(kt_i64(&r), base + p);
        assert_meta(kt_str(&r), p);
        assert_int_equal(kt_i16(&r), KP_ERR_NONE);
    }
    assert_int_equal(kt_i32(&r), NPARTS); /* nothing committed: -1 and "", as Kafka */
    assert_int_equal(kt_i64(&r), -1);
    assert_int_equal(kt_str(&r).len, 0);
    assert_int_equal(kt_i16(&r), KP_ERR_NONE);
    assert_int_equal(kc_reader_left(&r), 0); /* v1: no top-level error, no throttle */
    kc_writer_fini(&w);
    close(fd);
}

/* ---- the scenarios ---------------------------------------------------------------------- */

static void make_topic(const struct kb_broker *b)
{
    struct np_client c;
    struct np_create_topic_resp cr;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "m", NPARTS + 1, &cr), 0);
    np_client_close(&c);
}

/* Group "n" committed natively, group "k" through Kafka; each read back both ways. */
static void check_both_ways(const struct kb_broker *b)
{
    native_check_all(b, "n", 100);
    kafka_check_all(b, "n", 100);
    native_check_all(b, "k", 200);
    kafka_check_all(b, "k", 200);
}

static void test_metadata_null_empty_bytes_roundtrip_both_protocols(void **state)
{
    struct kb_broker *b = *state;
    make_topic(b);
    native_commit_all(b, "n", 100);
    kafka_commit_all(b, "k", 200);
    check_both_ways(b);
}

static void test_metadata_survives_clean_stop_and_kill9(void **state)
{
    struct kb_broker *b = *state;
    make_topic(b);
    native_commit_all(b, "n", 100);
    kafka_commit_all(b, "k", 200);
    kb_stop(b);
    kb_start(b, NULL);
    check_both_ways(b);
    kb_kill9(b);
    kb_start(b, NULL);
    check_both_ways(b);
    kb_stop(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metadata_null_empty_bytes_roundtrip_both_protocols,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_metadata_survives_clean_stop_and_kill9,
                                        kb_setup_started, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
