/*
 * produce.c - Produce (v0-11): a batch per partition, checked and stored as it came.
 *
 *   for each partition of the request, in order:
 *     Produce v0-2 (message formats v0/v1)?            yes -> 35 UNSUPPORTED_VERSION
 *     a transactional id the principal may not WRITE?  yes -> 53 (every partition)
 *     WRITE on the topic (auth.c)?                     no  -> 29 TOPIC_AUTHORIZATION_FAILED
 *     named twice in this request?                    yes -> 42 INVALID_REQUEST (util.c)
 *     topic and partition exist?                      no  -> 3 UNKNOWN_TOPIC_OR_PARTITION
 *     not __consumer_offsets?                         no  -> 17 INVALID_TOPIC_EXCEPTION
 *     in a cluster, this broker leads it?             no  -> 6 NOT_LEADER_OR_FOLLOWER
 *     brk__kafka_produce_check: acks, exactly one v2 batch, counts, codec, no
 *       transaction (idempotence is the log's: see below) -> 21 / 87 / 2 / 76 / 43
 *     brk_produce: the CRC and every record checked (-> 2 / 87), then the same append and
 *       group commit as the native protocol; the log rewrites the base offset in place
 *       (ahead of the CRC'd bytes) and stores the rest byte for byte, compressed or not.
 *       An idempotent producer's batch meets the log's sequence check, atomic with the
 *       append: 45 / 47, or a duplicate answered with its original base offset, unwritten
 *   then the answer, per acks:
 *     0    none at all; if any partition failed, the connection is closed (Kafka's way of
 *          telling a producer that gets no answers)
 *     1    at once: the batches are in the log
 *     all  once every partition's batch is on disk: the request parks, each partition
 *          whose batch waits for the fsync holds the park, and the park ends when the last
 *          one settles; its done writes the answer. Pipelined produces share fsyncs
 *          (group commit, brk_service.h).
 *
 * Versions. v0-2 are advertised only for librdkafka's compression checks (versions.c) and
 * refused per partition. v3-8 differ only in the answer's fields (log_start_offset from
 * v5, record_errors and error_message from v8), v9+ are flexible (compact lengths, tags),
 * v10 adds the leader-change hints (current_leader, node_endpoints: left at their
 * defaults, this node always leads), v11 nothing the broker must act on (KIP-890). The
 * codec writes whichever fields the version has; this file sets the same ones for all.
 *
 * A parked answer cannot point into the request frame (it is gone when serve returns), so
 * it is built in an arena of its own with the topic names copied: no records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"
#include "sec_acl.h"

typedef struct kp_produce_resp_partition_produce_response presp_part;

struct kprod_part {
    struct brk_produce bp;
    bool parked; /* bp.err tells, once the park ends */
};

/* An acks=all Produce: its answer, waiting for the fsyncs. */
struct kprod {
    struct brk_park park;
    struct kp_request_header hdr; /* client_id cleared: it points into the frame */
    struct kp_arena arena;        /* everything below lives here */
    struct kp_produce_resp *resp; /* names copied */
    struct kprod_part *pp;        /* one per partition of the request, in order */
};

/* The request's partitions, with what serving them needs. */
struct produce {
    struct brk_conn *c;
    struct kp_request *req;
    const struct kp_produce_req *pr;
    int32_t total;
    bool *dup; /* NULL: nothing named twice */
    struct kp_produce_resp *resp; /* the answer: the request's shape */
    int16_t denied; /* the ACL verdict for the topic being served: NONE, 29 or 53 */
    struct brk_kafka_logs logs; /* every partition's log, open (brk_logs_ready) */
};

/* The answer's skeleton in a: the request's topics and partitions in its order, error
 * NONE, base offset -1. copy: copy the topic names (an answer that outlives the frame). */
