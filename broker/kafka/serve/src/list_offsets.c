/*
 * list_offsets.c - ListOffsets (v0-9): where a consumer starts. A time, or one of Kafka's
 * special "timestamps", turned into an offset:
 *
 *   -2 earliest              the log start
 *   -1 latest                the high watermark; also for read_committed (the last
 *                            stable offset is the high watermark: no transactions here)
 *   -3 max timestamp (v7+)   the record with the largest timestamp (KIP-734), through
 *                            each segment's largest (alog_segments) and the time index
 *   -4 earliest local (v8+)  the log start: no tiered storage, so local = all (KIP-405)
 *   -5 latest tiered (v9+)   nothing is tiered: offset -1 and timestamp -1, as Kafka
 *                            answers for a topic without remote storage (KIP-1005)
 *   t >= 0                   the first record at or after t, found through the time index
 *                            (alog_offset_for_time) and, inside its batch (compressed or
 *                            not), the exact record and its timestamp; none that recent: -1
 *
 * v0 answers with a list of offsets (old_style_offsets, at most max_num_offsets of them)
 * instead of one offset and its timestamp: [log start] for earliest, [high watermark] for
 * latest, [the offset found] for a time. Kafka's v0 listed segment start offsets older than
 * the time from the files' modification times; nothing reads that list but its first
 * entry, which is what is given here.
 *
 * A topic the principal may not DESCRIBE: TOPIC_AUTHORIZATION_FAILED (29) for each of its
 * partitions, before anything is looked up (auth.c). A partition named twice in one
 * request: INVALID_REQUEST for each occurrence, as Kafka's duplicatePartitions answers
 * (util.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "sec_acl.h"

#define LIST_LATEST         (-1)
#define LIST_EARLIEST       (-2)
#define LIST_MAX_TIMESTAMP  (-3)
#define LIST_EARLIEST_LOCAL (-4)
#define LIST_LATEST_TIERED  (-5)

/*
 * The first record at or after ts. The time index finds the batch (alog_offset_for_time);
 * its records say exactly which one, and its timestamp - inside a compressed batch too
 * (read through kc_batch_reader), so a consumer starts at the record, not at its batch.
 * A LogAppendTime batch gives every record its max timestamp: its first record is it.
 */
static int16_t offset_for_time(struct alog *log, int64_t ts, struct kc_writer *w,
                               int64_t *offset, int64_t *found_ts)
{
    struct kc_batch_reader br;
    struct kc_record rec;
    int64_t off, next;
    int rc = alog_offset_for_time(log, ts, &off);
    if (rc == -ENOENT)
        return KP_ERR_NONE; /* nothing that recent: offset -1, timestamp -1 */
    if (rc)
        return KP_ERR_KAFKA_STORAGE_ERROR;
    *offset = off;
    kc_writer_reset(w);
    if (alog_read_copy(log, off, 1, w, &next) != 0 || kc_writer_len(w) < KC_BATCH_HEADER_SIZE)
        return KP_ERR_NONE;
    const uint8_t *b = kc_writer_data(w);
    *found_ts = (int64_t)kc_load_be64(b + KC_BATCH_OFF_MAX_TIMESTAMP);
    if (kc_load_be16(b + KC_BATCH_OFF_ATTRIBUTES) & KC_BATCH_ATTR_LOG_APPEND)
        return KP_ERR_NONE; /* the batch's first offset and its time */
    if (kc_batch_reader_open(&br, b, kc_writer_len(w), BRK_KAFKA_INFLATE_MAX) != 0)
        return KP_ERR_NONE; /* unreadable: the batch's start, never late */
    while (kc_batch_reader_next(&br, &rec) == 1) {
        if (rec.timestamp >= ts && rec.offset >= off) {
            *offset = rec.offset;
            *found_ts = rec.timestamp;
            break;
        }
    }
    kc_batch_reader_close(&br);
    return KP_ERR_NONE;
}

/* The record with the largest timestamp (-3): each segment knows its largest
 * (alog_segments), as Kafka's do; the time index then finds the first record that
 * carries it (in a compressed batch: the batch's first offset, see offset_for_time). */
