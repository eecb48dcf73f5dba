/*
 * test_0110_kafka_versions.c - every version the broker advertises is served: for each API
 * in its ApiVersions answer and each version in the range it gives, a small valid request
 * gets an answer that decodes in full at that version (never a closed connection, which is
 * all a client could make of a version advertised but not served), with the result that
 * request should get:
 *
 *   ApiVersions 0-4, Metadata 0-12, Produce 0-11 (0-2: UNSUPPORTED_VERSION, the message
 *   formats Kafka 4.0 dropped), Fetch 4-17 (by topic id from 13), ListOffsets 0-9,
 *   OffsetCommit 2-9, OffsetFetch 1-9 (a list of groups from 8), FindCoordinator 0-6 (a
 *   list of keys from 4), JoinGroup 0-9 (MEMBER_ID_REQUIRED from 4), SyncGroup 0-5,
 *   Heartbeat 0-4, LeaveGroup 0-5 (a list of members from 3), ListGroups 0-5 (states
 *   from 4, types from 5), DescribeGroups 0-5, DeleteGroups 1-2, OffsetDelete 0; the admin
 *   APIs: CreateTopics 2-7 (configs and the id back from 5 and 7), DeleteTopics 1-6 (by a
 *   topic list from 6), CreatePartitions 0-3, DescribeConfigs 1-4 (a topic and the broker;
 *   synonyms, types, documentation), AlterConfigs 0-2, IncrementalAlterConfigs 0-1,
 *   DeleteRecords 0-2, DescribeCluster 0-1, DescribeLogDirs 1-4; InitProducerId 0-5 (a
 *   new producer id, epoch 0), DescribeProducers 0 (none: the sweep's batches are plain);
 *   OffsetForLeaderEpoch 0-4 (epoch 0 ends at the log end, a later one is UNDEFINED, and
 *   every truncated prefix of its body is refused with the connection closed);
 *   SaslHandshake 0-1 and SaslAuthenticate 0-2 (ILLEGAL_SASL_STATE: a PLAINTEXT
 *   listener), CreateAcls, DescribeAcls, DeleteAcls 1-3 (SECURITY_DISABLED: no
 *   authorizer), AlterUserScramCredentials 0 then DescribeUserScramCredentials 0 (the user
 *   it made)
 *
 * The requests are built through the codec (its correctness is broker/kafka/codec's tests'
 * business; test_0107 writes flexible frames by hand); what is tested here is the door.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <sys/socket.h>

#include "kafka/kt.h"

static uint8_t buf[1 << 20];

static int setup(void **state)
{
    kb_setup(state);
    const char *args[] = {"--override", "num.partitions=1", "--override",
                          "group.initial.rebalance.delay.ms=0", NULL};
    kb_start(*state, args);
    return 0;
}

struct sweep {
    int fd;
    struct kp_arena a;
    struct kp_uuid id; /* topic "sweep"'s */
    uint8_t *batch;
    size_t len;
};

/* ---- one request per API, at any version --------------------------------------------------- */

static void *req_metadata(struct sweep *s, int16_t v)
{
    struct kp_metadata_req *r = KT_NEW(&s->a, kp_metadata_req, 1);
    struct kp_metadata_req_topic *t = KT_NEW(&s->a, kp_metadata_req_topic, 1);
    t->name = kp_slice_str("sweep");
    KP_SET(r->topics, 1, t);
    (void)v;
    return r;
}

static void check_metadata(const void *resp, int16_t v)
{
    const struct kp_metadata_resp *r = resp;
    assert_int_equal(r->brokers.n, 1);
    assert_int_equal(r->topics.n, 1);
    assert_int_equal(r->topics.v[0].error_code, 0);
    assert_int_equal(r->topics.v[0].partitions.n, 1);
    if (v >= 10)
        assert_true(r->topics.v[0].topic_id.b[6] >> 4 == 4); /* the topic's v4 uuid */
}

