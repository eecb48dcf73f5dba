/*
 * admin_partitions.c - CreatePartitions: a topic grows (partitions are never removed: a
 * key's partition is hash % count, so growing moves keys, which is why Kafka makes it an
 * explicit admin act).
 *
 * The checks are Kafka's, in its order: ALTER on the topic (29); the same topic twice in
 * one request (42, every copy); unknown (3); __consumer_offsets (37: its count decides
 * where each group's offsets live); fewer or as many partitions as now (37); assignments
 * of the wrong count or naming brokers that cannot hold them (39); validate_only stops
 * there.
 *
 * Alone, the broker grows the topic's logs at once. In a cluster the controller decides
 * (broker/cluster: the new partitions placed as Kafka continues a topic's assignment, or
 * as the request's assignments say - live brokers, the topic's replication factor - the
 * topic's assignment rewritten, then their states), and the answer waits until this
 * broker's view and logs have every new partition (admin_wait.c), so a Metadata right
 * after sees them with their leaders.
 */
#include <errno.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "sec_acl.h"

typedef struct kp_create_partitions_resp_topic_result cp_result;

/* t's assignments, one list per new partition (count checked by the caller): each of
 * the topic's replication factor (rf) in brokers that can hold a replica (v: the cluster's
 * live ones; NULL alone: this one). 0 and *as (its ids in the arena; as->ids NULL when t
 * names none), else INVALID_REPLICA_ASSIGNMENT and *msg. */
