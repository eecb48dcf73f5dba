/*
 * test_0115_kafka_acl.c - Kafka's ACLs on every API the Kafka door serves, and the admin APIs
 * that change them, end to end on raw frames (the requests through the codec; logins with
 * SASL PLAIN on a SASL_PLAINTEXT listener, authorizer on, super.users=User:admin):
 *
 *  - the matrix: for each API, each permission it needs is granted but one, and the
 *    answer is Kafka's refusal for the one missing (29, 30, 31, 53); with all of them the
 *    request is served. The grants go through CreateAcls as the super user, and are
 *    removed with DeleteAcls before the next case;
 *  - Metadata hides what a principal may not describe from "all topics" and refuses a named
 *    one whether or not it exists; OffsetFetch's "everything" leaves such topics out;
 *  - DENY beats ALLOW, PREFIXED patterns, super users, allow.everyone.if.no.acl.found;
 *  - CreateAcls/DescribeAcls/DeleteAcls: Kafka's per-entry INVALID_REQUEST for bad bindings
 *    and filters, grouping by resource, bindings durable across a restart;
 *  - AlterUserScramCredentials with a salted password made here (the password never goes
 *    on the wire) creates a user that then logs in; Kafka's per-user errors (91, 92, 93,
 *    33); DescribeUserScramCredentials' (91, 92); a deletion locks the user out again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "kafka/kt.h"
#include "sec_acl.h"

#define PW "pw-of-everyone" /* PLAIN checks the SCRAM-SHA-256 credential */

static uint8_t buf[1 << 20];

struct ctx {
    struct kb_broker *b;
    int admin, alice; /* connections, logged in */
    struct kp_arena a;
    uint8_t *batch;
    size_t len;
    int seq;
};

static int login(struct kb_broker *b, const char *user)
{
    int fd = kt_connect_to(b->port);
    assert_int_equal(kt_sasl_plain(fd, user, PW), 0);
    return fd;
}

static void start(struct kb_broker *b, const char *const *extra)
{
    const char *args[16] = {"--override", "listeners=SASL_PLAINTEXT://127.0.0.1:0",
                            "--override", "sasl.enabled.mechanisms=PLAIN",
                            "--override", "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
                            "--override", "super.users=User:admin",
                            "--override", "num.partitions=1"};
    int n = 10;
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    kb_start(b, args);
}

static int setup(void **state)
{
    kb_setup(state);
    struct kb_broker *b = *state;
    kb_add_scram(b, "SCRAM-SHA-256", "admin", PW);
    kb_add_scram(b, "SCRAM-SHA-256", "alice", PW);
    kb_add_scram(b, "SCRAM-SHA-256", "bob", PW);
    return 0;
}

/* ---- ACLs through the admin APIs, as the super user -------------------------------------------- */