static void *req_produce(struct sweep *s, int16_t v)
{
    struct kp_produce_req *r = KT_NEW(&s->a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t =
        KT_NEW(&s->a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&s->a, kp_produce_req_partition_produce_data, 1);
    p->records = (struct kc_slice){s->batch, (int32_t)s->len};
    t->name = kp_slice_str("sweep");
    KP_SET(t->partition_data, 1, p);
    r->acks = 1;
    r->timeout_ms = 5000;
    KP_SET(r->topic_data, 1, t);
    (void)v;
    return r;
}

static void check_produce(const void *resp, int16_t v)
{
    const struct kp_produce_resp *r = resp;
    const struct kp_produce_resp_partition_produce_response *p =
        &r->responses.v[0].partition_responses.v[0];
    assert_int_equal(p->error_code, v < 3 ? KP_ERR_UNSUPPORTED_VERSION : 0);
    if (v >= 3)
        assert_true(p->base_offset >= 0);
}

static void *req_fetch(struct sweep *s, int16_t v)
{
    struct kp_fetch_req *r = KT_NEW(&s->a, kp_fetch_req, 1);
    struct kp_fetch_req_topic *t = KT_NEW(&s->a, kp_fetch_req_topic, 1);
    struct kp_fetch_req_partition *p = KT_NEW(&s->a, kp_fetch_req_partition, 1);
    p->partition_max_bytes = 1 << 20;
    if (v >= 13)
        t->topic_id = s->id;
    else
        t->topic = kp_slice_str("sweep");
    KP_SET(t->partitions, 1, p);
    r->max_bytes = 1 << 20;
    KP_SET(r->topics, 1, t);
    return r;
}

static void check_fetch(const void *resp, int16_t v)
{
    const struct kp_fetch_resp *r = resp;
    const struct kp_fetch_resp_partition_data *p = &r->responses.v[0].partitions.v[0];
    assert_int_equal(p->error_code, 0);
    assert_true(p->high_watermark > 0 && p->records.len > 0);
    (void)v;
}

static void *req_list_offsets(struct sweep *s, int16_t v)
{
    struct kp_list_offsets_req *r = KT_NEW(&s->a, kp_list_offsets_req, 1);
    struct kp_list_offsets_req_topic *t = KT_NEW(&s->a, kp_list_offsets_req_topic, 1);
    struct kp_list_offsets_req_partition *p = KT_NEW(&s->a, kp_list_offsets_req_partition, 1);
    p->timestamp = -1;
    if (v == 0)
        p->max_num_offsets = 1;
    t->name = kp_slice_str("sweep");
    KP_SET(t->partitions, 1, p);
    r->replica_id = -1;
    KP_SET(r->topics, 1, t);
    return r;
}

static void check_list_offsets(const void *resp, int16_t v)
{
    const struct kp_list_offsets_resp *r = resp;
    const struct kp_list_offsets_resp_partition_response *p = &r->topics.v[0].partitions.v[0];
    assert_int_equal(p->error_code, 0);
    assert_true(v == 0 ? p->old_style_offsets.n == 1 && p->old_style_offsets.v[0] > 0
                       : p->offset > 0);
}

static void *req_offset_commit(struct sweep *s, int16_t v)
{
    struct kp_offset_commit_req *r = KT_NEW(&s->a, kp_offset_commit_req, 1);
    struct kp_offset_commit_req_topic *t = KT_NEW(&s->a, kp_offset_commit_req_topic, 1);
    struct kp_offset_commit_req_partition *p = KT_NEW(&s->a, kp_offset_commit_req_partition, 1);
    p->committed_offset = v;
    t->name = kp_slice_str("sweep");
    KP_SET(t->partitions, 1, p);
    r->group_id = kp_slice_str("sweep-g");
    KP_SET(r->topics, 1, t);
    return r;
}

static void check_offset_commit(const void *resp, int16_t v)
{
    const struct kp_offset_commit_resp *r = resp;
    assert_int_equal(r->topics.v[0].partitions.v[0].error_code, 0);
    (void)v;
}

static void *req_offset_fetch(struct sweep *s, int16_t v)
{
    struct kp_offset_fetch_req *r = KT_NEW(&s->a, kp_offset_fetch_req, 1);
    int32_t *part = kp_arena_alloc(&s->a, sizeof(*part)); /* partition 0 */
    if (v < 8) {
        struct kp_offset_fetch_req_topic *t = KT_NEW(&s->a, kp_offset_fetch_req_topic, 1);
        t->name = kp_slice_str("sweep");
        KP_SET(t->partition_indexes, 1, part);
        r->group_id = kp_slice_str("sweep-g");
        KP_SET(r->topics, 1, t);
        return r;
    }
    struct kp_offset_fetch_req_group *g = KT_NEW(&s->a, kp_offset_fetch_req_group, 1);
    struct kp_offset_fetch_req_topics *t = KT_NEW(&s->a, kp_offset_fetch_req_topics, 1);
    t->name = kp_slice_str("sweep");
    KP_SET(t->partition_indexes, 1, part);
    g->group_id = kp_slice_str("sweep-g");
    KP_SET(g->topics, 1, t);
    KP_SET(r->groups, 1, g);
    return r;
}

static void check_offset_fetch(const void *resp, int16_t v)
{
    const struct kp_offset_fetch_resp *r = resp;
    int64_t off = v < 8 ? r->topics.v[0].partitions.v[0].committed_offset
                        : r->groups.v[0].topics.v[0].partitions.v[0].committed_offset;
    assert_int_equal(off, 9); /* OffsetCommit v9's, the last committed */
}

static void *req_find_coordinator(struct sweep *s, int16_t v)
{
    struct kp_find_coordinator_req *r = KT_NEW(&s->a, kp_find_coordinator_req, 1);
    if (v < 4) {
        r->key = kp_slice_str("sweep-g");
        return r;
    }
    struct kc_slice *k = kp_arena_alloc(&s->a, sizeof(*k));
    *k = kp_slice_str("sweep-g");
    KP_SET(r->coordinator_keys, 1, k);
    return r;
}

static void check_find_coordinator(const void *resp, int16_t v)
{
    const struct kp_find_coordinator_resp *r = resp;
    assert_int_equal(v < 4 ? r->error_code : r->coordinators.v[0].error_code, 0);
    assert_int_equal(v < 4 ? r->node_id : r->coordinators.v[0].node_id, 0);
}

static void *req_join_group(struct sweep *s, int16_t v)
{
    struct kp_join_group_req *r = KT_NEW(&s->a, kp_join_group_req, 1);
    struct kp_join_group_req_protocol *p = KT_NEW(&s->a, kp_join_group_req_protocol, 1);
    char *group = kp_arena_alloc(&s->a, 32);
    snprintf(group, 32, "sweep-join-%d", v); /* a group of its own each: nobody waits */
    p->name = kp_slice_str("range");
    r->group_id = kp_slice_str(group);
    r->session_timeout_ms = 10000;
    if (v >= 1)
        r->rebalance_timeout_ms = 10000;
    r->protocol_type = kp_slice_str("consumer");
    KP_SET(r->protocols, 1, p);
    return r;
}

static void check_join_group(const void *resp, int16_t v)
{
    const struct kp_join_group_resp *r = resp;
    assert_int_equal(r->error_code, v >= 4 ? KP_ERR_MEMBER_ID_REQUIRED : 0);
    assert_true(r->member_id.len > 0);
}

/* SyncGroup, Heartbeat and LeaveGroup from a member nobody knows: UNKNOWN_MEMBER_ID. */
static void *req_sync_group(struct sweep *s, int16_t v)
{
    struct kp_sync_group_req *r = KT_NEW(&s->a, kp_sync_group_req, 1);
    r->group_id = kp_slice_str("sweep-join-0");
    r->generation_id = 1;
    r->member_id = kp_slice_str("nobody");
    (void)v;
    return r;
}

static void check_sync_group(const void *resp, int16_t v)
{
    const struct kp_sync_group_resp *r = resp;
    assert_int_equal(r->error_code, KP_ERR_UNKNOWN_MEMBER_ID);
    (void)v;
}

static void *req_heartbeat(struct sweep *s, int16_t v)
{
    struct kp_heartbeat_req *r = KT_NEW(&s->a, kp_heartbeat_req, 1);
    r->group_id = kp_slice_str("sweep-join-0");
    r->generation_id = 1;
    r->member_id = kp_slice_str("nobody");
    (void)v;
    return r;
}

static void check_heartbeat(const void *resp, int16_t v)
{
    const struct kp_heartbeat_resp *r = resp;
    assert_int_equal(r->error_code, KP_ERR_UNKNOWN_MEMBER_ID);
    (void)v;
}

static void *req_leave_group(struct sweep *s, int16_t v)
{
    struct kp_leave_group_req *r = KT_NEW(&s->a, kp_leave_group_req, 1);
    r->group_id = kp_slice_str("sweep-join-0");
    if (v < 3) {
        r->member_id = kp_slice_str("nobody");
        return r;
    }
    struct kp_leave_group_req_member_identity *m =
        KT_NEW(&s->a, kp_leave_group_req_member_identity, 1);
    m->member_id = kp_slice_str("nobody");
    KP_SET(r->members, 1, m);
    return r;
}

static void check_leave_group(const void *resp, int16_t v)
{
    const struct kp_leave_group_resp *r = resp;
    if (v < 3) {
        assert_int_equal(r->error_code, KP_ERR_UNKNOWN_MEMBER_ID);
        return;
    }
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->members.n, 1);
    assert_int_equal(r->members.v[0].error_code, KP_ERR_UNKNOWN_MEMBER_ID);
}

