/*
 * group.c - the coordinator's groups, timers and the short requests: SyncGroup,
 * Heartbeat, LeaveGroup and the OffsetCommit check (the join phase is group_join.c).
 *
 * The checks follow Kafka's ClassicGroup / GroupMetadataManager in order, because clients
 * act on the first error they get:
 *
 *   Heartbeat      unknown member 25 -> wrong generation 22 -> PreparingRebalance 27
 *                  -> CompletingRebalance/Stable: 0, and the session timer restarts
 *   SyncGroup      unknown member 25 -> wrong generation 22 -> a protocol (v5+) that is
 *                  not the group's 23 -> PreparingRebalance 27
 *                  -> CompletingRebalance: park; the leader's sync stores every
 *                     assignment, goes Stable and releases everyone
 *                  -> Stable: the stored assignment at once
 *   OffsetCommit   generation < 0 on an Empty (or unknown) group: accept (no group
 *                  management) -> unknown member 25 -> wrong generation 22
 *                  -> CompletingRebalance 27 -> accept (PreparingRebalance too: the
 *                  member still owns its partitions until it rejoins)
 *
 * Timers are deadlines compared with the caller's now_ms: a member's session deadline
 * (not running while it has a JoinGroup or SyncGroup parked, as in Kafka), a pending id's
 * deadline, a preparing group's rebalance deadline and initial-delay window.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kg_int.h"

/* ---- small helpers ------------------------------------------------------------------- */

int kg__group_cmp(const struct kg_group *a, const struct kg_group *b)
{
    int32_t n = a->id.len < b->id.len ? a->id.len : b->id.len;
    int c = n ? memcmp(a->id.p, b->id.p, (size_t)n) : 0;
    return c ? c : (a->id.len > b->id.len) - (a->id.len < b->id.len);
}

RB_GENERATE(kg_group_tree, kg_group, node, kg__group_cmp)

bool kg__blob_eq(struct kg_blob b, struct kc_slice s)
{
    int32_t slen = s.len < 0 ? 0 : s.len;
    return b.len == slen && (slen == 0 || memcmp(b.p, s.p, (size_t)slen) == 0);
}

struct kc_slice kg__blob_slice(struct kg_blob b)
{
    return (struct kc_slice){b.p ? b.p : (const uint8_t *)"", b.len};
}

/* Copy s (null copies as empty); NUL-terminated for logs. */
int kg__blob_set(struct kg_blob *b, struct kc_slice s)
{
    int32_t len = s.len < 0 ? 0 : s.len;
    uint8_t *p = malloc((size_t)len + 1);
    if (!p)
        return -ENOMEM;
    if (len)
        memcpy(p, s.p, (size_t)len);
    p[len] = 0;
    free(b->p);
    b->p = p;
    b->len = len;
    return 0;
}

struct kg_group *kg__group_find(const struct kg_groups *gs, struct kc_slice id)
{
    if (id.len < 0)
        return NULL;
    struct kg_group key = {.id = {(uint8_t *)id.p, id.len}};
    return RB_FIND(kg_group_tree, (struct kg_group_tree *)&gs->tree, &key);
}

struct kg_member *kg__member_find(const struct kg_group *g, struct kc_slice id)
{
    struct kg_member *m;
    if (id.len <= 0)
        return NULL;
    TAILQ_FOREACH(m, &g->members, link)
        if (kg__blob_eq(m->id, id))
            return m;
    return NULL;
}

struct kg_pending *kg__pending_find(const struct kg_group *g, struct kc_slice id)
{
    struct kg_pending *p;
    TAILQ_FOREACH(p, &g->pending, link)
        if (kg__blob_eq(p->id, id))
            return p;
    return NULL;
}

void kg__pending_remove(struct kg_group *g, struct kg_pending *p)
{
    TAILQ_REMOVE(&g->pending, p, link);
    g->npending--;
    free(p->id.p);
    free(p);
}

void kg__member_free(struct kg_member *m)
{
    for (int32_t i = 0; i < m->nprotocols; i++) {
        free(m->proto_names[i].p);
        free(m->proto_meta[i].p);
    }
    free(m->proto_names);
    free(m->proto_meta);
    free(m->assignment.p);
    free(m->id.p);
    free(m);
}

void kg__reply_join_error(struct kg_groups *gs, void *waiter, int16_t error,
                          struct kc_slice member_id)
{
    static const struct kc_slice empty = {(const uint8_t *)"", 0}, null = {NULL, -1};
    struct kg_join_result res = {error, -1, null, null, empty, member_id, 0, NULL};
    if (res.member_id.len < 0)
        res.member_id = empty;
    gs->cbs.join_done(gs->cbs.ctx, waiter, &res);
}

void kg__reply_sync(struct kg_groups *gs, const struct kg_group *g, void *waiter,
                    int16_t error, struct kg_blob assign)
{
    struct kg_sync_result res = {error, {NULL, -1}, {NULL, -1}, kg__blob_slice(assign)};
    if (error == KP_ERR_NONE && g) { /* what the group agreed on (SyncGroup v5+ says it) */
        res.protocol_type = kg__blob_slice(g->protocol_type);
        res.protocol_name = kg__blob_slice(g->protocol);
    }
    gs->cbs.sync_done(gs->cbs.ctx, waiter, &res);
}

