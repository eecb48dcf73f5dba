/*
 * kp_capsrv.c - a capture server: speaks just enough Kafka, through libbrk_kp, for real
 * clients to walk through their admin calls, and logs every frame both ways.
 *
 *   kp_capsrv LOGFILE          prints "127.0.0.1:PORT" on stdout, then serves until its
 *                              stdin closes (or SIGTERM/SIGINT)
 *
 * Capturing a client's requests needs no Kafka: a client only has to get an answer it
 * accepts to send its next request. This server advertises every version libbrk_kp
 * implements (so each client uses the highest version *it* knows, flexible ones
 * included), decodes each request with kp_request_decode and answers with
 * kp_response_encode: plausible, consistent answers (topics it was asked to create then
 * exist, a group it was asked about is Stable with one member whose subscription and
 * assignment are encoded ConsumerProtocol structures, SASL PLAIN succeeds). Its answers
 * are therefore our codec's output, not a second implementation's: the round-trip tests
 * prove the requests (the clients' bytes) and that the clients accepted our responses.
 *
 * LOGFILE gets one record per request: u32 connection, u32 request length, the request
 * frame, u32 response length (0: no answer, e.g. acks=0 or an undecodable frame), the
 * response frame; all big-endian. kp-capture-admin.py turns it into fixtures.
 *
 * Single-threaded poll loop; loopback only; for tools, never for the broker.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_err.h"
#include "kp_api.h"

#define MAX_CONNS 64
#define MAX_TOPICS 64
#define NODE_ID 1

struct topic {
    char name[250];
    int32_t partitions;
    struct kp_uuid id;
};

struct conn {
    int fd;
    uint32_t id;
    uint8_t *in;
    size_t len, cap;
};

struct srv {
    int port;
    FILE *log;
    struct topic topics[MAX_TOPICS];
    int ntopics;
    int64_t next_offset, next_pid;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* ---- small helpers ------------------------------------------------------------------- */

static struct kc_slice S(const char *s)
{
    return (struct kc_slice){(const uint8_t *)s, (int32_t)strlen(s)};
}

static struct topic *find_topic(struct srv *s, struct kc_slice name)
{
    for (int i = 0; i < s->ntopics; i++)
        if ((size_t)name.len == strlen(s->topics[i].name) &&
            memcmp(name.p, s->topics[i].name, (size_t)name.len) == 0)
            return &s->topics[i];
    return NULL;
}

static struct topic *add_topic(struct srv *s, struct kc_slice name, int32_t partitions)
{
    struct topic *t = find_topic(s, name);
    if (t || s->ntopics == MAX_TOPICS || name.len <= 0 || name.len >= (int32_t)sizeof(t->name))
        return t;
    t = &s->topics[s->ntopics++];
    memcpy(t->name, name.p, (size_t)name.len);
    t->name[name.len] = 0;
    t->partitions = partitions > 0 ? partitions : 1;
    for (int i = 0; i < 16; i++)
        t->id.b[i] = (uint8_t)(0x10 * s->ntopics + i + 1);
    return t;
}

#define NEW(a, type, n) ((struct type *)kp_new((a), &type##_schema, (n)))

/* ---- answers, one per API ------------------------------------------------------------ */

static void *ans_api_versions(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    (void)r;
    size_t n;
    const struct kp_api *t = kp_api_table(&n);
    struct kp_api_versions_resp *resp = NEW(a, kp_api_versions_resp, 1);
    struct kp_api_versions_resp_api_version *v = NEW(a, kp_api_versions_resp_api_version, (int32_t)n);
    for (size_t i = 0; i < n; i++)
        *(v + i) = (struct kp_api_versions_resp_api_version){t[i].key, t[i].min, t[i].max};
    KP_SET(resp->api_keys, (int32_t)n, v);
    return resp;
}

static void fill_topic_md(struct srv *s, struct kp_metadata_resp_topic *mt, struct topic *t,
                          struct kp_arena *a)
{
    mt->name = S(t->name);
    mt->topic_id = t->id;
    struct kp_metadata_resp_partition *p = NEW(a, kp_metadata_resp_partition, t->partitions);
    int32_t *node = kp_arena_alloc(a, sizeof(*node));
    *node = NODE_ID;
    for (int32_t i = 0; i < t->partitions; i++) {
        p[i].partition_index = i;
        p[i].leader_id = NODE_ID;
        p[i].leader_epoch = 0;
        KP_SET(p[i].replica_nodes, 1, node);
        KP_SET(p[i].isr_nodes, 1, node);
    }
    KP_SET(mt->partitions, t->partitions, p);
    (void)s;
}

