/*
 * test_alog_faults.c - storage that fails, through the log's I/O seam (support/alog_hooks.h):
 * ENOSPC and torn writes never leave garbage between batches; a failed fsync fails the log
 * (appends and waiters -EIO, reads stop at the durable offset); alog_recover brings it back
 * once the fault clears, keeping what the disk holds and cutting what it lost; a crash at
 * these points reopens to a valid prefix; readers running meanwhile never see a bad batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "alog.h"
#include "alog_int.h"
#include "kc_common.h"
#include "kc_test.h"
#include "support/alog_fixture.h"
#include "support/alog_hooks.h"

#define TS0         1700000000000LL
#define TMPFS_MAGIC 0x01021994 /* tmpfs keeps pages in memory: DONTNEED cannot drop them */

static struct alog *open_log(const char *dir, uint64_t segment_bytes, struct alog_flusher *f,
                             struct fx_hooks *h)
{
    struct alog_config cfg;
    fx_config(&cfg, segment_bytes);
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, f), 0);
    if (h)
        fx_hooks_install(log, h);
    return log;
}

static int append_one(struct alog *log, int n, size_t vsize, int64_t *base)
{
    size_t len;
    uint8_t *b = fx_batch(alog_end_offset(log), n, vsize, TS0, &len);
    int rc = alog_append(log, b, len, base);
    free(b);
    return rc;
}

static long log_file_size(const char *dir, int64_t base)
{
    char path[4096];
    fx_seg_path(path, sizeof(path), dir, base, ".log");
    return fx_file_size(path);
}

static struct alog_info info_of(struct alog *log)
{
    struct alog_info info;
    alog_info(log, &info);
    return info;
}

/* Reopen: a clean shutdown (no recovery), every record there, the files whole. */
static void reopen_clean(const char *dir, uint64_t segment_bytes, int64_t end)
{
    struct alog *log = open_log(dir, segment_bytes, NULL, NULL);
    struct alog_info info = info_of(log);
    assert_false(info.recovered);
    assert_int_equal(info.end_offset, end);
    fx_check_reads(log, info.start_offset, end);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(fx_check_files(dir), end);
}

/* The segment holding offset (by alog_segments), and where its batch starts. */
static int64_t segment_of(struct alog *log, int64_t offset)
{
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    assert_true(n <= 64);
    for (int i = n - 1; i >= 0; i--) {
        if (segs[i].base_offset <= offset)
            return segs[i].base_offset;
    }
    fail_msg("no segment holds offset %" PRId64, offset);
    return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool cache_droppable(const char *dir)
{
    struct statfs st;
    return statfs(dir, &st) == 0 && st.f_type != TMPFS_MAGIC;
}

/* ---- writes that fail ------------------------------------------------------------- */

static void test_alog_enospc_writes_fail_then_space_frees_no_gap_no_garbage(void **state)
{
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 1 << 20, NULL, &h);
    fx_append(log, 4, 3, 100, TS0); /* offsets 0..11 */
    fx_hooks_fail_writes(&h, -ENOSPC, 5, true); /* a full disk: five torn, failed writes */
    for (int i = 0; i < 5; i++) {
        int64_t base = -1;
        assert_int_equal(append_one(log, 10, 200, &base), -ENOSPC);
        assert_int_equal(base, -1);
        struct alog_info info = info_of(log);
        assert_int_equal(info.end_offset, 12);
        assert_int_equal(info.failed, 0); /* a failed write(2) does not fail the log */
        assert_int_equal(log_file_size(*state, 0), (long)info.bytes); /* the torn half: cut */
    }
    struct alog_slice s;
    assert_int_equal(alog_read(log, 12, 1, &s), KC_EEMPTY);
    fx_append(log, 4, 3, 100, TS0); /* space freed: 12.. follow, no gap */
    assert_int_equal(alog_end_offset(log), 24);
    fx_check_reads(log, 0, 24);
    assert_int_equal(alog_flush(log), 0);
    assert_int_equal(alog_close(log), 0);
    fx_hooks_fini(&h);
    reopen_clean(*state, 1 << 20, 24);
}

