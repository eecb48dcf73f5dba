/*
 * test_alog_pstate.c - Kafka 3.9's producer-state rules, on the table alone (no log, no
 * files): each answer (append, duplicate, 45, 47, malformed), the five-batch window, the
 * sequence wrap at INT32_MAX, epoch bumps, expiry, the listing, growth to many producers,
 * and the state surviving its own snapshot entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "producer_int.h"

#define TS0 1700000000000LL

/* A batch header: producer pid at epoch, n records from sequence seq. */
static struct kc_batch_header hdr(int64_t pid, int16_t epoch, int32_t seq, int n)
{
    return (struct kc_batch_header){.magic = 2, .producer_id = pid, .producer_epoch = epoch,
                                    .base_sequence = seq, .last_offset_delta = n - 1,
                                    .records_count = n, .max_timestamp = TS0};
}

/* Check, then remember it at offset base (as an append would). */
static void write_at(struct alog_pstate *ps, struct kc_batch_header h, int64_t base)
{
    struct alog_appended dup;
    assert_int_equal(alog__pstate_check(ps, &h, &dup), 0);
    assert_int_equal(alog__pstate_reserve(ps), 0);
    h.base_offset = base;
    alog__pstate_apply(ps, &h);
}

static int check(const struct alog_pstate *ps, struct kc_batch_header h, struct alog_appended *d)
{
    struct alog_appended tmp;
    return alog__pstate_check(ps, &h, d ? d : &tmp);
}

static void test_pstate_unknown_producer_any_sequence_accepted(void **state)
{
    (void)state;
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    assert_int_equal(check(&ps, hdr(7, 0, 0, 1), NULL), 0);
    assert_int_equal(check(&ps, hdr(7, 0, 42, 3), NULL), 0);  /* KIP-360: no 59 */
    assert_int_equal(check(&ps, hdr(7, 3, 999, 3), NULL), 0); /* any epoch too */
    write_at(&ps, hdr(7, 3, 999, 3), 0);
    assert_int_equal(check(&ps, hdr(7, 3, 1002, 1), NULL), 0); /* and it continues from there */
    assert_int_equal(check(&ps, hdr(8, 0, 5, 1), NULL), 0);    /* another producer: unknown */
    alog__pstate_fini(&ps);
}

static void test_pstate_gap_or_repeat_out_of_order(void **state)
{
    (void)state;
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    write_at(&ps, hdr(1, 0, 0, 5), 0); /* sequences 0..4 */
    assert_int_equal(check(&ps, hdr(1, 0, 5, 2), NULL), 0);
    assert_int_equal(check(&ps, hdr(1, 0, 6, 2), NULL), KC_ESEQUENCE); /* a gap */
    assert_int_equal(check(&ps, hdr(1, 0, 3, 2), NULL), KC_ESEQUENCE); /* overlaps, not a dup */
    assert_int_equal(check(&ps, hdr(1, 0, 0, 4), NULL), KC_ESEQUENCE); /* same start, other end */
    assert_int_equal(check(&ps, hdr(1, 0, 4, 1), NULL), KC_ESEQUENCE);
    alog__pstate_fini(&ps);
}

static void test_pstate_each_of_last_five_duplicate_sixth_refused(void **state)
{
    (void)state;
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    for (int b = 0; b < 6; b++) { /* batches of 3 at offsets 100, 110, ... */
        struct kc_batch_header h = hdr(9, 2, b * 3, 3);
        h.max_timestamp = TS0 + b;
        write_at(&ps, h, 100 + 10 * b);
    }
    for (int b = 1; b < 6; b++) {
        struct alog_appended d;
        assert_int_equal(check(&ps, hdr(9, 2, b * 3, 3), &d), 1);
        assert_true(d.duplicate);
        assert_int_equal(d.base_offset, 100 + 10 * b);
        assert_int_equal(d.last_offset, 102 + 10 * b);
        assert_int_equal(d.timestamp, TS0 + b); /* what Kafka answers as log_append_time */
    }
    /* The first fell out of the window: judged as new, and out of order. */
    assert_int_equal(check(&ps, hdr(9, 2, 0, 3), NULL), KC_ESEQUENCE);
    assert_int_equal(check(&ps, hdr(9, 2, 18, 3), NULL), 0); /* the next one */
    alog__pstate_fini(&ps);
}

static void test_pstate_older_epoch_fenced_even_for_a_duplicate(void **state)
{
    (void)state;
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    write_at(&ps, hdr(5, 1, 0, 2), 0);
    write_at(&ps, hdr(5, 2, 0, 2), 2); /* a bumped epoch (KIP-360) starts again at 0 */
    assert_int_equal(check(&ps, hdr(5, 1, 0, 2), NULL), KC_EFENCED);
    assert_int_equal(check(&ps, hdr(5, 1, 2, 2), NULL), KC_EFENCED);
    assert_int_equal(check(&ps, hdr(5, 0, 0, 1), NULL), KC_EFENCED);
    struct alog_appended d;
    assert_int_equal(check(&ps, hdr(5, 2, 0, 2), &d), 1);
    assert_int_equal(d.base_offset, 2);
    alog__pstate_fini(&ps);
}

