/*
 * kg_int.h - the coordinator's private structures, shared by group.c (state, timers,
 * Sync/Heartbeat/Leave/commit checks) and group_join.c (the join phase).
 *
 *   struct kg_groups
 *     RB tree of struct kg_group, by group id
 *       TAILQ of struct kg_member, in join order (the first is leader when the old one goes)
 *       TAILQ of struct kg_pending, ids handed out with MEMBER_ID_REQUIRED
 *
 * Every allocation a member needs (its id, protocols, a slot in the group's scratch array
 * used to answer the leader) is made when it joins or rejoins; completing a rebalance and
 * answering parked requests allocate nothing, so they cannot fail half-way.
 */
#ifndef KG_INT_H
#define KG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include "kg.h"

struct kg_blob {
    uint8_t *p;
    int32_t len;
};

struct kg_member {
    TAILQ_ENTRY(kg_member) link;
    struct kg_blob id;
    int32_t session_ms;
    int32_t rebalance_ms;
    int32_t nprotocols;
    struct kg_blob *proto_names; /* nprotocols each */
    struct kg_blob *proto_meta;
    struct kg_blob assignment;   /* from the leader's SyncGroup */
    bool awaiting_join;          /* has (re)joined this rebalance */
    bool awaiting_sync;          /* has a SyncGroup parked */
    bool expired;                /* marked by the session timer, removed next */
    void *join_waiter;           /* NULL once answered or forgotten */
    void *sync_waiter;
    int64_t session_deadline;
};

struct kg_pending {
    TAILQ_ENTRY(kg_pending) link;
    struct kg_blob id;
    int64_t deadline;
};

TAILQ_HEAD(kg_member_list, kg_member);
TAILQ_HEAD(kg_pending_list, kg_pending);

struct kg_group {
    RB_ENTRY(kg_group) node;
    struct kg_blob id;
    enum kg_group_state state;
    int32_t generation;
    struct kg_blob protocol_type;   /* of the current members; empty when none */
    struct kg_blob protocol;        /* chosen by the last completed join */
    struct kg_member *leader;
    struct kg_member_list members;
    int32_t nmembers;
    struct kg_pending_list pending;
    int32_t npending;
    struct kg_join_member *scratch; /* room for nmembers: the leader's members[] */
    int32_t scratch_cap;
    int64_t rebalance_deadline;     /* PreparingRebalance: force completion then */
    int64_t delay_deadline;         /* initial delay window (0: none running) */
    int64_t delay_limit;            /* the window may not extend past this */
    bool delay_new_member;          /* a member joined during the current window */
};

RB_HEAD(kg_group_tree, kg_group);

struct kg_groups {
    struct kg_group_tree tree;
    struct kg_group_opts opts;
    struct kg_group_cbs cbs;
    uint64_t rng;
};

int kg__group_cmp(const struct kg_group *a, const struct kg_group *b);
RB_PROTOTYPE(kg_group_tree, kg_group, node, kg__group_cmp)

/* ---- group.c ----------------------------------------------------------------------------- */

struct kg_group *kg__group_find(const struct kg_groups *gs, struct kc_slice id);
struct kg_member *kg__member_find(const struct kg_group *g, struct kc_slice id);
struct kg_pending *kg__pending_find(const struct kg_group *g, struct kc_slice id);
void kg__pending_remove(struct kg_group *g, struct kg_pending *p);
/* Forget g if nobody is left in it (Empty, no members, no pending ids). */
void kg__group_gc(struct kg_groups *gs, struct kg_group *g);
void kg__member_free(struct kg_member *m);
bool kg__blob_eq(struct kg_blob b, struct kc_slice s);
int kg__blob_set(struct kg_blob *b, struct kc_slice s);
struct kc_slice kg__blob_slice(struct kg_blob b);
void kg__reply_join_error(struct kg_groups *gs, void *waiter, int16_t error,
                          struct kc_slice member_id);
/* Answer a SyncGroup; g (NULL for an error) names the group's protocol in the answer. */
void kg__reply_sync(struct kg_groups *gs, const struct kg_group *g, void *waiter,
                    int16_t error, struct kg_blob assign);

/* ---- group_join.c ---------------------------------------------------------------------- */

/* Enter PreparingRebalance (answering parked syncs with REBALANCE_IN_PROGRESS). */
void kg__prepare_rebalance(struct kg_groups *gs, struct kg_group *g, int64_t now_ms);
/* Complete the join if every member has rejoined and nothing else holds it back. */
void kg__try_complete_join(struct kg_groups *gs, struct kg_group *g, int64_t now_ms);
/* Complete the join now: drop members that did not rejoin, open the next generation. */
void kg__complete_join(struct kg_groups *gs, struct kg_group *g, int64_t now_ms);
/* Remove a member (leave, expiry) and move the group on as Kafka does. */
void kg__remove_member(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                       int64_t now_ms);

#endif