static void test_alog_torn_write_untruncatable_next_append_overwrites_close_cuts(void **state)
{
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 1 << 20, NULL, &h);
    fx_append(log, 3, 2, 50, TS0); /* 0..5 */
    uint64_t committed = info_of(log).bytes;
    fx_hooks_fail_truncate(&h, -EIO); /* even cutting the torn bytes off fails */
    fx_hooks_fail_writes(&h, -ENOSPC, 1, true);
    int64_t base;
    assert_int_equal(append_one(log, 20, 300, &base), -ENOSPC);
    assert_true(log_file_size(*state, 0) > (long)committed); /* half a batch past the end */
    fx_append(log, 1, 2, 50, TS0); /* smaller: written at the committed end, over them */
    assert_int_equal(alog_end_offset(log), 8);
    fx_check_reads(log, 0, 8);
    struct alog_info info = info_of(log);
    assert_true(log_file_size(*state, 0) > (long)info.bytes); /* the rest is still there */
    fx_hooks_fail_truncate(&h, 0);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(log_file_size(*state, 0), (long)info.bytes); /* close cut it */
    fx_hooks_fini(&h);
    reopen_clean(*state, 1 << 20, 8);
}

/* Crash right after a torn write (a) and after the next append over it (b). */
static void torn_then_crash(const char *dir, bool append_after, int64_t end)
{
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_log(dir, 1 << 20, NULL, &h);
    fx_append(log, 3, 2, 50, TS0);
    fx_hooks_fail_truncate(&h, -EIO);
    fx_hooks_fail_writes(&h, -ENOSPC, 1, true);
    int64_t base;
    assert_int_equal(append_one(log, 20, 300, &base), -ENOSPC);
    if (append_after)
        fx_append(log, 1, 2, 50, TS0);
    long leftover = log_file_size(dir, 0) - (long)info_of(log).bytes;
    assert_true(leftover > 0);
    alog__abandon(log); /* the process dies here: no flush, no truncation, no marker */
    fx_hooks_fini(&h);
    log = open_log(dir, 1 << 20, NULL, NULL);
    struct alog_info info = info_of(log);
    assert_true(info.recovered);
    assert_int_equal(info.recovery_truncated_bytes, leftover);
    assert_int_equal(info.end_offset, end);
    fx_check_reads(log, 0, end);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(fx_check_files(dir), end);
}

static void test_alog_torn_write_then_crash_reopens_valid_prefix(void **state)
{
    char a[4096], b[4096];
    fx_path(a, sizeof(a), *state, "a");
    fx_path(b, sizeof(b), *state, "b");
    torn_then_crash(a, false, 6);
    torn_then_crash(b, true, 8);
}

/* ---- an fsync that fails ------------------------------------------------------------ */

