/*
 * auth.c - may they: the ACL checks of the Kafka door, the operations Kafka's KafkaApis
 * checks for each API, answered with Kafka's error codes.
 *
 * The decision is the core's (brk_authorize: Kafka's authorizer model over
 * broker/security's sec_acl, on when authorizer.class.name is set, always yes otherwise).
 * Each handler asks before it acts, per item, the way Kafka's does:
 *
 *   API                         needs                                  refused with
 *   Produce                     WRITE topic (a transactional id:       29 per partition
 *                               WRITE on it first)                     (53 for all)
 *   Fetch                       READ topic; a follower (replica id     29 per partition
 *                               >= 0): CLUSTER_ACTION cluster
 *   ListOffsets                 DESCRIBE topic                         29 per partition
 *   Metadata                    DESCRIBE topic (all topics: the        29 per named topic;
 *                               others hidden); auto-creation:         hidden from "all"
 *                               CREATE cluster, else CREATE topic
 *   FindCoordinator             DESCRIBE group                         30 per key
 *   Join/Sync/Heartbeat/Leave   READ group                             30 (this file)
 *   OffsetCommit                READ group, then READ topic            30 all / 29
 *   OffsetFetch                 DESCRIBE group, then DESCRIBE topic    30 / 29 (named),
 *                                                                      hidden (all)
 *   CreateAcls, DeleteAcls      ALTER cluster                          31 per entry
 *   DescribeAcls                DESCRIBE cluster                       31
 *   Describe/AlterUserScram...  DESCRIBE / ALTER cluster               31
 *   ApiVersions, SaslHandshake, SaslAuthenticate                       nothing
 *
 * (The authorizer makes READ, WRITE, DELETE and ALTER imply DESCRIBE, ALTER_CONFIGS imply
 * DESCRIBE_CONFIGS: sec_acl.h.) A topic is judged before it is looked up, so a principal
 * that may not describe a topic cannot learn whether it exists. A denial is logged once
 * per check (brk_authorize); lists a principal sees only part of are filtered quietly.
 */
#include <errno.h>
#include <string.h>

#include "kafka_int.h"
#include "sec_acl.h"

/* ---- the questions --------------------------------------------------------------------------- */

bool brk__kafka_allowed(struct brk_conn *c, int op, int type, struct kc_slice name)
{
    return brk_authorize(c, op, type, name.len > 0 ? (const char *)name.p : "",
                         (size_t)KC_MAX(name.len, 0));
}

bool brk__kafka_allowed_quietly(struct brk_conn *c, int op, int type, struct kc_slice name)
{
    return brk_authorize_quiet(c, op, type, name.len > 0 ? (const char *)name.p : "",
                               (size_t)KC_MAX(name.len, 0));
}

bool brk__kafka_cluster_allowed(struct brk_conn *c, int op)
{
    return brk_authorize(c, op, SEC_RES_CLUSTER, SEC_CLUSTER_NAME, strlen(SEC_CLUSTER_NAME));
}

bool brk__kafka_may_create(struct brk_conn *c, struct kc_slice topic)
{
    if (brk_authorize_quiet(c, SEC_OP_CREATE, SEC_RES_CLUSTER, SEC_CLUSTER_NAME,
                            strlen(SEC_CLUSTER_NAME)))
        return true;
    return brk__kafka_allowed(c, SEC_OP_CREATE, SEC_RES_TOPIC, topic);
}

/* The operations Kafka's AclEntry.supportedOperations lists per resource type. */
static const int topic_ops[] = {SEC_OP_READ,   SEC_OP_WRITE,    SEC_OP_CREATE,
                                SEC_OP_DELETE, SEC_OP_ALTER,    SEC_OP_DESCRIBE,
                                SEC_OP_DESCRIBE_CONFIGS, SEC_OP_ALTER_CONFIGS};
static const int cluster_ops[] = {SEC_OP_CREATE, SEC_OP_ALTER, SEC_OP_DESCRIBE,
                                  SEC_OP_CLUSTER_ACTION, SEC_OP_DESCRIBE_CONFIGS,
                                  SEC_OP_ALTER_CONFIGS, SEC_OP_IDEMPOTENT_WRITE};