static int16_t create_acl(int fd, const char *principal, int op, int type, int pattern,
                          const char *name, int perm)
{
    struct kp_response resp;
    struct kp_create_acls_req r;
    struct kp_create_acls_req_acl_creation c = {(int8_t)type, kp_slice_str(name), (int8_t)pattern,
                                                kp_slice_str(principal), kp_slice_str("*"),
                                                (int8_t)op, (int8_t)perm};
    KP_SET(r.creations, 1, &c);
    const struct kp_create_acls_resp *cr =
        kt_call(fd, KP_API_CREATE_ACLS, 3, &r, buf, sizeof(buf), &resp);
    assert_int_equal(cr->results.n, 1);
    int16_t err = cr->results.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

/* Remove every binding of principal; how many. */
static int32_t delete_acls_of(int fd, const char *principal)
{
    struct kp_response resp;
    struct kp_delete_acls_req r;
    struct kp_delete_acls_req_filter f = {SEC_RES_ANY, {NULL, -1}, SEC_PAT_ANY,
                                          kp_slice_str(principal), {NULL, -1}, SEC_OP_ANY,
                                          SEC_PERM_ANY};
    KP_SET(r.filters, 1, &f);
    const struct kp_delete_acls_resp *dr =
        kt_call(fd, KP_API_DELETE_ACLS, 2, &r, buf, sizeof(buf), &resp);
    assert_int_equal(dr->filter_results.v[0].error_code, 0);
    int32_t n = dr->filter_results.v[0].matching_acls.n;
    kp_response_fini(&resp);
    return n;
}

/* ---- one probe per API: alice asks, the relevant error code comes back ---------------------------- */

#define NEW(T, n) ((struct T *)kp_new(&x->a, &T##_schema, (n)))

static int16_t produce(struct ctx *x, const char *txn)
{
    struct kp_response resp;
    struct kp_produce_req *r = NEW(kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = NEW(kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p = NEW(kp_produce_req_partition_produce_data, 1);
    p->records = (struct kc_slice){x->batch, (int32_t)x->len};
    t->name = kp_slice_str("t");
    KP_SET(t->partition_data, 1, p);
    r->acks = 1;
    r->timeout_ms = 5000;
    r->transactional_id = txn ? kp_slice_str(txn) : (struct kc_slice){NULL, -1};
    KP_SET(r->topic_data, 1, t);
    const struct kp_produce_resp *pr = kt_call(x->alice, KP_API_PRODUCE, 7, r, buf, sizeof(buf), &resp);
    int16_t err = pr->responses.v[0].partition_responses.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t produce_plain(struct ctx *x) { return produce(x, NULL); }
static int16_t produce_txn(struct ctx *x) { return produce(x, "txn-1"); }

static int16_t fetch(struct ctx *x, int32_t replica)
{
    struct kp_response resp;
    struct kp_fetch_req *r = NEW(kp_fetch_req, 1);
    struct kp_fetch_req_topic *t = NEW(kp_fetch_req_topic, 1);
    struct kp_fetch_req_partition *p = NEW(kp_fetch_req_partition, 1);
    p->partition_max_bytes = 1 << 20;
    t->topic = kp_slice_str("t");
    KP_SET(t->partitions, 1, p);
    r->replica_id = replica;
    r->max_bytes = 1 << 20;
    KP_SET(r->topics, 1, t);
    const struct kp_fetch_resp *fr = kt_call(x->alice, KP_API_FETCH, 11, r, buf, sizeof(buf), &resp);
    int16_t err = fr->responses.v[0].partitions.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t fetch_consumer(struct ctx *x) { return fetch(x, -1); }
static int16_t fetch_follower(struct ctx *x) { return fetch(x, 1); }

static int16_t list_offsets(struct ctx *x)
{
    struct kp_response resp;
    struct kp_list_offsets_req *r = NEW(kp_list_offsets_req, 1);
    struct kp_list_offsets_req_topic *t = NEW(kp_list_offsets_req_topic, 1);
    struct kp_list_offsets_req_partition *p = NEW(kp_list_offsets_req_partition, 1);
    p->timestamp = -1;
    t->name = kp_slice_str("t");
    KP_SET(t->partitions, 1, p);
    r->replica_id = -1;
    KP_SET(r->topics, 1, t);
    const struct kp_list_offsets_resp *lr =
        kt_call(x->alice, KP_API_LIST_OFFSETS, 5, r, buf, sizeof(buf), &resp);
    int16_t err = lr->topics.v[0].partitions.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t metadata_named(struct ctx *x, const char *name, bool create)
{
    struct kp_response resp;
    struct kp_metadata_req *r = NEW(kp_metadata_req, 1);
    struct kp_metadata_req_topic *t = NEW(kp_metadata_req_topic, 1);
    t->name = kp_slice_str(name);
    KP_SET(r->topics, 1, t);
    r->allow_auto_topic_creation = create;
    const struct kp_metadata_resp *mr = kt_call(x->alice, KP_API_METADATA, 9, r, buf, sizeof(buf), &resp);
    int16_t err = mr->topics.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t metadata_t(struct ctx *x) { return metadata_named(x, "t", false); }

/* A name never used before, under the prefix the grants name. */
static int16_t metadata_create(struct ctx *x)
{
    char name[32];
    snprintf(name, sizeof(name), "auto-%d", ++x->seq);
    return metadata_named(x, name, true);
}

static int16_t find_coordinator(struct ctx *x)
{
    struct kp_response resp;
    struct kp_find_coordinator_req *r = NEW(kp_find_coordinator_req, 1);
    r->key = kp_slice_str("g");
    const struct kp_find_coordinator_resp *fr =
        kt_call(x->alice, KP_API_FIND_COORDINATOR, 3, r, buf, sizeof(buf), &resp);
    int16_t err = fr->error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t join_group(struct ctx *x)
{
    struct kp_response resp;
    struct kp_join_group_req *r = NEW(kp_join_group_req, 1);
    struct kp_join_group_req_protocol *p = NEW(kp_join_group_req_protocol, 1);
    p->name = kp_slice_str("range");
    p->metadata = kp_slice_str("");
    r->group_id = kp_slice_str("g");
    r->session_timeout_ms = 10000;
    r->rebalance_timeout_ms = 10000;
    r->member_id = kp_slice_str("");
    r->protocol_type = kp_slice_str("consumer");
    KP_SET(r->protocols, 1, p);
    const struct kp_join_group_resp *jr =
        kt_call(x->alice, KP_API_JOIN_GROUP, 5, r, buf, sizeof(buf), &resp);
    int16_t err = jr->error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t sync_group(struct ctx *x)
{
    struct kp_response resp;
    struct kp_sync_group_req *r = NEW(kp_sync_group_req, 1);
    r->group_id = kp_slice_str("g");
    r->member_id = kp_slice_str("nobody");
    const struct kp_sync_group_resp *sr =
        kt_call(x->alice, KP_API_SYNC_GROUP, 3, r, buf, sizeof(buf), &resp);
    int16_t err = sr->error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t heartbeat(struct ctx *x)
{
    struct kp_response resp;
    struct kp_heartbeat_req *r = NEW(kp_heartbeat_req, 1);
    r->group_id = kp_slice_str("g");
    r->member_id = kp_slice_str("nobody");
    const struct kp_heartbeat_resp *hr =
        kt_call(x->alice, KP_API_HEARTBEAT, 3, r, buf, sizeof(buf), &resp);
    int16_t err = hr->error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t leave_group(struct ctx *x)
{
    struct kp_response resp;
    struct kp_leave_group_req *r = NEW(kp_leave_group_req, 1);
    struct kp_leave_group_req_member_identity *m = NEW(kp_leave_group_req_member_identity, 1);
    m->member_id = kp_slice_str("nobody");
    r->group_id = kp_slice_str("g");
    KP_SET(r->members, 1, m);
    const struct kp_leave_group_resp *lr =
        kt_call(x->alice, KP_API_LEAVE_GROUP, 3, r, buf, sizeof(buf), &resp);
    int16_t err = lr->error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t offset_commit(struct ctx *x)
{
    struct kp_response resp;
    struct kp_offset_commit_req *r = NEW(kp_offset_commit_req, 1);
    struct kp_offset_commit_req_topic *t = NEW(kp_offset_commit_req_topic, 1);
    struct kp_offset_commit_req_partition *p = NEW(kp_offset_commit_req_partition, 1);
    p->committed_offset = 1;
    t->name = kp_slice_str("t");
    KP_SET(t->partitions, 1, p);
    r->group_id = kp_slice_str("g");
    KP_SET(r->topics, 1, t);
    const struct kp_offset_commit_resp *cr =
        kt_call(x->alice, KP_API_OFFSET_COMMIT, 7, r, buf, sizeof(buf), &resp);
    int16_t err = cr->topics.v[0].partitions.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

/* OffsetFetch v7 naming t: the group's error, else the partition's. */
static int16_t offset_fetch(struct ctx *x)
{
    struct kp_response resp;
    struct kp_offset_fetch_req *r = NEW(kp_offset_fetch_req, 1);
    struct kp_offset_fetch_req_topic *t = NEW(kp_offset_fetch_req_topic, 1);
    int32_t *part = kp_arena_alloc(&x->a, sizeof(*part));
    *part = 0;
    t->name = kp_slice_str("t");
    KP_SET(t->partition_indexes, 1, part);
    r->group_id = kp_slice_str("g");
    KP_SET(r->topics, 1, t);
    const struct kp_offset_fetch_resp *fr =
        kt_call(x->alice, KP_API_OFFSET_FETCH, 7, r, buf, sizeof(buf), &resp);
    int16_t err = fr->error_code ? fr->error_code : fr->topics.v[0].partitions.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t create_acls(struct ctx *x)
{
    return create_acl(x->alice, "User:bob", SEC_OP_READ, SEC_RES_TOPIC, SEC_PAT_LITERAL, "t",
                      SEC_PERM_ALLOW);
}

static int16_t describe_acls(struct ctx *x)
{
    struct kp_response resp;
    struct kp_describe_acls_req r = {SEC_RES_ANY, {NULL, -1}, SEC_PAT_ANY, {NULL, -1},
                                     {NULL, -1},  SEC_OP_ANY, SEC_PERM_ANY};
    const struct kp_describe_acls_resp *dr =
        kt_call(x->alice, KP_API_DESCRIBE_ACLS, 2, &r, buf, sizeof(buf), &resp);
    int16_t err = dr->error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t delete_acls(struct ctx *x)
{
    struct kp_response resp;
    struct kp_delete_acls_req r;
    struct kp_delete_acls_req_filter f = {SEC_RES_TOPIC, kp_slice_str("nothing"), SEC_PAT_LITERAL,
                                          {NULL, -1}, {NULL, -1}, SEC_OP_ANY, SEC_PERM_ANY};
    KP_SET(r.filters, 1, &f);
    const struct kp_delete_acls_resp *dr =
        kt_call(x->alice, KP_API_DELETE_ACLS, 2, &r, buf, sizeof(buf), &resp);
    int16_t err = dr->filter_results.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t describe_scram(struct ctx *x)
{
    struct kp_response resp;
    struct kp_describe_user_scram_credentials_req r;
    KP_SET(r.users, -1, NULL);
    const struct kp_describe_user_scram_credentials_resp *dr =
        kt_call(x->alice, KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, &r, buf, sizeof(buf), &resp);
    int16_t err = dr->error_code;
    kp_response_fini(&resp);
    return err;
}

static int16_t alter_scram(struct ctx *x)
{
    struct kp_response resp;
    struct kp_alter_user_scram_credentials_req r;
    struct kp_alter_user_scram_credentials_req_scram_credential_deletion d = {
        kp_slice_str("ghost"), 1};
    KP_SET(r.deletions, 1, &d);
    KP_SET(r.upsertions, 0, NULL);
    const struct kp_alter_user_scram_credentials_resp *ar =
        kt_call(x->alice, KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0, &r, buf, sizeof(buf), &resp);
    int16_t err = ar->results.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

/* ElectLeaders of t-0: the top-level code if any, else the partition's (alone: 84). */
static int16_t elect_leaders(struct ctx *x)
{
    struct kp_response resp;
    struct kp_elect_leaders_req r;
    struct kp_elect_leaders_req_topic_partitions tp;
    int32_t p = 0;
    kp_init(&kp_elect_leaders_req_schema, &r);
    kp_init(&kp_elect_leaders_req_topic_partitions_schema, &tp);
    tp.topic = kp_slice_str("t");
    KP_SET(tp.partitions, 1, &p);
    KP_SET(r.topic_partitions, 1, &tp);
    const struct kp_elect_leaders_resp *er =
        kt_call(x->alice, KP_API_ELECT_LEADERS, 2, &r, buf, sizeof(buf), &resp);
    int16_t err = er->error_code;
    if (!err && er->replica_election_results.n == 1 &&
        er->replica_election_results.v[0].partition_result.n == 1)
        err = er->replica_election_results.v[0].partition_result.v[0].error_code;
    kp_response_fini(&resp);
    return err;
}

/* ---- the matrix -------------------------------------------------------------------------------- */

struct need {
    int op, type;
    const char *name;
    int pattern; /* LITERAL unless said */
    int16_t refused; /* the code when this one is missing */
};

static const struct probe {
    const char *api;
    int16_t (*fn)(struct ctx *x);
    int16_t served; /* what the request gets once allowed */
    struct need needs[3];
} probes[] = {
    {"Produce", produce_plain, 0, {{SEC_OP_WRITE, SEC_RES_TOPIC, "t", 0, 29}}},
    {"Produce (transactional)", produce_txn, KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
     {{SEC_OP_WRITE, SEC_RES_TRANSACTIONAL_ID, "txn-1", 0, 53},
      {SEC_OP_WRITE, SEC_RES_TOPIC, "t", 0, 29}}},
    {"Fetch", fetch_consumer, 0, {{SEC_OP_READ, SEC_RES_TOPIC, "t", 0, 29}}},
    {"Fetch (follower)", fetch_follower, 0,
     {{SEC_OP_CLUSTER_ACTION, SEC_RES_CLUSTER, SEC_CLUSTER_NAME, 0, 29}}},
    {"ListOffsets", list_offsets, 0, {{SEC_OP_DESCRIBE, SEC_RES_TOPIC, "t", 0, 29}}},
    {"Metadata", metadata_t, 0, {{SEC_OP_DESCRIBE, SEC_RES_TOPIC, "t", 0, 29}}},
    {"Metadata (auto-create)", metadata_create, 0,
     {{SEC_OP_DESCRIBE, SEC_RES_TOPIC, "auto-", SEC_PAT_PREFIXED, 29},
      {SEC_OP_CREATE, SEC_RES_TOPIC, "auto-", SEC_PAT_PREFIXED, 29}}},
    {"FindCoordinator", find_coordinator, 0, {{SEC_OP_DESCRIBE, SEC_RES_GROUP, "g", 0, 30}}},
    {"JoinGroup", join_group, KP_ERR_MEMBER_ID_REQUIRED, {{SEC_OP_READ, SEC_RES_GROUP, "g", 0, 30}}},
    {"SyncGroup", sync_group, KP_ERR_UNKNOWN_MEMBER_ID, {{SEC_OP_READ, SEC_RES_GROUP, "g", 0, 30}}},
    {"Heartbeat", heartbeat, KP_ERR_UNKNOWN_MEMBER_ID, {{SEC_OP_READ, SEC_RES_GROUP, "g", 0, 30}}},
    {"LeaveGroup", leave_group, 0, {{SEC_OP_READ, SEC_RES_GROUP, "g", 0, 30}}},
    {"OffsetCommit", offset_commit, 0,
     {{SEC_OP_READ, SEC_RES_GROUP, "g", 0, 30}, {SEC_OP_READ, SEC_RES_TOPIC, "t", 0, 29}}},
    {"OffsetFetch", offset_fetch, 0,
     {{SEC_OP_DESCRIBE, SEC_RES_GROUP, "g", 0, 30}, {SEC_OP_DESCRIBE, SEC_RES_TOPIC, "t", 0, 29}}},
    {"CreateAcls", create_acls, 0,
     {{SEC_OP_ALTER, SEC_RES_CLUSTER, SEC_CLUSTER_NAME, 0, 31}}},
    {"DescribeAcls", describe_acls, 0,
     {{SEC_OP_DESCRIBE, SEC_RES_CLUSTER, SEC_CLUSTER_NAME, 0, 31}}},
    {"DeleteAcls", delete_acls, 0, {{SEC_OP_ALTER, SEC_RES_CLUSTER, SEC_CLUSTER_NAME, 0, 31}}},
    {"DescribeUserScramCredentials", describe_scram, 0,
     {{SEC_OP_DESCRIBE, SEC_RES_CLUSTER, SEC_CLUSTER_NAME, 0, 31}}},
    {"AlterUserScramCredentials", alter_scram, KP_ERR_RESOURCE_NOT_FOUND,
     {{SEC_OP_ALTER, SEC_RES_CLUSTER, SEC_CLUSTER_NAME, 0, 31}}},
    {"ElectLeaders", elect_leaders, KP_ERR_ELECTION_NOT_NEEDED,
     {{SEC_OP_ALTER, SEC_RES_CLUSTER, SEC_CLUSTER_NAME, 0, 31}}},
};

static void grant(struct ctx *x, const struct need *n)
{
    assert_int_equal(create_acl(x->admin, "User:alice", n->op, n->type,
                                n->pattern ? n->pattern : SEC_PAT_LITERAL, n->name,
                                SEC_PERM_ALLOW), 0);
}

static void ctx_open(struct ctx *x, struct kb_broker *b)
{
    memset(x, 0, sizeof(*x));
    x->b = b;
    kp_arena_init(&x->a, 0);
    x->batch = kb_batch("acl-", 2, &x->len);
    x->admin = login(b, "admin");
    x->alice = login(b, "alice");
}

static void ctx_close(struct ctx *x)
{
    close(x->admin);
    close(x->alice);
    free(x->batch);
    kp_arena_fini(&x->a);
}

static void test_0115_each_api_against_each_missing_permission(void **state)
{
    struct kb_broker *b = *state;
    struct ctx x;
    start(b, NULL);
    ctx_open(&x, b);
    /* the topic exists (the super user made it), with a record */
    struct ctx adm = x;
    kp_arena_init(&adm.a, 0); /* its own: the copy must not share x's */
    adm.alice = x.admin;
    assert_int_equal(metadata_named(&adm, "t", true), 0);
    assert_int_equal(produce_plain(&adm), 0);
    int cases = 0;
    for (size_t i = 0; i < KC_ARRAY_SIZE(probes); i++) {
        const struct probe *p = &probes[i];
        int nn = 0;
        while (nn < 3 && p->needs[nn].name)
            nn++;
        for (int missing = 0; missing < nn; missing++) {
            for (int k = 0; k < nn; k++)
                if (k != missing)
                    grant(&x, &p->needs[k]);
            int16_t got = p->fn(&x);
            if (got != p->needs[missing].refused)
                fail_msg("%s without %s on %s: error %d, not %d", p->api,
                         sec_acl_op_name(p->needs[missing].op),
                         sec_resource_type_name(p->needs[missing].type), got,
                         p->needs[missing].refused);
            delete_acls_of(x.admin, "User:alice");
            cases++;
        }
        for (int k = 0; k < nn; k++)
            grant(&x, &p->needs[k]);
        int16_t got = p->fn(&x);
        if (got != p->served)
            fail_msg("%s with every permission: error %d, not %d", p->api, got, p->served);
        assert_int_equal(delete_acls_of(x.admin, "User:alice"), nn);
    }
    printf("# %d refusals, one per missing permission, and %zu APIs served once allowed\n",
           cases, KC_ARRAY_SIZE(probes));
    assert_true(kb_log_has(b, "User:alice denied WRITE on TOPIC t"));
    kp_arena_fini(&adm.a);
    ctx_close(&x);
    kb_stop(b);
}

/* ---- what a principal sees ------------------------------------------------------------------- */

/* Metadata v9 for all topics as fd: how many, and whether name is among them. */
static int32_t all_topics(int fd, const char *name, bool *has)
{
    struct kp_response resp;
    struct kp_metadata_req r;
    kp_init(&kp_metadata_req_schema, &r);
    KP_SET(r.topics, -1, NULL);
    r.include_topic_authorized_operations = true;
    const struct kp_metadata_resp *mr = kt_call(fd, KP_API_METADATA, 9, &r, buf, sizeof(buf), &resp);
    int32_t n = mr->topics.n;
    *has = false;
    for (int32_t i = 0; i < n; i++) {
        if (kp_slice_eq(mr->topics.v[i].name, name)) {
            *has = true;
            /* READ implies DESCRIBE: the two bits (3, 8) and nothing else */
            assert_int_equal(mr->topics.v[i].topic_authorized_operations, (1 << 3) | (1 << 8));
        }
    }
    kp_response_fini(&resp);
    return n;
}

static void test_0115_hidden_topics_deny_prefixed_super(void **state)
{
    struct kb_broker *b = *state;
    struct ctx x;
    bool has;
    start(b, NULL);
    ctx_open(&x, b);
    struct ctx adm = x;
    kp_arena_init(&adm.a, 0); /* its own: the copy must not share x's */
    adm.alice = x.admin;
    assert_int_equal(metadata_named(&adm, "t", true), 0);
    assert_int_equal(metadata_named(&adm, "payments", true), 0);
    assert_int_equal(produce_plain(&adm), 0); /* the super user may do anything */
    /* nothing granted: all topics is empty, a named topic refused whether it exists or not */
    assert_int_equal(all_topics(x.alice, "t", &has), 0);
    assert_int_equal(metadata_named(&x, "t", false), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(metadata_named(&x, "no-such", false), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* a prefixed READ: "pay" covers payments, not t */
    assert_int_equal(create_acl(x.admin, "User:alice", SEC_OP_READ, SEC_RES_TOPIC,
                                SEC_PAT_PREFIXED, "pay", SEC_PERM_ALLOW), 0);
    assert_int_equal(all_topics(x.alice, "payments", &has), 1);
    assert_true(has);
    /* deny beats allow: ALL on t, but WRITE denied */
    assert_int_equal(create_acl(x.admin, "User:alice", SEC_OP_ALL, SEC_RES_TOPIC,
                                SEC_PAT_LITERAL, "t", SEC_PERM_ALLOW), 0);
    assert_int_equal(create_acl(x.admin, "User:alice", SEC_OP_WRITE, SEC_RES_TOPIC,
                                SEC_PAT_LITERAL, "t", SEC_PERM_DENY), 0);
    assert_int_equal(produce_plain(&x), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(fetch_consumer(&x), 0);
    /* "User:*" grants to everyone, a DENY for alice still wins */
    assert_int_equal(create_acl(x.admin, "User:*", SEC_OP_WRITE, SEC_RES_TOPIC, SEC_PAT_LITERAL,
                                "t", SEC_PERM_ALLOW), 0);
    assert_int_equal(produce_plain(&x), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    int bob = login(b, "bob");
    struct ctx xb = x;
    kp_arena_init(&xb.a, 0); /* its own: the copy must not share x's */
    xb.alice = bob;
    assert_int_equal(produce_plain(&xb), 0);
    close(bob);
    kp_arena_fini(&xb.a);
    /* OffsetFetch for everything the group committed leaves out what alice may not see */
    assert_int_equal(create_acl(x.admin, "User:alice", SEC_OP_READ, SEC_RES_GROUP,
                                SEC_PAT_LITERAL, "g", SEC_PERM_ALLOW), 0);
    struct kp_response resp;
    struct kp_offset_commit_req cr;
    struct kp_offset_commit_req_topic ct[2];
    struct kp_offset_commit_req_partition cp;
    kp_init(&kp_offset_commit_req_schema, &cr);
    kp_init(&kp_offset_commit_req_partition_schema, &cp);
    cp.committed_offset = 1;
    for (int i = 0; i < 2; i++) {
        kp_init(&kp_offset_commit_req_topic_schema, &ct[i]);
        ct[i].name = kp_slice_str(i ? "payments" : "t");
        KP_SET(ct[i].partitions, 1, &cp);
    }
    cr.group_id = kp_slice_str("g");
    KP_SET(cr.topics, 2, ct);
    kp_response_fini((kt_call(x.admin, KP_API_OFFSET_COMMIT, 7, &cr, buf, sizeof(buf), &resp),
                      &resp));
    assert_int_equal(delete_acls_of(x.admin, "User:alice"), 4);
    assert_int_equal(delete_acls_of(x.admin, "User:*"), 1); /* WRITE implies DESCRIBE */
    assert_int_equal(create_acl(x.admin, "User:alice", SEC_OP_DESCRIBE, SEC_RES_GROUP,
                                SEC_PAT_LITERAL, "g", SEC_PERM_ALLOW), 0);
    assert_int_equal(create_acl(x.admin, "User:alice", SEC_OP_DESCRIBE, SEC_RES_TOPIC,
                                SEC_PAT_LITERAL, "payments", SEC_PERM_ALLOW), 0);
    struct kp_offset_fetch_req fr;
    kp_init(&kp_offset_fetch_req_schema, &fr);
    fr.group_id = kp_slice_str("g");
    KP_SET(fr.topics, -1, NULL);
    const struct kp_offset_fetch_resp *ofr =
        kt_call(x.alice, KP_API_OFFSET_FETCH, 7, &fr, buf, sizeof(buf), &resp);
    assert_int_equal(ofr->error_code, 0);
    assert_int_equal(ofr->topics.n, 1); /* t is left out without a word */
    assert_true(kp_slice_eq(ofr->topics.v[0].name, "payments"));
    kp_response_fini(&resp);
    kp_arena_fini(&adm.a);
    ctx_close(&x);
    kb_stop(b);
}

/* allow.everyone.if.no.acl.found: a resource with no binding at all is open, one with a
 * binding for someone else is not. */
static void test_0115_allow_everyone_if_no_acl_found(void **state)
{
    struct kb_broker *b = *state;
    struct ctx x;
    start(b, (const char *const[]){"--override", "allow.everyone.if.no.acl.found=true", NULL});
    ctx_open(&x, b);
    assert_int_equal(metadata_named(&x, "t", true), 0); /* no bindings: anyone, even create */
    assert_int_equal(produce_plain(&x), 0);
    assert_int_equal(create_acl(x.admin, "User:bob", SEC_OP_WRITE, SEC_RES_TOPIC,
                                SEC_PAT_LITERAL, "t", SEC_PERM_ALLOW), 0);
    assert_int_equal(produce_plain(&x), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(describe_acls(&x), KP_ERR_NONE); /* the cluster has no bindings */
    ctx_close(&x);
    kb_stop(b);
}

/* ---- the ACL admin APIs themselves --------------------------------------------------------- */

static void test_0115_acl_admin_errors_grouping_and_durability(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    start(b, NULL);
    int fd = login(b, "admin");
    /* Kafka's per-entry errors: each bad binding alone, the good one stored */
    struct kp_create_acls_req r;
    struct kp_create_acls_req_acl_creation c[5];
    for (int i = 0; i < 5; i++)
        c[i] = (struct kp_create_acls_req_acl_creation){SEC_RES_TOPIC, kp_slice_str("t"),
                                                        SEC_PAT_LITERAL, kp_slice_str("User:bob"),
                                                        kp_slice_str("*"), SEC_OP_READ,
                                                        SEC_PERM_ALLOW};
    c[1].resource_pattern_type = SEC_PAT_MATCH; /* a filter's, not a binding's */
    c[2].resource_type = SEC_RES_ANY;
    c[3].principal = kp_slice_str("bob");     /* not Type:name */
    c[4].resource_name = kp_slice_str("t2");
    c[4].resource_pattern_type = SEC_PAT_PREFIXED;
    KP_SET(r.creations, 5, c);
    const struct kp_create_acls_resp *cr =
        kt_call(fd, KP_API_CREATE_ACLS, 2, &r, buf, sizeof(buf), &resp);
    static const int16_t want[] = {0, 42, 42, 42, 0};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cr->results.v[i].error_code, want[i]);
        assert_true((cr->results.v[i].error_message.len > 0) == (want[i] != 0));
    }
    kp_response_fini(&resp);
    /* a filter with an UNKNOWN part: 42 */
    struct kp_describe_acls_req dq = {SEC_RES_ANY, {NULL, -1}, SEC_PAT_UNKNOWN, {NULL, -1},
                                      {NULL, -1},  SEC_OP_ANY, SEC_PERM_ANY};
    const struct kp_describe_acls_resp *dr =
        kt_call(fd, KP_API_DESCRIBE_ACLS, 1, &dq, buf, sizeof(buf), &resp);
    assert_int_equal(dr->error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    /* described grouped by resource, after a restart too */
    for (int round = 0; round < 2; round++) {
        dq.pattern_type_filter = SEC_PAT_ANY;
        dr = kt_call(fd, KP_API_DESCRIBE_ACLS, 3, &dq, buf, sizeof(buf), &resp);
        assert_int_equal(dr->error_code, 0);
        assert_int_equal(dr->resources.n, 2);
        assert_true(kp_slice_eq(dr->resources.v[0].resource_name, "t"));
        assert_int_equal(dr->resources.v[0].pattern_type, SEC_PAT_LITERAL);
        assert_true(kp_slice_eq(dr->resources.v[1].resource_name, "t2"));
        assert_int_equal(dr->resources.v[1].pattern_type, SEC_PAT_PREFIXED);
        assert_true(kp_slice_eq(dr->resources.v[0].acls.v[0].principal, "User:bob"));
        kp_response_fini(&resp);
        if (round == 0) {
            close(fd);
            kb_stop(b);
            start(b, NULL);
            fd = login(b, "admin");
        }
    }
    /* DeleteAcls: one filter removes a binding, an UNKNOWN one fails alone */
    struct kp_delete_acls_req del;
    struct kp_delete_acls_req_filter f[2] = {
        {SEC_RES_TOPIC, kp_slice_str("t2"), SEC_PAT_PREFIXED, {NULL, -1}, {NULL, -1}, SEC_OP_ANY,
         SEC_PERM_ANY},
        {SEC_RES_TOPIC, {NULL, -1}, SEC_PAT_ANY, {NULL, -1}, {NULL, -1}, SEC_OP_UNKNOWN,
         SEC_PERM_ANY}};
    KP_SET(del.filters, 2, f);
    const struct kp_delete_acls_resp *dl =
        kt_call(fd, KP_API_DELETE_ACLS, 3, &del, buf, sizeof(buf), &resp);
    assert_int_equal(dl->filter_results.v[0].error_code, 0);
    assert_int_equal(dl->filter_results.v[0].matching_acls.n, 1);
    assert_true(kp_slice_eq(dl->filter_results.v[0].matching_acls.v[0].resource_name, "t2"));
    assert_int_equal(dl->filter_results.v[1].error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    close(fd);
    kb_stop(b);
}

/* ---- SCRAM users over the wire --------------------------------------------------------------- */

/* An upsertion for user: salt and Hi(password) made here, as an admin client makes them. */
static void upsert(int fd, const char *user, int8_t mech, int32_t iterations,
                   const char *password, int16_t want)
{
    struct kp_response resp;
    static const uint8_t salt[] = "a salt of the test's";
    uint8_t salted[64];
    const EVP_MD *md = mech == 2 ? EVP_sha512() : EVP_sha256();
    assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt) - 1,
                                       iterations, md, EVP_MD_get_size(md), salted), 1);
    struct kp_alter_user_scram_credentials_req r;
    struct kp_alter_user_scram_credentials_req_scram_credential_upsertion u = {
        kp_slice_str(user), mech, iterations, {salt, sizeof(salt) - 1},
        {salted, EVP_MD_get_size(md)}};
    KP_SET(r.deletions, 0, NULL);
    KP_SET(r.upsertions, 1, &u);
    const struct kp_alter_user_scram_credentials_resp *ar =
        kt_call(fd, KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0, &r, buf, sizeof(buf), &resp);
    assert_int_equal(ar->results.n, 1);
    assert_int_equal(ar->results.v[0].error_code, want);
    kp_response_fini(&resp);
}

static void test_0115_scram_users_over_the_wire(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    start(b, NULL);
    int fd = login(b, "admin");
    upsert(fd, "carol", 1, 4096, "carol-secret", 0);
    upsert(fd, "carol", 2, 8192, "carol-secret", 0);
    upsert(fd, "dave", 1, 4095, "x", KP_ERR_UNACCEPTABLE_CREDENTIAL);
    upsert(fd, "dave", 1, 16385, "x", KP_ERR_UNACCEPTABLE_CREDENTIAL);
    upsert(fd, "dave", 3, 4096, "x", KP_ERR_UNSUPPORTED_SASL_MECHANISM);
    /* carol logs in with the password that never went on the wire */
    int carol = kt_connect_to(b->port);
    assert_int_equal(kt_sasl_plain(carol, "carol", "carol-secret"), 0);
    close(carol);
    /* describe: carol's two, an unknown user, a user named twice */
    struct kp_describe_user_scram_credentials_req dq;
    struct kp_describe_user_scram_credentials_req_user_name names[4] = {
        {kp_slice_str("carol")}, {kp_slice_str("nobody")}, {kp_slice_str("bob")},
        {kp_slice_str("bob")}};
    KP_SET(dq.users, 4, names);
    const struct kp_describe_user_scram_credentials_resp *dr =
        kt_call(fd, KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, &dq, buf, sizeof(buf), &resp);
    assert_int_equal(dr->results.n, 3);
    assert_int_equal(dr->results.v[0].error_code, 0);
    assert_int_equal(dr->results.v[0].credential_infos.n, 2);
    assert_int_equal(dr->results.v[0].credential_infos.v[1].iterations, 8192);
    assert_int_equal(dr->results.v[1].error_code, KP_ERR_RESOURCE_NOT_FOUND);
    assert_int_equal(dr->results.v[2].error_code, KP_ERR_DUPLICATE_RESOURCE);
    kp_response_fini(&resp);
    /* a deletion of what does not exist, the same user twice, carol's SHA-256 one */
    struct kp_alter_user_scram_credentials_req ar;
    struct kp_alter_user_scram_credentials_req_scram_credential_deletion d[4] = {
        {kp_slice_str("ghost"), 1}, {kp_slice_str("bob"), 1}, {kp_slice_str("bob"), 2},
        {kp_slice_str("carol"), 1}};
    KP_SET(ar.deletions, 4, d);
    KP_SET(ar.upsertions, 0, NULL);
    const struct kp_alter_user_scram_credentials_resp *rr =
        kt_call(fd, KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0, &ar, buf, sizeof(buf), &resp);
    assert_int_equal(rr->results.n, 3);
    assert_int_equal(rr->results.v[0].error_code, KP_ERR_RESOURCE_NOT_FOUND);
    assert_int_equal(rr->results.v[1].error_code, KP_ERR_DUPLICATE_RESOURCE);
    assert_int_equal(rr->results.v[2].error_code, 0);
    kp_response_fini(&resp);
    d[0] = (struct kp_alter_user_scram_credentials_req_scram_credential_deletion){
        kp_slice_str("carol"), 2};
    KP_SET(ar.deletions, 1, d);
    rr = kt_call(fd, KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0, &ar, buf, sizeof(buf), &resp);
    assert_int_equal(rr->results.v[0].error_code, 0);
    kp_response_fini(&resp);
    /* PLAIN checks either credential: with both gone carol is locked out, bob is not */
    carol = kt_connect_to(b->port);
    assert_int_equal(kt_sasl_plain(carol, "carol", "carol-secret"),
                     KP_ERR_SASL_AUTHENTICATION_FAILED);
    close(carol);
    int bob = login(b, "bob");
    close(bob);
    close(fd);
    assert_false(kb_log_has(b, "carol-secret"));
    kb_stop(b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, kb_teardown)
    const struct CMUnitTest tests[] = {
        T(test_0115_each_api_against_each_missing_permission),
        T(test_0115_hidden_topics_deny_prefixed_super),
        T(test_0115_allow_everyone_if_no_acl_found),
        T(test_0115_acl_admin_errors_grouping_and_durability),
        T(test_0115_scram_users_over_the_wire),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
