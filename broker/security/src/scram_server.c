/*
 * scram_server.c - the server side of one SCRAM exchange: a four-state machine.
 *
 *            client-first ok                 client-final ok
 *   FIRST  ------------------->  FINAL  ---------------------->  DONE
 *     |   send server-first        |     send v=ServerSignature
 *     |                            |
 *     +----------------------------+-------> FAILED   (any error; every later step:
 *                                                      -EPROTO)
 *
 * What the server keeps between the two steps: the credential (copied out of the store,
 * so the store can change meanwhile), the gs2 header that c= must encode, the combined
 * nonce that r= must repeat, and the AuthMessage's first two parts.
 *
 * Unknown users. Kafka's ScramSaslServer fails at the first message when the user has no
 * credential: an attacker learns which names exist from the step that fails. Here the
 * first step always computes the store's fake credential for the name (two HMACs keyed by
 * a secret kept in the credential file), then looks the name up and, if found, uses the
 * real one instead. The fake salt is stable (same name, same salt, across restarts) and
 * the fake iterations are the default, so server-first looks like any user's; the final
 * step does the same HMACs and hash on either credential and fails with the same -EACCES
 * and the same text when the proof does not match, which a fake one never does. What is
 * left to measure is a binary search that ends on a match or not: tens of nanoseconds, far
 * below what a network round trip lets anyone see.
 *
 * The proof is compared in constant time (CRYPTO_memcmp): the time does not depend on how
 * many leading bytes of the computed StoredKey are right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kc_err.h"
#include "sec_cred.h"
#include "sec_int.h"
#include "sec_params.h"
#include "sec_scram.h"

enum state { ST_FIRST, ST_FINAL, ST_DONE, ST_FAILED };

/* Longest server-first: "r=" nonce(client + server) ",s=" base64(salt) ",i=" digits. */
#define SERVER_FIRST_MAX (SEC_SASL_MSG_MAX + 64 + (SEC_SCRAM_SALT_MAX / 3 + 1) * 4 + 32)

struct sec_scram_server {
    enum sec_sasl_mech mech;
    enum state state;
    bool found; /* the user has a real credential (for the log reason only) */
    struct sec_cred_store *store;
    struct sec_scram_cred cred;
    size_t gs2_len, nonce_len, cnonce_len, auth_len, out_len; /* cnonce: the client's part */
    char user[SEC_USER_MAX + 1];
    char gs2[SEC_SASL_MSG_MAX];
    char nonce[SEC_SASL_MSG_MAX + 64];
    char fixed_snonce[sec__b64_len(SEC_SCRAM_SNONCE_BYTES) + 1]; /* test hook; "" = random */
    char out[SERVER_FIRST_MAX];
    /* client-first-bare "," server-first "," client-final-without-proof */
    char auth[SEC_SASL_MSG_MAX + 1 + SERVER_FIRST_MAX + 1 + SEC_SASL_MSG_MAX];
};

int sec_scram_server_new(enum sec_sasl_mech mech, struct sec_cred_store *store,
                         struct sec_scram_server **out)
{
    if (!sec_scram_is_scram(mech) || !store)
        return -EINVAL;
    struct sec_scram_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->mech = mech;
    s->store = store;
    s->state = ST_FIRST;
    *out = s;
    return 0;
}

void sec__scram_server_set_nonce(struct sec_scram_server *s, const char *nonce)
{
    snprintf(s->fixed_snonce, sizeof(s->fixed_snonce), "%s", nonce);
}

/* Fail the exchange: the state, the wiping, the two texts. */
static int fail(struct sec_scram_server *s, int rc, const char *client_message, const char *reason,
                struct sec_sasl_status *st)
{
    s->state = ST_FAILED;
    sec_scram_cred_wipe(&s->cred);
    sec__wipe(s->auth, sizeof(s->auth));
    if (st) {
        st->client_message = client_message ? client_message : sec_sasl_generic_failure(s->mech);
        st->reason = reason;
    }
    return rc;
}

/* The credential of the user named in client-first: the real one or the fake one, with
 * the same work either way (see the top of the file). */
