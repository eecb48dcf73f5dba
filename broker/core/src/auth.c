/*
 * auth.c - who is asking, and may they: the core's security services, the same for every
 * door (broker/security does the cryptography; this file wires it to connections).
 *
 *   listener      PLAINTEXT / SSL / SASL_PLAINTEXT / SASL_SSL (config_security.c)
 *   TLS           tls.c: the handshake; a client certificate names the principal
 *   SASL          brk_sasl_begin + brk_sasl_step: a door carries the bytes (Kafka's
 *                 SaslHandshake/SaslAuthenticate, native commands 10/11) and the core runs
 *                 the exchange (SCRAM-SHA-256/512, PLAIN) against the credential store in
 *                 the data directory; success names the principal
 *   ACLs          brk_authorize: Kafka's authorizer model (broker/security/sec_acl.h), on
 *                 when authorizer.class.name is set; a door asks before it acts
 *
 * On a SASL listener nothing but the exchange itself (and the few requests a client needs
 * before it, ApiVersions) may be served until it succeeds: brk_conn_must_authenticate
 * tells a door, which refuses everything else; pipelining a request behind the handshake
 * gains nothing. A failed exchange is answered with the mechanism's generic failure text
 * (never whether the user exists) and the connection closes after
 * connection.failed.authentication.delay.ms, so guessing is slow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "brk_int.h"
#include "sec_plain.h"
#include "sec_principal.h"
#include "sec_scram.h"

struct brk__sasl {
    enum sec_sasl_mech mech;
    struct sec_scram_server *scram; /* SCRAM: the exchange; PLAIN: NULL */
    bool done;                      /* succeeded or failed: no more steps */
};

/* ---- the server's side ------------------------------------------------------------------- */

static int tls_context(struct brk_server *srv)
{
    const struct brk_security_config *sec = &srv->cfg.sec;
    struct zc_tls_config tc = {0};
    char err[256];
    bool any = false;
    for (int i = 0; i < sec->nlisteners; i++)
        any |= brk_secproto_tls(sec->listeners[i].proto);
    if (!any)
        return 0;
    for (int i = 0; i < sec->nssl; i++)
        (void)zc_tls_config_set(&tc, sec->ssl[i].key, sec->ssl[i].value); /* checked by name */
    int rc = zc_tls_ctx_new(&tc, true, &srv->tls, err, sizeof(err));
    if (rc)
        kc_log_error("cannot set up TLS for the SSL listeners: %s", err);
    return rc;
}

static void sasl_mechanisms(struct brk_server *srv)
{
    const char *p = srv->cfg.sec.sasl_mechanisms;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[32];
        enum sec_sasl_mech m;
        if (len < sizeof(name)) {
            memcpy(name, p, len);
            name[len] = '\0';
            if (sec_sasl_mech_parse(name, &m) == 0)
                srv->sasl_mechs |= (int64_t)1 << m;
        }
        p += len + (comma ? 1 : 0);
    }
}

int brk__security_create(struct brk_server *srv)
{
    sasl_mechanisms(srv);
    return tls_context(srv);
}

int brk__security_open(struct brk_server *srv)
{
    const struct brk_security_config *sec = &srv->cfg.sec;
    int rc = sec_cred_store_open(srv->cfg.data_dir, &srv->creds);
    if (rc) {
        kc_log_error("cannot open the SASL credentials in %s: %s", srv->cfg.data_dir,
                     kc_strerror(rc));
        return rc;
    }
    if (!sec->authorizer[0])
        return 0;
    struct sec_authorizer_config ac = {.super_users = sec->super_users[0] ? sec->super_users : NULL,
                                       .allow_everyone_if_no_acl_found =
                                           sec->allow_everyone_if_no_acl};
    if ((rc = sec_authorizer_open(srv->cfg.data_dir, &ac, &srv->authz)) != 0)
        kc_log_error("cannot open the ACLs in %s: %s", srv->cfg.data_dir, kc_strerror(rc));
    return rc;
}

void brk__security_close(struct brk_server *srv)
{
    sec_authorizer_close(srv->authz);
    sec_cred_store_close(srv->creds);
    zc_tls_ctx_free(srv->tls);
    srv->authz = NULL;
    srv->creds = NULL;
    srv->tls = NULL;
}

/* ---- a connection's identity --------------------------------------------------------------- */

enum brk_secproto brk_conn_secproto(const struct brk_conn *c)
{
    return c->lst->proto;
}

const char *brk_conn_principal(const struct brk_conn *c)
{
    return c->principal ? c->principal : SEC_PRINCIPAL_ANONYMOUS;
}

const char *brk_conn_host(const struct brk_conn *c)
{
    return c->host;
}

bool brk_conn_must_authenticate(const struct brk_conn *c)
{
    return brk_secproto_sasl(c->lst->proto) && !c->authenticated;
}

