/*
 * group_sync.c - the coordinator's short requests: SyncGroup, Heartbeat, LeaveGroup and
 * the OffsetCommit check.
 *
 * The checks follow Kafka's ClassicGroup / GroupCoordinator in order, because clients act
 * on the first error they get. "member" is Kafka's validateCurrentMember: an instance id
 * that now belongs to another member id is FENCED_INSTANCE_ID (82), an unknown one or an
 * unknown member id UNKNOWN_MEMBER_ID (25).
 *
 *   Heartbeat      member 82/25 -> wrong generation 22 -> PreparingRebalance 27
 *                  -> CompletingRebalance/Stable: 0, and the session timer restarts
 *   SyncGroup      member 82/25 -> wrong generation 22 -> a protocol (v5+) that is
 *                  not the group's 23 -> PreparingRebalance 27
 *                  -> CompletingRebalance: park; the leader's sync hands the assignment
 *                     to the server to store; once stored the group goes Stable and
 *                     releases everyone
 *                  -> Stable: the stored assignment at once
 *   LeaveGroup     member id "" with an instance id: that static member leaves (25 if
 *                  none) -> a pending id: forgotten -> member 82/25 -> it leaves
 *   OffsetCommit   generation < 0 on an Empty (or unknown) group: accept (no group
 *                  management) -> member 82/25 -> wrong generation 22
 *                  -> CompletingRebalance 27 -> accept (PreparingRebalance too: the
 *                  member still owns its partitions until it rejoins)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kg_int.h"

/* validateCurrentMember, then the generation: shared by Sync, Heartbeat and commits. */
static int16_t check_member(struct kg_group *g, struct kc_slice member_id,
                            struct kc_slice instance_id, int32_t generation,
                            struct kg_member **out)
{
    struct kg_member *m = NULL;
    int16_t err = kg__validate_member(g, member_id, instance_id, &m);
    if (err)
        return err;
    if (generation != g->generation)
        return KP_ERR_ILLEGAL_GENERATION;
    *out = m;
    return KP_ERR_NONE;
}

/* ---- SyncGroup ------------------------------------------------------------------------- */

/* The leader's SyncGroup: copy every assignment (all or nothing). */
static int store_assignments(struct kg_group *g, const struct kg_sync *req)
{
    struct kg_blob *copy = calloc((size_t)g->nmembers + 1, sizeof(*copy));
    int rc = copy ? 0 : -ENOMEM;
    int32_t i = 0;
    struct kg_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        for (int32_t j = 0; j < req->nassignments && rc == 0; j++)
            if (kg__blob_eq(m->id, req->assignments[j].member_id) && !copy[i].p)
                rc = kg__blob_set(&copy[i], req->assignments[j].assignment);
        i++;
    }
    i = 0;
    TAILQ_FOREACH(m, &g->members, link) {
        if (rc == 0) {
            free(m->assignment.p);
            m->assignment = copy[i]; /* members the leader left out get empty bytes */
        } else if (copy) {
            free(copy[i].p);
        }
        i++;
    }
    free(copy);
    return rc;
}

/* SyncGroup v5+ names the protocol type and name it expects (KIP-559); one that is not
 * the group's is refused, after the member checks, as Kafka does. Null: not checked. */
static bool protocol_consistent(const struct kg_group *g, const struct kg_sync *req)
{
    return (req->protocol_type.len < 0 || kg__blob_eq(g->protocol_type, req->protocol_type)) &&
           (req->protocol_name.len < 0 || kg__blob_eq(g->protocol, req->protocol_name));
}

/* Answer every parked SyncGroup: its assignment (or error), and restart its session. */
static void release_syncs(struct kg_groups *gs, struct kg_group *g, int16_t error,
                          int64_t now_ms)
{
    struct kg_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        if (!m->awaiting_sync)
            continue;
        void *waiter = m->sync_waiter;
        m->awaiting_sync = false;
        m->sync_waiter = NULL;
        m->session_deadline = now_ms + m->session_ms;
        if (waiter)
            kg__reply_sync(gs, error ? NULL : g, waiter, error, m->assignment);
    }
}

void kg__sync_stored(struct kg_groups *gs, struct kg_group *g, int16_t error, int64_t now_ms)
{
    struct kg_member *m;
    g->sync_seq = 0;
    if (error == KP_ERR_NONE) {
        g->state = KG_GROUP_STABLE;
        release_syncs(gs, g, KP_ERR_NONE, now_ms);
        return;
    }
    /* Kafka's resetAndPropagateAssignmentError, then a new rebalance. */
    TAILQ_FOREACH(m, &g->members, link) {
        free(m->assignment.p);
        m->assignment = (struct kg_blob){NULL, 0};
    }
    release_syncs(gs, g, error, now_ms);
    kg__prepare_rebalance(gs, g, now_ms);
}

/* The leader's SyncGroup in CompletingRebalance: keep the assignment and have the group's
 * record stored; the syncs are answered when it is (kg__sync_stored). */
