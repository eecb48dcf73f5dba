/*
 * metadata.c - Metadata v0-4: which brokers exist, which topics, who leads each partition.
 *
 *   request   v0   [topic str]                 empty array = all topics
 *             v1+  [topic str]?                null = all, empty = none (brokers only)
 *             v4   ... allow_auto_topic_creation bool
 *
 *   response  v3+  throttle i32
 *                  [node_id i32, host str, port i32, rack str? (v1+)]
 *                  cluster_id str? (v2+), controller_id i32 (v1+)
 *                  [error i16, name str, is_internal bool (v1+),
 *                     [error i16, index i32, leader i32, [replica i32], [isr i32]]]
 *
 * kcat -L sends topics=[] then topics=null (captured: fixtures/kcat_meta); producers
 * send [T] with allow_auto_topic_creation=true and librdkafka consumers false.
 */
#include <errno.h>

#include "kp_int.h"

int kp__dec_metadata(struct kp__dec *d, struct kp_metadata_req *req)
{
    bool v0 = d->version == 0;
    req->ntopics = kp__rd_array(d, 2, !v0, (void **)&req->topics, sizeof(*req->topics));
    for (int32_t i = 0; i < req->ntopics && !d->err; i++)
        req->topics[i] = kp__rd_str(d);
    if (v0 && req->ntopics == 0)
        req->ntopics = -1; /* v0: an empty list meant "all topics" */
    req->allow_auto_create = d->version >= 4 ? kp__rd_bool(d) : true;
    return d->err;
}

static void write_i32_array(struct kc_writer *w, int32_t n, const int32_t *v)
{
    kc_write_i32(w, n);
    for (int32_t i = 0; i < n; i++)
        kc_write_i32(w, v[i]);
}

static void write_topic(struct kc_writer *w, int16_t version, const struct kp_metadata_topic *t)
{
    kc_write_i16(w, t->error);
    kp__wr_str_nn(w, t->name);
    if (version >= 1)
        kc_write_i8(w, t->is_internal);
    kc_write_i32(w, t->nparts);
    for (int32_t i = 0; i < t->nparts; i++) {
        const struct kp_metadata_part *p = &t->parts[i];
        kc_write_i16(w, p->error);
        kc_write_i32(w, p->index);
        kc_write_i32(w, p->leader);
        write_i32_array(w, p->nreplicas, p->replicas);
        write_i32_array(w, p->nisr, p->isr);
    }
}

int kp_encode_metadata(struct kc_writer *w, const struct kp_header *h,
                       const struct kp_metadata_resp *resp)
{
    if (!kp__ver_in(h, 0, 4))
        return -EINVAL;
    int16_t v = h->api_version;
    size_t start = kp__resp_begin(w, h);
    if (v >= 3)
        kc_write_i32(w, 0); /* throttle_time_ms */
    kc_write_i32(w, resp->nbrokers);
    for (int32_t i = 0; i < resp->nbrokers; i++) {
        const struct kp_metadata_broker *b = &resp->brokers[i];
        kc_write_i32(w, b->node_id);
        kp__wr_str_nn(w, b->host);
        kc_write_i32(w, b->port);
        if (v >= 1)
            kp__wr_str(w, b->rack);
    }
    if (v >= 2)
        kp__wr_str(w, resp->cluster_id);
    if (v >= 1)
        kc_write_i32(w, resp->controller_id);
    kc_write_i32(w, resp->ntopics);
    for (int32_t i = 0; i < resp->ntopics; i++)
        write_topic(w, v, &resp->topics[i]);
    return kp__resp_end(w, start, 0);
}