static void find_credential(struct sec_scram_server *s)
{
    struct sec_scram_cred real;
    sec_cred_store_fake(s->store, s->mech, s->user, &s->cred);
    s->found = sec_cred_store_get(s->store, s->mech, s->user, &real) == 0;
    if (s->found)
        s->cred = real;
    sec_scram_cred_wipe(&real);
}

/* server-first into s->out, and the AuthMessage's first two parts into s->auth. */
static int server_first(struct sec_scram_server *s, const struct sec_scram_first *m)
{
    char snonce[sec__b64_len(SEC_SCRAM_SNONCE_BYTES) + 1];
    if (s->fixed_snonce[0]) {
        snprintf(snonce, sizeof(snonce), "%s", s->fixed_snonce);
    } else {
        uint8_t raw[SEC_SCRAM_SNONCE_BYTES];
        if (sec__random(raw, sizeof(raw)) < 0)
            return -EIO;
        sec__b64_encode(raw, sizeof(raw), snonce); /* 24 bytes: no '=' padding */
    }
    char salt[sec__b64_len(SEC_SCRAM_SALT_MAX) + 1];
    sec__b64_encode(s->cred.salt, s->cred.salt_len, salt);
    int n = snprintf(s->nonce, sizeof(s->nonce), "%.*s%s", (int)m->nonce_len, m->nonce, snonce);
    s->nonce_len = (size_t)n;
    s->cnonce_len = m->nonce_len;
    n = snprintf(s->out, sizeof(s->out), "r=%s,s=%s,i=%u", s->nonce, salt, s->cred.iterations);
    s->out_len = (size_t)n;
    memcpy(s->gs2, m->gs2, m->gs2_len);
    s->gs2_len = m->gs2_len;
    n = snprintf(s->auth, sizeof(s->auth), "%.*s,%s,", (int)m->bare_len, m->bare, s->out);
    s->auth_len = (size_t)n;
    return 0;
}

static int step_first(struct sec_scram_server *s, const uint8_t *in, size_t len,
                      struct sec_sasl_status *st)
{
    struct sec_scram_first m;
    const char *reason = NULL;
    if (sec_scram_parse_first(in, len, &m, &reason) < 0)
        return fail(s, KC_EMALFORMED, NULL, reason, st);
    if (m.has_authzid && strcmp(m.authzid, m.user) != 0)
        return fail(s, -EPERM,
                    "Authentication failed: Client requested an authorization id that is "
                    "different from username",
                    "the authzid (a=) is not the user name", st);
    if (m.tokenauth)
        return fail(s, KC_EUNSUPPORTED, NULL,
                    "delegation token authentication (tokenauth=true) is not supported", st);
    memcpy(s->user, m.user, m.user_len + 1);
    find_credential(s);
    if (server_first(s, &m) < 0)
        return fail(s, -EIO, NULL, "no randomness for the server nonce", st);
    s->state = ST_FINAL;
    return SEC_SASL_CONTINUE;
}

/*
 * Does client-final's r= repeat the nonce server-first sent? RFC 5802 wants it exactly.
 * librdkafka before 2.6.1 (librdkafka#4895; Debian 12 ships 2.0.2) sends its own nonce
 * once more in front: r=<client nonce><client nonce><server nonce>. Kafka 3.8.1-3.9 accept
 * any r= that ends with the nonce (the CVE-2024-56128 fix, relaxed for librdkafka); Kafka
 * 4.0 refuses it. This accepts the exact nonce, or exactly librdkafka's form: the fresh
 * server nonce is in both, and the proof signs whatever r= carried (the AuthMessage holds
 * client-final-without-proof), so the old form replays nothing.
 */
static bool nonce_repeated(const struct sec_scram_server *s, const char *r, size_t len)
{
    if (len == s->nonce_len)
        return memcmp(r, s->nonce, len) == 0;
    return len == s->cnonce_len + s->nonce_len && memcmp(r, s->nonce, s->cnonce_len) == 0 &&
           memcmp(r + s->cnonce_len, s->nonce, s->nonce_len) == 0;
}

