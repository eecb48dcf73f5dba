/* test_zk_members.c - against a real ZooKeeper: registration and the broker epoch, a
 * duplicate broker id, the controller election and re-election, topic creation with
 * replication factors 1..3, and bodies in Kafka's JSON as a Kafka tool would read them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define THREADED
#include <zookeeper/zookeeper.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "support/clu_fixture.h"
#include "kc_common.h"
#include "kc_test.h"

#define SESSION_MS 4000
#define WAIT_MS    20000

static struct clu_zks zk;

static int group_setup(void **state)
{
    (void)state;
    kc_log_set_level(KC_LOG_WARN);
    int rc = clu_zks_start(&zk);
    if (rc != 0)
        fprintf(stderr, "cannot start ZooKeeper: %s\n", kc_strerror(rc));
    else
        printf("ZooKeeper on %s (started in %lld ms)\n", zk.hosts, (long long)zk.last_start_ms);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    clu_zks_destroy(&zk);
    return 0;
}

/* A raw handle on the test's chroot, to look at the znodes as any ZooKeeper client would. */
static zhandle_t *raw(const struct fx_cluster *c)
{
    zhandle_t *zh = zookeeper_init(c->connect, NULL, 10000, NULL, NULL, 0);
    assert_non_null(zh);
    for (int i = 0; i < 2000 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        kc_sleep_ms(5);
    assert_int_equal(zoo_state(zh), ZOO_CONNECTED_STATE);
    return zh;
}

static int get(zhandle_t *zh, const char *path, char *buf, int cap, struct Stat *st)
{
    int len = cap - 1;
    int rc = zoo_get(zh, path, 0, buf, &len, st);
    if (rc == ZOK)
        buf[len < 0 ? 0 : len] = '\0';
    return rc;
}

static bool has_controller(struct fx_cluster *c, void *arg)
{
    (void)arg;
    return fx_controller(c) > 0;
}

static bool all_see_controller(struct fx_cluster *c, void *arg)
{
    int32_t ctl = fx_controller(c);
    int n = *(int *)arg;
    if (ctl < 0)
        return false;
    for (int32_t id = 1; id <= n; id++)
        if (c->b[id].cl && c->b[id].controller_id != ctl)
            return false;
    return true;
}

static void test_register_epoch_is_czxid(void **state)
{
    (void)state;
    struct fx_cluster c;
    fx_init(&c, &zk, "register", SESSION_MS);
    assert_int_equal(fx_open(&c, 1), 0);
    struct clu_status st;
    clu_status(c.b[1].cl, &st);
    assert_true(st.registered);
    assert_true(st.broker_epoch > 0);
    assert_true(clu_uuid_valid(st.cluster_id));

    zhandle_t *zh = raw(&c);
    char buf[2048];
    struct Stat zs;
    assert_int_equal(get(zh, "/brokers/ids/1", buf, sizeof(buf), &zs), ZOK);
    assert_int_equal(zs.czxid, st.broker_epoch); /* the broker epoch IS the czxid */
    assert_int_equal(zs.ephemeralOwner, st.session_id);
    struct clu_broker_reg reg;
    assert_int_equal(clu_broker_reg_decode(buf, strlen(buf), &reg), 0);
    assert_int_equal(reg.version, 5);
    assert_string_equal(reg.endpoints, "PLAINTEXT://127.0.0.1:19091");
    assert_int_equal(reg.port, 19091);
    assert_non_null(strstr(buf, "\"jmx_port\":-1"));

    /* The cluster id is created once and kept. */
    char id[CLU_UUID_LEN + 1];
    assert_int_equal(get(zh, "/cluster/id", buf, sizeof(buf), &zs), ZOK);
    assert_int_equal(clu_cluster_id_decode(buf, strlen(buf), id), 0);
    assert_string_equal(id, st.cluster_id);
    assert_int_equal(fx_open(&c, 2), 0);
    struct clu_status st2;
    clu_status(c.b[2].cl, &st2);
    assert_string_equal(st2.cluster_id, st.cluster_id);
    assert_true(st2.broker_epoch > st.broker_epoch);

    /* A clean close removes the registration at once. */
    fx_close(&c, 1);
    assert_int_equal(zoo_exists(zh, "/brokers/ids/1", 0, &zs), ZNONODE);
    zookeeper_close(zh);
    fx_fini(&c);
}

/* Without a chroot the layout lives at ZooKeeper's root; with one, under it (created). */
static void test_register_root_and_chroot_layouts(void **state)
{
    (void)state;
    struct fx_cluster root, deep;
    fx_init(&root, &zk, NULL, SESSION_MS);
    fx_init(&deep, &zk, "a/b/c", SESSION_MS);
    assert_int_equal(fx_open(&root, 4), 0);
    assert_int_equal(fx_open(&deep, 4), 0); /* the same id, in another cluster */
    zhandle_t *zh = raw(&root);
    struct Stat zs;
    assert_int_equal(zoo_exists(zh, "/brokers/ids/4", 0, &zs), ZOK);
    assert_int_equal(zoo_exists(zh, "/a/b/c/brokers/ids/4", 0, &zs), ZOK);
    for (int i = 0; i < 2000 && zoo_exists(zh, "/a/b/c/controller", 0, &zs) != ZOK; i++)
        kc_sleep_ms(5); /* its election, on its cluster thread */
    assert_int_equal(zoo_exists(zh, "/a/b/c/controller_epoch", 0, &zs), ZOK);
    zookeeper_close(zh);
    fx_fini(&root);
    fx_fini(&deep);
}

static void test_register_duplicate_id_refused(void **state)
{
    (void)state;
    struct fx_cluster c;
    fx_init(&c, &zk, "duplicate", SESSION_MS);
    assert_int_equal(fx_open(&c, 1), 0);
    struct clu *second = NULL;
    struct clu_config cfg = c.cfg;
    cfg.broker_id = 1;
    cfg.listeners = "PLAINTEXT://127.0.0.1:19999";
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    assert_int_equal(clu_open(&cfg, &second), -EEXIST);
    char *log = kc_test_capture_stop(&cap);
    assert_int_equal(kc_test_count_lines(log, "broker id 1 already registered"), 1);
    free(log);
    assert_null(second);
    /* The first one is untouched. */
    struct clu_status st;
    clu_status(c.b[1].cl, &st);
    assert_true(st.registered);
    fx_fini(&c);
}

static void test_controller_elected_once_and_reelected(void **state)
{
    (void)state;
    struct fx_cluster c;
    int n = 3;
    fx_init(&c, &zk, "election", SESSION_MS);
    for (int32_t id = 1; id <= n; id++)
        assert_int_equal(fx_open(&c, id), 0);
    assert_true(fx_wait(&c, all_see_controller, &n, WAIT_MS));
    int32_t first = fx_controller(&c);
    int32_t epoch = c.b[first].controller_epoch;
    assert_true(epoch >= 1);
    assert_true(c.b[first].self_controller);

    /* The controller's session ends: another one is elected, at a higher epoch. */
    fx_close(&c, first);
    assert_true(fx_wait(&c, all_see_controller, &n, WAIT_MS));
    int32_t second = fx_controller(&c);
    assert_true(second != first);
    assert_int_equal(c.b[second].controller_epoch, epoch + 1);

    /* And again, by expiring (not closing) the new controller's session. */
    fx_expire(&c, second);
    assert_true(fx_wait(&c, has_controller, NULL, WAIT_MS));
    int32_t third;
    for (int i = 0; i < 2000; i++) {
        fx_poll(&c);
        third = fx_controller(&c);
        if (third > 0 && c.b[third].controller_epoch == epoch + 2)
            break;
        kc_sleep_ms(5);
    }
    assert_true(third > 0);
    assert_int_equal(c.b[third].controller_epoch, epoch + 2);
    fx_fini(&c);
}

struct topic_arg {
    const char *topic;
    int32_t parts;
};

static bool all_know_topic(struct fx_cluster *c, void *arg)
{
    const struct topic_arg *t = arg;
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        if (!c->b[id].cl)
            continue;
        for (int32_t p = 0; p < t->parts; p++) {
            const struct fx_part *fp = fx_part(c, id, t->topic, p);
            if (!fp || fp->ps.leader < 0)
                return false;
        }
    }
    return true;
}

