/*
 * ctl_work.c - what the active controller reacts to, each turned into repl_ctl events:
 *
 *   the live registrations        -> BROKER_LOST / BROKER_REGISTERED     (clu__broker_events)
 *     differ from what it knows
 *   /admin/delete_topics/<t>      -> TOPIC_DELETE
 *   /controller_requests/...      -> ISR_CHANGE, BROKER_SHUTDOWN, TOPIC_CREATE,
 *                                    PARTITIONS_ADD, ELECT_LEADERS, answered in the (last)
 *                                    transaction of the change
 *   the rebalance timer           -> PREFERRED
 *
 * Requests are handled in their sequence order, each once per term; a request whose
 * transaction keeps failing is refused after CLU_REQUEST_ATTEMPTS tries, so one poisoned
 * request cannot stall the controller forever. The checks Kafka's controller makes before
 * an AlterPartition reaches the state machine are here: the broker epoch (KIP-380: a
 * request from an older incarnation of the broker is STALE_BROKER_EPOCH), and a retry of
 * a committed change (same leader epoch, same ISR, older partition epoch) is answered with
 * the current state instead of INVALID_UPDATE_VERSION.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_int.h"
#include "kc_common.h"

#define DEFER 2 /* a request from a broker registration the controller has not read yet */

static struct clu_handled *seen(struct clu_controller *c, const char *name)
{
    for (size_t i = 0; i < c->nseen; i++)
        if (strcmp(c->seen[i].name, name) == 0) {
            c->seen[i].present = true;
            return &c->seen[i];
        }
    if (c->nseen == c->cap_seen) {
        size_t cap = c->cap_seen ? c->cap_seen * 2 : 16;
        struct clu_handled *v = realloc(c->seen, cap * sizeof(*v));
        if (!v)
            return NULL;
        c->seen = v;
        c->cap_seen = cap;
    }
    struct clu_handled *h = &c->seen[c->nseen++];
    memset(h, 0, sizeof(*h));
    strlcpy(h->name, name, sizeof(h->name));
    h->present = true;
    return h;
}

/* Forget the entries of `prefix` the last full listing did not show (seen() marks the
 * ones it did), and clear the marks for the next listing. */
static void prune(struct clu_controller *c, const char *prefix)
{
    size_t n = strlen(prefix), k = 0;
    for (size_t i = 0; i < c->nseen; i++) {
        struct clu_handled h = c->seen[i];
        bool mine = strncmp(h.name, prefix, n) == 0;
        if (mine && !h.present)
            continue;
        if (mine)
            h.present = false;
        c->seen[k++] = h;
    }
    c->nseen = k;
}

