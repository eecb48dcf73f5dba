/*
 * test_0311_cluster_coordinator_moves - the coordinator moves with its __consumer_offsets
 * partition.
 *
 *  - Its broker stops (SIGTERM: a controlled shutdown): another in-sync replica leads the
 *    partition and serves the group at once; the third broker answers NOT_COORDINATOR.
 *  - With __consumer_offsets at one replica, its broker is killed (-9): nobody coordinates the
 *    group (FindCoordinator COORDINATOR_NOT_AVAILABLE, 15; the others NOT_COORDINATOR,
 *    16); it comes back, leads the partition again, loads it (COORDINATOR_LOAD_IN_PROGRESS
 *    meanwhile) and serves the offsets committed before and the group's members, from
 *    its log.
 *
 * (That the interim coordinator serves the commits made before it took over, now that
 * __consumer_offsets is replicated, is test_0308's.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcg.h"

#define TOPIC "orders"
#define GROUP "billing"

static const char *const settings[] = {"offsets.topic.num.partitions=6", NULL};
static const char *const settings_rf1[] = {"offsets.topic.num.partitions=6",
                                           "offsets.topic.replication.factor=1",
                                           "group.initial.rebalance.delay.ms=0", NULL};

static void start3(struct kcl *c, const char *const *extra)
{
    kcl_start_cluster(c, 3, extra);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 3, 3), KP_ERR_NONE);
    kcl_await_topic(c, 3, TOPIC, 3, 3);
}

static void test_0311_coordinator_moves_when_its_broker_stops(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c, settings);
    struct kcg_until_coordinator u = {c->b[1], GROUP, -1, 0};
    assert_true(kt_until(kcg_has_coordinator, &u, KB_WAIT_MS));
    int32_t x = u.node;
    assert_int_equal(kcg_commit_at_coordinator(c->b[x], GROUP, TOPIC, 0, 42), KP_ERR_NONE);
    int64_t t0 = kc_mono_ms();
    kb_stop(c->b[x]);
    int other = x % 3 + 1;
    struct kcg_until_coordinator v = {c->b[other], GROUP, x, 0};
    if (!kt_until(kcg_has_coordinator, &v, KB_WAIT_MS))
        fail_msg("the group never left the stopped broker %d", (int)x);
    int32_t y = v.node, z = 6 - x - y;
    printf("# broker %d stopped: broker %d coordinates %s %lld ms later\n", (int)x, (int)y,
           GROUP, (long long)(kc_mono_ms() - t0));
    struct kcg_until_coordinator w = {c->b[z], GROUP, x, 0};
    assert_true(kt_until(kcg_has_coordinator, &w, KB_WAIT_MS));
    assert_int_equal(w.node, y);
    int64_t off = -2;
    assert_int_not_equal(kcg_heartbeat(c->b[y], GROUP), KP_ERR_NOT_COORDINATOR);
    assert_int_equal(kcg_commit_at_coordinator(c->b[y], GROUP, TOPIC, 2, 7), KP_ERR_NONE);
    assert_int_equal(kcg_fetch(c->b[y], GROUP, TOPIC, 2, &off), KP_ERR_NONE);
    assert_int_equal(off, 7);
    assert_int_equal(kcg_fetch(c->b[y], GROUP, TOPIC, 0, &off), KP_ERR_NONE);
    printf("# broker %d answers partition 0's offset with %lld (replicated to it)\n",
           (int)y, (long long)off);
    assert_int_equal(off, 42);
    assert_int_equal(kcg_heartbeat(c->b[z], GROUP), KP_ERR_NOT_COORDINATOR);
    assert_int_equal(kcg_commit(c->b[z], GROUP, TOPIC, 2, 8), KP_ERR_NOT_COORDINATOR);
}

struct fetched {
    const struct kb_broker *b;
    int64_t offset;
    int16_t err;
};

static bool fetch_ok(void *arg)
{
    struct fetched *f = arg;
    f->err = kcg_fetch(f->b, GROUP, TOPIC, 0, &f->offset);
    assert_true(f->err == KP_ERR_NONE || f->err == KP_ERR_NOT_COORDINATOR ||
                f->err == KP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    return f->err == KP_ERR_NONE;
}

static void test_0311_coordinator_comes_back_with_its_log(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c, settings_rf1);
    struct kcg_until_coordinator u = {c->b[1], GROUP, -1, 0};
    assert_true(kt_until(kcg_has_coordinator, &u, KB_WAIT_MS));
    int32_t x = u.node, other = x % 3 + 1;
    assert_int_equal(kcg_commit_at_coordinator(c->b[x], GROUP, TOPIC, 0, 42), KP_ERR_NONE);
    kcg_join_sync(c->b[x], GROUP); /* Stable, one member: its record is in the log */
    kb_kill9(c->b[x]); /* its session expires: the partition has no leader */
    struct kcg_until_coordinator gone = {c->b[other], GROUP, x, 0};
    if (!kt_until(kcg_no_coordinator, &gone, KB_WAIT_MS))
        fail_msg("broker %d still says %d coordinates %s", other, (int)gone.node, GROUP);
    assert_int_equal(kcg_heartbeat(c->b[other], GROUP), KP_ERR_NOT_COORDINATOR);
    int64_t t0 = kc_mono_ms();
    kcl_start(c, x, settings_rf1);
    struct kcg_until_coordinator back = {c->b[other], GROUP, -1, 0};
    if (!kt_until(kcg_has_coordinator, &back, KB_WAIT_MS))
        fail_msg("nobody coordinates %s after broker %d's restart", GROUP, (int)x);
    assert_int_equal(back.node, x);
    printf("# broker %d restarted: coordinates %s again %lld ms later\n", (int)x, GROUP,
           (long long)(kc_mono_ms() - t0));
    /* x itself may still be loading (14), or not yet know it leads (16): it says when */
    struct fetched f = {c->b[x], -2, -1};
    if (!kt_until(fetch_ok, &f, KB_WAIT_MS))
        fail_msg("broker %d never served %s's offsets: error %d", (int)x, GROUP, (int)f.err);
    assert_int_equal(f.offset, 42);
    int64_t off = -2;
    assert_int_equal(kcg_fetch(c->b[other], GROUP, TOPIC, 0, &off), KP_ERR_NOT_COORDINATOR);
    /* the group itself was loaded from the partition when it was led again */
    char st[32];
    int32_t members = -1;
    assert_int_equal(kcg_describe_state(c->b[x], GROUP, st, sizeof(st), &members), 0);
    printf("# %s at broker %d after the restart: %s, %d member(s)\n", GROUP, (int)x, st,
           (int)members);
    assert_string_equal(st, "Stable");
    assert_int_equal(members, 1);
    assert_true(kb_log_has(c->b[x], "group coordinator: __consumer_offsets-"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0311_coordinator_moves_when_its_broker_stops,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0311_coordinator_comes_back_with_its_log,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
