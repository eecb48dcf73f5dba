/*
 * response.c - encoders and decoders of the native protocol's response bodies.
 *
 * The one variable-length raw field, consume-batch's records, is the last thing in its
 * response, so the broker can encode everything before it (the length included, since it
 * knows the file slice's size) and then hand the socket the file range to sendfile.
 */
#include "kc_err.h"
#include "np.h"
#include "np_int.h"

#define NP_PART_META_SIZE 20 /* partition:i32, log_start:i64, log_end:i64 */

static int np_done(const struct kc_reader *r, int rc)
{
    return rc != 0 || kc_reader_left(r) != 0 ? KC_EMALFORMED : 0;
}

static bool np_has_log_range(int cmd)
{
    return cmd == NP_CONSUME || cmd == NP_CONSUME_BATCH;
}

/* ---- errors: message:str? [log_start:i64, log_end:i64 for 2 and 6] [mechanisms for 10] - */

void np_encode_error_resp(struct kc_writer *w, int cmd, uint32_t corr, int16_t error,
                          const char *message, int64_t log_start, int64_t log_end)
{
    size_t at = np_begin_response(w, cmd, corr, error);
    kc_write_cstr(w, message);
    if (np_has_log_range(cmd)) {
        kc_write_i64(w, log_start);
        kc_write_i64(w, log_end);
    }
    if (cmd == NP_SASL_HANDSHAKE) /* an error other than the mechanism's: no list to give */
        np__write_mechanisms(w, NULL, 0);
    np_end_frame(w, at, 0);
}

