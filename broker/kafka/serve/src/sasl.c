/*
 * sasl.c - who is asking, on the Kafka door: SaslHandshake (v0-1), SaslAuthenticate
 * (v0-2), and the gate that lets nothing else through before they succeed.
 *
 * The door carries bytes; the core runs the exchange (brk_sasl_begin/brk_sasl_step:
 * SCRAM-SHA-256/512 and PLAIN against the credential store) and owns the connection's
 * identity. On a SASL listener a connection goes through Kafka's states
 * (SaslServerAuthenticator):
 *
 *   START --ApiVersions (once)--> VERSIONED
 *     |                              |
 *     +------SaslHandshake(mech)-----+--> v1: TOKENS   each token in a SaslAuthenticate
 *                                    |       request; the answer carries the server's
 *                                    |       token (session_lifetime_ms 0: no KIP-368)
 *                                    +--> v0: RAW      each token a bare frame
 *                                                      [i32 size | bytes], no header,
 *                                                      the answer the same (kafka-python)
 *   ... the last step succeeds: authenticated, every API served (and ACL-checked)
 *
 * Anything else before that closes the connection, as Kafka does ("Unexpected Kafka
 * request of type Metadata during SASL handshake"): a request pipelined behind the
 * handshake is judged when its turn comes, so it gains nothing. A mechanism not enabled
 * gets UNSUPPORTED_SASL_MECHANISM (33) with the list; a failed step
 * SASL_AUTHENTICATION_FAILED (58) with the mechanism's generic sentence (never whether the
 * user exists); after either the connection reads nothing more and closes after
 * connection.failed.authentication.delay.ms. In RAW mode a failure has no way to be
 * answered: the connection just closes after the delay, as Kafka's does.
 *
 * Before authentication a frame may be at most 512 KiB (Kafka's
 * sasl.server.max.receive.size), so a client that has not said who it is cannot make the
 * broker buffer socket.request.max.bytes.
 *
 * On a PLAINTEXT or SSL listener, and after authentication, both APIs are answered
 * ILLEGAL_SASL_STATE (34) and the connection goes on, as KafkaApis answers them there.
 * ApiVersions advertises both everywhere, as Kafka does (its ApiVersions lists the SASL
 * APIs on every listener): a client learns from the answer, not from the table.
 */
#include <errno.h>
#include <string.h>

#include "kafka_int.h"

#define SASL_MECHS_MAX 8

static struct brk_kafka_conn *kconn(struct brk_conn *c)
{
    return brk_conn_state(c); /* kafka_serve made it before any of this runs */
}

/* ---- frames and the gate ------------------------------------------------------------------- */

int brk__kafka_sasl_frame(struct brk_conn *c, const uint8_t *p, size_t len, size_t *frame_len)
{
    const struct brk_kafka_conn *kc = brk_conn_state(c);
    size_t max = brk_server_config(brk_conn_server(c))->socket_request_max_bytes;
    bool raw = kc && kc->sasl == BRK_KAFKA_SASL_RAW;
    max = KC_MIN(max, (size_t)BRK_KAFKA_SASL_MAX_RECEIVE);
    int rc = kp_frame_check(p, len, raw ? 0 : KP_REQUEST_HEADER_MIN, max, frame_len);
    if (rc == KC_ETOOLARGE || rc == KC_EMALFORMED)
        kc_log_info("%s: a frame of %d bytes before authentication (at most %zu); closing",
                    brk_conn_peer(c), (int32_t)kc_load_be32(p), max);
    return rc;
}

/* A raw token (after SaslHandshake v0): step the exchange, answer [size | token]. */
static int raw_token(struct brk_conn *c, const uint8_t *token, size_t n)
{
    const uint8_t *out;
    size_t out_len;
    const char *client_message;
    int rc = brk_sasl_step(c, token, n, &out, &out_len, &client_message);
    if (rc < 0) { /* v0 has no error answer: the connection closes after the delay */
        brk_conn_close_failed_auth(c);
        return 0;
    }
    struct kc_writer *w = brk_resp_writer(c);
    kc_write_u32(w, (uint32_t)out_len);
    kc_write_raw(w, out, out_len);
    return 0;
}

static int unexpected(struct brk_conn *c, int16_t key, const char *during)
{
    const struct kp_api *api = kp_api_find(key);
    kc_log_info("%s: unexpected Kafka request of type %s (api_key %d) during SASL %s on a %s "
                "listener; closing", brk_conn_peer(c), api ? api->name : "?", key, during,
                brk_secproto_name(brk_conn_secproto(c)));
    return -EACCES;
}

