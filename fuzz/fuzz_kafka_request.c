/*
 * fuzz_kafka_request.c - libFuzzer target: what any Kafka client on the network makes the
 * broker parse - kp_frame_check and kp_request_decode (broker/kafka/codec) for every API
 * and version the codec speaks, the door's check of a Produce partition's records
 * (broker/kafka/serve: brk__kafka_produce_check), a Fetch's way through the fetch session
 * cache (fetch_session.c, fsess.c) - plus the __consumer_offsets record decoders the
 * broker runs over its own log at start.
 *
 * Byte 0 of the input chooses how the rest is read:
 *   0-127    a byte stream of size-prefixed frames (the captured requests of
 *            broker/kafka/tests/fixtures are seeds of this kind, with a 0 in front)
 *   128-191  an API and version chosen by bytes 1-2 from the codec's table, a valid
 *            request header (v1, or v2 when flexible) built for it, and the rest as its
 *            body: every decoder, every version, gets every input
 *   192-223  an offset-commit key (first half) and value (second half) record
 *   224-255  a group-metadata record's value (kg_record_decode): decoded, encoded again
 *            at version 3 and decoded back to the same fields
 *
 * Properties, on every request that decodes: body_used <= len; walking the decoded struct
 * by its schema (as kafka_kp_dump does), every string, bytes and records slice lies inside
 * the frame and every array count is -1 or more with its items present; a Produce
 * partition the door's check passes is exactly one whole v2 batch (kc_batch_size covers
 * the field to the byte); a Fetch, made the full Fetch of a session and then replayed as
 * that session's next incremental one (its partitions added or updated, its forgotten
 * ones removed), leaves a session holding each partition once, expanded in its order,
 * and a trimmed answer holding exactly the partitions settle kept; kp_request_fini frees
 * it all (LeakSanitizer). The arena limit is
 * the broker's (8 bytes per frame byte, plus 64 KiB). Decoding and encoding agreeing with
 * each other is fuzz_kp_codec's property (broker/kafka/codec/fuzz). A group record that
 * decodes has its slices inside the input, and survives an encode and a decode unchanged
 * (what the broker replays at start is what it would write).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "brk_offsets_record.h"
#include "kafka_int.h"
#include "kg_record.h"
#include "kc_common.h"

#define MAX_FRAME (4u << 20)

typedef KP_ARRAY(uint8_t) any_array;

static const uint8_t *lo, *hi;

static void inside(struct kc_slice s)
{
    if (s.len < -1 || (s.len > 0 && (s.p < lo || s.p + s.len > hi)))
        abort();
}

static void walk(const struct kp_schema *s, const uint8_t *obj);

/* One value of type t at p (a field, or an array item). */
static void walk_value(const struct kp_field *f, uint8_t t, const uint8_t *p)
{
    struct kc_slice sl;
    switch (t) {
    case KP_T_STRING:
    case KP_T_BYTES:
    case KP_T_RECORDS:
        memcpy(&sl, p, sizeof(sl));
        inside(sl);
        break;
    case KP_T_STRUCT:
        walk(f->nested, p);
        break;
    default:
        break; /* numbers, bools, uuids: any bit pattern is a value */
    }
}

static void walk(const struct kp_schema *s, const uint8_t *obj)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const struct kp_field *f = &s->fields[i];
        const uint8_t *p = obj + f->offset;
        if (f->type != KP_T_ARRAY) {
            walk_value(f, f->type, p);
            continue;
        }
        any_array a;
        memcpy(&a, p, sizeof(a));
        if (a.n < -1 || (a.n > 0 && !a.v))
            abort();
        for (int32_t j = 0; j < a.n; j++)
            walk_value(f, f->elem, a.v + (size_t)j * f->elem_size);
    }
}

/* The door's check passes only exactly one whole v2 batch. */
static void check_produce(const struct kp_request *req)
{
    const struct kp_produce_req *p = req->msg;
    for (int32_t t = 0; t < p->topic_data.n; t++) {
        const struct kp_produce_req_topic_produce_data *td = &p->topic_data.v[t];
        for (int32_t i = 0; i < td->partition_data.n; i++) {
            struct kc_slice recs = td->partition_data.v[i].records;
            size_t size;
            int16_t err = brk__kafka_produce_check(p->acks, p->transactional_id,
                                                   req->hdr.request_api_version, recs);
            if (err == KP_ERR_NONE &&
                (kc_batch_size(recs.p, (size_t)recs.len, &size) != 0 || size != (size_t)recs.len))
                abort();
        }
    }
}

