/*
 * test_0111_kafka_admin.c - topic and config administration over the Kafka protocol.
 *
 *   clients      confluent-kafka 1.7.0, kafka-python 2.0.2 and kafkajs 2.2.4's admin
 *                clients: every call, and Kafka's codes for what they get wrong
 *                (broker/tests/kafka/admin_e2e.py, kafkajs_admin_e2e.js)
 *   configs      IncrementalAlterConfigs SET / DELETE / APPEND / SUBTRACT; configs that
 *                survive a restart and act at once: retention.ms deletes old segments at
 *                the next retention pass, max.message.bytes refuses a larger batch (10),
 *                segment.bytes rolls, LogAppendTime stamps the batch
 *   records      DeleteRecords through a restart: the low watermark stays, a fetch below it
 *                is OFFSET_OUT_OF_RANGE (1)
 *   deletion     a parked Fetch ends with UNKNOWN_TOPIC_OR_PARTITION when its topic goes;
 *                the group offsets go with the topic; a re-created name is empty with a new
 *                id; kill -9 at chosen moments of a deletion: the topic never comes back
 *                and is never half there
 *   cluster      DescribeCluster, DescribeLogDirs
 *   ACLs         with an authorizer and no ACL, every admin API is refused with Kafka's
 *                code (29 for topics, 31 for the cluster)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <libgen.h>
#include <sys/time.h>

#include "kafka/kt.h"

#define PYTHON "/usr/bin/python3"

static uint8_t buf[1 << 20];

static int setup(void **state)
{
    kb_setup(state);
    const char *args[] = {"--override", "num.partitions=1", "--override",
                          "log.retention.check.interval.ms=100", "--override",
                          "group.initial.rebalance.delay.ms=0", NULL};
    kb_start(*state, args);
    return 0;
}

/* ---- requests ----------------------------------------------------------------------------- */