/* The sweep's groups: sweep-join-<v> (JoinGroup's, left with a pending member or a member
 * of each version) and sweep-g (OffsetCommit's, offsets only). */
static void *req_list_groups(struct sweep *s, int16_t v)
{
    struct kp_list_groups_req *r = KT_NEW(&s->a, kp_list_groups_req, 1);
    struct kc_slice *f = kp_arena_alloc(&s->a, sizeof(*f));
    if (v == 4) { /* Kafka compares states case-insensitively */
        *f = kp_slice_str("empty");
        KP_SET(r->states_filter, 1, f);
    } else if (v == 5) {
        *f = kp_slice_str("Classic");
        KP_SET(r->types_filter, 1, f);
    }
    return r;
}

static void check_list_groups(const void *resp, int16_t v)
{
    const struct kp_list_groups_resp *r = resp;
    bool commit = false;
    assert_int_equal(r->error_code, 0);
    assert_true(r->groups.n >= 1);
    for (int32_t i = 0; i < r->groups.n; i++) {
        commit |= kp_slice_eq(r->groups.v[i].group_id, "sweep-g");
        if (v == 4)
            assert_true(kp_slice_eq(r->groups.v[i].group_state, "Empty"));
        if (v >= 5)
            assert_true(kp_slice_eq(r->groups.v[i].group_type, "classic"));
    }
    assert_true(commit); /* a group with offsets only is listed, Empty, as Kafka lists it */
}

static void *req_describe_groups(struct sweep *s, int16_t v)
{
    struct kp_describe_groups_req *r = KT_NEW(&s->a, kp_describe_groups_req, 1);
    struct kc_slice *g = kp_arena_alloc(&s->a, 2 * sizeof(*g));
    g[0] = kp_slice_str("sweep-g");
    g[1] = kp_slice_str("sweep-nobody");
    KP_SET(r->groups, 2, g);
    r->include_authorized_operations = v >= 3;
    return r;
}

static void check_describe_groups(const void *resp, int16_t v)
{
    const struct kp_describe_groups_resp *r = resp;
    assert_int_equal(r->groups.n, 2);
    assert_int_equal(r->groups.v[0].error_code, 0);
    assert_true(kp_slice_eq(r->groups.v[0].group_state, "Empty"));
    assert_true(kp_slice_eq(r->groups.v[1].group_state, "Dead"));
    if (v >= 3) /* READ, DESCRIBE, DELETE: all of them without an authorizer */
        assert_int_equal(r->groups.v[0].authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));
}

static void *req_delete_groups(struct sweep *s, int16_t v)
{
    struct kp_delete_groups_req *r = KT_NEW(&s->a, kp_delete_groups_req, 1);
    struct kc_slice *g = kp_arena_alloc(&s->a, sizeof(*g));
    *g = kp_slice_str("sweep-nobody");
    KP_SET(r->groups_names, 1, g);
    (void)v;
    return r;
}

static void check_delete_groups(const void *resp, int16_t v)
{
    const struct kp_delete_groups_resp *r = resp;
    assert_int_equal(r->results.n, 1);
    assert_int_equal(r->results.v[0].error_code, KP_ERR_GROUP_ID_NOT_FOUND);
    (void)v;
}

static void *req_offset_delete(struct sweep *s, int16_t v)
{
    struct kp_offset_delete_req *r = KT_NEW(&s->a, kp_offset_delete_req, 1);
    struct kp_offset_delete_req_topic *t = KT_NEW(&s->a, kp_offset_delete_req_topic, 1);
    struct kp_offset_delete_req_partition *p = KT_NEW(&s->a, kp_offset_delete_req_partition, 1);
    t->name = kp_slice_str("sweep");
    KP_SET(t->partitions, 1, p);
    r->group_id = kp_slice_str("sweep-g");
    KP_SET(r->topics, 1, t);
    (void)v;
    return r;
}

static void check_offset_delete(const void *resp, int16_t v)
{
    const struct kp_offset_delete_resp *r = resp;
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->topics.n, 1);
    assert_int_equal(r->topics.v[0].partitions.v[0].error_code, 0);
    (void)v;
}

/* ---- security: on a PLAINTEXT listener without an authorizer ------------------------------ */

