/*
 * sec_scram.h - SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka speaks them.
 *
 * SCRAM proves that the client knows a password without sending it, and lets the server
 * keep only values it cannot log in with. From a password and a random salt:
 *
 *   SaltedPassword = Hi(password, salt, i)         PBKDF2-HMAC-H, i iterations (>= 4096)
 *   ClientKey      = HMAC(SaltedPassword, "Client Key")
 *   StoredKey      = H(ClientKey)                   <- stored
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")  <- stored
 *
 * The exchange (the server's side is sec_scram_server):
 *
 *   C: n,,n=alice,r=<cnonce>                        client-first  (gs2 header "n,,")
 *   S: r=<cnonce><snonce>,s=<base64 salt>,i=4096    server-first
 *   C: c=biws,r=<cnonce><snonce>,p=<base64 ClientProof>          client-final
 *   S: v=<base64 ServerSignature>                   server-final
 *
 *   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
 *   ClientSignature = HMAC(StoredKey, AuthMessage)
 *   ClientProof     = ClientKey XOR ClientSignature            (sent by the client)
 *   server checks     H(ClientProof XOR ClientSignature) == StoredKey   (constant time)
 *   ServerSignature = HMAC(ServerKey, AuthMessage)             (proves the server knew it)
 *
 * What is accepted, as Kafka's ScramSaslServer and ScramMessages accept it:
 *  - gs2 header "n,," or "n,a=<authzid>,"; the authzid, when present, must equal the user
 *    name (-EPERM). "p=" and "y=" (channel binding) are refused: KC_EMALFORMED.
 *  - names use RFC 5802's saslname escapes: "=2C" is ',' and "=3D" is '='; any other '='
 *    is malformed. No SASLprep (Kafka does none either): names and passwords are bytes.
 *  - extensions after the nonce ("k=v", k alphabetic) are ignored, except Kafka's
 *    "tokenauth=true" (delegation token authentication), which is refused with
 *    KC_EUNSUPPORTED: this broker has no delegation tokens.
 *  - client-final: c= must be the base64 of the gs2 header exactly, r= must equal the
 *    combined nonce, p= must decode to a proof as long as the hash.
 * Stricter than Kafka (each says why in scram_msg.c): the reserved "m=" attribute is
 * refused, as RFC 5802 requires (Kafka ignores it); c= is checked (Kafka takes it as sent).
 *
 * Iterations: Kafka's bounds, 4096 <= i <= 16384 (ScramMechanism.minIterations /
 * maxIterations), 4096 by default.
 */
#ifndef SEC_SCRAM_H
#define SEC_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sec_sasl.h"

#define SEC_SCRAM_ITER_MIN     4096
#define SEC_SCRAM_ITER_MAX     16384
#define SEC_SCRAM_ITER_DEFAULT 4096
#define SEC_SCRAM_KEY_MAX      64  /* SHA-512's digest; SHA-256's is 32 */
#define SEC_SCRAM_SALT_MAX     256 /* longest salt stored or accepted */

/* One user's credential for one mechanism: what the store keeps. No password, and
 * nothing a client could present to log in. */
struct sec_scram_cred {
    enum sec_sasl_mech mech; /* SEC_SASL_SCRAM_SHA_256 or SEC_SASL_SCRAM_SHA_512 */
    uint32_t iterations;
    size_t salt_len;
    uint8_t salt[SEC_SCRAM_SALT_MAX];
    uint8_t stored_key[SEC_SCRAM_KEY_MAX]; /* sec_scram_key_len(mech) bytes used */
    uint8_t server_key[SEC_SCRAM_KEY_MAX];
};

/* true for the two SCRAM mechanisms. */
bool sec_scram_is_scram(int mech);
/* Digest length of mech's hash: 32 or 64; 0 if mech is not SCRAM. */
size_t sec_scram_key_len(int mech);

/* Hi(password, salt, iterations) into out[sec_scram_key_len(mech)]. 0, or -EINVAL (not a
 * SCRAM mech, iterations 0), or -EIO if libcrypto fails. Costs `iterations` HMACs. */
int sec_scram_salted_password(enum sec_sasl_mech mech, const void *password, size_t password_len,
                              const uint8_t *salt, size_t salt_len, uint32_t iterations,
                              uint8_t *out);

/* A credential from a salted password (what AlterUserScramCredentials carries): derive
 * StoredKey and ServerKey. The salted password may have any length (it is an HMAC key).
 * 0, or -EINVAL (salt empty or longer than SEC_SCRAM_SALT_MAX, not SCRAM), -EIO.
 * Iterations are stored as given: bounds are the caller's policy (sec_cred_store_apply
 * enforces Kafka's). */
int sec_scram_cred_from_salted(enum sec_sasl_mech mech, const uint8_t *salted, size_t salted_len,
                               const uint8_t *salt, size_t salt_len, uint32_t iterations,
                               struct sec_scram_cred *out);

/* A credential from a password and a given salt (Hi, then as above). */
int sec_scram_cred_make(enum sec_sasl_mech mech, const void *password, size_t password_len,
                        const uint8_t *salt, size_t salt_len, uint32_t iterations,
                        struct sec_scram_cred *out);

