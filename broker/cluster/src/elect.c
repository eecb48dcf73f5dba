/*
 * elect.c - the controller election, taking office, and leaving it.
 *
 *   every broker                       the winner
 *   ------------                       ----------
 *   exists(/controller, watch)         multi { create /controller (EPHEMERAL, our id),
 *   absent: run for election     -->           setData /controller_epoch = E + 1 at the
 *   present: someone leads; the                version we read it at }
 *   watch fires when it goes           one transaction: we hold the node AND bumped the
 *                                      epoch, or neither
 *                                      load the whole state from ZooKeeper into a repl_ctl
 *                                      ELECTED: leaders for offline partitions
 *                                      brokers that vanished while nobody was controller:
 *                                      BROKER_LOST (ctl_work.c)
 *
 * The version of /controller_epoch after our bump (E+1 at version v) is the fence: every
 * later write of ours checks it in the same transaction. A newer controller bumps it again,
 * so a zombie's writes fail - however late they arrive - and it resigns. This is Kafka's
 * "controller epoch zkVersion" check (KAFKA-6082, Kafka 2.2).
 *
 * Taking office again. When a write of ours fails for a reason other than the fence (a
 * connection lost mid-transaction: did it land or not?), the controller resigns without
 * giving up /controller; the next check finds the node still ours, with our epoch, and
 * takes office again: a full reload from ZooKeeper, the only source of truth.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_int.h"
#include "kc_common.h"

void clu__ctl_note(struct clu *cl)
{
    struct clu_view *v = &cl->view;
    bool self = cl->c.active;
    if (!cl->resend && v->told_id == v->controller_id && v->told_epoch == v->controller_epoch &&
        v->told_self == self)
        return;
    struct clu_note *n = clu__note_new(CLU_NOTE_CONTROLLER);
    if (n) {
        n->u.controller.id = v->controller_id;
        n->u.controller.epoch = v->controller_epoch;
        n->u.controller.self = self;
    }
    clu__note_push(cl, n);
    v->told_id = v->controller_id;
    v->told_epoch = v->controller_epoch;
    v->told_self = self;
}

void clu__ctl_resign(struct clu *cl, const char *why)
{
    struct clu_controller *c = &cl->c;
    if (!c->active)
        return;
    kc_log_warn("cluster: broker %d resigns as controller (epoch %d): %s", (int)cl->cfg.broker_id,
                (int)c->epoch, why);
    c->active = false;
    repl_ctl_fini(&c->ctl);
    repl_recs_reset(&c->recs);
    clu__unfinished_free(c);
    cl->dirty |= CLU_DIRTY_CONTROLLER;
    cl->view.controller_id = -1; /* not us; who, the next check will read */
    clu__ctl_note(cl);
}

/* /controller_epoch's value and version, created at 0 when missing (Kafka's
 * maybeCreateControllerEpochZNode). */
