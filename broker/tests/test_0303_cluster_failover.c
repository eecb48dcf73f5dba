/*
 * test_0303_cluster_failover - leadership moves: kill -9 of a leader broker gives its
 * partitions new leaders once ZooKeeper expires its session (2 s here), with a higher
 * leader epoch, and the survivors take produces; SIGTERM does a controlled shutdown: the
 * leaders move BEFORE the broker exits (it exits 0), with no session timeout to wait for.
 * When it starts again and is back in the ISR, the controller's preferred-leader check
 * (auto.leader.rebalance.enable, every leader.imbalance.check.interval.seconds: 1 here)
 * gives it back the partitions it is the first replica of, in a new epoch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcl.h"

#define TOPIC "orders"

static void create_rf3(struct kcl *c)
{
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 3, 3), 0);
    kcl_await_topic(c, 3, TOPIC, 3, 3);
}

static const char *const settings[] = {"leader.imbalance.check.interval.seconds=1", NULL};

static void start3(struct kcl *c)
{
    kcl_start_cluster(c, 3, settings);
    create_rf3(c);
}

/* Partition 0's leader and epoch as broker b sees it. */
static void leader_of(const struct kb_broker *b, int32_t *leader, int32_t *epoch)
{
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(b, TOPIC, false, buf, sizeof(buf), &resp);
    const struct kp_metadata_resp_partition *p = kcl_part(m, 0);
    *leader = p ? p->leader_id : -1;
    *epoch = p ? p->leader_epoch : -1;
    kp_response_fini(&resp);
}

/* Partition 0's first replica (its preferred leader) as broker b sees it. */
static int32_t first_replica(const struct kb_broker *b)
{
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(b, TOPIC, false, buf, sizeof(buf), &resp);
    const struct kp_metadata_resp_partition *p = kcl_part(m, 0);
    int32_t first = p && p->replica_nodes.n > 0 ? p->replica_nodes.v[0] : -1;
    kp_response_fini(&resp);
    return first;
}

struct moved {
    const struct kb_broker *b;
    int32_t old_leader;
    int32_t old_epoch;
};

static bool moved(void *arg)
{
    struct moved *mv = arg;
    int32_t leader, epoch;
    leader_of(mv->b, &leader, &epoch);
    return leader >= 1 && leader != mv->old_leader && epoch > mv->old_epoch;
}

struct back {
    const struct kb_broker *b;
    int32_t preferred;
    int32_t after_epoch; /* in: the epoch it must pass; */
    int32_t epoch;       /* out: the one it leads in */
};

static bool led_again(void *arg)
{
    struct back *u = arg;
    int32_t leader;
    leader_of(u->b, &leader, &u->epoch);
    return leader == u->preferred && u->epoch > u->after_epoch;
}

static void test_0303_kill9_leader_moves_leadership(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c);
    int32_t leader, epoch;
    leader_of(c->b[1], &leader, &epoch);
    int survivor = leader % 3 + 1;
    int64_t t0 = kc_mono_ms();
    kb_kill9(c->b[leader]);
    struct moved mv = {c->b[survivor], leader, epoch};
    if (!kt_until(moved, &mv, KB_WAIT_MS))
        fail_msg("partition 0 still led by the dead broker %d", (int)leader);
    int64_t ms = kc_mono_ms() - t0;
    int32_t now, now_epoch;
    leader_of(c->b[survivor], &now, &now_epoch);
    printf("# kill -9 of broker %d: partition 0 led by %d at epoch %d after %lld ms "
           "(session timeout %s ms)\n", (int)leader, (int)now, (int)now_epoch, (long long)ms,
           KCL_SESSION_MS);
    assert_true(ms < 2000 + 5000); /* the session timeout, and some slack for the load */
    struct kcl_until_brokers u = {c->b[survivor], 2};
    assert_true(kt_until(kcl_has_brokers, &u, KB_WAIT_MS)); /* the dead one is gone */
}

static void test_0303_sigterm_moves_leaders_before_exit(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c);
    int32_t leader, epoch;
    leader_of(c->b[1], &leader, &epoch);
    assert_int_equal(first_replica(c->b[1]), leader); /* a new topic: preferred leaders */
    int other = leader % 3 + 1;
    int64_t t0 = kc_mono_ms();
    kb_stop(c->b[leader]); /* SIGTERM; exits 0 */
    int64_t stop_ms = kc_mono_ms() - t0;
    assert_true(kb_log_has(c->b[leader], "controlled shutdown: this broker leads no partition"));
    /* moved while it was still up: at once, not after a session timeout */
    int32_t now, now_epoch;
    struct moved mv = {c->b[other], leader, epoch};
    assert_true(kt_until(moved, &mv, 1500));
    leader_of(c->b[other], &now, &now_epoch);
    printf("# SIGTERM of broker %d: stopped in %lld ms; partition 0 now led by %d (epoch %d)\n",
           (int)leader, (long long)stop_ms, (int)now, (int)now_epoch);
    /* back: it catches up, rejoins the ISR, and leads its preferred partition again */
    t0 = kc_mono_ms();
    kcl_start(c, (int)leader, settings);
    struct back u = {c->b[other], leader, now_epoch, -1};
    if (!kt_until(led_again, &u, KB_WAIT_MS))
        fail_msg("broker %d, partition 0's first replica, never led it again", (int)leader);
    printf("# broker %d restarted: partition 0's leader again after %lld ms (epoch %d)\n",
           (int)leader, (long long)(kc_mono_ms() - t0), (int)u.epoch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0303_kill9_leader_moves_leadership, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0303_sigterm_moves_leaders_before_exit, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
