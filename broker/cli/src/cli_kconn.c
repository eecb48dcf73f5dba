/*
 * cli_kconn.c - one Kafka-protocol connection of kafka_cli: opening it the way Kafka's
 * clients do, choosing versions, and one request at a time.
 *
 *   cli__kconn_open:
 *     np_client_connect         TCP, non-blocking, within the timeout
 *     np_client_start_tls       with --tls-ca (the same context the native commands use)
 *     ApiVersions               our newest version first; a broker that does not know it
 *                               answers UNSUPPORTED_VERSION in the v0 layout with its own
 *                               ApiVersions range (KIP-511), and we ask again within it
 *     SaslHandshake v1          with --sasl-mechanism: the broker lists what it offers
 *     SaslAuthenticate ...      the mechanism's messages (np_sasl_exchange, shared with the
 *                               native commands: PLAIN, SCRAM-SHA-256/512)
 *
 * A frame on the wire (kp_api.h has the picture): i32 size, then the header and the body.
 * Requests are written whole into the transport's output by kp_request_encode; an answer
 * is read as its 4 size bytes, then exactly that many, copied out of the transport's buffer
 * so that the decoded struct owns its bytes (struct cli_kresp).
 *
 * Correlation ids: one request in flight per connection, so the answer must carry the id
 * just sent; anything else means the stream is confused and the connection is dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "cli_kafka.h"
#include "kc_common.h"

#define CLI_KAFKA_FRAME_MAX (256u << 20) /* the largest answer accepted */

int cli__kversion_pick(const struct cli_kversions *v, int16_t key, int16_t lo, int16_t hi)
{
    const struct kp_api *api = kp_api_find(key);
    if (key < 0 || key >= CLI_KAFKA_KEYS || !v->has[key] || !api)
        return CLI_KV_NOT_OFFERED;
    int16_t top = KC_MIN(KC_MIN(hi, v->max[key]), api->max);
    int16_t bottom = KC_MAX(KC_MAX(lo, v->min[key]), api->min);
    return top >= bottom ? top : CLI_KV_NO_OVERLAP;
}

void cli__kresp_fini(struct cli_kresp *resp)
{
    kp_response_fini(&resp->r);
    free(resp->frame);
    resp->frame = NULL;
}

/* ---- frames --------------------------------------------------------------------------------- */

static int kconn_send(struct cli_kconn *conn, int16_t key, int16_t v, const void *msg,
                      int32_t *corr)
{
    struct kp_request_header h = {key, v, conn->next_corr, kp_slice_str(CLI_KAFKA_CLIENT_ID)};
    struct kc_writer *w = np_client_out(&conn->np);
    int rc = kp_request_encode(w, &h, msg);
    if (rc) {
        kc_writer_reset(w);
        return rc;
    }
    *corr = conn->next_corr++;
    return np_client_flush(&conn->np);
}

/* A TLS record where a frame's size should be: the listener speaks TLS, we do not. */
static bool looks_like_tls(const uint8_t *p)
{
    return (p[0] == 0x15 || p[0] == 0x16) && p[1] == 0x03 && p[2] <= 0x04;
}

/* Read one answer's body into a malloc'ed *frame (*len bytes). */
static int kconn_recv(struct cli_kconn *conn, uint8_t **frame, size_t *len)
{
    const uint8_t *p;
    int rc = np_client_peek_raw(&conn->np, 4, &p);
    if (rc)
        return rc;
    uint32_t size = kc_load_be32(p);
    if (!conn->np.got_frame && !conn->np.tls && looks_like_tls(p))
        return -EPROTO;
    if (size < 4 || size > CLI_KAFKA_FRAME_MAX)
        return KC_EMALFORMED;
    if ((rc = np_client_peek_raw(&conn->np, 4 + (size_t)size, &p)) != 0)
        return rc;
    if (!(*frame = malloc(size)))
        return -ENOMEM;
    memcpy(*frame, p + 4, size);
    np_client_skip_raw(&conn->np, 4 + (size_t)size);
    conn->np.got_frame = true;
    *len = size;
    return 0;
}

