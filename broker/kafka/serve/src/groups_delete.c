/*
 * groups_delete.c - DeleteGroups (v1-2) and OffsetDelete (v0): the two group APIs that
 * write, both as tombstones in __consumer_offsets, answered once they are on disk.
 *
 *   DeleteGroups   per group (each name once): DELETE on it or 30; the coordinator says
 *                  whether it may go (kg_group_delete: Empty yes, members 68, unknown 69 -
 *                  unless it has committed offsets, then it is an Empty group to Kafka
 *                  too); then one batch in the group's partition: a tombstone for each of
 *                  its committed offsets and, if a record of it was ever written, for its
 *                  group-metadata record.
 *   OffsetDelete   DELETE on the group or 30 for the whole request; per topic READ on it
 *                  (29) and existence (3, per partition too); then the group's verdict:
 *                  unknown (no coordinator state, no offsets) 69 and live groups of
 *                  another protocol 68, each for the whole request with no topics, as
 *                  Kafka answers; a live consumer group refuses the topics a member
 *                  subscribes to (86, from the consumer protocol's subscription); the
 *                  other partitions' offsets get tombstones. An Empty group whose last
 *                  offsets go is gone with them (its record's tombstone in the same
 *                  batch): Kafka's cleanupGroupMetadata.
 *
 * Both decide under the coordinator's mutex and append before releasing it, so the
 * tombstones land in the log after any record the coordinator stored for the group before.
 * The answer waits, parked: each write holds the park until its fsync (one fsync serves
 * every waiting commit and write); a guard hold covers the time the writes are issued.
 * A write that fails leaves the offsets where they were (the store applies deletions only
 * once durable) and is answered COORDINATOR_NOT_AVAILABLE, so a retry finds them again -
 * where Kafka, whose tombstones are fire-and-forget, would have said NONE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"
#include "sec_acl.h"

/* A request whose answer waits for its tombstones. */
struct kdel {
    struct brk_park park;
    struct kp_request_header hdr; /* client_id cleared: it points into the frame */
    struct kp_arena arena;        /* the answer */
    void *resp;
};

/* One write of it: where its outcome goes. */
struct kdel_write {
    struct kdel *d;
    int16_t *errors[8];  /* the answer's error fields it decides ... */
    int16_t **more;      /* ... or, for OffsetDelete's many partitions, these */
    int32_t nerrors;
    int err;
};

static void kdel_free(struct kdel *d)
{
    kp_arena_fini(&d->arena);
    free(d);
}

static int kdel_done(struct brk_park *park, enum brk_park_why why)
{
    struct kdel *d = (struct kdel *)((char *)park - offsetof(struct kdel, park));
    if (why != BRK_PARK_CLOSED) {
        struct brk_kafka_out o = {brk_park_conn(park), park};
        (void)brk__kafka_answer(&o, &d->hdr, d->resp);
    }
    kdel_free(d);
    return 0;
}

static const struct brk_park_ops kdel_ops = {.kind = "group-delete", .done = kdel_done};

/* Any thread (the flusher's): one write is durable, or failed. */
static void kdel_written(void *arg, int err)
{
    struct kdel_write *dw = arg;
    for (int32_t i = 0; i < dw->nerrors; i++) {
        int16_t *e = dw->more ? dw->more[i] : dw->errors[i];
        *e = err == -ESTALE ? KP_ERR_NOT_COORDINATOR /* leadership lost meanwhile */
             : err          ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                            : KP_ERR_NONE;
    }
    if (err)
        kc_log_warn("group tombstones could not be made durable: %s", kc_strerror(err));
    brk_park_settle(&dw->d->park);
}

/* Issue one write on d's behalf (on the loop, under mu). */
static void kdel_write(struct brk_conn *c, struct kdel_write *dw, const struct brk_group_write *w)
{
    brk_park_hold(&dw->d->park);
    int rc = brk_group_write(brk_conn_server(c), w, kdel_written, dw);
    if (rc != 0) /* done at once (1), or refused: the park does not wait for it */
        kdel_written(dw, rc > 0 ? 0 : rc);
}

