/*
 * batch.c - RecordBatch v2: header decoding, validation and record iteration.
 *
 * Validation is the gate between the network and the log. It proves, in this order:
 * the length field fits what arrived, the magic is 2, the CRC-32C over bytes 21..end
 * matches, the header's counts agree with each other, and (for uncompressed batches) that
 * the records parse exactly to the end of the batch with offset deltas 0, 1, 2, ...
 * Everything is checked against the buffer's bounds first, so a hostile length can make
 * this fail but never read outside the buffer.
 */
#include "kc_batch.h"
#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_varint.h"

static int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* The smallest batchLength: everything after the length field up to the records. */
#define MIN_BATCH_LENGTH (KC_BATCH_HEADER_SIZE - KC_BATCH_LOG_OVERHEAD)

int kc_batch_size(const uint8_t *p, size_t len, size_t *size)
{
    if (len < KC_BATCH_LOG_OVERHEAD)
        return KC_ENEEDMORE;
    int32_t batch_length = (int32_t)kc_load_be32(p + KC_BATCH_OFF_LENGTH);
    if (batch_length < MIN_BATCH_LENGTH || batch_length > INT32_MAX - KC_BATCH_LOG_OVERHEAD)
        return KC_EMALFORMED;
    *size = (size_t)batch_length + KC_BATCH_LOG_OVERHEAD;
    return 0;
}

/* Size, magic and every field; no consistency checks between the fields yet. */
static int header_fill(const uint8_t *p, size_t len, struct kc_batch_header *h)
{
    size_t size;
    int rc = kc_batch_size(p, len, &size);
    if (rc)
        return rc;
    if (len > KC_BATCH_OFF_MAGIC && (int8_t)p[KC_BATCH_OFF_MAGIC] != KC_BATCH_MAGIC)
        return KC_EUNSUPPORTED; /* magic 0/1 are the pre-0.11 message sets */
    if (len < KC_BATCH_HEADER_SIZE)
        return KC_ENEEDMORE;
    h->base_offset = (int64_t)kc_load_be64(p + KC_BATCH_OFF_BASE_OFFSET);
    h->batch_length = (int32_t)(size - KC_BATCH_LOG_OVERHEAD);
    h->leader_epoch = (int32_t)kc_load_be32(p + KC_BATCH_OFF_LEADER_EPOCH);
    h->magic = (int8_t)p[KC_BATCH_OFF_MAGIC];
    h->crc = kc_load_be32(p + KC_BATCH_OFF_CRC);
    h->attributes = (int16_t)kc_load_be16(p + KC_BATCH_OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)kc_load_be32(p + KC_BATCH_OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)kc_load_be64(p + KC_BATCH_OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)kc_load_be64(p + KC_BATCH_OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)kc_load_be64(p + KC_BATCH_OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)kc_load_be16(p + KC_BATCH_OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)kc_load_be32(p + KC_BATCH_OFF_BASE_SEQUENCE);
    h->records_count = (int32_t)kc_load_be32(p + KC_BATCH_OFF_RECORDS_COUNT);
    return 0;
}

/* What a producer sends: records 0..count-1, at least one. */
static int header_counts_agree(const struct kc_batch_header *h)
{
    if (h->records_count < 1 || h->last_offset_delta != h->records_count - 1)
        return KC_EMALFORMED;
    return 0;
}

/* What a log may hold: compaction keeps lastOffsetDelta and drops records, maybe all. */
static int header_counts_possible(const struct kc_batch_header *h)
{
    if (h->last_offset_delta < 0 || h->records_count < 0 ||
        h->records_count > h->last_offset_delta + 1LL)
        return KC_EMALFORMED;
    return 0;
}

int kc_batch_header_decode(const uint8_t *p, size_t len, struct kc_batch_header *h)
{
    int rc = header_fill(p, len, h);
    return rc ? rc : header_counts_agree(h);
}

int kc_batch_header_decode_stored(const uint8_t *p, size_t len, struct kc_batch_header *h)
{
    int rc = header_fill(p, len, h);
    return rc ? rc : header_counts_possible(h);
}

