/*
 * group.c - the coordinator's groups, timers and the short requests: SyncGroup,
 * Heartbeat, LeaveGroup and the OffsetCommit check (the join phase is group_join.c).
 *
 * The checks follow Kafka's ClassicGroup / GroupMetadataManager in order, because clients
 * act on the first error they get:
 *
 *   Heartbeat      unknown member 25 -> wrong generation 22 -> PreparingRebalance 27
 *                  -> CompletingRebalance/Stable: 0, and the session timer restarts
 *   SyncGroup      unknown member 25 -> wrong generation 22 -> PreparingRebalance 27
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

#include "group_int.h"

/* ---- small helpers ------------------------------------------------------------------- */

int kp__group_cmp(const struct kp_group *a, const struct kp_group *b)
{
    int32_t n = a->id.len < b->id.len ? a->id.len : b->id.len;
    int c = n ? memcmp(a->id.p, b->id.p, (size_t)n) : 0;
    return c ? c : (a->id.len > b->id.len) - (a->id.len < b->id.len);
}

RB_GENERATE(kp_group_tree, kp_group, node, kp__group_cmp)

bool kp__blob_eq(struct kp_blob b, struct kc_slice s)
{
    int32_t slen = s.len < 0 ? 0 : s.len;
    return b.len == slen && (slen == 0 || memcmp(b.p, s.p, (size_t)slen) == 0);
}

struct kc_slice kp__blob_slice(struct kp_blob b)
{
    return (struct kc_slice){b.p ? b.p : (const uint8_t *)"", b.len};
}

/* Copy s (null copies as empty); NUL-terminated for logs. */
int kp__blob_set(struct kp_blob *b, struct kc_slice s)
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

struct kp_group *kp__group_find(const struct kp_groups *gs, struct kc_slice id)
{
    if (id.len < 0)
        return NULL;
    struct kp_group key = {.id = {(uint8_t *)id.p, id.len}};
    return RB_FIND(kp_group_tree, (struct kp_group_tree *)&gs->tree, &key);
}

struct kp_member *kp__member_find(const struct kp_group *g, struct kc_slice id)
{
    struct kp_member *m;
    if (id.len <= 0)
        return NULL;
    TAILQ_FOREACH(m, &g->members, link)
        if (kp__blob_eq(m->id, id))
            return m;
    return NULL;
}

struct kp_pending *kp__pending_find(const struct kp_group *g, struct kc_slice id)
{
    struct kp_pending *p;
    TAILQ_FOREACH(p, &g->pending, link)
        if (kp__blob_eq(p->id, id))
            return p;
    return NULL;
}

void kp__pending_remove(struct kp_group *g, struct kp_pending *p)
{
    TAILQ_REMOVE(&g->pending, p, link);
    g->npending--;
    free(p->id.p);
    free(p);
}

void kp__member_free(struct kp_member *m)
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

void kp__reply_join_error(struct kp_groups *gs, void *waiter, int16_t error,
                          struct kc_slice member_id)
{
    static const struct kc_slice empty = {(const uint8_t *)"", 0};
    struct kp_join_group_resp resp = {error, -1, empty, empty, member_id, 0, NULL};
    if (resp.member_id.len < 0)
        resp.member_id = empty;
    gs->cbs.join_done(gs->cbs.ctx, waiter, &resp);
}

void kp__reply_sync(struct kp_groups *gs, void *waiter, int16_t error, struct kp_blob assign)
{
    struct kp_sync_group_resp resp = {error, kp__blob_slice(assign)};
    gs->cbs.sync_done(gs->cbs.ctx, waiter, &resp);
}

static void group_free(struct kp_group *g)
{
    struct kp_member *m;
    struct kp_pending *p;
    while ((m = TAILQ_FIRST(&g->members))) {
        TAILQ_REMOVE(&g->members, m, link);
        kp__member_free(m);
    }
    while ((p = TAILQ_FIRST(&g->pending)))
        kp__pending_remove(g, p);
    free(g->scratch);
    free(g->protocol.p);
    free(g->protocol_type.p);
    free(g->id.p);
    free(g);
}