/* A request whose answer will be built in an arena of its own (not parked yet). */
static struct kdel *kdel_new(const struct kp_request *req)
{
    struct kdel *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    kp_arena_init(&d->arena, 0);
    d->hdr = req->hdr;
    d->hdr.client_id = (struct kc_slice){NULL, -1};
    return d;
}

/* Park d with its answer resp, the guard hold taken (no finish while writes are being
 * issued; kdel_release lets go). -ENOMEM: d is freed. */
static int kdel_park(struct brk_conn *c, struct kdel *d, void *resp)
{
    d->resp = resp;
    if (brk_park_start(c, &d->park, &kdel_ops, -1) != 0) {
        kdel_free(d);
        return -ENOMEM;
    }
    brk_park_hold(&d->park);
    return 0;
}

static void kdel_release(struct kdel *d)
{
    brk_park_settle(&d->park); /* the guard: the answer leaves once the writes are durable */
}

/* ---- DeleteGroups ------------------------------------------------------------------------- */

typedef struct kp_delete_groups_resp_deletable_group_result dresult_t;

static bool named_before(const struct kp_delete_groups_req *dq, int32_t i)
{
    for (int32_t j = 0; j < i; j++)
        if (dq->groups_names.v[j].len == dq->groups_names.v[i].len &&
            memcmp(dq->groups_names.v[j].p, dq->groups_names.v[i].p,
                   (size_t)KC_MAX(dq->groups_names.v[i].len, 0)) == 0)
            return true;
    return false;
}

/* One group's verdict and, if it goes, its tombstones. Under mu. */
static void delete_one(struct brk_conn *c, struct kdel *d, struct kdel_write *dw,
                       struct kc_slice group, dresult_t *r)
{
    struct brk_kafka *k = brk__kafka_of(c);
    bool tomb = false;
    r->error_code = brk__kafka_coordinator_check(brk_conn_server(c), group);
    if (r->error_code != KP_ERR_NONE)
        return; /* a cluster's: another broker coordinates it */
    r->error_code = kg_group_delete(k->groups, group, &tomb);
    if (r->error_code == KP_ERR_GROUP_ID_NOT_FOUND &&
        brk_offsets_count(brk_conn_server(c), group) > 0)
        r->error_code = KP_ERR_NONE; /* only offsets: an Empty group to Kafka */
    if (r->error_code != KP_ERR_NONE)
        return;
    *dw = (struct kdel_write){.d = d, .errors = {&r->error_code}, .nerrors = 1};
    struct brk_group_write w = {.group = group, .all_offsets = true,
                                .meta = tomb ? BRK_GROUP_META_TOMBSTONE : BRK_GROUP_META_NONE};
    kdel_write(c, dw, &w);
}

int brk__kafka_delete_groups(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_delete_groups_req *dq = req->msg;
    struct brk_kafka *k = brk__kafka_of(c);
    int32_t ng = dq->groups_names.n > 0 ? dq->groups_names.n : 0, n = 0;
    struct kdel *d = kdel_new(req);
    struct kp_delete_groups_resp *resp = d ? kp_new(&d->arena, &kp_delete_groups_resp_schema, 1) : NULL;
    dresult_t *r = resp ? kp_new(&d->arena, &kp_delete_groups_resp_deletable_group_result_schema,
                                 ng + 1) : NULL;
    struct kdel_write *dw = r ? kp_arena_alloc(&d->arena, ((size_t)ng + 1) * sizeof(*dw)) : NULL;
    if (!dw) {
        if (d)
            kdel_free(d);
        return -ENOMEM;
    }
    if (kdel_park(c, d, resp) != 0)
        return -ENOMEM;
    brk__kafka_groups_lock(k);
    for (int32_t i = 0; i < ng; i++) {
        struct kc_slice group = dq->groups_names.v[i];
        if (named_before(dq, i)) /* Kafka answers each group once */
            continue;
        r[n].group_id = brk__kafka_keep(&d->arena, group);
        if (!brk_authorize(c, SEC_OP_DELETE, SEC_RES_GROUP, (const char *)group.p,
                           (size_t)KC_MAX(group.len, 0)))
            r[n].error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
        else
            delete_one(c, d, &dw[n], group, &r[n]);
        n++;
    }
    brk__kafka_groups_unlock(k, c);
    KP_SET(resp->results, n, r);
    kdel_release(d);
    return 0;
}

