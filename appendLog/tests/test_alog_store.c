/*
 * test_alog_store.c - a data directory of logs: lazy opening, the bounded cache of open
 * files, slices across evictions, prepare without blocking, EMFILE, clean and unclean
 * restarts that know every offset without opening logs, migration from per-partition
 * checkpoints, live settings, and all of it from several threads at once.
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
#include <sys/resource.h>
#include <unistd.h>

#include "support/alog_fixture.h"
#include "alog_int.h"
#include "kc_common.h"
#include "kc_test.h"
#include "store_int.h"

#define TS0 1700000000000LL

static struct alog_store *open_store(const char *dir, int64_t max_files)
{
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.max_open_files = max_files;
    struct alog_store *s;
    int rc = alog_store_open(&s, dir, &sc);
    if (rc)
        fail_msg("alog_store_open(%s): %s", dir, kc_strerror(rc));
    return s;
}

/* Add a log; with ALOG_STORE_NEW make its directory first, as partitioning does. */
static struct alog *add(struct alog_store *s, const char *name, unsigned flags)
{
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    struct alog *log;
    if (flags & ALOG_STORE_NEW) {
        char path[4096];
        fx_path(path, sizeof(path), s->dir, name);
        assert_int_equal(kc_mkdir_p(path, 0755), 0);
    }
    int rc = alog_store_add_flags(s, name, &cfg, flags, &log);
    if (rc)
        fail_msg("alog_store_add(%s): %s", name, kc_strerror(rc));
    return log;
}

static void add_many(struct alog_store *s, struct alog **logs, int n, unsigned flags)
{
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "t-%d", i);
        logs[i] = add(s, name, flags);
    }
}

static struct alog_store_info info_of(struct alog_store *s)
{
    struct alog_store_info info;
    alog_store_info(s, &info);
    return info;
}

static void test_store_idle_logs_hold_no_files(void **state)
{
    const char *dir = *state;
    int fds = kc_test_fd_count();
    struct alog_store *s = open_store(dir, 1000);
    int base_fds = fx_fd_count(dir); /* the store's lock, its directory, its journal */
    assert_int_equal(base_fds, 3);
    struct alog *logs[200];
    add_many(s, logs, 200, ALOG_STORE_NEW);
    assert_int_equal(fx_fd_count(dir), base_fds);
    assert_int_equal(fx_map_count(dir), 0);
    for (int i = 0; i < 200; i++) { /* offsets without opening */
        assert_int_equal(alog_end_offset(logs[i]), 0);
        assert_int_equal(alog_start_offset(logs[i]), 0);
    }
    struct alog_slice sl;
    assert_int_equal(alog_read(logs[7], 0, 100, &sl), KC_EEMPTY); /* a long-poll at the end */
    assert_int_equal(info_of(s).open_logs, 0);
    for (int i = 0; i < 10; i++)
        fx_append(logs[i], 3, 2, 40, TS0);
    struct alog_store_info info = info_of(s);
    assert_int_equal(info.open_logs, 10);
    assert_int_equal(info.open_files, 10); /* one descriptor per open log */
    assert_int_equal(fx_fd_count(dir), base_fds + 10);
    assert_int_equal(fx_map_count(dir), 20); /* its two indexes, mapped */
    assert_int_equal(alog_store_close(s), 0);
    assert_int_equal(kc_test_fd_count(), fds);
    assert_int_equal(fx_map_count(dir), 0);
}

/* Appends round-robin over 40 logs with room for 6 files: the cache closes the least
 * recently used, and every record reads back (reopening what was closed). */
static void test_store_cache_keeps_files_within_max(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 6);
    struct alog *logs[40];
    add_many(s, logs, 40, ALOG_STORE_NEW);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 40; i++) {
            fx_append(logs[i], 1, 3, 40, TS0);
            assert_true(info_of(s).open_files <= 6);
        }
    }
    struct alog_store_info info = info_of(s);
    assert_true(info.evictions > 100);
    print_message("%llu opens, %llu evictions for 200 appends to 40 logs in 6 files\n",
                  (unsigned long long)info.opens, (unsigned long long)info.evictions);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(alog_end_offset(logs[i]), 15);
        fx_check_reads(logs[i], 0, 15);
    }
    assert_int_equal(alog_store_close(s), 0);
}

