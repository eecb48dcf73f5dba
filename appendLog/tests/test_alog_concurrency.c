/*
 * test_alog_concurrency.c - readers concurrent with the writer: while one thread appends
 * (rolling segments) and another applies retention, reader threads read random offsets
 * and check every record they get. Run under ThreadSanitizer too (make tsan).
 *
 * Threads other than the test's own never call cmocka asserts (they longjmp): they count
 * problems, and the test thread asserts the counts.
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

#include "alog.h"
#include "kc_common.h"
#include "kc_test.h"
#include "support/alog_fixture.h"

#define TS0 1700000000000LL

struct shared {
    struct alog *log;
    _Atomic bool stop;
    _Atomic long reads, empties, gone, bad, appended, deleted;
    uint64_t seed;
};

/* A batch of n records whose values carry their future offsets; NULL on failure. */
static uint8_t *make_batch(int64_t base, int n, size_t *len)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    uint8_t value[40] = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        kc_store_be64(value, (uint64_t)(base + i));
        rc = kc_batch_builder_add(&b, TS0 + base + i, NULL, -1, value, sizeof(value), NULL, 0);
    }
    uint8_t *p = NULL, *copy = NULL;
    if (rc == 0 && kc_batch_builder_finish(&b, &p, len) == 0 && (copy = malloc(*len)))
        memcpy(copy, p, *len);
    kc_batch_builder_fini(&b);
    return copy;
}

static void *writer_main(void *arg)
{
    struct shared *sh = arg;
    for (int i = 0; i < 3000; i++) {
        int64_t base = alog_end_offset(sh->log), got;
        size_t len;
        uint8_t *b = make_batch(base, 1 + i % 5, &len);
        if (!b || alog_append(sh->log, b, len, &got) != 0 || got != base)
            atomic_fetch_add(&sh->bad, 1);
        free(b);
        atomic_fetch_add(&sh->appended, 1);
    }
    atomic_store(&sh->stop, true);
    return NULL;
}

static void *retainer_main(void *arg)
{
    struct shared *sh = arg;
    while (!atomic_load(&sh->stop)) {
        int deleted;
        if (alog_retain(sh->log, kc_wall_ms(), &deleted) != 0)
            atomic_fetch_add(&sh->bad, 1);
        else
            atomic_fetch_add(&sh->deleted, deleted);
        kc_sleep_ms(1);
    }
    return NULL;
}

/* Every record in buf[0..len) is whole and carries its offset; the first batch holds off. */
static bool records_ok(const uint8_t *buf, size_t len, int64_t off, int64_t next)
{
    int64_t expect = kc_batch_base_offset(buf);
    if (expect > off)
        return false;
    for (size_t at = 0; at < len;) {
        struct kc_batch_header h;
        int size = kc_batch_validate(buf + at, len - at, &h);
        struct kc_record_iter it;
        struct kc_record rec;
        if (size <= 0 || h.base_offset != expect ||
            kc_record_iter_init(&it, buf + at, (size_t)size) != 0)
            return false;
        while (kc_record_iter_next(&it, &rec) == 1) {
            if (rec.offset != expect || (int64_t)kc_load_be64(rec.value) != expect)
                return false;
            expect++;
        }
        at += (size_t)size;
    }
    return expect == next && expect > off;
}

static void read_one(struct shared *sh, struct kc_writer *w, uint64_t *rng)
{
    int64_t start = alog_start_offset(sh->log), end = alog_end_offset(sh->log);
    int64_t off = start + (int64_t)(kc_test_rand(rng) % (uint64_t)(end - start + 1));
    int64_t next;
    kc_writer_reset(w);
    int rc = alog_read_copy(sh->log, off, 1 + kc_test_rand(rng) % 4096, w, &next);
    if (rc == KC_EEMPTY && off >= end)
        atomic_fetch_add(&sh->empties, 1);
    else if (rc == KC_EOFFSET && off < alog_start_offset(sh->log))
        atomic_fetch_add(&sh->gone, 1); /* retention got there first */
    else if (rc == 0 && records_ok(kc_writer_data(w), kc_writer_len(w), off, next))
        atomic_fetch_add(&sh->reads, 1);
    else
        atomic_fetch_add(&sh->bad, 1);
}

static void *reader_main(void *arg)
{
    struct shared *sh = arg;
    uint64_t rng = sh->seed ^ (uint64_t)(uintptr_t)&rng;
    if (!rng)
        rng = 1;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    while (!atomic_load(&sh->stop)) {
        read_one(sh, &w, &rng);
        int64_t off;
        int64_t ts = TS0 + alog_end_offset(sh->log) / 2;
        int rc = alog_offset_for_time(sh->log, ts, &off);
        if (rc != 0 && rc != -ENOENT)
            atomic_fetch_add(&sh->bad, 1);
    }
    kc_writer_fini(&w);
    return NULL;
}

static void run(void **state, bool with_retention)
{
    struct alog_config cfg;
    fx_config(&cfg, 8192);
    cfg.index_interval_bytes = 512;
    cfg.retention_bytes = with_retention ? 32768 : -1;
    struct shared sh = {.seed = kc_test_seed()};
    assert_int_equal(alog_open(&sh.log, *state, &cfg, NULL), 0);
    enum { READERS = 3 };
    pthread_t w, r[READERS], ret;
    assert_int_equal(pthread_create(&w, NULL, writer_main, &sh), 0);
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&r[i], NULL, reader_main, &sh), 0);
    if (with_retention)
        assert_int_equal(pthread_create(&ret, NULL, retainer_main, &sh), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    if (with_retention)
        pthread_join(ret, NULL);
    printf("# %ld batches appended; %ld reads checked, %ld at the end, %ld retained away; "
           "%ld segments deleted\n",
           sh.appended, sh.reads, sh.empties, sh.gone, sh.deleted);
    assert_int_equal(atomic_load(&sh.bad), 0);
    assert_true(atomic_load(&sh.reads) > 0);
    if (with_retention)
        assert_true(atomic_load(&sh.deleted) > 0);
    fx_check_reads(sh.log, alog_start_offset(sh.log), alog_end_offset(sh.log));
    assert_int_equal(alog_close(sh.log), 0);
    assert_int_equal(fx_fd_count(*state), 0);
}

static void test_alog_readers_during_appends_see_whole_batches(void **state)
{
    run(state, false);
}

static void test_alog_readers_during_appends_and_retention_see_whole_batches(void **state)
{
    run(state, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_readers_during_appends_see_whole_batches),
        T(test_alog_readers_during_appends_and_retention_see_whole_batches),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
