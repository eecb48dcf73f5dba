/*
 * kc_batch.h - Kafka's RecordBatch v2: the unit of storage and of transfer.
 *
 * Producers send batches, the log stores them byte for byte, consumers receive them back.
 * The broker only ever rewrites two fields, both ahead of the CRC'd bytes, so it never has
 * to re-encode (or decompress) what a client sent:
 *
 *   off  size  field                   notes
 *     0     8  baseOffset              producer sends 0; the log assigns it   <- rewritten
 *     8     4  batchLength             bytes after this field (total - 12)
 *    12     4  partitionLeaderEpoch                                           <- rewritten
 *    16     1  magic                   2
 *    17     4  crc                     CRC-32C of bytes 21..end
 *    21     2  attributes              bits 0-2 compression, 3 timestamp type,
 *                                      4 transactional, 5 control
 *    23     4  lastOffsetDelta         records - 1
 *    27     8  baseTimestamp           first record's timestamp (ms)
 *    35     8  maxTimestamp
 *    43     8  producerId              -1 unless idempotent
 *    51     2  producerEpoch           -1
 *    53     4  baseSequence            -1
 *    57     4  recordsCount
 *    61     .  records                 (one compressed blob when compression != 0)
 *
 *   record: length varint | attributes i8 | timestampDelta varlong | offsetDelta varint |
 *           keyLen varint, key | valueLen varint, value | headerCount varint,
 *           headers (keyLen varint, key | valueLen varint, value)...
 *   All varints here are zigzag; a length of -1 is null.
 *
 * Rules:
 *  - kc_batch_validate() is the gate for what PRODUCERS send: a batch that passed it has a
 *    consistent header, a matching CRC and (when uncompressed) records that parse exactly
 *    to the end with offsetDelta 0, 1, 2, ... Compressed batches are checked as far as the
 *    header and CRC go and are otherwise kept as they are (kc_codec.h looks inside).
 *  - kc_batch_header_decode() checks a producer's header (recordsCount = lastOffsetDelta
 *    + 1 >= 1). kc_batch_header_decode_stored() accepts what a COMPACTED log may hold, a
 *    little more: after compaction (appendLog's cleaner, Kafka's LogCleaner) a batch keeps
 *    its base offset and its lastOffsetDelta but only some of its records, so 0 <=
 *    recordsCount <= lastOffsetDelta + 1, and a batch whose records were all removed may
 *    remain as a 61-byte header with recordsCount 0 (its offsets stay accounted for).
 *  - The iterators read uncompressed batches only (KC_EUNSUPPORTED otherwise; kc_codec.h's
 *    kc_batch_reader reads any) and point into the batch: a kc_record is valid as long as
 *    the batch's bytes are.
 *  - The builder owns its buffer; the bytes kc_batch_builder_finish() returns are valid
 *    until the builder is reset or finalised.
 */
#ifndef KC_BATCH_H
#define KC_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"

#define KC_BATCH_OFF_BASE_OFFSET       0
#define KC_BATCH_OFF_LENGTH            8
#define KC_BATCH_OFF_LEADER_EPOCH      12
#define KC_BATCH_OFF_MAGIC             16
#define KC_BATCH_OFF_CRC               17
#define KC_BATCH_OFF_ATTRIBUTES        21
#define KC_BATCH_OFF_LAST_OFFSET_DELTA 23
#define KC_BATCH_OFF_BASE_TIMESTAMP    27
#define KC_BATCH_OFF_MAX_TIMESTAMP     35
#define KC_BATCH_OFF_PRODUCER_ID       43
#define KC_BATCH_OFF_PRODUCER_EPOCH    51
#define KC_BATCH_OFF_BASE_SEQUENCE     53
#define KC_BATCH_OFF_RECORDS_COUNT     57
#define KC_BATCH_HEADER_SIZE           61
#define KC_BATCH_LOG_OVERHEAD          12 /* baseOffset + batchLength */
#define KC_BATCH_MAGIC                 2

#define KC_BATCH_ATTR_COMPRESSION    0x07
#define KC_BATCH_ATTR_LOG_APPEND     0x08
#define KC_BATCH_ATTR_TRANSACTIONAL  0x10
#define KC_BATCH_ATTR_CONTROL        0x20
#define KC_BATCH_ATTR_DELETE_HORIZON 0x40

