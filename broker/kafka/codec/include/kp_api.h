/*
 * kp_api.h - Kafka frames on top of kp_codec.h: the size prefix, the request and response
 * headers, the API table, and whole-request decode / whole-response encode.
 *
 *   request  +------+--------------------------------------------------+--------------+
 *            | size | api_key i16 | version i16 | corr_id i32 | client | body ...     |
 *            | i32  |        header v1 (v2: + tagged fields)   | id str |              |
 *            +------+--------------------------------------------------+--------------+
 *   response +------+-------------+-------------------------------------------------+
 *            | size | corr_id i32 | (header v1: + tagged fields) | body ...          |
 *            +------+-------------+-------------------------------------------------+
 *
 * Which header: a request uses v2 when its (api, version) is flexible, else v1; a
 * response uses v1 when flexible, else v0 -- except ApiVersions, whose response always
 * uses v0, so a client can read the error in it whatever version it asked for (KIP-511).
 * The client_id stays an i16-length string even in header v2.
 *
 * The API table (kp_api_find) says, per key: Kafka's name, the request and response
 * schemas, the versions this codec implements (every version in Kafka's JSON), the first
 * flexible version, and what Kafka 3.9 / 4.0 serve (kp_versions.h). A broker advertises
 * its own subset; the codec decodes whatever lies in [min, max].
 *
 * Return codes: 0, or KC_ENEEDMORE / KC_EMALFORMED / KC_ETOOLARGE (kc_err.h), KP_E*
 * (kp_codec.h), -ENOMEM. Pure functions; any thread; nothing global is written.
 *
 * Lifetimes: a decoded request's slices point into the frame given to kp_request_decode,
 * its arrays into req->arena: keep the frame until kp_request_fini. A server that parks
 * a request keeps the frame with it.
 */
#ifndef KP_API_H
#define KP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"
#include "kp_codec.h"
#include "kp_msgs.h"

struct kp_api {
    int16_t key;
    const char *name;                /* "Produce", "Fetch", ... */
    const struct kp_schema *req;     /* struct kp_<name>_req */
    const struct kp_schema *resp;    /* struct kp_<name>_resp */
    int16_t min, max;                /* versions the codec implements */
    int16_t flex_min;                /* first flexible version (KP_VMAX: never) */
    int16_t kafka39_max;             /* highest version Kafka 3.9 serves */
    int16_t kafka40_min;             /* lowest version Kafka 4.0 serves (KIP-896) */
};

/* The table entry for key, or NULL. The table is static and never freed. */
const struct kp_api *kp_api_find(int16_t key);
/* The whole table, ascending by key; *n receives its length. */
const struct kp_api *kp_api_table(size_t *n);

/* Is (api, version) flexible?  Header versions for it (request 1|2, response 0|1). */
static inline bool kp_api_flexible(const struct kp_api *api, int16_t version)
{
    return version >= api->flex_min;
}
int16_t kp_request_header_version(const struct kp_api *api, int16_t version);
int16_t kp_response_header_version(const struct kp_api *api, int16_t version);

/* ---- frames -------------------------------------------------------------------------- */

/* Kafka's socket.request.max.bytes default; a server should pass something smaller. */
#define KP_FRAME_MAX_DEFAULT (100 * 1024 * 1024)
/* The smallest request after the size: api_key, api_version, correlation_id, client_id len. */
#define KP_REQUEST_HEADER_MIN 10

/*
 * Look at the bytes at the head of a connection's input. Returns 0 and *frame_len =
 * 4 + size when a whole frame is there; KC_ENEEDMORE (under 4 bytes, or a partial frame);
 * KC_EMALFORMED (size < min_size); KC_ETOOLARGE (size > max_size). The last two mean:
 * close the connection (Kafka: InvalidReceiveException). For requests min_size is
 * KP_REQUEST_HEADER_MIN; for responses, 4 (a correlation id).
 */
int kp_frame_check(const uint8_t *p, size_t len, size_t min_size, size_t max_size,
                   size_t *frame_len);

/* ---- requests (what a broker reads) -------------------------------------------------- */

struct kp_request {
    struct kp_request_header hdr; /* api key, version, correlation id, client id */
    const struct kp_api *api;
    void *msg;        /* struct kp_<api>_req *, in arena; NULL when fallback */
    size_t body_used; /* bytes of the frame body read, header included */
    bool fallback;    /* ApiVersions above the codec's max: body not parsed (see below) */
    struct kp_arena arena;
};

/*
 * Decode a whole request frame body (the bytes after the size prefix). Returns 0;
 * KC_ENOAPI or KC_EBADVERSION (Kafka closes the connection); KC_EMALFORMED (the
 * header or body does not parse, running short included: the frame is whole); -ENOMEM;
 * KC_ETOOLARGE (arrays would take more than arena_limit bytes; 0 = no limit).
 * ApiVersions above the codec's maximum decodes with .fallback set and no body: Kafka
 * answers it in v0 (kp_api_versions_fallback) so the client can retry lower. Trailing
 * bytes after the body are ignored, as Kafka's parsers ignore them; body_used tells.
 * On success free with kp_request_fini; on failure nothing needs freeing.
 */
int kp_request_decode(const uint8_t *body, size_t len, size_t arena_limit,
                      struct kp_request *req);
void kp_request_fini(struct kp_request *req);

/* Append a whole request frame (size, header v1/v2, body). For clients and tests. */
int kp_request_encode(struct kc_writer *w, const struct kp_request_header *h, const void *msg);

/* ---- responses (what a broker writes) ------------------------------------------------ */

/*
 * Append a whole response frame: size prefix, header (v0/v1 per kp_response_header_
 * version), body. gaps (may be NULL) collects records fields left as gaps (kp_codec.h);
 * the size prefix already counts their bytes. *frame_len (may be NULL) receives the
 * frame's length on the wire, gaps included. Returns as kp_encode, plus KC_ENOAPI,
 * KC_EBADVERSION, and KC_ETOOLARGE for a frame over INT32_MAX bytes. On error the writer
 * holds a partial frame: reset it (or drop the connection's output).
 */
int kp_response_encode(struct kc_writer *w, int16_t api_key, int16_t version,
                       int32_t correlation_id, const void *msg, struct kp_gaps *gaps,
                       size_t *frame_len);

/*
 * Kafka's answer to an ApiVersions request above the broker's maximum: a v0-layout body
 * with error 35 (UNSUPPORTED_VERSION) and one entry, ApiVersions [min, max], under a v0
 * header. Every client version can read it and retries with a version it finds there.
 */
int kp_api_versions_fallback(struct kc_writer *w, int32_t correlation_id, int16_t min,
                             int16_t max);

struct kp_response {
    int32_t correlation_id;
    int16_t version;  /* the version decoded: ApiVersions may fall back to 0 */
    void *msg;        /* struct kp_<api>_resp *, in arena */
    size_t body_used; /* bytes of the frame body read, header included */
    struct kp_arena arena;
};

/*
 * Decode a whole response frame body for (api_key, version), as a client does. For
 * ApiVersions a body that does not parse at version > 0 is tried again at v0, as Kafka's
 * client does (ApiVersionsResponse.parse): the broker's fallback answer. Returns as
 * kp_request_decode. Free with kp_response_fini.
 */
int kp_response_decode(const uint8_t *body, size_t len, int16_t api_key, int16_t version,
                       size_t arena_limit, struct kp_response *resp);
void kp_response_fini(struct kp_response *resp);

#endif