static void *ans_metadata(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    const struct kp_metadata_req *req = r->msg;
    struct kp_metadata_resp *resp = NEW(a, kp_metadata_resp, 1);
    struct kp_metadata_resp_broker *b = NEW(a, kp_metadata_resp_broker, 1);
    *b = (struct kp_metadata_resp_broker){NODE_ID, S("127.0.0.1"), s->port, {NULL, -1}};
    KP_SET(resp->brokers, 1, b);
    resp->cluster_id = S("kp-capsrv-cluster");
    resp->controller_id = NODE_ID;
    int32_t n = req->topics.n < 0 ? s->ntopics : req->topics.n;
    struct kp_metadata_resp_topic *mt = NEW(a, kp_metadata_resp_topic, n);
    for (int32_t i = 0; i < n; i++) {
        struct topic *t = req->topics.n < 0 ? &s->topics[i] : find_topic(s, req->topics.v[i].name);
        if (!t && req->topics.n >= 0 && req->allow_auto_topic_creation)
            t = add_topic(s, req->topics.v[i].name, 1);
        if (t) {
            fill_topic_md(s, &mt[i], t, a);
        } else {
            mt[i].name = req->topics.v[i].name;
            mt[i].error_code = 3; /* UNKNOWN_TOPIC_OR_PARTITION */
        }
    }
    KP_SET(resp->topics, n, mt);
    return resp;
}

static void *ans_create_topics(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    const struct kp_create_topics_req *req = r->msg;
    struct kp_create_topics_resp *resp = NEW(a, kp_create_topics_resp, 1);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    struct kp_create_topics_resp_creatable_topic_result *res =
        NEW(a, kp_create_topics_resp_creatable_topic_result, n);
    for (int32_t i = 0; i < n; i++) {
        const struct kp_create_topics_req_creatable_topic *ct = &req->topics.v[i];
        res[i].name = ct->name;
        res[i].num_partitions = ct->num_partitions > 0 ? ct->num_partitions : 1;
        res[i].replication_factor = 1;
        if (find_topic(s, ct->name)) {
            res[i].error_code = 36; /* TOPIC_ALREADY_EXISTS */
            res[i].error_message = S("Topic already exists.");
            continue;
        }
        struct topic *t = req->validate_only ? NULL : add_topic(s, ct->name, ct->num_partitions);
        if (t)
            res[i].topic_id = t->id;
        KP_SET(res[i].configs, 0, NULL);
    }
    KP_SET(resp->topics, n, res);
    return resp;
}

static void *ans_delete_topics(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    const struct kp_delete_topics_req *req = r->msg;
    struct kp_delete_topics_resp *resp = NEW(a, kp_delete_topics_resp, 1);
    int32_t n = r->hdr.request_api_version >= 6 ? req->topics.n : req->topic_names.n;
    n = n > 0 ? n : 0;
    struct kp_delete_topics_resp_deletable_topic_result *res =
        NEW(a, kp_delete_topics_resp_deletable_topic_result, n);
    for (int32_t i = 0; i < n; i++) {
        struct kc_slice name = r->hdr.request_api_version >= 6 ? req->topics.v[i].name
                                                               : req->topic_names.v[i];
        struct topic *t = find_topic(s, name);
        res[i].name = name;
        if (!t) {
            res[i].error_code = 3;
            continue;
        }
        res[i].topic_id = t->id;
        *t = s->topics[--s->ntopics];
    }
    KP_SET(resp->responses, n, res);
    return resp;
}

static void *ans_create_partitions(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    const struct kp_create_partitions_req *req = r->msg;
    struct kp_create_partitions_resp *resp = NEW(a, kp_create_partitions_resp, 1);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    struct kp_create_partitions_resp_topic_result *res =
        NEW(a, kp_create_partitions_resp_topic_result, n);
    for (int32_t i = 0; i < n; i++) {
        struct topic *t = find_topic(s, req->topics.v[i].name);
        res[i].name = req->topics.v[i].name;
        if (!t)
            res[i].error_code = 3;
        else if (!req->validate_only)
            t->partitions = req->topics.v[i].count;
    }
    KP_SET(resp->results, n, res);
    return resp;
}

