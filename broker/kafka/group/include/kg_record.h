/*
 * kg_record.h - a consumer group's metadata as Kafka persists it: the value of a
 * group-metadata record in __consumer_offsets (Kafka's GroupMetadataValue, group-coordinator
 * module), encoded and decoded. Pure functions; no coordinator needed.
 *
 * Kafka keeps two kinds of record in __consumer_offsets, told apart by the key's version:
 * offset commits (key version 0/1: group, topic, partition; broker/core's
 * brk_offsets_record.h) and group metadata (key version 2: the group id alone). The latest
 * group-metadata record of a group says who was in it when it last changed; a null value
 * (a tombstone) says the group is gone. A broker replays them at start, so that after a
 * restart the members find their generation and assignment where they left them.
 *
 *   value (version 3, what Kafka 2.3 to 3.9 write for a classic group)
 *   +---------+---------------+------------+----------+--------+---------------------+
 *   | ver i16 | protocol_type | generation | protocol | leader | current_state_ts    |
 *   |   = 3   | str           | i32        | str?     | str?   | i64 (v2+)           |
 *   +---------+---------------+------------+----------+--------+---------------------+
 *   | members: i32 count, then per member                                            |
 *   |   member_id str | group_instance_id str? (v3+) | client_id str | client_host str |
 *   |   rebalance_timeout i32 (v1+) | session_timeout i32 |                           |
 *   |   subscription bytes | assignment bytes                                       |
 *   +-------------------------------------------------------------------------------+
 *   str: i16 length + bytes (-1 = null, allowed only where marked ?); bytes: i32 length
 *
 *   e.g. one member "c-1f..." of group "g", generation 4, protocol "range":
 *   00 03 | 00 08 "consumer" | 00 00 00 04 | 00 05 "range" | 00 07 "c-1f..." |
 *   00 00 01 93 .. (ms) | 00 00 00 01 | 00 07 "c-1f..." | ff ff | 00 01 "c" |
 *   00 0a "/127.0.0.1" | 00 04 93 e0 | 00 00 27 10 | <i32 n> <subscription> | <assignment>
 *
 * The subscription is the member's metadata for the group's chosen protocol only (a member
 * loaded from a record supports that one protocol, as in Kafka); both byte strings are the
 * consumer protocol's own encoding, opaque here.
 *
 * Versions: 0 (no rebalance timeout: it reads as the session timeout, as Kafka loads it),
 * 1 (+ rebalance timeout), 2 (+ current state timestamp), 3 (+ group instance id, KIP-345).
 * Version 4 (flexible, KIP-915) exists in Kafka's schema for future tagged fields; no Kafka
 * release writes it for classic groups, and it is refused here (KC_EUNSUPPORTED).
 *
 * Strict: the record field is whole, so a short buffer is malformed (never "need more"),
 * as are bytes left over, a null where the schema has none, or a negative count.
 */
#ifndef KG_RECORD_H
#define KG_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"

#define KG_RECORD_VERSION 3 /* written */

struct kg_record_member {
    struct kc_slice member_id;
    struct kc_slice group_instance_id; /* len -1: a dynamic member */
    struct kc_slice client_id;
    struct kc_slice client_host;       /* Kafka's form: "/127.0.0.1" */
    int32_t rebalance_timeout_ms;
    int32_t session_timeout_ms;
    struct kc_slice subscription;      /* metadata for the group's protocol */
    struct kc_slice assignment;
};

struct kg_record {
    int16_t version;                   /* decode: the record's; encode: ignored (3) */
    struct kc_slice protocol_type;     /* "" for a group with no protocol type */
    int32_t generation;
    struct kc_slice protocol;          /* len -1: none (an Empty group) */
    struct kc_slice leader;            /* len -1: none */
    int64_t current_state_timestamp;   /* wall-clock ms; -1 when unknown (v0-1) */
    int32_t nmembers;
    struct kg_record_member *members;  /* decode: malloc'ed (kg_record_fini) */
};

/*
 * Append rec as a version-3 value. 0, or -EINVAL (a null where the schema allows none:
 * protocol type, member id, client id or host, subscription, assignment; a negative
 * member count), or the writer's error (-ENOMEM, KC_ETOOLARGE for a string over 32767
 * bytes). On error w holds a partial value: discard it.
 */
int kg_record_encode(struct kc_writer *w, const struct kg_record *rec);

/*
 * Decode the value p[0..len) (versions 0-3). 0 and *rec, whose slices point into p and
 * whose members array is malloc'ed (free it with kg_record_fini); KC_EUNSUPPORTED (another
 * version), KC_EMALFORMED, or -ENOMEM. *rec is written on success only. A member count is
 * checked against the bytes left before anything is allocated.
 */
int kg_record_decode(const uint8_t *p, size_t len, struct kg_record *rec);

/* Free what kg_record_decode allocated; rec is left empty. NULL-safe. */
void kg_record_fini(struct kg_record *rec);

#endif