static void test_alog_fsync_eio_fails_log_reads_stop_at_durable(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 1 << 20, f, &h);
    fx_append(log, 3, 2, 20, TS0); /* 0..5 */
    assert_int_equal(alog_flush(log), 0);
    fx_append(log, 2, 2, 20, TS0); /* 6..9: in the page cache only */
    fx_hooks_fail_fsync(&h, -EIO, false, 0);
    struct fx_tally t;
    fx_tally_init(&t);
    assert_int_equal(alog_wait_durable(log, 10, fx_tally_cb, &t), 0);
    fx_tally_wait(&t, 1);
    assert_int_equal(t.last_err, -EIO);
    struct alog_info info = info_of(log);
    assert_int_equal(info.failed, -EIO);
    assert_int_equal(info.durable_offset, 6);
    assert_int_equal(info.end_offset, 10);
    int64_t base, off;
    assert_int_equal(append_one(log, 1, 10, &base), -EIO);
    assert_int_equal(alog_flush(log), -EIO);
    assert_int_equal(alog_wait_durable(log, 10, fx_tally_cb, &t), -EIO);
    assert_int_equal(alog_wait_durable(log, 6, fx_tally_cb, &t), 1); /* that much is on disk */
    fx_check_reads(log, 0, 6); /* what an fsync vouched for is served */
    struct alog_slice s;
    assert_int_equal(alog_read(log, 6, 1, &s), -EIO); /* the rest may not be on disk */
    assert_int_equal(alog_read(log, 9, 1, &s), -EIO);
    assert_int_equal(alog_read(log, 10, 1, &s), KC_EEMPTY);
    assert_int_equal(alog_read(log, 0, SIZE_MAX, &s), 0); /* a slice stops at durable */
    assert_int_equal(s.next_offset, 6);
    alog_slice_release(&s);
    assert_int_equal(alog_offset_for_time(log, TS0 + 3, &off), 0);
    assert_int_equal(off, 2);
    assert_int_equal(alog_offset_for_time(log, TS0 + 7, &off), -ENOENT);
    assert_int_equal(alog_close(log), -EIO); /* and no clean-shutdown marker */
    alog_flusher_destroy(f);
    fx_hooks_fini(&h);
    log = open_log(*state, 1 << 20, NULL, NULL);
    assert_true(info_of(log).recovered);
    assert_int_equal(alog_end_offset(log), 10); /* the kernel kept the pages: all there */
    fx_check_reads(log, 0, 10);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_recover_after_fault_clears_keeps_all_serves_appends(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct fx_hooks h, snap;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 1 << 20, f, &h);
    fx_append(log, 3, 2, 20, TS0);
    assert_int_equal(alog_flush(log), 0);
    assert_int_equal(alog_recover(log), 0); /* a healthy log: nothing to do */
    assert_int_equal(info_of(log).fault_recoveries, 0);
    fx_append(log, 2, 2, 20, TS0); /* 6..9 */
    long pos6 = fx_batch_pos(*state, 0, 6);
    fx_hooks_fail_fsync(&h, -EIO, false, 0);
    assert_int_equal(alog_flush(log), -EIO);
    assert_int_equal(alog_recover(log), -EIO); /* the fault lasts: still failed */
    struct alog_info info = info_of(log);
    assert_int_equal(info.failed, -EIO);
    assert_int_equal(info.durable_offset, 6);
    fx_hooks_fail_fsync(&h, 0, false, 0); /* it clears */
    assert_int_equal(alog_recover(log), 0);
    info = info_of(log);
    assert_int_equal(info.failed, 0);
    assert_int_equal(info.fault_recoveries, 1);
    assert_int_equal(info.fault_discarded_offsets, 0); /* the disk had it all */
    assert_int_equal(info.fault_truncated_bytes, 0);
    assert_int_equal(info.end_offset, 10);
    assert_int_equal(info.durable_offset, 10);
    fx_hooks_snapshot(&h, &snap);
    assert_true(snap.ndrops >= 1); /* the suspect pages were dropped, page-aligned */
    assert_true(ends_with(snap.drops[snap.ndrops - 1].path, "00000000000000000000.log"));
    assert_int_equal(snap.drops[snap.ndrops - 1].from, pos6 / 4096 * 4096);
    if (cache_droppable(*state))
        assert_int_equal(snap.drops[snap.ndrops - 1].resident_after, 0);
    fx_check_reads(log, 0, 10);
    fx_append(log, 2, 2, 20, TS0); /* 10..13 */
    struct fx_tally t;
    fx_tally_init(&t);
    int w = alog_wait_durable(log, 14, fx_tally_cb, &t);
    assert_true(w == 0 || w == 1);
    if (w == 0) {
        fx_tally_wait(&t, 1);
        assert_int_equal(t.last_err, 0);
    }
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
    fx_hooks_fini(&h);
    reopen_clean(*state, 1 << 20, 14);
}

