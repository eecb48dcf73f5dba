/*
 * ctl_handle.c - the controller's decisions: an event in, records out, state untouched.
 *
 * Topics are placed with Kafka's rack-unaware assignment. Over the live brokers sorted by
 * id, with a random start and shift (here derived from the seed and the topic's name, so
 * the same event always decides the same thing):
 *
 *   brokers 1 2 3 4 5, start 0, shift 0, replication factor 3
 *
 *   p0: 1 2 3    first = brokers[(p + start) % 5]; then steps of 1 + (shift + j) % 4
 *   p1: 2 3 4
 *   ...
 *   p4: 5 1 2
 *   p5: 1 3 4    p wrapped around the brokers: shift + 1, so the followers move too
 *
 * Leaders (each partition's first replica) spread evenly, and so do followers: when a
 * broker dies its partitions' leadership lands on many brokers, not one.
 *
 * An ISR change is the leader's proposal, checked as KRaft's AlterPartition checks it and
 * as a ZooKeeper conditional write would fence it: from the leader, in its current leader
 * epoch, based on the current partition epoch, naming only replicas, keeping the leader,
 * and adding only live brokers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "repl_int.h"
#include "repl_params.h"

void repl_assign_replicas(const int32_t *brokers, int nbrokers, int32_t first, int32_t count,
                          int rf, int start, int shift, int32_t *out)
{
    for (int32_t p = first; p < first + count; p++) {
        if (p > 0 && p % nbrokers == 0)
            shift++;
        int32_t *row = out + (size_t)(p - first) * (size_t)rf;
        int lead = (int)((p + start) % nbrokers);
        row[0] = brokers[lead];
        for (int j = 0; j < rf - 1; j++) /* rf <= nbrokers, so nbrokers > 1 here */
            row[j + 1] = brokers[(lead + 1 + (shift + j) % (nbrokers - 1)) % nbrokers];
    }
}

