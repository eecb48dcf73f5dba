/*
 * test_0112_kafka_groups_admin.c - what group tools do, through the clients on this
 * machine: list, describe and delete groups, delete a group's offsets; the refusals Kafka
 * makes (a live group cannot be deleted, a topic a member subscribes to keeps its
 * offsets); deletions that survive kill -9; and the ACL checks.
 *
 *   kafka-python    KafkaAdminClient list/describe/delete_consumer_groups (ListGroups v1,
 *                   DescribeGroups v3, DeleteGroups v1)
 *   kafkajs         admin listGroups/describeGroups/deleteGroups (v2, v2, v1)
 *   confluent-kafka AdminClient.list_groups (ListGroups v0 + DescribeGroups v0: all 1.7.0
 *                   has)
 *   librdkafka      its C admin API, loaded with dlopen as in test_0105:
 *                   ListConsumerGroups with a states filter (ListGroups v4),
 *                   DescribeConsumerGroups (v4), DeleteGroups (v1), and
 *                   DeleteConsumerGroupOffsets (OffsetDelete v0) - the one client here that
 *                   sends OffsetDelete
 *
 * The groups: "live" has a member (a confluent-kafka consumer, static, subscribed to
 * topic ga); "idle" only has offsets, committed through the native protocol (kafka_cli 3),
 * which Kafka shows as an Empty group with no protocol type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <librdkafka/rdkafka.h>

#include "kafka/kt.h"
#include "sec_acl.h"

#define PYTHON "/usr/bin/python3"
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static uint8_t buf[1 << 20];

static int setup(void **state)
{
    kt_require(PYTHON, "python3");
    kb_setup(state);
    kb_start(*state, ARGS("--override", "group.initial.rebalance.delay.ms=0"));
    return 0;
}

static const char *script(const char *name)
{
    static char path[1024];
    const char *src = getenv("KC_SRC_DIR");
    snprintf(path, sizeof(path), "%s/broker/tests/kafka/%s", src && *src ? src : ".", name);
    return path;
}

static void cli(const struct kb_broker *b, const char *const *args)
{
    char *out, *err;
    int rc = kb_cli(b, NULL, &out, &err, args);
    if (rc != 0)
        fail_msg("kafka_cli %s: %s", args[0], err);
    free(out);
    free(err);
}

/* The committed offset kafka_cli (the native protocol) reads: -1 for none. */
static long long committed(const struct kb_broker *b, const char *group, const char *topic,
                           const char *part)
{
    char *out, *err;
    assert_int_equal(kb_cli(b, NULL, &out, &err, ARGS("4", group, topic, part)), 0);
    long long off = atoll(out);
    free(out);
    free(err);
    return off;
}

/* Topics ga (2 partitions) and gb, records in both; "idle" commits ga 0/1 and gb 0. */
static void groups_setup(const struct kb_broker *b)
{
    cli(b, ARGS("0", "ga", "2"));
    cli(b, ARGS("0", "gb", "1"));
    for (int i = 0; i < 4; i++) {
        cli(b, ARGS("1", "ga", "a-record", "--key", i % 2 ? "k1" : "k2"));
        cli(b, ARGS("1", "gb", "b-record"));
    }
    cli(b, ARGS("3", "idle", "ga", "0", "1"));
    cli(b, ARGS("3", "idle", "ga", "1", "1"));
    cli(b, ARGS("3", "idle", "gb", "0", "2"));
}

/* A running static consumer of ga in group "live" (stops when stop exists). */
static void live_member(const struct kb_broker *b, struct kt_proc *p, char *stop, size_t cap)
{
    snprintf(stop, cap, "%s/stop-live", b->dir);
    const char *argv[] = {PYTHON, script("confluent_e2e.py"), "static", kt_addr(b), "ga",
                          "live", "live-1", stop, NULL};
    kt_spawn(b, p, argv, NULL, 0, NULL, NULL);
    int64_t deadline = kc_mono_ms() + 60000;
    for (;;) {
        char *out = kt_slurp(p->out, NULL);
        bool ready = strstr(out, "assigned 0,1") != NULL;
        free(out);
        if (ready)
            return;
        if (kc_mono_ms() > deadline)
            fail_msg("the live member got no assignment");
        kc_sleep_ms(100);
    }
}

