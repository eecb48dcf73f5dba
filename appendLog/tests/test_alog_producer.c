/*
 * test_alog_producer.c - idempotent producers on a real log: a duplicate answered with its
 * original offsets and not written; refusals leaving the log as it was; plain batches
 * untouched; the state across a clean close (its snapshot at the end), across a crash (a
 * roll's snapshot plus the replay), across damaged, missing and stale snapshots, across
 * retention and across alog_recover cutting records the disk lost; expiry; and two
 * threads racing one producer's batches (each written exactly once).
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
#include <unistd.h>

#include "alog.h"
#include "alog_int.h"
#include "alog_producer.h"
#include "kc_common.h"
#include "kc_fs.h"
#include "kc_test.h"
#include "store_int.h"
#include "support/alog_fixture.h"
#include "support/alog_hooks.h"

/* Producers write with the current clock: a snapshot's producers older than a day would
 * be expired by the open that loads them (producer.id.expiration.ms). */
static int64_t now_ts(void)
{
    return kc_wall_ms();
}

/* An idempotent batch: n records of ~vsize bytes, values "<pid>/<epoch>/<seq>". */
static uint8_t *idem(int64_t pid, int16_t epoch, int32_t seq, int n, size_t vsize, int64_t ts,
                     size_t *len)
{
    struct kc_batch_opts o;
    kc_batch_opts_default(&o);
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, &o, 0);
    char value[512];
    for (int i = 0; i < n; i++) {
        int k = snprintf(value, sizeof(value), "%" PRId64 "/%d/%d", pid, epoch, seq + i);
        size_t vlen = KC_MAX((size_t)k, KC_MIN(vsize, sizeof(value)));
        memset(value + k, '.', vlen - (size_t)k);
        assert_int_equal(kc_batch_builder_add(&b, ts + i, NULL, -1, value, (int32_t)vlen, NULL, 0), 0);
    }
    uint8_t *p;
    assert_int_equal(kc_batch_builder_finish(&b, &p, len), 0);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&b);
    return copy;
}

static int put(struct alog *log, int64_t pid, int16_t epoch, int32_t seq, int n,
               struct alog_appended *a)
{
    size_t len;
    uint8_t *b = idem(pid, epoch, seq, n, 40, now_ts(), &len);
    struct alog_appended tmp;
    int rc = alog_append_batch(log, b, len, a ? a : &tmp);
    free(b);
    return rc;
}

static struct alog *open_at(const char *dir, uint64_t segment_bytes)
{
    struct alog_config cfg;
    fx_config(&cfg, segment_bytes);
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    return log;
}

static bool snapshot_exists(const char *dir, int64_t offset)
{
    char name[64], path[4096];
    snprintf(name, sizeof(name), "%020" PRId64 ".snapshot", offset);
    fx_path(path, sizeof(path), dir, name);
    return access(path, F_OK) == 0;
}

static int count_snapshots(const char *dir, int64_t *lowest)
{
    int n = 0;
    *lowest = INT64_MAX;
    for (int64_t off = 0; off < 5000; off++) { /* the tests' logs stay below 5000 */
        if (snapshot_exists(dir, off)) {
            n++;
            *lowest = KC_MIN(*lowest, off);
        }
    }
    return n;
}

/* ---- the append -------------------------------------------------------------------- */

static void test_alog_producer_duplicate_answered_not_written(void **state)
{
    struct alog *log = open_at(*state, 1 << 20);
    struct alog_appended a, d;
    assert_int_equal(put(log, 7, 0, 0, 3, &a), 0);
    assert_false(a.duplicate);
    assert_int_equal(a.base_offset, 0);
    assert_int_equal(a.last_offset, 2);
    assert_int_equal(a.timestamp, -1);
    fx_append(log, 1, 2, 50, now_ts()); /* a plain batch between: 3..4 */
    assert_int_equal(put(log, 7, 0, 3, 2, &a), 0);
    assert_int_equal(a.base_offset, 5);
    assert_int_equal(alog_end_offset(log), 7);
    assert_int_equal(put(log, 7, 0, 0, 3, &d), 0); /* the first, retried */
    assert_true(d.duplicate);
    assert_int_equal(d.base_offset, 0);
    assert_int_equal(d.last_offset, 2);
    assert_true(d.timestamp > 0);
    assert_int_equal(alog_end_offset(log), 7); /* nothing written */
    int64_t base = -1;
    size_t len;
    uint8_t *b = idem(7, 0, 3, 2, 40, now_ts(), &len);
    assert_int_equal(alog_append(log, b, len, &base), 0); /* the plain call answers it too */
    assert_int_equal(base, 5);
    free(b);
    assert_int_equal(alog_end_offset(log), 7);
    fx_check_reads(log, 3, 5);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(fx_check_files(*state), 7);
}

