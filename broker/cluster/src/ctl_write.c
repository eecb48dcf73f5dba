/*
 * ctl_write.c - one controller event, from decision to durable state:
 *
 *   repl_ctl_handle(ctl, event)    decide: records (the state is not touched)
 *   clu__plan(records)             the ZooKeeper operations, in units
 *   for each chunk of units:       multi { check /controller_epoch at OUR version,
 *                                          the chunk's operations,
 *                                          [last chunk] setData the request's answer }
 *       repl_ctl_replay(records)   ONLY after the transaction landed   <- commit point
 *
 * The check in front of every transaction is the fence: a controller that was replaced
 * (its epoch bumped by the next election) fails the check, whatever its transaction
 * held, and resigns. Kafka does the same: MultiRequest(CheckOp(ControllerEpochZNode,
 * expectedControllerEpochZkVersion) +: ops).
 *
 * An event that needs more than max_ops_per_multi operations (a broker that led a
 * thousand partitions dies) is written as several transactions. If the controller dies
 * between two, the next one loads what landed and finishes the rest: every event here is
 * re-derived from ZooKeeper's state (a broker with no registration is lost; a request
 * without an answer is pending; an offline partition is elected at ELECTED; a partition
 * its topic's assignment names without a state is written when the next one takes office).
 *
 * What a failed transaction means:
 *   the epoch check failed (BADVERSION, NONODE)    deposed: resign
 *   the session expired                            resign; the session is renewed
 *   the request node is gone (only its answer op   the requester gave up: drop it
 *     failed)
 *   anything else (a lost connection: did it       resign without leaving /controller,
 *     land?; a node in an unexpected state)        take office again: reload from ZooKeeper
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_int.h"
#include "kc_common.h"

/* The test seam: die before this transaction (see clu.h). */
static void crash(struct clu *cl)
{
    kc_log_warn("cluster: broker %d: test hook: crashing before transaction %d of this event",
                (int)cl->cfg.broker_id, cl->c.multis);
    cl->crashed = true;
    cl->c.active = false;
    repl_ctl_fini(&cl->c.ctl);
    clu__zk_stop(cl); /* the session ends now: its ephemeral nodes go */
}

/* The first operation that failed (results after it say RUNTIMEINCONSISTENCY). */
static int failed_op(const zoo_op_result_t *res, int n)
{
    for (int i = 0; i < n; i++)
        if (res[i].err != ZOK && res[i].err != ZRUNTIMEINCONSISTENCY)
            return i;
    return -1;
}

static void fill_ops(const struct clu_plan *plan, size_t op0, size_t op1, zoo_op_t *ops)
{
    for (size_t i = op0; i < op1; i++) {
        const struct clu_op *op = &plan->ops[i];
        zoo_op_t *z = &ops[i - op0];
        if (op->kind == CLU_OP_CREATE)
            zoo_create_op_init(z, op->path, op->data, op->data ? op->len : -1, &ZOO_OPEN_ACL_UNSAFE,
                               ZOO_PERSISTENT, NULL, 0);
        else if (op->kind == CLU_OP_SET)
            zoo_set_op_init(z, op->path, op->data, op->len, op->version, NULL);
        else
            zoo_delete_op_init(z, op->path, op->version);
    }
}

/* Why a transaction failed, and what the controller does about it. */
static int failure(struct clu *cl, int rc, const zoo_op_result_t *res, int n, bool answer,
                   const zoo_op_t *ops)
{
    int at = failed_op(res, n);
    if (at == 0 && (res[0].err == ZBADVERSION || res[0].err == ZNONODE)) {
        clu__ctl_resign(cl, "deposed: /controller_epoch moved on (a newer controller exists)");
        return -EPERM;
    }
    if (rc == ZSESSIONEXPIRED || rc == ZINVALIDSTATE) {
        clu__ctl_resign(cl, "the session expired under a write");
        cl->expired = true;
        return -ECONNRESET;
    }
    if (answer && at == n - 1 && res[at].err == ZNONODE)
        return CLU_GONE;
    const char *path = at < 0                           ? "?"
                       : ops[at].type == ZOO_CREATE_OP  ? ops[at].create_op.path
                       : ops[at].type == ZOO_SETDATA_OP ? ops[at].set_op.path
                                                        : ops[at].delete_op.path;
    kc_log_warn("cluster: controller: a write failed (%s at %s): reloading from ZooKeeper",
                zerror(at < 0 ? rc : res[at].err), path);
    clu__ctl_resign(cl, "a write failed; taking office again");
    return -EIO;
}

