/*
 * listoffsets.c - ListOffsets v1-2: "which offset is earliest, latest, or at time T?"
 *
 *   request   replica_id i32, isolation_level i8 (v2+),
 *             [topic str, [partition i32, timestamp i64]]     -1 latest, -2 earliest
 *   response  throttle i32 (v2+),
 *             [topic str, [partition i32, error i16, timestamp i64, offset i64]]
 *
 * Latest is the high watermark (the next offset to be written), earliest the log start;
 * both answer timestamp -1. A time T >= 0 finds the first offset whose timestamp is >= T
 * (the time index), or offset -1 when there is none. v0 (an array of offsets per
 * partition) is advertised for librdkafka's range checks only: KC_ENOTIMPL.
 */
#include <errno.h>

#include "kp_int.h"

int kp__dec_list_offsets(struct kp__dec *d, struct kp_list_offsets_req *req)
{
    req->replica_id = kp__rd_i32(d);
    req->isolation_level = d->version >= 2 ? kp__rd_i8(d) : 0;
    req->ntopics = kp__rd_array(d, 6, false, (void **)&req->topics, sizeof(*req->topics));
    for (int32_t i = 0; i < req->ntopics && !d->err; i++) {
        struct kp_list_offsets_topic *t = &req->topics[i];
        t->name = kp__rd_str(d);
        t->nparts = kp__rd_array(d, 12, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d->err; j++) {
            struct kp_list_offsets_part *p = &t->parts[j];
            p->index = kp__rd_i32(d);
            p->timestamp = kp__rd_i64(d);
            p->error = KP_ERR_UNKNOWN_SERVER_ERROR;
            p->found_timestamp = -1;
            p->offset = -1;
        }
    }
    return d->err;
}

int kp_encode_list_offsets(struct kc_writer *w, const struct kp_header *h,
                           const struct kp_list_offsets_req *req)
{
    if (!kp__ver_in(h, 1, 2))
        return -EINVAL;
    size_t start = kp__resp_begin(w, h);
    if (h->api_version >= 2)
        kc_write_i32(w, 0); /* throttle_time_ms */
    kc_write_i32(w, req->ntopics);
    for (int32_t i = 0; i < req->ntopics; i++) {
        const struct kp_list_offsets_topic *t = &req->topics[i];
        kp__wr_str(w, t->name);
        kc_write_i32(w, t->nparts);
        for (int32_t j = 0; j < t->nparts; j++) {
            const struct kp_list_offsets_part *p = &t->parts[j];
            kc_write_i32(w, p->index);
            kc_write_i16(w, p->error);
            kc_write_i64(w, p->found_timestamp);
            kc_write_i64(w, p->offset);
        }
    }
    return kp__resp_end(w, start, 0);
}
