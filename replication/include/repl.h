/*
 * repl.h - Kafka's replication protocol as pure state machines: what every part shares.
 *
 * (Contract header. The lesson is ../README.md; the rules of each part are in its header.)
 *
 * A partition is replicated on a few brokers. One is the leader: producers append to it,
 * the others (followers) copy its log by fetching, exactly as a consumer would. The
 * leader knows how far each follower got, and from that the high watermark (HW): the
 * offset below which every in-sync replica holds the records. Consumers read below it;
 * acks=all producers are answered once their records are below it.
 *
 *     leader     [0][1][2][3][4][5][6]      LEO 7   (log end offset: the next offset)
 *     follower A [0][1][2][3][4][5]         on disk up to 5
 *     follower B [0][1][2][3][4]            on disk up to 4
 *                              ^ HW 4 = min over the ISR of what each holds ON DISK
 *
 * The module has six parts, each a header. None does I/O except the checkpoint files, and
 * none reads a clock (time is a parameter, in milliseconds):
 *
 *   repl_epoch.h    the leader-epoch cache: (epoch, start offset) entries; OffsetForLeaderEpoch
 *   repl_replica.h  one partition replica, leader side and follower side
 *   repl_ctl.h      the controller: records in, leaders / ISRs / epochs out (KRaft's shape)
 *   repl_ckpt.h     leader-epoch-checkpoint and replication-offset-checkpoint, Kafka's formats
 *   repl_check.h    the invariant checker: observations in, the first violation out
 *   repl_sim.h      a whole cluster in one process (in-memory logs): the demo's and the
 *                   randomized test's driver, and the reference for the broker's own driver
 *
 * Return values, everywhere in this module (librdkafka's convention):
 *
 *   0        success
 *   > 0      a Kafka protocol error code (enum repl_kerr): the request is refused, the state
 *            is unchanged, and the number is what the broker puts in its response
 *   < 0      -errno or a project code (kc_err.h): the call itself failed (-ENOMEM, ...)
 *
 * Dependencies: common/ only. Threads: none inside; each object belongs to one thread at a
 * time (the broker serialises calls per partition).
 */
#ifndef REPL_H
#define REPL_H

#include <stdint.h>

#include "kc_batch.h"

/* Kafka's sentinels: "no epoch", "no offset", "no leader". */
#define REPL_UNDEFINED_EPOCH  (-1)
#define REPL_UNDEFINED_OFFSET (-1)
#define REPL_NO_LEADER        (-1)

/* Most replicas one partition may have (its replication factor). */
#define REPL_MAX_REPLICAS 16

/* Kafka's error codes (org.apache.kafka.common.protocol.Errors): name, number on the wire. */
#define REPL_KERRORS(X)                                                                            \
    X(REPL_NONE, 0)                                                                                \
    X(REPL_OFFSET_OUT_OF_RANGE, 1)                                                                 \
    X(REPL_UNKNOWN_TOPIC_OR_PARTITION, 3)                                                          \
    X(REPL_LEADER_NOT_AVAILABLE, 5)                                                                \
    X(REPL_NOT_LEADER_OR_FOLLOWER, 6)                                                              \
    X(REPL_BROKER_NOT_AVAILABLE, 8)                                                                \
    X(REPL_STALE_CONTROLLER_EPOCH, 11)                                                             \
    X(REPL_INVALID_TOPIC_EXCEPTION, 17)                                                            \
    X(REPL_NOT_ENOUGH_REPLICAS, 19)                                                                \
    X(REPL_NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20)                                                   \
    X(REPL_INVALID_REQUIRED_ACKS, 21)                                                              \
    X(REPL_TOPIC_ALREADY_EXISTS, 36)                                                               \
    X(REPL_INVALID_PARTITIONS, 37)                                                                 \
    X(REPL_INVALID_REPLICATION_FACTOR, 38)                                                         \
    X(REPL_INVALID_REPLICA_ASSIGNMENT, 39)                                                         \
    X(REPL_INVALID_REQUEST, 42)                                                                    \
    X(REPL_FENCED_LEADER_EPOCH, 74)                                                                \
    X(REPL_UNKNOWN_LEADER_EPOCH, 75)                                                               \
    X(REPL_STALE_BROKER_EPOCH, 77)                                                                 \
    X(REPL_INVALID_UPDATE_VERSION, 95)                                                             \
    X(REPL_BROKER_ID_NOT_REGISTERED, 102)                                                          \
    X(REPL_INELIGIBLE_REPLICA, 107)

enum repl_kerr {
#define REPL_KERR_ENUM(name, code) name = code,
    REPL_KERRORS(REPL_KERR_ENUM)
#undef REPL_KERR_ENUM
};

/* "NOT_LEADER_OR_FOLLOWER" for REPL_NOT_LEADER_OR_FOLLOWER, "UNKNOWN" for a number not in
 * the table; never NULL, always static. */
const char *repl_kerr_name(int kerr);

/* A role a replica plays for its partition. */
enum repl_role { REPL_ROLE_NONE, REPL_ROLE_LEADER, REPL_ROLE_FOLLOWER };
const char *repl_role_name(enum repl_role role);

/*
 * One RecordBatch as replication sees it: no bytes, only where it sits and which leader
 * epoch wrote it. In RecordBatch v2 these are the baseOffset, lastOffsetDelta + 1 and
 * partitionLeaderEpoch header fields (kc_batch.h), which the leader stamps before the
 * CRC'd part, so stamping never re-encodes a batch.
 */
struct repl_batch {
    int64_t base_offset;
    int32_t count;
    int32_t epoch;
};

static inline struct repl_batch repl_batch_of(const struct kc_batch_header *h)
{
    return (struct repl_batch){h->base_offset, h->last_offset_delta + 1, h->leader_epoch};
}

#endif
