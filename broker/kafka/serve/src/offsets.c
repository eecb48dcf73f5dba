/*
 * offsets.c - OffsetCommit (v0-9) on the broker's one offsets store (OffsetFetch, which
 * reads it back, is offset_fetch.c).
 *
 * Both protocols keep committed offsets in the same place (the core's offsets.c): records in
 * __consumer_offsets in Kafka's own format, replayed into a table at start. So an offset a
 * kcat consumer group commits is what `kafka_cli 4 <group> <topic> <p>` prints, and the
 * reverse; and it survives a restart.
 *
 * OffsetCommit
 *   READ on the group (auth.c), else GROUP_AUTHORIZATION_FAILED (30) for every partition;
 *   READ on each topic, else TOPIC_AUTHORIZATION_FAILED (29) for its partitions;
 *   the coordinator judges the member first (kg_group_commit_check: a standalone commit
 *   with generation -1 on an idle group is fine; otherwise unknown member 25, wrong
 *   generation 22, CompletingRebalance 27) - one verdict for every partition; v9's
 *   generation_id_or_member_epoch is the generation for the classic groups served here;
 *   then per partition: named twice in the request (42), topic and partition exist (3),
 *   metadata fits (12), offset >= 0;
 *   then every accepted partition goes into one brk_offsets_commit: one batch of records,
 *   one fsync (shared with other commits: group commit). The answer waits for it, parked,
 *   built in an arena of its own with the topic names copied.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"
#include "sec_acl.h"

/* ---- OffsetCommit -------------------------------------------------------------------------- */

typedef struct kp_offset_commit_resp_partition cresp_part;

struct kcommit {
    struct brk_park park;
    struct brk_commit commit;
    int rc;                       /* brk_offsets_commit's result when it did not park */
    struct kp_request_header hdr; /* client_id cleared: it points into the frame */
    struct kp_arena arena;        /* the answer, names copied */
    struct kp_offset_commit_resp *resp;
    cresp_part **rp;              /* the answer's partitions, in request order */
    int32_t n;
};

/* The error every committed partition gets when the store fails. */
static int16_t commit_error(int rc)
{
    switch (rc) {
    case KC_EBADNAME:
        return KP_ERR_INVALID_GROUP_ID;
    case KC_ETOOLARGE:
        return KP_ERR_OFFSET_METADATA_TOO_LARGE;
    case -EINVAL:
        return KP_ERR_INVALID_REQUEST;
    case -ESTALE: /* a cluster: the partition's leadership went while it waited */
        return KP_ERR_NOT_COORDINATOR;
    default:
        return KP_ERR_COORDINATOR_NOT_AVAILABLE; /* storage: Kafka's mapping; clients retry */
    }
}

static void kcommit_free(struct kcommit *kcm)
{
    kp_arena_fini(&kcm->arena);
    free(kcm);
}

static int commit_done(struct brk_park *park, enum brk_park_why why)
{
    struct kcommit *kcm = (struct kcommit *)((char *)park - offsetof(struct kcommit, park));
    int err = kcm->rc < 0 ? kcm->rc : kcm->commit.err;
    if (why != BRK_PARK_CLOSED) {
        if (err) {
            kc_log_warn("%s: an offset commit could not be made durable: %s",
                        brk_conn_peer(brk_park_conn(park)), kc_strerror(err));
            for (int32_t k = 0; k < kcm->n; k++) /* every partition still NONE was in it */
                if (kcm->rp[k]->error_code == KP_ERR_NONE)
                    kcm->rp[k]->error_code = commit_error(err);
        }
        struct brk_kafka_out o = {brk_park_conn(park), park};
        (void)brk__kafka_answer(&o, &kcm->hdr, kcm->resp);
    }
    kcommit_free(kcm);
    return 0;
}

static const struct brk_park_ops commit_ops = {.kind = "commit", .done = commit_done};

/* The answer's skeleton in kcm's arena, names copied; kcm->rp flat, in request order. */
static int commit_skeleton(struct kcommit *kcm, const struct kp_offset_commit_req *cr)
{
    struct kp_arena *a = &kcm->arena;
    struct kp_offset_commit_resp_topic *rt =
        kp_new(a, &kp_offset_commit_resp_topic_schema, cr->topics.n);
    kcm->resp = kp_new(a, &kp_offset_commit_resp_schema, 1);
    kcm->rp = kp_arena_alloc(a, ((size_t)kcm->n + 1) * sizeof(*kcm->rp));
    if (!kcm->resp || !kcm->rp || (!rt && cr->topics.n > 0))
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < cr->topics.n; i++) {
        const struct kp_offset_commit_req_topic *t = &cr->topics.v[i];
        cresp_part *p = kp_new(a, &kp_offset_commit_resp_partition_schema, t->partitions.n);
        rt[i].name = brk__kafka_keep(a, t->name);
        if ((!p && t->partitions.n > 0) || rt[i].name.len != t->name.len)
            return -ENOMEM;
        for (int32_t j = 0; j < t->partitions.n; j++, k++) {
            p[j].partition_index = t->partitions.v[j].partition_index;
            kcm->rp[k] = &p[j];
        }
        KP_SET(rt[i].partitions, t->partitions.n, p);
    }
    KP_SET(kcm->resp->topics, cr->topics.n, rt);
    return 0;
}

