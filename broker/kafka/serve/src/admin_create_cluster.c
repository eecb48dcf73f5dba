/*
 * admin_create_cluster.c - CreateTopics in a cluster: the controller creates, the answer
 * waits until this broker's view has the topic.
 *
 *   CreateTopics [a, b]                         broker/replica (the member thread)
 *     the request decoded again into memory of its own (it outlives serve)
 *     admin_topics.c's checks; per topic that passes:
 *       brk_cluster_topic_create(a, waiter) ──> clu_topic_create -> the controller
 *     park (timeout_ms)                           ...answered, logs made, view published
 *                          <──── waiter(a, 0) ──
 *                          <──── waiter(b, 38) ─ refused: e.g. fewer brokers than asked
 *     all back: answer; timeout first: those not back get REQUEST_TIMED_OUT (7), as Kafka
 *     answers when the controller is slow (the creation may still complete)
 *
 * So a client that creates a topic and at once asks Metadata of the same broker sees it,
 * with its leaders. The waiters run on the member thread under its lock; withdraw cancels
 * those still queued under the same lock (brk_cluster.h), as admin_delete.c does with the
 * core's reaper.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"

struct brk__kafka_ctc;

struct ctc_topic {
    struct brk_cluster_waiter w;
    struct brk__kafka_ctc *ctc;
    bool waiting; /* asked, and its waiter queued */
    bool done;    /* its fn ran (under the member's lock) */
    int err;      /* what fn was told */
};

struct brk__kafka_ctc {
    struct brk_park park;
    struct brk_server *srv;
    struct kp_request req; /* decoded again from frame, which this owns */
    uint8_t *frame;
    struct kp_create_topics_resp *resp; /* in req's arena */
    struct ctc_topic *t;   /* one per request topic */
    int32_t n;
    _Atomic int pending;   /* waiters not back, + 1 while serve runs */
};

static void ctc_free(struct brk__kafka_ctc *ctc)
{
    kp_request_fini(&ctc->req);
    free(ctc->frame);
    free(ctc->t);
    free(ctc);
}

static void waiter_fn(struct brk_cluster_waiter *w, int err)
{
    struct ctc_topic *t = w->arg;
    t->err = err;
    t->done = true;
    if (atomic_fetch_sub(&t->ctc->pending, 1) == 1)
        brk_park_resume(&t->ctc->park, BRK_PARK_RESUMED);
}

int16_t brk__kafka_ctc_ask(struct brk__kafka_ctc *ctc, int32_t i, int32_t partitions, int32_t rf,
                           const struct brk_tcfg *cfg)
{
    const struct kp_create_topics_req *cr = ctc->req.msg;
    struct ctc_topic *t = &ctc->t[i];
    char name[PART_NAME_MAX + 1];
    struct kc_slice s = cr->topics.v[i].name;
    memcpy(name, s.p, (size_t)s.len); /* checked by then: 1 to 249 bytes */
    name[s.len] = '\0';
    t->ctc = ctc;
    t->w = (struct brk_cluster_waiter){.fn = waiter_fn, .arg = t};
    atomic_fetch_add(&ctc->pending, 1);
    int rc = brk_cluster_topic_create_with(ctc->srv, name, partitions, rf, cfg, &t->w);
    if (rc == 0) {
        t->waiting = true;
        return KP_ERR_NONE;
    }
    atomic_fetch_sub(&ctc->pending, 1); /* never queued: never called */
    kc_log_warn("cannot ask the controller to create %s: %s", name, kc_strerror(rc));
    return KP_ERR_UNKNOWN_SERVER_ERROR;
}

static struct brk__kafka_ctc *of(struct brk_park *p)
{
    return (struct brk__kafka_ctc *)((char *)p - offsetof(struct brk__kafka_ctc, park));
}

static void ctc_withdraw(struct brk_park *p)
{
    struct brk__kafka_ctc *ctc = of(p);
    for (int32_t i = 0; i < ctc->n; i++)
        if (ctc->t[i].waiting && !brk_cluster_cancel(ctc->srv, &ctc->t[i].w))
            ctc->t[i].done = true; /* it ran (cancel took the lock it ran under) */
}

