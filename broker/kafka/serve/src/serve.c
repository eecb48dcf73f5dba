/*
 * serve.c - the Kafka door on the shared listener: frames in, answers out.
 *
 * The core hands this adapter every connection whose first frame's byte 4 (the high byte
 * of a Kafka api_key) is below 0x80 (claim). From then on, per frame:
 *
 *   kafka_frame   kp_frame_check: need more | a whole frame | a size below 10 or above
 *                 socket.request.max.bytes -> close, unanswered (Kafka's
 *                 InvalidReceiveException)
 *   kafka_serve   1. api_key and version, read before anything else: an API this broker
 *                    does not serve, or a version outside its advertised range -> close,
 *                    unanswered, as Kafka does (the log names the API: the codec knows
 *                    all of Kafka's); ApiVersions above our range -> Kafka's v0-format
 *                    UNSUPPORTED_VERSION answer, so the client retries lower
 *                 2. kp_request_decode, header v1 or v2 (flexible) and the body at its
 *                    version: a body that does not parse -> close, unanswered
 *                 3. one function per API (versions.c, metadata.c, produce.c, ...), which
 *                    answers with kp_response_encode: header v1 for flexible versions,
 *                    v0 otherwise and always for ApiVersions (KIP-511)
 *
 * Answers leave in request order: immediate ones through brk_resp_writer, late ones
 * (acks=all produces, commits, long-poll fetches, joins, syncs) through a park.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk.h"
#include "brk_kafka.h"
#include "kafka_int.h"

/* ---- per-connection state -------------------------------------------------------------- */

static struct brk_kafka_conn *conn_state(struct brk_conn *c)
{
    struct brk_kafka_conn *kc = brk_conn_state(c);
    if (kc)
        return kc;
    if (!(kc = calloc(1, sizeof(*kc))))
        return NULL;
    kc_writer_init(&kc->scratch, 0);
    brk_conn_set_state(c, kc);
    return kc;
}

static void kafka_conn_fini(struct brk_conn *c)
{
    struct brk_kafka_conn *kc = brk_conn_state(c);
    if (!kc)
        return;
    if (kc->follower_sessions) /* fetch_session.c: a follower's session ends with it */
        brk__fsess_close_follower(brk__kafka_of(c)->fsess, c);
    kc_writer_fini(&kc->scratch);
    free(kc);
    brk_conn_set_state(c, NULL);
}

/* ---- the adapter ----------------------------------------------------------------------- */

static int kafka_claim(const uint8_t *p, size_t len)
{
    if (len < 5)
        return KC_ENEEDMORE;
    return p[4] < 0x80; /* the high byte of a non-negative api_key (the native magic: 0xCA) */
}

static int kafka_frame(struct brk_conn *c, const uint8_t *p, size_t len, size_t *frame_len)
{
    if (brk_conn_must_authenticate(c))
        return brk__kafka_sasl_frame(c, p, len, frame_len); /* sasl.c: smaller, or raw */
    size_t max = brk_server_config(brk_conn_server(c))->socket_request_max_bytes;
    int rc = kp_frame_check(p, len, KP_REQUEST_HEADER_MIN, max, frame_len);
    if (rc == KC_ENEEDMORE && len >= 4)
        *frame_len = 4 + (size_t)kc_load_be32(p); /* its size, checked: the core makes room */
    else if (rc == KC_ETOOLARGE)
        kc_log_info("%s: a Kafka request of %u bytes exceeds socket.request.max.bytes (%zu); "
                    "closing", brk_conn_peer(c), kc_load_be32(p) + 4u, max);
    else if (rc == KC_EMALFORMED)
        kc_log_info("%s: a Kafka frame with size %d is malformed; closing", brk_conn_peer(c),
                    (int32_t)kc_load_be32(p));
    return rc;
}