static struct kp_produce_resp *skeleton(struct kp_arena *a, const struct kp_produce_req *pr,
                                        bool copy)
{
    struct kp_produce_resp *resp = kp_new(a, &kp_produce_resp_schema, 1);
    struct kp_produce_resp_topic_produce_response *rt =
        kp_new(a, &kp_produce_resp_topic_produce_response_schema, pr->topic_data.n);
    if (!resp || (!rt && pr->topic_data.n > 0))
        return NULL;
    for (int32_t i = 0; i < pr->topic_data.n; i++) {
        const struct kp_produce_req_topic_produce_data *t = &pr->topic_data.v[i];
        int32_t n = t->partition_data.n;
        presp_part *p = kp_new(a, &kp_produce_resp_partition_produce_response_schema, n);
        rt[i].name = copy ? brk__kafka_keep(a, t->name) : t->name;
        if ((!p && n > 0) || rt[i].name.len != t->name.len)
            return NULL;
        for (int32_t j = 0; j < n; j++) {
            p[j].index = t->partition_data.v[j].index;
            p[j].base_offset = -1;
        }
        KP_SET(rt[i].partition_responses, n, p);
    }
    KP_SET(resp->responses, pr->topic_data.n, rt);
    return resp;
}

/* Mark the partitions named twice (pd->dup stays NULL for the usual single one). */
static int find_dups(struct produce *pd)
{
    struct kp_arena *a = &pd->req->arena;
    if (pd->total < 2)
        return 0;
    struct brk_kafka_tp *tp = kp_arena_alloc(a, (size_t)pd->total * sizeof(*tp));
    if (!tp || !(pd->dup = kp_arena_alloc(a, (size_t)pd->total)))
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < pd->pr->topic_data.n; i++) {
        const struct kp_produce_req_topic_produce_data *t = &pd->pr->topic_data.v[i];
        for (int32_t j = 0; j < t->partition_data.n; j++, k++)
            tp[k] = (struct brk_kafka_tp){t->name.p, t->name.len, t->partition_data.v[j].index, k};
    }
    (void)brk__kafka_dups(tp, pd->total, pd->dup);
    return 0;
}

/* On c's loop, once every parked partition's batch is on disk (or will not be). */
static int produce_done(struct brk_park *park, enum brk_park_why why)
{
    struct kprod *kp = (struct kprod *)((char *)park - offsetof(struct kprod, park));
    for (int32_t i = 0, k = 0; i < kp->resp->responses.n; i++) {
        presp_part *p = kp->resp->responses.v[i].partition_responses.v;
        for (int32_t j = 0; j < kp->resp->responses.v[i].partition_responses.n; j++, k++) {
            if (!kp->pp[k].parked || (!kp->pp[k].bp.err && !kp->pp[k].bp.kerr))
                continue;
            if (kp->pp[k].bp.kerr) { /* a cluster: the ISR did not take it (20, 6, 7) */
                p[j].error_code = kp->pp[k].bp.kerr;
                continue;
            }
            /* Appended, but its fsync failed: whether the disk kept it is open until the
             * log heals (alog_recover keeps what the disk holds). Kafka's word for "may be
             * written" is REQUEST_TIMED_OUT (librdkafka: possibly persisted; an idempotent
             * retry after the heal is answered as the duplicate if it was kept).
             * KAFKA_STORAGE_ERROR would say "not written". */
            p[j].error_code = KP_ERR_REQUEST_TIMED_OUT;
            p[j].base_offset = -1;
            kc_log_warn("a produced batch was appended but could not be made durable (%s): "
                        "answered REQUEST_TIMED_OUT, its fate is known once the log heals",
                        kc_strerror(kp->pp[k].bp.err));
        }
    }
    if (why != BRK_PARK_CLOSED) {
        struct brk_kafka_out o = {brk_park_conn(park), park};
        (void)brk__kafka_answer(&o, &kp->hdr, kp->resp); /* a failure fails the writer */
    }
    kp_arena_fini(&kp->arena);
    free(kp);
    return 0;
}

static const struct brk_park_ops produce_ops = {.kind = "produce", .done = produce_done};

/* Serve partition k (data in, its answer out): its Kafka error code; *parked when its
 * answer waits for the fsync. bp must live until then (a parked produce's pp, or the
 * caller's stack). */