static void *ans_describe_configs(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_describe_configs_req *req = r->msg;
    struct kp_describe_configs_resp *resp = NEW(a, kp_describe_configs_resp, 1);
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    struct kp_describe_configs_resp_result *res = NEW(a, kp_describe_configs_resp_result, n);
    static const char *const entries[][2] = {{"cleanup.policy", "delete"},
                                             {"retention.ms", "604800000"},
                                             {"compression.type", "producer"}};
    for (int32_t i = 0; i < n; i++) {
        res[i].resource_type = req->resources.v[i].resource_type;
        res[i].resource_name = req->resources.v[i].resource_name;
        struct kp_describe_configs_resp_resource_result *c =
            NEW(a, kp_describe_configs_resp_resource_result, 3);
        for (int j = 0; j < 3; j++) {
            c[j].name = S(entries[j][0]);
            c[j].value = S(entries[j][1]);
            /* is_default exists in v0 only and Kafka lets no writer drop it (not
             * ignorable): set it where it travels, config_source carries it after */
            c[j].is_default = r->hdr.request_api_version == 0 && j != 1;
            c[j].config_source = j == 1 ? 1 : 5; /* DYNAMIC_TOPIC_CONFIG : DEFAULT_CONFIG */
            c[j].config_type = j == 1 ? 5 : 2;   /* LONG : STRING */
        }
        KP_SET(res[i].configs, 3, c);
    }
    KP_SET(resp->results, n, res);
    return resp;
}

static void *ans_alter_configs(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_alter_configs_req *req = r->msg;
    struct kp_alter_configs_resp *resp = NEW(a, kp_alter_configs_resp, 1);
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    struct kp_alter_configs_resp_resource_response *res =
        NEW(a, kp_alter_configs_resp_resource_response, n);
    for (int32_t i = 0; i < n; i++) {
        res[i].resource_type = req->resources.v[i].resource_type;
        res[i].resource_name = req->resources.v[i].resource_name;
    }
    KP_SET(resp->responses, n, res);
    return resp;
}

static void *ans_incremental_alter(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_incremental_alter_configs_req *req = r->msg;
    struct kp_incremental_alter_configs_resp *resp = NEW(a, kp_incremental_alter_configs_resp, 1);
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    struct kp_incremental_alter_configs_resp_alter_configs_resource_response *res =
        NEW(a, kp_incremental_alter_configs_resp_alter_configs_resource_response, n);
    for (int32_t i = 0; i < n; i++) {
        res[i].resource_type = req->resources.v[i].resource_type;
        res[i].resource_name = req->resources.v[i].resource_name;
    }
    KP_SET(resp->responses, n, res);
    return resp;
}

static void *ans_list_groups(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    (void)r;
    struct kp_list_groups_resp *resp = NEW(a, kp_list_groups_resp, 1);
    struct kp_list_groups_resp_listed_group *g = NEW(a, kp_list_groups_resp_listed_group, 1);
    g->group_id = S("capgroup");
    g->protocol_type = S("consumer");
    g->group_state = S("Stable");
    g->group_type = S("classic");
    KP_SET(resp->groups, 1, g);
    return resp;
}

/* One member's subscription and assignment, as the consumer protocol encodes them. */
static struct kc_slice consumer_bytes(struct kp_arena *a, const struct kp_schema *sch,
                                      const void *msg)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    kc_write_i16(&w, 0); /* the consumer protocol's own version prefix: v0, which
                          * every client reads (newer fields are ignorable) */
    int rc = kp_encode(sch, 0, msg, &w, NULL);
    struct kc_slice out = {NULL, 0};
    uint8_t *p = rc == 0 ? kp_arena_alloc(a, kc_writer_len(&w)) : NULL;
    if (p) {
        memcpy(p, kc_writer_data(&w), kc_writer_len(&w));
        out = (struct kc_slice){p, (int32_t)kc_writer_len(&w)};
    }
    kc_writer_fini(&w);
    return out;
}

