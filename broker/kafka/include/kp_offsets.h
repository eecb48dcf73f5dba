/*
 * kp_offsets.h - committed offsets as records: Kafka's __consumer_offsets format.
 *
 * Kafka keeps every group's committed offsets as records in an internal, compacted topic,
 * __consumer_offsets, and replays it into memory at start-up (GroupMetadataManager). Each
 * commit is one record; the key says what was committed, the value what to:
 *
 *   key   (version 1)   version i16 = 1 | group str | topic str | partition i32
 *   value (version 3)   version i16 = 3 | offset i64 | leader_epoch i32 |
 *                       metadata str | commit_timestamp i64
 *
 *   e.g. group "cg", topic "grp", partition 1, offset 42, no metadata:
 *   key    00 01 | 00 02 63 67 | 00 03 67 72 70 | 00 00 00 01
 *   value  00 03 | 00 00 00 00 00 00 00 2a | ff ff ff ff | 00 00 | <commit time ms>
 *
 * A record whose value is null (a tombstone) deletes the offset; the latest record per
 * key wins, which is why compaction can keep just one. Older value versions are still
 * readable here, as Kafka reads them:
 *
 *   v0   offset | metadata | commit_timestamp
 *   v1   offset | metadata | commit_timestamp | expire_timestamp
 *   v2   offset | metadata | commit_timestamp
 *   v3   offset | leader_epoch | metadata | commit_timestamp
 *
 * Key version 2 is a group's metadata record (its members and generation), which Kafka
 * stores in the same topic; this broker does not write it, and the decoder reports it as
 * KC_EUNSUPPORTED so a replay can skip it. Both the native protocol and the Kafka
 * protocol store commits through these functions, so one truth serves both.
 *
 * Pure functions; slices point into the decoded buffer and live as long as it.
 */
#ifndef KP_OFFSETS_H
#define KP_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"

#define KP_OFFSETS_TOPIC         "__consumer_offsets"
#define KP_OFFSET_KEY_VERSION    1
#define KP_GROUP_META_KEY_VERSION 2
#define KP_OFFSET_VALUE_VERSION  3

struct kp_offset_key {
    struct kc_slice group;
    struct kc_slice topic;
    int32_t partition;
};

struct kp_offset_value {
    int64_t offset;
    int32_t leader_epoch;     /* -1 when unknown (always, from this broker's clients) */
    struct kc_slice metadata; /* never null on the wire: null is stored as "" */
    int64_t commit_timestamp; /* wall-clock ms */
    int64_t expire_timestamp; /* v1 only; -1 otherwise */
};

/* Append the key (version 1). Returns 0 or the writer's error (-ENOMEM, KC_ETOOLARGE);
 * -EINVAL if group or topic is null. */
int kp_offset_key_encode(struct kc_writer *w, const struct kp_offset_key *k);

/*
 * Decode a key of exactly len bytes. Returns 0 (versions 0 and 1, same layout),
 * KC_EUNSUPPORTED (version 2, a group-metadata record, or any other version: skip it),
 * or KC_EMALFORMED (truncated, trailing bytes, null strings). *k written on success only.
 */
int kp_offset_key_decode(const uint8_t *p, size_t len, struct kp_offset_key *k);

/* Append the value (version 3). Returns 0 or the writer's error. */
int kp_offset_value_encode(struct kc_writer *w, const struct kp_offset_value *v);

/*
 * Decode a value of exactly len bytes, versions 0-3 (fields a version lacks read as -1).
 * Returns 0, KC_EUNSUPPORTED (version > 3) or KC_EMALFORMED. *v written on success only.
 */
int kp_offset_value_decode(const uint8_t *p, size_t len, struct kp_offset_value *v);

#endif
