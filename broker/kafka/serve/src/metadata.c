/*
 * kafka_meta.c - where things are: Metadata, FindCoordinator, ListOffsets.
 *
 * Metadata is how a client learns the cluster: the brokers (here one: node 0 at the
 * address clients can reach, never 0.0.0.0 - clients drop the bootstrap address and
 * reconnect to what Metadata names), the controller (the same node), and per topic its
 * partitions with leader, replicas and ISR (all node 0). Asked for a topic that does not
 * exist, it creates it when the client allows (allow_auto_topic_creation: kcat -P and
 * kafkajs do, librdkafka consumers do not) with num.partitions partitions, as Kafka's
 * auto.create.topics.enable does; otherwise UNKNOWN_TOPIC_OR_PARTITION (3). A name Kafka
 * could never create gets INVALID_TOPIC_EXCEPTION (17). The new topic is returned whole
 * at once, where Kafka answers LEADER_NOT_AVAILABLE first and lets the client retry.
 *
 * FindCoordinator names the same node for every group. ListOffsets turns "earliest" (-2),
 * "latest" (-1) and a timestamp into an offset: the log start, the high watermark (also the
 * last stable offset: there are no transactions), and the first record at or after the
 * time, found through the time index.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

/* ---- Metadata ---------------------------------------------------------------------------- */

struct md_build {
    struct brk_kafka *k;
    struct kp_metadata_topic *topics;
    struct kp_metadata_part *parts; /* every topic's partitions, back to back */
    size_t nparts, cap;
};

/* Describe topic t into md->topics[i] (partitions from md->parts). */
static int md_topic(struct md_build *md, int32_t i, struct part_topic *t, struct kc_slice name)
{
    int32_t n = part_topic_partitions(t);
    if (md->nparts + (size_t)n > md->cap) {
        size_t cap = KC_MAX(md->cap * 2, md->nparts + (size_t)n);
        struct kp_metadata_part *p = reallocarray(md->parts, cap, sizeof(*p));
        if (!p)
            return -ENOMEM;
        md->parts = p;
        md->cap = cap;
    }
    struct kp_metadata_topic *mt = &md->topics[i];
    mt->error = KP_ERR_NONE;
    mt->name = name;
    mt->is_internal = brk_topic_internal((const char *)name.p, (size_t)name.len);
    mt->nparts = n;
    for (int32_t p = 0; p < n; p++)
        md->parts[md->nparts + (size_t)p] =
            (struct kp_metadata_part){KP_ERR_NONE, p, BRK_KAFKA_NODE_ID, 1, md->k->node, 1,
                                      md->k->node};
    md->nparts += (size_t)n;
    return 0;
}

