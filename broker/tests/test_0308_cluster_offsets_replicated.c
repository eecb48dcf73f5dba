/*
 * test_0308_cluster_offsets_replicated - __consumer_offsets is replicated: a group's
 * committed offsets survive the loss of its coordinator.
 *
 *   three brokers, __consumer_offsets at three replicas:
 *
 *   commit 42 at x ──> x appends (leader epoch e), y and z fetch it, HW passes ──> OK
 *   kill -9 x ──> y leads the partition, loads what replication copied ──> fetch: 42
 *   commit 50 at y ──> OK once z has it too; y stops ──> z coordinates ──> fetch: 50
 *
 * The last step shows that a commit answered OK is on the follower's log (z never
 * coordinated the group before: it holds the commit only because it fetched it).
 *
 * And a commit the replicas cannot take is refused, never answered OK: with
 * min.insync.replicas 3 and a follower frozen (SIGSTOP), the commit waits for it, the ISR
 * shrinks (replica.lag.time.max.ms) or offsets.commit.timeout.ms passes, and the answer is
 * COORDINATOR_NOT_AVAILABLE (Kafka maps 19, 20 and 7 to it); the client retries, and once
 * the follower is back in the ISR a commit is taken and the group reads it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcg.h"

#define TOPIC "orders"
#define GROUP "billing"

static const char *const settings[] = {"offsets.topic.num.partitions=6",
                                       "offsets.topic.replication.factor=3",
                                       "group.initial.rebalance.delay.ms=0", NULL};

struct fetched {
    const struct kb_broker *b;
    int32_t partition;
    int64_t offset;
    int16_t err;
};

/* Until b serves the group's offset of partition f->partition (it may still be loading,
 * or not know yet that it leads). */
static bool fetch_ok(void *arg)
{
    struct fetched *f = arg;
    f->err = kcg_fetch(f->b, GROUP, TOPIC, f->partition, &f->offset);
    return f->err == KP_ERR_NONE;
}

/* The coordinator b names for the group, once it is not broker `not` (-1: any). */
static int32_t coordinator_other_than(const struct kb_broker *b, int32_t not)
{
    struct kcg_until_coordinator u = {b, GROUP, not, 0};
    if (!kt_until(kcg_has_coordinator, &u, KB_WAIT_MS))
        fail_msg("no coordinator other than %d for %s", (int)not, GROUP);
    return u.node;
}

static void start3(struct kcl *c, const char *const *extra)
{
    kcl_start_cluster(c, 3, extra);
    assert_int_equal(kcl_create_topic(c->b[1], TOPIC, 3, 3), KP_ERR_NONE);
    kcl_await_topic(c, 3, TOPIC, 3, 3);
}

static void test_0308_kill9_coordinator_keeps_committed_offsets(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c, settings);
    int32_t x = coordinator_other_than(c->b[1], -1);
    assert_int_equal(kcg_commit_at_coordinator(c->b[x], GROUP, TOPIC, 0, 42), KP_ERR_NONE);
    assert_int_equal(kcg_commit_at_coordinator(c->b[x], GROUP, TOPIC, 1, 17), KP_ERR_NONE);
    int64_t t0 = kc_mono_ms();
    kb_kill9(c->b[x]);
    int other = x % 3 + 1;
    int32_t y = coordinator_other_than(c->b[other], x);
    struct fetched f = {c->b[y], 0, -2, -1};
    if (!kt_until(fetch_ok, &f, KB_WAIT_MS))
        fail_msg("broker %d never served %s's offsets: error %d", (int)y, GROUP, (int)f.err);
    printf("# broker %d killed (-9): broker %d serves %s's offsets %lld ms later\n", (int)x,
           (int)y, GROUP, (long long)(kc_mono_ms() - t0));
    assert_int_equal(f.offset, 42); /* the consumer resumes at 42: nothing re-read */
    f.partition = 1;
    assert_true(fetch_ok(&f));
    assert_int_equal(f.offset, 17);
    /* a commit answered OK at y is on z's log: z serves it once it coordinates */
    assert_int_equal(kcg_commit_at_coordinator(c->b[y], GROUP, TOPIC, 0, 50), KP_ERR_NONE);
    int32_t z = 6 - x - y;
    kb_stop(c->b[y]);
    assert_int_equal(coordinator_other_than(c->b[z], y), z);
    struct fetched g = {c->b[z], 0, -2, -1};
    if (!kt_until(fetch_ok, &g, KB_WAIT_MS))
        fail_msg("broker %d never served %s's offsets: error %d", (int)z, GROUP, (int)g.err);
    printf("# broker %d stopped: broker %d serves offset %lld (committed at %d)\n", (int)y,
           (int)z, (long long)g.offset, (int)y);
    assert_int_equal(g.offset, 50);
    g.partition = 1;
    assert_true(fetch_ok(&g));
    assert_int_equal(g.offset, 17);
}

static const char *const settings_min3[] = {"offsets.topic.num.partitions=6",
                                            "offsets.topic.replication.factor=3",
                                            "min.insync.replicas=3",
                                            "replica.lag.time.max.ms=800",
                                            "offsets.commit.timeout.ms=1500", NULL};

static void test_0308_commit_refused_while_isr_too_small(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    start3(c, settings_min3);
    int32_t x = coordinator_other_than(c->b[1], -1);
    assert_int_equal(kcg_commit_at_coordinator(c->b[x], GROUP, TOPIC, 0, 42), KP_ERR_NONE);
    int32_t y = x % 3 + 1;
    assert_int_equal(kill(c->b[y]->pid, SIGSTOP), 0);
    int64_t t0 = kc_mono_ms();
    int16_t err = kcg_commit(c->b[x], GROUP, TOPIC, 0, 43);
    int64_t ms = kc_mono_ms() - t0;
    assert_int_equal(kill(c->b[y]->pid, SIGCONT), 0);
    printf("# follower %d frozen, min.insync.replicas 3: commit at %d answered %d after %lld "
           "ms\n", (int)y, (int)x, (int)err, (long long)ms);
    assert_int_equal(err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    struct fetched f = {c->b[x], 0, -2, -1};
    assert_true(fetch_ok(&f));
    assert_int_equal(f.offset, 42); /* the refused commit is not served */
    t0 = kc_mono_ms();
    while ((err = kcg_commit(c->b[x], GROUP, TOPIC, 0, 44)) != KP_ERR_NONE &&
           kc_mono_ms() - t0 < KB_WAIT_MS)
        usleep(100 * 1000);
    assert_int_equal(err, KP_ERR_NONE);
    assert_true(fetch_ok(&f));
    assert_int_equal(f.offset, 44);
    printf("# follower %d back: a commit taken %lld ms after SIGCONT\n", (int)y,
           (long long)(kc_mono_ms() - t0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0308_kill9_coordinator_keeps_committed_offsets,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0308_commit_refused_while_isr_too_small,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
