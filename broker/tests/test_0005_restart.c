/*
 * test_0005_restart.c - what survives a stop: after SIGTERM (a clean stop: no recovery on
 * the next start) and after kill -9 (recovery), every acknowledged record is there, in
 * order, and so is every committed group offset; new records continue the offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "kc_common.h"
#include "kc_test.h"

#define S(s) np_str(s)
#define N    300

/* Topic "r" (2 partitions): N records "v<i>" with acks=all to partition i % 2, a batch of
 * 10 to partition 0, and commits for two groups. */
static void write_everything(const struct kb_broker *b)
{
    struct np_client c;
    struct np_create_topic_resp cr;
    struct np_produce_resp pr;
    struct np_produce_batch_resp br;
    char v[32];
    size_t len;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "r", 2, &cr), 0);
    for (int i = 0; i < N; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        struct np_produce_req req = {S("r"), i % 2, NP_ACKS_ALL, -1, {NULL, -1}, S(v)};
        assert_int_equal(np_client_produce(&c, &req, &pr), 0);
        assert_int_equal(pr.offset, i / 2);
    }
    uint8_t *batch = kb_batch("b", 10, &len);
    struct np_produce_batch_req req = {S("r"), 0, NP_ACKS_ALL, {batch, (int32_t)len}};
    assert_int_equal(np_client_produce_batch(&c, &req, &br), 0);
    assert_int_equal(br.base_offset, N / 2);
    free(batch);
    struct np_commit_req cm = {S("groupA"), S("r"), 0, 42, S("meta")};
    assert_int_equal(np_client_commit(&c, &cm), 0);
    cm.offset = 43; /* the latest commit wins */
    assert_int_equal(np_client_commit(&c, &cm), 0);
    cm = (struct np_commit_req){S("groupB"), S("r"), 1, 7, {NULL, -1}};
    assert_int_equal(np_client_commit(&c, &cm), 0);
    np_client_close(&c);
}

static void check_everything(const struct kb_broker *b)
{
    struct np_client c;
    struct np_consume_batch_resp br;
    struct np_fetch_offset_resp fr;
    struct kc_record_iter it;
    struct kc_record rec;
    char v[32];
    kb_client(b, &c);
    for (int32_t p = 0; p < 2; p++) {
        int64_t off = 0, want_end = N / 2 + (p == 0 ? 10 : 0);
        while (off < want_end) {
            struct np_consume_batch_req q = {S("r"), p, off, 1000, 1 << 20, 0};
            assert_int_equal(np_client_consume_batch(&c, &q, &br), 0);
            assert_int_equal(br.log_end, want_end);
            assert_true(br.records.len > 0);
            for (size_t at = 0; at < (size_t)br.records.len;) {
                int size = kc_batch_validate(br.records.p + at, (size_t)br.records.len - at, NULL);
                assert_true(size > 0);
                assert_int_equal(kc_record_iter_init(&it, br.records.p + at, (size_t)size), 0);
                while (kc_record_iter_next(&it, &rec) == 1) {
                    assert_int_equal(rec.offset, off);
                    if (off < N / 2)
                        snprintf(v, sizeof(v), "v%lld", (long long)(off * 2 + p));
                    else
                        snprintf(v, sizeof(v), "b%lld", (long long)(off - N / 2));
                    assert_int_equal(rec.value_len, (int32_t)strlen(v));
                    assert_memory_equal(rec.value, v, strlen(v));
                    off++;
                }
                at += (size_t)size;
            }
        }
    }
    struct np_fetch_offset_req q = {S("groupA"), S("r"), 0};
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, 43);
    assert_int_equal(fr.metadata.len, 4);
    q = (struct np_fetch_offset_req){S("groupB"), S("r"), 1};
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, 7);
    /* and the log goes on from where it was */
    struct np_produce_resp pr;
    struct np_produce_req req = {S("r"), 1, NP_ACKS_LEADER, -1, {NULL, -1}, S("after")};
    assert_int_equal(np_client_produce(&c, &req, &pr), 0);
    assert_int_equal(pr.offset, N / 2);
    np_client_close(&c);
}

static void test_0005_sigterm_stop_is_clean_and_keeps_everything(void **state)
{
    struct kb_broker *b = *state;
    kb_start(b, NULL);
    write_everything(b);
    kb_stop(b);
    assert_true(kb_log_has(b, "stopped cleanly"));
    kb_start(b, NULL);
    check_everything(b);
    assert_false(kb_log_has(b, "unclean shutdown")); /* no recovery was needed */
    kb_stop(b);
}

static void test_0005_kill9_recovers_every_acknowledged_record(void **state)
{
    struct kb_broker *b = *state;
    kb_start(b, NULL);
    write_everything(b);
    kb_kill9(b); /* right after the last acknowledgement */
    kb_start(b, NULL);
    check_everything(b);
    kb_kill9(b); /* twice in a row: recovery of a recovered log */
    kb_start(b, NULL);
    struct np_client c;
    struct np_fetch_offset_resp fr;
    kb_client(b, &c);
    struct np_fetch_offset_req q = {S("groupA"), S("r"), 0};
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, 43);
    np_client_close(&c);
    kb_stop(b);
}

/* The store opens logs lazily: after a clean stop every partition is closed and known
 * clean from the checkpoints. acks=1 records appended to partitions opened again are
 * acknowledged from the page cache, which a kill -9 does not lose: they must be found at
 * the next start even though nothing was fsynced (the open-log journal lists those logs
 * the moment they open). */
static void test_0005_kill9_after_a_clean_restart_keeps_acks1_records(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_create_topic_resp cr;
    struct np_produce_resp pr;
    struct np_consume_resp rr;
    kb_start(b, NULL);
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "cold", 64, &cr), 0);
    np_client_close(&c);
    kb_stop(b);
    kb_start(b, NULL);
    kb_client(b, &c);
    for (int32_t p = 0; p < 64; p += 7) {
        struct np_produce_req req = {S("cold"), p, NP_ACKS_LEADER, -1, {NULL, -1}, S("warm")};
        assert_int_equal(np_client_produce(&c, &req, &pr), 0);
        assert_int_equal(pr.offset, 0);
    }
    np_client_close(&c);
    kb_kill9(b); /* right after the last acknowledgement, nothing fsynced */
    kb_start(b, NULL);
    kb_client(b, &c);
    for (int32_t p = 0; p < 64; p += 7) {
        struct np_consume_req q = {S("cold"), p, 0};
        assert_int_equal(np_client_consume(&c, &q, &rr), 0);
        assert_int_equal(rr.value.len, 4);
        assert_memory_equal(rr.value.p, "warm", 4);
    }
    np_client_close(&c);
    kb_stop(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0005_sigterm_stop_is_clean_and_keeps_everything,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0005_kill9_after_a_clean_restart_keeps_acks1_records,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0005_kill9_recovers_every_acknowledged_record,
                                        kb_setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