/* One request, one answer: 0, a transport error (< 0), or KC_EMALFORMED. */
static int kconn_call(struct cli_kconn *conn, int16_t key, int16_t v, const void *msg,
                      struct cli_kresp *out)
{
    int32_t corr;
    size_t len;
    uint8_t *frame = NULL;
    int rc = kconn_send(conn, key, v, msg, &corr);
    if (rc == 0)
        rc = kconn_recv(conn, &frame, &len);
    if (rc == 0)
        rc = kp_response_decode(frame, len, key, v, 0, &out->r);
    if (rc == 0 && out->r.correlation_id != corr) {
        kp_response_fini(&out->r);
        rc = KC_EMALFORMED;
    }
    if (rc) {
        free(frame);
        return rc == KC_ENEEDMORE || rc == KC_ETOOLARGE ? KC_EMALFORMED : rc;
    }
    out->frame = frame;
    return 0;
}

/* ---- what went wrong, in a sentence -----------------------------------------------------------
 */

/* The hint for a connection that a broker cut or answered strangely before we were in. */
static const char *kconn_hint(const struct cli *cli, int rc)
{
    if (rc == -EPROTO && !cli->sec.tls)
        return " (the broker answered with TLS: give --tls-ca)";
    if ((rc == -ECONNRESET || rc == -EPIPE) && !cli->sec.tls && !cli->sec.sasl_password)
        return " (if it is a TLS listener, give --tls-ca; a SASL listener, --sasl-mechanism "
               "and --sasl-username)";
    if ((rc == -ECONNRESET || rc == -EPIPE) && !cli->sec.sasl_password)
        return " (if it is a SASL listener, give --sasl-mechanism and --sasl-username)";
    return "";
}

static const char *kconn_strerror(const struct cli_kconn *conn, int rc)
{
    if (rc == -EPROTO && conn->np.errmsg[0])
        return conn->np.errmsg;
    if (rc == -ECONNRESET)
        return "the broker closed the connection";
    if (rc == KC_EMALFORMED)
        return "an answer that does not parse as Kafka's protocol";
    return np_strerror(rc);
}

int cli__kafka_net_failed(struct cli_kafka *k, struct cli_kconn *conn, const char *during, int rc)
{
    struct cli *cli = k->cli;
    bool refused_tls = conn->np.tls && !conn->np.got_frame && (rc == -EPROTO || rc == -ECONNRESET);
    fprintf(cli->err, "error: %s with %s failed: %s%s%s\n", during, conn->addr,
            kconn_strerror(conn, rc), kconn_hint(cli, rc),
            refused_tls ? " (before any answer: did the broker refuse our certificate?)" : "");
    cli__kconn_close(conn);
    return refused_tls ? CLI_EAUTH : CLI_ENET;
}

void cli__kconn_close(struct cli_kconn *conn)
{
    if (conn->open)
        np_client_close(&conn->np);
    conn->open = false;
}

/* ---- ApiVersions --------------------------------------------------------------------------- */

static void versions_take(struct cli_kversions *v, const struct kp_api_versions_resp *resp)
{
    memset(v, 0, sizeof(*v));
    for (int32_t i = 0; i < resp->api_keys.n; i++) {
        const struct kp_api_versions_resp_api_version *a = &resp->api_keys.v[i];
        if (a->api_key < 0 || a->api_key >= CLI_KAFKA_KEYS || a->min_version > a->max_version)
            continue; /* a key we cannot use, or an empty range: not offered */
        v->has[a->api_key] = true;
        v->min[a->api_key] = a->min_version;
        v->max[a->api_key] = a->max_version;
    }
}

/* ApiVersions at version v: 0, or the broker's fallback range in *retry (>= 0). */
static int api_versions_at(struct cli_kafka *k, struct cli_kconn *conn, int16_t v, int16_t *retry)
{
    struct kp_api_versions_req req;
    struct cli_kresp resp;
    kp_init(&kp_api_versions_req_schema, &req);
    /* Kafka checks both against [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? (no '_') */
    req.client_software_name = kp_slice_str("kafka-c-cli");
    req.client_software_version = kp_slice_str(CLI_VERSION);
    int rc = kconn_call(conn, KP_API_API_VERSIONS, v, &req, &resp);
    if (rc)
        return cli__kafka_net_failed(k, conn, "ApiVersions", rc);
    const struct kp_api_versions_resp *a = resp.r.msg;
    *retry = -1;
    if (a->error_code == KP_ERR_UNSUPPORTED_VERSION)
        for (int32_t i = 0; i < a->api_keys.n; i++)
            if (a->api_keys.v[i].api_key == KP_API_API_VERSIONS)
                *retry = KC_MIN(a->api_keys.v[i].max_version, (int16_t)(v - 1));
    if (a->error_code == 0)
        versions_take(&conn->v, a);
    else if (*retry < 0)
        rc = cli__kerr(k, "ApiVersions", a->error_code, (struct kc_slice){NULL, -1});
    cli__kresp_fini(&resp);
    return rc;
}

