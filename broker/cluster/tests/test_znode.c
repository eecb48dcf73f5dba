/* test_znode.c - Kafka's ZooKeeper layout without ZooKeeper: the bodies as Kafka writes
 * them (fixtures after the formats documented in Kafka's ZkData.scala, versions 1 to 5 of
 * a broker registration, 1 to 3 of an assignment), exact encodings, refusals, every
 * truncated prefix of every fixture, paths, zookeeper.connect and ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clu_znode.h"
#include "kc_common.h"
#include "kc_test.h"

/* A string literal and its length. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- fixtures ---- */

static const char broker_v1[] = "{\"version\":1,\"host\":\"localhost\",\"port\":9092,\"jmx_port\":"
                                "9999,\"timestamp\":\"2233345666\"}";
static const char broker_v2[] = "{\"version\":2,\"host\":\"localhost\",\"port\":9092,\"jmx_port\":"
                                "9999,\"timestamp\":\"2233345666\","
                                "\"endpoints\":[\"PLAINTEXT://host1:9092\", \"SSL://host1:9093\"]}";
static const char broker_v3[] =
    "{\"version\":3,\"host\":\"localhost\",\"port\":9092,\"jmx_port\":9999,\"timestamp\":"
    "\"2233345666\","
    "\"endpoints\":[\"PLAINTEXT://host1:9092\", \"SSL://host1:9093\"],\"rack\":\"dc1\"}";
static const char broker_v4[] =
    "{\"version\":4,\"host\":\"localhost\",\"port\":9092,\"jmx_port\":9999,\"timestamp\":"
    "\"2233345666\","
    "\"endpoints\":[\"CLIENT://host1:9092\", \"REPLICATION://host1:9093\"],\"rack\":\"dc1\","
    "\"listener_security_protocol_map\":{\"CLIENT\":\"SSL\",\"REPLICATION\":\"PLAINTEXT\"}}";
static const char broker_v5[] =
    "{\"features\":{\"feature\":{\"min_version\":1,\"first_active_version\":2,\"max_version\":3}},"
    "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\",\"SASL_SSL\":\"SASL_SSL\"},"
    "\"endpoints\":[\"PLAINTEXT://10.0.0.1:9092\",\"SASL_SSL://10.0.0.1:9094\"],\"jmx_port\":-1,"
    "\"host\":\"10.0.0.1\",\"timestamp\":\"1700000000000\",\"port\":9092,\"version\":5}";
static const char controller[] = "{\"version\":1,\"brokerid\":2,\"timestamp\":\"1597426560436\"}";
static const char assign_v1[] = "{\"version\":1,\"partitions\":{\"1\":[2,1],\"0\":[1,2]}}";
static const char assign_v2[] =
    "{\"version\":2,\"partitions\":{\"0\":[1,2,3]},\"adding_replicas\":{},"
    "\"removing_replicas\":{}}";
static const char assign_v3[] =
    "{\"version\":3,\"topic_id\":\"K7ZcM-bRSsOxBmyo8n1Gfg\",\"partitions\":{\"0\":[3,1,2],"
    "\"1\":[1,2,3]},\"adding_replicas\":{},\"removing_replicas\":{}}";
static const char state_v1[] =
    "{\"controller_epoch\":3,\"leader\":2,\"version\":1,\"leader_epoch\":7,\"isr\":[2,1]}";
static const char state_recovered[] = "{\"controller_epoch\":3,\"leader\":2,\"version\":1,"
                                      "\"leader_epoch\":7,\"isr\":[2],\"leader_recovery_state\":0}";
static const char config[] =
    "{\"version\":1,\"config\":{\"min.insync.replicas\":\"2\",\"cleanup.policy\":\"compact\"}}";
static const char cluster_id[] = "{\"version\":\"1\",\"id\":\"mHeM3lyfSI6rMIDmNsdqfQ\"}";

/* Every truncated prefix of a valid body is malformed, never accepted, never a crash. */
static void prefixes_malformed(const char *body, int (*decode)(const char *, size_t))
{
    size_t n = strlen(body);
    assert_int_equal(decode(body, n), 0);
    for (size_t len = 0; len < n; len++) {
        int rc = decode(body, len);
        if (rc != KC_EMALFORMED)
            fail_msg("prefix of %zu bytes of %s: %d", len, body, rc);
    }
}

static int dec_broker(const char *p, size_t n)
{
    struct clu_broker_reg r;
    return clu_broker_reg_decode(p, n, &r);
}

static int dec_controller(const char *p, size_t n)
{
    int32_t id;
    return clu_controller_decode(p, n, &id);
}

static int dec_assign(const char *p, size_t n)
{
    struct clu_assignment a;
    int rc = clu_assignment_decode(p, n, &a);
    if (rc == 0)
        clu_assignment_fini(&a);
    return rc;
}

static int dec_state(const char *p, size_t n)
{
    struct repl_pstate ps = {0};
    return clu_pstate_decode(p, n, &ps);
}

static int dec_config(const char *p, size_t n)
{
    struct clu_kv *kv;
    int m, rc = clu_topic_config_decode(p, n, &kv, &m);
    if (rc == 0)
        free(kv);
    return rc;
}

