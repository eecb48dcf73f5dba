/*
 * admin_wait.c - an admin request in a cluster, parked until the controller has answered
 * each of its topics (CreateTopics: admin_create_cluster.c; CreatePartitions:
 * admin_partitions.c; ElectLeaders: admin_elect.c).
 *
 *   a network loop                                   broker/replica (the member thread)
 *   brk__kafka_cwait_start: the request decoded
 *     again into memory of its own (it outlives
 *     serve), parked for timeout_ms
 *   per topic that passes the checks:
 *     brk__kafka_cwait_ask(cw, i, ask) ──────────> the controller, through the member
 *   brk__kafka_cwait_go                                ...answered, and this broker's
 *                        <────── waiter(i, err) ──   view and logs show it
 *   all back (or the timeout first): ops->settle turns each topic's outcome into its
 *   answer (brk__kafka_cwait_refusal for the common words), and the answer is sent
 *
 * So a client that creates (or grows) a topic and at once asks Metadata of the same
 * broker sees the change. The waiters run on the member thread under its lock; withdraw
 * cancels those still queued under the same lock (brk_cluster.h), so each either ran or
 * never will.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"

static void cw_free(struct brk__kafka_cwait *cw)
{
    kp_request_fini(&cw->req);
    free(cw->frame);
    free(cw->t);
    free(cw);
}

static void waiter_fn(struct brk_cluster_waiter *w, int err)
{
    struct brk__kafka_citem *t = w->arg;
    t->err = err;
    t->done = true;
    if (atomic_fetch_sub(&t->cw->pending, 1) == 1)
        brk_park_resume(&t->cw->park, BRK_PARK_RESUMED);
}

static struct brk__kafka_cwait *of(struct brk_park *p)
{
    return (struct brk__kafka_cwait *)((char *)p - offsetof(struct brk__kafka_cwait, park));
}

static void cw_withdraw(struct brk_park *p)
{
    struct brk__kafka_cwait *cw = of(p);
    for (int32_t i = 0; i < cw->n; i++)
        if (cw->t[i].waiting && !brk_cluster_cancel(cw->srv, &cw->t[i].w))
            cw->t[i].done = true; /* it ran (cancel took the lock it ran under) */
}

static int cw_done(struct brk_park *p, enum brk_park_why why)
{
    struct brk__kafka_cwait *cw = of(p);
    if (why != BRK_PARK_CLOSED) {
        struct brk_kafka_out o = {brk_park_conn(p), p};
        cw->ops->settle(cw);
        brk__kafka_answer(&o, &cw->req.hdr, cw->resp);
    }
    cw_free(cw);
    return 0;
}

int brk__kafka_cwait_start(struct brk_conn *c, const uint8_t *body, size_t len, int32_t n,
                           int32_t timeout_ms, const struct brk__kafka_cwait_ops *ops,
                           struct brk__kafka_cwait **out)
{
    struct brk__kafka_cwait *cw = calloc(1, sizeof(*cw));
    if (!cw)
        return -ENOMEM;
    cw->srv = brk_conn_server(c);
    cw->ops = ops;
    cw->n = KC_MAX(n, 0);
    cw->park_ops = (struct brk_park_ops){
        .kind = ops->kind, .withdraw = cw_withdraw, .done = cw_done};
    atomic_init(&cw->pending, 1); /* + 1 until brk__kafka_cwait_go */
    cw->t = calloc((size_t)cw->n + 1, sizeof(*cw->t));
    int rc = cw->t ? brk__kafka_redecode(body, len, &cw->frame, &cw->req) : -ENOMEM;
    if (rc == 0) {
        cw->req.hdr.client_id = (struct kc_slice){NULL, -1}; /* points into the frame */
        rc = brk_park_start(c, &cw->park, &cw->park_ops, KC_MAX(timeout_ms, 1));
        if (rc)
            cw_free(cw);
    } else {
        free(cw->t);
        free(cw);
    }
    if (rc == 0)
        *out = cw;
    return rc;
}

int16_t brk__kafka_cwait_ask(struct brk__kafka_cwait *cw, int32_t i,
                             int (*ask)(struct brk__kafka_cwait *cw, int32_t i,
                                        struct brk_cluster_waiter *w, void *arg),
                             void *arg)
{
    struct brk__kafka_citem *t = &cw->t[i];
    t->cw = cw;
    t->w = (struct brk_cluster_waiter){.fn = waiter_fn, .arg = t};
    atomic_fetch_add(&cw->pending, 1);
    int rc = ask(cw, i, &t->w, arg);
    if (rc == 0) {
        t->waiting = true;
        return KP_ERR_NONE;
    }
    atomic_fetch_sub(&cw->pending, 1); /* never queued: never called */
    kc_log_warn("cannot ask the controller (%s): %s", cw->ops->kind, kc_strerror(rc));
    return KP_ERR_UNKNOWN_SERVER_ERROR;
}

int brk__kafka_cwait_items(struct brk__kafka_cwait *cw, int32_t n)
{
    struct brk__kafka_citem *t = calloc((size_t)KC_MAX(n, 0) + 1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    free(cw->t);
    cw->t = t;
    cw->n = KC_MAX(n, 0);
    return 0;
}

void brk__kafka_cwait_go(struct brk__kafka_cwait *cw)
{
    if (atomic_fetch_sub(&cw->pending, 1) == 1) /* nothing to wait for, or all back */
        brk_park_resume(&cw->park, BRK_PARK_RESUMED);
}

bool brk__kafka_cwait_refusal(struct brk__kafka_cwait *cw, int32_t i, const char *what,
                              int16_t *code, struct kc_slice *msg)
{
    const struct brk__kafka_citem *t = &cw->t[i];
    struct kp_arena *a = &cw->req.arena;
    if (!t->waiting || (t->done && t->err == 0))
        return false;
    *code = !t->done               ? KP_ERR_REQUEST_TIMED_OUT
            : t->err > 0           ? (int16_t)t->err /* the controller's code */
            : t->err == -ETIMEDOUT ? KP_ERR_REQUEST_TIMED_OUT
                                   : KP_ERR_UNKNOWN_SERVER_ERROR;
    *msg = !t->done     ? brk__kafka_strf(a, "The controller has not %s yet; it may still.", what)
           : t->err > 0 ? brk__kafka_strf(a, "Refused by the controller: %s",
                                          kp_error_name((int16_t)t->err))
           : t->err == -1 ? brk__kafka_strf(a, "The controller could not write the change to "
                                               "ZooKeeper (its log says why).")
                          : brk__kafka_strf(a, "%s", kc_strerror(t->err));
    return true;
}
