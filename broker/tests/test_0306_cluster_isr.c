/*
 * test_0306_cluster_isr - the in-sync replica set follows the followers: a follower stopped
 * (SIGSTOP) while the leader's log moves on, for longer than replica.lag.time.max.ms, leaves the ISR (Metadata shows 2),
 * acks=all still succeeds while ISR 2 >= min.insync.replicas 2 and is refused with
 * NOT_ENOUGH_REPLICAS (19), nothing written, when min.insync.replicas is 3; after SIGCONT
 * the follower catches up, rejoins (ISR 3), and acks=all succeeds again. The leader's
 * /metrics count it: under-replicated partitions 1 then 0, ISR shrinks and expands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define TOPIC "orders"

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
    return isr == u->n;
}

/* Start 3 brokers with min.insync.replicas = min and a 0.8 s lag limit (well below
 * the 2 s ZooKeeper session: the LEADER shrinks the ISR, not the controller's session expiry); the topic. */
static int32_t start3(struct kcl *c, const char *min)
{
    static char mi[64];
    snprintf(mi, sizeof(mi), "min.insync.replicas=%s", min);
    const char *const settings[] = {mi, "replica.lag.time.max.ms=800",
                                    "replica.fetch.wait.max.ms=100", NULL};
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, settings);
    kcl_await_brokers(c, 3);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 1, 3), 0);
    kcl_await_topic(c, 3, TOPIC, 1, 3);
    int32_t leader, epoch;
    krep_leader(c->b[1], TOPIC, 0, &leader, &epoch, NULL);
    return leader;
}

struct metric_is {
    const struct kb_broker *b;
    const char *name;
    double value;
};

static bool metric_is(void *arg)
{
    struct metric_is *u = arg;
    return kb_metric(u->b, u->name) == u->value;
}

struct acked {
    const struct kb_broker *b;
};

/* An acks=all produce succeeds (the ISR is whole: with a 0.8 s lag limit a follower slow
 * to make its first fetch under a sanitizer may leave and rejoin while the cluster starts). */
static bool acked(void *arg)
{
    struct acked *a = arg;
    int64_t base;
    return krep_produce_raw(a->b, TOPIC, 0, -1, 5, &base) == 0;
}

static void stopped_follower_case(struct kcl *c, const char *min, int16_t want)
{
    int32_t leader = start3(c, min);
    const struct kb_broker *lb = c->b[leader];
    /* Not the controller: a stopped controller answers no ISR proposal (the leader's
     * shrink would wait for its session to expire and a new controller). */
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *md = kcl_metadata(lb, TOPIC, false, buf, sizeof(buf), &resp);
    int controller = md->controller_id;
    kp_response_fini(&resp);
    int follower = leader % 3 + 1;
    if (follower == controller)
        follower = follower % 3 + 1;
    int64_t base;
    struct acked ok = {lb};
    assert_true(kt_until(acked, &ok, KB_WAIT_MS));
    struct isr_is two = {lb, 2}, three = {lb, 3};
    assert_true(kt_until(isr_is, &three, KB_WAIT_MS)); /* whole before the stop */
    assert_int_equal(kill(c->b[follower]->pid, SIGSTOP), 0);
    /* A follower that holds the leader's whole log is in sync however long it sleeps (as
     * in Kafka): the leader's log must move on for it to fall behind. */
    assert_int_equal(krep_produce_raw(lb, TOPIC, 0, 1, 1, &base), 0);
    int64_t t0 = kc_mono_ms();
    assert_true(kt_until(isr_is, &two, KB_WAIT_MS));
    int64_t out_ms = kc_mono_ms() - t0;
    struct kcl_until_brokers alive = {lb, 3};
    bool registered = kcl_has_brokers(&alive);
    printf("# follower %d stopped: out of the ISR after %lld ms (still registered: %s)\n",
           follower, (long long)out_ms, registered ? "yes" : "no");
    assert_true(registered); /* the leader's lag rule did it, not a session expiry */
    assert_true(kb_metric(lb, "kafka_server_replicamanager_underreplicatedpartitions") == 1);
    assert_true(kb_metric(lb, "kafka_server_replicamanager_isrshrinks_total") >= 1);
    int64_t end = krep_log_records(lb, TOPIC, 0, NULL, NULL);
    assert_int_equal(krep_produce_raw(lb, TOPIC, 0, -1, 5, &base), want);
    if (want == 19) /* refused before the append: nothing written */
        assert_int_equal(krep_log_records(lb, TOPIC, 0, NULL, NULL), end);
    assert_int_equal(kill(c->b[follower]->pid, SIGCONT), 0);
    t0 = kc_mono_ms();
    assert_true(kt_until(isr_is, &three, KB_WAIT_MS));
    struct metric_is whole = {lb, "kafka_server_replicamanager_underreplicatedpartitions", 0};
    assert_true(kt_until(metric_is, &whole, KB_WAIT_MS));
    assert_true(kb_metric(lb, "kafka_server_replicamanager_isrexpands_total") >= 1);
    assert_true(kb_metric(lb, "kafka_server_replicamanager_leadercount") == 1);
    printf("# min.insync.replicas %s: acks=all with ISR 2 -> %d; after SIGCONT the follower "
           "rejoined in %lld ms\n", min, (int)want, (long long)(kc_mono_ms() - t0));
    assert_true(kt_until(acked, &ok, KB_WAIT_MS));
}

static void test_0306_isr_shrinks_and_acks_all_goes_on(void **state)
{
    KCL_REQUIRE_ZK();
    stopped_follower_case(*state, "2", 0);
}

static void test_0306_isr_below_min_insync_refuses_acks_all(void **state)
{
    KCL_REQUIRE_ZK();
    stopped_follower_case(*state, "3", 19);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0306_isr_shrinks_and_acks_all_goes_on, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0306_isr_below_min_insync_refuses_acks_all,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
