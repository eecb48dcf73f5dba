/*
 * test_0320_cluster_idle_partitions - a leader skips its followers' idle partitions, and
 * loses nothing by it. Three brokers, 60 idle partitions at replication factor 3 and one
 * busy one: while acks=all records go to the busy partition (every one waits for both
 * followers' rounds, each of which covers every partition of their fetch sessions), the
 * leader answers the idle partitions from the session instead of reading them
 * (kafka_fetch_idle_partitions_skipped_total grows on it). Then, past several
 * replica.lag.time.max.ms periods of idleness, every partition still has its three
 * replicas in sync, and an acks=all record to each idle partition is acknowledged - its
 * high watermark moved though its followers' rounds had been skipping it - and is on every
 * replica's disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define WIDE  "wide"
#define HOT   "hot"
#define PARTS 60

static void test_0320_idle_partitions_skipped_and_nothing_lost(void **state)
{
    struct kcl *c = *state;
    /* A 0.8 s lag limit: the leader reads an idle partition again every 0.2 s at least. */
    const char *const settings[] = {"replica.lag.time.max.ms=800", "replica.fetch.wait.max.ms=100",
                                    "min.insync.replicas=2", NULL};
    kcl_start_cluster(c, 3, settings);
    assert_int_equal(kcl_create_topic(c->b[1], WIDE, PARTS, 3), 0);
    assert_int_equal(kcl_create_topic(c->b[1], HOT, 1, 3), 0);
    kcl_await_topic(c, 3, WIDE, PARTS, 3);
    kcl_await_topic(c, 3, HOT, 1, 3);
    int32_t leader, epoch;
    int isr;
    krep_leader(c->b[1], HOT, 0, &leader, &epoch, &isr);
    const struct kb_broker *lb = c->b[leader];
    double before = kb_metric(lb, "kafka_fetch_idle_partitions_skipped_total");
    assert_true(before >= 0);
    int64_t base;
    for (int i = 0; i < 100; i++)
        assert_int_equal(krep_produce_raw(lb, HOT, 0, -1, 1, &base), 0);
    double skipped = kb_metric(lb, "kafka_fetch_idle_partitions_skipped_total") - before;
    printf("# 100 acks=all records to %s-0 (leader %d): %.0f idle partition reads skipped\n",
           HOT, (int)leader, skipped);
    assert_true(skipped >= 100); /* ~20 idle partitions led here, 2 followers, 200+ rounds */

    usleep(2500 * 1000); /* three lag periods with nothing to fetch */
    for (int32_t p = 0; p < PARTS; p++) {
        krep_leader(c->b[1], WIDE, p, &leader, &epoch, &isr);
        assert_int_equal(isr, 3); /* caught up, however long idle: in sync */
        assert_int_equal(krep_produce_raw(c->b[leader], WIDE, p, -1, 2, &base), 0);
        assert_int_equal(base, 0);
    }
    for (int id = 1; id <= 3; id++)
        for (int32_t p = 0; p < PARTS; p++)
            assert_int_equal(krep_log_records(c->b[id], WIDE, p, NULL, NULL), 2);
    assert_int_equal(krep_produce_raw(lb, HOT, 0, -1, 1, &base), 0);
    assert_int_equal(base, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0320_idle_partitions_skipped_and_nothing_lost,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