static void test_pstate_new_epoch_starts_at_zero_forgets_old_batches(void **state)
{
    (void)state;
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    write_at(&ps, hdr(3, 0, 0, 10), 0);
    write_at(&ps, hdr(3, 0, 10, 10), 10);
    assert_int_equal(check(&ps, hdr(3, 1, 20, 1), NULL), KC_ESEQUENCE); /* 45, not 59 */
    assert_int_equal(check(&ps, hdr(3, 1, 5, 1), NULL), KC_ESEQUENCE);
    write_at(&ps, hdr(3, 1, 0, 4), 20);
    /* The old epoch's batches are gone from the window, and the old epoch is fenced. */
    assert_int_equal(check(&ps, hdr(3, 0, 10, 10), NULL), KC_EFENCED);
    assert_int_equal(check(&ps, hdr(3, 1, 4, 1), NULL), 0);
    struct alog_producer_info info;
    assert_int_equal(alog__pstate_list(&ps, &info, 1), 1);
    assert_int_equal(info.epoch, 1);
    assert_int_equal(info.last_sequence, 3);
    alog__pstate_fini(&ps);
}

static void test_pstate_sequence_wraps_past_int32_max(void **state)
{
    (void)state;
    assert_int_equal(alog__seq_add(INT32_MAX - 2, 4), 1);
    assert_int_equal(alog__seq_add(INT32_MAX, 1), 0);
    assert_int_equal(alog__seq_add(INT32_MAX - 4, 4), INT32_MAX);
    assert_int_equal(alog__seq_add(7, 0), 7);

    struct alog_pstate ps;
    alog__pstate_init(&ps);
    write_at(&ps, hdr(4, 0, INT32_MAX - 4, 5), 0); /* ends exactly at INT32_MAX */
    assert_int_equal(check(&ps, hdr(4, 0, 0, 1), NULL), 0);
    assert_int_equal(check(&ps, hdr(4, 0, INT32_MAX, 1), NULL), KC_ESEQUENCE);
    write_at(&ps, hdr(4, 0, 0, 1), 5);
    write_at(&ps, hdr(4, 0, 1, 1), 6);

    struct alog_pstate ws; /* a batch straddling the wrap: MAX-1, MAX, 0, 1, 2 */
    alog__pstate_init(&ws);
    write_at(&ws, hdr(4, 0, INT32_MAX - 1, 5), 0);
    assert_int_equal(check(&ws, hdr(4, 0, 3, 1), NULL), 0);
    assert_int_equal(check(&ws, hdr(4, 0, 0, 1), NULL), KC_ESEQUENCE);
    struct alog_appended d;
    assert_int_equal(check(&ws, hdr(4, 0, INT32_MAX - 1, 5), &d), 1); /* its duplicate */
    assert_int_equal(d.base_offset, 0);
    assert_int_equal(d.last_offset, 4);
    /* ... and again after the snapshot round trip (the first sequence is recomputed from
     * the last one and the delta, wrapping backwards). */
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(alog__pstate_encode(&ws, &w), 0);
    int32_t n;
    assert_int_equal(alog_snapshot_decode(kc_writer_data(&w), kc_writer_len(&w), &n), 0);
    struct alog_pstate back;
    alog__pstate_init(&back);
    for (int32_t i = 0; i < n; i++) {
        struct alog_snapshot_entry e;
        alog_snapshot_entry_at(kc_writer_data(&w), i, &e);
        assert_int_equal(alog__pstate_load_entry(&back, &e), 0);
    }
    assert_int_equal(check(&back, hdr(4, 0, INT32_MAX - 1, 5), &d), 1);
    assert_int_equal(check(&back, hdr(4, 0, 3, 1), NULL), 0);
    kc_writer_fini(&w);
    alog__pstate_fini(&back);
    alog__pstate_fini(&ws);
    alog__pstate_fini(&ps);
}

static void test_pstate_negative_sequence_malformed(void **state)
{
    (void)state;
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    assert_int_equal(check(&ps, hdr(4, 0, -1, 1), NULL), KC_EMALFORMED);
    assert_int_equal(check(&ps, hdr(4, 0, INT32_MIN, 1), NULL), KC_EMALFORMED);
    alog__pstate_fini(&ps);
}

static void test_pstate_expire_drops_only_idle_producers(void **state)
{
    (void)state;
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    for (int64_t pid = 0; pid < 40; pid++) {
        struct kc_batch_header h = hdr(pid, 0, 0, 1);
        h.max_timestamp = TS0 + pid * 1000; /* producer p last wrote at TS0 + p s */
        write_at(&ps, h, pid);
    }
    /* At TS0 + 50 s, with a 20 s expiry: those that last wrote at or before TS0 + 30 s go. */
    assert_int_equal(alog__pstate_expire(&ps, TS0 + 50000, 20000), 31);
    assert_int_equal(ps.count, 9);
    for (int64_t pid = 0; pid < 40; pid++) {
        struct alog_appended d;
        int rc = check(&ps, hdr(pid, 0, 0, 1), &d);
        assert_int_equal(rc, pid <= 30 ? 0 : 1); /* forgotten: a new producer to the log */
    }
    assert_int_equal(alog__pstate_expire(&ps, TS0 + 50000, 20000), 0);
    assert_int_equal(alog__pstate_expire(&ps, TS0 + 10000000, 20000), 9);
    assert_int_equal(ps.count, 0);
    alog__pstate_fini(&ps);
}

