/*
 * group.c - the coordinator's groups: creating and forgetting them, their members'
 * memory, the timers, and what the admin APIs read (the requests themselves are in
 * group_join.c, group_static.c and group_sync.c; persistence in group_store.c).
 *
 * Timers are deadlines compared with the caller's now_ms: a member's session deadline
 * (not running while it has a JoinGroup or SyncGroup parked, as in Kafka), a pending id's
 * deadline, a preparing group's rebalance deadline and initial-delay window.
 *
 * A group lives while it has members or pending ids; an Empty one is kept only while the
 * server says it has committed offsets (dormant: no members, a few dozen bytes and its
 * id), as Kafka keeps Empty groups until their offsets expire.
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
    free(m->instance_id.p);
    free(m->client_id.p);
    free(m->client_host.p);
    free(m->old_id.p);
    free(m->reply_leader.p);
    free(m);
}

struct kg_member *kg__static_find(const struct kg_group *g, struct kc_slice instance_id)
{
    struct kg_member *m;
    if (instance_id.len < 0)
        return NULL;
    TAILQ_FOREACH(m, &g->members, link)
        if (m->is_static && kg__blob_eq(m->instance_id, instance_id))
            return m;
    return NULL;
}

/* Kafka's validateCurrentMember: a named instance must exist and be this member (82 if it
 * is another: a newer instance of the same consumer fenced this one out), and the member
 * must exist (25). */
int16_t kg__validate_member(const struct kg_group *g, struct kc_slice member_id,
                            struct kc_slice instance_id, struct kg_member **out)
{
    if (!g)
        return KP_ERR_UNKNOWN_MEMBER_ID;
    if (instance_id.len >= 0) {
        struct kg_member *sm = kg__static_find(g, instance_id);
        if (!sm)
            return KP_ERR_UNKNOWN_MEMBER_ID;
        if (!kg__blob_eq(sm->id, member_id))
            return KP_ERR_FENCED_INSTANCE_ID;
    }
    struct kg_member *m = kg__member_find(g, member_id);
    if (!m)
        return KP_ERR_UNKNOWN_MEMBER_ID;
    *out = m;
    return KP_ERR_NONE;
}

int kg__scratch_reserve(struct kg_group *g, int32_t n)
{
    if (n <= g->scratch_cap)
        return 0;
    int32_t cap = g->scratch_cap ? g->scratch_cap * 2 : 4;
    cap = cap < n ? n : cap;
    void *p = reallocarray(g->scratch, (size_t)cap, sizeof(*g->scratch));
    if (!p)
        return -ENOMEM;
    g->scratch = p;
    if (!(p = reallocarray(g->rec_scratch, (size_t)cap, sizeof(*g->rec_scratch))))
        return -ENOMEM; /* scratch grew alone: harmless, cap stays */
    g->rec_scratch = p;
    g->scratch_cap = cap;
    return 0;
}

void kg__reply_join_error(struct kg_groups *gs, void *waiter, int16_t error,
                          struct kc_slice member_id)
{
    static const struct kc_slice empty = {(const uint8_t *)"", 0}, null = {NULL, -1};
    struct kg_join_result res = {error, -1, null, null, empty, member_id, 0, NULL, false};
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
    free(g->rec_scratch);
    free(g->protocol.p);
    free(g->protocol_type.p);
    free(g->id.p);
    free(g);
}

void kg__group_drop(struct kg_groups *gs, struct kg_group *g)
{
    RB_REMOVE(kg_group_tree, &gs->tree, g);
    group_free(g);
}

void kg__group_gc(struct kg_groups *gs, struct kg_group *g)
{
    if (g->state == KG_GROUP_EMPTY && g->nmembers == 0 && g->npending == 0 && !g->dormant)
        kg__group_drop(gs, g);
}