/* One transaction: the fence, ops [op0, op1), and the answer (rq != NULL). */
static int write_chunk(struct clu *cl, size_t op0, size_t op1, struct clu_request *rq,
                       const char *rq_path)
{
    struct clu_controller *c = &cl->c;
    int n = (int)(op1 - op0) + 1 + (rq != NULL);
    if (n == 1)
        return 0; /* nothing to write: records that live in memory only */
    zoo_op_t *ops = calloc((size_t)n, sizeof(*ops));
    zoo_op_result_t *res = calloc((size_t)n, sizeof(*res));
    struct kc_writer w;
    kc_writer_init(&w, CLU_ZNODE_MAX);
    int rc = ops && res ? 0 : -ENOMEM;
    if (rc == 0 && rq && (clu_request_encode(rq, &w) != 0 || kc_writer_error(&w)))
        rc = -EINVAL;
    if (rc == 0) {
        zoo_check_op_init(&ops[0], CLU_ZK_CONTROLLER_EPOCH, c->epoch_version);
        fill_ops(&c->plan, op0, op1, ops + 1);
        if (rq)
            zoo_set_op_init(&ops[n - 1], rq_path, (const char *)kc_writer_data(&w),
                            (int)kc_writer_len(&w), -1, NULL);
        const struct clu_test_hooks *hk = cl->cfg.hooks;
        if (hk && hk->before_write && !hk->before_write(hk->arg, cl->cfg.broker_id, ++c->multis)) {
            crash(cl);
            rc = -ECANCELED;
        } else {
            int zrc = zoo_multi(cl->zh, n, ops, res);
            rc = zrc == ZOK ? 0 : failure(cl, zrc, res, n, rq != NULL, ops);
        }
    }
    kc_writer_fini(&w);
    free(ops);
    free(res);
    return rc;
}

static void log_record(const struct clu *cl, const struct repl_rec *rec)
{
    if (rec->type != REPL_REC_PARTITION)
        return;
    const struct repl_pstate *ps = &rec->u.part.ps;
    char isr[REPL_MAX_REPLICAS * 12] = "";
    for (int i = 0, at = 0; i < ps->nisr; i++)
        at += snprintf(isr + at, sizeof(isr) - (size_t)at, "%s%d", i ? "," : "", (int)ps->isr[i]);
    kc_log_info("cluster: controller %d: %s-%d leader %d, leader epoch %d, ISR [%s], partition "
                "epoch %d",
                (int)cl->cfg.broker_id, rec->u.part.topic, (int)rec->u.part.partition,
                (int)ps->leader, (int)ps->leader_epoch, isr, (int)ps->partition_epoch);
}

/* The transaction landed: now, and only now, the state changes. */
static int replay(struct clu *cl, size_t rec0, size_t rec1)
{
    for (size_t i = rec0; i < rec1; i++) {
        const struct repl_rec *rec = &cl->c.recs.v[i];
        int rc = repl_ctl_replay(&cl->c.ctl, rec);
        if (rc != 0) {
            kc_log_error("cluster: controller: replaying its own record failed (%d): reloading",
                         rc);
            clu__ctl_resign(cl, "its state disagrees with its records");
            return -EIO;
        }
        log_record(cl, rec);
    }
    return 0;
}

