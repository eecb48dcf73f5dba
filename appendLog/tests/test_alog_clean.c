/*
 * test_alog_clean.c - log compaction: the offset map, a model-based run of random appends,
 * rolls, cleanings, time and crashes against "the latest value per key" and the offsets
 * rule, a crash image at every step of a swap, every codec, tombstone expiry, the lags,
 * the cleaner threads, and cleaning under concurrent appends and reads.
 *
 * Every record's value names its own offset ("v<offset>"), so whatever a read returns is
 * checked against what was appended there. The checks (check_log):
 *   - offsets strictly increase: nothing is served twice, nothing out of order
 *   - every record is exactly what was appended at its offset
 *   - every key's latest record is still there (unless it is a tombstone: those may go)
 *   - below the end of the last cleaning, one record per key, the latest below that end
 *     (and no record without a key)
 * and every segment file is walked: batches back to back, CRCs, offsets contiguous
 * (check_files).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/alog_fixture.h"
#include "alog_int.h"
#include "kc_codec.h"
#include "kc_common.h"
#include "kc_fs.h"
#include "kc_test.h"
#include "offset_map.h"
#include "store_int.h"

#define TS0 1700000000000LL
#define DELETE_RETENTION 5000
#define NKEYS 24

/* ---- the model ---------------------------------------------------------------------- */

struct mrec {
    int key;   /* -1: no key */
    bool tomb; /* a null value */
};

struct model {
    struct mrec *r; /* by offset */
    int64_t n, cap;
    int64_t clean_end; /* the end of the last finished cleaning (-1: none) */
};

static void model_add(struct model *m, int key, bool tomb)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->r = realloc(m->r, (size_t)m->cap * sizeof(*m->r));
        assert_non_null(m->r);
    }
    m->r[m->n++] = (struct mrec){key, tomb};
}

/* The latest offset of key below end, -1 if none. */
static int64_t model_latest(const struct model *m, int key, int64_t end)
{
    for (int64_t o = (end < m->n ? end : m->n) - 1; o >= 0; o--) {
        if (m->r[o].key == key)
            return o;
    }
    return -1;
}

/* ---- batches ----------------------------------------------------------------------- */

static uint8_t *make_batch(const int *keys, const bool *tombs, int n, int64_t first, int codec,
                           int64_t ts, size_t *len)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    struct kc_batch_rebuild rb = {.codec = codec};
    kc_batch_builder_set_rebuild(&b, &rb);
    for (int i = 0; i < n; i++) {
        char key[16], value[32];
        snprintf(key, sizeof(key), "k%03d", keys[i]);
        int vlen = snprintf(value, sizeof(value), "v%020" PRId64, first + i);
        assert_int_equal(kc_batch_builder_add(&b, ts + i, keys[i] < 0 ? NULL : key,
                                              keys[i] < 0 ? -1 : 4, tombs[i] ? NULL : value,
                                              tombs[i] ? -1 : vlen, NULL, 0),
                         0);
    }
    uint8_t *p;
    assert_int_equal(kc_batch_builder_finish_codec(&b, &p, len), 0);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&b);
    return copy;
}

static void append(struct alog *log, struct model *m, const int *keys, const bool *tombs, int n,
                   int codec, int64_t ts)
{
    size_t len;
    int64_t base = alog_end_offset(log), got;
    assert_int_equal(base, m->n);
    uint8_t *batch = make_batch(keys, tombs, n, base, codec, ts, &len);
    int rc = alog_append(log, batch, len, &got);
    if (rc)
        fail_msg("append: %s", kc_strerror(rc));
    assert_int_equal(got, base);
    for (int i = 0; i < n; i++)
        model_add(m, keys[i], tombs[i]);
    free(batch);
}

/* One record per key, in order: key i gets key_base + i. */
static void append_keys(struct alog *log, struct model *m, int key_base, int n, int codec,
                        int64_t ts)
{
    int keys[64];
    bool tombs[64] = {0};
    for (int i = 0; i < n; i++)
        keys[i] = key_base + i;
    append(log, m, keys, tombs, n, codec, ts);
}

/* ---- reading it all back ------------------------------------------------------------ */

struct seen {
    int64_t offset;
    int key;
    bool tomb;
    int codec; /* of the batch it came in */
};

struct seen_list {
    struct seen *s;
    size_t n, cap;
};

static int key_of(const struct kc_record *r)
{
    if (!r->key)
        return -1;
    assert_int_equal(r->key_len, 4);
    return atoi((const char *)r->key + 1);
}

