/*
 * batch_build.c - building a RecordBatch v2 the way Kafka's producers do.
 *
 * The builder reserves the 61-byte header, appends records one at a time (each prefixed
 * by its own length, which is why a record's size is computed before it is written), and
 * at the end fills in the header and the CRC-32C over bytes 21..end. The first record's
 * timestamp becomes the batch's base timestamp; every record stores its delta from it.
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
}

void kc_batch_builder_fini(struct kc_batch_builder *b)
{
    kc_writer_fini(&b->w);
}

void kc_batch_builder_reset(struct kc_batch_builder *b)
{
    kc_writer_reset(&b->w);
    b->count = 0;
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

int kc_batch_builder_add(struct kc_batch_builder *b, int64_t timestamp, const void *key,
                         int32_t key_len, const void *value, int32_t value_len,
                         const struct kc_header *headers, int32_t nheaders)
{
    int64_t klen, vlen, hk, hv;
    if (field_len(key, key_len, &klen) || field_len(value, value_len, &vlen) || nheaders < 0)
        return -EINVAL;
    int64_t base_ts = b->count == 0 ? timestamp : b->base_timestamp;
    int64_t ts_delta = timestamp - base_ts;

    uint64_t body = 1 + kc_varlong_size(ts_delta) + kc_varint_size(b->count) +
                    field_size(klen) + field_size(vlen) + kc_varint_size(nheaders);
    for (int32_t i = 0; i < nheaders; i++) {
        if (field_len(headers[i].key, headers[i].key_len, &hk) || hk < 0 ||
            field_len(headers[i].value, headers[i].value_len, &hv))
            return -EINVAL;
        body += field_size(hk) + field_size(hv);
    }
    if (body > INT32_MAX)
        return KC_ETOOLARGE;
    uint64_t total = kc_varint_size((int32_t)body) + body;
    size_t header = b->w.len == 0 ? KC_BATCH_HEADER_SIZE : 0;
    if (b->w.limit && b->w.len + header + total > b->w.limit)
        return KC_ETOOLARGE;
    if (header && !kc_writer_reserve(&b->w, header))
        return kc_writer_error(&b->w);

    struct kc_writer *w = &b->w;
    kc_write_varint(w, (int32_t)body);
    kc_write_i8(w, 0); /* record attributes: unused in v2 */
    kc_write_varlong(w, ts_delta);
    kc_write_varint(w, b->count); /* offsetDelta */
    write_field(w, key, klen);
    write_field(w, value, vlen);
    kc_write_varint(w, nheaders);
    for (int32_t i = 0; i < nheaders; i++) {
        write_field(w, headers[i].key, headers[i].key_len);
        write_field(w, headers[i].value, headers[i].value ? headers[i].value_len : -1);
    }
    if (kc_writer_error(w))
        return kc_writer_error(w);
    if (b->count++ == 0)
        b->base_timestamp = b->max_timestamp = timestamp;
    if (timestamp > b->max_timestamp)
        b->max_timestamp = timestamp;
    return 0;
}

int kc_batch_builder_finish(struct kc_batch_builder *b, uint8_t **batch, size_t *len)
{
    if (kc_writer_error(&b->w))
        return kc_writer_error(&b->w);
    if (b->count == 0)
        return -EINVAL;
    uint8_t *p = kc_writer_data(&b->w);
    size_t size = kc_writer_len(&b->w);
    const struct kc_batch_opts *o = &b->opts;

    kc_store_be64(p + KC_BATCH_OFF_BASE_OFFSET, (uint64_t)o->base_offset);
    kc_store_be32(p + KC_BATCH_OFF_LENGTH, (uint32_t)(size - KC_BATCH_LOG_OVERHEAD));
    kc_store_be32(p + KC_BATCH_OFF_LEADER_EPOCH, (uint32_t)o->leader_epoch);
    p[KC_BATCH_OFF_MAGIC] = KC_BATCH_MAGIC;
    kc_store_be16(p + KC_BATCH_OFF_ATTRIBUTES,
                  (uint16_t)(o->attributes & ~KC_BATCH_ATTR_COMPRESSION));
    kc_store_be32(p + KC_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(b->count - 1));
    kc_store_be64(p + KC_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
    kc_store_be64(p + KC_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
    kc_store_be64(p + KC_BATCH_OFF_PRODUCER_ID, (uint64_t)o->producer_id);
    kc_store_be16(p + KC_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)o->producer_epoch);
    kc_store_be32(p + KC_BATCH_OFF_BASE_SEQUENCE, (uint32_t)o->base_sequence);
    kc_store_be32(p + KC_BATCH_OFF_RECORDS_COUNT, (uint32_t)b->count);
    /* The CRC covers everything from the attributes on, so it goes in last. */
    kc_store_be32(p + KC_BATCH_OFF_CRC,
                  kc_crc32c(0, p + KC_BATCH_OFF_ATTRIBUTES, size - KC_BATCH_OFF_ATTRIBUTES));
    *batch = p;
    *len = size;
    return 0;
}
