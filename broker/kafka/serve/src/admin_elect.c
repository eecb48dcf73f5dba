/*
 * admin_elect.c - ElectLeaders (KIP-460): an operator moves leaderships. PREFERRED gives
 * each partition back to its preferred replica - the first of its assignment, where the
 * automatic balancing (auto.leader.rebalance.enable) would put it at its next check;
 * UNCLEAN gives a partition that has no live leader to any live replica, in sync or not,
 * accepting that records only the lost replicas held are gone (the operator's choice, for
 * that partition only, whatever unclean.leader.election.enable says).
 *
 * The checks are Kafka's: ALTER on the CLUSTER (31 for every partition named, and at the
 * top; a request for every partition gets none listed: no topic's name reaches a client
 * not allowed to elect); an election type other than 0 or 1 (42, the same way); then per
 * partition, from this broker's view:
 *
 *   unknown topic or partition                               3  UNKNOWN_TOPIC_OR_PARTITION
 *   already led as asked (the preferred replica leads;       84 ELECTION_NOT_NEEDED
 *     unclean: a live broker leads)
 *   preferred: its first replica not live, or not in sync    80 PREFERRED_LEADER_NOT_AVAILABLE
 *   unclean: no live replica                                 83 ELIGIBLE_LEADERS_NOT_AVAILABLE
 *
 * The others go to the controller, one request per topic (admin_wait.c parks the answer),
 * which elects by the same rules on its own state (repl_ctl.h) and answers how many it
 * could not; the answer waits until this broker's view shows the ones it did, then each
 * partition reads its outcome there: 0 when led as asked, else 80 or 83 (the state moved
 * between this view and the controller's). topic_partitions null means every partition,
 * and then, as Kafka does, the answer leaves out those that needed no election.
 *
 * Alone, this broker leads every partition of its own: each one named is
 * ELECTION_NOT_NEEDED (or unknown), and a null list is answered with none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "sec_acl.h"

typedef struct kp_elect_leaders_resp_replica_election_result el_topic;
typedef struct kp_elect_leaders_resp_partition_result el_part;

/* One (topic, partition) named, before grouping. */
struct el_tp {
    struct kc_slice topic;
    int32_t partition;
};

/* What is asked of the controller: per topic result, its partitions still to elect. */
struct el_ask {
    int32_t topic;   /* index in resp->replica_election_results */
    int32_t *parts;  /* partition indexes (arena) */
    int32_t *slots;  /* where each one's result is, in that topic's partition_result */
    int32_t n;
};

struct el_state {
    int election;
    struct el_ask *asks;
    int32_t nasks;
};