static void *ans_describe_groups(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_describe_groups_req *req = r->msg;
    struct kp_describe_groups_resp *resp = NEW(a, kp_describe_groups_resp, 1);
    int32_t n = req->groups.n > 0 ? req->groups.n : 0;
    struct kp_describe_groups_resp_described_group *g =
        NEW(a, kp_describe_groups_resp_described_group, n);
    static int32_t parts[] = {0, 1};
    struct kc_slice topic = S("capt");
    struct kp_consumer_protocol_subscription sub;
    kp_init(&kp_consumer_protocol_subscription_schema, &sub);
    KP_SET(sub.topics, 1, &topic);
    struct kp_consumer_protocol_assignment_topic_partition tp = {topic, {2, parts}};
    struct kp_consumer_protocol_assignment asg;
    kp_init(&kp_consumer_protocol_assignment_schema, &asg);
    KP_SET(asg.assigned_partitions, 1, &tp);
    for (int32_t i = 0; i < n; i++) {
        g[i].group_id = req->groups.v[i];
        g[i].group_state = S("Stable");
        g[i].protocol_type = S("consumer");
        g[i].protocol_data = S("range");
        struct kp_describe_groups_resp_described_group_member *m =
            NEW(a, kp_describe_groups_resp_described_group_member, 1);
        m->member_id = S("capmember-1");
        m->client_id = S("capclient");
        m->client_host = S("/127.0.0.1");
        m->member_metadata = consumer_bytes(a, &kp_consumer_protocol_subscription_schema, &sub);
        m->member_assignment = consumer_bytes(a, &kp_consumer_protocol_assignment_schema, &asg);
        KP_SET(g[i].members, 1, m);
    }
    KP_SET(resp->groups, n, g);
    return resp;
}

static void *ans_delete_groups(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_delete_groups_req *req = r->msg;
    struct kp_delete_groups_resp *resp = NEW(a, kp_delete_groups_resp, 1);
    int32_t n = req->groups_names.n > 0 ? req->groups_names.n : 0;
    struct kp_delete_groups_resp_deletable_group_result *res =
        NEW(a, kp_delete_groups_resp_deletable_group_result, n);
    for (int32_t i = 0; i < n; i++)
        res[i].group_id = req->groups_names.v[i];
    KP_SET(resp->results, n, res);
    return resp;
}

static void *ans_offset_delete(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_offset_delete_req *req = r->msg;
    struct kp_offset_delete_resp *resp = NEW(a, kp_offset_delete_resp, 1);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    struct kp_offset_delete_resp_topic *t = NEW(a, kp_offset_delete_resp_topic, n);
    for (int32_t i = 0; i < n; i++) { /* every partition's offsets deleted */
        int32_t np = req->topics.v[i].partitions.n > 0 ? req->topics.v[i].partitions.n : 0;
        struct kp_offset_delete_resp_partition *p = NEW(a, kp_offset_delete_resp_partition, np);
        for (int32_t j = 0; j < np; j++)
            p[j].partition_index = req->topics.v[i].partitions.v[j].partition_index;
        t[i].name = req->topics.v[i].name;
        KP_SET(t[i].partitions, np, p);
    }
    KP_SET(resp->topics, n, t);
    return resp;
}

static void *ans_find_coordinator(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    const struct kp_find_coordinator_req *req = r->msg;
    struct kp_find_coordinator_resp *resp = NEW(a, kp_find_coordinator_resp, 1);
    if (r->hdr.request_api_version < 4) {
        resp->node_id = NODE_ID;
        resp->host = S("127.0.0.1");
        resp->port = s->port;
        return resp;
    }
    int32_t n = req->coordinator_keys.n > 0 ? req->coordinator_keys.n : 0;
    struct kp_find_coordinator_resp_coordinator *c =
        NEW(a, kp_find_coordinator_resp_coordinator, n);
    for (int32_t i = 0; i < n; i++) {
        c[i].key = req->coordinator_keys.v[i];
        c[i].node_id = NODE_ID;
        c[i].host = S("127.0.0.1");
        c[i].port = s->port;
    }
    KP_SET(resp->coordinators, n, c);
    return resp;
}

static void *ans_init_producer_id(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)r;
    struct kp_init_producer_id_resp *resp = NEW(a, kp_init_producer_id_resp, 1);
    resp->producer_id = s->next_pid++;
    resp->producer_epoch = 0;
    return resp;
}