static void test_pstate_list_sorted_with_kafka_fields(void **state)
{
    (void)state;
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    int64_t ids[] = {900, 3, 77, 12};
    for (int i = 0; i < 4; i++) {
        struct kc_batch_header h = hdr(ids[i], (int16_t)i, 10, 3);
        h.max_timestamp = TS0 + i;
        write_at(&ps, h, 10 * i);
    }
    struct alog_producer_info out[8];
    assert_int_equal(alog__pstate_list(&ps, out, 2), 4); /* the count, even past cap */
    assert_int_equal(alog__pstate_list(&ps, out, 8), 4);
    int64_t want[] = {3, 12, 77, 900};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(out[i].producer_id, want[i]);
        assert_int_equal(out[i].last_sequence, 12);
        assert_int_equal(out[i].coordinator_epoch, -1);
        assert_int_equal(out[i].txn_start_offset, -1);
    }
    assert_int_equal(out[3].epoch, 0); /* 900 was the first written, at epoch 0 */
    assert_int_equal(out[3].last_timestamp, TS0);
    assert_int_equal(alog__pstate_list(&ps, NULL, 0), 4);
    alog__pstate_fini(&ps);
}

/* Many producers, random ids: every one found again, the table growing as it fills. */
static void test_pstate_many_producers_each_found(void **state)
{
    (void)state;
    srand((unsigned)kc_test_seed());
    struct alog_pstate ps;
    alog__pstate_init(&ps);
    enum { N = 5000 };
    int64_t *ids = malloc(N * sizeof(*ids));
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        ids[i] = ((((int64_t)rand() << 12) ^ rand()) & ((1LL << 40) - 1)) * N + i; /* distinct */
        write_at(&ps, hdr(ids[i], 0, 0, 2), 2 * i);
    }
    assert_int_equal(ps.count, N);
    assert_true(ps.cap >= 2 * N);
    for (int i = 0; i < N; i++) {
        struct alog_appended d;
        assert_int_equal(check(&ps, hdr(ids[i], 0, 0, 2), &d), 1);
        assert_int_equal(d.base_offset, 2 * i);
        assert_int_equal(check(&ps, hdr(ids[i], 0, 2, 1), NULL), 0);
    }
    free(ids);
    alog__pstate_fini(&ps);
}

/* The state written as snapshot entries and read back judges every batch alike. */
static void test_pstate_snapshot_entries_keep_all_five(void **state)
{
    (void)state;
    struct alog_pstate ps, back;
    alog__pstate_init(&ps);
    alog__pstate_init(&back);
    for (int b = 0; b < 7; b++)
        write_at(&ps, hdr(21, 4, b * 2, 2), 50 + 2 * b);
    write_at(&ps, hdr(22, 0, 0, 1), 70); /* another producer, one batch */
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(alog__pstate_encode(&ps, &w), 0);
    int32_t n;
    assert_int_equal(alog_snapshot_decode(kc_writer_data(&w), kc_writer_len(&w), &n), 0);
    assert_int_equal(n, 6); /* five batches of 21, one of 22 */
    for (int32_t i = 0; i < n; i++) {
        struct alog_snapshot_entry e;
        alog_snapshot_entry_at(kc_writer_data(&w), i, &e);
        assert_int_equal(alog__pstate_load_entry(&back, &e), 0);
    }
    for (int b = 0; b < 8; b++) {
        int want = check(&ps, hdr(21, 4, b * 2, 2), NULL);
        assert_int_equal(check(&back, hdr(21, 4, b * 2, 2), NULL), want);
    }
    assert_int_equal(check(&back, hdr(22, 0, 0, 1), NULL), 1);
    assert_int_equal(check(&back, hdr(21, 3, 14, 1), NULL), KC_EFENCED);
    kc_writer_fini(&w);
    alog__pstate_fini(&ps);
    alog__pstate_fini(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pstate_unknown_producer_any_sequence_accepted),
        cmocka_unit_test(test_pstate_gap_or_repeat_out_of_order),
        cmocka_unit_test(test_pstate_each_of_last_five_duplicate_sixth_refused),
        cmocka_unit_test(test_pstate_older_epoch_fenced_even_for_a_duplicate),
        cmocka_unit_test(test_pstate_new_epoch_starts_at_zero_forgets_old_batches),
        cmocka_unit_test(test_pstate_sequence_wraps_past_int32_max),
        cmocka_unit_test(test_pstate_negative_sequence_malformed),
        cmocka_unit_test(test_pstate_expire_drops_only_idle_producers),
        cmocka_unit_test(test_pstate_list_sorted_with_kafka_fields),
        cmocka_unit_test(test_pstate_many_producers_each_found),
        cmocka_unit_test(test_pstate_snapshot_entries_keep_all_five),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