static void seen_batch(struct seen_list *l, const uint8_t *p, size_t len, int64_t from)
{
    assert_int_equal(kc_batch_validate_deep(p, len, 1u << 24), (int)len);
    struct kc_batch_reader br;
    struct kc_record r;
    int rc;
    assert_int_equal(kc_batch_reader_open(&br, p, len, 1u << 24), 0);
    while ((rc = kc_batch_reader_next(&br, &r)) == 1) {
        if (r.offset < from)
            continue;
        char want[32];
        snprintf(want, sizeof(want), "v%020" PRId64, r.offset);
        if (r.value) {
            assert_int_equal(r.value_len, 21);
            assert_memory_equal(r.value, want, 21);
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 256;
            l->s = realloc(l->s, l->cap * sizeof(*l->s));
            assert_non_null(l->s);
        }
        l->s[l->n++] = (struct seen){r.offset, key_of(&r), r.value == NULL,
                                     br.h.attributes & KC_BATCH_ATTR_COMPRESSION};
    }
    assert_int_equal(rc, 0);
    kc_batch_reader_close(&br);
}

static void read_all(struct alog *log, struct seen_list *l)
{
    int64_t off = alog_start_offset(log), end = alog_end_offset(log);
    l->n = 0;
    while (off < end) {
        struct kc_writer w;
        int64_t next;
        kc_writer_init(&w, 0);
        int rc = alog_read_copy(log, off, 8192, &w, &next);
        if (rc)
            fail_msg("read at %" PRId64 ": %s", off, kc_strerror(rc));
        size_t at = 0;
        while (at < kc_writer_len(&w)) {
            size_t size;
            assert_int_equal(kc_batch_size(kc_writer_data(&w) + at, kc_writer_len(&w) - at, &size),
                             0);
            seen_batch(l, kc_writer_data(&w) + at, size, off);
            at += size;
        }
        kc_writer_fini(&w);
        assert_true(next > off);
        off = next;
    }
}

static void check_log(struct alog *log, const struct model *m)
{
    struct seen_list l = {0};
    read_all(log, &l);
    int64_t prev = -1, below_end[NKEYS], latest[NKEYS];
    bool present[NKEYS + 1] = {0};
    for (int k = 0; k < NKEYS; k++) { /* once: the checks below are then O(records) */
        below_end[k] = model_latest(m, k, m->clean_end);
        latest[k] = model_latest(m, k, m->n);
    }
    for (size_t i = 0; i < l.n; i++) {
        const struct seen *s = &l.s[i];
        assert_true(s->offset > prev); /* served once, in order */
        prev = s->offset;
        assert_true(s->offset < m->n);
        assert_int_equal(s->key, m->r[s->offset].key);
        assert_int_equal(s->tomb, m->r[s->offset].tomb);
        if (s->offset < m->clean_end) { /* cleaned: the latest below the cleaning's end */
            assert_true(s->key >= 0);
            assert_int_equal(s->offset, below_end[s->key]);
        }
        if (s->key >= 0 && s->offset == latest[s->key])
            present[s->key] = true;
    }
    for (int k = 0; k < NKEYS; k++) {
        if (latest[k] >= 0 && !m->r[latest[k]].tomb && !present[k])
            fail_msg("key %d: its latest record (offset %" PRId64 ") is gone", k, latest[k]);
    }
    free(l.s);
}

/* Every .log file of the log: whole batches, CRCs and records good, offsets contiguous
 * from batch to batch and file to file. Returns the offset after the last batch. */
static int64_t check_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int64_t bases[4096];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) == 24 && strcmp(de->d_name + 20, ".log") == 0) {
            assert_true(n < 4096);
            bases[n++] = strtoll(de->d_name, NULL, 10);
        }
    }
    closedir(d);
    for (int i = 0; i < n; i++) /* a few: insertion sort */
        for (int j = i; j > 0 && bases[j - 1] > bases[j]; j--) {
            int64_t t = bases[j];
            bases[j] = bases[j - 1];
            bases[j - 1] = t;
        }
    int64_t expect = n ? bases[0] : 0;
    for (int i = 0; i < n; i++) {
        char path[4096], *data;
        size_t len;
        fx_seg_path(path, sizeof(path), dir, bases[i], ".log");
        assert_int_equal(kc_read_file(path, 1u << 30, &data, &len), 0);
        assert_int_equal(bases[i], expect);
        for (size_t at = 0; at < len;) {
            struct kc_batch_header h;
            assert_int_equal(kc_batch_header_decode_stored((uint8_t *)data + at, len - at, &h), 0);
            assert_int_equal(h.base_offset, expect);
            int size = kc_batch_validate_deep((uint8_t *)data + at, len - at, 1u << 24);
            assert_true(size > 0);
            at += (size_t)size;
            expect = h.base_offset + h.last_offset_delta + 1;
        }
        free(data);
    }
    return expect;
}

/* ---- a store with one compacted log --------------------------------------------------- */

struct fx {
    char data[4096];
    struct alog_store *s;
    struct alog *log;
    struct alog_config cfg;
};

