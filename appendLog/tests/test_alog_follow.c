/*
 * test_alog_follow.c - a follower's log: alog_append_replica (the leader's offsets, bytes
 * kept, partial tails, bad input refused whole, gaps filled on a store's log, rolls,
 * watches, durability), alog_truncate (every edge: to the end, to the start, into a batch,
 * across segments, an empty log, gaps; slices, watches and waiters of the cut region),
 * alog_scan_epochs, a model-based random test, kill -9 at every step of a truncation, and
 * truncations racing readers and a flusher.
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
#include "support/alog_hooks.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_test.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* A leader's batch: n records at base, in epoch, its base offset and epoch in place. */
static uint8_t *lbatch(int64_t base, int n, int32_t epoch, size_t *len)
{
    uint8_t *b = fx_batch(base, n, 24, 1000 + base, len);
    kc_batch_set_base_offset(b, base);
    kc_batch_set_leader_epoch(b, epoch);
    return b;
}

/* Append b to a growing buffer (a fetch answer). */
static void put(uint8_t **buf, size_t *len, const uint8_t *b, size_t n)
{
    *buf = realloc(*buf, *len + n);
    assert_non_null(*buf);
    memcpy(*buf + *len, b, n);
    *len += n;
}

/* k batches of n records from base, epoch e each, back to back. */
static uint8_t *lrun(int64_t base, int k, int n, int32_t e, size_t *len)
{
    uint8_t *buf = NULL;
    *len = 0;
    for (int i = 0; i < k; i++) {
        size_t m;
        uint8_t *b = lbatch(base + (int64_t)i * n, n, e, &m);
        put(&buf, len, b, m);
        free(b);
    }
    return buf;
}

static void replica(struct alog *log, const uint8_t *p, size_t len, int64_t want_end)
{
    size_t used;
    int64_t end;
    assert_int_equal(alog_append_replica(log, p, len, &used, &end), 0);
    assert_int_equal(used, len);
    assert_int_equal(end, want_end);
}

/* Everything from `from` to the end, as read back (alog_read_copy, batch by batch). */
static size_t read_all(struct alog *log, int64_t from, struct kc_writer *w)
{
    kc_writer_reset(w);
    int64_t at = from, next;
    while (at < alog_end_offset(log)) {
        int rc = alog_read_copy(log, at, 1 << 20, w, &next);
        if (rc)
            fail_msg("read at %lld: %s", (long long)at, kc_strerror(rc));
        at = next;
    }
    return kc_writer_len(w);
}

static struct alog *open_log(const char *dir, uint64_t seg_bytes, struct alog_flusher *f)
{
    struct alog_config cfg;
    fx_config(&cfg, seg_bytes);
    cfg.index_interval_bytes = 100; /* index entries in small segments: cuts must drop some */
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, f), 0);
    return log;
}

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
    struct alog *log = open_log(*state, 1 << 20, NULL);
    size_t l1, l2;
    uint8_t *a = lrun(0, 2, 5, 3, &l1), *b = lrun(10, 1, 2, 7, &l2);
    replica(log, a, l1, 10);
    replica(log, b, l2, 12);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(read_all(log, 0, &w), l1 + l2);
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
    log = open_log(*state, 1 << 20, NULL); /* the same after a reopen */
    assert_int_equal(read_all(log, 0, &w), l1 + l2);
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
    struct alog *log = open_log(*state, 1 << 20, NULL);
    size_t len, used;
    int64_t end;
    uint8_t *a = lrun(0, 3, 4, 1, &len);
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
    struct alog *log = open_log(*state, 1 << 20, NULL);
    size_t len, used;
    int64_t end;
    uint8_t *a = lrun(0, 2, 5, 1, &len);
    replica(log, a, len, 10);
    uint8_t *b = lrun(10, 3, 5, 1, &len); /* 10..24 */
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
    replica(log, b, len, 25);
    assert_int_equal(alog_close(log), 0);
    free(a);
    free(b);
}

