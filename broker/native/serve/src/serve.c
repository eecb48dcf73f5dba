/*
 * serve.c - the native protocol's door (PROTOCOL.md): frames in, one function per command,
 * answers out. The adapter table at the bottom is everything the core knows of it.
 *
 *   claim    byte 4 >= 0x80: the first byte of the magic 0xCAFE, where Kafka has the high
 *            byte of a non-negative api_key
 *   frame    np_frame_peek: need more | a whole frame | too large (answered, then a
 *            lingering close) | not a native frame (closed)
 *   serve    version, draining, authentication (auth.c: on a SASL listener nothing but
 *            the exchange until it succeeds), then the command (produce.c, consume.c,
 *            offsets.c, admin.c, auth.c); an unknown command gets UNKNOWN_COMMAND and the
 *            stream goes on
 *
 * Three commands may wait, and park instead of blocking the loop: produce with acks=all
 * (until the fsync), commit (until the fsync), consume-batch at the log end with
 * max_wait_ms > 0 (until data, its time, or the broker draining).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "brk.h"
#include "brk_native.h"
#include "brk_cluster.h"
#include "native_int.h"
#include "sec_acl.h"

/* ---- answers ---------------------------------------------------------------------------- */

struct kc_writer *native__w(const struct native_out *o)
{
    return o->park ? brk_park_writer(o->park) : brk_resp_writer(o->c);
}

int native__file(const struct native_out *o, struct alog_slice *slice)
{
    return o->park ? brk_park_file(o->park, slice) : brk_resp_file(o->c, slice);
}

void native__error(const struct native_out *o, int cmd, uint32_t corr, int code,
                   int64_t log_start, int64_t log_end, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (code == NP_E_UNKNOWN)
        kc_log_warn("%s from %s failed: %s", np_cmd_name(cmd), brk_conn_peer(o->c), msg);
    np_encode_error_resp(native__w(o), cmd, corr, (int16_t)code, msg, log_start, log_end);
}

void native__error_kc(const struct native_out *o, int cmd, uint32_t corr, int err,
                      const char *what)
{
    native__error(o, cmd, corr, np_error_from_kc(err, cmd), -1, -1, "%s: %s", what,
                  kc_strerror(err));
}

/* ---- per-connection state ------------------------------------------------------------------ */

struct native_conn *native__conn(struct brk_conn *c)
{
    struct native_conn *nc = brk_conn_state(c);
    if (nc)
        return nc;
    if (!(nc = calloc(1, sizeof(*nc))))
        return NULL;
    kc_batch_builder_init(&nc->builder, NULL,
                          brk_server_config(brk_conn_server(c))->log.max_batch_bytes);
    kc_writer_init(&nc->scratch, 0);
    brk_conn_set_state(c, nc);
    return nc;
}

static void native_conn_fini(struct brk_conn *c)
{
    struct native_conn *nc = brk_conn_state(c);
    if (!nc)
        return;
    kc_batch_builder_fini(&nc->builder);
    kc_writer_fini(&nc->scratch);
    free(nc);
    brk_conn_set_state(c, NULL);
}

/* ---- topics and partitions, judged ----------------------------------------------------------- */

/* The lookup, and the answer when it fails. */
static int topic_lookup(const struct native_out *o, int cmd, uint32_t corr, struct kc_slice name,
                        bool create, struct part_topic **t)
{
    int rc = brk_topic_get(brk_conn_server(o->c), (const char *)name.p, (size_t)name.len,
                           create, t);
    if (rc == KC_EBADNAME)
        native__error(o, cmd, corr, NP_E_INVALID_TOPIC, -1, -1,
                      "'%.*s' is not a valid topic name ([A-Za-z0-9._-], 1-249 characters, "
                      "not . or ..)", (int)KC_MIN(name.len, 300), name.p);
    else if (rc == KC_ENOTOPIC)
        native__error(o, cmd, corr, NP_E_UNKNOWN_TOPIC, -1, -1, "topic '%.*s' does not exist",
                      (int)name.len, name.p);
    else if (rc == -EINPROGRESS) /* a cluster: the controller was asked to create it */
        native__error(o, cmd, corr, NP_E_NOT_LEADER, -1, -1, "topic '%.*s' is being created "
                      "by the cluster's controller; retry", (int)name.len, name.p);
    else if (rc)
        native__error_kc(o, cmd, corr, rc, "topic lookup");
    return rc ? -1 : 0;
}