static void live_stop(struct kt_proc *p, const char *stop)
{
    assert_int_equal(kc_atomic_replace(stop, "", 0), 0);
    assert_int_equal(kt_wait(p, 60000), 0);
}

static char *run(const struct kb_broker *b, const char *const *argv, const char *const *env)
{
    struct kt_proc p;
    kt_spawn(b, &p, argv, NULL, 0, NULL, env);
    int rc = kt_wait(&p, 120000);
    char *out = kt_slurp(p.out, NULL);
    if (rc != 0) {
        char *err = kt_slurp(p.err, NULL);
        fail_msg("%s exited %d:\n%s\n%s", argv[1], rc, out, err);
    }
    printf("%s", out);
    return out;
}

static void test_0112_python_and_kafkajs_admin_clients(void **state)
{
    struct kb_broker *b = *state;
    struct kt_proc live;
    char stop[600], dir[PATH_MAX], node_path[PATH_MAX + 32];
    kt_require("node", "nodejs");
    groups_setup(b);
    live_member(b, &live, stop, sizeof(stop));

    char *out = run(b, ARGS(PYTHON, script("kafka_python_e2e.py"), "admin", kt_addr(b), "live",
                            "idle"), NULL);
    assert_non_null(strstr(out, "listed idle -\n"));       /* offsets only: no type */
    assert_non_null(strstr(out, "listed live consumer\n"));
    assert_non_null(strstr(out, "described live Stable consumer range members 1\n"));
    assert_non_null(strstr(out, "client rdkafka host /127.0.0.1 topics ga\n"));
    assert_non_null(strstr(out, "described idle Empty - - members 0\n"));
    assert_non_null(strstr(out, "described no-such-group Dead - - members 0\n"));
    assert_non_null(strstr(out, "deleted live NonEmptyGroupError\n"));
    assert_non_null(strstr(out, "deleted idle NoError\n"));
    assert_non_null(strstr(out, "deleted no-such-group GroupIdNotFoundError\n"));
    free(out);
    assert_int_equal(committed(b, "idle", "ga", "0"), -1); /* its offsets went with it */
    assert_int_equal(committed(b, "idle", "gb", "0"), -1);

    cli(b, ARGS("3", "idle", "ga", "0", "1")); /* again, for kafkajs */
    kt_kafkajs_dir(b, dir, sizeof(dir));
    snprintf(node_path, sizeof(node_path), "NODE_PATH=%s/node_modules", dir);
    out = run(b, ARGS("node", script("kafkajs_groups.js"), kt_addr(b), "live", "idle"),
              ARGS(node_path));
    assert_non_null(strstr(out, "listed idle -\n"));
    assert_non_null(strstr(out, "described live Stable consumer range members 1\n"));
    assert_non_null(strstr(out, "host /127.0.0.1\n"));
    assert_non_null(strstr(out, "described idle Empty - - members 0\n"));
    assert_non_null(strstr(out, "deleted live NON_EMPTY_GROUP\n"));
    assert_non_null(strstr(out, "deleted idle ok\n"));
    free(out);

    out = run(b, ARGS(PYTHON, script("confluent_e2e.py"), "groups", kt_addr(b)), NULL);
    assert_non_null(strstr(out, "group live state Stable protocol_type consumer protocol "
                                "range members 1\n"));
    assert_null(strstr(out, "group idle")); /* deleted */
    free(out);
    live_stop(&live, stop);
    kt_assert_serving(b);
}

/* ---- librdkafka's admin API, loaded at run time ---------------------------------------------- */