/* One topic the client named: find it, maybe create it, or say why not. */
static int md_named(struct md_build *md, int32_t i, struct kc_slice name, bool auto_create)
{
    struct brk_server *srv = md->k->srv;
    struct part_topic *t;
    md->topics[i] = (struct kp_metadata_topic){KP_ERR_NONE, name, false, 0, NULL};
    if (kp_topic_name_check(name) != KP_ERR_NONE) {
        md->topics[i].error = KP_ERR_INVALID_TOPIC_EXCEPTION;
        return 0;
    }
    bool create = auto_create && !brk_topic_internal((const char *)name.p, (size_t)name.len);
    int rc = brk_topic_get(srv, (const char *)name.p, (size_t)name.len, create, &t);
    if (rc == 0)
        return md_topic(md, i, t, name);
    if (rc == KC_ENOTOPIC) {
        md->topics[i].error = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else if (rc == KC_EBADNAME) {
        md->topics[i].error = KP_ERR_INVALID_TOPIC_EXCEPTION;
    } else {
        kc_log_warn("cannot create topic %.*s for a Kafka client: %s", (int)name.len, name.p,
                    kc_strerror(rc));
        md->topics[i].error = KP_ERR_LEADER_NOT_AVAILABLE; /* clients retry this one */
    }
    return 0;
}

/* Every topic (a null topics array). */
static int md_all(struct md_build *md, struct part_topic ***all, int32_t *n)
{
    struct part_registry *reg = brk_server_registry(md->k->srv);
    size_t count = part_topic_list(reg, NULL, 0);
    *all = calloc(count ? count : 1, sizeof(**all));
    md->topics = calloc(count ? count : 1, sizeof(*md->topics));
    if (!*all || !md->topics)
        return -ENOMEM;
    size_t listed = part_topic_list(reg, *all, count); /* made meanwhile: not listed */
    *n = (int32_t)KC_MIN(count, listed);
    for (int32_t i = 0; i < *n; i++) {
        const char *name = part_topic_name((*all)[i]);
        int rc = md_topic(md, i, (*all)[i],
                          (struct kc_slice){(const uint8_t *)name, (int32_t)strlen(name)});
        if (rc)
            return rc;
    }
    return 0;
}

int brk__kafka_metadata(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_metadata_req *mr = &req->u.metadata;
    struct md_build md = {.k = brk__kafka_of(c)};
    struct part_topic **all = NULL;
    int32_t n = mr->ntopics;
    int rc = 0;
    if (n < 0) {
        rc = md_all(&md, &all, &n);
    } else if (!(md.topics = calloc((size_t)n + 1, sizeof(*md.topics)))) {
        rc = -ENOMEM;
    }
    for (int32_t i = 0; mr->ntopics >= 0 && i < n && rc == 0; i++)
        rc = md_named(&md, i, mr->topics[i], mr->allow_auto_create);
    /* Partition arrays are set last: md.parts may have moved while it grew. */
    for (int32_t i = 0, at = 0; rc == 0 && i < n; at += md.topics[i].nparts, i++)
        md.topics[i].parts = md.topics[i].nparts ? md.parts + at : NULL;
    const char *host = brk_conn_advertised_host(c); /* the listener the client came in on */
    struct kp_metadata_broker b = {BRK_KAFKA_NODE_ID, kp_slice_str(host),
                                   brk_conn_advertised_port(c), {NULL, -1}};
    struct kp_metadata_resp resp = {1, &b, kp_slice_str(BRK_KAFKA_CLUSTER_ID),
                                    BRK_KAFKA_NODE_ID, n, md.topics};
    if (rc == 0)
        rc = kp_encode_metadata(brk_resp_writer(c), &req->hdr, &resp);
    if (rc)
        kc_log_warn("%s: Metadata failed: %s; closing", brk_conn_peer(c), kc_strerror(rc));
    free(md.parts);
    free(md.topics);
    free(all);
    return rc;
}

/* ---- FindCoordinator -------------------------------------------------------------------- */

int brk__kafka_find_coordinator(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_find_coordinator_req *fr = &req->u.find_coordinator;
    struct kp_find_coordinator_resp resp = {KP_ERR_NONE, {NULL, -1}, BRK_KAFKA_NODE_ID,
                                            kp_slice_str(brk_conn_advertised_host(c)),
                                            brk_conn_advertised_port(c)};
    if (fr->key_type != 0) {
        /* A transaction coordinator: this broker has none (no InitProducerId either). */
        resp.error = KP_ERR_INVALID_REQUEST;
        resp.error_message = kp_slice_str("this broker does not support transactions");
    } else if (brk_group_check((const char *)fr->key.p, fr->key.len > 0 ? (size_t)fr->key.len
                                                                          : 0) != 0) {
        resp.error = KP_ERR_INVALID_GROUP_ID;
        resp.error_message = kp_slice_str("a group id is 1-249 printable characters");
    }
    if (resp.error) {
        resp.node_id = -1;
        resp.host = kp_slice_str("");
        resp.port = -1;
    }
    return kp_encode_find_coordinator(brk_resp_writer(c), &req->hdr, &resp);
}

/* ---- ListOffsets ------------------------------------------------------------------------ */

/*
 * The first record at or after ts. The time index finds the batch (alog_offset_for_time);
 * inside an uncompressed batch the records say exactly which one, and its timestamp. A
 * compressed batch is not opened here: its base offset and max timestamp are returned,
 * so a consumer starts at most one batch early - never late.
 */
static void offset_for_time(struct alog *log, struct kp_list_offsets_part *p, struct kc_writer *w)
{
    struct kc_record_iter it;
    struct kc_record rec;
    int64_t off, next;
    int rc = alog_offset_for_time(log, p->timestamp, &off);
    p->error = KP_ERR_NONE;
    if (rc == -ENOENT)
        return; /* nothing that recent: offset -1, timestamp -1 */
    if (rc) {
        p->error = KP_ERR_KAFKA_STORAGE_ERROR;
        return;
    }
    p->offset = off;
    kc_writer_reset(w);
    if (alog_read_copy(log, off, 1, w, &next) != 0 || kc_writer_len(w) < KC_BATCH_HEADER_SIZE)
        return;
    const uint8_t *b = kc_writer_data(w);
    p->found_timestamp = (int64_t)kc_load_be64(b + KC_BATCH_OFF_MAX_TIMESTAMP);
    if (kc_record_iter_init(&it, b, kc_writer_len(w)) != 0)
        return;
    while (kc_record_iter_next(&it, &rec) == 1) {
        if (rec.timestamp >= p->timestamp) {
            p->offset = rec.offset;
            p->found_timestamp = rec.timestamp;
            return;
        }
    }
}

static void list_part(struct brk_server *srv, struct kc_slice topic, struct kp_list_offsets_part *p,
                      struct kc_writer *w)
{
    struct alog *log;
    p->found_timestamp = -1;
    p->offset = -1;
    p->error = brk__kafka_partition(srv, topic, p->index, &log);
    if (p->error)
        return;
    if (p->timestamp == KP_LIST_OFFSETS_LATEST)
        p->offset = alog_end_offset(log); /* = the last stable offset: no transactions */
    else if (p->timestamp == KP_LIST_OFFSETS_EARLIEST)
        p->offset = alog_start_offset(log);
    else if (p->timestamp >= 0)
        offset_for_time(log, p, w);
    else
        p->error = KP_ERR_INVALID_REQUEST; /* -3 (max timestamp) needs v7 */
}

int brk__kafka_list_offsets(struct brk_conn *c, struct kp_request *req)
{
    struct kp_list_offsets_req *lr = &req->u.list_offsets;
    struct brk_server *srv = brk_conn_server(c);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    for (int32_t i = 0; i < lr->ntopics; i++)
        for (int32_t j = 0; j < lr->topics[i].nparts; j++)
            list_part(srv, lr->topics[i].name, &lr->topics[i].parts[j], &w);
    kc_writer_fini(&w);
    return kp_encode_list_offsets(brk_resp_writer(c), &req->hdr, lr);
}