static void *req_sasl_handshake(struct sweep *s, int16_t v)
{
    struct kp_sasl_handshake_req *r = KT_NEW(&s->a, kp_sasl_handshake_req, 1);
    r->mechanism = kp_slice_str("SCRAM-SHA-256");
    (void)v;
    return r;
}

static void check_sasl_handshake(const void *resp, int16_t v)
{
    const struct kp_sasl_handshake_resp *r = resp;
    assert_int_equal(r->error_code, KP_ERR_ILLEGAL_SASL_STATE); /* not a SASL listener */
    (void)v;
}

static void *req_sasl_authenticate(struct sweep *s, int16_t v)
{
    struct kp_sasl_authenticate_req *r = KT_NEW(&s->a, kp_sasl_authenticate_req, 1);
    r->auth_bytes = kp_slice_str("n,,n=alice,r=abc");
    (void)v;
    return r;
}

static void check_sasl_authenticate(const void *resp, int16_t v)
{
    const struct kp_sasl_authenticate_resp *r = resp;
    assert_int_equal(r->error_code, KP_ERR_ILLEGAL_SASL_STATE);
    assert_true(r->error_message.len > 0);
    assert_int_equal(r->session_lifetime_ms, 0);
    (void)v;
}

static void *req_create_acls(struct sweep *s, int16_t v)
{
    struct kp_create_acls_req *r = KT_NEW(&s->a, kp_create_acls_req, 1);
    struct kp_create_acls_req_acl_creation *c = KT_NEW(&s->a, kp_create_acls_req_acl_creation, 1);
    *c = (struct kp_create_acls_req_acl_creation){2, kp_slice_str("sweep"), 3,
                                                  kp_slice_str("User:alice"), kp_slice_str("*"),
                                                  3, 3};
    KP_SET(r->creations, 1, c);
    (void)v;
    return r;
}

static void check_create_acls(const void *resp, int16_t v)
{
    const struct kp_create_acls_resp *r = resp;
    assert_int_equal(r->results.n, 1);
    assert_int_equal(r->results.v[0].error_code, KP_ERR_SECURITY_DISABLED); /* no authorizer */
    (void)v;
}

static void *req_describe_acls(struct sweep *s, int16_t v)
{
    struct kp_describe_acls_req *r = KT_NEW(&s->a, kp_describe_acls_req, 1);
    r->resource_type_filter = 1; /* ANY */
    r->pattern_type_filter = 1;
    r->operation = 1;
    r->permission_type = 1;
    (void)v;
    return r;
}

static void check_describe_acls(const void *resp, int16_t v)
{
    const struct kp_describe_acls_resp *r = resp;
    assert_int_equal(r->error_code, KP_ERR_SECURITY_DISABLED);
    (void)v;
}

static void *req_delete_acls(struct sweep *s, int16_t v)
{
    struct kp_delete_acls_req *r = KT_NEW(&s->a, kp_delete_acls_req, 1);
    struct kp_delete_acls_req_filter *f = KT_NEW(&s->a, kp_delete_acls_req_filter, 1);
    f->resource_type_filter = 1;
    f->pattern_type_filter = 1;
    f->operation = 1;
    f->permission_type = 1;
    KP_SET(r->filters, 1, f);
    (void)v;
    return r;
}

static void check_delete_acls(const void *resp, int16_t v)
{
    const struct kp_delete_acls_resp *r = resp;
    assert_int_equal(r->filter_results.n, 1);
    assert_int_equal(r->filter_results.v[0].error_code, KP_ERR_SECURITY_DISABLED);
    (void)v;
}

static void *req_alter_user_scram_credentials(struct sweep *s, int16_t v)
{
    struct kp_alter_user_scram_credentials_req *r =
        KT_NEW(&s->a, kp_alter_user_scram_credentials_req, 1);
    struct kp_alter_user_scram_credentials_req_scram_credential_upsertion *u =
        KT_NEW(&s->a, kp_alter_user_scram_credentials_req_scram_credential_upsertion, 1);
    static const uint8_t salted[32] = {1, 2, 3};
    *u = (struct kp_alter_user_scram_credentials_req_scram_credential_upsertion){
        kp_slice_str("sweeper"), 1, 4096, kp_slice_str("some-salt"), {salted, 32}};
    KP_SET(r->upsertions, 1, u);
    (void)v;
    return r;
}

static void check_alter_user_scram_credentials(const void *resp, int16_t v)
{
    const struct kp_alter_user_scram_credentials_resp *r = resp;
    assert_int_equal(r->results.n, 1);
    assert_true(kp_slice_eq(r->results.v[0].user, "sweeper"));
    assert_int_equal(r->results.v[0].error_code, 0);
    (void)v;
}

static void *req_describe_user_scram_credentials(struct sweep *s, int16_t v)
{
    (void)v;
    return KT_NEW(&s->a, kp_describe_user_scram_credentials_req, 1); /* users null: all */
}

static void check_describe_user_scram_credentials(const void *resp, int16_t v)
{
    const struct kp_describe_user_scram_credentials_resp *r = resp;
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->results.n, 1); /* the one the Alter above made */
    assert_true(kp_slice_eq(r->results.v[0].user, "sweeper"));
    assert_int_equal(r->results.v[0].credential_infos.n, 1);
    assert_int_equal(r->results.v[0].credential_infos.v[0].iterations, 4096);
    (void)v;
}

static void *req_api_versions(struct sweep *s, int16_t v)
{
    struct kp_api_versions_req *r = KT_NEW(&s->a, kp_api_versions_req, 1);
    if (v >= 3) {
        r->client_software_name = kp_slice_str("kafka-c-sweep");
        r->client_software_version = kp_slice_str("1");
    }
    return r;
}

static void check_api_versions(const void *resp, int16_t v)
{
    const struct kp_api_versions_resp *r = resp;
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->api_keys.n, KT_SERVED_APIS);
    (void)v;
}

/* ---- the admin APIs (the topics they make and delete are their own) ------------------------- */

