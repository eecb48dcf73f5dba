/*
 * ctl_elect.c - who leads: the events that move leadership and ISR membership.
 *
 * Every such event is a pass over the partitions with a rule that turns the current
 * state into a plan (leader, ISR, "leadership moved"), and a record for each plan that
 * differs. Rules compose: a broker that restarts before its old session expired (a
 * bounce) is first "lost" then "registered" in the same plan, so its partitions get one
 * record, one epoch bump, and the old incarnation's epoch is fenced.
 *
 *   lose(b)        b leaves the ISR unless it is the last member (the last member keeps
 *                  its place: it alone may hold every acknowledged record, and it may
 *                  come back); if b led, elect
 *   offline        a partition with no leader elects one if it can
 *   shutdown(b)    if b leads and another live ISR member exists, it leads instead, and b
 *                  leaves the ISR; if none exists b keeps leading (counted in `remaining`
 *                  if another replica is live and may yet catch up: the broker may retry,
 *                  or go and take the partition offline); if b only
 *                  follows, it leaves the ISR unless it is the last member
 *   preferred      the first replica leads again if it is live and in the ISR
 *   elect_leaders  an operator's ElectLeaders: preferred, or unclean, for listed
 *                  partitions only
 *
 *   elect          the first replica, in assignment order, that is live and in the ISR;
 *                  none: offline (leader -1, ISR kept) - or, with unclean election
 *                  enabled, the first live replica, with the ISR reset to it alone
 *
 * (Kafka keeps an index from broker to partitions; this pass looks at every partition,
 * which is simple and fast enough for thousands of them.)
 */
#include <string.h>

#include "kc_common.h"
#include "repl_int.h"

/* What an event does to one partition, before it becomes a record. */
struct plan {
    int32_t leader;
    int nisr;
    int32_t isr[REPL_MAX_REPLICAS];
    bool moved; /* leadership was taken or given: the leader epoch must change */
};

typedef void (*plan_fn)(const struct repl_ctl *ctl, const struct repl_pstate *ps, struct plan *pl,
                        void *arg);

bool repl__broker_live(const struct repl_ctl *ctl, int32_t id)
{
    const struct repl_broker *b = repl_ctl_broker(ctl, id);
    return b && b->state == REPL_BROKER_LIVE;
}

int repl__isr_without(const int32_t *isr, int nisr, int32_t id, int32_t *out)
{
    int n = 0;
    for (int i = 0; i < nisr; i++)
        if (isr[i] != id)
            out[n++] = isr[i];
    return n;
}