static int read_epoch(struct clu *cl, int32_t *epoch, int32_t *version)
{
    struct Stat st;
    int len;
    int rc = clu__zk_get(cl, CLU_ZK_CONTROLLER_EPOCH, false, &len, &st);
    if (rc == ZNONODE) {
        rc = zoo_create(cl->zh, CLU_ZK_CONTROLLER_EPOCH, "0", 1, &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_PERSISTENT, NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS)
            return rc;
        rc = clu__zk_get(cl, CLU_ZK_CONTROLLER_EPOCH, false, &len, &st);
    }
    if (rc != ZOK)
        return rc;
    if (clu_epoch_decode(cl->buf, (size_t)len, epoch) != 0) {
        kc_log_error("cluster: %s holds '%.40s', not an epoch: no election is possible",
                     CLU_ZK_CONTROLLER_EPOCH, cl->buf);
        return ZBADARGUMENTS;
    }
    *version = st.version;
    return ZOK;
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Write the states a dead controller left unwritten (ctl_load.c): 0, or < 0 (resigned). */
static int finish_unfinished(struct clu *cl)
{
    struct clu_controller *c = &cl->c;
    struct clu_plan_ctx ctx = {.assigned = true};
    for (size_t i = 0; i < c->nunfinished && c->active; i++) {
        struct clu_unfinished *u = &c->unfinished[i];
        kc_log_warn("cluster: controller %d: topic %s: partitions %d-%d have replicas but no "
                    "state (a controller died writing them): writing them now",
                    (int)cl->cfg.broker_id, u->topic, (int)(u->total - u->nassigned),
                    (int)(u->total - 1));
        struct repl_event ev = {.type = REPL_EV_PARTITIONS_ASSIGNED,
                                .topic = u->topic,
                                .partitions = u->total,
                                .assigned = u->assigned};
        int rc = clu__ctl_run(cl, &ev, &ctx, NULL, NULL);
        if (rc != 0)
            return rc;
        if (c->recs.error) {
            kc_log_error("cluster: controller %d: topic %s's unwritten partitions refused (%s): "
                         "they stay without a leader", (int)cl->cfg.broker_id, u->topic,
                         repl_kerr_name(c->recs.error));
            u->total = -1; /* not finished: no request is answered as done for it */
        }
    }
    return 0;
}

/* Take office: load, decide ELECTED, write, replay; finish what a dead controller left. */
static int activate(struct clu *cl, int32_t epoch, int32_t version)
{
    struct clu_controller *c = &cl->c;
    int64_t t0 = kc_mono_ms();
    struct repl_ctl_config cfg = {.unclean_leader_election = cl->cfg.unclean_leader_election,
                                  .seed = fnv(cl->cluster_id)}; /* every controller places alike */
    repl_ctl_init(&c->ctl, &cfg);
    c->active = true;
    c->epoch = epoch;
    c->epoch_version = version;
    int rc = clu__ctl_load(cl, c);
    if (rc != ZOK) {
        clu__ctl_resign(cl, "loading the state failed");
        return rc;
    }
    c->ctl.controller_epoch = epoch - 1; /* ELECTED's record brings it to ours */
    for (size_t i = 0; i < c->nseen; i++)
        c->seen[i].handled = false;
    struct repl_event ev = {.type = REPL_EV_ELECTED, .id = cl->cfg.broker_id};
    rc = clu__ctl_run(cl, &ev, NULL, NULL, NULL);
    if (rc == 0)
        rc = finish_unfinished(cl);
    if (rc != 0)
        return ZSYSTEMERROR; /* it resigned; the next check tries again */
    c->active_since_ms = kc_mono_ms();
    c->next_rebalance_ms =
        cl->cfg.leader_rebalance_ms ? c->active_since_ms + cl->cfg.leader_rebalance_ms : 0;
    /* The view's list of registrations may be older than what was just loaded: read it
     * again before comparing, or a broker that registered in between would look lost. */
    cl->dirty |= CLU_DIRTY_BROKERS | CLU_DIRTY_CTL_BROKERS | CLU_DIRTY_DELETES | CLU_DIRTY_REQUESTS;
    size_t parts = 0;
    for (size_t i = 0; i < c->ctl.ntopics; i++)
        parts += (size_t)c->ctl.topics[i].npart;
    kc_log_info("cluster: broker %d is the controller, epoch %d: loaded %zu brokers, %zu topics, "
                "%zu partitions in %lld ms",
                (int)cl->cfg.broker_id, (int)epoch, c->ctl.nbrokers, c->ctl.ntopics, parts,
                (long long)(kc_mono_ms() - t0));
    pthread_mutex_lock(&cl->status_lock);
    cl->status.elections_won++;
    pthread_mutex_unlock(&cl->status_lock);
    return ZOK;
}

/* Run for election: Kafka's registerControllerAndIncrementControllerEpoch. */
static int elect(struct clu *cl)
{
    int32_t epoch, version;
    int rc = read_epoch(cl, &epoch, &version);
    if (rc != ZOK)
        return rc;
    char body[128], next[16];
    struct kc_writer w, we;
    kc_writer_init_fixed(&w, body, sizeof(body));
    kc_writer_init_fixed(&we, next, sizeof(next));
    clu_controller_encode(cl->cfg.broker_id, kc_wall_ms(), &w);
    clu_epoch_encode(epoch + 1, &we);
    struct Stat st;
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    zoo_create_op_init(&ops[0], CLU_ZK_CONTROLLER, body, (int)kc_writer_len(&w),
                       &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
    zoo_set_op_init(&ops[1], CLU_ZK_CONTROLLER_EPOCH, next, (int)kc_writer_len(&we), version, &st);
    rc = zoo_multi(cl->zh, 2, ops, res);
    if (rc == ZNODEEXISTS || rc == ZBADVERSION) {
        cl->dirty |= CLU_DIRTY_CONTROLLER; /* someone else won: look who */
        return ZOK;
    }
    if (rc != ZOK)
        return rc; /* maybe it landed: the next check sees /controller is ours */
    cl->view.controller_id = cl->cfg.broker_id;
    cl->view.controller_epoch = epoch + 1;
    return activate(cl, epoch + 1, st.version);
}

/* /controller exists: whose is it? */
static int who(struct clu *cl)
{
    struct Stat st;
    int32_t id = -1, epoch, version;
    int len;
    int rc = clu__zk_get(cl, CLU_ZK_CONTROLLER, false, &len, &st);
    if (rc == ZNONODE) {
        cl->dirty |= CLU_DIRTY_CONTROLLER; /* gone meanwhile: the watch fires */
        return ZOK;
    }
    if (rc != ZOK)
        return rc;
    if (clu_controller_decode(cl->buf, (size_t)len, &id) != 0)
        kc_log_error("cluster: %s holds '%.200s', not Kafka's controller registration",
                     CLU_ZK_CONTROLLER, cl->buf);
    int64_t owner = st.ephemeralOwner;
    if ((rc = read_epoch(cl, &epoch, &version)) != ZOK)
        return rc;
    cl->view.controller_id = id;
    cl->view.controller_epoch = epoch;
    bool mine = id == cl->cfg.broker_id && owner == cl->session_id;
    if (mine && !cl->c.active)
        return activate(cl, epoch, version); /* a resync, or a won election's lost answer */
    if (!mine && cl->c.active)
        clu__ctl_resign(cl, "another broker holds /controller");
    return ZOK;
}

int clu__ctl_check(struct clu *cl)
{
    struct Stat st;
    cl->dirty &= ~(unsigned)CLU_DIRTY_CONTROLLER;
    int rc = zoo_exists(cl->zh, CLU_ZK_CONTROLLER, 1, &st); /* watch it, present or not */
    if (rc == ZNONODE) {
        clu__ctl_resign(cl, "/controller is gone");
        cl->view.controller_id = -1;
        rc = elect(cl);
    } else if (rc == ZOK) {
        rc = who(cl);
    }
    if (rc != ZOK) {
        cl->dirty |= CLU_DIRTY_CONTROLLER;
        return -1;
    }
    clu__ctl_note(cl);
    return 0;
}
