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
 * In a cluster (brk_cluster.h) the answer is the cluster's view: every live broker, the
 * controller, ZooKeeper's cluster id, each partition's leader, leader epoch, replicas,
 * ISR and offline replicas; a partition without a leader is LEADER_NOT_AVAILABLE (5)
 * with leader -1; a topic auto-created is asked of the controller and answered
 * LEADER_NOT_AVAILABLE until it exists. FindCoordinator names the leader of the group's
 * __consumer_offsets partition (Kafka's hash). The topic ids are this broker's own (each
 * broker's partitioning registry makes its own): see broker/README.md "A cluster".
 *
 * FindCoordinator names this node for every group the principal may DESCRIBE (else
 * GROUP_AUTHORIZATION_FAILED, 30): one key (v0-3) or a list of keys (v4+,
 * coordinator_keys: each answered on its own). Only groups (key_type 0) have a
 * coordinator here; transactions (1) and share groups (2) get INVALID_REQUEST.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
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
    struct brk_cview *view; /* a cluster's (held for the answer), NULL alone */
};

/* A partition as the cluster's view has it (the arrays point into the view, held until
 * the answer is written); no leader: LEADER_NOT_AVAILABLE with leader -1. */
static void md_cluster_part(struct kp_metadata_resp_partition *p, const struct brk_cpart *cp)
{
    p->leader_id = cp->leader;
    p->leader_epoch = cp->leader_epoch;
    p->error_code = cp->leader < 0 ? KP_ERR_LEADER_NOT_AVAILABLE : KP_ERR_NONE;
    KP_SET(p->replica_nodes, cp->nreplicas, (int32_t *)(uintptr_t)cp->replicas);
    KP_SET(p->isr_nodes, cp->nisr, (int32_t *)(uintptr_t)cp->isr);
    KP_SET(p->offline_replicas, cp->noffline, (int32_t *)(uintptr_t)cp->offline);
}

/* Describe topic t (this broker's logs; NULL in a cluster whose topic has none here yet)
 * or ct (the cluster's view of it, NULL alone), known as name, into mt. */
static int md_topic(struct md *md, struct kp_metadata_resp_topic *mt, struct part_topic *t,
                    const struct brk_ctopic *ct, struct kc_slice name)
{
    int32_t n = ct ? ct->npartitions : part_topic_partitions(t);
    struct kp_metadata_resp_partition *p =
        kp_new(&md->req->arena, &kp_metadata_resp_partition_schema, n);
    if (!p && n > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        p[i].partition_index = i;
        if (ct) {
            md_cluster_part(&p[i], &ct->parts[i]);
            continue;
        }
        p[i].leader_id = BRK_KAFKA_NODE_ID;
        KP_SET(p[i].replica_nodes, 1, md->k->node);
        KP_SET(p[i].isr_nodes, 1, md->k->node);
    }
    mt->error_code = KP_ERR_NONE;
    mt->name = name;
    if (t)
        mt->topic_id = brk__kafka_uuid(t); /* in a cluster the controller's (tables.c) */
    mt->is_internal = brk_topic_internal((const char *)name.p, (size_t)name.len);
    KP_SET(mt->partitions, n, p);
    if (md->v >= 8 && md->mr->include_topic_authorized_operations)
        mt->topic_authorized_operations = brk__kafka_authorized_ops(md->c, SEC_RES_TOPIC, name);
    return 0;
}

/* A cluster's topic named by a client: the view's, or created through the controller
 * (auto-create): LEADER_NOT_AVAILABLE meanwhile, as Kafka answers, and the client asks
 * again. */
static int md_cluster_topic(struct md *md, struct kp_metadata_resp_topic *mt,
                            struct kc_slice name, struct part_topic *t, bool create)
{
    const struct brk_ctopic *ct = brk_cview_topic(md->view, (const char *)name.p,
                                                  (size_t)name.len);
    if (ct)
        return md_topic(md, mt, t, ct, name);
    mt->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!create)
        return 0;
    if (!brk__kafka_may_create(md->c, name)) {
        mt->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        return 0;
    }
    int rc = brk_topic_get(md->k->srv, (const char *)name.p, (size_t)name.len, true, &t);
    if (rc == -EINPROGRESS || rc == 0)
        mt->error_code = KP_ERR_LEADER_NOT_AVAILABLE; /* asked the controller: retry */
    else
        kc_log_warn("cannot ask the controller for topic %.*s: %s", (int)name.len, name.p,
                    kc_strerror(rc));
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
    if (md->view) /* a cluster: the topic is the view's; the local logs may lag it */
        return md_cluster_topic(md, mt, name, rc == 0 ? t : NULL, create);
    if (rc == KC_ENOTOPIC && create) { /* judged apart: Kafka's CREATE rule */
        if (!brk__kafka_may_create(md->c, name)) {
            mt->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            return 0;
        }
        rc = brk_topic_get(md->k->srv, (const char *)name.p, (size_t)name.len, true, &t);
    }
    if (rc == 0)
        return md_topic(md, mt, t, NULL, name);
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
    const struct brk_ctopic *ct =
        t && md->view ? brk_cview_topic(md->view, part_topic_name(t),
                                        strlen(part_topic_name(t)))
                      : NULL;
    if (t && md->view && !ct)
        t = NULL; /* a local log the cluster does not know */
    if (t && brk__kafka_allowed(md->c, SEC_OP_DESCRIBE, SEC_RES_TOPIC,
                                kp_slice_str(part_topic_name(t))))
        return md_topic(md, mt, t, ct, kp_slice_str(part_topic_name(t)));
    /* Kafka: ids are not secret, names are: 29 with the id echoed and no name */
    mt->error_code = t ? KP_ERR_TOPIC_AUTHORIZATION_FAILED : KP_ERR_UNKNOWN_TOPIC_ID;
    mt->name = (struct kc_slice){NULL, -1};
    mt->topic_id = id;
    return 0;
}

