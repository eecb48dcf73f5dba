/*
 * test_0310_cluster_groups - the group coordinator in a cluster is the leader of the
 * group's __consumer_offsets partition: FindCoordinator names it on every broker, it
 * alone serves the group APIs, and the other two answer NOT_COORDINATOR (16) to
 * JoinGroup, Heartbeat, OffsetCommit, OffsetFetch and DescribeGroups, and leave the
 * group out of ListGroups. A kcat (librdkafka) consumer group bootstrapped with all three
 * brokers finds it, consumes every record and commits there.
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

static void start3(struct kcl *c)
{
    kcl_start_cluster(c, 3, settings);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 3, 3), KP_ERR_NONE);
    kcl_await_topic(c, 3, TOPIC, 3, 3);
}

/* The group's coordinator, once every broker names the same one. */
static int32_t coordinator(struct kcl *c, const char *group)
{
    struct kcg_until_coordinator u = {c->b[1], group, -1, 0};
    if (!kt_until(kcg_has_coordinator, &u, KB_WAIT_MS))
        fail_msg("no coordinator for %s: FindCoordinator says %d", group, (int)u.node);
    for (int id = 2; id <= 3; id++) {
        struct kcg_until_coordinator v = {c->b[id], group, -1, 0};
        assert_true(kt_until(kcg_has_coordinator, &v, KB_WAIT_MS));
        assert_int_equal(v.node, u.node);
    }
    return u.node;
}

static void test_0310_group_apis_answer_not_coordinator_elsewhere(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c);
    int32_t x = coordinator(c, GROUP);
    printf("# group %s: coordinator is broker %d\n", GROUP, (int)x);
    assert_int_equal(kcg_commit_at_coordinator(c->b[x], GROUP, TOPIC, 1, 42), KP_ERR_NONE);
    for (int id = 1; id <= 3; id++) {
        const struct kb_broker *b = c->b[id];
        int64_t off = -2;
        if (id == x) {
            assert_int_not_equal(kcg_heartbeat(b, GROUP), KP_ERR_NOT_COORDINATOR);
            assert_int_equal(kcg_fetch(b, GROUP, TOPIC, 1, &off), KP_ERR_NONE);
            assert_int_equal(off, 42);
            assert_true(kcg_lists(b, GROUP));
            assert_int_equal(kcg_describe(b, GROUP), KP_ERR_NONE);
            continue;
        }
        assert_int_equal(kcg_heartbeat(b, GROUP), KP_ERR_NOT_COORDINATOR);
        assert_int_equal(kcg_commit(b, GROUP, TOPIC, 1, 7), KP_ERR_NOT_COORDINATOR);
        assert_int_equal(kcg_fetch(b, GROUP, TOPIC, 1, &off), KP_ERR_NOT_COORDINATOR);
        assert_false(kcg_lists(b, GROUP));
        assert_int_equal(kcg_describe(b, GROUP), KP_ERR_NOT_COORDINATOR);
        int fd = kb_connect(b);
        kcg_join_send(fd, GROUP, "", 77);
        assert_int_equal(kcg_join_recv(fd, 77, NULL, 0), KP_ERR_NOT_COORDINATOR);
        close(fd);
    }
    /* the refused commit changed nothing at the coordinator */
    int64_t off = -2;
    assert_int_equal(kcg_fetch(c->b[x], GROUP, TOPIC, 1, &off), KP_ERR_NONE);
    assert_int_equal(off, 42);
}

/* kcat -G bootstrapped with every broker: librdkafka asks FindCoordinator, joins there,
 * consumes everything and commits at the coordinator on the way out (-e). */
static void test_0310_kcat_group_finds_the_coordinator(void **state)
{
    KCL_REQUIRE_ZK();
    kt_require("kcat", "kcat");
    struct kcl *c = *state;
    start3(c);
    char in[4096], brokers[256], *out, *err;
    size_t len = 0;
    for (int i = 0; i < 30; i++)
        len += (size_t)snprintf(in + len, sizeof(in) - len, "k%d:v%d\n", i, i);
    const char *prod[] = {"kcat", "-b", c->b[1]->addr, "-P", "-t", TOPIC, "-K:", NULL};
    assert_int_equal(kt_run(c->b[1], prod, in, len, KB_WAIT_MS, &out, NULL, &err), 0);
    free(out);
    free(err);
    snprintf(brokers, sizeof(brokers), "%s,%s,%s", c->b[1]->addr, c->b[2]->addr,
             c->b[3]->addr);
    const char *cons[] = {"kcat", "-b", brokers, "-G", GROUP, TOPIC, "-e", "-f", "%p %o %s\n",
                          "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000",
                          "-X", "heartbeat.interval.ms=300", NULL};
    int rc = kt_run(c->b[1], cons, NULL, 0, 60000, &out, NULL, &err);
    int lines = 0;
    for (char *p = out; (p = strchr(p, '\n')); p++)
        lines++;
    if (rc != 0 || lines != 30)
        fail_msg("kcat -G exited %d having read %d records (want 30): %s", rc, lines, err);
    free(out);
    free(err);
    int32_t x = coordinator(c, GROUP);
    int64_t sum = 0;
    for (int32_t p = 0; p < 3; p++) {
        int64_t off = -2;
        assert_int_equal(kcg_fetch(c->b[x], GROUP, TOPIC, p, &off), KP_ERR_NONE);
        sum += off > 0 ? off : 0;
        for (int id = 1; id <= 3; id++)
            if (id != x)
                assert_int_equal(kcg_fetch(c->b[id], GROUP, TOPIC, p, &off),
                                 KP_ERR_NOT_COORDINATOR);
    }
    printf("# kcat -G read 30 records; broker %d (the coordinator) holds commits summing "
           "to %lld\n", (int)x, (long long)sum);
    assert_int_equal(sum, 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0310_group_apis_answer_not_coordinator_elsewhere,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0310_kcat_group_finds_the_coordinator, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
