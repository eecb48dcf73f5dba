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
 * the two rules that depend on it (MEMBER_ID_REQUIRED from JoinGroup v4 on, a static
 * leader's skip_assignment from v9). The answers are Kafka's error codes (kp_errors.h):
 * that is the protocol's vocabulary.
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
 * Static members (KIP-345, group.instance.id). A member that names an instance id keeps
 * its place across restarts of its process: a JoinGroup with member id "" and a known
 * instance id replaces the old member id with a fresh one (instance-uuid) instead of
 * adding a member; in a Stable group whose protocol choice it does not change, it is
 * answered with the current generation and keeps its assignment - no rebalance - once its
 * new id is stored (the old id's parked requests get FENCED_INSTANCE_ID at once). Any
 * request naming the instance with another member id is FENCED_INSTANCE_ID (82). A static
 * member that did not rejoin a rebalance stays in the group (its partitions assigned to
 * it) until its session times out; it never sends LeaveGroup on close, and LeaveGroup v3+
 * can remove it by instance id alone.
 *
 * Persistence. The group's state that must survive a restart is Kafka's group-metadata
 * record (kg_record.h): kg asks the server to store one through the store callback when
 * a generation's assignment is complete (the leader's SyncGroup: the group becomes Stable
 * only once it is stored, as in Kafka), when a static member is replaced in a Stable group
 * (answered once stored), and when a group empties (an Empty record if the server says it
 * has committed offsets, keep_empty, else a tombstone and the group is forgotten). The
 * server answers each store later with kg_group_stored. At start the server hands every
 * replayed record to kg_group_load: groups come back Stable with their generation, leader,
 * members and assignments, and every member's session timer starts again from the load
 * (Kafka's onGroupLoaded), so only a member that really left causes a rebalance.
 *
 * How it differs from Kafka (ClassicGroup / GroupMetadataManager)
 *  - An Empty group without committed offsets is forgotten (with a tombstone) as soon as it
 *    empties; Kafka's cleanup does the same within offsets.retention.check.interval.ms
 *    (10 min). Offsets never expire here, so an Empty group with offsets stays until
 *    DeleteGroups. Memory: one struct kg_group and its id per such group (no members).
 *  - A member whose earlier JoinGroup/SyncGroup is still parked when it sends another
 *    gets REBALANCE_IN_PROGRESS on the old one (Kafka silently replaces the callback; the
 *    server here must see every waiter answered).
 *  - No "pending sync" timeout: a member that never sends SyncGroup after a join is
 *    removed by its session timeout instead.
 *  - A failed store of a static member's new id restores the old id and answers the join
 *    with the error; its protocols and timeouts keep the new values (Kafka restores those
 *    too; they cannot change the group's protocol choice on this path).
 *
 * Read next: src/group.c (state and timers), src/group_join.c (the join phase),
 * src/group_static.c (static members), src/group_sync.c (the short requests),
 * src/group_store.c (persistence, the admin APIs), then the door that drives it:
 * broker/kafka/serve/src/group.c.
 */
#ifndef KG_H
#define KG_H

#include <stdbool.h>
#include <stdint.h>

#include "kc_buf.h"
#include "kg_record.h"
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
    struct kc_slice group_instance_id; /* v5+; null: a dynamic member */
    struct kc_slice protocol_type;     /* "consumer" */
    int32_t nprotocols;
    const struct kg_protocol *protocols;
    struct kc_slice client_host;       /* where it came from, Kafka's form: "/127.0.0.1" */
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
    struct kc_slice group_instance_id; /* null for a dynamic member */
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
    bool skip_assignment;          /* v9+: a static leader rejoining a Stable group */
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
    /* Persist the group's record (rec NULL: a tombstone, the group is gone), then call
     * kg_group_stored(group_id, seq, ...) once it is durable or has failed - later, never
     * from inside this callback. rec (its slices point into coordinator memory) is valid
     * only during the call; its current_state_timestamp is -1 for the server to fill.
     * NULL: nothing is persisted and every store succeeds at once. */
    void (*store)(void *ctx, struct kc_slice group_id, const struct kg_record *rec,
                  uint64_t seq);
    /* Should an Empty group be kept (Kafka keeps it while it has committed offsets)?
     * NULL: never. Must not call back into kg_group_*. */
    bool (*keep_empty)(void *ctx, struct kc_slice group_id);
};

struct kg_groups;

/*
 * Create the coordinator. opts NULL = defaults; cbs is copied. Returns 0 and *out, or
 * -ENOMEM / -EINVAL (missing callbacks, min > max session). Destroy with
 * kg_groups_destroy, which answers every still-parked waiter with COORDINATOR_NOT_AVAILABLE
 * (so the server's per-waiter state is always released through the callbacks). Stores
 * still outstanding are dropped (what is in the log stays).
 */
int kg_groups_create(const struct kg_group_opts *opts, const struct kg_group_cbs *cbs,
                     struct kg_groups **out);
void kg_groups_destroy(struct kg_groups *gs);

/*
 * JoinGroup. version is the request's api_version (v4+ first joins of dynamic members get
 * MEMBER_ID_REQUIRED with a fresh id; v9+ static leaders may be told to skip the
 * assignment); client_id the header's (member ids are client_id-uuid, or
 * group_instance_id-uuid for static members). The answer comes through join_done(waiter),
 * now or later. waiter must be non-NULL and unique among outstanding waiters.
 */
void kg_group_join(struct kg_groups *gs, int16_t version, struct kc_slice client_id,
                   const struct kg_join *req, void *waiter, int64_t now_ms);

/* SyncGroup; answered through sync_done(waiter), now or once the leader's assignment is
 * stored. */
void kg_group_sync(struct kg_groups *gs, const struct kg_sync *req, void *waiter,
                   int64_t now_ms);

/* Heartbeat; returns the Kafka error code to answer with (Kafka's check order). */
int16_t kg_group_heartbeat(struct kg_groups *gs, const struct kg_member_ref *req,
                           int64_t now_ms);

/* One member leaves (LeaveGroup v0-2 names one; v3+ a list: call this for each, a static
 * member possibly by group_instance_id alone with member_id ""); returns the Kafka error
 * code for that member. */
int16_t kg_group_leave(struct kg_groups *gs, struct kc_slice group_id,
                       struct kc_slice member_id, struct kc_slice group_instance_id,
                       int64_t now_ms);

/*
 * May this OffsetCommit be stored? Returns a Kafka error code (ClassicGroup's rules):
 * NONE for a generation < 0 commit to an Empty or unknown group (a standalone consumer),
 * else FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS
 * (CompletingRebalance) or NONE (Stable, or PreparingRebalance with the current
 * generation). An accepted commit from a member counts as a heartbeat. The same answer
 * applies to every partition.
 */
int16_t kg_group_commit_check(struct kg_groups *gs, const struct kg_member_ref *req,
                              int64_t now_ms);

/* Withdraw a parked waiter (its connection closed); the member stays until it expires. */
void kg_group_forget(struct kg_groups *gs, void *waiter);

/* Run the timers due at now_ms (may fire callbacks). */
void kg_group_tick(struct kg_groups *gs, int64_t now_ms);

/* The earliest time kg_group_tick has work to do, or INT64_MAX. O(groups + members). */
int64_t kg_group_next_deadline(const struct kg_groups *gs);

/* ---- persistence ------------------------------------------------------------------------ */

/*
 * The store the server was asked for with seq (through cbs.store) is durable (error
 * KP_ERR_NONE) or failed (the Kafka error to answer with: COORDINATOR_NOT_AVAILABLE,
 * NOT_COORDINATOR, ...). A store nobody waits for any more (the group moved on) is
 * ignored. May fire callbacks.
 */
void kg_group_stored(struct kg_groups *gs, struct kc_slice group_id, uint64_t seq,
                     int16_t error, int64_t now_ms);

/*
 * Load a group from its replayed record (at start, before any request): Stable with its
 * members if it has any, else Empty (kept only if keep_empty says so; otherwise a
 * tombstone is stored and it is not loaded). Every member's session starts at now_ms.
 * 0, -EEXIST (already loaded), -EINVAL (a record no coordinator could have written:
 * members but no protocol, an empty member id, a member twice), -ENOMEM.
 */
int kg_group_load(struct kg_groups *gs, struct kc_slice group_id, const struct kg_record *rec,
                  int64_t now_ms);

/*
 * Unload the groups this coordinator no longer owns (in a cluster, their partition of
 * __consumer_offsets moved to another broker): every group for which keep(arg, id) says
 * false is dropped, its parked JoinGroup and SyncGroup waiters answered NOT_COORDINATOR
 * (16) so their clients find the new coordinator. Nothing is stored: the records stay in
 * the log for whoever loads the partition next. keep must not call kg_group_*. Returns how
 * many groups went.
 */
int kg_group_unload(struct kg_groups *gs, bool (*keep)(void *arg, struct kc_slice group_id),
                    void *arg);

/* ---- the admin APIs: ListGroups, DescribeGroups, DeleteGroups, OffsetDelete ----------------- */

/* A snapshot for the admin APIs, logs, tests and the CLI. Strings point into coordinator
 * memory and are valid until the next kg_group_* call. */
struct kg_group_info {
    struct kc_slice group_id;
    enum kg_group_state state;
    int32_t generation;
    int32_t nmembers;
    int32_t npending;           /* member ids handed out with MEMBER_ID_REQUIRED */
    struct kc_slice leader;     /* len 0 when none */
    struct kc_slice protocol;   /* chosen protocol, len 0 when none */
    struct kc_slice protocol_type; /* "" for none */
};

/* Returns 0 and *info, or -ENOENT when the group does not exist. */
int kg_group_describe(const struct kg_groups *gs, struct kc_slice group_id,
                      struct kg_group_info *info);

/* Call fn for every group, in id order (ListGroups). fn must not call kg_group_*. */
void kg_group_foreach(const struct kg_groups *gs,
                      void (*fn)(void *arg, const struct kg_group_info *info), void *arg);

/* One member as DescribeGroups shows it: metadata (for the group's protocol) and
 * assignment only while the group is Stable, empty otherwise (Kafka's summary). */
struct kg_member_info {
    struct kc_slice member_id;
    struct kc_slice group_instance_id; /* null for a dynamic member */
    struct kc_slice client_id;
    struct kc_slice client_host;
    struct kc_slice metadata;
    struct kc_slice assignment;
};

/* Call fn for each member of the group, in join order. Returns the member count, or
 * -ENOENT. fn must not call kg_group_*; the slices are valid during the call. */
int kg_group_members(const struct kg_groups *gs, struct kc_slice group_id,
                     void (*fn)(void *arg, const struct kg_member_info *m), void *arg);

/*
 * DeleteGroups for one group: KP_ERR_NONE (it was Empty and is gone; *tombstone says
 * whether a record of it may be in the log, to be cancelled by a tombstone - the caller
 * writes it, with the tombstones of the group's offsets), NON_EMPTY_GROUP (members), or
 * GROUP_ID_NOT_FOUND (no such group here: it may still have committed offsets).
 */
int16_t kg_group_delete(struct kg_groups *gs, struct kc_slice group_id, bool *tombstone);

/*
 * OffsetDelete's verdict for a group's committed offsets of one topic (Kafka's
 * handleDeleteOffsets): KP_ERR_NONE (Empty or unknown here: deletable),
 * GROUP_SUBSCRIBED_TO_TOPIC (a live "consumer" group a member of which subscribes to it,
 * by the consumer protocol's subscription; a subscription that cannot be read counts as
 * subscribed, to be safe), NON_EMPTY_GROUP (a live group of another protocol type: the
 * whole request's error). topic null asks only for the group-level verdict.
 */
int16_t kg_group_offsets_deletable(const struct kg_groups *gs, struct kc_slice group_id,
                                   struct kc_slice topic);

const char *kg_group_state_name(enum kg_group_state state);

#endif
