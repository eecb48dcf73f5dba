/*
 * test_alog_truncate.c - cutting a follower's diverged tail: alog_truncate at every edge
 * (to the end, into a batch, at a segment's base, across segments, to the start, an empty
 * log, below the start), slices, watches and waiters of the cut region, the index files
 * left behind, a model-based random test, kill -9 at every step of a truncation
 * (standalone and in a store), and truncations racing readers and a flusher.
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
#include "kc_time.h"

struct woke {
    atomic_int fired;
};

static void on_wake(struct alog_watch *w)
{
    atomic_fetch_add(&((struct woke *)w->arg)->fired, 1);
}

/* ---- alog_truncate -------------------------------------------------------------------- */

/* A log of 3+ segments: 40 batches of 5 records (offsets 0..199). */
static struct alog *three_segments(const char *dir, struct alog_flusher *f)
{
    struct alog *log = fx_follow_open(dir, 2048, f);
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
    *logp = fx_follow_open(dir, 2048, NULL);
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
    struct alog *log = fx_follow_open(*state, 2048, NULL);
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
    log = fx_follow_open(*state, 2048, NULL);
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

/* A log the cleaner compacted (one key: every batch but the last emptied, runs of them
 * folded into record-less batches spanning their offsets): a cut inside such a batch
 * takes it whole; the cleaner's offset comes down with the end; cleaning goes on. */
static void test_follow_truncate_compacted_log_with_gaps(void **state)
{
    struct alog_store *s = fx_store_open(*state);
    struct alog *log = fx_store_log(s, *state, 1024);
    struct alog_config cfg;
    alog_get_config(log, &cfg);
    cfg.cleanup_policy = ALOG_CLEANUP_COMPACT;
    cfg.min_compaction_lag_ms = 0;
    assert_int_equal(alog_set_config(log, &cfg), 0);
    fx_append(log, 40, 5, 24, 1000); /* every record has the key "k" */
    assert_int_equal(alog_flush(log), 0); /* the cleaner cleans what is durable */
    struct alog_clean_stats st;
    assert_int_equal(alog_clean(log, kc_wall_ms(), &st), 0);
    assert_true(st.batches_emptied > 0);
    int64_t off = st.end_offset / 2, base, end;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(alog_read_copy(log, off, 1, &w, &end), 0);
    struct kc_batch_header h;
    assert_true(kc_batch_validate_stored(kc_writer_data(&w), kc_writer_len(&w), &h) > 0);
    base = h.base_offset;
    assert_true(h.records_count < h.last_offset_delta + 1); /* a compacted batch */
    assert_int_equal(alog_truncate(log, off, &end), 0);
    assert_int_equal(end, base);
    assert_true(atomic_load(&log->cleaned_offset) <= end);
    assert_int_equal(alog_store_close(s), 0);
    s = fx_store_open(*state);
    log = fx_store_log(s, *state, 1024);
    alog_set_config(log, &cfg);
    assert_int_equal(alog_end_offset(log), base);
    size_t n = fx_read_all(log, alog_start_offset(log), &w), pos = 0; /* what stays reads */
    int64_t next = alog_start_offset(log);
    for (int sz; pos < n; pos += (size_t)sz) {
        assert_true((sz = kc_batch_validate_stored(kc_writer_data(&w) + pos, n - pos, &h)) > 0);
        assert_int_equal(h.base_offset, next);
        next = h.base_offset + h.last_offset_delta + 1;
    }
    assert_int_equal(next, base); /* up to the cut, contiguous */
    fx_append(log, 10, 5, 24, 2000); /* offsets follow the new end */
    assert_int_equal(alog_clean(log, kc_wall_ms(), &st), 0);
    assert_int_equal(alog_end_offset(log), base + 50);
    assert_int_equal(alog_store_close(s), 0);
    kc_writer_fini(&w);
}

/* Every batch from the start to the end, read back: valid, contiguous. */
static void check_contiguous(struct alog *log)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    size_t n = fx_read_all(log, alog_start_offset(log), &w), pos = 0;
    struct kc_batch_header h;
    int64_t next = -1;
    for (int sz; pos < n; pos += (size_t)sz) {
        assert_true((sz = kc_batch_validate_stored(kc_writer_data(&w) + pos, n - pos, &h)) > 0);
        assert_true(next < 0 || h.base_offset == next);
        next = h.base_offset + h.last_offset_delta + 1;
    }
    assert_true(next < 0 || next == alog_end_offset(log));
    kc_writer_fini(&w);
}

/* Truncations beside the store's cleaner thread and retention passes on a compact,delete
 * log: each waits for the other (the retention lock); the log stays whole. */