static int dec_cluster(const char *p, size_t n)
{
    char id[CLU_UUID_LEN + 1];
    return clu_cluster_id_decode(p, n, id);
}

static int dec_request(const char *p, size_t n)
{
    struct clu_request rq;
    return clu_request_decode(p, n, &rq);
}

static void test_broker_reg_every_version(void **state)
{
    (void)state;
    struct clu_broker_reg r;
    assert_int_equal(clu_broker_reg_decode(broker_v1, strlen(broker_v1), &r), 0);
    assert_int_equal(r.version, 1);
    assert_string_equal(r.endpoints, "PLAINTEXT://localhost:9092");
    assert_int_equal(r.jmx_port, 9999);
    assert_int_equal(r.timestamp, 2233345666);
    assert_int_equal(clu_broker_reg_decode(broker_v2, strlen(broker_v2), &r), 0);
    assert_string_equal(r.endpoints, "PLAINTEXT://host1:9092,SSL://host1:9093");
    assert_string_equal(r.protocol_map, "PLAINTEXT:PLAINTEXT,SSL:SSL");
    assert_int_equal(clu_broker_reg_decode(broker_v3, strlen(broker_v3), &r), 0);
    assert_string_equal(r.rack, "dc1");
    assert_int_equal(clu_broker_reg_decode(broker_v4, strlen(broker_v4), &r), 0);
    assert_string_equal(r.protocol_map, "CLIENT:SSL,REPLICATION:PLAINTEXT");
    assert_string_equal(r.host, "host1"); /* the first PLAINTEXT listener's */
    assert_int_equal(r.port, 9093);
    assert_int_equal(clu_broker_reg_decode(broker_v5, strlen(broker_v5), &r), 0);
    assert_int_equal(r.version, 5);
    assert_string_equal(r.endpoints, "PLAINTEXT://10.0.0.1:9092,SASL_SSL://10.0.0.1:9094");
    assert_int_equal(r.jmx_port, -1);
    assert_int_equal(r.timestamp, 1700000000000);
    const char *all[] = {broker_v1, broker_v2, broker_v3, broker_v4, broker_v5};
    for (size_t i = 0; i < KC_ARRAY_SIZE(all); i++)
        prefixes_malformed(all[i], dec_broker);
}

static void test_broker_reg_encoded_as_kafka(void **state)
{
    (void)state;
    struct clu_broker_reg r, back;
    assert_int_equal(clu_broker_reg_init(&r, "PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:9093",
                                         "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL", NULL,
                                         1700000000000),
                     0);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_broker_reg_encode(&r, &w), 0);
    kc_write_raw(&w, "", 1);
    assert_string_equal(
        (const char *)kc_writer_data(&w),
        "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\","
        "\"INTERNAL\":\"SASL_SSL\"},\"endpoints\":[\"PLAINTEXT://127.0.0.1:9092\","
        "\"INTERNAL://127.0.0.1:9093\"],\"jmx_port\":-1,\"features\":{},\"host\":"
        "\"127.0.0.1\",\"timestamp\":\"1700000000000\",\"port\":9092,\"version\":5}");
    assert_int_equal(
        clu_broker_reg_decode((const char *)kc_writer_data(&w), kc_writer_len(&w) - 1, &back), 0);
    assert_string_equal(back.endpoints, r.endpoints);
    assert_string_equal(back.protocol_map, r.protocol_map);
    /* Without a PLAINTEXT listener, Kafka writes host null and port -1. */
    kc_writer_reset(&w);
    assert_int_equal(clu_broker_reg_init(&r, "SSL://h:9093", NULL, "r1", 5), 0);
    assert_int_equal(clu_broker_reg_encode(&r, &w), 0);
    kc_write_raw(&w, "", 1);
    assert_non_null(strstr((const char *)kc_writer_data(&w), "\"host\":null"));
    assert_non_null(strstr((const char *)kc_writer_data(&w), "\"port\":-1"));
    assert_non_null(strstr((const char *)kc_writer_data(&w), "\"rack\":\"r1\""));
    kc_writer_fini(&w);
    /* Settings that are refused. */
    assert_int_equal(clu_broker_reg_init(&r, "INTERNAL://h:1", NULL, NULL, 0), -EINVAL);
    assert_int_equal(clu_broker_reg_init(&r, "PLAINTEXT://h:1", "PLAINTEXT:TLS", NULL, 0), -EINVAL);
    assert_int_equal(clu_broker_reg_init(&r, "PLAINTEXT://h:70000", NULL, NULL, 0), -EINVAL);
    assert_int_equal(clu_broker_reg_init(&r, "PLAINTEXT:/h:1", NULL, NULL, 0), -EINVAL);
    assert_int_equal(clu_broker_reg_init(&r, "PLAINTEXT://h:1,", NULL, NULL, 0), -EINVAL);
    assert_int_equal(clu_broker_reg_init(&r, "", NULL, NULL, 0), -EINVAL);
}

