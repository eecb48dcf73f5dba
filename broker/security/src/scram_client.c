/*
 * scram_client.c - the client side of SCRAM, as Kafka's ScramSaslClient does it: no
 * authzid, no channel binding (c=biws is base64 of "n,,"), no extensions.
 *
 * The tests drive the server with it (and with kafka-python's client, an independent
 * implementation); the CLI will use it for its SASL options.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kc_err.h"
#include "sec_int.h"
#include "sec_params.h"
#include "sec_scram.h"

#define CLIENT_MSG_MAX (2 * SEC_SASL_MSG_MAX)

struct sec_scram_client {
    enum sec_sasl_mech mech;
    char *user, *password;
    size_t first_len, final_len, auth_len;
    char cnonce[64];
    uint8_t server_sig[SEC_SCRAM_KEY_MAX];
    char first[CLIENT_MSG_MAX];
    char final[CLIENT_MSG_MAX];
    char auth[3 * CLIENT_MSG_MAX];
};

int sec_scram_client_new(enum sec_sasl_mech mech, const char *user, const char *password,
                         struct sec_scram_client **out)
{
    if (!sec_scram_is_scram(mech) || !user || !password || !*user)
        return -EINVAL;
    struct sec_scram_client *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->mech = mech;
    c->user = strdup(user);
    c->password = strdup(password);
    uint8_t raw[SEC_SCRAM_SNONCE_BYTES];
    int rc = c->user && c->password ? sec__random(raw, sizeof(raw)) : -ENOMEM;
    if (rc < 0) {
        sec_scram_client_free(c);
        return rc;
    }
    sec__b64_encode(raw, sizeof(raw), c->cnonce);
    *out = c;
    return 0;
}

void sec__scram_client_set_nonce(struct sec_scram_client *c, const char *nonce)
{
    snprintf(c->cnonce, sizeof(c->cnonce), "%s", nonce);
}

int sec_scram_client_first(struct sec_scram_client *c, const uint8_t **out, size_t *out_len)
{
    char name[SEC_SASL_MSG_MAX];
    if (sec__saslname_escape(c->user, name, sizeof(name)) < 0)
        return -ENOSPC;
    int n = snprintf(c->first, sizeof(c->first), "n,,n=%s,r=%s", name, c->cnonce);
    if (n < 0 || (size_t)n >= sizeof(c->first))
        return -ENOSPC;
    c->first_len = (size_t)n;
    *out = (const uint8_t *)c->first;
    *out_len = c->first_len;
    return 0;
}

/* server-first: "r=<nonce>,s=<salt>,i=<iterations>[,ext]*". */
struct server_first {
    const char *nonce;
    size_t nonce_len;
    uint8_t salt[SEC_SCRAM_SALT_MAX];
    size_t salt_len;
    uint32_t iterations;
};

static int parse_server_first(const char *p, const char *end, struct server_first *sf)
{
    const char *comma;
    if (end - p < 2 || memcmp(p, "r=", 2) != 0 || !(comma = memchr(p, ',', (size_t)(end - p))))
        return KC_EMALFORMED;
    sf->nonce = p + 2;
    sf->nonce_len = (size_t)(comma - sf->nonce);
    p = comma + 1;
    if (end - p < 2 || memcmp(p, "s=", 2) != 0 || !(comma = memchr(p, ',', (size_t)(end - p))))
        return KC_EMALFORMED;
    int n = sec__b64_decode(p + 2, (size_t)(comma - p - 2), sf->salt, sizeof(sf->salt));
    if (n <= 0)
        return KC_EMALFORMED;
    sf->salt_len = (size_t)n;
    p = comma + 1;
    if (end - p < 3 || memcmp(p, "i=", 2) != 0)
        return KC_EMALFORMED;
    uint64_t it = 0;
    for (p += 2; p < end && *p != ','; p++) {
        if (*p < '0' || *p > '9' || it > SEC_SCRAM_ITER_MAX)
            return KC_EMALFORMED;
        it = it * 10 + (uint64_t)(*p - '0');
    }
    if (it == 0 || it > SEC_SCRAM_ITER_MAX)
        return -EINVAL; /* a server asking for more work than Kafka ever stores */
    sf->iterations = (uint32_t)it;
    return 0;
}