static void *req_create_topics(struct sweep *s, int16_t v)
{
    struct kp_create_topics_req *r = KT_NEW(&s->a, kp_create_topics_req, 1);
    struct kp_create_topics_req_creatable_topic *t =
        KT_NEW(&s->a, kp_create_topics_req_creatable_topic, 1);
    struct kp_create_topics_req_creatable_topic_config *c =
        KT_NEW(&s->a, kp_create_topics_req_creatable_topic_config, 1);
    char *name = kp_arena_alloc(&s->a, 32);
    snprintf(name, 32, "sweep-ct-%d", (int)v);
    t->name = kp_slice_str(name);
    t->num_partitions = 1;
    t->replication_factor = v % 2 ? 1 : -1; /* both: the one broker, and "the default" */
    c->name = kp_slice_str("retention.ms");
    c->value = kp_slice_str("3600000");
    KP_SET(t->configs, 1, c);
    KP_SET(r->topics, 1, t);
    r->timeout_ms = 5000;
    return r;
}

static void check_create_topics(const void *resp, int16_t v)
{
    const struct kp_create_topics_resp *r = resp;
    assert_int_equal(r->topics.n, 1);
    assert_int_equal(r->topics.v[0].error_code, 0);
    if (v >= 5) {
        assert_int_equal(r->topics.v[0].num_partitions, 1);
        assert_int_equal(r->topics.v[0].replication_factor, 1);
        assert_true(r->topics.v[0].configs.n > 20);
    }
    if (v >= 7)
        assert_true(r->topics.v[0].topic_id.b[6] >> 4 == 4);
}

static void *req_delete_topics(struct sweep *s, int16_t v)
{
    struct kp_delete_topics_req *r = KT_NEW(&s->a, kp_delete_topics_req, 1);
    char *name = kp_arena_alloc(&s->a, 32);
    snprintf(name, 32, "sweep-ct-%d", (int)v + 1); /* made by CreateTopics v(v+1) */
    if (v >= 6) {
        struct kp_delete_topics_req_delete_topic_state *t =
            KT_NEW(&s->a, kp_delete_topics_req_delete_topic_state, 1);
        t->name = kp_slice_str(name);
        KP_SET(r->topics, 1, t);
    } else {
        struct kc_slice *n = kp_arena_alloc(&s->a, sizeof(*n));
        *n = kp_slice_str(name);
        KP_SET(r->topic_names, 1, n);
    }
    r->timeout_ms = 10000;
    return r;
}

static void check_delete_topics(const void *resp, int16_t v)
{
    const struct kp_delete_topics_resp *r = resp;
    assert_int_equal(r->responses.n, 1);
    assert_int_equal(r->responses.v[0].error_code, 0);
    (void)v;
}

static void *req_create_partitions(struct sweep *s, int16_t v)
{
    struct kp_create_partitions_req *r = KT_NEW(&s->a, kp_create_partitions_req, 1);
    struct kp_create_partitions_req_topic *t = KT_NEW(&s->a, kp_create_partitions_req_topic, 1);
    t->name = kp_slice_str("sweep");
    t->count = 2 + v; /* one more each time */
    KP_SET(t->assignments, -1, NULL);
    KP_SET(r->topics, 1, t);
    r->timeout_ms = 5000;
    return r;
}

static void check_create_partitions(const void *resp, int16_t v)
{
    const struct kp_create_partitions_resp *r = resp;
    assert_int_equal(r->results.n, 1);
    assert_int_equal(r->results.v[0].error_code, 0);
    (void)v;
}

/* Alone, this broker leads every partition: "sweep"-0 needs no election (84). */
static void *req_elect_leaders(struct sweep *s, int16_t v)
{
    struct kp_elect_leaders_req *r = KT_NEW(&s->a, kp_elect_leaders_req, 1);
    struct kp_elect_leaders_req_topic_partitions *t =
        KT_NEW(&s->a, kp_elect_leaders_req_topic_partitions, 1);
    int32_t *p = kp_arena_alloc(&s->a, sizeof(*p));
    *p = 0;
    t->topic = kp_slice_str("sweep");
    KP_SET(t->partitions, 1, p);
    KP_SET(r->topic_partitions, 1, t);
    r->election_type = (int8_t)(v % 2); /* v0 has no type: preferred */
    r->timeout_ms = 5000;
    return r;
}

static void check_elect_leaders(const void *resp, int16_t v)
{
    const struct kp_elect_leaders_resp *r = resp;
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->replica_election_results.n, 1);
    assert_int_equal(r->replica_election_results.v[0].partition_result.n, 1);
    assert_int_equal(r->replica_election_results.v[0].partition_result.v[0].error_code,
                     KP_ERR_ELECTION_NOT_NEEDED);
    (void)v;
}

static void *req_describe_configs(struct sweep *s, int16_t v)
{
    struct kp_describe_configs_req *r = KT_NEW(&s->a, kp_describe_configs_req, 1);
    struct kp_describe_configs_req_resource *res =
        KT_NEW(&s->a, kp_describe_configs_req_resource, 2);
    res[0].resource_type = 2;
    res[0].resource_name = kp_slice_str("sweep");
    KP_SET(res[0].configuration_keys, -1, NULL);
    res[1].resource_type = 4;
    res[1].resource_name = kp_slice_str("0");
    KP_SET(res[1].configuration_keys, -1, NULL);
    KP_SET(r->resources, 2, res);
    r->include_synonyms = v >= 1;
    r->include_documentation = v >= 3;
    return r;
}

static void check_describe_configs(const void *resp, int16_t v)
{
    const struct kp_describe_configs_resp *r = resp;
    assert_int_equal(r->results.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r->results.v[i].error_code, 0);
        assert_true(r->results.v[i].configs.n > 20);
    }
    const struct kp_describe_configs_resp_resource_result *c = &r->results.v[0].configs.v[0];
    assert_true(kp_slice_eq(c->name, "cleanup.policy"));
    assert_true(kp_slice_eq(c->value, "delete"));
    assert_int_equal(c->config_source, v >= 1 ? 5 : -1);
    assert_int_equal(c->synonyms.n, v >= 1 ? 1 : 0);
    if (v >= 3) {
        assert_int_equal(c->config_type, 7); /* LIST */
        assert_true(c->documentation.len > 0);
    }
}

