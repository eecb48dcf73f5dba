/*
 * test_alog_flusher.c - durability: group commit (many waiters, one fsync, counted),
 * concurrent writers, flush.ms and flush.messages, the wait_durable contract, close
 * releasing waiters from the flusher thread, the recovery point's cadence. Fsyncs are held
 * or slowed through the log's I/O seam (support/alog_hooks.h); what happens when they fail
 * is test_alog_faults.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog.h"
#include "alog_int.h"
#include "kc_common.h"
#include "kc_test.h"
#include "support/alog_fixture.h"
#include "support/alog_hooks.h"

#define TS0           1700000000000LL

static struct alog *open_flushed(const char *dir, struct alog_flusher *f, int64_t flush_ms,
                                 int64_t flush_msgs)
{
    struct alog_config cfg;
    fx_config(&cfg, 1 << 20);
    cfg.flush_interval_ms = flush_ms;
    cfg.flush_interval_messages = flush_msgs;
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, f), 0);
    return log;
}

static uint64_t fsyncs(struct alog *log)
{
    struct alog_info info;
    alog_info(log, &info);
    return info.fsyncs;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_alog_group_commit_many_waiters_one_fsync(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = open_flushed(*state, f, -1, -1);
    struct fx_hooks h;
    fx_hooks_init(&h);
    fx_hooks_gate(&h, true);
    fx_hooks_install(log, &h);
    struct fx_tally t;
    fx_tally_init(&t);
    enum { N = 200 };
    fx_append(log, N, 2, 20, TS0);
    uint64_t before = fsyncs(log);
    /* The first waiter starts an fsync, which the gate holds; the others queue behind. */
    assert_int_equal(alog_wait_durable(log, 2, fx_tally_cb, &t), 0);
    fx_hooks_wait_entered(&h, 1);
    for (int i = 1; i < N; i++)
        assert_int_equal(alog_wait_durable(log, 2 * (i + 1), fx_tally_cb, &t), 0);
    assert_int_equal(alog_durable_offset(log), 0);
    fx_hooks_gate(&h, false);
    fx_tally_wait(&t, N);
    assert_int_equal(t.errors, 0);
    assert_false(pthread_equal(t.thread, pthread_self())); /* from the flusher thread */
    assert_int_equal(fsyncs(log) - before, 1);             /* one fsync for 200 waiters */
    assert_int_equal(alog_durable_offset(log), 2 * N);
    assert_int_equal(alog_wait_durable(log, 2 * N, fx_tally_cb, &t), 1); /* already durable */
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
    fx_hooks_fini(&h);
}

struct writer_arg {
    struct alog *log;
    uint8_t *batch; /* built on the test thread: cmocka asserts belong there */
    size_t len;
    int rounds;
    int failures;
};

static void *writer_main(void *p)
{
    struct writer_arg *a = p;
    struct fx_tally t;
    fx_tally_init(&t);
    for (int i = 0; i < a->rounds; i++) {
        int64_t base;
        int rc = alog_append(a->log, a->batch, a->len, &base);
        if (rc) {
            a->failures++;
            continue;
        }
        int w = alog_wait_durable(a->log, base + 1, fx_tally_cb, &t);
        if (w == 0) {
            pthread_mutex_lock(&t.m);
            while (t.done < i + 1)
                pthread_cond_wait(&t.c, &t.m);
            pthread_mutex_unlock(&t.m);
        } else if (w == 1) {
            fx_tally_cb(&t, 0);
        } else {
            a->failures++;
        }
    }
    a->failures += t.errors;
    return NULL;
}