static void test_alog_recover_lost_writeback_cuts_deletes_reuses_offsets(void **state)
{
    struct fx_hooks h, snap;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 4096, NULL, &h); /* small segments */
    fx_append(log, 20, 2, 100, TS0); /* 0..39, durable */
    assert_int_equal(alog_flush(log), 0);
    fx_append(log, 30, 2, 100, TS0); /* 40..99 over several segments: never on disk */
    int nsegs = alog_segments(log, NULL, 0);
    int64_t seg40 = segment_of(log, 40);
    long pos40 = fx_batch_pos(*state, seg40, 40);
    assert_true(pos40 >= 0);
    assert_true(segment_of(log, 99) > seg40);
    fx_hooks_fail_fsync(&h, -EIO, true, 0); /* ... and the disk lost all of it */
    assert_int_equal(alog_flush(log), -EIO);
    fx_check_reads(log, 0, 40);
    assert_int_equal(alog_recover(log), -EIO);
    fx_hooks_fail_fsync(&h, 0, false, 0);
    assert_int_equal(alog_recover(log), 0);
    struct alog_info info = info_of(log);
    assert_int_equal(info.failed, 0);
    assert_int_equal(info.end_offset, 40);
    assert_int_equal(info.durable_offset, 40);
    assert_int_equal(info.fault_discarded_offsets, 60);
    assert_true(info.fault_truncated_bytes > 0);
    fx_hooks_snapshot(&h, &snap);
    int suspects = 0; /* segments from seg40 on, each dropped once: seg40 from its page */
    for (int i = 0; i < snap.ndrops; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%020" PRId64 ".log", seg40);
        if (ends_with(snap.drops[i].path, name))
            assert_int_equal(snap.drops[i].from, pos40 / 4096 * 4096);
        else
            assert_int_equal(snap.drops[i].from, 0);
        suspects++;
    }
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    assert_int_equal(suspects, nsegs - (n - (pos40 > 0 ? 2 : 1)));
    assert_int_equal(segs[n - 1].base_offset, 40); /* new records: a new file */
    assert_int_equal(segs[n - 1].bytes, 0);
    if (pos40 > 0)
        assert_int_equal(log_file_size(*state, seg40), pos40); /* cut at the first bad byte */
    assert_int_equal(log_file_size(*state, segment_of(log, 39)), (long)segs[n - 2].bytes);
    fx_check_reads(log, 0, 40);
    struct alog_slice s;
    assert_int_equal(alog_read(log, 40, 1, &s), KC_EEMPTY);
    assert_int_equal(alog_read(log, 50, 1, &s), KC_EOFFSET);
    fx_append(log, 5, 2, 100, TS0); /* offsets 40..49 given again, to other records */
    fx_check_reads(log, 0, 50);
    assert_int_equal(alog_flush(log), 0);
    assert_int_equal(alog_close(log), 0);
    fx_hooks_fini(&h);
    reopen_clean(*state, 4096, 50);
}

static void test_alog_recover_partial_writeback_keeps_whole_batches_on_disk(void **state)
{
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 1 << 20, NULL, &h);
    size_t len;
    free(fx_batch(0, 2, 100, TS0, &len)); /* every batch below has this size */
    fx_append(log, 5, 2, 100, TS0);       /* 0..9 */
    assert_int_equal(alog_flush(log), 0);
    fx_append(log, 3, 2, 100, TS0); /* 10..15 */
    fx_hooks_fail_fsync(&h, -EIO, true, (off_t)(len + len / 2)); /* 10..11 and half of 12..13 */
    assert_int_equal(alog_flush(log), -EIO);
    fx_hooks_fail_fsync(&h, 0, false, 0);
    assert_int_equal(alog_recover(log), 0);
    struct alog_info info = info_of(log);
    assert_int_equal(info.end_offset, 12); /* the whole batch the disk holds is kept */
    assert_int_equal(info.durable_offset, 12);
    assert_int_equal(info.fault_discarded_offsets, 4);
    assert_int_equal(log_file_size(*state, 0), (long)(6 * len));
    assert_int_equal(info.segments, 2); /* and 12.. go to a new file */
    fx_check_reads(log, 0, 12);
    fx_append(log, 1, 2, 100, TS0);
    assert_int_equal(alog_close(log), 0);
    fx_hooks_fini(&h);
    reopen_clean(*state, 1 << 20, 14);
}

static void test_alog_recover_cuts_failed_write_leftovers(void **state)
{
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 1 << 20, NULL, &h);
    fx_append(log, 3, 2, 50, TS0); /* 0..5 */
    fx_hooks_fail_truncate(&h, -EIO);
    fx_hooks_fail_writes(&h, -ENOSPC, 1, true);
    int64_t base;
    assert_int_equal(append_one(log, 20, 300, &base), -ENOSPC); /* torn bytes stay */
    fx_hooks_fail_fsync(&h, -EIO, false, 0);
    assert_int_equal(alog_flush(log), -EIO);
    fx_hooks_fail_truncate(&h, 0);
    fx_hooks_fail_fsync(&h, 0, false, 0);
    assert_int_equal(alog_recover(log), 0);
    struct alog_info info = info_of(log);
    assert_int_equal(info.end_offset, 6);
    assert_true(info.fault_truncated_bytes > 0);
    assert_int_equal(log_file_size(*state, 0), (long)info.bytes); /* cut before any close */
    assert_int_equal(fx_check_files(*state), 6);
    assert_int_equal(alog_close(log), 0);
    fx_hooks_fini(&h);
    reopen_clean(*state, 1 << 20, 6);
}

