/*
 * group_static.c - static members (KIP-345): a consumer with a group.instance.id keeps its
 * place in the group across restarts of its process.
 *
 * A dynamic member that restarts is a new member: it joins with member id "", the group
 * rebalances, every consumer stops and gets new partitions. A static member names the
 * same instance id every time it starts, so the coordinator can tell "that consumer came
 * back" from "a new consumer":
 *
 *   JoinGroup(member "", instance "app-1")          group Stable, generation 7,
 *        |                                          "app-1" = member app-1-3f2e...
 *        v
 *   replace: the member keeps its partitions and its place; its id becomes app-1-9c41...
 *            (whatever the old id had parked gets FENCED_INSTANCE_ID: an old process of
 *            the same instance must stop)
 *        |
 *        +-- Stable, and the protocol the group would elect is unchanged:
 *        |     store the group's record with the new id, then answer generation 7 -
 *        |     no rebalance; the member's SyncGroup gets its old assignment
 *        +-- otherwise (CompletingRebalance, a protocol change): rebalance
 *        +-- PreparingRebalance: it simply rejoins this rebalance
 *
 * From then on the old id is fenced: Heartbeat, SyncGroup, OffsetCommit, LeaveGroup and
 * JoinGroup naming "app-1" with the old id get FENCED_INSTANCE_ID (82), which a client
 * treats as fatal - two processes claiming one instance cannot both consume.
 *
 * Before JoinGroup v9 the rejoined member is told the leader id from before the
 * replacement: if it was the leader, the answer names its old id, so it does not run the
 * assignor (a Stable group would not hand out a new assignment anyway). From v9 it is told
 * it leads but should skip the assignment (skip_assignment), and gets the members' list.
 */
#include <stdlib.h>

#include "kg_int.h"

/* Answer m's parked join with the group's current generation (the replacement done). */
static void answer_replaced(struct kg_groups *gs, struct kg_group *g, struct kg_member *m)
{
    bool lead = m == g->leader;
    int32_t n = m->store_skip && lead ? kg__fill_members(g) : 0;
    struct kg_join_result res = {
        .error = KP_ERR_NONE,
        .generation_id = g->generation,
        .protocol_type = kg__blob_slice(g->protocol_type),
        .protocol_name = kg__blob_slice(g->protocol),
        .leader = m->store_skip ? kg__blob_slice(g->leader->id) : kg__blob_slice(m->reply_leader),
        .member_id = kg__blob_slice(m->id),
        .nmembers = n,
        .members = g->scratch,
        .skip_assignment = m->store_skip && lead,
    };
    void *waiter = m->join_waiter;
    m->join_waiter = NULL;
    if (waiter)
        gs->cbs.join_done(gs->cbs.ctx, waiter, &res);
}

static void forget_old(struct kg_member *m)
{
    free(m->old_id.p);
    free(m->reply_leader.p);
    m->old_id = m->reply_leader = (struct kg_blob){NULL, 0};
    m->store_seq = 0;
}

void kg__static_stored(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                       int16_t error, int64_t now_ms)
{
    bool waiting = g->state == KG_GROUP_STABLE && m->awaiting_join &&
                   g->generation == m->store_generation;
    if (!waiting) { /* a rebalance took the member in meanwhile: it answers the join */
        forget_old(m);
        return;
    }
    m->awaiting_join = false;
    m->session_deadline = now_ms + m->session_ms;
    if (error == KP_ERR_NONE) {
        answer_replaced(gs, g, m);
        forget_old(m);
        return;
    }
    /* The new id is not durable: the old one stands again (Kafka reverts it too), and the
     * member is told to join afresh. */
    struct kg_blob fresh = m->id;
    m->id = m->old_id;
    m->old_id = (struct kg_blob){NULL, 0};
    free(fresh.p);
    void *waiter = m->join_waiter;
    m->join_waiter = NULL;
    forget_old(m);
    if (waiter)
        kg__reply_join_error(gs, waiter, error, (struct kc_slice){(const uint8_t *)"", 0});
}