static void *ans_produce(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    const struct kp_produce_req *req = r->msg;
    if (req->acks == 0)
        return NULL; /* Kafka sends nothing */
    struct kp_produce_resp *resp = NEW(a, kp_produce_resp, 1);
    int32_t n = req->topic_data.n > 0 ? req->topic_data.n : 0;
    struct kp_produce_resp_topic_produce_response *t =
        NEW(a, kp_produce_resp_topic_produce_response, n);
    for (int32_t i = 0; i < n; i++) {
        const struct kp_produce_req_topic_produce_data *td = &req->topic_data.v[i];
        t[i].name = td->name;
        int32_t np = td->partition_data.n > 0 ? td->partition_data.n : 0;
        struct kp_produce_resp_partition_produce_response *p =
            NEW(a, kp_produce_resp_partition_produce_response, np);
        for (int32_t j = 0; j < np; j++) {
            p[j].index = td->partition_data.v[j].index;
            p[j].base_offset = s->next_offset;
            p[j].log_start_offset = 0;
            s->next_offset += 10;
        }
        KP_SET(t[i].partition_responses, np, p);
    }
    KP_SET(resp->responses, n, t);
    return resp;
}

static void *ans_sasl_handshake(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_sasl_handshake_req *req = r->msg;
    struct kp_sasl_handshake_resp *resp = NEW(a, kp_sasl_handshake_resp, 1);
    struct kc_slice *m = kp_arena_alloc(a, 3 * sizeof(*m));
    m[0] = S("PLAIN");
    m[1] = S("SCRAM-SHA-256");
    m[2] = S("SCRAM-SHA-512");
    KP_SET(resp->mechanisms, 3, m);
    if (!(req->mechanism.len == 5 && memcmp(req->mechanism.p, "PLAIN", 5) == 0))
        resp->error_code = 33; /* UNSUPPORTED_SASL_MECHANISM */
    return resp;
}

static void *ans_sasl_authenticate(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    (void)r;
    struct kp_sasl_authenticate_resp *resp = NEW(a, kp_sasl_authenticate_resp, 1);
    resp->auth_bytes = (struct kc_slice){NULL, 0}; /* PLAIN: nothing to say back */
    return resp;
}

static void *ans_describe_acls(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_describe_acls_req *req = r->msg;
    struct kp_describe_acls_resp *resp = NEW(a, kp_describe_acls_resp, 1);
    struct kp_describe_acls_resp_resource *res = NEW(a, kp_describe_acls_resp_resource, 1);
    struct kp_describe_acls_resp_acl_description *acl =
        NEW(a, kp_describe_acls_resp_acl_description, 1);
    res->resource_type = 2; /* TOPIC */
    res->resource_name = S("capt");
    res->pattern_type = 3;  /* LITERAL */
    acl->principal = S("User:alice");
    acl->host = S("*");
    acl->operation = 3;       /* READ */
    acl->permission_type = 3; /* ALLOW */
    KP_SET(res->acls, 1, acl);
    KP_SET(resp->resources, 1, res);
    (void)req;
    return resp;
}

static void *ans_create_acls(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_create_acls_req *req = r->msg;
    struct kp_create_acls_resp *resp = NEW(a, kp_create_acls_resp, 1);
    int32_t n = req->creations.n > 0 ? req->creations.n : 0;
    KP_SET(resp->results, n, NEW(a, kp_create_acls_resp_acl_creation_result, n));
    return resp;
}

static void *ans_delete_acls(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_delete_acls_req *req = r->msg;
    struct kp_delete_acls_resp *resp = NEW(a, kp_delete_acls_resp, 1);
    int32_t n = req->filters.n > 0 ? req->filters.n : 0;
    struct kp_delete_acls_resp_filter_result *res = NEW(a, kp_delete_acls_resp_filter_result, n);
    for (int32_t i = 0; i < n; i++) {
        const struct kp_delete_acls_req_filter *f = &req->filters.v[i];
        struct kp_delete_acls_resp_matching_acl *m = NEW(a, kp_delete_acls_resp_matching_acl, 1);
        m->resource_type = f->resource_type_filter;
        m->resource_name = f->resource_name_filter.len >= 0 ? f->resource_name_filter : S("capt");
        m->pattern_type = 3;
        m->principal = S("User:alice");
        m->host = S("*");
        m->operation = 3;
        m->permission_type = 3;
        KP_SET(res[i].matching_acls, 1, m);
    }
    KP_SET(resp->filter_results, n, res);
    return resp;
}

