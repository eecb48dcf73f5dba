/*
 * admin.c - commands 0 (create-topic), 7 (metadata), 8 (ping) and 9 (info): what the
 * Playground and scripts need to see and shape the broker.
 *
 * ACLs, as Kafka checks the APIs these mirror: create-topic needs CREATE on the cluster or
 * on the topic (CreateTopics); metadata needs DESCRIBE on each topic, and a list of every
 * topic simply leaves out the ones the principal may not describe (Metadata). Ping and info
 * check none, like ApiVersions: they tell nothing about the data, and on a SASL listener
 * they are served only after authentication anyway.
 */
#include <errno.h>
#include <stdlib.h>

#include "brk.h"
#include "brk_cluster.h"
#include "native_int.h"
#include "sec_acl.h"

void native__create(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_create_topic_req req;
    struct part_topic *t;
    if (np_decode_create_topic(b, n, &req) != 0) {
        native__error(o, NP_CREATE_TOPIC, corr, NP_E_MALFORMED, -1, -1, "bad create-topic body");
        return;
    }
    struct brk_server *srv = brk_conn_server(o->c);
    if (native__allow_create(o, NP_CREATE_TOPIC, corr, req.topic) != 0)
        return;
    if (brk_cluster_mode(srv)) { /* the controller creates topics: Kafka's CreateTopics */
        native__error(o, NP_CREATE_TOPIC, corr, NP_E_INVALID_REQUEST, -1, -1,
                      "in a cluster, topics are created through the controller: use Kafka's "
                      "CreateTopics (kafka_cli's Kafka commands, kcat, any Kafka admin client)");
        return;
    }
    int rc = brk_topic_create(srv, (const char *)req.topic.p, (size_t)req.topic.len,
                              req.partitions, &t);
    const char *why = rc == -EEXIST       ? "topic '%.*s' already exists"
                      : rc == KC_EBADNAME ? "'%.*s' is not a valid topic name ([A-Za-z0-9._-], "
                                            "1-249 characters, not . or ..)"
                                          : NULL;
    if (why)
        native__error(o, NP_CREATE_TOPIC, corr, np_error_from_kc(rc, NP_CREATE_TOPIC), -1, -1,
                      why, (int)KC_MIN(req.topic.len, 300), req.topic.p);
    else if (rc == -EINVAL || rc == KC_ETOOLARGE)
        native__error(o, NP_CREATE_TOPIC, corr, NP_E_INVALID_PARTITIONS, -1, -1,
                      "%d partitions: use 1 to %d (or -1 for num.partitions)", req.partitions,
                      brk_server_config(srv)->max_partitions_per_topic);
    else if (rc)
        native__error_kc(o, NP_CREATE_TOPIC, corr, rc, "create");
    else
        np_encode_create_topic_resp(native__w(o), corr,
                                    &(struct np_create_topic_resp){part_topic_partitions(t)});
}

static void metadata_topic(struct kc_writer *w, struct part_topic *t)
{
    int32_t n = part_topic_partitions(t);
    np_encode_metadata_topic(w, part_topic_name(t), n);
    for (int32_t p = 0; p < n; p++) {
        struct alog *log = part_topic_log(t, p);
        struct np_partition_meta pm = {p, alog_start_offset(log), alog_end_offset(log)};
        np_encode_metadata_part(w, &pm);
    }
}

void native__metadata(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_metadata_req req;
    struct part_topic *t, **all;
    struct part_registry *reg = brk_server_registry(brk_conn_server(o->c));
    if (np_decode_metadata(b, n, &req) != 0) {
        native__error(o, NP_METADATA, corr, NP_E_MALFORMED, -1, -1, "bad metadata body");
        return;
    }
    if (req.topic.len >= 0) {
        if (native__topic(o, NP_METADATA, corr, req.topic, SEC_OP_DESCRIBE, &t) != 0)
            return;
        size_t at = np_encode_metadata_begin(native__w(o), corr, 1);
        metadata_topic(native__w(o), t);
        np_end_frame(native__w(o), at, 0);
        return;
    }
    size_t count = part_topic_list(reg, NULL, 0);
    if (!(all = calloc(count ? count : 1, sizeof(*all)))) {
        native__error_kc(o, NP_METADATA, corr, -ENOMEM, "metadata");
        return;
    }
    count = KC_MIN(count, part_topic_list(reg, all, count)); /* sorted by name */
    size_t shown = 0;
    for (size_t i = 0; i < count; i++) /* hide what the principal may not describe */
        if (native__may_describe(o, part_topic_name(all[i])))
            all[shown++] = all[i];
    count = shown;
    size_t at = np_encode_metadata_begin(native__w(o), corr, (int32_t)count);
    for (size_t i = 0; i < count; i++)
        metadata_topic(native__w(o), all[i]);
    np_end_frame(native__w(o), at, 0);
    free(all);
}

void native__ping(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_ping_req req;
    if (np_decode_ping(b, n, &req) != 0)
        native__error(o, NP_PING, corr, NP_E_MALFORMED, -1, -1, "bad ping body");
    else
        np_encode_ping_resp(native__w(o), corr, &(struct np_ping_resp){req.payload});
}

void native__info(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct brk_server *srv = brk_conn_server(o->c);
    const struct brk_config *cfg = brk_server_config(srv);
    if (np_decode_info(b, n) != 0) {
        native__error(o, NP_INFO, corr, NP_E_MALFORMED, -1, -1, "info takes no body");
        return;
    }
    struct np_info_resp resp = {
        {(const uint8_t *)"kafka_broker " BRK_VERSION, sizeof("kafka_broker " BRK_VERSION) - 1},
        (int32_t)cfg->socket_request_max_bytes, (int32_t)cfg->log.max_batch_bytes,
        cfg->num_partitions, brk_server_nloops(srv)};
    np_encode_info_resp(native__w(o), corr, &resp);
}
