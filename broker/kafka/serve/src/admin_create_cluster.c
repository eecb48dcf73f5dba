/*
 * admin_create_cluster.c - CreateTopics in a cluster: the controller creates, the answer
 * waits until this broker's view has the topic (the waiting: admin_wait.c).
 *
 *   CreateTopics [a, b]                         broker/replica (the member thread)
 *     parked (brk__kafka_cwait_start)
 *     admin_topics.c's checks; per topic that passes:
 *       brk_cluster_topic_create(a, waiter) ──> clu_topic_create -> the controller
 *                                                 ...answered, logs made, view published
 *                          <──── waiter(a, 0) ──
 *                          <──── waiter(b, 38) ─ refused: e.g. fewer brokers than asked
 *     all back: answer; timeout first: those not back get REQUEST_TIMED_OUT (7), as Kafka
 *     answers when the controller is slow (the creation may still complete)
 *
 * So a client that creates a topic and at once asks Metadata of the same broker sees it,
 * with its leaders, and (v7+) the topic id the cluster gave it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"

struct ctc_args {
    int32_t partitions, rf;
    const struct brk_tcfg *cfg;
    const struct brk_cluster_assignment *as; /* NULL: the controller places the replicas */
};

static int ask_create(struct brk__kafka_cwait *cw, int32_t i, struct brk_cluster_waiter *w,
                      void *arg)
{
    const struct kp_create_topics_req *cr = cw->req.msg;
    const struct ctc_args *a = arg;
    char name[PART_NAME_MAX + 1];
    struct kc_slice s = cr->topics.v[i].name;
    memcpy(name, s.p, (size_t)s.len); /* checked by then: 1 to 249 bytes */
    name[s.len] = '\0';
    return brk_cluster_topic_create_with(cw->srv, name, a->partitions, a->rf, a->cfg, a->as, w);
}

int16_t brk__kafka_ctc_ask(struct brk__kafka_cwait *cw, int32_t i, int32_t partitions, int32_t rf,
                           const struct brk_tcfg *cfg, const struct brk_cluster_assignment *as)
{
    struct ctc_args a = {partitions, rf, cfg, as};
    return brk__kafka_cwait_ask(cw, i, ask_create, &a);
}

/* Each asked topic's outcome into its answer. */
static void settle(struct brk__kafka_cwait *cw)
{
    struct kp_create_topics_resp *resp = cw->resp;
    for (int32_t i = 0; i < cw->n; i++) {
        const struct brk__kafka_citem *t = &cw->t[i];
        struct kp_create_topics_resp_creatable_topic_result *r = &resp->topics.v[i];
        if (t->waiting && t->done && t->err == 0 && cw->req.hdr.request_api_version >= 7) {
            struct part_topic *pt = part_topic_find(brk_server_registry(cw->srv),
                                                    (const char *)r->name.p, (size_t)r->name.len);
            if (pt) /* the local logs carry the cluster's id (broker/replica) */
                r->topic_id = brk__kafka_uuid(pt);
        }
        if (!brk__kafka_cwait_refusal(cw, i, "created the topic", &r->error_code,
                                      &r->error_message))
            continue;
        if (t->done && t->err == KP_ERR_INVALID_PARTITIONS)
            r->error_message = brk__kafka_strf(&cw->req.arena,
                                               "Refused by the controller: a topic's "
                                               "assignment is one ZooKeeper node, and this "
                                               "many partitions would make it larger than "
                                               "ZooKeeper accepts; create fewer.");
        r->num_partitions = -1;
        r->replication_factor = -1;
        r->configs.v = NULL;
        r->configs.n = -1; /* null */
    }
}

static const struct brk__kafka_cwait_ops ctc_ops = {.kind = "create-topics", .settle = settle};

int brk__kafka_create_topics_cluster(struct brk_conn *c, struct kp_request *req,
                                     const uint8_t *body, size_t len)
{
    const struct kp_create_topics_req *cr = req->msg;
    struct brk__kafka_cwait *cw;
    int rc = brk__kafka_cwait_start(c, body, len, cr->topics.n, cr->timeout_ms, &ctc_ops, &cw);
    if (rc)
        return rc;
    /* Parked: from here the park owns cw. A failure closes the connection, which ends
     * the park (CLOSED: withdraw, then done frees). */
    struct kp_create_topics_resp *resp;
    rc = brk__kafka_create_topics_fill(c, &cw->req, cw, &resp);
    if (rc == 0) {
        cw->resp = resp;
        brk__kafka_cwait_go(cw);
    }
    return rc;
}