static int16_t max_timestamp(struct alog *log, struct kc_writer *w, int64_t *offset,
                             int64_t *found_ts)
{
    int n = alog_segments(log, NULL, 0);
    struct alog_segment_info *segs = calloc((size_t)n + 1, sizeof(*segs));
    if (!segs)
        return KP_ERR_KAFKA_STORAGE_ERROR; /* out of memory: clients retry this one */
    n = KC_MIN(n, alog_segments(log, segs, n)); /* a segment rolled meanwhile: not seen */
    int64_t best = -1;
    for (int i = 0; i < n; i++)
        best = KC_MAX(best, segs[i].max_timestamp);
    free(segs);
    return best < 0 ? KP_ERR_NONE : offset_for_time(log, best, w, offset, found_ts);
}

/* One partition: error, offset and timestamp (both -1 when none). */
static int16_t list_one(struct brk_server *srv, struct kc_slice topic, int32_t partition,
                        int64_t ts, struct kc_writer *w, int64_t *offset, int64_t *found_ts)
{
    struct alog *log;
    int16_t err = brk__kafka_partition(srv, topic, partition, &log);
    *offset = -1;
    *found_ts = -1;
    if (err)
        return err;
    switch (ts) {
    case LIST_LATEST:
        *offset = alog_end_offset(log); /* = the last stable offset: no transactions */
        /* A cluster: the high watermark, what a consumer may read (replication). */
        (void)brk_cluster_high_watermark(srv, (const char *)topic.p,
                                         (size_t)KC_MAX(topic.len, 0), partition, offset);
        return KP_ERR_NONE;
    case LIST_EARLIEST:
    case LIST_EARLIEST_LOCAL:
        *offset = alog_start_offset(log);
        return KP_ERR_NONE;
    case LIST_MAX_TIMESTAMP:
        return max_timestamp(log, w, offset, found_ts);
    case LIST_LATEST_TIERED:
        return KP_ERR_NONE;
    }
    return ts >= 0 ? offset_for_time(log, ts, w, offset, found_ts) : KP_ERR_INVALID_REQUEST;
}

/* Which of the special timestamps a version may use (older ones: INVALID_REQUEST). */
static bool special_allowed(int64_t ts, int16_t v)
{
    return ts >= LIST_EARLIEST || (ts == LIST_MAX_TIMESTAMP && v >= 7) ||
           (ts == LIST_EARLIEST_LOCAL && v >= 8) || (ts == LIST_LATEST_TIERED && v >= 9);
}

/* Fill partition rp of the answer from request partition rq. */
static int list_part(struct brk_server *srv, struct kp_arena *a, int16_t v, struct kc_slice topic,
                     const struct kp_list_offsets_req_partition *rq, int16_t fixed,
                     struct kp_list_offsets_resp_partition_response *rp, struct kc_writer *w)
{
    int64_t offset = -1, ts = -1;
    rp->partition_index = rq->partition_index;
    if (fixed) /* not allowed to describe the topic (29), or named twice (42) */
        rp->error_code = fixed;
    else if (!special_allowed(rq->timestamp, v))
        rp->error_code = KP_ERR_INVALID_REQUEST;
    else if (!(rp->error_code = brk__kafka_leader_check(srv, topic, rq->partition_index,
                                                         rq->current_leader_epoch)))
        rp->error_code = list_one(srv, topic, rq->partition_index, rq->timestamp, w, &offset, &ts);
    if (v >= 1) {
        rp->offset = offset;
        rp->timestamp = ts;
        return 0;
    }
    int32_t n = offset >= 0 && rq->max_num_offsets > 0 ? 1 : 0; /* v0: a list */
    int64_t *list = kp_arena_alloc(a, sizeof(int64_t));
    if (!list)
        return -ENOMEM;
    list[0] = offset;
    KP_SET(rp->old_style_offsets, n, list);
    return 0;
}