static void compact_config(struct alog_config *cfg, uint64_t segment_bytes)
{
    fx_config(cfg, segment_bytes);
    cfg->cleanup_policy = ALOG_CLEANUP_COMPACT;
    cfg->delete_retention_ms = DELETE_RETENTION;
    cfg->index_interval_bytes = 256; /* some index entries even in small segments */
}

static void fx_open(struct fx *f, const char *data, int cleaner_threads)
{
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.cleaner_threads = cleaner_threads;
    sc.cleaner_backoff_ms = 20;
    sc.cleaner_dedupe_buffer_size = 1u << 20;
    snprintf(f->data, sizeof(f->data), "%s", data);
    int rc = alog_store_open(&f->s, data, &sc);
    if (rc)
        fail_msg("store open: %s", kc_strerror(rc));
    char path[4096];
    fx_path(path, sizeof(path), data, "c-0");
    assert_int_equal(kc_mkdir_p(path, 0755), 0);
    assert_int_equal(alog_store_add(f->s, "c-0", &f->cfg, &f->log), 0);
}

/* After an unclean start the store's sweep makes what it recovered durable in the
 * background, and reads stop short of it until then: wait for that, as a consumer would
 * by retrying. */
static void fx_settle(struct fx *f)
{
    assert_int_equal(alog_pin(f->log), 0);
    assert_int_equal(alog_store_sync(f->s), 0);
    alog_unpin(f->log);
}

static void fx_close(struct fx *f)
{
    assert_int_equal(alog_store_close(f->s), 0);
    f->s = NULL;
    f->log = NULL;
}

static void log_dir(const struct fx *f, char *out, size_t cap)
{
    fx_path(out, cap, f->data, "c-0");
}

static struct alog_clean_stats clean(struct fx *f, struct model *m, int64_t now)
{
    struct alog_clean_stats st;
    assert_int_equal(alog_flush(f->log), 0); /* only what is durable is cleaned */
    int rc = alog_clean(f->log, now, &st);
    if (rc)
        fail_msg("clean: %s", kc_strerror(rc));
    if (st.end_offset > m->clean_end)
        m->clean_end = st.end_offset;
    return st;
}

/* ---- the offset map -------------------------------------------------------------------- */

static void test_clean_siphash128_reference_vectors_match(void **state)
{
    (void)state;
    /* veorq/SipHash vectors.h, vectors_sip128: key 00..0f, message 00..len-1. */
    static const char *const want[] = {
        "a3817f04ba25a8e66df67214c7550293", "da87c1d86b99af44347659119b22fc45",
        "8177228da4a45dc7fca38bdef60affe4", "9c70b60c5267a94e5f33b6b02985ed51",
        "f88164c12d9c8faf7d0f6e7c7bcd5579", "1368875980776f8854527a07690e9627",
        "14eeca338b208613485ea0308fd7a15e", "a1f1ebbed8dbc153c0b84aa61ff08239",
        "3b62a9ba6258f5610f83e264f31497b4", "264499060ad9baabc47f8b02bb6d71ed",
    };
    uint8_t k[16], msg[16];
    for (int i = 0; i < 16; i++)
        k[i] = msg[i] = (uint8_t)i;
    uint64_t key[2] = {0, 0}, out[2];
    for (int i = 7; i >= 0; i--) {
        key[0] = key[0] << 8 | k[i];
        key[1] = key[1] << 8 | k[8 + i];
    }
    for (size_t len = 0; len < sizeof(want) / sizeof(want[0]); len++) {
        alog__siphash128(key, msg, len, out);
        char hex[33];
        for (int i = 0; i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned)(out[i / 8] >> (8 * (i % 8)) & 0xff));
        assert_string_equal(hex, want[len]);
    }
}

static void test_clean_offset_map_grows_then_refuses_past_budget(void **state)
{
    (void)state;
    struct alog_omap m;
    assert_int_equal(alog__omap_init(&m, 8), -EINVAL);
    assert_int_equal(alog__omap_init(&m, 200000 * 24), 0); /* 180,000 usable keys */
    size_t room = alog__omap_room(&m);
    assert_int_equal(room, 180000);
    char key[16];
    for (int i = 0; i < 180000; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        assert_int_equal(alog__omap_put(&m, key, strlen(key), i), 0);
    }
    assert_true(m.cap > 65536); /* it grew past the first table */
    assert_int_equal(alog__omap_put(&m, "one more", 8, 1), KC_EFULL);
    assert_int_equal(alog__omap_put(&m, "key-7", 5, 200000), 0); /* an old key: fits */
    assert_int_equal(alog__omap_get(&m, "key-7", 5), 200000);
    assert_int_equal(alog__omap_get(&m, "key-8", 5), 8);
    assert_int_equal(alog__omap_get(&m, "never", 5), -1);
    assert_int_equal(m.latest, 200000);
    assert_int_equal(alog__omap_clear(&m), 0);
    assert_int_equal(alog__omap_get(&m, "key-8", 5), -1);
    assert_int_equal(alog__omap_room(&m), 180000);
    alog__omap_fini(&m);
}