/* The proof and the expected server signature, from the password and server-first. */
static int compute(struct sec_scram_client *c, const struct server_first *sf, uint8_t *proof)
{
    size_t klen = sec_scram_key_len(c->mech);
    uint8_t salted[SEC_SCRAM_KEY_MAX], ck[SEC_SCRAM_KEY_MAX], sk[SEC_SCRAM_KEY_MAX];
    uint8_t sig[SEC_SCRAM_KEY_MAX];
    int rc = sec_scram_salted_password(c->mech, c->password, strlen(c->password), sf->salt,
                                       sf->salt_len, sf->iterations, salted);
    if (rc == 0)
        rc = sec__hmac(c->mech, salted, klen, "Client Key", 10, ck);
    if (rc == 0)
        rc = sec__hash(c->mech, ck, klen, sk);
    if (rc == 0)
        rc = sec__hmac(c->mech, sk, klen, c->auth, c->auth_len, sig);
    if (rc == 0) {
        sec__xor(proof, ck, sig, klen);
        rc = sec__hmac(c->mech, salted, klen, "Server Key", 10, sk);
    }
    if (rc == 0)
        rc = sec__hmac(c->mech, sk, klen, c->auth, c->auth_len, c->server_sig);
    sec__wipe(salted, sizeof(salted));
    sec__wipe(ck, sizeof(ck));
    sec__wipe(sk, sizeof(sk));
    return rc;
}

int sec_scram_client_final(struct sec_scram_client *c, const uint8_t *in, size_t in_len,
                           const uint8_t **out, size_t *out_len)
{
    struct server_first sf;
    const char *p = (const char *)in;
    size_t cn = strlen(c->cnonce);
    if (c->first_len == 0 || in_len > SEC_SASL_MSG_MAX)
        return KC_EMALFORMED;
    int rc = parse_server_first(p, p + in_len, &sf);
    if (rc < 0)
        return rc;
    if (sf.nonce_len <= cn || memcmp(sf.nonce, c->cnonce, cn) != 0)
        return KC_EMALFORMED; /* the server's nonce must extend ours */
    int n = snprintf(c->final, sizeof(c->final), "c=biws,r=%.*s", (int)sf.nonce_len, sf.nonce);
    int a =
        snprintf(c->auth, sizeof(c->auth), "%s,%.*s,%s", c->first + 3, (int)in_len, p, c->final);
    if (n < 0 || a < 0 || (size_t)a >= sizeof(c->auth))
        return -ENOSPC;
    c->auth_len = (size_t)a;
    uint8_t proof[SEC_SCRAM_KEY_MAX];
    rc = compute(c, &sf, proof);
    if (rc < 0)
        return rc;
    size_t klen = sec_scram_key_len(c->mech);
    memcpy(c->final + n, ",p=", 3);
    c->final_len = (size_t)n + 3 + sec__b64_encode(proof, klen, c->final + n + 3);
    *out = (const uint8_t *)c->final;
    *out_len = c->final_len;
    return 0;
}

int sec_scram_client_verify(struct sec_scram_client *c, const uint8_t *in, size_t in_len)
{
    const char *p = (const char *)in;
    uint8_t sig[SEC_SCRAM_KEY_MAX];
    size_t klen = sec_scram_key_len(c->mech);
    if (c->final_len == 0 || in_len < 2)
        return KC_EMALFORMED;
    if (memcmp(p, "e=", 2) == 0)
        return -EACCES;
    const char *end = memchr(p, ',', in_len);
    size_t vlen = (size_t)((end ? end : p + in_len) - p);
    if (memcmp(p, "v=", 2) != 0)
        return KC_EMALFORMED;
    int n = sec__b64_decode(p + 2, vlen - 2, sig, sizeof(sig));
    if (n < 0)
        return KC_EMALFORMED;
    if ((size_t)n != klen || CRYPTO_memcmp(sig, c->server_sig, klen) != 0)
        return -EACCES;
    return 0;
}

void sec_scram_client_free(struct sec_scram_client *c)
{
    if (!c)
        return;
    if (c->password)
        sec__wipe(c->password, strlen(c->password));
    free(c->password);
    free(c->user);
    sec__wipe(c, sizeof(*c));
    free(c);
}
