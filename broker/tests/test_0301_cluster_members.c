/*
 * test_0301_cluster_members - brokers join a ZooKeeper cluster: Metadata shows every live
 * broker, their endpoints and the controller; a duplicate broker.id and a missing
 * ZooKeeper stop the broker at start with a clear message (exit 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kcl.h"

static void test_0301_three_brokers_metadata_lists_all_and_controller(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, NULL);
    uint8_t buf[1 << 16];
    struct kp_response resp;
    char cluster_id[64] = "";
    int32_t controller = -1;
    for (int id = 1; id <= 3; id++) {
        struct kp_metadata_resp *m = kcl_metadata(c->b[id], NULL, false, buf, sizeof(buf), &resp);
        assert_int_equal(m->brokers.n, 3);
        for (int32_t i = 0; i < 3; i++) { /* each at its advertised, real port */
            const struct kp_metadata_resp_broker *b = &m->brokers.v[i];
            assert_true(b->node_id >= 1 && b->node_id <= 3);
            assert_int_equal(b->port, c->b[b->node_id]->port);
            assert_true(b->host.len == 9 && memcmp(b->host.p, "127.0.0.1", 9) == 0);
        }
        assert_true(m->cluster_id.len == 22); /* Kafka's base64 uuid, from /cluster/id */
        if (id == 1) {
            memcpy(cluster_id, m->cluster_id.p, 22);
            controller = m->controller_id;
        }
        assert_memory_equal(cluster_id, m->cluster_id.p, 22); /* one cluster */
        assert_int_equal(m->controller_id, controller);       /* one controller */
        kp_response_fini(&resp);
    }
    printf("# three brokers, controller %d, cluster %s\n", (int)controller, cluster_id);
}

static void test_0301_duplicate_broker_id_exits_1(void **state)
{
    KCL_REQUIRE_ZK();
    struct kcl *c = *state;
    kcl_start(c, 1, NULL);
    char ov[200], *o, *e;
    snprintf(ov, sizeof(ov), "zookeeper.connect=%s", c->connect);
    const char *args[] = {"--port", "0", "--data-dir", "dup-data", "--override", ov,
                          "--override", "broker.id=1", "--override", "metrics.port=-1", NULL};
    int rc = kb_exec(c->b[1], "kafka_broker", NULL, &o, &e, args);
    if (rc != 1 || !strstr(e, "broker id 1 already registered"))
        fail_msg("status %d; stderr: %s", rc, e);
    free(o);
    free(e);
}

static void test_0301_no_zookeeper_exits_1_clearly(void **state)
{
    struct kcl *c = *state;
    void *s;
    kb_setup(&s);
    c->b[1] = s;
    int fd = socket(AF_INET, SOCK_STREAM, 0); /* a port nobody listens on: bind, no listen */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    char ov[200], *o, *e;
    snprintf(ov, sizeof(ov), "zookeeper.connect=127.0.0.1:%d", ntohs(sa.sin_port));
    const char *args[] = {"--port", "0", "--data-dir", "nozk-data", "--override", ov,
                          "--override", "broker.id=1", "--override",
                          "zookeeper.connection.timeout.ms=1500", "--override",
                          "metrics.port=-1", NULL};
    int64_t t0 = kc_mono_ms();
    int rc = kb_exec(c->b[1], "kafka_broker", NULL, &o, &e, args);
    close(fd);
    if (rc != 1 || !strstr(e, "no ZooKeeper answered at 127.0.0.1:"))
        fail_msg("status %d; stderr: %s", rc, e);
    assert_true(kc_mono_ms() - t0 < KB_WAIT_MS);
    free(o);
    free(e);
    /* and broker.id is required with zookeeper.connect */
    const char *noid[] = {"--port", "0", "--override", ov, NULL};
    rc = kb_exec(c->b[1], "kafka_broker", NULL, &o, &e, noid);
    if (rc != 2 || !strstr(e, "zookeeper.connect needs broker.id"))
        fail_msg("status %d; stderr: %s", rc, e);
    free(o);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0301_three_brokers_metadata_lists_all_and_controller,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0301_duplicate_broker_id_exits_1, kcl_setup,
                                        kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0301_no_zookeeper_exits_1_clearly, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