static void test_alog_group_commit_concurrent_writers_fewer_fsyncs(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = open_flushed(*state, f, -1, -1);
    struct fx_hooks h;
    fx_hooks_init(&h);
    fx_hooks_delay(&h, 3); /* a disk slower than tmpfs makes the grouping visible */
    fx_hooks_install(log, &h);
    enum { W = 8, R = 40 };
    struct writer_arg args[W];
    pthread_t th[W];
    uint64_t before = fsyncs(log);
    for (int i = 0; i < W; i++) {
        args[i] = (struct writer_arg){.log = log, .rounds = R};
        args[i].batch = fx_batch(0, 1, 50, TS0, &args[i].len);
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &args[i]), 0);
    }
    for (int i = 0; i < W; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
        free(args[i].batch);
    }
    uint64_t n = fsyncs(log) - before;
    printf("# %d durable appends from %d writers took %llu fsyncs (%.1f per fsync)\n", W * R, W,
           (unsigned long long)n, (double)(W * R) / (double)(n ? n : 1));
    assert_true(n >= 1);
    assert_true(n * 2 <= W * R); /* never one per request: here at most one per two */
    assert_int_equal(alog_durable_offset(log), W * R);
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
    fx_hooks_fini(&h);
}

static void wait_durable_poll(struct alog *log, int64_t offset)
{
    int64_t deadline = kc_mono_ms() + FX_WAIT_LIMIT_MS;
    while (alog_durable_offset(log) < offset && kc_mono_ms() < deadline)
        kc_sleep_ms(2);
    assert_true(alog_durable_offset(log) >= offset);
}

static void test_alog_flush_ms_makes_durable_without_waiters(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = open_flushed(*state, f, 20, -1);
    for (int round = 1; round <= 3; round++) {
        fx_append(log, 5, 2, 20, TS0);
        wait_durable_poll(log, 10 * round);
    }
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
}

static void test_alog_flush_messages_threshold_triggers_flush(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = open_flushed(*state, f, -1, 100);
    fx_append(log, 25, 2, 20, TS0); /* 50 messages: below the threshold */
    kc_sleep_ms(100);               /* checking an absence: nothing may flush meanwhile */
    assert_int_equal(alog_durable_offset(log), 0);
    fx_append(log, 25, 2, 20, TS0); /* 100: crosses it */
    wait_durable_poll(log, 100);
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
}

static void test_alog_wait_durable_contract_edges(void **state)
{
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
    struct fx_tally t;
    fx_tally_init(&t);
    assert_int_equal(alog_wait_durable(log, 0, fx_tally_cb, &t), KC_EUNSUPPORTED); /* no flusher */
    assert_int_equal(alog_close(log), 0);

    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    log = open_flushed(*state, f, -1, -1);
    assert_int_equal(alog_wait_durable(log, 0, fx_tally_cb, &t), 1);
    fx_append(log, 2, 3, 20, TS0);
    assert_int_equal(alog_wait_durable(log, 7, fx_tally_cb, &t), KC_EOFFSET); /* past the end */
    assert_int_equal(alog_flush(log), 0);
    assert_int_equal(alog_durable_offset(log), 6);
    assert_int_equal(alog_wait_durable(log, 6, fx_tally_cb, &t), 1);
    assert_int_equal(t.done, 0); /* a 1 means the callback is never called */
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
}

static void test_alog_close_releases_waiters_before_returning(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = open_flushed(*state, f, -1, -1);
    struct fx_hooks h;
    fx_hooks_init(&h);
    fx_hooks_gate(&h, true);
    fx_hooks_install(log, &h);
    struct fx_tally t;
    fx_tally_init(&t);
    fx_append(log, 10, 1, 20, TS0);
    for (int i = 1; i <= 10; i++)
        assert_int_equal(alog_wait_durable(log, i, fx_tally_cb, &t), 0);
    fx_hooks_wait_entered(&h, 1);
    fx_hooks_gate(&h, false);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(t.done, 10); /* all called back, with 0, before close returned */
    assert_int_equal(t.errors, 0);
    assert_false(pthread_equal(t.thread, pthread_self()));
    alog_flusher_destroy(f);
    fx_hooks_fini(&h);
}