/* A slice keeps its segment's descriptor while the cache closes its log around it. */
static void test_store_slice_survives_eviction(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 2);
    struct alog *logs[6];
    add_many(s, logs, 6, ALOG_STORE_NEW);
    fx_append(logs[0], 4, 3, 40, TS0);
    struct alog_slice sl;
    assert_int_equal(alog_read(logs[0], 0, 1 << 20, &sl), 0);
    for (int i = 1; i < 6; i++) /* evicts log 0 */
        fx_append(logs[i], 1, 1, 40, TS0);
    assert_int_equal(atomic_load(&logs[0]->state), ALOG_COLD);
    struct alog_store_info info = info_of(s); /* the slice's file counts against the cache */
    assert_int_equal(info.open_files, info.open_logs + 1);
    assert_true(info.open_files <= 2);
    uint8_t *buf = malloc(sl.len);
    assert_int_equal(kc_pread_full(sl.fd, buf, sl.len, sl.pos), (ssize_t)sl.len);
    struct kc_batch_header h;
    assert_true(kc_batch_validate(buf, sl.len, &h) > 0);
    assert_int_equal(h.base_offset, 0);
    free(buf);
    alog_slice_release(&sl);
    assert_int_equal(info_of(s).open_files, info_of(s).open_logs);
    fx_check_reads(logs[0], 0, 12);
    assert_int_equal(alog_store_close(s), 0);
}

struct ready_probe {
    struct alog_ready r;
    pthread_mutex_t m;
    pthread_cond_t c;
    int calls;
    pthread_t thread;
};

static void on_ready(struct alog_ready *r)
{
    struct ready_probe *p = r->arg;
    pthread_mutex_lock(&p->m);
    p->calls++;
    p->thread = pthread_self();
    pthread_cond_signal(&p->c);
    pthread_mutex_unlock(&p->m);
}

static void test_store_prepare_opens_on_the_store_thread(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 100);
    struct alog *log = add(s, "p-0", ALOG_STORE_NEW);
    struct ready_probe p = {.r = {.fn = on_ready}, .m = PTHREAD_MUTEX_INITIALIZER,
                            .c = PTHREAD_COND_INITIALIZER};
    p.r.arg = &p;
    assert_int_equal(alog_prepare(log, &p.r), 0); /* closed: queued */
    pthread_mutex_lock(&p.m);
    while (p.calls == 0)
        pthread_cond_wait(&p.c, &p.m);
    pthread_mutex_unlock(&p.m);
    assert_int_equal(p.r.err, 0);
    assert_false(pthread_equal(p.thread, pthread_self()));
    int64_t t0 = kc_mono_ms(); /* the store thread lets go of its own pins after the call */
    while (atomic_load(&log->pins) != 1 && kc_mono_ms() - t0 < 10000)
        kc_sleep_ms(1);
    assert_int_equal(atomic_load(&log->pins), 1); /* pinned for us */
    assert_false(alog_prepare_cancel(log, &p.r));   /* it ran */
    fx_append(log, 2, 2, 40, TS0); /* cannot block on an open: it is pinned */
    assert_int_equal(alog_prepare(log, &p.r), 1); /* open now: ready at once, pinned again */
    alog_unpin(log);
    alog_unpin(log);
    assert_int_equal(atomic_load(&log->pins), 0);
    assert_int_equal(alog_store_close(s), 0);
}

/* The process runs out of descriptors: the cache closes logs nobody uses and the open goes
 * on; with every open log pinned, KC_ENOFILES. */