static void *req_alter_configs(struct sweep *s, int16_t v)
{
    struct kp_alter_configs_req *r = KT_NEW(&s->a, kp_alter_configs_req, 1);
    struct kp_alter_configs_req_resource *res = KT_NEW(&s->a, kp_alter_configs_req_resource, 1);
    struct kp_alter_configs_req_alterable_config *c =
        KT_NEW(&s->a, kp_alter_configs_req_alterable_config, 1);
    c->name = kp_slice_str("retention.ms");
    c->value = kp_slice_str(v % 2 ? "7200000" : "3600000");
    res->resource_type = 2;
    res->resource_name = kp_slice_str("sweep");
    KP_SET(res->configs, 1, c);
    KP_SET(r->resources, 1, res);
    return r;
}

static void check_alter_configs(const void *resp, int16_t v)
{
    const struct kp_alter_configs_resp *r = resp;
    assert_int_equal(r->responses.n, 1);
    assert_int_equal(r->responses.v[0].error_code, 0);
    (void)v;
}

static void *req_incremental_alter_configs(struct sweep *s, int16_t v)
{
    struct kp_incremental_alter_configs_req *r = KT_NEW(&s->a, kp_incremental_alter_configs_req, 1);
    struct kp_incremental_alter_configs_req_alter_configs_resource *res =
        KT_NEW(&s->a, kp_incremental_alter_configs_req_alter_configs_resource, 1);
    struct kp_incremental_alter_configs_req_alterable_config *c =
        KT_NEW(&s->a, kp_incremental_alter_configs_req_alterable_config, 1);
    c->name = kp_slice_str("cleanup.policy");
    c->config_operation = 2; /* APPEND */
    c->value = kp_slice_str(v ? "delete" : "compact");
    res->resource_type = 2;
    res->resource_name = kp_slice_str("sweep");
    KP_SET(res->configs, 1, c);
    KP_SET(r->resources, 1, res);
    return r;
}

static void check_incremental_alter_configs(const void *resp, int16_t v)
{
    const struct kp_incremental_alter_configs_resp *r = resp;
    assert_int_equal(r->responses.n, 1);
    assert_int_equal(r->responses.v[0].error_code, 0);
    (void)v;
}

static void *req_delete_records(struct sweep *s, int16_t v)
{
    struct kp_delete_records_req *r = KT_NEW(&s->a, kp_delete_records_req, 1);
    struct kp_delete_records_req_topic *t = KT_NEW(&s->a, kp_delete_records_req_topic, 1);
    struct kp_delete_records_req_partition *p = KT_NEW(&s->a, kp_delete_records_req_partition, 1);
    p->partition_index = 0;
    p->offset = v; /* 0, 1, 2: the start moves up one record at a time */
    t->name = kp_slice_str("sweep");
    KP_SET(t->partitions, 1, p);
    KP_SET(r->topics, 1, t);
    r->timeout_ms = 5000;
    return r;
}

static void check_delete_records(const void *resp, int16_t v)
{
    const struct kp_delete_records_resp *r = resp;
    assert_int_equal(r->topics.n, 1);
    assert_int_equal(r->topics.v[0].partitions.v[0].error_code, 0);
    assert_int_equal(r->topics.v[0].partitions.v[0].low_watermark, v);
}

static void *req_describe_cluster(struct sweep *s, int16_t v)
{
    struct kp_describe_cluster_req *r = KT_NEW(&s->a, kp_describe_cluster_req, 1);
    r->include_cluster_authorized_operations = v == 1;
    return r;
}

static void check_describe_cluster(const void *resp, int16_t v)
{
    const struct kp_describe_cluster_resp *r = resp;
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->brokers.n, 1);
    assert_int_equal(r->controller_id, 0);
    assert_true(r->cluster_id.len > 0);
    if (v == 1) /* asked: every operation, without an authorizer */
        assert_int_not_equal(r->cluster_authorized_operations, INT32_MIN);
}

static void *req_describe_log_dirs(struct sweep *s, int16_t v)
{
    struct kp_describe_log_dirs_req *r = KT_NEW(&s->a, kp_describe_log_dirs_req, 1);
    KP_SET(r->topics, -1, NULL);
    (void)v;
    return r;
}

static void check_describe_log_dirs(const void *resp, int16_t v)
{
    const struct kp_describe_log_dirs_resp *r = resp;
    assert_int_equal(r->results.n, 1);
    assert_int_equal(r->results.v[0].error_code, 0);
    assert_true(r->results.v[0].topics.n >= 2); /* sweep, __consumer_offsets, ... */
    assert_true(r->results.v[0].log_dir.len > 0);
    if (v >= 4)
        assert_true(r->results.v[0].total_bytes > 0 && r->results.v[0].usable_bytes >= 0);
}

static void *req_init_producer_id(struct sweep *s, int16_t v)
{
    struct kp_init_producer_id_req *r = KT_NEW(&s->a, kp_init_producer_id_req, 1);
    r->transactional_id = (struct kc_slice){NULL, -1}; /* idempotence only */
    r->transaction_timeout_ms = 60000;
    (void)v; /* v3+'s producer_id/epoch: -1, the defaults */
    return r;
}

static void check_init_producer_id(const void *resp, int16_t v)
{
    const struct kp_init_producer_id_resp *r = resp;
    assert_int_equal(r->error_code, 0);
    assert_true(r->producer_id >= 0);
    assert_int_equal(r->producer_epoch, 0);
    (void)v;
}