static int cmp_tp(const void *a, const void *b)
{
    const struct el_tp *x = a, *y = b;
    int32_t n = KC_MIN(x->topic.len, y->topic.len);
    int d = n > 0 ? memcmp(x->topic.p, y->topic.p, (size_t)n) : 0;
    if (d == 0)
        d = (x->topic.len > y->topic.len) - (x->topic.len < y->topic.len);
    return d ? d : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Every (topic, partition) the request names, sorted, each once (Kafka takes a set); a
 * null list: every partition of the view (alone: none; the names copied: the view is
 * let go before the answer is). *n of them, or NULL. */
static struct el_tp *named(const struct kp_elect_leaders_req *er, const struct brk_cview *v,
                           struct kp_arena *a, int32_t *n)
{
    int64_t total = 0;
    if (er->topic_partitions.n < 0) {
        for (int t = 0; v && t < v->ntopics; t++)
            total += v->topics[t].npartitions;
    } else {
        for (int32_t t = 0; t < er->topic_partitions.n; t++)
            total += er->topic_partitions.v[t].partitions.n;
    }
    struct el_tp *tp = kp_arena_alloc(a, (size_t)(total + 1) * sizeof(*tp));
    int32_t k = 0;
    if (!tp)
        return NULL;
    if (er->topic_partitions.n < 0) {
        for (int t = 0; v && t < v->ntopics; t++)
            for (int32_t p = 0; p < v->topics[t].npartitions; p++)
                tp[k++] = (struct el_tp){brk__kafka_strf(a, "%s", v->topics[t].name), p};
    } else {
        for (int32_t t = 0; t < er->topic_partitions.n; t++)
            for (int32_t j = 0; j < er->topic_partitions.v[t].partitions.n; j++)
                tp[k++] = (struct el_tp){er->topic_partitions.v[t].topic,
                                         er->topic_partitions.v[t].partitions.v[j]};
    }
    if (k > 1)
        qsort(tp, (size_t)k, sizeof(*tp), cmp_tp);
    int32_t u = 0;
    for (int32_t i = 0; i < k; i++)
        if (u == 0 || cmp_tp(&tp[u - 1], &tp[i]) != 0)
            tp[u++] = tp[i];
    *n = u;
    return tp;
}

static bool listed(const int32_t *v, int32_t n, int32_t id)
{
    for (int32_t i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

/* One partition's check against the view (NULL: alone). NONE: ask the controller. */
static int16_t check(const struct brk_cview *v, struct brk_server *srv, const struct el_tp *tp,
                     int election, struct kp_arena *a, struct kc_slice *msg)
{
    if (!v) {
        struct part_topic *pt;
        if (brk__kafka_topic(srv, tp->topic, &pt) != KP_ERR_NONE || tp->partition < 0 ||
            tp->partition >= part_topic_partitions(pt))
            return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return KP_ERR_ELECTION_NOT_NEEDED; /* alone: this broker leads it */
    }
    const struct brk_ctopic *ct = brk_cview_topic(v, (const char *)tp->topic.p,
                                                  (size_t)KC_MAX(tp->topic.len, 0));
    if (!ct || tp->partition < 0 || tp->partition >= ct->npartitions)
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    const struct brk_cpart *cp = &ct->parts[tp->partition];
    if (election == BRK_ELECTION_UNCLEAN) {
        if (cp->leader >= 0 && brk_cview_broker(v, cp->leader))
            return KP_ERR_ELECTION_NOT_NEEDED;
        if (cp->noffline >= cp->nreplicas) {
            *msg = brk__kafka_strf(a, "No replica of the partition is live.");
            return KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
        }
        return KP_ERR_NONE;
    }
    int32_t pref = cp->nreplicas > 0 ? cp->replicas[0] : -1;
    if (pref >= 0 && cp->leader == pref)
        return KP_ERR_ELECTION_NOT_NEEDED;
    if (pref < 0 || !brk_cview_broker(v, pref) || !listed(cp->isr, cp->nisr, pref)) {
        *msg = brk__kafka_strf(a, "The preferred replica %d is %s.", (int)pref,
                               pref >= 0 && brk_cview_broker(v, pref) ? "not in sync"
                                                                      : "not live");
        return KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE;
    }
    return KP_ERR_NONE;
}

static bool same_topic(struct kc_slice a, struct kc_slice b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* How many entries from i on name tp[i]'s topic. */
static int32_t topic_run(const struct el_tp *tp, int32_t i, int32_t n)
{
    int32_t j = i + 1;
    while (j < n && same_topic(tp[j].topic, tp[i].topic))
        j++;
    return j - i;
}

/* Queue partition p, result slot s of answer topic t, for the controller (cap: room). */
static int queue_ask(struct el_state *st, struct kp_arena *a, int32_t t, int32_t p, int32_t s,
                     int32_t cap)
{
    struct el_ask *q = st->nasks > 0 ? &st->asks[st->nasks - 1] : NULL;
    if (!q || q->topic != t) {
        q = &st->asks[st->nasks++];
        *q = (struct el_ask){.topic = t,
                             .parts = kp_arena_alloc(a, (size_t)cap * sizeof(int32_t)),
                             .slots = kp_arena_alloc(a, (size_t)cap * sizeof(int32_t))};
        if (!q->parts || !q->slots)
            return -ENOMEM;
    }
    q->parts[q->n] = p;
    q->slots[q->n++] = s;
    return 0;
}

/* One partition's result: its check, or the request's refusal (top-level error). */
static int16_t judge(struct brk_conn *c, const struct brk_cview *v, const struct el_tp *tp,
                     int election, int16_t refused, struct kp_arena *a, struct kc_slice *msg)
{
    if (refused == KP_ERR_INVALID_REQUEST)
        *msg = brk__kafka_strf(a, "Unknown election type %d.", election);
    return refused ? refused : check(v, brk_conn_server(c), tp, election, a, msg);
}

/* The answer, every partition checked; those to elect queued in st. NULL: no memory. */
static struct kp_elect_leaders_resp *fill(struct brk_conn *c, struct kp_request *req,
                                          const struct brk_cview *v, struct el_state *st)
{
    const struct kp_elect_leaders_req *er = req->msg;
    struct kp_arena *a = &req->arena;
    struct kp_elect_leaders_resp *resp = kp_new(a, &kp_elect_leaders_resp_schema, 1);
    if (!resp)
        return NULL;
    bool every = er->topic_partitions.n < 0;
    st->election = er->election_type;
    resp->error_code =
        !brk__kafka_allowed(c, SEC_OP_ALTER, SEC_RES_CLUSTER, kp_slice_str(SEC_CLUSTER_NAME))
            ? KP_ERR_CLUSTER_AUTHORIZATION_FAILED
        : st->election != BRK_ELECTION_PREFERRED && st->election != BRK_ELECTION_UNCLEAN
            ? KP_ERR_INVALID_REQUEST
            : KP_ERR_NONE;
    int32_t n = 0; /* refused, "every partition" lists none: no topic name to the refused */
    struct el_tp *tp = named(er, resp->error_code && every ? NULL : v, a, &n);
    el_topic *rt = kp_new(a, &kp_elect_leaders_resp_replica_election_result_schema, KC_MAX(n, 1));
    el_part *rp = kp_new(a, &kp_elect_leaders_resp_partition_result_schema, KC_MAX(n, 1));
    st->asks = kp_arena_alloc(a, (size_t)KC_MAX(n, 1) * sizeof(*st->asks));
    if (!tp || !rt || !rp || !st->asks)
        return NULL;
    int32_t t = -1, kept = 0, run = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i == 0 || !same_topic(tp[i].topic, tp[i - 1].topic))
            run = topic_run(tp, i, n); /* room for this topic's asks */
        el_part *r = &rp[kept];
        r->partition_id = tp[i].partition;
        r->error_code = judge(c, v, &tp[i], st->election, resp->error_code, a, &r->error_message);
        if (every && r->error_code == KP_ERR_ELECTION_NOT_NEEDED)
            continue; /* Kafka leaves these out of an answer for every partition */
        if (t < 0 || !same_topic(rt[t].topic, tp[i].topic)) {
            rt[++t].topic = tp[i].topic;
            KP_SET(rt[t].partition_result, 0, r);
        }
        if (r->error_code == KP_ERR_NONE &&
            queue_ask(st, a, t, tp[i].partition, rt[t].partition_result.n, run) != 0)
            return NULL;
        rt[t].partition_result.n++;
        kept++;
    }
    KP_SET(resp->replica_election_results, t + 1, rt);
    return resp;
}

/* The member's side of asking: ask i of the parked request. */
static int ask_elect(struct brk__kafka_cwait *cw, int32_t i, struct brk_cluster_waiter *w,
                     void *arg)
{
    const struct el_state *st = arg;
    const struct el_ask *q = &st->asks[i];
    const struct kp_elect_leaders_resp *resp = cw->resp;
    struct kc_slice topic = resp->replica_election_results.v[q->topic].topic;
    char name[PART_NAME_MAX + 1];
    if (topic.len <= 0 || topic.len > PART_NAME_MAX)
        return -EINVAL; /* a topic the view knows: cannot be */
    memcpy(name, topic.p, (size_t)topic.len);
    name[topic.len] = '\0';
    return brk_cluster_elect_leaders(cw->srv, name, st->election, q->parts, q->n, w);
}

/* Every ask's partitions: refused or timed out as the controller's answer says, else led
 * as asked in the view now (0), or not (80 / 83: the state moved meanwhile). */
static void settle(struct brk__kafka_cwait *cw)
{
    struct kp_elect_leaders_resp *resp = cw->resp;
    const struct el_state *st = cw->user;
    struct brk_cview *v = brk_cluster_view(cw->srv);
    struct kp_arena *a = &cw->req.arena;
    for (int32_t i = 0; i < st->nasks; i++) {
        const struct el_ask *q = &st->asks[i];
        el_topic *rt = &resp->replica_election_results.v[q->topic];
        int16_t code;
        struct kc_slice msg = {NULL, -1};
        bool refused = brk__kafka_cwait_refusal(cw, i, "elected the leaders", &code, &msg);
        if (!cw->t[i].waiting) { /* never asked: the member could not take it */
            refused = true;
            code = KP_ERR_UNKNOWN_SERVER_ERROR;
            msg = brk__kafka_strf(a, "The controller could not be asked.");
        }
        for (int32_t k = 0; k < q->n; k++) {
            el_part *r = &rt->partition_result.v[q->slots[k]];
            struct el_tp tp = {rt->topic, q->parts[k]};
            r->error_code = refused ? code : check(v, cw->srv, &tp, st->election, a,
                                                   &r->error_message);
            if (refused)
                r->error_message = msg;
            else if (r->error_code == KP_ERR_ELECTION_NOT_NEEDED)
                r->error_code = KP_ERR_NONE; /* led as asked: this request's doing */
            else if (r->error_code == KP_ERR_NONE)
                r->error_code = st->election == BRK_ELECTION_UNCLEAN
                                    ? KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE
                                    : KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE;
        }
    }
    brk_cview_put(v);
}

static const struct brk__kafka_cwait_ops elect_ops = {.kind = "elect-leaders", .settle = settle};

int brk__kafka_elect_leaders(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                             size_t len)
{
    const struct kp_elect_leaders_req *er = req->msg;
    struct brk_server *srv = brk_conn_server(c);
    struct el_state st0 = {0};
    struct brk_cview *v = brk_cluster_view(srv);
    if (!v) { /* alone: checked and answered at once */
        struct kp_elect_leaders_resp *resp = fill(c, req, NULL, &st0);
        return resp ? brk__kafka_reply(c, &req->hdr, resp) : -ENOMEM;
    }
    struct brk__kafka_cwait *cw;
    int rc = brk__kafka_cwait_start(c, body, len, 0, er->timeout_ms, &elect_ops, &cw);
    struct el_state *st = rc == 0 ? kp_arena_alloc(&cw->req.arena, sizeof(*st)) : NULL;
    if (rc == 0 && st) {
        *st = (struct el_state){0};
        cw->user = st;
        cw->resp = fill(c, &cw->req, v, st);
    }
    brk_cview_put(v);
    if (rc)
        return rc;
    /* Parked: the park owns cw; a failure closes the connection, which frees it. */
    if (!st || !cw->resp || brk__kafka_cwait_items(cw, st->nasks) != 0)
        return -ENOMEM;
    for (int32_t i = 0; i < st->nasks; i++)
        brk__kafka_cwait_ask(cw, i, ask_elect, st);
    brk__kafka_cwait_go(cw);
    return 0;
}
