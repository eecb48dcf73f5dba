/*
 * request.c - encoders and decoders of the native protocol's request bodies.
 *
 * Each decoder reads a whole body (the frame after its 12-byte header) field by field with
 * kc_buf's bounds-checked reader, into a local copy that is handed out only when every
 * field was there and nothing was left over. A short body is malformed, not "need more":
 * the frame's length said the body was complete (kc_err.h).
 */
#include "kc_err.h"
#include "np.h"

/* A name (topic or group) may not be null; its content is the broker's to judge. */
static int np_read_name(struct kc_reader *r, struct kc_slice *s)
{
    struct kc_slice tmp;
    if (kc_read_str(r, &tmp) != 0 || tmp.len < 0)
        return KC_EMALFORMED;
    *s = tmp;
    return 0;
}

/* 0 if the reader stopped on the last byte of the body, after rc == 0 everywhere. */
static int np_done(const struct kc_reader *r, int rc)
{
    return rc != 0 || kc_reader_left(r) != 0 ? KC_EMALFORMED : 0;
}

static void np_write_slice_str(struct kc_writer *w, struct kc_slice s)
{
    kc_write_str(w, (const char *)s.p, s.len);
}

static void np_write_slice_bytes(struct kc_writer *w, struct kc_slice s)
{
    kc_write_bytes(w, s.p, s.len);
}

/* ---- 0 create topic: topic:str, partitions:i32 ----------------------------------------- */

void np_encode_create_topic(struct kc_writer *w, uint32_t corr,
                            const struct np_create_topic_req *req)
{
    size_t at = np_begin_request(w, NP_CREATE_TOPIC, corr);
    np_write_slice_str(w, req->topic);
    kc_write_i32(w, req->partitions);
    np_end_frame(w, at, 0);
}

