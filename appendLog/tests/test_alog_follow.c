/*
 * test_alog_follow.c - a follower's append: alog_append_replica (the leader's offsets and
 * bytes kept, every partial tail, bad input refused whole, rolls and a batch bigger than a
 * segment, watches and durability), gaps filled on a store's log, alog_scan_epochs, and
 * the leader-epoch helper of kc_batch.h. (Truncation: test_alog_truncate.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alog_int.h"
#include "support/alog_fixture.h"
#include "support/alog_follow.h"
#include "support/alog_hooks.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_test.h"

struct epochs {
    int n;
    int64_t base[64];
    int32_t epoch[64];
};

static int note_epoch(void *arg, int64_t base, int32_t epoch)
{
    struct epochs *e = arg;
    if (e->n == 64)
        return 1;
    e->base[e->n] = base;
    e->epoch[e->n++] = epoch;
    return 0;
}

/* ---- alog_append_replica ------------------------------------------------------------ */

static void test_follow_replica_keeps_offsets_epochs_bytes(void **state)
{
    struct alog *log = fx_follow_open(*state, 1 << 20, NULL);
    size_t l1, l2;
    uint8_t *a = fx_lrun(0, 2, 5, 3, &l1), *b = fx_lrun(10, 1, 2, 7, &l2);
    fx_replica(log, a, l1, 10);
    fx_replica(log, b, l2, 12);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(fx_read_all(log, 0, &w), l1 + l2);
    assert_memory_equal(kc_writer_data(&w), a, l1); /* byte for byte: epochs, offsets kept */
    assert_memory_equal(kc_writer_data(&w) + l1, b, l2);
    struct epochs e = {0};
    assert_int_equal(alog_scan_epochs(log, 6, note_epoch, &e), 0);
    assert_int_equal(e.n, 2); /* the batch holding 6 (base 5), then 10 */
    assert_int_equal(e.base[0], 5);
    assert_int_equal(e.epoch[0], 3);
    assert_int_equal(e.base[1], 10);
    assert_int_equal(e.epoch[1], 7);
    assert_int_equal(alog_scan_epochs(log, 13, note_epoch, &e), KC_EOFFSET);
    e.n = 0;
    assert_int_equal(alog_scan_epochs(log, 12, note_epoch, &e), 0); /* at the end: none */
    assert_int_equal(e.n, 0);
    kc_batch_set_leader_epoch(b, 9); /* stamped in place: outside the CRC */
    assert_int_equal(kc_batch_leader_epoch(b), 9);
    assert_true(kc_batch_validate(b, l2, NULL) > 0);
    kc_batch_set_leader_epoch(b, 7);
    assert_int_equal(alog_close(log), 0);
    log = fx_follow_open(*state, 1 << 20, NULL); /* the same after a reopen */
    assert_int_equal(fx_read_all(log, 0, &w), l1 + l2);
    assert_memory_equal(kc_writer_data(&w), a, l1);
    int64_t base;
    size_t l3;
    uint8_t *c = fx_batch(0, 1, 24, 5, &l3);
    assert_int_equal(alog_append(log, c, l3, &base), 0); /* a leader's append continues */
    assert_int_equal(base, 12);
    assert_int_equal(alog_close(log), 0);
    kc_writer_fini(&w);
    free(a);
    free(b);
    free(c);
}

static void test_follow_replica_partial_tail_reports_used(void **state)
{
    struct alog *log = fx_follow_open(*state, 1 << 20, NULL);
    size_t len, used;
    int64_t end;
    uint8_t *a = fx_lrun(0, 3, 4, 1, &len);
    size_t one = len / 3;
    /* every prefix: the whole batches are appended, the partial one is left */
    for (size_t cut = 0; cut < one; cut++) {
        int rc = alog_append_replica(log, a, cut, &used, &end);
        assert_int_equal(rc, cut == 0 ? 0 : KC_ENEEDMORE);
        assert_int_equal(used, 0);
        assert_int_equal(end, 0);
    }
    assert_int_equal(alog_append_replica(log, a, 2 * one + 30, &used, &end), 0);
    assert_int_equal(used, 2 * one);
    assert_int_equal(end, 8);
    assert_int_equal(alog_append_replica(log, a + used, len - used, &used, &end), 0);
    assert_int_equal(end, 12);
    assert_int_equal(fx_check_files(*state), 12);
    assert_int_equal(alog_close(log), 0);
    free(a);
}

static void test_follow_replica_bad_input_writes_nothing(void **state)
{
    struct alog *log = fx_follow_open(*state, 1 << 20, NULL);
    size_t len, used;
    int64_t end;
    uint8_t *a = fx_lrun(0, 2, 5, 1, &len);
    fx_replica(log, a, len, 10);
    uint8_t *b = fx_lrun(10, 3, 5, 1, &len); /* 10..24 */
    size_t one = len / 3;
    b[one + 70] ^= 1; /* the second batch's records: CRC */
    assert_int_equal(alog_append_replica(log, b, len, &used, &end), KC_ECRC);
    b[one + 70] ^= 1;
    kc_batch_set_base_offset(b + one, 12); /* overlaps the first */
    assert_int_equal(alog_append_replica(log, b, len, &used, &end), KC_EMALFORMED);
    kc_batch_set_base_offset(b + one, 15);
    kc_batch_set_base_offset(b, 9); /* below the log end */
    assert_int_equal(alog_append_replica(log, b, len, &used, &end), KC_EOFFSET);
    kc_batch_set_base_offset(b, 10);
    kc_batch_set_base_offset(b + one, 16); /* a gap: a standalone log takes none */
    kc_batch_set_base_offset(b + 2 * one, 21);
    assert_int_equal(alog_append_replica(log, b, len, &used, &end), KC_EUNSUPPORTED);
    kc_batch_set_base_offset(b + one, 15);
    kc_batch_set_base_offset(b + 2 * one, 20);
    b[KC_BATCH_OFF_MAGIC] = 1;
    assert_int_equal(alog_append_replica(log, b, len, &used, &end), KC_EUNSUPPORTED);
    b[KC_BATCH_OFF_MAGIC] = 2;
    assert_int_equal(alog_end_offset(log), 10);
    assert_int_equal(fx_check_files(*state), 10); /* not a byte more */
    fx_replica(log, b, len, 25);
    assert_int_equal(alog_close(log), 0);
    free(a);
    free(b);
}

