/*
 * request.c - frames, request headers, and the decoder dispatch.
 *
 * A request is taken apart in three steps, each refusing what Kafka refuses:
 *
 *   kp_frame_check     size < 10 or > the limit      -> close (InvalidReceiveException)
 *   kp_header_decode   header fields, tags if flexible -> close on garbage
 *   kp_request_decode  key known? version advertised? implemented? body parses?
 *                      ApiVersions above max          -> .fallback, answered in v0 format
 *                      anything else wrong             -> close
 */
#include <errno.h>
#include <string.h>

#include "kc_err.h"
#include "kp_int.h"

int kp_frame_check(const uint8_t *p, size_t len, size_t max_size, size_t *frame_len)
{
    if (len < 4)
        return KC_ENEEDMORE;
    int32_t size = (int32_t)kc_load_be32(p);
    if (size < KP_REQUEST_HEADER_MIN)
        return KC_EMALFORMED;
    if ((size_t)size > max_size)
        return KC_ETOOLARGE;
    if (len - 4 < (size_t)size)
        return KC_ENEEDMORE;
    *frame_len = 4 + (size_t)size;
    return 0;
}

int kp_header_decode(const uint8_t *body, size_t len, struct kp_header *out)
{
    struct kc_reader r;
    struct kp_header h;
    kc_reader_init(&r, body, len);
    if (kc_read_i16(&r, &h.api_key) || kc_read_i16(&r, &h.api_version) ||
        kc_read_i32(&r, &h.correlation_id) || kc_read_str(&r, &h.client_id))
        return KC_EMALFORMED;
    const struct kp_api *api = kp_api_find(h.api_key);
    h.flexible = api && h.api_version >= api->flex_min;
    if (h.flexible && kc_read_skip_tags(&r))
        return KC_EMALFORMED;
    *out = h;
    return (int)r.pos;
}

void kp_header_encode(struct kc_writer *w, const struct kp_header *h)
{
    kc_write_i16(w, h->api_key);
    kc_write_i16(w, h->api_version);
    kc_write_i32(w, h->correlation_id);
    kp__wr_str(w, h->client_id);
    if (h->flexible)
        kc_write_uvarint(w, 0); /* no tagged fields */
}

/* Key known, version advertised and implemented? (ApiVersions handled by the caller.) */
static int version_check(const struct kp_header *h)
{
    const struct kp_api *api = kp_api_find(h->api_key);
    if (!api)
        return KC_ENOAPI;
    if (h->api_version < api->min || h->api_version > api->max)
        return KC_EBADVERSION;
    if (h->api_version < api->impl_min)
        return KC_ENOTIMPL;
    return 0;
}

static int decode_body(struct kp__dec *d, struct kp_request *req)
{
    switch (req->hdr.api_key) {
    case KP_API_API_VERSIONS:
        return 0; /* v0-2: empty body */
    case KP_API_METADATA:
        return kp__dec_metadata(d, &req->u.metadata);
    case KP_API_PRODUCE:
        return kp__dec_produce(d, &req->u.produce);
    case KP_API_FETCH:
        return kp__dec_fetch(d, &req->u.fetch);
    case KP_API_LIST_OFFSETS:
        return kp__dec_list_offsets(d, &req->u.list_offsets);
    case KP_API_FIND_COORDINATOR:
        return kp__dec_find_coordinator(d, &req->u.find_coordinator);
    case KP_API_JOIN_GROUP:
        return kp__dec_join_group(d, &req->u.join_group);
    case KP_API_SYNC_GROUP:
        return kp__dec_sync_group(d, &req->u.sync_group);
    case KP_API_HEARTBEAT:
        return kp__dec_heartbeat(d, &req->u.heartbeat);
    case KP_API_LEAVE_GROUP:
        return kp__dec_leave_group(d, &req->u.leave_group);
    case KP_API_OFFSET_COMMIT:
        return kp__dec_offset_commit(d, &req->u.offset_commit);
    case KP_API_OFFSET_FETCH:
        return kp__dec_offset_fetch(d, &req->u.offset_fetch);
    }
    return KC_ENOAPI; /* unreachable: version_check knows the same keys */
}

int kp_request_decode(const uint8_t *body, size_t len, struct kp_request *out)
{
    struct kp_request req;
    memset(&req, 0, sizeof(req));
    memset(out, 0, sizeof(*out));
    int n = kp_header_decode(body, len, &req.hdr);
    if (n < 0)
        return n;
    if (req.hdr.api_key == KP_API_API_VERSIONS &&
        req.hdr.api_version > kp_api_find(KP_API_API_VERSIONS)->max) {
        /* Kafka's rule: do not parse the body; answer in v0 format (see apiversions.c). */
        req.u.api_versions.fallback = true;
        req.body_used = (size_t)n;
        *out = req;
        return 0;
    }
    int rc = version_check(&req.hdr);
    if (rc)
        return rc;

    struct kp__dec d = {.mem = &req.mem, .version = req.hdr.api_version};
    kc_reader_init(&d.r, body + n, len - (size_t)n);
    rc = decode_body(&d, &req);
    if (rc == 0)
        rc = d.err;
    if (rc) {
        kp__arena_free(&req.mem);
        return rc;
    }
    req.body_used = (size_t)n + d.r.pos;
    *out = req;
    return 0;
}

void kp_request_fini(struct kp_request *req)
{
    kp__arena_free(&req->mem);
}

int16_t kp_topic_name_check(struct kc_slice name)
{
    if (name.len <= 0 || name.len > 249)
        return KP_ERR_INVALID_TOPIC_EXCEPTION;
    if ((name.len == 1 && name.p[0] == '.') ||
        (name.len == 2 && name.p[0] == '.' && name.p[1] == '.'))
        return KP_ERR_INVALID_TOPIC_EXCEPTION;
    for (int32_t i = 0; i < name.len; i++) {
        uint8_t c = name.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return KP_ERR_INVALID_TOPIC_EXCEPTION;
    }
    return KP_ERR_NONE;
}
