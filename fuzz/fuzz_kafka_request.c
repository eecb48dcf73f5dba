/*
 * fuzz_kafka_request.c - libFuzzer target: the Kafka protocol's request decoders
 * (broker/kafka: kp_frame_check, kp_header_decode, kp_request_decode for every API and
 * version we advertise), what any Kafka client on the network makes the broker parse,
 * plus the __consumer_offsets record decoders the broker runs over its own log at start.
 *
 * Byte 0 of the input chooses how the rest is read:
 *   0-127    a byte stream of size-prefixed frames (the captured requests of
 *            broker/kafka/tests/fixtures are seeds of this kind, with a 0 in front)
 *   128-191  an API and version chosen by bytes 1-2 from the advertised table, a valid
 *            request header built for it, and the rest as its body: every decoder, every
 *            version, gets every input
 *   192-255  an offset-commit key (first half) and value (second half) record
 *
 * Properties: kp_request_decode reads no more than the body (body_used <= len), every
 * slice and array it returns lies inside the frame, counts are never below -1, and the
 * produce checks the broker runs next (kp_produce_check, kp_topic_name_check) accept only
 * what kc_batch_validate accepts; kp_request_fini frees it all (LeakSanitizer).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "brk_offsets_record.h"
#include "kp_proto.h"
#include "kp_req.h"

#define MAX_FRAME (4u << 20)

static const uint8_t *lo, *hi;

static void inside(struct kc_slice s)
{
    if (s.len < -1 || (s.len > 0 && (s.p < lo || s.p + s.len > hi)))
        abort();
}

static void count_ok(int32_t n, const void *arr)
{
    if (n < -1 || (n > 0 && !arr))
        abort();
}

static void check_produce(const struct kp_request *req)
{
    const struct kp_produce_req *p = &req->u.produce;
    inside(p->transactional_id);
    count_ok(p->ntopics, p->topics);
    for (int32_t t = 0; t < p->ntopics; t++) {
        inside(p->topics[t].name);
        (void)kp_topic_name_check(p->topics[t].name);
        count_ok(p->topics[t].nparts, p->topics[t].parts);
        for (int32_t i = 0; i < p->topics[t].nparts; i++) {
            struct kc_slice recs = p->topics[t].parts[i].records;
            struct kc_batch_header h;
            inside(recs);
            int16_t err = kp_produce_check(p, req->hdr.api_version, recs, &h);
            /* NONE promises one valid batch, exactly the field */
            if (err == 0 && kc_batch_validate(recs.p, (size_t)recs.len, NULL) != recs.len)
                abort();
        }
    }
}

static void check_fetch(const struct kp_request *req)
{
    const struct kp_fetch_req *f = &req->u.fetch;
    int32_t total = 0;
    count_ok(f->ntopics, f->topics);
    inside(f->rack_id);
    for (int32_t t = 0; t < f->ntopics; t++) {
        inside(f->topics[t].name);
        count_ok(f->topics[t].nparts, f->topics[t].parts);
        total += f->topics[t].nparts;
    }
    if (total != f->nparts_total)
        abort();
}

static void check_groups(const struct kp_request *req)
{
    switch (req->hdr.api_key) {
    case KP_API_JOIN_GROUP: {
        const struct kp_join_group_req *j = &req->u.join_group;
        inside(j->group_id), inside(j->member_id), inside(j->group_instance_id);
        inside(j->protocol_type);
        count_ok(j->nprotocols, j->protocols);
        for (int32_t i = 0; i < j->nprotocols; i++)
            inside(j->protocols[i].name), inside(j->protocols[i].metadata);
        break;
    }
    case KP_API_SYNC_GROUP: {
        const struct kp_sync_group_req *s = &req->u.sync_group;
        inside(s->group_id), inside(s->member_id), inside(s->group_instance_id);
        count_ok(s->nassignments, s->assignments);
        for (int32_t i = 0; i < s->nassignments; i++)
            inside(s->assignments[i].member_id), inside(s->assignments[i].assignment);
        break;
    }
    case KP_API_OFFSET_COMMIT: {
        const struct kp_offset_commit_req *c = &req->u.offset_commit;
        inside(c->group_id), inside(c->member_id);
        count_ok(c->ntopics, c->topics);
        for (int32_t t = 0; t < c->ntopics; t++) {
            inside(c->topics[t].name);
            count_ok(c->topics[t].nparts, c->topics[t].parts);
            for (int32_t i = 0; i < c->topics[t].nparts; i++)
                inside(c->topics[t].parts[i].metadata);
        }
        break;
    }
    case KP_API_OFFSET_FETCH: {
        const struct kp_offset_fetch_req *o = &req->u.offset_fetch;
        inside(o->group_id);
        count_ok(o->ntopics, o->topics);
        for (int32_t t = 0; t < o->ntopics; t++) {
            inside(o->topics[t].name);
            count_ok(o->topics[t].nparts, o->topics[t].parts);
        }
        break;
    }
    default:
        break;
    }
}

