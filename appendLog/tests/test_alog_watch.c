/*
 * test_alog_watch.c - end watches: an append wakes exactly the watches it passed, once;
 * a watch on an end already passed is refused ("already past"); alog_unwatch is exact;
 * and, under concurrency, no wake-up is ever lost (the Dekker pattern of watch.c).
 * Run under ThreadSanitizer too (make tsan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

struct fired {
    struct alog_watch w;
    _Atomic int count;
    _Atomic int64_t end_seen; /* the log's end when fn ran */
    struct alog *log;
};

static void on_end(struct alog_watch *w)
{
    struct fired *f = w->arg;
    atomic_store(&f->end_seen, alog_end_offset(f->log));
    atomic_fetch_add(&f->count, 1);
}

static void append_n(struct alog *log, int n)
{
    size_t len;
    int64_t base;
    uint8_t *b = fx_batch(alog_end_offset(log), n, 16, TS0, &len);
    assert_non_null(b);
    assert_int_equal(alog_append(log, b, len, &base), 0);
    free(b);
}

static struct alog *open_log(char *dir)
{
    struct alog *log;
    struct alog_config cfg;
    fx_config(&cfg, 1 << 20);
    assert_int_equal(alog_open(&log, dir, &cfg, NULL), 0);
    return log;
}

static void test_watch_fires_once_when_end_passes_offset(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct alog *log = open_log(dir);
    append_n(log, 3); /* end 3 */
    struct fired a = {.log = log}, b = {.log = log};
    a.w = (struct alog_watch){.offset = 3, .fn = on_end, .arg = &a};
    b.w = (struct alog_watch){.offset = 5, .fn = on_end, .arg = &b};
    assert_int_equal(alog_watch_end(log, &a.w), 0);
    assert_int_equal(alog_watch_end(log, &b.w), 0);
    append_n(log, 2); /* end 5: passes 3, not 5 */
    assert_int_equal(atomic_load(&a.count), 1);
    assert_int_equal(atomic_load(&a.end_seen), 5);
    assert_int_equal(atomic_load(&b.count), 0);
    append_n(log, 1); /* end 6: passes 5; a has fired already and stays quiet */
    assert_int_equal(atomic_load(&a.count), 1);
    assert_int_equal(atomic_load(&b.count), 1);
    assert_false(alog_unwatch(log, &a.w)); /* both fired: nothing left to disarm */
    assert_false(alog_unwatch(log, &b.w));
    assert_int_equal(alog_close(log), 0);
    kc_test_rmdir(dir);
}

static void test_watch_already_past_is_refused_and_never_fires(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct alog *log = open_log(dir);
    append_n(log, 4); /* end 4 */
    struct fired a = {.log = log};
    a.w = (struct alog_watch){.offset = 3, .fn = on_end, .arg = &a};
    assert_int_equal(alog_watch_end(log, &a.w), 1);
    append_n(log, 1);
    assert_int_equal(atomic_load(&a.count), 0);
    assert_false(alog_unwatch(log, &a.w));
    assert_int_equal(alog_close(log), 0);
    kc_test_rmdir(dir);
}

/* alog_changes moves with every end move a reader must hear of - an append, a truncation,
 * alog_watch_fire_all - watched or not, and with nothing else: a read leaves it. */
static void test_changes_count_what_the_watches_are_told(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct alog *log = open_log(dir);
    uint64_t c0 = alog_changes(log);
    for (int i = 0; i < 3; i++)
        append_n(log, 1); /* nobody watches: it moves all the same */
    uint64_t c1 = alog_changes(log);
    assert_true(c1 > c0);
    struct alog_slice sl;
    assert_int_equal(alog_read(log, 0, 1 << 16, &sl), 0);
    alog_slice_release(&sl);
    assert_int_equal(alog_start_offset(log), 0);
    assert_true(alog_changes(log) == c1); /* reads change nothing */
    int64_t end;
    assert_int_equal(alog_truncate(log, 1, &end), 0);
    assert_int_equal(end, 1);
    uint64_t c2 = alog_changes(log);
    assert_true(c2 > c1);
    assert_int_equal(alog_truncate(log, 1, &end), 0); /* at the end: nothing moves */
    assert_true(alog_changes(log) == c2);
    alog_watch_fire_all(log);
    assert_true(alog_changes(log) > c2);
    assert_int_equal(alog_close(log), 0);
    kc_test_rmdir(dir);
}