enum kc_compression {
    KC_COMPRESS_NONE = 0,
    KC_COMPRESS_GZIP = 1,
    KC_COMPRESS_SNAPPY = 2,
    KC_COMPRESS_LZ4 = 3,
    KC_COMPRESS_ZSTD = 4,
};

struct kc_batch_header {
    int64_t base_offset;
    int32_t batch_length;
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
};

/* Total size (12 + batchLength) of the batch at p; 0 or KC_ENEEDMORE / KC_EMALFORMED. */
int kc_batch_size(const uint8_t *p, size_t len, size_t *size);

/*
 * Decode the 61-byte header only (no CRC check). KC_ENEEDMORE below 61 bytes,
 * KC_EUNSUPPORTED for magic other than 2, KC_EMALFORMED for impossible lengths or counts
 * (recordsCount != lastOffsetDelta + 1, or < 1).
 */
int kc_batch_header_decode(const uint8_t *p, size_t len, struct kc_batch_header *h);
/* The same for a batch a compacted log holds: counts may be 0 <= recordsCount <=
 * lastOffsetDelta + 1 (see the rules above); KC_EMALFORMED beyond that. */
int kc_batch_header_decode_stored(const uint8_t *p, size_t len, struct kc_batch_header *h);

/*
 * Validate the batch at p (len may hold more bytes after it). Returns the batch's total
 * size (> 0) and fills *h (if not NULL), or: KC_ENEEDMORE (len ends inside the batch),
 * KC_ECRC, KC_EUNSUPPORTED (magic, compression codec > 4), KC_EMALFORMED (anything else).
 */
int kc_batch_validate(const uint8_t *p, size_t len, struct kc_batch_header *h);
/* The same for a batch read back from a log, which compaction may have thinned: records
 * may be fewer than the offsets the batch spans (none at all, even), each record's offset
 * above the one before it and within the span. For readers of stored data, never for
 * what a producer sends. */
int kc_batch_validate_stored(const uint8_t *p, size_t len, struct kc_batch_header *h);

static inline int64_t kc_batch_base_offset(const uint8_t *p)
{
    return (int64_t)kc_load_be64(p + KC_BATCH_OFF_BASE_OFFSET);
}

static inline int64_t kc_batch_last_offset(const uint8_t *p)
{
    return kc_batch_base_offset(p) + (int32_t)kc_load_be32(p + KC_BATCH_OFF_LAST_OFFSET_DELTA);
}

