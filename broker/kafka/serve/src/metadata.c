/*
 * metadata.c - where things are: Metadata (v0-12) and FindCoordinator (v0-6).
 *
 * Metadata is how a client learns the cluster: the brokers (here one: node 0 at the
 * address clients can reach, never 0.0.0.0 - clients drop the bootstrap address and
 * reconnect to what Metadata names), the controller (the same node), and per topic its
 * partitions with leader, replicas and ISR (all node 0), and from v10 on its topic id.
 *
 *   which topics          v0: an empty list means all; v1+: null means all, empty none
 *   by name               missing: created when the client allows it (v4+
 *                         allow_auto_topic_creation; v0-3 always allow, as in Kafka) with
 *                         num.partitions, as auto.create.topics.enable does; else
 *                         UNKNOWN_TOPIC_OR_PARTITION (3). A name Kafka could never create:
 *                         INVALID_TOPIC_EXCEPTION (17). The new topic is returned whole at
 *                         once, where Kafka answers LEADER_NOT_AVAILABLE first.
 *   by id (v12, name null) the topic with that id (partitioning/src/topic_id.c), or
 *                         UNKNOWN_TOPIC_ID (100) with the id echoed and no name; v10-11
 *                         carry ids but may not ask by them: INVALID_REQUEST (42)
 *   authorized operations (v8+, when asked) the operations of the resource type the
 *                         principal may do, one bit each (auth.c); without an authorizer,
 *                         all of them, as Kafka answers; not asked: Kafka's sentinel
 *   ACLs (auth.c)         all topics: only those the principal may DESCRIBE, the others
 *                         left out without a word; a topic named: DESCRIBE, else
 *                         TOPIC_AUTHORIZATION_FAILED (29) whether or not it exists;
 *                         creating it: CREATE on the cluster or on the topic, else 29;
 *                         by id: 29 with the id and no name
 *
 * FindCoordinator names this node for every group the principal may DESCRIBE (else
 * GROUP_AUTHORIZATION_FAILED, 30): one key (v0-3) or a list of keys (v4+,
 * coordinator_keys: each answered on its own). Only groups (key_type 0) have a
 * coordinator here; transactions (1) and share groups (2) get INVALID_REQUEST.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"
#include "sec_acl.h"

/* ---- Metadata ---------------------------------------------------------------------------- */

struct md {
    struct brk_conn *c;
    struct brk_kafka *k;
    struct kp_request *req;
    const struct kp_metadata_req *mr;
    int16_t v;
    struct kp_metadata_resp_topic *topics;
};

/* Describe topic t, known as name, into mt. */
static int md_topic(struct md *md, struct kp_metadata_resp_topic *mt, struct part_topic *t,
                    struct kc_slice name)
{
    int32_t n = part_topic_partitions(t);
    struct kp_metadata_resp_partition *p =
        kp_new(&md->req->arena, &kp_metadata_resp_partition_schema, n);
    if (!p && n > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        p[i].partition_index = i;
        p[i].leader_id = BRK_KAFKA_NODE_ID;
        KP_SET(p[i].replica_nodes, 1, md->k->node);
        KP_SET(p[i].isr_nodes, 1, md->k->node);
    }
    mt->error_code = KP_ERR_NONE;
    mt->name = name;
    mt->topic_id = brk__kafka_uuid(t);
    mt->is_internal = brk_topic_internal((const char *)name.p, (size_t)name.len);
    KP_SET(mt->partitions, n, p);
    if (md->v >= 8 && md->mr->include_topic_authorized_operations)
        mt->topic_authorized_operations = brk__kafka_authorized_ops(md->c, SEC_RES_TOPIC, name);
    return 0;
}

