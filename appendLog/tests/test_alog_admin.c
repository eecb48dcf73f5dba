/*
 * test_alog_admin.c - what the admin APIs change on a log in use: the start offset
 * (DeleteRecords: durable, inside a segment, never moved back by retention, honoured after
 * a crash, on a standalone log and on a store's, open or closed), live settings (segment
 * size, batch limit, retention: at once), and discarding a store's log (it leaves the
 * store; a log re-created under its name starts empty, even after a crash).
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
#include <unistd.h>

#include "alog.h"
#include "alog_int.h"
#include "kc_common.h"
#include "kc_fs.h"
#include "kc_test.h"
#include "kc_time.h"
#include "store_int.h"
#include "support/alog_fixture.h"

#define TS0 1700000000000LL

static struct alog *open_small(const char *dir)
{
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    return log;
}

static void test_alog_admin_advance_start_inside_a_segment_is_durable(void **state)
{
    struct alog *log = open_small(*state);
    fx_append(log, 60, 3, 100, TS0); /* 180 records over several 4 KiB segments */
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    assert_true(n >= 4);
    int64_t mid = segs[2].base_offset + 1; /* inside segment 2 */
    assert_int_equal(alog_advance_start(log, alog_end_offset(log) + 1), KC_EOFFSET);
    assert_int_equal(alog_advance_start(log, mid), 0);
    assert_int_equal(alog_start_offset(log), mid);
    assert_int_equal(alog_segments(log, segs, 64), n - 2); /* the two below it went */
    struct alog_slice s;
    assert_int_equal(alog_read(log, mid - 1, 1, &s), KC_EOFFSET);
    assert_int_equal(alog_read(log, mid, 1, &s), 0); /* its batch, from before mid */
    assert_true(s.first_offset <= mid);
    alog_slice_release(&s);
    assert_int_equal(alog_advance_start(log, 1), 0); /* lower: nothing changes */
    assert_int_equal(alog_start_offset(log), mid);
    /* Retention deleting segment 2 must not put the start back to its base... */
    struct alog_config cfg;
    alog_get_config(log, &cfg);
    cfg.retention_ms = 0;
    assert_int_equal(alog_set_config(log, &cfg), 0);
    int deleted;
    assert_int_equal(alog_retain(log, TS0 + 1000000, &deleted), 0);
    assert_true(deleted >= 1);
    assert_true(alog_start_offset(log) >= mid);
    int64_t start = alog_start_offset(log);
    /* ... and a crash (no close) keeps it: the checkpoint was fsynced first. */
    alog__abandon(log);
    log = open_small(*state);
    assert_int_equal(alog_start_offset(log), start);
    assert_int_equal(alog_read(log, start - 1, 1, &s), KC_EOFFSET);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_admin_live_settings_apply_at_once(void **state)
{
    struct alog *log = open_small(*state);
    struct alog_config cfg;
    alog_get_config(log, &cfg);
    assert_int_equal(cfg.segment_bytes, 4096);
    cfg.segment_bytes = 100; /* below appendLog's floor */
    assert_int_equal(alog_set_config(log, &cfg), -EINVAL);
    cfg.segment_bytes = 1 << 20;
    cfg.max_batch_bytes = 200;
    assert_int_equal(alog_set_config(log, &cfg), 0);
    size_t len;
    uint8_t *big = fx_batch(0, 5, 100, TS0, &len);
    int64_t base;
    assert_int_equal(alog_append(log, big, len, &base), KC_ETOOLARGE);
    free(big);
    cfg.max_batch_bytes = 1 << 20;
    assert_int_equal(alog_set_config(log, &cfg), 0);
    fx_append(log, 60, 3, 100, TS0); /* one segment of 1 MiB holds them all now */
    struct alog_segment_info segs[8];
    assert_int_equal(alog_segments(log, segs, 8), 1);
    cfg.segment_bytes = 1024;
    assert_int_equal(alog_set_config(log, &cfg), 0);
    fx_append(log, 3, 3, 100, TS0);
    assert_true(alog_segments(log, segs, 8) >= 2); /* rolled at the next append */
    assert_int_equal(alog_close(log), 0);
}

/* ---- a store's logs --------------------------------------------------------------------- */

static struct alog_store *open_store(const char *dir)
{
    struct alog_store *s;
    assert_int_equal(alog_store_open(&s, dir, NULL), 0);
    return s;
}

/* Add name to the store; fresh: its directory made empty first, as partitioning does. */
static struct alog *store_add(struct alog_store *s, const char *dir, const char *name,
                              bool fresh)
{
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    char path[4096];
    fx_path(path, sizeof(path), dir, name);
    if (fresh) {
        (void)kc_rm_rf(path);
        assert_int_equal(kc_mkdir_p(path, 0755), 0);
    }
    struct alog *log;
    assert_int_equal(alog_store_add_flags(s, name, &cfg, fresh ? ALOG_STORE_NEW : 0, &log), 0);
    return log;
}

/* Close a store's log the way the cache does (flush, files closed: COLD). */
static void evict(struct alog_store *s, struct alog *log)
{
    (void)s;
    assert_true(alog__try_pin(log)); /* open */
    alog__leave(log);
    pthread_mutex_lock(&s->cache_lock);
    assert_true(alog__evict_claim(log));
    pthread_mutex_unlock(&s->cache_lock);
    assert_int_equal(alog__evict_finish(log), 0);
}

/* DeleteRecords on a store's log, open or closed: the per-directory checkpoint holds the
 * new start before it is published, so a crash right after (no checkpoint interval passed,
 * no close) keeps it. */
