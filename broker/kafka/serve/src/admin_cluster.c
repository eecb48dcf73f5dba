/*
 * admin_cluster.c - DeleteRecords, DescribeCluster, DescribeLogDirs.
 *
 *   DeleteRecords    per partition: DELETE on the topic (29); unknown (3); the internal
 *                    topic (17, Kafka's "Cannot delete records of internal topic"); an
 *                    offset above the high watermark or below -1 (1); -1 means the high
 *                    watermark. The log start moves durably (appendLog's
 *                    log-start-offset-checkpoint, fsynced before the answer); the answer's
 *                    low_watermark is the new log start. Consumers below it get
 *                    OFFSET_OUT_OF_RANGE from then on, across restarts
 *   DescribeCluster  DESCRIBE on the cluster (31); this broker, the cluster id, controller
 *                    0; cluster_authorized_operations when asked (a bit per operation
 *                    the principal may do on the cluster); v1 endpoint_type 1 (brokers)
 *                    only: 2 (controllers) is 119, as a Kafka broker answers it
 *   DescribeLogDirs  DESCRIBE on the cluster (31 from v3; before, an empty list as Kafka);
 *                    one log dir, the data directory (absolute); per partition its size
 *                    (the .log files), offset lag 0 (nothing is moving), not future; v4
 *                    the file system's total and usable bytes (statvfs)
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "sec_acl.h"

/* ---- DeleteRecords --------------------------------------------------------------------------- */