static void test_broker_reg_bad_bodies_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[]",
        "{}",
        "{\"version\":5}",
        "{\"version\":0,\"jmx_port\":1}",
        "{\"version\":2,\"jmx_port\":-1}",
        "{\"version\":2,\"jmx_port\":-1,\"endpoints\":[]}",
        "{\"version\":2,\"jmx_port\":-1,\"endpoints\":[\"nothing\"]}",
        "{\"version\":4,\"jmx_port\":-1,\"endpoints\":[\"CLIENT://h:1\"]}", /* no protocol */
        ("{\"version\":4,\"jmx_port\":-1,\"endpoints\":[\"A://h:1\"],"
         "\"listener_security_protocol_map\":{\"A\":\"TELNET\"}}"),
        "{\"version\":5,\"jmx_port\":\"-1\",\"endpoints\":[\"PLAINTEXT://h:1\"]}",
        "{\"version\":5,\"jmx_port\":-1,\"endpoints\":[\"PLAINTEXT://h:1\"],\"timestamp\":12}",
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        int rc = dec_broker(bad[i], strlen(bad[i]));
        if (rc != KC_EMALFORMED)
            fail_msg("%s: %d", bad[i], rc);
    }
    assert_int_equal(dec_broker(S("{\"version\":6,\"jmx_port\":-1}")), KC_EUNSUPPORTED);
}

static void test_controller_and_epoch(void **state)
{
    (void)state;
    int32_t id, epoch;
    assert_int_equal(clu_controller_decode(controller, strlen(controller), &id), 0);
    assert_int_equal(id, 2);
    prefixes_malformed(controller, dec_controller);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_controller_encode(3, 1597426560436, &w), 0);
    kc_write_raw(&w, "", 1);
    assert_string_equal((const char *)kc_writer_data(&w),
                        "{\"version\":1,\"brokerid\":3,\"timestamp\":\"1597426560436\"}");
    kc_writer_fini(&w);
    assert_int_equal(dec_controller(S("{\"version\":1}")), KC_EMALFORMED);
    assert_int_equal(dec_controller(S("{\"brokerid\":-1}")), KC_EMALFORMED);

    assert_int_equal(clu_epoch_decode("0", 1, &epoch), 0);
    assert_int_equal(epoch, 0);
    assert_int_equal(clu_epoch_decode("17", 2, &epoch), 0);
    assert_int_equal(epoch, 17);
    static const char *const bad[] = {"", "-1", "01", "+1", "1 ", "x", "2147483648", "1.0"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        assert_int_equal(clu_epoch_decode(bad[i], strlen(bad[i]), &epoch), KC_EMALFORMED);
}

static void test_assignment_every_version(void **state)
{
    (void)state;
    struct clu_assignment a;
    assert_int_equal(clu_assignment_decode(assign_v1, strlen(assign_v1), &a), 0);
    assert_int_equal(a.npart, 2);
    assert_string_equal(a.topic_id, "");
    assert_int_equal(a.parts[0].n, 2);
    assert_int_equal(a.parts[0].r[0], 1); /* keys come in any order */
    assert_int_equal(a.parts[1].r[0], 2);
    clu_assignment_fini(&a);
    assert_int_equal(clu_assignment_decode(assign_v2, strlen(assign_v2), &a), 0);
    assert_int_equal(a.parts[0].n, 3);
    clu_assignment_fini(&a);
    assert_int_equal(clu_assignment_decode(assign_v3, strlen(assign_v3), &a), 0);
    assert_string_equal(a.topic_id, "K7ZcM-bRSsOxBmyo8n1Gfg");
    assert_int_equal(a.parts[0].r[0], 3);
    clu_assignment_fini(&a);
    prefixes_malformed(assign_v1, dec_assign);
    prefixes_malformed(assign_v3, dec_assign);

    /* The exact bytes of version 3. */
    struct repl_pstate parts[2] = {{.nreplicas = 3, .replicas = {3, 1, 2}},
                                   {.nreplicas = 3, .replicas = {1, 2, 3}}};
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_assignment_encode("K7ZcM-bRSsOxBmyo8n1Gfg", parts, 2, &w), 0);
    assert_int_equal(kc_writer_len(&w), strlen(assign_v3) - 0);
    assert_memory_equal(kc_writer_data(&w), assign_v3, strlen(assign_v3));
    kc_writer_fini(&w);

    static const char *const bad[] = {
        "{\"version\":3,\"partitions\":{}}",
        "{\"version\":3,\"partitions\":{\"0\":[1],\"2\":[1]}}", /* a gap */
        "{\"version\":3,\"partitions\":{\"0\":[1],\"0\":[2]}}", /* twice */
        "{\"version\":3,\"partitions\":{\"00\":[1]}}",
        "{\"version\":3,\"partitions\":{\"-1\":[1]}}",
        "{\"version\":3,\"partitions\":{\"0\":[]}}",
        "{\"version\":3,\"partitions\":{\"0\":[1,1]}}",
        "{\"version\":3,\"partitions\":{\"0\":[-2]}}",
        "{\"version\":3,\"partitions\":{\"0\":\"1\"}}",
        "{\"version\":3,\"topic_id\":\"short\",\"partitions\":{\"0\":[1]}}",
        "{\"partitions\":{\"0\":[1]}}",
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        int rc = dec_assign(bad[i], strlen(bad[i]));
        if (rc != KC_EMALFORMED)
            fail_msg("%s: %d", bad[i], rc);
    }
    /* A reassignment in progress: well formed, not supported here. */
    static const char moving[] =
        "{\"version\":2,\"partitions\":{\"0\":[1,2,3]},\"adding_replicas\":"
        "{\"0\":[3]},\"removing_replicas\":{}}";
    assert_int_equal(dec_assign(moving, strlen(moving)), KC_EUNSUPPORTED);
    assert_int_equal(dec_assign(S("{\"version\":4,\"partitions\":{\"0\":[1]}}")), KC_EUNSUPPORTED);
}

