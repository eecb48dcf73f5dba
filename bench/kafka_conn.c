/*
 * kafka_conn.c - bench_kafka's blocking Kafka connection: the set-up requests (ApiVersions,
 * Metadata, InitProducerId) and the choice of versions, all through libbrk_kp.
 *
 * A request goes out as one frame that kp_request_encode writes (size, header v1 or v2,
 * body); its answer is read whole (the 4-byte size, then exactly that many bytes) and
 * decoded by kp_response_decode at the version asked. Nothing here is timed: the timed
 * loops (bench_kafka.c, kafka_consume.c) use it only to get going.
 *
 * Choosing versions: a client asks ApiVersions first and then uses, per API, a version
 * both sides know. We ask v0, which every broker answers in the layout every client reads,
 * and then pick within what it said (kafka__pick): the highest, the highest classic one
 * (below the API's first flexible version) or the highest flexible one, never above what
 * this generator can send.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kafka.h"
#include "kc_err.h"
#include "kc_time.h"

#define METADATA_TRIES 50 /* LEADER_NOT_AVAILABLE while a new topic is born: 5 s at most */

/* ---- Kafka's error codes, for messages ------------------------------------------------- */

static const struct {
    int16_t code;
    const char *name;
} kafka_errors[] = {
    { -1, "UNKNOWN_SERVER_ERROR" },        { 1, "OFFSET_OUT_OF_RANGE" },
    { 2, "CORRUPT_MESSAGE" },              { 3, "UNKNOWN_TOPIC_OR_PARTITION" },
    { 5, "LEADER_NOT_AVAILABLE" },         { 6, "NOT_LEADER_OR_FOLLOWER" },
    { 7, "REQUEST_TIMED_OUT" },            { 10, "MESSAGE_TOO_LARGE" },
    { 17, "INVALID_TOPIC_EXCEPTION" },     { 18, "RECORD_LIST_TOO_LARGE" },
    { 19, "NOT_ENOUGH_REPLICAS" },         { 21, "INVALID_REQUIRED_ACKS" },
    { 35, "UNSUPPORTED_VERSION" },         { 42, "INVALID_REQUEST" },
    { 43, "UNSUPPORTED_FOR_MESSAGE_FORMAT" }, { 45, "OUT_OF_ORDER_SEQUENCE_NUMBER" },
    { 46, "DUPLICATE_SEQUENCE_NUMBER" },   { 47, "INVALID_PRODUCER_EPOCH" },
    { 59, "UNKNOWN_PRODUCER_ID" },         { 76, "UNSUPPORTED_COMPRESSION_TYPE" },
    { 87, "INVALID_RECORD" },              { 100, "UNKNOWN_TOPIC_ID" },
};

const char *kafka__error_name(int16_t code)
{
    for (size_t i = 0; i < sizeof(kafka_errors) / sizeof(kafka_errors[0]); i++)
        if (kafka_errors[i].code == code)
            return kafka_errors[i].name;
    return "?";
}

int kafka__refused(const char *what, int16_t code, struct kc_slice message)
{
    fprintf(stderr, "broker: %s: error %d %s%s%.*s\n", what, code, kafka__error_name(code),
            message.len > 0 ? ": " : "", message.len > 0 ? (int)message.len : 0,
            message.len > 0 ? (const char *)message.p : "");
    return KAFKA_EREFUSED;
}

const char *kafka__strerror(int err)
{
    if (err == KAFKA_EREFUSED)
        return "the broker refused a request (above)";
    if (err == KAFKA_ENOTOFFERED)
        return "the broker does not offer what this run needs (above)";
    if (err == KC_ECLOSED)
        return "the broker closed the connection";
    return kc_strerror(err);
}

/* ---- one blocking connection ------------------------------------------------------------- */

