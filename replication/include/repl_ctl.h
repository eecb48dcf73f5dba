/*
 * repl_ctl.h - the controller: a pure state machine over records (KRaft's shape), whose
 * records the broker keeps in ZooKeeper.
 *
 * One broker at a time is the controller. It decides who leads each partition, which
 * replicas are in sync, and the epochs that fence everyone who has not heard yet. Its
 * logic is two functions over one state:
 *
 *        event ---> repl_ctl_handle(const ctl) ---> records ---> persist (ZooKeeper:
 *                   (decides; changes nothing)                    conditional writes)
 *                                                                      |
 *        state <--- repl_ctl_replay(ctl, record) <---------------------+
 *                   (applies; every broker and every later controller does the same)
 *
 * handle() sees the state as const: a decision cannot leak into the state before its
 * record is durable. replay() is the only mutator; feeding it the same records rebuilds
 * the same state, which is how a new controller (or a test) catches up.
 *
 *   events                                   records
 *   ------                                   -------
 *   ELECTED (this controller won)      -->   CONTROLLER (epoch + 1), leaders for offline
 *                                            partitions that can have one
 *   BROKER_REGISTERED (id, epoch, ep)  -->   BROKER; leaders for offline partitions
 *     same id, newer epoch (a bounce)  -->   first as BROKER_LOST, then as above
 *   BROKER_LOST (session expired)      -->   BROKER_STATE fenced; it leaves every ISR
 *                                            (unless it is the last member) and every
 *                                            leadership (a new leader, or offline)
 *   BROKER_SHUTDOWN (controlled)       -->   BROKER_STATE shutting down; leadership moves
 *                                            to another live ISR member if there is one
 *                                            (else it stays: `remaining` counts those);
 *                                            it leaves the ISRs it follows in (unless last)
 *   TOPIC_CREATE (name, n, rf)         -->   TOPIC, then PARTITION x n (Kafka's rack-unaware
 *                                            assignment from a seeded start)
 *   PARTITIONS_ADD (name, new count)   -->   PARTITION for each new one
 *     either with an operator's          -->   the same, as assigned: the live replicas in
 *     replicas (KRaft's checks)              sync, the first of them leading
 *   PARTITIONS_ASSIGNED (name, count,  -->   PARTITION for each: a creation or growth
 *     their replicas)                        written in several transactions that a
 *                                            controller died in the middle of; its store
 *                                            holds their replicas, not yet their states
 *   TOPIC_DELETE                       -->   TOPIC_DELETED
 *   ISR_CHANGE (a leader's proposal)   -->   PARTITION (same leader epoch, new ISR, pe + 1;
 *                                            with new_epoch, leader epoch + 1: the leader's
 *                                            disk lost a tail, it keeps leading)
 *   PREFERRED (the balancing timer)    -->   PARTITION for each partition whose first
 *                                            replica is live, in the ISR and not leader
 *
 * Election rules: the new leader is the first replica in assignment order that is live
 * and in the ISR. If there is none, the partition goes offline (leader -1) keeping its
 * ISR, unless unclean.leader.election.enable: then the first live replica leads and the
 * ISR is reset to it (acknowledged records may be lost: that is what "unclean" means).
 * Every leader change bumps the leader epoch (and a leader's own request for one, above);
 * every change bumps the partition epoch.
 *
 * Fencing (replay refuses, state unchanged): a record from an older controller epoch
 * (STALE_CONTROLLER_EPOCH); a partition change whose partition epoch is not the current
 * one + 1 (INVALID_UPDATE_VERSION); a leader epoch going backwards, or a new leader in the
 * same epoch (FENCED_LEADER_EPOCH: never two leaders for one epoch).
 *
 * Ownership: the controller owns its brokers and topics (init/fini). Not thread-safe.
 */
#ifndef REPL_CTL_H
#define REPL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repl.h"
#include "repl_replica.h"

#define REPL_TOPIC_MAX 249 /* Kafka's longest topic name */
#define REPL_ENDPOINT_MAX                                                                          \
    256 /* its listeners, as Kafka's `listeners`: "PLAINTEXT://h:9092,SSL://h:9093" */

