/*
 * test_alog_segments.c - segments and indexes: rolls (bytes, time, full index), batches
 * never straddling a roll, the sparse index and time index as written, trimmed on roll,
 * lookups by offset and by time across many segments and across a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog.h"
#include "kc_common.h"
#include "kc_test.h"
#include "mm_index.h"
#include "support/alog_fixture.h"

#define TS0 1700000000000LL

/* Walk a .log file: batches back to back from base, returns the next offset. */
static int64_t walk_file(const char *dir, int64_t base, long *bytes, int *batches)
{
    char path[4096];
    fx_seg_path(path, sizeof(path), dir, base, ".log");
    char *data;
    size_t len;
    assert_int_equal(kc_read_file(path, 1u << 30, &data, &len), 0);
    size_t pos = 0;
    int64_t next = base;
    *batches = 0;
    while (pos < len) {
        (*batches)++;
        struct kc_batch_header h;
        int size = kc_batch_validate((uint8_t *)data + pos, len - pos, &h);
        if (size <= 0)
            fail_msg("segment %lld: bad batch at %zu: %s", (long long)base, pos, kc_strerror(size));
        assert_int_equal(h.base_offset, next);
        next = h.base_offset + h.last_offset_delta + 1;
        pos += (size_t)size;
    }
    free(data);
    *bytes = (long)len;
    return next;
}