/* A slice handed out before a recovery (a sendfile still queued) must read the bytes it
 * was given or come up short: never other records under the same offsets, never zeros. */
static void slice_bytes_or_short(const struct alog_slice *s, const uint8_t *before)
{
    uint8_t *now = malloc(s->len);
    assert_non_null(now);
    ssize_t n = kc_pread_full(s->fd, now, s->len, s->pos);
    assert_true(n >= 0);
    if (n == (ssize_t)s->len && memcmp(now, before, s->len) != 0)
        fail_msg("a slice of [%" PRId64 ", %" PRId64 ") now reads other bytes", s->first_offset,
                 s->next_offset);
    assert_true(n < (ssize_t)s->len); /* here: the bytes under it were cut */
    free(now);
}

static void test_alog_recover_old_slice_reads_short_never_other_records(void **state)
{
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 4096, NULL, &h);
    fx_append(log, 20, 2, 100, TS0); /* 0..39 */
    assert_int_equal(alog_flush(log), 0);
    fx_append(log, 30, 2, 100, TS0); /* 40..99, several segments */
    struct alog_slice a, b;
    assert_int_equal(alog_read(log, 40, 1 << 20, &a), 0); /* taken before the failure */
    assert_int_equal(alog_read(log, 99, 1 << 20, &b), 0);
    assert_true(b.first_offset > a.next_offset - 1); /* another segment */
    uint8_t *abytes = malloc(a.len), *bbytes = malloc(b.len);
    assert_non_null(abytes);
    assert_non_null(bbytes);
    assert_int_equal(kc_pread_full(a.fd, abytes, a.len, a.pos), (ssize_t)a.len);
    assert_int_equal(kc_pread_full(b.fd, bbytes, b.len, b.pos), (ssize_t)b.len);
    fx_hooks_fail_fsync(&h, -EIO, true, 0);
    assert_int_equal(alog_flush(log), -EIO);
    fx_hooks_fail_fsync(&h, 0, false, 0);
    assert_int_equal(alog_recover(log), 0);
    fx_append(log, 30, 2, 100, TS0); /* 40..99 again: other records, same offsets */
    slice_bytes_or_short(&a, abytes);
    slice_bytes_or_short(&b, bbytes);
    alog_slice_release(&a);
    alog_slice_release(&b);
    free(abytes);
    free(bbytes);
    fx_check_reads(log, 0, 100);
    assert_int_equal(alog_close(log), 0);
    fx_hooks_fini(&h);
    reopen_clean(*state, 4096, 100);
}

/* ---- readers while the log fails and recovers --------------------------------------- */

struct reader {
    struct alog *log;
    atomic_bool *stop;
    uint64_t seed;
    uint8_t *buf;
    long ok, eio, gone, short_reads, bad;
    char why[160];
};

/* Whole valid batches, contiguous from first, the first holding off; values = offsets. */
static bool batches_ok(const uint8_t *p, size_t len, int64_t first, int64_t off)
{
    int64_t next = first;
    for (size_t at = 0; at < len;) {
        struct kc_batch_header h;
        int size = kc_batch_validate(p + at, len - at, &h);
        if (size <= 0 || h.base_offset != next)
            return false;
        struct kc_record_iter it;
        struct kc_record rec;
        int rc;
        if (kc_record_iter_init(&it, p + at, (size_t)size) != 0)
            return false;
        while ((rc = kc_record_iter_next(&it, &rec)) == 1) {
            if (rec.offset != next++ || rec.value_len < 8 ||
                (int64_t)kc_load_be64(rec.value) != rec.offset)
                return false;
        }
        if (rc != 0 || (at == 0 && !(h.base_offset <= off && off < next)))
            return false;
        at += (size_t)size;
    }
    return len > 0;
}

