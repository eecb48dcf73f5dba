/*
 * groupapi.c - the wire side of the group protocol: FindCoordinator, JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup (the state machine is in group.c).
 *
 *   FindCoordinator  req  key str, key_type i8 (v1+)
 *                    resp throttle i32 (v1+), error i16, error_message str? (v1+),
 *                         node_id i32, host str, port i32
 *   JoinGroup        req  group_id str, session_timeout_ms i32,
 *                         rebalance_timeout_ms i32 (v1+), member_id str,
 *                         group_instance_id str? (v5+), protocol_type str,
 *                         [name str, metadata bytes]
 *                    resp throttle i32 (v2+), error i16, generation_id i32,
 *                         protocol_name str, leader str, member_id str,
 *                         [member_id str, group_instance_id str? (v5+), metadata bytes]
 *   SyncGroup        req  group_id str, generation_id i32, member_id str,
 *                         group_instance_id str? (v3+), [member_id str, assignment bytes]
 *                    resp throttle i32 (v1+), error i16, assignment bytes
 *   Heartbeat        req  group_id str, generation_id i32, member_id str,
 *                         group_instance_id str? (v3+)
 *                    resp throttle i32 (v1+), error i16
 *   LeaveGroup       req  group_id str, member_id str              (v0-1; v3 batches)
 *                    resp throttle i32 (v1+), error i16
 */
#include <errno.h>

#include "kp_int.h"

static const struct kc_slice null_slice = {NULL, -1};

int kp__dec_find_coordinator(struct kp__dec *d, struct kp_find_coordinator_req *req)
{
    req->key = kp__rd_str(d);
    req->key_type = d->version >= 1 ? kp__rd_i8(d) : 0;
    return d->err;
}

int kp__dec_join_group(struct kp__dec *d, struct kp_join_group_req *req)
{
    req->group_id = kp__rd_str(d);
    req->session_timeout_ms = kp__rd_i32(d);
    req->rebalance_timeout_ms = d->version >= 1 ? kp__rd_i32(d) : req->session_timeout_ms;
    req->member_id = kp__rd_str(d);
    req->group_instance_id = d->version >= 5 ? kp__rd_nstr(d) : null_slice;
    req->protocol_type = kp__rd_str(d);
    req->nprotocols =
        kp__rd_array(d, 6, false, (void **)&req->protocols, sizeof(*req->protocols));
    for (int32_t i = 0; i < req->nprotocols && !d->err; i++) {
        req->protocols[i].name = kp__rd_str(d);
        req->protocols[i].metadata = kp__rd_bytes(d);
    }
    return d->err;
}

int kp__dec_sync_group(struct kp__dec *d, struct kp_sync_group_req *req)
{
    req->group_id = kp__rd_str(d);
    req->generation_id = kp__rd_i32(d);
    req->member_id = kp__rd_str(d);
    req->group_instance_id = d->version >= 3 ? kp__rd_nstr(d) : null_slice;
    req->nassignments =
        kp__rd_array(d, 6, false, (void **)&req->assignments, sizeof(*req->assignments));
    for (int32_t i = 0; i < req->nassignments && !d->err; i++) {
        req->assignments[i].member_id = kp__rd_str(d);
        req->assignments[i].assignment = kp__rd_bytes(d);
    }
    return d->err;
}

int kp__dec_heartbeat(struct kp__dec *d, struct kp_heartbeat_req *req)
{
    req->group_id = kp__rd_str(d);
    req->generation_id = kp__rd_i32(d);
    req->member_id = kp__rd_str(d);
    req->group_instance_id = d->version >= 3 ? kp__rd_nstr(d) : null_slice;
    return d->err;
}

int kp__dec_leave_group(struct kp__dec *d, struct kp_leave_group_req *req)
{
    req->group_id = kp__rd_str(d);
    req->member_id = kp__rd_str(d);
    return d->err;
}

int kp_encode_find_coordinator(struct kc_writer *w, const struct kp_header *h,
                               const struct kp_find_coordinator_resp *resp)
{
    if (!kp__ver_in(h, 0, 2))
        return -EINVAL;
    size_t start = kp__resp_begin(w, h);
    if (h->api_version >= 1)
        kc_write_i32(w, 0); /* throttle_time_ms */
    kc_write_i16(w, resp->error);
    if (h->api_version >= 1)
        kp__wr_str(w, resp->error_message);
    kc_write_i32(w, resp->node_id);
    kp__wr_str_nn(w, resp->host);
    kc_write_i32(w, resp->port);
    return kp__resp_end(w, start, 0);
}

int kp_encode_join_group(struct kc_writer *w, const struct kp_header *h,
                         const struct kp_join_group_resp *resp)
{
    if (!kp__ver_in(h, 0, 5))
        return -EINVAL;
    size_t start = kp__resp_begin(w, h);
    if (h->api_version >= 2)
        kc_write_i32(w, 0); /* throttle_time_ms */
    kc_write_i16(w, resp->error);
    kc_write_i32(w, resp->generation_id);
    kp__wr_str_nn(w, resp->protocol_name);
    kp__wr_str_nn(w, resp->leader);
    kp__wr_str_nn(w, resp->member_id);
    kc_write_i32(w, resp->nmembers);
    for (int32_t i = 0; i < resp->nmembers; i++) {
        const struct kp_join_member *m = &resp->members[i];
        kp__wr_str_nn(w, m->member_id);
        if (h->api_version >= 5)
            kp__wr_str(w, m->group_instance_id);
        kp__wr_bytes(w, m->metadata.len < 0 ? (struct kc_slice){NULL, 0} : m->metadata);
    }
    return kp__resp_end(w, start, 0);
}

int kp_encode_sync_group(struct kc_writer *w, const struct kp_header *h,
                         const struct kp_sync_group_resp *resp)
{
    if (!kp__ver_in(h, 0, 3))
        return -EINVAL;
    size_t start = kp__resp_begin(w, h);
    if (h->api_version >= 1)
        kc_write_i32(w, 0); /* throttle_time_ms */
    kc_write_i16(w, resp->error);
    kp__wr_bytes(w, resp->assignment.len < 0 ? (struct kc_slice){NULL, 0} : resp->assignment);
    return kp__resp_end(w, start, 0);
}

/* Heartbeat and LeaveGroup (v0-1) share a layout: [throttle (v1+)], error. */
static int encode_error_only(struct kc_writer *w, const struct kp_header *h, int16_t max,
                             int16_t error)
{
    if (!kp__ver_in(h, 0, max))
        return -EINVAL;
    size_t start = kp__resp_begin(w, h);
    if (h->api_version >= 1)
        kc_write_i32(w, 0); /* throttle_time_ms */
    kc_write_i16(w, error);
    return kp__resp_end(w, start, 0);
}

int kp_encode_heartbeat(struct kc_writer *w, const struct kp_header *h, int16_t error)
{
    return encode_error_only(w, h, 3, error);
}

int kp_encode_leave_group(struct kc_writer *w, const struct kp_header *h, int16_t error)
{
    return encode_error_only(w, h, 1, error);
}