static void *ans_offset_fetch(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_offset_fetch_req *req = r->msg;
    struct kp_offset_fetch_resp *resp = NEW(a, kp_offset_fetch_resp, 1);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    struct kp_offset_fetch_resp_topic *t = NEW(a, kp_offset_fetch_resp_topic, n);
    for (int32_t i = 0; i < n; i++) {
        t[i].name = req->topics.v[i].name;
        int32_t np = req->topics.v[i].partition_indexes.n;
        np = np > 0 ? np : 0;
        struct kp_offset_fetch_resp_partition *p = NEW(a, kp_offset_fetch_resp_partition, np);
        for (int32_t j = 0; j < np; j++) {
            p[j].partition_index = req->topics.v[i].partition_indexes.v[j];
            p[j].committed_offset = 42;
            p[j].metadata = S("");
        }
        KP_SET(t[i].partitions, np, p);
    }
    KP_SET(resp->topics, n, t);
    return resp;
}

static void *ans_list_offsets(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_list_offsets_req *req = r->msg;
    struct kp_list_offsets_resp *resp = NEW(a, kp_list_offsets_resp, 1);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    struct kp_list_offsets_resp_topic_response *t = NEW(a, kp_list_offsets_resp_topic_response, n);
    for (int32_t i = 0; i < n; i++) {
        t[i].name = req->topics.v[i].name;
        int32_t np = req->topics.v[i].partitions.n > 0 ? req->topics.v[i].partitions.n : 0;
        struct kp_list_offsets_resp_partition_response *p =
            NEW(a, kp_list_offsets_resp_partition_response, np);
        for (int32_t j = 0; j < np; j++) {
            p[j].partition_index = req->topics.v[i].partitions.v[j].partition_index;
            p[j].offset = req->topics.v[i].partitions.v[j].timestamp == -2 ? 0 : 100;
            if (r->hdr.request_api_version >= 4) /* not ignorable: v4+ only */
                p[j].leader_epoch = 0;
        }
        KP_SET(t[i].partitions, np, p);
    }
    KP_SET(resp->topics, n, t);
    return resp;
}

static void *ans_delete_records(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_delete_records_req *req = r->msg;
    struct kp_delete_records_resp *resp = NEW(a, kp_delete_records_resp, 1);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    struct kp_delete_records_resp_topic_result *t = NEW(a, kp_delete_records_resp_topic_result, n);
    for (int32_t i = 0; i < n; i++) {
        t[i].name = req->topics.v[i].name;
        int32_t np = req->topics.v[i].partitions.n > 0 ? req->topics.v[i].partitions.n : 0;
        struct kp_delete_records_resp_partition_result *p =
            NEW(a, kp_delete_records_resp_partition_result, np);
        for (int32_t j = 0; j < np; j++) {
            p[j].partition_index = req->topics.v[i].partitions.v[j].partition_index;
            p[j].low_watermark = req->topics.v[i].partitions.v[j].offset;
        }
        KP_SET(t[i].partitions, np, p);
    }
    KP_SET(resp->topics, n, t);
    return resp;
}

static void *ans_alter_reassign(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    const struct kp_alter_partition_reassignments_req *req = r->msg;
    struct kp_alter_partition_reassignments_resp *resp =
        NEW(a, kp_alter_partition_reassignments_resp, 1);
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    struct kp_alter_partition_reassignments_resp_reassignable_topic_response *t =
        NEW(a, kp_alter_partition_reassignments_resp_reassignable_topic_response, n);
    for (int32_t i = 0; i < n; i++) {
        t[i].name = req->topics.v[i].name;
        int32_t np = req->topics.v[i].partitions.n > 0 ? req->topics.v[i].partitions.n : 0;
        struct kp_alter_partition_reassignments_resp_reassignable_partition_response *p =
            NEW(a, kp_alter_partition_reassignments_resp_reassignable_partition_response, np);
        for (int32_t j = 0; j < np; j++)
            p[j].partition_index = req->topics.v[i].partitions.v[j].partition_index;
        KP_SET(t[i].partitions, np, p);
    }
    KP_SET(resp->responses, n, t);
    return resp;
}