/* The live brokers' ids, sorted (the brokers array is). */
static int live_brokers(const struct repl_ctl *ctl, int32_t **ids)
{
    int32_t *v = malloc((ctl->nbrokers ? ctl->nbrokers : 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    int n = 0;
    for (size_t i = 0; i < ctl->nbrokers; i++)
        if (ctl->brokers[i].state == REPL_BROKER_LIVE)
            v[n++] = ctl->brokers[i].id;
    *ids = v;
    return n;
}

static uint64_t name_hash(const char *name)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 1099511628211ull;
    return h;
}

/* PARTITION records for partitions [first, first + count) of `topic`. */
static int emit_new_parts(const struct repl_ctl *ctl, struct repl_recs *out, const char *topic,
                          int32_t first, int32_t count, int rf, const int32_t *ids, int n,
                          int start, int shift)
{
    int32_t *rows = malloc((size_t)count * (size_t)rf * sizeof(*rows));
    if (!rows)
        return -ENOMEM;
    repl_assign_replicas(ids, n, first, count, rf, start, shift, rows);
    int rc = 0;
    for (int32_t i = 0; i < count && rc == 0; i++) {
        struct repl_pstate ps = {
            .controller_epoch = ctl->controller_epoch, .nreplicas = rf, .nisr = rf};
        memcpy(ps.replicas, rows + (size_t)i * (size_t)rf, (size_t)rf * sizeof(int32_t));
        memcpy(ps.isr, ps.replicas, sizeof(ps.isr));
        ps.leader = ps.replicas[0];
        rc = repl__emit_part(ctl, out, topic, first + i, &ps);
    }
    free(rows);
    return rc;
}

/* Assigned replicas a partition can have: 1 to REPL_MAX_REPLICAS distinct broker ids. */
static bool assignment_ok(const struct repl_pstate *a)
{
    if (a->nreplicas < 1 || a->nreplicas > REPL_MAX_REPLICAS)
        return false;
    for (int i = 0; i < a->nreplicas; i++) {
        if (a->replicas[i] < 0)
            return false;
        for (int j = 0; j < i; j++)
            if (a->replicas[i] == a->replicas[j])
                return false;
    }
    return true;
}

/* A partition given its replicas: its live ones in sync (its logs are all empty), the
 * first of them leading. NONE, or the event's refusal when no replica is live. */
static int start_assigned(const struct repl_ctl *ctl, const struct repl_pstate *a,
                          struct repl_pstate *ps)
{
    *ps = (struct repl_pstate){.controller_epoch = ctl->controller_epoch,
                               .leader = REPL_NO_LEADER,
                               .nreplicas = a->nreplicas};
    memcpy(ps->replicas, a->replicas, sizeof(ps->replicas));
    for (int k = 0; k < a->nreplicas; k++)
        if (repl__broker_live(ctl, a->replicas[k]))
            ps->isr[ps->nisr++] = a->replicas[k];
    if (ps->nisr == 0)
        return REPL_INVALID_REPLICA_ASSIGNMENT;
    ps->leader = ps->isr[0];
    return 0;
}

/* An operator's assignment of count partitions (KRaft's checks for CreateTopics and
 * CreatePartitions): each list well formed, all of rf replicas, every broker one the
 * controller knows, and at least one of them live. NONE or INVALID_REPLICA_ASSIGNMENT. */
static int check_assigned(const struct repl_ctl *ctl, int32_t count, int rf,
                          const struct repl_pstate *assigned)
{
    struct repl_pstate ps;
    for (int32_t i = 0; i < count; i++) {
        const struct repl_pstate *a = &assigned[i];
        bool known = assignment_ok(a) && a->nreplicas == rf;
        for (int k = 0; known && k < a->nreplicas; k++)
            known = repl_ctl_broker(ctl, a->replicas[k]) != NULL;
        if (!known || start_assigned(ctl, a, &ps) != 0)
            return REPL_INVALID_REPLICA_ASSIGNMENT;
    }
    return 0;
}

/* PARTITION records for partitions [first, first + count) as assigned (checked). */
static int emit_assigned_parts(const struct repl_ctl *ctl, struct repl_recs *out,
                               const char *topic, int32_t first, int32_t count,
                               const struct repl_pstate *assigned)
{
    struct repl_pstate ps;
    int rc = 0;
    for (int32_t i = 0; i < count && rc == 0; i++) {
        start_assigned(ctl, &assigned[i], &ps);
        rc = repl__emit_part(ctl, out, topic, first + i, &ps);
    }
    return rc;
}

static int topic_create(const struct repl_ctl *ctl, const struct repl_event *ev,
                        struct repl_recs *out)
{
    if (!ev->topic || !repl_topic_name_valid(ev->topic))
        out->error = REPL_INVALID_TOPIC_EXCEPTION;
    else if (repl_ctl_topic(ctl, ev->topic))
        out->error = REPL_TOPIC_ALREADY_EXISTS;
    else if (ev->partitions < 1 || ev->partitions > REPL_MAX_PARTITIONS)
        out->error = REPL_INVALID_PARTITIONS;
    else if (ev->assigned) /* the operator's replicas, which may name a broker that is down */
        out->error = check_assigned(ctl, ev->partitions, ev->replication, ev->assigned);
    if (out->error)
        return 0;
    int32_t *ids;
    int n = live_brokers(ctl, &ids);
    if (n < 0)
        return n;
    int rc = 0;
    if (!ev->assigned &&
        (ev->replication < 1 || ev->replication > n || ev->replication > REPL_MAX_REPLICAS)) {
        out->error = REPL_INVALID_REPLICATION_FACTOR;
        goto out;
    }
    struct repl_rec rec = {.type = REPL_REC_TOPIC, .controller_epoch = ctl->controller_epoch};
    strlcpy(rec.u.topic.name, ev->topic, sizeof(rec.u.topic.name));
    rc = repl__emit(out, &rec);
    if (rc == 0 && ev->assigned) {
        rc = emit_assigned_parts(ctl, out, ev->topic, 0, ev->partitions, ev->assigned);
        goto out;
    }
    uint64_t h = name_hash(ev->topic) ^ ctl->cfg.seed;
    int start = (int)(repl__mix(h) % (uint64_t)n);
    int shift = (int)(repl__mix(h + 1) % (uint64_t)n);
    if (rc == 0)
        rc = emit_new_parts(ctl, out, ev->topic, 0, ev->partitions, ev->replication, ids, n, start,
                            shift);
out:
    free(ids);
    return rc;
}

static int partitions_add(const struct repl_ctl *ctl, const struct repl_event *ev,
                          struct repl_recs *out)
{
    const struct repl_topic *t = ev->topic ? repl_ctl_topic(ctl, ev->topic) : NULL;
    if (!t || t->npart < 1) {
        out->error = REPL_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    if (ev->partitions <= t->npart || ev->partitions > REPL_MAX_PARTITIONS) {
        out->error = REPL_INVALID_PARTITIONS; /* partitions are never removed */
        return 0;
    }
    int rf = t->parts[0].nreplicas;
    if (ev->assigned) { /* the operator's, of the topic's replication factor */
        int32_t count = ev->partitions - t->npart;
        out->error = check_assigned(ctl, count, rf, ev->assigned);
        return out->error ? 0
                          : emit_assigned_parts(ctl, out, t->name, t->npart, count, ev->assigned);
    }
    int32_t *ids;
    int n = live_brokers(ctl, &ids);
    if (n < 0)
        return n;
    int rc = 0;
    if (rf > n) {
        out->error = REPL_INVALID_REPLICATION_FACTOR;
        goto out;
    }
    /* Kafka continues from where partition 0's first replica sits, shift and all. */
    int start = (int)(repl__mix(name_hash(t->name) ^ ctl->cfg.seed) % (uint64_t)n);
    for (int i = 0; i < n; i++)
        if (ids[i] == t->parts[0].replicas[0])
            start = i;
    rc = emit_new_parts(ctl, out, t->name, t->npart, ev->partitions - t->npart, rf, ids, n, start,
                        start);
out:
    free(ids);
    return rc;
}

/* Partitions whose replicas were written, not their states: each starts as Kafka's
 * controller starts a new partition, its live replicas in sync (every log is empty) and
 * the first of them leading. With none live, the whole assignment is its ISR and it waits
 * offline: the first replica to register leads (empty logs: nothing to lose). */
static int partitions_assigned(const struct repl_ctl *ctl, const struct repl_event *ev,
                               struct repl_recs *out)
{
    const struct repl_topic *t = ev->topic ? repl_ctl_topic(ctl, ev->topic) : NULL;
    if (!t) {
        out->error = REPL_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    if (ev->partitions <= t->npart || ev->partitions > REPL_MAX_PARTITIONS || !ev->assigned) {
        out->error = REPL_INVALID_PARTITIONS;
        return 0;
    }
    for (int32_t i = 0; i < ev->partitions - t->npart; i++)
        if (!assignment_ok(&ev->assigned[i])) {
            out->error = REPL_INVALID_REPLICA_ASSIGNMENT;
            return 0;
        }
    int rc = 0;
    for (int32_t i = 0; rc == 0 && i < ev->partitions - t->npart; i++) {
        const struct repl_pstate *a = &ev->assigned[i];
        struct repl_pstate ps;
        if (start_assigned(ctl, a, &ps) != 0) { /* none live: offline, all in sync */
            ps.nisr = a->nreplicas;
            memcpy(ps.isr, a->replicas, sizeof(ps.isr));
        }
        rc = repl__emit_part(ctl, out, t->name, t->npart + i, &ps);
    }
    return rc;
}

static int topic_delete(const struct repl_ctl *ctl, const struct repl_event *ev,
                        struct repl_recs *out)
{
    if (!ev->topic || !repl_ctl_topic(ctl, ev->topic)) {
        out->error = REPL_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    struct repl_rec rec = {.type = REPL_REC_TOPIC_DELETED,
                           .controller_epoch = ctl->controller_epoch};
    strlcpy(rec.u.topic.name, ev->topic, sizeof(rec.u.topic.name));
    return repl__emit(out, &rec);
}

/* Is the proposed ISR well formed for this partition? 0 or the error. */
static int isr_shape(const struct repl_ctl *ctl, const struct repl_pstate *ps,
                     const struct repl_isr_change *c)
{
    if (c->nisr < 1 || c->nisr > ps->nreplicas)
        return REPL_INVALID_REQUEST;
    bool has_leader = false;
    for (int i = 0; i < c->nisr; i++) {
        for (int j = 0; j < i; j++)
            if (c->isr[i] == c->isr[j])
                return REPL_INVALID_REQUEST;
        if (!repl_pstate_in_replicas(ps, c->isr[i]))
            return REPL_INVALID_REQUEST;
        has_leader |= c->isr[i] == ps->leader;
        /* A member it adds must be able to serve: not fenced, not shutting down. */
        if (!repl_pstate_in_isr(ps, c->isr[i]) && !repl__broker_live(ctl, c->isr[i]))
            return REPL_INELIGIBLE_REPLICA;
    }
    return has_leader ? 0 : REPL_INVALID_REQUEST;
}

static int isr_change(const struct repl_ctl *ctl, const struct repl_event *ev,
                      struct repl_recs *out)
{
    const struct repl_isr_change *c = &ev->isr;
    const struct repl_pstate *ps =
        ev->topic ? repl_ctl_partition(ctl, ev->topic, ev->partition) : NULL;
    if (!ps)
        out->error = REPL_UNKNOWN_TOPIC_OR_PARTITION;
    else if (c->leader_epoch < ps->leader_epoch)
        out->error = REPL_FENCED_LEADER_EPOCH; /* a leader that has been replaced */
    else if (c->leader != ps->leader || c->leader_epoch != ps->leader_epoch)
        out->error = REPL_INVALID_REQUEST;
    else if (c->partition_epoch != ps->partition_epoch)
        out->error = REPL_INVALID_UPDATE_VERSION; /* based on a state that has moved on */
    else
        out->error = isr_shape(ctl, ps, c);
    if (out->error)
        return 0;
    struct repl_pstate next = *ps;
    next.nisr = c->nisr;
    memcpy(next.isr, c->isr, (size_t)c->nisr * sizeof(int32_t));
    next.partition_epoch++;
    if (c->new_epoch) /* its log lost a tail: the same leader, in a new epoch */
        next.leader_epoch++;
    return repl__emit_part(ctl, out, ev->topic, ev->partition, &next);
}

static int elected(const struct repl_ctl *ctl, const struct repl_event *ev, struct repl_recs *out)
{
    struct repl_rec rec = {.type = REPL_REC_CONTROLLER};
    rec.u.controller.id = ev->id;
    int rc = repl__emit(out, &rec);
    return rc < 0 ? rc : repl__ctl_elect_offline(ctl, -1, out);
}

static int dispatch(const struct repl_ctl *ctl, const struct repl_event *ev, struct repl_recs *out)
{
    switch (ev->type) {
    case REPL_EV_ELECTED:
        return elected(ctl, ev, out);
    case REPL_EV_BROKER_REGISTERED:
        return repl__ctl_broker_registered(ctl, ev, out);
    case REPL_EV_BROKER_LOST:
        return repl__ctl_broker_lost(ctl, ev->id, ev->epoch, out);
    case REPL_EV_BROKER_SHUTDOWN:
        return repl__ctl_broker_shutdown(ctl, ev, out);
    case REPL_EV_TOPIC_CREATE:
        return topic_create(ctl, ev, out);
    case REPL_EV_PARTITIONS_ADD:
        return partitions_add(ctl, ev, out);
    case REPL_EV_PARTITIONS_ASSIGNED:
        return partitions_assigned(ctl, ev, out);
    case REPL_EV_TOPIC_DELETE:
        return topic_delete(ctl, ev, out);
    case REPL_EV_ISR_CHANGE:
        return isr_change(ctl, ev, out);
    case REPL_EV_PREFERRED:
        return repl__ctl_preferred(ctl, out);
    case REPL_EV_ELECT_LEADERS:
        return repl__ctl_elect_leaders(ctl, ev, out);
    }
    out->error = REPL_INVALID_REQUEST;
    return 0;
}

int repl_ctl_handle(const struct repl_ctl *ctl, const struct repl_event *ev, struct repl_recs *out)
{
    size_t base = out->n;
    out->error = 0;
    out->remaining = 0;
    int rc = dispatch(ctl, ev, out);
    if (rc < 0 || out->error) {
        out->n = base; /* all or nothing */
        return rc;
    }
    /* Every record carries the epoch of the controller that decided it; a newly elected
     * controller's first records already carry its new one. */
    int32_t epoch = ctl->controller_epoch + (ev->type == REPL_EV_ELECTED);
    for (size_t i = base; i < out->n; i++) {
        out->v[i].controller_epoch = epoch;
        if (out->v[i].type == REPL_REC_PARTITION)
            out->v[i].u.part.ps.controller_epoch = epoch;
    }
    return 0;
}
