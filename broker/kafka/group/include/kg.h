/*
 * kg.h - the consumer-group coordinator: Kafka's classic group protocol as a state
 * machine, with no sockets, no threads, no clock and no wire format of its own.
 *
 * Members of a group agree, through the coordinator, on who consumes which partitions:
 * each sends JoinGroup with the assignment strategies ("protocols") it supports; when all
 * known members have (re)joined, the coordinator opens a new generation, picks one
 * protocol by vote and a leader, and answers everyone; the leader computes the
 * assignment client-side and hands it over in SyncGroup; the coordinator gives each
 * member its part. Heartbeats keep a member alive and are how members learn that a new
 * rebalance has begun.
 *
 *                  first JoinGroup
 *     +-------+  ------------------>  +--------------------+  all joined, or the
 *     | Empty |                       | PreparingRebalance |  rebalance timeout:
 *     +-------+  <------------------  +--------------------+  generation+1, vote,
 *         ^        nobody rejoined      ^     ^               answer the joins
 *         |                             |     |                      |
 *         |     join/leave/expiry       |     | join/leave/expiry    v
 *         |   +--------+  --------------+   +----------------------+
 *         |   | Stable |                    | CompletingRebalance  |  followers' SyncGroup
 *         |   +--------+  <---------------  +----------------------+  parked until the
 *         |                leader's SyncGroup (assignments)            leader's arrives
 *         +--- last member leaves or expires (via PreparingRebalance)
 *
 * The requests come in neutral structs (struct kg_join, kg_sync, kg_member_ref): what the
 * coordinator needs, whichever of the eleven JoinGroup versions carried it. The Kafka door
 * (broker/kafka/serve/src/group.c) fills them from the codec's decoded requests and turns
 * the results into responses of the request's version; this module knows no version but
 * the one rule that depends on it (MEMBER_ID_REQUIRED from JoinGroup v4 on). The answers
 * are Kafka's error codes (kp_errors.h): that is the protocol's vocabulary.
 *
 * Interface rules
 *  - One struct kg_groups holds every group. It is single-threaded by contract: the server
 *    calls it from one thread, or behind one lock. Every call takes now_ms, a monotonic
 *    clock in milliseconds; nothing inside reads a clock or sleeps.
 *  - JoinGroup and SyncGroup may have to wait for other members. kg_group_join/sync take
 *    an opaque `waiter` (the server's handle for "answer this request on that
 *    connection") and always answer through the join_done/sync_done callbacks: either
 *    before they return, or later, from another member's call or from kg_group_tick.
 *    Each waiter gets exactly one callback, unless the server withdraws it first with
 *    kg_group_forget (a closed connection). Callbacks run inside kg_group_* calls, on the
 *    caller's thread, under the caller's lock; they must not call back into kg_group_*.
 *    The result they receive points into coordinator memory valid only during the call:
 *    encode it or copy it there.
 *  - Every slice a request struct holds is copied if kept: it need not outlive the call.
 *  - Timers: kg_group_tick(now) expires sessions (members silent longer than their
 *    session timeout), pending member ids and rebalance timeouts;
 *    kg_group_next_deadline() says when to call it next (INT64_MAX: nothing pending).
 *  - The coordinator validates offset commits (kg_group_commit_check) but stores no
 *    offsets: the server owns them (broker/core's __consumer_offsets store).
 *
 * How it differs from Kafka (ClassicGroup / GroupMetadataManager)
 *  - Static membership (group.instance.id) is refused with UNSUPPORTED_VERSION, as Kafka
 *    does when its inter-broker protocol predates it. Neither librdkafka nor kafkajs sets
 *    it by default.
 *  - Group metadata is not persisted: after a restart every group starts Empty and
 *    members rejoin (they do so on the first UNKNOWN_MEMBER_ID). Committed offsets, which
 *    the server stores, survive.
 *  - An Empty group with no pending members is forgotten, so memory follows the live
 *    groups; Kafka keeps it until its offsets expire. Its generation restarts at 0.
 *  - A member whose earlier JoinGroup/SyncGroup is still parked when it sends another
 *    gets REBALANCE_IN_PROGRESS on the old one (Kafka silently replaces the callback; the
 *    server here must see every waiter answered).
 *  - No "pending sync" timeout: a member that never sends SyncGroup after a join is
 *    removed by its session timeout instead.
 *
 * Read next: src/group.c (state and timers), src/group_join.c (the join phase), then the
 * door that drives it: broker/kafka/serve/src/group.c.
 */
