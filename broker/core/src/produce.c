/*
 * produce.c - the produce path every protocol shares: validate, append, acknowledge.
 *
 *   batch (from the wire, in the connection's input buffer)
 *     -> kc_batch_validate: one whole RecordBatch v2, CRC-32C right, counts consistent
 *     -> alog_append: the log gives it its offsets (rewriting base offset in place) and
 *        writes it to the active segment, in the page cache
 *        (the log itself wakes the long-polls watching it, on any loop: appendLog's
 *        end watches)
 *     -> acks 0/1: done. acks=all: the request's park holds, and alog_wait_durable(end of
 *        this batch) asks the flusher; it fsyncs the segment once for every waiter it has
 *        by then (group commit) and calls back on its thread; the callback settles the
 *        park, whose finish runs on the connection's loop and writes the answer.
 *
 * A connection that pipelines acks=all produces does not wait for each fsync in turn: each
 * request is appended at once and parks its answer, so all of them ride on the same fsync.
 */
#include <errno.h>
#include <stddef.h>

#include "brk_int.h"
#include "kc_codec.h"

int32_t brk_partition_pick(struct part_topic *t, const void *key, int32_t key_len)
{
    if (key && key_len >= 0)
        return part_for_key(key, (size_t)key_len, part_topic_partitions(t));
    return part_next_round_robin(t);
}

/* On the flusher thread: the batch is on disk (err 0) or will not be. */
static void produce_durable(void *arg, int err)
{
    struct brk_produce *p = arg;
    p->err = err;
    brk_park_settle(p->park);
}

/* The checks Kafka's LogValidator makes before an append, for what this broker stores. */
static int produce_check(const struct brk_server *srv, const uint8_t *batch, size_t len,
                         struct kc_batch_header *h)
{
    (void)srv; /* the size limit is the topic's (max.message.bytes): alog_append's check */
    int size = kc_batch_validate(batch, len, h);
    if (size == KC_ENEEDMORE || (size > 0 && (size_t)size != len))
        return KC_EMALFORMED; /* cut short, or more than one batch */
    if (size < 0)
        return size;
    if (h->attributes & KC_BATCH_ATTR_CONTROL)
        return KC_EUNSUPPORTED; /* transaction markers are the broker's to write */
    return 0;
}

/*
 * message.timestamp.type=LogAppendTime: the broker's clock, not the producer's, is the
 * batch's time. As Kafka's LogValidator does for the v2 format: the timestamp-type bit in
 * the attributes and the max timestamp set to now (the records keep their deltas; readers
 * use the max timestamp for every record of such a batch), then the CRC again, since both
 * fields lie under it. Two fields and one CRC pass: the batch is never re-encoded.
 */
static void stamp_append_time(uint8_t *batch, size_t len, int64_t now_ms)
{
    enum { ATTRS = 21, MAX_TS = 35, CRC = 17 };
    kc_store_be16(batch + ATTRS, (uint16_t)(kc_load_be16(batch + ATTRS) | KC_BATCH_ATTR_LOG_APPEND));
    kc_store_be64(batch + MAX_TS, (uint64_t)now_ms);
    kc_store_be32(batch + CRC, kc_crc32c(0, batch + ATTRS, len - ATTRS));
}

/*
 * A CreateTime batch's max timestamp is what the time index and ListOffsets trust; some
 * producers leave it -1 (or below their records'). Kafka's LogValidator sets it to the
 * largest record timestamp; so does this, where it is visibly wrong (below the batch's
 * base timestamp, which every record's delta is counted from): the records are read
 * (decompressed if need be), the field written, the CRC computed again. A batch whose
 * field is plausible is not opened: the broker does not decompress what it need not.
 */
static int fix_max_timestamp(uint8_t *batch, size_t len, const struct kc_batch_header *h)
{
    enum { ATTRS = KC_BATCH_OFF_ATTRIBUTES, MAX_TS = KC_BATCH_OFF_MAX_TIMESTAMP };
    if ((h->attributes & KC_BATCH_ATTR_LOG_APPEND) || h->max_timestamp >= h->base_timestamp ||
        h->records_count == 0)
        return 0;
    struct kc_batch_reader br;
    struct kc_record rec;
    int64_t max = h->base_timestamp;
    int rc = kc_batch_reader_open(&br, batch, len, BRK_COMPACT_INFLATE_MAX);
    if (rc)
        return rc == KC_ETOOLARGE || rc == -ENOMEM ? rc : KC_EMALFORMED;
    while ((rc = kc_batch_reader_next(&br, &rec)) == 1)
        max = KC_MAX(max, rec.timestamp);
    kc_batch_reader_close(&br);
    if (rc < 0)
        return rc;
    kc_store_be64(batch + MAX_TS, (uint64_t)max);
    kc_store_be32(batch + KC_BATCH_OFF_CRC, kc_crc32c(0, batch + ATTRS, len - ATTRS));
    return 0;
}

/*
 * cleanup.policy=compact: every record needs a key, or the cleaner could keep nothing of it
 * (it drops keyless records). Kafka refuses such a batch whole ("Compacted topic cannot
 * accept message without key": INVALID_RECORD), after looking inside a compressed one;
 * so does this. 0, KC_EUNSUPPORTED (a record without a key), KC_EMALFORMED, KC_ETOOLARGE.
 */
static int check_keys(const uint8_t *batch, size_t len)
{
    struct kc_batch_reader br;
    struct kc_record rec;
    int rc = kc_batch_reader_open(&br, batch, len, BRK_COMPACT_INFLATE_MAX);
    if (rc)
        return rc == KC_ETOOLARGE || rc == -ENOMEM ? rc : KC_EMALFORMED;
    while ((rc = kc_batch_reader_next(&br, &rec)) == 1) {
        if (rec.key_len < 0) {
            rc = KC_EUNSUPPORTED;
            break;
        }
    }
    kc_batch_reader_close(&br);
    return rc < 0 ? rc : 0;
}

int brk_produce(struct brk_server *srv, struct brk_produce *p, struct brk_park *park)
{
    struct kc_batch_header h;
    int64_t base;
    struct alog *log = part_topic_log(p->topic, p->partition);
    if (!log)
        return KC_ENOPARTITION;
    int rc = produce_check(srv, p->batch, p->len, &h);
    if (rc == 0 && (part_topic_flags(p->topic) & BRK_TOPIC_COMPACT))
        rc = check_keys(p->batch, p->len);
    if (rc == 0)
        rc = fix_max_timestamp(p->batch, p->len, &h);
    if (rc)
        return rc;
    if (part_topic_flags(p->topic) & BRK_TOPIC_LOG_APPEND_TIME)
        stamp_append_time(p->batch, p->len, kc_wall_ms());
    p->kerr = 0;
    if (srv->cops && srv->cops->produce) /* a cluster: through the partition's replica */
        return srv->cops->produce(srv->cops_arg, p, log, park, h.records_count);
    rc = alog_append(log, p->batch, p->len, &base);
    if (rc)
        return rc;
    p->base_offset = base;
    p->count = h.records_count;
    p->err = 0;
    if (p->acks != -1 || !park)
        return 1;
    p->park = park;
    brk_park_hold(park);
    /* Durability point for acks=all: the answer waits until every offset below
     * base + count is fsynced. */
    rc = alog_wait_durable(log, base + h.records_count, produce_durable, p);
    if (rc == 0)
        return 0;
    brk_park_settle(park); /* no callback will come: give the hold back */
    return rc > 0 ? 1 : rc;
}