/* ---- the model-based run ------------------------------------------------------------- */

static int rand_codec(uint64_t *rs)
{
    int r = (int)(kc_test_rand(rs) % 10);
    return r < 5 ? KC_COMPRESS_NONE : r - 5; /* half plain, the rest any codec */
}

static void random_append(struct fx *f, struct model *m, uint64_t *rs, int64_t now)
{
    int keys[8];
    bool tombs[8];
    int n = 1 + (int)(kc_test_rand(rs) % 6);
    for (int i = 0; i < n; i++) {
        uint64_t r = kc_test_rand(rs) % 100;
        keys[i] = r < 3 ? -1 : (int)(kc_test_rand(rs) % NKEYS);
        tombs[i] = keys[i] >= 0 && r >= 90;
    }
    append(f->log, m, keys, tombs, n, rand_codec(rs), now);
}

/* A crash now: the directory as it is, the process gone; the copy opened. */
static void crash(struct fx *f, const char *image)
{
    fx_copy_dir(f->data, image);
    alog__store_abandon(f->s);
    fx_open(f, image, 0);
    fx_settle(f);
}

static void test_clean_model_random_ops_keep_latest_per_key(void **state)
{
    const char *dir = *state;
    uint64_t rs = kc_test_seed() | 1;
    struct fx f;
    compact_config(&f.cfg, 4096);
    struct model m = {.clean_end = -1};
    char data[4096];
    fx_path(data, sizeof(data), dir, "d0");
    fx_open(&f, data, 0);
    int64_t now = TS0;
    int crashes = 0, cleanings = 0;
    for (int op = 0; op < 700; op++) {
        uint64_t r = kc_test_rand(&rs) % 100;
        if (r < 70) {
            random_append(&f, &m, &rs, now);
        } else if (r < 80) {
            clean(&f, &m, now);
            cleanings++;
            check_log(f.log, &m);
        } else if (r < 90) {
            now += (int64_t)(kc_test_rand(&rs) % (2 * DELETE_RETENTION));
        } else if (r < 93) {
            char image[4096];
            snprintf(image, sizeof(image), "%s/d%d", dir, ++crashes);
            crash(&f, image);
            check_log(f.log, &m);
        } else if (r < 96) {
            assert_int_equal(alog_flush(f.log), 0);
        } else {
            struct alog_config cfg = f.cfg; /* live settings: the segment size changes */
            cfg.segment_bytes = kc_test_rand(&rs) % 2 ? 2048 : 8192;
            assert_int_equal(alog_set_config(f.log, &cfg), 0);
        }
    }
    clean(&f, &m, now);
    check_log(f.log, &m);
    char ldir[4096];
    log_dir(&f, ldir, sizeof(ldir));
    assert_int_equal(check_files(ldir), m.n);
    print_message("model: %" PRId64 " records, %d cleanings, %d crashes\n", m.n, cleanings,
                  crashes);
    fx_close(&f);
    free(m.r);
}

/* ---- a crash at every step of a swap ------------------------------------------------- */

struct steps {
    const char *data;
    const char *dir;
    int n;
    char names[256][32];
};

static void copy_at_step(void *ctx, const char *step)
{
    struct steps *s = ctx;
    char image[4096];
    assert_true(s->n < 256);
    snprintf(s->names[s->n], sizeof(s->names[0]), "%s", step);
    snprintf(image, sizeof(image), "%s/step%02d", s->dir, s->n++);
    fx_copy_dir(s->data, image);
}

/* Build a log whose second cleaning merges several segments into one group. */
static void build_for_merge(struct fx *f, struct model *m, int64_t now)
{
    for (int round = 0; round < 12; round++)
        append_keys(f->log, m, 0, 16, round % 2 ? KC_COMPRESS_LZ4 : KC_COMPRESS_NONE, now);
    clean(f, m, now); /* each segment shrinks to a few records */
    for (int round = 0; round < 12; round++)
        append_keys(f->log, m, round % 4, 8, KC_COMPRESS_NONE, now);
}