int kafka__connect(int port, struct kafka_conn *c)
{
    struct timeval tv = { BENCH_TIMEOUT_MS / 1000, 0 };
    int err;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->corr = 1;
    kc_writer_init(&c->out, 0);
    err = bench_connect(port, &c->fd);
    if (err == 0 && setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
        err = -errno;
    return err;
}

void kafka__close(struct kafka_conn *c)
{
    if (c->fd >= 0)
        (void)close(c->fd); /* end of a run: nothing left to report */
    c->fd = -1;
    kc_writer_fini(&c->out);
    free(c->in);
    c->in = NULL;
    c->cap = 0;
}

int kafka__send(struct kafka_conn *c, int16_t key, int16_t version, const void *msg)
{
    struct kp_request_header h = { key, version, c->corr++,
                                   { (const uint8_t *)KAFKA_CLIENT_ID,
                                     (int32_t)strlen(KAFKA_CLIENT_ID) } };
    int err;

    kc_writer_reset(&c->out);
    err = kp_request_encode(&c->out, &h, msg);
    if (err != 0)
        return err;
    return bench_send_all(c->fd, kc_writer_data(&c->out), kc_writer_len(&c->out));
}

/* Read one frame's body into c->in: *len bytes. */
static int read_frame(struct kafka_conn *c, size_t *len)
{
    uint8_t size[4];
    int err = bench_read_exact(c->fd, size, sizeof(size));

    if (err == 0 && (kc_load_be32(size) < 4 || kc_load_be32(size) > KAFKA_MAX_FRAME))
        return KC_EMALFORMED;
    if (err != 0)
        return err;
    *len = kc_load_be32(size);
    if (*len > c->cap) {
        uint8_t *bigger = realloc(c->in, *len);

        if (bigger == NULL)
            return -ENOMEM;
        c->in = bigger;
        c->cap = *len;
    }
    return bench_read_exact(c->fd, c->in, *len);
}

int kafka__recv(struct kafka_conn *c, int16_t key, int16_t version, int32_t corr,
                struct kp_response *r)
{
    const struct kp_api *api = kp_api_find(key);
    size_t len = 0;
    int err = read_frame(c, &len);

    if (err == KC_ECLOSED) { /* Kafka's answer to a request it does not serve */
        fprintf(stderr, "broker: closed the connection after %s v%d (a Kafka broker does so "
                        "on a request it does not serve, or it stopped)\n",
                api != NULL ? api->name : "?", version);
        return KAFKA_EREFUSED;
    }
    if (err == -EAGAIN || err == -EWOULDBLOCK)
        err = -ETIMEDOUT;
    if (err == 0)
        err = kp_response_decode(c->in, len, key, version, 0, r);
    if (err == KC_EMALFORMED || err == KC_ETOOLARGE)
        fprintf(stderr, "bench_kafka: a %s v%d answer of %zu bytes does not parse\n",
                api != NULL ? api->name : "?", version, len);
    if (err == 0 && r->correlation_id != corr) {
        fprintf(stderr, "bench_kafka: a %s answer for correlation id %d, expected %d\n",
                api != NULL ? api->name : "?", r->correlation_id, corr);
        kp_response_fini(r);
        return KC_EMALFORMED; /* answers come in order: anything else is a broken stream */
    }
    return err;
}

int kafka__call(struct kafka_conn *c, int16_t key, int16_t version, const void *msg,
                struct kp_response *r)
{
    int32_t corr = c->corr;
    int err = kafka__send(c, key, version, msg);

    return err != 0 ? err : kafka__recv(c, key, version, corr, r);
}

/* ---- versions ---------------------------------------------------------------------------- */

int kafka__api_versions(struct kafka_conn *c, struct kafka_versions *v)
{
    struct kp_api_versions_req req;
    struct kp_api_versions_resp *resp;
    struct kp_response r;
    int err;

    kp_init(&kp_api_versions_req_schema, &req);
    err = kafka__call(c, KP_API_API_VERSIONS, 0, &req, &r);
    if (err != 0)
        return err;
    resp = r.msg;
    if (resp->error_code != 0)
        err = kafka__refused("ApiVersions v0", resp->error_code, (struct kc_slice){ NULL, -1 });
    memset(v, 0, sizeof(*v));
    for (int32_t i = 0; err == 0 && i < resp->api_keys.n; i++) {
        const struct kp_api_versions_resp_api_version *a = &resp->api_keys.v[i];

        if (a->api_key < 0 || a->api_key >= KAFKA_KEYS || a->min_version > a->max_version)
            continue; /* a key no codec here speaks, or an empty range: not offered */
        v->has[a->api_key] = true;
        v->min[a->api_key] = a->min_version;
        v->max[a->api_key] = a->max_version;
    }
    kp_response_fini(&r);
    return err;
}

/* The highest version in [lo, hi] the broker offers: -1 if none. */
static int16_t highest(const struct kafka_versions *v, int16_t key, int16_t lo, int16_t hi)
{
    int16_t top = v->max[key] < hi ? v->max[key] : hi;

    if (!v->has[key] || top < lo || top < v->min[key])
        return -1;
    return top;
}

int16_t kafka__choose(const struct kafka_versions *v, int16_t key, int want, int16_t lo,
                      int16_t hi)
{
    int16_t flex = kp_api_find(key)->flex_min;

    if (want == KAFKA_V_DEFAULT)
        return highest(v, key, lo, hi);
    if (want == KAFKA_V_CLASSIC)
        return highest(v, key, lo, (int16_t)(flex - 1 < hi ? flex - 1 : hi));
    if (want == KAFKA_V_FLEXIBLE)
        return highest(v, key, flex > lo ? flex : lo, hi);
    if (want >= lo && want <= hi && v->has[key] && want >= v->min[key] && want <= v->max[key])
        return (int16_t)want;
    return -1;
}

int kafka__pick(const struct kafka_versions *v, int16_t key, int want, int16_t lo, int16_t hi,
                int16_t *out)
{
    const struct kp_api *api = kp_api_find(key);
    int16_t flex = api->flex_min, got = kafka__choose(v, key, want, lo, hi);
    const char *what = want == KAFKA_V_CLASSIC    ? " classic (non-flexible)"
                       : want == KAFKA_V_FLEXIBLE ? " flexible"
                                                  : "";

    if (got >= 0) {
        *out = got;
        return 0;
    }
    if (!v->has[key])
        fprintf(stderr, "bench_kafka: the broker does not serve %s\n", api->name);
    else if (want >= 0)
        fprintf(stderr, "bench_kafka: the broker does not offer %s v%d: it serves v%d-%d, "
                        "this generator sends v%d-%d\n", api->name, want, v->min[key],
                v->max[key], lo, hi);
    else
        fprintf(stderr, "bench_kafka: the broker does not offer a%s %s version: it serves "
                        "v%d-%d (flexible from v%d), this generator sends v%d-%d\n", what,
                api->name, v->min[key], v->max[key], flex, lo, hi);
    return KAFKA_ENOTOFFERED;
}

int16_t kafka__fetch_hi(const struct kafka_versions *v)
{
    bool ids = v->has[KP_API_METADATA] && v->max[KP_API_METADATA] >= KAFKA_METADATA_ID_MIN;

    return ids ? KAFKA_FETCH_MAX : KAFKA_FETCH_ID_MIN - 1;
}

/* ---- Metadata and InitProducerId ---------------------------------------------------------- */

/* Our topic in a Metadata answer: 0 (partition 0 there), KC_EEMPTY (not ready yet: ask
 * again), or a refusal. */
static int metadata_topic(const struct kp_metadata_resp *resp, const char *topic,
                          struct kafka_topic *t)
{
    const struct kp_metadata_resp_topic *mt = resp->topics.n == 1 ? &resp->topics.v[0] : NULL;

    if (mt == NULL || mt->name.len != (int32_t)strlen(topic) ||
        memcmp(mt->name.p, topic, strlen(topic)) != 0)
        return KC_EMALFORMED; /* we asked for exactly one topic */
    if (mt->error_code == 5) /* LEADER_NOT_AVAILABLE: Kafka's word for "being created" */
        return KC_EEMPTY;
    if (mt->error_code != 0)
        return kafka__refused("Metadata", mt->error_code, (struct kc_slice){ NULL, -1 });
    for (int32_t i = 0; i < mt->partitions.n; i++) {
        const struct kp_metadata_resp_partition *p = &mt->partitions.v[i];

        if (p->partition_index != 0)
            continue;
        if (p->error_code != 0)
            return kafka__refused("Metadata, partition 0", p->error_code,
                                  (struct kc_slice){ NULL, -1 });
        t->id = mt->topic_id;
        t->has_id = false;
        for (size_t b = 0; b < sizeof(t->id.b); b++)
            t->has_id = t->has_id || t->id.b[b] != 0;
        return 0;
    }
    fprintf(stderr, "bench_kafka: topic %s has no partition 0\n", topic);
    return KC_ENOPARTITION;
}

int kafka__metadata(struct kafka_conn *c, const struct kafka_versions *v, const char *topic,
                    struct kafka_topic *t)
{
    struct kp_metadata_req_topic mt;
    struct kp_metadata_req req;
    struct kp_response r;
    int16_t version;
    int err = kafka__pick(v, KP_API_METADATA, KAFKA_V_DEFAULT, 0, 12, &version);

    kp_init(&kp_metadata_req_topic_schema, &mt);
    mt.name = (struct kc_slice){ (const uint8_t *)topic, (int32_t)strlen(topic) };
    kp_init(&kp_metadata_req_schema, &req);
    KP_SET(req.topics, 1, &mt);
    req.allow_auto_topic_creation = true; /* the broker creates it as Kafka's auto-create */
    for (int i = 0; err == 0 && i < METADATA_TRIES; i++) {
        err = kafka__call(c, KP_API_METADATA, version, &req, &r);
        if (err != 0)
            return err;
        err = metadata_topic(r.msg, topic, t);
        kp_response_fini(&r);
        if (err != KC_EEMPTY)
            return err;
        err = 0;
        kc_sleep_ms(100);
    }
    if (err == 0) {
        fprintf(stderr, "bench_kafka: topic %s: still LEADER_NOT_AVAILABLE after %d s\n", topic,
                METADATA_TRIES / 10);
        err = -ETIMEDOUT;
    }
    return err;
}

int kafka__init_producer_id(struct kafka_conn *c, const struct kafka_versions *v,
                            int64_t *producer_id, int16_t *epoch)
{
    struct kp_init_producer_id_req req;
    struct kp_init_producer_id_resp *resp;
    struct kp_response r;
    int16_t version;
    int err;

    if (!v->has[KP_API_INIT_PRODUCER_ID]) {
        fprintf(stderr, "bench_kafka: the broker does not serve InitProducerId: idempotent "
                        "produce cannot be measured\n");
        return KAFKA_ENOTOFFERED;
    }
    err = kafka__pick(v, KP_API_INIT_PRODUCER_ID, KAFKA_V_DEFAULT, 0, 5, &version);
    kp_init(&kp_init_producer_id_req_schema, &req);
    req.transactional_id = (struct kc_slice){ NULL, -1 }; /* idempotence alone */
    req.transaction_timeout_ms = 60000;
    if (err == 0)
        err = kafka__call(c, KP_API_INIT_PRODUCER_ID, version, &req, &r);
    if (err != 0)
        return err;
    resp = r.msg;
    if (resp->error_code != 0)
        err = kafka__refused("InitProducerId", resp->error_code, (struct kc_slice){ NULL, -1 });
    else if (resp->producer_id < 0 || resp->producer_epoch < 0)
        err = KC_EMALFORMED;
    *producer_id = resp->producer_id;
    *epoch = resp->producer_epoch;
    kp_response_fini(&r);
    return err;
}