#ifndef KG_H
#define KG_H

#include <stdint.h>

#include "kc_buf.h"
#include "kp_errors.h"

enum kg_group_state {
    KG_GROUP_EMPTY = 0,
    KG_GROUP_PREPARING_REBALANCE,
    KG_GROUP_COMPLETING_REBALANCE,
    KG_GROUP_STABLE,
};

/* Tunables, with Kafka's broker defaults (group.* settings). */
#define KG_GROUP_MIN_SESSION_MS_DEFAULT   6000    /* group.min.session.timeout.ms */
#define KG_GROUP_MAX_SESSION_MS_DEFAULT   1800000 /* group.max.session.timeout.ms */
#define KG_GROUP_INITIAL_DELAY_MS_DEFAULT 3000    /* group.initial.rebalance.delay.ms */
#define KG_GROUP_MAX_SIZE_DEFAULT         1000    /* group.max.size (Kafka: unbounded) */

struct kg_group_opts {
    int32_t min_session_ms;
    int32_t max_session_ms;
    int32_t initial_rebalance_delay_ms; /* 0: a new group completes its first join at once */
    int32_t max_members;
    uint64_t seed; /* member-id UUIDs; 0 = from getrandom(2) */
};

void kg_group_opts_default(struct kg_group_opts *o);

/* ---- the requests, as the coordinator needs them --------------------------------------- */

struct kg_protocol {
    struct kc_slice name;     /* "range", "roundrobin", "RoundRobinAssigner", ... */
    struct kc_slice metadata; /* opaque to the broker (the consumer's subscription) */
};

struct kg_join {
    struct kc_slice group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;      /* JoinGroup v0 has none: pass the session timeout */
    struct kc_slice member_id;         /* "" (or null) on a first join */
    struct kc_slice group_instance_id; /* null: a dynamic member (the only kind served) */
    struct kc_slice protocol_type;     /* "consumer" */
    int32_t nprotocols;
    const struct kg_protocol *protocols;
};

struct kg_assignment {
    struct kc_slice member_id;
    struct kc_slice assignment; /* opaque (the consumer's partitions) */
};

struct kg_sync {
    struct kc_slice group_id;
    int32_t generation_id;
    struct kc_slice member_id;
    struct kc_slice group_instance_id;
    struct kc_slice protocol_type; /* SyncGroup v5+ (KIP-559), null before: not checked */
    struct kc_slice protocol_name;
    int32_t nassignments;          /* the leader's; 0 from followers */
    const struct kg_assignment *assignments;
};

/* Who is asking, for Heartbeat and the OffsetCommit check. */
struct kg_member_ref {
    struct kc_slice group_id;
    int32_t generation_id;
    struct kc_slice member_id;
    struct kc_slice group_instance_id;
};

/* ---- the answers ------------------------------------------------------------------------ */

struct kg_join_member {
    struct kc_slice member_id;
    struct kc_slice group_instance_id; /* null: no static members here */
    struct kc_slice metadata;          /* for the chosen protocol */
};

struct kg_join_result {
    int16_t error;
    int32_t generation_id;         /* -1 on error */
    struct kc_slice protocol_type; /* the group's; null on error (JoinGroup v7+ carries it) */
    struct kc_slice protocol_name; /* null on error */
    struct kc_slice leader;        /* "" on error */
    struct kc_slice member_id;     /* also on MEMBER_ID_REQUIRED: the id to rejoin with */
    int32_t nmembers;              /* non-zero for the leader only */
    const struct kg_join_member *members;
};