/* Each asked topic's outcome into its answer. */
static void settle(struct brk__kafka_ctc *ctc)
{
    struct kp_arena *a = &ctc->req.arena;
    for (int32_t i = 0; i < ctc->n; i++) {
        struct ctc_topic *t = &ctc->t[i];
        struct kp_create_topics_resp_creatable_topic_result *r = &ctc->resp->topics.v[i];
        if (t->waiting && t->done && t->err == 0 && ctc->req.hdr.request_api_version >= 7) {
            struct part_topic *pt = part_topic_find(brk_server_registry(ctc->srv),
                                                    (const char *)r->name.p, (size_t)r->name.len);
            if (pt) /* the local logs carry the cluster's id (broker/replica) */
                r->topic_id = brk__kafka_uuid(pt);
        }
        if (!t->waiting || (t->done && t->err == 0))
            continue;
        r->error_code = !t->done                ? KP_ERR_REQUEST_TIMED_OUT
                        : t->err > 0            ? (int16_t)t->err /* the controller's code */
                        : t->err == -ETIMEDOUT  ? KP_ERR_REQUEST_TIMED_OUT
                                                : KP_ERR_UNKNOWN_SERVER_ERROR;
        r->error_message = !t->done ? brk__kafka_strf(a, "The controller has not created "
                                                         "the topic yet; it may still.")
                           : t->err == KP_ERR_INVALID_PARTITIONS
                               ? brk__kafka_strf(a, "Refused by the controller: a topic is "
                                                    "created in one ZooKeeper transaction, and "
                                                    "this many partitions would make it larger "
                                                    "than ZooKeeper accepts; create fewer.")
                           : t->err > 0 ? brk__kafka_strf(a, "Refused by the controller: %s",
                                                          kp_error_name((int16_t)t->err))
                           : t->err == -1
                               ? brk__kafka_strf(a, "The controller could not write the topic "
                                                    "to ZooKeeper (its log says why).")
                               : brk__kafka_strf(a, "%s", kc_strerror(t->err));
        r->num_partitions = -1;
        r->replication_factor = -1;
        r->configs.v = NULL;
        r->configs.n = -1; /* null */
    }
}

static int ctc_done(struct brk_park *p, enum brk_park_why why)
{
    struct brk__kafka_ctc *ctc = of(p);
    if (why != BRK_PARK_CLOSED) {
        struct brk_kafka_out o = {brk_park_conn(p), p};
        settle(ctc);
        brk__kafka_answer(&o, &ctc->req.hdr, ctc->resp);
    }
    ctc_free(ctc);
    return 0;
}

static const struct brk_park_ops ctc_ops = {
    .kind = "create-topics", .withdraw = ctc_withdraw, .done = ctc_done};

int brk__kafka_create_topics_cluster(struct brk_conn *c, struct kp_request *req,
                                     const uint8_t *body, size_t len)
{
    const struct kp_create_topics_req *cr = req->msg;
    struct brk__kafka_ctc *ctc = calloc(1, sizeof(*ctc));
    if (!ctc)
        return -ENOMEM;
    ctc->srv = brk_conn_server(c);
    ctc->n = KC_MAX(cr->topics.n, 0);
    atomic_init(&ctc->pending, 1);
    ctc->t = calloc((size_t)ctc->n + 1, sizeof(*ctc->t));
    int rc = ctc->t ? brk__kafka_redecode(body, len, &ctc->frame, &ctc->req) : -ENOMEM;
    if (rc == 0) {
        ctc->req.hdr.client_id = (struct kc_slice){NULL, -1}; /* points into the frame */
        rc = brk_park_start(c, &ctc->park, &ctc_ops, KC_MAX(cr->timeout_ms, 1));
        if (rc)
            ctc_free(ctc);
    } else {
        free(ctc->t);
        free(ctc);
    }
    if (rc)
        return rc;
    /* Parked: from here the park owns ctc. A failure closes the connection, which ends
     * the park (CLOSED: withdraw, then done frees). */
    rc = brk__kafka_create_topics_fill(c, &ctc->req, ctc, &ctc->resp);
    if (rc == 0 && atomic_fetch_sub(&ctc->pending, 1) == 1) /* nothing to wait for, or all back */
        brk_park_resume(&ctc->park, BRK_PARK_RESUMED);
    return rc;
}