int native__topic(const struct native_out *o, int cmd, uint32_t corr, struct kc_slice name,
                  int op, struct part_topic **t)
{
    struct brk_server *srv = brk_conn_server(o->c);
    bool write = op == SEC_OP_WRITE;
    if (native__allow_topic(o, cmd, corr, op, name) != 0)
        return -1;
    if (write && brk_topic_internal((const char *)name.p, (size_t)name.len)) {
        native__error(o, cmd, corr, NP_E_INTERNAL_TOPIC, -1, -1,
                      "%s belongs to the broker; commit offsets with command 3",
                      BRK_OFFSETS_TOPIC);
        return -1;
    }
    /* A write to a missing topic creates it (auto.create.topics.enable), if the principal
     * may create topics: ask the registry first, so that creating is judged apart. */
    if (write && brk_server_config(srv)->auto_create_topics) {
        int rc = brk_topic_get(srv, (const char *)name.p, (size_t)name.len, false, t);
        if (rc == 0)
            return 0; /* it exists: the usual case, one lookup */
        if (rc == KC_ENOTOPIC && native__allow_create(o, cmd, corr, name) != 0)
            return -1;
    }
    return topic_lookup(o, cmd, corr, name, write, t);
}

struct alog *native__partition(const struct native_out *o, int cmd, uint32_t corr,
                               struct part_topic *t, int32_t p)
{
    struct alog *log = part_topic_log(t, p);
    int32_t leader, epoch;
    const char *name = part_topic_name(t);
    if (!log)
        native__error(o, cmd, corr, NP_E_UNKNOWN_PARTITION, -1, -1,
                      "topic %s has partitions 0 to %d, not %d", name,
                      part_topic_partitions(t) - 1, p);
    else if ((cmd == NP_PRODUCE || cmd == NP_PRODUCE_BATCH || cmd == NP_CONSUME ||
              cmd == NP_CONSUME_BATCH) && /* a commit names a partition: no data moves */
             brk_partition_leadership(brk_conn_server(o->c), name, strlen(name), p, &leader,
                                      &epoch) != 0) {
        native__error(o, cmd, corr, NP_E_NOT_LEADER, -1, -1,
                      "this broker does not lead %s-%d (its leader: broker %d)", name, p,
                      (int)leader);
        return NULL;
    }
    return log;
}

bool native__ready(const struct native_out *o, int cmd, uint32_t corr, struct alog *log)
{
    int err = 0;
    int rc = brk_logs_ready(o->c, &log, 1, -1, &err);
    if (rc == 1 && err == 0)
        return true;
    if (rc != 0) /* 0: nothing answered, the request is served again once log is open */
        native__error_kc(o, cmd, corr, rc < 0 ? rc : err, "opening the partition");
    return false;
}

const char *native__range_text(int64_t ls, int64_t le, char *buf, size_t cap)
{
    if (ls >= le)
        snprintf(buf, cap, "is empty (its next offset is %lld)", (long long)le);
    else
        snprintf(buf, cap, "holds offsets %lld to %lld", (long long)ls, (long long)le - 1);
    return buf;
}

/* ---- the adapter --------------------------------------------------------------------------- */

static int native_claim(const uint8_t *p, size_t len)
{
    if (len < 5)
        return KC_ENEEDMORE;
    return p[4] >= 0x80; /* the magic's 0xCA; a Kafka api_key's high byte is below 0x80 */
}