static void test_store_emfile_makes_room_or_enofiles(void **state)
{
    const char *dir = *state;
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    struct alog_store *s = open_store(dir, 100000); /* the cache itself never trims */
    struct alog *logs[60];
    add_many(s, logs, 60, ALOG_STORE_NEW);
    low = old;
    low.rlim_cur = (rlim_t)kc_test_fd_count() + 24; /* room for about 20 open logs */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    for (int i = 0; i < 60; i++)
        fx_append(logs[i], 1, 1, 40, TS0);
    struct alog_store_info info = info_of(s);
    assert_true(info.emfile_retries > 0);
    assert_true(info.evictions > 0);
    int pinned = 0;
    for (int i = 0; i < 60; i++) { /* pin every open log */
        if (atomic_load(&logs[i]->state) == ALOG_OPEN && alog_pin(logs[i]) == 0)
            pinned++;
    }
    int rc = 0;
    for (int i = 0; i < 60 && rc == 0; i++) {
        if (atomic_load(&logs[i]->state) == ALOG_OPEN)
            continue;
        rc = alog_pin(logs[i]);
        if (rc == 0)
            pinned++;
    }
    assert_int_equal(rc, KC_ENOFILES); /* retriable, never an unknown error */
    print_message("%d logs pinned open before KC_ENOFILES (%llu EMFILE retries)\n", pinned,
                  (unsigned long long)info_of(s).emfile_retries);
    for (int i = 0; i < 60; i++)
        while (atomic_load(&logs[i]->pins) > 0)
            alog_unpin(logs[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(alog_store_close(s), 0);
}

/* After a clean close, the checkpoints give every offset: nothing is opened to know them. */
static void test_store_clean_restart_opens_nothing(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 100);
    struct alog *logs[30];
    add_many(s, logs, 30, ALOG_STORE_NEW);
    for (int i = 0; i < 30; i++)
        fx_append(logs[i], i % 4, 2, 40, TS0);
    assert_int_equal(alog_store_close(s), 0);
    s = open_store(dir, 100);
    add_many(s, logs, 30, 0);
    assert_true(info_of(s).clean_start);
    for (int i = 0; i < 30; i++) {
        assert_int_equal(alog_end_offset(logs[i]), 2 * (i % 4));
        assert_int_equal(alog_start_offset(logs[i]), 0);
    }
    assert_int_equal(info_of(s).opens, 0);
    assert_int_equal(info_of(s).unknown_logs, 0);
    fx_check_reads(logs[3], 0, 6);
    assert_int_equal(alog_store_close(s), 0);
}

/*
 * kill -9 (the store let go without a flush, its directory copied as the page cache holds
 * it): only the logs the journal lists are unknown, and a log that was opened again after
 * the checkpoint forgot it is listed as soon as it opened (nothing fsynced yet); the others' offsets come from the
 * checkpoint at once, and the sweep recovers the unknown ones in the background.
 */
static void test_store_crash_recovers_only_journaled_logs(void **state)
{
    const char *dir = *state;
    char data[4096], image[4096];
    fx_path(data, sizeof(data), dir, "data");
    fx_path(image, sizeof(image), dir, "image");
    struct alog_store *s = open_store(data, 100);
    struct alog *logs[20];
    add_many(s, logs, 20, ALOG_STORE_NEW);
    for (int i = 0; i < 20; i++)
        fx_append(logs[i], 2, 2, 40, TS0);
    for (int i = 5; i < 20; i++) { /* all but 0-4 closed: flushed, their end recorded */
        pthread_mutex_lock(&s->cache_lock);
        assert_true(alog__evict_claim(logs[i]));
        pthread_mutex_unlock(&s->cache_lock);
        assert_int_equal(alog__evict_finish(logs[i]), 0);
    }
    assert_int_equal(alog_store_checkpoint(s), 0); /* now the journal forgets 5-19 */
    fx_append(logs[0], 3, 2, 40, TS0);              /* and 0-4 go on */
    fx_append(logs[7], 1, 2, 40, TS0); /* a closed log opened again by an append: its
                                        * journal line is in the page cache at once */
    fx_copy_dir(data, image);                       /* the crash image */
    alog__store_abandon(s);
    s = open_store(image, 100);
    add_many(s, logs, 20, 0);
    struct alog_store_info info = info_of(s);
    assert_false(info.clean_start);
    assert_true(info.unknown_logs <= 6); /* the sweep may have started already */
    for (int i = 5; i < 20; i++) /* from the checkpoint; 7 recovered past it */
        assert_int_equal(alog_end_offset(logs[i]), i == 7 ? 6 : 4);
    assert_int_equal(alog_end_offset(logs[0]), 10);   /* opened (or swept) and recovered */
    for (int i = 1; i < 5; i++)
        assert_int_equal(alog_end_offset(logs[i]), 4);
    int64_t t0 = kc_mono_ms(); /* the sweep's batch: recovered, then one syncfs */
    bool unsynced = true;
    while ((info_of(s).unknown_logs > 0 || unsynced) && kc_mono_ms() - t0 < 10000) {
        kc_sleep_ms(5);
        unsynced = false;
        for (int i = 0; i < 8; i++) /* every log of the batch, not only the first */
            unsynced |= atomic_load(&logs[i]->repair_unsynced);
    }
    assert_false(unsynced);
    assert_int_equal(info_of(s).unknown_logs, 0);
    for (int i = 0; i < 20; i++)
        fx_check_reads(logs[i], 0, alog_end_offset(logs[i]));
    assert_int_equal(alog_store_close(s), 0);
}

/* A partition directory from before stores (its own checkpoints and marker) is read at
 * its first open; once the store lists it, its own files go. */
static void test_store_migrates_per_partition_checkpoints(void **state)
{
    const char *dir = *state;
    char part[4096], path[4096];
    fx_path(part, sizeof(part), dir, "old-0");
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    struct alog *log;
    assert_int_equal(alog_open(&log, part, &cfg, NULL), 0);
    fx_append(log, 10, 3, 40, TS0);
    assert_int_equal(alog_close(log), 0); /* its own marker and checkpoints */
    struct alog_store *s = open_store(dir, 100);
    log = add(s, "old-0", 0);
    assert_int_equal(alog_end_offset(log), 30); /* opens it: its own files say clean */
    struct alog_info ai;
    alog_info(log, &ai);
    assert_false(ai.recovered);
    fx_check_reads(log, 0, 30);
    assert_int_equal(alog_store_close(s), 0);
    s = open_store(dir, 100);
    log = add(s, "old-0", 0);
    assert_int_equal(alog_end_offset(log), 30); /* from the store's checkpoint, unopened */
    assert_int_equal(info_of(s).opens, 0);
    fx_append(log, 1, 1, 40, TS0); /* the first open with the store's line retires them */
    fx_path(path, sizeof(path), part, "recovery-point-offset-checkpoint");
    assert_int_equal(fx_file_size(path), -1);
    fx_path(path, sizeof(path), part, ".kafka_cleanshutdown");
    assert_int_equal(fx_file_size(path), -1);
    assert_int_equal(alog_store_close(s), 0);
}

/* Retention judges a closed log from what it remembered: one segment, never opened. */
static void test_store_retention_leaves_idle_logs_closed(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 100);
    struct alog *logs[10];
    add_many(s, logs, 10, ALOG_STORE_NEW);
    assert_int_equal(alog_store_close(s), 0);
    s = open_store(dir, 100);
    add_many(s, logs, 10, 0);
    for (int i = 0; i < 10; i++) {
        int deleted = -1;
        assert_int_equal(alog_retain(logs[i], kc_wall_ms() + 365LL * 86400000, &deleted), 0);
        assert_int_equal(deleted, 0);
    }
    assert_int_equal(info_of(s).opens, 0);
    assert_int_equal(alog_store_close(s), 0);
}

