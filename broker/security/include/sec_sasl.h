/*
 * sec_sasl.h - what every SASL mechanism here shares: its name, the result of a step, and
 * the two texts of a failure.
 *
 * A SASL exchange is a few opaque messages inside Kafka's SaslAuthenticate requests (or
 * the native protocol's equivalent). The broker does not look inside: it hands each
 * client message to the mechanism's server and sends back what the server answers.
 *
 *   client                               server (sec_scram_server / sec_plain)
 *     | -- SaslHandshake("SCRAM-SHA-256") ->|   pick the mechanism
 *     | -- SaslAuthenticate(client-first) ->|   step() -> SEC_SASL_CONTINUE + server-first
 *     | <-------------- server-first -------|
 *     | -- SaslAuthenticate(client-final) ->|   step() -> SEC_SASL_DONE + server-final
 *     | <-------------- server-final -------|   the connection is now User:<name>
 *
 * A failed step returns < 0 and fills a struct sec_sasl_status with two static strings:
 *
 *   client_message  what Kafka would put in SaslAuthenticateResponse.error_message. For
 *                   anything that could tell an attacker which part was wrong (unknown
 *                   user, wrong password, malformed message) it is Kafka's one generic
 *                   sentence naming only the mechanism; the few precise ones are Kafka's
 *                   own precise ones (an authzid that is not the user name).
 *   reason          what failed, for the broker's log. Never a password, key, proof or
 *                   salt; it may say "no credential for this user" (the log is the
 *                   operator's, not the client's).
 *
 * Error codes of a step (the adapter maps them to Kafka's SASL_AUTHENTICATION_FAILED (58)
 * or ILLEGAL_SASL_STATE (34), and closes the connection after sending the response):
 *   -EACCES         authentication failed: wrong password, unknown user or mechanism
 *   -EPERM          the client asked for an authorization id other than its user name
 *   KC_EMALFORMED   the message does not parse (truncated, attributes missing or out of
 *                   order, bad base64, nonce mismatch, channel binding requested, ...)
 *   KC_EUNSUPPORTED a valid request for something not offered (delegation tokens)
 *   -EPROTO         a message after the exchange ended (or after it failed)
 */
#ifndef SEC_SASL_H
#define SEC_SASL_H

#include <stddef.h>
#include <stdint.h>

/* Results of a successful step. */
enum sec_sasl_rc {
    SEC_SASL_CONTINUE = 0, /* send the output; the client has another message to send */
    SEC_SASL_DONE = 1,     /* send the output (possibly empty); the client is authenticated */
};

/* SASL mechanisms offered, with the names SaslHandshake carries. */
enum sec_sasl_mech {
    SEC_SASL_PLAIN = 0,
    SEC_SASL_SCRAM_SHA_256 = 1, /* = Kafka's ScramMechanism type code */
    SEC_SASL_SCRAM_SHA_512 = 2,
};

struct sec_sasl_status {
    const char *client_message; /* static text; NULL after success */
    const char *reason;         /* static text for the log; NULL after success */
};

/* Longest user name accepted by any mechanism or stored (bytes, UTF-8). RFC 4616 asks for
 * at least 255. */
#define SEC_USER_MAX 1024

/* "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"; NULL for anything else. */
const char *sec_sasl_mech_name(int mech);
/* Exact, case-sensitive name as Kafka matches it: 0 and *out, or -ENOENT. */
int sec_sasl_mech_parse(const char *name, enum sec_sasl_mech *out);

/* Kafka's generic failure text for mech: "Authentication failed during authentication due
 * to invalid credentials with SASL mechanism SCRAM-SHA-256". Static. */
const char *sec_sasl_generic_failure(enum sec_sasl_mech mech);

#endif