static void test_alog_admin_store_start_survives_a_crash(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir);
    struct alog *a = store_add(s, dir, "a-0", true), *b = store_add(s, dir, "b-0", true);
    fx_append(a, 60, 3, 100, TS0);
    fx_append(b, 60, 3, 100, TS0);
    struct alog_segment_info segs[64];
    assert_true(alog_segments(a, segs, 64) >= 4);
    int64_t mid = segs[2].base_offset + 1;
    evict(s, b); /* b is closed: DeleteRecords must open it */
    assert_int_equal(alog_advance_start(a, mid), 0);
    assert_int_equal(alog_advance_start(b, 100), 0);
    assert_int_equal(alog_advance_start(b, alog_end_offset(b) + 1), KC_EOFFSET);
    assert_int_equal(alog_start_offset(a), mid);
    assert_int_equal(alog_start_offset(b), 100);
    struct alog_slice sl;
    assert_int_equal(alog_read(a, mid - 1, 1, &sl), KC_EOFFSET);
    alog__store_abandon(s); /* a crash, within the checkpoint interval */
    s = open_store(dir);
    a = store_add(s, dir, "a-0", false);
    b = store_add(s, dir, "b-0", false);
    assert_int_equal(alog_start_offset(a), mid);
    assert_int_equal(alog_start_offset(b), 100);
    assert_int_equal(alog_end_offset(a), 180);
    assert_int_equal(alog_read(b, 99, 1, &sl), KC_EOFFSET);
    fx_check_reads(a, mid, 180);
    fx_check_reads(b, 100, 180);
    assert_int_equal(alog_store_close(s), 0);
}

/* A discarded log leaves the store, and a log re-created under its name starts from its
 * own (empty) directory: the old line (start 150, end 180) must never describe it, not
 * even after a crash before the next checkpoint - nor after a restart that found the old
 * line in the files and a new directory under the name. */
static void test_alog_admin_store_discard_then_recreate_starts_empty(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir);
    struct alog *t = store_add(s, dir, "t-0", true);
    fx_append(t, 60, 3, 100, TS0);
    assert_int_equal(alog_advance_start(t, 150), 0);
    assert_int_equal(alog_store_checkpoint(s), 0); /* the files list t-0 [150, 180) */
    alog_discard(t);
    struct alog_store_info info;
    alog_store_info(s, &info);
    assert_int_equal(info.logs, 0);
    t = store_add(s, dir, "t-0", true); /* re-created: empty */
    assert_int_equal(alog_start_offset(t), 0);
    assert_int_equal(alog_end_offset(t), 0);
    fx_append(t, 1, 3, 100, TS0);
    assert_int_equal(alog_flush(t), 0);
    alog__store_abandon(s); /* a crash: no checkpoint after the append */
    s = open_store(dir);
    t = store_add(s, dir, "t-0", false);
    assert_int_equal(alog_start_offset(t), 0);
    assert_int_equal(alog_end_offset(t), 3);
    fx_check_reads(t, 0, 3);
    /* The name in the files at open, its directory replaced before it is added again. */
    assert_int_equal(alog_advance_start(t, 2), 0);
    assert_int_equal(alog_store_close(s), 0);
    s = open_store(dir);
    t = store_add(s, dir, "t-0", true);
    fx_append(t, 1, 1, 100, TS0);
    assert_int_equal(alog_flush(t), 0);
    alog__store_abandon(s);
    s = open_store(dir);
    t = store_add(s, dir, "t-0", false);
    assert_int_equal(alog_start_offset(t), 0);
    assert_int_equal(alog_end_offset(t), 1);
    fx_check_reads(t, 0, 1);
    assert_int_equal(alog_store_close(s), 0);
}

/* Discarding a log that is open, closed or has never been opened; a durability waiter
 * gets KC_ECLOSED instead of hanging. */
static void note_err(void *arg, int err)
{
    *(int *)arg = err;
}

static void test_alog_admin_store_discard_any_state(void **state)
{
    const char *dir = *state;
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.flusher = f;
    struct alog_store *s;
    assert_int_equal(alog_store_open(&s, dir, &sc), 0);
    struct alog *open = store_add(s, dir, "o-0", true), *cold = store_add(s, dir, "c-0", true);
    struct alog *never = store_add(s, dir, "n-0", true);
    fx_append(open, 3, 3, 100, TS0);
    fx_append(cold, 3, 3, 100, TS0);
    evict(s, cold);
    _Atomic int err = 1;
    int rc = alog_wait_durable(open, alog_end_offset(open), note_err, (void *)&err);
    assert_true(rc == 0 || rc == 1);
    alog_discard(open);
    alog_discard(cold);
    alog_discard(never);
    for (int i = 0; rc == 0 && err == 1 && i < 2000; i++)
        kc_sleep_ms(1);
    assert_true(rc == 1 || err == 0 || err == KC_ECLOSED);
    struct alog_store_info info;
    alog_store_info(s, &info);
    assert_int_equal(info.logs, 0);
    assert_int_equal(info.open_logs, 0);
    assert_int_equal(alog_store_close(s), 0);
    alog_flusher_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_admin_advance_start_inside_a_segment_is_durable),
        T(test_alog_admin_live_settings_apply_at_once),
        T(test_alog_admin_store_start_survives_a_crash),
        T(test_alog_admin_store_discard_then_recreate_starts_empty),
        T(test_alog_admin_store_discard_any_state),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
