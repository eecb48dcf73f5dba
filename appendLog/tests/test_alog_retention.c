/*
 * test_alog_retention.c - retention by bytes and by time: whole oldest segments, never the
 * active one, the log start offset advanced and persisted (across a clean close and a
 * crash), and a reader's slice of a deleted segment still readable.
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

static struct alog *open_ret(const char *dir, int64_t bytes, int64_t ms)
{
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    cfg.retention_bytes = bytes;
    cfg.retention_ms = ms;
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    return log;
}

static int64_t start_checkpoint(const char *dir)
{
    char path[4096], *text;
    size_t len;
    fx_path(path, sizeof(path), dir, "log-start-offset-checkpoint");
    if (kc_read_file(path, 4096, &text, &len) != 0)
        return -1;
    int64_t v = strtoll(strrchr(text, ' ') + 1, NULL, 10);
    free(text);
    return v;
}

static void test_alog_retain_by_bytes_keeps_at_least_limit(void **state)
{
    struct alog *log = open_ret(*state, -1, -1);
    fx_append(log, 80, 3, 100, TS0);
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    assert_true(n >= 8);
    assert_int_equal(alog_close(log), 0);

    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += segs[i].bytes;
    int64_t limit = (int64_t)(segs[n - 1].bytes + segs[n - 2].bytes + segs[n - 3].bytes) + 1;
    int expect = 0; /* Kafka's rule, computed independently */
    for (uint64_t left = total; expect < n - 1 && left - segs[expect].bytes >= (uint64_t)limit;)
        left -= segs[expect++].bytes;
    assert_int_equal(expect, n - 4);

    log = open_ret(*state, limit, -1);
    int deleted = -1;
    assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
    assert_int_equal(deleted, expect);
    int64_t start = segs[expect].base_offset;
    assert_int_equal(alog_start_offset(log), start);
    assert_int_equal(start_checkpoint(*state), start);
    struct alog_slice s;
    assert_int_equal(alog_read(log, start - 1, 1, &s), KC_EOFFSET);
    assert_int_equal(alog_read(log, 0, 1, &s), KC_EOFFSET);
    fx_check_reads(log, start, alog_end_offset(log));
    char path[4096];
    fx_seg_path(path, sizeof(path), *state, segs[0].base_offset, ".log");
    assert_int_equal(fx_file_size(path), -1);
    fx_seg_path(path, sizeof(path), *state, segs[0].base_offset, ".index");
    assert_int_equal(fx_file_size(path), -1);
    assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0); /* nothing more to do */
    assert_int_equal(deleted, 0);
    assert_int_equal(alog_close(log), 0);

    log = open_ret(*state, limit, -1); /* the start survives a reopen */
    assert_int_equal(alog_start_offset(log), start);
    assert_int_equal(alog_read(log, start - 1, 1, &s), KC_EOFFSET);
    assert_int_equal(alog_close(log), 0);
}

/* A retain limit (a replica's high watermark) stops retention: a segment goes only when
 * every record in it is below the limit; raising the limit lets the rest go. */