/*
 * Decode one record's fields from r, which spans exactly the record's body (the bytes
 * after its length varint). Running short inside a record is malformed, not "need more":
 * the record's own length said the bytes were there.
 */
static int record_body_decode(struct kc_reader *r, struct kc_record *rec, int32_t *delta)
{
    int8_t attributes;
    int64_t ts_delta;
    int32_t key_len, value_len, header_count;
    const uint8_t *key = NULL, *value = NULL;

    if (kc_read_i8(r, &attributes) || kc_read_varlong(r, &ts_delta) ||
        kc_read_varint(r, delta) || kc_read_varint(r, &key_len))
        return KC_EMALFORMED;
    if (key_len < -1 || (key_len >= 0 && kc_read_raw(r, (size_t)key_len, &key)))
        return KC_EMALFORMED;
    if (kc_read_varint(r, &value_len) || value_len < -1 ||
        (value_len >= 0 && kc_read_raw(r, (size_t)value_len, &value)))
        return KC_EMALFORMED;
    if (kc_read_varint(r, &header_count) || header_count < 0 ||
        (size_t)header_count > kc_reader_left(r) / 2)
        return KC_EMALFORMED;

    rec->attributes = attributes;
    rec->timestamp = ts_delta; /* made absolute by the caller */
    rec->key = key;
    rec->key_len = key_len;
    rec->value = value;
    rec->value_len = value_len;
    rec->header_count = header_count;
    rec->headers = r->p + r->pos;
    rec->headers_len = kc_reader_left(r);

    /* Walk the headers now so that the record is known to end exactly where it says. */
    struct kc_header_iter hi;
    struct kc_header hdr;
    int rc;
    kc_header_iter_init(&hi, rec);
    while ((rc = kc_header_iter_next(&hi, &hdr)) == 1)
        ;
    if (rc < 0 || hi.p != hi.end)
        return KC_EMALFORMED;
    return 0;
}

int kc_record_iter_init(struct kc_record_iter *it, const uint8_t *p, size_t len)
{
    struct kc_batch_header h;
    /* The stored rules: a compacted batch may hold fewer records than its offsets span
     * (the producers' gate, kc_batch_validate, checks the strict counts before this). */
    int rc = kc_batch_header_decode_stored(p, len, &h);
    if (rc)
        return rc;
    size_t size = (size_t)h.batch_length + KC_BATCH_LOG_OVERHEAD;
    if (len < size)
        return KC_ENEEDMORE;
    if (h.attributes & KC_BATCH_ATTR_COMPRESSION)
        return KC_EUNSUPPORTED;
    it->p = p + KC_BATCH_HEADER_SIZE;
    it->end = p + size;
    it->base_offset = h.base_offset;
    it->base_timestamp = h.base_timestamp;
    it->count = h.records_count;
    it->index = 0;
    return 0;
}

int kc_record_iter_next(struct kc_record_iter *it, struct kc_record *rec)
{
    if (it->index == it->count)
        return it->p == it->end ? 0 : KC_EMALFORMED;

    int32_t body_len, delta;
    int n = kc_varint_decode(it->p, (size_t)(it->end - it->p), &body_len);
    if (n < 0 || body_len < 0 || (size_t)body_len > (size_t)(it->end - it->p) - (size_t)n)
        return KC_EMALFORMED;

    struct kc_reader r;
    kc_reader_init(&r, it->p + n, (size_t)body_len);
    struct kc_record tmp;
    if (record_body_decode(&r, &tmp, &delta))
        return KC_EMALFORMED;
    /* Hostile bases plus deltas may overflow: wrap (defined) rather than overflow (UB).
     * Such offsets are nonsense, and the log's continuity check refuses them. */
    tmp.offset = wrap_add(it->base_offset, delta);
    tmp.timestamp = wrap_add(it->base_timestamp, tmp.timestamp);
    *rec = tmp;
    it->p += (size_t)n + (size_t)body_len;
    it->index++;
    return 1;
}

void kc_header_iter_init(struct kc_header_iter *it, const struct kc_record *rec)
{
    it->p = rec->headers;
    it->end = rec->headers + rec->headers_len;
    it->left = rec->header_count;
}