/* retain_held (a replicated broker's store): retention deletes nothing from a log until its
 * limit is first set - a replica's HW, known only once the replica is loaded - and then
 * obeys it; a store without it deletes at once. */
static void test_store_retain_held_until_a_limit_is_set(void **state)
{
    const char *dir = *state;
    for (int held = 0; held <= 1; held++) {
        struct alog_store_config sc;
        alog_store_config_init(&sc);
        sc.retain_held = held;
        struct alog_store *s;
        assert_int_equal(alog_store_open(&s, dir, &sc), 0);
        struct alog_config cfg;
        fx_config(&cfg, 4096);
        cfg.retention_bytes = 0; /* everything but the active segment may go */
        char name[16];
        snprintf(name, sizeof(name), "r-%d", held);
        char path[4096];
        fx_path(path, sizeof(path), dir, name);
        assert_int_equal(kc_mkdir_p(path, 0755), 0);
        struct alog *log;
        assert_int_equal(alog_store_add_flags(s, name, &cfg, ALOG_STORE_NEW, &log), 0);
        fx_append(log, 80, 3, 100, TS0);
        struct alog_segment_info segs[64];
        int n = alog_segments(log, segs, 64);
        assert_true(n >= 4);
        int deleted = -1;
        assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
        assert_int_equal(deleted, held ? 0 : n - 1);
        if (held) {
            alog_set_retain_limit(log, segs[2].base_offset); /* the HW, once known */
            assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
            assert_int_equal(deleted, 2);
            assert_int_equal(alog_start_offset(log), segs[2].base_offset);
        }
        assert_int_equal(alog_store_close(s), 0);
    }
}