static void test_alog_retain_limit_keeps_segments_past_it(void **state)
{
    struct alog *log = open_ret(*state, 0, -1); /* by bytes: everything but the active one */
    fx_append(log, 80, 3, 100, TS0);
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    assert_true(n >= 6);
    int64_t hw = segs[3].base_offset + 1; /* inside segment 3 */
    alog_set_retain_limit(log, hw);
    int deleted = -1;
    assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
    assert_int_equal(deleted, 3); /* 0, 1, 2: segment 3 holds records at and past hw */
    assert_int_equal(alog_start_offset(log), segs[3].base_offset);
    assert_true(alog_start_offset(log) <= hw);
    alog_set_retain_limit(log, segs[3].base_offset); /* at a boundary: nothing more goes */
    assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
    assert_int_equal(deleted, 0);
    alog_set_retain_limit(log, INT64_MAX);
    assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
    assert_int_equal(deleted, n - 4); /* the rest, but the active segment */
    assert_int_equal(alog_start_offset(log), segs[n - 1].base_offset);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_retain_by_time_deletes_old_prefix(void **state)
{
    struct alog *log = open_ret(*state, -1, 1000);
    fx_append(log, 80, 3, 100, TS0); /* timestamps TS0 + offset */
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    assert_true(n >= 6);
    /* Segments whose largest timestamp is more than 1000 ms before now go: 0..3. */
    int64_t now = segs[3].max_timestamp + 1000 + 1;
    assert_int_equal(segs[3].max_timestamp, TS0 + segs[4].base_offset - 1);
    int deleted = -1;
    assert_int_equal(alog_retain(log, now, &deleted), 0);
    assert_int_equal(deleted, 4);
    assert_int_equal(alog_start_offset(log), segs[4].base_offset);
    assert_int_equal(alog_retain(log, now, &deleted), 0);
    assert_int_equal(deleted, 0);
    alog__abandon(log); /* the start is persisted before anything is deleted */
    log = open_ret(*state, -1, 1000);
    assert_int_equal(alog_start_offset(log), segs[4].base_offset);
    fx_check_reads(log, segs[4].base_offset, alog_end_offset(log));
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_retain_never_deletes_active_segment(void **state)
{
    struct alog *log = open_ret(*state, 0, 0);
    fx_append(log, 40, 3, 100, TS0);
    int64_t end = alog_end_offset(log);
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    int deleted;
    assert_int_equal(alog_retain(log, INT64_MAX / 2, &deleted), 0);
    assert_int_equal(deleted, n - 1);
    struct alog_info info;
    alog_info(log, &info);
    assert_int_equal(info.segments, 1);
    assert_int_equal(info.start_offset, segs[n - 1].base_offset);
    assert_int_equal(info.end_offset, end);
    fx_append(log, 5, 1, 10, TS0); /* and the log goes on */
    fx_check_reads(log, info.start_offset, end + 5);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_retain_slice_of_deleted_segment_still_readable(void **state)
{
    struct alog *log = open_ret(*state, 0, -1);
    fx_append(log, 40, 3, 100, TS0);
    struct alog_slice s;
    assert_int_equal(alog_read(log, 4, 1 << 20, &s), 0);
    int deleted;
    assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
    assert_true(deleted > 0);
    struct alog_slice again;
    assert_int_equal(alog_read(log, 4, 1, &again), KC_EOFFSET); /* new readers: gone */
    char path[4096];
    fx_seg_path(path, sizeof(path), *state, 0, ".log");
    assert_int_equal(fx_file_size(path), -1); /* unlinked ... */
    uint8_t *buf = malloc(s.len);
    assert_non_null(buf);
    assert_int_equal(kc_pread_full(s.fd, buf, s.len, s.pos), (ssize_t)s.len); /* ... but live */
    int64_t next = s.first_offset;
    for (size_t at = 0; at < s.len;) {
        struct kc_batch_header h;
        int size = kc_batch_validate(buf + at, s.len - at, &h);
        assert_true(size > 0);
        assert_int_equal(h.base_offset, next);
        next += h.last_offset_delta + 1;
        at += (size_t)size;
    }
    assert_int_equal(next, s.next_offset);
    free(buf);
    /* The directory's lock, the active segment's .log and the deleted one's (indexes are
     * mapped and keep no descriptor: mm.h). */
    assert_int_equal(fx_fd_count(*state), 3);
    alog_slice_release(&s); /* the last reference: the deleted segment's file closes now */
    assert_int_equal(fx_fd_count(*state), 2);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(fx_fd_count(*state), 0);
}

static void test_alog_retain_untimestamped_segments_use_mtime(void **state)
{
    struct alog *log = open_ret(*state, -1, 60000);
    for (int i = 0; i < 40; i++) {
        size_t len;
        int64_t base;
        uint8_t *b = fx_batch(alog_end_offset(log), 1, 300, -1, &len); /* no timestamp */
        assert_int_equal(alog_append(log, b, len, &base), 0);
        free(b);
    }
    struct alog_info info;
    alog_info(log, &info);
    int deleted;
    assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0); /* files are new */
    assert_int_equal(deleted, 0);
    assert_int_equal(alog_retain(log, kc_wall_ms() + 120000, &deleted), 0);
    assert_int_equal(deleted, info.segments - 1);
    assert_int_equal(alog_close(log), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_retain_by_bytes_keeps_at_least_limit),
        T(test_alog_retain_limit_keeps_segments_past_it),
        T(test_alog_retain_by_time_deletes_old_prefix),
        T(test_alog_retain_never_deletes_active_segment),
        T(test_alog_retain_slice_of_deleted_segment_still_readable),
        T(test_alog_retain_untimestamped_segments_use_mtime),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
