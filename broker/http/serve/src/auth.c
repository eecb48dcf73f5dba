/*
 * auth.c - metrics.basic.auth=true: /metrics answers only a SASL user of this broker.
 *
 *   GET /metrics                              -> 401  WWW-Authenticate: Basic realm="kafka-c"
 *   GET /metrics  Authorization: Basic <ok>   -> 200  the exposition
 *   GET /metrics  Authorization: Basic <bad>  -> 401  Connection: close, and the connection
 *                                                    closes after connection.failed.
 *                                                    authentication.delay.ms
 *
 * The user name and password are checked the way SASL PLAIN checks them, against the same
 * credential store (broker/security/sec_plain.h): one PBKDF2 with the user's SCRAM salt,
 * a constant-time compare with the stored key, the same work for a user that does not
 * exist. So there is one list of users to keep, and no password is stored anywhere.
 *
 * What is not protected, and why: /health stays open. The things that ask it (a load
 * balancer, a Kubernetes probe, systemd) carry no credentials, and it tells only
 * "serving/starting/draining", the version and the uptime. Basic authentication sends the
 * password on every request, in clear without TLS: the metrics listener binds to loopback
 * by default (metrics.bind), and should stay there, or behind a TLS proxy, when this is on.
 * Neither the Authorization header nor anything decoded from it is ever logged.
 */
#include <errno.h>
#include <string.h>

#include "brk.h"
#include "brk_service.h"
#include "hp.h"
#include "http_int.h"
#include "kc_common.h"
#include "sec_plain.h"
#include "sec_sasl.h"

#define HTTP_PASSWORD_MAX 1024
#define HTTP_CRED_BYTES   (SEC_USER_MAX + HTTP_PASSWORD_MAX + 2) /* "user:password" + NUL */

/* PLAIN's message "\0user\0password" checked against the store. */
static bool credentials_ok(struct brk_server *srv, const char *user, const char *pass)
{
    uint8_t msg[HTTP_CRED_BYTES + 2];
    char who[SEC_USER_MAX + 1];
    struct sec_sasl_status st = {0};
    size_t ul = strlen(user), pl = strlen(pass);
    msg[0] = '\0';
    memcpy(msg + 1, user, ul); /* both fit: they came out of a buffer of HTTP_CRED_BYTES */
    msg[1 + ul] = '\0';
    memcpy(msg + 2 + ul, pass, pl);
    int rc = sec_plain_authenticate(brk_server_credentials(srv), msg, ul + pl + 2, who, &st);
    explicit_bzero(msg, sizeof(msg));
    explicit_bzero(who, sizeof(who));
    if (rc != SEC_SASL_DONE) /* the reason is for the operator, and never a secret */
        kc_log_info("/metrics: basic authentication failed: %s",
                    st.reason ? st.reason : kc_strerror(rc));
    return rc == SEC_SASL_DONE;
}

enum http_auth brk__http_authenticate(struct brk_conn *c, const struct hp_request *req)
{
    struct brk_server *srv = brk_conn_server(c);
    char buf[HTTP_CRED_BYTES];
    const char *user, *pass;
    if (!brk_server_config(srv)->sec.metrics_basic_auth)
        return HTTP_AUTH_OK;
    /* The credentials open with the storage: until then nobody can be checked. */
    if (brk_server_phase(srv) == BRK_STARTING)
        return HTTP_AUTH_UNAVAILABLE;
    int rc = hp_basic_auth(req, buf, sizeof(buf), &user, &pass);
    if (rc == -ENOENT || rc == KC_EUNSUPPORTED)
        return HTTP_AUTH_MISSING; /* no credentials (yet): the challenge, no penalty */
    bool ok = rc == 0 && credentials_ok(srv, user, pass);
    if (rc != 0)
        kc_log_info("%s: /metrics: unusable Authorization header (%s)", brk_conn_peer(c),
                    kc_strerror(rc));
    explicit_bzero(buf, sizeof(buf));
    return ok ? HTTP_AUTH_OK : HTTP_AUTH_WRONG;
}

void brk__http_unauthorized(struct brk_conn *c, const struct hp_request *req, enum http_auth a,
                            bool close)
{
    static const char body[] = "Unauthorized: /metrics needs the user name and password of "
                               "a SASL user of this broker\n";
    if (a == HTTP_AUTH_UNAVAILABLE) {
        hp_write_canned(brk_resp_writer(c), 503, close, req->method == HP_METHOD_HEAD, -1);
        return;
    }
    struct hp_response resp = {.status = 401,
                               .content_type = "text/plain; charset=utf-8",
                               .body = body,
                               .body_len = sizeof(body) - 1,
                               .close = close || a == HTTP_AUTH_WRONG,
                               .head_only = req->method == HP_METHOD_HEAD,
                               .www_authenticate = "Basic realm=\"kafka-c\"",
                               .date = -1};
    hp_write_response(brk_resp_writer(c), &resp);
    if (a == HTTP_AUTH_WRONG) /* as a failed SASL exchange: answered, closed after a delay */
        brk_conn_close_failed_auth(c);
}