/* Settings change under a running appender: rolls follow the new segment.bytes, retention
 * the new retention.bytes. */
struct appender {
    struct alog *log;
    atomic_bool stop;
    int batches;
};

static void *append_main(void *arg)
{
    struct appender *a = arg;
    while (!atomic_load(&a->stop) && a->batches < 3000) {
        fx_append(a->log, 1, 2, 100, TS0);
        a->batches++;
    }
    return NULL;
}

static void test_store_live_config_changes(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 100);
    struct alog *log = add(s, "c-0", ALOG_STORE_NEW);
    struct appender a = {.log = log};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, append_main, &a), 0);
    struct alog_config cfg;
    for (int i = 0; i < 50; i++) {
        alog_get_config(log, &cfg);
        cfg.segment_bytes = i % 2 ? 2048 : 1 << 20;
        cfg.flush_interval_messages = i % 3 ? -1 : 100;
        assert_int_equal(alog_set_config(log, &cfg), 0);
        kc_sleep_ms(1);
    }
    cfg.segment_bytes = 0;
    assert_int_equal(alog_set_config(log, &cfg), -EINVAL); /* refused whole */
    alog_get_config(log, &cfg);
    assert_int_equal(cfg.segment_bytes, 2048);
    atomic_store(&a.stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    fx_append(log, 30, 2, 100, TS0);
    struct alog_info ai;
    alog_info(log, &ai);
    assert_true(ai.segments >= 4); /* 30 batches of ~290 B in 2 KiB segments */
    cfg.retention_bytes = 4096;
    assert_int_equal(alog_set_config(log, &cfg), 0);
    int deleted;
    assert_int_equal(alog_retain(log, kc_wall_ms(), &deleted), 0);
    assert_true(deleted > 0);
    fx_check_reads(log, alog_start_offset(log), alog_end_offset(log));
    assert_int_equal(alog_store_close(s), 0);
}

