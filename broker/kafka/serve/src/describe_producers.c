/*
 * describe_producers.c - DescribeProducers (v0, KIP-664): the producer state each asked
 * partition's log keeps (appendLog's alog_producers), for tools that look for a stuck or
 * fenced producer.
 *
 *   per topic:     DESCRIBE on the topic?          no -> 29 on each of its partitions
 *   per partition: exists?                         no -> 3
 *                  its producers, by id: epoch, last sequence, last timestamp; coordinator
 *                  epoch and transaction start -1 (no transactions here)
 *
 * A store's log that is closed is opened to be described, as DescribeLogDirs does - off
 * the loop: the request waits for its logs (brk_logs_ready) before it reads any of them.
 */
#include <errno.h>
#include <stdlib.h>

#include "alog_producer.h"
#include "kafka_int.h"
#include "kpm_describe_producers.h"
#include "sec_acl.h"

typedef struct kp_describe_producers_resp_partition_response dp_part;
typedef struct kp_describe_producers_resp_producer_state dp_state;

/* Partition p's producers into out (from the arena): 0, or -ENOMEM. */
static int describe_log(struct kp_arena *a, struct alog *log, dp_part *out)
{
    int n = alog_producers(log, NULL, 0), got;
    struct alog_producer_info *info = NULL;
    for (;;) { /* the count may grow between the calls: ask again with room for it */
        if (n < 0)
            return n;
        free(info);
        info = calloc((size_t)n + 1, sizeof(*info));
        if (!info)
            return -ENOMEM;
        got = alog_producers(log, info, n);
        if (got <= n)
            break;
        n = got;
    }
    int rc = got < 0 ? got : 0;
    dp_state *s = rc ? NULL : kp_new(a, &kp_describe_producers_resp_producer_state_schema, got + 1);
    if (rc == 0 && !s)
        rc = -ENOMEM;
    for (int i = 0; rc == 0 && i < got; i++)
        s[i] = (dp_state){info[i].producer_id, info[i].epoch, info[i].last_sequence,
                          info[i].last_timestamp, info[i].coordinator_epoch,
                          info[i].txn_start_offset};
    if (rc == 0)
        KP_SET(out->active_producers, got, s);
    free(info);
    return rc;
}

/* Every log it describes, open (brk_logs_ready): 1 go on, 0 deferred, < 0. */
static int describe_logs_ready(struct brk_conn *c, struct kp_request *req,
                               struct brk_kafka_logs *logs)
{
    const struct kp_describe_producers_req *r = req->msg;
    int32_t total = 0;
    for (int32_t i = 0; i < r->topics.n; i++)
        total += r->topics.v[i].partition_indexes.n;
    if (brk__kafka_logs_init(logs, &req->arena, total) != 0)
        return -ENOMEM;
    for (int32_t i = 0; i < r->topics.n; i++) {
        const struct kp_describe_producers_req_topic_request *t = &r->topics.v[i];
        bool go = brk_authorize_quiet(c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, (const char *)t->name.p,
                                      (size_t)KC_MAX(t->name.len, 0));
        for (int32_t j = 0; j < t->partition_indexes.n; j++)
            brk__kafka_logs_add(logs, go ? brk_conn_server(c) : NULL, t->name,
                                t->partition_indexes.v[j]);
    }
    return brk__kafka_logs_ready(c, logs, -1);
}

int brk__kafka_describe_producers(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_describe_producers_req *r = req->msg;
    struct kp_arena *a = &req->arena;
    struct kp_describe_producers_resp *resp = kp_new(a, &kp_describe_producers_resp_schema, 1);
    struct kp_describe_producers_resp_topic_response *tr =
        kp_new(a, &kp_describe_producers_resp_topic_response_schema, r->topics.n + 1);
    struct brk_kafka_logs logs;
    int rc = resp && tr ? describe_logs_ready(c, req, &logs) : -ENOMEM;
    if (rc <= 0)
        return rc; /* 0: waiting for its logs to open, served again then */
    for (int32_t i = 0, k = 0; i < r->topics.n; i++) {
        const struct kp_describe_producers_req_topic_request *t = &r->topics.v[i];
        dp_part *ps = kp_new(a, &kp_describe_producers_resp_partition_response_schema,
                             t->partition_indexes.n + 1);
        if (!ps)
            return -ENOMEM;
        bool allowed = brk__kafka_allowed(c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, t->name);
        struct part_topic *pt = NULL;
        bool known = allowed && brk__kafka_topic(brk_conn_server(c), t->name, &pt) == 0;
        for (int32_t j = 0; j < t->partition_indexes.n; j++, k++) {
            struct alog *log = known ? part_topic_log(pt, t->partition_indexes.v[j]) : NULL;
            ps[j].partition_index = t->partition_indexes.v[j];
            if (!allowed)
                ps[j].error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            else if (!log)
                ps[j].error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (logs.err[k])
                ps[j].error_code = brk__kafka_open_error(logs.err[k]);
            else if (describe_log(a, log, &ps[j]) != 0)
                ps[j].error_code = KP_ERR_KAFKA_STORAGE_ERROR;
        }
        tr[i].name = t->name;
        KP_SET(tr[i].partitions, t->partition_indexes.n, ps);
    }
    KP_SET(resp->topics, r->topics.n, tr);
    return brk__kafka_reply(c, &req->hdr, resp);
}