static void test_partition_state(void **state)
{
    (void)state;
    struct repl_pstate ps = {.nreplicas = 3, .replicas = {2, 1, 3}, .partition_epoch = 12};
    assert_int_equal(clu_pstate_decode(state_v1, strlen(state_v1), &ps), 0);
    assert_int_equal(ps.controller_epoch, 3);
    assert_int_equal(ps.leader, 2);
    assert_int_equal(ps.leader_epoch, 7);
    assert_int_equal(ps.nisr, 2);
    assert_int_equal(ps.partition_epoch, 12); /* untouched: it is the znode's version */
    assert_true(clu_pstate_valid(&ps));
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_pstate_encode(&ps, &w), 0);
    assert_int_equal(kc_writer_len(&w), strlen(state_v1));
    assert_memory_equal(kc_writer_data(&w), state_v1, strlen(state_v1));
    kc_writer_fini(&w);
    assert_int_equal(clu_pstate_decode(state_recovered, strlen(state_recovered), &ps), 0);
    prefixes_malformed(state_v1, dec_state);
    prefixes_malformed(state_recovered, dec_state);

    static const char *const bad[] = {
        "{\"controller_epoch\":3,\"leader\":2,\"version\":1,\"leader_epoch\":7,\"isr\":[]}",
        "{\"controller_epoch\":3,\"leader\":2,\"version\":1,\"leader_epoch\":7,\"isr\":[2,2]}",
        "{\"controller_epoch\":3,\"leader\":-2,\"version\":1,\"leader_epoch\":7,\"isr\":[2]}",
        "{\"controller_epoch\":3,\"leader\":2,\"version\":1,\"leader_epoch\":-1,\"isr\":[2]}",
        "{\"controller_epoch\":3,\"leader\":2,\"version\":1,\"isr\":[2]}",
        "{\"controller_epoch\":3,\"leader\":2,\"leader_epoch\":7,\"isr\":[2]}",
        ("{\"controller_epoch\":3,\"leader\":2,\"version\":1,\"leader_epoch\":7,\"isr\":[2],"
         "\"leader_recovery_state\":2}"),
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        int rc = dec_state(bad[i], strlen(bad[i]));
        if (rc != KC_EMALFORMED)
            fail_msg("%s: %d", bad[i], rc);
    }
    static const char recovering[] = "{\"controller_epoch\":3,\"leader\":2,\"version\":1,"
                                     "\"leader_epoch\":7,\"isr\":[2],\"leader_recovery_state\":1}";
    assert_int_equal(dec_state(recovering, strlen(recovering)), KC_EUNSUPPORTED);
    /* Decoded, but inconsistent with the assignment: the leader is not in the ISR, an ISR
     * member is not a replica. */
    struct repl_pstate odd = {.nreplicas = 2, .replicas = {1, 3}};
    assert_int_equal(clu_pstate_decode(state_v1, strlen(state_v1), &odd), 0);
    assert_false(clu_pstate_valid(&odd));
}