int brk__kafka_sasl_gate(struct brk_conn *c, const uint8_t *body, size_t n)
{
    struct brk_kafka_conn *kc = kconn(c);
    if (kc->sasl == BRK_KAFKA_SASL_RAW)
        return raw_token(c, body, n); /* the whole frame body is the token */
    int16_t key = (int16_t)kc_load_be16(body), version = (int16_t)kc_load_be16(body + 2);
    int16_t min, max;
    switch (kc->sasl) {
    case BRK_KAFKA_SASL_START:
        if (key == KP_API_API_VERSIONS) {
            /* Answered with the table: the next may only be the handshake. Above our
             * range the fallback answer lets the client retry (Kafka keeps the state). */
            if (brk__kafka_served(key, &min, &max) && version <= max)
                kc->sasl = BRK_KAFKA_SASL_VERSIONED;
            return 1;
        }
        /* fall through */
    case BRK_KAFKA_SASL_VERSIONED:
        return key == KP_API_SASL_HANDSHAKE ? 1 : unexpected(c, key, "handshake");
    case BRK_KAFKA_SASL_TOKENS:
        if (key == KP_API_SASL_AUTHENTICATE)
            return 1;
        (void)unexpected(c, key, "authentication");
        brk_conn_close_failed_auth(c); /* Kafka: an authentication failure, delayed */
        return 0;
    case BRK_KAFKA_SASL_RAW:
        break;
    }
    return -EACCES;
}

/* ---- SaslHandshake ------------------------------------------------------------------------- */

int brk__kafka_sasl_handshake(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_sasl_handshake_req *hq = req->msg;
    struct kp_sasl_handshake_resp *resp = kp_new(&req->arena, &kp_sasl_handshake_resp_schema, 1);
    struct kc_slice *names = kp_arena_alloc(&req->arena, SASL_MECHS_MAX * sizeof(*names));
    const char *mechs[SASL_MECHS_MAX];
    if (!resp || !names)
        return -ENOMEM;
    if (!brk_conn_must_authenticate(c)) { /* not a SASL listener, or done: KafkaApis' answer */
        resp->error_code = KP_ERR_ILLEGAL_SASL_STATE;
        return brk__kafka_reply(c, &req->hdr, resp);
    }
    int nm = brk_sasl_mechanisms(c, mechs, SASL_MECHS_MAX);
    for (int i = 0; i < nm; i++)
        names[i] = kp_slice_str(mechs[i]);
    KP_SET(resp->mechanisms, nm, names);
    int rc = brk_sasl_begin(c, (const char *)hq->mechanism.p, (size_t)KC_MAX(hq->mechanism.len, 0));
    if (rc == -ENOMEM)
        return rc;
    if (rc == 0) {
        kconn(c)->sasl = req->hdr.request_api_version >= 1 ? BRK_KAFKA_SASL_TOKENS
                                                           : BRK_KAFKA_SASL_RAW;
        return brk__kafka_reply(c, &req->hdr, resp);
    }
    kc_log_info("%s: SASL mechanism '%.*s' is not enabled here; closing", brk_conn_peer(c),
                (int)KC_MIN(KC_MAX(hq->mechanism.len, 0), 64), hq->mechanism.p);
    resp->error_code = rc == KC_EUNSUPPORTED ? KP_ERR_UNSUPPORTED_SASL_MECHANISM
                                             : KP_ERR_ILLEGAL_SASL_STATE;
    rc = brk__kafka_reply(c, &req->hdr, resp);
    brk_conn_close_failed_auth(c); /* as Kafka: a refused handshake ends the connection */
    return rc;
}

/* ---- SaslAuthenticate ---------------------------------------------------------------------- */

int brk__kafka_sasl_authenticate(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_sasl_authenticate_req *aq = req->msg;
    struct kp_sasl_authenticate_resp *resp =
        kp_new(&req->arena, &kp_sasl_authenticate_resp_schema, 1);
    const uint8_t *out;
    size_t out_len;
    const char *client_message;
    if (!resp)
        return -ENOMEM;
    if (!brk_conn_must_authenticate(c)) { /* KafkaApis' answer, on any listener */
        resp->error_code = KP_ERR_ILLEGAL_SASL_STATE;
        resp->error_message = kp_slice_str("SaslAuthenticate request received after "
                                           "successful authentication");
        return brk__kafka_reply(c, &req->hdr, resp);
    }
    int rc = brk_sasl_step(c, aq->auth_bytes.p, (size_t)KC_MAX(aq->auth_bytes.len, 0), &out,
                           &out_len, &client_message);
    if (rc >= 0) { /* 0: the mechanism wants another token; 1: authenticated */
        resp->auth_bytes = (struct kc_slice){out ? out : (const uint8_t *)"", (int32_t)out_len};
        resp->session_lifetime_ms = 0; /* no re-authentication (KIP-368) here */
        return brk__kafka_reply(c, &req->hdr, resp);
    }
    resp->error_code = rc == -EPROTO ? KP_ERR_ILLEGAL_SASL_STATE
                                     : KP_ERR_SASL_AUTHENTICATION_FAILED;
    resp->error_message = kp_slice_str(client_message ? client_message
                                                      : "Authentication failed");
    resp->auth_bytes = kp_slice_str("");
    rc = brk__kafka_reply(c, &req->hdr, resp);
    brk_conn_close_failed_auth(c);
    return rc;
}