/* Every topic of the cluster's view. */
static int md_all_cluster(struct md *md, int32_t *n)
{
    struct part_registry *reg = brk_server_registry(md->k->srv);
    md->topics = kp_new(&md->req->arena, &kp_metadata_resp_topic_schema, md->view->ntopics);
    if (!md->topics && md->view->ntopics > 0)
        return -ENOMEM;
    *n = 0;
    for (int i = 0; i < md->view->ntopics; i++) {
        const struct brk_ctopic *ct = &md->view->topics[i];
        struct kc_slice name = kp_slice_str(ct->name);
        if (!brk__kafka_allowed_quietly(md->c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, name))
            continue;
        struct part_topic *t = part_topic_find(reg, ct->name, strlen(ct->name));
        int rc = md_topic(md, &md->topics[(*n)++], t, ct, name);
        if (rc)
            return rc;
    }
    return 0;
}

/* Every topic (v1+: a null list; v0: an empty one). *n receives how many. */
static int md_all(struct md *md, int32_t *n)
{
    if (md->view)
        return md_all_cluster(md, n);
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
        int rc = md_topic(md, &md->topics[(*n)++], all[i], NULL, name);
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

/* A cluster's brokers (the live ones, their advertised endpoints), controller and id. */
static int md_cluster_brokers(struct md *md, struct kp_metadata_resp *resp)
{
    const struct brk_cview *v = md->view;
    struct kp_metadata_resp_broker *b =
        kp_new(&md->req->arena, &kp_metadata_resp_broker_schema, v->nbrokers);
    if (!b && v->nbrokers > 0)
        return -ENOMEM;
    for (int i = 0; i < v->nbrokers; i++) {
        b[i].node_id = v->brokers[i].id;
        b[i].host = kp_slice_str(v->brokers[i].host);
        b[i].port = v->brokers[i].port;
        b[i].rack = kp_slice_str(v->brokers[i].rack); /* NULL: null */
    }
    KP_SET(resp->brokers, v->nbrokers, b);
    resp->cluster_id = kp_slice_str(v->cluster_id);
    resp->controller_id = v->controller;
    return 0;
}

int brk__kafka_metadata(struct brk_conn *c, struct kp_request *req)
{
    struct md md = {c, brk__kafka_of(c), req, req->msg, req->hdr.request_api_version, NULL,
                    brk_cluster_view(brk_conn_server(c))};
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
    if (rc == 0 && md.view)
        rc = md_cluster_brokers(&md, resp);
    if (rc) {
        kc_log_warn("%s: Metadata failed: %s; closing", brk_conn_peer(c), kc_strerror(rc));
        brk_cview_put(md.view);
        return rc;
    }
    if (!md.view) {
        b->node_id = BRK_KAFKA_NODE_ID;
        b->host = kp_slice_str(brk_conn_advertised_host(c)); /* the listener c came in on */
        b->port = brk_conn_advertised_port(c);
        KP_SET(resp->brokers, 1, b);
        resp->cluster_id = kp_slice_str(BRK_KAFKA_CLUSTER_ID);
        resp->controller_id = BRK_KAFKA_NODE_ID;
    }
    KP_SET(resp->topics, n, md.topics);
    if (md.v >= 8 && md.v <= 10 && md.mr->include_cluster_authorized_operations)
        resp->cluster_authorized_operations =
            brk__kafka_authorized_ops(c, SEC_RES_CLUSTER, kp_slice_str(SEC_CLUSTER_NAME));
    rc = brk__kafka_reply(c, &req->hdr, resp);
    brk_cview_put(md.view); /* after the encoding: the answer pointed into it */
    return rc;
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

static int16_t find_in_cluster(struct brk_conn *c, const struct brk_cview *v, int8_t key_type,
                               struct kc_slice key, const char **why, int32_t *node,
                               struct kc_slice *host, int32_t *port);

/* FindCoordinator in a cluster: each key's coordinator is the leader of its partition. */
static int find_coordinator_cluster(struct brk_conn *c, struct kp_request *req,
                                    const struct brk_cview *v)
{
    const struct kp_find_coordinator_req *fr = req->msg;
    struct kp_find_coordinator_resp *resp =
        kp_new(&req->arena, &kp_find_coordinator_resp_schema, 1);
    const char *why;
    if (!resp)
        return -ENOMEM;
    if (req->hdr.request_api_version < 4) {
        resp->error_code = find_in_cluster(c, v, fr->key_type, fr->key, &why, &resp->node_id,
                                           &resp->host, &resp->port);
        resp->error_message = kp_slice_str(why);
        return brk__kafka_reply(c, &req->hdr, resp);
    }
    int32_t n = fr->coordinator_keys.n;
    struct kp_find_coordinator_resp_coordinator *co =
        kp_new(&req->arena, &kp_find_coordinator_resp_coordinator_schema, n);
    if (!co && n > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        co[i].key = fr->coordinator_keys.v[i];
        co[i].error_code = find_in_cluster(c, v, fr->key_type, co[i].key, &why, &co[i].node_id,
                                           &co[i].host, &co[i].port);
        co[i].error_message = kp_slice_str(why);
    }
    KP_SET(resp->coordinators, n, co);
    return brk__kafka_reply(c, &req->hdr, resp);
}

/* A cluster's coordinator for group: the leader of its __consumer_offsets partition. The
 * topic is created through the controller on first need, with
 * offsets.topic.replication.factor replicas: with fewer brokers registered the controller
 * refuses it and the answer stays COORDINATOR_NOT_AVAILABLE, as Kafka's. */
static int16_t cluster_coordinator(struct brk_conn *c, const struct brk_cview *v,
                                   struct kc_slice group, const struct brk_cnode **out)
{
    struct brk_server *srv = brk_conn_server(c);
    const struct brk_ctopic *t = brk_cview_topic(v, BRK_OFFSETS_TOPIC,
                                                 sizeof(BRK_OFFSETS_TOPIC) - 1);
    if (!t) {
        const struct brk_config *cfg = brk_server_config(srv);
        (void)brk_cluster_topic_create(srv, BRK_OFFSETS_TOPIC, cfg->offsets_topic_num_partitions,
                                       cfg->cluster.offsets_replication_factor, NULL);
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    int32_t p = brk__kafka_group_partition(group, t->npartitions);
    *out = t->parts[p].leader >= 0 ? brk_cview_broker(v, t->parts[p].leader) : NULL;
    return *out ? KP_ERR_NONE : KP_ERR_COORDINATOR_NOT_AVAILABLE;
}

/* One key's answer in a cluster (the same fields for v0-3 and v4+). */
static int16_t find_in_cluster(struct brk_conn *c, const struct brk_cview *v, int8_t key_type,
                               struct kc_slice key, const char **why, int32_t *node,
                               struct kc_slice *host, int32_t *port)
{
    const struct brk_cnode *n = NULL;
    int16_t err = coordinator_for(c, key_type, key, why);
    if (err == KP_ERR_NONE && (err = cluster_coordinator(c, v, key, &n)) != KP_ERR_NONE)
        *why = "the group coordinator is not available yet";
    *node = err ? -1 : n->id;
    *host = err ? kp_slice_str("") : kp_slice_str(n->host);
    *port = err ? -1 : n->port;
    return err;
}

int brk__kafka_find_coordinator(struct brk_conn *c, struct kp_request *req)
{
    struct brk_cview *v = brk_cluster_view(brk_conn_server(c));
    if (v) {
        int rc = find_coordinator_cluster(c, req, v);
        brk_cview_put(v); /* after the encoding: the answer pointed into it */
        return rc;
    }
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