/* The checks of client-final that do not involve the credential. */
static int check_final(struct sec_scram_server *s, const struct sec_scram_final *m,
                       const char **reason)
{
    uint8_t cbind[SEC_SASL_MSG_MAX];
    if (!nonce_repeated(s, m->nonce, m->nonce_len)) {
        *reason = "the nonce (r=) is not the one server-first sent";
        return KC_EMALFORMED;
    }
    int n = sec__b64_decode(m->cbind_b64, m->cbind_b64_len, cbind, sizeof(cbind));
    if (n < 0 || (size_t)n != s->gs2_len || memcmp(cbind, s->gs2, s->gs2_len) != 0) {
        *reason = "the channel binding (c=) is not the gs2 header of client-first";
        return KC_EMALFORMED;
    }
    if (m->proof_len != sec_scram_key_len(s->mech)) {
        *reason = "the proof (p=) is not as long as the hash";
        return KC_EMALFORMED;
    }
    return 0;
}

/* H(proof XOR HMAC(StoredKey, AuthMessage)) == StoredKey, in constant time; then the
 * server signature into s->out. 0, -EACCES, -EIO. */
static int verify_proof(struct sec_scram_server *s, const struct sec_scram_final *m)
{
    size_t klen = sec_scram_key_len(s->mech);
    uint8_t sig[SEC_SCRAM_KEY_MAX], client_key[SEC_SCRAM_KEY_MAX], stored[SEC_SCRAM_KEY_MAX];
    int rc = sec__hmac(s->mech, s->cred.stored_key, klen, s->auth, s->auth_len, sig);
    if (rc == 0) {
        sec__xor(client_key, m->proof, sig, klen);
        rc = sec__hash(s->mech, client_key, klen, stored);
    }
    if (rc == 0 && CRYPTO_memcmp(stored, s->cred.stored_key, klen) != 0)
        rc = -EACCES;
    if (rc == 0)
        rc = sec__hmac(s->mech, s->cred.server_key, klen, s->auth, s->auth_len, sig);
    if (rc == 0) {
        memcpy(s->out, "v=", 2);
        s->out_len = 2 + sec__b64_encode(sig, klen, s->out + 2);
    }
    sec__wipe(client_key, sizeof(client_key));
    sec__wipe(sig, sizeof(sig));
    sec__wipe(stored, sizeof(stored));
    return rc;
}

static int step_final(struct sec_scram_server *s, const uint8_t *in, size_t len,
                      struct sec_sasl_status *st)
{
    struct sec_scram_final m;
    const char *reason = NULL;
    if (sec_scram_parse_final(in, len, &m, &reason) < 0 || check_final(s, &m, &reason) < 0)
        return fail(s, KC_EMALFORMED, NULL, reason, st);
    memcpy(s->auth + s->auth_len, m.without_proof, m.without_proof_len);
    s->auth_len += m.without_proof_len;
    int rc = verify_proof(s, &m);
    if (rc == -EACCES)
        return fail(s, rc, NULL,
                    s->found ? "the proof does not match the credential (wrong password)"
                             : "no credential for this user and mechanism",
                    st);
    if (rc < 0)
        return fail(s, rc, NULL, "libcrypto failed", st);
    sec_scram_cred_wipe(&s->cred);
    sec__wipe(s->auth, sizeof(s->auth));
    s->state = ST_DONE;
    return SEC_SASL_DONE;
}

int sec_scram_server_step(struct sec_scram_server *s, const uint8_t *in, size_t in_len,
                          const uint8_t **out, size_t *out_len, struct sec_sasl_status *st)
{
    int rc;
    switch (s->state) {
    case ST_FIRST:
        rc = step_first(s, in, in_len, st);
        break;
    case ST_FINAL:
        rc = step_final(s, in, in_len, st);
        break;
    default:
        if (st) {
            st->client_message = "Unexpected SASL message: the exchange has ended";
            st->reason = s->state == ST_DONE ? "a message after the exchange completed"
                                             : "a message after the exchange failed";
        }
        return -EPROTO; /* the state stays: DONE is still authenticated, FAILED failed */
    }
    if (rc >= 0) {
        *out = (const uint8_t *)s->out;
        *out_len = s->out_len;
        if (st)
            st->client_message = st->reason = NULL;
    }
    return rc;
}

const char *sec_scram_server_user(const struct sec_scram_server *s)
{
    return s->state == ST_DONE ? s->user : NULL;
}

void sec_scram_server_free(struct sec_scram_server *s)
{
    if (!s)
        return;
    sec__wipe(s, sizeof(*s));
    free(s);
}