static void test_alog_producer_refusals_leave_log_unchanged(void **state)
{
    struct alog *log = open_at(*state, 1 << 20);
    assert_int_equal(put(log, 3, 1, 0, 2, NULL), 0);
    assert_int_equal(put(log, 3, 1, 5, 2, NULL), KC_ESEQUENCE); /* a gap */
    assert_int_equal(put(log, 3, 0, 2, 2, NULL), KC_EFENCED);   /* an older epoch */
    assert_int_equal(put(log, 3, 2, 7, 2, NULL), KC_ESEQUENCE); /* a new epoch not at 0 */
    assert_int_equal(put(log, 3, 1, -4, 2, NULL), KC_EMALFORMED);
    assert_int_equal(alog_end_offset(log), 2);
    assert_int_equal(put(log, 3, 1, 2, 2, NULL), 0); /* and the right one still goes in */
    assert_int_equal(alog_end_offset(log), 4);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(fx_check_files(*state), 4);
}

/* Batches without a producer id are not looked at: no state, the same offsets. */
static void test_alog_producer_plain_batches_keep_no_state(void **state)
{
    struct alog *log = open_at(*state, 4096);
    fx_append(log, 60, 3, 60, now_ts());
    struct alog_producer_info info;
    assert_int_equal(alog_producers(log, &info, 1), 0);
    assert_int_equal(log->pstate.count, 0);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(fx_check_files(*state), 180);
}

/* ---- across restarts --------------------------------------------------------------- */

struct written {
    int64_t pid;
    int32_t seq;
    int n;
    int64_t base;
};

/* Three producers interleaved, b batches each of 1..4 records: what each got. */
static struct written *write_mix(struct alog *log, int b, int *count)
{
    struct written *w = calloc((size_t)b * 3, sizeof(*w));
    assert_non_null(w);
    int32_t seq[3] = {0, 0, 0};
    for (int i = 0; i < b * 3; i++) {
        int p = i % 3, n = 1 + (i / 3) % 4;
        struct alog_appended a;
        assert_int_equal(put(log, 100 + p, 0, seq[p], n, &a), 0);
        w[i] = (struct written){100 + p, seq[p], n, a.base_offset};
        seq[p] += n;
    }
    *count = b * 3;
    return w;
}

/* The last five batches of each producer are duplicates with their original offsets,
 * earlier ones are out of order, and each producer's next batch goes in. */
static void expect_state(struct alog *log, const struct written *w, int count)
{
    for (int i = 0; i < count; i++) {
        struct alog_appended d;
        int rc = put(log, w[i].pid, 0, w[i].seq, w[i].n, &d);
        if (i >= count - 15) {
            assert_int_equal(rc, 0);
            assert_true(d.duplicate);
            assert_int_equal(d.base_offset, w[i].base);
        } else {
            assert_int_equal(rc, KC_ESEQUENCE);
        }
    }
    int64_t end = alog_end_offset(log);
    for (int p = 0; p < 3; p++) {
        const struct written *last = &w[count - 3 + p];
        struct alog_appended a;
        assert_int_equal(put(log, last->pid, 0, last->seq + last->n, 1, &a), 0);
        assert_int_equal(a.base_offset, end + p);
    }
}