static void check_request(const struct kp_request *req, size_t len)
{
    if (req->body_used > len)
        abort();
    inside(req->hdr.client_id);
    switch (req->hdr.api_key) {
    case KP_API_PRODUCE:
        check_produce(req);
        break;
    case KP_API_FETCH:
        check_fetch(req);
        break;
    case KP_API_METADATA:
        count_ok(req->u.metadata.ntopics, req->u.metadata.topics);
        for (int32_t t = 0; t < req->u.metadata.ntopics; t++)
            inside(req->u.metadata.topics[t]);
        break;
    case KP_API_LIST_OFFSETS:
        count_ok(req->u.list_offsets.ntopics, req->u.list_offsets.topics);
        for (int32_t t = 0; t < req->u.list_offsets.ntopics; t++)
            inside(req->u.list_offsets.topics[t].name);
        break;
    case KP_API_FIND_COORDINATOR:
        inside(req->u.find_coordinator.key);
        break;
    case KP_API_HEARTBEAT:
        inside(req->u.heartbeat.group_id), inside(req->u.heartbeat.member_id);
        break;
    case KP_API_LEAVE_GROUP:
        inside(req->u.leave_group.group_id), inside(req->u.leave_group.member_id);
        break;
    default:
        check_groups(req);
        break;
    }
}

static void decode_body(const uint8_t *body, size_t len)
{
    struct kp_request req;
    struct kp_header h;
    memset(&req, 0, sizeof(req));
    lo = body;
    hi = body + len;
    int hl = kp_header_decode(body, len, &h);
    if (hl > 0 && (size_t)hl > len)
        abort();
    int rc = kp_request_decode(body, len, &req);
    if (rc == 0)
        check_request(&req, len);
    else if (rc != KC_EMALFORMED && rc != KC_ENOAPI && rc != KC_EBADVERSION &&
             rc != KC_ENOTIMPL && rc != -ENOMEM)
        abort();
    kp_request_fini(&req);
}

static void stream(const uint8_t *data, size_t size)
{
    size_t off = 0, flen = 0;
    while (off < size) {
        int rc = kp_frame_check(data + off, size - off, MAX_FRAME, &flen);
        if (rc != 0)
            break;
        if (flen < 4 || flen > size - off)
            abort();
        decode_body(data + off + 4, flen - 4);
        off += flen;
    }
}

/* A real header for the API and version bytes 0-1 choose, then the rest as the body. */
static void chosen(const uint8_t *data, size_t size)
{
    size_t n;
    const struct kp_api *t = kp_api_table(&n);
    if (size < 2)
        return;
    const struct kp_api *api = &t[data[0] % n];
    struct kp_header h = {.api_key = api->key,
                          .api_version = (int16_t)(data[1] % (api->max + 1)),
                          .correlation_id = 7,
                          .client_id = kp_slice_str("fuzz")};
    h.flexible = h.api_version >= api->flex_min && api->flex_min >= 0;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    kp_header_encode(&w, &h);
    kc_write_raw(&w, data + 2, size - 2);
    if (!kc_writer_error(&w))
        decode_body(kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
}

static void offsets_record(const uint8_t *data, size_t size)
{
    struct brk_offset_key k;
    struct brk_offset_value v;
    size_t half = size / 2;
    lo = data;
    hi = data + size;
    if (brk_offset_key_decode(data, half, &k) == 0)
        inside(k.group), inside(k.topic);
    if (brk_offset_value_decode(data + half, size - half, &v) == 0)
        inside(v.metadata);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] < 128)
        stream(data + 1, size - 1);
    else if (data[0] < 192)
        chosen(data + 1, size - 1);
    else
        offsets_record(data + 1, size - 1);
    return 0;
}