static int16_t create(int fd, const char *name, int32_t parts, const char *key, const char *value,
                      struct kp_uuid *id)
{
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_create_topics_req *r = KT_NEW(&a, kp_create_topics_req, 1);
    struct kp_create_topics_req_creatable_topic *t =
        KT_NEW(&a, kp_create_topics_req_creatable_topic, 1);
    struct kp_create_topics_req_creatable_topic_config *c =
        KT_NEW(&a, kp_create_topics_req_creatable_topic_config, 1);
    t->name = kp_slice_str(name);
    t->num_partitions = parts;
    t->replication_factor = -1;
    c->name = kp_slice_str(key);
    c->value = kp_slice_str(value);
    KP_SET(t->configs, key ? 1 : 0, c);
    KP_SET(r->topics, 1, t);
    const struct kp_create_topics_resp *cr =
        kt_call(fd, KP_API_CREATE_TOPICS, 7, r, buf, sizeof(buf), &resp);
    int16_t err = cr->topics.v[0].error_code;
    if (id)
        *id = cr->topics.v[0].topic_id;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

static int16_t delete_topic(int fd, const char *name)
{
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_delete_topics_req *r = KT_NEW(&a, kp_delete_topics_req, 1);
    struct kp_delete_topics_req_delete_topic_state *t =
        KT_NEW(&a, kp_delete_topics_req_delete_topic_state, 1);
    t->name = kp_slice_str(name);
    KP_SET(r->topics, 1, t);
    r->timeout_ms = 20000;
    const struct kp_delete_topics_resp *dr =
        kt_call(fd, KP_API_DELETE_TOPICS, 6, r, buf, sizeof(buf), &resp);
    int16_t err = dr->responses.v[0].error_code;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* IncrementalAlterConfigs v1, one operation on one topic config. */
static int16_t alter(int fd, const char *topic, const char *key, int8_t op, const char *value)
{
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_incremental_alter_configs_req *r = KT_NEW(&a, kp_incremental_alter_configs_req, 1);
    struct kp_incremental_alter_configs_req_alter_configs_resource *res =
        KT_NEW(&a, kp_incremental_alter_configs_req_alter_configs_resource, 1);
    struct kp_incremental_alter_configs_req_alterable_config *c =
        KT_NEW(&a, kp_incremental_alter_configs_req_alterable_config, 1);
    c->name = kp_slice_str(key);
    c->config_operation = op;
    c->value = kp_slice_str(value);
    res->resource_type = 2;
    res->resource_name = kp_slice_str(topic);
    KP_SET(res->configs, 1, c);
    KP_SET(r->resources, 1, res);
    const struct kp_incremental_alter_configs_resp *ar =
        kt_call(fd, KP_API_INCREMENTAL_ALTER_CONFIGS, 1, r, buf, sizeof(buf), &resp);
    int16_t err = ar->responses.v[0].error_code;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* DescribeConfigs v4 of one topic config: its value into out, and its source. */
static int16_t describe(int fd, const char *topic, const char *key, char *out, size_t cap,
                        int8_t *source)
{
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_describe_configs_req *r = KT_NEW(&a, kp_describe_configs_req, 1);
    struct kp_describe_configs_req_resource *res = KT_NEW(&a, kp_describe_configs_req_resource, 1);
    struct kc_slice *k = kp_arena_alloc(&a, sizeof(*k));
    *k = kp_slice_str(key);
    res->resource_type = 2;
    res->resource_name = kp_slice_str(topic);
    KP_SET(res->configuration_keys, 1, k);
    KP_SET(r->resources, 1, res);
    const struct kp_describe_configs_resp *dr =
        kt_call(fd, KP_API_DESCRIBE_CONFIGS, 4, r, buf, sizeof(buf), &resp);
    int16_t err = dr->results.v[0].error_code;
    if (!err) {
        assert_int_equal(dr->results.v[0].configs.n, 1);
        const struct kp_describe_configs_resp_resource_result *c = &dr->results.v[0].configs.v[0];
        snprintf(out, cap, "%.*s", (int)KC_MAX(c->value.len, 0), c->value.p);
        *source = c->config_source;
    }
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

/* Produce v9, acks=-1: one batch (the caller's, freed here). */
static int16_t produce_batch(int fd, const char *topic, uint8_t *batch, size_t len, int64_t *base)
{
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_produce_req *r = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 1);
    p->records = (struct kc_slice){batch, (int32_t)len};
    t->name = kp_slice_str(topic);
    KP_SET(t->partition_data, 1, p);
    r->acks = -1;
    r->timeout_ms = 10000;
    KP_SET(r->topic_data, 1, t);
    const struct kp_produce_resp *pr = kt_call(fd, KP_API_PRODUCE, 9, r, buf, sizeof(buf), &resp);
    const struct kp_produce_resp_partition_produce_response *pp =
        &pr->responses.v[0].partition_responses.v[0];
    int16_t err = pp->error_code;
    if (base)
        *base = pp->base_offset;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    free(batch);
    return err;
}

/* n records of about size bytes each, without keys, in one batch. */
static int16_t produce(int fd, const char *topic, int n, size_t size, int64_t *base)
{
    char *prefix = malloc(size + 1);
    memset(prefix, 'p', size);
    prefix[size] = '\0';
    size_t len;
    uint8_t *batch = kb_batch(prefix, n, &len);
    free(prefix);
    return produce_batch(fd, topic, batch, len, base);
}

/* Two records, the second with key (NULL: none). */
static int16_t produce_keys(int fd, const char *topic, const char *key)
{
    struct kc_batch_builder bb;
    uint8_t *p, *copy;
    size_t len;
    kc_batch_builder_init(&bb, NULL, 0);
    assert_int_equal(kc_batch_builder_add(&bb, kc_wall_ms(), "k", 1, "v0", 2, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_add(&bb, kc_wall_ms(), key, key ? (int32_t)strlen(key) : -1,
                                          "v1", 2, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&bb, &p, &len), 0);
    copy = malloc(len);
    memcpy(copy, p, len);
    kc_batch_builder_fini(&bb);
    return produce_batch(fd, topic, copy, len, NULL);
}

struct fetched {
    int16_t err;
    int64_t hwm, log_start;
    int32_t records_len;
    int64_t max_ts;      /* the first batch's max timestamp */
    int16_t attributes;  /* the first batch's */
};

/* Fetch v12 of partition 0 at offset, waiting up to wait_ms for min_bytes. */
static void fetch(int fd, const char *topic, int64_t offset, int32_t wait_ms, struct fetched *f)
{
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_fetch_req *r = KT_NEW(&a, kp_fetch_req, 1);
    struct kp_fetch_req_topic *t = KT_NEW(&a, kp_fetch_req_topic, 1);
    struct kp_fetch_req_partition *p = KT_NEW(&a, kp_fetch_req_partition, 1);
    p->fetch_offset = offset;
    p->partition_max_bytes = 1 << 20;
    t->topic = kp_slice_str(topic);
    KP_SET(t->partitions, 1, p);
    r->max_bytes = 1 << 20;
    r->max_wait_ms = wait_ms;
    r->min_bytes = 1;
    KP_SET(r->topics, 1, t);
    const struct kp_fetch_resp *fr = kt_call(fd, KP_API_FETCH, 12, r, buf, sizeof(buf), &resp);
    const struct kp_fetch_resp_partition_data *pd = &fr->responses.v[0].partitions.v[0];
    *f = (struct fetched){pd->error_code, pd->high_watermark, pd->log_start_offset,
                          pd->records.len, -1, 0};
    if (pd->records.len >= 61) {
        f->attributes = (int16_t)kc_load_be16(pd->records.p + 21);
        f->max_ts = (int64_t)kc_load_be64(pd->records.p + 35);
    }
    kp_response_fini(&resp);
    kp_arena_fini(&a);
}

/* How many .log segment files the partition directory holds. */
static int segments(const struct kb_broker *b, const char *dir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", b->data, dir);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += strlen(de->d_name) > 4 && !strcmp(de->d_name + strlen(de->d_name) - 4, ".log");
    if (d)
        closedir(d);
    return n;
}

static bool exists(const struct kb_broker *b, const char *name)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", b->data, name);
    return stat(path, &st) == 0;
}

/* ---- the clients ------------------------------------------------------------------------ */

static void test_0111_confluent_and_kafka_python(void **state)
{
    struct kb_broker *b = *state;
    kt_require(PYTHON, "python3");
    const char *cf[] = {"confluent", b->addr, "cf-"};
    char *out = kt_admin_e2e(b, cf, 3);
    assert_non_null(strstr(out, "create rf3 38\n"));
    assert_non_null(strstr(out, "create badcfg 40\n"));
    assert_non_null(strstr(out, "delete 0\n"));
    assert_non_null(strstr(out, "\nok\n"));
    free(out);
    const char *kp[] = {"kafkapython", b->addr, "kp-"};
    out = kt_admin_e2e(b, kp, 3);
    assert_non_null(strstr(out, "create rf2 38\n"));
    assert_non_null(strstr(out, "\nok\n"));
    free(out);
    kt_assert_serving(b);
}

/* kafkajs, installed by test_0106's rule: <build>/kafkajs. */
static void test_0111_kafkajs(void **state)
{
    struct kb_broker *b = *state;
    char bin[600], dir[700], script[1024], node_path[800], *out;
    kt_require("node", "nodejs");
    snprintf(bin, sizeof(bin), "%s", kb_bin("kafka_broker"));
    snprintf(dir, sizeof(dir), "%s/kafkajs", dirname(dirname(bin)));
    snprintf(node_path, sizeof(node_path), "NODE_PATH=%s/node_modules", dir);
    snprintf(script, sizeof(script), "%s/node_modules/kafkajs/package.json", dir);
    if (access(script, R_OK) != 0) {
        const char *npm[] = {"npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", NULL};
        char lock[2600];
        const char *src = getenv("KC_SRC_DIR");
        snprintf(lock, sizeof(lock), "mkdir -p %s && cp %s/broker/tests/kafka/package*.json %s",
                 dir, src && *src ? src : ".", dir);
        assert_int_equal(system(lock), 0);
        struct kt_proc np;
        kt_spawn(b, &np, npm, NULL, 0, dir, NULL);
        if (kt_wait(&np, 300000) != 0)
            fail_msg("npm ci in %s failed: is the npm registry reachable?", dir);
    }
    const char *src = getenv("KC_SRC_DIR");
    snprintf(script, sizeof(script), "%s/broker/tests/kafka/kafkajs_admin_e2e.js",
             src && *src ? src : ".");
    const char *argv[] = {"node", script, b->addr, "js-", NULL};
    const char *env[] = {node_path, NULL};
    struct kt_proc p;
    kt_spawn(b, &p, argv, NULL, 0, NULL, env);
    int rc = kt_wait(&p, 120000);
    size_t n;
    out = kt_slurp(p.out, &n);
    if (rc != 0)
        fail_msg("kafkajs_admin_e2e.js exited %d:\n%s", rc, out);
    assert_non_null(strstr(out, "after deleteRecords [\"6\",\"10\"]"));
    assert_non_null(strstr(out, "\nok\n"));
    free(out);
}

/* ---- configs ------------------------------------------------------------------------------ */

static void test_0111_incremental_alter_configs(void **state)
{
    struct kb_broker *b = *state;
    int fd = kb_connect(b);
    char v[256], *out, *err;
    int8_t src;
    /* One set of topics: made by kafka_cli's native create, described and deleted over
     * the Kafka protocol; a Kafka-made one exists for the native protocol at once. */
    const char *native_create[] = {"0", "native-made", "2", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, native_create), 0);
    free(out), free(err);
    assert_int_equal(create(fd, "native-made", 1, NULL, NULL, NULL), KP_ERR_TOPIC_ALREADY_EXISTS);
    assert_int_equal(describe(fd, "native-made", "retention.ms", v, sizeof(v), &src), 0);
    assert_int_equal(delete_topic(fd, "native-made"), 0);
    assert_int_equal(kb_cli(b, NULL, &out, &err, native_create), 0); /* the name is free */
    free(out), free(err);
    assert_int_equal(create(fd, "inc", 1, NULL, NULL, NULL), 0);
    const char *native_again[] = {"0", "inc", "1", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, native_again), 1); /* exists */
    free(out), free(err);
    assert_int_equal(alter(fd, "inc", "retention.ms", 0, "5000"), 0); /* SET */
    assert_int_equal(describe(fd, "inc", "retention.ms", v, sizeof(v), &src), 0);
    assert_string_equal(v, "5000");
    assert_int_equal(src, 1);
    assert_int_equal(alter(fd, "inc", "retention.ms", 1, NULL), 0); /* DELETE: the default */
    assert_int_equal(describe(fd, "inc", "retention.ms", v, sizeof(v), &src), 0);
    assert_string_equal(v, "604800000");
    assert_int_equal(src, 5);
    assert_int_equal(alter(fd, "inc", "cleanup.policy", 2, "compact"), 0); /* APPEND */
    assert_int_equal(describe(fd, "inc", "cleanup.policy", v, sizeof(v), &src), 0);
    assert_string_equal(v, "delete,compact"); /* appended to the default */
    assert_int_equal(alter(fd, "inc", "cleanup.policy", 3, "delete"), 0); /* SUBTRACT */
    assert_int_equal(describe(fd, "inc", "cleanup.policy", v, sizeof(v), &src), 0);
    assert_string_equal(v, "compact");
    /* Kafka's refusals: append to a non-list, a bad value, an unknown key, a bad op. */
    assert_int_equal(alter(fd, "inc", "retention.ms", 2, "1"), KP_ERR_INVALID_CONFIG);
    assert_int_equal(alter(fd, "inc", "message.timestamp.type", 0, "Now"), KP_ERR_INVALID_CONFIG);
    assert_int_equal(alter(fd, "inc", "no.such.key", 0, "1"), KP_ERR_INVALID_CONFIG);
    assert_int_equal(alter(fd, "inc", "retention.ms", 9, "1"), KP_ERR_INVALID_REQUEST);
    assert_int_equal(alter(fd, "nope", "retention.ms", 0, "1"), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* Nothing of the refused ones stuck. */
    assert_int_equal(describe(fd, "inc", "cleanup.policy", v, sizeof(v), &src), 0);
    assert_string_equal(v, "compact");
    close(fd);
}

/* Configs on disk, applied at once, and again after a restart. */
static void test_0111_configs_act_and_survive_restart(void **state)
{
    struct kb_broker *b = *state;
    int fd = kb_connect(b);
    struct fetched f;
    int64_t base;
    char v[256];
    int8_t src;
    /* segment.bytes at its floor: every batch of ~1.2 KiB rolls a new segment. */
    assert_int_equal(create(fd, "live", 1, "segment.bytes", "1024", NULL), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(produce(fd, "live", 10, 100, &base), 0);
    assert_true(segments(b, "live-0") >= 5);
    /* max.message.bytes: a larger batch is MESSAGE_TOO_LARGE, at once. */
    assert_int_equal(alter(fd, "live", "max.message.bytes", 0, "500"), 0);
    assert_int_equal(produce(fd, "live", 10, 100, NULL), KP_ERR_MESSAGE_TOO_LARGE);
    assert_int_equal(produce(fd, "live", 1, 10, NULL), 0);
    /* Restart: the configs come back from topic.config and act again. */
    close(fd);
    kb_stop(b);
    kb_start(b, (const char *const[]){"--override", "log.retention.check.interval.ms=100", NULL});
    fd = kb_connect(b);
    assert_int_equal(describe(fd, "live", "max.message.bytes", v, sizeof(v), &src), 0);
    assert_string_equal(v, "500");
    assert_int_equal(produce(fd, "live", 10, 100, NULL), KP_ERR_MESSAGE_TOO_LARGE);
    /* retention.ms: the next pass (every 100 ms here) deletes every segment but the last. */
    fetch(fd, "live", 0, 0, &f);
    assert_int_equal(f.log_start, 0);
    int before = segments(b, "live-0");
    assert_int_equal(alter(fd, "live", "retention.ms", 0, "1"), 0);
    for (int i = 0; i < 300 && segments(b, "live-0") > 1; i++)
        kc_sleep_ms(10);
    assert_int_equal(segments(b, "live-0"), 1);
    fetch(fd, "live", 0, 0, &f);
    assert_int_equal(f.err, KP_ERR_OFFSET_OUT_OF_RANGE);
    assert_true(f.log_start > 0);
    printf("# retention.ms=1: %d segments down to 1, log start now %lld\n", before,
           (long long)f.log_start);
    /* cleanup.policy=compact: retention leaves the topic alone. */
    assert_int_equal(create(fd, "kept", 1, "segment.bytes", "1024", NULL), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(produce(fd, "kept", 10, 100, NULL), 0);
    assert_int_equal(alter(fd, "kept", "cleanup.policy", 0, "compact"), 0);
    assert_int_equal(alter(fd, "kept", "retention.ms", 0, "1"), 0);
    kc_sleep_ms(500);
    assert_true(segments(b, "kept-0") >= 4);
    /* ... and a compacted topic takes only records with keys, as Kafka's LogValidator. */
    assert_int_equal(produce_keys(fd, "kept", NULL), KP_ERR_INVALID_RECORD);
    assert_int_equal(produce_keys(fd, "kept", "k2"), 0);
    /* LogAppendTime: the broker's clock in the batch's max timestamp, its bit set. */
    assert_int_equal(create(fd, "stamped", 1, "message.timestamp.type", "LogAppendTime", NULL), 0);
    int64_t t0 = kc_wall_ms();
    assert_int_equal(produce(fd, "stamped", 3, 10, NULL), 0);
    fetch(fd, "stamped", 0, 0, &f);
    assert_int_equal(f.err, 0);
    assert_true(f.attributes & 0x08);
    assert_true(f.max_ts >= t0 && f.max_ts <= kc_wall_ms());
    close(fd);
}

/* ---- records --------------------------------------------------------------------------------- */

static int16_t delete_records(int fd, const char *topic, int64_t offset, int64_t *low)
{
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_delete_records_req *r = KT_NEW(&a, kp_delete_records_req, 1);
    struct kp_delete_records_req_topic *t = KT_NEW(&a, kp_delete_records_req_topic, 1);
    struct kp_delete_records_req_partition *p = KT_NEW(&a, kp_delete_records_req_partition, 1);
    p->offset = offset;
    t->name = kp_slice_str(topic);
    KP_SET(t->partitions, 1, p);
    KP_SET(r->topics, 1, t);
    const struct kp_delete_records_resp *dr =
        kt_call(fd, KP_API_DELETE_RECORDS, 2, r, buf, sizeof(buf), &resp);
    int16_t err = dr->topics.v[0].partitions.v[0].error_code;
    *low = dr->topics.v[0].partitions.v[0].low_watermark;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

static void test_0111_delete_records_through_restart(void **state)
{
    struct kb_broker *b = *state;
    int fd = kb_connect(b);
    struct fetched f;
    int64_t low;
    assert_int_equal(create(fd, "dr", 1, NULL, NULL, NULL), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(produce(fd, "dr", 10, 20, NULL), 0);
    assert_int_equal(delete_records(fd, "dr", 23, &low), 0);
    assert_int_equal(low, 23);
    assert_int_equal(delete_records(fd, "dr", 10, &low), 0); /* below: nothing moves */
    assert_int_equal(low, 23);
    assert_int_equal(delete_records(fd, "dr", 51, &low), KP_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(delete_records(fd, "__consumer_offsets", 0, &low),
                     KP_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(create(fd, "drc", 1, NULL, NULL, NULL), 0);
    assert_int_equal(alter(fd, "drc", "cleanup.policy", 0, "compact"), 0);
    assert_int_equal(delete_records(fd, "drc", 0, &low), KP_ERR_POLICY_VIOLATION);
    fetch(fd, "dr", 22, 0, &f);
    assert_int_equal(f.err, KP_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(f.log_start, 23);
    close(fd);
    kb_kill9(b); /* the checkpoint was fsynced before the answer */
    kb_start(b, NULL);
    fd = kb_connect(b);
    fetch(fd, "dr", 22, 0, &f);
    assert_int_equal(f.err, KP_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(f.log_start, 23);
    fetch(fd, "dr", 23, 0, &f);
    assert_int_equal(f.err, 0);
    assert_true(f.records_len > 0);
    assert_int_equal(delete_records(fd, "dr", -1, &low), 0); /* -1: the high watermark */
    assert_int_equal(low, 50);
    close(fd);
}

/* ---- deletion ------------------------------------------------------------------------------- */

static void test_0111_delete_ends_parked_fetch_and_offsets(void **state)
{
    struct kb_broker *b = *state;
    int fd = kb_connect(b), fd2 = kb_connect(b);
    struct kp_uuid id1, id2;
    struct fetched f;
    assert_int_equal(create(fd, "doomed", 2, NULL, NULL, &id1), 0);
    assert_int_equal(produce(fd, "doomed", 5, 10, NULL), 0);
    /* A group's commit on the topic (kafka_cli's native commit: the same store). */
    char *out, *err;
    const char *commit[] = {"3", "g1", "doomed", "0", "5", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, commit), 0);
    free(out), free(err);
    /* A Fetch parked at the end for 10 s, on another connection... */
    struct kp_arena a = {0};
    struct kp_fetch_req *r = KT_NEW(&a, kp_fetch_req, 1);
    struct kp_fetch_req_topic *t = KT_NEW(&a, kp_fetch_req_topic, 1);
    struct kp_fetch_req_partition *p = KT_NEW(&a, kp_fetch_req_partition, 1);
    p->fetch_offset = 5;
    p->partition_max_bytes = 1 << 20;
    t->topic = kp_slice_str("doomed");
    KP_SET(t->partitions, 1, p);
    r->max_bytes = 1 << 20;
    r->max_wait_ms = 10000;
    r->min_bytes = 1;
    KP_SET(r->topics, 1, t);
    kt_send(fd2, KP_API_FETCH, 12, 4242, r);
    kc_sleep_ms(200);
    /* ... ends with UNKNOWN_TOPIC_OR_PARTITION when the topic goes, not after 10 s. */
    int64_t t0 = kc_mono_ms();
    assert_int_equal(delete_topic(fd, "doomed"), 0);
    struct kp_response resp;
    const struct kp_fetch_resp *fr = kt_recv(fd2, KP_API_FETCH, 12, 4242, buf, sizeof(buf), &resp);
    assert_int_equal(fr->responses.v[0].partitions.v[0].error_code,
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kp_response_fini(&resp);
    assert_true(kc_mono_ms() - t0 < 5000);
    assert_false(exists(b, "doomed-0") || exists(b, "doomed-1") || exists(b, "doomed~delete"));
    /* The name comes back empty, with a new id; the group's offset went with the old one. */
    assert_int_equal(create(fd, "doomed", 1, NULL, NULL, &id2), 0);
    assert_memory_not_equal(&id1, &id2, sizeof(id1));
    const char *fetch_commit[] = {"4", "g1", "doomed", "0", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, fetch_commit), 0);
    assert_string_equal(out, "-1\n");
    free(out), free(err);
    fetch(fd, "doomed", 0, 0, &f);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.hwm, 0);
    assert_int_equal(delete_topic(fd, "__consumer_offsets"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* v6 by id: the new one goes; its id again is 100, a name and an id together 42. */
    struct kp_delete_topics_req *d = KT_NEW(&a, kp_delete_topics_req, 1);
    struct kp_delete_topics_req_delete_topic_state *ds =
        KT_NEW(&a, kp_delete_topics_req_delete_topic_state, 1);
    ds->name = (struct kc_slice){NULL, -1};
    ds->topic_id = id2;
    KP_SET(d->topics, 1, ds);
    d->timeout_ms = 20000;
    int16_t want[] = {0, KP_ERR_UNKNOWN_TOPIC_ID, KP_ERR_INVALID_REQUEST};
    for (int i = 0; i < 3; i++) {
        if (i == 2)
            ds->name = kp_slice_str("doomed");
        const struct kp_delete_topics_resp *dr =
            kt_call(fd, KP_API_DELETE_TOPICS, 6, d, buf, sizeof(buf), &resp);
        assert_int_equal(dr->responses.v[0].error_code, want[i]);
        if (i == 0)
            assert_true(kp_slice_eq(dr->responses.v[0].name, "doomed"));
        kp_response_fini(&resp);
    }
    assert_int_equal(create(fd, "doomed", 1, NULL, NULL, NULL), 0);
    assert_int_equal(delete_topic(fd, "never-was"), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kp_arena_fini(&a);
    /* After a restart the offset is still gone (its tombstone was replayed). */
    close(fd);
    close(fd2);
    kb_stop(b);
    kb_start(b, NULL);
    assert_int_equal(kb_cli(b, NULL, &out, &err, fetch_commit), 0);
    assert_string_equal(out, "-1\n");
    free(out), free(err);
}

/* A deletion of a 16-partition topic, the broker killed -9 at a chosen moment. */
static void test_0111_delete_through_kill9(void **state)
{
    struct kb_broker *b = *state;
    static const int delays_us[] = {0, 300, 1000, 3000, 10000, -1};
    for (size_t i = 0; i < KC_ARRAY_SIZE(delays_us); i++) {
        int fd = kb_connect(b);
        assert_int_equal(create(fd, "k9", 16, NULL, NULL, NULL), 0);
        assert_int_equal(produce(fd, "k9", 5, 10, NULL), 0);
        bool answered = false;
        if (delays_us[i] < 0) {
            answered = delete_topic(fd, "k9") == 0; /* acknowledged, then killed */
        } else {
            struct kp_arena a = {0};
            struct kp_delete_topics_req *r = KT_NEW(&a, kp_delete_topics_req, 1);
            struct kp_delete_topics_req_delete_topic_state *t =
                KT_NEW(&a, kp_delete_topics_req_delete_topic_state, 1);
            t->name = kp_slice_str("k9");
            KP_SET(r->topics, 1, t);
            r->timeout_ms = 20000;
            kt_send(fd, KP_API_DELETE_TOPICS, 6, 9, r);
            kp_arena_fini(&a);
            if (delays_us[i])
                usleep((useconds_t)delays_us[i]);
        }
        close(fd);
        kb_kill9(b);
        kb_start(b, NULL);
        /* Whatever happened: all 16 partitions, or none - never a part; and if the broker
         * said "deleted", none. */
        int found = 0;
        for (int p = 0; p < 16; p++) {
            char name[32];
            snprintf(name, sizeof(name), "k9-%d", p);
            found += exists(b, name);
        }
        printf("# kill -9 %s%d us into the deletion: %d of 16 partitions after the restart\n",
               delays_us[i] < 0 ? "after the answer, " : "", KC_MAX(delays_us[i], 0), found);
        assert_true(found == 0 || found == 16);
        if (answered)
            assert_int_equal(found, 0);
        assert_false(exists(b, "k9~delete"));
        fd = kb_connect(b);
        if (found)
            assert_int_equal(delete_topic(fd, "k9"), 0);
        close(fd);
    }
}

/* Deleting a topic that two native producers and a long-poll are hammering: the broker
 * keeps serving (the sanitizer builds run this too: no use after free of a log). The
 * producers' own auto-create may bring the name back, empty: that is Kafka's behaviour. */
static void test_0111_delete_under_load(void **state)
{
    struct kb_broker *b = *state;
    int fd = kb_connect(b), fd2 = kb_connect(b);
    struct kt_proc load[2];
    assert_int_equal(create(fd, "busy", 4, NULL, NULL, NULL), 0);
    const char *argv[] = {kb_bin("kafka_cli"), "-b", b->addr, "test", "busy", "300000",
                          "--batch", "20", NULL};
    for (int i = 0; i < 2; i++)
        kt_spawn(b, &load[i], argv, NULL, 0, NULL, NULL);
    struct kp_arena a = {0};
    struct kp_fetch_req *r = KT_NEW(&a, kp_fetch_req, 1);
    struct kp_fetch_req_topic *t = KT_NEW(&a, kp_fetch_req_topic, 1);
    struct kp_fetch_req_partition *p = KT_NEW(&a, kp_fetch_req_partition, 1);
    p->fetch_offset = 1 << 30; /* far ahead: out of range, answered at once, again and again */
    p->partition_max_bytes = 1 << 16;
    t->topic = kp_slice_str("busy");
    KP_SET(t->partitions, 1, p);
    r->max_bytes = 1 << 16;
    r->max_wait_ms = 500;
    KP_SET(r->topics, 1, t);
    for (int round = 0; round < 3; round++) {
        kc_sleep_ms(100);
        kt_send(fd2, KP_API_FETCH, 12, 100 + round, r);
        int16_t err = delete_topic(fd, "busy");
        assert_true(err == 0 || err == KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        struct kp_response resp;
        (void)kt_recv(fd2, KP_API_FETCH, 12, 100 + round, buf, sizeof(buf), &resp);
        kp_response_fini(&resp);
    }
    for (int i = 0; i < 2; i++)
        (void)kt_wait(&load[i], 60000); /* they may fail: their topic went away under them */
    kp_arena_fini(&a);
    close(fd);
    close(fd2);
    kt_assert_serving(b);
}

/* ---- cluster -------------------------------------------------------------------------------- */

static void test_0111_describe_cluster_and_log_dirs(void **state)
{
    struct kb_broker *b = *state;
    int fd = kb_connect(b);
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_describe_cluster_req *dc = KT_NEW(&a, kp_describe_cluster_req, 1);
    dc->include_cluster_authorized_operations = true;
    const struct kp_describe_cluster_resp *c =
        kt_call(fd, KP_API_DESCRIBE_CLUSTER, 1, dc, buf, sizeof(buf), &resp);
    assert_int_equal(c->error_code, 0);
    assert_int_equal(c->brokers.n, 1);
    assert_int_equal(c->brokers.v[0].port, b->port);
    assert_true(c->cluster_authorized_operations & (1 << 8)); /* DESCRIBE */
    kp_response_fini(&resp);
    dc->endpoint_type = 2; /* controllers: not this broker's */
    c = kt_call(fd, KP_API_DESCRIBE_CLUSTER, 1, dc, buf, sizeof(buf), &resp);
    assert_int_equal(c->error_code, KP_ERR_UNSUPPORTED_ENDPOINT_TYPE);
    kp_response_fini(&resp);
    assert_int_equal(create(fd, "ld", 3, NULL, NULL, NULL), 0);
    assert_int_equal(produce(fd, "ld", 10, 50, NULL), 0);
    struct kp_describe_log_dirs_req *ld = KT_NEW(&a, kp_describe_log_dirs_req, 1);
    struct kp_describe_log_dirs_req_describable_log_dir_topic *t =
        KT_NEW(&a, kp_describe_log_dirs_req_describable_log_dir_topic, 1);
    int32_t *parts = kp_arena_alloc(&a, 2 * sizeof(int32_t));
    parts[0] = 0;
    parts[1] = 7; /* no such partition: left out */
    t->topic = kp_slice_str("ld");
    KP_SET(t->partitions, 2, parts);
    KP_SET(ld->topics, 1, t);
    const struct kp_describe_log_dirs_resp *l =
        kt_call(fd, KP_API_DESCRIBE_LOG_DIRS, 4, ld, buf, sizeof(buf), &resp);
    assert_int_equal(l->results.n, 1);
    assert_int_equal(l->results.v[0].topics.n, 1);
    assert_int_equal(l->results.v[0].topics.v[0].partitions.n, 1);
    assert_true(l->results.v[0].topics.v[0].partitions.v[0].partition_size > 500);
    assert_true(l->results.v[0].total_bytes >= l->results.v[0].usable_bytes);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    close(fd);
}

/* ---- ACLs ----------------------------------------------------------------------------------- */

static void test_0111_acls_refuse_with_kafkas_codes(void **state)
{
    struct kb_broker *b = *state;
    int fd = kb_connect(b);
    assert_int_equal(create(fd, "guarded", 1, NULL, NULL, NULL), 0);
    close(fd);
    kb_stop(b);
    kb_start(b, (const char *const[]){"--override", "authorizer.class.name=acl", NULL});
    fd = kb_connect(b);
    char v[64];
    int8_t src;
    int64_t low;
    assert_int_equal(create(fd, "new", 1, NULL, NULL, NULL), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(delete_topic(fd, "guarded"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(alter(fd, "guarded", "retention.ms", 0, "1"),
                     KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(describe(fd, "guarded", "retention.ms", v, sizeof(v), &src),
                     KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(delete_records(fd, "guarded", 0, &low), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    struct kp_arena a = {0};
    struct kp_response resp;
    struct kp_describe_cluster_req *dc = KT_NEW(&a, kp_describe_cluster_req, 1);
    const struct kp_describe_cluster_resp *c =
        kt_call(fd, KP_API_DESCRIBE_CLUSTER, 0, dc, buf, sizeof(buf), &resp);
    assert_int_equal(c->error_code, KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    kp_response_fini(&resp);
    struct kp_describe_log_dirs_req *ld = KT_NEW(&a, kp_describe_log_dirs_req, 1);
    KP_SET(ld->topics, -1, NULL);
    const struct kp_describe_log_dirs_resp *l =
        kt_call(fd, KP_API_DESCRIBE_LOG_DIRS, 4, ld, buf, sizeof(buf), &resp);
    assert_int_equal(l->error_code, KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    close(fd);
    assert_true(exists(b, "guarded-0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0111_confluent_and_kafka_python, setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_kafkajs, setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_incremental_alter_configs, setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_configs_act_and_survive_restart, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_delete_records_through_restart, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_delete_ends_parked_fetch_and_offsets, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_delete_through_kill9, setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_delete_under_load, setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_describe_cluster_and_log_dirs, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0111_acls_refuse_with_kafkas_codes, setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
