/*
 * sec_int.h - broker/security's internals: base64, the escaping of names in files, the
 * durable text files both stores use, randomness and wiping, and the test hooks.
 * Nothing outside broker/security/src and broker/security/tests includes this.
 */
#ifndef SEC_INT_H
#define SEC_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sec_acl.h"
#include "sec_cred.h"
#include "sec_scram.h"

/* ---- base64 (b64.c): RFC 4648's standard alphabet, '=' padding, strict --------------- */

/* Characters base64 of n bytes takes (without the NUL); a constant expression. */
#define sec__b64_len(n) (((n) + 2) / 3 * 4)
/* Encode n bytes into out (sec__b64_len(n) + 1 bytes, NUL-terminated); returns the length. */
size_t sec__b64_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly len characters: the byte count, KC_EMALFORMED (a character outside the
 * alphabet, a length not a multiple of 4, misplaced '=', non-zero padding bits), or
 * -ENOSPC if it decodes to more than cap bytes. out may be NULL with cap SIZE_MAX, to
 * validate only. */
int sec__b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* ---- names in files (secfile.c): bytes outside 0x21..0x7e, and '%', as %XX ----------- */

/* Append the escaped form of s[0..len) to t. */
struct sec__text;
int sec__text_put_escaped(struct sec__text *t, const char *s, size_t len);
/* Unescape in[0..len) into a new malloc'ed NUL-terminated string: 0, KC_EMALFORMED (a bad
 * escape, an escaped NUL, a byte that should have been escaped), -ENOMEM. */
int sec__unescape(const char *in, size_t len, char **out);

/* ---- message parsing helpers (scram_msg.c) -------------------------------------------- */

/* true if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF) without a NUL. */
bool sec__utf8_valid(const char *s, size_t len);
/* Escape a user name as a saslname ("," -> "=2C", "=" -> "=3D") into out[cap], NUL-
 * terminated: the length, or -ENOSPC. */
int sec__saslname_escape(const char *user, char *out, size_t cap);

/* ---- randomness and wiping (scram_crypto.c) ------------------------------------------- */

int sec__random(void *buf, size_t n); /* RAND_bytes: 0 or -EIO */
void sec__wipe(void *p, size_t n);    /* OPENSSL_cleanse: not optimised away */
/* HMAC with the mechanism's hash (mech SCRAM) or SHA-256 (mech 0). 0 or -EIO. */
int sec__hmac(int mech, const void *key, size_t key_len, const void *msg, size_t msg_len,
              uint8_t *out);
/* out = H(in) with the mechanism's hash. 0 or -EIO. */
int sec__hash(int mech, const void *in, size_t len, uint8_t *out);
/* ClientSignature, ServerSignature, ClientProof arithmetic: out = a XOR b over n bytes. */
void sec__xor(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n);

/* ---- durable text files (secfile.c) --------------------------------------------------- */

/* A growing text buffer; wiped when freed (the credential file holds keys). */
struct sec__text {
    char *buf;
    size_t len, cap;
};
void sec__text_free(struct sec__text *t);
int sec__text_printf(struct sec__text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int sec__text_put(struct sec__text *t, const char *s, size_t len);

/* Called between writing+fsyncing the temporary file and the rename (tests kill the
 * process there). */
struct sec__hook {
    void (*fn)(void *arg);
    void *arg;
};

/*
 * Commit t as the file at path: append the trailer "end <entries> crc32c=<hex>\n", write
 * path.tmp with mode 0600, fsync it, (hook), rename over path, fsync the directory.
 * 0 or -errno. t keeps its contents (plus the trailer).
 */
int sec__file_commit(const char *path, struct sec__text *t, size_t entries,
                     const struct sec__hook *hook);

/*
 * Load the file at path and check its frame: first line exactly `header`, last line
 * "end <n> crc32c=<hex>" whose CRC covers everything before it. On success *body points
 * at the first line after the header (in a malloc'ed buffer *buf, NUL-terminated), *body_len
 * covers the lines up to the trailer, *entries is n. -ENOENT if there is no file,
 * KC_ECORRUPT (with the reason logged) if the frame is wrong, -errno.
 */
int sec__file_load(const char *path, const char *header, char **buf, const char **body,
                   size_t *body_len, size_t *entries);

/* Split the next line off [*p, end): its start and length (without '\n'); false at end. A
 * last line without '\n' is returned too. */
bool sec__next_line(const char **p, const char *end, const char **line, size_t *len);
/* Split the next space-separated field off a line; false if none is left. */
bool sec__next_field(const char **p, const char *end, const char **field, size_t *len);

/* ---- test hooks ----------------------------------------------------------------------- */

/* Use this server nonce instead of a random one (RFC 7677's test vector fixes it). */
void sec__scram_server_set_nonce(struct sec_scram_server *s, const char *nonce);
/* Use this client nonce instead of a random one. */
void sec__scram_client_set_nonce(struct sec_scram_client *c, const char *nonce);
/* Run hook between the temporary file and the rename of the next commits. */
void sec__cred_store_set_hook(struct sec_cred_store *st, const struct sec__hook *hook);
void sec__authorizer_set_hook(struct sec_authorizer *a, const struct sec__hook *hook);

/* The ACL semantics in one place (acl_types.c), shared by the index and the filters. */
bool sec__acl_known(int resource_type, int pattern_type, int operation, int permission);
/* NULL if acl is valid to create, else Kafka's message. */
const char *sec__acl_invalid(const struct sec_acl *acl);
/* NULL if filter has no UNKNOWN part, else Kafka's message. */
const char *sec__filter_invalid(const struct sec_acl_filter *filter);
/* Does an entry with (op, perm) decide the operation asked? (Kafka's findResult, without
 * the principal and host.) 0: no; else the permission it gives. */
int sec__acl_op_decides(int acl_op, int acl_perm, int asked);

#endif