int np_decode_create_topic(const uint8_t *body, size_t len, struct np_create_topic_req *req)
{
    struct kc_reader r;
    struct np_create_topic_req t;
    kc_reader_init(&r, body, len);
    int rc = np_read_name(&r, &t.topic) || kc_read_i32(&r, &t.partitions);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

/* ---- 1 produce: topic, partition:i32, acks:i16, timestamp:i64, key:bytes?, value:bytes? - */

void np_encode_produce(struct kc_writer *w, uint32_t corr, const struct np_produce_req *req)
{
    size_t at = np_begin_request(w, NP_PRODUCE, corr);
    np_write_slice_str(w, req->topic);
    kc_write_i32(w, req->partition);
    kc_write_i16(w, req->acks);
    kc_write_i64(w, req->timestamp);
    np_write_slice_bytes(w, req->key);
    np_write_slice_bytes(w, req->value);
    np_end_frame(w, at, 0);
}

int np_decode_produce(const uint8_t *body, size_t len, struct np_produce_req *req)
{
    struct kc_reader r;
    struct np_produce_req t;
    kc_reader_init(&r, body, len);
    int rc = np_read_name(&r, &t.topic) || kc_read_i32(&r, &t.partition) ||
             kc_read_i16(&r, &t.acks) || kc_read_i64(&r, &t.timestamp) ||
             kc_read_bytes(&r, &t.key) || kc_read_bytes(&r, &t.value);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

/* ---- 2 consume: topic, partition:i32, offset:i64 --------------------------------------- */

void np_encode_consume(struct kc_writer *w, uint32_t corr, const struct np_consume_req *req)
{
    size_t at = np_begin_request(w, NP_CONSUME, corr);
    np_write_slice_str(w, req->topic);
    kc_write_i32(w, req->partition);
    kc_write_i64(w, req->offset);
    np_end_frame(w, at, 0);
}

int np_decode_consume(const uint8_t *body, size_t len, struct np_consume_req *req)
{
    struct kc_reader r;
    struct np_consume_req t;
    kc_reader_init(&r, body, len);
    int rc = np_read_name(&r, &t.topic) || kc_read_i32(&r, &t.partition) ||
             kc_read_i64(&r, &t.offset);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

/* ---- 3 commit: group, topic, partition:i32, offset:i64, metadata:str? ------------------ */

void np_encode_commit(struct kc_writer *w, uint32_t corr, const struct np_commit_req *req)
{
    size_t at = np_begin_request(w, NP_COMMIT, corr);
    np_write_slice_str(w, req->group);
    np_write_slice_str(w, req->topic);
    kc_write_i32(w, req->partition);
    kc_write_i64(w, req->offset);
    np_write_slice_str(w, req->metadata);
    np_end_frame(w, at, 0);
}

int np_decode_commit(const uint8_t *body, size_t len, struct np_commit_req *req)
{
    struct kc_reader r;
    struct np_commit_req t;
    kc_reader_init(&r, body, len);
    int rc = np_read_name(&r, &t.group) || np_read_name(&r, &t.topic) ||
             kc_read_i32(&r, &t.partition) || kc_read_i64(&r, &t.offset) ||
             kc_read_str(&r, &t.metadata);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

/* ---- 4 fetch offset: group, topic, partition:i32 --------------------------------------- */

void np_encode_fetch_offset(struct kc_writer *w, uint32_t corr,
                            const struct np_fetch_offset_req *req)
{
    size_t at = np_begin_request(w, NP_FETCH_OFFSET, corr);
    np_write_slice_str(w, req->group);
    np_write_slice_str(w, req->topic);
    kc_write_i32(w, req->partition);
    np_end_frame(w, at, 0);
}

int np_decode_fetch_offset(const uint8_t *body, size_t len, struct np_fetch_offset_req *req)
{
    struct kc_reader r;
    struct np_fetch_offset_req t;
    kc_reader_init(&r, body, len);
    int rc = np_read_name(&r, &t.group) || np_read_name(&r, &t.topic) ||
             kc_read_i32(&r, &t.partition);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

/* ---- 5 produce batch: topic, partition:i32, acks:i16, batch:bytes (last) --------------- */

void np_encode_produce_batch(struct kc_writer *w, uint32_t corr,
                             const struct np_produce_batch_req *req)
{
    size_t at = np_begin_request(w, NP_PRODUCE_BATCH, corr);
    np_write_slice_str(w, req->topic);
    kc_write_i32(w, req->partition);
    kc_write_i16(w, req->acks);
    np_write_slice_bytes(w, req->batch);
    np_end_frame(w, at, 0);
}

int np_decode_produce_batch(const uint8_t *body, size_t len, struct np_produce_batch_req *req)
{
    struct kc_reader r;
    struct np_produce_batch_req t;
    kc_reader_init(&r, body, len);
    int rc = np_read_name(&r, &t.topic) || kc_read_i32(&r, &t.partition) ||
             kc_read_i16(&r, &t.acks) || kc_read_bytes(&r, &t.batch);
    if (np_done(&r, rc) || t.batch.len < 0)
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

/* ---- 6 consume batch: topic, partition, offset, max_records, max_bytes, max_wait_ms ---- */

void np_encode_consume_batch(struct kc_writer *w, uint32_t corr,
                             const struct np_consume_batch_req *req)
{
    size_t at = np_begin_request(w, NP_CONSUME_BATCH, corr);
    np_write_slice_str(w, req->topic);
    kc_write_i32(w, req->partition);
    kc_write_i64(w, req->offset);
    kc_write_i32(w, req->max_records);
    kc_write_i32(w, req->max_bytes);
    kc_write_i32(w, req->max_wait_ms);
    np_end_frame(w, at, 0);
}

int np_decode_consume_batch(const uint8_t *body, size_t len, struct np_consume_batch_req *req)
{
    struct kc_reader r;
    struct np_consume_batch_req t;
    kc_reader_init(&r, body, len);
    int rc = np_read_name(&r, &t.topic) || kc_read_i32(&r, &t.partition) ||
             kc_read_i64(&r, &t.offset) || kc_read_i32(&r, &t.max_records) ||
             kc_read_i32(&r, &t.max_bytes) || kc_read_i32(&r, &t.max_wait_ms);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

/* ---- 7 metadata: topic:str? (null = all) ----------------------------------------------- */

void np_encode_metadata(struct kc_writer *w, uint32_t corr, const struct np_metadata_req *req)
{
    size_t at = np_begin_request(w, NP_METADATA, corr);
    np_write_slice_str(w, req->topic);
    np_end_frame(w, at, 0);
}

int np_decode_metadata(const uint8_t *body, size_t len, struct np_metadata_req *req)
{
    struct kc_reader r;
    struct np_metadata_req t;
    kc_reader_init(&r, body, len);
    if (np_done(&r, kc_read_str(&r, &t.topic)))
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

/* ---- 8 ping: payload:bytes ; 9 info: (empty) ------------------------------------------- */

void np_encode_ping(struct kc_writer *w, uint32_t corr, const struct np_ping_req *req)
{
    size_t at = np_begin_request(w, NP_PING, corr);
    np_write_slice_bytes(w, req->payload);
    np_end_frame(w, at, 0);
}

int np_decode_ping(const uint8_t *body, size_t len, struct np_ping_req *req)
{
    struct kc_reader r;
    struct np_ping_req t;
    kc_reader_init(&r, body, len);
    if (np_done(&r, kc_read_bytes(&r, &t.payload)))
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

void np_encode_info(struct kc_writer *w, uint32_t corr)
{
    size_t at = np_begin_request(w, NP_INFO, corr);
    np_end_frame(w, at, 0);
}

int np_decode_info(const uint8_t *body, size_t len)
{
    (void)body;
    return len == 0 ? 0 : KC_EMALFORMED;
}
