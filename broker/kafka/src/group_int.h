/*
 * group_int.h - the coordinator's private structures, shared by group.c (state, timers,
 * Sync/Heartbeat/Leave/commit checks) and group_join.c (the join phase).
 *
 *   struct kp_groups
 *     RB tree of struct kp_group, by group id
 *       TAILQ of struct kp_member, in join order (the first is leader when the old one goes)
 *       TAILQ of struct kp_pending, ids handed out with MEMBER_ID_REQUIRED
 *
 * Every allocation a member needs (its id, protocols, a slot in the group's scratch array
 * used to answer the leader) is made when it joins or rejoins; completing a rebalance and
 * answering parked requests allocate nothing, so they cannot fail half-way.
 */
#ifndef KP_GROUP_INT_H
#define KP_GROUP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include "kp_group.h"

struct kp_blob {
    uint8_t *p;
    int32_t len;
};

struct kp_member {
    TAILQ_ENTRY(kp_member) link;
    struct kp_blob id;
    int32_t session_ms;
    int32_t rebalance_ms;
    int32_t nprotocols;
    struct kp_blob *proto_names; /* nprotocols each */
    struct kp_blob *proto_meta;
    struct kp_blob assignment;   /* from the leader's SyncGroup */
    bool awaiting_join;          /* has (re)joined this rebalance */
    bool awaiting_sync;          /* has a SyncGroup parked */
    bool expired;                /* marked by the session timer, removed next */
    void *join_waiter;           /* NULL once answered or forgotten */
    void *sync_waiter;
    int64_t session_deadline;
};

struct kp_pending {
    TAILQ_ENTRY(kp_pending) link;
    struct kp_blob id;
    int64_t deadline;
};

TAILQ_HEAD(kp_member_list, kp_member);
TAILQ_HEAD(kp_pending_list, kp_pending);

struct kp_group {
    RB_ENTRY(kp_group) node;
    struct kp_blob id;
    enum kp_group_state state;
    int32_t generation;
    struct kp_blob protocol_type;   /* of the current members; empty when none */
    struct kp_blob protocol;        /* chosen by the last completed join */
    struct kp_member *leader;
    struct kp_member_list members;
    int32_t nmembers;
    struct kp_pending_list pending;
    int32_t npending;
    struct kp_join_member *scratch; /* room for nmembers: the leader's members[] */
    int32_t scratch_cap;
    int64_t rebalance_deadline;     /* PreparingRebalance: force completion then */
    int64_t delay_deadline;         /* initial delay window (0: none running) */
    int64_t delay_limit;            /* the window may not extend past this */
    bool delay_new_member;          /* a member joined during the current window */
};

RB_HEAD(kp_group_tree, kp_group);

struct kp_groups {
    struct kp_group_tree tree;
    struct kp_group_opts opts;
    struct kp_group_cbs cbs;
    uint64_t rng;
};

int kp__group_cmp(const struct kp_group *a, const struct kp_group *b);
RB_PROTOTYPE(kp_group_tree, kp_group, node, kp__group_cmp)

/* ---- group.c ----------------------------------------------------------------------------- */

struct kp_group *kp__group_find(const struct kp_groups *gs, struct kc_slice id);
struct kp_member *kp__member_find(const struct kp_group *g, struct kc_slice id);
struct kp_pending *kp__pending_find(const struct kp_group *g, struct kc_slice id);
void kp__pending_remove(struct kp_group *g, struct kp_pending *p);
/* Forget g if nobody is left in it (Empty, no members, no pending ids). */
void kp__group_gc(struct kp_groups *gs, struct kp_group *g);
void kp__member_free(struct kp_member *m);
bool kp__blob_eq(struct kp_blob b, struct kc_slice s);
int kp__blob_set(struct kp_blob *b, struct kc_slice s);
struct kc_slice kp__blob_slice(struct kp_blob b);
void kp__reply_join_error(struct kp_groups *gs, void *waiter, int16_t error,
                          struct kc_slice member_id);
void kp__reply_sync(struct kp_groups *gs, void *waiter, int16_t error, struct kp_blob assign);

/* ---- group_join.c ---------------------------------------------------------------------- */

/* Enter PreparingRebalance (answering parked syncs with REBALANCE_IN_PROGRESS). */
void kp__prepare_rebalance(struct kp_groups *gs, struct kp_group *g, int64_t now_ms);
/* Complete the join if every member has rejoined and nothing else holds it back. */
void kp__try_complete_join(struct kp_groups *gs, struct kp_group *g, int64_t now_ms);
/* Complete the join now: drop members that did not rejoin, open the next generation. */
void kp__complete_join(struct kp_groups *gs, struct kp_group *g, int64_t now_ms);
/* Remove a member (leave, expiry) and move the group on as Kafka does. */
void kp__remove_member(struct kp_groups *gs, struct kp_group *g, struct kp_member *m,
                       int64_t now_ms);

#endif