static int16_t produce_part(struct produce *pd, struct kc_slice name,
                            const struct kp_produce_req_partition_produce_data *in, int32_t k,
                            presp_part *out, struct brk_produce *bp, struct brk_park *park,
                            bool *parked)
{
    struct brk_conn *c = pd->c;
    int16_t v = pd->req->hdr.request_api_version;
    struct part_topic *t;
    struct alog *log;
    if (v < 3)
        return KP_ERR_UNSUPPORTED_VERSION; /* v0/v1 message formats: see versions.c */
    if (pd->denied)
        return pd->denied; /* judged before the lookup: no existence leaks */
    if (pd->dup && pd->dup[k])
        return KP_ERR_INVALID_REQUEST;
    if (brk__kafka_topic(brk_conn_server(c), name, &t) || !(log = part_topic_log(t, in->index)))
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (brk_topic_internal((const char *)name.p, (size_t)name.len))
        return KP_ERR_INVALID_TOPIC_EXCEPTION; /* commit offsets with OffsetCommit */
    int16_t err = brk__kafka_leader_check(brk_conn_server(c), name, in->index, -1);
    if (err)
        return err; /* a cluster: only the leader appends (6) */
    if (pd->logs.err[k])
        return brk__kafka_open_error(pd->logs.err[k]); /* never opened on the loop */
    err = brk__kafka_produce_check(pd->pr->acks, pd->pr->transactional_id, v, in->records);
    if (err == KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT)
        kc_log_info("%s: refusing a transactional produce to %.*s-%d: this broker serves "
                    "idempotent producers, not transactions (error 43)", brk_conn_peer(c),
                    (int)name.len, name.p, in->index);
    if (err)
        return err;
    /* The records lie in the connection's input buffer, which serve may modify: the log
     * rewrites the base offset there before writing the batch. */
    *bp = (struct brk_produce){.topic = t, .partition = in->index, .acks = pd->pr->acks,
                               .batch = (uint8_t *)in->records.p,
                               .len = (size_t)in->records.len,
                               .timeout_ms = pd->pr->timeout_ms};
    int rc = brk_produce(brk_conn_server(c), bp, park);
    if (rc < 0)
        return brk__kafka_produce_error(rc);
    if (rc == 1 && bp->kerr)
        return bp->kerr; /* a cluster: NOT_ENOUGH_REPLICAS (19), NOT_LEADER_OR_FOLLOWER */
    out->base_offset = bp->base_offset;
    out->log_start_offset = alog_start_offset(log);
    *parked = rc == 0;
    return KP_ERR_NONE;
}

/* Every partition, in order; how many failed. kp: the parked answer (acks=all), or NULL. */
static int32_t produce_all(struct produce *pd, struct kprod *kp)
{
    int32_t failed = 0;
    for (int32_t i = 0, k = 0; i < pd->pr->topic_data.n; i++) {
        const struct kp_produce_req_topic_produce_data *t = &pd->pr->topic_data.v[i];
        presp_part *out = pd->resp->responses.v[i].partition_responses.v;
        if (!pd->denied || pd->denied == KP_ERR_TOPIC_AUTHORIZATION_FAILED)
            pd->denied = brk__kafka_allowed(pd->c, SEC_OP_WRITE, SEC_RES_TOPIC, t->name)
                             ? KP_ERR_NONE
                             : KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        for (int32_t j = 0; j < t->partition_data.n; j++, k++) {
            struct brk_produce now;
            bool parked = false;
            int16_t err = produce_part(pd, t->name, &t->partition_data.v[j], k, &out[j],
                                       kp ? &kp->pp[k].bp : &now, kp ? &kp->park : NULL,
                                       &parked);
            out[j].error_code = err;
            if (kp)
                kp->pp[k].parked = parked;
            failed += err != KP_ERR_NONE;
        }
    }
    return failed;
}

/* Before anything is appended: every log the request writes to is open, or the request
 * waits (brk_logs_ready: the connection pauses and the request is served again). Logs of
 * partitions that will be refused anyway (old version, denied, named twice, internal)
 * are not opened. 1 go on, 0 deferred, < 0. */