static void test_topic_config_and_cluster_id(void **state)
{
    (void)state;
    struct clu_kv *kv;
    int n;
    assert_int_equal(clu_topic_config_decode(config, strlen(config), &kv, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(kv[0].key, "min.insync.replicas");
    assert_string_equal(kv[0].value, "2");
    assert_string_equal(kv[1].value, "compact");
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_topic_config_encode(kv, n, &w), 0);
    assert_memory_equal(kc_writer_data(&w), config, strlen(config));
    free(kv);
    kc_writer_reset(&w);
    assert_int_equal(clu_topic_config_encode_json("{\"a\":\"b\"}", 9, &w), 0);
    assert_int_equal(kc_writer_len(&w), strlen("{\"version\":1,\"config\":{\"a\":\"b\"}}"));
    assert_int_equal(clu_topic_config_encode_json("{\"a\":1}", 7, &w), -EINVAL);
    kc_writer_fini(&w);
    prefixes_malformed(config, dec_config);
    assert_int_equal(dec_config(S("{\"version\":1,\"config\":{\"a\":1}}")), KC_EMALFORMED);
    assert_int_equal(dec_config(S("{\"version\":1,\"config\":[]}")), KC_EMALFORMED);

    char id[CLU_UUID_LEN + 1];
    assert_int_equal(clu_cluster_id_decode(cluster_id, strlen(cluster_id), id), 0);
    assert_string_equal(id, "mHeM3lyfSI6rMIDmNsdqfQ");
    prefixes_malformed(cluster_id, dec_cluster);
    /* Kafka writes this version as a string; a number is not what it wrote. */
    assert_int_equal(dec_cluster(S("{\"version\":1,\"id\":\"mHeM3lyfSI6rMIDmNsdqfQ\"}")),
                     KC_EMALFORMED);
    kc_writer_init(&w, 0);
    assert_int_equal(clu_cluster_id_encode("mHeM3lyfSI6rMIDmNsdqfQ", &w), 0);
    assert_memory_equal(kc_writer_data(&w), cluster_id, strlen(cluster_id));
    assert_int_equal(clu_cluster_id_encode("not-an-id", &w), -EINVAL);
    kc_writer_fini(&w);
}

static void roundtrip_request(const struct clu_request *rq)
{
    struct kc_writer w;
    struct clu_request back;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_request_encode(rq, &w), 0);
    const char *p = (const char *)kc_writer_data(&w);
    size_t n = kc_writer_len(&w);
    assert_int_equal(clu_request_decode(p, n, &back), 0);
    assert_int_equal(back.type, rq->type);
    assert_int_equal(back.broker, rq->broker);
    assert_int_equal(back.broker_epoch, rq->broker_epoch);
    assert_int_equal(back.answered, rq->answered);
    assert_int_equal(back.error, rq->error);
    assert_int_equal(back.remaining, rq->remaining);
    assert_int_equal(back.has_state, rq->has_state);
    assert_int_equal(back.partitions, rq->partitions);
    assert_int_equal(back.replication_factor, rq->replication_factor);
    if (rq->has_state)
        assert_memory_equal(&back.state, &rq->state, sizeof(back.state));
    if (rq->type == CLU_REQ_ALTER_PARTITION) {
        assert_int_equal(back.isr.nisr, rq->isr.nisr);
        assert_int_equal(back.isr.partition_epoch, rq->isr.partition_epoch);
        assert_int_equal(back.isr.leader, rq->broker);
        assert_int_equal(back.isr.new_epoch, rq->isr.new_epoch);
    }
    if (rq->config) {
        assert_int_equal(back.config_len, rq->config_len);
        assert_memory_equal(back.config, rq->config, rq->config_len);
    }
    assert_int_equal(back.assignment != NULL, rq->assignment != NULL);
    assert_int_equal(back.elect != NULL, rq->elect != NULL);
    if (rq->elect) {
        assert_int_equal(back.election, rq->election);
        assert_int_equal(back.nelect, rq->nelect);
        assert_int_equal(back.elect_len, rq->elect_len);
        assert_memory_equal(back.elect, rq->elect, rq->elect_len);
    }
    if (rq->assignment) {
        assert_int_equal(back.nassigned, rq->nassigned);
        assert_int_equal(back.assignment_len, rq->assignment_len);
        assert_memory_equal(back.assignment, rq->assignment, rq->assignment_len);
    }
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, p, n);
    copy[n] = '\0';
    prefixes_malformed(copy, dec_request);
    free(copy);
    kc_writer_fini(&w);
}