static int16_t assignments_check(struct kp_arena *a, const struct kp_create_partitions_req_topic *t,
                                 const struct brk_cview *v, int32_t now, int rf,
                                 struct brk_cluster_assignment *as, struct kc_slice *msg)
{
    int32_t n = t->assignments.n;
    *as = (struct brk_cluster_assignment){0, 0, NULL};
    if (n <= 0)
        return KP_ERR_NONE;
    if (rf <= 0) /* the topic's factor not known here yet: the lists agree among themselves */
        rf = t->assignments.v[0].broker_ids.n;
    if (rf <= 0 || rf > (v ? v->nbrokers : 1)) {
        *msg = brk__kafka_strf(a, "The replica assignment lists %d replicas for partition "
                                  "%d: a partition needs 1 to %d (the live brokers).",
                               rf, (int)now, v ? v->nbrokers : 1);
        return KP_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    struct brk__kafka_list *lists = kp_arena_alloc(a, (size_t)n * sizeof(*lists));
    int32_t *ids = kp_arena_alloc(a, (size_t)n * (size_t)rf * sizeof(*ids) + 1);
    if (!lists || !ids)
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    for (int32_t i = 0; i < n; i++)
        lists[i] = (struct brk__kafka_list){t->assignments.v[i].broker_ids.n,
                                            t->assignments.v[i].broker_ids.v};
    int16_t err = brk__kafka_check_lists(a, v, now, lists, n, rf, ids, msg);
    *as = (struct brk_cluster_assignment){n, rf, ids};
    return err;
}

/* The topic's replication factor: its first partition's replicas in the view (alone: 1);
 * 0 when this broker's view has not its state yet (the controller checks it then). */
static int topic_rf(const struct brk_cview *v, const struct kc_slice *name)
{
    const struct brk_ctopic *ct = v ? brk_cview_topic(v, (const char *)name->p, (size_t)name->len)
                                    : NULL;
    if (!v)
        return 1;
    return ct && ct->npartitions > 0 ? ct->parts[0].nreplicas : 0;
}

static int16_t grow_check(struct kp_arena *a, const struct kp_create_partitions_req_topic *t,
                          int32_t now, const struct brk_cview *v, struct brk_cluster_assignment *as,
                          struct kc_slice *msg)
{
    if (t->count < now) {
        *msg = brk__kafka_strf(a, "Topic currently has %d partitions, which is higher than the "
                                  "requested %d.", (int)now, (int)t->count);
        return KP_ERR_INVALID_PARTITIONS;
    }
    if (t->count == now) {
        *msg = brk__kafka_strf(a, "Topic already has %d partitions.", (int)now);
        return KP_ERR_INVALID_PARTITIONS;
    }
    if (t->assignments.n >= 0 && t->assignments.n != t->count - now) {
        *msg = brk__kafka_strf(a, "Increasing the number of partitions by %d but %d "
                                  "assignments provided.", (int)(t->count - now),
                               (int)t->assignments.n);
        return KP_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    return assignments_check(a, t, v, now, topic_rf(v, &t->name), as, msg);
}

/* The member's side of asking: topic i of the parked request, to its new count. */
static int ask_grow(struct brk__kafka_cwait *cw, int32_t i, struct brk_cluster_waiter *w,
                    void *arg)
{
    const struct brk_cluster_assignment *as = arg;
    const struct kp_create_partitions_req *cp = cw->req.msg;
    const struct kp_create_partitions_req_topic *t = &cp->topics.v[i];
    char name[PART_NAME_MAX + 1];
    memcpy(name, t->name.p, (size_t)t->name.len); /* an existing topic's: 1 to 249 bytes */
    name[t->name.len] = '\0';
    return brk_cluster_partitions_create(cw->srv, name, t->count, as->ids ? as : NULL, w);
}

static void grow_local(struct brk_server *srv, struct kp_arena *a, struct part_topic *pt,
                       int32_t count, cp_result *r)
{
    int rc = brk_topic_grow(srv, pt, count);
    if (rc) {
        r->error_code = rc == KC_ETOOLARGE ? KP_ERR_INVALID_PARTITIONS
                        : rc == KC_ENOTOPIC ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION
                                            : KP_ERR_KAFKA_STORAGE_ERROR;
        r->error_message = brk__kafka_strf(a, "%s", kc_strerror(rc));
    }
}

/* Topic i of req: checked, then grown here or asked of the controller (cw: a cluster). */
static void grow_one(struct brk_conn *c, struct kp_request *req, int32_t i, cp_result *r,
                     struct brk__kafka_cwait *cw)
{
    const struct kp_create_partitions_req *cp = req->msg;
    const struct kp_create_partitions_req_topic *t = &cp->topics.v[i];
    struct brk_server *srv = brk_conn_server(c);
    struct kp_arena *a = &req->arena;
    struct part_topic *pt;
    r->name = t->name;
    if (!brk__kafka_allowed(c, SEC_OP_ALTER, SEC_RES_TOPIC, t->name)) {
        r->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    if ((r->error_code = brk__kafka_topic(srv, t->name, &pt)) != KP_ERR_NONE) {
        r->error_message = brk__kafka_strf(a, "The topic '%.*s' does not exist.",
                                           (int)t->name.len, t->name.p);
        return;
    }
    if (brk_topic_internal((const char *)t->name.p, (size_t)t->name.len)) {
        r->error_code = KP_ERR_INVALID_PARTITIONS;
        r->error_message = brk__kafka_strf(a, "%s's partition count decides where each "
                                              "group's offsets live: it cannot change",
                                           BRK_OFFSETS_TOPIC);
        return;
    }
    struct brk_cluster_assignment as;
    struct brk_cview *v = brk_cluster_view(srv);
    r->error_code = grow_check(a, t, part_topic_partitions(pt), v, &as, &r->error_message);
    brk_cview_put(v);
    if (r->error_code || cp->validate_only)
        return;
    if (cw)
        r->error_code = brk__kafka_cwait_ask(cw, i, ask_grow, &as);
    else
        grow_local(srv, a, pt, t->count, r);
}

/* Every topic's result (asking the controller through cw, when there is one). NULL when
 * out of memory. */
static struct kp_create_partitions_resp *fill(struct brk_conn *c, struct kp_request *req,
                                              struct brk__kafka_cwait *cw)
{
    const struct kp_create_partitions_req *cp = req->msg;
    struct kp_arena *a = &req->arena;
    struct kp_create_partitions_resp *resp = kp_new(a, &kp_create_partitions_resp_schema, 1);
    cp_result *r = kp_new(a, &kp_create_partitions_resp_topic_result_schema, cp->topics.n);
    struct kc_slice *names = kp_arena_alloc(a, ((size_t)cp->topics.n + 1) * sizeof(*names));
    if (!resp || !names || (!r && cp->topics.n > 0))
        return NULL;
    for (int32_t i = 0; i < cp->topics.n; i++)
        names[i] = cp->topics.v[i].name;
    for (int32_t i = 0; i < cp->topics.n; i++) {
        if (brk__kafka_named_twice(names, cp->topics.n, i)) {
            r[i].name = names[i];
            r[i].error_code = KP_ERR_INVALID_REQUEST;
            r[i].error_message = brk__kafka_strf(a, "Duplicate topic in request.");
            continue;
        }
        grow_one(c, req, i, &r[i], cw);
    }
    KP_SET(resp->results, cp->topics.n, r);
    return resp;
}

static void settle(struct brk__kafka_cwait *cw)
{
    struct kp_create_partitions_resp *resp = cw->resp;
    for (int32_t i = 0; i < cw->n; i++) {
        cp_result *r = &resp->results.v[i];
        brk__kafka_cwait_refusal(cw, i, "added the partitions", &r->error_code,
                                 &r->error_message);
    }
}

static const struct brk__kafka_cwait_ops grow_ops = {.kind = "create-partitions",
                                                     .settle = settle};

int brk__kafka_create_partitions(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                                 size_t len)
{
    const struct kp_create_partitions_req *cp = req->msg;
    if (!brk_cluster_mode(brk_conn_server(c)) || cp->validate_only) {
        struct kp_create_partitions_resp *resp = fill(c, req, NULL);
        return resp ? brk__kafka_reply(c, &req->hdr, resp) : -ENOMEM;
    }
    struct brk__kafka_cwait *cw;
    int rc = brk__kafka_cwait_start(c, body, len, cp->topics.n, cp->timeout_ms, &grow_ops, &cw);
    if (rc)
        return rc;
    /* Parked: the park owns cw; a failure closes the connection, which frees it. */
    if (!(cw->resp = fill(c, &cw->req, cw)))
        return -ENOMEM;
    brk__kafka_cwait_go(cw);
    return 0;
}