int np_decode_error_resp(const uint8_t *body, size_t len, int cmd, struct np_error_resp *resp)
{
    struct kc_reader r;
    struct np_error_resp t = {.log_start = -1, .log_end = -1, .mechanisms = {0, NULL, 0}};
    kc_reader_init(&r, body, len);
    int rc = kc_read_str(&r, &t.message);
    if (!rc && np_has_log_range(cmd))
        rc = kc_read_i64(&r, &t.log_start) || kc_read_i64(&r, &t.log_end);
    if (!rc && cmd == NP_SASL_HANDSHAKE)
        rc = np__read_mechanisms(&r, &t.mechanisms);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

/* ---- 0 create topic: partitions:i32 ---------------------------------------------------- */

void np_encode_create_topic_resp(struct kc_writer *w, uint32_t corr,
                                 const struct np_create_topic_resp *resp)
{
    size_t at = np_begin_response(w, NP_CREATE_TOPIC, corr, NP_E_NONE);
    kc_write_i32(w, resp->partitions);
    np_end_frame(w, at, 0);
}

int np_decode_create_topic_resp(const uint8_t *body, size_t len,
                                struct np_create_topic_resp *resp)
{
    struct kc_reader r;
    struct np_create_topic_resp t;
    kc_reader_init(&r, body, len);
    if (np_done(&r, kc_read_i32(&r, &t.partitions)))
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

/* ---- 1 produce: partition:i32, offset:i64 ---------------------------------------------- */

void np_encode_produce_resp(struct kc_writer *w, uint32_t corr,
                            const struct np_produce_resp *resp)
{
    size_t at = np_begin_response(w, NP_PRODUCE, corr, NP_E_NONE);
    kc_write_i32(w, resp->partition);
    kc_write_i64(w, resp->offset);
    np_end_frame(w, at, 0);
}

int np_decode_produce_resp(const uint8_t *body, size_t len, struct np_produce_resp *resp)
{
    struct kc_reader r;
    struct np_produce_resp t;
    kc_reader_init(&r, body, len);
    int rc = kc_read_i32(&r, &t.partition) || kc_read_i64(&r, &t.offset);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

/* ---- 2 consume: log_start, log_end, offset, timestamp, key:bytes?, value:bytes? -------- */

void np_encode_consume_resp(struct kc_writer *w, uint32_t corr,
                            const struct np_consume_resp *resp)
{
    size_t at = np_begin_response(w, NP_CONSUME, corr, NP_E_NONE);
    kc_write_i64(w, resp->log_start);
    kc_write_i64(w, resp->log_end);
    kc_write_i64(w, resp->offset);
    kc_write_i64(w, resp->timestamp);
    kc_write_bytes(w, resp->key.p, resp->key.len);
    kc_write_bytes(w, resp->value.p, resp->value.len);
    np_end_frame(w, at, 0);
}

int np_decode_consume_resp(const uint8_t *body, size_t len, struct np_consume_resp *resp)
{
    struct kc_reader r;
    struct np_consume_resp t;
    kc_reader_init(&r, body, len);
    int rc = kc_read_i64(&r, &t.log_start) || kc_read_i64(&r, &t.log_end) ||
             kc_read_i64(&r, &t.offset) || kc_read_i64(&r, &t.timestamp) ||
             kc_read_bytes(&r, &t.key) || kc_read_bytes(&r, &t.value);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

/* ---- 3 commit: (empty) ----------------------------------------------------------------- */

void np_encode_commit_resp(struct kc_writer *w, uint32_t corr)
{
    size_t at = np_begin_response(w, NP_COMMIT, corr, NP_E_NONE);
    np_end_frame(w, at, 0);
}

int np_decode_commit_resp(const uint8_t *body, size_t len)
{
    (void)body;
    return len == 0 ? 0 : KC_EMALFORMED;
}

/* ---- 4 fetch offset: offset:i64, metadata:str? ----------------------------------------- */

void np_encode_fetch_offset_resp(struct kc_writer *w, uint32_t corr,
                                 const struct np_fetch_offset_resp *resp)
{
    size_t at = np_begin_response(w, NP_FETCH_OFFSET, corr, NP_E_NONE);
    kc_write_i64(w, resp->offset);
    kc_write_str(w, (const char *)resp->metadata.p, resp->metadata.len);
    np_end_frame(w, at, 0);
}

int np_decode_fetch_offset_resp(const uint8_t *body, size_t len,
                                struct np_fetch_offset_resp *resp)
{
    struct kc_reader r;
    struct np_fetch_offset_resp t;
    kc_reader_init(&r, body, len);
    int rc = kc_read_i64(&r, &t.offset) || kc_read_str(&r, &t.metadata);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

/* ---- 5 produce batch: partition:i32, base_offset:i64, count:i32 ------------------------ */

void np_encode_produce_batch_resp(struct kc_writer *w, uint32_t corr,
                                  const struct np_produce_batch_resp *resp)
{
    size_t at = np_begin_response(w, NP_PRODUCE_BATCH, corr, NP_E_NONE);
    kc_write_i32(w, resp->partition);
    kc_write_i64(w, resp->base_offset);
    kc_write_i32(w, resp->count);
    np_end_frame(w, at, 0);
}

int np_decode_produce_batch_resp(const uint8_t *body, size_t len,
                                 struct np_produce_batch_resp *resp)
{
    struct kc_reader r;
    struct np_produce_batch_resp t;
    kc_reader_init(&r, body, len);
    int rc = kc_read_i32(&r, &t.partition) || kc_read_i64(&r, &t.base_offset) ||
             kc_read_i32(&r, &t.count);
    if (np_done(&r, rc))
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

/* ---- 6 consume batch: log_start:i64, log_end:i64, records:bytes (last) ----------------- */

void np_encode_consume_batch_head(struct kc_writer *w, uint32_t corr, int64_t log_start,
                                  int64_t log_end, size_t records_len)
{
    size_t at = np_begin_response(w, NP_CONSUME_BATCH, corr, NP_E_NONE);
    kc_write_i64(w, log_start);
    kc_write_i64(w, log_end);
    if (records_len > INT32_MAX && !w->err)
        w->err = KC_ETOOLARGE;
    kc_write_i32(w, (int32_t)records_len);
    np_end_frame(w, at, records_len);
}

void np_encode_consume_batch_resp(struct kc_writer *w, uint32_t corr,
                                  const struct np_consume_batch_resp *resp)
{
    size_t n = resp->records.len > 0 ? (size_t)resp->records.len : 0;
    np_encode_consume_batch_head(w, corr, resp->log_start, resp->log_end, n);
    kc_write_raw(w, resp->records.p, n);
}

int np_decode_consume_batch_resp(const uint8_t *body, size_t len,
                                 struct np_consume_batch_resp *resp)
{
    struct kc_reader r;
    struct np_consume_batch_resp t;
    kc_reader_init(&r, body, len);
    int rc = kc_read_i64(&r, &t.log_start) || kc_read_i64(&r, &t.log_end) ||
             kc_read_bytes(&r, &t.records);
    if (np_done(&r, rc) || t.records.len < 0)
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

/* ---- 7 metadata: topics[name:str, partitions[partition:i32, start:i64, end:i64]] ------- */

size_t np_encode_metadata_begin(struct kc_writer *w, uint32_t corr, int32_t ntopics)
{
    size_t at = np_begin_response(w, NP_METADATA, corr, NP_E_NONE);
    kc_write_i32(w, ntopics);
    return at;
}

void np_encode_metadata_topic(struct kc_writer *w, const char *name, int32_t npartitions)
{
    kc_write_cstr(w, name);
    kc_write_i32(w, npartitions);
}

void np_encode_metadata_part(struct kc_writer *w, const struct np_partition_meta *pm)
{
    kc_write_i32(w, pm->partition);
    kc_write_i64(w, pm->log_start);
    kc_write_i64(w, pm->log_end);
}

/* One topic entry: a non-null name and a partition array that fits in what is left. */
static int np_skip_topic(struct kc_reader *r, struct np_topic_meta *tm)
{
    if (kc_read_str(r, &tm->name) != 0 || tm->name.len < 0)
        return KC_EMALFORMED;
    if (kc_read_array_len(r, NP_PART_META_SIZE, &tm->npartitions) != 0 || tm->npartitions < 0)
        return KC_EMALFORMED;
    tm->parts = r->p + r->pos;
    return kc_read_skip(r, (size_t)tm->npartitions * NP_PART_META_SIZE) ? KC_EMALFORMED : 0;
}

int np_decode_metadata_resp(const uint8_t *body, size_t len, struct np_metadata_resp *resp)
{
    struct kc_reader r;
    struct np_topic_meta tm;
    int32_t n;
    kc_reader_init(&r, body, len);
    if (kc_read_array_len(&r, 6, &n) != 0 || n < 0) /* smallest topic: "" and 0 partitions */
        return KC_EMALFORMED;
    size_t start = r.pos;
    for (int32_t i = 0; i < n; i++)
        if (np_skip_topic(&r, &tm) != 0)
            return KC_EMALFORMED;
    if (kc_reader_left(&r) != 0)
        return KC_EMALFORMED;
    resp->ntopics = n;
    resp->p = body + start;
    resp->len = len - start;
    return 0;
}

void np_metadata_iter_init(struct np_metadata_iter *it, const struct np_metadata_resp *resp)
{
    kc_reader_init(&it->r, resp->p, resp->len);
    it->left = resp->ntopics;
}

int np_metadata_next(struct np_metadata_iter *it, struct np_topic_meta *tm)
{
    if (it->left <= 0 || np_skip_topic(&it->r, tm) != 0)
        return 0;
    it->left--;
    return 1;
}

void np_metadata_part(const struct np_topic_meta *tm, int32_t i, struct np_partition_meta *pm)
{
    const uint8_t *p = tm->parts + (size_t)i * NP_PART_META_SIZE;
    pm->partition = (int32_t)kc_load_be32(p);
    pm->log_start = (int64_t)kc_load_be64(p + 4);
    pm->log_end = (int64_t)kc_load_be64(p + 12);
}

/* ---- 8 ping: payload:bytes ; 9 info: version:str, four i32 ----------------------------- */

void np_encode_ping_resp(struct kc_writer *w, uint32_t corr, const struct np_ping_resp *resp)
{
    size_t at = np_begin_response(w, NP_PING, corr, NP_E_NONE);
    kc_write_bytes(w, resp->payload.p, resp->payload.len);
    np_end_frame(w, at, 0);
}

int np_decode_ping_resp(const uint8_t *body, size_t len, struct np_ping_resp *resp)
{
    struct kc_reader r;
    struct np_ping_resp t;
    kc_reader_init(&r, body, len);
    if (np_done(&r, kc_read_bytes(&r, &t.payload)))
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

void np_encode_info_resp(struct kc_writer *w, uint32_t corr, const struct np_info_resp *resp)
{
    size_t at = np_begin_response(w, NP_INFO, corr, NP_E_NONE);
    kc_write_str(w, (const char *)resp->version.p, resp->version.len);
    kc_write_i32(w, resp->max_request_bytes);
    kc_write_i32(w, resp->max_message_bytes);
    kc_write_i32(w, resp->default_partitions);
    kc_write_i32(w, resp->network_threads);
    np_end_frame(w, at, 0);
}

int np_decode_info_resp(const uint8_t *body, size_t len, struct np_info_resp *resp)
{
    struct kc_reader r;
    struct np_info_resp t;
    kc_reader_init(&r, body, len);
    int rc = kc_read_str(&r, &t.version) || kc_read_i32(&r, &t.max_request_bytes) ||
             kc_read_i32(&r, &t.max_message_bytes) || kc_read_i32(&r, &t.default_partitions) ||
             kc_read_i32(&r, &t.network_threads);
    if (np_done(&r, rc) || t.version.len < 0)
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}
