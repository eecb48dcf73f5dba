/*
 * test_alog_admin.c - what the admin APIs change on an open log: the start offset
 * (DeleteRecords: durable, inside a segment, never moved back by retention, honoured after
 * a crash) and live settings (segment size, batch limit, retention: at once).
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
#include "kc_test.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_admin_advance_start_inside_a_segment_is_durable),
        T(test_alog_admin_live_settings_apply_at_once),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
