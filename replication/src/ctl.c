/*
 * ctl.c - the controller's state and replay: the only code that changes it.
 *
 *   struct repl_ctl
 *     controller_epoch 4, controller_id 2
 *     brokers  [1 epoch 4294967301 live] [2 ... live] [3 ... fenced]     sorted by id
 *     topics   "payments"  parts[0] {leader 2, le 7, pe 12, replicas 2,3,1, isr 2,1}
 *                          parts[1] {...}
 *
 * Replay is where fencing happens. A record is refused, leaving the state as it was, when
 * it comes from an older controller (a zombie that has not noticed it was replaced), when
 * it is based on a partition state that is not the current one (the conditional write's
 * version check), or when it would break the epoch rules: a leader epoch never goes
 * backwards and never has two leaders. A broker's view of the same records makes the
 * same checks (repl_replica_apply).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "repl_int.h"

void repl_recs_init(struct repl_recs *rs)
{
    memset(rs, 0, sizeof(*rs));
}

void repl_recs_fini(struct repl_recs *rs)
{
    free(rs->v);
    repl_recs_init(rs);
}

void repl_recs_reset(struct repl_recs *rs)
{
    rs->n = 0;
    rs->error = 0;
    rs->remaining = 0;
}

int repl__emit(struct repl_recs *out, const struct repl_rec *rec)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        struct repl_rec *v = realloc(out->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = *rec;
    return 0;
}

void repl_ctl_init(struct repl_ctl *ctl, const struct repl_ctl_config *cfg)
{
    memset(ctl, 0, sizeof(*ctl));
    ctl->cfg = *cfg;
    ctl->controller_id = -1;
}

void repl_ctl_fini(struct repl_ctl *ctl)
{
    for (size_t i = 0; i < ctl->ntopics; i++)
        free(ctl->topics[i].parts);
    free(ctl->topics);
    free(ctl->brokers);
    memset(ctl, 0, sizeof(*ctl));
}

const struct repl_broker *repl_ctl_broker(const struct repl_ctl *ctl, int32_t id)
{
    size_t lo = 0, hi = ctl->nbrokers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ctl->brokers[mid].id == id)
            return &ctl->brokers[mid];
        if (ctl->brokers[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct repl_topic *repl_ctl_topic(const struct repl_ctl *ctl, const char *name)
{
    for (size_t i = 0; i < ctl->ntopics; i++)
        if (strcmp(ctl->topics[i].name, name) == 0)
            return &ctl->topics[i];
    return NULL;
}

const struct repl_pstate *repl_ctl_partition(const struct repl_ctl *ctl, const char *topic,
                                             int32_t partition)
{
    const struct repl_topic *t = repl_ctl_topic(ctl, topic);
    if (!t || partition < 0 || partition >= t->npart)
        return NULL;
    return &t->parts[partition];
}

/* Insert or update a broker, keeping the array sorted by id. */
static int replay_broker(struct repl_ctl *ctl, const struct repl_broker *b)
{
    struct repl_broker *cur = (struct repl_broker *)repl_ctl_broker(ctl, b->id);
    if (cur) {
        if (b->epoch < cur->epoch)
            return REPL_STALE_BROKER_EPOCH;
        *cur = *b;
        return 0;
    }
    if (ctl->nbrokers == ctl->cap_brokers) {
        size_t cap = ctl->cap_brokers ? ctl->cap_brokers * 2 : 8;
        struct repl_broker *v = realloc(ctl->brokers, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ctl->brokers = v;
        ctl->cap_brokers = cap;
    }
    size_t at = 0;
    while (at < ctl->nbrokers && ctl->brokers[at].id < b->id)
        at++;
    memmove(ctl->brokers + at + 1, ctl->brokers + at, (ctl->nbrokers - at) * sizeof(*b));
    ctl->brokers[at] = *b;
    ctl->nbrokers++;
    return 0;
}

static int replay_broker_state(struct repl_ctl *ctl, const struct repl_broker *b)
{
    struct repl_broker *cur = (struct repl_broker *)repl_ctl_broker(ctl, b->id);
    if (!cur)
        return REPL_BROKER_ID_NOT_REGISTERED;
    if (b->epoch != cur->epoch)
        return REPL_STALE_BROKER_EPOCH;
    cur->state = b->state;
    return 0;
}

static int replay_topic(struct repl_ctl *ctl, const char *name)
{
    if (!repl_topic_name_valid(name))
        return REPL_INVALID_TOPIC_EXCEPTION;
    if (repl_ctl_topic(ctl, name))
        return REPL_TOPIC_ALREADY_EXISTS;
    if (ctl->ntopics == ctl->cap_topics) {
        size_t cap = ctl->cap_topics ? ctl->cap_topics * 2 : 8;
        struct repl_topic *v = realloc(ctl->topics, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ctl->topics = v;
        ctl->cap_topics = cap;
    }
    struct repl_topic *t = &ctl->topics[ctl->ntopics++];
    memset(t, 0, sizeof(*t));
    strlcpy(t->name, name, sizeof(t->name));
    return 0;
}

static int replay_topic_deleted(struct repl_ctl *ctl, const char *name)
{
    struct repl_topic *t = (struct repl_topic *)repl_ctl_topic(ctl, name);
    if (!t)
        return REPL_UNKNOWN_TOPIC_OR_PARTITION;
    free(t->parts);
    size_t i = (size_t)(t - ctl->topics);
    memmove(t, t + 1, (ctl->ntopics - i - 1) * sizeof(*t));
    ctl->ntopics--;
    return 0;
}

static bool same_replicas(const struct repl_pstate *a, const struct repl_pstate *b)
{
    return a->nreplicas == b->nreplicas &&
           memcmp(a->replicas, b->replicas, (size_t)a->nreplicas * sizeof(int32_t)) == 0;
}

/* May `next` follow `cur`? 0, or why not. */
static int change_fenced(const struct repl_pstate *cur, const struct repl_pstate *next)
{
    if (next->partition_epoch != cur->partition_epoch + 1)
        return REPL_INVALID_UPDATE_VERSION;
    if (next->leader_epoch < cur->leader_epoch)
        return REPL_FENCED_LEADER_EPOCH; /* epochs never go backwards */
    if (next->leader != cur->leader && next->leader_epoch == cur->leader_epoch)
        return REPL_FENCED_LEADER_EPOCH; /* never two leaders for one epoch */
    if (!same_replicas(cur, next))
        return REPL_INVALID_REQUEST; /* reassignment is not part of this controller */
    return 0;
}

static int replay_partition(struct repl_ctl *ctl, const struct repl_rec *rec)
{
    struct repl_topic *t = (struct repl_topic *)repl_ctl_topic(ctl, rec->u.part.topic);
    const struct repl_pstate *next = &rec->u.part.ps;
    int32_t p = rec->u.part.partition;
    if (!t || p < 0 || p > t->npart)
        return REPL_UNKNOWN_TOPIC_OR_PARTITION;
    if (!repl__pstate_valid(next))
        return REPL_INVALID_REQUEST;
    if (p < t->npart) {
        int kerr = change_fenced(&t->parts[p], next);
        if (kerr)
            return kerr;
        t->parts[p] = *next;
        return 0;
    }
    if (next->partition_epoch != 0 || next->leader_epoch != 0)
        return REPL_INVALID_UPDATE_VERSION; /* a new partition starts at epoch 0 */
    if (t->npart == t->cap_parts) {
        int32_t cap = t->cap_parts ? t->cap_parts * 2 : 4;
        struct repl_pstate *parts = realloc(t->parts, (size_t)cap * sizeof(*parts));
        if (!parts)
            return -ENOMEM;
        t->parts = parts;
        t->cap_parts = cap;
    }
    t->parts[t->npart++] = *next;
    return 0;
}

int repl_ctl_replay(struct repl_ctl *ctl, const struct repl_rec *rec)
{
    if (rec->type == REPL_REC_CONTROLLER) {
        if (rec->controller_epoch <= ctl->controller_epoch)
            return REPL_STALE_CONTROLLER_EPOCH;
        ctl->controller_epoch = rec->controller_epoch;
        ctl->controller_id = rec->u.controller.id;
        return 0;
    }
    if (rec->controller_epoch < ctl->controller_epoch)
        return REPL_STALE_CONTROLLER_EPOCH; /* a zombie controller's write */
    switch (rec->type) {
    case REPL_REC_BROKER:
        return replay_broker(ctl, &rec->u.broker);
    case REPL_REC_BROKER_STATE:
        return replay_broker_state(ctl, &rec->u.broker);
    case REPL_REC_TOPIC:
        return replay_topic(ctl, rec->u.topic.name);
    case REPL_REC_PARTITION:
        return replay_partition(ctl, rec);
    case REPL_REC_TOPIC_DELETED:
        return replay_topic_deleted(ctl, rec->u.topic.name);
    case REPL_REC_CONTROLLER:
        break;
    }
    return -EINVAL;
}

int repl_ctl_apply(struct repl_ctl *ctl, const struct repl_event *ev, struct repl_recs *out)
{
    size_t base = out->n;
    int rc = repl_ctl_handle(ctl, ev, out);
    for (size_t i = base; rc == 0 && i < out->n; i++)
        rc = repl_ctl_replay(ctl, &out->v[i]);
    return rc;
}

static bool pstate_equal(const struct repl_pstate *a, const struct repl_pstate *b)
{
    return a->controller_epoch == b->controller_epoch && a->leader == b->leader &&
           a->leader_epoch == b->leader_epoch && a->partition_epoch == b->partition_epoch &&
           same_replicas(a, b) && a->nisr == b->nisr &&
           memcmp(a->isr, b->isr, (size_t)a->nisr * sizeof(int32_t)) == 0;
}

static bool topic_equal(const struct repl_topic *a, const struct repl_topic *b)
{
    if (strcmp(a->name, b->name) != 0 || a->npart != b->npart)
        return false;
    for (int32_t p = 0; p < a->npart; p++)
        if (!pstate_equal(&a->parts[p], &b->parts[p]))
            return false;
    return true;
}

bool repl_ctl_equal(const struct repl_ctl *a, const struct repl_ctl *b)
{
    if (a->controller_epoch != b->controller_epoch || a->controller_id != b->controller_id ||
        a->nbrokers != b->nbrokers || a->ntopics != b->ntopics)
        return false;
    for (size_t i = 0; i < a->nbrokers; i++) {
        const struct repl_broker *x = &a->brokers[i], *y = &b->brokers[i];
        if (x->id != y->id || x->epoch != y->epoch || x->state != y->state ||
            strcmp(x->endpoint, y->endpoint) != 0)
            return false;
    }
    for (size_t i = 0; i < a->ntopics; i++)
        if (!topic_equal(&a->topics[i], &b->topics[i]))
            return false;
    return true;
}

bool repl_topic_name_valid(const char *name)
{
    size_t n = strnlen(name, REPL_TOPIC_MAX + 1);
    if (n == 0 || n > REPL_TOPIC_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}