static void test_alog_producer_clean_close_snapshot_at_end_no_replay(void **state)
{
    struct alog *log = open_at(*state, 1 << 20);
    int count;
    struct written *w = write_mix(log, 10, &count);
    int64_t end = alog_end_offset(log);
    assert_int_equal(alog_close(log), 0);
    assert_true(snapshot_exists(*state, end));

    char name[64], path[4096], *data;
    size_t len;
    int32_t n;
    snprintf(name, sizeof(name), "%020" PRId64 ".snapshot", end);
    fx_path(path, sizeof(path), *state, name);
    assert_int_equal(kc_read_file(path, 1 << 20, &data, &len), 0);
    assert_int_equal(alog_snapshot_decode((uint8_t *)data, len, &n), 0);
    assert_int_equal(n, 15); /* five batches each, oldest first */
    for (int i = 0; i < n; i++) {
        struct alog_snapshot_entry e;
        alog_snapshot_entry_at((uint8_t *)data, i, &e);
        int last = -1; /* the entry is one of the last 15 batches written */
        for (int k = count - 15; k < count; k++)
            if (w[k].pid == e.producer_id && w[k].base + w[k].n - 1 == e.last_offset)
                last = k;
        assert_true(last >= 0);
        assert_int_equal(e.last_sequence, w[last].seq + w[last].n - 1);
        assert_int_equal(e.offset_delta, w[last].n - 1);
    }
    free(data);

    log = open_at(*state, 1 << 20);
    assert_int_equal(log->pstate.count, 3);
    assert_false(log->pstate.dirty); /* loaded from the snapshot at the end: no replay */
    expect_state(log, w, count);
    assert_int_equal(alog_close(log), 0);
    free(w);
}

static void test_alog_producer_crash_replays_after_roll_snapshot(void **state)
{
    struct alog *log = open_at(*state, 4096); /* rolls every ~30 batches */
    int count;
    struct written *w = write_mix(log, 40, &count);
    struct alog_segment_info segs[64];
    int nsegs = alog_segments(log, segs, 64);
    assert_true(nsegs >= 3);
    for (int i = 1; i < nsegs; i++)
        assert_true(snapshot_exists(*state, segs[i].base_offset)); /* one per roll */
    alog__abandon(log); /* kill -9: no close, no snapshot at the end */

    log = open_at(*state, 4096);
    struct alog_info info;
    alog_info(log, &info);
    assert_true(info.recovered);
    assert_int_equal(log->pstate.snap_offset, segs[nsegs - 1].base_offset);
    expect_state(log, w, count);
    assert_int_equal(alog_close(log), 0);
    free(w);
}

/* A snapshot damaged any way is skipped (and deleted): the older one and the log serve. */
static void test_alog_producer_damaged_snapshots_skipped(void **state)
{
    const char *dir = *state;
    struct alog *log = open_at(dir, 4096);
    int count;
    struct written *w = write_mix(log, 25, &count);
    int64_t end = alog_end_offset(log);
    assert_int_equal(alog_close(log), 0);
    char name[64], path[4096];
    snprintf(name, sizeof(name), "%020" PRId64 ".snapshot", end);
    fx_path(path, sizeof(path), dir, name);
    for (int kind = 0; kind < 5; kind++) {
        long size = fx_file_size(path);
        assert_true(size > 10);
        FILE *f = fopen(path, "r+");
        assert_non_null(f);
        if (kind == 0) { /* one bit flipped in an entry */
            assert_int_equal(fseek(f, size - 7, SEEK_SET), 0);
            fputc(0x40, f);
        } else if (kind == 1) { /* the version */
            fputc(0, f);
            fputc(2, f);
        }
        fclose(f);
        if (kind == 2)
            assert_int_equal(truncate(path, size / 2), 0);
        if (kind == 3)
            assert_int_equal(truncate(path, 0), 0);
        if (kind == 4) { /* no snapshot at all: the whole log is replayed */
            int64_t lowest;
            for (int64_t off = 0; off <= end; off++) {
                char n2[64], p2[4096];
                snprintf(n2, sizeof(n2), "%020" PRId64 ".snapshot", off);
                fx_path(p2, sizeof(p2), dir, n2);
                (void)unlink(p2);
            }
            assert_int_equal(count_snapshots(dir, &lowest), 0);
        }
        log = open_at(dir, 4096);
        assert_false(snapshot_exists(dir, end)); /* the damaged one was deleted */
        assert_true(log->pstate.snap_offset < end);
        assert_true(log->pstate.dirty);
        expect_state(log, w, count);
        /* close writes a fresh snapshot; the three probe batches extend every producer */
        for (int p = 0; p < 3; p++) {
            w[count - 3 + p].seq += w[count - 3 + p].n;
            w[count - 3 + p].n = 1;
            w[count - 3 + p].base = end + p;
        }
        /* only the newest batch of each is kept comparable: shrink to the last 3 */
        memmove(w, &w[count - 3], 3 * sizeof(*w));
        count = 3;
        end = alog_end_offset(log);
        assert_int_equal(alog_close(log), 0);
        snprintf(name, sizeof(name), "%020" PRId64 ".snapshot", end);
        fx_path(path, sizeof(path), dir, name);
        assert_true(snapshot_exists(dir, end));
    }
    free(w);
}