static void test_follow_replica_rolls_big_batch_own_segment(void **state)
{
    struct alog *log = open_log(*state, 1024, NULL);
    size_t len;
    uint8_t *a = lrun(0, 20, 4, 2, &len); /* ~ 250 bytes each: rolls every ~4 */
    replica(log, a, len, 80);
    uint8_t *big = fx_batch(80, 100, 64, 0, &len); /* > segment.bytes */
    kc_batch_set_base_offset(big, 80);
    replica(log, big, len, 180);
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
    struct alog *log = open_log(*state, 1 << 20, f);
    struct woke k = {0};
    struct alog_watch w = {.offset = 0, .fn = on_wake, .arg = &k};
    assert_int_equal(alog_watch_end(log, &w), 0);
    size_t len;
    uint8_t *a = lrun(0, 2, 5, 1, &len);
    replica(log, a, len, 10);
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

/* ---- a store's log: gaps --------------------------------------------------------------- */

static struct alog_store *store_open(const char *dir)
{
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.cleaner_threads = 0;
    struct alog_store *s;
    assert_int_equal(alog_store_open(&s, dir, &sc), 0);
    return s;
}

static struct alog *store_log(struct alog_store *s, const char *s_dir, uint64_t seg_bytes)
{
    struct alog_config cfg;
    fx_config(&cfg, seg_bytes);
    struct alog *log;
    char dir[4096];
    fx_path(dir, sizeof(dir), s_dir, "t-0");
    assert_int_equal(kc_mkdir_p(dir, 0755), 0);
    assert_int_equal(alog_store_add(s, "t-0", &cfg, &log), 0);
    return log;
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
    struct alog_store *s = store_open(*state);
    struct alog *log = store_log(s, *state, 1 << 20);
    size_t l1, l2;
    uint8_t *a = lrun(0, 1, 5, 4, &l1), *b = lrun(10, 1, 5, 6, &l2);
    uint8_t *buf = NULL;
    size_t len = 0;
    put(&buf, &len, a, l1);
    put(&buf, &len, b, l2); /* 0..4, then 10..14: a gap inside the answer */
    replica(log, buf, len, 15);
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
        s = store_open(*state);
        log = store_log(s, *state, 1 << 20);
    }
    free(buf);
    buf = NULL;
    len = 0;
    uint8_t *c = lrun(20, 1, 5, 6, &l1);
    replica(log, c, l1, 25); /* a gap before the first batch of the answer */
    int64_t t_end;
    assert_int_equal(alog_truncate(log, 17, &t_end), 0); /* inside the filler: it goes whole */
    assert_int_equal(t_end, 15);
    assert_int_equal(alog_store_close(s), 0);
    s = store_open(*state);
    log = store_log(s, *state, 1 << 20);
    assert_int_equal(alog_end_offset(log), 15);
    assert_int_equal(alog_store_close(s), 0);
    free(a);
    free(b);
    free(c);
}

/* ---- alog_truncate -------------------------------------------------------------------- */

/* A log of 3+ segments: 40 batches of 5 records (offsets 0..199). */
static struct alog *three_segments(const char *dir, struct alog_flusher *f)
{
    struct alog *log = open_log(dir, 2048, f);
    fx_append(log, 40, 5, 24, 1000);
    assert_true(alog_segments(log, NULL, 0) >= 3);
    return log;
}

/* Every segment's indexes, as the files hold them now: no entry past its .log's size or
 * its last offset (what a cut that forgot the index would leave). */
static void check_index_files(const char *dir, struct alog *log)
{
    struct alog_segment_info si[64];
    int n = alog_segments(log, si, 64);
    assert_true(n <= 64);
    for (int i = 0; i < n; i++) {
        struct mm_index_bounds b = {.log_size = si[i].bytes,
                                    .max_rel = si[i].next_offset - 1 - si[i].base_offset};
        static const char *const ext[2] = {".index", ".timeindex"};
        for (int k = 0; k < 2; k++) {
            char path[4096];
            struct mm_index idx;
            const char *why = NULL;
            fx_seg_path(path, sizeof(path), dir, si[i].base_offset, ext[k]);
            assert_int_equal(mm_index_open(&idx, path, k ? MM_INDEX_TIME : MM_INDEX_OFFSET,
                                           MM_INDEX_READONLY, 0),
                             0);
            if (mm_index_check(&idx, &b, &why) != 0)
                fail_msg("%s: %s", path, why);
            assert_int_equal(mm_index_close(&idx), 0);
        }
    }
}

static void expect_truncated(const char *dir, struct alog **logp, int64_t end)
{
    struct alog *log = *logp;
    check_index_files(dir, log);
    assert_int_equal(alog_end_offset(log), end);
    assert_int_equal(fx_check_files(dir), end);
    fx_check_reads(log, alog_start_offset(log), end);
    struct alog_slice sl;
    assert_int_equal(alog_read(log, end, 1, &sl), KC_EEMPTY);
    assert_int_equal(alog_read(log, end + 1, 1, &sl), KC_EOFFSET);
    fx_append(log, 3, 5, 24, 7000); /* continues at the new end */
    assert_int_equal(alog_close(log), 0);
    *logp = open_log(dir, 2048, NULL);
    assert_int_equal(alog_end_offset(*logp), end + 15);
    fx_check_reads(*logp, alog_start_offset(*logp), end + 15);
}

