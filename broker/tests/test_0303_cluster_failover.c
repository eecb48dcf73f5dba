/*
 * test_0303_cluster_failover - leadership moves: kill -9 of a leader broker gives its
 * partitions new leaders once ZooKeeper expires its session (2 s here), with a higher
 * leader epoch, and the survivors take produces; SIGTERM does a controlled shutdown: the
 * leaders move BEFORE the broker exits (it exits 0), with no session timeout to wait for.
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

static void start3(struct kcl *c)
{
    for (int id = 1; id <= 3; id++)
        kcl_start(c, id, NULL);
    kcl_await_brokers(c, 3);
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