static void check_topic(struct fx_cluster *c, zhandle_t *zh, const char *topic, int32_t parts,
                        int rf)
{
    char path[256], buf[4096];
    struct Stat zs;
    int leads[FX_BROKERS + 1] = {0};
    snprintf(path, sizeof(path), "/brokers/topics/%s", topic);
    assert_int_equal(get(zh, path, buf, sizeof(buf), &zs), ZOK);
    struct clu_assignment a;
    assert_int_equal(clu_assignment_decode(buf, strlen(buf), &a), 0);
    assert_int_equal(a.npart, parts);
    assert_true(clu_uuid_valid(a.topic_id));
    for (int32_t p = 0; p < parts; p++) {
        assert_int_equal(a.parts[p].n, rf);
        const struct fx_part *fp = fx_part(c, 1, topic, p);
        assert_non_null(fp);
        /* Every broker holds the same state; replicas are the assignment's. */
        assert_int_equal(fp->ps.nreplicas, rf);
        assert_memory_equal(fp->ps.replicas, a.parts[p].r, (size_t)rf * sizeof(int32_t));
        assert_int_equal(fp->ps.leader, a.parts[p].r[0]); /* the preferred replica leads */
        assert_int_equal(fp->ps.nisr, rf);
        assert_int_equal(fp->ps.leader_epoch, 0);
        /* A new partition starts at partition epoch 0 = its state znode's version 0. */
        snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", topic, (int)p);
        assert_int_equal(get(zh, path, buf, sizeof(buf), &zs), ZOK);
        assert_int_equal(zs.version, 0);
        assert_int_equal(fp->ps.partition_epoch, 0);
        leads[fp->ps.leader]++;
        for (int32_t id = 1; id <= 3; id++) {
            const struct fx_part *q = fx_part(c, id, topic, p);
            assert_non_null(q);
            assert_int_equal(q->ps.leader, fp->ps.leader);
            assert_int_equal(q->role, q->ps.leader == id                    ? CLU_ROLE_LEADER
                                      : repl_pstate_in_replicas(&q->ps, id) ? CLU_ROLE_FOLLOWER
                                                                            : CLU_ROLE_NOT_REPLICA);
        }
    }
    /* Kafka's placement spreads leaders: with 6 partitions on 3 brokers, 2 each. */
    if (parts == 6)
        for (int32_t id = 1; id <= 3; id++)
            assert_int_equal(leads[id], 2);
    clu_assignment_fini(&a);
}