static void test_clean_crash_at_every_swap_step_loses_nothing(void **state)
{
    const char *dir = *state;
    struct fx f;
    compact_config(&f.cfg, 2048);
    struct model m = {.clean_end = -1};
    char data[4096];
    fx_path(data, sizeof(data), dir, "live");
    fx_open(&f, data, 0);
    build_for_merge(&f, &m, TS0);
    struct model before = m;
    struct steps st = {.data = data, .dir = dir};
    struct alog_io io = f.log->io;
    io.swap_step = copy_at_step;
    io.ctx = &st;
    alog__set_io(f.log, &io);
    struct alog_clean_stats cs = clean(&f, &m, TS0);
    assert_true(cs.segments_in > cs.segments_out); /* groups were merged: unlinks happened */
    alog__set_io(f.log, NULL);
    check_log(f.log, &m);
    fx_close(&f);
    assert_true(st.n >= 9);
    for (int i = 0; i < st.n; i++) {
        char image[4096];
        snprintf(image, sizeof(image), "%s/step%02d", dir, i);
        struct fx g = {.cfg = f.cfg};
        fx_open(&g, image, 0);
        fx_settle(&g);
        struct model mm = before; /* the old log, or the new one: both pass */
        mm.clean_end = before.clean_end;
        check_log(g.log, &mm);
        char ldir[4096];
        log_dir(&g, ldir, sizeof(ldir));
        assert_int_equal(check_files(ldir), m.n);
        DIR *d = opendir(ldir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) { /* nothing of the swap is left behind */
            assert_null(strstr(de->d_name, ".swap"));
            assert_null(strstr(de->d_name, ".cleaned"));
        }
        closedir(d);
        clean(&g, &mm, TS0); /* and it cleans again to the same result */
        check_log(g.log, &mm);
        fx_close(&g);
        print_message("crash after \"%s\": recovered\n", st.names[i]);
    }
    free(m.r);
}

/* ---- codecs, tombstones, lags ------------------------------------------------------- */

static void test_clean_every_codec_recompressed_with_its_codec(void **state)
{
    const char *dir = *state;
    for (int codec = KC_COMPRESS_NONE; codec <= KC_COMPRESS_ZSTD; codec++) {
        struct fx f;
        compact_config(&f.cfg, 1024);
        struct model m = {.clean_end = -1};
        char data[4096];
        snprintf(data, sizeof(data), "%s/codec%d", dir, codec);
        fx_open(&f, data, 0);
        for (int round = 0; round < 10; round++) /* keys 0..9, 1..10, 0..9 ... */
            append_keys(f.log, &m, round % 2, 10, codec, TS0);
        for (int i = 0; i < 8; i++) /* the active segment moves past them */
            append_keys(f.log, &m, 20, 1, codec, TS0);
        struct alog_clean_stats st = clean(&f, &m, TS0);
        assert_true(st.batches_rebuilt > 0);
        assert_true(st.records_kept < st.records_read);
        check_log(f.log, &m);
        struct seen_list l = {0};
        read_all(f.log, &l);
        for (size_t i = 0; i < l.n; i++)
            assert_int_equal(l.s[i].codec, codec);
        free(l.s);
        fx_close(&f);
        free(m.r);
    }
}

/* Is there a record at offset? (the log read in full) */
static bool has_offset(struct alog *log, int64_t offset)
{
    struct seen_list l = {0};
    read_all(log, &l);
    bool found = false;
    for (size_t i = 0; i < l.n; i++)
        found |= l.s[i].offset == offset;
    free(l.s);
    return found;
}

static void test_clean_tombstone_kept_for_delete_retention_then_removed(void **state)
{
    const char *dir = *state;
    struct fx f;
    compact_config(&f.cfg, 1024);
    struct model m = {.clean_end = -1};
    fx_open(&f, dir, 0);
    int k1 = 1;
    bool yes = true;
    append_keys(f.log, &m, 1, 1, KC_COMPRESS_NONE, TS0);  /* 0: k1 = v */
    append(f.log, &m, &k1, &yes, 1, KC_COMPRESS_NONE, TS0); /* 1: k1 deleted */
    for (int i = 0; i < 40; i++)                            /* rolls past them */
        append_keys(f.log, &m, 2, 1, KC_COMPRESS_NONE, TS0);
    int64_t t = TS0 + 1000;
    clean(&f, &m, t);
    assert_false(has_offset(f.log, 0)); /* the value: gone at once */
    assert_true(has_offset(f.log, 1));  /* the tombstone: timed, kept */
    assert_int_equal(atomic_load(&f.log->horizon), t + DELETE_RETENTION);
    clean(&f, &m, t + DELETE_RETENTION - 1);
    assert_true(has_offset(f.log, 1));
    struct alog_clean_stats st = clean(&f, &m, t + DELETE_RETENTION);
    assert_int_equal(st.tombstones_removed, 1);
    assert_false(has_offset(f.log, 1));
    assert_int_equal(atomic_load(&f.log->horizon), INT64_MAX);
    check_log(f.log, &m);
    /* Still gone after a restart: the removal is on disk, offsets 0 and 1 a gap. */
    fx_close(&f);
    fx_open(&f, dir, 0);
    assert_false(has_offset(f.log, 1));
    assert_int_equal(alog_start_offset(f.log), 0);
    check_log(f.log, &m);
    fx_close(&f);
    free(m.r);
}

