/*
 * offsetapi.c - OffsetCommit v0-5 and OffsetFetch v0-4: where a group has got to.
 *
 *   OffsetCommit  req  group_id str, generation_id i32 (v1+), member_id str (v1+),
 *                      retention_time_ms i64 (v2-4),
 *                      [topic str, [partition i32, offset i64,
 *                                   commit_timestamp i64 (v1 only), metadata str?]]
 *                 resp throttle i32 (v3+), [topic str, [partition i32, error i16]]
 *   OffsetFetch   req  group_id str, [topic str, [partition i32]]   (null = all, v2+)
 *                 resp throttle i32 (v3+),
 *                      [topic str, [partition i32, offset i64, metadata str?, error i16]],
 *                      error i16 (v2+)                             <- a trailing error
 *
 * librdkafka and kafkajs both send OffsetCommit v5 and OffsetFetch v4 to this table.
 * The coordinator decides whether a commit is allowed (kp_group_commit_check); the server
 * stores it, in Kafka's __consumer_offsets format (the core's brk_offsets_record.h).
 */
#include <errno.h>

#include "kp_int.h"

static void dec_commit_part(struct kp__dec *d, struct kp_offset_commit_part *p)
{
    p->index = kp__rd_i32(d);
    p->offset = kp__rd_i64(d);
    p->leader_epoch = -1;
    p->commit_timestamp = d->version == 1 ? kp__rd_i64(d) : -1;
    p->metadata = kp__rd_nstr(d);
    p->error = KP_ERR_UNKNOWN_SERVER_ERROR;
}

int kp__dec_offset_commit(struct kp__dec *d, struct kp_offset_commit_req *req)
{
    size_t part_min = d->version == 1 ? 22 : 14;
    req->group_id = kp__rd_str(d);
    req->generation_id = d->version >= 1 ? kp__rd_i32(d) : -1;
    req->member_id = d->version >= 1 ? kp__rd_str(d) : (struct kc_slice){(const uint8_t *)"", 0};
    req->group_instance_id = (struct kc_slice){NULL, -1};
    req->retention_ms = d->version >= 2 && d->version <= 4 ? kp__rd_i64(d) : -1;
    req->ntopics = kp__rd_array(d, 6, false, (void **)&req->topics, sizeof(*req->topics));
    for (int32_t i = 0; i < req->ntopics && !d->err; i++) {
        struct kp_offset_commit_topic *t = &req->topics[i];
        t->name = kp__rd_str(d);
        t->nparts = kp__rd_array(d, part_min, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d->err; j++)
            dec_commit_part(d, &t->parts[j]);
    }
    return d->err;
}

int kp__dec_offset_fetch(struct kp__dec *d, struct kp_offset_fetch_req *req)
{
    req->group_id = kp__rd_str(d);
    req->ntopics = kp__rd_array(d, 6, d->version >= 2, (void **)&req->topics,
                                sizeof(*req->topics));
    for (int32_t i = 0; i < req->ntopics && !d->err; i++) {
        struct kp_offset_fetch_topic *t = &req->topics[i];
        t->name = kp__rd_str(d);
        t->nparts = kp__rd_array(d, 4, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d->err; j++)
            t->parts[j] = kp__rd_i32(d);
    }
    return d->err;
}

int kp_encode_offset_commit(struct kc_writer *w, const struct kp_header *h,
                            const struct kp_offset_commit_req *req)
{
    if (!kp__ver_in(h, 0, 5))
        return -EINVAL;
    size_t start = kp__resp_begin(w, h);
    if (h->api_version >= 3)
        kc_write_i32(w, 0); /* throttle_time_ms */
    kc_write_i32(w, req->ntopics);
    for (int32_t i = 0; i < req->ntopics; i++) {
        const struct kp_offset_commit_topic *t = &req->topics[i];
        kp__wr_str(w, t->name);
        kc_write_i32(w, t->nparts);
        for (int32_t j = 0; j < t->nparts; j++) {
            kc_write_i32(w, t->parts[j].index);
            kc_write_i16(w, t->parts[j].error);
        }
    }
    return kp__resp_end(w, start, 0);
}

int kp_encode_offset_fetch(struct kc_writer *w, const struct kp_header *h,
                           const struct kp_offset_fetch_resp *resp)
{
    if (!kp__ver_in(h, 0, 4))
        return -EINVAL;
    size_t start = kp__resp_begin(w, h);
    if (h->api_version >= 3)
        kc_write_i32(w, 0); /* throttle_time_ms */
    kc_write_i32(w, resp->ntopics);
    for (int32_t i = 0; i < resp->ntopics; i++) {
        const struct kp_offset_fetch_resp_topic *t = &resp->topics[i];
        kp__wr_str_nn(w, t->name);
        kc_write_i32(w, t->nparts);
        for (int32_t j = 0; j < t->nparts; j++) {
            const struct kp_offset_fetch_part *p = &t->parts[j];
            kc_write_i32(w, p->index);
            kc_write_i64(w, p->offset);
            kp__wr_str(w, p->metadata);
            kc_write_i16(w, p->error);
        }
    }
    if (h->api_version >= 2)
        kc_write_i16(w, resp->error);
    return kp__resp_end(w, start, 0);
}