/* A response skeleton for req's (expanded) partitions, each answered from the bits of its
 * fetch offset: records or not, a high watermark, an error. NULL on -ENOMEM. */
static struct kp_fetch_resp *fetch_answer(struct kp_request *req, int32_t *n)
{
    const struct kp_fetch_req *fr = req->msg;
    struct kp_fetch_resp *resp = kp_new(&req->arena, &kp_fetch_resp_schema, 1);
    struct kp_fetch_resp_fetchable_topic_response *rt =
        kp_new(&req->arena, &kp_fetch_resp_fetchable_topic_response_schema, fr->topics.n + 1);
    *n = 0;
    if (!resp || !rt)
        return NULL;
    for (int32_t i = 0; i < fr->topics.n; i++) {
        const struct kp_fetch_req_topic *t = &fr->topics.v[i];
        struct kp_fetch_resp_partition_data *p =
            kp_new(&req->arena, &kp_fetch_resp_partition_data_schema, t->partitions.n + 1);
        if (!p)
            return NULL;
        rt[i].topic = t->topic;
        rt[i].topic_id = t->topic_id;
        for (int32_t j = 0; j < t->partitions.n; j++, ++*n) {
            int64_t x = t->partitions.v[j].fetch_offset;
            p[j].partition_index = t->partitions.v[j].partition;
            p[j].records.len = (int32_t)(x & 3); /* sometimes records */
            p[j].high_watermark = x >> 2 & 7;     /* sometimes a new high watermark */
            p[j].error_code = (x >> 5 & 7) == 7 ? KP_ERR_OFFSET_OUT_OF_RANGE : 0;
        }
        KP_SET(rt[i].partitions, t->partitions.n, p);
    }
    KP_SET(resp->responses, fr->topics.n, rt);
    return resp;
}

/* Does expanded partition p carry every request field session partition sp keeps? */
static bool same_fields(const struct kp_fetch_req_partition *p, const struct brk_fsess_part *sp)
{
    return p->partition == sp->partition && p->fetch_offset == sp->fetch_offset &&
           p->partition_max_bytes == sp->max_bytes &&
           p->current_leader_epoch == sp->current_leader_epoch &&
           p->last_fetched_epoch == sp->last_fetched_epoch &&
           p->log_start_offset == sp->log_start_offset;
}

/* The expansion is the session, in order, every field; the trimmed answer holds what
 * settle kept. */
static void check_expand_and_settle(struct brk_kafka_fs *fs, struct kp_request *req)
{
    int32_t np, n;
    const struct brk_fsess_part *sp = brk__fsess_parts(fs->s, &np);
    if (brk__kafka_fs_expand(fs, req) != 0)
        return;
    const struct kp_fetch_req *ex = req->msg;
    for (int32_t i = 0, k = 0; i < ex->topics.n; i++)
        for (int32_t j = 0; j < ex->topics.v[i].partitions.n; j++, k++)
            if (k >= np || !same_fields(&ex->topics.v[i].partitions.v[j], &sp[k]))
                abort();
    struct kp_fetch_resp *resp = fetch_answer(req, &n);
    if (!resp)
        return;
    if (n != np)
        abort();
    const bool *keep = brk__kafka_fs_settle(fs, req, resp, n);
    int32_t kept = 0;
    for (int32_t k = 0; keep && k < n; k++)
        kept += keep[k];
    for (int32_t t = 0; keep && t < resp->responses.n; t++)
        kept -= resp->responses.v[t].partitions.n;
    if (kept != 0)
        abort();
}

/* A Fetch through the session cache: its partitions made a session (as a full Fetch
 * would), then the same request replayed as that session's incremental Fetch. */