static void test_topic_create_rf_1_to_3(void **state)
{
    (void)state;
    struct fx_cluster c;
    int n = 3;
    fx_init(&c, &zk, "topics", SESSION_MS);
    for (int32_t id = 1; id <= n; id++)
        assert_int_equal(fx_open(&c, id), 0);
    assert_true(fx_wait(&c, all_see_controller, &n, WAIT_MS));
    zhandle_t *zh = raw(&c);
    for (int rf = 1; rf <= 3; rf++) {
        char topic[32];
        snprintf(topic, sizeof(topic), "rf%d", rf);
        struct clu_kv cfg[] = {{"min.insync.replicas", rf == 3 ? "2" : "1"}};
        int64_t id = clu_topic_create(c.b[2].cl, topic, 6, rf, cfg, 1);
        struct clu_answer a = fx_answer(&c, 2, id, WAIT_MS);
        assert_int_equal(a.error, 0);
        struct topic_arg t = {topic, 6};
        assert_true(fx_wait(&c, all_know_topic, &t, WAIT_MS));
        check_topic(&c, zh, topic, 6, rf);
        char path[128], buf[512];
        struct Stat zs;
        snprintf(path, sizeof(path), "/config/topics/%s", topic);
        assert_int_equal(get(zh, path, buf, sizeof(buf), &zs), ZOK);
        assert_string_equal(buf,
                            rf == 3 ? "{\"version\":1,\"config\":{\"min.insync.replicas\":\"2\"}}"
                                    : "{\"version\":1,\"config\":{\"min.insync.replicas\":\"1\"}}");
        /* ... and every broker's view reports it with the topic. */
        char want[64];
        snprintf(want, sizeof(want), "%s min.insync.replicas=%s", topic, rf == 3 ? "2" : "1");
        for (int32_t b = 1; b <= 3; b++)
            assert_string_equal(c.b[b].topic_config, want);
    }
    /* Refusals: an existing name, more replicas than brokers, a bad name. */
    int64_t id = clu_topic_create(c.b[1].cl, "rf1", 1, 1, NULL, 0);
    assert_int_equal(fx_answer(&c, 1, id, WAIT_MS).error, REPL_TOPIC_ALREADY_EXISTS);
    id = clu_topic_create(c.b[1].cl, "big", 1, 4, NULL, 0);
    assert_int_equal(fx_answer(&c, 1, id, WAIT_MS).error, REPL_INVALID_REPLICATION_FACTOR);
    assert_int_equal(clu_topic_create(c.b[1].cl, "no/slash", 1, 1, NULL, 0), -EINVAL);
    zookeeper_close(zh);
    fx_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_epoch_is_czxid),
        cmocka_unit_test(test_register_root_and_chroot_layouts),
        cmocka_unit_test(test_register_duplicate_id_refused),
        cmocka_unit_test(test_controller_elected_once_and_reelected),
        cmocka_unit_test(test_topic_create_rf_1_to_3),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
