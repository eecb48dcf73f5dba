/*
 * producer_snapshot.c - the producer state snapshot file, byte for byte as Kafka writes
 * it (ProducerStateManager.writeSnapshot / readSnapshot), so that Kafka's own tools read
 * ours and ours reads theirs.
 *
 *   00000000000000076000.snapshot: the state of every producer below offset 76000
 *
 *   +---------+-------------+-----------+----------------------------------------------+
 *   | version | crc         | count     | entries: count x 46 bytes                    |
 *   | int16 1 | uint32      | int32     |                                              |
 *   +---------+-------------+-----------+----------------------------------------------+
 *   0         2             6           10
 *                           \___________ CRC-32C covers these bytes, to the end ________/
 *
 *   entry: producer_id int64 | epoch int16 | last_sequence int32 | last_offset int64 |
 *          offset_delta int32 | timestamp int64 | coordinator_epoch int32 |
 *          current_txn_first_offset int64                                (big-endian)
 *
 * Kafka keeps one entry per producer: its LAST batch. This log writes one entry per
 * remembered batch (up to five per producer, oldest first), in the same layout, so that a
 * producer retrying any of its last five batches after a restart still finds them. A
 * Kafka broker reading such a file keeps the last entry of each producer (its map put),
 * which is exactly the entry it would have written itself.
 *
 * The decoder is strict where Kafka's is loose: bytes after the last entry are refused
 * (Kafka ignores them, though the CRC covers them). A file is whole or not: a prefix of a
 * snapshot is KC_ENEEDMORE, which the loader treats as damage.
 */
#include "producer_int.h"
#include "kc_buf.h"
#include "kc_crc32c.h"
#include "kc_err.h"

#define OFF_VERSION 0
#define OFF_CRC     2
#define OFF_COUNT   6

int alog_snapshot_decode(const uint8_t *p, size_t len, int32_t *count)
{
    if (len < ALOG_SNAPSHOT_HEADER)
        return KC_ENEEDMORE;
    if ((int16_t)kc_load_be16(p + OFF_VERSION) != ALOG_SNAPSHOT_VERSION)
        return KC_EUNSUPPORTED;
    int32_t n = (int32_t)kc_load_be32(p + OFF_COUNT);
    if (n < 0)
        return KC_EMALFORMED;
    uint64_t want = ALOG_SNAPSHOT_HEADER + (uint64_t)n * ALOG_SNAPSHOT_ENTRY;
    if (len < want)
        return KC_ENEEDMORE;
    if (len > want)
        return KC_EMALFORMED;
    uint32_t crc = kc_crc32c(0, p + OFF_COUNT, len - OFF_COUNT);
    if (crc != kc_load_be32(p + OFF_CRC))
        return KC_ECRC;
    *count = n;
    return 0;
}

void alog_snapshot_entry_at(const uint8_t *p, int32_t i, struct alog_snapshot_entry *e)
{
    const uint8_t *q = p + ALOG_SNAPSHOT_HEADER + (size_t)i * ALOG_SNAPSHOT_ENTRY;
    e->producer_id = (int64_t)kc_load_be64(q);
    e->epoch = (int16_t)kc_load_be16(q + 8);
    e->last_sequence = (int32_t)kc_load_be32(q + 10);
    e->last_offset = (int64_t)kc_load_be64(q + 14);
    e->offset_delta = (int32_t)kc_load_be32(q + 22);
    e->timestamp = (int64_t)kc_load_be64(q + 26);
    e->coordinator_epoch = (int32_t)kc_load_be32(q + 34);
    e->txn_first_offset = (int64_t)kc_load_be64(q + 38);
}

int alog_snapshot_encode(struct kc_writer *w, const struct alog_snapshot_entry *e, int32_t n)
{
    size_t start = kc_writer_len(w);
    kc_write_i16(w, ALOG_SNAPSHOT_VERSION);
    kc_write_u32(w, 0); /* the CRC, once the bytes it covers are written */
    kc_write_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        kc_write_i64(w, e[i].producer_id);
        kc_write_i16(w, e[i].epoch);
        kc_write_i32(w, e[i].last_sequence);
        kc_write_i64(w, e[i].last_offset);
        kc_write_i32(w, e[i].offset_delta);
        kc_write_i64(w, e[i].timestamp);
        kc_write_i32(w, e[i].coordinator_epoch);
        kc_write_i64(w, e[i].txn_first_offset);
    }
    int rc = kc_writer_error(w);
    if (rc)
        return rc;
    uint8_t *p = kc_writer_data(w) + start;
    size_t len = kc_writer_len(w) - start;
    kc_store_be32(p + OFF_CRC, kc_crc32c(0, p + OFF_COUNT, len - OFF_COUNT));
    return 0;
}