static void test_follow_truncate_beside_cleaner_and_retention(void **state)
{
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.cleaner_threads = 1;
    sc.cleaner_backoff_ms = 1;
    struct alog_store *s;
    assert_int_equal(alog_store_open(&s, *state, &sc), 0);
    struct alog *log = fx_store_log(s, *state, 1024);
    struct alog_config cfg;
    alog_get_config(log, &cfg);
    cfg.cleanup_policy = ALOG_CLEANUP_COMPACT | ALOG_CLEANUP_DELETE;
    cfg.min_compaction_lag_ms = 0;
    cfg.min_cleanable_ratio = 0.01;
    cfg.retention_bytes = 6000;
    assert_int_equal(alog_set_config(log, &cfg), 0);
    uint64_t rs = kc_test_seed();
    int cut = 0;
    for (int i = 0; i < 120; i++) {
        fx_append(log, 1 + (int)(kc_test_rand(&rs) % 4), 5, 24, 1000);
        assert_int_equal(alog_flush(log), 0); /* durable: the cleaner may take it */
        int deleted;
        if (i % 5 == 0)
            assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
        int64_t end = alog_end_offset(log), start = alog_start_offset(log), t;
        int64_t off = end - (int64_t)(kc_test_rand(&rs) % 12);
        int rc = alog_truncate(log, off > start ? off : start, &t);
        if (rc != 0 && rc != KC_EOFFSET) /* the start inside the batch: refused */
            fail_msg("truncate(%lld) of [%lld, %lld): %s", (long long)off, (long long)start, (long long)end, kc_strerror(rc));
        cut += rc == 0 && t < end;
        if (i % 10 == 0)
            kc_sleep_ms(2); /* let the cleaner thread take a turn */
    }
    assert_true(cut > 0);
    check_contiguous(log);
    int64_t start = alog_start_offset(log), end = alog_end_offset(log);
    assert_int_equal(alog_store_close(s), 0);
    s = fx_store_open(*state);
    log = fx_store_log(s, *state, 1024);
    assert_int_equal(alog_start_offset(log), start);
    assert_int_equal(alog_end_offset(log), end);
    check_contiguous(log);
    assert_int_equal(alog_store_close(s), 0);
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
    size_t len = fx_read_all(log, m->start, &w), pos = 0;
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
        uint8_t *b = fx_lbatch(at + gap, 1 + (int)(kc_test_rand(rs) % 6), epoch, &n);
        if (gap)
            model_add(m, at, at + gap - 1, NULL, 0);
        model_add(m, at + gap, kc_batch_last_offset(b), b, n);
        at = kc_batch_last_offset(b) + 1;
        fx_put(&buf, &len, b, n);
        free(b);
    }
    fx_replica(log, buf, len, at);
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
    struct alog_store *s = fx_store_open(*state);
    struct alog *log = fx_store_log(s, *state, 1024);
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
            s = fx_store_open(*state);
            log = fx_store_log(s, *state, 1024);
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
        s = fx_store_open(dir);
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
    struct alog *rl = fx_follow_open(ref, 2048, NULL);
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
    atomic_long gen; /* odd while a truncation runs; +2 for each (a seqlock) */
};

/* Every whole batch a slice gives: valid, its records at their own offsets - unless a
 * truncation ran between the read and the pread: then the bytes under the slice may have
 * been cut and written again (other batches at the same offsets), and a torn batch is
 * what a reader of the cut tail may see. (The broker never lets one read there: consumers
 * stop at the high watermark, and a follower never truncates below it.) */
static void *reader(void *arg)
{
    struct racer *r = arg;
    uint64_t rs = 42;
    uint8_t *buf = malloc(1 << 16);
    while (!atomic_load(&r->stop)) {
        long g0 = atomic_load(&r->gen);
        int64_t end = alog_end_offset(r->log);
        struct alog_slice sl;
        if (end == 0 || alog_read(r->log, (int64_t)(kc_test_rand(&rs) % (uint64_t)end), 1 << 16,
                                  &sl) != 0)
            continue;
        ssize_t got = pread(sl.fd, buf, sl.len, sl.pos);
        if ((g0 & 1) || atomic_load(&r->gen) != g0)
            got = 0; /* a truncation overlapped: nothing to judge */
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
        uint8_t *b = fx_lrun(at, 2, 3, i, &len);
        fx_replica(log, b, len, at + 6);
        free(b);
        int64_t end = alog_end_offset(log), t, back = (int64_t)(kc_test_rand(&rs) % 20);
        atomic_fetch_add(&r.gen, 1);
        assert_int_equal(alog_truncate(log, end > back ? end - back : 0, &t), 0);
        atomic_fetch_add(&r.gen, 1);
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
        T(test_follow_truncate_edges),
        T(test_follow_truncate_empty_log_and_below_start),
        T(test_follow_truncate_slices_short_watches_waiters),
        T(test_follow_truncate_compacted_log_with_gaps),
        T(test_follow_truncate_beside_cleaner_and_retention),
        T(test_follow_model_random_ops_match),
        T(test_follow_truncate_kill9_every_step_old_or_new),
        T(test_follow_truncate_store_kill9_every_step_old_or_new),
        T(test_follow_truncate_races_readers_and_flusher),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
