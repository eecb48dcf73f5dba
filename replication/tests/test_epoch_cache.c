/* test_epoch_cache.c - the leader-epoch cache: assign, truncation, and the end-offset lookup
 * that answers OffsetForLeaderEpoch, case by case as Kafka's LeaderEpochFileCache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "kc_test.h"
#include "repl_epoch.h"

/* Assert the cache holds exactly these (epoch, start) pairs. */
static void expect(const struct repl_epoch_cache *c, const struct repl_epoch_entry *v, size_t n)
{
    assert_int_equal(c->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c->v[i].epoch, v[i].epoch);
        assert_int_equal(c->v[i].start_offset, v[i].start_offset);
    }
}

#define EXPECT(c, ...)                                                                             \
    do {                                                                                           \
        const struct repl_epoch_entry want_[] = {__VA_ARGS__};                                     \
        expect((c), want_, sizeof(want_) / sizeof(want_[0]));                                      \
    } while (0)

/* (0,0) (2,3) (3,5): the picture in repl_epoch.h. */
static void fill(struct repl_epoch_cache *c)
{
    repl_epoch_cache_init(c);
    assert_int_equal(repl_epoch_cache_assign(c, 0, 0), 1);
    assert_int_equal(repl_epoch_cache_assign(c, 2, 3), 1);
    assert_int_equal(repl_epoch_cache_assign(c, 3, 5), 1);
}

static void test_epoch_cache_assign_same_epoch_later_offset_unchanged(void **state)
{
    (void)state;
    struct repl_epoch_cache c;
    fill(&c);
    assert_int_equal(repl_epoch_cache_assign(&c, 3, 9), 0); /* later batches of epoch 3 */
    assert_int_equal(repl_epoch_cache_assign(&c, 3, 5), 0);
    EXPECT(&c, {0, 0}, {2, 3}, {3, 5});
    assert_int_equal(repl_epoch_cache_latest(&c), 3);
    repl_epoch_cache_fini(&c);
}

static void test_epoch_cache_assign_lower_epoch_removes_later_entries(void **state)
{
    (void)state;
    struct repl_epoch_cache c;
    fill(&c);
    /* Kafka's assign keeps the order by dropping whatever the new entry contradicts. */
    assert_int_equal(repl_epoch_cache_assign(&c, 2, 7), 1);
    EXPECT(&c, {0, 0}, {2, 7});
    assert_int_equal(repl_epoch_cache_assign(&c, 4, 1), 1); /* starts before epoch 2 did */
    EXPECT(&c, {0, 0}, {4, 1});
    assert_int_equal(repl_epoch_cache_assign(&c, 3, 1), 1); /* same epoch, earlier start */
    EXPECT(&c, {0, 0}, {3, 1});
    repl_epoch_cache_fini(&c);
}

static void test_epoch_cache_assign_negative_einval(void **state)
{
    (void)state;
    struct repl_epoch_cache c;
    fill(&c);
    assert_int_equal(repl_epoch_cache_assign(&c, -1, 9), -EINVAL);
    assert_int_equal(repl_epoch_cache_assign(&c, 9, -1), -EINVAL);
    assert_int_equal(repl_epoch_cache_truncate_end(&c, -1), -EINVAL);
    assert_int_equal(repl_epoch_cache_truncate_start(&c, -1), -EINVAL);
    EXPECT(&c, {0, 0}, {2, 3}, {3, 5});
    repl_epoch_cache_fini(&c);
}

static void test_epoch_cache_truncate_end_drops_from_offset(void **state)
{
    (void)state;
    struct repl_epoch_cache c;
    fill(&c);
    assert_int_equal(repl_epoch_cache_truncate_end(&c, 6), 0); /* inside epoch 3: kept */
    assert_int_equal(repl_epoch_cache_truncate_end(&c, 5), 1); /* epoch 3 started at 5 */
    EXPECT(&c, {0, 0}, {2, 3});
    assert_int_equal(repl_epoch_cache_truncate_end(&c, 0), 1);
    assert_int_equal(c.n, 0);
    assert_int_equal(repl_epoch_cache_latest(&c), REPL_UNDEFINED_EPOCH);
    repl_epoch_cache_fini(&c);
}