static void group_free(struct kg_group *g)
{
    struct kg_member *m;
    struct kg_pending *p;
    while ((m = TAILQ_FIRST(&g->members))) {
        TAILQ_REMOVE(&g->members, m, link);
        kg__member_free(m);
    }
    while ((p = TAILQ_FIRST(&g->pending)))
        kg__pending_remove(g, p);
    free(g->scratch);
    free(g->protocol.p);
    free(g->protocol_type.p);
    free(g->id.p);
    free(g);
}

void kg__group_gc(struct kg_groups *gs, struct kg_group *g)
{
    if (g->state == KG_GROUP_EMPTY && g->nmembers == 0 && g->npending == 0) {
        RB_REMOVE(kg_group_tree, &gs->tree, g);
        group_free(g);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------- */

void kg_group_opts_default(struct kg_group_opts *o)
{
    o->min_session_ms = KG_GROUP_MIN_SESSION_MS_DEFAULT;
    o->max_session_ms = KG_GROUP_MAX_SESSION_MS_DEFAULT;
    o->initial_rebalance_delay_ms = KG_GROUP_INITIAL_DELAY_MS_DEFAULT;
    o->max_members = KG_GROUP_MAX_SIZE_DEFAULT;
    o->seed = 0;
}

int kg_groups_create(const struct kg_group_opts *opts, const struct kg_group_cbs *cbs,
                     struct kg_groups **out)
{
    struct kg_group_opts o;
    if (opts)
        o = *opts;
    else
        kg_group_opts_default(&o);
    if (!cbs || !cbs->join_done || !cbs->sync_done || o.min_session_ms > o.max_session_ms ||
        o.max_members < 1 || o.initial_rebalance_delay_ms < 0)
        return -EINVAL;
    if (o.seed == 0) {
        ssize_t n = getrandom(&o.seed, sizeof(o.seed), 0); /* 8 bytes: never short */
        if (n < 0)
            return -errno;
        if (n != (ssize_t)sizeof(o.seed) || o.seed == 0)
            o.seed = 0x9E3779B97F4A7C15ull; /* only uniqueness matters, not secrecy */
    }
    struct kg_groups *gs = calloc(1, sizeof(*gs));
    if (!gs)
        return -ENOMEM;
    RB_INIT(&gs->tree);
    gs->opts = o;
    gs->cbs = *cbs;
    gs->rng = o.seed;
    *out = gs;
    return 0;
}

void kg_groups_destroy(struct kg_groups *gs)
{
    if (!gs)
        return;
    struct kg_group *g;
    while ((g = RB_MIN(kg_group_tree, &gs->tree))) {
        struct kg_member *m;
        TAILQ_FOREACH(m, &g->members, link) {
            if (m->join_waiter)
                kg__reply_join_error(gs, m->join_waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE,
                                     kg__blob_slice(m->id));
            if (m->sync_waiter)
                kg__reply_sync(gs, NULL, m->sync_waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE,
                               (struct kg_blob){NULL, 0});
        }
        RB_REMOVE(kg_group_tree, &gs->tree, g);
        group_free(g);
    }
    free(gs);
}

/* ---- SyncGroup ------------------------------------------------------------------------- */

/* Kafka's validateMember + generation check, shared by Sync and Heartbeat. */
static int16_t check_member(struct kg_group *g, struct kc_slice member_id,
                            struct kc_slice instance_id, int32_t generation,
                            struct kg_member **out)
{
    struct kg_member *m = g ? kg__member_find(g, member_id) : NULL;
    if (!m || instance_id.len >= 0)
        return KP_ERR_UNKNOWN_MEMBER_ID; /* no static members here (see kg.h) */
    if (generation != g->generation)
        return KP_ERR_ILLEGAL_GENERATION;
    *out = m;
    return KP_ERR_NONE;
}

/* The leader's SyncGroup: copy every assignment (all or nothing), then go Stable. */
static int store_assignments(struct kg_group *g, const struct kg_sync *req)
{
    struct kg_blob *copy = calloc((size_t)g->nmembers, sizeof(*copy));
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

static void release_syncs(struct kg_groups *gs, struct kg_group *g, int64_t now_ms)
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
            kg__reply_sync(gs, g, waiter, KP_ERR_NONE, m->assignment);
    }
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
    /* CompletingRebalance: park until the leader's assignment is in. */
    if (m->awaiting_sync && m->sync_waiter)
        kg__reply_sync(gs, NULL, m->sync_waiter, KP_ERR_REBALANCE_IN_PROGRESS, none);
    m->awaiting_sync = true;
    m->sync_waiter = waiter;
    if (m != g->leader)
        return;
    if (store_assignments(g, req)) {
        m->awaiting_sync = false;
        m->sync_waiter = NULL;
        kg__reply_sync(gs, NULL, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE, none);
        return;
    }
    g->state = KG_GROUP_STABLE;
    release_syncs(gs, g, now_ms);
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
                       struct kc_slice member_id, int64_t now_ms)
{
    if (group_id.len <= 0)
        return KP_ERR_INVALID_GROUP_ID;
    struct kg_group *g = kg__group_find(gs, group_id);
    if (!g)
        return KP_ERR_UNKNOWN_MEMBER_ID;
    struct kg_member *m = kg__member_find(g, member_id);
    struct kg_pending *p = m ? NULL : kg__pending_find(g, member_id);
    if (!m && !p)
        return KP_ERR_UNKNOWN_MEMBER_ID;
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

/* ---- waiters and timers ---------------------------------------------------------------- */

void kg_group_forget(struct kg_groups *gs, void *waiter)
{
    struct kg_group *g;
    struct kg_member *m;
    RB_FOREACH(g, kg_group_tree, &gs->tree) {
        TAILQ_FOREACH(m, &g->members, link) {
            if (m->join_waiter == waiter)
                m->join_waiter = NULL; /* still counts as rejoined, as in Kafka */
            if (m->sync_waiter == waiter) {
                m->sync_waiter = NULL;
                m->awaiting_sync = false; /* nothing parked: the session timer runs */
            }
        }
    }
}

/* Expire sessions and pending ids of one group; members are removed one at a time,
 * because each removal may complete a join that drops other members. */
static void expire_members(struct kg_groups *gs, struct kg_group *g, int64_t now_ms)
{
    struct kg_member *m;
    struct kg_pending *p, *pnext;
    TAILQ_FOREACH(m, &g->members, link)
        m->expired = !m->awaiting_join && !m->awaiting_sync && now_ms >= m->session_deadline;
    for (;;) {
        TAILQ_FOREACH(m, &g->members, link)
            if (m->expired)
                break;
        if (!m)
            break;
        kg__remove_member(gs, g, m, now_ms);
    }
    bool removed = false;
    TAILQ_FOREACH_SAFE(p, &g->pending, link, pnext) {
        if (now_ms >= p->deadline) {
            kg__pending_remove(g, p);
            removed = true;
        }
    }
    if (removed)
        kg__try_complete_join(gs, g, now_ms);
}

static void expire_rebalance(struct kg_groups *gs, struct kg_group *g, int64_t now_ms)
{
    if (g->state != KG_GROUP_PREPARING_REBALANCE)
        return;
    if (g->delay_deadline) {
        if (now_ms < g->delay_deadline)
            return;
        if (g->delay_new_member && now_ms < g->delay_limit) {
            int64_t next = now_ms + gs->opts.initial_rebalance_delay_ms;
            g->delay_deadline = next < g->delay_limit ? next : g->delay_limit;
            g->delay_new_member = false;
            return;
        }
        kg__complete_join(gs, g, now_ms);
    } else if (now_ms >= g->rebalance_deadline) {
        kg__complete_join(gs, g, now_ms);
    }
}

void kg_group_tick(struct kg_groups *gs, int64_t now_ms)
{
    struct kg_group *g, *next;
    RB_FOREACH_SAFE(g, kg_group_tree, &gs->tree, next) {
        expire_members(gs, g, now_ms);
        expire_rebalance(gs, g, now_ms);
        kg__group_gc(gs, g);
    }
}

static int64_t group_deadline(const struct kg_group *g)
{
    int64_t t = INT64_MAX;
    const struct kg_member *m;
    const struct kg_pending *p;
    TAILQ_FOREACH(m, &g->members, link)
        if (!m->awaiting_join && !m->awaiting_sync && m->session_deadline < t)
            t = m->session_deadline;
    TAILQ_FOREACH(p, &g->pending, link)
        t = p->deadline < t ? p->deadline : t;
    if (g->state == KG_GROUP_PREPARING_REBALANCE) {
        int64_t r = g->delay_deadline ? g->delay_deadline : g->rebalance_deadline;
        t = r < t ? r : t;
    }
    return t;
}

int64_t kg_group_next_deadline(const struct kg_groups *gs)
{
    int64_t t = INT64_MAX;
    struct kg_group *g;
    RB_FOREACH(g, kg_group_tree, (struct kg_group_tree *)&gs->tree) {
        int64_t d = group_deadline(g);
        t = d < t ? d : t;
    }
    return t;
}

/* ---- introspection ----------------------------------------------------------------------- */

int kg_group_describe(const struct kg_groups *gs, struct kc_slice group_id,
                      struct kg_group_info *info)
{
    const struct kg_group *g = kg__group_find(gs, group_id);
    if (!g)
        return -ENOENT;
    info->state = g->state;
    info->generation = g->generation;
    info->nmembers = g->nmembers;
    info->npending = g->npending;
    info->leader = g->leader ? kg__blob_slice(g->leader->id) : kg__blob_slice((struct kg_blob){0});
    info->protocol = kg__blob_slice(g->protocol);
    info->protocol_type = kg__blob_slice(g->protocol_type);
    return 0;
}

const char *kg_group_state_name(enum kg_group_state state)
{
    switch (state) {
    case KG_GROUP_EMPTY:
        return "Empty";
    case KG_GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case KG_GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case KG_GROUP_STABLE:
        return "Stable";
    }
    return "?";
}
