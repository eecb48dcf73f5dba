/*
 * produce.c - Produce v3-7: batches in, offsets out.
 *
 *   request   transactional_id str?, acks i16, timeout_ms i32,
 *             [topic str, [partition i32, records bytes?]]        (identical in v3-v7)
 *   response  [topic str, [partition i32, error i16, base_offset i64,
 *                          log_append_time i64, log_start_offset i64 (v5+)]],
 *             throttle_time_ms i32                                 <- last, not first
 *
 * The records field of each partition should be exactly one RecordBatch v2 (magic 2),
 * the unit the log stores and Fetch serves back byte for byte. kp_produce_check decides,
 * in Kafka's order, which error a partition gets if it is not:
 *
 *   ProduceRequest.validateRecords (InvalidRecordException -> INVALID_RECORD 87)
 *     no batch at all, more than one batch, magic != 2
 *   the batch itself (CorruptRecordException -> CORRUPT_MESSAGE 2)
 *     batchLength below the header size, CRC-32C mismatch
 *   LogValidator (INVALID_RECORD 87 / UNSUPPORTED_COMPRESSION_TYPE 76)
 *     counts that disagree, records that do not parse, control batches from a client,
 *     zstd before Produce v7, an unknown codec id
 *   this broker keeps no producer state (UNSUPPORTED_FOR_MESSAGE_FORMAT 43)
 *     transactional_id set, transactional bit, producer id >= 0 (idempotence)
 */
#include <errno.h>

#include "kc_err.h"
#include "kp_int.h"

int kp__dec_produce(struct kp__dec *d, struct kp_produce_req *req)
{
    req->transactional_id = kp__rd_nstr(d);
    req->acks = kp__rd_i16(d);
    req->timeout_ms = kp__rd_i32(d);
    req->ntopics = kp__rd_array(d, 6, false, (void **)&req->topics, sizeof(*req->topics));
    for (int32_t i = 0; i < req->ntopics && !d->err; i++) {
        struct kp_produce_topic *t = &req->topics[i];
        t->name = kp__rd_str(d);
        t->nparts = kp__rd_array(d, 8, false, (void **)&t->parts, sizeof(*t->parts));
        for (int32_t j = 0; j < t->nparts && !d->err; j++) {
            struct kp_produce_part *p = &t->parts[j];
            p->index = kp__rd_i32(d);
            p->records = kp__rd_nbytes(d);
            p->error = KP_ERR_UNKNOWN_SERVER_ERROR;
            p->base_offset = -1;
            p->log_append_time = -1;
            p->log_start_offset = -1;
        }
    }
    return d->err;
}

/*
 * What the records field holds: exactly one whole v2 batch, or a Kafka error. The order
 * follows Kafka's ByteBufferLogInputStream + validateRecords: a length below even the
 * legacy minimum (14) is corrupt; a legacy message (magic 0/1) is an invalid record for
 * Produce v3+; a v2 batch shorter than its own header is corrupt.
 */
static int16_t check_framing(struct kc_slice records)
{
    if (records.len < KC_BATCH_LOG_OVERHEAD)
        return KP_ERR_INVALID_RECORD; /* null, empty, or no complete batch header */
    const uint8_t *p = records.p;
    size_t len = (size_t)records.len;
    int32_t batch_length = (int32_t)kc_load_be32(p + KC_BATCH_OFF_LENGTH);
    if (batch_length < 14)
        return KP_ERR_CORRUPT_MESSAGE;
    if ((size_t)batch_length > len - KC_BATCH_LOG_OVERHEAD)
        return KP_ERR_INVALID_RECORD; /* the only batch is cut short: none is whole */
    if ((int8_t)p[KC_BATCH_OFF_MAGIC] != KC_BATCH_MAGIC)
        return KP_ERR_INVALID_RECORD; /* v3+ requests carry magic 2 only */
    size_t size;
    if (kc_batch_size(p, len, &size))
        return KP_ERR_CORRUPT_MESSAGE; /* below the v2 header size */
    if (size < len)
        return KP_ERR_INVALID_RECORD; /* "more than one batch" (or trailing bytes) */
    return KP_ERR_NONE;
}

