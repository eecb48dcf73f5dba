/*
 * kp_proto.h - the Kafka wire protocol's envelope: frames, headers, versions, error codes.
 *
 * Every Kafka request and response is one frame: a big-endian i32 size counting the bytes
 * after it, then a header, then a body whose layout depends on (api_key, api_version).
 *
 *   request frame                               response frame
 *   +--------+-------------------------+       +--------+----------------+------------+
 *   | size   | header v1 / v2  | body  |       | size   | correlation_id | body       |
 *   | i32    |                 |       |       | i32    | i32  (hdr v0)  |            |
 *   +--------+-------------------------+       +--------+----------------+------------+
 *
 *   header v1: api_key i16 | api_version i16 | correlation_id i32 | client_id str?
 *   header v2: header v1, then a tagged-field block (uvarint count, normally 0x00);
 *              used by "flexible" versions only. client_id keeps its i16 length.
 *   response header v1 (a tag byte after correlation_id) is for flexible responses, and
 *   never for ApiVersions; no version this library advertises is flexible, so every
 *   response it writes uses header v0.
 *
 * Versions: a client first sends ApiVersions, learns each API's [min, max] from the
 * broker, and then uses, per API, the highest version both support. kp_api_table() is the
 * table this library advertises (shared/reference/kafka-protocol.md §1.1): minimums 0
 * (librdkafka <= 2.11 checks that single old versions are *inside* the range) and maximums
 * low enough that neither librdkafka 2.0.2 nor kafkajs 2.2.4 picks a flexible version.
 *
 * What a server does with each frame (Kafka's own rules, SocketServer.scala):
 *  - kp_frame_check: need more bytes, a whole frame, or a size that is malformed / too
 *    large (close the connection).
 *  - kp_request_decode (kp_req.h) returns 0, or one of the codes below, or
 *    KC_EMALFORMED / -ENOMEM. Any non-zero result means: close the connection without a
 *    reply, as Kafka does for an unknown key, a version it does not support and a body it
 *    cannot parse. The one exception is built in: ApiVersions above our maximum decodes
 *    successfully with .fallback set, and its encoder writes Kafka's v0-format
 *    UNSUPPORTED_VERSION answer, so the client can retry with a version we know.
 *
 * Error codes: functions return 0 or a count, -errno or a KC_/KP_ code (<= -1000), as
 * everywhere in the project. Kafka's own error codes (the i16 in responses, enum
 * kp_error) are a different space: they are data, never a function's return value, except
 * where a comment says "returns a Kafka error code".
 *
 * Read next: kp_req.h (request structs and decoders), kp_resp.h (encoders), kp_group.h
 * (the group coordinator), kp_offsets.h (the __consumer_offsets record format).
 */
#ifndef KP_PROTO_H
#define KP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"

/* ---- Kafka error codes (the i16 inside responses) ------------------------------------ */

#define KP_ERRORS(X)                                                                          \
    X(KP_ERR_UNKNOWN_SERVER_ERROR, -1)                                                        \
    X(KP_ERR_NONE, 0)                                                                         \
    X(KP_ERR_OFFSET_OUT_OF_RANGE, 1)                                                          \
    X(KP_ERR_CORRUPT_MESSAGE, 2)                                                              \
    X(KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, 3)                                                   \
    X(KP_ERR_LEADER_NOT_AVAILABLE, 5)                                                         \
    X(KP_ERR_NOT_LEADER_OR_FOLLOWER, 6)                                                       \
    X(KP_ERR_REQUEST_TIMED_OUT, 7)                                                            \
    X(KP_ERR_MESSAGE_TOO_LARGE, 10)                                                           \
    X(KP_ERR_OFFSET_METADATA_TOO_LARGE, 12)                                                   \
    X(KP_ERR_COORDINATOR_NOT_AVAILABLE, 15)                                                   \
    X(KP_ERR_NOT_COORDINATOR, 16)                                                             \
    X(KP_ERR_INVALID_TOPIC_EXCEPTION, 17)                                                     \
    X(KP_ERR_RECORD_LIST_TOO_LARGE, 18)                                                       \
    X(KP_ERR_NOT_ENOUGH_REPLICAS, 19)                                                         \
    X(KP_ERR_INVALID_REQUIRED_ACKS, 21)                                                       \
    X(KP_ERR_ILLEGAL_GENERATION, 22)                                                          \
    X(KP_ERR_INCONSISTENT_GROUP_PROTOCOL, 23)                                                 \
    X(KP_ERR_INVALID_GROUP_ID, 24)                                                            \
    X(KP_ERR_UNKNOWN_MEMBER_ID, 25)                                                           \
    X(KP_ERR_INVALID_SESSION_TIMEOUT, 26)                                                     \
    X(KP_ERR_REBALANCE_IN_PROGRESS, 27)                                                       \
    X(KP_ERR_INVALID_COMMIT_OFFSET_SIZE, 28)                                                  \
    X(KP_ERR_UNSUPPORTED_VERSION, 35)                                                         \
    X(KP_ERR_TOPIC_ALREADY_EXISTS, 36)                                                        \
    X(KP_ERR_INVALID_PARTITIONS, 37)                                                          \
    X(KP_ERR_INVALID_REQUEST, 42)                                                             \
    X(KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT, 43)                                              \
    X(KP_ERR_KAFKA_STORAGE_ERROR, 56)                                                         \
    X(KP_ERR_UNSUPPORTED_COMPRESSION_TYPE, 76)                                                \
    X(KP_ERR_MEMBER_ID_REQUIRED, 79)                                                          \
    X(KP_ERR_GROUP_MAX_SIZE_REACHED, 81)                                                      \
    X(KP_ERR_INVALID_RECORD, 87)