/* ---- OffsetDelete ---------------------------------------------------------------------------- */

typedef struct kp_offset_delete_resp_topic otopic_t;
typedef struct kp_offset_delete_resp_partition opart_t;

/* The answer's skeleton: every topic and partition of the request, error NONE. */
static struct kp_offset_delete_resp *offdel_skeleton(struct kdel *d,
                                                     const struct kp_offset_delete_req *oq)
{
    struct kp_offset_delete_resp *resp = kp_new(&d->arena, &kp_offset_delete_resp_schema, 1);
    otopic_t *t = kp_new(&d->arena, &kp_offset_delete_resp_topic_schema, oq->topics.n + 1);
    if (!resp || !t)
        return NULL;
    for (int32_t i = 0; i < oq->topics.n; i++) {
        const struct kp_offset_delete_req_topic *rt = &oq->topics.v[i];
        opart_t *p = kp_new(&d->arena, &kp_offset_delete_resp_partition_schema,
                            rt->partitions.n + 1);
        t[i].name = brk__kafka_keep(&d->arena, rt->name);
        if (!p || t[i].name.len != rt->name.len)
            return NULL;
        for (int32_t j = 0; j < rt->partitions.n; j++)
            p[j].partition_index = rt->partitions.v[j].partition_index;
        KP_SET(t[i].partitions, rt->partitions.n, p);
    }
    KP_SET(resp->topics, oq->topics.n, t);
    return resp;
}

/* Per topic: READ on it (29), the topic and each partition exist (3). */
static void offdel_topics(struct brk_conn *c, const struct kp_offset_delete_req *oq,
                          struct kp_offset_delete_resp *resp)
{
    struct brk_server *srv = brk_conn_server(c);
    for (int32_t i = 0; i < oq->topics.n; i++) {
        otopic_t *t = &resp->topics.v[i];
        struct kc_slice name = oq->topics.v[i].name;
        int16_t terr = KP_ERR_NONE;
        struct alog *log;
        if (!brk_authorize(c, SEC_OP_READ, SEC_RES_TOPIC, (const char *)name.p,
                           (size_t)KC_MAX(name.len, 0)))
            terr = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        for (int32_t j = 0; j < t->partitions.n; j++) {
            opart_t *p = &t->partitions.v[j];
            p->error_code = terr ? terr : brk__kafka_partition(srv, name, p->partition_index, &log);
        }
    }
}

/* The group's verdict, under mu: a whole-request error, or NONE with each candidate
 * partition marked 86 or kept. */
static int16_t offdel_verdict(struct brk_conn *c, const struct kp_offset_delete_req *oq,
                              struct kp_offset_delete_resp *resp, bool *known)
{
    struct brk_kafka *k = brk__kafka_of(c);
    struct kg_group_info gi;
    *known = kg_group_describe(k->groups, oq->group_id, &gi) == 0;
    if (!*known && brk_offsets_count(brk_conn_server(c), oq->group_id) == 0)
        return KP_ERR_GROUP_ID_NOT_FOUND;
    int16_t err = kg_group_offsets_deletable(k->groups, oq->group_id, (struct kc_slice){NULL, -1});
    for (int32_t i = 0; err == KP_ERR_NONE && i < resp->topics.n; i++) {
        otopic_t *t = &resp->topics.v[i];
        int16_t terr = kg_group_offsets_deletable(k->groups, oq->group_id, t->name);
        for (int32_t j = 0; j < t->partitions.n; j++)
            if (t->partitions.v[j].error_code == KP_ERR_NONE)
                t->partitions.v[j].error_code = terr;
    }
    return err;
}

struct covers {
    const struct brk_offset_tp *tp;
    int32_t n;
    bool all;
};

static void cover_one(void *arg, struct kc_slice topic, int32_t partition, int64_t offset,
                      struct kc_slice meta)
{
    struct covers *cv = arg;
    (void)offset;
    (void)meta;
    for (int32_t i = 0; i < cv->n; i++)
        if (cv->tp[i].partition == partition && cv->tp[i].topic.len == topic.len &&
            memcmp(cv->tp[i].topic.p, topic.p, (size_t)topic.len) == 0)
            return;
    cv->all = false;
}