static void test_requests_roundtrip(void **state)
{
    (void)state;
    struct clu_request rq = {
        .type = CLU_REQ_ALTER_PARTITION,
        .broker = 2,
        .broker_epoch = 4294967301,
        .topic = "payments",
        .partition = 3,
        .isr = {
            .leader = 2, .leader_epoch = 7, .partition_epoch = 12, .nisr = 3, .isr = {2, 1, 3}}};
    roundtrip_request(&rq);
    rq.answered = true;
    rq.has_state = true;
    rq.state = (struct repl_pstate){.controller_epoch = 4,
                                    .leader = 2,
                                    .leader_epoch = 7,
                                    .partition_epoch = 13,
                                    .nreplicas = 3,
                                    .replicas = {2, 1, 3},
                                    .nisr = 2,
                                    .isr = {2, 1}};
    roundtrip_request(&rq);
    rq.answered = rq.has_state = false;
    rq.isr.new_epoch = true; /* a leader whose disk lost a tail */
    roundtrip_request(&rq);
    struct clu_request sd = {.type = CLU_REQ_CONTROLLED_SHUTDOWN,
                             .broker = 3,
                             .broker_epoch = 99,
                             .answered = true,
                             .remaining = 4};
    roundtrip_request(&sd);
    static const char cfg[] = "{\"min.insync.replicas\":\"2\"}";
    struct clu_request ct = {.type = CLU_REQ_CREATE_TOPIC,
                             .broker = 1,
                             .broker_epoch = 5,
                             .topic = "t",
                             .partitions = 6,
                             .replication_factor = 3,
                             .config = cfg,
                             .config_len = strlen(cfg)};
    roundtrip_request(&ct);
    ct.answered = true;
    ct.error = REPL_TOPIC_ALREADY_EXISTS;
    roundtrip_request(&ct);
    struct clu_request cp = {
        .type = CLU_REQ_CREATE_PARTITIONS, .broker = 1, .broker_epoch = 5, .topic = "t",
        .partitions = 9};
    roundtrip_request(&cp);
    cp.answered = true;
    cp.error = REPL_INVALID_PARTITIONS;
    roundtrip_request(&cp);
    /* An ISR listing a broker twice is a request the controller answers (INVALID_REQUEST),
     * not a body to refuse. */
    static const char dup[] = "{\"version\":1,\"type\":\"alter_partition\",\"broker\":2,"
                              "\"broker_epoch\":1,\"topic\":\"t\",\"partition\":0,"
                              "\"leader_epoch\":0,\"partition_epoch\":0,\"isr\":[2,2]}";
    assert_int_equal(dec_request(dup, strlen(dup)), 0);
    static const char *const bad[] = {
        "{\"version\":1,\"type\":\"reboot\",\"broker\":2,\"broker_epoch\":1}",
        "{\"version\":1,\"type\":\"create_topic\",\"broker\":2,\"broker_epoch\":1,\"topic\":\"a/"
        "b\","
        "\"partitions\":1,\"replication_factor\":1}",
        "{\"version\":1,\"type\":\"create_topic\",\"broker\":2,\"broker_epoch\":1,\"topic\":\"a\","
        "\"partitions\":0,\"replication_factor\":1}",
        "{\"version\":1,\"type\":\"create_topic\",\"broker\":2,\"broker_epoch\":1,\"topic\":\"a\","
        "\"partitions\":1,\"replication_factor\":1,\"config\":{\"x\":1}}",
        "{\"version\":1,\"type\":\"controlled_shutdown\",\"broker\":2}",
        "{\"version\":1,\"type\":\"create_partitions\",\"broker\":2,\"broker_epoch\":1,"
        "\"topic\":\"a\",\"partitions\":0}",
        "{\"version\":1,\"type\":\"create_partitions\",\"broker\":2,\"broker_epoch\":1,"
        "\"topic\":\"a\"}",
        "{\"version\":1,\"type\":\"alter_partition\",\"broker\":2,\"broker_epoch\":1,"
        "\"topic\":\"t\",\"partition\":0,\"leader_epoch\":0,\"partition_epoch\":0,\"isr\":[2],"
        "\"new_leader_epoch\":2}",
        "{\"version\":1,\"type\":\"alter_partition\",\"broker\":2,\"broker_epoch\":1,"
        "\"topic\":\"t\",\"partition\":0,\"leader_epoch\":0,\"partition_epoch\":0,\"isr\":[2],"
        "\"new_leader_epoch\":true}",
        "{\"version\":1,\"type\":\"controlled_shutdown\",\"broker\":2,\"broker_epoch\":1,"
        "\"answer\":{\"error\":0}}",
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        int rc = dec_request(bad[i], strlen(bad[i]));
        if (rc != KC_EMALFORMED)
            fail_msg("%s: %d", bad[i], rc);
    }
}

/* An assignment's text from its ids, as the requester writes it. */
static char *assignment_text(const int32_t *ids, int32_t n, int rf, size_t *len)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_request_assignment_encode(ids, n, rf, &w), 0);
    assert_int_equal(kc_writer_error(&w), 0);
    *len = kc_writer_len(&w);
    char *t = malloc(*len + 1);
    assert_non_null(t);
    memcpy(t, kc_writer_data(&w), *len);
    t[*len] = '\0';
    kc_writer_fini(&w);
    return t;
}

/* An operator's replicas ride a creation and a growth, and come back list by list. */
static void test_requests_with_assignments(void **state)
{
    (void)state;
    static const int32_t ids[] = {3, 1, 2, 3, 1, 2};
    size_t len;
    char *text = assignment_text(ids, 3, 2, &len);
    assert_string_equal(text, "[[3,1],[2,3],[1,2]]");
    struct clu_request ct = {.type = CLU_REQ_CREATE_TOPIC, .broker = 1, .broker_epoch = 5,
                             .topic = "t", .partitions = 3, .replication_factor = 2,
                             .assignment = text, .assignment_len = len, .nassigned = 3};
    roundtrip_request(&ct);
    struct repl_pstate out[3];
    assert_int_equal(clu_request_assigned(&ct, out), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].nreplicas, 2);
        assert_int_equal(out[i].replicas[0], ids[i * 2]);
        assert_int_equal(out[i].replicas[1], ids[i * 2 + 1]);
        assert_int_equal(out[i].nisr, 0);
    }
    struct clu_request cp = {.type = CLU_REQ_CREATE_PARTITIONS, .broker = 1, .broker_epoch = 5,
                             .topic = "t", .partitions = 5, .assignment = text,
                             .assignment_len = len, .nassigned = 3};
    roundtrip_request(&cp);
    free(text);
    struct clu_request none = {.type = CLU_REQ_CREATE_PARTITIONS};
    assert_int_equal(clu_request_assigned(&none, out), KC_EMALFORMED);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_request_assignment_encode(ids, 0, 2, &w), -EINVAL);
    assert_int_equal(clu_request_assignment_encode(ids, 1, 0, &w), -EINVAL);
    assert_int_equal(clu_request_assignment_encode(ids, 1, REPL_MAX_REPLICAS + 1, &w), -EINVAL);
    assert_int_equal(clu_request_assignment_encode(NULL, 1, 1, &w), -EINVAL);
    kc_writer_fini(&w);