static void test_follow_replica_rolls_big_batch_own_segment(void **state)
{
    struct alog *log = fx_follow_open(*state, 1024, NULL);
    size_t len;
    uint8_t *a = fx_lrun(0, 20, 4, 2, &len); /* ~ 250 bytes each: rolls every ~4 */
    fx_replica(log, a, len, 80);
    uint8_t *big = fx_batch(80, 100, 64, 0, &len); /* > segment.bytes */
    kc_batch_set_base_offset(big, 80);
    fx_replica(log, big, len, 180);
    struct alog_segment_info si[16];
    int n = alog_segments(log, si, 16);
    assert_true(n >= 4);
    assert_int_equal(si[n - 1].base_offset, 80); /* alone in its segment */
    assert_int_equal(si[n - 1].next_offset, 180);
    assert_true(si[n - 1].bytes > 1024);
    assert_int_equal(fx_check_files(*state), 180);
    assert_int_equal(alog_close(log), 0);
    free(a);
    free(big);
}

struct woke {
    atomic_int fired;
};

static void on_wake(struct alog_watch *w)
{
    atomic_fetch_add(&((struct woke *)w->arg)->fired, 1);
}

static void test_follow_replica_fires_watches_and_becomes_durable(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = fx_follow_open(*state, 1 << 20, f);
    struct woke k = {0};
    struct alog_watch w = {.offset = 0, .fn = on_wake, .arg = &k};
    assert_int_equal(alog_watch_end(log, &w), 0);
    size_t len;
    uint8_t *a = fx_lrun(0, 2, 5, 1, &len);
    fx_replica(log, a, len, 10);
    assert_int_equal(atomic_load(&k.fired), 1);
    struct fx_tally t;
    fx_tally_init(&t);
    int rc = alog_wait_durable(log, 10, fx_tally_cb, &t);
    assert_true(rc == 0 || rc == 1);
    if (rc == 0)
        fx_tally_wait(&t, 1);
    assert_int_equal(t.errors, 0);
    assert_int_equal(alog_durable_offset(log), 10);
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
    free(a);
}

/* The batch read at offset: its base and last offsets, its record count. */
static void batch_at(struct alog *log, int64_t off, int64_t *base, int64_t *last, int32_t *count)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    int64_t next;
    assert_int_equal(alog_read_copy(log, off, 1, &w, &next), 0);
    struct kc_batch_header h;
    assert_true(kc_batch_validate_stored(kc_writer_data(&w), kc_writer_len(&w), &h) > 0);
    *base = h.base_offset;
    *last = h.base_offset + h.last_offset_delta;
    *count = h.records_count;
    kc_writer_fini(&w);
}

static void test_follow_store_gap_filled_record_less(void **state)
{
    struct alog_store *s = fx_store_open(*state);
    struct alog *log = fx_store_log(s, *state, 1 << 20);
    size_t l1, l2;
    uint8_t *a = fx_lrun(0, 1, 5, 4, &l1), *b = fx_lrun(10, 1, 5, 6, &l2);
    uint8_t *buf = NULL;
    size_t len = 0;
    fx_put(&buf, &len, a, l1);
    fx_put(&buf, &len, b, l2); /* 0..4, then 10..14: a gap inside the answer */
    fx_replica(log, buf, len, 15);
    for (int pass = 0; pass < 2; pass++) {
        int64_t base, last;
        int32_t count;
        batch_at(log, 7, &base, &last, &count);
        assert_int_equal(base, 5);
        assert_int_equal(last, 9);
        assert_int_equal(count, 0);
        batch_at(log, 12, &base, &last, &count);
        assert_int_equal(base, 10);
        struct epochs e = {0};
        assert_int_equal(alog_scan_epochs(log, 0, note_epoch, &e), 0);
        assert_int_equal(e.n, 3);
        assert_int_equal(e.epoch[1], 6); /* the filler: the next batch's epoch */
        assert_int_equal(alog_store_close(s), 0); /* ... and the same after a reopen */
        s = fx_store_open(*state);
        log = fx_store_log(s, *state, 1 << 20);
    }
    free(buf);
    buf = NULL;
    len = 0;
    uint8_t *c = fx_lrun(20, 1, 5, 6, &l1);
    fx_replica(log, c, l1, 25); /* a gap before the first batch of the answer */
    int64_t t_end;
    assert_int_equal(alog_truncate(log, 17, &t_end), 0); /* inside the filler: it goes whole */
    assert_int_equal(t_end, 15);
    assert_int_equal(alog_store_close(s), 0);
    s = fx_store_open(*state);
    log = fx_store_log(s, *state, 1 << 20);
    assert_int_equal(alog_end_offset(log), 15);
    assert_int_equal(alog_store_close(s), 0);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_follow_replica_keeps_offsets_epochs_bytes),
        T(test_follow_replica_partial_tail_reports_used),
        T(test_follow_replica_bad_input_writes_nothing),
        T(test_follow_replica_rolls_big_batch_own_segment),
        T(test_follow_replica_fires_watches_and_becomes_durable),
        T(test_follow_store_gap_filled_record_less),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