static void test_follow_truncate_edges(void **state)
{
    struct alog *log = three_segments(*state, NULL);
    int64_t end;
    assert_int_equal(alog_truncate(log, 201, &end), KC_EOFFSET);
    assert_int_equal(alog_truncate(log, -1, &end), KC_EOFFSET);
    assert_int_equal(alog_truncate(log, 200, &end), 0); /* to the end: nothing */
    assert_int_equal(end, 200);
    assert_int_equal(alog_truncate(log, 197, &end), 0); /* into the last batch: it goes */
    assert_int_equal(end, 195);
    expect_truncated(*state, &log, 195);
    struct alog_segment_info si[16];
    int n = alog_segments(log, si, 16);
    int64_t boundary = si[1].base_offset;
    assert_int_equal(alog_truncate(log, boundary, &end), 0); /* exactly a segment's base */
    assert_int_equal(end, boundary);
    expect_truncated(*state, &log, boundary);
    assert_int_equal(alog_truncate(log, 12, &end), 0); /* across segments, into a batch */
    assert_int_equal(end, 10);
    assert_true(n >= 2);
    expect_truncated(*state, &log, 10);
    assert_int_equal(alog_truncate(log, 0, &end), 0); /* to the start: empty */
    assert_int_equal(end, 0);
    expect_truncated(*state, &log, 0);
    assert_int_equal(alog_close(log), 0);
}

static void test_follow_truncate_empty_log_and_below_start(void **state)
{
    struct alog *log = open_log(*state, 2048, NULL);
    int64_t end = -1;
    assert_int_equal(alog_truncate(log, 0, &end), 0);
    assert_int_equal(end, 0);
    assert_int_equal(alog_truncate(log, 1, &end), KC_EOFFSET);
    fx_append(log, 40, 5, 24, 1000);
    assert_int_equal(alog_advance_start(log, 102), 0); /* inside the batch 100..104 */
    assert_int_equal(alog_truncate(log, 101, &end), KC_EOFFSET); /* below the start */
    assert_int_equal(alog_truncate(log, 103, &end), KC_EOFFSET); /* would end below it */
    assert_int_equal(alog_truncate(log, 105, &end), 0);
    assert_int_equal(end, 105);
    assert_int_equal(alog_start_offset(log), 102);
    assert_int_equal(alog_close(log), 0);
    log = open_log(*state, 2048, NULL);
    assert_int_equal(alog_start_offset(log), 102);
    assert_int_equal(alog_end_offset(log), 105);
    assert_int_equal(alog_close(log), 0);
}

static void test_follow_truncate_slices_short_watches_waiters(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = three_segments(*state, f);
    struct alog_slice last, mid;
    assert_int_equal(alog_read(log, 195, 1 << 20, &last), 0); /* the active segment */
    assert_int_equal(alog_read(log, 60, 1 << 20, &mid), 0);   /* an older one */
    struct woke k = {0};
    struct alog_watch above = {.offset = 200, .fn = on_wake, .arg = &k};
    struct alog_watch at = {.offset = 50, .fn = on_wake, .arg = &k};
    assert_int_equal(alog_watch_end(log, &above), 0);
    struct fx_tally t;
    fx_tally_init(&t);
    int64_t end;
    assert_int_equal(alog_truncate(log, 50, &end), 0);
    assert_int_equal(end, 50);
    assert_int_equal(atomic_load(&k.fired), 1); /* the reader past the end looks again */
    assert_int_equal(alog_watch_end(log, &at), 0); /* at the new end: armed */
    assert_int_equal(alog_wait_durable(log, 100, fx_tally_cb, &t), KC_EOFFSET);
    uint8_t buf[64];
    assert_int_equal(pread(last.fd, buf, sizeof(buf), last.pos), 0); /* short, not others */
    assert_int_equal(pread(mid.fd, buf, sizeof(buf), mid.pos), 0);
    alog_slice_release(&last);
    alog_slice_release(&mid);
    fx_append(log, 1, 5, 24, 9000);
    assert_int_equal(atomic_load(&k.fired), 2); /* the append past 50 woke `at` */
    int rc = alog_wait_durable(log, 55, fx_tally_cb, &t);
    if (rc == 0)
        fx_tally_wait(&t, 1);
    assert_true(rc == 0 || rc == 1);
    assert_int_equal(t.errors, 0);
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
}