static int api_versions(struct cli_kafka *k, struct cli_kconn *conn)
{
    int16_t v = kp_api_find(KP_API_API_VERSIONS)->max, retry = -1;
    int rc = api_versions_at(k, conn, v, &retry);
    if (rc == CLI_OK && retry >= 0) /* KIP-511: ask again at what the broker knows */
        rc = api_versions_at(k, conn, retry, &retry);
    if (rc == CLI_OK && retry >= 0)
        return cli__kerr(k, "ApiVersions", KP_ERR_UNSUPPORTED_VERSION, (struct kc_slice){NULL, -1});
    return rc;
}

/* ---- SASL ---------------------------------------------------------------------------------- */

struct sasl_step {
    struct cli_kafka *k;
    struct cli_kconn *conn;
    int16_t v;
    struct cli_kresp resp; /* the last answer: its auth_bytes are the reply */
    bool have;
    int16_t code; /* the broker's error code, when it refused */
    char message[256];
};

/* np_sasl_exchange's carrier: one SaslAuthenticate. */
static int sasl_step(void *arg, const uint8_t *msg, size_t len, struct kc_slice *reply)
{
    struct sasl_step *s = arg;
    struct kp_sasl_authenticate_req req = {{msg, (int32_t)len}};
    if (s->have)
        cli__kresp_fini(&s->resp);
    s->have = false;
    int rc = kconn_call(s->conn, KP_API_SASL_AUTHENTICATE, s->v, &req, &s->resp);
    if (rc)
        return rc;
    s->have = true;
    const struct kp_sasl_authenticate_resp *a = s->resp.r.msg;
    if (a->error_code != 0) {
        s->code = a->error_code;
        cli__kstr(a->error_message, s->message, sizeof(s->message));
        return -EACCES;
    }
    *reply = a->auth_bytes;
    return 0;
}

static int sasl_refused(struct cli_kafka *k, const char *name, const char *message)
{
    const struct cli_security *sec = &k->cli->sec;
    fprintf(k->cli->err, "error: SASL %s authentication as '%s' failed: %s: %s\n",
            sec->sasl_mechanism, sec->sasl_username, name, message);
    return CLI_EAUTH;
}

/* SaslHandshake v1: is the mechanism offered? */
static int sasl_handshake(struct cli_kafka *k, struct cli_kconn *conn)
{
    struct kp_sasl_handshake_req req = {kp_slice_str(k->cli->sec.sasl_mechanism)};
    struct cli_kresp resp;
    char offer[256] = "";
    int rc = kconn_call(conn, KP_API_SASL_HANDSHAKE, 1, &req, &resp);
    if (rc)
        return cli__kafka_net_failed(k, conn, "SaslHandshake", rc);
    const struct kp_sasl_handshake_resp *h = resp.r.msg;
    for (int32_t i = 0, at = 0; i < h->mechanisms.n && at < (int)sizeof(offer); i++)
        at += snprintf(offer + at, sizeof(offer) - (size_t)at, "%s%.*s", i ? ", " : "",
                       (int)KC_MIN(h->mechanisms.v[i].len, 64), h->mechanisms.v[i].p);
    if (h->error_code == CLI_KERR_UNSUPPORTED_SASL_MECHANISM) {
        char why[384];
        snprintf(why, sizeof(why), "the broker does not offer it; it offers: %s",
                 offer[0] ? offer : "nothing");
        rc = sasl_refused(k, cli__kerr_name(h->error_code), why);
    } else if (h->error_code != 0) {
        rc = sasl_refused(k, cli__kerr_name(h->error_code), "the handshake was refused");
    }
    cli__kresp_fini(&resp);
    return rc;
}