#define CT "{\"version\":1,\"type\":\"create_topic\",\"broker\":2,\"broker_epoch\":1," \
           "\"topic\":\"a\",\"partitions\":2,\"replication_factor\":2,\"assignment\":"
#define CP "{\"version\":1,\"type\":\"create_partitions\",\"broker\":2,\"broker_epoch\":1," \
           "\"topic\":\"a\",\"partitions\":3,\"assignment\":"
    static const char *const bad[] = {
        CT "[[1,2]]}",             /* fewer lists than partitions */
        CT "[[1,2],[2]]}",         /* a list shorter than the factor */
        CT "[[1,2],[2,3,1]]}",     /* longer */
        CT "[[1,1],[2,3]]}",       /* a broker twice */
        CT "[[1,2],[-1,3]]}",      /* not a broker id */
        CT "[[1,2],[]]}",          /* empty */
        CT "[]}",                  /* none */
        CT "{\"0\":[1,2]}}",       /* not an array */
        CT "[[1,2],[\"2\",3]]}",   /* not integers */
        CP "[[1],[2,3]]}",         /* lists of unequal length */
        CP "[[1],[2],[3]]}",       /* as many lists as the new total */
        CP "[[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]]}", /* past REPL_MAX_REPLICAS */
    };
#undef CT
#undef CP
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        int rc = dec_request(bad[i], strlen(bad[i]));
        if (rc != KC_EMALFORMED)
            fail_msg("%s: %d", bad[i], rc);
    }
}

/* ElectLeaders' request: its partitions strictly ascending, read back; answered with how
 * many were left without the leader asked for; malformed bodies refused. */
static void test_requests_elect_leaders(void **state)
{
    (void)state;
    static const int32_t parts[] = {0, 4, 9};
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(clu_request_elect_encode(parts, 3, &w), 0);
    char text[32];
    snprintf(text, sizeof(text), "%.*s", (int)kc_writer_len(&w), (const char *)kc_writer_data(&w));
    assert_string_equal(text, "[0,4,9]");
    struct clu_request rq = {.type = CLU_REQ_ELECT_LEADERS, .broker = 2, .broker_epoch = 7,
                             .topic = "t", .election = 1, .elect = text,
                             .elect_len = strlen(text), .nelect = 3};
    roundtrip_request(&rq);
    rq.answered = true;
    rq.remaining = 2;
    roundtrip_request(&rq);
    int32_t out[3];
    assert_int_equal(clu_request_elected(&rq, out), 0);
    assert_memory_equal(out, parts, sizeof(parts));
    kc_writer_reset(&w);
    assert_int_equal(clu_request_elect_encode(parts, 0, &w), -EINVAL);
    assert_int_equal(clu_request_elect_encode((const int32_t[]){2, 2}, 2, &w), -EINVAL);
    assert_int_equal(clu_request_elect_encode((const int32_t[]){3, 1}, 2, &w), -EINVAL);
    assert_int_equal(clu_request_elect_encode((const int32_t[]){-1}, 1, &w), -EINVAL);
    struct clu_request none = {.type = CLU_REQ_ELECT_LEADERS, .topic = "t"};
    assert_int_equal(clu_request_encode(&none, &w), -EINVAL); /* no partitions */
    assert_int_equal(clu_request_elected(&none, out), KC_EMALFORMED);
    kc_writer_fini(&w);
#define EL "{\"version\":1,\"type\":\"elect_leaders\",\"broker\":2,\"broker_epoch\":1," \
           "\"topic\":\"a\","
    static const char *const bad[] = {
        EL "\"election\":0}",                      /* no partitions */
        EL "\"partitions\":[1]}",                  /* no type */
        EL "\"election\":2,\"partitions\":[1]}",   /* an unknown type */
        EL "\"election\":0,\"partitions\":[]}",    /* none */
        EL "\"election\":0,\"partitions\":[2,1]}", /* not ascending */
        EL "\"election\":0,\"partitions\":[1,1]}", /* twice */
        EL "\"election\":0,\"partitions\":[-1]}",  /* not an index */
        EL "\"election\":0,\"partitions\":[\"1\"]}", /* not an integer */
        EL "\"election\":0,\"partitions\":{\"0\":1}}", /* not an array */
    };
#undef EL
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        int rc = dec_request(bad[i], strlen(bad[i]));
        if (rc != KC_EMALFORMED)
            fail_msg("%s: %d", bad[i], rc);
    }
}