static void *req_describe_producers(struct sweep *s, int16_t v)
{
    struct kp_describe_producers_req *r = KT_NEW(&s->a, kp_describe_producers_req, 1);
    struct kp_describe_producers_req_topic_request *t =
        KT_NEW(&s->a, kp_describe_producers_req_topic_request, 1);
    int32_t *part = kp_arena_alloc(&s->a, sizeof(*part));
    *part = 0;
    t->name = kp_slice_str("sweep");
    KP_SET(t->partition_indexes, 1, part);
    KP_SET(r->topics, 1, t);
    (void)v;
    return r;
}

static void check_describe_producers(const void *resp, int16_t v)
{
    const struct kp_describe_producers_resp *r = resp;
    assert_int_equal(r->topics.n, 1);
    assert_int_equal(r->topics.v[0].partitions.n, 1);
    assert_int_equal(r->topics.v[0].partitions.v[0].error_code, 0);
    assert_int_equal(r->topics.v[0].partitions.v[0].active_producers.n, 0); /* plain batches */
    (void)v;
}

/* Three questions on "sweep" 0 (one partition: num.partitions=1): epoch 0, the only one
 * alone, ends at the log end; epoch 5 is newer than any: UNDEFINED; partition 7: unknown. */
static void *req_offset_for_leader_epoch(struct sweep *s, int16_t v)
{
    struct kp_offset_for_leader_epoch_req *r = KT_NEW(&s->a, kp_offset_for_leader_epoch_req, 1);
    struct kp_offset_for_leader_epoch_req_offset_for_leader_topic *t =
        KT_NEW(&s->a, kp_offset_for_leader_epoch_req_offset_for_leader_topic, 1);
    struct kp_offset_for_leader_epoch_req_offset_for_leader_partition *p =
        KT_NEW(&s->a, kp_offset_for_leader_epoch_req_offset_for_leader_partition, 3);
    p[0].partition = 0, p[0].leader_epoch = 0, p[0].current_leader_epoch = v >= 2 ? 0 : -1;
    p[1].partition = 0, p[1].leader_epoch = 5;
    p[2].partition = 7, p[2].leader_epoch = 0;
    t->topic = kp_slice_str("sweep");
    KP_SET(t->partitions, 3, p);
    r->replica_id = -1; /* v3+: a consumer */
    KP_SET(r->topics, 1, t);
    return r;
}

static void check_offset_for_leader_epoch(const void *resp, int16_t v)
{
    const struct kp_offset_for_leader_epoch_resp *r = resp;
    assert_int_equal(r->topics.n, 1);
    assert_int_equal(r->topics.v[0].partitions.n, 3);
    const struct kp_offset_for_leader_epoch_resp_epoch_end_offset *p =
        r->topics.v[0].partitions.v;
    assert_int_equal(p[0].error_code, 0);
    assert_int_equal(p[0].partition, 0);
    assert_true(p[0].end_offset > 0); /* the sweep produced before */
    assert_int_equal(p[0].leader_epoch, v >= 1 ? 0 : -1); /* v0 has no field: the default */
    assert_int_equal(p[1].error_code, 0);
    assert_int_equal(p[1].end_offset, -1);
    assert_int_equal(p[1].leader_epoch, -1);
    assert_int_equal(p[2].error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(p[2].partition, 7);
}

/* ---- the sweep -------------------------------------------------------------------------------- */

/* In the order the requests run: produce before fetch, commits before their fetch. */
static const struct api_case {
    int16_t key;
    void *(*build)(struct sweep *s, int16_t v);
    void (*check)(const void *resp, int16_t v);
} cases[] = {
#define C(key, name) {key, req_##name, check_##name}
    C(KP_API_API_VERSIONS, api_versions),   C(KP_API_METADATA, metadata),
    C(KP_API_PRODUCE, produce),             C(KP_API_FETCH, fetch),
    C(KP_API_LIST_OFFSETS, list_offsets),   C(KP_API_OFFSET_COMMIT, offset_commit),
    C(KP_API_OFFSET_FETCH, offset_fetch),   C(KP_API_FIND_COORDINATOR, find_coordinator),
    C(KP_API_JOIN_GROUP, join_group),       C(KP_API_SYNC_GROUP, sync_group),
    C(KP_API_HEARTBEAT, heartbeat),         C(KP_API_LEAVE_GROUP, leave_group),
    C(KP_API_CREATE_TOPICS, create_topics), C(KP_API_DELETE_TOPICS, delete_topics),
    C(KP_API_CREATE_PARTITIONS, create_partitions), C(KP_API_ELECT_LEADERS, elect_leaders),
    C(KP_API_DESCRIBE_CONFIGS, describe_configs), C(KP_API_ALTER_CONFIGS, alter_configs),
    C(KP_API_INCREMENTAL_ALTER_CONFIGS, incremental_alter_configs),
    C(KP_API_DELETE_RECORDS, delete_records), C(KP_API_DESCRIBE_CLUSTER, describe_cluster),
    C(KP_API_DESCRIBE_LOG_DIRS, describe_log_dirs), C(KP_API_INIT_PRODUCER_ID, init_producer_id),
    C(KP_API_DESCRIBE_PRODUCERS, describe_producers),
    C(KP_API_OFFSET_FOR_LEADER_EPOCH, offset_for_leader_epoch),
    C(KP_API_LIST_GROUPS, list_groups),     C(KP_API_DESCRIBE_GROUPS, describe_groups),
    C(KP_API_DELETE_GROUPS, delete_groups), C(KP_API_OFFSET_DELETE, offset_delete),
    C(KP_API_SASL_HANDSHAKE, sasl_handshake), C(KP_API_SASL_AUTHENTICATE, sasl_authenticate),
    C(KP_API_CREATE_ACLS, create_acls),     C(KP_API_DESCRIBE_ACLS, describe_acls),
    C(KP_API_DELETE_ACLS, delete_acls),
    C(KP_API_ALTER_USER_SCRAM_CREDENTIALS, alter_user_scram_credentials),
    C(KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, describe_user_scram_credentials),
#undef C
};

/* The advertised table, from ApiVersions v3: min and max per key (-1: not advertised). */
static void advertised(int fd, int16_t min[100], int16_t max[100])
{
    struct kp_response resp;
    struct kp_api_versions_req req;
    kp_init(&kp_api_versions_req_schema, &req);
    req.client_software_name = kp_slice_str("kt");
    req.client_software_version = kp_slice_str("1");
    const struct kp_api_versions_resp *r =
        kt_call(fd, KP_API_API_VERSIONS, 3, &req, buf, sizeof(buf), &resp);
    for (int k = 0; k < 100; k++)
        min[k] = max[k] = -1;
    for (int32_t i = 0; i < r->api_keys.n; i++) {
        assert_true(r->api_keys.v[i].api_key >= 0 && r->api_keys.v[i].api_key < 100);
        min[r->api_keys.v[i].api_key] = r->api_keys.v[i].min_version;
        max[r->api_keys.v[i].api_key] = r->api_keys.v[i].max_version;
    }
    kp_response_fini(&resp);
}

static void test_0110_every_advertised_version_is_answered(void **state)
{
    struct kb_broker *b = *state;
    struct sweep s = {.fd = kb_connect(b)};
    struct kp_response resp;
    int16_t min[100], max[100];
    int answered = 0;
    kp_arena_init(&s.a, 0);
    s.batch = kb_batch("sweep-", 3, &s.len);
    advertised(s.fd, min, max);
    const struct kp_metadata_resp *md =
        kt_call(s.fd, KP_API_METADATA, 12, req_metadata(&s, 12), buf, sizeof(buf), &resp);
    s.id = md->topics.v[0].topic_id; /* auto-created with its id; Fetch v13+ uses it */
    kp_response_fini(&resp);
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        const struct api_case *c = &cases[i];
        assert_true(max[c->key] >= 0); /* every API the door serves is advertised */
        for (int16_t v = min[c->key]; v <= max[c->key]; v++) {
            const void *r = kt_call(s.fd, c->key, v, c->build(&s, v), buf, sizeof(buf), &resp);
            c->check(r, v);
            kp_response_fini(&resp);
            answered++;
        }
        min[c->key] = max[c->key] = -1;
    }
    for (int k = 0; k < 100; k++)
        assert_int_equal(max[k], -1); /* nothing advertised that is not swept */
    printf("# %d (API, version) pairs answered\n", answered);
    assert_int_equal(answered, 5 + 13 + 12 + 14 + 10 + 8 + 9 + 7 + 10 + 6 + 5 + 6 + /* 105 */
                                   6 + 6 + 2 + 1 +                              /* groups */
                                   6 + 6 + 4 + 3 + 4 + 3 + 2 + 3 + 2 + 4 +      /* admin */
                                   2 + 3 + 3 + 3 + 3 + 1 + 1 +  /* SASL, ACLs, SCRAM */
                                   6 + 1 + /* InitProducerId, DescribeProducers */
                                   5);     /* OffsetForLeaderEpoch */
    free(s.batch);
    kp_arena_fini(&s.a);
    close(s.fd);
    kt_assert_serving(b);
}