static int sasl_login(struct cli_kafka *k, struct cli_kconn *conn)
{
    const struct cli_security *sec = &k->cli->sec;
    struct sasl_step s = {.k = k, .conn = conn};
    char why[256] = "";
    int rc = cli__kversion_pick(&conn->v, KP_API_SASL_HANDSHAKE, 1, 1);
    if (rc < 0)
        return sasl_refused(k, "UNSUPPORTED_VERSION",
                            "the broker does not serve SaslHandshake v1 (Kafka 1.0's), the one "
                            "kafka_cli speaks");
    if ((rc = sasl_handshake(k, conn)) != CLI_OK)
        return rc;
    if ((rc = cli__kafka_version(k, conn, KP_API_SASL_AUTHENTICATE, 0, 2, &s.v)) != CLI_OK)
        return rc;
    rc = np_sasl_exchange(sec->sasl_mechanism, sec->sasl_username, sec->sasl_password, sasl_step,
                          &s, why, sizeof(why));
    if (s.have)
        cli__kresp_fini(&s.resp);
    if (rc == 0)
        return CLI_OK;
    if (rc == -EACCES && s.code)
        return sasl_refused(k, cli__kerr_name(s.code), s.message[0] ? s.message : "refused");
    if (rc == -EACCES || rc == KC_EMALFORMED)
        return sasl_refused(k, "bad server message",
                            why[0] ? why : "the broker's SCRAM message does not parse");
    return cli__kafka_net_failed(k, conn, "SaslAuthenticate", rc);
}

/* ---- opening ------------------------------------------------------------------------------- */

int cli__kconn_open(struct cli_kafka *k, struct cli_kconn *conn, const char *addr, int32_t node)
{
    struct cli *cli = k->cli;
    int rc;
    cli__kconn_close(conn);
    snprintf(conn->addr, sizeof(conn->addr), "%s", addr);
    conn->node = node;
    conn->next_corr = 1;
    if ((rc = np_client_connect(&conn->np, addr, cli->timeout_ms)) != 0) {
        fprintf(cli->err, "error: cannot reach the broker at %s: %s\n", addr,
                rc == -EINVAL ? "not host:port" : np_strerror(rc));
        np_client_close(&conn->np);
        return rc == -EINVAL ? CLI_EUSAGE : CLI_ENET;
    }
    conn->open = true;
    conn->np.max_frame = CLI_KAFKA_FRAME_MAX + 4;
    if (cli->sec.tls && (rc = np_client_start_tls(&conn->np, cli->sec.tls, NULL)) != 0) {
        fprintf(cli->err, "error: TLS handshake with %s failed: %s\n", addr,
                conn->np.errmsg[0] ? conn->np.errmsg : np_strerror(rc));
        cli__kconn_close(conn);
        return rc == -ETIMEDOUT ? CLI_ENET : CLI_EAUTH;
    }
    if ((rc = api_versions(k, conn)) == CLI_OK && cli->sec.sasl_password)
        rc = sasl_login(k, conn);
    if (rc != CLI_OK)
        cli__kconn_close(conn);
    return rc;
}

/* ---- versions and calls ---------------------------------------------------------------------- */

int cli__kafka_version(struct cli_kafka *k, struct cli_kconn *conn, int16_t key, int16_t lo,
                       int16_t hi, int16_t *v)
{
    const struct kp_api *api = kp_api_find(key);
    const char *name = api ? api->name : "?";
    int got = cli__kversion_pick(&conn->v, key, lo, hi);
    if (got >= 0) {
        *v = (int16_t)got;
        return CLI_OK;
    }
    if (got == CLI_KV_NOT_OFFERED)
        fprintf(k->cli->err,
                "error: the broker at %s does not offer %s (Kafka API %d), which this "
                "command needs\n",
                conn->addr, name, key);
    else
        fprintf(k->cli->err,
                "error: the broker at %s serves %s v%d-%d; kafka_cli speaks v%d-%d of it\n",
                conn->addr, name, conn->v.min[key], conn->v.max[key], lo, hi);
    return CLI_EBROKER;
}

int cli__kafka_call(struct cli_kafka *k, struct cli_kconn *conn, int16_t key, int16_t v,
                    const void *msg, struct cli_kresp *out)
{
    const struct kp_api *api = kp_api_find(key);
    char during[64];
    if (!conn->open) /* closed by an earlier failure: the verb routes again first */
        return CLI_ENET;
    int rc = kconn_call(conn, key, v, msg, out);
    if (rc == 0)
        return CLI_OK;
    if (rc == KC_ENONDEFAULT || rc == -EINVAL) { /* our own request does not fit v */
        fprintf(k->cli->err, "error: kafka_cli cannot express this request in %s v%d: %s\n",
                api ? api->name : "?", v, kc_strerror(rc));
        return CLI_EBROKER;
    }
    snprintf(during, sizeof(during), "%s v%d", api ? api->name : "?", v);
    return cli__kafka_net_failed(k, conn, during, rc);
}