/* One topic the client named: find it, maybe create it, or say why not. */
static int md_by_name(struct md *md, struct kp_metadata_resp_topic *mt, struct kc_slice name)
{
    struct part_topic *t;
    bool auto_create = md->v < 4 || md->mr->allow_auto_topic_creation;
    mt->name = name;
    if (name.len <= 0 || part_name_check((const char *)name.p, (size_t)name.len) != 0) {
        mt->error_code = KP_ERR_INVALID_TOPIC_EXCEPTION;
        return 0;
    }
    if (!brk__kafka_allowed(md->c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, name)) {
        mt->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED; /* exists or not: not told */
        return 0;
    }
    bool create = auto_create && brk_server_config(md->k->srv)->auto_create_topics &&
                  !brk_topic_internal((const char *)name.p, (size_t)name.len);
    int rc = brk_topic_get(md->k->srv, (const char *)name.p, (size_t)name.len, false, &t);
    if (rc == KC_ENOTOPIC && create) { /* judged apart: Kafka's CREATE rule */
        if (!brk__kafka_may_create(md->c, name)) {
            mt->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            return 0;
        }
        rc = brk_topic_get(md->k->srv, (const char *)name.p, (size_t)name.len, true, &t);
    }
    if (rc == 0)
        return md_topic(md, mt, t, name);
    if (rc == KC_ENOTOPIC) {
        mt->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else if (rc == KC_EBADNAME) {
        mt->error_code = KP_ERR_INVALID_TOPIC_EXCEPTION;
    } else {
        kc_log_warn("cannot create topic %.*s for a Kafka client: %s", (int)name.len, name.p,
                    kc_strerror(rc));
        mt->error_code = KP_ERR_LEADER_NOT_AVAILABLE; /* clients retry this one */
    }
    return 0;
}

/* A topic asked for by id (v12; v10-11 carry the field but may not use it). */
static int md_by_id(struct md *md, struct kp_metadata_resp_topic *mt, struct kp_uuid id)
{
    struct part_topic_id pid;
    memcpy(pid.b, id.b, sizeof(pid.b));
    struct part_topic *t = part_topic_find_id(brk_server_registry(md->k->srv), &pid);
    if (md->v < 12) {
        mt->error_code = KP_ERR_INVALID_REQUEST; /* no name, and no ids before v12 */
        mt->name = kp_slice_str("");
        return 0;
    }
    if (t && brk__kafka_allowed(md->c, SEC_OP_DESCRIBE, SEC_RES_TOPIC,
                                kp_slice_str(part_topic_name(t))))
        return md_topic(md, mt, t, kp_slice_str(part_topic_name(t)));
    /* Kafka: ids are not secret, names are: 29 with the id echoed and no name */
    mt->error_code = t ? KP_ERR_TOPIC_AUTHORIZATION_FAILED : KP_ERR_UNKNOWN_TOPIC_ID;
    mt->name = (struct kc_slice){NULL, -1};
    mt->topic_id = id;
    return 0;
}

/* Every topic (v1+: a null list; v0: an empty one). *n receives how many. */
static int md_all(struct md *md, int32_t *n)
{
    struct part_registry *reg = brk_server_registry(md->k->srv);
    size_t count = part_topic_list(reg, NULL, 0);
    struct part_topic **all = kp_arena_alloc(&md->req->arena, (count + 1) * sizeof(*all));
    if (!all)
        return -ENOMEM;
    size_t listed = KC_MIN(count, part_topic_list(reg, all, count)); /* made meanwhile: not
                                                                        listed */
    md->topics = kp_new(&md->req->arena, &kp_metadata_resp_topic_schema, (int32_t)listed);
    if (!md->topics && listed > 0)
        return -ENOMEM;
    *n = 0;
    for (size_t i = 0; i < listed; i++) {
        struct kc_slice name = kp_slice_str(part_topic_name(all[i]));
        if (!brk__kafka_allowed_quietly(md->c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, name))
            continue; /* Kafka's filterByAuthorized: hidden, not refused */
        int rc = md_topic(md, &md->topics[(*n)++], all[i], name);
        if (rc)
            return rc;
    }
    return 0;
}

static int md_named(struct md *md, int32_t n)
{
    md->topics = kp_new(&md->req->arena, &kp_metadata_resp_topic_schema, n);
    if (!md->topics && n > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        const struct kp_metadata_req_topic *rt = &md->mr->topics.v[i];
        int rc = rt->name.len >= 0 ? md_by_name(md, &md->topics[i], rt->name)
                                   : md_by_id(md, &md->topics[i], rt->topic_id);
        if (rc)
            return rc;
    }
    return 0;
}

int brk__kafka_metadata(struct brk_conn *c, struct kp_request *req)
{
    struct md md = {c, brk__kafka_of(c), req, req->msg, req->hdr.request_api_version, NULL};
    /* The decode limit bounds what a client's bytes may cost; this answer is as big as
     * the broker's own topics (a topic of 1,000 partitions is ~100 KB of structs). */
    req->arena.limit = 0;
    struct kp_metadata_resp *resp = kp_new(&req->arena, &kp_metadata_resp_schema, 1);
    struct kp_metadata_resp_broker *b = kp_new(&req->arena, &kp_metadata_resp_broker_schema, 1);
    bool all = md.mr->topics.n < 0 || (md.v == 0 && md.mr->topics.n == 0);
    int32_t n = md.mr->topics.n;
    int rc = resp && b ? 0 : -ENOMEM;
    if (rc == 0)
        rc = all ? md_all(&md, &n) : md_named(&md, n);
    if (rc) {
        kc_log_warn("%s: Metadata failed: %s; closing", brk_conn_peer(c), kc_strerror(rc));
        return rc;
    }
    b->node_id = BRK_KAFKA_NODE_ID;
    b->host = kp_slice_str(brk_conn_advertised_host(c)); /* the listener c came in on */
    b->port = brk_conn_advertised_port(c);
    KP_SET(resp->brokers, 1, b);
    resp->cluster_id = kp_slice_str(BRK_KAFKA_CLUSTER_ID);
    resp->controller_id = BRK_KAFKA_NODE_ID;
    KP_SET(resp->topics, n, md.topics);
    if (md.v >= 8 && md.v <= 10 && md.mr->include_cluster_authorized_operations)
        resp->cluster_authorized_operations =
            brk__kafka_authorized_ops(c, SEC_RES_CLUSTER, kp_slice_str(SEC_CLUSTER_NAME));
    return brk__kafka_reply(c, &req->hdr, resp);
}

/* ---- FindCoordinator -------------------------------------------------------------------- */

/* The coordinator for one key: this node, or why not (error and its message). */
static int16_t coordinator_for(struct brk_conn *c, int8_t key_type, struct kc_slice key,
                               const char **why)
{
    if (key_type != 0) {
        *why = "this broker has no transaction or share-group coordinator";
        return KP_ERR_INVALID_REQUEST;
    }
    if (!brk__kafka_allowed(c, SEC_OP_DESCRIBE, SEC_RES_GROUP, key)) {
        *why = "Group authorization failed.";
        return KP_ERR_GROUP_AUTHORIZATION_FAILED;
    }
    if (brk_group_check((const char *)key.p, key.len > 0 ? (size_t)key.len : 0) != 0) {
        *why = "a group id is 1-249 printable characters";
        return KP_ERR_INVALID_GROUP_ID;
    }
    *why = NULL;
    return KP_ERR_NONE;
}

int brk__kafka_find_coordinator(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_find_coordinator_req *fr = req->msg;
    struct kc_slice host = kp_slice_str(brk_conn_advertised_host(c));
    int32_t port = brk_conn_advertised_port(c);
    struct kp_find_coordinator_resp *resp =
        kp_new(&req->arena, &kp_find_coordinator_resp_schema, 1);
    if (!resp)
        return -ENOMEM;
    const char *why;
    if (req->hdr.request_api_version < 4) { /* one key */
        resp->error_code = coordinator_for(c, fr->key_type, fr->key, &why);
        resp->error_message = kp_slice_str(why);
        resp->node_id = resp->error_code ? -1 : BRK_KAFKA_NODE_ID;
        resp->host = resp->error_code ? kp_slice_str("") : host;
        resp->port = resp->error_code ? -1 : port;
        return brk__kafka_reply(c, &req->hdr, resp);
    }
    int32_t n = fr->coordinator_keys.n; /* v4+: a list of keys, each answered */
    struct kp_find_coordinator_resp_coordinator *co =
        kp_new(&req->arena, &kp_find_coordinator_resp_coordinator_schema, n);
    if (!co && n > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        co[i].key = fr->coordinator_keys.v[i];
        co[i].error_code = coordinator_for(c, fr->key_type, co[i].key, &why);
        co[i].error_message = kp_slice_str(why);
        co[i].node_id = co[i].error_code ? -1 : BRK_KAFKA_NODE_ID;
        co[i].host = co[i].error_code ? kp_slice_str("") : host;
        co[i].port = co[i].error_code ? -1 : port;
    }
    KP_SET(resp->coordinators, n, co);
    return brk__kafka_reply(c, &req->hdr, resp);
}