static int write_plan(struct clu *cl, struct clu_request *rq, const char *rq_path)
{
    struct clu_controller *c = &cl->c;
    size_t u = 0;
    c->multis = 0;
    do {
        size_t end = clu__plan_chunk_end(&c->plan, u, (size_t)cl->cfg.max_ops_per_multi);
        bool last = end == c->plan.nunits;
        size_t op0 = u < end ? c->plan.units[u].op0 : 0,
               op1 = u < end ? c->plan.units[end - 1].op1 : 0;
        int rc = write_chunk(cl, op0, op1, last ? rq : NULL, rq_path);
        if (rc != 0)
            return rc;
        if (u < end && (rc = replay(cl, c->plan.units[u].rec0, c->plan.units[end - 1].rec1)) != 0)
            return rc;
        u = end;
    } while (u < c->plan.nunits);
    return 0;
}

int clu__ctl_answer(struct clu *cl, struct clu_request *rq, const char *rq_path)
{
    cl->c.multis = 0;
    return write_chunk(cl, 0, 0, rq, rq_path);
}

/* An accepted ISR change's answer carries the committed state. */
static void answer_state(const struct repl_recs *recs, struct clu_request *rq)
{
    for (size_t i = recs->n; i-- > 0;)
        if (recs->v[i].type == REPL_REC_PARTITION) {
            rq->has_state = true;
            rq->state = recs->v[i].u.part.ps;
            return;
        }
}

/* A unit no ZooKeeper transaction can hold (CLU_MULTI_MAX_BYTES): refused, never retried
 * (it would fail the same way each time, the connection dropped with it). 1 (refused:
 * rq->error set), or 0. */
static int too_large(struct clu *cl, const struct repl_event *ev, struct clu_request *rq)
{
    const struct clu_plan *plan = &cl->c.plan;
    for (size_t u = 0; u < plan->nunits; u++) {
        size_t bytes = clu__plan_unit_bytes(plan, u);
        if (bytes <= CLU_MULTI_MAX_BYTES)
            continue;
        bool create = ev->type == REPL_EV_TOPIC_CREATE, grow = ev->type == REPL_EV_PARTITIONS_ADD;
        kc_log_error("cluster: controller: %s%s needs one ZooKeeper transaction of %zu bytes, "
                     "more than the %u it writes (ZooKeeper's jute.maxbuffer is 1 MiB by "
                     "default): refused",
                     create ? "creating topic " : grow ? "adding partitions to " : "an event on ",
                     ev->topic ? ev->topic : "the cluster", bytes, CLU_MULTI_MAX_BYTES);
        if (rq)
            rq->error = create || grow ? REPL_INVALID_PARTITIONS : REPL_INVALID_REQUEST;
        return 1;
    }
    return 0;
}

int clu__ctl_run(struct clu *cl, const struct repl_event *ev, const struct clu_plan_ctx *pctx,
                 struct clu_request *rq, const char *rq_path)
{
    struct clu_controller *c = &cl->c;
    repl_recs_reset(&c->recs);
    int rc = repl_ctl_handle(&c->ctl, ev, &c->recs);
    if (rc < 0)
        return rc;
    if (rq) {
        rq->answered = true;
        rq->error = c->recs.error;
        rq->remaining = c->recs.remaining;
        rq->has_state = false;
    }
    if (c->recs.error)
        return rq ? clu__ctl_answer(cl, rq, rq_path) : 0;
    if ((rc = clu__plan(&c->ctl, &c->recs, 0, pctx, &c->plan)) != 0) {
        kc_log_error("cluster: controller: records it cannot write (%s)", kc_strerror(rc));
        if (!rq)
            return 0;
        rq->error = REPL_INVALID_REQUEST;
        return clu__ctl_answer(cl, rq, rq_path);
    }
    if ((rc = too_large(cl, ev, rq)) != 0)
        return rq ? clu__ctl_answer(cl, rq, rq_path) : 0;
    if (rq && rq->type == CLU_REQ_ALTER_PARTITION)
        answer_state(&c->recs, rq);
    return write_plan(cl, rq, rq_path);
}
