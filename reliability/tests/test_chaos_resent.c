/*
 * test_chaos_resent.c - chaos_resent.h, the chaos cluster's judge of duplicates: segment
 * files written by hand (two batches of one record each, the same value), and the pair
 * counted as a producer's resend only when the batches are one producer id's under two
 * epochs.
 *
 *   <dir>/broker-1/data/chaos-0/00000000000000000000.log
 *     offset 0: producer a, epoch x, value V
 *     offset 1: producer b, epoch y, value V      resent iff a == b and x != y
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>

#include "chaos_resent.h"
#include "kc_test.h"

#define VALUE 8589943959ULL

/* One batch at base_offset: one record holding VALUE, from producer (pid, epoch). */
static void write_batch(FILE *f, int64_t base_offset, int64_t pid, int16_t epoch)
{
    struct kc_batch_opts o;
    struct kc_batch_builder b;
    uint8_t *batch;
    size_t len;
    char text[32];
    int n = snprintf(text, sizeof(text), "%llu", VALUE);
    kc_batch_opts_default(&o);
    o.base_offset = base_offset;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = 0;
    kc_batch_builder_init(&b, &o, 0);
    assert_int_equal(kc_batch_builder_add(&b, 1, NULL, -1, text, n, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&b, &batch, &len), 0);
    assert_int_equal(fwrite(batch, 1, len, f), len);
    kc_batch_builder_fini(&b);
}

/* Write the two batches in broker 1's segment, then judge the pair at offsets 0 and 1. */
static int64_t judge(const char *dir, int64_t pid0, int16_t epoch0, int64_t pid1,
                     int16_t epoch1, bool second_batch)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/broker-1", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/broker-1/data", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/broker-1/data/chaos-0", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/broker-1/data/chaos-0/00000000000000000000.log", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    write_batch(f, 0, pid0, epoch0);
    if (second_batch)
        write_batch(f, 1, pid1, epoch1);
    static const char zeros[64];
    assert_int_equal(fwrite(zeros, 1, sizeof(zeros), f), sizeof(zeros)); /* a zeroed tail */
    fclose(f);
    struct resent_copy c[] = {{VALUE, 0, 1}, {VALUE + 1, 1, 5}, {VALUE, 0, 0}};
    return chaos_resent(dir, 3, "chaos", 2, c, 3);
}

static void test_chaos_resent_two_epochs_counted(void **state)
{
    assert_int_equal(judge(*state, 1001, 3, 1001, 13, true), 1);
}

static void test_chaos_resent_one_epoch_not_counted(void **state)
{
    assert_int_equal(judge(*state, 1001, 3, 1001, 3, true), 0); /* the broker's: an anomaly */
}

static void test_chaos_resent_two_producers_not_counted(void **state)
{
    assert_int_equal(judge(*state, 1001, 3, 1002, 13, true), 0);
}

static void test_chaos_resent_no_producer_not_counted(void **state)
{
    assert_int_equal(judge(*state, -1, -1, -1, 0, true), 0);
}

static void test_chaos_resent_batch_missing_not_counted(void **state)
{
    assert_int_equal(judge(*state, 1001, 3, 1001, 13, false), 0);
}

static void test_chaos_resent_no_segments_zero(void **state)
{
    struct resent_copy c[] = {{VALUE, 0, 1}, {VALUE, 0, 0}};
    assert_int_equal(chaos_resent(*state, 3, "chaos", 2, c, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chaos_resent_two_epochs_counted,
                                        kc_test_dir_setup, kc_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_chaos_resent_one_epoch_not_counted,
                                        kc_test_dir_setup, kc_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_chaos_resent_two_producers_not_counted,
                                        kc_test_dir_setup, kc_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_chaos_resent_no_producer_not_counted,
                                        kc_test_dir_setup, kc_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_chaos_resent_batch_missing_not_counted,
                                        kc_test_dir_setup, kc_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_chaos_resent_no_segments_zero,
                                        kc_test_dir_setup, kc_test_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
