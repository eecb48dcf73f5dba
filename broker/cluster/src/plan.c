/*
 * plan.c - ZooKeeper's news into events, records into ZooKeeper operations (clu_plan.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_plan.h"
#include "kc_common.h"

static const struct clu_live_broker *find_live(const struct clu_live_broker *live, size_t n,
                                               int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (live[i].id == id)
            return &live[i];
    return NULL;
}

static int cmp_live(const void *a, const void *b)
{
    const struct clu_live_broker *x = *(const struct clu_live_broker *const *)a;
    const struct clu_live_broker *y = *(const struct clu_live_broker *const *)b;
    return (x->id > y->id) - (x->id < y->id);
}

int clu__broker_events(const struct repl_ctl *ctl, const struct clu_live_broker *live, size_t n,
                       struct repl_event *ev, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < ctl->nbrokers; i++) {
        const struct repl_broker *b = &ctl->brokers[i];
        if (b->state == REPL_BROKER_FENCED || find_live(live, n, b->id))
            continue; /* gone already, or still registered (maybe re-registered: below) */
        if (k == cap)
            return -ENOSPC;
        ev[k++] = (struct repl_event){.type = REPL_EV_BROKER_LOST, .id = b->id, .epoch = b->epoch};
    }
    const struct clu_live_broker **sorted = malloc((n ? n : 1) * sizeof(*sorted));
    if (!sorted)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &live[i];
    qsort(sorted, n, sizeof(sorted[0]), cmp_live);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct clu_live_broker *l = sorted[i];
        const struct repl_broker *cur = repl_ctl_broker(ctl, l->id);
        if (cur && cur->state != REPL_BROKER_FENCED && l->epoch <= cur->epoch)
            continue; /* known (an older czxid than ours cannot happen: ignored) */
        if (k == cap)
            rc = -ENOSPC;
        else
            ev[k++] = (struct repl_event){.type = REPL_EV_BROKER_REGISTERED,
                                          .id = l->id,
                                          .epoch = l->epoch,
                                          .endpoint = l->endpoint};
    }
    free(sorted);
    return rc < 0 ? rc : (int)k;
}

void clu__plan_init(struct clu_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
}

static void plan_clear(struct clu_plan *plan)
{
    for (size_t i = 0; i < plan->nops; i++) {
        free(plan->ops[i].path);
        free(plan->ops[i].data);
    }
    plan->nops = 0;
    plan->nunits = 0;
}

void clu__plan_fini(struct clu_plan *plan)
{
    plan_clear(plan);
    free(plan->ops);
    free(plan->units);
    clu__plan_init(plan);
}

