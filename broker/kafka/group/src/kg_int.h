/*
 * kg_int.h - the coordinator's private structures, shared by group.c (state, timers,
 * introspection), group_join.c (the join phase), group_static.c (static members),
 * group_sync.c (Sync/Heartbeat/Leave/commit checks) and group_store.c (persistence and
 * the admin APIs).
 *
 *   struct kg_groups
 *     RB tree of struct kg_group, by group id
 *       TAILQ of struct kg_member, in join order (the first is leader when the old one goes)
 *       TAILQ of struct kg_pending, ids handed out with MEMBER_ID_REQUIRED
 *
 * Every allocation a member needs (its id, protocols, a slot in the group's two scratch
 * arrays - the leader's members[] and the group's record) is made when it joins or
 * rejoins; completing a rebalance, storing the group and answering parked requests
 * allocate nothing, so they cannot fail half-way.
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
    bool is_static;              /* has a group instance id (KIP-345) */
    struct kg_blob instance_id;  /* static members only */
    struct kg_blob client_id;    /* the JoinGroup header's, for DescribeGroups and records */
    struct kg_blob client_host;  /* "/127.0.0.1" */
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
    /* A static member that replaced its old id in a Stable group: its JoinGroup is
     * answered once the group's record with the new id is stored (seq), with the leader
     * id it would have seen before (Kafka answers the old leader id before JoinGroup v9,
     * so the member does not think it must assign), or the old id is restored. */
    uint64_t store_seq;          /* 0: no such store outstanding */
    int32_t store_generation;
    bool store_skip;             /* JoinGroup v9+: skip_assignment semantics */
    struct kg_blob old_id;
    struct kg_blob reply_leader;
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
    struct kg_record_member *rec_scratch; /* and the group's record */
    int32_t scratch_cap;
    uint64_t sync_seq;              /* the generation's assignment being stored (0: none) */
    bool persisted;                 /* a record of it may be in the log (until a tombstone) */
    bool dormant;                   /* Empty, no members, kept: it has committed offsets */
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
    uint64_t seq; /* the last store's sequence number */
};

int kg__group_cmp(const struct kg_group *a, const struct kg_group *b);
RB_PROTOTYPE(kg_group_tree, kg_group, node, kg__group_cmp)

/* ---- group.c ----------------------------------------------------------------------------- */

struct kg_group *kg__group_find(const struct kg_groups *gs, struct kc_slice id);
struct kg_member *kg__member_find(const struct kg_group *g, struct kc_slice id);
struct kg_pending *kg__pending_find(const struct kg_group *g, struct kc_slice id);
void kg__pending_remove(struct kg_group *g, struct kg_pending *p);
/* Forget g if nobody is left in it (Empty, no members, no pending ids) and it is not kept
 * for its committed offsets. */
void kg__group_gc(struct kg_groups *gs, struct kg_group *g);
/* Remove g from the tree and free it, whatever it holds (no waiter may be parked). */
void kg__group_drop(struct kg_groups *gs, struct kg_group *g);
struct kg_group *kg__group_create(struct kg_groups *gs, struct kc_slice id);
void kg__member_free(struct kg_member *m);
/* Kafka's validateCurrentMember: instance id mapped to another member 82, unknown 25. */
int16_t kg__validate_member(const struct kg_group *g, struct kc_slice member_id,
                            struct kc_slice instance_id, struct kg_member **out);
/* The static member with this instance id, or NULL. */
struct kg_member *kg__static_find(const struct kg_group *g, struct kc_slice instance_id);
/* Room for n members in g's scratch arrays. */
int kg__scratch_reserve(struct kg_group *g, int32_t n);
bool kg__blob_eq(struct kg_blob b, struct kc_slice s);
int kg__blob_set(struct kg_blob *b, struct kc_slice s);
struct kc_slice kg__blob_slice(struct kg_blob b);
void kg__reply_join_error(struct kg_groups *gs, void *waiter, int16_t error,
                          struct kc_slice member_id);