/* Why a request is refused (the connection is then closed, as Kafka does). */
static void log_refused(struct brk_conn *c, int16_t key, int16_t version, const char *why)
{
    const struct kp_api *api = kp_api_find(key);
    if (api)
        kc_log_info("%s: %s v%d (api_key %d): %s; closing the connection, as Kafka does",
                    brk_conn_peer(c), api->name, version, key, why);
    else
        kc_log_info("%s: api_key %d v%d is no Kafka API; closing the connection, as Kafka "
                    "does", brk_conn_peer(c), key, version);
}

static int dispatch(struct brk_conn *c, struct kp_request *req, const uint8_t *body, size_t n)
{
    switch (req->hdr.request_api_key) {
    case KP_API_API_VERSIONS:
        return brk__kafka_api_versions(c, req);
    case KP_API_METADATA:
        return brk__kafka_metadata(c, req);
    case KP_API_PRODUCE:
        return brk__kafka_produce(c, req);
    case KP_API_FETCH:
        return brk__kafka_fetch(c, req, body, n);
    case KP_API_LIST_OFFSETS:
        return brk__kafka_list_offsets(c, req);
    case KP_API_OFFSET_FOR_LEADER_EPOCH:
        return brk__kafka_offset_for_leader_epoch(c, req);
    case KP_API_FIND_COORDINATOR:
        return brk__kafka_find_coordinator(c, req);
    case KP_API_JOIN_GROUP:
        return brk__kafka_join_group(c, req);
    case KP_API_SYNC_GROUP:
        return brk__kafka_sync_group(c, req);
    case KP_API_HEARTBEAT:
        return brk__kafka_heartbeat(c, req);
    case KP_API_LEAVE_GROUP:
        return brk__kafka_leave_group(c, req);
    case KP_API_OFFSET_COMMIT:
        return brk__kafka_offset_commit(c, req);
    case KP_API_OFFSET_FETCH:
        return brk__kafka_offset_fetch(c, req);
    case KP_API_CREATE_TOPICS:
        return brk__kafka_create_topics(c, req, body, n);
    case KP_API_DELETE_TOPICS:
        return brk__kafka_delete_topics(c, req);
    case KP_API_CREATE_PARTITIONS:
        return brk__kafka_create_partitions(c, req, body, n);
    case KP_API_ELECT_LEADERS:
        return brk__kafka_elect_leaders(c, req, body, n);
    case KP_API_DESCRIBE_CONFIGS:
        return brk__kafka_describe_configs(c, req);
    case KP_API_ALTER_CONFIGS:
        return brk__kafka_alter_configs(c, req);
    case KP_API_INCREMENTAL_ALTER_CONFIGS:
        return brk__kafka_incremental_alter_configs(c, req);
    case KP_API_DELETE_RECORDS:
        return brk__kafka_delete_records(c, req);
    case KP_API_DESCRIBE_CLUSTER:
        return brk__kafka_describe_cluster(c, req);
    case KP_API_DESCRIBE_LOG_DIRS:
        return brk__kafka_describe_log_dirs(c, req);
    case KP_API_LIST_GROUPS:
        return brk__kafka_list_groups(c, req);
    case KP_API_DESCRIBE_GROUPS:
        return brk__kafka_describe_groups(c, req);
    case KP_API_DELETE_GROUPS:
        return brk__kafka_delete_groups(c, req);
    case KP_API_OFFSET_DELETE:
        return brk__kafka_offset_delete(c, req);
    case KP_API_SASL_HANDSHAKE:
        return brk__kafka_sasl_handshake(c, req);
    case KP_API_SASL_AUTHENTICATE:
        return brk__kafka_sasl_authenticate(c, req);
    case KP_API_CREATE_ACLS:
        return brk__kafka_create_acls(c, req);
    case KP_API_DESCRIBE_ACLS:
        return brk__kafka_describe_acls(c, req);
    case KP_API_DELETE_ACLS:
        return brk__kafka_delete_acls(c, req);
    case KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS:
        return brk__kafka_describe_user_scram_credentials(c, req);
    case KP_API_INIT_PRODUCER_ID:
        return brk__kafka_init_producer_id(c, req);
    case KP_API_DESCRIBE_PRODUCERS:
        return brk__kafka_describe_producers(c, req);
    case KP_API_ALTER_USER_SCRAM_CREDENTIALS:
        return brk__kafka_alter_user_scram_credentials(c, req);
    }
    return KC_ENOAPI; /* brk__kafka_served lists the same keys */
}

