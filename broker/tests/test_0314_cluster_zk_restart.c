/*
 * test_0314_cluster_zk_restart - the cluster heals after faults of ZooKeeper and of a
 * broker (3 brokers, replication factor 3, min.insync.replicas 2, acks=all):
 *
 *   zk_killed       ZooKeeper kill -9, started again on the same port and data (the
 *                   sessions survive: "in doubt", then back with the same session)
 *   zk_paused       ZooKeeper SIGSTOPped for 1.5 s (less than the 2 s session)
 *   follower_killed a follower kill -9 and started again on its data directory
 *
 * After each, within a bounded time: the partition has a leader, its ISR is back to 3,
 * an acks=all produce succeeds, and the controller acts (a new topic gets its leaders).
 * This is what the chaos harness (reliability/tests/test_chaos_cluster.c, seed 11) found
 * broken: a broker killed and started again never loaded its replicas, so it never fetched
 * and the ISR stayed at one member (every acks=all produce refused) for good.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define TOPIC "orders"

static const char *const settings[] = {"min.insync.replicas=2", "replica.lag.time.max.ms=800",
                                       "replica.fetch.wait.max.ms=100", NULL};

struct isr_is {
    const struct kb_broker *b;
    int n;
};

static bool isr_is(void *arg)
{
    struct isr_is *u = arg;
    int32_t leader, epoch;
    int isr;
    krep_leader(u->b, TOPIC, 0, &leader, &epoch, &isr);
    return leader >= 1 && isr == u->n;
}

static bool acked(void *arg)
{
    int64_t base;
    return krep_produce_raw(arg, TOPIC, 0, -1, 5, &base) == 0;
}

/* 3 brokers, the topic whole (ISR 3) and written to; the leader's id. */
static int32_t start3(struct kcl *c)
{
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, settings);
    kcl_await_brokers(c, 3);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 1, 3), 0);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    int32_t leader, epoch;
    krep_leader(c->b[1], TOPIC, 0, &leader, &epoch, NULL);
    assert_true(kt_until(acked, c->b[leader], KB_WAIT_MS));
    return leader;
}

/* Every broker sees the partition led with ISR 3, acks=all goes through its leader, and a
 * new topic gets its leaders (the controller acts). */
static void healed(struct kcl *c, const char *what, int64_t t0)
{
    for (int id = 1; id <= 3; id++) {
        struct isr_is three = {c->b[id], 3};
        assert_true(kt_until(isr_is, &three, KB_WAIT_MS));
    }
    int32_t leader, epoch;
    krep_leader(c->b[1], TOPIC, 0, &leader, &epoch, NULL);
    assert_true(kt_until(acked, c->b[leader], KB_WAIT_MS));
    int64_t whole_ms = kc_mono_ms() - t0;
    assert_int_equal(kcl_create_topic(c->b[1], "after", 2, 3), 0);
    kcl_await_topic(c, 3, "after", 2, 3);
    printf("# %s: ISR 3 and acks=all again %lld ms after the fault began; a new topic led\n",
           what, (long long)whole_ms);
}

static void test_0314_zk_killed_and_restarted_cluster_heals(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c);
    int64_t t0 = kc_mono_ms();
    assert_int_equal(kill(kcl_zk.pid, SIGKILL), 0);
    assert_int_equal(waitpid(kcl_zk.pid, NULL, 0), kcl_zk.pid);
    kcl_zk.pid = 0;
    kc_sleep_ms(300);
    assert_int_equal(clu_zks_start(&kcl_zk), 0);
    healed(c, "ZooKeeper killed -9 and started again", t0);
}

static void test_0314_zk_paused_cluster_heals(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c);
    int64_t t0 = kc_mono_ms();
    clu_zks_pause(&kcl_zk, true);
    kc_sleep_ms(1500);
    clu_zks_pause(&kcl_zk, false);
    healed(c, "ZooKeeper stopped for 1.5 s", t0);
}

static void test_0314_follower_killed_and_restarted_rejoins_isr(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    int32_t leader = start3(c);
    int follower = leader % 3 + 1;
    int64_t t0 = kc_mono_ms();
    kb_kill9(c->b[follower]);
    struct isr_is two = {c->b[leader], 2};
    int64_t base;
    assert_int_equal(krep_produce_raw(c->b[leader], TOPIC, 0, -1, 5, &base), 0);
    assert_true(kt_until(isr_is, &two, KB_WAIT_MS));
    struct kcl_until_brokers gone = {c->b[leader], 2}; /* its session expired: its id is free */
    assert_true(kt_until(kcl_has_brokers, &gone, KB_WAIT_MS));
    kcl_start(c, follower, settings);
    healed(c, "a follower killed -9 and started again", t0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0314_follower_killed_and_restarted_rejoins_isr,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0314_zk_killed_and_restarted_cluster_heals,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0314_zk_paused_cluster_heals, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
