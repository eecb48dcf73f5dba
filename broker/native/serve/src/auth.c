/*
 * auth.c - who is asking, on the native door: the SASL exchange (commands 10 and 11), the
 * refusal of everything else before it succeeds, and the ACL checks every command makes.
 *
 * The door carries bytes; the core runs the exchange and owns the connection's identity
 * (core/src/auth.c). On a SASL listener a connection lives through three states:
 *
 *      accepted --10 sasl-handshake(mech)--> exchanging --11 ... 11--> authenticated
 *         |                                      |                        |
 *         | anything else: ILLEGAL_SASL_STATE,   | a failed step:         | every command,
 *         | then closed                          | SASL_AUTHENTICATION_   | each checked
 *         |                                      | FAILED, closed after   | against the ACLs
 *         v                                      v the delay              v
 *
 * The check happens per request, at serve time, so a request pipelined behind the
 * handshake in the same packet is judged in the state the connection is in when its turn
 * comes: before the last step has succeeded it is refused and the connection closed; after
 * a failed step nothing more is read at all. On PLAINTEXT and SSL listeners there is no
 * exchange (commands 10 and 11 are refused with ILLEGAL_SASL_STATE, as Kafka refuses a
 * SaslHandshake there) and the principal is User:ANONYMOUS or the client certificate's.
 *
 * ACLs (when authorizer.class.name is set): the operations Kafka checks for the API each
 * command mirrors, answered with Kafka's error codes. The topic is judged before it is
 * looked up, so a principal that may not see a topic cannot learn whether it exists.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "native_int.h"
#include "sec_acl.h"

#define NATIVE_MECHS_MAX 8

/* ---- before the exchange ------------------------------------------------------------------ */

bool native__refused_before_auth(const struct native_out *o, int cmd, uint32_t corr)
{
    if (cmd == NP_SASL_HANDSHAKE || cmd == NP_SASL_AUTHENTICATE ||
        !brk_conn_must_authenticate(o->c))
        return false;
    const char *proto = brk_secproto_name(brk_conn_secproto(o->c));
    kc_log_info("%s: %s before authenticating on a %s listener; closing", brk_conn_peer(o->c),
                np_cmd_name(cmd), proto);
    native__error(o, cmd, corr, NP_E_ILLEGAL_SASL_STATE, -1, -1,
                  "this listener (%s) needs SASL authentication first: sasl-handshake (10), "
                  "then sasl-authenticate (11); closing the connection",
                  proto);
    return true;
}

/* SASL on a PLAINTEXT or SSL listener: refused (as Kafka refuses a SaslHandshake there), and
 * harmless, so the connection goes on. true when refused. */
static bool not_a_sasl_listener(const struct native_out *o, int cmd, uint32_t corr)
{
    enum brk_secproto p = brk_conn_secproto(o->c);
    if (brk_secproto_sasl(p))
        return false;
    native__error(o, cmd, corr, NP_E_ILLEGAL_SASL_STATE, -1, -1,
                  "this listener (%s) does not use SASL", brk_secproto_name(p));
    return true;
}

/* ---- 10 sasl-handshake --------------------------------------------------------------------- */

/* "PLAIN, SCRAM-SHA-256" into buf. */
static const char *mechs_text(const char *const *names, int n, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? ", " : "", names[i]);
    return n ? buf : "none";
}

void native__sasl_handshake(const struct native_out *o, uint32_t corr, const uint8_t *b, size_t n)
{
    struct np_sasl_handshake_req req;
    const char *names[NATIVE_MECHS_MAX];
    char msg[256], list[128];
    int nm = brk_sasl_mechanisms(o->c, names, NATIVE_MECHS_MAX), rc;
    if (np_decode_sasl_handshake(b, n, &req) != 0) {
        native__error(o, NP_SASL_HANDSHAKE, corr, NP_E_MALFORMED, -1, -1,
                      "bad sasl-handshake body");
        return;
    }
    if (not_a_sasl_listener(o, NP_SASL_HANDSHAKE, corr))
        return;
    rc = brk_sasl_begin(o->c, (const char *)req.mechanism.p, (size_t)req.mechanism.len);
    if (rc == 0) {
        np_encode_sasl_handshake_resp(native__w(o), corr, NP_E_NONE, NULL, names, nm);
        return;
    }
    if (rc == KC_EUNSUPPORTED) {
        snprintf(msg, sizeof(msg), "SASL mechanism '%.*s' is not enabled; this broker offers %s",
                 (int)KC_MIN(req.mechanism.len, 64), req.mechanism.p,
                 mechs_text(names, nm, list, sizeof(list)));
        np_encode_sasl_handshake_resp(native__w(o), corr, NP_E_UNSUPPORTED_SASL_MECHANISM, msg,
                                      names, nm);
    } else if (rc == -EPROTO) {
        native__error(o, NP_SASL_HANDSHAKE, corr, NP_E_ILLEGAL_SASL_STATE, -1, -1,
                      "this connection has had its SASL exchange (one per connection)");
    } else {
        native__error_kc(o, NP_SASL_HANDSHAKE, corr, rc, "sasl-handshake");
    }
    brk_conn_close_failed_auth(o->c); /* as Kafka: a refused handshake ends the connection */
}