struct repl_ctl_config {
    bool unclean_leader_election; /* unclean.leader.election.enable */
    uint64_t seed;                /* replica assignment's random start (Kafka: Random) */
};

enum repl_broker_state {
    REPL_BROKER_LIVE,          /* registered, session alive: may lead and be in an ISR */
    REPL_BROKER_FENCED,        /* session lost: may do neither */
    REPL_BROKER_SHUTTING_DOWN, /* controlled shutdown: may do neither, is still up */
};

struct repl_broker {
    int32_t id;
    int64_t epoch; /* ZooKeeper: the registration znode's creation zxid */
    enum repl_broker_state state;
    char endpoint[REPL_ENDPOINT_MAX]; /* its listeners; too long is INVALID_REQUEST */
};

struct repl_topic {
    char name[REPL_TOPIC_MAX + 1];
    int32_t npart, cap_parts;
    struct repl_pstate *parts; /* parts[0..npart) */
};

struct repl_ctl {
    struct repl_ctl_config cfg;
    int32_t controller_epoch; /* 0 before any controller was elected */
    int32_t controller_id;
    struct repl_broker *brokers; /* sorted by id */
    size_t nbrokers, cap_brokers;
    struct repl_topic *topics;
    size_t ntopics, cap_topics;
};

enum repl_rec_type {
    REPL_REC_CONTROLLER,
    REPL_REC_BROKER,
    REPL_REC_BROKER_STATE,
    REPL_REC_TOPIC,
    REPL_REC_PARTITION,
    REPL_REC_TOPIC_DELETED,
};

struct repl_rec {
    enum repl_rec_type type;
    int32_t controller_epoch; /* of the controller that wrote it */
    union {
        struct {
            int32_t id;
        } controller;
        struct repl_broker broker; /* BROKER (state LIVE) and BROKER_STATE */
        struct {
            char name[REPL_TOPIC_MAX + 1];
        } topic; /* TOPIC, TOPIC_DELETED */
        struct {
            char topic[REPL_TOPIC_MAX + 1];
            int32_t partition; /* == the topic's count: a new partition; below: a change */
            struct repl_pstate ps;
        } part;
    } u;
};

/* A growable list of records, and the answer to the event that produced them. */
struct repl_recs {
    struct repl_rec *v;
    size_t n, cap;
    int error;         /* the event's answer (enum repl_kerr); no records unless NONE */
    int32_t remaining; /* BROKER_SHUTDOWN: partitions it still leads (no other live ISR member) */
};

void repl_recs_init(struct repl_recs *rs);
void repl_recs_fini(struct repl_recs *rs);
void repl_recs_reset(struct repl_recs *rs);

enum repl_ev_type {
    REPL_EV_ELECTED,
    REPL_EV_BROKER_REGISTERED,
    REPL_EV_BROKER_LOST,
    REPL_EV_BROKER_SHUTDOWN,
    REPL_EV_TOPIC_CREATE,
    REPL_EV_PARTITIONS_ADD,
    REPL_EV_PARTITIONS_ASSIGNED,
    REPL_EV_TOPIC_DELETE,
    REPL_EV_ISR_CHANGE,
    REPL_EV_PREFERRED,
    REPL_EV_ELECT_LEADERS,
};

/* ElectLeaders' election types (Kafka's ElectionType). */
enum repl_election { REPL_ELECTION_PREFERRED = 0, REPL_ELECTION_UNCLEAN = 1 };