static void *ans_list_reassign(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    (void)r;
    struct kp_list_partition_reassignments_resp *resp =
        NEW(a, kp_list_partition_reassignments_resp, 1);
    KP_SET(resp->topics, 0, NULL);
    return resp;
}

static void *ans_describe_cluster(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)r;
    struct kp_describe_cluster_resp *resp = NEW(a, kp_describe_cluster_resp, 1);
    struct kp_describe_cluster_resp_broker *b = NEW(a, kp_describe_cluster_resp_broker, 1);
    *b = (struct kp_describe_cluster_resp_broker){NODE_ID, S("127.0.0.1"), s->port, {NULL, -1}};
    resp->cluster_id = S("kp-capsrv-cluster");
    resp->controller_id = NODE_ID;
    KP_SET(resp->brokers, 1, b);
    return resp;
}

/* Everything else: the response's defaults (error 0 wherever there is one). */
static void *ans_default(struct srv *s, const struct kp_request *r, struct kp_arena *a)
{
    (void)s;
    return kp_new(a, r->api->resp, 1);
}

typedef void *(*answer_fn)(struct srv *, const struct kp_request *, struct kp_arena *);

static answer_fn answer_for(int16_t key)
{
    switch (key) {
    case KP_API_API_VERSIONS: return ans_api_versions;
    case KP_API_METADATA: return ans_metadata;
    case KP_API_CREATE_TOPICS: return ans_create_topics;
    case KP_API_DELETE_TOPICS: return ans_delete_topics;
    case KP_API_CREATE_PARTITIONS: return ans_create_partitions;
    case KP_API_DESCRIBE_CONFIGS: return ans_describe_configs;
    case KP_API_ALTER_CONFIGS: return ans_alter_configs;
    case KP_API_INCREMENTAL_ALTER_CONFIGS: return ans_incremental_alter;
    case KP_API_LIST_GROUPS: return ans_list_groups;
    case KP_API_DESCRIBE_GROUPS: return ans_describe_groups;
    case KP_API_DELETE_GROUPS: return ans_delete_groups;
    case KP_API_OFFSET_DELETE: return ans_offset_delete;
    case KP_API_FIND_COORDINATOR: return ans_find_coordinator;
    case KP_API_INIT_PRODUCER_ID: return ans_init_producer_id;
    case KP_API_PRODUCE: return ans_produce;
    case KP_API_SASL_HANDSHAKE: return ans_sasl_handshake;
    case KP_API_SASL_AUTHENTICATE: return ans_sasl_authenticate;
    case KP_API_DESCRIBE_ACLS: return ans_describe_acls;
    case KP_API_CREATE_ACLS: return ans_create_acls;
    case KP_API_DELETE_ACLS: return ans_delete_acls;
    case KP_API_OFFSET_FETCH: return ans_offset_fetch;
    case KP_API_LIST_OFFSETS: return ans_list_offsets;
    case KP_API_DELETE_RECORDS: return ans_delete_records;
    case KP_API_ALTER_PARTITION_REASSIGNMENTS: return ans_alter_reassign;
    case KP_API_LIST_PARTITION_REASSIGNMENTS: return ans_list_reassign;
    case KP_API_DESCRIBE_CLUSTER: return ans_describe_cluster;
    default: return ans_default;
    }
}

/* ---- the loop ------------------------------------------------------------------------- */

static void log_u32(FILE *f, uint32_t v)
{
    uint8_t b[4];
    kc_store_be32(b, v);
    fwrite(b, 1, 4, f);
}