/* ---- 11 sasl-authenticate ------------------------------------------------------------------ */

void native__sasl_authenticate(const struct native_out *o, uint32_t corr, const uint8_t *b,
                               size_t n)
{
    struct np_sasl_authenticate_req req;
    const uint8_t *out;
    size_t out_len;
    const char *client_message;
    if (np_decode_sasl_authenticate(b, n, &req) != 0) {
        native__error(o, NP_SASL_AUTHENTICATE, corr, NP_E_MALFORMED, -1, -1,
                      "bad sasl-authenticate body");
        return;
    }
    if (not_a_sasl_listener(o, NP_SASL_AUTHENTICATE, corr))
        return;
    int rc = brk_sasl_step(o->c, req.auth_bytes.p, (size_t)req.auth_bytes.len, &out, &out_len,
                           &client_message);
    if (rc >= 0) { /* 0: the mechanism wants another message; 1: authenticated */
        struct np_sasl_authenticate_resp resp = {{out, (int32_t)out_len}};
        np_encode_sasl_authenticate_resp(native__w(o), corr, &resp);
        return;
    }
    if (rc == -EPROTO)
        native__error(o, NP_SASL_AUTHENTICATE, corr, NP_E_ILLEGAL_SASL_STATE, -1, -1,
                      "no SASL exchange in progress: send sasl-handshake (10) first");
    else /* the mechanism's generic text: never which part (user, password) was wrong */
        native__error(o, NP_SASL_AUTHENTICATE, corr, NP_E_SASL_AUTHENTICATION_FAILED, -1, -1, "%s",
                      client_message ? client_message : "authentication failed");
    brk_conn_close_failed_auth(o->c);
}

/* ---- ACLs ---------------------------------------------------------------------------------- */

static int denied(const struct native_out *o, int cmd, uint32_t corr, int code, int op,
                  const char *what, struct kc_slice name)
{
    native__error(o, cmd, corr, code, -1, -1, "%s is not authorized to %s %s '%.*s'",
                  brk_conn_principal(o->c), sec_acl_op_name(op), what, (int)KC_MIN(name.len, 300),
                  name.p);
    return -1;
}

int native__allow_topic(const struct native_out *o, int cmd, uint32_t corr, int op,
                        struct kc_slice name)
{
    if (brk_authorize(o->c, op, SEC_RES_TOPIC, (const char *)name.p, (size_t)name.len))
        return 0;
    return denied(o, cmd, corr, NP_E_TOPIC_AUTHORIZATION_FAILED, op, "topic", name);
}

int native__allow_group(const struct native_out *o, int cmd, uint32_t corr, int op,
                        struct kc_slice name)
{
    if (brk_authorize(o->c, op, SEC_RES_GROUP, (const char *)name.p, (size_t)name.len))
        return 0;
    return denied(o, cmd, corr, NP_E_GROUP_AUTHORIZATION_FAILED, op, "group", name);
}

/* Kafka's rule for creating a topic (CreateTopics, and auto-creation by Metadata): CREATE
 * on the cluster, or else CREATE on that topic. */
int native__allow_create(const struct native_out *o, int cmd, uint32_t corr, struct kc_slice name)
{
    if (brk_authorize_quiet(o->c, SEC_OP_CREATE, SEC_RES_CLUSTER, SEC_CLUSTER_NAME,
                            strlen(SEC_CLUSTER_NAME)))
        return 0;
    return native__allow_topic(o, cmd, corr, SEC_OP_CREATE, name);
}

bool native__may_describe(const struct native_out *o, const char *topic)
{
    return brk_authorize_quiet(o->c, SEC_OP_DESCRIBE, SEC_RES_TOPIC, topic, strlen(topic));
}