struct repl_event {
    enum repl_ev_type type;
    int32_t id;                 /* ELECTED: the controller; BROKER_*: the broker */
    int64_t epoch;              /* BROKER_*: its epoch */
    const char *endpoint;       /* BROKER_REGISTERED */
    const char *topic;          /* TOPIC_*, PARTITIONS_ADD, ISR_CHANGE */
    int32_t partitions;         /* TOPIC_CREATE: count; PARTITIONS_*: the new total */
    const struct repl_pstate *assigned; /* the replicas of the new partitions, in order
                                         * (only .replicas/.nreplicas read): PARTITIONS_
                                         * ASSIGNED always; TOPIC_CREATE and PARTITIONS_ADD
                                         * when an operator named them (NULL: placed) */
    int32_t replication;        /* TOPIC_CREATE (with `assigned`: every list's length) */
    int32_t partition;          /* ISR_CHANGE */
    struct repl_isr_change isr; /* ISR_CHANGE */
    enum repl_election election; /* ELECT_LEADERS: of `topic`'s partitions elect[0..nelect),
                                  * strictly ascending */
    const int32_t *elect;
    int32_t nelect;
};

void repl_ctl_init(struct repl_ctl *ctl, const struct repl_ctl_config *cfg);
void repl_ctl_fini(struct repl_ctl *ctl);

/*
 * Decide what an event changes: records appended to out (after out->n), out->error the
 * event's answer. Refusals (out->error, no records): for brokers STALE_BROKER_EPOCH,
 * BROKER_ID_NOT_REGISTERED; for topics INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS,
 * INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR (more than the live brokers, or than
 * REPL_MAX_REPLICAS), UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (assigned
 * replicas empty, repeated or negative; and an operator's: a list of another length than
 * the topic's factor, a broker never registered, or no live replica in a list); for ISR
 * changes INVALID_REQUEST (not
 * the leader, a member twice, not a replica, the leader left out), FENCED_LEADER_EPOCH,
 * INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA (adds a broker that is not live). An
 * operator's election (ELECT_LEADERS, Kafka's ElectLeaders): PREFERRED gives each listed
 * partition to its first replica if that one is live, in the ISR and not leading yet;
 * UNCLEAN gives a listed partition with no live leader to a live ISR member, else to any
 * live replica (its ISR reset to that one alone: records may be lost, by the operator's
 * choice); out->remaining counts the listed partitions that end up without the leader
 * asked for (none possible, or an index out of range); UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_REQUEST (an unknown type, a list not strictly ascending) refuse it. Events
 * that change nothing give NONE and no records. The controller itself is unchanged:
 * replay the records (repl_ctl_apply does both). Returns 0 or -ENOMEM.
 */
int repl_ctl_handle(const struct repl_ctl *ctl, const struct repl_event *ev, struct repl_recs *out);

/* Apply one record: 0; a Kafka error when it is refused and nothing changes (fencing,
 * above; or a record naming an unknown topic, partition or broker); -EINVAL for an
 * unknown record type; -ENOMEM. */
int repl_ctl_replay(struct repl_ctl *ctl, const struct repl_rec *rec);

/* handle, then replay every record it produced (for a controller that needs no external
 * store, and for tests). Returns what handle or the first failing replay returned. */
int repl_ctl_apply(struct repl_ctl *ctl, const struct repl_event *ev, struct repl_recs *out);

/* Lookups; the pointers are valid until the next replay. NULL when unknown. */
const struct repl_broker *repl_ctl_broker(const struct repl_ctl *ctl, int32_t id);
const struct repl_topic *repl_ctl_topic(const struct repl_ctl *ctl, const char *name);
const struct repl_pstate *repl_ctl_partition(const struct repl_ctl *ctl, const char *topic,
                                             int32_t partition);

/* The same brokers, topics and partition states (controller epochs included). */
bool repl_ctl_equal(const struct repl_ctl *a, const struct repl_ctl *b);

/*
 * Kafka's rack-unaware assignment (AdminUtils.assignReplicasToBrokersRackUnaware): over
 * `nbrokers` sorted ids, partition p's first replica is brokers[(p + start) % n] and the
 * others follow at a shift that grows by one each time p wraps around the brokers, so
 * followers spread too. out[p * rf + j] for p in [first, first + count).
 */
void repl_assign_replicas(const int32_t *brokers, int nbrokers, int32_t first, int32_t count,
                          int rf, int start, int shift, int32_t *out);

/* Topic names as Kafka allows them: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
bool repl_topic_name_valid(const char *name);

#endif