static void test_clean_min_compaction_lag_leaves_young_segments(void **state)
{
    const char *dir = *state;
    struct fx f;
    compact_config(&f.cfg, 1024);
    f.cfg.min_compaction_lag_ms = 60000;
    struct model m = {.clean_end = -1};
    fx_open(&f, dir, 0);
    for (int i = 0; i < 30; i++) /* old records: hours ago */
        append_keys(f.log, &m, 0, 4, KC_COMPRESS_NONE, TS0 - 3600000);
    int64_t young = m.n;
    for (int i = 0; i < 30; i++) /* young ones: 10 s ago */
        append_keys(f.log, &m, 0, 4, KC_COMPRESS_NONE, TS0 - 10000);
    struct alog_clean_stats st = clean(&f, &m, TS0);
    struct alog_segment_info segs[256];
    int n = alog_segments(f.log, segs, 256);
    int64_t first_young = -1; /* the segment holding the first young record */
    for (int i = 0; i < n && i < 256; i++)
        if (segs[i].base_offset <= young)
            first_young = segs[i].base_offset;
    assert_true(st.end_offset <= first_young);
    assert_true(st.end_offset > 0);
    assert_true(has_offset(f.log, m.n - 1) && has_offset(f.log, young + 4)); /* young: all */
    check_log(f.log, &m);
    /* An hour later they are old enough. */
    st = clean(&f, &m, TS0 + 3600000);
    assert_true(st.end_offset > first_young);
    check_log(f.log, &m);
    fx_close(&f);
    free(m.r);
}

static void test_clean_max_compaction_lag_rolls_and_cleaner_cleans(void **state)
{
    const char *dir = *state;
    struct fx f;
    compact_config(&f.cfg, 1u << 20);
    f.cfg.min_cleanable_ratio = 1.0; /* the ratio alone never triggers */
    f.cfg.max_compaction_lag_ms = 200;
    f.cfg.flush_interval_ms = 10;
    struct model m = {.clean_end = -1};
    struct alog_flusher *fl;
    assert_int_equal(alog_flusher_create(&fl), 0);
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.cleaner_backoff_ms = 20;
    sc.cleaner_dedupe_buffer_size = 1u << 20;
    sc.flusher = fl;
    assert_int_equal(alog_store_open(&f.s, dir, &sc), 0);
    snprintf(f.data, sizeof(f.data), "%s", dir);
    char path[4096];
    fx_path(path, sizeof(path), dir, "c-0");
    assert_int_equal(kc_mkdir_p(path, 0755), 0);
    assert_int_equal(alog_store_add(f.s, "c-0", &f.cfg, &f.log), 0);
    int64_t now = kc_wall_ms();
    for (int i = 0; i < 20; i++)
        append_keys(f.log, &m, 0, 5, KC_COMPRESS_NONE, now);
    kc_sleep_ms(250); /* past max.compaction.lag.ms: the next append rolls */
    append_keys(f.log, &m, 0, 5, KC_COMPRESS_NONE, kc_wall_ms());
    struct alog_info info;
    alog_info(f.log, &info);
    assert_int_equal(info.segments, 2);
    struct alog_store_info si;
    for (int i = 0; i < 500; i++) { /* the cleaner thread gets to it (at most 10 s) */
        alog_store_info(f.s, &si);
        if (si.cleanings > 0)
            break;
        kc_sleep_ms(20);
    }
    assert_true(si.cleanings > 0);
    assert_true(si.cleaner_bytes_written < si.cleaner_bytes_read);
    m.clean_end = atomic_load(&f.log->cleaned_offset);
    assert_int_equal(m.clean_end, 100);
    check_log(f.log, &m);
    fx_close(&f);
    alog_flusher_destroy(fl);
    free(m.r);
}

static void test_clean_cleaner_thread_picks_by_dirty_ratio(void **state)
{
    const char *dir = *state;
    struct fx f;
    compact_config(&f.cfg, 1024);
    f.cfg.min_cleanable_ratio = 0.5;
    struct model m = {.clean_end = -1};
    fx_open(&f, dir, 1);
    for (int i = 0; i < 40; i++)
        append_keys(f.log, &m, 0, 4, KC_COMPRESS_NONE, TS0);
    assert_int_equal(alog_flush(f.log), 0); /* durable: cleanable */
    struct alog_segment_info segs[256];
    int n = alog_segments(f.log, segs, 256);
    assert_true(n > 2 && n <= 256);
    int64_t active = segs[n - 1].base_offset;
    struct alog_store_info si;
    for (int i = 0; i < 500 && atomic_load(&f.log->cleaned_offset) < active; i++)
        kc_sleep_ms(20); /* one pass or more (a pass may start while the flush's index syncs
                            are under way, and stop at the first segment not yet synced) */
    kc_sleep_ms(100);  /* the pass that moved the offset is counted when it returns */
    alog_store_info(f.s, &si);
    assert_true(si.cleanings > 0);
    m.clean_end = atomic_load(&f.log->cleaned_offset);
    assert_int_equal(m.clean_end, active);
    check_log(f.log, &m);
    /* Everything below the active segment clean now: the thread leaves it alone. */
    kc_sleep_ms(100);
    uint64_t done = si.cleanings;
    alog_store_info(f.s, &si);
    assert_int_equal(si.cleanings, done);
    fx_close(&f);
    free(m.r);
}