static bool in_list(const int32_t *v, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

/* May `id` lead (or join an ISR) in this event? `newly_live` registers in this event. */
static bool acceptable(const struct repl_ctl *ctl, int32_t id, int32_t excluded, int32_t newly_live)
{
    if (id == excluded)
        return false;
    return id == newly_live || repl__broker_live(ctl, id);
}

int32_t repl__best_leader(const struct repl_ctl *ctl, const struct repl_pstate *ps,
                          const int32_t *isr, int nisr, int32_t excluded)
{
    for (int i = 0; i < ps->nreplicas; i++)
        if (in_list(isr, nisr, ps->replicas[i]) && acceptable(ctl, ps->replicas[i], excluded, -1))
            return ps->replicas[i];
    return REPL_NO_LEADER;
}

static void plan_elect_as(const struct repl_ctl *ctl, const struct repl_pstate *ps,
                          struct plan *pl, int32_t excluded, int32_t newly_live, bool unclean_ok);

static void plan_elect(const struct repl_ctl *ctl, const struct repl_pstate *ps, struct plan *pl,
                       int32_t excluded, int32_t newly_live)
{
    plan_elect_as(ctl, ps, pl, excluded, newly_live, ctl->cfg.unclean_leader_election);
}

/* plan_elect, with unclean election allowed or not (the configuration's, or an operator's
 * ElectLeaders of type UNCLEAN for one partition). */
static void plan_elect_as(const struct repl_ctl *ctl, const struct repl_pstate *ps,
                          struct plan *pl, int32_t excluded, int32_t newly_live, bool unclean_ok)
{
    int32_t unclean = REPL_NO_LEADER;
    for (int i = 0; i < ps->nreplicas; i++) {
        int32_t r = ps->replicas[i];
        if (!acceptable(ctl, r, excluded, newly_live))
            continue;
        if (unclean == REPL_NO_LEADER)
            unclean = r;
        if (in_list(pl->isr, pl->nisr, r)) {
            pl->moved |= r != pl->leader;
            pl->leader = r;
            return;
        }
    }
    if (unclean_ok && unclean != REPL_NO_LEADER) {
        /* Data loss by configuration: the new leader's log is the truth from now on. */
        pl->leader = unclean;
        pl->nisr = 1;
        pl->isr[0] = unclean;
        pl->moved = true;
        return;
    }
    pl->moved |= pl->leader != REPL_NO_LEADER;
    pl->leader = REPL_NO_LEADER; /* offline, ISR kept: only its members may lead later */
}

static void plan_lose(const struct repl_ctl *ctl, const struct repl_pstate *ps, struct plan *pl,
                      int32_t id)
{
    if (pl->nisr > 1)
        pl->nisr = repl__isr_without(pl->isr, pl->nisr, id, pl->isr);
    if (pl->leader == id)
        plan_elect(ctl, ps, pl, id, -1);
}

static void plan_offline(const struct repl_ctl *ctl, const struct repl_pstate *ps, struct plan *pl,
                         int32_t newly_live)
{
    if (pl->leader == REPL_NO_LEADER)
        plan_elect(ctl, ps, pl, -1, newly_live);
}

int repl__emit_part(const struct repl_ctl *ctl, struct repl_recs *out, const char *topic,
                    int32_t partition, const struct repl_pstate *next)
{
    struct repl_rec rec = {.type = REPL_REC_PARTITION, .controller_epoch = ctl->controller_epoch};
    strlcpy(rec.u.part.topic, topic, sizeof(rec.u.part.topic));
    rec.u.part.partition = partition;
    rec.u.part.ps = *next;
    return repl__emit(out, &rec);
}

/* The plan's record, if it changes anything. */
static int plan_emit(const struct repl_ctl *ctl, struct repl_recs *out, const char *topic,
                     int32_t partition, const struct repl_pstate *ps, const struct plan *pl)
{
    bool same_isr =
        pl->nisr == ps->nisr && memcmp(pl->isr, ps->isr, (size_t)pl->nisr * sizeof(int32_t)) == 0;
    if (!pl->moved && pl->leader == ps->leader && same_isr)
        return 0;
    struct repl_pstate next = *ps;
    next.leader = pl->leader;
    next.nisr = pl->nisr;
    memcpy(next.isr, pl->isr, sizeof(next.isr));
    next.partition_epoch++;
    if (pl->moved)
        next.leader_epoch++; /* every leader change, and every revoked leadership */
    return repl__emit_part(ctl, out, topic, partition, &next);
}

static int plan_all(const struct repl_ctl *ctl, struct repl_recs *out, plan_fn fn, void *arg)
{
    for (size_t t = 0; t < ctl->ntopics; t++) {
        const struct repl_topic *tp = &ctl->topics[t];
        for (int32_t p = 0; p < tp->npart; p++) {
            const struct repl_pstate *ps = &tp->parts[p];
            struct plan pl = {.leader = ps->leader, .nisr = ps->nisr, .moved = false};
            memcpy(pl.isr, ps->isr, sizeof(pl.isr));
            fn(ctl, ps, &pl, arg);
            int rc = plan_emit(ctl, out, tp->name, p, ps, &pl);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int emit_broker(const struct repl_ctl *ctl, struct repl_recs *out, enum repl_rec_type type,
                       const struct repl_broker *b)
{
    struct repl_rec rec = {.type = type, .controller_epoch = ctl->controller_epoch};
    rec.u.broker = *b;
    return repl__emit(out, &rec);
}

/* ---- registration: a broker (re)joins ---- */

static void rule_registered(const struct repl_ctl *ctl, const struct repl_pstate *ps,
                            struct plan *pl, void *arg)
{
    const struct repl_broker *b = arg;
    const struct repl_broker *cur = repl_ctl_broker(ctl, b->id);
    if (cur && cur->state != REPL_BROKER_FENCED)
        plan_lose(ctl, ps, pl, b->id); /* a bounce: the old incarnation goes first */
    plan_offline(ctl, ps, pl, b->id);
}

int repl__ctl_broker_registered(const struct repl_ctl *ctl, const struct repl_event *ev,
                                struct repl_recs *out)
{
    struct repl_broker b = {.id = ev->id, .epoch = ev->epoch, .state = REPL_BROKER_LIVE};
    if (ev->id < 0 || ev->epoch < 0 || !ev->endpoint ||
        strlcpy(b.endpoint, ev->endpoint, sizeof(b.endpoint)) >= sizeof(b.endpoint)) {
        out->error = REPL_INVALID_REQUEST;
        return 0;
    }
    const struct repl_broker *cur = repl_ctl_broker(ctl, ev->id);
    if (cur && cur->epoch == ev->epoch && cur->state == REPL_BROKER_LIVE)
        return 0; /* the same registration again */
    if (cur && ev->epoch <= cur->epoch) {
        out->error = REPL_STALE_BROKER_EPOCH;
        return 0;
    }
    int rc = emit_broker(ctl, out, REPL_REC_BROKER, &b);
    return rc < 0 ? rc : plan_all(ctl, out, rule_registered, &b);
}

/* ---- loss: the session is gone ---- */

static void rule_lost(const struct repl_ctl *ctl, const struct repl_pstate *ps, struct plan *pl,
                      void *arg)
{
    plan_lose(ctl, ps, pl, *(const int32_t *)arg);
}

/* The broker's registration, if (id, epoch) names it; else out->error says why not. */
static const struct repl_broker *registered(const struct repl_ctl *ctl, int32_t id, int64_t epoch,
                                            struct repl_recs *out)
{
    const struct repl_broker *cur = repl_ctl_broker(ctl, id);
    if (!cur)
        out->error = REPL_BROKER_ID_NOT_REGISTERED;
    else if (cur->epoch != epoch)
        out->error = REPL_STALE_BROKER_EPOCH;
    return out->error ? NULL : cur;
}

int repl__ctl_broker_lost(const struct repl_ctl *ctl, int32_t id, int64_t epoch,
                          struct repl_recs *out)
{
    const struct repl_broker *cur = registered(ctl, id, epoch, out);
    if (!cur || cur->state == REPL_BROKER_FENCED)
        return 0;
    struct repl_broker b = *cur;
    b.state = REPL_BROKER_FENCED;
    int rc = emit_broker(ctl, out, REPL_REC_BROKER_STATE, &b);
    return rc < 0 ? rc : plan_all(ctl, out, rule_lost, &b.id);
}

/* ---- controlled shutdown ---- */

struct shutdown {
    int32_t id;
    int32_t remaining;
};

static bool other_live_replica(const struct repl_ctl *ctl, const struct repl_pstate *ps,
                               int32_t id)
{
    for (int i = 0; i < ps->nreplicas; i++)
        if (ps->replicas[i] != id && repl__broker_live(ctl, ps->replicas[i]))
            return true;
    return false;
}

static void rule_shutdown(const struct repl_ctl *ctl, const struct repl_pstate *ps, struct plan *pl,
                          void *arg)
{
    struct shutdown *sd = arg;
    if (pl->leader == sd->id) {
        int32_t next = repl__best_leader(ctl, ps, pl->isr, pl->nisr, sd->id);
        if (next == REPL_NO_LEADER) {
            /* nobody else may lead it without losing records. It is waited for only while
             * another live replica could still catch up and take it; with none (one
             * replica, or the last broker of the cluster stopping) waiting changes
             * nothing: it goes offline with the broker (Kafka's controller counts only
             * replicated partitions, and would retry in vain for the last broker) */
            if (other_live_replica(ctl, ps, sd->id))
                sd->remaining++;
            return;
        }
        pl->leader = next;
        pl->moved = true;
    }
    if (pl->nisr > 1)
        pl->nisr = repl__isr_without(pl->isr, pl->nisr, sd->id, pl->isr);
}

int repl__ctl_broker_shutdown(const struct repl_ctl *ctl, const struct repl_event *ev,
                              struct repl_recs *out)
{
    const struct repl_broker *cur = registered(ctl, ev->id, ev->epoch, out);
    if (!cur)
        return 0;
    if (cur->state == REPL_BROKER_FENCED) {
        out->error = REPL_BROKER_NOT_AVAILABLE;
        return 0;
    }
    if (cur->state == REPL_BROKER_LIVE) {
        struct repl_broker b = *cur;
        b.state = REPL_BROKER_SHUTTING_DOWN;
        int rc = emit_broker(ctl, out, REPL_REC_BROKER_STATE, &b);
        if (rc < 0)
            return rc;
    }
    struct shutdown sd = {ev->id, 0};
    int rc = plan_all(ctl, out, rule_shutdown, &sd);
    out->remaining = sd.remaining;
    return rc;
}

/* ---- preferred leaders, offline partitions ---- */

static void rule_preferred(const struct repl_ctl *ctl, const struct repl_pstate *ps,
                           struct plan *pl, void *arg)
{
    (void)arg;
    int32_t pref = ps->replicas[0];
    if (pl->leader != pref && repl__broker_live(ctl, pref) && in_list(pl->isr, pl->nisr, pref)) {
        pl->leader = pref;
        pl->moved = true;
    }
}

int repl__ctl_preferred(const struct repl_ctl *ctl, struct repl_recs *out)
{
    return plan_all(ctl, out, rule_preferred, NULL);
}

static void rule_offline(const struct repl_ctl *ctl, const struct repl_pstate *ps, struct plan *pl,
                         void *arg)
{
    plan_offline(ctl, ps, pl, *(const int32_t *)arg);
}

int repl__ctl_elect_offline(const struct repl_ctl *ctl, int32_t newly_live, struct repl_recs *out)
{
    return plan_all(ctl, out, rule_offline, &newly_live);
}

/* ---- an operator's election (ElectLeaders) ---- */

/* Plan one listed partition; true if it ends with the leader the election asks for. */
static bool plan_asked(const struct repl_ctl *ctl, const struct repl_event *ev,
                       const struct repl_pstate *ps, struct plan *pl)
{
    if (ev->election == REPL_ELECTION_PREFERRED) {
        rule_preferred(ctl, ps, pl, NULL);
        return pl->leader == ps->replicas[0];
    }
    if (!repl__broker_live(ctl, pl->leader))
        plan_elect_as(ctl, ps, pl, -1, -1, true);
    return repl__broker_live(ctl, pl->leader);
}

int repl__ctl_elect_leaders(const struct repl_ctl *ctl, const struct repl_event *ev,
                            struct repl_recs *out)
{
    const struct repl_topic *tp = ev->topic ? repl_ctl_topic(ctl, ev->topic) : NULL;
    bool ok = ev->nelect >= 0 && (ev->nelect == 0 || ev->elect) &&
              (ev->election == REPL_ELECTION_PREFERRED || ev->election == REPL_ELECTION_UNCLEAN);
    for (int32_t i = 1; ok && i < ev->nelect; i++)
        ok = ev->elect[i - 1] < ev->elect[i]; /* once each: one record per partition */
    if (!tp || !ok) {
        out->error = !tp ? REPL_UNKNOWN_TOPIC_OR_PARTITION : REPL_INVALID_REQUEST;
        return 0;
    }
    int32_t left = 0;
    for (int32_t i = 0; i < ev->nelect; i++) {
        int32_t p = ev->elect[i];
        if (p < 0 || p >= tp->npart) {
            left++;
            continue;
        }
        const struct repl_pstate *ps = &tp->parts[p];
        struct plan pl = {.leader = ps->leader, .nisr = ps->nisr, .moved = false};
        memcpy(pl.isr, ps->isr, sizeof(pl.isr));
        left += !plan_asked(ctl, ev, ps, &pl);
        int rc = plan_emit(ctl, out, tp->name, p, ps, &pl);
        if (rc < 0)
            return rc;
    }
    out->remaining = left;
    return 0;
}