void kp__group_gc(struct kp_groups *gs, struct kp_group *g)
{
    if (g->state == KP_GROUP_EMPTY && g->nmembers == 0 && g->npending == 0) {
        RB_REMOVE(kp_group_tree, &gs->tree, g);
        group_free(g);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------- */

void kp_group_opts_default(struct kp_group_opts *o)
{
    o->min_session_ms = KP_GROUP_MIN_SESSION_MS_DEFAULT;
    o->max_session_ms = KP_GROUP_MAX_SESSION_MS_DEFAULT;
    o->initial_rebalance_delay_ms = KP_GROUP_INITIAL_DELAY_MS_DEFAULT;
    o->max_members = KP_GROUP_MAX_SIZE_DEFAULT;
    o->seed = 0;
}

int kp_groups_create(const struct kp_group_opts *opts, const struct kp_group_cbs *cbs,
                     struct kp_groups **out)
{
    struct kp_group_opts o;
    if (opts)
        o = *opts;
    else
        kp_group_opts_default(&o);
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
    struct kp_groups *gs = calloc(1, sizeof(*gs));
    if (!gs)
        return -ENOMEM;
    RB_INIT(&gs->tree);
    gs->opts = o;
    gs->cbs = *cbs;
    gs->rng = o.seed;
    *out = gs;
    return 0;
}

void kp_groups_destroy(struct kp_groups *gs)
{
    if (!gs)
        return;
    struct kp_group *g;
    while ((g = RB_MIN(kp_group_tree, &gs->tree))) {
        struct kp_member *m;
        TAILQ_FOREACH(m, &g->members, link) {
            if (m->join_waiter)
                kp__reply_join_error(gs, m->join_waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE,
                                     kp__blob_slice(m->id));
            if (m->sync_waiter)
                kp__reply_sync(gs, m->sync_waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE,
                               (struct kp_blob){NULL, 0});
        }
        RB_REMOVE(kp_group_tree, &gs->tree, g);
        group_free(g);
    }
    free(gs);
}

/* ---- SyncGroup ------------------------------------------------------------------------- */

/* Kafka's validateMember + generation check, shared by Sync and Heartbeat. */
static int16_t check_member(struct kp_group *g, struct kc_slice member_id,
                            struct kc_slice instance_id, int32_t generation,
                            struct kp_member **out)
{
    struct kp_member *m = g ? kp__member_find(g, member_id) : NULL;
    if (!m || instance_id.len >= 0)
        return KP_ERR_UNKNOWN_MEMBER_ID; /* no static members here (see kp_group.h) */
    if (generation != g->generation)
        return KP_ERR_ILLEGAL_GENERATION;
    *out = m;
    return KP_ERR_NONE;
}

/* The leader's SyncGroup: copy every assignment (all or nothing), then go Stable. */
static int store_assignments(struct kp_group *g, const struct kp_sync_group_req *req)
{
    struct kp_blob *copy = calloc((size_t)g->nmembers, sizeof(*copy));
    int rc = copy ? 0 : -ENOMEM;
    int32_t i = 0;
    struct kp_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        for (int32_t j = 0; j < req->nassignments && rc == 0; j++)
            if (kp__blob_eq(m->id, req->assignments[j].member_id) && !copy[i].p)
                rc = kp__blob_set(&copy[i], req->assignments[j].assignment);
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

static void release_syncs(struct kp_groups *gs, struct kp_group *g, int64_t now_ms)
{
    struct kp_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        if (!m->awaiting_sync)
            continue;
        void *waiter = m->sync_waiter;
        m->awaiting_sync = false;
        m->sync_waiter = NULL;
        m->session_deadline = now_ms + m->session_ms;
        if (waiter)
            kp__reply_sync(gs, waiter, KP_ERR_NONE, m->assignment);
    }
}

void kp_group_sync(struct kp_groups *gs, const struct kp_sync_group_req *req, void *waiter,
                   int64_t now_ms)
{
    static const struct kp_blob none = {NULL, 0};
    struct kp_group *g = kp__group_find(gs, req->group_id);
    struct kp_member *m = NULL;
    int16_t err = req->group_id.len <= 0 ? KP_ERR_INVALID_GROUP_ID
                  : check_member(g, req->member_id, req->group_instance_id,
                                 req->generation_id, &m);
    if (!err && g->state == KP_GROUP_PREPARING_REBALANCE)
        err = KP_ERR_REBALANCE_IN_PROGRESS;
    if (err) {
        kp__reply_sync(gs, waiter, err, none);
        return;
    }
    if (g->state == KP_GROUP_STABLE) {
        m->session_deadline = now_ms + m->session_ms;
        kp__reply_sync(gs, waiter, KP_ERR_NONE, m->assignment);
        return;
    }
    /* CompletingRebalance: park until the leader's assignment is in. */
    if (m->awaiting_sync && m->sync_waiter)
        kp__reply_sync(gs, m->sync_waiter, KP_ERR_REBALANCE_IN_PROGRESS, none);
    m->awaiting_sync = true;
    m->sync_waiter = waiter;
    if (m != g->leader)
        return;
    if (store_assignments(g, req)) {
        m->awaiting_sync = false;
        m->sync_waiter = NULL;
        kp__reply_sync(gs, waiter, KP_ERR_COORDINATOR_NOT_AVAILABLE, none);
        return;
    }
    g->state = KP_GROUP_STABLE;
    release_syncs(gs, g, now_ms);
}

/* ---- Heartbeat, LeaveGroup, OffsetCommit ----------------------------------------------- */

int16_t kp_group_heartbeat(struct kp_groups *gs, const struct kp_heartbeat_req *req,
                           int64_t now_ms)
{
    if (req->group_id.len <= 0)
        return KP_ERR_INVALID_GROUP_ID;
    struct kp_group *g = kp__group_find(gs, req->group_id);
    struct kp_member *m = NULL;
    int16_t err = check_member(g, req->member_id, req->group_instance_id, req->generation_id,
                               &m);
    if (err)
        return err;
    m->session_deadline = now_ms + m->session_ms;
    return g->state == KP_GROUP_PREPARING_REBALANCE ? KP_ERR_REBALANCE_IN_PROGRESS
                                                     : KP_ERR_NONE;
}

int16_t kp_group_leave(struct kp_groups *gs, const struct kp_leave_group_req *req,
                       int64_t now_ms)
{
    if (req->group_id.len <= 0)
        return KP_ERR_INVALID_GROUP_ID;
    struct kp_group *g = kp__group_find(gs, req->group_id);
    if (!g)
        return KP_ERR_UNKNOWN_MEMBER_ID;
    struct kp_member *m = kp__member_find(g, req->member_id);
    struct kp_pending *p = m ? NULL : kp__pending_find(g, req->member_id);
    if (!m && !p)
        return KP_ERR_UNKNOWN_MEMBER_ID;
    if (m) {
        kp__remove_member(gs, g, m, now_ms);
    } else {
        kp__pending_remove(g, p);
        kp__try_complete_join(gs, g, now_ms);
    }
    kp__group_gc(gs, g);
    return KP_ERR_NONE;
}

int16_t kp_group_commit_check(struct kp_groups *gs, const struct kp_offset_commit_req *req,
                              int64_t now_ms)
{
    struct kp_group *g = kp__group_find(gs, req->group_id);
    int32_t gen = req->generation_id;
    if ((!g || g->state == KP_GROUP_EMPTY) && gen < 0)
        return KP_ERR_NONE; /* a consumer that does not use group management */
    if (!g)
        return KP_ERR_ILLEGAL_GENERATION; /* a generation of a group we do not know */
    struct kp_member *m = NULL;
    if (gen >= 0 || req->member_id.len > 0 || req->group_instance_id.len >= 0) {
        int16_t err = check_member(g, req->member_id, req->group_instance_id, gen, &m);
        if (err)
            return err;
    } else if (g->state != KP_GROUP_EMPTY) {
        return KP_ERR_UNKNOWN_MEMBER_ID; /* no id or generation, but the group is in use */
    }
    if (g->state == KP_GROUP_COMPLETING_REBALANCE)
        return KP_ERR_REBALANCE_IN_PROGRESS;
    if (m)
        m->session_deadline = now_ms + m->session_ms;
    return KP_ERR_NONE;
}

/* ---- waiters and timers ---------------------------------------------------------------- */

void kp_group_forget(struct kp_groups *gs, void *waiter)
{
    struct kp_group *g;
    struct kp_member *m;
    RB_FOREACH(g, kp_group_tree, &gs->tree) {
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
static void expire_members(struct kp_groups *gs, struct kp_group *g, int64_t now_ms)
{
    struct kp_member *m;
    struct kp_pending *p, *pnext;
    TAILQ_FOREACH(m, &g->members, link)
        m->expired = !m->awaiting_join && !m->awaiting_sync && now_ms >= m->session_deadline;
    for (;;) {
        TAILQ_FOREACH(m, &g->members, link)
            if (m->expired)
                break;
        if (!m)
            break;
        kp__remove_member(gs, g, m, now_ms);
    }
    bool removed = false;
    TAILQ_FOREACH_SAFE(p, &g->pending, link, pnext) {
        if (now_ms >= p->deadline) {
            kp__pending_remove(g, p);
            removed = true;
        }
    }
    if (removed)
        kp__try_complete_join(gs, g, now_ms);
}

static void expire_rebalance(struct kp_groups *gs, struct kp_group *g, int64_t now_ms)
{
    if (g->state != KP_GROUP_PREPARING_REBALANCE)
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
        kp__complete_join(gs, g, now_ms);
    } else if (now_ms >= g->rebalance_deadline) {
        kp__complete_join(gs, g, now_ms);
    }
}

void kp_group_tick(struct kp_groups *gs, int64_t now_ms)
{
    struct kp_group *g, *next;
    RB_FOREACH_SAFE(g, kp_group_tree, &gs->tree, next) {
        expire_members(gs, g, now_ms);
        expire_rebalance(gs, g, now_ms);
        kp__group_gc(gs, g);
    }
}

static int64_t group_deadline(const struct kp_group *g)
{
    int64_t t = INT64_MAX;
    const struct kp_member *m;
    const struct kp_pending *p;
    TAILQ_FOREACH(m, &g->members, link)
        if (!m->awaiting_join && !m->awaiting_sync && m->session_deadline < t)
            t = m->session_deadline;
    TAILQ_FOREACH(p, &g->pending, link)
        t = p->deadline < t ? p->deadline : t;
    if (g->state == KP_GROUP_PREPARING_REBALANCE) {
        int64_t r = g->delay_deadline ? g->delay_deadline : g->rebalance_deadline;
        t = r < t ? r : t;
    }
    return t;
}

int64_t kp_group_next_deadline(const struct kp_groups *gs)
{
    int64_t t = INT64_MAX;
    struct kp_group *g;
    RB_FOREACH(g, kp_group_tree, (struct kp_group_tree *)&gs->tree) {
        int64_t d = group_deadline(g);
        t = d < t ? d : t;
    }
    return t;
}

/* ---- introspection ----------------------------------------------------------------------- */

int kp_group_describe(const struct kp_groups *gs, struct kc_slice group_id,
                      struct kp_group_info *info)
{
    const struct kp_group *g = kp__group_find(gs, group_id);
    if (!g)
        return -ENOENT;
    info->state = g->state;
    info->generation = g->generation;
    info->nmembers = g->nmembers;
    info->npending = g->npending;
    info->leader = g->leader ? kp__blob_slice(g->leader->id) : kp__blob_slice((struct kp_blob){0});
    info->protocol = kp__blob_slice(g->protocol);
    info->protocol_type = kp__blob_slice(g->protocol_type);
    return 0;
}

const char *kp_group_state_name(enum kp_group_state state)
{
    switch (state) {
    case KP_GROUP_EMPTY:
        return "Empty";
    case KP_GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case KP_GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case KP_GROUP_STABLE:
        return "Stable";
    }
    return "?";
}