/* Recovery cut the log below a snapshot: the snapshot is deleted, and a batch that was cut
 * is taken again when retried (the state must not claim what the log lost). */
static void test_alog_producer_snapshot_past_cut_end_deleted(void **state)
{
    const char *dir = *state;
    struct alog *log = open_at(dir, 1 << 20);
    struct alog_appended a;
    for (int i = 0; i < 6; i++)
        assert_int_equal(put(log, 9, 0, i * 2, 2, &a), 0);
    int64_t end = alog_end_offset(log); /* 12; the last batch is 10..11 */
    assert_int_equal(alog_close(log), 0);
    assert_true(snapshot_exists(dir, end));
    /* The disk loses the last batch and the marker (a crash image). */
    long pos = fx_batch_pos(dir, 0, 10);
    assert_true(pos > 0);
    char path[4096];
    fx_seg_path(path, sizeof(path), dir, 0, ".log");
    assert_int_equal(truncate(path, pos), 0);
    fx_path(path, sizeof(path), dir, ".kafka_cleanshutdown");
    assert_int_equal(unlink(path), 0);

    log = open_at(dir, 1 << 20);
    assert_int_equal(alog_end_offset(log), 10);
    assert_false(snapshot_exists(dir, end));
    assert_int_equal(put(log, 9, 0, 8, 2, &a), 0); /* still there: a duplicate */
    assert_true(a.duplicate);
    assert_int_equal(a.base_offset, 8);
    assert_int_equal(put(log, 9, 0, 10, 2, &a), 0); /* lost: written again, same offsets */
    assert_false(a.duplicate);
    assert_int_equal(a.base_offset, 10);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_producer_retention_deletes_snapshots_keeps_producers(void **state)
{
    const char *dir = *state;
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    int count;
    struct written *w = write_mix(log, 60, &count);
    int64_t lowest;
    int before = count_snapshots(dir, &lowest);
    assert_true(before >= 4);
    assert_int_equal(alog_close(log), 0);
    cfg.retention_bytes = 8192;
    assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    int deleted;
    assert_int_equal(alog_retain(log, now_ts(), &deleted), 0);
    assert_true(deleted > 0);
    int64_t start = alog_start_offset(log);
    int after = count_snapshots(dir, &lowest);
    assert_true(after < before);
    assert_true(lowest >= start); /* none below the new start */
    /* The producers are remembered (KIP-360), though their early batches are gone. */
    expect_state(log, w, count);
    assert_int_equal(alog_close(log), 0);
    free(w);
}

/* alog_recover cuts records the disk lost: the state forgets their batches too. */
static void test_alog_producer_recover_cut_forgets_lost_batches(void **state)
{
    const char *dir = *state;
    struct fx_hooks h;
    fx_hooks_init(&h);
    struct alog *log = open_at(dir, 4096);
    fx_hooks_install(log, &h);
    struct alog_appended a;
    int32_t seq = 0;
    for (; seq < 20; seq += 2)
        assert_int_equal(put(log, 5, 0, seq, 2, &a), 0); /* 0..19, made durable */
    assert_int_equal(alog_flush(log), 0);
    for (; seq < 200; seq += 2)
        assert_int_equal(put(log, 5, 0, seq, 2, &a), 0); /* several rolls, never on disk */
    int64_t lost_end = alog_end_offset(log);
    fx_hooks_fail_fsync(&h, -EIO, true, 0);
    assert_int_equal(alog_flush(log), -EIO);
    fx_hooks_fail_fsync(&h, 0, false, 0);
    assert_int_equal(alog_recover(log), 0);
    assert_int_equal(alog_end_offset(log), 20);
    int64_t lowest;
    (void)count_snapshots(dir, &lowest);
    for (int64_t off = 21; off <= lost_end; off++)
        assert_false(snapshot_exists(dir, off)); /* the lost rolls' snapshots are gone */
    assert_int_equal(put(log, 5, 0, 18, 2, &a), 0); /* durable: still a duplicate */
    assert_true(a.duplicate);
    assert_int_equal(put(log, 5, 0, 196, 2, &a), KC_ESEQUENCE); /* lost: not a duplicate */
    assert_int_equal(put(log, 5, 0, 20, 2, &a), 0); /* the retry of the first lost one */
    assert_false(a.duplicate);
    assert_int_equal(a.base_offset, 20);
    assert_int_equal(alog_close(log), 0);
    fx_hooks_fini(&h);
}

static void test_alog_producer_expire_forgets_idle_and_at_open(void **state)
{
    const char *dir = *state;
    struct alog_config cfg;
    fx_config(&cfg, 1 << 20);
    cfg.producer_id_expiration_ms = 60000;
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    int64_t t = now_ts();
    size_t len;
    struct alog_appended a;
    uint8_t *old = idem(1, 0, 0, 2, 20, t - 120000, &len); /* two minutes ago */
    assert_int_equal(alog_append_batch(log, old, len, &a), 0);
    assert_int_equal(put(log, 2, 0, 0, 2, NULL), 0); /* now */
    struct alog_producer_info info[4];
    assert_int_equal(alog_producers(log, info, 4), 2);
    assert_int_equal(alog_producers_expire(log, t), 1);
    assert_int_equal(alog_producers(log, info, 4), 1);
    assert_int_equal(info[0].producer_id, 2);
    /* Forgotten: its retry is a new producer's batch (the window expiry opens). */
    assert_int_equal(alog_append_batch(log, old, len, &a), 0);
    assert_false(a.duplicate);
    assert_int_equal(alog_close(log), 0);
    /* The snapshot at close holds producer 1 again (it just wrote); an open an hour later
     * drops both: they are older than the expiry when loaded. */
    cfg.producer_id_expiration_ms = 1;
    assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    assert_int_equal(alog_producers(log, info, 4), 0);
    assert_int_equal(alog_close(log), 0);
    free(old);
}

/* ---- the lock ---------------------------------------------------------------------- */

#define RACE_BATCHES 1500
#define RACE_SKEW    3 /* how far one thread may run ahead: the window is five batches */

struct racer {
    struct alog *log;
    const struct racer *peer;
    _Atomic int done; /* batches this thread has had answered */
    int64_t bases[RACE_BATCHES];
    int dups;
};

/* One producer's batches 0..N-1, sent by two threads at once (two connections retrying):
 * each is written once; both callers get the same offsets. A thread never runs more than
 * RACE_SKEW batches ahead of the other, as a client's retries stay within its five
 * requests in flight: a retry older than the window is refused (45), not answered. */
static void *race(void *arg)
{
    struct racer *r = arg;
    for (int32_t s = 0; s < RACE_BATCHES; s++) {
        while (atomic_load(&r->peer->done) < s - RACE_SKEW)
            sched_yield();
        struct alog_appended a;
        int rc;
        while ((rc = put(r->log, 77, 0, s, 1, &a)) == KC_ESEQUENCE)
            sched_yield(); /* the other thread has not written s - 1 yet */
        assert_int_equal(rc, 0);
        r->bases[s] = a.base_offset;
        r->dups += a.duplicate;
        atomic_store(&r->done, s + 1);
    }
    return NULL;
}

static void test_alog_producer_two_threads_one_producer_written_once(void **state)
{
    struct alog *log = open_at(*state, 64 << 10);
    struct racer *r = calloc(2, sizeof(*r));
    assert_non_null(r);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        r[i].log = log;
        r[i].peer = &r[1 - i];
        atomic_init(&r[i].done, 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(alog_end_offset(log), RACE_BATCHES);
    assert_int_equal(r[0].dups + r[1].dups, RACE_BATCHES);
    for (int s = 0; s < RACE_BATCHES; s++) {
        assert_int_equal(r[0].bases[s], s);
        assert_int_equal(r[1].bases[s], s);
    }
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(fx_check_files(*state), RACE_BATCHES);
    free(r);
}

/* A roll's snapshot is written without an fsync; the flusher's checkpoint makes it one. */
static void test_alog_producer_roll_snapshot_synced_by_flush(void **state)
{
    struct alog *log = open_at(*state, 4096);
    int32_t seq = 0;
    while (alog_segments(log, NULL, 0) < 2) {
        assert_int_equal(put(log, 1, 0, seq, 4, NULL), 0);
        seq += 4;
    }
    struct alog_segment_info segs[2];
    assert_int_equal(alog_segments(log, segs, 2), 2);
    assert_int_equal(atomic_load(&log->snap_unsynced), segs[1].base_offset);
    assert_int_equal(alog_flush(log), 0);
    assert_int_equal(atomic_load(&log->snap_unsynced), -1);
    assert_int_equal(alog_close(log), 0);
}

/* ---- a store's logs (lazy opens) ----------------------------------------------------- */

static struct alog *store_log(struct alog_store **s, const char *data, bool create)
{
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    assert_int_equal(alog_store_open(s, data, &sc), 0);
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    struct alog *log;
    if (create) {
        char path[4096];
        fx_path(path, sizeof(path), data, "p-0");
        assert_int_equal(kc_mkdir_p(path, 0755), 0);
    }
    assert_int_equal(alog_store_add_flags(*s, "p-0", &cfg, create ? ALOG_STORE_NEW : 0, &log), 0);
    return log;
}

/* Evicted, the log frees its producers after a snapshot at its end; opened again (by the
 * retry itself), it knows them: the retry is answered with its original offsets. After a
 * crash of the whole store, the same. */
static void test_alog_producer_store_eviction_and_crash_keep_producers(void **state)
{
    char data[4096], image[4096];
    fx_path(data, sizeof(data), *state, "data");
    fx_path(image, sizeof(image), *state, "image");
    struct alog_store *s;
    struct alog *log = store_log(&s, data, true);
    struct alog_appended a;
    for (int32_t seq = 0; seq < 40; seq += 4)
        assert_int_equal(put(log, 9, 0, seq, 4, &a), 0);
    assert_int_equal(a.base_offset, 36);
    pthread_mutex_lock(&s->cache_lock);
    assert_true(alog__evict_claim(log));
    pthread_mutex_unlock(&s->cache_lock);
    assert_int_equal(alog__evict_finish(log), 0);
    assert_int_equal(log->pstate.cap, 0); /* freed with the files */
    assert_true(snapshot_exists(log->dir, 40));
    assert_int_equal(put(log, 9, 0, 36, 4, &a), 0); /* opens it */
    assert_true(a.duplicate);
    assert_int_equal(a.base_offset, 36);
    assert_int_equal(put(log, 9, 0, 40, 4, &a), 0);
    assert_false(a.duplicate);
    fx_copy_dir(data, image); /* the crash: no snapshot at 44 */
    alog__store_abandon(s);
    log = store_log(&s, image, false);
    assert_int_equal(put(log, 9, 0, 40, 4, &a), 0);
    assert_true(a.duplicate);
    assert_int_equal(a.base_offset, 40);
    assert_int_equal(put(log, 9, 0, 48, 4, &a), KC_ESEQUENCE); /* 44 is next */
    assert_int_equal(alog_end_offset(log), 44);
    assert_int_equal(alog_store_close(s), 0);
}

struct epochs_seen {
    int n;
    int64_t base[8];
    int32_t epoch[8];
};

static int on_epoch(void *arg, int64_t base, int32_t epoch)
{
    struct epochs_seen *e = arg;
    if (e->n < 8) {
        e->base[e->n] = base;
        e->epoch[e->n] = epoch;
    }
    e->n++;
    return 0;
}

/* A replicated partition's leader stamps its epoch into each batch (alog_append_epoch): the
 * header carries it, a scan finds it, and a duplicate keeps the epoch it was written in. */
static void test_alog_producer_append_epoch_stamps_the_leader_epoch(void **state)
{
    const char *dir = *state;
    struct alog *log = open_at(dir, 1 << 20);
    struct alog_appended a;
    size_t len;
    uint8_t *b = idem(7, 0, 0, 3, 40, now_ts(), &len);
    uint8_t *again = malloc(len);
    assert_non_null(again);
    memcpy(again, b, len);
    assert_int_equal(alog_append_epoch(log, b, len, 4, &a), 0);
    assert_int_equal(kc_batch_leader_epoch(b), 4); /* stamped in place */
    assert_int_equal(alog_append_epoch(log, again, len, 5, &a), 0);
    assert_true(a.duplicate); /* a retry in a later epoch: answered, not written */
    assert_int_equal(put(log, 8, 0, 0, 2, &a), 0); /* alog_append_batch: epoch 0 */
    struct epochs_seen e = {0};
    assert_int_equal(alog_scan_epochs(log, 0, on_epoch, &e), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.base[0], 0);
    assert_int_equal(e.epoch[0], 4);
    assert_int_equal(e.base[1], 3);
    assert_int_equal(e.epoch[1], 0);
    free(b);
    free(again);
    assert_int_equal(alog_close(log), 0);
}

/* A replicated leader appends at its replica's end (alog_append_epoch_at): a log that ends
 * elsewhere - a heal cut it - writes nothing and learns no producer state (the retry that
 * follows is a first write, not a duplicate). */
static void test_alog_producer_append_at_refuses_another_end(void **state)
{
    const char *dir = *state;
    struct alog *log = open_at(dir, 1 << 20);
    struct alog_appended a;
    size_t len;
    uint8_t *b = idem(7, 0, 0, 3, 40, now_ts(), &len);
    assert_int_equal(alog_append_epoch_at(log, b, len, 2, 0, &a), 0);
    assert_int_equal(a.base_offset, 0);
    uint8_t *next = idem(7, 0, 3, 2, 40, now_ts(), &len);
    assert_int_equal(alog_append_epoch_at(log, next, len, 2, 5, &a), -ESTALE); /* ends at 3 */
    assert_int_equal(alog_append_epoch_at(log, next, len, 2, 1, &a), -ESTALE);
    assert_int_equal(alog_append_epoch_at(log, next, len, 2, -1, &a), -EINVAL);
    assert_int_equal(alog_end_offset(log), 3);
    assert_int_equal(alog_append_epoch_at(log, next, len, 2, 3, &a), 0);
    assert_false(a.duplicate);
    assert_int_equal(a.base_offset, 3);
    assert_int_equal(alog_append_epoch_at(log, next, len, 2, 3, &a), -ESTALE); /* not 5 */
    assert_int_equal(alog_append_epoch_at(log, next, len, 2, 5, &a), 0);
    assert_true(a.duplicate); /* at the right end, the producer check runs as ever */
    assert_int_equal(alog_end_offset(log), 5);
    free(b);
    free(next);
    assert_int_equal(alog_close(log), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_producer_duplicate_answered_not_written),
        T(test_alog_producer_append_epoch_stamps_the_leader_epoch),
        T(test_alog_producer_append_at_refuses_another_end),
        T(test_alog_producer_refusals_leave_log_unchanged),
        T(test_alog_producer_plain_batches_keep_no_state),
        T(test_alog_producer_clean_close_snapshot_at_end_no_replay),
        T(test_alog_producer_crash_replays_after_roll_snapshot),
        T(test_alog_producer_damaged_snapshots_skipped),
        T(test_alog_producer_snapshot_past_cut_end_deleted),
        T(test_alog_producer_retention_deletes_snapshots_keeps_producers),
        T(test_alog_producer_recover_cut_forgets_lost_batches),
        T(test_alog_producer_expire_forgets_idle_and_at_open),
        T(test_alog_producer_two_threads_one_producer_written_once),
        T(test_alog_producer_roll_snapshot_synced_by_flush),
        T(test_alog_producer_store_eviction_and_crash_keep_producers),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
