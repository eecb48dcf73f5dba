/*
 * sec_params.h - broker/security's tunables and limits, in one place.
 */
#ifndef SEC_PARAMS_H
#define SEC_PARAMS_H

/* A SASL message (SCRAM client-first, client-final, PLAIN) longer than this is refused
 * before it is parsed. Real ones are under 300 bytes; Kafka bounds them only by the
 * request size. 4 KiB leaves room for long names and a few extensions. */
#define SEC_SASL_MSG_MAX 4096

/* The server's part of the SCRAM nonce: random bytes, sent base64-encoded (24 -> 32
 * characters). RFC 5802 asks for "sufficiently random"; Kafka sends 130 random bits. */
#define SEC_SCRAM_SNONCE_BYTES 24

/* Salt of a credential created here from a password: random bytes. (Kafka's are the ASCII
 * of a 130-bit random number in base 36, about 26 bytes; any length is accepted from an
 * AlterUserScramCredentials request or --add-scram, up to SEC_SCRAM_SALT_MAX.) */
#define SEC_SCRAM_SALT_BYTES 32

/* The key that derives the fake credential of an unknown user (see scram_server.c). */
#define SEC_SECRET_BYTES 32

/* The credential and ACL files are small; refuse to load anything bigger than this. */
#define SEC_FILE_MAX ((size_t)64 << 20)

/* The authorizer's hash table is kept at most this full (numerator / 4). */
#define SEC_ACL_LOAD_NUM 3

#endif