static void leader_sync(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                        const struct kg_sync *req, void *waiter, int64_t now_ms)
{
    if (g->sync_seq)
        return; /* a retried sync while the first one's store is on its way: wait for it */
    if (store_assignments(g, req)) {
        m->awaiting_sync = false;
        m->sync_waiter = NULL;
        kg__reply_sync(gs, NULL, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE,
                       (struct kg_blob){NULL, 0});
        return;
    }
    g->sync_seq = kg__store_seq(gs);
    kg__store(gs, g, g->sync_seq, false, now_ms);
}

void kg_group_sync(struct kg_groups *gs, const struct kg_sync *req, void *waiter,
                   int64_t now_ms)
{
    static const struct kg_blob none = {NULL, 0};
    struct kg_group *g = kg__group_find(gs, req->group_id);
    struct kg_member *m = NULL;
    int16_t err = req->group_id.len <= 0 ? KP_ERR_INVALID_GROUP_ID
                  : check_member(g, req->member_id, req->group_instance_id,
                                 req->generation_id, &m);
    if (!err && !protocol_consistent(g, req))
        err = KP_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!err && g->state == KG_GROUP_PREPARING_REBALANCE)
        err = KP_ERR_REBALANCE_IN_PROGRESS;
    if (err) {
        kg__reply_sync(gs, NULL, waiter, err, none);
        return;
    }
    if (g->state == KG_GROUP_STABLE) {
        m->session_deadline = now_ms + m->session_ms;
        kg__reply_sync(gs, g, waiter, KP_ERR_NONE, m->assignment);
        return;
    }
    /* CompletingRebalance: park until the leader's assignment is stored. */
    if (m->awaiting_sync && m->sync_waiter)
        kg__reply_sync(gs, NULL, m->sync_waiter, KP_ERR_REBALANCE_IN_PROGRESS, none);
    m->awaiting_sync = true;
    m->sync_waiter = waiter;
    if (m == g->leader)
        leader_sync(gs, g, m, req, waiter, now_ms);
}

/* ---- Heartbeat, LeaveGroup, OffsetCommit ----------------------------------------------- */

int16_t kg_group_heartbeat(struct kg_groups *gs, const struct kg_member_ref *req,
                           int64_t now_ms)
{
    if (req->group_id.len <= 0)
        return KP_ERR_INVALID_GROUP_ID;
    struct kg_group *g = kg__group_find(gs, req->group_id);
    struct kg_member *m = NULL;
    int16_t err = check_member(g, req->member_id, req->group_instance_id, req->generation_id,
                               &m);
    if (err)
        return err;
    m->session_deadline = now_ms + m->session_ms;
    return g->state == KG_GROUP_PREPARING_REBALANCE ? KP_ERR_REBALANCE_IN_PROGRESS
                                                     : KP_ERR_NONE;
}

int16_t kg_group_leave(struct kg_groups *gs, struct kc_slice group_id,
                       struct kc_slice member_id, struct kc_slice instance_id, int64_t now_ms)
{
    if (group_id.len <= 0)
        return KP_ERR_INVALID_GROUP_ID;
    struct kg_group *g = kg__group_find(gs, group_id);
    struct kg_member *m = NULL;
    struct kg_pending *p = NULL;
    int16_t err = KP_ERR_NONE;
    if (!g)
        return KP_ERR_UNKNOWN_MEMBER_ID;
    if (member_id.len <= 0) /* an administrator removing a static member by instance id */
        err = (m = kg__static_find(g, instance_id)) ? KP_ERR_NONE : KP_ERR_UNKNOWN_MEMBER_ID;
    else if (!(p = kg__pending_find(g, member_id)))
        err = kg__validate_member(g, member_id, instance_id, &m);
    if (err)
        return err;
    if (m) {
        kg__remove_member(gs, g, m, now_ms);
    } else {
        kg__pending_remove(g, p);
        kg__try_complete_join(gs, g, now_ms);
    }
    kg__group_gc(gs, g);
    return KP_ERR_NONE;
}

int16_t kg_group_commit_check(struct kg_groups *gs, const struct kg_member_ref *req,
                              int64_t now_ms)
{
    struct kg_group *g = kg__group_find(gs, req->group_id);
    int32_t gen = req->generation_id;
    if ((!g || g->state == KG_GROUP_EMPTY) && gen < 0)
        return KP_ERR_NONE; /* a consumer that does not use group management */
    if (!g)
        return KP_ERR_ILLEGAL_GENERATION; /* a generation of a group we do not know */
    struct kg_member *m = NULL;
    if (gen >= 0 || req->member_id.len > 0 || req->group_instance_id.len >= 0) {
        int16_t err = check_member(g, req->member_id, req->group_instance_id, gen, &m);
        if (err)
            return err;
    } else if (g->state != KG_GROUP_EMPTY) {
        return KP_ERR_UNKNOWN_MEMBER_ID; /* no id or generation, but the group is in use */
    }
    if (g->state == KG_GROUP_COMPLETING_REBALANCE)
        return KP_ERR_REBALANCE_IN_PROGRESS;
    if (m)
        m->session_deadline = now_ms + m->session_ms;
    return KP_ERR_NONE;
}