/* Mark the partitions named twice (flat order). NULL and 0 on the usual single one. */
static int find_dups(struct kp_arena *a, const struct kp_list_offsets_req *lr, int32_t total,
                     bool **dup)
{
    *dup = kp_arena_alloc(a, (size_t)total + 1);
    struct brk_kafka_tp *tp = kp_arena_alloc(a, ((size_t)total + 1) * sizeof(*tp));
    if (!*dup || !tp)
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < lr->topics.n; i++)
        for (int32_t j = 0; j < lr->topics.v[i].partitions.n; j++, k++)
            tp[k] = (struct brk_kafka_tp){lr->topics.v[i].name.p, lr->topics.v[i].name.len,
                                          lr->topics.v[i].partitions.v[j].partition_index, k};
    (void)brk__kafka_dups(tp, total, *dup);
    return 0;
}

/* Every log the request reads, open (brk_logs_ready): 1 go on, 0 deferred, < 0. Those it
 * will refuse (denied, named twice) are not opened. */
static int list_logs_ready(struct brk_conn *c, struct kp_request *req, const bool *dup,
                           int32_t total, struct brk_kafka_logs *logs)
{
    const struct kp_list_offsets_req *lr = req->msg;
    if (brk__kafka_logs_init(logs, &req->arena, total) != 0)
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < lr->topics.n; i++) {
        const struct kp_list_offsets_req_topic *t = &lr->topics.v[i];
        bool go = brk_authorize_quiet(c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, (const char *)t->name.p,
                                      (size_t)KC_MAX(t->name.len, 0));
        for (int32_t j = 0; j < t->partitions.n; j++, k++)
            brk__kafka_logs_add(logs, go && !dup[k] ? brk_conn_server(c) : NULL, t->name,
                                t->partitions.v[j].partition_index);
    }
    int16_t v = req->hdr.request_api_version;
    return brk__kafka_logs_ready(c, logs, v >= 10 && lr->timeout_ms > 0 ? lr->timeout_ms : -1);
}

int brk__kafka_list_offsets(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_list_offsets_req *lr = req->msg;
    struct kp_list_offsets_resp *resp = kp_new(&req->arena, &kp_list_offsets_resp_schema, 1);
    struct kp_list_offsets_resp_topic_response *rt =
        kp_new(&req->arena, &kp_list_offsets_resp_topic_response_schema, lr->topics.n);
    int32_t total = 0;
    bool *dup = NULL;
    for (int32_t i = 0; i < lr->topics.n; i++)
        total += lr->topics.v[i].partitions.n;
    int rc = resp && (rt || lr->topics.n == 0) ? find_dups(&req->arena, lr, total, &dup) : -ENOMEM;
    struct brk_kafka_logs logs;
    if (rc == 0 && (rc = list_logs_ready(c, req, dup, total, &logs)) == 0)
        return 0; /* waiting for its logs to open: served again then */
    rc = rc == 1 ? 0 : rc;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    for (int32_t i = 0, k = 0; rc == 0 && i < lr->topics.n; i++) {
        const struct kp_list_offsets_req_topic *t = &lr->topics.v[i];
        struct kp_list_offsets_resp_partition_response *rp =
            kp_new(&req->arena, &kp_list_offsets_resp_partition_response_schema, t->partitions.n);
        bool allowed = brk__kafka_allowed(c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, t->name);
        rc = rp || t->partitions.n == 0 ? 0 : -ENOMEM;
        for (int32_t j = 0; rc == 0 && j < t->partitions.n; j++, k++)
            rc = list_part(brk_conn_server(c), &req->arena, req->hdr.request_api_version, t->name,
                           &t->partitions.v[j],
                           !allowed       ? KP_ERR_TOPIC_AUTHORIZATION_FAILED
                           : dup[k]       ? KP_ERR_INVALID_REQUEST
                           : logs.err[k]  ? brk__kafka_open_error(logs.err[k])
                                          : KP_ERR_NONE,
                           &rp[j], &w);
        rt[i].name = t->name;
        KP_SET(rt[i].partitions, t->partitions.n, rp);
    }
    kc_writer_fini(&w);
    if (rc)
        return rc;
    KP_SET(resp->topics, lr->topics.n, rt);
    return brk__kafka_reply(c, &req->hdr, resp);
}