/* ---- the model-based test ---------------------------------------------------------------- */

struct mbatch {
    int64_t base, last;
    uint8_t *bytes; /* NULL: a filler the log made for a gap */
    size_t len;
};

struct model {
    struct mbatch b[4096];
    int n;
    int64_t start;
};

static int64_t model_end(const struct model *m)
{
    return m->n ? m->b[m->n - 1].last + 1 : m->start;
}

static void model_add(struct model *m, int64_t base, int64_t last, const uint8_t *p, size_t len)
{
    assert_true(m->n < 4096);
    struct mbatch *b = &m->b[m->n++];
    *b = (struct mbatch){.base = base, .last = last, .len = len};
    if (p) {
        b->bytes = malloc(len);
        memcpy(b->bytes, p, len);
    }
}

static void model_cut(struct model *m, int k)
{
    while (m->n > k)
        free(m->b[--m->n].bytes);
}

/* The log reads back exactly the model from its start. */
static void model_check(struct alog *log, const struct model *m)
{
    assert_int_equal(alog_start_offset(log), m->start);
    assert_int_equal(alog_end_offset(log), model_end(m));
    struct kc_writer w;
    kc_writer_init(&w, 0);
    size_t len = read_all(log, m->start, &w), pos = 0;
    const uint8_t *p = kc_writer_data(&w);
    int k = 0;
    while (k < m->n && m->b[k].last < m->start)
        k++;
    for (; pos < len; k++) {
        struct kc_batch_header h;
        int n = kc_batch_validate_stored(p + pos, len - pos, &h);
        assert_true(n > 0);
        assert_true(k < m->n);
        assert_int_equal(h.base_offset, m->b[k].base);
        assert_int_equal(h.base_offset + h.last_offset_delta, m->b[k].last);
        if (m->b[k].bytes) {
            assert_int_equal((size_t)n, m->b[k].len);
            assert_memory_equal(p + pos, m->b[k].bytes, m->b[k].len);
        } else {
            assert_int_equal(h.records_count, 0);
        }
        pos += (size_t)n;
    }
    assert_int_equal(k, m->n);
    kc_writer_fini(&w);
}

static void model_own(struct alog *log, struct model *m, uint64_t *rs)
{
    size_t len;
    int64_t base, end = model_end(m);
    uint8_t *b = fx_batch(end, 1 + (int)(kc_test_rand(rs) % 6), 24, 1000 + end, &len);
    assert_int_equal(alog_append(log, b, len, &base), 0);
    assert_int_equal(base, end);
    model_add(m, base, kc_batch_last_offset(b), b, len);
    free(b);
}

static void model_replica(struct alog *log, struct model *m, uint64_t *rs)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int64_t at = model_end(m);
    int k = 1 + (int)(kc_test_rand(rs) % 3);
    for (int i = 0; i < k; i++) {
        int64_t gap = kc_test_rand(rs) % 3 == 0 ? (int64_t)(kc_test_rand(rs) % 4) : 0;
        int32_t epoch = (int32_t)(kc_test_rand(rs) % 5);
        size_t n;
        uint8_t *b = lbatch(at + gap, 1 + (int)(kc_test_rand(rs) % 6), epoch, &n);
        if (gap)
            model_add(m, at, at + gap - 1, NULL, 0);
        model_add(m, at + gap, kc_batch_last_offset(b), b, n);
        at = kc_batch_last_offset(b) + 1;
        put(&buf, &len, b, n);
        free(b);
    }
    replica(log, buf, len, at);
    free(buf);
}

static void model_truncate(struct alog *log, struct model *m, uint64_t *rs)
{
    int64_t end = model_end(m), span = end - m->start + 1;
    int64_t off = m->start + (int64_t)(kc_test_rand(rs) % (uint64_t)span), got;
    int k = 0;
    while (k < m->n && m->b[k].last < off)
        k++;
    int rc = alog_truncate(log, off, &got);
    if (k < m->n && m->b[k].base < m->start) {
        assert_int_equal(rc, KC_EOFFSET); /* the start lies inside that batch */
        return;
    }
    assert_int_equal(rc, 0);
    model_cut(m, k);
    assert_int_equal(got, model_end(m));
}

