/*
 * produce_check.c - what one Produce partition's records field must be, in Kafka's order,
 * before the core appends it.
 *
 * The field should be exactly one RecordBatch v2 (magic 2), the unit the log stores and
 * Fetch serves back byte for byte. The checks run in the order Kafka runs them, because a
 * client acts on the first error it gets:
 *
 *   the request                     acks not -1/0/1 -> INVALID_REQUIRED_ACKS 21;
 *                                   a transactional_id -> 43 (no transactions here)
 *   ProduceRequest.validateRecords  no batch, more than one, magic != 2 -> INVALID_RECORD 87
 *                                   (magic 0/1 are the message formats Kafka 4.0 dropped)
 *   the batch framing               a length below even the v2 header -> CORRUPT_MESSAGE 2
 *   LogValidator                    counts that disagree, a control batch from a client
 *                                   -> 87; codec id 5-7, or zstd before Produce v7 -> 76
 *   transactions                    the transactional bit -> UNSUPPORTED_FOR_MESSAGE_FORMAT
 *                                   43: no transactions here; clients treat 43 as fatal.
 *                                   A producer id alone (idempotence) goes on: the log
 *                                   checks its sequence with the append (alog_producer.h):
 *                                   45 OUT_OF_ORDER_SEQUENCE_NUMBER, 47 INVALID_PRODUCER_
 *                                   EPOCH, a duplicate answered with its original offset
 *
 * Two checks are left to brk_produce, which makes them anyway while appending: the CRC-32C
 * over the batch (CORRUPT_MESSAGE) and the parsing of every record (INVALID_RECORD). Doing
 * them here too would read every produced byte twice: with both passes, perf put 25-35% of
 * the broker's samples in validation on a kcat produce, with one pass 14%.
 */
#include <errno.h>

#include "kafka_int.h"

/* Exactly one whole v2 batch? Kafka's ByteBufferLogInputStream + validateRecords order: a
 * length below even the legacy minimum (14) is corrupt; a legacy message (magic 0/1) is
 * an invalid record for Produce v3+; a v2 batch shorter than its own header is corrupt. */
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

/* What the header's attributes and producer fields allow. */
static int16_t check_flags(const struct kc_batch_header *h, int16_t version)
{
    if ((h->attributes & KC_BATCH_ATTR_COMPRESSION) > KC_COMPRESS_ZSTD)
        return KP_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    if (h->attributes & KC_BATCH_ATTR_CONTROL)
        return KP_ERR_INVALID_RECORD; /* clients may not write control records */
    if (h->attributes & KC_BATCH_ATTR_TRANSACTIONAL)
        return KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT; /* no transactions here */
    if ((h->attributes & KC_BATCH_ATTR_COMPRESSION) == KC_COMPRESS_ZSTD && version < 7)
        return KP_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    return KP_ERR_NONE;
}

int16_t brk__kafka_produce_check(int16_t acks, struct kc_slice transactional_id,
                                 int16_t version, struct kc_slice records)
{
    struct kc_batch_header h;
    if (acks != -1 && acks != 0 && acks != 1)
        return KP_ERR_INVALID_REQUIRED_ACKS;
    if (transactional_id.len >= 0)
        return KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    int16_t err = check_framing(records);
    if (err)
        return err;
    if (kc_batch_header_decode(records.p, (size_t)records.len, &h) != 0)
        return KP_ERR_INVALID_RECORD; /* counts that disagree (framing checked the rest) */
    return check_flags(&h, version);
}

int16_t brk__kafka_produce_error(int rc)
{
    switch (rc) {
    case KC_ETOOLARGE:
        return KP_ERR_MESSAGE_TOO_LARGE;
    case KC_ECRC:
        return KP_ERR_CORRUPT_MESSAGE;
    case KC_EMALFORMED:
    case KC_EUNSUPPORTED:
        return KP_ERR_INVALID_RECORD; /* control batches: Kafka's 87 too */
    case KC_ENOPARTITION:
    case KC_ENOTOPIC:
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    case KC_ESEQUENCE: /* the log's producer state (alog_producer.h) */
        return KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case KC_EFENCED:
        return KP_ERR_INVALID_PRODUCER_EPOCH;
    case -ETIMEDOUT: /* its log did not open within the request's timeout */
        return KP_ERR_REQUEST_TIMED_OUT;
    default:
        return KP_ERR_KAFKA_STORAGE_ERROR; /* -EIO, -ENOSPC, a failed fsync: clients retry */
    }
}