static void test_alog_roll_at_segment_bytes_batches_never_straddle(void **state)
{
    uint64_t seed = kc_test_seed();
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    for (int i = 0; i < 150; i++) /* sizes from ~100 B to ~5 KiB: some exceed a segment */
        fx_append(log, 1, 1 + (int)(kc_test_rand(&seed) % 10), 8 + kc_test_rand(&seed) % 500, TS0);
    struct alog_segment_info segs[512];
    int n = alog_segments(log, segs, 512);
    assert_true(n > 10 && n <= 150);
    for (int i = 0; i < n; i++) {
        long bytes;
        int batches;
        int64_t next = walk_file(*state, segs[i].base_offset, &bytes, &batches);
        assert_int_equal(next, segs[i].next_offset);
        assert_int_equal((uint64_t)bytes, segs[i].bytes);
        if (i + 1 < n)
            assert_int_equal(segs[i + 1].base_offset, next); /* contiguous */
        /* Over segment.bytes only if a single batch is bigger than a segment. */
        if (bytes > 4096)
            assert_int_equal(batches, 1);
    }
    fx_check_reads(log, 0, alog_end_offset(log));
    int64_t end = alog_end_offset(log);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0); /* again, from the files */
    assert_int_equal(alog_end_offset(log), end);
    assert_int_equal(alog_segments(log, segs, 512), n);
    fx_check_reads(log, 0, end);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_batch_bigger_than_segment_gets_its_own(void **state)
{
    struct alog_config cfg;
    fx_config(&cfg, 2048);
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    fx_append(log, 1, 2, 100, TS0);
    fx_append(log, 1, 5, 1000, TS0); /* ~5 KiB, more than a segment */
    fx_append(log, 1, 2, 100, TS0);
    struct alog_segment_info segs[8];
    assert_int_equal(alog_segments(log, segs, 8), 3);
    assert_int_equal(segs[1].base_offset, 2);
    assert_int_equal(segs[1].next_offset, 7);
    assert_true(segs[1].bytes > 2048);
    fx_check_reads(log, 0, 9);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_roll_on_segment_ms(void **state)
{
    struct alog_config cfg;
    fx_config(&cfg, 1 << 20);
    cfg.segment_ms = 1;
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    fx_append(log, 1, 1, 10, TS0);
    kc_sleep_ms(5); /* let the wall clock pass segment.ms (time, not synchronisation) */
    fx_append(log, 1, 1, 10, TS0);
    struct alog_segment_info segs[4];
    assert_int_equal(alog_segments(log, segs, 4), 2);
    assert_int_equal(segs[1].base_offset, 1);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_roll_on_segment_ms_survives_reopen(void **state)
{
    struct alog_config cfg;
    fx_config(&cfg, 1 << 20);
    cfg.segment_ms = 400; /* room for a slow (sanitized) run between the two appends below */
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    fx_append(log, 1, 1, 10, TS0);
    assert_int_equal(alog_close(log), 0);
    char path[4096];
    fx_seg_path(path, sizeof(path), *state, 0, ".log");
    struct statx stx;
    if (statx(AT_FDCWD, path, 0, STATX_BTIME, &stx) != 0 || !(stx.stx_mask & STATX_BTIME))
        skip();       /* no birth time on this filesystem: a reopen counts from the load */
    kc_sleep_ms(450); /* older than segment.ms, across a restart */
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    fx_append(log, 1, 1, 10, TS0); /* timestamps from 2023: they do not drive the roll */
    struct alog_segment_info segs[4];
    assert_int_equal(alog_segments(log, segs, 4), 2);
    fx_append(log, 1, 1, 10, TS0); /* the new segment is young: no roll */
    assert_int_equal(alog_segments(log, segs, 4), 2);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_roll_when_index_full(void **state)
{
    struct alog_config cfg;
    fx_config(&cfg, 1 << 20);
    cfg.index_max_bytes = 64;     /* 8 offset entries, 5 time entries */
    cfg.index_interval_bytes = 0; /* every batch after the first is indexed */
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    fx_append(log, 40, 1, 10, TS0);
    struct alog_segment_info segs[16];
    int n = alog_segments(log, segs, 16);
    assert_true(n >= 6);
    for (int i = 0; i < n; i++) {
        assert_true(segs[i].index_entries <= 8);
        assert_true(segs[i].timeindex_entries <= 5);
    }
    /* The time index (5 entries) fills first: 1 unindexed batch + 5 indexed per segment. */
    assert_int_equal(segs[0].next_offset, 6);
    fx_check_reads(log, 0, 40);
    assert_int_equal(alog_close(log), 0);
}

static void check_index_file(const char *dir, int64_t base, uint32_t interval, bool trimmed)
{
    char path[4096], lpath[4096];
    fx_seg_path(path, sizeof(path), dir, base, ".index");
    fx_seg_path(lpath, sizeof(lpath), dir, base, ".log");
    struct mm_index idx;
    assert_int_equal(mm_index_open(&idx, path, MM_INDEX_OFFSET, MM_INDEX_READONLY, 0), 0);
    size_t n = mm_index_entries(&idx);
    if (trimmed)
        assert_int_equal(fx_file_size(path), (long)(n * 8));
    int fd = open(lpath, O_RDONLY);
    assert_true(fd >= 0);
    uint32_t prev_pos = 0;
    for (size_t i = 0; i < n; i++) {
        struct mm_index_entry e;
        mm_index_entry_at(&idx, i, &e);
        uint8_t hdr[KC_BATCH_HEADER_SIZE];
        assert_int_equal(kc_pread_full(fd, hdr, sizeof(hdr), e.value), (ssize_t)sizeof(hdr));
        assert_int_equal(kc_batch_last_offset(hdr), base + e.key); /* Kafka: last offset */
        assert_true(e.value - prev_pos > interval);                /* sparse */
        prev_pos = e.value;
    }
    close(fd);
    assert_int_equal(mm_index_close(&idx), 0);
}

static void test_alog_index_entry_every_interval_trimmed_on_roll(void **state)
{
    struct alog_config cfg;
    fx_config(&cfg, 64 * 1024);
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    fx_append(log, 300, 3, 300, TS0); /* ~1 KiB batches, ~250 KiB, 4+ segments */
    struct alog_segment_info segs[16];
    int n = alog_segments(log, segs, 16);
    assert_true(n >= 4);
    for (int i = 0; i < n; i++) {
        /* One entry per 4 KiB + a batch or so: a 64 KiB segment gets 8-16. */
        if (i + 1 < n)
            assert_true(segs[i].index_entries >= 8 && segs[i].index_entries <= 16);
        check_index_file(*state, segs[i].base_offset, cfg.index_interval_bytes, i + 1 < n);
    }
    char path[4096];
    fx_seg_path(path, sizeof(path), *state, segs[n - 1].base_offset, ".index");
    assert_int_equal(fx_file_size(path), (long)cfg.index_max_bytes); /* active: preallocated */
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(fx_file_size(path), segs[n - 1].index_entries * 8); /* trimmed at close */
}

/* Batch b (of `per` records) has offsets [b*per, b*per+per) and timestamps TS0+offset. */
static void check_time_lookups(struct alog *log, int batches, int per)
{
    int64_t off;
    assert_int_equal(alog_offset_for_time(log, 0, &off), 0);
    assert_int_equal(off, 0);
    for (int b = 0; b < batches; b++) {
        int64_t first = (int64_t)b * per, max_ts = TS0 + first + per - 1;
        for (int64_t ts = max_ts - per + 1; ts <= max_ts; ts++) {
            assert_int_equal(alog_offset_for_time(log, ts, &off), 0);
            if (off != first)
                fail_msg("time %lld -> offset %lld, want %lld", (long long)ts, (long long)off,
                         (long long)first);
        }
    }
    assert_int_equal(alog_offset_for_time(log, TS0 + (int64_t)batches * per, &off), -ENOENT);
}

static void test_alog_time_lookup_every_batch_across_segments(void **state)
{
    struct alog_config cfg;
    fx_config(&cfg, 16 * 1024);
    cfg.index_interval_bytes = 512;
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    fx_append(log, 200, 4, 60, TS0);
    struct alog_info info;
    alog_info(log, &info);
    assert_true(info.segments >= 4);
    assert_true(info.timeindex_entries > 20);
    check_time_lookups(log, 200, 4);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0); /* from the files */
    check_time_lookups(log, 200, 4);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_time_lookup_unordered_timestamps_first_reaching(void **state)
{
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
    static const int64_t ts[] = {500, 300, 900, 100, 900, 1200}; /* max timestamps */
    for (size_t i = 0; i < KC_ARRAY_SIZE(ts); i++) {
        size_t len;
        int64_t base;
        uint8_t *b = fx_batch((int64_t)i, 1, 8, ts[i], &len);
        assert_int_equal(alog_append(log, b, len, &base), 0);
        free(b);
    }
    int64_t off;
    assert_int_equal(alog_offset_for_time(log, 400, &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(alog_offset_for_time(log, 501, &off), 0);
    assert_int_equal(off, 2);
    assert_int_equal(alog_offset_for_time(log, 1000, &off), 0);
    assert_int_equal(off, 5);
    assert_int_equal(alog_offset_for_time(log, 1201, &off), -ENOENT);
    assert_int_equal(alog_close(log), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_roll_at_segment_bytes_batches_never_straddle),
        T(test_alog_batch_bigger_than_segment_gets_its_own),
        T(test_alog_roll_on_segment_ms),
        T(test_alog_roll_on_segment_ms_survives_reopen),
        T(test_alog_roll_when_index_full),
        T(test_alog_index_entry_every_interval_trimmed_on_roll),
        T(test_alog_time_lookup_every_batch_across_segments),
        T(test_alog_time_lookup_unordered_timestamps_first_reaching),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