/* Does tp[0..n) name every offset the group has committed? */
static bool offdel_covers(struct brk_conn *c, struct kc_slice group,
                          const struct brk_offset_tp *tp, int32_t n)
{
    struct covers cv = {tp, n, true};
    brk_offsets_foreach(brk_conn_server(c), group, cover_one, &cv);
    return cv.all;
}

/* The deletable partitions (error NONE so far) into one write; the partitions' error
 * fields go to dw. Under mu. */
static void offdel_write(struct brk_conn *c, struct kdel *d, const struct kp_offset_delete_req *oq,
                         struct kp_offset_delete_resp *resp, bool known)
{
    struct brk_kafka *k = brk__kafka_of(c);
    int32_t n = 0, cap = 0;
    for (int32_t i = 0; i < resp->topics.n; i++)
        cap += resp->topics.v[i].partitions.n;
    struct brk_offset_tp *tp = kp_arena_alloc(&d->arena, ((size_t)cap + 1) * sizeof(*tp));
    struct kdel_write *dw = kp_arena_alloc(&d->arena, sizeof(*dw));
    int16_t **errs = kp_arena_alloc(&d->arena, ((size_t)cap + 1) * sizeof(*errs));
    if (!tp || !dw || !errs) {
        resp->error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
        KP_SET(resp->topics, 0, resp->topics.v);
        return;
    }
    for (int32_t i = 0; i < resp->topics.n; i++)
        for (int32_t j = 0; j < resp->topics.v[i].partitions.n; j++) {
            opart_t *p = &resp->topics.v[i].partitions.v[j];
            if (p->error_code != KP_ERR_NONE)
                continue;
            tp[n] = (struct brk_offset_tp){resp->topics.v[i].name, p->partition_index};
            errs[n++] = &p->error_code;
        }
    if (n == 0)
        return;
    /* An Empty group whose every offset goes is gone with them (Kafka's cleanup). */
    int32_t left = brk_offsets_count(brk_conn_server(c), oq->group_id);
    bool tomb = false, whole = left <= n && offdel_covers(c, oq->group_id, tp, n);
    if (whole && known && kg_group_delete(k->groups, oq->group_id, &tomb) != KP_ERR_NONE)
        tomb = false; /* not Empty after all: it keeps its record */
    *dw = (struct kdel_write){.d = d, .more = errs, .nerrors = n};
    struct brk_group_write w = {.group = oq->group_id, .noffsets = n, .offsets = tp,
                                .meta = tomb ? BRK_GROUP_META_TOMBSTONE : BRK_GROUP_META_NONE};
    kdel_write(c, dw, &w);
}

int brk__kafka_offset_delete(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_offset_delete_req *oq = req->msg;
    struct brk_kafka *k = brk__kafka_of(c);
    struct kdel *d = kdel_new(req);
    struct kp_offset_delete_resp *resp = d ? offdel_skeleton(d, oq) : NULL;
    bool known = false;
    if (!resp) {
        if (d)
            kdel_free(d);
        return -ENOMEM;
    }
    int16_t err = KP_ERR_NONE;
    if (oq->group_id.len <= 0)
        err = KP_ERR_INVALID_GROUP_ID;
    else if (!brk_authorize(c, SEC_OP_DELETE, SEC_RES_GROUP, (const char *)oq->group_id.p,
                            (size_t)oq->group_id.len))
        err = KP_ERR_GROUP_AUTHORIZATION_FAILED;
    else
        err = brk__kafka_coordinator_check(brk_conn_server(c), oq->group_id);
    if (err == KP_ERR_NONE)
        offdel_topics(c, oq, resp);
    if (kdel_park(c, d, resp) != 0)
        return -ENOMEM;
    brk__kafka_groups_lock(k);
    if (err == KP_ERR_NONE)
        err = offdel_verdict(c, oq, resp, &known);
    if (err == KP_ERR_NONE)
        offdel_write(c, d, oq, resp, known);
    brk__kafka_groups_unlock(k, c);
    if (err != KP_ERR_NONE) { /* Kafka's error response: the error, no topics */
        resp->error_code = err;
        KP_SET(resp->topics, 0, resp->topics.v);
    }
    kdel_release(d);
    return 0;
}