int kc_header_iter_next(struct kc_header_iter *it, struct kc_header *hdr)
{
    if (it->left == 0)
        return 0;
    struct kc_reader r;
    int32_t key_len, value_len;
    const uint8_t *key, *value = NULL;
    kc_reader_init(&r, it->p, (size_t)(it->end - it->p));
    if (kc_read_varint(&r, &key_len) || key_len < 0 || kc_read_raw(&r, (size_t)key_len, &key))
        return KC_EMALFORMED; /* header keys are strings and never null */
    if (kc_read_varint(&r, &value_len) || value_len < -1 ||
        (value_len >= 0 && kc_read_raw(&r, (size_t)value_len, &value)))
        return KC_EMALFORMED;
    hdr->key = key;
    hdr->key_len = key_len;
    hdr->value = value;
    hdr->value_len = value_len;
    it->p += r.pos;
    it->left--;
    return 1;
}

/* Uncompressed records must parse exactly to the end, with offset deltas 0, 1, 2, ... */
static int validate_records(const uint8_t *p, size_t size)
{
    struct kc_record_iter it;
    struct kc_record rec;
    int rc = kc_record_iter_init(&it, p, size);
    if (rc)
        return rc;
    int64_t expect = it.base_offset;
    while ((rc = kc_record_iter_next(&it, &rec)) == 1) {
        if (rec.offset != expect)
            return KC_EMALFORMED;
        expect = wrap_add(expect, 1);
    }
    return rc;
}

/* A stored batch's records (a compacted log's: gaps allowed): they parse exactly to the
 * end, their offsets rise strictly and stay within the batch's span. */
static int validate_stored_records(const uint8_t *p, size_t size, const struct kc_batch_header *h)
{
    struct kc_record_iter it;
    struct kc_record rec;
    int64_t last = h->base_offset - 1, top = h->base_offset + h->last_offset_delta;
    int rc = kc_record_iter_init(&it, p, size);
    while (rc == 0 && (rc = kc_record_iter_next(&it, &rec)) == 1) {
        if (rec.offset <= last || rec.offset > top)
            return KC_EMALFORMED;
        last = rec.offset;
        rc = 0;
    }
    return rc;
}

/* Both validators: the frame, the CRC, the counts and the records, by the producers' strict
 * rules or by what a log may hold after compaction. */
static int batch_check(const uint8_t *p, size_t len, struct kc_batch_header *out, bool stored)
{
    struct kc_batch_header h;
    int rc = header_fill(p, len, &h);
    if (rc)
        return rc;
    size_t size = (size_t)h.batch_length + KC_BATCH_LOG_OVERHEAD;
    if (len < size)
        return KC_ENEEDMORE;
    /* CRC first: a flipped bit anywhere it covers must read as corruption. */
    uint32_t crc = kc_crc32c(0, p + KC_BATCH_OFF_ATTRIBUTES, size - KC_BATCH_OFF_ATTRIBUTES);
    if (crc != h.crc)
        return KC_ECRC;
    if ((rc = stored ? header_counts_possible(&h) : header_counts_agree(&h)) != 0)
        return rc;
    /* A log's offsets are never negative, and its last one fits (the offsets compared by
     * validate_stored_records are then free of overflow; the iterator wraps the rest). */
    if (stored && (h.base_offset < 0 || h.base_offset > INT64_MAX - h.last_offset_delta))
        return KC_EMALFORMED;
    if ((h.attributes & KC_BATCH_ATTR_COMPRESSION) > KC_COMPRESS_ZSTD)
        return KC_EUNSUPPORTED;
    if (!(h.attributes & KC_BATCH_ATTR_COMPRESSION)) {
        rc = stored ? validate_stored_records(p, size, &h) : validate_records(p, size);
        if (rc)
            return rc;
    }
    if (out)
        *out = h;
    return (int)size;
}

int kc_batch_validate(const uint8_t *p, size_t len, struct kc_batch_header *out)
{
    return batch_check(p, len, out, false);
}

int kc_batch_validate_stored(const uint8_t *p, size_t len, struct kc_batch_header *out)
{
    return batch_check(p, len, out, true);
}
