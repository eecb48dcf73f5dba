/*
 * batch_build.c - building a RecordBatch v2 the way Kafka's producers do.
 *
 * The builder reserves the 61-byte header, appends records one at a time (each prefixed
 * by its own length, which is why a record's size is computed before it is written), and
 * at the end fills in the header and the CRC-32C over bytes 21..end. The first record's
 * timestamp becomes the batch's base timestamp; every record stores its delta from it.
 *
 * The same builder rebuilds stored batches (appendLog's cleaner): records are added with
 * the offset deltas they had (gaps allowed), the original lastOffsetDelta and, for a batch
 * that holds tombstones, a delete horizon in place of the base timestamp (Kafka's KIP-534)
 * are kept, and the records section is compressed again with the batch's codec.
 */
#include <errno.h>
#include <string.h>

#include "kc_batch.h"
#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_varint.h"

void kc_batch_opts_default(struct kc_batch_opts *o)
{
    o->base_offset = 0;
    o->leader_epoch = -1;
    o->attributes = 0;
    o->producer_id = -1;
    o->producer_epoch = -1;
    o->base_sequence = -1;
}

void kc_batch_builder_init(struct kc_batch_builder *b, const struct kc_batch_opts *opts,
                           size_t limit)
{
    memset(b, 0, sizeof(*b));
    if (opts)
        b->opts = *opts;
    else
        kc_batch_opts_default(&b->opts);
    kc_writer_init(&b->w, limit);
    b->last_delta = -1;
}

void kc_batch_builder_fini(struct kc_batch_builder *b)
{
    kc_writer_fini(&b->w);
}

void kc_batch_builder_set_rebuild(struct kc_batch_builder *b, const struct kc_batch_rebuild *rb)
{
    b->rb = *rb;
}

void kc_batch_builder_reset(struct kc_batch_builder *b)
{
    kc_writer_reset(&b->w);
    b->count = 0;
    b->last_delta = -1;
}

/* A length field's value: -1 for null, else the length (negative lengths are invalid). */
static int field_len(const void *p, int32_t len, int64_t *out)
{
    if (!p || len == -1) {
        *out = -1;
        return 0;
    }
    if (len < 0)
        return -EINVAL;
    *out = len;
    return 0;
}

static uint64_t field_size(int64_t len)
{
    return kc_varint_size((int32_t)len) + (uint64_t)(len > 0 ? len : 0);
}

static void write_field(struct kc_writer *w, const void *p, int64_t len)
{
    kc_write_varint(w, (int32_t)len);
    if (len > 0)
        kc_write_raw(w, p, (size_t)len);
}

/* One record's fields as the builder writes them: either decoded headers (add) or the
 * encoded header bytes of a record read from another batch (add_record). */
struct rec_fields {
    int32_t delta;
    int64_t ts_delta;
    const void *key, *value;
    int64_t klen, vlen;
    const struct kc_header *headers;
    int32_t nheaders;
    const uint8_t *raw_headers; /* with nheaders encoded headers of raw_len bytes */
    size_t raw_len;
};

/* The record's body size (everything after its length varint); -EINVAL for bad headers. */
static int body_size(const struct rec_fields *f, uint64_t *size)
{
    int64_t hk, hv;
    uint64_t body = 1 + kc_varlong_size(f->ts_delta) + kc_varint_size(f->delta) +
                    field_size(f->klen) + field_size(f->vlen) + kc_varint_size(f->nheaders);
    if (f->raw_headers)
        body += f->raw_len;
    for (int32_t i = 0; !f->raw_headers && i < f->nheaders; i++) {
        const struct kc_header *h = &f->headers[i];
        if (field_len(h->key, h->key_len, &hk) || hk < 0 || field_len(h->value, h->value_len, &hv))
            return -EINVAL;
        body += field_size(hk) + field_size(hv);
    }
    *size = body;
    return 0;
}

static void write_record(struct kc_writer *w, const struct rec_fields *f, uint64_t body)
{
    kc_write_varint(w, (int32_t)body);
    kc_write_i8(w, 0); /* record attributes: unused in v2 */
    kc_write_varlong(w, f->ts_delta);
    kc_write_varint(w, f->delta); /* offsetDelta */
    write_field(w, f->key, f->klen);
    write_field(w, f->value, f->vlen);
    kc_write_varint(w, f->nheaders);
    if (f->raw_headers) {
        kc_write_raw(w, f->raw_headers, f->raw_len);
        return;
    }
    for (int32_t i = 0; i < f->nheaders; i++) {
        const struct kc_header *h = &f->headers[i];
        write_field(w, h->key, h->key_len);
        write_field(w, h->value, h->value ? h->value_len : -1);
    }
}

static int64_t base_timestamp_for(const struct kc_batch_builder *b, int64_t timestamp)
{
    if (b->rb.keep_base_timestamp)
        return b->rb.base_timestamp;
    return b->count == 0 ? timestamp : b->base_timestamp;
}