struct kg_group *kg__group_create(struct kg_groups *gs, struct kc_slice id)
{
    struct kg_group *g = calloc(1, sizeof(*g));
    if (!g || kg__blob_set(&g->id, id)) {
        free(g);
        return NULL;
    }
    g->state = KG_GROUP_EMPTY;
    TAILQ_INIT(&g->members);
    TAILQ_INIT(&g->pending);
    RB_INSERT(kg_group_tree, &gs->tree, g);
    return g;
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

/* Answer g's parked waiters with error and free g (out of the tree already). */
static void group_release(struct kg_groups *gs, struct kg_group *g, int16_t error)
{
    struct kg_member *m;
    TAILQ_FOREACH(m, &g->members, link) {
        if (m->join_waiter)
            kg__reply_join_error(gs, m->join_waiter, error, kg__blob_slice(m->id));
        if (m->sync_waiter)
            kg__reply_sync(gs, NULL, m->sync_waiter, error, (struct kg_blob){NULL, 0});
    }
    group_free(g);
}

void kg_groups_destroy(struct kg_groups *gs)
{
    if (!gs)
        return;
    struct kg_group *g;
    while ((g = RB_MIN(kg_group_tree, &gs->tree))) {
        RB_REMOVE(kg_group_tree, &gs->tree, g);
        group_release(gs, g, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    }
    free(gs);
}

int kg_group_unload(struct kg_groups *gs, bool (*keep)(void *arg, struct kc_slice group_id),
                    void *arg)
{
    struct kg_group *g, *next;
    int n = 0;
    RB_FOREACH_SAFE(g, kg_group_tree, &gs->tree, next) {
        if (keep(arg, kg__blob_slice(g->id)))
            continue;
        RB_REMOVE(kg_group_tree, &gs->tree, g);
        group_release(gs, g, KP_ERR_NOT_COORDINATOR);
        n++;
    }
    return n;
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

static void group_info(const struct kg_group *g, struct kg_group_info *info)
{
    info->group_id = kg__blob_slice(g->id);
    info->state = g->state;
    info->generation = g->generation;
    info->nmembers = g->nmembers;
    info->npending = g->npending;
    info->leader = g->leader ? kg__blob_slice(g->leader->id) : kg__blob_slice((struct kg_blob){0});
    info->protocol = kg__blob_slice(g->protocol);
    info->protocol_type = kg__blob_slice(g->protocol_type);
}

int kg_group_describe(const struct kg_groups *gs, struct kc_slice group_id,
                      struct kg_group_info *info)
{
    const struct kg_group *g = kg__group_find(gs, group_id);
    if (!g)
        return -ENOENT;
    group_info(g, info);
    return 0;
}

void kg_group_foreach(const struct kg_groups *gs,
                      void (*fn)(void *arg, const struct kg_group_info *info), void *arg)
{
    struct kg_group *g;
    struct kg_group_info info;
    RB_FOREACH(g, kg_group_tree, (struct kg_group_tree *)&gs->tree) {
        group_info(g, &info);
        fn(arg, &info);
    }
}

/* m's metadata for the group's protocol ("" when it has none). */
static struct kc_slice member_metadata(const struct kg_group *g, const struct kg_member *m)
{
    for (int32_t i = 0; i < m->nprotocols; i++)
        if (kg__blob_eq(m->proto_names[i], kg__blob_slice(g->protocol)))
            return kg__blob_slice(m->proto_meta[i]);
    return kg__blob_slice((struct kg_blob){0});
}

int kg_group_members(const struct kg_groups *gs, struct kc_slice group_id,
                     void (*fn)(void *arg, const struct kg_member_info *m), void *arg)
{
    static const struct kc_slice empty = {(const uint8_t *)"", 0}, null = {NULL, -1};
    const struct kg_group *g = kg__group_find(gs, group_id);
    const struct kg_member *m;
    if (!g)
        return -ENOENT;
    bool stable = g->state == KG_GROUP_STABLE; /* Kafka: summaryNoMetadata otherwise */
    TAILQ_FOREACH(m, &g->members, link) {
        struct kg_member_info mi = {
            .member_id = kg__blob_slice(m->id),
            .group_instance_id = m->is_static ? kg__blob_slice(m->instance_id) : null,
            .client_id = kg__blob_slice(m->client_id),
            .client_host = kg__blob_slice(m->client_host),
            .metadata = stable ? member_metadata(g, m) : empty,
            .assignment = stable ? kg__blob_slice(m->assignment) : empty,
        };
        fn(arg, &mi);
    }
    return g->nmembers;
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