static bool authorize(const struct brk_conn *c, int op, int type, const char *name, size_t len,
                      bool log_denial)
{
    struct sec_authorizer *a = c->srv->authz;
    enum sec_authz_rule rule;
    if (!a)
        return true; /* no authorizer.class.name: everyone may do everything, as Kafka */
    bool ok = sec_authorize(a, brk_conn_principal(c), c->host, (enum sec_acl_op)op,
                            (enum sec_resource_type)type, name, len, &rule) == SEC_AUTHZ_ALLOWED;
    if (!ok && log_denial) /* Kafka's authorizer logs denials; the name is the client's, bounded */
        kc_log_info("%s: %s denied %s on %s %.*s (%s)", c->peer, brk_conn_principal(c),
                    sec_acl_op_name(op), sec_resource_type_name(type), (int)KC_MIN(len, 255),
                    name, sec_authz_rule_name(rule));
    return ok;
}

bool brk_authorize(const struct brk_conn *c, int op, int type, const char *name, size_t len)
{
    return authorize(c, op, type, name, len, true);
}

bool brk_authorize_quiet(const struct brk_conn *c, int op, int type, const char *name,
                         size_t len)
{
    return authorize(c, op, type, name, len, false);
}

struct sec_authorizer *brk_server_authorizer(const struct brk_server *srv)
{
    return srv->authz;
}

struct sec_cred_store *brk_server_credentials(const struct brk_server *srv)
{
    return srv->creds;
}

/* ---- SASL ------------------------------------------------------------------------------------ */

int brk_sasl_mechanisms(const struct brk_conn *c, const char **names, int cap)
{
    int n = 0;
    for (int m = SEC_SASL_PLAIN; m <= SEC_SASL_SCRAM_SHA_512 && n < cap; m++)
        if (c->srv->sasl_mechs & ((int64_t)1 << m))
            names[n++] = sec_sasl_mech_name(m);
    return n;
}

void brk__sasl_free(struct brk_conn *c)
{
    if (!c->sasl)
        return;
    sec_scram_server_free(c->sasl->scram);
    free(c->sasl);
    c->sasl = NULL;
}

int brk_sasl_begin(struct brk_conn *c, const char *mech, size_t len)
{
    char name[32];
    enum sec_sasl_mech m;
    if (!brk_secproto_sasl(c->lst->proto) || c->authenticated || c->sasl)
        return -EPROTO; /* not a SASL listener (Kafka: ILLEGAL_SASL_STATE), or a second
                         * exchange (no re-authentication here) */
    if (len >= sizeof(name))
        return KC_EUNSUPPORTED;
    memcpy(name, mech, len);
    name[len] = '\0';
    if (sec_sasl_mech_parse(name, &m) != 0 || !(c->srv->sasl_mechs & ((int64_t)1 << m)))
        return KC_EUNSUPPORTED;
    if (!(c->sasl = calloc(1, sizeof(*c->sasl))))
        return -ENOMEM;
    c->sasl->mech = m;
    int rc = sec_scram_is_scram(m) ? sec_scram_server_new(m, c->srv->creds, &c->sasl->scram) : 0;
    if (rc)
        brk__sasl_free(c);
    return rc;
}

static int authenticated(struct brk_conn *c, const char *user)
{
    char principal[SEC_PRINCIPAL_MAX];
    if (sec_principal_from_user(user, principal, sizeof(principal)) != 0)
        return -EINVAL;
    char *p = strdup(principal);
    if (!p)
        return -ENOMEM;
    free(c->principal);
    c->principal = p;
    c->authenticated = true;
    kc_log_info("%s: authenticated as %s (%s)", c->peer, p, sec_sasl_mech_name(c->sasl->mech));
    return 0;
}

int brk_sasl_step(struct brk_conn *c, const uint8_t *in, size_t len, const uint8_t **out,
                  size_t *out_len, const char **client_message)
{
    struct sec_sasl_status st = {0};
    char user[SEC_USER_MAX + 1];
    int rc;
    *out = NULL;
    *out_len = 0;
    *client_message = NULL;
    if (!c->sasl || c->sasl->done)
        return -EPROTO;
    if (c->sasl->scram) {
        rc = sec_scram_server_step(c->sasl->scram, in, len, out, out_len, &st);
        if (rc == SEC_SASL_DONE && authenticated(c, sec_scram_server_user(c->sasl->scram)))
            rc = -ENOMEM;
    } else {
        rc = sec_plain_authenticate(c->srv->creds, in, len, user, &st);
        if (rc == SEC_SASL_DONE && authenticated(c, user))
            rc = -ENOMEM;
        OPENSSL_cleanse(user, sizeof(user));
    }
    if (rc < 0) {
        /* The reason is for the log (never a secret); the client gets Kafka's text. */
        kc_log_info("%s: SASL %s authentication failed: %s", c->peer,
                    sec_sasl_mech_name(c->sasl->mech), st.reason ? st.reason : kc_strerror(rc));
        *client_message = st.client_message ? st.client_message
                                             : sec_sasl_generic_failure(c->sasl->mech);
    }
    c->sasl->done = rc != SEC_SASL_CONTINUE;
    return rc;
}