static void test_clean_refused_for_delete_policy_and_standalone(void **state)
{
    const char *dir = *state;
    struct fx f;
    fx_config(&f.cfg, 1024); /* delete */
    fx_open(&f, dir, 0);
    assert_int_equal(alog_clean(f.log, TS0, NULL), -EINVAL);
    fx_close(&f);
    struct alog *log;
    char path[4096];
    fx_path(path, sizeof(path), dir, "alone");
    compact_config(&f.cfg, 1024);
    assert_int_equal(alog_open(&log, path, &f.cfg, NULL), 0);
    assert_int_equal(alog_clean(log, TS0, NULL), KC_EUNSUPPORTED);
    assert_int_equal(alog_close(log), 0);
}

/* A damaged batch is never given a fresh CRC: the pass stops, nothing is rewritten. */
static void test_clean_bad_crc_stops_and_keeps_the_segment(void **state)
{
    const char *dir = *state;
    struct fx f;
    compact_config(&f.cfg, 1024);
    struct model m = {.clean_end = -1};
    fx_open(&f, dir, 0);
    for (int i = 0; i < 20; i++)
        append_keys(f.log, &m, 0, 4, KC_COMPRESS_NONE, TS0);
    assert_int_equal(alog_flush(f.log), 0);
    char path[4096], ldir[4096];
    log_dir(&f, ldir, sizeof(ldir));
    fx_seg_path(path, sizeof(path), ldir, 0, ".log");
    long before = fx_file_size(path);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 100), 1); /* inside the first batch's records */
    close(fd);
    assert_int_equal(alog_clean(f.log, TS0, NULL), KC_ECORRUPT);
    assert_int_equal(fx_file_size(path), before);
    fx_close(&f);
    free(m.r);
}

/* ---- concurrency ------------------------------------------------------------------- */

struct race {
    struct alog *log;
    _Atomic bool stop;
    _Atomic int64_t appended;
    _Atomic int bad;       /* problems the threads saw (they never assert: cmocka longjmps) */
    _Atomic int64_t reads; /* whole-log reads that checked out */
    _Atomic int64_t cleanings;
    uint64_t seed;
};

/* One batch's records from offset from on: values name their offsets, offsets increase. */
static int soft_batch(const uint8_t *p, size_t len, int64_t from, int64_t *prev)
{
    struct kc_batch_reader br;
    struct kc_record r;
    int rc = kc_batch_validate_deep(p, len, 1u << 24) == (int)len ? 0 : -1;
    if (rc == 0)
        rc = kc_batch_reader_open(&br, p, len, 1u << 24);
    if (rc)
        return rc;
    while ((rc = kc_batch_reader_next(&br, &r)) == 1) {
        char want[32];
        snprintf(want, sizeof(want), "v%020" PRId64, r.offset);
        if (r.offset < from)
            continue;
        if (r.offset <= *prev || (r.value && memcmp(r.value, want, 21) != 0)) {
            rc = -1;
            break;
        }
        *prev = r.offset;
    }
    kc_batch_reader_close(&br);
    return rc;
}

/* The whole log read and checked, for a thread: 0, or not. */
static int soft_read_all(struct alog *log)
{
    int64_t off = alog_start_offset(log), end = alog_end_offset(log), prev = -1;
    int rc = 0;
    while (rc == 0 && off < end) {
        struct kc_writer w;
        int64_t next = off;
        kc_writer_init(&w, 0);
        rc = alog_read_copy(log, off, 8192, &w, &next);
        for (size_t at = 0, size; rc == 0 && at < kc_writer_len(&w); at += size) {
            rc = kc_batch_size(kc_writer_data(&w) + at, kc_writer_len(&w) - at, &size);
            if (rc == 0)
                rc = soft_batch(kc_writer_data(&w) + at, size, off, &prev);
        }
        kc_writer_fini(&w);
        rc = rc ? rc : next > off ? 0 : -1;
        off = next;
    }
    return rc;
}