static int produce_logs_ready(struct produce *pd)
{
    struct brk_server *srv = brk_conn_server(pd->c);
    bool v3 = pd->req->hdr.request_api_version >= 3;
    if (brk__kafka_logs_init(&pd->logs, &pd->req->arena, pd->total) != 0)
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < pd->pr->topic_data.n; i++) {
        const struct kp_produce_req_topic_produce_data *t = &pd->pr->topic_data.v[i];
        const char *name = (const char *)t->name.p;
        size_t len = (size_t)KC_MAX(t->name.len, 0);
        bool go = v3 && !pd->denied && !brk_topic_internal(name, len) &&
                  brk_authorize_quiet(pd->c, SEC_OP_WRITE, SEC_RES_TOPIC, name, len);
        for (int32_t j = 0; j < t->partition_data.n; j++, k++)
            brk__kafka_logs_add(&pd->logs, go && !(pd->dup && pd->dup[k]) ? srv : NULL, t->name,
                                t->partition_data.v[j].index);
    }
    int64_t timeout_ms = pd->pr->timeout_ms > 0 ? pd->pr->timeout_ms : -1;
    return brk__kafka_logs_ready(pd->c, &pd->logs, timeout_ms);
}

/* acks=all: the answer and its bookkeeping in an arena of their own, and the park. */
static struct kprod *kprod_new(struct produce *pd)
{
    struct kprod *kp = calloc(1, sizeof(*kp));
    if (!kp)
        return NULL;
    kp_arena_init(&kp->arena, 0);
    kp->pp = kp_arena_alloc(&kp->arena, ((size_t)pd->total + 1) * sizeof(*kp->pp));
    if (kp->pp)
        kp->resp = skeleton(&kp->arena, pd->pr, true);
    if (kp->resp && brk_park_start(pd->c, &kp->park, &produce_ops, -1) == 0) {
        kp->hdr = pd->req->hdr;
        kp->hdr.client_id = (struct kc_slice){NULL, -1};
        pd->resp = kp->resp;
        return kp;
    }
    kp_arena_fini(&kp->arena);
    free(kp);
    return NULL;
}

int brk__kafka_produce(struct brk_conn *c, struct kp_request *req)
{
    struct produce pd = {c, req, req->msg, 0, NULL, NULL, KP_ERR_NONE, {0}};
    struct kprod *kp = NULL;
    for (int32_t i = 0; i < pd.pr->topic_data.n; i++)
        pd.total += pd.pr->topic_data.v[i].partition_data.n;
    int rc = find_dups(&pd);
    if (pd.pr->transactional_id.len >= 0 &&
        !brk__kafka_allowed(c, SEC_OP_WRITE, SEC_RES_TRANSACTIONAL_ID, pd.pr->transactional_id))
        pd.denied = KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED; /* Kafka's first check */
    if (rc == 0 && (rc = produce_logs_ready(&pd)) == 0)
        return 0; /* waiting for its logs to open: served again then */
    rc = rc == 1 ? 0 : rc;
    if (rc == 0 && pd.pr->acks == -1 && !(kp = kprod_new(&pd)))
        rc = -ENOMEM;
    if (rc == 0 && !kp && !(pd.resp = skeleton(&req->arena, pd.pr, false)))
        rc = -ENOMEM;
    if (rc) {
        kc_log_warn("%s: out of memory serving a produce; closing", brk_conn_peer(c));
        return rc;
    }
    int32_t failed = produce_all(&pd, kp);
    if (kp) {
        brk_park_resume(&kp->park, BRK_PARK_RESUMED); /* ends once every fsync settled */
        return 0;
    }
    if (pd.pr->acks != 0)
        return brk__kafka_reply(c, &req->hdr, pd.resp);
    if (failed)
        kc_log_info("%s: an acks=0 produce failed on %d partition%s; closing the connection "
                    "(the producer gets no answer to read)", brk_conn_peer(c), (int)failed,
                    failed == 1 ? "" : "s");
    return failed ? -EPROTO : 0;
}