/* Send p on a fresh connection; true if the broker closed it within ms, answering nothing. */
static bool closed_unanswered(const struct kb_broker *b, const void *p, size_t len, int ms)
{
    uint8_t sink[64];
    int fd = kb_connect(b);
    kb_send(fd, p, len);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    bool closed = poll(&pfd, 1, ms) == 1 && recv(fd, sink, sizeof(sink), 0) <= 0;
    close(fd);
    return closed;
}

/* OffsetForLeaderEpoch at every version, its body cut at every byte inside a whole frame:
 * each cut is refused (the decoder says malformed; the connection is closed, as Kafka
 * does), and the whole request is then answered. */
static void test_0110_offset_for_leader_epoch_prefixes_are_refused(void **state)
{
    struct kb_broker *b = *state;
    struct sweep s = {.fd = kb_connect(b)};
    struct kp_response resp;
    struct kc_writer w;
    int cuts = 0;
    kp_arena_init(&s.a, 0);
    kc_writer_init(&w, 0);
    kt_call(s.fd, KP_API_METADATA, 12, req_metadata(&s, 12), buf, sizeof(buf), &resp);
    kp_response_fini(&resp); /* "sweep" auto-created: the whole requests find it */
    for (int16_t v = 0; v <= 4; v++) {
        struct kp_request_header h = {KP_API_OFFSET_FOR_LEADER_EPOCH, v, 9, kp_slice_str("kt")};
        kc_writer_reset(&w);
        assert_int_equal(kp_request_encode(&w, &h, req_offset_for_leader_epoch(&s, v)), 0);
        size_t whole = kc_writer_len(&w);
        uint8_t *f = malloc(whole);
        assert_non_null(f);
        for (size_t cut = 14; cut < whole; cut++, cuts++) {
            memcpy(f, kc_writer_data(&w), cut);
            kc_store_be32(f, (uint32_t)(cut - 4));
            if (!closed_unanswered(b, f, cut, 10000))
                fail_msg("OffsetForLeaderEpoch v%d cut to %zu of %zu bytes was answered", v,
                         cut, whole);
        }
        free(f);
        const void *r = kt_call(s.fd, KP_API_OFFSET_FOR_LEADER_EPOCH, v,
                                req_offset_for_leader_epoch(&s, v), buf, sizeof(buf), &resp);
        const struct kp_offset_for_leader_epoch_resp *er = r;
        assert_int_equal(er->topics.v[0].partitions.v[0].error_code, 0); /* auto-created */
        kp_response_fini(&resp);
    }
    printf("# %d truncated OffsetForLeaderEpoch requests refused\n", cuts);
    kc_writer_fini(&w);
    kp_arena_fini(&s.a);
    close(s.fd);
    kt_assert_serving(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0110_every_advertised_version_is_answered, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0110_offset_for_leader_epoch_prefixes_are_refused,
                                        setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