#define RDK_FUNCS(X)                                                                          \
    X(rd_kafka_conf_new) X(rd_kafka_conf_set) X(rd_kafka_new) X(rd_kafka_destroy)              \
    X(rd_kafka_queue_new) X(rd_kafka_queue_destroy) X(rd_kafka_queue_poll)                     \
    X(rd_kafka_event_destroy) X(rd_kafka_event_error) X(rd_kafka_event_error_string)           \
    X(rd_kafka_error_code) X(rd_kafka_error_destroy) X(rd_kafka_err2name)                      \
    X(rd_kafka_AdminOptions_new) X(rd_kafka_AdminOptions_destroy)                              \
    X(rd_kafka_AdminOptions_set_match_consumer_group_states)                                   \
    X(rd_kafka_ListConsumerGroups) X(rd_kafka_event_ListConsumerGroups_result)                 \
    X(rd_kafka_ListConsumerGroups_result_valid) X(rd_kafka_ConsumerGroupListing_group_id)      \
    X(rd_kafka_ConsumerGroupListing_is_simple_consumer_group)                                  \
    X(rd_kafka_ConsumerGroupListing_state) X(rd_kafka_DescribeConsumerGroups)                  \
    X(rd_kafka_event_DescribeConsumerGroups_result)                                            \
    X(rd_kafka_DescribeConsumerGroups_result_groups)                                           \
    X(rd_kafka_ConsumerGroupDescription_error) X(rd_kafka_ConsumerGroupDescription_state)      \
    X(rd_kafka_ConsumerGroupDescription_partition_assignor)                                    \
    X(rd_kafka_ConsumerGroupDescription_member_count)                                          \
    X(rd_kafka_ConsumerGroupDescription_member) X(rd_kafka_MemberDescription_host)             \
    X(rd_kafka_MemberDescription_group_instance_id) X(rd_kafka_MemberDescription_assignment)   \
    X(rd_kafka_MemberAssignment_partitions) X(rd_kafka_DeleteGroup_new)                        \
    X(rd_kafka_DeleteGroup_destroy) X(rd_kafka_DeleteGroups)                                   \
    X(rd_kafka_event_DeleteGroups_result) X(rd_kafka_DeleteGroups_result_groups)               \
    X(rd_kafka_group_result_error) X(rd_kafka_group_result_partitions)                         \
    X(rd_kafka_topic_partition_list_new) X(rd_kafka_topic_partition_list_add)                  \
    X(rd_kafka_topic_partition_list_destroy) X(rd_kafka_DeleteConsumerGroupOffsets_new)        \
    X(rd_kafka_DeleteConsumerGroupOffsets_destroy) X(rd_kafka_DeleteConsumerGroupOffsets)      \
    X(rd_kafka_event_DeleteConsumerGroupOffsets_result)                                        \
    X(rd_kafka_DeleteConsumerGroupOffsets_result_groups)

static struct {
    void *lib;
#define RDK_FIELD(name) __typeof__(name) *name;
    RDK_FUNCS(RDK_FIELD)
#undef RDK_FIELD
} rdk;

static void rdk_load(void)
{
    if (rdk.lib)
        return;
    rdk.lib = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!rdk.lib)
        fail_msg("librdkafka is not installed (%s): run scripts/deps.sh test "
                 "(Debian package librdkafka-dev)", dlerror());