enum kp_error {
#define KP_ERROR_ENUM(name, value) name = value,
    KP_ERRORS(KP_ERROR_ENUM)
#undef KP_ERROR_ENUM
};

/* Kafka's name for a Kafka error code ("REBALANCE_IN_PROGRESS"); "UNKNOWN" if not listed. */
const char *kp_error_name(int16_t code);

/* Library return codes are the project's one table (kc_err.h, kc_strerror): besides
 * KC_EMALFORMED and -ENOMEM, a decoder may say KC_ENOAPI (api_key not in our table),
 * KC_EBADVERSION (version outside the advertised range) or KC_ENOTIMPL (advertised - a
 * harmless minimum - but not decoded here). Each means: close the connection. */

/* ---- API keys and the advertised table ----------------------------------------------- */

enum kp_api_key {
    KP_API_PRODUCE = 0,
    KP_API_FETCH = 1,
    KP_API_LIST_OFFSETS = 2,
    KP_API_METADATA = 3,
    KP_API_OFFSET_COMMIT = 8,
    KP_API_OFFSET_FETCH = 9,
    KP_API_FIND_COORDINATOR = 10,
    KP_API_JOIN_GROUP = 11,
    KP_API_HEARTBEAT = 12,
    KP_API_LEAVE_GROUP = 13,
    KP_API_SYNC_GROUP = 14,
    KP_API_API_VERSIONS = 18,
};

struct kp_api {
    int16_t key;
    int16_t min;      /* advertised minimum (always 0, see above) */
    int16_t max;      /* advertised maximum */
    int16_t impl_min; /* lowest version the decoder implements; below it: KC_ENOTIMPL */
    int16_t flex_min; /* first flexible version of this API in Kafka (header v2 from here) */
    const char *name; /* "Produce", "Fetch", ... */
};

/* The advertised table, ascending by key; *n receives its length. Static, never freed. */
const struct kp_api *kp_api_table(size_t *n);

/* The table entry for key, or NULL when we do not speak that API. */
const struct kp_api *kp_api_find(int16_t key);

/* ---- framing ------------------------------------------------------------------------- */

/* Kafka's socket.request.max.bytes default; a server should pass something smaller. */
#define KP_FRAME_MAX_DEFAULT (100 * 1024 * 1024)
/* The smallest request after the size: api_key, api_version, correlation_id, client_id len. */
#define KP_REQUEST_HEADER_MIN 10

/*
 * Look at the bytes at the head of a connection's input. Returns 0 and *frame_len = 4 +
 * size when a whole frame is there; KC_ENEEDMORE (fewer than 4 bytes, or a partial
 * frame); KC_EMALFORMED (size < KP_REQUEST_HEADER_MIN); KC_ETOOLARGE (size > max_size).
 * The last two mean: close the connection (Kafka: InvalidReceiveException). The body
 * the other functions take is p + 4, *frame_len - 4 bytes. Pure; any thread.
 */
int kp_frame_check(const uint8_t *p, size_t len, size_t max_size, size_t *frame_len);

/* ---- request header ------------------------------------------------------------------ */

struct kp_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    struct kc_slice client_id; /* len -1 = null; points into the frame */
    bool flexible;             /* header v2 (tagged fields followed client_id) */
};

/*
 * Decode the request header at the start of body (the frame without its size). Returns
 * the header's length (> 0) and fills *h, or KC_EMALFORMED. Any api_key is accepted here
 * (so a server can log it); whether the version is flexible, and so whether a tag block
 * follows, is taken from kp_api_find(key)->flex_min (unknown keys: header v1). The
 * client_id slice points into body and lives as long as it. Pure; any thread.
 */
int kp_header_decode(const uint8_t *body, size_t len, struct kp_header *h);

/*
 * Write a request header (v1, or v2 with an empty tag block when flexible). For tests and
 * for a client; the broker never sends requests.
 */
void kp_header_encode(struct kc_writer *w, const struct kp_header *h);

/* A kc_slice over a C string (NULL gives the null slice, len -1). */
static inline struct kc_slice kp_slice_str(const char *s)
{
    struct kc_slice sl = {(const uint8_t *)s, -1};
    if (s) {
        size_t n = 0;
        while (s[n])
            n++;
        sl.len = (int32_t)n;
    }
    return sl;
}

/* True when slice s holds exactly the C string str (a null slice equals nothing). */
bool kp_slice_eq(struct kc_slice s, const char *str);

#endif