static int brokers_step(struct clu *cl)
{
    struct clu_controller *c = &cl->c;
    size_t cap = cl->nlive + c->ctl.nbrokers + 1;
    struct repl_event *ev = calloc(cap, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    int n = clu__broker_events(&c->ctl, cl->live, cl->nlive, ev, cap);
    int rc = n < 0 ? n : 0;
    for (int i = 0; i < n && rc == 0 && c->active; i++) {
        kc_log_info("cluster: controller %d: broker %d %s (broker epoch %lld)",
                    (int)cl->cfg.broker_id, (int)ev[i].id,
                    ev[i].type == REPL_EV_BROKER_LOST ? "is gone" : "registered",
                    (long long)ev[i].epoch);
        rc = clu__ctl_run(cl, &ev[i], NULL, NULL, NULL);
    }
    free(ev);
    if (rc == 0)
        cl->dirty &= ~(unsigned)CLU_DIRTY_CTL_BROKERS;
    return rc < 0 ? rc : 0;
}

/* A plain deletion, fenced like every controller write. */
static int delete_fenced(struct clu *cl, const char *path)
{
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    zoo_check_op_init(&ops[0], CLU_ZK_CONTROLLER_EPOCH, cl->c.epoch_version);
    zoo_delete_op_init(&ops[1], path, -1);
    int rc = zoo_multi(cl->zh, 2, ops, res);
    if (rc == ZOK || (rc == ZNONODE && res[0].err == ZOK))
        return 0;
    if (res[0].err == ZBADVERSION || res[0].err == ZNONODE)
        clu__ctl_resign(cl, "deposed: /controller_epoch moved on");
    return -1;
}

static int delete_one(struct clu *cl, const char *topic)
{
    char path[CLU_PATH_MAX], cfg[CLU_PATH_MAX], key[REPL_TOPIC_MAX + 16];
    struct Stat st;
    clu_path_delete_topic(path, sizeof(path), topic);
    snprintf(key, sizeof(key), "delete:%s", topic);
    struct clu_handled *h = seen(&cl->c, key);
    if (!h)
        return -ENOMEM;
    if (!repl_ctl_topic(&cl->c.ctl, topic) || h->attempts >= CLU_REQUEST_ATTEMPTS) {
        if (h->attempts >= CLU_REQUEST_ATTEMPTS)
            kc_log_error("cluster: controller: deleting topic %s failed %d times: giving up", topic,
                         h->attempts);
        return delete_fenced(cl, path); /* nothing (more) to delete: drop the request */
    }
    clu_path_topic_config(cfg, sizeof(cfg), topic);
    int zrc = zoo_exists(cl->zh, cfg, 0, &st);
    if (zrc != ZOK && zrc != ZNONODE)
        return -1;
    struct clu_plan_ctx ctx = {.has_config_node = zrc == ZOK, .has_delete_request = true};
    struct repl_event ev = {.type = REPL_EV_TOPIC_DELETE, .topic = topic};
    kc_log_info("cluster: controller %d: deleting topic %s", (int)cl->cfg.broker_id, topic);
    int rc = clu__ctl_run(cl, &ev, &ctx, NULL, NULL);
    h->attempts += rc != 0;
    return rc;
}

static int deletes_step(struct clu *cl)
{
    struct String_vector kids;
    int zrc = clu__zk_children(cl, CLU_ZK_DELETE_TOPICS, true, &kids), rc = zrc == ZOK ? 0 : -1;
    for (int32_t i = 0; rc == 0 && i < kids.count && cl->c.active; i++)
        if (repl_topic_name_valid(kids.data[i]))
            rc = delete_one(cl, kids.data[i]);
    clu__zk_children_free(cl, &kids);
    if (rc == 0 && cl->c.active) {
        prune(&cl->c, "delete:");
        cl->dirty &= ~(unsigned)CLU_DIRTY_DELETES;
    }
    return rc;
}

static bool same_isr(const struct repl_pstate *ps, const struct repl_isr_change *c)
{
    if (ps->nisr != c->nisr)
        return false;
    for (int i = 0; i < c->nisr; i++)
        if (!repl_pstate_in_isr(ps, c->isr[i]))
            return false;
    return true;
}

static int alter_partition(struct clu *cl, struct clu_request *rq, const char *path)
{
    const struct repl_ctl *ctl = &cl->c.ctl;
    const struct repl_broker *b = repl_ctl_broker(ctl, rq->broker);
    const struct repl_pstate *ps = repl_ctl_partition(ctl, rq->topic, rq->partition);
    rq->answered = true;
    if (b && rq->broker_epoch > b->epoch)
        return DEFER;
    if (!b || rq->broker_epoch != b->epoch || b->state == REPL_BROKER_FENCED) {
        rq->error = REPL_STALE_BROKER_EPOCH;
        return clu__ctl_answer(cl, rq, path);
    }
    if (ps && !rq->isr.new_epoch && rq->isr.leader == ps->leader &&
        rq->isr.leader_epoch == ps->leader_epoch &&
        rq->isr.partition_epoch < ps->partition_epoch && same_isr(ps, &rq->isr)) {
        rq->error = 0; /* a retry of what is already committed (Kafka does the same) */
        rq->has_state = true;
        rq->state = *ps;
        return clu__ctl_answer(cl, rq, path);
    }
    struct repl_event ev = {
        .type = REPL_EV_ISR_CHANGE, .topic = rq->topic, .partition = rq->partition, .isr = rq->isr};
    return clu__ctl_run(cl, &ev, NULL, rq, path);
}

/* Would topic's assignment at `partitions` partitions of rf replicas be larger than a
 * transaction can carry (its first unit also holds `extra` bytes: the config)? Then the
 * request is refused (INVALID_PARTITIONS) before any record or plan is built. */
static bool assignment_too_large(struct clu *cl, const char *topic, int32_t partitions, int rf,
                                 size_t extra)
{
    const struct repl_ctl *ctl = &cl->c.ctl;
    int32_t max_id = ctl->nbrokers ? ctl->brokers[ctl->nbrokers - 1].id : 0; /* sorted */
    size_t bytes = clu__plan_assignment_bound(partitions, rf, max_id) + extra + 1024;
    if (bytes <= CLU_MULTI_MAX_BYTES)
        return false;
    kc_log_error("cluster: controller: topic %s at %d partitions needs one ZooKeeper transaction "
                 "of up to %zu bytes for its assignment, more than the %u it writes "
                 "(ZooKeeper's jute.maxbuffer is 1 MiB by default): refused",
                 topic, (int)partitions, bytes, CLU_MULTI_MAX_BYTES);
    return true;
}

/* The request's assignment, if it has one, into *out (malloc'ed; NULL when none): 0, or
 * -1 (out of memory: retried). A list the decoder let through but the parse refuses
 * cannot happen (the same text); it would be answered INVALID_REPLICA_ASSIGNMENT. */
static int request_assigned(const struct clu_request *rq, struct repl_pstate **out)
{
    *out = NULL;
    if (!rq->assignment)
        return 0;
    struct repl_pstate *v = calloc((size_t)rq->nassigned, sizeof(*v));
    if (!v)
        return -1;
    int rc = clu_request_assigned(rq, v);
    if (rc == -ENOMEM) {
        free(v);
        return -1;
    }
    if (rc != 0)
        v[0].nreplicas = 0; /* refused by the state machine as malformed */
    *out = v;
    return 0;
}

static int create_topic(struct clu *cl, struct clu_request *rq, const char *path)
{
    char tpath[CLU_PATH_MAX], id[CLU_UUID_LEN + 1];
    struct Stat st;
    clu_path_topic(tpath, sizeof(tpath), rq->topic);
    int zrc = zoo_exists(cl->zh, tpath, 0, &st);
    if (zrc != ZOK && zrc != ZNONODE)
        return -1;
    rq->answered = true;
    if (zrc == ZOK || clu_uuid_new(id) != 0) {
        /* A creation this term finished for a controller that died writing it: this is
         * the request it was writing (same name and shape, and never answered). */
        bool ours = zrc == ZOK && clu__ctl_finished(&cl->c, rq->topic, rq->partitions,
                                                    rq->replication_factor);
        rq->error = ours ? 0 : zrc == ZOK ? REPL_TOPIC_ALREADY_EXISTS : -1;
        return clu__ctl_answer(cl, rq, path);
    }
    if (assignment_too_large(cl, rq->topic, rq->partitions, rq->replication_factor,
                             rq->config_len)) {
        rq->error = REPL_INVALID_PARTITIONS;
        return clu__ctl_answer(cl, rq, path);
    }
    struct repl_pstate *assigned;
    if (request_assigned(rq, &assigned) != 0)
        return -1;
    struct clu_plan_ctx ctx = {.topic_id = id, .config = rq->config, .config_len = rq->config_len};
    struct repl_event ev = {.type = REPL_EV_TOPIC_CREATE,
                            .topic = rq->topic,
                            .partitions = rq->partitions,
                            .assigned = assigned,
                            .replication = rq->replication_factor};
    int rc = clu__ctl_run(cl, &ev, &ctx, rq, path);
    free(assigned);
    if (rc == 0)
        kc_log_info("cluster: controller %d: topic %s (%d partitions, replication factor %d%s): "
                    "%s", (int)cl->cfg.broker_id, rq->topic, (int)rq->partitions,
                    (int)rq->replication_factor, rq->assignment ? ", assigned" : "",
                    repl_kerr_name(rq->error));
    return rc;
}

/* CreatePartitions. The assignment znode is rewritten whole (Kafka's layout: one
 * "partitions" map), so the controller reads it first: its topic id goes into the new
 * body, and its version makes the write conditional - a topic deleted and created again
 * meanwhile fails the transaction instead of being overwritten. */
static int create_partitions(struct clu *cl, struct clu_request *rq, const char *path)
{
    char tpath[CLU_PATH_MAX];
    struct Stat st;
    struct clu_assignment a = {0};
    int len;
    clu_path_topic(tpath, sizeof(tpath), rq->topic);
    int zrc = clu__zk_get(cl, tpath, false, &len, &st);
    if (zrc != ZOK && zrc != ZNONODE)
        return -1;
    rq->answered = true;
    const struct repl_topic *t = repl_ctl_topic(&cl->c.ctl, rq->topic);
    if (t && t->npart == rq->partitions && clu__ctl_finished(&cl->c, rq->topic, rq->partitions, 0)) {
        rq->error = 0; /* the growth this term finished for a dead controller (as above) */
        return clu__ctl_answer(cl, rq, path);
    }
    if (zrc == ZNONODE || !t || clu_assignment_decode(cl->buf, (size_t)len, &a) != 0 ||
        a.npart != t->npart) {
        bool gone = zrc == ZNONODE || !t;
        rq->error = gone ? REPL_UNKNOWN_TOPIC_OR_PARTITION : -1;
        clu_assignment_fini(&a);
        int rc = clu__ctl_answer(cl, rq, path);
        if (rc == 0 && !gone) /* not what this controller holds: its next term reloads */
            clu__ctl_resign(cl, "a topic's assignment in ZooKeeper differs from its own");
        return rc;
    }
    if (assignment_too_large(cl, rq->topic, rq->partitions, t->npart ? t->parts[0].nreplicas : 1,
                             0)) {
        rq->error = REPL_INVALID_PARTITIONS;
        clu_assignment_fini(&a);
        return clu__ctl_answer(cl, rq, path);
    }
    struct repl_pstate *assigned;
    if (request_assigned(rq, &assigned) != 0) {
        clu_assignment_fini(&a);
        return -1;
    }
    if (assigned && rq->nassigned != rq->partitions - t->npart) {
        rq->error = REPL_INVALID_REPLICA_ASSIGNMENT; /* lists for another count than now */
        free(assigned);
        clu_assignment_fini(&a);
        return clu__ctl_answer(cl, rq, path);
    }
    struct clu_plan_ctx ctx = {.topic_id = a.topic_id, .topic_version = st.version};
    struct repl_event ev = {.type = REPL_EV_PARTITIONS_ADD,
                            .topic = rq->topic,
                            .partitions = rq->partitions,
                            .assigned = assigned};
    int32_t before = t->npart;
    int rc = clu__ctl_run(cl, &ev, &ctx, rq, path);
    free(assigned);
    clu_assignment_fini(&a);
    if (rc == 0)
        kc_log_info("cluster: controller %d: topic %s from %d to %d partitions: %s",
                    (int)cl->cfg.broker_id, rq->topic, (int)before, (int)rq->partitions,
                    repl_kerr_name(rq->error));
    return rc;
}

static int shutdown_broker(struct clu *cl, struct clu_request *rq, const char *path)
{
    const struct repl_broker *b = repl_ctl_broker(&cl->c.ctl, rq->broker);
    if (b && rq->broker_epoch > b->epoch)
        return DEFER;
    struct repl_event ev = {
        .type = REPL_EV_BROKER_SHUTDOWN, .id = rq->broker, .epoch = rq->broker_epoch};
    int rc = clu__ctl_run(cl, &ev, NULL, rq, path);
    if (rc == 0)
        kc_log_info("cluster: controller %d: broker %d shutting down: %s, %d partition(s) still "
                    "led by it",
                    (int)cl->cfg.broker_id, (int)rq->broker, repl_kerr_name(rq->error),
                    (int)rq->remaining);
    return rc;
}

/* ElectLeaders: the listed partitions of one topic, by the pure controller's rules. */
static int elect_leaders(struct clu *cl, struct clu_request *rq, const char *path)
{
    int32_t *parts = malloc((size_t)KC_MAX(rq->nelect, 1) * sizeof(*parts));
    if (!parts)
        return -1;
    if (clu_request_elected(rq, parts) != 0) { /* decode checked it: cannot happen */
        free(parts);
        rq->error = REPL_INVALID_REQUEST;
        return clu__ctl_answer(cl, rq, path);
    }
    struct repl_event ev = {.type = REPL_EV_ELECT_LEADERS,
                            .topic = rq->topic,
                            .election = (enum repl_election)rq->election,
                            .elect = parts,
                            .nelect = rq->nelect};
    int rc = clu__ctl_run(cl, &ev, NULL, rq, path);
    free(parts);
    if (rc == 0)
        kc_log_info("cluster: controller %d: %s election of %d partition(s) of %s asked by "
                    "broker %d: %s, %d left without the leader asked for",
                    (int)cl->cfg.broker_id, rq->election ? "unclean" : "preferred",
                    (int)rq->nelect, rq->topic, (int)rq->broker, repl_kerr_name(rq->error),
                    (int)rq->remaining);
    return rc;
}

/* Read and decode a request node into rq; its body is copied to *body (free it), where
 * rq's config points. 0; 1 (gone, or not a request: dropped); -1 (retry). */
static int read_request(struct clu *cl, const char *path, struct clu_request *rq, char **body)
{
    struct Stat st;
    int len;
    int zrc = clu__zk_get(cl, path, false, &len, &st);
    if (zrc != ZOK)
        return zrc == ZNONODE ? 1 : -1;
    if (!(*body = malloc((size_t)len + 1)))
        return -1;
    memcpy(*body, cl->buf, (size_t)len + 1); /* cl->buf is the next read's */
    if (clu_request_decode(*body, (size_t)len, rq) == 0)
        return 0;
    kc_log_error("cluster: controller: %s is not a request: %.200s", path, *body);
    free(*body);
    *body = NULL;
    return delete_fenced(cl, path) == 0 ? 1 : -1;
}

/* One request node: 0 handled (or nothing to do), DEFER, or < 0. */
static int request_one(struct clu *cl, const char *name)
{
    char path[CLU_PATH_MAX], *body = NULL;
    struct clu_request rq;
    struct clu_handled *h = seen(&cl->c, name);
    if (!h)
        return -ENOMEM;
    if (h->handled)
        return 0;
    snprintf(path, sizeof(path), CLU_ZK_REQUESTS "/%s", name);
    int rc = read_request(cl, path, &rq, &body);
    if (rc != 0) {
        h->handled = rc == 1;
        return rc == 1 ? 0 : -1;
    }
    if (rq.answered && rq.type != CLU_REQ_CONTROLLED_SHUTDOWN) {
        rc = 0; /* answered in an earlier term; the requester will collect it */
    } else if (h->attempts >= CLU_REQUEST_ATTEMPTS) {
        rq.answered = true;
        rq.error = -1; /* UNKNOWN_SERVER_ERROR: its writes kept failing */
        rc = clu__ctl_answer(cl, &rq, path);
    } else if (rq.type == CLU_REQ_ALTER_PARTITION) {
        rc = alter_partition(cl, &rq, path);
    } else if (rq.type == CLU_REQ_CREATE_TOPIC) {
        rc = create_topic(cl, &rq, path);
    } else if (rq.type == CLU_REQ_CREATE_PARTITIONS) {
        rc = create_partitions(cl, &rq, path);
    } else if (rq.type == CLU_REQ_ELECT_LEADERS) {
        rc = elect_leaders(cl, &rq, path);
    } else {
        rc = shutdown_broker(cl, &rq, path);
    }
    free(body);
    h->handled = rc == 0 || rc == CLU_GONE;
    h->attempts += rc < 0;
    return rc == CLU_GONE ? 0 : rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int requests_step(struct clu *cl)
{
    struct String_vector kids;
    int zrc = clu__zk_children(cl, CLU_ZK_REQUESTS, true, &kids), rc = zrc == ZOK ? 0 : -1;
    if (zrc == ZOK)
        qsort(kids.data, (size_t)kids.count, sizeof(kids.data[0]), cmp_str); /* = seq order */
    for (int32_t i = 0; rc == 0 && i < kids.count && cl->c.active; i++)
        rc = request_one(cl, kids.data[i]);
    clu__zk_children_free(cl, &kids);
    if (rc == DEFER) {
        cl->dirty |= CLU_DIRTY_BROKERS; /* read the registrations, then come back */
        return 0;
    }
    if (rc == 0 && cl->c.active) {
        prune(&cl->c, "request_");
        cl->dirty &= ~(unsigned)CLU_DIRTY_REQUESTS;
    }
    return rc;
}

static int rebalance_step(struct clu *cl)
{
    struct repl_event ev = {.type = REPL_EV_PREFERRED};
    cl->c.next_rebalance_ms = kc_mono_ms() + cl->cfg.leader_rebalance_ms;
    return clu__ctl_run(cl, &ev, NULL, NULL, NULL);
}

int clu__ctl_step(struct clu *cl)
{
    int rc = 0;
    /* Compare with the registrations only once the view has read them (CLU_DIRTY_BROKERS
     * clear): an old list would make live brokers look lost. */
    if ((cl->dirty & CLU_DIRTY_CTL_BROKERS) && !(cl->dirty & CLU_DIRTY_BROKERS))
        rc = brokers_step(cl);
    if (rc == 0 && cl->c.active && (cl->dirty & CLU_DIRTY_DELETES))
        rc = deletes_step(cl);
    if (rc == 0 && cl->c.active && (cl->dirty & CLU_DIRTY_REQUESTS))
        rc = requests_step(cl);
    if (rc == 0 && cl->c.active && cl->c.next_rebalance_ms &&
        kc_mono_ms() >= cl->c.next_rebalance_ms)
        rc = rebalance_step(cl);
    return rc == 0 ? 0 : -1;
}