#define RDK_LOAD(name)                                                                        \
    *(void **)&rdk.name = dlsym(rdk.lib, #name);                                              \
    if (!rdk.name)                                                                            \
        fail_msg("librdkafka has no %s", #name);
    RDK_FUNCS(RDK_LOAD)
#undef RDK_LOAD
}

struct admin {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
};

static void admin_open(const struct kb_broker *b, struct admin *a)
{
    char err[512];
    rdk_load();
    rd_kafka_conf_t *conf = rdk.rd_kafka_conf_new();
    assert_int_equal(rdk.rd_kafka_conf_set(conf, "bootstrap.servers", kt_addr(b), err,
                                           sizeof(err)), RD_KAFKA_CONF_OK);
    a->rk = rdk.rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(a->rk);
    a->q = rdk.rd_kafka_queue_new(a->rk);
}

static void admin_close(struct admin *a)
{
    rdk.rd_kafka_queue_destroy(a->q);
    rdk.rd_kafka_destroy(a->rk);
}

/* The next result event (fails the test on a request-level error). */
static rd_kafka_event_t *admin_result(struct admin *a)
{
    rd_kafka_event_t *ev = rdk.rd_kafka_queue_poll(a->q, 30000);
    assert_non_null(ev);
    if (rdk.rd_kafka_event_error(ev))
        fail_msg("librdkafka: %s", rdk.rd_kafka_event_error_string(ev));
    return ev;
}

/* ListConsumerGroups, only those in state (-1: any): "group(state)[simple]" joined by ' '. */
static void rdk_list(struct admin *a, int state, char *out, size_t cap)
{
    rd_kafka_AdminOptions_t *o = NULL;
    if (state >= 0) {
        rd_kafka_consumer_group_state_t s = state;
        o = rdk.rd_kafka_AdminOptions_new(a->rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
        assert_null(rdk.rd_kafka_AdminOptions_set_match_consumer_group_states(o, &s, 1));
    }
    rdk.rd_kafka_ListConsumerGroups(a->rk, o, a->q);
    rd_kafka_event_t *ev = admin_result(a);
    size_t n, used = 0;
    const rd_kafka_ListConsumerGroups_result_t *r = rdk.rd_kafka_event_ListConsumerGroups_result(ev);
    const rd_kafka_ConsumerGroupListing_t **l = rdk.rd_kafka_ListConsumerGroups_result_valid(r, &n);
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s(%d)%s", i ? " " : "",
                                 rdk.rd_kafka_ConsumerGroupListing_group_id(l[i]),
                                 (int)rdk.rd_kafka_ConsumerGroupListing_state(l[i]),
                                 rdk.rd_kafka_ConsumerGroupListing_is_simple_consumer_group(l[i])
                                     ? "simple" : "");
    rdk.rd_kafka_event_destroy(ev);
    if (o)
        rdk.rd_kafka_AdminOptions_destroy(o);
}

static void rdk_describe_live(struct admin *a)
{
    const char *groups[] = {"live"};
    rdk.rd_kafka_DescribeConsumerGroups(a->rk, groups, 1, NULL, a->q);
    rd_kafka_event_t *ev = admin_result(a);
    size_t n;
    const rd_kafka_ConsumerGroupDescription_t **d = rdk.rd_kafka_DescribeConsumerGroups_result_groups(
        rdk.rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    assert_int_equal(n, 1);
    assert_null(rdk.rd_kafka_ConsumerGroupDescription_error(d[0]));
    assert_int_equal(rdk.rd_kafka_ConsumerGroupDescription_state(d[0]),
                     RD_KAFKA_CONSUMER_GROUP_STATE_STABLE);
    assert_string_equal(rdk.rd_kafka_ConsumerGroupDescription_partition_assignor(d[0]), "range");
    assert_int_equal(rdk.rd_kafka_ConsumerGroupDescription_member_count(d[0]), 1);
    const rd_kafka_MemberDescription_t *m = rdk.rd_kafka_ConsumerGroupDescription_member(d[0], 0);
    assert_string_equal(rdk.rd_kafka_MemberDescription_host(m), "/127.0.0.1");
    /* DescribeGroups v4 carries the instance id of a static member */
    assert_string_equal(rdk.rd_kafka_MemberDescription_group_instance_id(m), "live-1");
    const rd_kafka_topic_partition_list_t *parts = rdk.rd_kafka_MemberAssignment_partitions(
        rdk.rd_kafka_MemberDescription_assignment(m));
    assert_int_equal(parts->cnt, 2); /* its assignment, decoded by librdkafka */
    rdk.rd_kafka_event_destroy(ev);
}

static rd_kafka_resp_err_t rdk_delete_group(struct admin *a, const char *group)
{
    rd_kafka_DeleteGroup_t *dg = rdk.rd_kafka_DeleteGroup_new(group);
    rdk.rd_kafka_DeleteGroups(a->rk, &dg, 1, NULL, a->q);
    rd_kafka_event_t *ev = admin_result(a);
    size_t n;
    const rd_kafka_group_result_t **r = rdk.rd_kafka_DeleteGroups_result_groups(
        rdk.rd_kafka_event_DeleteGroups_result(ev), &n);
    assert_int_equal(n, 1);
    const rd_kafka_error_t *e = rdk.rd_kafka_group_result_error(r[0]);
    rd_kafka_resp_err_t code = e ? rdk.rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rdk.rd_kafka_event_destroy(ev);
    rdk.rd_kafka_DeleteGroup_destroy(dg);
    return code;
}

/* DeleteConsumerGroupOffsets of group, one partition: that partition's error. */
static rd_kafka_resp_err_t rdk_delete_offsets(struct admin *a, const char *group,
                                              const char *topic, int partition)
{
    rd_kafka_topic_partition_list_t *parts = rdk.rd_kafka_topic_partition_list_new(1);
    rdk.rd_kafka_topic_partition_list_add(parts, topic, partition);
    rd_kafka_DeleteConsumerGroupOffsets_t *d = rdk.rd_kafka_DeleteConsumerGroupOffsets_new(group, parts);
    rdk.rd_kafka_DeleteConsumerGroupOffsets(a->rk, &d, 1, NULL, a->q);
    rd_kafka_event_t *ev = rdk.rd_kafka_queue_poll(a->q, 30000);
    assert_non_null(ev);
    rd_kafka_resp_err_t whole = rdk.rd_kafka_event_error(ev);
    if (whole) { /* OffsetDelete's group-level errors: librdkafka fails the request */
        rdk.rd_kafka_event_destroy(ev);
        rdk.rd_kafka_DeleteConsumerGroupOffsets_destroy(d);
        rdk.rd_kafka_topic_partition_list_destroy(parts);
        return whole;
    }
    size_t n;
    const rd_kafka_group_result_t **r = rdk.rd_kafka_DeleteConsumerGroupOffsets_result_groups(
        rdk.rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &n);
    assert_int_equal(n, 1);
    const rd_kafka_error_t *ge = rdk.rd_kafka_group_result_error(r[0]);
    rd_kafka_resp_err_t code = ge ? rdk.rd_kafka_error_code(ge) : RD_KAFKA_RESP_ERR_NO_ERROR;
    const rd_kafka_topic_partition_list_t *res = rdk.rd_kafka_group_result_partitions(r[0]);
    if (!code && res && res->cnt == 1)
        code = res->elems[0].err;
    rdk.rd_kafka_event_destroy(ev);
    rdk.rd_kafka_DeleteConsumerGroupOffsets_destroy(d);
    rdk.rd_kafka_topic_partition_list_destroy(parts);
    return code;
}

static void test_0112_librdkafka_admin_api(void **state)
{
#if defined(__SANITIZE_THREAD__)
    /* As test_0105: librdkafka's C11 thrd_create threads are invisible to this
     * toolchain's ThreadSanitizer, which then crashes inside librdkafka (not in our code).
     * This case runs in the plain and ASan+UBSan builds; the others run here too. */
    (void)state;
    printf("# skipped under ThreadSanitizer: librdkafka's thrd_create threads\n");
    return;
#endif
    struct kb_broker *b = *state;
    struct kt_proc live;
    struct admin a;
    char stop[600], list[1024];
    groups_setup(b);
    live_member(b, &live, stop, sizeof(stop));
    cli(b, ARGS("3", "live", "gb", "0", "3")); /* a topic the live group does not read */
    admin_open(b, &a);

    rdk_list(&a, -1, list, sizeof(list));
    printf("# listed: %s\n", list);
    assert_non_null(strstr(list, "idle(5)simple")); /* Empty, no protocol type */
    assert_non_null(strstr(list, "live(3)"));       /* Stable */
    assert_null(strstr(list, "live(3)simple"));
    rdk_list(&a, RD_KAFKA_CONSUMER_GROUP_STATE_STABLE, list, sizeof(list));
    assert_string_equal(list, "live(3)"); /* ListGroups v4's states filter */
    rdk_list(&a, RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY, list, sizeof(list));
    assert_string_equal(list, "idle(5)simple");
    rdk_describe_live(&a);

    /* Kafka's refusals: a live group is not deleted; a subscribed topic keeps its offsets */
    assert_int_equal(rdk_delete_group(&a, "live"), RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP);
    assert_int_equal(rdk_delete_offsets(&a, "live", "ga", 0),
                     RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(rdk_delete_offsets(&a, "live", "gb", 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(committed(b, "live", "gb", "0"), -1);
    assert_int_equal(rdk_delete_offsets(&a, "nobody", "gb", 0),
                     RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND);
    /* an Empty group's offsets may go one partition at a time */
    assert_int_equal(rdk_delete_offsets(&a, "idle", "ga", 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(committed(b, "idle", "ga", "0"), -1);
    assert_int_equal(committed(b, "idle", "ga", "1"), 1);
    assert_int_equal(rdk_delete_group(&a, "idle"), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rdk_delete_group(&a, "idle"), RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND);
    admin_close(&a);
    live_stop(&live, stop);
    kt_assert_serving(b);
}

/* ---- deletions survive kill -9 ---------------------------------------------------------------- */

static int32_t list_count(int fd, const char *name)
{
    struct kp_response resp;
    struct kp_list_groups_req lr;
    kp_init(&kp_list_groups_req_schema, &lr);
    const struct kp_list_groups_resp *r = kt_call(fd, KP_API_LIST_GROUPS, 4, &lr, buf,
                                                  sizeof(buf), &resp);
    int32_t n = 0;
    for (int32_t i = 0; i < r->groups.n; i++)
        n += kp_slice_eq(r->groups.v[i].group_id, name);
    kp_response_fini(&resp);
    return n;
}

static void test_0112_deletions_survive_kill9(void **state)
{
    struct kb_broker *b = *state;
    char port[16];
    groups_setup(b);
    cli(b, ARGS("3", "kept", "ga", "0", "2"));
    cli(b, ARGS("3", "kept", "ga", "1", "2"));
    /* a group that had a member: its Empty record is in the log too */
    char *out = run(b, ARGS(PYTHON, script("confluent_e2e.py"), "group", kt_addr(b), "gb",
                            "had-member", "4"), NULL);
    free(out);
    out = run(b, ARGS(PYTHON, script("confluent_e2e.py"), "group", kt_addr(b), "gb", "emptied",
                      "4"), NULL); /* this one stays: Empty, with its record and offsets */
    free(out);
    int fd = kb_connect(b);
    assert_int_equal(list_count(fd, "had-member"), 1);
    struct kp_response resp;
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_delete_groups_req *dr = KT_NEW(&a, kp_delete_groups_req, 1);
    struct kc_slice names[] = {kp_slice_str("idle"), kp_slice_str("had-member")};
    KP_SET(dr->groups_names, 2, names);
    const struct kp_delete_groups_resp *r = kt_call(fd, KP_API_DELETE_GROUPS, 2, dr, buf,
                                                    sizeof(buf), &resp);
    assert_int_equal(r->results.n, 2);
    assert_int_equal(r->results.v[0].error_code, 0);
    assert_int_equal(r->results.v[1].error_code, 0);
    kp_response_fini(&resp);
    struct kp_offset_delete_req *od = KT_NEW(&a, kp_offset_delete_req, 1);
    struct kp_offset_delete_req_topic *t = KT_NEW(&a, kp_offset_delete_req_topic, 1);
    struct kp_offset_delete_req_partition *p = KT_NEW(&a, kp_offset_delete_req_partition, 1);
    t->name = kp_slice_str("ga");
    KP_SET(t->partitions, 1, p);
    od->group_id = kp_slice_str("kept");
    KP_SET(od->topics, 1, t);
    const struct kp_offset_delete_resp *o = kt_call(fd, KP_API_OFFSET_DELETE, 0, od, buf,
                                                    sizeof(buf), &resp);
    assert_int_equal(o->error_code, 0);
    assert_int_equal(o->topics.v[0].partitions.v[0].error_code, 0);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    close(fd);

    snprintf(port, sizeof(port), "%d", b->port);
    kb_kill9(b); /* the answers came after the fsync: nothing of it may come back */
    kb_start(b, ARGS("--port", port));
    fd = kb_connect(b);
    assert_int_equal(list_count(fd, "idle"), 0);
    assert_int_equal(list_count(fd, "had-member"), 0);
    assert_int_equal(list_count(fd, "kept"), 1);
    assert_int_equal(list_count(fd, "emptied"), 1); /* loaded from its Empty record */
    struct kp_response lresp;
    struct kp_list_groups_req lr;
    kp_init(&kp_list_groups_req_schema, &lr);
    const struct kp_list_groups_resp *l = kt_call(fd, KP_API_LIST_GROUPS, 4, &lr, buf,
                                                  sizeof(buf), &lresp);
    for (int32_t i = 0; i < l->groups.n; i++)
        if (kp_slice_eq(l->groups.v[i].group_id, "emptied")) /* a consumer group still */
            assert_true(kp_slice_eq(l->groups.v[i].protocol_type, "consumer") &&
                        kp_slice_eq(l->groups.v[i].group_state, "Empty"));
    kp_response_fini(&lresp);
    close(fd);
    assert_int_equal(committed(b, "emptied", "gb", "0"), 4);
    assert_int_equal(committed(b, "idle", "ga", "1"), -1);
    assert_int_equal(committed(b, "idle", "gb", "0"), -1);
    assert_int_equal(committed(b, "had-member", "gb", "0"), -1);
    assert_int_equal(committed(b, "kept", "ga", "0"), -1);
    assert_int_equal(committed(b, "kept", "ga", "1"), 2);
}

/* ---- ACLs --------------------------------------------------------------------------------------- */

static void add_acls(const struct kb_broker *b, const struct sec_acl *acls, size_t n)
{
    struct sec_authorizer *az;
    struct sec_authorizer_config cfg = {0};
    struct sec_acl_result res[8];
    assert_true(n <= 8);
    assert_int_equal(sec_authorizer_open(b->data, &cfg, &az), 0);
    assert_int_equal(sec_acl_create(az, acls, n, res), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(res[i].error_code, 0);
    sec_authorizer_close(az);
}

#define ACL(type, name, op) {type, SEC_PAT_LITERAL, name, "User:ANONYMOUS", "*", op, SEC_PERM_ALLOW}

/* Stop the broker, add acls to its data directory, start it with an authorizer. */
static void restart_with_acls(struct kb_broker *b, const struct sec_acl *acls, size_t n)
{
    kb_stop(b);
    add_acls(b, acls, n);
    kb_start(b, ARGS("--override", "authorizer.class.name=acl"));
}

static const struct kp_describe_groups_resp *describe(int fd, struct kp_response *resp)
{
    static struct kc_slice g[3];
    struct kp_describe_groups_req dr;
    kp_init(&kp_describe_groups_req_schema, &dr);
    g[0] = kp_slice_str("seen");
    g[1] = kp_slice_str("hidden");
    g[2] = kp_slice_str("deletable");
    KP_SET(dr.groups, 3, g);
    dr.include_authorized_operations = true;
    return kt_call(fd, KP_API_DESCRIBE_GROUPS, 5, &dr, buf, sizeof(buf), resp);
}

static void test_0112_acls_filter_and_refuse(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    groups_setup(b);
    const char *groups[] = {"seen", "hidden", "deletable"};
    for (int i = 0; i < 3; i++) {
        cli(b, ARGS("3", groups[i], "ga", "0", "1"));
        cli(b, ARGS("3", groups[i], "gb", "0", "1"));
    }
    const struct sec_acl acls[] = {
        ACL(SEC_RES_GROUP, "seen", SEC_OP_DESCRIBE),
        ACL(SEC_RES_GROUP, "deletable", SEC_OP_DELETE), /* implies DESCRIBE */
        ACL(SEC_RES_GROUP, "deletable", SEC_OP_READ),
        ACL(SEC_RES_TOPIC, "ga", SEC_OP_READ),
    };
    restart_with_acls(b, acls, KC_ARRAY_SIZE(acls));
    int fd = kb_connect(b);

    /* ListGroups: no DESCRIBE on the cluster, so only the groups it may describe */
    assert_int_equal(list_count(fd, "seen") + list_count(fd, "deletable"), 2);
    assert_int_equal(list_count(fd, "hidden"), 0);
    /* DescribeGroups: the refused one first, then the others with their operations */
    const struct kp_describe_groups_resp *d = describe(fd, &resp);
    assert_int_equal(d->groups.n, 3);
    assert_true(kp_slice_eq(d->groups.v[0].group_id, "hidden"));
    assert_int_equal(d->groups.v[0].error_code, KP_ERR_GROUP_AUTHORIZATION_FAILED);
    assert_int_equal(d->groups.v[0].authorized_operations, INT32_MIN); /* not filled */
    assert_true(kp_slice_eq(d->groups.v[1].group_id, "seen"));
    assert_int_equal(d->groups.v[1].error_code, 0);
    assert_int_equal(d->groups.v[1].authorized_operations, 1 << SEC_OP_DESCRIBE);
    assert_int_equal(d->groups.v[2].authorized_operations,
                     (1 << SEC_OP_READ) | (1 << SEC_OP_DELETE) | (1 << SEC_OP_DESCRIBE));
    kp_response_fini(&resp);
    assert_true(kb_log_has(b, "denied DESCRIBE on GROUP hidden"));

    /* DeleteGroups: DELETE on each group */
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_delete_groups_req *dr = KT_NEW(&a, kp_delete_groups_req, 1);
    struct kc_slice names[] = {kp_slice_str("seen"), kp_slice_str("hidden")};
    KP_SET(dr->groups_names, 2, names);
    const struct kp_delete_groups_resp *r = kt_call(fd, KP_API_DELETE_GROUPS, 2, dr, buf,
                                                    sizeof(buf), &resp);
    assert_int_equal(r->results.v[0].error_code, KP_ERR_GROUP_AUTHORIZATION_FAILED);
    assert_int_equal(r->results.v[1].error_code, KP_ERR_GROUP_AUTHORIZATION_FAILED);
    kp_response_fini(&resp);

    /* OffsetDelete: DELETE on the group (the whole request), then READ per topic */
    struct kp_offset_delete_req *od = KT_NEW(&a, kp_offset_delete_req, 1);
    struct kp_offset_delete_req_topic *t = KT_NEW(&a, kp_offset_delete_req_topic, 2);
    struct kp_offset_delete_req_partition *p = KT_NEW(&a, kp_offset_delete_req_partition, 1);
    t[0].name = kp_slice_str("ga");
    t[1].name = kp_slice_str("gb");
    KP_SET(t[0].partitions, 1, p);
    KP_SET(t[1].partitions, 1, p);
    od->group_id = kp_slice_str("hidden");
    KP_SET(od->topics, 2, t);
    const struct kp_offset_delete_resp *o = kt_call(fd, KP_API_OFFSET_DELETE, 0, od, buf,
                                                    sizeof(buf), &resp);
    assert_int_equal(o->error_code, KP_ERR_GROUP_AUTHORIZATION_FAILED);
    assert_int_equal(o->topics.n, 0);
    kp_response_fini(&resp);
    od->group_id = kp_slice_str("deletable");
    o = kt_call(fd, KP_API_OFFSET_DELETE, 0, od, buf, sizeof(buf), &resp);
    assert_int_equal(o->error_code, 0);
    assert_int_equal(o->topics.v[0].partitions.v[0].error_code, 0);
    assert_int_equal(o->topics.v[1].partitions.v[0].error_code, KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    close(fd);

    /* DESCRIBE on the cluster lists every group */
    const struct sec_acl cluster[] = {ACL(SEC_RES_CLUSTER, SEC_CLUSTER_NAME, SEC_OP_DESCRIBE)};
    restart_with_acls(b, cluster, 1);
    fd = kb_connect(b);
    assert_int_equal(list_count(fd, "hidden"), 1);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0112_python_and_kafkajs_admin_clients, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0112_librdkafka_admin_api, setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0112_deletions_survive_kill9, setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0112_acls_filter_and_refuse, setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
