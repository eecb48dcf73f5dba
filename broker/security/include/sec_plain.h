/*
 * sec_plain.h - SASL PLAIN (RFC 4616), checked against the SCRAM credential store.
 *
 * One client message, no challenge:
 *
 *   [authzid] NUL authcid NUL passwd        e.g.  "\0alice\0alice-secret"
 *
 * authzid is empty or equal to authcid (Kafka refuses anything else); authcid and passwd
 * are non-empty UTF-8 without NUL. The password travels in clear (so PLAIN belongs on a
 * SASL_SSL listener) but is never stored: the broker has only SCRAM credentials, and
 * verifies a PLAIN password by recomputing what SCRAM would have stored:
 *
 *   SaltedPassword = Hi(passwd, salt, i)  of the user's SCRAM-SHA-256 credential
 *                    (SCRAM-SHA-512 if the user has only that one)
 *   H(HMAC(SaltedPassword, "Client Key")) == StoredKey ?      (constant-time compare)
 *
 * That costs one PBKDF2 per login: i HMACs (4096 by default; the README has the measured
 * time). An unknown user costs the same: the check runs on the store's fake credential.
 *
 * Kafka's PlainSaslServer keeps clear passwords in its JAAS file; here PLAIN and SCRAM
 * share one store, so `--add-scram` and AlterUserScramCredentials manage both.
 */
#ifndef SEC_PLAIN_H
#define SEC_PLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "sec_sasl.h"

struct sec_cred_store;

/* The three fields of a PLAIN message; pointers into the input, not NUL-terminated. */
struct sec_plain_msg {
    const char *authzid;
    size_t authzid_len;
    const char *user;
    size_t user_len;
    const char *password;
    size_t password_len;
};

/* Split a PLAIN message. 0, or KC_EMALFORMED with *reason (static): not exactly two NULs,
 * empty user name or password, a field longer than SEC_USER_MAX (user, authzid) or
 * SEC_SASL_MSG_MAX, bytes that are not UTF-8. Pure; fuzzed. */
int sec_plain_parse(const uint8_t *in, size_t len, struct sec_plain_msg *m, const char **reason);

/*
 * Authenticate one PLAIN message against store. SEC_SASL_DONE with the user name in
 * user[SEC_USER_MAX + 1], or < 0 (see sec_sasl.h) with *st filled:
 *   KC_EMALFORMED  the message does not parse (Kafka's generic text)
 *   -EACCES        unknown user or wrong password ("Authentication failed: Invalid
 *                  username or password", Kafka's text, the same for both)
 *   -EPERM         authzid is not the user name (checked after the password, as Kafka)
 * The copy of the password made for hashing is wiped before returning. Thread-safe.
 */
int sec_plain_authenticate(struct sec_cred_store *store, const uint8_t *in, size_t len, char *user,
                           struct sec_sasl_status *st);

#endif
