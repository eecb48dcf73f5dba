/*
 * test_0313_cluster_topic_configs - CreateTopics' configs go through the controller, as
 * Kafka keeps them: /config/topics/<t> ({"version":1,"config":{...}}). Every broker
 * applies them to the local logs it makes, so DescribeConfigs answers them (source
 * DYNAMIC_TOPIC_CONFIG, 1) on all three brokers, also after a restart, and the leader's
 * log obeys them: with segment.bytes=1024 a few kilobytes of records roll many segments.
 * IncrementalAlterConfigs through one broker writes /config/topics/<t> too (as Kafka's
 * admin path does), and every broker applies the change. A topic's min.insync.replicas
 * changed that way binds its leader's acks=all at once, with no partition change: 4 (above
 * the 3 replicas) refuses every acks=all produce with NOT_ENOUGH_REPLICAS (19; the native
 * door's 22), 2 again takes them.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/krep.h"

#define TOPIC "audit"

static const char *const keys[] = {"segment.bytes", "retention.ms", "min.insync.replicas"};
static const char *values[] = {"1024", "3600000", "2"}; /* retention.ms changes below */
#define NKEYS 3

/* CreateTopics v7 of TOPIC (1 partition, 3 replicas) with the configs above. */
static void create_with_configs(const struct kb_broker *b)
{
    uint8_t buf[1 << 16];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_create_topics_req *r = KT_NEW(&a, kp_create_topics_req, 1);
    struct kp_create_topics_req_creatable_topic *t =
        KT_NEW(&a, kp_create_topics_req_creatable_topic, 1);
    struct kp_create_topics_req_creatable_topic_config *cf =
        KT_NEW(&a, kp_create_topics_req_creatable_topic_config, NKEYS);
    for (int i = 0; i < NKEYS; i++)
        cf[i] = (struct kp_create_topics_req_creatable_topic_config){kp_slice_str(keys[i]),
                                                                     kp_slice_str(values[i])};
    t->name = kp_slice_str(TOPIC);
    t->num_partitions = 1;
    t->replication_factor = 3;
    KP_SET(t->configs, NKEYS, cf);
    KP_SET(r->topics, 1, t);
    r->timeout_ms = KB_WAIT_MS;
    int fd = kb_connect(b);
    struct kp_create_topics_resp *m = kt_call(fd, KP_API_CREATE_TOPICS, 7, r, buf, sizeof(buf),
                                              &resp);
    close(fd);
    assert_int_equal(m->topics.v[0].error_code, 0);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
}

/* Does b's DescribeConfigs v4 of TOPIC answer every key above, with its value, as a
 * topic override? */
static bool describes(void *arg)
{
    const struct kb_broker *b = arg;
    static uint8_t buf[1 << 16];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_describe_configs_req *r = KT_NEW(&a, kp_describe_configs_req, 1);
    struct kp_describe_configs_req_resource *res = KT_NEW(&a, kp_describe_configs_req_resource, 1);
    struct kc_slice *k = kp_arena_alloc(&a, NKEYS * sizeof(*k));
    for (int i = 0; i < NKEYS; i++)
        k[i] = kp_slice_str(keys[i]);
    res->resource_type = 2; /* TOPIC */
    res->resource_name = kp_slice_str(TOPIC);
    KP_SET(res->configuration_keys, NKEYS, k);
    KP_SET(r->resources, 1, res);
    int fd = kb_connect(b);
    struct kp_describe_configs_resp *m =
        kt_call(fd, KP_API_DESCRIBE_CONFIGS, 4, r, buf, sizeof(buf), &resp);
    close(fd);
    int found = 0;
    if (m->results.n == 1 && m->results.v[0].error_code == 0) {
        for (int32_t i = 0; i < m->results.v[0].configs.n; i++) {
            const struct kp_describe_configs_resp_resource_result *e = &m->results.v[0].configs.v[i];
            for (int j = 0; j < NKEYS; j++)
                found += e->name.len == (int32_t)strlen(keys[j]) &&
                         memcmp(e->name.p, keys[j], strlen(keys[j])) == 0 &&
                         e->value.len == (int32_t)strlen(values[j]) &&
                         memcmp(e->value.p, values[j], strlen(values[j])) == 0 &&
                         e->config_source == 1;
        }
    }
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return found == NKEYS;
}

/* How many segment files ("*.log") b's partition 0 of TOPIC has. */
static int segments(const struct kb_broker *b)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/%s-0", b->data, TOPIC);
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".log") == 0;
    }
    closedir(d);
    return n;
}