struct kg_sync_result {
    int16_t error;
    struct kc_slice protocol_type; /* the group's on success, else null (v5+ carries them) */
    struct kc_slice protocol_name;
    struct kc_slice assignment;    /* empty (never null) on error */
};

struct kg_group_cbs {
    /* A JoinGroup is answered. res->members is set for the leader only. */
    void (*join_done)(void *ctx, void *waiter, const struct kg_join_result *res);
    /* A SyncGroup is answered. */
    void (*sync_done)(void *ctx, void *waiter, const struct kg_sync_result *res);
    void *ctx;
};

struct kg_groups;

/*
 * Create the coordinator. opts NULL = defaults; cbs is copied. Returns 0 and *out, or
 * -ENOMEM / -EINVAL (missing callbacks, min > max session). Destroy with
 * kg_groups_destroy, which answers every still-parked waiter with COORDINATOR_NOT_AVAILABLE
 * (so the server's per-waiter state is always released through the callbacks).
 */
int kg_groups_create(const struct kg_group_opts *opts, const struct kg_group_cbs *cbs,
                     struct kg_groups **out);
void kg_groups_destroy(struct kg_groups *gs);

/*
 * JoinGroup. version is the request's api_version (v4+ first joins get MEMBER_ID_REQUIRED
 * with a fresh id); client_id the header's (member ids are client_id-uuid). The answer
 * comes through join_done(waiter), now or later. waiter must be non-NULL and unique among
 * outstanding waiters.
 */
void kg_group_join(struct kg_groups *gs, int16_t version, struct kc_slice client_id,
                   const struct kg_join *req, void *waiter, int64_t now_ms);

/* SyncGroup; answered through sync_done(waiter), now or once the leader has synced. */
void kg_group_sync(struct kg_groups *gs, const struct kg_sync *req, void *waiter,
                   int64_t now_ms);

/* Heartbeat; returns the Kafka error code to answer with (Kafka's check order). */
int16_t kg_group_heartbeat(struct kg_groups *gs, const struct kg_member_ref *req,
                           int64_t now_ms);

/* One member leaves (LeaveGroup v0-2 names one; v3+ a list: call this for each); returns
 * the Kafka error code for that member. */
int16_t kg_group_leave(struct kg_groups *gs, struct kc_slice group_id,
                       struct kc_slice member_id, int64_t now_ms);

/*
 * May this OffsetCommit be stored? Returns a Kafka error code (ClassicGroup's rules):
 * NONE for a generation < 0 commit to an Empty or unknown group (a standalone consumer),
 * else UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS (CompletingRebalance)
 * or NONE (Stable, or PreparingRebalance with the current generation). An accepted commit
 * from a member counts as a heartbeat. The same answer applies to every partition.
 */
int16_t kg_group_commit_check(struct kg_groups *gs, const struct kg_member_ref *req,
                              int64_t now_ms);

/* Withdraw a parked waiter (its connection closed); the member stays until it expires. */
void kg_group_forget(struct kg_groups *gs, void *waiter);

/* Run the timers due at now_ms (may fire callbacks). */
void kg_group_tick(struct kg_groups *gs, int64_t now_ms);

/* The earliest time kg_group_tick has work to do, or INT64_MAX. O(groups + members). */
int64_t kg_group_next_deadline(const struct kg_groups *gs);

/* A snapshot for logs, tests and the CLI. Strings point into coordinator memory and are
 * valid until the next kg_group_* call. */
struct kg_group_info {
    enum kg_group_state state;
    int32_t generation;
    int32_t nmembers;
    int32_t npending;           /* member ids handed out with MEMBER_ID_REQUIRED */
    struct kc_slice leader;     /* len 0 when none */
    struct kc_slice protocol;   /* chosen protocol, len 0 when none */
    struct kc_slice protocol_type;
};

/* Returns 0 and *info, or -ENOENT when the group does not exist. */
int kg_group_describe(const struct kg_groups *gs, struct kc_slice group_id,
                      struct kg_group_info *info);

const char *kg_group_state_name(enum kg_group_state state);

#endif
