/*
 * leader_epoch.c - OffsetForLeaderEpoch (v0-4): where a leader epoch ended. A follower
 * asks it to learn how much of its log to keep (KIP-101); a consumer asks it after a
 * leader change (KIP-320), with the epoch of the last record it read, to learn whether
 * the new leader still has that record or truncated it away:
 *
 *   consumer at offset 120, last record read in epoch 3
 *        |  OffsetForLeaderEpoch(epoch 3, current_leader_epoch 5)
 *        v
 *   leader's epoch cache   epoch 0 @ 0, epoch 3 @ 80, epoch 5 @ 110
 *        |  epoch 3 ends where epoch 5 starts: (3, 110)
 *        v
 *   110 < 120: the records [110, 120) the consumer read are gone (log truncation)
 *
 * The answer per partition is Kafka's LeaderEpochFileCache.endOffsetFor:
 *
 *   epoch is the latest one             (epoch, log end offset)
 *   an older epoch                      (largest known epoch <= it, next epoch's start)
 *   older than the first known epoch    (epoch, the first epoch's start)
 *   newer than every known, or -1       (-1, -1)  UNDEFINED
 *
 * In a cluster the partition's replica answers (repl_leader_epoch_end, through
 * brk_cluster_epoch_end): FENCED_LEADER_EPOCH (74) / UNKNOWN_LEADER_EPOCH (75) when the
 * asker's current_leader_epoch is older / newer than the replica's, and only the leader
 * answers: NOT_LEADER_OR_FOLLOWER (6) elsewhere, for a follower's replica_id (v3+) too
 * (Kafka's ReplicaManager asks the leader only as well). Alone, this broker has led every
 * partition since offset 0 in epoch 0, so its cache is one entry (0 @ log start): epoch 0
 * ends at the log end offset, anything else is UNDEFINED.
 *
 * Authorization, as Kafka: CLUSTER_ACTION on the cluster (a broker) covers every topic;
 * otherwise DESCRIBE on each topic, else TOPIC_AUTHORIZATION_FAILED (29) for each of its
 * partitions. A cold log is opened off the loop first (brk_logs_ready).
 */
#include <errno.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "kpm_offset_for_leader_epoch.h"
#include "sec_acl.h"

typedef struct kp_offset_for_leader_epoch_req_offset_for_leader_topic olep_topic;
typedef struct kp_offset_for_leader_epoch_req_offset_for_leader_partition olep_part;
typedef struct kp_offset_for_leader_epoch_resp_epoch_end_offset olep_end;

/* A partition with no replica (alone, or a replica not loaded yet). */
static int16_t end_alone(struct brk_server *srv, struct kc_slice topic, const olep_part *q,
                         struct alog *log, olep_end *out)
{
    int16_t err = brk__kafka_leader_check(srv, topic, q->partition, q->current_leader_epoch);
    if (err)
        return err;
    if (brk_cluster_mode(srv))
        return KP_ERR_NOT_LEADER_OR_FOLLOWER; /* leader, replica still loading: retry */
    if (q->current_leader_epoch > 0)
        return KP_ERR_UNKNOWN_LEADER_EPOCH; /* alone, the epoch is 0 for ever */
    if (q->leader_epoch == 0) {                /* the one epoch, still being written */
        out->leader_epoch = 0;
        out->end_offset = alog_end_offset(log);
    }
    return KP_ERR_NONE;
}

/* One partition's answer into out (its partition set, its offsets -1 unless found). */
static void end_one(struct brk_server *srv, struct kc_slice topic, const olep_part *q,
                    int16_t fixed, olep_end *out)
{
    struct alog *log = NULL;
    struct brk_epoch_query eq = {q->current_leader_epoch, q->leader_epoch, 0, -1, -1};
    out->partition = q->partition;
    out->leader_epoch = -1;
    out->end_offset = -1;
    if ((out->error_code = fixed) != 0)
        return; /* denied (29), or its log would not open */
    if ((out->error_code = brk__kafka_partition(srv, topic, q->partition, &log)) != 0)
        return;
    if (brk_cluster_epoch_end(srv, (const char *)topic.p, (size_t)KC_MAX(topic.len, 0),
                              q->partition, &eq) != 0) {
        out->error_code = end_alone(srv, topic, q, log, out);
        return;
    }
    out->error_code = eq.error;
    out->leader_epoch = eq.end_epoch;
    out->end_offset = eq.end_offset;
}

/* Every log the request reads, open (brk_logs_ready): 1 go on, 0 deferred, < 0. */
static int olep_logs_ready(struct brk_conn *c, struct kp_request *req, bool broker,
                           struct brk_kafka_logs *logs)
{
    const struct kp_offset_for_leader_epoch_req *r = req->msg;
    int32_t total = 0;
    for (int32_t i = 0; i < r->topics.n; i++)
        total += r->topics.v[i].partitions.n;
    if (brk__kafka_logs_init(logs, &req->arena, total) != 0)
        return -ENOMEM;
    for (int32_t i = 0; i < r->topics.n; i++) {
        const olep_topic *t = &r->topics.v[i];
        bool go = broker || brk_authorize_quiet(c, SEC_OP_DESCRIBE, SEC_RES_TOPIC,
                                                (const char *)t->topic.p,
                                                (size_t)KC_MAX(t->topic.len, 0));
        for (int32_t j = 0; j < t->partitions.n; j++)
            brk__kafka_logs_add(logs, go ? brk_conn_server(c) : NULL, t->topic,
                                t->partitions.v[j].partition);
    }
    return brk__kafka_logs_ready(c, logs, -1);
}

int brk__kafka_offset_for_leader_epoch(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_offset_for_leader_epoch_req *r = req->msg;
    struct kp_arena *a = &req->arena;
    struct kp_offset_for_leader_epoch_resp *resp =
        kp_new(a, &kp_offset_for_leader_epoch_resp_schema, 1);
    struct kp_offset_for_leader_epoch_resp_offset_for_leader_topic_result *tr = kp_new(
        a, &kp_offset_for_leader_epoch_resp_offset_for_leader_topic_result_schema,
        r->topics.n + 1);
    bool broker = brk_authorize_quiet(c, SEC_OP_CLUSTER_ACTION, SEC_RES_CLUSTER,
                                      SEC_CLUSTER_NAME, strlen(SEC_CLUSTER_NAME));
    struct brk_kafka_logs logs;
    int rc = resp && tr ? olep_logs_ready(c, req, broker, &logs) : -ENOMEM;
    if (rc <= 0)
        return rc; /* 0: waiting for its logs to open, served again then */
    for (int32_t i = 0, k = 0; i < r->topics.n; i++) {
        const olep_topic *t = &r->topics.v[i];
        olep_end *ps = kp_new(a, &kp_offset_for_leader_epoch_resp_epoch_end_offset_schema,
                              t->partitions.n + 1);
        if (!ps)
            return -ENOMEM;
        bool allowed = broker || brk__kafka_allowed(c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, t->topic);
        for (int32_t j = 0; j < t->partitions.n; j++, k++)
            end_one(brk_conn_server(c), t->topic, &t->partitions.v[j],
                    !allowed      ? KP_ERR_TOPIC_AUTHORIZATION_FAILED
                    : logs.err[k] ? brk__kafka_open_error(logs.err[k])
                                  : KP_ERR_NONE,
                    &ps[j]);
        tr[i].topic = t->topic;
        KP_SET(tr[i].partitions, t->partitions.n, ps);
    }
    KP_SET(resp->topics, r->topics.n, tr);
    return brk__kafka_reply(c, &req->hdr, resp);
}