static int kafka_serve(struct brk_conn *c, uint8_t *p, size_t len)
{
    const uint8_t *body = p + 4;
    size_t n = len - 4;
    int16_t key, version, min, max;
    int rc;
    if (!conn_state(c)) {
        kc_log_warn("%s: out of memory; closing", brk_conn_peer(c));
        return -ENOMEM;
    }
    if (brk_conn_must_authenticate(c) && (rc = brk__kafka_sasl_gate(c, body, n)) <= 0)
        return rc; /* sasl.c: a raw token answered, or a request refused before the login */
    /* kafka_frame let through only frames of >= 10 bytes (raw tokens are gone by now) */
    key = (int16_t)kc_load_be16(body);
    version = (int16_t)kc_load_be16(body + 2);
    if (!brk__kafka_served(key, &min, &max)) {
        log_refused(c, key, version, "not served by this broker");
        return KC_ENOAPI;
    }
    if (key == KP_API_API_VERSIONS && version > max) {
        brk_conn_set_api(c, key);
        return kp_api_versions_fallback(brk_resp_writer(c), (int32_t)kc_load_be32(body + 4),
                                        min, max);
    }
    if (version < min || version > max) {
        log_refused(c, key, version, "a version this broker does not advertise");
        return KC_EBADVERSION;
    }
    struct kp_request req;
    rc = kp_request_decode(body, n, BRK_KAFKA_ARENA_RATIO * n + BRK_KAFKA_ARENA_FLOOR,
                               &req);
    if (rc) {
        log_refused(c, key, version, kc_strerror(rc));
        return rc;
    }
    brk_conn_set_api(c, key);
    if ((rc = brk__kafka_request_allowed(c, &req)) > 0) /* auth.c: ACLs on whole requests */
        rc = dispatch(c, &req, body, n);
    kp_request_fini(&req);
    return rc;
}

static const char *kafka_api_name(int api)
{
    const struct kp_api *a = kp_api_find((int16_t)api);
    return a ? a->name : NULL;
}

static int kafka_start(void *state)
{
    return brk__kafka_groups_load(state);
}

static void kafka_stop(void *state)
{
    struct brk_kafka *k = state;
    if (!k)
        return;
    brk__kafka_groups_fini(k);
    brk__fsess_cache_destroy(k->fsess);
    brk__kafka_pids_fini(k);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static const struct brk_adapter kafka_adapter = {
    .name = "kafka",
    .claim = kafka_claim,
    .frame = kafka_frame,
    .serve = kafka_serve,
    .conn_fini = kafka_conn_fini,
    .start = kafka_start,
    .stop = kafka_stop,
    .napis = BRK_KAFKA_API_KEYS,
    .api_name = kafka_api_name,
    .metrics = brk__kafka_fs_metrics,
};

/* ---- attaching ------------------------------------------------------------------------------ */

int brk_kafka_attach(struct brk_server *srv)
{
    struct brk_kafka *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->srv = srv;
    k->node[0] = BRK_KAFKA_NODE_ID;
    int rc = -pthread_mutex_init(&k->mu, NULL);
    if (rc) {
        free(k);
        return rc;
    }
    if ((rc = brk__kafka_pids_init(k, brk_server_config(srv)->data_dir)) != 0) {
        pthread_mutex_destroy(&k->mu);
        free(k);
        return rc;
    }
    if ((rc = brk__kafka_groups_init(k)) == 0 && (rc = brk__kafka_fs_init(k)) == 0 &&
        (rc = brk_server_add_adapter(srv, &kafka_adapter, k)) == 0)
        return 0;
    kafka_stop(k);
    return rc;
}