/* Map kc_batch_validate's verdict to Kafka's code (framing was checked first). */
static int16_t check_batch(struct kc_slice records, struct kc_batch_header *h)
{
    int rc = kc_batch_validate(records.p, (size_t)records.len, h);
    if (rc > 0)
        return KP_ERR_NONE;
    switch (rc) {
    case KC_ECRC:
        return KP_ERR_CORRUPT_MESSAGE;
    case KC_EUNSUPPORTED:
        return KP_ERR_UNSUPPORTED_COMPRESSION_TYPE; /* codec 5-7: magic was checked */
    default:
        return KP_ERR_INVALID_RECORD; /* counts or records malformed (CRC was fine) */
    }
}

/* What the request itself allows: acks, and no transaction. */
static int16_t check_request(const struct kp_produce_req *req)
{
    if (req->acks != -1 && req->acks != 0 && req->acks != 1)
        return KP_ERR_INVALID_REQUIRED_ACKS;
    if (req->transactional_id.len >= 0)
        return KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    return KP_ERR_NONE;
}

/* What the header's attributes and producer fields allow. */
static int16_t check_flags(const struct kc_batch_header *h, int16_t version)
{
    if (h->attributes & KC_BATCH_ATTR_CONTROL)
        return KP_ERR_INVALID_RECORD; /* clients may not write control records */
    if ((h->attributes & KC_BATCH_ATTR_TRANSACTIONAL) || h->producer_id >= 0)
        return KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    if ((h->attributes & KC_BATCH_ATTR_COMPRESSION) == KC_COMPRESS_ZSTD && version < 7)
        return KP_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    return KP_ERR_NONE;
}

int16_t kp_produce_check(const struct kp_produce_req *req, int16_t version,
                         struct kc_slice records, struct kc_batch_header *out)
{
    struct kc_batch_header h;
    int16_t err = check_request(req);
    if (!err)
        err = check_framing(records);
    if (!err)
        err = check_batch(records, &h);
    if (!err)
        err = check_flags(&h, version);
    if (!err && out)
        *out = h;
    return err;
}

int16_t kp_produce_precheck(const struct kp_produce_req *req, int16_t version,
                            struct kc_slice records, struct kc_batch_header *out)
{
    struct kc_batch_header h;
    int16_t err = check_request(req);
    if (!err)
        err = check_framing(records);
    if (!err && kc_batch_header_decode(records.p, (size_t)records.len, &h) != 0)
        err = KP_ERR_INVALID_RECORD; /* counts that disagree (framing checked the rest) */
    if (!err && (h.attributes & KC_BATCH_ATTR_COMPRESSION) > KC_COMPRESS_ZSTD)
        err = KP_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    if (!err)
        err = check_flags(&h, version);
    if (!err && out)
        *out = h;
    return err;
}

int kp_encode_produce(struct kc_writer *w, const struct kp_header *h,
                      const struct kp_produce_req *req)
{
    if (!kp__ver_in(h, 3, 7))
        return -EINVAL;
    size_t start = kp__resp_begin(w, h);
    kc_write_i32(w, req->ntopics);
    for (int32_t i = 0; i < req->ntopics; i++) {
        const struct kp_produce_topic *t = &req->topics[i];
        kp__wr_str(w, t->name);
        kc_write_i32(w, t->nparts);
        for (int32_t j = 0; j < t->nparts; j++) {
            const struct kp_produce_part *p = &t->parts[j];
            kc_write_i32(w, p->index);
            kc_write_i16(w, p->error);
            kc_write_i64(w, p->base_offset);
            kc_write_i64(w, p->log_append_time);
            if (h->api_version >= 5)
                kc_write_i64(w, p->log_start_offset);
        }
    }
    kc_write_i32(w, 0); /* throttle_time_ms: at the end in Produce */
    return kp__resp_end(w, start, 0);
}
