/*
 * scram_crypto.c - the arithmetic of SCRAM on libcrypto: Hi (PBKDF2), HMAC, H, and the
 * credential a password turns into.
 *
 *   password, salt, i ──Hi──> SaltedPassword ──HMAC "Client Key"──> ClientKey ──H──> StoredKey
 *                                   └────────HMAC "Server Key"──> ServerKey
 *
 * Hi(str, salt, i) is PBKDF2-HMAC-H with one output block (RFC 5802 section 2.2), so
 * OpenSSL's PKCS5_PBKDF2_HMAC computes it, with dkLen = the digest length.
 *
 * Secrets: every intermediate (salted password, client key) lives on the stack of one
 * function and is wiped with OPENSSL_cleanse before it returns.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "kc_err.h"
#include "sec_int.h"
#include "sec_params.h"
#include "sec_scram.h"

const char *sec_sasl_mech_name(int mech)
{
    switch (mech) {
    case SEC_SASL_PLAIN:
        return "PLAIN";
    case SEC_SASL_SCRAM_SHA_256:
        return "SCRAM-SHA-256";
    case SEC_SASL_SCRAM_SHA_512:
        return "SCRAM-SHA-512";
    default:
        return NULL;
    }
}

int sec_sasl_mech_parse(const char *name, enum sec_sasl_mech *out)
{
    for (int m = SEC_SASL_PLAIN; m <= SEC_SASL_SCRAM_SHA_512; m++) {
        if (strcmp(name, sec_sasl_mech_name(m)) == 0) {
            *out = (enum sec_sasl_mech)m;
            return 0;
        }
    }
    return -ENOENT;
}

const char *sec_sasl_generic_failure(enum sec_sasl_mech mech)
{
    switch (mech) {
    case SEC_SASL_SCRAM_SHA_256:
        return "Authentication failed during authentication due to invalid credentials "
               "with SASL mechanism SCRAM-SHA-256";
    case SEC_SASL_SCRAM_SHA_512:
        return "Authentication failed during authentication due to invalid credentials "
               "with SASL mechanism SCRAM-SHA-512";
    default:
        return "Authentication failed during authentication due to invalid credentials "
               "with SASL mechanism PLAIN";
    }
}

bool sec_scram_is_scram(int mech)
{
    return mech == SEC_SASL_SCRAM_SHA_256 || mech == SEC_SASL_SCRAM_SHA_512;
}

size_t sec_scram_key_len(int mech)
{
    return mech == SEC_SASL_SCRAM_SHA_256 ? 32 : mech == SEC_SASL_SCRAM_SHA_512 ? 64 : 0;
}

/* SHA-512 for SCRAM-SHA-512; SHA-256 for SCRAM-SHA-256 and for the store's own HMACs. */
static const EVP_MD *md_of(int mech)
{
    return mech == SEC_SASL_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

int sec__random(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

void sec__wipe(void *p, size_t n)
{
    if (p)
        OPENSSL_cleanse(p, n);
}

int sec__hmac(int mech, const void *key, size_t key_len, const void *msg, size_t msg_len,
              uint8_t *out)
{
    unsigned int n = 0;
    if (key_len > INT32_MAX)
        return -EINVAL;
    return HMAC(md_of(mech), key, (int)key_len, msg, msg_len, out, &n) ? 0 : -EIO;
}

int sec__hash(int mech, const void *in, size_t len, uint8_t *out)
{
    return EVP_Digest(in, len, out, NULL, md_of(mech), NULL) == 1 ? 0 : -EIO;
}

void sec__xor(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] ^ b[i];
}

int sec_scram_salted_password(enum sec_sasl_mech mech, const void *password, size_t password_len,
                              const uint8_t *salt, size_t salt_len, uint32_t iterations,
                              uint8_t *out)
{
    size_t klen = sec_scram_key_len(mech);
    if (klen == 0 || iterations == 0 || iterations > INT32_MAX || password_len > INT32_MAX ||
        salt_len > INT32_MAX)
        return -EINVAL;
    int ok = PKCS5_PBKDF2_HMAC(password, (int)password_len, salt, (int)salt_len, (int)iterations,
                               md_of(mech), (int)klen, out);
    return ok == 1 ? 0 : -EIO;
}

int sec_scram_cred_from_salted(enum sec_sasl_mech mech, const uint8_t *salted, size_t salted_len,
                               const uint8_t *salt, size_t salt_len, uint32_t iterations,
                               struct sec_scram_cred *out)
{
    size_t klen = sec_scram_key_len(mech);
    if (klen == 0 || salt_len == 0 || salt_len > SEC_SCRAM_SALT_MAX)
        return -EINVAL;
    uint8_t client_key[SEC_SCRAM_KEY_MAX];
    struct sec_scram_cred c = {.mech = mech, .iterations = iterations, .salt_len = salt_len};
    memcpy(c.salt, salt, salt_len);
    int rc = sec__hmac(mech, salted, salted_len, "Client Key", 10, client_key);
    if (rc == 0)
        rc = sec__hash(mech, client_key, klen, c.stored_key);
    if (rc == 0)
        rc = sec__hmac(mech, salted, salted_len, "Server Key", 10, c.server_key);
    if (rc == 0)
        *out = c;
    sec__wipe(client_key, sizeof(client_key));
    sec__wipe(&c, sizeof(c));
    return rc;
}

int sec_scram_cred_make(enum sec_sasl_mech mech, const void *password, size_t password_len,
                        const uint8_t *salt, size_t salt_len, uint32_t iterations,
                        struct sec_scram_cred *out)
{
    uint8_t salted[SEC_SCRAM_KEY_MAX];
    if (salt_len == 0 || salt_len > SEC_SCRAM_SALT_MAX)
        return -EINVAL;
    int rc =
        sec_scram_salted_password(mech, password, password_len, salt, salt_len, iterations, salted);
    if (rc == 0)
        rc = sec_scram_cred_from_salted(mech, salted, sec_scram_key_len(mech), salt, salt_len,
                                        iterations, out);
    sec__wipe(salted, sizeof(salted));
    return rc;
}

int sec_scram_cred_from_password(enum sec_sasl_mech mech, const void *password, size_t password_len,
                                 uint32_t iterations, struct sec_scram_cred *out)
{
    uint8_t salt[SEC_SCRAM_SALT_BYTES];
    int rc = sec__random(salt, sizeof(salt));
    if (rc == 0)
        rc = sec_scram_cred_make(mech, password, password_len, salt, sizeof(salt), iterations, out);
    return rc;
}

void sec_scram_cred_wipe(struct sec_scram_cred *cred)
{
    sec__wipe(cred, sizeof(*cred));
}