/* Answer one whole frame; returns 0, or -1 to close the connection (as Kafka would). */
static int serve_frame(struct srv *s, struct conn *c, const uint8_t *frame, size_t len)
{
    struct kp_request req;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    int rc = kp_request_decode(frame + 4, len - 4, 0, &req);
    if (rc == 0) {
        if (req.fallback) {
            rc = kp_api_versions_fallback(&w, req.hdr.correlation_id, 0, req.api->max);
        } else {
            void *resp = answer_for(req.hdr.request_api_key)(s, &req, &req.arena);
            if (resp)
                rc = kp_response_encode(&w, req.hdr.request_api_key, req.hdr.request_api_version,
                                        req.hdr.correlation_id, resp, NULL, NULL);
        }
        if (rc)
            fprintf(stderr, "kp_capsrv: %s v%d: cannot answer: %s\n", req.api->name,
                    req.hdr.request_api_version, kc_strerror(rc));
        kp_request_fini(&req);
    } else {
        fprintf(stderr, "kp_capsrv: key %d v%d: %s\n", (int16_t)kc_load_be16(frame + 4),
                (int16_t)kc_load_be16(frame + 6), kc_strerror(rc));
    }
    log_u32(s->log, c->id);
    log_u32(s->log, (uint32_t)len);
    fwrite(frame, 1, len, s->log);
    log_u32(s->log, rc ? 0 : (uint32_t)kc_writer_len(&w));
    if (rc == 0)
        fwrite(kc_writer_data(&w), 1, kc_writer_len(&w), s->log);
    fflush(s->log);
    size_t off = 0;
    while (rc == 0 && off < kc_writer_len(&w)) {
        ssize_t n = write(c->fd, kc_writer_data(&w) + off, kc_writer_len(&w) - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -1;
        else
            off += (size_t)n;
    }
    kc_writer_fini(&w);
    return rc ? -1 : 0;
}

/* Read what is there; serve every whole frame. Returns -1 when the connection ends. */
static int on_readable(struct srv *s, struct conn *c)
{
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        uint8_t *p = realloc(c->in, cap);
        if (!p)
            return -1;
        c->in = p;
        c->cap = cap;
    }
    ssize_t n = read(c->fd, c->in + c->len, c->cap - c->len);
    if (n < 0 && errno == EINTR)
        return 0;
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    size_t flen;
    int rc;
    while ((rc = kp_frame_check(c->in, c->len, KP_REQUEST_HEADER_MIN, 16u << 20, &flen)) == 0) {
        if (serve_frame(s, c, c->in, flen))
            return -1;
        memmove(c->in, c->in + flen, c->len - flen);
        c->len -= flen;
    }
    return rc == KC_ENEEDMORE ? 0 : -1;
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        perror("kp_capsrv: listen");
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static void run(struct srv *s, int lfd)
{
    struct conn conns[MAX_CONNS];
    struct pollfd pfd[MAX_CONNS + 2];
    int nc = 0;
    uint32_t next_id = 0;
    while (!stop) {
        pfd[0] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
        pfd[1] = (struct pollfd){lfd, POLLIN, 0};
        for (int i = 0; i < nc; i++)
            pfd[2 + i] = (struct pollfd){conns[i].fd, POLLIN, 0};
        if (poll(pfd, (nfds_t)(2 + nc), 1000) < 0)
            continue; /* EINTR: stop is checked at the top */
        if (pfd[0].revents) {
            char b[64];
            if (read(STDIN_FILENO, b, sizeof(b)) <= 0)
                break; /* stdin closed: the capture script is done */
        }
        if ((pfd[1].revents & POLLIN) && nc < MAX_CONNS) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                conns[nc++] = (struct conn){fd, next_id++, NULL, 0, 0};
        }
        for (int i = nc - 1; i >= 0; i--) {
            if (!pfd[2 + i].revents || i >= nc)
                continue;
            if (on_readable(s, &conns[i]) == 0)
                continue;
            (void)close(conns[i].fd); /* the peer is gone or broke the protocol */
            free(conns[i].in);
            conns[i] = conns[--nc];
        }
    }
    for (int i = 0; i < nc; i++) {
        (void)close(conns[i].fd); /* shutting down: nothing left to flush */
        free(conns[i].in);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: kp_capsrv LOGFILE\n");
        return 2;
    }
    static struct srv s = {.next_offset = 0, .next_pid = 4000};
    s.log = fopen(argv[1], "wb");
    if (!s.log) {
        perror("kp_capsrv: log");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL); /* best effort: stdin EOF also stops us */
    (void)sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_loopback(&s.port);
    if (lfd < 0)
        return 1;
    printf("127.0.0.1:%d\n", s.port);
    fflush(stdout);
    run(&s, lfd);
    (void)close(lfd); /* exiting */
    return fclose(s.log) ? 1 : 0;
}