/* A credential from a password with a fresh random salt of SEC_SCRAM_SALT_BYTES (OpenSSL's
 * RAND_bytes, seeded by getrandom). -EIO if no randomness can be had. */
int sec_scram_cred_from_password(enum sec_sasl_mech mech, const void *password, size_t password_len,
                                 uint32_t iterations, struct sec_scram_cred *out);

/* Overwrite a credential (or any secret) so that no copy lingers in freed memory. */
void sec_scram_cred_wipe(struct sec_scram_cred *cred);

/* ---- the server: one object per authentication --------------------------------------- */

struct sec_scram_server;
struct sec_cred_store;

/*
 * A server for one exchange with mech, reading credentials from store (which must outlive
 * it). 0, or -EINVAL (mech is not SCRAM), -ENOMEM.
 * Thread: one exchange belongs to one connection, one thread at a time; the store is
 * shared and thread-safe.
 */
int sec_scram_server_new(enum sec_sasl_mech mech, struct sec_cred_store *store,
                         struct sec_scram_server **out);

/*
 * Feed the client's next message. On success returns SEC_SASL_CONTINUE (server-first in
 * *out) or SEC_SASL_DONE (server-final in *out); *out points into the server and stays
 * valid until the next step or free. On failure returns < 0 (see sec_sasl.h), fills *st,
 * and every later step returns -EPROTO. st may be NULL.
 *
 * An unknown user, or a user without a credential for this mechanism, is indistinguishable
 * from a wrong password: the exchange goes on with a fake credential (a salt derived from
 * the store's secret and the name, so it is the same on every attempt) and fails at the
 * proof, with the same message, after the same work.
 */
int sec_scram_server_step(struct sec_scram_server *s, const uint8_t *in, size_t in_len,
                          const uint8_t **out, size_t *out_len, struct sec_sasl_status *st);

/* The authenticated user name (NUL-terminated) after SEC_SASL_DONE, else NULL. Valid
 * until sec_scram_server_free. The principal is "User:" + this name. */
const char *sec_scram_server_user(const struct sec_scram_server *s);

/* Wipe every key and message the exchange held, and free. NULL is fine. */
void sec_scram_server_free(struct sec_scram_server *s);

/* ---- the client: tests, the demo, and the CLI's --sasl options ----------------------- */

struct sec_scram_client;

/* A client for user/password with mech; copies both (the copy is wiped at free). */
int sec_scram_client_new(enum sec_sasl_mech mech, const char *user, const char *password,
                         struct sec_scram_client **out);
/* client-first ("n,,n=<saslname>,r=<nonce>"); *out valid until the next call or free. */
int sec_scram_client_first(struct sec_scram_client *c, const uint8_t **out, size_t *out_len);
/* Read server-first, compute the proof: client-final in *out. KC_EMALFORMED if the server's
 * message does not parse or its nonce does not extend ours; -EINVAL for iterations outside
 * [1, SEC_SCRAM_ITER_MAX]. */
int sec_scram_client_final(struct sec_scram_client *c, const uint8_t *in, size_t in_len,
                           const uint8_t **out, size_t *out_len);
/* Check server-final: 0 if its signature proves the server knew the credential; -EACCES
 * if not, or if it carries "e=<error>"; KC_EMALFORMED if it does not parse. */
int sec_scram_client_verify(struct sec_scram_client *c, const uint8_t *in, size_t in_len);
void sec_scram_client_free(struct sec_scram_client *c);

/* ---- the parsers (pure: no store, no crypto; fuzzed) --------------------------------- */

/* A parsed client-first message. Pointers point into the input. */
struct sec_scram_first {
    const char *gs2; /* "n,," or "n,a=<authzid>,": c= in client-final must encode it */
    size_t gs2_len;
    const char *bare; /* client-first-message-bare: the start of the AuthMessage */
    size_t bare_len;
    const char *nonce; /* the client's nonce */
    size_t nonce_len;
    bool has_authzid;
    bool tokenauth; /* the extension tokenauth=true (any case), as Kafka reads it */
    size_t user_len;
    size_t authzid_len;
    char user[SEC_USER_MAX + 1];    /* unescaped, NUL-terminated */
    char authzid[SEC_USER_MAX + 1]; /* unescaped, NUL-terminated; "" when absent */
};

/* Parse a client-first message. 0, or KC_EMALFORMED with *reason set (static text). A
 * SASL message comes whole (one SaslAuthenticate), so a truncated one is malformed, not
 * "need more": a prefix is either malformed or a different, shorter valid message. */
int sec_scram_parse_first(const uint8_t *in, size_t len, struct sec_scram_first *m,
                          const char **reason);

/* A parsed client-final message. */
struct sec_scram_final {
    const char *without_proof; /* "c=...,r=...[,ext]": the end of the AuthMessage */
    size_t without_proof_len;
    const char *cbind_b64; /* the c= value, valid base64 */
    size_t cbind_b64_len;
    const char *nonce; /* the r= value */
    size_t nonce_len;
    size_t proof_len;
    uint8_t proof[SEC_SCRAM_KEY_MAX]; /* decoded p= */
};

int sec_scram_parse_final(const uint8_t *in, size_t len, struct sec_scram_final *m,
                          const char **reason);

#endif