static void test_follow_model_random_ops_match(void **state)
{
    uint64_t seed = kc_test_seed(), rs = seed;
    struct alog_store *s = store_open(*state);
    struct alog *log = store_log(s, *state, 1024);
    struct model *m = calloc(1, sizeof(*m));
    for (int i = 0; i < 400; i++) {
        unsigned op = (unsigned)(kc_test_rand(&rs) % 16);
        if (op < 5)
            model_own(log, m, &rs);
        else if (op < 10)
            model_replica(log, m, &rs);
        else if (op < 13)
            model_truncate(log, m, &rs);
        else if (op == 13) { /* DeleteRecords: retention's deletion of whole segments too */
            int64_t off = m->start + (int64_t)(kc_test_rand(&rs) % 8);
            if (off <= model_end(m)) {
                assert_int_equal(alog_advance_start(log, off), 0);
                m->start = off > m->start ? off : m->start;
            }
        } else if (op == 14) {
            assert_int_equal(alog_store_close(s), 0);
            s = store_open(*state);
            log = store_log(s, *state, 1024);
        } else {
            assert_int_equal(alog_flush(log), 0);
        }
        model_check(log, m);
    }
    model_cut(m, 0);
    free(m);
    assert_int_equal(alog_store_close(s), 0);
    (void)seed;
}

/* ---- kill -9 at every step of a truncation ------------------------------------------------ */

struct killer {
    int at, seen;
};

static void kill_at_step(void *ctx, const char *step)
{
    struct killer *k = ctx;
    (void)step;
    if (++k->seen == k->at)
        raise(SIGKILL);
}

/* In the child: a durable log of 200 offsets over several segments, then a truncation to
 * 97 killed at its k-th step. Exit 0 when the truncation finished (no step k). */
static void crash_child(const char *dir, bool store, int k)
{
    struct alog_store *s = NULL;
    struct alog *log;
    struct alog_config cfg;
    fx_config(&cfg, 2048);
    cfg.index_interval_bytes = 100;
    if (store) {
        struct alog_store_config sc;
        alog_store_config_init(&sc);
        sc.cleaner_threads = 0;
        char sub[4200];
        snprintf(sub, sizeof(sub), "%s/t-0", dir);
        if (kc_mkdir_p(sub, 0755) || alog_store_open(&s, dir, &sc) ||
            alog_store_add(s, "t-0", &cfg, &log))
            _exit(2);
    } else if (alog_open(&log, dir, &cfg, NULL)) {
        _exit(2);
    }
    for (int64_t off = 0; off < 200; off += 5) {
        size_t len;
        int64_t base;
        uint8_t *b = fx_batch(off, 5, 24, 1000 + off, &len);
        if (alog_append(log, b, len, &base) || base != off)
            _exit(3);
        free(b);
    }
    if (alog_flush(log) || (s && alog_store_checkpoint(s)))
        _exit(4);
    struct killer kl = {.at = k};
    struct alog_io io = {.truncate_step = kill_at_step, .ctx = &kl};
    alog__set_io(log, &io);
    int64_t end;
    if (alog_truncate(log, 97, &end) || end != 95)
        _exit(5);
    _exit(0); /* after the commit, without a close: a crash too */
}

/* After the crash: the old log or the truncated one at every segment boundary. */
static void crash_check(const char *dir, bool store, const int64_t *bases, int nbases)
{
    struct alog_store *s = NULL;
    struct alog *log;
    struct alog_config cfg;
    fx_config(&cfg, 2048);
    cfg.index_interval_bytes = 100;
    if (store) {
        s = store_open(dir);
        assert_int_equal(alog_store_add(s, "t-0", &cfg, &log), 0);
    } else {
        assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    }
    int64_t end = alog_end_offset(log);
    bool boundary = end == 95 || end == 200;
    for (int i = 0; i < nbases; i++) /* the old log, cut at one of its segment boundaries */
        boundary |= bases[i] == end && end > 95;
    if (!boundary)
        fail_msg("end %lld after the crash: neither the old log nor the truncated one",
                 (long long)end);
    char sub[4096];
    fx_path(sub, sizeof(sub), dir, "t-0");
    assert_int_equal(fx_check_files(store ? sub : dir), end); /* no hole, nothing twice */
    fx_check_reads(log, 0, end);
    fx_append(log, 2, 5, 24, 5000);
    int64_t t;
    assert_int_equal(alog_truncate(log, 90, &t), 0); /* and it truncates again */
    assert_int_equal(t, 90);
    if (store)
        assert_int_equal(alog_store_close(s), 0);
    else
        assert_int_equal(alog_close(log), 0);
}