/* Appenders and readers on 24 logs with room for 5 files, evicting all the time. */
struct worker {
    struct alog **logs;
    int n, id;
    uint64_t seed;
    long ops;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 300; i++) {
        struct alog *log = w->logs[kc_test_rand(&w->seed) % (uint64_t)w->n];
        if (kc_test_rand(&w->seed) % 2) {
            struct alog_slice sl;
            int64_t end = alog_end_offset(log);
            int rc = end > 0 ? alog_read(log, (int64_t)(kc_test_rand(&w->seed) % (uint64_t)end),
                                         1 << 16, &sl)
                             : KC_EEMPTY;
            assert_true(rc == 0 || rc == KC_EEMPTY);
            if (rc == 0)
                alog_slice_release(&sl);
        } else {
            struct alog_info ai;
            alog_info(log, &ai);
        }
        w->ops++;
    }
    return NULL;
}

static void test_store_threads_and_evictions(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 5);
    struct alog *logs[24];
    add_many(s, logs, 24, ALOG_STORE_NEW);
    for (int i = 0; i < 24; i++)
        fx_append(logs[i], 2, 3, 60, TS0);
    struct worker w[3];
    pthread_t th[3];
    uint64_t seed = kc_test_seed();
    for (int i = 0; i < 3; i++) {
        w[i] = (struct worker){.logs = logs, .n = 24, .id = i, .seed = seed + (uint64_t)i + 1};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int r = 0; r < 200; r++) /* one appender, round-robin: evicts and reopens */
        fx_append(logs[r % 24], 1, 2, 60, TS0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 24; i++)
        fx_check_reads(logs[i], 0, alog_end_offset(logs[i]));
    print_message("%llu evictions\n", (unsigned long long)info_of(s).evictions);
    assert_int_equal(alog_store_close(s), 0);
}

/* alog_close on a store's log: it leaves the store, and comes back as it was. */
static void test_store_close_one_log_and_add_it_again(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 100);
    struct alog *log = add(s, "x-0", ALOG_STORE_NEW);
    fx_append(log, 5, 2, 40, TS0);
    struct alog *dup;
    assert_int_equal(alog_store_add(s, "x-0", NULL, &dup), -EEXIST);
    assert_int_equal(alog_close(log), 0);
    log = add(s, "x-0", 0);
    assert_int_equal(alog_end_offset(log), 10);
    fx_check_reads(log, 0, 10);
    assert_int_equal(alog_store_add(s, "no-dash", NULL, &dup), -EINVAL);
    assert_int_equal(alog_store_add(s, "a/b-0", NULL, &dup), -EINVAL);
    assert_int_equal(alog_store_close(s), 0);
}

static void test_store_second_open_is_busy(void **state)
{
    const char *dir = *state;
    struct alog_store *s = open_store(dir, 100), *again;
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    assert_int_equal(alog_store_open(&again, dir, NULL), -EBUSY);
    free(kc_test_capture_stop(&cap));
    assert_int_equal(alog_store_close(s), 0);
}

/* The EMFILE test lowers the descriptor limit: whatever happens, the next test gets it back. */
static struct rlimit saved_nofile;

static int nofile_setup(void **state)
{
    if (getrlimit(RLIMIT_NOFILE, &saved_nofile) != 0)
        return -1;
    return kc_test_dir_setup(state);
}

static int nofile_teardown(void **state)
{
    (void)setrlimit(RLIMIT_NOFILE, &saved_nofile); /* best effort: the test restores it too */
    return kc_test_dir_teardown(state);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_idle_logs_hold_no_files),
        T(test_store_cache_keeps_files_within_max),
        T(test_store_slice_survives_eviction),
        T(test_store_prepare_opens_on_the_store_thread),
        cmocka_unit_test_setup_teardown(test_store_emfile_makes_room_or_enofiles, nofile_setup,
                                        nofile_teardown),
        T(test_store_clean_restart_opens_nothing),
        T(test_store_crash_recovers_only_journaled_logs),
        T(test_store_migrates_per_partition_checkpoints),
        T(test_store_retention_leaves_idle_logs_closed),
        T(test_store_retain_held_until_a_limit_is_set),
        T(test_store_live_config_changes),
        T(test_store_threads_and_evictions),
        T(test_store_close_one_log_and_add_it_again),
        T(test_store_second_open_is_busy),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