/* The static member m comes back (member id "", same instance): fence what the old id has
 * parked, take a fresh id, keep everything else. */
static int replace_member(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                          const struct kg_join *req, struct kg_blob *old_out)
{
    struct kg_blob fresh, leader = {NULL, 0};
    if (kg__member_id_new(gs, req->group_instance_id, &fresh))
        return -1;
    if (g->leader && kg__blob_set(&leader, kg__blob_slice(g->leader->id))) {
        free(fresh.p);
        return -1;
    }
    if (m->join_waiter)
        kg__reply_join_error(gs, m->join_waiter, KP_ERR_FENCED_INSTANCE_ID, kg__blob_slice(m->id));
    if (m->sync_waiter)
        kg__reply_sync(gs, NULL, m->sync_waiter, KP_ERR_FENCED_INSTANCE_ID, (struct kg_blob){NULL, 0});
    m->join_waiter = m->sync_waiter = NULL;
    m->awaiting_sync = false;
    free(m->reply_leader.p);
    m->reply_leader = leader;
    *old_out = m->id;
    m->id = fresh; /* the leader pointer follows: it is the same member */
    return 0;
}

/* Stable, and the protocol choice unchanged: store the group with the new id, answer when
 * stored (kg__static_stored). */
static void rejoin_stable(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                          int16_t version, void *waiter, int64_t now_ms)
{
    m->awaiting_join = true; /* parked; counts as joined if a rebalance starts meanwhile */
    m->join_waiter = waiter;
    m->store_generation = g->generation;
    m->store_skip = version >= 9;
    m->store_seq = kg__store_seq(gs);
    kg__store(gs, g, m->store_seq, false, now_ms);
}

static void replace_static(struct kg_groups *gs, struct kg_group *g, struct kg_member *m,
                           int16_t version, const struct kg_join *req, void *waiter,
                           int64_t now_ms)
{
    struct kg_blob old = {NULL, 0};
    if (replace_member(gs, g, m, req, &old) || kg__member_update(m, req)) {
        if (old.p) { /* replaced, but the protocols could not be copied: keep the old id */
            free(m->id.p);
            m->id = old;
        }
        kg__reply_join_error(gs, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
        return;
    }
    free(m->old_id.p);
    m->old_id = old;
    m->session_deadline = now_ms + m->session_ms;
    if (g->state == KG_GROUP_STABLE) {
        struct kg_blob next = kg__select_protocol(g);
        if (kg__blob_eq(next, kg__blob_slice(g->protocol))) {
            rejoin_stable(gs, g, m, version, waiter, now_ms);
            return;
        }
    }
    /* Kafka: CompletingRebalance must rebalance again (the leader may be assigning to the
     * old id), and so must a protocol change; PreparingRebalance just takes the join. */
    free(m->old_id.p);
    m->old_id = (struct kg_blob){NULL, 0};
    if (g->state == KG_GROUP_COMPLETING_REBALANCE)
        kg__prepare_rebalance(gs, g, now_ms);
    kg__park_join(gs, g, m, waiter, now_ms);
}

void kg__static_join(struct kg_groups *gs, struct kg_group *g, int16_t version,
                     const struct kg_join *req, struct kc_slice client_id, void *waiter,
                     int64_t now_ms)
{
    struct kg_member *m = kg__static_find(g, req->group_instance_id);
    struct kg_blob id;
    if (m) {
        replace_static(gs, g, m, version, req, waiter, now_ms);
        return;
    }
    if (g->nmembers + g->npending >= gs->opts.max_members) {
        kg__reply_join_error(gs, waiter, KP_ERR_GROUP_MAX_SIZE_REACHED, req->member_id);
        return;
    }
    if (kg__member_id_new(gs, req->group_instance_id, &id)) {
        kg__reply_join_error(gs, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
        return;
    }
    kg__add_member(gs, g, id, client_id, req, waiter, now_ms); /* no MEMBER_ID_REQUIRED */
}
