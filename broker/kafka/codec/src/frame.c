/*
 * frame.c - whole frames: size prefix, request/response headers, the API table.
 *
 * A request is taken apart in three steps, each refusing what Kafka refuses:
 *
 *   kp_frame_check      size < 10 or > the limit           -> close the connection
 *   the header          api_key known? version in range?   -> close (Kafka does too)
 *                       ApiVersions above our max          -> .fallback: answer in v0
 *   the body            kp_decode of the API's request schema at that version
 *
 * The header's own layout depends on the body's version (flexible -> header v2), so the
 * first four bytes (key, version) are peeked before the header is decoded with
 * kp_request_header_schema at v1 or v2.
 */
#include <errno.h>
#include <string.h>

#include "kp_int.h"

const struct kp_api *kp_api_table(size_t *n)
{
    *n = KP_NAPIS;
    return kp__apis;
}

const struct kp_api *kp_api_find(int16_t key)
{
    size_t lo = 0, hi = KP_NAPIS;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kp__apis[mid].key == key)
            return &kp__apis[mid];
        if (kp__apis[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int16_t kp_request_header_version(const struct kp_api *api, int16_t version)
{
    return kp_api_flexible(api, version) ? 2 : 1;
}

int16_t kp_response_header_version(const struct kp_api *api, int16_t version)
{
    if (api->key == KP_API_API_VERSIONS)
        return 0; /* KIP-511: readable by a client of any version */
    return kp_api_flexible(api, version) ? 1 : 0;
}

int kp_frame_check(const uint8_t *p, size_t len, size_t min_size, size_t max_size,
                   size_t *frame_len)
{
    if (len < 4)
        return KC_ENEEDMORE;
    int32_t size = (int32_t)kc_load_be32(p);
    if (size < 0 || (size_t)size < min_size)
        return KC_EMALFORMED;
    if ((size_t)size > max_size)
        return KC_ETOOLARGE;
    if (len - 4 < (size_t)size)
        return KC_ENEEDMORE;
    *frame_len = 4 + (size_t)size;
    return 0;
}

/* ---- requests ------------------------------------------------------------------------ */

/* Inside a whole frame, running out of bytes means the frame lied: malformed. */
static int whole(int rc)
{
    return rc == KC_ENEEDMORE ? KC_EMALFORMED : rc;
}

int kp_request_decode(const uint8_t *body, size_t len, size_t arena_limit,
                      struct kp_request *out)
{
    if (len < 4)
        return KC_EMALFORMED;
    int16_t key = (int16_t)kc_load_be16(body), version = (int16_t)kc_load_be16(body + 2);
    const struct kp_api *api = kp_api_find(key);
    if (!api)
        return KC_ENOAPI;
    bool fallback = key == KP_API_API_VERSIONS && version > api->max;
    if (!fallback && (version < api->min || version > api->max))
        return KC_EBADVERSION;

    struct kp_request req = {.api = api, .fallback = fallback};
    kp_arena_init(&req.arena, arena_limit);
    size_t hlen;
    /* Above our max we cannot know the layout; Kafka reads such a header as v2 if the
     * newest version it knows is flexible, and so do we. */
    int16_t hver = kp_request_header_version(api, fallback ? api->max : version);
    int rc = kp_decode(&kp_request_header_schema, hver, body, len, &req.arena, &req.hdr, &hlen);
    if (rc == 0 && !fallback) {
        size_t blen;
        req.msg = kp_arena_alloc(&req.arena, api->req->size);
        rc = req.msg ? kp_decode(api->req, version, body + hlen, len - hlen, &req.arena,
                                 req.msg, &blen)
                     : -ENOMEM;
        hlen += rc == 0 ? blen : 0;
    }
    if (rc) {
        kp_arena_fini(&req.arena);
        return whole(rc);
    }
    req.body_used = hlen;
    *out = req;
    return 0;
}

void kp_request_fini(struct kp_request *req)
{
    kp_arena_fini(&req->arena);
    req->msg = NULL;
}

/* Reserve the size prefix; returns its offset. */
static size_t frame_begin(struct kc_writer *w)
{
    size_t start = kc_writer_len(w);
    kc_write_i32(w, 0);
    return start;
}

/* Patch the size prefix (extra: bytes the caller sends in gaps). */
static int frame_end(struct kc_writer *w, size_t start, size_t extra)
{
    int rc = kc_writer_error(w);
    if (rc)
        return rc;
    size_t size = kc_writer_len(w) - start - 4 + extra;
    if (size > INT32_MAX)
        return KC_ETOOLARGE;
    kc_writer_patch_i32(w, start, (int32_t)size);
    return 0;
}

int kp_request_encode(struct kc_writer *w, const struct kp_request_header *h, const void *msg)
{
    const struct kp_api *api = kp_api_find(h->request_api_key);
    if (!api)
        return KC_ENOAPI;
    int16_t v = h->request_api_version;
    if (v < api->min || v > api->max)
        return KC_EBADVERSION;
    size_t start = frame_begin(w);
    int rc = kp_encode(&kp_request_header_schema, kp_request_header_version(api, v), h, w, NULL);
    if (rc == 0)
        rc = kp_encode(api->req, v, msg, w, NULL);
    return rc ? rc : frame_end(w, start, 0);
}

/* ---- responses ----------------------------------------------------------------------- */

int kp_response_encode(struct kc_writer *w, int16_t api_key, int16_t version,
                       int32_t correlation_id, const void *msg, struct kp_gaps *gaps,
                       size_t *frame_len)
{
    const struct kp_api *api = kp_api_find(api_key);
    if (!api)
        return KC_ENOAPI;
    if (version < api->min || version > api->max)
        return KC_EBADVERSION;
    size_t gap_bytes = gaps ? gaps->bytes : 0;
    struct kp_response_header h = {.correlation_id = correlation_id};
    size_t start = frame_begin(w);
    int rc = kp_encode(&kp_response_header_schema, kp_response_header_version(api, version), &h,
                       w, NULL);
    if (rc == 0)
        rc = kp_encode(api->resp, version, msg, w, gaps);
    size_t extra = gaps ? gaps->bytes - gap_bytes : 0;
    if (rc == 0)
        rc = frame_end(w, start, extra);
    if (rc == 0 && frame_len)
        *frame_len = kc_writer_len(w) - start + extra;
    return rc;
}

int kp_api_versions_fallback(struct kc_writer *w, int32_t correlation_id, int16_t min,
                             int16_t max)
{
    struct kp_api_versions_resp_api_version entry = {KP_API_API_VERSIONS, min, max};
    struct kp_api_versions_resp resp;
    kp_init(&kp_api_versions_resp_schema, &resp);
    resp.error_code = 35; /* UNSUPPORTED_VERSION */
    resp.api_keys.n = 1;
    resp.api_keys.v = &entry;
    return kp_response_encode(w, KP_API_API_VERSIONS, 0, correlation_id, &resp, NULL, NULL);
}

static int decode_response(const uint8_t *body, size_t len, const struct kp_api *api,
                           int16_t version, struct kp_response *resp)
{
    size_t hlen, blen;
    int16_t hver = kp_response_header_version(api, version);
    struct kp_response_header h;
    int rc = kp_decode(&kp_response_header_schema, hver, body, len, &resp->arena, &h, &hlen);
    if (rc)
        return rc;
    resp->msg = kp_arena_alloc(&resp->arena, api->resp->size);
    if (!resp->msg)
        return -ENOMEM;
    rc = kp_decode(api->resp, version, body + hlen, len - hlen, &resp->arena, resp->msg, &blen);
    if (rc)
        return rc;
    resp->correlation_id = h.correlation_id;
    resp->version = version;
    resp->body_used = hlen + blen;
    return 0;
}

int kp_response_decode(const uint8_t *body, size_t len, int16_t api_key, int16_t version,
                       size_t arena_limit, struct kp_response *out)
{
    const struct kp_api *api = kp_api_find(api_key);
    if (!api)
        return KC_ENOAPI;
    if (version < api->min || version > api->max)
        return KC_EBADVERSION;
    struct kp_response resp = {0};
    kp_arena_init(&resp.arena, arena_limit);
    int rc = decode_response(body, len, api, version, &resp);
    if (rc && api->key == KP_API_API_VERSIONS && version > 0) {
        /* The broker may have answered in v0 (kp_api_versions_fallback); Kafka's client
         * retries the parse at v0 the same way. */
        kp_arena_fini(&resp.arena);
        rc = decode_response(body, len, api, 0, &resp);
    }
    if (rc) {
        kp_arena_fini(&resp.arena);
        return whole(rc);
    }
    *out = resp;
    return 0;
}

void kp_response_fini(struct kp_response *resp)
{
    kp_arena_fini(&resp->arena);
    resp->msg = NULL;
}