/* The two fields the broker may rewrite; both lie before the CRC'd bytes. */
static inline void kc_batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
    kc_store_be64(p + KC_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

/*
 * partitionLeaderEpoch (bytes 12..15): the epoch of the leader that appended the batch. A
 * leader stamps it in place on every batch it appends; a follower keeps what it copied.
 * It lies OUTSIDE the CRC (which covers bytes 21..end) on purpose, like baseOffset: the
 * producer computes the CRC before any broker knows the epoch or the offset, and a broker
 * must set both without re-encoding. So stamping it never invalidates the CRC, and the
 * CRC never vouches for it: an epoch corrupted on disk is not caught by the batch's own
 * check (recovery's offset continuity guards the base offset; nothing guards the epoch,
 * in Kafka either).
 */
static inline void kc_batch_set_leader_epoch(uint8_t *p, int32_t epoch)
{
    kc_store_be32(p + KC_BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

static inline int32_t kc_batch_leader_epoch(const uint8_t *p)
{
    return (int32_t)kc_load_be32(p + KC_BATCH_OFF_LEADER_EPOCH);
}

/* One record, pointing into its batch. key/value are NULL when their length is -1. */
struct kc_record {
    int64_t offset;
    int64_t timestamp;
    int8_t attributes;
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    int32_t header_count;
    const uint8_t *headers; /* header_count encoded headers; walk with kc_header_iter */
    size_t headers_len;
};

struct kc_header {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value; /* NULL when value_len is -1 */
    int32_t value_len;
};

struct kc_record_iter {
    const uint8_t *p;
    const uint8_t *end;
    int64_t base_offset;
    int64_t base_timestamp;
    int32_t count;
    int32_t index;
};

/*
 * Start iterating the uncompressed batch at p (the header must be readable; records are
 * parsed, and checked, one by one). KC_EUNSUPPORTED for compressed batches.
 */
int kc_record_iter_init(struct kc_record_iter *it, const uint8_t *p, size_t len);
/* 1 and *rec filled, 0 at the end, or KC_EMALFORMED. */
int kc_record_iter_next(struct kc_record_iter *it, struct kc_record *rec);

struct kc_header_iter {
    const uint8_t *p;
    const uint8_t *end;
    int32_t left;
};

void kc_header_iter_init(struct kc_header_iter *it, const struct kc_record *rec);
/* 1 and *hdr filled, 0 at the end, or KC_EMALFORMED. */
int kc_header_iter_next(struct kc_header_iter *it, struct kc_header *hdr);

/* Header fields a builder writes as given (the rest it computes). */
struct kc_batch_opts {
    int64_t base_offset;
    int32_t leader_epoch;
    int16_t attributes; /* compression bits are ignored: the builder writes plain records */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
};

/*
 * Rebuilding a stored batch (the log cleaner) needs three things a producer's batch does
 * not: the records section compressed again with the batch's codec (finished by
 * kc_batch_builder_finish_codec, kc_codec.h), the original lastOffsetDelta kept although
 * records were dropped (gaps; none left at all gives a 61-byte record-less batch), a
 * fixed base timestamp (Kafka's delete horizon, KIP-534) that record deltas are relative
 * to, and a fixed maxTimestamp (a LogAppendTime batch's, which is not its records' own).
 * All zero is the plain builder.
 */
struct kc_batch_rebuild {
    int codec;
    bool keep_last_offset_delta;
    int32_t last_offset_delta;
    bool keep_base_timestamp;
    int64_t base_timestamp;
    bool keep_max_timestamp; /* a LogAppendTime batch's time, or a record-less batch's */
    int64_t max_timestamp;
};

/* base_offset 0, leader epoch -1, attributes 0, no producer id: what a plain producer sends. */
void kc_batch_opts_default(struct kc_batch_opts *o);

struct kc_batch_builder {
    struct kc_writer w;
    struct kc_batch_opts opts;
    struct kc_batch_rebuild rb;
    int32_t count;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int32_t last_delta; /* the last record's offset delta, -1 before the first */
};

/* opts may be NULL (defaults). limit bounds the batch's total size (0 = none). */
void kc_batch_builder_init(struct kc_batch_builder *b, const struct kc_batch_opts *opts,
                           size_t limit);
void kc_batch_builder_fini(struct kc_batch_builder *b);
/* Empty the builder for the next batch, keeping its buffer and options. */
void kc_batch_builder_reset(struct kc_batch_builder *b);
/* Rebuild settings (above), before the first record is added. */
void kc_batch_builder_set_rebuild(struct kc_batch_builder *b, const struct kc_batch_rebuild *rb);

/*
 * Add a record. key/value may be NULL (null, whatever the length says); headers may be
 * NULL when nheaders is 0. Returns 0, or KC_ETOOLARGE (the batch would pass the limit;
 * nothing was added), -ENOMEM, or -EINVAL (negative lengths other than null).
 */
int kc_batch_builder_add(struct kc_batch_builder *b, int64_t timestamp, const void *key,
                         int32_t key_len, const void *value, int32_t value_len,
                         const struct kc_header *headers, int32_t nheaders);

/*
 * Add a record read from another batch (the rebuilder's path): its timestamp, key, value
 * and encoded headers as they are, at offset delta `delta`, which must lie above the
 * previous record's (-EINVAL otherwise). Returns as kc_batch_builder_add.
 */
int kc_batch_builder_add_record(struct kc_batch_builder *b, const struct kc_record *rec,
                                int32_t delta);

static inline int32_t kc_batch_builder_count(const struct kc_batch_builder *b)
{
    return b->count;
}

/*
 * Fill in the header (lengths, counts, timestamps, CRC) and return the finished batch.
 * -EINVAL for an empty batch (unless rb.keep_last_offset_delta: then a record-less
 * 61-byte header), for a kept lastOffsetDelta below the last record's, and for rb.codec
 * != 0 (compressing is kc_batch_builder_finish_codec's, in kc_codec.h, so that programs
 * that never compress do not link the codec libraries). The bytes stay valid until reset
 * or fini; the caller may modify the base offset and leader epoch in place.
 */
int kc_batch_builder_finish(struct kc_batch_builder *b, uint8_t **batch, size_t *len);

/* Internal (common/src): shared by the plain and the compressing finish. */
int kc__batch_builder_prepare(struct kc_batch_builder *b, int32_t *last);
void kc__batch_write_header(const struct kc_batch_builder *b, uint8_t *p, size_t size,
                            int32_t last_delta, int codec);

#endif
