/*
 * kp_group.h - the consumer-group coordinator: Kafka's classic group protocol as a state
 * machine, with no sockets, no threads and no clock of its own.
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
 * Interface rules
 *  - One struct kp_groups holds every group. It is single-threaded by contract: the server
 *    calls it from one thread, or behind one lock. Every call takes now_ms, a monotonic
 *    clock in milliseconds; nothing inside reads a clock or sleeps.
 *  - JoinGroup and SyncGroup may have to wait for other members. kp_group_join/sync take
 *    an opaque `waiter` (the server's handle for "answer this request on that
 *    connection") and always answer through the join_done/sync_done callbacks: either
 *    before they return, or later, from another member's call or from kp_group_tick.
 *    Each waiter gets exactly one callback, unless the server withdraws it first with
 *    kp_group_forget (a closed connection). Callbacks run inside kp_group_* calls, on the
 *    caller's thread, under the caller's lock; they must not call back into kp_group_*.
 *    The response they receive points into coordinator memory valid only during the call:
 *    encode it (kp_encode_join_group / kp_encode_sync_group) or copy it there.
 *  - Timers: kp_group_tick(now) expires sessions (members silent longer than their
 *    session timeout), pending member ids and rebalance timeouts;
 *    kp_group_next_deadline() says when to call it next (INT64_MAX: nothing pending).
 *  - The coordinator validates offset commits (kp_group_commit_check) but stores no
 *    offsets: the server owns them (kp_offsets.h has the record format).
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
 * Read next: src/group.c (state and timers), src/group_join.c (the join phase).
 */
#ifndef KP_GROUP_H
#define KP_GROUP_H

#include <stdint.h>

#include "kp_proto.h"
#include "kp_req.h"
#include "kp_resp.h"

enum kp_group_state {
    KP_GROUP_EMPTY = 0,
    KP_GROUP_PREPARING_REBALANCE,
    KP_GROUP_COMPLETING_REBALANCE,
    KP_GROUP_STABLE,
};

/* Tunables, with Kafka's broker defaults (group.* settings). */
#define KP_GROUP_MIN_SESSION_MS_DEFAULT   6000    /* group.min.session.timeout.ms */
#define KP_GROUP_MAX_SESSION_MS_DEFAULT   1800000 /* group.max.session.timeout.ms */
#define KP_GROUP_INITIAL_DELAY_MS_DEFAULT 3000    /* group.initial.rebalance.delay.ms */
#define KP_GROUP_MAX_SIZE_DEFAULT         1000    /* group.max.size (Kafka: unbounded) */

struct kp_group_opts {
    int32_t min_session_ms;
    int32_t max_session_ms;
    int32_t initial_rebalance_delay_ms; /* 0: a new group completes its first join at once */
    int32_t max_members;
    uint64_t seed; /* member-id UUIDs; 0 = from getrandom(2) */
};

void kp_group_opts_default(struct kp_group_opts *o);

struct kp_group_cbs {
    /* A JoinGroup is answered. resp->members is set for the leader only. */
    void (*join_done)(void *ctx, void *waiter, const struct kp_join_group_resp *resp);
    /* A SyncGroup is answered. */
    void (*sync_done)(void *ctx, void *waiter, const struct kp_sync_group_resp *resp);
    void *ctx;
};

struct kp_groups;

/*
 * Create the coordinator. opts NULL = defaults; cbs is copied. Returns 0 and *out, or
 * -ENOMEM / -EINVAL (missing callbacks, min > max session). Destroy with
 * kp_groups_destroy, which answers every still-parked waiter with COORDINATOR_NOT_AVAILABLE
 * (so the server's per-waiter state is always released through the callbacks).
 */
int kp_groups_create(const struct kp_group_opts *opts, const struct kp_group_cbs *cbs,
                     struct kp_groups **out);
void kp_groups_destroy(struct kp_groups *gs);

/*
 * JoinGroup. version is the request's api_version (v4+ first joins get MEMBER_ID_REQUIRED
 * with a fresh id); client_id the header's (member ids are client_id-uuid). The answer
 * comes through join_done(waiter), now or later. waiter must be non-NULL and unique among
 * outstanding waiters. req's slices are copied; they need not outlive the call.
 */
void kp_group_join(struct kp_groups *gs, int16_t version, struct kc_slice client_id,
                   const struct kp_join_group_req *req, void *waiter, int64_t now_ms);

/* SyncGroup; answered through sync_done(waiter), now or once the leader has synced. */
void kp_group_sync(struct kp_groups *gs, const struct kp_sync_group_req *req, void *waiter,
                   int64_t now_ms);

/* Heartbeat; returns the Kafka error code to answer with (Kafka's check order). */
int16_t kp_group_heartbeat(struct kp_groups *gs, const struct kp_heartbeat_req *req,
                           int64_t now_ms);

/* LeaveGroup (v0-1: one member); returns the Kafka error code. */
int16_t kp_group_leave(struct kp_groups *gs, const struct kp_leave_group_req *req,
                       int64_t now_ms);

/*
 * May this OffsetCommit be stored? Returns a Kafka error code (ClassicGroup's rules):
 * NONE for a generation < 0 commit to an Empty or unknown group (a standalone consumer),
 * else UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS (CompletingRebalance)
 * or NONE (Stable, or PreparingRebalance with the current generation). An accepted commit
 * from a member counts as a heartbeat. The same answer applies to every partition.
 */
int16_t kp_group_commit_check(struct kp_groups *gs, const struct kp_offset_commit_req *req,
                              int64_t now_ms);

/* Withdraw a parked waiter (its connection closed); the member stays until it expires. */
void kp_group_forget(struct kp_groups *gs, void *waiter);

/* Run the timers due at now_ms (may fire callbacks). */
void kp_group_tick(struct kp_groups *gs, int64_t now_ms);

/* The earliest time kp_group_tick has work to do, or INT64_MAX. O(groups + members). */
int64_t kp_group_next_deadline(const struct kp_groups *gs);

/* A snapshot for logs, tests and the CLI. Strings point into coordinator memory and are
 * valid until the next kp_group_* call. */
struct kp_group_info {
    enum kp_group_state state;
    int32_t generation;
    int32_t nmembers;
    int32_t npending;           /* member ids handed out with MEMBER_ID_REQUIRED */
    struct kc_slice leader;     /* len 0 when none */
    struct kc_slice protocol;   /* chosen protocol, len 0 when none */
    struct kc_slice protocol_type;
};

/* Returns 0 and *info, or KC_ENOTOPIC-like -ENOENT when the group does not exist. */
int kp_group_describe(const struct kp_groups *gs, struct kc_slice group_id,
                      struct kp_group_info *info);

const char *kp_group_state_name(enum kp_group_state state);

#endif