static void test_paths_built_and_parsed(void **state)
{
    (void)state;
    char buf[CLU_PATH_MAX];
    struct clu_path p;
    assert_int_equal(clu_path_state(buf, sizeof(buf), "payments", 12), 0);
    assert_string_equal(buf, "/brokers/topics/payments/partitions/12/state");
    assert_int_equal(clu_path_parse(buf, &p), 0);
    assert_int_equal(p.kind, CLU_P_STATE);
    assert_string_equal(p.name, "payments");
    assert_int_equal(p.id, 12);
    assert_int_equal(clu_path_broker(buf, sizeof(buf), 7), 0);
    assert_int_equal(clu_path_parse(buf, &p), 0);
    assert_int_equal(p.kind, CLU_P_BROKER);
    assert_int_equal(p.id, 7);
    static const struct {
        const char *path;
        enum clu_path_kind kind;
    } ok[] = {
        {"/controller", CLU_P_CONTROLLER},
        {"/controller_epoch", CLU_P_CONTROLLER_EPOCH},
        {"/brokers/ids", CLU_P_BROKER_IDS},
        {"/brokers/topics", CLU_P_TOPICS},
        {"/brokers/topics/a.b-c_d", CLU_P_TOPIC},
        {"/brokers/topics/a/partitions", CLU_P_OTHER},
        {"/brokers/topics/a/partitions/0", CLU_P_OTHER},
        {"/config/topics/t", CLU_P_TOPIC_CONFIG},
        {"/admin/delete_topics", CLU_P_DELETE_TOPICS},
        {"/admin/delete_topics/t", CLU_P_DELETE_TOPIC},
        {"/controller_requests", CLU_P_REQUESTS},
        {"/controller_requests/request_0000000007", CLU_P_REQUEST},
        {"/isr_change_notification", CLU_P_OTHER},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(ok); i++) {
        assert_int_equal(clu_path_parse(ok[i].path, &p), 0);
        assert_int_equal(p.kind, ok[i].kind);
    }
    static const char *const bad[] = {
        "/brokers/ids/x",
        "/brokers/ids/-1",
        "/brokers/ids/01",
        "/brokers/ids/99999999999",
        "/brokers/topics/..",
        "/brokers/topics/a b",
        "/brokers/topics/t/partitions/x/state",
        "/controller_requests/other",
        "/config/topics/",
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        if (clu_path_parse(bad[i], &p) != KC_EMALFORMED)
            fail_msg("parsed: %s", bad[i]);
    char small[16];
    assert_int_equal(clu_path_state(small, sizeof(small), "payments", 1), KC_ETOOLARGE);
}

static void test_connect_string(void **state)
{
    (void)state;
    struct clu_connect c;
    assert_int_equal(clu_connect_parse("127.0.0.1:2181", &c), 0);
    assert_string_equal(c.hosts, "127.0.0.1:2181");
    assert_string_equal(c.chroot, "");
    assert_int_equal(clu_connect_parse("a:1,b:2,[::1]:3/kafka/prod", &c), 0);
    assert_string_equal(c.hosts, "a:1,b:2,[::1]:3");
    assert_string_equal(c.chroot, "/kafka/prod");
    assert_int_equal(clu_connect_parse("a:1/", &c), 0);
    assert_string_equal(c.chroot, "");
    static const char *const bad[] = {"",       "a",       "a:",         ":1",
                                      "a:0",    "a:65536", "a:1,",       "a:1,,b:2",
                                      "a:1/k/", "a:1//k",  "a:1/k/../x", "/k"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        if (clu_connect_parse(bad[i], &c) != -EINVAL)
            fail_msg("accepted: %s", bad[i]);
    assert_int_equal(clu_connect_parse(NULL, &c), -EINVAL);
}

static void test_uuid_base64(void **state)
{
    (void)state;
    char a[CLU_UUID_LEN + 1], b[CLU_UUID_LEN + 1];
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(clu_uuid_new(a), 0);
        assert_int_equal(strlen(a), CLU_UUID_LEN);
        assert_true(clu_uuid_valid(a));
        assert_true(a[0] != '-');
    }
    assert_int_equal(clu_uuid_new(b), 0);
    assert_string_not_equal(a, b);
    assert_true(clu_uuid_valid("AAAAAAAAAAAAAAAAAAAAAA"));
    assert_false(clu_uuid_valid("AAAAAAAAAAAAAAAAAAAAAB")); /* the last 4 bits must be 0 */
    assert_false(clu_uuid_valid("AAAAAAAAAAAAAAAAAAAAA"));
    assert_false(clu_uuid_valid("AAAAAAAAAAAAAAAAAAAA+A"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_reg_every_version),
        cmocka_unit_test(test_broker_reg_encoded_as_kafka),
        cmocka_unit_test(test_broker_reg_bad_bodies_refused),
        cmocka_unit_test(test_controller_and_epoch),
        cmocka_unit_test(test_assignment_every_version),
        cmocka_unit_test(test_partition_state),
        cmocka_unit_test(test_topic_config_and_cluster_id),
        cmocka_unit_test(test_requests_roundtrip),
        cmocka_unit_test(test_requests_with_assignments),
        cmocka_unit_test(test_requests_elect_leaders),
        cmocka_unit_test(test_paths_built_and_parsed),
        cmocka_unit_test(test_connect_string),
        cmocka_unit_test(test_uuid_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