static void test_epoch_cache_truncate_start_keeps_owner_of_new_start(void **state)
{
    (void)state;
    struct repl_epoch_cache c;
    fill(&c);
    assert_int_equal(repl_epoch_cache_truncate_start(&c, 0), 0);
    assert_int_equal(repl_epoch_cache_truncate_start(&c, 4), 1); /* offset 4 was epoch 2's */
    EXPECT(&c, {2, 4}, {3, 5});
    assert_int_equal(repl_epoch_cache_truncate_start(&c, 5), 1); /* exactly epoch 3's start */
    EXPECT(&c, {3, 5});
    assert_int_equal(repl_epoch_cache_truncate_start(&c, 5), 0);
    assert_int_equal(repl_epoch_cache_truncate_start(&c, 100), 1);
    EXPECT(&c, {3, 100});
    repl_epoch_cache_fini(&c);
}

static void assert_end(const struct repl_epoch_cache *c, int32_t epoch, int64_t leo,
                       int32_t want_epoch, int64_t want_end)
{
    struct repl_epoch_end e = repl_epoch_cache_end_offset(c, epoch, leo);
    assert_int_equal(e.epoch, want_epoch);
    assert_int_equal(e.end_offset, want_end);
}

static void test_epoch_cache_end_offset_each_case_as_kafka(void **state)
{
    (void)state;
    struct repl_epoch_cache c;
    fill(&c);
    assert_end(&c, 0, 7, 0, 3); /* ends where the next epoch starts */
    assert_end(&c, 1, 7, 0, 3); /* never seen: largest below, and its end */
    assert_end(&c, 2, 7, 2, 5);
    assert_end(&c, 3, 7, 3, 7);   /* the latest: ends at the LEO */
    assert_end(&c, 4, 7, -1, -1); /* newer than anything known */
    assert_end(&c, REPL_UNDEFINED_EPOCH, 7, -1, -1);
    repl_epoch_cache_truncate_start(&c, 4); /* (2,4) (3,5) */
    assert_end(&c, 1, 7, 1, 4); /* below the first entry: the requested epoch, first start */
    repl_epoch_cache_fini(&c);
    repl_epoch_cache_init(&c);
    assert_end(&c, 0, 7, -1, -1); /* empty cache */
    repl_epoch_cache_fini(&c);
}

static void test_epoch_cache_end_offset_many_epochs_binary_search(void **state)
{
    (void)state;
    struct repl_epoch_cache c;
    repl_epoch_cache_init(&c);
    for (int32_t e = 0; e < 1000; e++) /* every third epoch wrote 10 records */
        assert_int_equal(repl_epoch_cache_assign(&c, 3 * e, 10 * e), 1);
    for (int32_t q = 0; q < 2997; q++) {
        int32_t floor = q / 3 * 3;
        assert_end(&c, q, 99999, floor, 10 * (floor / 3) + 10);
    }
    assert_end(&c, 2997, 99999, 2997, 99999);
    repl_epoch_cache_fini(&c);
}

static void test_epoch_cache_copy_and_validity(void **state)
{
    (void)state;
    struct repl_epoch_cache a, b;
    fill(&a);
    repl_epoch_cache_init(&b);
    assert_int_equal(repl_epoch_cache_copy(&b, &a), 0);
    EXPECT(&b, {0, 0}, {2, 3}, {3, 5});
    assert_true(repl_epoch_entries_valid(b.v, b.n));
    const struct repl_epoch_entry same_epoch[] = {{1, 0}, {1, 5}};
    const struct repl_epoch_entry backwards[] = {{1, 5}, {2, 4}};
    const struct repl_epoch_entry negative[] = {{-1, 0}};
    const struct repl_epoch_entry equal_starts[] = {{1, 5}, {2, 5}}; /* an empty epoch */
    assert_false(repl_epoch_entries_valid(same_epoch, 2));
    assert_false(repl_epoch_entries_valid(backwards, 2));
    assert_false(repl_epoch_entries_valid(negative, 1));
    assert_true(repl_epoch_entries_valid(equal_starts, 2));
    repl_epoch_cache_fini(&a);
    repl_epoch_cache_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch_cache_assign_same_epoch_later_offset_unchanged),
        cmocka_unit_test(test_epoch_cache_assign_lower_epoch_removes_later_entries),
        cmocka_unit_test(test_epoch_cache_assign_negative_einval),
        cmocka_unit_test(test_epoch_cache_truncate_end_drops_from_offset),
        cmocka_unit_test(test_epoch_cache_truncate_start_keeps_owner_of_new_start),
        cmocka_unit_test(test_epoch_cache_end_offset_each_case_as_kafka),
        cmocka_unit_test(test_epoch_cache_end_offset_many_epochs_binary_search),
        cmocka_unit_test(test_epoch_cache_copy_and_validity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