static const int group_ops[] = {SEC_OP_READ, SEC_OP_DESCRIBE, SEC_OP_DELETE};

int32_t brk__kafka_authorized_ops(struct brk_conn *c, int type, struct kc_slice name)
{
    const int *ops = type == SEC_RES_TOPIC ? topic_ops
                   : type == SEC_RES_CLUSTER ? cluster_ops
                                             : group_ops;
    size_t n = type == SEC_RES_TOPIC ? KC_ARRAY_SIZE(topic_ops)
             : type == SEC_RES_CLUSTER ? KC_ARRAY_SIZE(cluster_ops)
                                       : KC_ARRAY_SIZE(group_ops);
    int32_t bits = 0;
    for (size_t i = 0; i < n; i++)
        if (brk__kafka_allowed_quietly(c, ops[i], type, name))
            bits |= (int32_t)1 << ops[i];
    return bits;
}

/* ---- the group APIs: READ on the group, the whole request ---------------------------------- */

/* Kafka's answer to a group request the principal may not make: the error, and each
 * version's "nothing" in the other fields (KafkaApis: JoinGroupResult(memberId, error),
 * SyncGroupResult(error), the request's getErrorResponse for the rest). */
static int group_denied(struct brk_conn *c, struct kp_request *req)
{
    int16_t v = req->hdr.request_api_version;
    void *resp;
    switch (req->hdr.request_api_key) {
    case KP_API_JOIN_GROUP: {
        const struct kp_join_group_req *jq = req->msg;
        struct kp_join_group_resp *r = kp_new(&req->arena, &kp_join_group_resp_schema, 1);
        if ((resp = r) != NULL) {
            r->error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
            r->generation_id = -1;
            if (v < 7)
                r->protocol_name = kp_slice_str(""); /* not nullable before v7 */
            r->leader = kp_slice_str("");
            r->member_id = jq->member_id;
        }
        break;
    }
    case KP_API_SYNC_GROUP: {
        struct kp_sync_group_resp *r = kp_new(&req->arena, &kp_sync_group_resp_schema, 1);
        if ((resp = r) != NULL) {
            r->error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
            r->assignment = kp_slice_str("");
        }
        break;
    }
    case KP_API_HEARTBEAT: {
        struct kp_heartbeat_resp *r = kp_new(&req->arena, &kp_heartbeat_resp_schema, 1);
        if ((resp = r) != NULL)
            r->error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
        break;
    }
    default: { /* LeaveGroup: the whole request's error, no members */
        struct kp_leave_group_resp *r = kp_new(&req->arena, &kp_leave_group_resp_schema, 1);
        if ((resp = r) != NULL)
            r->error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
        break;
    }
    }
    return resp ? brk__kafka_reply(c, &req->hdr, resp) : -ENOMEM;
}

/* The group a group request names. */
static struct kc_slice group_of(const struct kp_request *req)
{
    switch (req->hdr.request_api_key) {
    case KP_API_JOIN_GROUP:
        return ((const struct kp_join_group_req *)req->msg)->group_id;
    case KP_API_SYNC_GROUP:
        return ((const struct kp_sync_group_req *)req->msg)->group_id;
    case KP_API_HEARTBEAT:
        return ((const struct kp_heartbeat_req *)req->msg)->group_id;
    default:
        return ((const struct kp_leave_group_req *)req->msg)->group_id;
    }
}

int brk__kafka_request_allowed(struct brk_conn *c, struct kp_request *req)
{
    switch (req->hdr.request_api_key) {
    case KP_API_JOIN_GROUP:
    case KP_API_SYNC_GROUP:
    case KP_API_HEARTBEAT:
    case KP_API_LEAVE_GROUP:
        if (brk__kafka_allowed(c, SEC_OP_READ, SEC_RES_GROUP, group_of(req)))
            return 1;
        int rc = group_denied(c, req);
        return rc < 0 ? rc : 0;
    }
    return 1; /* the others check item by item, in their handlers */
}
