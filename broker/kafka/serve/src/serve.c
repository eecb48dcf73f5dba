/*
 * serve.c - the Kafka door on the shared listener: frames in, answers out.
 *
 * The core hands this adapter every connection whose first frame's byte 4 (the high byte
 * of a Kafka api_key) is below 0x80 (claim). From then on, per frame:
 *
 *   kafka_frame   kp_frame_check: need more | a whole frame | a size below 10 or above
 *                 socket.request.max.bytes -> close, unanswered (Kafka's
 *                 InvalidReceiveException)
 *   kafka_serve   kp_request_decode: an unknown api_key, a version outside the advertised
 *                 range, or a body that does not parse -> close, unanswered (Kafka closes
 *                 too; the client sees the socket go away, never a reply it cannot read);
 *                 otherwise one function per API (metadata.c, produce.c, ...)
 *
 * ApiVersions is the one request answered even when its version is too new: the client
 * cannot know our range before asking, so a version above our maximum gets Kafka's
 * v0-format UNSUPPORTED_VERSION answer listing {18, 0, max}, and the client retries with a
 * version we know (librdkafka sends v3 first, then v0, on every connection).
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

/* ---- shared helpers ------------------------------------------------------------------- */

int16_t brk__kafka_partition(struct brk_server *srv, struct kc_slice topic, int32_t partition,
                             struct alog **log)
{
    struct part_topic *t;
    if (topic.len <= 0 ||
        brk_topic_get(srv, (const char *)topic.p, (size_t)topic.len, false, &t) != 0)
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    struct alog *l = part_topic_log(t, partition);
    if (!l)
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    *log = l;
    return KP_ERR_NONE;
}

int brk__kafka_redecode(const uint8_t *body, size_t len, uint8_t **copy, struct kp_request *req)
{
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        return -ENOMEM;
    memcpy(p, body, len);
    int rc = kp_request_decode(p, len, req);
    if (rc) {
        free(p);
        return rc;
    }
    *copy = p;
    return 0;
}

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
    size_t max = brk_server_config(brk_conn_server(c))->socket_request_max_bytes;
    int rc = kp_frame_check(p, len, max, frame_len);
    if (rc == KC_ETOOLARGE)
        kc_log_info("%s: a Kafka request of %u bytes exceeds socket.request.max.bytes (%zu); "
                    "closing", brk_conn_peer(c), kc_load_be32(p) + 4u, max);
    else if (rc == KC_EMALFORMED)
        kc_log_info("%s: a Kafka frame with size %d is malformed; closing", brk_conn_peer(c),
                    (int32_t)kc_load_be32(p));
    return rc;
}

/* Why a request is refused (the connection is closed, as Kafka does). */
static void log_refused(struct brk_conn *c, const uint8_t *body, size_t len, int rc)
{
    struct kp_header h;
    if (kp_header_decode(body, len, &h) < 0) {
        kc_log_info("%s: unreadable Kafka request header; closing", brk_conn_peer(c));
        return;
    }
    const struct kp_api *api = kp_api_find(h.api_key);
    kc_log_info("%s: %s v%d (api_key %d): %s; closing the connection, as Kafka does",
                brk_conn_peer(c), api ? api->name : "unknown API", h.api_version, h.api_key,
                kc_strerror(rc));
}

static int dispatch(struct brk_conn *c, struct kp_request *req, const uint8_t *body, size_t n)
{
    switch (req->hdr.api_key) {
    case KP_API_API_VERSIONS:
        return kp_encode_api_versions(brk_resp_writer(c), &req->hdr, &req->u.api_versions);
    case KP_API_METADATA:
        return brk__kafka_metadata(c, req);
    case KP_API_PRODUCE:
        return brk__kafka_produce(c, req);
    case KP_API_FETCH:
        return brk__kafka_fetch(c, req, body, n);
    case KP_API_LIST_OFFSETS:
        return brk__kafka_list_offsets(c, req);
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
        return brk__kafka_offset_commit(c, req, body, n);
    case KP_API_OFFSET_FETCH:
        return brk__kafka_offset_fetch(c, req);
    }
    return KC_ENOAPI; /* kp_request_decode knows the same keys */
}

static int kafka_serve(struct brk_conn *c, uint8_t *p, size_t len)
{
    struct kp_request req;
    const uint8_t *body = p + 4;
    size_t n = len - 4;
    if (!conn_state(c)) {
        kc_log_warn("%s: out of memory; closing", brk_conn_peer(c));
        return -ENOMEM;
    }
    int rc = kp_request_decode(body, n, &req);
    if (rc) {
        log_refused(c, body, n, rc);
        return rc;
    }
    brk_conn_set_api(c, req.hdr.api_key);
    rc = dispatch(c, &req, body, n);
    kp_request_fini(&req);
    return rc;
}

static const char *kafka_api_name(int api)
{
    const struct kp_api *a = kp_api_find((int16_t)api);
    return a ? a->name : NULL;
}

static void kafka_stop(void *state)
{
    struct brk_kafka *k = state;
    if (!k)
        return;
    brk__kafka_groups_fini(k);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static const struct brk_adapter kafka_adapter = {
    .name = "kafka",
    .claim = kafka_claim,
    .frame = kafka_frame,
    .serve = kafka_serve,
    .conn_fini = kafka_conn_fini,
    .stop = kafka_stop,
    .napis = BRK_KAFKA_API_KEYS,
    .api_name = kafka_api_name,
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
    if ((rc = brk__kafka_groups_init(k)) == 0 &&
        (rc = brk_server_add_adapter(srv, &kafka_adapter, k)) == 0)
        return 0;
    kafka_stop(k);
    return rc;
}