/* The recovery point file's offset (-1 if none). */
static int64_t recovery_point(const char *dir)
{
    char path[4096], *text;
    size_t len;
    fx_path(path, sizeof(path), dir, "recovery-point-offset-checkpoint");
    if (kc_read_file(path, 4096, &text, &len) != 0)
        return -1;
    char *last = strrchr(text, ' ');
    int64_t v = last ? strtoll(last + 1, NULL, 10) : -1;
    free(text);
    return v;
}

static void test_alog_flusher_checkpoints_recovery_point_at_roll(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    cfg.flush_interval_ms = 10;
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, f), 0);
    fx_append(log, 60, 2, 100, TS0); /* ~15 segments */
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    int64_t active_base = segs[n - 1].base_offset;
    int64_t deadline = kc_mono_ms() + FX_WAIT_LIMIT_MS;
    while (recovery_point(*state) < active_base && kc_mono_ms() < deadline)
        kc_sleep_ms(5);
    assert_true(recovery_point(*state) >= active_base);
    alog__abandon(log); /* crash: only the active segment needs re-reading */
    alog_flusher_destroy(f);
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    struct alog_info info;
    alog_info(log, &info);
    assert_true(info.recovered);
    assert_int_equal(info.indexes_rebuilt, 1);
    assert_int_equal(info.end_offset, 120);
    fx_check_reads(log, 0, 120);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_one_flusher_serves_many_logs(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    enum { LOGS = 4 };
    struct alog *logs[LOGS];
    struct fx_tally t;
    fx_tally_init(&t);
    for (int i = 0; i < LOGS; i++) {
        char dir[4096], name[16];
        snprintf(name, sizeof(name), "p-%d", i);
        fx_path(dir, sizeof(dir), *state, name);
        logs[i] = open_flushed(dir, f, -1, -1);
        fx_append(logs[i], 5 + i, 1, 20, TS0);
    }
    for (int i = 0; i < LOGS; i++)
        assert_int_equal(alog_wait_durable(logs[i], 5 + i, fx_tally_cb, &t), 0);
    fx_tally_wait(&t, LOGS);
    assert_int_equal(t.errors, 0);
    for (int i = 0; i < LOGS; i++) {
        assert_int_equal(alog_durable_offset(logs[i]), 5 + i);
        assert_int_equal(fsyncs(logs[i]), 1);
        assert_int_equal(alog_close(logs[i]), 0);
    }
    alog_flusher_destroy(f);
}

/* A waiter's pass visits its own log, not every log of the flusher: 200 acknowledged
 * writes to one of 64 logs visit some 200 logs, plus 64 per full pass (a full pass per
 * waiter would be 12,800); another log's flush.ms (50) deadline, made known by its first
 * undurable append, still makes it durable with no waiter. */
static void test_alog_waiter_pass_visits_only_kicked_logs(void **state)
{
    enum { LOGS = 64, N = 200 };
    struct alog_flusher *f;
    struct alog *logs[LOGS];
    struct alog_flusher_stats a, b;
    assert_int_equal(alog_flusher_create(&f), 0);
    for (int i = 0; i < LOGS; i++) {
        char dir[4096], name[16];
        snprintf(name, sizeof(name), "p-%d", i);
        fx_path(dir, sizeof(dir), *state, name);
        logs[i] = open_flushed(dir, f, i == 1 ? 50 : -1, -1);
    }
    fx_append(logs[1], 3, 1, 20, TS0); /* durable only by its flush.ms deadline */
    alog_flusher_stats(f, &a);
    int64_t t0 = kc_mono_ms();
    for (int i = 1; i <= N; i++) {
        struct fx_tally t;
        fx_tally_init(&t);
        fx_append(logs[0], 1, 1, 20, TS0);
        int rc = alog_wait_durable(logs[0], i, fx_tally_cb, &t);
        assert_true(rc == 0 || rc == 1);
        if (rc == 0)
            fx_tally_wait(&t, 1);
        assert_int_equal(t.errors, 0);
    }
    int64_t ms = kc_mono_ms() - t0;
    alog_flusher_stats(f, &b);
    uint64_t full = b.full_passes - a.full_passes, visits = b.visits - a.visits;
    print_message("# %d waits in %lld ms: %llu visits, %llu full passes\n", N, (long long)ms,
                  (unsigned long long)visits, (unsigned long long)full);
    assert_true(full <= 2 + (uint64_t)ms / 50); /* the deadline's, and the 1 s floor's */
    /* each wait's own visit (a second when its kick lands during the pass), log 1's,
     * and every log once per full pass: far below one full pass per wait */
    assert_true(visits <= 2 * N + (full + 1) * LOGS);
    assert_true(visits < (uint64_t)N * LOGS / 8);
    wait_durable_poll(logs[1], 3);
    for (int i = 0; i < LOGS; i++)
        assert_int_equal(alog_close(logs[i]), 0);
    alog_flusher_destroy(f);
}