static void crash_every_step(const char *root, bool store)
{
    char ref[4096];
    fx_path(ref, sizeof(ref), root, "ref"); /* the same log, never truncated: its layout */
    struct alog *rl = open_log(ref, 2048, NULL);
    fx_append(rl, 40, 5, 24, 1000);
    struct alog_segment_info si[32];
    int64_t bases[32];
    int nbases = alog_segments(rl, si, 32);
    assert_true(nbases >= 3 && nbases <= 32);
    for (int i = 0; i < nbases; i++)
        bases[i] = si[i].base_offset;
    assert_int_equal(alog_close(rl), 0);
    for (int k = 1; k < 64; k++) {
        char dir[4096], name[32];
        snprintf(name, sizeof(name), "k%d", k);
        fx_path(dir, sizeof(dir), root, name);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            crash_child(dir, store, k);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        bool killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        if (!killed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            fail_msg("child for step %d: status %d", k, st);
        crash_check(dir, store, bases, nbases);
        if (!killed) {
            assert_true(k > 5); /* every step was reached before */
            return;
        }
    }
    fail_msg("the truncation never finished");
}

static void test_follow_truncate_kill9_every_step_old_or_new(void **state)
{
    crash_every_step(*state, false);
}

static void test_follow_truncate_store_kill9_every_step_old_or_new(void **state)
{
    crash_every_step(*state, true);
}

/* ---- truncations racing readers and the flusher -------------------------------------------- */

struct racer {
    struct alog *log;
    atomic_bool stop;
    atomic_long batches;
};

/* Every whole batch a slice gives: valid, its records at their own offsets. */
static void *reader(void *arg)
{
    struct racer *r = arg;
    uint64_t rs = 42;
    uint8_t *buf = malloc(1 << 16);
    while (!atomic_load(&r->stop)) {
        int64_t end = alog_end_offset(r->log);
        struct alog_slice sl;
        if (end == 0 || alog_read(r->log, (int64_t)(kc_test_rand(&rs) % (uint64_t)end), 1 << 16,
                                  &sl) != 0)
            continue;
        ssize_t got = pread(sl.fd, buf, sl.len, sl.pos);
        for (size_t pos = 0; got > 0 && pos < (size_t)got;) {
            struct kc_batch_header h;
            int n = kc_batch_validate(buf + pos, (size_t)got - pos, &h);
            if (n == KC_ENEEDMORE)
                break; /* cut under us: short, which is allowed */
            assert_true(n > 0);
            struct kc_record_iter it;
            struct kc_record rec;
            assert_int_equal(kc_record_iter_init(&it, buf + pos, (size_t)n), 0);
            while (kc_record_iter_next(&it, &rec) == 1)
                assert_int_equal((int64_t)kc_load_be64(rec.value), rec.offset);
            atomic_fetch_add(&r->batches, 1);
            pos += (size_t)n;
        }
        alog_slice_release(&sl);
    }
    free(buf);
    return NULL;
}

static void test_follow_truncate_races_readers_and_flusher(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    cfg.flush_interval_ms = 1;
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, f), 0);
    struct racer r = {.log = log};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader, &r), 0);
    uint64_t rs = kc_test_seed();
    for (int i = 0; i < 150; i++) {
        fx_append(log, 1 + (int)(kc_test_rand(&rs) % 6), 5, 24, 1000);
        size_t len;
        int64_t at = alog_end_offset(log);
        uint8_t *b = lrun(at, 2, 3, i, &len);
        replica(log, b, len, at + 6);
        free(b);
        int64_t end = alog_end_offset(log), t, back = (int64_t)(kc_test_rand(&rs) % 20);
        assert_int_equal(alog_truncate(log, end > back ? end - back : 0, &t), 0);
    }
    atomic_store(&r.stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(atomic_load(&r.batches) > 0);
    int64_t end = alog_end_offset(log);
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
    assert_int_equal(fx_check_files(*state), end);
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
        T(test_follow_truncate_edges),
        T(test_follow_truncate_empty_log_and_below_start),
        T(test_follow_truncate_slices_short_watches_waiters),
        T(test_follow_model_random_ops_match),
        T(test_follow_truncate_kill9_every_step_old_or_new),
        T(test_follow_truncate_store_kill9_every_step_old_or_new),
        T(test_follow_truncate_races_readers_and_flusher),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