static void delete_records_one(struct brk_conn *c, const struct kp_delete_records_req_topic *t,
                               const struct kp_delete_records_req_partition *in, int open_err,
                               struct kp_delete_records_resp_partition_result *out)
{
    struct brk_server *srv = brk_conn_server(c);
    struct alog *log;
    out->partition_index = in->partition_index;
    out->low_watermark = -1;
    if (!brk__kafka_allowed(c, SEC_OP_DELETE, SEC_RES_TOPIC, t->name)) {
        out->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    struct part_topic *topic;
    if ((out->error_code = brk__kafka_topic(srv, t->name, &topic)))
        return;
    if (!(log = part_topic_log(topic, in->partition_index))) {
        out->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (brk_topic_internal((const char *)t->name.p, (size_t)t->name.len)) {
        out->error_code = KP_ERR_INVALID_TOPIC_EXCEPTION;
        return;
    }
    if (part_topic_flags(topic) & BRK_TOPIC_NO_RETENTION) {
        out->error_code = KP_ERR_POLICY_VIOLATION; /* compact only: Kafka's "can not be
                                                    * deleted due to the configured policy" */
        return;
    }
    if (open_err) {
        out->error_code = brk__kafka_open_error(open_err);
        return;
    }
    int64_t low;
    int rc = brk_delete_records(srv, log, in->offset, &low);
    if (rc == 0)
        out->low_watermark = low;
    else
        out->error_code = rc == KC_EOFFSET ? KP_ERR_OFFSET_OUT_OF_RANGE
                                           : KP_ERR_KAFKA_STORAGE_ERROR;
}

/* Every log it moves, open (brk_logs_ready): 1 go on, 0 deferred, < 0. The open is off the
 * loop; the flush and the checkpoints alog_advance_start then waits for are not (an
 * administrator's call, rare: see the report of issue 11). */
static int delete_logs_ready(struct brk_conn *c, struct kp_request *req,
                             struct brk_kafka_logs *logs)
{
    const struct kp_delete_records_req *dr = req->msg;
    int32_t total = 0;
    for (int32_t i = 0; i < dr->topics.n; i++)
        total += dr->topics.v[i].partitions.n;
    if (brk__kafka_logs_init(logs, &req->arena, total) != 0)
        return -ENOMEM;
    for (int32_t i = 0; i < dr->topics.n; i++) {
        const struct kp_delete_records_req_topic *t = &dr->topics.v[i];
        const char *name = (const char *)t->name.p;
        size_t len = (size_t)KC_MAX(t->name.len, 0);
        bool go = !brk_topic_internal(name, len) &&
                  brk_authorize_quiet(c, SEC_OP_DELETE, SEC_RES_TOPIC, name, len);
        for (int32_t j = 0; j < t->partitions.n; j++)
            brk__kafka_logs_add(logs, go ? brk_conn_server(c) : NULL, t->name,
                                t->partitions.v[j].partition_index);
    }
    return brk__kafka_logs_ready(c, logs, dr->timeout_ms > 0 ? dr->timeout_ms : -1);
}

int brk__kafka_delete_records(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_delete_records_req *dr = req->msg;
    struct kp_arena *a = &req->arena;
    struct brk_kafka_logs logs;
    int rc = delete_logs_ready(c, req, &logs);
    if (rc <= 0)
        return rc; /* 0: waiting for its logs to open, served again then */
    struct kp_delete_records_resp *resp = kp_new(a, &kp_delete_records_resp_schema, 1);
    struct kp_delete_records_resp_topic_result *rt =
        kp_new(a, &kp_delete_records_resp_topic_result_schema, dr->topics.n);
    if (!resp || (!rt && dr->topics.n > 0))
        return -ENOMEM;
    for (int32_t i = 0, k = 0; i < dr->topics.n; i++) {
        const struct kp_delete_records_req_topic *t = &dr->topics.v[i];
        struct kp_delete_records_resp_partition_result *p =
            kp_new(a, &kp_delete_records_resp_partition_result_schema, t->partitions.n);
        if (!p && t->partitions.n > 0)
            return -ENOMEM;
        for (int32_t j = 0; j < t->partitions.n; j++, k++)
            delete_records_one(c, t, &t->partitions.v[j], logs.err[k], &p[j]);
        rt[i].name = t->name;
        KP_SET(rt[i].partitions, t->partitions.n, p);
    }
    KP_SET(resp->topics, dr->topics.n, rt);
    return brk__kafka_reply(c, &req->hdr, resp);
}

/* ---- DescribeCluster ------------------------------------------------------------------------- */

/* Kafka's cluster operations, as the bits of cluster_authorized_operations. */
static int32_t cluster_ops(struct brk_conn *c)
{
    static const int ops[] = {SEC_OP_ALTER, SEC_OP_ALTER_CONFIGS, SEC_OP_CLUSTER_ACTION,
                              SEC_OP_CREATE, SEC_OP_DESCRIBE, SEC_OP_DESCRIBE_CONFIGS,
                              SEC_OP_IDEMPOTENT_WRITE, SEC_OP_CREATE_TOKENS,
                              SEC_OP_DESCRIBE_TOKENS};
    int32_t bits = 0;
    for (size_t i = 0; i < KC_ARRAY_SIZE(ops); i++)
        if (brk__kafka_allowed(c, ops[i], SEC_RES_CLUSTER, kp_slice_str(SEC_CLUSTER_NAME)))
            bits |= (int32_t)1 << ops[i];
    return bits;
}

int brk__kafka_describe_cluster(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_describe_cluster_req *dr = req->msg;
    struct kp_arena *a = &req->arena;
    struct kp_describe_cluster_resp *resp = kp_new(a, &kp_describe_cluster_resp_schema, 1);
    struct kp_describe_cluster_resp_broker *b = kp_new(a, &kp_describe_cluster_resp_broker_schema, 1);
    if (!resp || !b)
        return -ENOMEM;
    if (req->hdr.request_api_version >= 1)
        resp->endpoint_type = dr->endpoint_type;
    if (!brk__kafka_allowed(c, SEC_OP_DESCRIBE, SEC_RES_CLUSTER, kp_slice_str(SEC_CLUSTER_NAME))) {
        resp->error_code = KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    } else if (req->hdr.request_api_version >= 1 && dr->endpoint_type != 1) {
        resp->error_code = KP_ERR_UNSUPPORTED_ENDPOINT_TYPE;
        resp->error_message = brk__kafka_strf(a, "The request was sent to an endpoint of type "
                                                 "BROKER, but we wanted an endpoint of type "
                                                 "%s", dr->endpoint_type == 2 ? "CONTROLLER"
                                                                              : "UNKNOWN");
    }
    struct brk_cview *v = brk_cluster_view(brk_conn_server(c)); /* a cluster's, or NULL */
    resp->cluster_id = kp_slice_str(v ? v->cluster_id : BRK_KAFKA_CLUSTER_ID);
    resp->controller_id = v ? v->controller : BRK_KAFKA_NODE_ID;
    if (resp->error_code == KP_ERR_NONE && v) { /* every live broker */
        struct kp_describe_cluster_resp_broker *bs =
            kp_new(a, &kp_describe_cluster_resp_broker_schema, v->nbrokers);
        for (int i = 0; bs && i < v->nbrokers; i++)
            bs[i] = (struct kp_describe_cluster_resp_broker){
                v->brokers[i].id, kp_slice_str(v->brokers[i].host), v->brokers[i].port,
                kp_slice_str(v->brokers[i].rack)};
        if (bs)
            KP_SET(resp->brokers, v->nbrokers, bs);
    } else if (resp->error_code == KP_ERR_NONE) {
        b->broker_id = BRK_KAFKA_NODE_ID;
        b->host = kp_slice_str(brk_conn_advertised_host(c));
        b->port = brk_conn_advertised_port(c);
        KP_SET(resp->brokers, 1, b);
    }
    if (dr->include_cluster_authorized_operations && resp->error_code == KP_ERR_NONE)
        resp->cluster_authorized_operations = cluster_ops(c);
    int rc = brk__kafka_reply(c, &req->hdr, resp);
    brk_cview_put(v); /* after the encoding: the answer pointed into it */
    return rc;
}

/* ---- DescribeLogDirs ------------------------------------------------------------------------- */

typedef struct kp_describe_log_dirs_resp_topic ld_topic;

static int64_t partition_size(struct alog *log)
{
    struct alog_info ai;
    alog_info(log, &ai);
    return (int64_t)ai.bytes;
}

/* One topic's entry: every partition (asked NULL), or those asked that exist. */
static int log_dir_topic(struct kp_arena *a, struct part_topic *t, const struct kc_slice *name,
                         const int32_t *asked, int32_t nasked, ld_topic *out)
{
    int32_t n = asked ? nasked : part_topic_partitions(t), k = 0;
    struct kp_describe_log_dirs_resp_partition *p =
        kp_new(a, &kp_describe_log_dirs_resp_partition_schema, n);
    if (!p && n > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        int32_t idx = asked ? asked[i] : i;
        struct alog *log = part_topic_log(t, idx);
        if (!log)
            continue; /* Kafka leaves out what this broker does not hold */
        p[k].partition_index = idx;
        p[k].partition_size = partition_size(log);
        p[k++].offset_lag = 0;
    }
    out->name = *name;
    KP_SET(out->partitions, k, p);
    return 0;
}

static int log_dir_topics(struct brk_conn *c, struct kp_request *req,
                          struct kp_describe_log_dirs_resp_result *dir)
{
    const struct kp_describe_log_dirs_req *dr = req->msg;
    struct kp_arena *a = &req->arena;
    struct part_registry *reg = brk_server_registry(brk_conn_server(c));
    size_t total = dr->topics.n < 0 ? part_topic_list(reg, NULL, 0) : (size_t)dr->topics.n;
    struct part_topic **all = kp_arena_alloc(a, (total + 1) * sizeof(*all));
    ld_topic *out = kp_new(a, &kp_describe_log_dirs_resp_topic_schema, (int32_t)total);
    int32_t k = 0;
    if (!all || (!out && total > 0))
        return -ENOMEM;
    if (dr->topics.n < 0)
        total = KC_MIN(total, part_topic_list(reg, all, total));
    for (size_t i = 0; i < total; i++) {
        const struct kp_describe_log_dirs_req_describable_log_dir_topic *in =
            dr->topics.n < 0 ? NULL : &dr->topics.v[i];
        struct part_topic *t = in ? NULL : all[i];
        if (in && brk__kafka_topic(brk_conn_server(c), in->topic, &t) != KP_ERR_NONE)
            continue;
        struct kc_slice name = in ? in->topic : kp_slice_str(part_topic_name(t));
        int rc = log_dir_topic(a, t, &name, in ? in->partitions.v : NULL,
                               in ? in->partitions.n : 0, &out[k++]);
        if (rc)
            return rc;
    }
    KP_SET(dir->topics, k, out);
    return 0;
}

int brk__kafka_describe_log_dirs(struct brk_conn *c, struct kp_request *req)
{
    struct kp_arena *a = &req->arena;
    int16_t v = req->hdr.request_api_version;
    struct kp_describe_log_dirs_resp *resp = kp_new(a, &kp_describe_log_dirs_resp_schema, 1);
    struct kp_describe_log_dirs_resp_result *dir =
        kp_new(a, &kp_describe_log_dirs_resp_result_schema, 1);
    if (!resp || !dir)
        return -ENOMEM;
    if (!brk__kafka_allowed(c, SEC_OP_DESCRIBE, SEC_RES_CLUSTER, kp_slice_str(SEC_CLUSTER_NAME))) {
        if (v >= 3)
            resp->error_code = KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
        KP_SET(resp->results, 0, dir);
        return brk__kafka_reply(c, &req->hdr, resp);
    }
    char path[PATH_MAX];
    const char *dirname = brk_server_config(brk_conn_server(c))->data_dir;
    dir->log_dir = brk__kafka_strf(a, "%s", realpath(dirname, path) ? path : dirname);
    int rc = log_dir_topics(c, req, dir);
    if (rc)
        return rc;
    struct statvfs sv;
    if (v >= 4 && statvfs(dirname, &sv) == 0) {
        dir->total_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        dir->usable_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    }
    KP_SET(resp->results, 1, dir);
    return brk__kafka_reply(c, &req->hdr, resp);
}