static void test_unwatch_disarms_exactly(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct alog *log = open_log(dir);
    struct fired f[4];
    for (int i = 0; i < 4; i++) { /* all on offset 0 of an empty log */
        f[i] = (struct fired){.log = log};
        f[i].w = (struct alog_watch){.offset = 0, .fn = on_end, .arg = &f[i]};
        assert_int_equal(alog_watch_end(log, &f[i].w), 0);
    }
    /* Take out the first, a middle and the last one linked: the list stays whole. */
    assert_true(alog_unwatch(log, &f[0].w));
    assert_true(alog_unwatch(log, &f[2].w));
    assert_true(alog_unwatch(log, &f[3].w));
    assert_false(alog_unwatch(log, &f[3].w)); /* twice is harmless */
    append_n(log, 1);
    assert_int_equal(atomic_load(&f[0].count), 0);
    assert_int_equal(atomic_load(&f[1].count), 1);
    assert_int_equal(atomic_load(&f[2].count), 0);
    assert_int_equal(atomic_load(&f[3].count), 0);
    assert_int_equal(alog_close(log), 0);
    kc_test_rmdir(dir);
}

/* ---- no lost wake-up under concurrency --------------------------------------------------- */

#define WATCHERS 2
#define ROUNDS   4000

struct race {
    struct alog *log;
    _Atomic bool stop;
    _Atomic long armed, past, lost;
};

/* Arm a watch on the current end, then wait until it fires or the end has moved two
 * records past its offset. One thread appends, one record per batch, and an append fires
 * the watches it passed before it returns: once the end is offset + 2, the append that
 * passed offset has finished firing. A watch still armed then was missed: a lost wake-up. */
static void *watcher_main(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < ROUNDS && !atomic_load(&r->stop); i++) {
        struct fired f = {.log = r->log};
        f.w = (struct alog_watch){.offset = alog_end_offset(r->log), .fn = on_end, .arg = &f};
        if (alog_watch_end(r->log, &f.w) == 1) {
            atomic_fetch_add(&r->past, 1);
            continue;
        }
        atomic_fetch_add(&r->armed, 1);
        while (atomic_load(&f.count) == 0 && alog_end_offset(r->log) < f.w.offset + 2 &&
               !atomic_load(&r->stop))
            ;
        if (atomic_load(&f.count) == 0 && alog_unwatch(r->log, &f.w) &&
            alog_end_offset(r->log) >= f.w.offset + 2)
            atomic_fetch_add(&r->lost, 1);
    }
    return NULL;
}

static void test_no_wakeup_is_lost_under_concurrent_appends(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct race r = {.log = open_log(dir)};
    pthread_t th[WATCHERS];
    for (int i = 0; i < WATCHERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, watcher_main, &r), 0);
    size_t len;
    int64_t base;
    uint8_t *b = fx_batch(0, 1, 16, TS0, &len);
    assert_non_null(b);
    int64_t until = kc_mono_ms() + 20000;
    while (atomic_load(&r.armed) + atomic_load(&r.past) < WATCHERS * ROUNDS &&
           kc_mono_ms() < until)
        assert_int_equal(alog_append(r.log, b, len, &base), 0); /* rewrites base in place */
    atomic_store(&r.stop, true);
    for (int i = 0; i < WATCHERS; i++)
        pthread_join(th[i], NULL);
    free(b);
    printf("armed %ld, already past %ld, lost %ld\n", atomic_load(&r.armed),
           atomic_load(&r.past), atomic_load(&r.lost));
    assert_int_equal(atomic_load(&r.lost), 0);
    assert_true(atomic_load(&r.armed) > 0);
    assert_int_equal(alog_close(r.log), 0);
    kc_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_fires_once_when_end_passes_offset),
        cmocka_unit_test(test_watch_already_past_is_refused_and_never_fires),
        cmocka_unit_test(test_unwatch_disarms_exactly),
        cmocka_unit_test(test_changes_count_what_the_watches_are_told),
        cmocka_unit_test(test_no_wakeup_is_lost_under_concurrent_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