/* Answer a SyncGroup; g (NULL for an error) names the group's protocol in the answer. */
void kg__reply_sync(struct kg_groups *gs, const struct kg_group *g, void *waiter,
                    int16_t error, struct kg_blob assign);

/* ---- group_join.c ---------------------------------------------------------------------- */

/* A new member id: prefix-uuid (prefix: the client id, or a static member's instance id). */
int kg__member_id_new(struct kg_groups *gs, struct kc_slice prefix, struct kg_blob *out);
/* Copy req's protocols and timeouts into m (all or nothing). */
int kg__member_update(struct kg_member *m, const struct kg_join *req);
bool kg__protocols_match(const struct kg_member *m, const struct kg_join *req);
/* The protocol the members would elect now (Kafka's selectProtocol); empty if none. */
struct kg_blob kg__select_protocol(const struct kg_group *g);
/* Fill g->scratch with every member's metadata for the elected protocol; the count. */
int32_t kg__fill_members(struct kg_group *g);
/* Add a new member (id taken over) and park its join; answers the waiter on failure. */
void kg__add_member(struct kg_groups *gs, struct kg_group *g, struct kg_blob id,
                    struct kc_slice client_id, const struct kg_join *req, void *waiter,
                    int64_t now_ms);
/* Park m's JoinGroup and (re)start the rebalance; answers an older parked one. */
void kg__park_join(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                   void *waiter, int64_t now_ms);
/* The existing member m rejoins (Kafka's doCurrentMemberJoinGroup after validation). */
void kg__join_existing(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                       const struct kg_join *req, void *waiter, int64_t now_ms);

/* Enter PreparingRebalance (answering parked syncs with REBALANCE_IN_PROGRESS). */
void kg__prepare_rebalance(struct kg_groups *gs, struct kg_group *g, int64_t now_ms);
/* Complete the join if every member has rejoined and nothing else holds it back. */
void kg__try_complete_join(struct kg_groups *gs, struct kg_group *g, int64_t now_ms);
/* Complete the join now: drop members that did not rejoin, open the next generation. */
void kg__complete_join(struct kg_groups *gs, struct kg_group *g, int64_t now_ms);
/* Remove a member (leave, expiry) and move the group on as Kafka does. */
void kg__remove_member(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                       int64_t now_ms);

/* ---- group_static.c ------------------------------------------------------------------------ */

/* JoinGroup with member id "" and an instance id: replace the known static member's id,
 * or add a new static member. */
void kg__static_join(struct kg_groups *gs, struct kg_group *g, int16_t version,
                     const struct kg_join *req, struct kc_slice client_id, void *waiter,
                     int64_t now_ms);
/* The store of m's replacement (seq) is done: answer its join, or restore its old id. */
void kg__static_stored(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                       int16_t error, int64_t now_ms);

/* ---- group_store.c -------------------------------------------------------------------------- */

/* A fresh store sequence number. */
uint64_t kg__store_seq(struct kg_groups *gs);
/* Ask the server to store g's record (tombstone: the group is gone) under seq. Without a
 * store callback the store completes at once (kg__stored runs before this returns), so
 * callers set whatever waits on seq first and touch nothing after. */
void kg__store(struct kg_groups *gs, struct kg_group *g, uint64_t seq, bool tombstone,
               int64_t now_ms);
/* The group has just become Empty: keep it (an Empty record) or let it go (a tombstone). */
void kg__group_emptied(struct kg_groups *gs, struct kg_group *g, int64_t now_ms);
/* The leader's assignment (g->sync_seq) is stored, or failed: go Stable and answer the
 * syncs, or reset and rebalance (Kafka's SyncGroup storeGroup callback). */
void kg__sync_stored(struct kg_groups *gs, struct kg_group *g, int16_t error, int64_t now_ms);

#endif