static void test_alog_recovery_point_not_written_on_every_fsync(void **state)
{
    struct alog_flusher *f;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = open_flushed(*state, f, -1, -1);
    struct fx_tally t;
    fx_tally_init(&t);
    for (int i = 0; i < 20; i++) { /* 20 durable appends, no roll, well within 5 s */
        fx_append(log, 1, 1, 20, TS0);
        int w = alog_wait_durable(log, i + 1, fx_tally_cb, &t);
        assert_true(w == 0 || w == 1);
        if (w == 1)
            fx_tally_cb(&t, 0);
        fx_tally_wait(&t, i + 1);
    }
    assert_true(fsyncs(log) >= 2);
    assert_int_equal(recovery_point(*state), -1); /* not yet: it is a periodic hint */
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(recovery_point(*state), 20); /* and at close */
    alog_flusher_destroy(f);
}

/* alog_counters: appended bytes and records count every append; after a flush the durable
 * bytes catch up exactly (nothing appended meanwhile); the flusher's fsync histogram counts
 * every fdatasync it made, and its buckets add up to no more than its count. */
static void test_alog_counters_and_fsync_histogram(void **state)
{
    struct alog_flusher *f;
    struct alog_counters c;
    struct alog_flusher_stats st;
    assert_int_equal(alog_flusher_create(&f), 0);
    struct alog *log = open_flushed(*state, f, -1, -1);
    size_t len;
    uint8_t *b = fx_batch(0, 4, 20, TS0, &len);
    assert_non_null(b);
    fx_append(log, 3, 4, 20, TS0);
    alog_counters(log, &c);
    assert_int_equal(c.end_offset, 12);
    assert_int_equal(c.appended_records, 12);
    assert_int_equal(c.appended_bytes, 3 * len);
    assert_true(c.durable_bytes <= c.appended_bytes);
    assert_int_equal(alog_flush(log), 0);
    alog_counters(log, &c);
    assert_int_equal(c.durable_offset, 12);
    assert_int_equal(c.durable_bytes, c.appended_bytes);
    alog_flusher_stats(f, &st);
    struct alog_info ai;
    alog_info(log, &ai);
    assert_int_equal(st.count, ai.fsyncs);
    uint64_t in_buckets = 0;
    for (int i = 0; i < ALOG_FSYNC_BUCKETS; i++)
        in_buckets += st.buckets[i];
    assert_true(st.count >= 1 && in_buckets <= st.count);
    assert_true(st.sum_seconds > 0);
    free(b);
    assert_int_equal(alog_close(log), 0);
    alog_flusher_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_group_commit_many_waiters_one_fsync),
        T(test_alog_group_commit_concurrent_writers_fewer_fsyncs),
        T(test_alog_flush_ms_makes_durable_without_waiters),
        T(test_alog_flush_messages_threshold_triggers_flush),
        T(test_alog_wait_durable_contract_edges),
        T(test_alog_close_releases_waiters_before_returning),
        T(test_alog_flusher_checkpoints_recovery_point_at_roll),
        T(test_alog_one_flusher_serves_many_logs),
        T(test_alog_waiter_pass_visits_only_kicked_logs),
        T(test_alog_recovery_point_not_written_on_every_fsync),
        T(test_alog_counters_and_fsync_histogram),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