static void check_fetch_session(struct kp_request *req)
{
    struct kp_fetch_req *fr = req->msg;
    struct brk_fsess_config cfg = {4, 0, 100000};
    struct brk_fsess_cache *c = NULL;
    struct brk_fsess_request rq;
    struct brk_kafka_fs fs = {0};
    int32_t epoch = fr->session_epoch;
    if (brk__fsess_cache_create(&cfg, &c))
        return;
    fr->session_epoch = 1; /* incremental: named and forgotten partitions as keys */
    int rc = brk__kafka_fs_request(req, &rq);
    fr->session_epoch = epoch;
    if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
        abort();
    if (rc == 0 && rq.nnamed > 0) {
        struct brk_fsess_result *r = calloc((size_t)rq.nnamed, sizeof(*r));
        int32_t id = r ? brk__fsess_create(c, rq.by_id, rq.replica ? (const void *)c : NULL, 0,
                                           rq.named, r, rq.nnamed)
                       : -ENOMEM;
        free(r);
        rq.id = id;
        rq.epoch = 1;
        fs = (struct brk_kafka_fs){.cache = c, .kind = BRK_FSESS_SESSIONLESS};
        if (id > 0)
            fs.kind = brk__fsess_begin(c, &rq, &fs.s, &fs.error);
    }
    if (fs.kind == BRK_FSESS_INCREMENTAL) {
        struct brk_fsess_stats st;
        int32_t np;
        brk__fsess_parts(fs.s, &np);
        brk__fsess_stats(c, &st);
        if (st.partitions != np || np > rq.nnamed)
            abort(); /* each partition once: named twice was refused before */
        check_expand_and_settle(&fs, req);
    }
    brk__kafka_fs_end(&fs);
    brk__fsess_cache_destroy(c);
}

static void decode_body(const uint8_t *body, size_t len)
{
    struct kp_request req;
    lo = body;
    hi = body + len;
    int rc = kp_request_decode(body, len, 8 * len + 65536, &req);
    if (rc) {
        if (rc != KC_EMALFORMED && rc != KC_ENOAPI && rc != KC_EBADVERSION &&
            rc != KC_ETOOLARGE && rc != -ENOMEM)
            abort();
        return;
    }
    if (req.body_used > len)
        abort();
    inside(req.hdr.client_id);
    if (req.msg) {
        walk(req.api->req, req.msg);
        if (req.hdr.request_api_key == KP_API_PRODUCE)
            check_produce(&req);
        if (req.hdr.request_api_key == KP_API_FETCH && req.hdr.request_api_version >= 7)
            check_fetch_session(&req);
    }
    kp_request_fini(&req);
}

static void stream(const uint8_t *data, size_t size)
{
    size_t off = 0, flen = 0;
    while (off < size) {
        if (kp_frame_check(data + off, size - off, KP_REQUEST_HEADER_MIN, MAX_FRAME, &flen))
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
    struct kp_request_header h = {api->key,
                                  (int16_t)(api->min + data[1] % (api->max - api->min + 1)), 7,
                                  kp_slice_str("fuzz")};
    struct kc_writer w;
    kc_writer_init(&w, 0);
    if (kp_encode(&kp_request_header_schema, kp_request_header_version(api, h.request_api_version),
                  &h, &w, NULL) != 0)
        abort();
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

static bool same(struct kc_slice a, struct kc_slice b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

static void group_record(const uint8_t *data, size_t size)
{
    struct kg_record rec, back;
    struct kc_writer w;
    lo = data;
    hi = data + size;
    if (kg_record_decode(data, size, &rec) != 0)
        return;
    inside(rec.protocol_type), inside(rec.protocol), inside(rec.leader);
    for (int32_t i = 0; i < rec.nmembers; i++) {
        const struct kg_record_member *m = &rec.members[i];
        inside(m->member_id), inside(m->group_instance_id), inside(m->client_id);
        inside(m->client_host), inside(m->subscription), inside(m->assignment);
    }
    kc_writer_init(&w, 0);
    if (kg_record_encode(&w, &rec) != 0 ||
        kg_record_decode(kc_writer_data(&w), kc_writer_len(&w), &back) != 0)
        abort(); /* whatever decodes must encode, and decode again */
    if (back.generation != rec.generation || back.nmembers != rec.nmembers ||
        !same(back.protocol, rec.protocol) || !same(back.leader, rec.leader) ||
        !same(back.protocol_type, rec.protocol_type))
        abort();
    for (int32_t i = 0; i < rec.nmembers; i++)
        if (!same(back.members[i].member_id, rec.members[i].member_id) ||
            !same(back.members[i].group_instance_id, rec.members[i].group_instance_id) ||
            !same(back.members[i].assignment, rec.members[i].assignment) ||
            back.members[i].rebalance_timeout_ms != rec.members[i].rebalance_timeout_ms)
            abort();
    kg_record_fini(&back);
    kg_record_fini(&rec);
    kc_writer_fini(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] < 128)
        stream(data + 1, size - 1);
    else if (data[0] < 192)
        chosen(data + 1, size - 1);
    else if (data[0] < 224)
        offsets_record(data + 1, size - 1);
    else
        group_record(data + 1, size - 1);
    return 0;
}
