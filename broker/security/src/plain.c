/*
 * plain.c - SASL PLAIN on the SCRAM credential store.
 *
 *   "[authzid]\0authcid\0passwd"  ->  split on the two NULs (exactly two)
 *                                 ->  credential of authcid (real or fake, same cost)
 *                                 ->  Hi(passwd, salt, i) -> ClientKey -> H() == StoredKey ?
 *                                 ->  authzid empty or == authcid
 *
 * Which credential: SCRAM-SHA-256 if the user has one, else SCRAM-SHA-512. SHA-256 is the
 * cheaper PBKDF2 on 64-bit CPUs at the same iteration count (the README has both figures);
 * a user with either can log in with PLAIN. An unknown user is checked against the fake
 * SCRAM-SHA-256 credential, so a miss costs one full PBKDF2 like a hit (a user whose only
 * credential has more iterations than the default takes longer: that much is visible).
 *
 * Kafka's order of checks and texts (PlainSaslServer): malformed -> generic sentence;
 * empty user name or password -> generic; bad credentials -> "Invalid username or
 * password"; only then the authzid.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kc_err.h"
#include "sec_cred.h"
#include "sec_int.h"
#include "sec_params.h"
#include "sec_plain.h"

static int malformed(const char **reason, const char *why)
{
    if (reason)
        *reason = why;
    return KC_EMALFORMED;
}

int sec_plain_parse(const uint8_t *in, size_t len, struct sec_plain_msg *m, const char **reason)
{
    const char *p = (const char *)in, *end = p + len;
    if (len > SEC_SASL_MSG_MAX)
        return malformed(reason, "the message is longer than the longest accepted");
    const char *nul1 = memchr(p, 0, len);
    const char *nul2 = nul1 ? memchr(nul1 + 1, 0, (size_t)(end - nul1 - 1)) : NULL;
    if (!nul2 || memchr(nul2 + 1, 0, (size_t)(end - nul2 - 1)))
        return malformed(reason, "the message does not have exactly two NUL separators");
    m->authzid = p;
    m->authzid_len = (size_t)(nul1 - p);
    m->user = nul1 + 1;
    m->user_len = (size_t)(nul2 - nul1 - 1);
    m->password = nul2 + 1;
    m->password_len = (size_t)(end - nul2 - 1);
    if (m->user_len == 0)
        return malformed(reason, "the user name is empty");
    if (m->password_len == 0)
        return malformed(reason, "the password is empty");
    if (m->user_len > SEC_USER_MAX || m->authzid_len > SEC_USER_MAX)
        return malformed(reason, "a name is longer than the longest accepted");
    if (!sec__utf8_valid(m->authzid, m->authzid_len) || !sec__utf8_valid(m->user, m->user_len) ||
        !sec__utf8_valid(m->password, m->password_len))
        return malformed(reason, "a field is not UTF-8");
    return 0;
}

/* The credential PLAIN checks: SHA-256's, else SHA-512's, else the fake SHA-256 one. The
 * fake is computed every time, so a hit and a miss cost the same here too. */
static bool plain_cred(struct sec_cred_store *st, const char *user, struct sec_scram_cred *c)
{
    struct sec_scram_cred fake;
    sec_cred_store_fake(st, SEC_SASL_SCRAM_SHA_256, user, &fake);
    bool found = sec_cred_store_get(st, SEC_SASL_SCRAM_SHA_256, user, c) == 0 ||
                 sec_cred_store_get(st, SEC_SASL_SCRAM_SHA_512, user, c) == 0;
    if (!found)
        *c = fake;
    sec_scram_cred_wipe(&fake);
    return found;
}

/* Recompute StoredKey from the password and compare in constant time: 0, -EACCES, -EIO. */
static int check_password(const struct sec_scram_cred *c, const struct sec_plain_msg *m)
{
    size_t klen = sec_scram_key_len(c->mech);
    uint8_t salted[SEC_SCRAM_KEY_MAX], ck[SEC_SCRAM_KEY_MAX], sk[SEC_SCRAM_KEY_MAX];
    int rc = sec_scram_salted_password(c->mech, m->password, m->password_len, c->salt, c->salt_len,
                                       c->iterations, salted);
    if (rc == 0)
        rc = sec__hmac(c->mech, salted, klen, "Client Key", 10, ck);
    if (rc == 0)
        rc = sec__hash(c->mech, ck, klen, sk);
    if (rc == 0 && CRYPTO_memcmp(sk, c->stored_key, klen) != 0)
        rc = -EACCES;
    sec__wipe(salted, sizeof(salted));
    sec__wipe(ck, sizeof(ck));
    sec__wipe(sk, sizeof(sk));
    return rc;
}

static int plain_fail(struct sec_sasl_status *st, int rc, const char *client, const char *why)
{
    if (st) {
        st->client_message = client ? client : sec_sasl_generic_failure(SEC_SASL_PLAIN);
        st->reason = why;
    }
    return rc;
}

int sec_plain_authenticate(struct sec_cred_store *store, const uint8_t *in, size_t len, char *user,
                           struct sec_sasl_status *st)
{
    struct sec_plain_msg m;
    struct sec_scram_cred cred;
    char name[SEC_USER_MAX + 1];
    const char *why = NULL;
    if (sec_plain_parse(in, len, &m, &why) < 0)
        return plain_fail(st, KC_EMALFORMED, NULL, why);
    memcpy(name, m.user, m.user_len);
    name[m.user_len] = '\0';
    bool found = plain_cred(store, name, &cred);
    int rc = check_password(&cred, &m);
    sec_scram_cred_wipe(&cred);
    if (rc == -EACCES)
        return plain_fail(st, rc, "Authentication failed: Invalid username or password",
                          found ? "the password does not match the credential"
                                : "no SCRAM credential for this user");
    if (rc < 0)
        return plain_fail(st, rc, NULL, "libcrypto failed");
    if (m.authzid_len && (m.authzid_len != m.user_len || memcmp(m.authzid, m.user, m.user_len)))
        return plain_fail(st, -EPERM,
                          "Authentication failed: Client requested an authorization id that "
                          "is different from username",
                          "the authzid is not the user name");
    memcpy(user, name, m.user_len + 1);
    if (st)
        st->client_message = st->reason = NULL;
    return SEC_SASL_DONE;
}