/* IncrementalAlterConfigs v1 through b: SET key=value on TOPIC. Its error code. */
static int16_t alter_one(const struct kb_broker *b, const char *key, const char *value)
{
    uint8_t buf[4096];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_incremental_alter_configs_req *r = KT_NEW(&a, kp_incremental_alter_configs_req, 1);
    struct kp_incremental_alter_configs_req_alter_configs_resource *res =
        KT_NEW(&a, kp_incremental_alter_configs_req_alter_configs_resource, 1);
    struct kp_incremental_alter_configs_req_alterable_config *cf =
        KT_NEW(&a, kp_incremental_alter_configs_req_alterable_config, 1);
    cf->name = kp_slice_str(key);
    cf->config_operation = 0; /* SET */
    cf->value = kp_slice_str(value);
    res->resource_type = 2;
    res->resource_name = kp_slice_str(TOPIC);
    KP_SET(res->configs, 1, cf);
    KP_SET(r->resources, 1, res);
    int fd = kb_connect(b);
    struct kp_incremental_alter_configs_resp *m =
        kt_call(fd, KP_API_INCREMENTAL_ALTER_CONFIGS, 1, r, buf, sizeof(buf), &resp);
    close(fd);
    int16_t err = m->responses.v[0].error_code;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* Does an acks=all produce of one record to the leader answer want? */
struct acks_all_answers {
    const struct kb_broker *leader;
    int16_t want, got;
};

static bool acks_all_answers(void *arg)
{
    struct acks_all_answers *u = arg;
    u->got = krep_produce_raw(u->leader, TOPIC, 0, -1, 1, NULL);
    return u->got == u->want;
}

/* min.insync.replicas through IncrementalAlterConfigs at a broker that is not the leader:
 * the leader's acks=all obeys it, both ways. */
static void min_insync_binds_leader(struct kcl *c, int32_t leader)
{
    int asked_id = (int)leader % 3 + 1;
    const struct kb_broker *asked = c->b[asked_id];
    struct acks_all_answers u = {c->b[leader], KP_ERR_NONE, -1};
    assert_true(kt_until(acks_all_answers, &u, KB_WAIT_MS));
    assert_int_equal(alter_one(asked, "min.insync.replicas", "4"), KP_ERR_NONE);
    u.want = KP_ERR_NOT_ENOUGH_REPLICAS;
    if (!kt_until(acks_all_answers, &u, KB_WAIT_MS))
        fail_msg("min.insync.replicas=4: the leader still answers %d to acks=all", u.got);
    /* the native door says it in its own words (22), nothing written */
    struct np_client nc;
    struct np_produce_req req = {kp_slice_str(TOPIC), 0, NP_ACKS_ALL, -1, {NULL, -1},
                                 kp_slice_str("native")};
    struct np_produce_resp nr;
    kb_client(c->b[leader], &nc);
    int rc = np_client_produce(&nc, &req, &nr);
    if (rc != NP_ERR(NP_E_NOT_ENOUGH_REPLICAS) || !strstr(nc.errmsg, "Kafka error 19"))
        fail_msg("native acks=all produce with min.insync.replicas=4: %d %s", rc, nc.errmsg);
    np_client_close(&nc);
    assert_int_equal(alter_one(asked, "min.insync.replicas", "2"), KP_ERR_NONE);
    u.want = KP_ERR_NONE;
    if (!kt_until(acks_all_answers, &u, KB_WAIT_MS))
        fail_msg("min.insync.replicas=2 again: the leader still answers %d", u.got);
    printf("# min.insync.replicas 4 through broker %d: the leader (broker %d) refused acks=all "
           "with %d (native: 22); 2 again: taken\n", asked_id, (int)leader,
           KP_ERR_NOT_ENOUGH_REPLICAS);
}

static void test_0313_create_configs_on_every_broker(void **state)
{
    KCL_REQUIRE_ZK();
    kt_require("kcat", "kcat");
    struct kcl *c = *state;
    kcl_start_cluster(c, 3, NULL);
    create_with_configs(c->b[2]);
    for (int id = 1; id <= 3; id++) {
        struct kcl_until_topic u = {c->b[id], TOPIC, 1, 3};
        assert_true(kt_until(kcl_topic_ready, &u, KB_WAIT_MS));
        if (!kt_until(describes, c->b[id], KB_WAIT_MS))
            fail_msg("broker %d does not describe %s's configs", id, TOPIC);
    }
    /* the leader's log rolls at 1024 bytes */
    char in[8192], *out, *err;
    size_t len = 0;
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(in + len, sizeof(in) - len,
                                "record %03d .......................................\n", i);
    const char *prod[] = {"kcat", "-b", c->b[1]->addr, "-P", "-t", TOPIC, "-p", "0", "-X",
                          "linger.ms=0", "-X", "batch.num.messages=4", NULL};
    assert_int_equal(kt_run(c->b[1], prod, in, len, KB_WAIT_MS, &out, NULL, &err), 0);
    free(out);
    free(err);
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(c->b[1], TOPIC, false, buf, sizeof(buf), &resp);
    int32_t leader = kcl_part(m, 0)->leader_id;
    kp_response_fini(&resp);
    int n = segments(c->b[leader]);
    printf("# %s: configs described by brokers 1, 2, 3; %zu bytes of records in %d segments "
           "at its leader (broker %d, segment.bytes=1024)\n", TOPIC, len, n, (int)leader);
    assert_true(n >= 2);
    /* a restart keeps them */
    int other = leader % 3 + 1;
    kb_stop(c->b[other]);
    kcl_start(c, other, NULL);
    if (!kt_until(describes, c->b[other], KB_WAIT_MS))
        fail_msg("broker %d lost %s's configs in a restart", other, TOPIC);
    /* a change through one broker reaches the others through /config/topics */
    assert_int_equal(alter_one(c->b[1], "retention.ms", "7200000"), KP_ERR_NONE);
    values[1] = "7200000";
    int64_t t0 = kc_mono_ms();
    for (int id = 1; id <= 3; id++)
        if (!kt_until(describes, c->b[id], KB_WAIT_MS))
            fail_msg("broker %d never described retention.ms=7200000", id);
    printf("# IncrementalAlterConfigs through broker 1: described by brokers 1, 2, 3 within "
           "%lld ms\n", (long long)(kc_mono_ms() - t0));
    values[1] = "3600000"; /* the next run's (the array is static) */
    min_insync_binds_leader(c, leader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0313_create_configs_on_every_broker, kcl_setup,
                                        kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