/* Append one operation; path and the writer's bytes are copied (w may be NULL). */
static int add_op(struct clu_plan *plan, enum clu_op_kind kind, const char *path,
                  struct kc_writer *w, int version)
{
    if (w && kc_writer_error(w))
        return kc_writer_error(w);
    if (plan->nops == plan->cap) {
        size_t cap = plan->cap ? plan->cap * 2 : 16;
        struct clu_op *v = realloc(plan->ops, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        plan->ops = v;
        plan->cap = cap;
    }
    struct clu_op op = {.kind = kind, .version = version, .path = strdup(path)};
    if (w && kc_writer_len(w)) {
        op.len = (int)kc_writer_len(w);
        op.data = malloc((size_t)op.len);
        if (op.data)
            memcpy(op.data, kc_writer_data(w), (size_t)op.len);
    }
    if (!op.path || (w && kc_writer_len(w) && !op.data)) {
        free(op.path);
        free(op.data);
        return -ENOMEM;
    }
    plan->ops[plan->nops++] = op;
    return 0;
}

static int add_unit(struct clu_plan *plan, size_t op0, size_t rec0, size_t rec1)
{
    if (plan->nunits == plan->ucap) {
        size_t cap = plan->ucap ? plan->ucap * 2 : 16;
        struct clu_unit *v = realloc(plan->units, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        plan->units = v;
        plan->ucap = cap;
    }
    plan->units[plan->nunits++] = (struct clu_unit){op0, plan->nops, rec0, rec1};
    return 0;
}

/* A PARTITION change: setData on the state, conditional on the version it was decided
 * from. */
static int plan_change(struct clu_plan *plan, const struct repl_rec *rec)
{
    char path[CLU_PATH_MAX];
    struct kc_writer w;
    const struct repl_pstate *ps = &rec->u.part.ps;
    if (ps->partition_epoch < 1 ||
        clu_path_state(path, sizeof(path), rec->u.part.topic, rec->u.part.partition) != 0)
        return -EINVAL;
    kc_writer_init(&w, 0);
    int rc = clu_pstate_encode(ps, &w);
    if (rc == 0)
        rc = add_op(plan, CLU_OP_SET, path, &w, ps->partition_epoch - 1);
    kc_writer_fini(&w);
    return rc;
}

/* One znode to create: path from fn(topic[, p]), body from w (NULL: empty). */
static int create(struct clu_plan *plan, const char *path, struct kc_writer *w)
{
    return add_op(plan, CLU_OP_CREATE, path, w, -1);
}

static int plan_partition_nodes(struct clu_plan *plan, const char *topic, int32_t p,
                                const struct repl_pstate *ps)
{
    char path[CLU_PATH_MAX];
    struct kc_writer w;
    if (ps->partition_epoch != 0 || clu_path_partition(path, sizeof(path), topic, p) != 0)
        return -EINVAL;
    int rc = create(plan, path, NULL);
    if (rc != 0)
        return rc;
    kc_writer_init(&w, 0);
    rc = clu_path_state(path, sizeof(path), topic, p);
    if (rc == 0)
        rc = clu_pstate_encode(ps, &w);
    if (rc == 0)
        rc = create(plan, path, &w); /* version 0 = partition epoch 0 */
    kc_writer_fini(&w);
    return rc;
}

/* Each new partition of recs->v[i0, i1) (PARTITION records of one topic) as a unit of
 * its own: its node and its state. */
static int plan_new_parts(struct clu_plan *plan, const struct repl_recs *recs, size_t i0,
                          size_t i1)
{
    int rc = 0;
    for (size_t k = i0; rc == 0 && k < i1; k++) {
        size_t op0 = plan->nops;
        const struct repl_rec *rec = &recs->v[k];
        rc = plan_partition_nodes(plan, rec->u.part.topic, rec->u.part.partition, &rec->u.part.ps);
        if (rc == 0)
            rc = add_unit(plan, op0, k, k + 1);
    }
    return rc;
}

/* The PARTITION records of `topic` from recs->v[i] on that are new partitions numbered on
 * from `first`: the index after the last. */
static size_t new_parts_end(const struct repl_recs *recs, size_t i, const char *topic,
                            int32_t first)
{
    size_t j = i;
    while (j < recs->n && recs->v[j].type == REPL_REC_PARTITION &&
           strcmp(recs->v[j].u.part.topic, topic) == 0 &&
           recs->v[j].u.part.partition == first + (int32_t)(j - i))
        j++;
    return j;
}

/* The assignment znode's body: the replicas of old[0, nold) then of recs->v[i0, i1). */
static int encode_assignment(const char *topic_id, const struct repl_pstate *old, int32_t nold,
                             const struct repl_recs *recs, size_t i0, size_t i1,
                             struct kc_writer *w)
{
    int32_t total = nold + (int32_t)(i1 - i0);
    struct repl_pstate *parts = malloc((size_t)(total ? total : 1) * sizeof(*parts));
    if (!parts)
        return -ENOMEM;
    if (nold)
        memcpy(parts, old, (size_t)nold * sizeof(*parts));
    for (size_t k = i0; k < i1; k++)
        parts[nold + (int32_t)(k - i0)] = recs->v[k].u.part.ps;
    int rc = clu_assignment_encode(topic_id, parts, total, w);
    free(parts);
    return rc;
}

/* The assignment znode as one operation (kind CREATE, or SET at `version`): the replicas
 * of old[0, nold) then of recs->v[i0, i1). */
static int assignment_op(struct clu_plan *plan, const char *topic, const char *topic_id,
                         const struct repl_pstate *old, int32_t nold, const struct repl_recs *recs,
                         size_t i0, size_t i1, enum clu_op_kind kind, int version)
{
    char path[CLU_PATH_MAX];
    struct kc_writer w;
    kc_writer_init(&w, 0);
    int rc = clu_path_topic(path, sizeof(path), topic);
    if (rc == 0)
        rc = encode_assignment(topic_id, old, nold, recs, i0, i1, &w);
    if (rc == 0)
        rc = add_op(plan, kind, path, &w, version);
    kc_writer_fini(&w);
    return rc;
}

/* TOPIC at recs->v[i] and the PARTITION records that follow it: a first unit that makes
 * the topic (its assignment, naming every partition; .../partitions; its config), then a
 * unit per partition. Units are packed into transactions, so a creation larger than one
 * transaction is written in several; a controller that dies in between leaves partitions
 * with replicas and no state, which the next one finishes (ctl_load.c). *end is the index
 * after the last record. */
static int plan_topic(struct clu_plan *plan, const struct repl_recs *recs, size_t i,
                      const struct clu_plan_ctx *ctx, size_t *end)
{
    const char *topic = recs->v[i].u.topic.name;
    size_t j = new_parts_end(recs, i + 1, topic, 0);
    *end = j;
    if (j == i + 1 || !ctx || !ctx->topic_id)
        return -EINVAL;
    char path[CLU_PATH_MAX];
    struct kc_writer w;
    size_t op0 = plan->nops;
    kc_writer_init(&w, 0);
    int rc = assignment_op(plan, topic, ctx->topic_id, NULL, 0, recs, i + 1, j, CLU_OP_CREATE, -1);
    if (rc == 0 && (rc = clu_path_partitions(path, sizeof(path), topic)) == 0)
        rc = create(plan, path, NULL);
    if (rc == 0 && (rc = clu_path_topic_config(path, sizeof(path), topic)) == 0)
        rc = ctx->config ? clu_topic_config_encode_json(ctx->config, ctx->config_len, &w)
                         : clu_topic_config_encode(NULL, 0, &w);
    if (rc == 0)
        rc = create(plan, path, &w);
    kc_writer_fini(&w);
    if (rc == 0)
        rc = add_unit(plan, op0, i, i + 1);
    return rc == 0 ? plan_new_parts(plan, recs, i + 1, j) : rc;
}

/* New PARTITIONs of an existing topic from recs->v[i] on: first a unit that rewrites the
 * assignment whole (conditional on the version the controller read; a unit without
 * records), then a unit per partition - or, when the assignment already names them
 * (ctx->assigned: finishing what a dead controller began), the partitions' units alone.
 * *end is the index after the last of them. */
static int plan_grow(struct clu_plan *plan, const struct repl_ctl *ctl, const struct repl_recs *recs,
                     size_t i, const struct clu_plan_ctx *ctx, size_t *end)
{
    const char *topic = recs->v[i].u.part.topic;
    const struct repl_topic *t = repl_ctl_topic(ctl, topic);
    size_t j = t ? new_parts_end(recs, i, topic, t->npart) : i;
    *end = j > i ? j : i + 1;
    if (j == i || !ctx || (!ctx->topic_id && !ctx->assigned))
        return -EINVAL;
    if (ctx->assigned)
        return plan_new_parts(plan, recs, i, j);
    size_t op0 = plan->nops;
    int rc = assignment_op(plan, topic, ctx->topic_id, t->parts, t->npart, recs, i, j, CLU_OP_SET,
                           ctx->topic_version);
    if (rc == 0)
        rc = add_unit(plan, op0, i, i);
    return rc == 0 ? plan_new_parts(plan, recs, i, j) : rc;
}

/* TOPIC_DELETED: children before parents (ZooKeeper deletes only empty nodes). */
static int plan_delete(struct clu_plan *plan, const struct repl_ctl *ctl, const char *topic,
                       const struct clu_plan_ctx *ctx)
{
    const struct repl_topic *t = repl_ctl_topic(ctl, topic);
    char path[CLU_PATH_MAX];
    int rc = t ? 0 : -EINVAL;
    for (int32_t p = 0; rc == 0 && p < t->npart; p++) {
        if ((rc = clu_path_state(path, sizeof(path), topic, p)) == 0)
            rc = add_op(plan, CLU_OP_DELETE, path, NULL, -1);
        if (rc == 0 && (rc = clu_path_partition(path, sizeof(path), topic, p)) == 0)
            rc = add_op(plan, CLU_OP_DELETE, path, NULL, -1);
    }
    if (rc == 0 && (rc = clu_path_partitions(path, sizeof(path), topic)) == 0)
        rc = add_op(plan, CLU_OP_DELETE, path, NULL, -1);
    if (rc == 0 && (rc = clu_path_topic(path, sizeof(path), topic)) == 0)
        rc = add_op(plan, CLU_OP_DELETE, path, NULL, -1);
    if (rc == 0 && ctx && ctx->has_config_node &&
        (rc = clu_path_topic_config(path, sizeof(path), topic)) == 0)
        rc = add_op(plan, CLU_OP_DELETE, path, NULL, -1);
    if (rc == 0 && ctx && ctx->has_delete_request &&
        (rc = clu_path_delete_topic(path, sizeof(path), topic)) == 0)
        rc = add_op(plan, CLU_OP_DELETE, path, NULL, -1);
    return rc;
}

/* One record (or a topic's creation) at recs->v[i]: its operations and unit. */
static int plan_one(const struct repl_ctl *ctl, const struct repl_recs *recs, size_t i,
                    const struct clu_plan_ctx *ctx, struct clu_plan *plan, size_t *next)
{
    const struct repl_rec *rec = &recs->v[i];
    size_t op0 = plan->nops;
    int rc = 0;
    *next = i + 1;
    switch (rec->type) {
    case REPL_REC_CONTROLLER:
    case REPL_REC_BROKER:
    case REPL_REC_BROKER_STATE:
        break; /* nothing to write: see the header */
    case REPL_REC_TOPIC:
        return plan_topic(plan, recs, i, ctx, next); /* its units: its own */
    case REPL_REC_PARTITION: {
        const struct repl_topic *t = repl_ctl_topic(ctl, rec->u.part.topic);
        if (!t)
            return -EINVAL;
        if (rec->u.part.partition >= t->npart)
            return plan_grow(plan, ctl, recs, i, ctx, next);
        rc = plan_change(plan, rec);
        break;
    }
    case REPL_REC_TOPIC_DELETED:
        rc = plan_delete(plan, ctl, rec->u.topic.name, ctx);
        break;
    default:
        return -EINVAL;
    }
    return rc != 0 ? rc : add_unit(plan, op0, i, *next);
}

int clu__plan(const struct repl_ctl *ctl, const struct repl_recs *recs, size_t from,
              const struct clu_plan_ctx *ctx, struct clu_plan *plan)
{
    plan_clear(plan);
    int rc = 0;
    for (size_t i = from, next; rc == 0 && i < recs->n; i = next)
        rc = plan_one(ctl, recs, i, ctx, plan, &next);
    if (rc != 0)
        plan_clear(plan);
    return rc;
}

/* What an operation costs in a multi besides its path and data, in jute's encoding: the
 * op header (9), the path's and data's lengths (8), a create's world:anyone ACL (4 + 27)
 * and flags (4) - 52 - rounded up; setData and delete cost less. */
#define CLU_OP_OVERHEAD 56

static size_t digits(int64_t v)
{
    size_t n = 1;
    for (; v >= 10; v /= 10)
        n++;
    return n;
}

size_t clu__plan_assignment_bound(int32_t partitions, int rf, int32_t max_broker_id)
{
    /* {"version":3,"topic_id":"<22>","partitions":{ ... },"adding_replicas":{},
     * "removing_replicas":{}} around `,"<p>":[<id>,<id>,...]` per partition */
    size_t bytes = 128, id = digits(max_broker_id > 0 ? max_broker_id : 0) + 1;
    for (int64_t p = 0; p < partitions; p++)
        bytes += 6 + digits(p) + (size_t)(rf > 0 ? rf : 1) * id;
    return bytes;
}

size_t clu__plan_unit_bytes(const struct clu_plan *plan, size_t u)
{
    size_t bytes = 0;
    for (size_t i = plan->units[u].op0; i < plan->units[u].op1; i++)
        bytes += strlen(plan->ops[i].path) + (size_t)plan->ops[i].len + CLU_OP_OVERHEAD;
    return bytes;
}

size_t clu__plan_chunk_end(const struct clu_plan *plan, size_t u0, size_t max_ops)
{
    size_t u = u0, ops = 0, bytes = 0;
    while (u < plan->nunits) {
        size_t n = plan->units[u].op1 - plan->units[u].op0, b = clu__plan_unit_bytes(plan, u);
        if (u > u0 && (ops + n > max_ops || bytes + b > CLU_MULTI_MAX_BYTES))
            break;
        ops += n;
        bytes += b;
        u++;
    }
    return u;
}