static int add_fields(struct kc_batch_builder *b, int64_t timestamp, struct rec_fields *f)
{
    uint64_t body;
    if (f->nheaders < 0 || f->delta <= b->last_delta)
        return -EINVAL;
    f->ts_delta = timestamp - base_timestamp_for(b, timestamp);
    int rc = body_size(f, &body);
    if (rc)
        return rc;
    if (body > INT32_MAX)
        return KC_ETOOLARGE;
    uint64_t total = kc_varint_size((int32_t)body) + body;
    size_t header = b->w.len == 0 ? KC_BATCH_HEADER_SIZE : 0;
    if (b->w.limit && b->w.len + header + total > b->w.limit)
        return KC_ETOOLARGE;
    if (header && !kc_writer_reserve(&b->w, header))
        return kc_writer_error(&b->w);
    write_record(&b->w, f, body);
    if (kc_writer_error(&b->w))
        return kc_writer_error(&b->w);
    if (b->count == 0) {
        b->base_timestamp = base_timestamp_for(b, timestamp);
        b->max_timestamp = timestamp;
    }
    b->count++;
    if (timestamp > b->max_timestamp)
        b->max_timestamp = timestamp;
    b->last_delta = f->delta;
    return 0;
}

int kc_batch_builder_add(struct kc_batch_builder *b, int64_t timestamp, const void *key,
                         int32_t key_len, const void *value, int32_t value_len,
                         const struct kc_header *headers, int32_t nheaders)
{
    struct rec_fields f = {.delta = b->last_delta + 1, .key = key, .value = value,
                           .headers = headers, .nheaders = nheaders};
    if (field_len(key, key_len, &f.klen) || field_len(value, value_len, &f.vlen))
        return -EINVAL;
    return add_fields(b, timestamp, &f);
}

int kc_batch_builder_add_record(struct kc_batch_builder *b, const struct kc_record *rec,
                                int32_t delta)
{
    struct rec_fields f = {.delta = delta, .key = rec->key, .value = rec->value,
                           .klen = rec->key ? rec->key_len : -1,
                           .vlen = rec->value ? rec->value_len : -1,
                           .nheaders = rec->header_count, .raw_headers = rec->headers,
                           .raw_len = rec->headers_len};
    if (!f.raw_headers) /* a record with no header bytes at all */
        f.raw_headers = (const uint8_t *)"";
    return add_fields(b, rec->timestamp, &f);
}

/* Header fields and CRC over the finished bytes (batch_codec.c uses it too). */
void kc__batch_write_header(const struct kc_batch_builder *b, uint8_t *p, size_t size,
                            int32_t last_delta, int codec)
{
    const struct kc_batch_opts *o = &b->opts;
    const struct kc_batch_rebuild *rb = &b->rb;
    int64_t base_ts = b->count ? b->base_timestamp : rb->keep_base_timestamp ? rb->base_timestamp : -1;
    int64_t max_ts = rb->keep_max_timestamp ? rb->max_timestamp
                     : b->count             ? b->max_timestamp
                                            : base_ts;
    uint16_t attrs = (uint16_t)((o->attributes & ~KC_BATCH_ATTR_COMPRESSION) | codec);
    kc_store_be64(p + KC_BATCH_OFF_BASE_OFFSET, (uint64_t)o->base_offset);
    kc_store_be32(p + KC_BATCH_OFF_LENGTH, (uint32_t)(size - KC_BATCH_LOG_OVERHEAD));
    kc_store_be32(p + KC_BATCH_OFF_LEADER_EPOCH, (uint32_t)o->leader_epoch);
    p[KC_BATCH_OFF_MAGIC] = KC_BATCH_MAGIC;
    kc_store_be16(p + KC_BATCH_OFF_ATTRIBUTES, attrs);
    kc_store_be32(p + KC_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)last_delta);
    kc_store_be64(p + KC_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)base_ts);
    kc_store_be64(p + KC_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
    kc_store_be64(p + KC_BATCH_OFF_PRODUCER_ID, (uint64_t)o->producer_id);
    kc_store_be16(p + KC_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)o->producer_epoch);
    kc_store_be32(p + KC_BATCH_OFF_BASE_SEQUENCE, (uint32_t)o->base_sequence);
    kc_store_be32(p + KC_BATCH_OFF_RECORDS_COUNT, (uint32_t)b->count);
    /* The CRC covers everything from the attributes on, so it goes in last. */
    kc_store_be32(p + KC_BATCH_OFF_CRC,
                  kc_crc32c(0, p + KC_BATCH_OFF_ATTRIBUTES, size - KC_BATCH_OFF_ATTRIBUTES));
}

int kc__batch_builder_prepare(struct kc_batch_builder *b, int32_t *last)
{
    const struct kc_batch_rebuild *rb = &b->rb;
    if (kc_writer_error(&b->w))
        return kc_writer_error(&b->w);
    if (b->count == 0 && !rb->keep_last_offset_delta)
        return -EINVAL;
    *last = rb->keep_last_offset_delta ? rb->last_offset_delta : b->count - 1;
    if (*last < b->last_delta || *last < 0)
        return -EINVAL;
    if (b->count == 0 && !kc_writer_reserve(&b->w, KC_BATCH_HEADER_SIZE))
        return kc_writer_error(&b->w); /* a record-less batch: the header alone */
    return 0;
}

int kc_batch_builder_finish(struct kc_batch_builder *b, uint8_t **batch, size_t *len)
{
    int32_t last;
    if (b->rb.codec) /* kc_batch_builder_finish_codec compresses; never silently plain */
        return -EINVAL;
    int rc = kc__batch_builder_prepare(b, &last);
    if (rc)
        return rc;
    uint8_t *p = kc_writer_data(&b->w);
    size_t size = kc_writer_len(&b->w);
    kc__batch_write_header(b, p, size, last, 0);
    *batch = p;
    *len = size;
    return 0;
}
