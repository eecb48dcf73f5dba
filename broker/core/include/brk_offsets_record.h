/*
 * brk_offsets_record.h - committed offsets as records: Kafka's __consumer_offsets format.
 * The one codec for it: the offsets store writes and replays with it, and the tests and the
 * fuzzer exercise this same code.
 *
 * Kafka keeps every group's committed offsets as records in an internal, compacted topic,
 * __consumer_offsets, and replays it into memory at start-up. Each commit is one record;
 * the key says what was committed, the value what to:
 *
 *   key   (version 1)   version i16 = 1 | group str | topic str | partition i32
 *   value (version 3)   version i16 = 3 | offset i64 | leader_epoch i32 |
 *                       metadata str | commit_timestamp i64
 *   key   (version 2)   version i16 = 2 | group str     a group's metadata record; its
 *                                                       value is the coordinator's
 *                                                       (broker/kafka/group/kg_record.h)
 *
 *   e.g. group "cg", topic "grp", partition 1, offset 42, null metadata:
 *   key    00 01 | 00 02 63 67 | 00 03 67 72 70 | 00 00 00 01
 *   value  00 03 | 00 00 00 00 00 00 00 2a | ff ff ff ff | ff ff | <commit time ms>
 *
 * A record whose value is null (a tombstone) deletes the offset; the latest record per
 * key wins, which is why compaction can keep just one. Older value versions are read as
 * Kafka reads them:
 *
 *   v0, v2   offset | metadata | commit_timestamp
 *   v1       offset | metadata | commit_timestamp | expire_timestamp
 *   v3       offset | leader_epoch | metadata | commit_timestamp
 *
 * How it differs from Kafka: a null commit metadata is written as a null string (length -1)
 * so that it comes back null after a restart; Kafka's schema calls the field non-nullable
 * and stores "" instead. Key version 2 is a group's metadata record (its members and
 * generation), which Kafka stores in the same topic: the decoder reports its kind so a
 * replay can tell the two apart, and the encoder writes one for kind BRK_OREC_GROUP. The
 * store keeps such values as opaque bytes: the group coordinator owns their format.
 *
 * Pure functions; decoded slices point into the decoded buffer and live as long as it.
 */
#ifndef BRK_OFFSETS_RECORD_H
#define BRK_OFFSETS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"

#define BRK_OFFSET_KEY_VERSION     1
#define BRK_GROUP_META_KEY_VERSION 2
#define BRK_OFFSET_VALUE_VERSION   3

enum brk_orec_kind { BRK_OREC_OFFSET, BRK_OREC_GROUP };

struct brk_offset_key {
    enum brk_orec_kind kind;  /* decode: an offset commit, or a group's metadata */
    struct kc_slice group;
    struct kc_slice topic;    /* BRK_OREC_OFFSET only */
    int32_t partition;        /* BRK_OREC_OFFSET only */
};

struct brk_offset_value {
    int64_t offset;
    int32_t leader_epoch;     /* -1 when unknown */
    struct kc_slice metadata; /* len -1: null */
    int64_t commit_timestamp; /* wall-clock ms */
    int64_t expire_timestamp; /* v1 only; -1 otherwise */
};

/* Append an offset-commit key (version 1), or for kind BRK_OREC_GROUP a group-metadata key
 * (version 2: the group only). 0, the writer's error (-ENOMEM, KC_ETOOLARGE), or -EINVAL if
 * group (or an offset key's topic) is null. */
int brk_offset_key_encode(struct kc_writer *w, const struct brk_offset_key *k);

/*
 * Decode a key of exactly len bytes: versions 0 and 1 (same layout) are offset commits;
 * version 2 a group's metadata (kind BRK_OREC_GROUP, group set). Returns 0,
 * KC_EUNSUPPORTED (any other version, even negative: not ours to read, skip it), or
 * KC_EMALFORMED (truncated, trailing bytes, null strings). *k written on success only.
 */
int brk_offset_key_decode(const uint8_t *p, size_t len, struct brk_offset_key *k);

/* Append an offset-commit value (version 3). 0 or the writer's error. */
int brk_offset_value_encode(struct kc_writer *w, const struct brk_offset_value *v);

/*
 * Decode a value of exactly len bytes, versions 0-3 (fields a version lacks read as -1).
 * 0, KC_EUNSUPPORTED (another version), or KC_EMALFORMED. *v written on success only.
 */
int brk_offset_value_decode(const uint8_t *p, size_t len, struct brk_offset_value *v);

#endif