static void *race_appender(void *arg)
{
    struct race *r = arg;
    uint64_t rs = r->seed;
    while (!atomic_load(&r->stop)) {
        int keys[4];
        bool tombs[4] = {0};
        for (int i = 0; i < 4; i++)
            keys[i] = (int)(kc_test_rand(&rs) % NKEYS);
        size_t len;
        int64_t base = alog_end_offset(r->log), got = -1;
        uint8_t *b = make_batch(keys, tombs, 4, base, (int)(kc_test_rand(&rs) % 5), TS0, &len);
        if (alog_append(r->log, b, len, &got) != 0 || got != base) /* the only writer */
            atomic_fetch_add(&r->bad, 1);
        free(b);
        atomic_store(&r->appended, got + 4);
    }
    return NULL;
}

static void *race_reader(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        if (soft_read_all(r->log) != 0)
            atomic_fetch_add(&r->bad, 1);
        else
            atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void *race_cleaner(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        if (alog_clean(r->log, TS0, NULL) != 0)
            atomic_fetch_add(&r->bad, 1);
        else
            atomic_fetch_add(&r->cleanings, 1);
    }
    return NULL;
}

static void test_clean_concurrent_appends_reads_and_slices(void **state)
{
    const char *dir = *state;
    struct fx f;
    compact_config(&f.cfg, 16384);
    f.cfg.flush_interval_ms = 5;
    snprintf(f.data, sizeof(f.data), "%s", dir);
    struct alog_flusher *fl;
    assert_int_equal(alog_flusher_create(&fl), 0);
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.cleaner_threads = 0;
    sc.flusher = fl;
    assert_int_equal(alog_store_open(&f.s, dir, &sc), 0);
    char path[4096];
    fx_path(path, sizeof(path), dir, "c-0");
    assert_int_equal(kc_mkdir_p(path, 0755), 0);
    assert_int_equal(alog_store_add(f.s, "c-0", &f.cfg, &f.log), 0);
    struct model m = {.clean_end = -1};
    for (int i = 0; i < 20; i++)
        append_keys(f.log, &m, 0, 8, KC_COMPRESS_NONE, TS0);
    /* A slice of the first segment, held across the cleanings that replace it. */
    struct alog_slice slice;
    assert_int_equal(alog_read(f.log, 0, 4096, &slice), 0);
    uint8_t *orig = malloc(slice.len);
    assert_int_equal(kc_pread_full(slice.fd, orig, slice.len, slice.pos), (ssize_t)slice.len);
    struct race r = {.log = f.log, .seed = kc_test_seed() | 1};
    pthread_t t[3];
    assert_int_equal(pthread_create(&t[0], NULL, race_appender, &r), 0);
    assert_int_equal(pthread_create(&t[1], NULL, race_reader, &r), 0);
    assert_int_equal(pthread_create(&t[2], NULL, race_cleaner, &r), 0);
    kc_sleep_ms(1500);
    atomic_store(&r.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&r.bad), 0);
    assert_true(atomic_load(&r.cleanings) > 0);
    assert_true(atomic_load(&r.reads) > 0);
    print_message("%lld cleanings, %lld whole-log reads, %lld records appended\n",
                  (long long)atomic_load(&r.cleanings), (long long)atomic_load(&r.reads),
                  (long long)atomic_load(&r.appended));
    uint8_t *again = malloc(slice.len);
    assert_int_equal(kc_pread_full(slice.fd, again, slice.len, slice.pos), (ssize_t)slice.len);
    assert_memory_equal(orig, again, slice.len); /* the old bytes, undisturbed */
    alog_slice_release(&slice);
    free(orig);
    free(again);
    struct seen_list l = {0};
    read_all(f.log, &l);
    assert_true(l.n > 0);
    free(l.s);
    char ldir[4096];
    log_dir(&f, ldir, sizeof(ldir));
    fx_close(&f);
    assert_int_equal(check_files(ldir), atomic_load(&r.appended));
    alog_flusher_destroy(fl);
    free(m.r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_siphash128_reference_vectors_match),
        cmocka_unit_test(test_clean_offset_map_grows_then_refuses_past_budget),
        T(test_clean_model_random_ops_keep_latest_per_key),
        T(test_clean_crash_at_every_swap_step_loses_nothing),
        T(test_clean_every_codec_recompressed_with_its_codec),
        T(test_clean_tombstone_kept_for_delete_retention_then_removed),
        T(test_clean_min_compaction_lag_leaves_young_segments),
        T(test_clean_max_compaction_lag_rolls_and_cleaner_cleans),
        T(test_clean_cleaner_thread_picks_by_dirty_ratio),
        T(test_clean_refused_for_delete_policy_and_standalone),
        T(test_clean_bad_crc_stops_and_keeps_the_segment),
        T(test_clean_concurrent_appends_reads_and_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
