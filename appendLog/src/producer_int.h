/*
 * producer_int.h - the producer state's insides, shared by producer_state.c (the table
 * and Kafka's rules, no I/O), producer_snapshot.c (the file format) and
 * producer_files.c (snapshots on disk, loading and replaying), and the five small hooks
 * in the log's own files:
 *
 *   append.c    check (duplicate? refused?) and reserve before the write, apply after it;
 *               a snapshot at every roll
 *   log.c       the state's life; a snapshot at a clean close, before the marker
 *   recover.c   after an open found the log's end: load the newest snapshot, replay
 *   retain.c    snapshots below the new log start deleted with their segments
 *   fault.c     after alog_recover cut records: rebuild from the snapshots and the log
 *   life.c      a store's log closed (evicted): a snapshot at its end, the state freed;
 *               it is rebuilt by recover.c's hook when the log is opened again
 *   flusher.c   a roll's snapshot fsynced by the flusher, not under the append lock
 *
 * Locking: the table is the append lock's (every function here that takes a struct
 * alog_pstate runs under it, or before the log is shared, at open).
 */
#ifndef PRODUCER_INT_H
#define PRODUCER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "alog_producer.h"
#include "kc_batch.h"

struct alog;

/* One remembered batch (Kafka's BatchMetadata, with the first sequence kept too). */
struct alog__pbatch {
    int32_t first_seq;
    int32_t last_seq;
    int32_t offset_delta; /* last_offset - first offset */
    int64_t last_offset;
    int64_t timestamp;    /* the batch's max timestamp */
};

/* One producer (Kafka's ProducerStateEntry). */
struct alog__producer {
    int64_t id;             /* -1: an empty slot */
    int64_t last_timestamp; /* what expiry compares with the clock */
    int32_t coordinator_epoch;
    int16_t epoch;          /* -1: none known yet */
    uint8_t nbatches;       /* 0..ALOG_PRODUCER_BATCHES */
    uint8_t oldest;         /* ring index of the oldest batch */
    struct alog__pbatch batches[ALOG_PRODUCER_BATCHES];
};

/* Every producer of one log: an open-addressing table keyed by producer id. */
struct alog_pstate {
    struct alog__producer *slots;
    uint32_t cap;          /* a power of two, or 0 */
    uint32_t count;
    bool dirty;            /* changed since the newest snapshot was written or loaded */
    int64_t snap_offset;   /* the newest snapshot file's offset, -1 if none */
};

/* ---- producer_state.c: the table and Kafka's rules ------------------------------------- */

void alog__pstate_init(struct alog_pstate *ps);
void alog__pstate_fini(struct alog_pstate *ps);
void alog__pstate_clear(struct alog_pstate *ps);

/* The sequence of the last record of a batch: base + delta, wrapping past INT32_MAX to 0
 * (Kafka's DefaultRecordBatch.incrementSequence). */
int32_t alog__seq_add(int32_t seq, int32_t delta);

/*
 * A client's batch (h->producer_id >= 0, h->base_offset not yet assigned) against the
 * state: 0 (append it), 1 (a duplicate: *dup filled), KC_EFENCED, KC_ESEQUENCE,
 * KC_EMALFORMED (a negative base sequence). Changes nothing.
 */
int alog__pstate_check(const struct alog_pstate *ps, const struct kc_batch_header *h,
                       struct alog_appended *dup);
/* Make room for one more producer, so that the apply after a successful write cannot
 * fail: 0 or -ENOMEM. */
int alog__pstate_reserve(struct alog_pstate *ps);
/* Remember a written batch (h->base_offset assigned). Replay uses it too: no checks, as
 * Kafka loads batches from its own log. Room reserved (or the producer known). */
void alog__pstate_apply(struct alog_pstate *ps, const struct kc_batch_header *h);
/* One snapshot entry, in file order: a batch for its producer (0), or -ENOMEM. */
int alog__pstate_load_entry(struct alog_pstate *ps, const struct alog_snapshot_entry *e);

/* Forget producers idle for at least ms: how many, or -ENOMEM (then none). */
int alog__pstate_expire(struct alog_pstate *ps, int64_t now_ms, int64_t ms);
/* Copy up to cap producers, sorted by id; returns the count known, or -ENOMEM. */
int alog__pstate_list(const struct alog_pstate *ps, struct alog_producer_info *out, int cap);
/* Every producer's remembered batches, oldest first, as snapshot entries (a producer with
 * none: one entry with last_offset -1) into w. */
int alog__pstate_encode(const struct alog_pstate *ps, struct kc_writer *w);

/* ---- producer_files.c: snapshots beside the segments ------------------------------------ */

/*
 * Write the state as <dir>/<offset>.snapshot (a temp file renamed into place). sync: fsync
 * it and the directory now (a clean close); else the flusher does at its next checkpoint
 * (a roll: no fsync under the append lock). 0 or -errno; a failure is only reported by
 * the callers (a missing snapshot costs a longer replay, never correctness).
 */
int alog__psnap_write(struct alog *log, int64_t offset, bool sync);
/* fsync the newest roll snapshot if it is not yet (flush_lock held). */
void alog__psnap_sync(struct alog *log);
/*
 * At open, once the log's [start, end) is final: delete snapshots past the end (what they
 * describe was cut) or below the start, load the newest readable one (damaged ones are
 * deleted and the next older tried), and replay every batch from it to the end. 0 or
 * -errno / -ENOMEM (an I/O error reading the log).
 */
int alog__psnap_load(struct alog *log);
/* After alog_recover cut records: forget the state and load it again as an open does. */
int alog__psnap_rebuild(struct alog *log);
/*
 * A store closes the log (eviction, or a failed or forced close): the state is freed, and
 * the next open loads it back. flushed (the log is durable up to its end): first write
 * the state as of the end if no snapshot says it, unsynced (the store's next syncfs of the
 * data directory carries it; lost in a crash before, the open replays a little more).
 */
void alog__psnap_release(struct alog *log, bool flushed);
/* Retention moved the log start: delete snapshots below it. */
void alog__psnap_trim(struct alog *log, int64_t start);

#endif
