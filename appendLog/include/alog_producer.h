/*
 * alog_producer.h - idempotent producers: the state a log keeps per producer id, checked
 * and updated under the same lock as the append, snapshotted beside the segments.
 *
 * (Contract header. appendLog/README.md, "Idempotent producers", is the lesson;
 * src/producer_state.c and src/producer_snapshot.c teach the two halves.)
 *
 * A producer that retries a batch after a timeout cannot know whether the first attempt
 * was written. Kafka's answer (KIP-98): the producer gets an id and an epoch
 * (InitProducerId), numbers its batches per partition (base sequence 0, 1, 2, ...: one
 * number per record), and the partition remembers, per producer, the last five batches it
 * wrote. A batch it has seen is answered with its original offsets and not written again;
 * a gap in the numbers is refused. So retries create no duplicates.
 *
 *   batch (producer 7, epoch 0, sequences 10..14)
 *     epoch older than the log's for 7              -> KC_EFENCED    (INVALID_PRODUCER_EPOCH)
 *     same epoch, sequences of one of the last five -> duplicate: its original offsets
 *     same epoch, first sequence != last + 1         -> KC_ESEQUENCE  (OUT_OF_ORDER_SEQUENCE)
 *     a new epoch whose first sequence is not 0      -> KC_ESEQUENCE
 *     a producer the log does not know              -> accepted, whatever its sequence
 *                                                      (Kafka 3.x, KIP-360: the state may
 *                                                      have expired or been cut away)
 *     else                                          -> appended; remembered
 *
 * Rules:
 *  - Every append of a batch with a producer id >= 0 goes through this check, whichever
 *    function appends it (alog_append too), atomically with the write: under the log's
 *    append lock, so two connections of one producer can never both pass it. A batch
 *    without a producer id (-1) is not looked at: it costs one comparison.
 *  - The state survives restarts: a snapshot (Kafka's <offset>.snapshot file) is written
 *    at every segment roll and at a clean close; an open loads the newest readable
 *    snapshot at or below the log's end and replays the batches after it. A damaged
 *    snapshot is skipped (the log is read instead), never fatal.
 *  - Idle producers are forgotten by alog_producers_expire (producer.id.expiration.ms after
 *    their last batch's timestamp); snapshots taken afterwards leave them out.
 *  - Control batches (transaction markers) are the broker's to write, not producers':
 *    this state has no transactions (coordinator epoch -1, no open transaction).
 */
#ifndef ALOG_PRODUCER_H
#define ALOG_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alog.h"
#include "kc_buf.h"

/* Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: a producer with at most five requests
 * in flight per connection (librdkafka's and the Java client's limit with idempotence)
 * can retry any of them. */
#define ALOG_PRODUCER_BATCHES 5

/* What an append did with a batch. */
struct alog_appended {
    int64_t base_offset; /* its first offset; a duplicate: the original batch's */
    int64_t last_offset;
    int64_t timestamp;   /* a duplicate: the original's max timestamp (Kafka answers it as
                            the log append time); otherwise -1 */
    bool duplicate;      /* nothing was written: the batch was already in the log */
};

/*
 * Append one validated batch, as alog_append does, with the producer check above first.
 * 0 and *out (appended, or a duplicate: out->duplicate, nothing written); KC_ESEQUENCE;
 * KC_EFENCED; KC_EMALFORMED for a producer id with a negative base sequence (Kafka's
 * InvalidRecordException); every error of alog_append. Nothing is written and the state
 * is unchanged on any error. Locks: the log's append lock, as alog_append.
 */
int alog_append_batch(struct alog *log, uint8_t *batch, size_t len, struct alog_appended *out);

/*
 * The same, stamping leader_epoch (>= 0) into the batch's partitionLeaderEpoch instead of
 * 0: a replicated partition's leader writes its epoch into every batch (KIP-101), which
 * its followers copy byte for byte and rebuild their epoch caches from. The field lies
 * before the CRC'd bytes, so the stamp costs a store, not a CRC pass. A duplicate keeps
 * the epoch it was first written with.
 */
int alog_append_epoch(struct alog *log, uint8_t *batch, size_t len, int32_t leader_epoch,
                      struct alog_appended *out);

/*
 * The same, only if the log ends at `base` (checked under the append lock, with the
 * write): else -ESTALE, nothing written, no producer state touched. A replicated leader
 * appends so, its replica's end in hand: a heal that cut the log (alog_recover, which
 * holds the append lock) can then never slip between its look at the log and its write,
 * and give the lost records' offsets to new ones unseen.
 */
int alog_append_epoch_at(struct alog *log, uint8_t *batch, size_t len, int32_t leader_epoch,
                         int64_t base, struct alog_appended *out);

/* One producer as the log knows it (DescribeProducers' fields). */
struct alog_producer_info {
    int64_t producer_id;
    int16_t epoch;
    int32_t last_sequence;      /* -1: no batch remembered at this epoch */
    int64_t last_timestamp;     /* the max timestamp of its last batch */
    int32_t coordinator_epoch;  /* -1: no transactions here */
    int64_t txn_start_offset;   /* -1: no transactions here */
};

/* Copy up to cap producers into out, in producer id order; returns how many the log knows
 * (which may exceed cap), or -ENOMEM. Locks: the append lock, briefly. */
int alog_producers(struct alog *log, struct alog_producer_info *out, int cap);

/* Forget producers whose last batch's timestamp is at least producer_id_expiration_ms
 * before now_ms (wall clock); returns how many. Locks: the append lock. */
int alog_producers_expire(struct alog *log, int64_t now_ms);

/* ---- the snapshot file (Kafka's ProducerStateManager format) ----------------------------
 *
 *   <dir>/00000000000000076000.snapshot   the state of every producer below offset 76000
 *
 *   offset 0   version            int16   1
 *          2   crc                uint32  CRC-32C of every byte after this field
 *          6   entry count        int32
 *         10   entries, 46 bytes each:
 *                producer_id int64, epoch int16, last_sequence int32, last_offset int64,
 *                offset_delta int32, timestamp int64, coordinator_epoch int32,
 *                current_txn_first_offset int64
 *
 * Big-endian throughout. Exposed for tests, tools and the fuzzer; the log uses them
 * itself. */
#define ALOG_SNAPSHOT_VERSION 1
#define ALOG_SNAPSHOT_HEADER  10
#define ALOG_SNAPSHOT_ENTRY   46

struct alog_snapshot_entry {
    int64_t producer_id;
    int16_t epoch;
    int32_t last_sequence;
    int64_t last_offset;      /* -1: no batch (Kafka then keeps only the epoch) */
    int32_t offset_delta;     /* last_offset - the batch's first offset */
    int64_t timestamp;
    int32_t coordinator_epoch;
    int64_t txn_first_offset;
};

/*
 * Check a whole snapshot file's bytes: 0 and *count; KC_ENEEDMORE (it ends before its
 * header or its entries do: a file cut short), KC_EUNSUPPORTED (a version other than 1),
 * KC_EMALFORMED (a negative count, or bytes after the last entry), KC_ECRC. Pure.
 */
int alog_snapshot_decode(const uint8_t *p, size_t len, int32_t *count);
/* Entry i of a snapshot alog_snapshot_decode accepted (i < count). */
void alog_snapshot_entry_at(const uint8_t *p, int32_t i, struct alog_snapshot_entry *e);
/* Append a snapshot of n entries to w (its CRC included); the writer's error, if any. */
int alog_snapshot_encode(struct kc_writer *w, const struct alog_snapshot_entry *e, int32_t n);

#endif