static void read_once(struct reader *r)
{
    int64_t end = alog_end_offset(r->log);
    if (end == 0)
        return;
    int64_t off = (int64_t)(kc_test_rand(&r->seed) % (uint64_t)end);
    struct alog_slice s;
    int rc = alog_read(r->log, off, 1 << 16, &s);
    if (rc == -EIO || rc == KC_EOFFSET || rc == KC_EEMPTY) {
        *(rc == -EIO ? &r->eio : &r->gone) += 1; /* failed, recovering, or cut meanwhile */
        if (rc == -EIO)
            sched_yield(); /* a recovery holds the log for a while: do not spin on it */
        return;
    }
    if (rc) {
        r->bad++;
        snprintf(r->why, sizeof(r->why), "read(%" PRId64 "): %s", off, kc_strerror(rc));
        return;
    }
    ssize_t n = kc_pread_full(s.fd, r->buf, s.len, s.pos); /* as sendfile would, later */
    size_t len = s.len;
    int64_t first = s.first_offset;
    alog_slice_release(&s);
    if (n != (ssize_t)len) {
        r->short_reads++; /* cut under the slice by a recovery: short, never other bytes */
    } else if (!batches_ok(r->buf, len, first, off)) {
        r->bad++;
        snprintf(r->why, sizeof(r->why), "read(%" PRId64 "): a bad batch in [%" PRId64 ", +%zu)",
                 off, first, len);
    } else {
        r->ok++;
    }
}

static void *reader_main(void *p)
{
    struct reader *r = p;
    while (!atomic_load(r->stop))
        read_once(r);
    return NULL;
}

static void test_alog_recover_concurrent_readers_never_see_bad_batch(void **state)
{
    uint64_t seed = kc_test_seed();
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_log(*state, 16 * 1024, NULL, &h);
    atomic_bool stop = false;
    struct reader rd[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        rd[i] = (struct reader){.log = log, .stop = &stop, .seed = (seed + (uint64_t)i) | 1};
        rd[i].buf = malloc(1 << 16);
        assert_non_null(rd[i].buf);
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    uint64_t r = seed | 1;
    for (int cycle = 0; cycle < 20; cycle++) {
        fx_append(log, 10, 3, 100, TS0);
        assert_int_equal(alog_flush(log), 0);
        fx_append(log, 10 + (int)(kc_test_rand(&r) % 20), 3, 100, TS0);
        off_t keep = (off_t)(kc_test_rand(&r) % 4000); /* some of it reached the disk */
        fx_hooks_fail_fsync(&h, -EIO, true, keep);
        assert_int_equal(alog_flush(log), -EIO);
        fx_hooks_fail_fsync(&h, 0, false, 0);
        assert_int_equal(alog_recover(log), 0);
    }
    atomic_store(&stop, true);
    long ok = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        printf("# reader %d: %ld whole reads checked, %ld -EIO, %ld past the end, %ld short\n", i,
               rd[i].ok, rd[i].eio, rd[i].gone, rd[i].short_reads);
        if (rd[i].bad)
            fail_msg("seed %" PRIu64 ": %ld bad reads, e.g. %s", seed, rd[i].bad, rd[i].why);
        ok += rd[i].ok;
        free(rd[i].buf);
    }
    assert_true(ok > 0);
    struct alog_info info = info_of(log);
    assert_int_equal(info.fault_recoveries, 20);
    int64_t end = info.end_offset;
    fx_check_reads(log, 0, end);
    assert_int_equal(alog_close(log), 0);
    fx_hooks_fini(&h);
    reopen_clean(*state, 16 * 1024, end);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_enospc_writes_fail_then_space_frees_no_gap_no_garbage),
        T(test_alog_torn_write_untruncatable_next_append_overwrites_close_cuts),
        T(test_alog_torn_write_then_crash_reopens_valid_prefix),
        T(test_alog_fsync_eio_fails_log_reads_stop_at_durable),
        T(test_alog_recover_after_fault_clears_keeps_all_serves_appends),
        T(test_alog_recover_lost_writeback_cuts_deletes_reuses_offsets),
        T(test_alog_recover_partial_writeback_keeps_whole_batches_on_disk),
        T(test_alog_recover_cuts_failed_write_leftovers),
        T(test_alog_recover_old_slice_reads_short_never_other_records),
        T(test_alog_recover_concurrent_readers_never_see_bad_batch),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