/* Partitions named twice, into dup (flat). */
static int commit_dups(struct kp_request *req, int32_t n, bool *dup)
{
    const struct kp_offset_commit_req *cr = req->msg;
    struct brk_kafka_tp *tp = kp_arena_alloc(&req->arena, ((size_t)n + 1) * sizeof(*tp));
    if (!tp)
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < cr->topics.n; i++)
        for (int32_t j = 0; j < cr->topics.v[i].partitions.n; j++, k++)
            tp[k] = (struct brk_kafka_tp){cr->topics.v[i].name.p, cr->topics.v[i].name.len,
                                          cr->topics.v[i].partitions.v[j].partition_index, k};
    (void)brk__kafka_dups(tp, n, dup);
    return 0;
}

/* Judge each partition (gerr: the coordinator's verdict for all); collect the accepted
 * ones into e. Returns how many. */
static int commit_collect(struct brk_conn *c, const struct kp_offset_commit_req *cr,
                          int16_t gerr, const bool *dup, struct kcommit *kcm,
                          struct brk_commit_entry *e)
{
    struct brk_server *srv = brk_conn_server(c);
    struct alog *log;
    int n = 0;
    for (int32_t i = 0, k = 0; i < cr->topics.n; i++) {
        const struct kp_offset_commit_req_topic *t = &cr->topics.v[i];
        int16_t terr = gerr == KP_ERR_GROUP_AUTHORIZATION_FAILED ? gerr
                     : brk__kafka_allowed(c, SEC_OP_READ, SEC_RES_TOPIC, t->name)
                         ? KP_ERR_NONE
                         : KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        for (int32_t j = 0; j < t->partitions.n; j++, k++) {
            const struct kp_offset_commit_req_partition *p = &t->partitions.v[j];
            int16_t err = terr ? terr : dup[k] ? KP_ERR_INVALID_REQUEST : gerr;
            if (err == KP_ERR_NONE)
                err = brk__kafka_partition(srv, t->name, p->partition_index, &log);
            if (err == KP_ERR_NONE && p->committed_metadata.len > BRK_OFFSET_METADATA_MAX)
                err = KP_ERR_OFFSET_METADATA_TOO_LARGE;
            if (err == KP_ERR_NONE && p->committed_offset < 0)
                err = KP_ERR_OFFSET_OUT_OF_RANGE; /* nothing below 0 can be committed */
            kcm->rp[k]->error_code = err;
            if (err == KP_ERR_NONE)
                e[n++] = (struct brk_commit_entry){t->name, p->partition_index,
                                                   p->committed_offset, p->committed_metadata};
        }
    }
    return n;
}

int brk__kafka_offset_commit(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_offset_commit_req *cr = req->msg;
    struct brk_kafka *k = brk__kafka_of(c);
    struct kcommit *kcm = calloc(1, sizeof(*kcm));
    if (!kcm)
        return -ENOMEM;
    kp_arena_init(&kcm->arena, 0);
    for (int32_t i = 0; i < cr->topics.n; i++)
        kcm->n += cr->topics.v[i].partitions.n;
    bool *dup = kp_arena_alloc(&req->arena, (size_t)kcm->n + 1);
    struct brk_commit_entry *e = kp_arena_alloc(&req->arena, ((size_t)kcm->n + 1) * sizeof(*e));
    int rc = dup && e ? commit_skeleton(kcm, cr) : -ENOMEM;
    if (rc == 0)
        rc = commit_dups(req, kcm->n, dup);
    if (rc) {
        kcommit_free(kcm);
        return rc;
    }
    struct kg_member_ref ref = {cr->group_id, cr->generation_id_or_member_epoch, cr->member_id,
                                cr->group_instance_id};
    int16_t gerr = KP_ERR_GROUP_AUTHORIZATION_FAILED;
    if (brk__kafka_allowed(c, SEC_OP_READ, SEC_RES_GROUP, cr->group_id))
        gerr = brk__kafka_coordinator_check(brk_conn_server(c), cr->group_id);
    if (gerr == KP_ERR_NONE) { /* ours, and allowed */
        brk__kafka_groups_lock(k);
        gerr = kg_group_commit_check(k->groups, &ref, kc_mono_ms());
        brk__kafka_groups_unlock(k, c);
    }
    int n = commit_collect(c, cr, gerr, dup, kcm, e);
    if (n == 0) { /* nothing to store: answer now */
        rc = brk__kafka_reply(c, &req->hdr, kcm->resp);
        kcommit_free(kcm);
        return rc;
    }
    if (brk_park_start(c, &kcm->park, &commit_ops, -1) != 0) {
        kcommit_free(kcm);
        kc_log_warn("%s: out of memory parking an OffsetCommit; closing", brk_conn_peer(c));
        return -ENOMEM;
    }
    kcm->hdr = req->hdr;
    kcm->hdr.client_id = (struct kc_slice){NULL, -1};
    kcm->rc = brk_offsets_commit(brk_conn_server(c), cr->group_id, e, n, &kcm->commit,
                                 &kcm->park); /* the store copies what it keeps */
    if (kcm->rc != 0) /* refused, or durable at once: end the park now */
        brk_park_resume(&kcm->park, BRK_PARK_RESUMED);
    return 0;
}