static int native_frame(struct brk_conn *c, const uint8_t *p, size_t len, size_t *frame_len)
{
    struct np_header h;
    uint32_t max = brk_server_config(brk_conn_server(c))->socket_request_max_bytes;
    int rc = np_frame_peek(p, len, max, false, &h, frame_len);
    if (rc == KC_ENEEDMORE && len >= NP_REQ_HEADER_SIZE)
        *frame_len = (size_t)h.length + 4; /* checked against max: the core makes room */
    else if (rc == KC_ETOOLARGE) {
        struct native_out o = {c, NULL};
        kc_log_info("%s: a request of %u bytes exceeds socket.request.max.bytes (%u); "
                    "closing after the answer", brk_conn_peer(c), h.length + 4, max);
        native__error(&o, h.cmd, h.corr, NP_E_REQUEST_TOO_LARGE, -1, -1,
                      "request of %u bytes exceeds socket.request.max.bytes (%u)",
                      h.length + 4, max);
    } else if (rc == KC_EMALFORMED) {
        kc_log_info("%s: not a native frame (wrong magic or length); closing", brk_conn_peer(c));
    }
    return rc;
}

static void dispatch(const struct native_out *o, uint8_t cmd, uint32_t corr, uint8_t *body,
                     size_t n)
{
    switch (cmd) {
    case NP_CREATE_TOPIC: native__create(o, corr, body, n); break;
    case NP_PRODUCE: native__produce(o, corr, body, n); break;
    case NP_CONSUME: native__consume(o, corr, body, n); break;
    case NP_COMMIT: native__commit(o, corr, body, n); break;
    case NP_FETCH_OFFSET: native__fetch_offset(o, corr, body, n); break;
    case NP_PRODUCE_BATCH: native__produce_batch(o, corr, body, n); break;
    case NP_CONSUME_BATCH: native__consume_batch(o, corr, body, n); break;
    case NP_METADATA: native__metadata(o, corr, body, n); break;
    case NP_PING: native__ping(o, corr, body, n); break;
    case NP_INFO: native__info(o, corr, body, n); break;
    case NP_SASL_HANDSHAKE: native__sasl_handshake(o, corr, body, n); break;
    case NP_SASL_AUTHENTICATE: native__sasl_authenticate(o, corr, body, n); break;
    default:
        native__error(o, cmd, corr, NP_E_UNKNOWN_COMMAND, -1, -1,
                      "command %u is not one of 0-%d (PROTOCOL.md)", cmd, NP_CMD_COUNT - 1);
    }
}

static int native_serve(struct brk_conn *c, uint8_t *p, size_t len)
{
    struct native_out o = {c, NULL};
    uint8_t version = p[6], cmd = p[7];
    uint32_t corr = kc_load_be32(p + 8);
    if (cmd < NP_CMD_COUNT)
        brk_conn_set_api(c, cmd);
    if (version != NP_VERSION)
        native__error(&o, cmd, corr, NP_E_UNSUPPORTED_VERSION, -1, -1,
                      "protocol version %u; this broker speaks version %d", version, NP_VERSION);
    else if (brk_conn_draining(c))
        native__error(&o, cmd, corr, NP_E_SHUTTING_DOWN, -1, -1, "the broker is shutting down");
    else if (native__refused_before_auth(&o, cmd, corr))
        return -EACCES; /* answered: the core sends it, then closes */
    else
        dispatch(&o, cmd, corr, p + NP_REQ_HEADER_SIZE, len - NP_REQ_HEADER_SIZE);
    return 0;
}

static const char *native_api_name(int api)
{
    return np_cmd_name(api);
}

static const struct brk_adapter native_adapter = {
    .name = "native",
    .claim = native_claim,
    .frame = native_frame,
    .serve = native_serve,
    .conn_fini = native_conn_fini,
    .napis = NP_CMD_COUNT,
    .api_name = native_api_name,
};

int brk_native_attach(struct brk_server *srv)
{
    return brk_server_add_adapter(srv, &native_adapter, NULL);
}
