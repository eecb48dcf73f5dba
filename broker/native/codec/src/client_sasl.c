/*
 * client_sasl.c - the client's half of a SASL exchange over commands 10 and 11 (contract in
 * np_client.h): the mechanism's messages come from broker/security, this file carries them.
 *
 *   PLAIN          10 handshake("PLAIN")
 *                  11 "\0alice\0alice-secret"        <- ""        (done)
 *
 *   SCRAM-SHA-*    10 handshake("SCRAM-SHA-256")
 *                  11 client-first  "n,,n=alice,r=.."   <- server-first  "r=..,s=..,i=4096"
 *                  11 client-final  "c=biws,r=..,p=.."  <- server-final  "v=<signature>"
 *                     then check the signature: only a server that holds alice's
 *                     credential can compute it, so a wrong broker is caught here
 *
 * PLAIN sends the password itself (inside TLS, one hopes: SASL_SSL); SCRAM sends a proof
 * that is useless to anyone who records it. Either way the buffers that held a password
 * or a key are wiped before they are freed.
 *
 * The mechanisms' half (np_sasl_exchange) does not know what carries its messages: here
 * command 11, in kafka_cli's Kafka client SaslAuthenticate (broker/cli/src/cli_kconn.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "np_client.h"
#include "sec_scram.h"

/* "PLAIN, SCRAM-SHA-256" from the broker's list, into buf. */
static void offer_text(const struct np_sasl_mechanisms *m, char *buf, size_t cap)
{
    size_t pos = 0, at = 0;
    struct kc_slice name;
    buf[0] = '\0';
    while (np_sasl_mechanisms_next(m, &pos, &name) == 1 && at < cap)
        at += (size_t)snprintf(buf + at, cap - at, "%s%.*s", at ? ", " : "",
                               (int)KC_MIN(name.len, 64), name.p);
}

static int exchange_plain(const char *user, const char *password, np_sasl_step_fn step,
                          void *arg)
{
    struct kc_slice reply;
    size_t ulen = strlen(user), plen = strlen(password), len = ulen + plen + 2;
    uint8_t *msg = malloc(len);
    if (!msg)
        return -ENOMEM;
    msg[0] = '\0'; /* no authzid: the user acts as itself */
    memcpy(msg + 1, user, ulen);
    msg[1 + ulen] = '\0';
    memcpy(msg + 2 + ulen, password, plen);
    int rc = step(arg, msg, len, &reply);
    explicit_bzero(msg, len);
    free(msg);
    return rc;
}

static int exchange_scram(enum sec_sasl_mech mech, const char *user, const char *password,
                          np_sasl_step_fn step, void *arg, char *errmsg, size_t cap)
{
    struct sec_scram_client *sc;
    struct kc_slice reply;
    const uint8_t *msg;
    size_t len;
    int rc = sec_scram_client_new(mech, user, password, &sc);
    if (rc)
        return rc;
    if ((rc = sec_scram_client_first(sc, &msg, &len)) == 0 &&
        (rc = step(arg, msg, len, &reply)) == 0 &&
        (rc = sec_scram_client_final(sc, reply.p, (size_t)KC_MAX(reply.len, 0), &msg, &len)) ==
            0 &&
        (rc = step(arg, msg, len, &reply)) == 0 &&
        (rc = sec_scram_client_verify(sc, reply.p, (size_t)KC_MAX(reply.len, 0))) != 0)
        snprintf(errmsg, cap, "the broker's final SCRAM message does not prove it knows the "
                              "credential");
    sec_scram_client_free(sc); /* wipes the password, the keys and the messages */
    return rc;
}

int np_sasl_exchange(const char *mechanism, const char *user, const char *password,
                     np_sasl_step_fn step, void *arg, char *errmsg, size_t cap)
{
    enum sec_sasl_mech mech;
    if (!user || !*user || !password || sec_sasl_mech_parse(mechanism, &mech) != 0)
        return -EINVAL;
    return mech == SEC_SASL_PLAIN
               ? exchange_plain(user, password, step, arg)
               : exchange_scram(mech, user, password, step, arg, errmsg, cap);
}

/* One native sasl-authenticate (command 11): the carrier of np_sasl_exchange here. */
static int native_step(void *arg, const uint8_t *msg, size_t len, struct kc_slice *reply)
{
    struct np_sasl_authenticate_resp resp;
    int rc = np_client_sasl_authenticate(arg, msg, len, &resp);
    if (rc == 0)
        *reply = resp.auth_bytes;
    return rc;
}

int np_client_sasl_login(struct np_client *c, const char *mechanism, const char *user,
                         const char *password)
{
    struct np_sasl_handshake_resp hs = {{0, NULL, 0}};
    enum sec_sasl_mech mech;
    char offer[256];
    if (!user || !*user || !password || sec_sasl_mech_parse(mechanism, &mech) != 0)
        return -EINVAL;
    int rc = np_client_sasl_handshake(c, mechanism, &hs);
    if (rc == NP_ERR(NP_E_UNSUPPORTED_SASL_MECHANISM)) {
        offer_text(&hs.mechanisms, offer, sizeof(offer));
        snprintf(c->errmsg, sizeof(c->errmsg), "the broker does not offer %s; it offers: %s",
                 mechanism, offer[0] ? offer : "nothing");
    }
    if (rc)
        return rc;
    return np_sasl_exchange(mechanism, user, password, native_step, c, c->errmsg,
                            sizeof(c->errmsg));
}
